"""scim-doctor against SCIMMY + scimmy-routers (npm), started on loopback behind nginx.

The server (tests/thirdparty/scimmy/server.mjs) is built as SCIMMY's documentation shows. The set
of findings is docs/real-servers.md's (test_real_servers_doc.py); each deviation is also shown
here straight from the server's plain-HTTP port, so a test proves it is the server's behaviour.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.thirdparty import npm
from tests.thirdparty.conftest import INSTALL_AND_RUN_TIMEOUT_S, Reports
from tests.thirdparty.doctor import Checked
from tests.thirdparty.servers import SEED_USERS, RunningServer

pytestmark = pytest.mark.timeout(INSTALL_AND_RUN_TIMEOUT_S)

PINNED = {"scimmy": "1.3.5", "scimmy-routers": "1.3.2", "express": "4.22.3"}
"""The versions docs/real-servers.md describes (package.json and its lock pin them)."""


@pytest.fixture
def checked(reports: Reports) -> Checked:
    return reports.check("SCIMMY")


@pytest.fixture
def plain(scimmy_server: RunningServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {scimmy_server.token}"}
    with httpx.Client(
        base_url=scimmy_server.backend, headers=headers, trust_env=False, timeout=5
    ) as client:
        yield client


def test_the_installed_scimmy_packages_are_the_pinned_ones(scimmy_server: RunningServer) -> None:
    assert npm.SCIMMY.pinned() == PINNED
    assert {name: npm.SCIMMY.installed_version(name) for name in PINNED} == PINNED


def test_scimmy_lists_the_seeded_users_through_nginx(checked: Checked) -> None:
    assert f"totalResults {len(SEED_USERS)}" in checked.check("users")["summary"]


def test_scimmy_401_carries_no_www_authenticate_header(
    checked: Checked, scimmy_server: RunningServer
) -> None:
    assert "without a WWW-Authenticate header" in checked.message("auth.missing_www_authenticate")
    with httpx.Client(trust_env=False, timeout=5) as anonymous:
        response = anonymous.get(f"{scimmy_server.backend}/Users")
    assert response.status_code == 401
    assert "www-authenticate" not in response.headers


def test_scimmy_items_per_page_is_the_page_size_not_the_resources_returned(
    checked: Checked, plain: httpx.Client
) -> None:
    assert "itemsPerPage is 20 but the page holds 1 resources" in checked.message(
        "users.list_response_inconsistent"
    )
    page = plain.get("/Users", params={"filter": f'userName eq "{SEED_USERS[0][0]}"'}).json()
    assert (page["itemsPerPage"], len(page["Resources"])) == (20, 1)


def test_scimmy_discovery_lists_say_20_items_per_page_for_2_resources(
    checked: Checked, plain: httpx.Client
) -> None:
    for code in ("discovery.resource_types_invalid", "discovery.schemas_invalid"):
        assert "itemsPerPage is 20 but the page holds 2 resources" in checked.message(code)
    for endpoint in ("/ResourceTypes", "/Schemas"):
        page = plain.get(endpoint).json()
        assert (page["itemsPerPage"], len(page["Resources"])) == (20, 2)


def test_scimmy_username_filter_is_case_sensitive_though_its_schema_says_case_exact_false(
    checked: Checked, plain: httpx.Client
) -> None:
    assert "in other letter case" in checked.message("users.filter_case_sensitive")
    user_name = SEED_USERS[0][0]
    found = plain.get("/Users", params={"filter": f'userName eq "{user_name.upper()}"'}).json()
    assert found["totalResults"] == 0
    schema = plain.get(f"/Schemas/{'urn:ietf:params:scim:schemas:core:2.0:User'}").json()
    user_name_attribute = next(a for a in schema["attributes"] if a["name"] == "userName")
    assert user_name_attribute["caseExact"] is False
