"""scim-doctor against Better Auth's SCIM plugin (npm), started on loopback behind nginx.

Every check that judges the server passes and so does the write lifecycle (docs/real-servers.md,
test_real_servers_doc.py); here, that the doctor really talked to it through nginx.
"""

from __future__ import annotations

import pytest

from tests.thirdparty import npm
from tests.thirdparty.conftest import INSTALL_AND_RUN_TIMEOUT_S, Reports
from tests.thirdparty.servers import SEED_USERS

pytestmark = pytest.mark.timeout(INSTALL_AND_RUN_TIMEOUT_S)

PINNED = {
    "@better-auth/scim": "1.7.5",
    "better-auth": "1.7.5",
    "@better-auth/core": "1.7.5",
    "better-call": "1.4.0",
    "@better-auth/utils": "0.4.2",
}
"""The versions docs/real-servers.md describes (package.json and its lock pin them)."""


def test_the_installed_better_auth_packages_are_the_pinned_ones(reports: Reports) -> None:
    reports.server("Better Auth")
    assert npm.BETTER_AUTH.pinned() == PINNED
    installed = {name: npm.BETTER_AUTH.installed_version(name) for name in PINNED}
    assert installed == PINNED


def test_better_auth_passes_every_check_that_judges_the_server(reports: Reports) -> None:
    statuses = reports.check("Better Auth").statuses()
    assert statuses.pop("lifecycle") == "skip"
    statuses.pop("redirect")  # It judges nginx in front (docs/real-servers.md).
    assert set(statuses.values()) == {"pass"}, statuses


def test_better_auth_lists_the_seeded_users_through_nginx(reports: Reports) -> None:
    summary = reports.check("Better Auth").check("users")["summary"]
    assert f"totalResults {len(SEED_USERS)}" in summary
