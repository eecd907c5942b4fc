"""Fixtures that start the real third-party SCIM servers behind nginx (see servers.py), once
per test session, and the doctor's reports on them (each run once and shared by every test
that reads it). The session's teardown stops every server and every nginx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import components
from tests.thirdparty import npm, servers
from tests.thirdparty.doctor import Checked, run_check
from tests.thirdparty.servers import TOKEN, RunningServer

# The first run installs the npm packages (`npm ci`), which may take a while.
INSTALL_AND_RUN_TIMEOUT_S = npm.INSTALL_TIMEOUT_S + 120

SERVER_FIXTURES = {
    "scim2-server": "scim2_server",
    "scim2-server-open": "scim2_server_open",
    "SCIMMY": "scimmy_server",
    "django-scim2": "django_scim2_server",
    "Better Auth": "better_auth_server",
}
"""Each server set-up, by the key docs/real-servers.md uses, and the fixture that starts it."""
WRITABLE = ("scim2-server", "SCIMMY", "django-scim2", "Better Auth")
"""The set-ups the write lifecycle runs against (the open scim2-server is the same server)."""


def _required(reason: str | None) -> None:
    if reason is not None:
        components.missing(reason)


@pytest.fixture(scope="session")
def scim2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """scim2-server with bearer-token auth configured (`--bearer-token`)."""
    _required(servers.scim2_server_unavailable())
    with servers.scim2_server(tmp_path_factory.mktemp("scim2-server"), token=TOKEN) as server:
        yield server


@pytest.fixture(scope="session")
def scim2_server_open(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """scim2-server as `scim2-server --port N` starts it: no token configured."""
    _required(servers.scim2_server_unavailable())
    with servers.scim2_server(tmp_path_factory.mktemp("scim2-open"), token=None) as server:
        yield server


@pytest.fixture(scope="session")
def scimmy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """SCIMMY + scimmy-routers on Express, with a bearer-token handler."""
    _required(servers.npm_unavailable(npm.SCIMMY))
    with servers.scimmy_server(tmp_path_factory.mktemp("scimmy"), token=TOKEN) as server:
        yield server


@pytest.fixture(scope="session")
def django_scim2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """django-scim2 in a minimal Django project, with a bearer-token middleware, on gunicorn."""
    _required(servers.django_scim2_unavailable())
    directory = tmp_path_factory.mktemp("django-scim2")
    with servers.django_scim2_server(directory, token=TOKEN) as server:
        yield server


@pytest.fixture(scope="session")
def better_auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Better Auth with @better-auth/scim and one static bearer credential."""
    _required(servers.npm_unavailable(npm.BETTER_AUTH))
    directory = tmp_path_factory.mktemp("better-auth")
    with servers.better_auth_server(directory, token=TOKEN) as server:
        yield server


class Reports:
    """The doctor's JSON reports on each server, run on first use and kept for the session."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request
        self._done: dict[tuple[str, str], Checked] = {}

    def server(self, key: str) -> RunningServer:
        server: RunningServer = self._request.getfixturevalue(SERVER_FIXTURES[key])
        return server

    def check(self, key: str) -> Checked:
        """The read-only `scim-doctor check` (the open scim2-server is sent a token all the
        same: the admin's identity provider holds one, the server just never asks for it)."""
        if (key, "check") not in self._done:
            self._done[key, "check"] = run_check(self.server(key), token=TOKEN)
        return self._done[key, "check"]

    def lifecycle(self, key: str) -> Checked:
        """`scim-doctor check --allow-writes --only lifecycle`."""
        if (key, "lifecycle") not in self._done:
            checked = run_check(self.server(key), "--allow-writes", "--only", "lifecycle")
            self._done[key, "lifecycle"] = checked
        return self._done[key, "lifecycle"]


@pytest.fixture(scope="session")
def reports(request: pytest.FixtureRequest) -> Reports:
    return Reports(request)
