"""Fixtures that start the third-party SCIM servers (see servers.py); one per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import components
from tests.thirdparty import servers
from tests.thirdparty.servers import TOKEN, RunningServer


@pytest.fixture(scope="module")
def scim2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """scim2-server with bearer-token auth configured (`--bearer-token`)."""
    reason = servers.scim2_server_unavailable()
    if reason is not None:
        components.missing(reason)
    with servers.scim2_server(tmp_path_factory.mktemp("scim2-server"), token=TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def scim2_server_open(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """scim2-server as `scim2-server --port N` starts it: no token configured."""
    reason = servers.scim2_server_unavailable()
    if reason is not None:
        components.missing(reason)
    with servers.scim2_server(tmp_path_factory.mktemp("scim2-open"), token=None) as server:
        yield server


@pytest.fixture(scope="module")
def scimmy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """SCIMMY + scimmy-routers on Express, with a bearer-token handler."""
    reason = servers.scimmy_unavailable()
    if reason is not None:
        components.missing(reason)
    with servers.scimmy_server(tmp_path_factory.mktemp("scimmy"), token=TOKEN) as server:
        yield server
