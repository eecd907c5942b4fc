"""Fixtures for the HTTP layer's tests: a test CA the client trusts through the real --cacert
path, and scripted servers that are always stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scim_doctor.demo import pki
from scim_doctor.net.trust import Trust, load_trust
from tests.support.scripted_server import ScriptedServer

_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback servers must be reached directly, whatever the developer's shell exports."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="session")
def ca() -> pki.CertificateAuthority:
    return pki.CertificateAuthority("scim-doctor http test root", organization="scim-doctor tests")


@pytest.fixture(scope="session")
def trust(ca: pki.CertificateAuthority, tmp_path_factory: pytest.TempPathFactory) -> Trust:
    cacert: Path = ca.write_root_pem(tmp_path_factory.mktemp("http-trust"))
    return load_trust(cacert)


@pytest.fixture(scope="session")
def localhost_cert(ca: pki.CertificateAuthority) -> pki.Issued:
    return ca.issue(["localhost", "127.0.0.1"])


@pytest.fixture
def tls_server(localhost_cert: pki.Issued) -> Iterator[ScriptedServer]:
    with ScriptedServer(tls=localhost_cert.server_context()) as server:
        yield server


@pytest.fixture
def plain_server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server
