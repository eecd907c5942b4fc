"""A programmable, threaded HTTP/1.1 (and HTTPS) server on 127.0.0.1 for hostile responses.

Tests register, per path, what to answer: a `Reply` (status, headers, a body as bytes or as
an iterable of chunks and pauses, sent with Content-Length or chunked) or a `Raw` byte script
(malformed status lines, broken chunking, anything). Every request is recorded (method, target,
headers, body, TLS SNI, which connection carried it), so a test can prove what was, or was
never, sent. Pauses wait on the stop event, so `stop()` is fast even mid-trickle.

    with ScriptedServer(tls=issued.server_context()) as server:
        server.route("/slow", Reply(body=trickle()))
        ...
        assert server.requests[0].headers["host"] == "demo.test"
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TypeAlias

Chunk: TypeAlias = bytes | float
"""A piece of body (bytes) or a pause in seconds (float)."""

_MAX_HEAD = 64 * 1024


@dataclass
class Reply:
    """A well-formed response. A body that is not bytes is streamed: with Content-Length when
    the headers give one, else chunked."""

    status: int = 200
    headers: Mapping[str, str] | Sequence[tuple[str, str]] = ()
    body: bytes | Iterable[Chunk] = b""
    reason: str | None = None
    close: bool = False
    """Close the connection after this response."""


@dataclass
class Raw:
    """Bytes written as they are (with pauses), then the connection is closed."""

    script: bytes | Iterable[Chunk]


Answer: TypeAlias = Reply | Raw


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it."""

    method: str
    target: str
    """The request-target as sent: '/scim/v2/Users?x=1', or 'host:port' for CONNECT."""
    headers: dict[str, str]
    """Header names in lower case (a repeated header keeps its last value)."""
    body: bytes
    tls: bool
    sni: str | None
    connection: int
    """Which connection carried it (1, 2, ...): shows keep-alive and pool use."""

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


Handler: TypeAlias = Answer | Callable[[Recorded], Answer]


@dataclass
class _Conn:
    sock: socket.socket
    number: int
    thread: threading.Thread | None = None
    buffer: bytes = b""
    sni: str | None = None
    tls: bool = False
    finished: threading.Event = field(default_factory=threading.Event)


class ScriptedServer:
    """Start with `with ScriptedServer() as server:` (or start()/stop())."""

    def __init__(self, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self._tls = tls
        self._host = host
        self._routes: dict[str, Handler] = {}
        self._default: Handler = Reply(404, {"Content-Type": "text/plain"}, b"no route\n")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conns: list[_Conn] = []
        self._numbers = itertools.count(1)
        self._local = threading.local()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self.requests: list[Recorded] = []
        self.port = 0
        if tls is not None:
            tls.sni_callback = self._on_sni

    # --- configuration ----------------------------------------------------------------------

    def route(self, target: str, handler: Handler) -> None:
        """Answer requests whose path (or CONNECT target) is `target`."""
        with self._lock:
            self._routes[target] = handler

    def default(self, handler: Handler) -> None:
        """Answer requests no route matches (404 unless set)."""
        with self._lock:
            self._default = handler

    @property
    def scheme(self) -> str:
        return "https" if self._tls is not None else "http"

    def url(self, path: str = "", host: str | None = None) -> str:
        return f"{self.scheme}://{host or self._host}:{self.port}{path}"

    @property
    def connections(self) -> int:
        """How many connections were accepted."""
        with self._lock:
            return len(self._conns)

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> ScriptedServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self._host, 0))
        listener.listen(64)
        listener.settimeout(0.05)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, name="scripted-accept")
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
        for conn in conns:
            if conn.thread is not None:
                conn.thread.join(timeout=5)
            conn.sock.close()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- serving ----------------------------------------------------------------------------

    def _on_sni(self, sock: object, name: str | None, context: ssl.SSLContext) -> None:
        self._local.sni = name

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Conn(sock=sock, number=next(self._numbers))
            conn.thread = threading.Thread(target=self._serve, args=(conn,), name="scripted-conn")
            with self._lock:
                self._conns.append(conn)
            conn.thread.start()

    def _serve(self, conn: _Conn) -> None:
        try:
            if self._tls is not None:
                self._local.sni = None
                tls_sock = self._tls.wrap_socket(
                    conn.sock, server_side=True, do_handshake_on_connect=False
                )
                conn.sock = tls_sock
                conn.tls = True
                tls_sock.settimeout(5)
                tls_sock.do_handshake()
                tls_sock.settimeout(None)
                conn.sni = self._local.sni
            while not self._stop.is_set():
                request = self._read_request(conn)
                if request is None:
                    return
                answer = self._answer(request)
                if not self._send(conn, answer) or self._stop.is_set():
                    return
        except (OSError, ssl.SSLError, ValueError):
            return
        finally:
            conn.finished.set()
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    def _recv(self, conn: _Conn) -> bytes:
        data = conn.sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        return data

    def _read_request(self, conn: _Conn) -> Recorded | None:
        while b"\r\n\r\n" not in conn.buffer:
            if len(conn.buffer) > _MAX_HEAD:
                return None
            try:
                conn.buffer += self._recv(conn)
            except (OSError, ConnectionError):
                return None
        head, _, conn.buffer = conn.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = [*lines[0].split(" ", 2), "", ""][:3]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        while len(conn.buffer) < length:
            conn.buffer += self._recv(conn)
        body, conn.buffer = conn.buffer[:length], conn.buffer[length:]
        recorded = Recorded(method, target, headers, body, conn.tls, conn.sni, conn.number)
        with self._lock:
            self.requests.append(recorded)
        return recorded

    def _answer(self, request: Recorded) -> Answer:
        with self._lock:
            handler = self._routes.get(request.path, self._default)
        return handler(request) if callable(handler) else handler

    def _write(self, conn: _Conn, script: bytes | Iterable[Chunk]) -> bool:
        """Write bytes and pauses; False when the peer went away or the server stops."""
        pieces: Iterable[Chunk] = [script] if isinstance(script, bytes) else script
        iterator = iter(pieces)
        try:
            for piece in iterator:
                if isinstance(piece, float):
                    if self._stop.wait(piece):
                        return False
                elif piece:
                    conn.sock.sendall(piece)
            return True
        except OSError:
            return False
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def _send(self, conn: _Conn, answer: Answer) -> bool:
        if isinstance(answer, Raw):
            self._write(conn, answer.script)
            return False
        items = list(
            answer.headers.items() if isinstance(answer.headers, Mapping) else answer.headers
        )
        names = {name.lower() for name, _ in items}
        body = answer.body
        if isinstance(body, bytes):
            if "content-length" not in names and "transfer-encoding" not in names:
                items.append(("Content-Length", str(len(body))))
            stream: Iterable[Chunk] = [body]
        elif "content-length" in names or "transfer-encoding" in names:
            stream = body
        else:
            items.append(("Transfer-Encoding", "chunked"))
            stream = _chunked(body)
        if answer.close:
            items.append(("Connection", "close"))
        reason = answer.reason
        if reason is None:
            try:
                reason = HTTPStatus(answer.status).phrase
            except ValueError:
                reason = "Status"
        head = f"HTTP/1.1 {answer.status} {reason}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in items) + "\r\n"
        if not self._write(conn, head.encode("latin-1")):
            return False
        return self._write(conn, stream) and not answer.close


def _chunked(pieces: Iterable[Chunk]) -> Iterator[Chunk]:
    iterator = iter(pieces)
    try:
        for piece in iterator:
            if isinstance(piece, float):
                yield piece
            elif piece:
                yield f"{len(piece):X}\r\n".encode() + piece + b"\r\n"
        yield b"0\r\n\r\n"
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
