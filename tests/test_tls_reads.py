"""Reading a large body over TLS (net.transport._Stream.read): each read hands on every record
already received, up to what httpcore asked for, not one 16 KiB TLS record at a time, and
what follows the body (the server's close_notify, or a bare close) still ends the stream as
before. A real TLS listener on loopback, certificates from a test CA."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from pathlib import Path

import pytest

from scim_doctor.demo import pki
from scim_doctor.net import transport
from tests.support.loopback_listener import LoopbackListener

HOST = "reads.scim-doctor.test"
_RECORD = 16 * 1024
"""The largest plaintext one TLS record carries."""
_ASKED = 64 * 1024
"""What httpcore asks for in each read of a response (httpcore's READ_NUM_BYTES)."""


class _Sender(LoopbackListener):
    """Completes the handshake, sends `payload` in one write, then ends the connection: with
    a close_notify (`polite`) or by closing the socket."""

    def __init__(self, context: ssl.SSLContext, payload: bytes, *, polite: bool) -> None:
        super().__init__()
        self._context = context
        self._payload = payload
        self._polite = polite

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        with contextlib.suppress(OSError), conn:
            with self._context.wrap_socket(conn, server_side=True) as stream:
                stream.sendall(self._payload)
                if self._polite:
                    stream.unwrap().close()


@pytest.fixture(scope="module")
def ca() -> pki.CertificateAuthority:
    return pki.CertificateAuthority("scim-doctor reads test root", organization="scim-doctor tests")


def _read_all(port: int, client: ssl.SSLContext) -> list[int]:
    """The size of each read until the stream ends, as httpcore reads a response."""

    async def scenario() -> list[int]:
        backend = transport.PinnedBackend({(HOST, port): "127.0.0.1"})
        plain = await backend.connect_tcp(HOST, port, timeout=5)
        stream = await plain.start_tls(client, HOST, timeout=5)
        sizes: list[int] = []
        try:
            while piece := await stream.read(_ASKED, timeout=5):
                sizes.append(len(piece))
        finally:
            await stream.aclose()
            await backend.aclose()
        return sizes

    return asyncio.run(scenario())


@pytest.mark.parametrize("polite", [True, False], ids=["close_notify", "bare close"])
def test_a_large_body_arrives_whole_in_reads_of_several_records(
    ca: pki.CertificateAuthority, tmp_path: Path, polite: bool
) -> None:
    payload = bytes(range(256)) * (4 * 1024)  # 1 MiB
    client = ssl.create_default_context(cafile=str(ca.write_root_pem(tmp_path)))
    with _Sender(ca.issue([HOST]).server_context(), payload, polite=polite) as server:
        sizes = _read_all(server.port, client)

    assert sum(sizes) == len(payload)
    assert max(sizes) <= _ASKED
    assert max(sizes) > _RECORD  # more than one record handed on at once
    assert len(sizes) < len(payload) // _RECORD  # fewer reads than records
