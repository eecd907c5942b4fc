"""A tiny TLS-terminating reverse proxy on loopback, for servers that only speak plain HTTP.

scim-doctor never sends a token over http://, and third-party SCIM servers started by the tests
(scim2-server, SCIMMY) listen on plain HTTP, as they do in production behind nginx or a load
balancer. This proxy plays that part with real TLS: it terminates the handshake with a
certificate from the test CA, tells the upstream what the client used (`X-Forwarded-Proto`,
`-Host`, `-Port`, `-For`, the headers such servers read to build their `meta.location` URLs),
and relays one request per connection (`Connection: close` upstream and downstream), so it never
has to frame a response.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import ssl
import threading
from types import TracebackType

HANDSHAKE_TIMEOUT_S = 2.0
IO_TIMEOUT_S = 10.0
CLOSE_NOTIFY_TIMEOUT_S = 0.5
MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 4 * 1024 * 1024
_JOIN_TIMEOUT_S = 2.0
_HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"upgrade"}
)


class _BadRequest(Exception):
    """The client's request cannot be relayed (too large, malformed, cut short)."""


def _read_head(conn: socket.socket, buffer: bytearray) -> bytes:
    """Read up to the blank line ending the request head; leave what follows in `buffer`."""
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > MAX_HEAD_BYTES:
            raise _BadRequest("request head too large")
        chunk = conn.recv(65536)
        if not chunk:
            raise _BadRequest("connection closed before the end of the request head")
        buffer += chunk
    end = buffer.index(b"\r\n\r\n") + 4
    head = bytes(buffer[:end])
    del buffer[:end]
    return head


def _read_exactly(conn: socket.socket, buffer: bytearray, size: int) -> bytes:
    while len(buffer) < size:
        chunk = conn.recv(65536)
        if not chunk:
            raise _BadRequest("connection closed inside the request body")
        buffer += chunk
    data = bytes(buffer[:size])
    del buffer[:size]
    return data


def _read_line(conn: socket.socket, buffer: bytearray) -> bytes:
    while b"\r\n" not in buffer:
        if len(buffer) > MAX_HEAD_BYTES:
            raise _BadRequest("chunk line too long")
        chunk = conn.recv(65536)
        if not chunk:
            raise _BadRequest("connection closed inside a chunked body")
        buffer += chunk
    end = buffer.index(b"\r\n") + 2
    line = bytes(buffer[:end])
    del buffer[:end]
    return line


def _read_chunked(conn: socket.socket, buffer: bytearray) -> bytes:
    """The chunked body as it came (framing kept), through the last chunk and its trailers."""
    body = bytearray()
    while True:
        line = _read_line(conn, buffer)
        body += line
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise _BadRequest("bad chunk size") from exc
        if size == 0:
            while (trailer := _read_line(conn, buffer)) != b"\r\n":
                body += trailer
            body += b"\r\n"
            return bytes(body)
        body += _read_exactly(conn, buffer, size + 2)
        if len(body) > MAX_BODY_BYTES:
            raise _BadRequest("request body too large")


def rewrite_head(head: bytes, *, client_ip: str, port: int) -> tuple[bytes, list[bytes]]:
    """The request head as sent upstream, and its header lines as received (lower-cased names).

    Hop-by-hop headers and any X-Forwarded-* the client sent are dropped: only this proxy says
    what the client used.
    """
    lines = head[:-4].split(b"\r\n")
    request_line, header_lines = lines[0], lines[1:]
    kept: list[bytes] = []
    host = b""
    for line in header_lines:
        name, sep, value = line.partition(b":")
        if not sep:
            raise _BadRequest("malformed header line")
        lowered = name.strip().lower()
        if lowered == b"host":
            host = value.strip()
        if lowered in _HOP_BY_HOP or lowered.startswith(b"x-forwarded-"):
            continue
        kept.append(line)
    kept += [
        b"X-Forwarded-Proto: https",
        b"X-Forwarded-Host: " + host,
        b"X-Forwarded-Port: " + str(port).encode(),
        b"X-Forwarded-For: " + client_ip.encode(),
        b"Connection: close",
    ]
    return b"\r\n".join([request_line, *kept]) + b"\r\n\r\n", header_lines


def _body(conn: socket.socket, buffer: bytearray, header_lines: list[bytes]) -> bytes:
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(b":") for line in header_lines)
    }
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        return _read_chunked(conn, buffer)
    length = headers.get(b"content-length")
    if length is None:
        return b""
    try:
        size = int(length)
    except ValueError as exc:
        raise _BadRequest("bad Content-Length") from exc
    if size < 0 or size > MAX_BODY_BYTES:
        raise _BadRequest("request body too large")
    return _read_exactly(conn, buffer, size)


class TlsProxy:
    """Listens on `bind` (port 0 = any free one) with TLS; relays to `upstream` in plain HTTP."""

    def __init__(
        self,
        context: ssl.SSLContext,
        upstream: tuple[str, int],
        *,
        bind: str = "127.0.0.1",
    ) -> None:
        self.context = context
        self.upstream = upstream
        self._lock = threading.Lock()
        self._stopping = False
        self._sockets: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        self._listener = socket.create_server((bind, 0))
        self._wake_reader, self._wake_writer = socket.socketpair()
        self.bind = bind
        self.port: int = self._listener.getsockname()[1]
        self._accepting = threading.Thread(
            target=self._accept_loop, name=f"tls-proxy-{self.port}", daemon=True
        )

    def start(self) -> TlsProxy:
        self._accepting.start()
        return self

    def __enter__(self) -> TlsProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            self._listener.setblocking(False)
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._stopping:
                for key, _ in selector.select():
                    if key.fileobj is self._listener and not self._stopping:
                        self._accept_one()

    def _accept_one(self) -> None:
        try:
            raw, address = self._listener.accept()
        except OSError:
            return
        with self._lock:
            if self._stopping:
                raw.close()
                return
            self._sockets.add(raw)
            worker = threading.Thread(
                target=self._serve, args=(raw, address[0]), name="tls-proxy-conn", daemon=True
            )
            self._workers.add(worker)
            worker.start()

    def _track(self, sock: socket.socket) -> bool:
        with self._lock:
            self._sockets.add(sock)
            return not self._stopping

    def _serve(self, raw: socket.socket, client_ip: str) -> None:
        opened: list[socket.socket] = [raw]
        try:
            raw.settimeout(HANDSHAKE_TIMEOUT_S)
            tls = self.context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
            opened.append(tls)
            if not self._track(tls):
                return
            tls.do_handshake()
            tls.settimeout(IO_TIMEOUT_S)
            buffer = bytearray()
            head = _read_head(tls, buffer)
            upstream_head, header_lines = rewrite_head(head, client_ip=client_ip, port=self.port)
            body = _body(tls, buffer, header_lines)
            upstream = socket.create_connection(self.upstream, timeout=IO_TIMEOUT_S)
            opened.append(upstream)
            if not self._track(upstream):
                return
            upstream.sendall(upstream_head + body)
            while chunk := upstream.recv(65536):
                tls.sendall(chunk)
            # close_notify, without waiting long for the client's: it may just hang up.
            tls.settimeout(CLOSE_NOTIFY_TIMEOUT_S)
            with contextlib.suppress(OSError, ValueError):
                tls.unwrap()
        except (OSError, ValueError, _BadRequest):
            pass  # Failed handshakes, resets and malformed requests are the client's business.
        finally:
            with self._lock:
                for sock in opened:
                    self._sockets.discard(sock)
                self._workers.discard(threading.current_thread())
            for sock in reversed(opened):
                sock.close()

    def stop(self) -> None:
        """Stop accepting, wake and join every connection thread, close every socket."""
        with self._lock:
            self._stopping = True
            sockets = list(self._sockets)
            workers = list(self._workers)
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"\0")
        if self._accepting.is_alive():
            self._accepting.join(_JOIN_TIMEOUT_S)
        for sock in sockets:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        for worker in workers:
            worker.join(_JOIN_TIMEOUT_S)
        self._listener.close()
        self._wake_reader.close()
        self._wake_writer.close()
