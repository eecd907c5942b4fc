"""scim-doctor against scim2-server (PyPI), started by the test on loopback behind real TLS.

Every finding asserted here was checked against the server's behaviour (asked directly, on its
plain-HTTP port) and its source; docs/thirdparty.md explains each one.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import assert_one_verdict
from tests.support import components
from tests.thirdparty import servers
from tests.thirdparty.doctor import Checked, run_check
from tests.thirdparty.servers import SCIM2_SERVER_VERSION, SEED_USERS, TOKEN, RunningServer

EXPECTED_WITH_TOKEN: dict[str, set[str]] = {}
"""Configured with --bearer-token, scim2-server passes every read-only check."""
EXPECTED_WITHOUT_TOKEN = {"auth": {"auth.no_token_accepted", "auth.bogus_token_accepted"}}
"""Started as `scim2-server --port N`, it accepts every request."""


@pytest.fixture(scope="module")
def checked(scim2_server: RunningServer) -> Checked:
    return run_check(scim2_server)


@pytest.fixture(scope="module")
def checked_open(scim2_server_open: RunningServer) -> Checked:
    # The admin's IdP still holds a token; the server just never asks for one.
    return run_check(scim2_server_open, token=TOKEN)


@pytest.fixture
def plain(scim2_server_open: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=scim2_server_open.backend, trust_env=False, timeout=5) as client:
        yield client


def test_the_pinned_scim2_server_version_is_the_one_documented() -> None:
    reason = servers.scim2_server_unavailable()
    if reason is not None:
        components.missing(reason)
    assert importlib.metadata.version("scim2-server") == SCIM2_SERVER_VERSION


def test_scim2_server_with_a_bearer_token_passes_every_read_only_check(checked: Checked) -> None:
    assert checked.codes() == EXPECTED_WITH_TOKEN
    assert checked.exit_code == 0
    assert checked.report["summary"]["status"] == "pass"
    assert_one_verdict(checked.report)
    statuses = checked.statuses()
    assert statuses.pop("lifecycle") == "skip"
    assert set(statuses.values()) == {"pass"}, statuses


def test_scim2_server_lists_the_seeded_users_through_the_tls_proxy(checked: Checked) -> None:
    assert f"totalResults {len(SEED_USERS)}" in checked.check("users")["summary"]


def test_scim2_server_without_a_token_is_reported_as_open_to_anyone(checked_open: Checked) -> None:
    assert checked_open.codes() == EXPECTED_WITHOUT_TOKEN
    assert checked_open.exit_code == 1
    assert "without a token: 200 OK" in checked_open.message("auth.no_token_accepted")


def test_scim2_server_without_a_token_really_serves_its_directory_to_anyone(
    plain: httpx.Client,
) -> None:
    """The finding is the server's behaviour, not the doctor's reading: no credentials, 200."""
    response = plain.get("/Users", headers={"Authorization": "Bearer made-up"})
    assert response.status_code == 200
    assert response.json()["totalResults"] == len(SEED_USERS)
