"""scim-doctor against django-scim2 (PyPI) in a minimal Django project, behind nginx.

The set of findings is docs/real-servers.md's (test_real_servers_doc.py); here each deviation is
shown again straight from gunicorn's plain-HTTP port, so a test proves it is the server's
behaviour and not the doctor's reading of it.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.thirdparty.conftest import Reports
from tests.thirdparty.servers import DJANGO_SCIM2_VERSION, SEED_USERS, USER_SCHEMA, RunningServer

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


@pytest.fixture
def plain(django_scim2_server: RunningServer) -> Iterator[httpx.Client]:
    headers = {
        "Authorization": f"Bearer {django_scim2_server.token}",
        "Content-Type": "application/scim+json",
    }
    with httpx.Client(
        base_url=django_scim2_server.backend, headers=headers, trust_env=False, timeout=5
    ) as client:
        yield client


@pytest.fixture
def probe_user(plain: httpx.Client) -> Iterator[dict[str, Any]]:
    body = {"schemas": [USER_SCHEMA], "userName": "django.probe", "active": True}
    body["name"] = {"givenName": "Django", "familyName": "Probe"}
    created = plain.post("/Users", json=body)
    assert created.status_code == 201, created.text
    try:
        yield created.json()
    finally:
        assert plain.delete(f"/Users/{created.json()['id']}").status_code == 204


def _patch(client: httpx.Client, path: str, *operations: dict[str, Any]) -> httpx.Response:
    return client.patch(path, json={"schemas": [PATCH_OP], "Operations": list(operations)})


def test_the_installed_django_scim2_is_the_pinned_one() -> None:
    assert importlib.metadata.version("django-scim2") == DJANGO_SCIM2_VERSION


def test_django_scim2_lists_the_seeded_users_through_nginx(reports: Reports) -> None:
    summary = reports.check("django-scim2").check("users")["summary"]
    assert f"totalResults {len(SEED_USERS)}" in summary


def test_django_scim2_answers_401_with_an_empty_html_body(
    django_scim2_server: RunningServer,
) -> None:
    with httpx.Client(trust_env=False, timeout=5) as anonymous:
        response = anonymous.get(f"{django_scim2_server.backend}/Users")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="django-scim2"'
    assert response.headers["content-type"].startswith("text/html")
    assert response.content == b""


def test_django_scim2_errors_carry_status_as_an_integer_and_no_invalid_filter_type(
    plain: httpx.Client,
) -> None:
    missing = plain.get("/Users/no-such-user").json()
    assert missing["status"] == 404
    bad_filter = plain.get("/Users", params={"filter": 'userName zz "x"'})
    assert bad_filter.status_code == 400
    assert bad_filter.json()["status"] == 400
    assert "scimType" not in bad_filter.json()


def test_django_scim2_discovery_lists_have_no_total_results_and_schemas_no_schemas(
    plain: httpx.Client,
) -> None:
    for endpoint in ("/ResourceTypes", "/Schemas"):
        assert "totalResults" not in plain.get(endpoint).json()
    schemas = plain.get("/Schemas").json()["Resources"]
    assert schemas
    assert all("schemas" not in schema for schema in schemas)


def test_django_scim2_ignores_a_put_of_display_name_its_schema_declares_read_write(
    plain: httpx.Client, probe_user: dict[str, Any]
) -> None:
    user_schema = plain.get(f"/Schemas/{USER_SCHEMA}").json()
    display = next(a for a in user_schema["attributes"] if a["name"] == "displayName")
    assert display["mutability"] == "readWrite"
    replacement = {key: probe_user[key] for key in ("schemas", "userName", "name", "active")}
    replacement["displayName"] = "Someone Else"
    put = plain.put(f"/Users/{probe_user['id']}", json=replacement)
    assert put.status_code == 200
    assert put.json()["displayName"] == "Django Probe"


def test_django_scim2_refuses_a_patch_of_display_name_with_501_but_applies_active_alone(
    plain: httpx.Client, probe_user: dict[str, Any]
) -> None:
    path = f"/Users/{probe_user['id']}"
    display = {"op": "replace", "path": "displayName", "value": "Someone Else"}
    active = {"op": "replace", "path": "active", "value": False}
    refused = _patch(plain, path, display, active)
    assert refused.status_code == 501
    assert plain.get(path).json()["active"] is True  # Nothing of the refused PATCH applied.
    applied = _patch(plain, path, active)
    assert (applied.status_code, applied.json()["active"]) == (200, False)


def test_django_scim2_answers_a_duplicate_user_name_409_without_scim_type(
    plain: httpx.Client, probe_user: dict[str, Any]
) -> None:
    again = plain.post("/Users", json={"schemas": [USER_SCHEMA], "userName": "django.probe"})
    assert again.status_code == 409
    assert "scimType" not in again.json()


def test_django_scim2_removes_a_member_by_value_list_but_not_by_path_filter(
    plain: httpx.Client, probe_user: dict[str, Any]
) -> None:
    group = plain.post("/Groups", json={"schemas": [GROUP_SCHEMA], "displayName": "probe-group"})
    assert group.status_code == 201, group.text
    path = f"/Groups/{group.json()['id']}"
    member = [{"value": probe_user["id"]}]
    try:
        added = _patch(plain, path, {"op": "add", "path": "members", "value": member})
        assert [m["value"] for m in added.json()["members"]] == [probe_user["id"]]
        by_filter = {"op": "remove", "path": f'members[value eq "{probe_user["id"]}"]'}
        assert _patch(plain, path, by_filter).status_code == 501
        by_value = _patch(plain, path, {"op": "remove", "path": "members", "value": member})
        assert (by_value.status_code, by_value.json()["members"]) == (200, [])
    finally:
        assert plain.delete(path).status_code == 204
