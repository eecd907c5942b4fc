"""Connections and handshakes for the `tls` check: the socket work, none of the judgement.

Each handshake opens its own connection to the address the connect check reached and pumps
OpenSSL through memory buffers by hand, so a fleet's hundreds of handshakes hold small buffers
and every socket is closed however the attempt ends. The plain `HEAD` that tells a plain-HTTP
port from garbage lives here too: it is the same kind of raw exchange. No token is ever sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

from msgspec import Struct

from scim_doctor.core.timeouts import within
from scim_doctor.net.context import OpenSocket
from scim_doctor.net.proxy import ProxyServer
from scim_doctor.net.trust import unverified_context

_STATUS_LINE_MAX = 200

PROTOCOL_REFUSED = frozenset(
    {
        "UNSUPPORTED_PROTOCOL",
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "NO_PROTOCOLS_AVAILABLE",
        "VERSION_TOO_LOW",
        "TLSV1_ALERT_INSUFFICIENT_SECURITY",
    }
)
"""OpenSSL's reasons when the server and a TLS 1.2+ client share no protocol version."""
OLD_PROTOCOLS = frozenset({"TLSv1", "TLSv1.1", "SSLv3"})


def legacy_context() -> ssl.SSLContext:
    """A context that still speaks TLS 1.0/1.1, only to name an outdated server."""
    return unverified_context(ssl.TLSVersion.TLSv1)


class Session(Struct):
    """What one completed handshake showed."""

    protocol: str | None
    cipher: str | None
    alpn: str | None
    chain: list[bytes]
    """DER certificates as the server sent them, leaf first."""
    handshake_ms: float
    connect_ms: float
    alert: str | None = None
    """What the server said on the first read after the handshake (with `first_read`): OpenSSL's
    reason for an alert (TLSV13_ALERT_CERTIFICATE_REQUIRED), or 'closed' when it hung up."""


class Endpoint(Struct):
    """Where a handshake goes: the address the connect check reached, and the name to ask for;
    or, through a proxy, the tunnel to the name."""

    address: str
    port: int
    server_hostname: str
    """Host for SNI and the name check (CPython sends no SNI for IP literals)."""
    via: ProxyServer | None = None
    """The proxy whose CONNECT tunnel the handshake runs in (`address` is then unused: the
    proxy resolves the name)."""

    @property
    def shown(self) -> str:
        if self.via is not None:
            host = self.server_hostname
            name = f"[{host}]" if ":" in host else host
            return f"{name}:{self.port} (through the proxy {self.via.shown})"
        return endpoint_text(self.address, self.port)


def _served_chain(ssl_object: ssl.SSLObject) -> list[bytes]:
    """The chain exactly as sent: public on Python 3.13+, private `_sslobj` method before."""
    getter = getattr(ssl_object, "get_unverified_chain", None)
    if getter is None:
        inner = getattr(ssl_object, "_sslobj", None)
        getter = getattr(inner, "get_unverified_chain", None)
    chain: list[bytes] = []
    if getter is not None:
        with contextlib.suppress(Exception):
            for cert in getter() or ():
                if isinstance(cert, bytes):
                    chain.append(cert)
                else:
                    chain.append(cert.public_bytes(ssl._ssl.ENCODING_DER))  # type: ignore[attr-defined]
    if not chain:
        leaf = ssl_object.getpeercert(binary_form=True)
        if leaf:
            chain.append(leaf)
    return chain


def endpoint_text(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


class ConnectFailed(OSError):
    """The TCP connection for a handshake could not be opened (as opposed to a failed handshake)."""


async def _addresses(address: str, port: int) -> list[Any]:
    """getaddrinfo for the handshake's address. It is nearly always the address the connect
    check reached: a literal is converted here, at once (AI_NUMERICHOST never asks a resolver),
    instead of in the loop's thread pool, whose few threads a fleet's hundreds of handshakes
    would queue for."""
    try:
        return socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, flags=_NUMERIC)
    except socket.gaierror:
        pass  # a name: resolve it without blocking the loop
    return await asyncio.get_running_loop().getaddrinfo(address, port, type=socket.SOCK_STREAM)


_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


async def connect(address: str, port: int) -> socket.socket:
    loop = asyncio.get_running_loop()
    try:
        infos = await _addresses(address, port)
    except OSError as exc:
        raise ConnectFailed(exc.errno, f"{address} does not resolve ({exc})") from exc
    family, type_, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, type_, proto)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, sockaddr)
    except OSError as exc:
        sock.close()
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ConnectFailed(exc.errno, why) from exc
    except BaseException:
        sock.close()
        raise
    return sock


async def open_socket(endpoint: Endpoint) -> socket.socket:
    """A connected socket for the handshake: to the address, or a tunnel through the proxy
    (raises ConnectFailed when the proxy cannot be reached or refuses the tunnel)."""
    proxy = endpoint.via
    if proxy is None:
        return await connect(endpoint.address, endpoint.port)
    from scim_doctor.net.tunnel import TunnelBroken, request_tunnel  # through a proxy only

    sock = await connect(proxy.host, proxy.port)
    host = endpoint.server_hostname
    authority = f"[{host}]:{endpoint.port}" if ":" in host else f"{host}:{endpoint.port}"
    try:
        answer = await request_tunnel(sock, authority, proxy.authorization())
    except TunnelBroken as exc:
        drop(sock)
        raise ConnectFailed(None, f"the proxy {proxy.shown}: {exc}") from None
    except BaseException:
        drop(sock)
        raise
    if not answer.opened:
        drop(sock)
        raise ConnectFailed(
            None,
            f"the proxy {proxy.shown} answered CONNECT {authority} with {answer.status} "
            f"{answer.reason}",
        )
    return sock


async def _close(writer: asyncio.StreamWriter) -> None:
    """Drop the connection: a graceful TLS close waits a round trip for the peer's close_notify
    and tells nothing. One turn of the loop lets the aborted transport close its socket."""
    writer.transport.abort()
    await asyncio.sleep(0)


RECORD_READ = 16 * 1024 + 512
"""One TLS record at most (2^14 bytes of payload and its overhead): what one read asks for."""


async def _handshake_over(
    sock: socket.socket,
    context: ssl.SSLContext,
    server_hostname: str,
    received: bytearray | None = None,
) -> tuple[ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO]:
    """The client handshake over memory buffers, pumped by hand through a connected socket
    (the object and its incoming and outgoing buffers).

    asyncio's TLS transport would do the same, but it gives every connection a 256 KiB read
    buffer, and a fleet run holds three handshakes per target in flight: 150 of them at
    concurrency 50. Failures are raised as that transport raises them: OpenSSL's own error,
    the socket's, or a bare ConnectionResetError when the server hangs up mid-handshake.
    """
    loop = asyncio.get_running_loop()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    ssl_object = context.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
    while True:
        try:
            ssl_object.do_handshake()
        except ssl.SSLWantReadError:
            pending = outgoing.read()
            if pending:
                await loop.sock_sendall(sock, pending)
            data = await loop.sock_recv(sock, RECORD_READ)
            if not data:
                raise ConnectionResetError from None
            if received is not None:
                received += data
            incoming.write(data)
            continue
        break
    finished = outgoing.read()  # the client's Finished (TLS 1.3): complete the handshake
    if finished:
        await loop.sock_sendall(sock, finished)
    return ssl_object, incoming, outgoing


async def _first_read(
    sock: socket.socket, ssl_object: ssl.SSLObject, incoming: ssl.MemoryBIO, wait: float
) -> str | None:
    """Read what the server sends after a TLS 1.3 handshake, for at most `wait` seconds.

    A TLS 1.3 server that wants a client certificate and got none (or refuses the one sent)
    says so with an alert only after the client's side of the handshake is done: the client
    sees it on its first read, as a reset, unless it looks. Session tickets arriving instead
    mean the server accepted the handshake. Returns the alert's reason, 'closed', or None.
    """
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + wait
    while True:
        try:
            ssl_object.read(1)
            return None  # application data nobody asked for: not an alert
        except ssl.SSLWantReadError:
            if incoming.eof:
                return "closed"
        except ssl.SSLZeroReturnError:
            return "closed"
        except ssl.SSLError as exc:
            return str(exc.reason or exc)
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            data = await asyncio.wait_for(loop.sock_recv(sock, RECORD_READ), left)
        except asyncio.TimeoutError:
            return None
        except OSError:
            return "closed"
        if not data:
            return "closed"
        incoming.write(data)
        try:
            ssl_object.read(1)
            return None
        except ssl.SSLWantReadError:
            return None  # records consumed, no alert: session tickets
        except ssl.SSLZeroReturnError:
            return "closed"
        except ssl.SSLError as exc:
            return str(exc.reason or exc)


def drop(sock: socket.socket) -> None:
    """Close the socket now, after unregistering it from the loop: a reader left behind by a
    cancelled read would otherwise be removed later, by fd, perhaps from a new socket's."""
    loop = asyncio.get_running_loop()
    if sock.fileno() >= 0:
        loop.remove_reader(sock.fileno())
        loop.remove_writer(sock.fileno())
    sock.close()


async def handshake(
    endpoint: Endpoint,
    context: ssl.SSLContext,
    timeout: float,
    *,
    first_read: float = 0.0,
    received: bytearray | None = None,
    connected: OpenSocket | None = None,
    on_handshake: Callable[[Session], None] | None = None,
) -> Session:
    """Connect and complete one TLS handshake within `timeout`; always close the connection.

    `first_read` > 0: after a TLS 1.3 handshake, wait up to that long for the server's alert
    (`Session.alert`). `received` collects the server's raw bytes of the handshake.
    `connected`: a connection to the endpoint already open (the connect check's), used instead
    of opening one: a round trip saved. `on_handshake` is told the session as soon as the
    handshake completes, before the wait for an alert.
    """

    async def attempt() -> Session:
        started = time.monotonic()
        if connected is not None:
            sock, connect_ms = connected.sock, connected.connect_ms
        else:
            sock = await open_socket(endpoint)
            connect_ms = (time.monotonic() - started) * 1000
        connected_at = time.monotonic()
        try:
            ssl_object, incoming, _ = await _handshake_over(
                sock, context, endpoint.server_hostname, received
            )
            done = time.monotonic()
            cipher = ssl_object.cipher()
            session = Session(
                protocol=ssl_object.version(),
                cipher=cipher[0] if cipher else None,
                alpn=ssl_object.selected_alpn_protocol(),
                chain=_served_chain(ssl_object),
                handshake_ms=(done - connected_at) * 1000,
                connect_ms=connect_ms,
            )
            if on_handshake is not None:
                on_handshake(session)
            if first_read > 0 and ssl_object.version() == "TLSv1.3":
                session.alert = await _first_read(sock, ssl_object, incoming, first_read)
            return session
        finally:
            drop(sock)

    try:
        return await within(attempt(), timeout)
    finally:
        if connected is not None and connected.sock.fileno() >= 0:
            connected.sock.close()  # cut short before the attempt took it over


_ANSWER_MAX = 16 * 1024


async def tls_answer(
    endpoint: Endpoint, context: ssl.SSLContext, request: bytes, timeout: float
) -> bytes:
    """Send `request` (a token-less HTTP/1.1 request with `Connection: close`) over a new TLS
    connection and return the first bytes of the answer (at most 16 KiB)."""
    loop = asyncio.get_running_loop()

    async def attempt() -> bytes:
        sock = await open_socket(endpoint)
        try:
            ssl_object, incoming, outgoing = await _handshake_over(
                sock, context, endpoint.server_hostname
            )
            ssl_object.write(request)
            await loop.sock_sendall(sock, outgoing.read())
            answer = b""
            while len(answer) < _ANSWER_MAX:
                try:
                    chunk = ssl_object.read(_ANSWER_MAX)
                except ssl.SSLWantReadError:
                    data = await loop.sock_recv(sock, RECORD_READ)
                    if not data:
                        break
                    incoming.write(data)
                    continue
                except ssl.SSLError:
                    break  # close_notify, an alert: what came so far is the answer
                if not chunk:
                    break
                answer += chunk
            return answer[:_ANSWER_MAX]
        finally:
            drop(sock)

    return await within(attempt(), timeout)


async def status_line(endpoint: Endpoint, host_header: str, timeout: float) -> str | None:
    """Send a token-less `HEAD /` in clear text and return the first line the port answers."""

    async def attempt() -> bytes:
        reader, writer = await asyncio.open_connection(sock=await open_socket(endpoint))
        try:
            writer.write(f"HEAD / HTTP/1.0\r\nHost: {host_header}\r\n\r\n".encode("ascii"))
            await writer.drain()
            return await reader.readline()
        finally:
            await _close(writer)

    try:
        line = await within(attempt(), timeout)
    except (OSError, asyncio.TimeoutError, ValueError):
        return None
    return line[:_STATUS_LINE_MAX].decode("latin-1").strip()
