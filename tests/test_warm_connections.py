"""Connections opened ahead of the first requests (net.transport.PinnedBackend.warm), against a
real TLS listener on loopback: over HTTP/2 the first one taken carries every request, so the
others are closed at once instead of idling on the server until the run ends."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from scim_doctor.demo import pki
from scim_doctor.net import transport
from tests.support.counting_listener import CountingListener

HOST = "warm.scim-doctor.test"


@pytest.fixture(scope="module")
def ca() -> pki.CertificateAuthority:
    return pki.CertificateAuthority("scim-doctor warm test root", organization="scim-doctor tests")


@pytest.fixture
def listener(
    ca: pki.CertificateAuthority, request: pytest.FixtureRequest
) -> Iterator[CountingListener]:
    context = ca.issue([HOST]).server_context()
    context.set_alpn_protocols([request.param])
    with CountingListener(tls=context) as server:
        yield server


def _client_context(ca: pki.CertificateAuthority, tmp_path: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca.write_root_pem(tmp_path)))
    context.set_alpn_protocols(["http/1.1", "h2"])
    return context


async def _take(backend: transport.PinnedBackend, port: int, takes: int) -> list[object]:
    transport._direct_origin.set(("https", HOST, port))
    return [await backend.connect_tcp(HOST, port, timeout=5) for _ in range(takes)]


@pytest.mark.parametrize("listener", ["h2"], indirect=True)
def test_over_http2_the_warmed_connections_not_taken_are_closed_once_one_is_taken(
    listener: CountingListener, ca: pki.CertificateAuthority, tmp_path: Path
) -> None:
    async def scenario() -> tuple[int, int]:
        backend = transport.PinnedBackend({(HOST, listener.port): "127.0.0.1"})
        backend.warm(("https", HOST, listener.port), 4, _client_context(ca, tmp_path), 5)
        (taken,) = await _take(backend, listener.port, 1)
        closed_while_open = await asyncio.to_thread(listener.wait, "closed", 3)
        await taken.aclose()  # type: ignore[attr-defined]
        await backend.aclose()
        return closed_while_open, listener.accepted

    closed_while_open, accepted = asyncio.run(scenario())
    assert accepted == 4
    assert closed_while_open == 3  # the one taken stays open for the requests


@pytest.mark.parametrize("listener", ["http/1.1"], indirect=True)
def test_over_http11_every_warmed_connection_serves_a_request_of_its_own(
    listener: CountingListener, ca: pki.CertificateAuthority, tmp_path: Path
) -> None:
    async def scenario() -> tuple[int, int]:
        backend = transport.PinnedBackend({(HOST, listener.port): "127.0.0.1"})
        backend.warm(("https", HOST, listener.port), 4, _client_context(ca, tmp_path), 5)
        taken = await _take(backend, listener.port, 4)
        closed_while_taken = listener.closed
        for stream in taken:
            await stream.aclose()  # type: ignore[attr-defined]
        await backend.aclose()
        return closed_while_taken, listener.accepted

    closed_while_taken, accepted = asyncio.run(scenario())
    assert accepted == 4  # no request had to connect on its own
    assert closed_while_taken == 0
