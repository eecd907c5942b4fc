"""The SCIM app without sockets: filter parsing and the dialects identity providers send."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from scim_doctor.demo.scim_app import (
    ENTERPRISE_USER,
    PATCH_OP,
    USER,
    Request,
    Response,
    ScimApp,
    ScimError,
    parse_filter,
)

TOKEN = "pure-app-token"
BASE = "https://demo.scim-doctor.test:8443/scim/v2"
FIXED = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


@pytest.fixture
def app() -> ScimApp:
    return ScimApp(TOKEN, BASE, users=3, groups=1, clock=lambda: FIXED)


def call(app: ScimApp, method: str, target: str, body: object = None) -> Response:
    headers = (("authorization", f"Bearer {TOKEN}"),)
    payload = json.dumps(body).encode() if body is not None else b""
    return app.handle(Request(method, f"/scim/v2{target}", headers, payload))


def _invalid_filter(text: str) -> str:
    with pytest.raises(ScimError) as raised:
        parse_filter(text, {"username": False})
    response = raised.value.response()
    assert response.status == 400
    assert response.json()["scimType"] == "invalidFilter"
    return str(response.json()["detail"])


def test_filter_values_keep_escaped_quotes() -> None:
    [comparison] = parse_filter(r'userName eq "ada \"the countess\""', {"username": False})

    assert comparison.value == 'ada "the countess"'


def test_filter_accepts_the_core_schema_urn_prefix() -> None:
    [comparison] = parse_filter(f'{USER}:userName eq "x"', {"username": False}, USER)

    assert comparison.path == ("username",)


def test_not_and_grouping_are_invalid_filters() -> None:
    assert "'not'" in _invalid_filter('not (userName eq "x")')


def test_truncated_filter_is_an_invalid_filter() -> None:
    assert "ends early" in _invalid_filter("userName eq")


def test_filtering_on_an_unsupported_attribute_names_the_supported_ones() -> None:
    detail = _invalid_filter('nickName eq "ada"')

    assert "'nickName'" in detail
    assert "username" in detail


def test_timestamps_come_from_the_clock_as_utc_iso_8601(app: ScimApp) -> None:
    meta = call(app, "GET", "/Users").json()["Resources"][0]["meta"]

    assert (meta["created"], meta["lastModified"]) == ("2026-01-02T03:04:05Z",) * 2
    assert meta["location"].startswith(f"{BASE}/Users/")


def test_entra_removes_members_by_listing_them_as_the_value(app: ScimApp) -> None:
    group = call(app, "GET", "/Groups").json()["Resources"][0]
    first = group["members"][0]["value"]

    response = call(
        app,
        "PATCH",
        f"/Groups/{group['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "Remove", "path": "members", "value": [{"value": first}]}],
        },
    )

    members = call(app, "GET", f"/Groups/{group['id']}").json()["members"]
    assert response.status == 204
    assert first not in [m["value"] for m in members]
    assert len(members) == len(group["members"]) - 1


def test_enterprise_extension_attribute_patched_by_urn_path(app: ScimApp) -> None:
    ada = call(app, "GET", "/Users").json()["Resources"][0]

    response = call(
        app,
        "PATCH",
        f"/Users/{ada['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "Add", "path": f"{ENTERPRISE_USER}:employeeNumber", "value": "1815"}
            ],
        },
    )

    user = response.json()
    assert user[ENTERPRISE_USER] == {"employeeNumber": "1815"}
    assert user["schemas"] == [USER, ENTERPRISE_USER]


def test_patching_the_id_is_400_mutability(app: ScimApp) -> None:
    ada = call(app, "GET", "/Users").json()["Resources"][0]

    response = call(
        app,
        "PATCH",
        f"/Users/{ada['id']}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "id", "value": "x"}]},
    )

    assert response.status == 400
    assert response.json()["scimType"] == "mutability"


def test_excluded_attributes_drop_members_but_keep_the_id(app: ScimApp) -> None:
    group = call(app, "GET", "/Groups?excludedAttributes=members").json()["Resources"][0]

    assert "members" not in group
    assert group["id"]
    assert group["displayName"] == "Engineering"


def test_malformed_paging_is_400_not_a_crash(app: ScimApp) -> None:
    response = call(app, "GET", "/Users?startIndex=first")

    assert response.status == 400
    assert response.json()["scimType"] == "invalidValue"


def test_paths_outside_the_base_are_404_even_without_a_token(app: ScimApp) -> None:
    response = app.handle(Request("GET", "/api/v1/Users"))

    assert response.status == 404
    assert response.json()["status"] == "404"


def test_a_server_named_by_wildcard_locates_resources_under_the_name_the_client_used() -> None:
    # The fleet benchmark serves many names from one server with a *.s0.bench.test
    # certificate: meta.location must name the host each target asked for, or every target's
    # users check would find its resources "under another host".
    wild = ScimApp(TOKEN, "https://*.fleet.test:8443/scim/v2", users=1, clock=lambda: FIXED)
    headers = (("authorization", f"Bearer {TOKEN}"), ("host", "acme.fleet.test:8443"))
    answer = wild.handle(Request("GET", "/scim/v2/Users", headers))
    other = wild.handle(Request("GET", "/scim/v2/ServiceProviderConfig", (headers[0],)))

    user = json.loads(answer.body)["Resources"][0]
    assert user["meta"]["location"].startswith("https://acme.fleet.test:8443/scim/v2/Users/")
    # Without a Host the client's name is unknown: the configured one stays.
    assert json.loads(other.body)["meta"]["location"].startswith("https://*.fleet.test:8443/")
