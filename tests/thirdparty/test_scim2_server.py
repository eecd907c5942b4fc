"""scim-doctor against scim2-server (PyPI), started on loopback behind nginx.

The set of findings is docs/real-servers.md's (test_real_servers_doc.py); here, what they mean:
each deviation is shown again straight from the server's plain-HTTP port.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator

import httpx
import pytest

from tests.support import components
from tests.thirdparty import servers
from tests.thirdparty.conftest import Reports
from tests.thirdparty.doctor import Checked
from tests.thirdparty.servers import SCIM2_SERVER_VERSION, SEED_USERS, RunningServer


@pytest.fixture
def checked(reports: Reports) -> Checked:
    return reports.check("scim2-server")


@pytest.fixture
def checked_open(reports: Reports) -> Checked:
    return reports.check("scim2-server-open")


@pytest.fixture
def plain(scim2_server_open: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=scim2_server_open.backend, trust_env=False, timeout=5) as client:
        yield client


def test_the_pinned_scim2_server_version_is_the_one_documented() -> None:
    reason = servers.scim2_server_unavailable()
    if reason is not None:
        components.missing(reason)
    assert importlib.metadata.version("scim2-server") == SCIM2_SERVER_VERSION


def test_scim2_server_with_a_bearer_token_passes_every_check_that_judges_the_server(
    checked: Checked,
) -> None:
    """Only the redirect check, which judges nginx in front, reports anything."""
    statuses = checked.statuses()
    assert statuses.pop("lifecycle") == "skip"
    statuses.pop("redirect")
    assert set(statuses.values()) == {"pass"}, statuses


def test_scim2_server_lists_the_seeded_users_through_nginx(checked: Checked) -> None:
    assert f"totalResults {len(SEED_USERS)}" in checked.check("users")["summary"]


def test_scim2_server_without_a_token_is_reported_as_open_to_anyone(checked_open: Checked) -> None:
    assert checked_open.codes()["auth"] == {"auth.no_token_accepted", "auth.bogus_token_accepted"}
    assert checked_open.exit_code == 1
    assert "without a token: 200 OK" in checked_open.message("auth.no_token_accepted")


def test_scim2_server_without_a_token_really_serves_its_directory_to_anyone(
    plain: httpx.Client,
) -> None:
    """The finding is the server's behaviour, not the doctor's reading: no credentials, 200."""
    response = plain.get("/Users", headers={"Authorization": "Bearer made-up"})
    assert response.status_code == 200
    assert response.json()["totalResults"] == len(SEED_USERS)
