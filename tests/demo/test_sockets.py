"""The misbehaving servers themselves: each does exactly its one thing, and stops cleanly."""

from __future__ import annotations

import socket
import ssl
import threading
import time

import pytest

from scim_doctor.demo import pki, sockets


@pytest.fixture(scope="module")
def ca() -> pki.CertificateAuthority:
    return pki.CertificateAuthority()


def _connect(port: int, bind: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection((bind, port), timeout=2)
    sock.settimeout(2)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except ConnectionResetError:
        pass  # closed with our bytes unread: a reset instead of a FIN
    return received


def test_silent_server_accepts_but_never_sends() -> None:
    with sockets.silent_server() as server, _connect(server.port) as client:
        client.settimeout(0.2)
        client.sendall(b"\x16\x03\x01 a ClientHello, say")
        with pytest.raises(TimeoutError):
            client.recv(1)


def test_silent_server_stop_cuts_held_connections_and_returns_fast() -> None:
    threads_before = threading.active_count()
    server = sockets.silent_server()
    client = _connect(server.port)
    try:
        time.sleep(0.1)  # let the server thread pick the connection up
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.0
        assert client.recv(1) == b""  # the server side is gone
        assert threading.active_count() == threads_before
    finally:
        client.close()
        server.stop()  # idempotent


def test_plain_http_server_answers_a_client_hello_with_400() -> None:
    with sockets.plain_http_server() as server, _connect(server.port) as client:
        client.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        answer = _read_until_closed(client)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_tls_server_serves_its_response_after_a_verified_handshake(
    ca: pki.CertificateAuthority,
) -> None:
    issued = ca.issue(["localhost"])
    client_context = ssl.create_default_context(cadata=ca.cert_pem.decode())
    response = b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
    with (
        sockets.tls_server(issued.server_context(), response=response) as server,
        _connect(server.port) as raw,
        client_context.wrap_socket(raw, server_hostname="localhost") as client,
    ):
        client.sendall(b"GET /scim/v2/Users HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert client.recv(4096) == response


def test_tls_server_survives_a_failed_handshake(ca: pki.CertificateAuthority) -> None:
    issued = ca.issue(["localhost"])
    with sockets.tls_server(issued.server_context()) as server:
        with _connect(server.port) as garbage:
            garbage.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert not _read_until_closed(garbage).startswith(b"HTTP/")
        client_context = ssl.create_default_context(cadata=ca.cert_pem.decode())
        with (
            _connect(server.port) as raw,
            client_context.wrap_socket(raw, server_hostname="localhost") as client,
        ):
            client.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert client.recv(4096).startswith(b"HTTP/1.1 200 OK")


def test_tls_server_stop_unblocks_a_client_stuck_before_its_handshake(
    ca: pki.CertificateAuthority,
) -> None:
    server = sockets.tls_server(ca.issue(["localhost"]).server_context())
    client = _connect(server.port)
    try:
        time.sleep(0.1)
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.0
    finally:
        client.close()


def test_closed_port_refuses_connections() -> None:
    port = sockets.closed_port()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_servers_bind_ipv6_loopback_when_asked() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        server = sockets.plain_http_server(bind="::1")
    except OSError as exc:
        pytest.skip(f"::1 not available: {exc}")
    with server, socket.create_connection(("::1", server.port), timeout=2) as client:
        client.sendall(b"hello\r\n\r\n")
        assert client.recv(4096).startswith(b"HTTP/1.1 400")
