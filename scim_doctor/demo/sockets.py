"""Raw-socket servers that misbehave on purpose, for the demo and the tests.

An HTTP framework cannot stay silent after accepting, answer a TLS ClientHello with plain HTTP,
or present a broken certificate chain: these servers can. Each one listens on an ephemeral port,
serves every connection in its own daemon thread, and `stop()` tears everything down quickly so
no test leaks a socket or a thread.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Collection
from types import TracebackType

_ACCEPT_POLL_S = 0.05
_JOIN_TIMEOUT_S = 2.0
_IO_TIMEOUT_S = 5.0
_MAX_REQUEST_BYTES = 64 * 1024

DEFAULT_TLS_RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: 11\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b'{"ok":true}'
)
"""What `tls_server` answers by default: the smallest well-formed HTTP/1.1 JSON response."""

PLAIN_HTTP_400 = (
    b"HTTP/1.1 400 Bad Request\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: 44\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b"The plain HTTP request was sent to HTTP port"
)
"""What a plain HTTP listener typically answers to bytes it cannot parse (e.g. a ClientHello)."""

Handler = Callable[[socket.socket, "SocketServer"], None]


def _family(bind: str) -> socket.AddressFamily:
    try:
        address = ipaddress.ip_address(bind)
    except ValueError:
        return socket.AF_INET
    return socket.AF_INET6 if address.version == 6 else socket.AF_INET


def abort(sock: socket.socket) -> None:
    """Wake a thread blocked on `sock` without racing it for the close.

    The base-class shutdown is used on purpose: `SSLSocket.shutdown` would drop the TLS state
    under the feet of the thread still using it.
    """
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def close_all(
    lock: threading.Lock,
    connections: set[socket.socket],
    threads: Collection[threading.Thread],
    timeout_s: float,
) -> None:
    """Wake every thread blocked on a connection, join the threads, then close what is left.

    Both demo listeners (the HTTPS server and the raw socket faults) stop this way, so neither
    can leave a thread blocked in recv() after stop() returns.
    """
    with lock:
        live = list(connections)
        waiting = list(threads)
    for sock in live:
        abort(sock)
    for thread in waiting:
        thread.join(timeout_s)
    with lock:
        leftovers = list(connections)
        connections.clear()
    for sock in leftovers:
        sock.close()


class SocketServer:
    """A listening socket whose connections each run `handler` in a daemon thread."""

    def __init__(self, handler: Handler, bind: str = "127.0.0.1", *, name: str = "server") -> None:
        self._handler = handler
        self._name = name
        self.stopping = threading.Event()
        """Set by `stop()`; handlers that hold connections wait on it."""
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server((bind, 0), family=_family(bind), backlog=64)
        self._listener.settimeout(_ACCEPT_POLL_S)
        self.bind = bind
        self.port: int = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(
            target=self._accept_loop, name=f"{name}-accept-{self.port}", daemon=True
        )
        self._acceptor.start()

    def __enter__(self) -> SocketServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{self._name} on {self.bind} port {self.port}>"

    def track(self, sock: socket.socket) -> None:
        """Register a socket (e.g. the TLS wrapper) so `stop()` can wake its thread."""
        with self._lock:
            self._connections.add(sock)

    def untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.discard(sock)

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.stopping.is_set():
                conn.close()
                return
            conn.settimeout(_IO_TIMEOUT_S)
            self.track(conn)
            thread = threading.Thread(
                target=self._serve, args=(conn,), name=f"{self._name}-conn-{self.port}", daemon=True
            )
            with self._lock:
                self._threads = [t for t in self._threads if t.is_alive()]
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self._handler(conn, self)
        except (OSError, ValueError):
            pass  # The peer went away or stop() cut the connection: nothing to report.
        finally:
            self.untrack(conn)
            conn.close()

    def stop(self) -> None:
        """Close the listener and every connection, and join all threads. Idempotent."""
        self.stopping.set()
        self._acceptor.join(_JOIN_TIMEOUT_S)
        self._listener.close()
        close_all(self._lock, self._connections, self._threads, _JOIN_TIMEOUT_S)


def _hold(conn: socket.socket, server: SocketServer) -> None:
    server.stopping.wait()


def _read_request(conn: socket.socket) -> bytes:
    """Read up to the end of the request head, EOF, a size cap, or the socket timeout."""
    received = b""
    while b"\r\n\r\n" not in received and len(received) < _MAX_REQUEST_BYTES:
        chunk = conn.recv(4096)
        if not chunk:
            break
        received += chunk
    return received


def _answer_400(conn: socket.socket, server: SocketServer) -> None:
    conn.recv(4096)
    conn.sendall(PLAIN_HTTP_400)


def silent_server(bind: str = "127.0.0.1") -> SocketServer:
    """Accepts TCP connections and never sends a byte: a TLS handshake to it times out."""
    return SocketServer(_hold, bind, name="silent")


def plain_http_server(bind: str = "127.0.0.1") -> SocketServer:
    """A plain HTTP listener: whatever arrives (a ClientHello too) gets a 400, then close."""
    return SocketServer(_answer_400, bind, name="plain-http")


def tls_server(
    context: ssl.SSLContext,
    bind: str = "127.0.0.1",
    response: bytes = DEFAULT_TLS_RESPONSE,
    *,
    handshake_timeout: float = _IO_TIMEOUT_S,
) -> SocketServer:
    """Handshakes with `context`, reads one request, sends `response`, closes.

    Handshake failures are the point of most scenarios, so they are swallowed.
    """

    def handle(conn: socket.socket, server: SocketServer) -> None:
        conn.settimeout(handshake_timeout)
        tls = context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        server.track(tls)
        try:
            tls.do_handshake()
            _read_request(tls)
            tls.sendall(response)
        finally:
            server.untrack(tls)
            tls.close()

    return SocketServer(handle, bind, name="tls")


def closed_port(bind: str = "127.0.0.1") -> int:
    """A port on `bind` that nothing listens on (bound once, then released)."""
    with socket.socket(_family(bind), socket.SOCK_STREAM) as sock:
        sock.bind((bind, 0))
        port: int = sock.getsockname()[1]
    return port
