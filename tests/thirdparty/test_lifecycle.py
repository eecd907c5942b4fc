"""The opt-in write lifecycle (`check --allow-writes --only lifecycle`) against the real
third-party servers, started on loopback behind nginx with a token configured.

The set of findings of each is docs/real-servers.md's (test_real_servers_doc.py). Each deviation
is also shown here straight from the server's plain-HTTP port, which proves it is the server's
behaviour and not the doctor's reading of it. The lifecycle writes to a real server, so every
run must leave nothing behind. The tests check this by listing the server's users and groups on
its own port after the doctor has finished.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.thirdparty.conftest import INSTALL_AND_RUN_TIMEOUT_S, WRITABLE, Reports
from tests.thirdparty.doctor import Checked
from tests.thirdparty.servers import USER_SCHEMA, RunningServer

pytestmark = pytest.mark.timeout(INSTALL_AND_RUN_TIMEOUT_S)

TEST_PREFIX = "scim-doctor-"
"""How the doctor names what it creates (docs: `scim-doctor-<8 hex digits>`)."""
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


@contextlib.contextmanager
def _plain(server: RunningServer) -> Iterator[httpx.Client]:
    """A client on the server's own plain-HTTP port, past the TLS proxy and the doctor."""
    headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/scim+json"}
    with httpx.Client(base_url=server.backend, headers=headers, trust_env=False, timeout=5) as c:
        yield c


def _test_names_left(server: RunningServer) -> list[str]:
    """Every user and group on the server whose userName, displayName or externalId starts
    with the doctor's prefix."""
    left: list[str] = []
    with _plain(server) as client:
        for endpoint in ("/Users", "/Groups"):
            response = client.get(endpoint, params={"count": 1000})
            assert response.status_code == 200, response.text
            page = response.json()
            resources: list[dict[str, Any]] = page["Resources"]
            assert page["totalResults"] == len(resources)  # The whole directory, not one page.
            for resource in resources:
                names = (resource.get(k) for k in ("userName", "displayName", "externalId"))
                if any(isinstance(n, str) and n.startswith(TEST_PREFIX) for n in names):
                    left.append(f"{endpoint}/{resource['id']}")
    return left


def _assert_wrote_and_deleted_a_user_and_a_group(checked: Checked) -> None:
    """Make sure the doctor really wrote, so that "nothing left" actually tests something: the
    test user, the test group and the group's second member."""
    facts = checked.check("lifecycle")["facts"]
    created = facts["created"]
    assert sorted(entry["type"] for entry in created) == ["Group", "User", "User"]
    assert all(entry["name"].startswith(TEST_PREFIX) for entry in created), created
    assert {e["id"] for e in facts["cleaned_up"]} == {e["id"] for e in created}
    assert facts["left_behind"] == []


@contextlib.contextmanager
def _probe_user(client: httpx.Client, user_name: str) -> Iterator[httpx.Response]:
    """A user created on the plain port (not named like the doctor's), deleted afterwards."""
    body = {"schemas": [USER_SCHEMA], "userName": user_name, "active": True}
    created = client.post("/Users", json=body)
    assert created.status_code == 201, created.text
    try:
        yield created
    finally:
        assert client.delete(f"/Users/{created.json()['id']}").status_code == 204


@pytest.fixture
def scimmy_checked(reports: Reports) -> Checked:
    return reports.lifecycle("SCIMMY")


@pytest.mark.parametrize("key", WRITABLE)
def test_a_real_server_keeps_nothing_the_lifecycle_created(reports: Reports, key: str) -> None:
    _assert_wrote_and_deleted_a_user_and_a_group(reports.lifecycle(key))
    assert _test_names_left(reports.server(key)) == []


def test_scim2_server_applies_every_patch_dialect(reports: Reports) -> None:
    lifecycle = reports.lifecycle("scim2-server").check("lifecycle")
    assert lifecycle["status"] == "warn"  # Entra ID's member Remove, below.
    assert lifecycle["facts"]["patch_dialects"] == {"entra": True, "rfc": True, "okta": True}
    assert lifecycle["facts"]["group_dialects"] == {"rfc": True, "entra": False, "okta": True}


def test_scim2_server_refuses_entras_member_remove_with_a_value_list(reports: Reports) -> None:
    checked = reports.lifecycle("scim2-server")
    message = checked.message("lifecycle.group_member_entra_failed")
    assert "answered 400 Bad Request (invalidValue)" in message
    assert "a remove operation carries no value" in message
    with _plain(reports.server("scim2-server")) as client:
        with _probe_user(client, "member.probe") as created:
            member = created.json()["id"]
            body = {"schemas": [GROUP_SCHEMA], "displayName": "member.probe.group"}
            group = client.post("/Groups", json={**body, "members": [{"value": member}]})
            assert group.status_code == 201, group.text
            path = f"/Groups/{group.json()['id']}"
            try:
                entra = {"op": "Remove", "path": "members", "value": [{"value": member}]}
                refused = client.patch(path, json={"schemas": [PATCH_OP], "Operations": [entra]})
                assert (refused.status_code, refused.json()["scimType"]) == (400, "invalidValue")
                rfc = {"op": "remove", "path": f'members[value eq "{member}"]'}
                applied = client.patch(path, json={"schemas": [PATCH_OP], "Operations": [rfc]})
                assert applied.status_code == 204
            finally:
                assert client.delete(path).status_code == 204


def test_better_auth_applies_every_patch_dialect(reports: Reports) -> None:
    lifecycle = reports.lifecycle("Better Auth").check("lifecycle")
    assert lifecycle["status"] == "pass"
    assert lifecycle["facts"]["patch_dialects"] == {"entra": True, "rfc": True, "okta": True}


def test_scimmy_applies_the_rfc_and_okta_patch_dialects_but_not_entras(
    scimmy_checked: Checked,
) -> None:
    lifecycle = scimmy_checked.check("lifecycle")
    assert lifecycle["facts"]["patch_dialects"] == {"entra": False, "rfc": True, "okta": True}


def test_scimmy_answers_a_create_with_201_but_no_location_header(
    scimmy_checked: Checked, scimmy_server: RunningServer
) -> None:
    message = scimmy_checked.message("lifecycle.create_no_location")
    assert "answered 201 without a Location header" in message
    with _plain(scimmy_server) as client, _probe_user(client, "location.probe") as created:
        assert "location" not in created.headers
        # The body knows where the user lives; only the header is missing.
        user_id = created.json()["id"]
        assert created.json()["meta"]["location"].endswith(f"/scim/v2/Users/{user_id}")


def test_scimmy_rejects_entras_string_boolean_though_it_accepts_its_capitalised_op(
    scimmy_checked: Checked, scimmy_server: RunningServer
) -> None:
    message = scimmy_checked.message("lifecycle.patch_entra_rejected")
    assert "answered 400 Bad Request (invalidValue)" in message
    assert "expected value type 'boolean' but found type 'string'" in message
    with _plain(scimmy_server) as client, _probe_user(client, "entra.probe") as created:
        path = f"/Users/{created.json()['id']}"
        operation: dict[str, Any]
        for value in ("False", "True"):
            operation = {"op": "Replace", "path": "active", "value": value}
            refused = client.patch(path, json={"schemas": [PATCH_OP], "Operations": [operation]})
            assert (refused.status_code, refused.json()["scimType"]) == (400, "invalidValue")
        operation = {"op": "Replace", "path": "active", "value": False}
        applied = client.patch(path, json={"schemas": [PATCH_OP], "Operations": [operation]})
        assert (applied.status_code, applied.json()["active"]) == (200, False)
