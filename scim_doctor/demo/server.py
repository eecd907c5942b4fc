"""The embedded demo SCIM server: real TLS on a loopback port, healthy or broken on purpose.

`scim-doctor demo` runs the doctor against it so a newcomer sees a real diagnosis without a
tenant, and the tests use it as the endpoint under test. The transport is stdlib
`http.server`; the TLS handshake runs in each connection's own thread with a short timeout, so
a client that never speaks blocks nobody, and `stop()` wakes every thread, joins it and closes
every socket within about a second.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import ipaddress
import selectors
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from msgspec import Struct

from scim_doctor.demo import faults as fault_catalogue
from scim_doctor.demo import sockets
from scim_doctor.demo.fault_kit import NODE_ADDRESS
from scim_doctor.demo.faults import Certificates, Fault
from scim_doctor.demo.pki import CertificateAuthority
from scim_doctor.demo.scim_app import ScimApp
from scim_doctor.demo.scim_wire import (
    BASE_PATH,
    MAX_RESULTS,
    Request,
    Response,
    error_response,
)

HANDSHAKE_TIMEOUT_S = 2.0
"""A client that opens a connection and never sends a ClientHello loses it after this."""
IDLE_TIMEOUT_S = 30.0
"""A keep-alive connection idle for longer is closed."""
MAX_BODY_BYTES = 1024 * 1024
_JOIN_TIMEOUT_S = 1.0


class RecordedRequest(Struct, frozen=True):
    """One request as the server received it (tests and the demo's transcript read these)."""

    scheme: str
    """'https' or 'http' (the plain listener)."""
    method: str
    path: str
    """Path with query string."""
    headers: list[tuple[str, str]]
    """Lower-cased names, in arrival order."""
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)


def _family(bind: str) -> socket.AddressFamily:
    try:
        return socket.AF_INET6 if ipaddress.ip_address(bind).version == 6 else socket.AF_INET
    except ValueError:
        return socket.AF_INET


class _Listener(http.server.ThreadingHTTPServer):
    """One listening socket; each connection (TLS handshake included) in its own thread."""

    daemon_threads = True
    block_on_close = False
    # socketserver's default backlog is 5: a fleet run opening a few hundred connections at
    # once overflowed it, and every dropped SYN cost the client a 1 s retransmission that
    # looked like a slow network. Real servers listen with hundreds (nginx: 511).
    request_queue_size = socket.SOMAXCONN

    def __init__(
        self,
        bind: str,
        scheme: str,
        context: ssl.SSLContext | None,
        dispatch: Callable[[Request], Response],
        record: Callable[[RecordedRequest], None],
        port: int = 0,
    ) -> None:
        self.address_family = _family(bind)
        self.scheme = scheme
        self.context = context
        self.dispatch = dispatch
        self.record = record
        self._lock = threading.Lock()
        self._stopping = False
        self._connections: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        self._serving: threading.Thread | None = None
        self._wake_reader, self._wake_writer = socket.socketpair()
        try:
            super().__init__((bind, port), _Handler)
        except BaseException:
            self._wake_reader.close()
            self._wake_writer.close()
            raise

    @property
    def port(self) -> int:
        port: int = self.server_address[1]
        return port

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call getfqdn(): a reverse DNS lookup we neither need
        # nor may wait for.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = self.port

    def start(self) -> None:
        self._serving = threading.Thread(
            target=self._accept_loop, name=f"scim-demo-{self.scheme}-{self.port}", daemon=True
        )
        self._serving.start()

    def _accept_loop(self) -> None:
        """Like serve_forever, but woken by `stop()` at once instead of at the next poll."""
        with selectors.DefaultSelector() as selector:
            self.socket.setblocking(False)
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._stopping:
                for key, _ in selector.select():
                    if key.fileobj is self.socket and not self._stopping:
                        self._accept_one()

    def _accept_one(self) -> None:
        try:
            request, client_address = self.get_request()
        except OSError:
            return  # The client gave up between select() and accept().
        self.process_request(request, client_address)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            if self._stopping:
                self.shutdown_request(request)
                return
            self._connections.add(request)
            thread = threading.Thread(
                target=self._serve_connection,
                args=(request, client_address),
                name=f"scim-demo-{self.scheme}-{self.port}-conn",
                daemon=True,
            )
            self._workers.add(thread)
            thread.start()

    def _serve_connection(self, raw: socket.socket, client_address: Any) -> None:
        conn = raw
        try:
            if self.context is not None:
                raw.settimeout(HANDSHAKE_TIMEOUT_S)
                tls = self.context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
                with self._lock:
                    self._connections.discard(raw)
                    self._connections.add(tls)
                    conn = tls
                    if self._stopping:
                        return
                tls.do_handshake()
            _Handler(conn, client_address, self)  # sets IDLE_TIMEOUT_S on the connection
        except (OSError, ValueError):
            pass  # Failed handshakes, timeouts and resets are the client's business.
        finally:
            with self._lock:
                self._connections.discard(conn)
                self._connections.discard(raw)
                self._workers.discard(threading.current_thread())
            conn.close()
            raw.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay silent: the demo and the test output are no place for connection noise."""

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"\0")
        if self._serving is not None:
            self._serving.join(_JOIN_TIMEOUT_S)
        self.server_close()
        self._wake_reader.close()
        self._wake_writer.close()
        sockets.close_all(self._lock, self._connections, self._workers, _JOIN_TIMEOUT_S)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "scim-doctor-demo"
    timeout = IDLE_TIMEOUT_S
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stall

    def log_message(self, format: str, *args: Any) -> None:
        """Silence: the demo prints its own report, tests want clean stderr."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests and unknown methods get a SCIM error too, not stdlib HTML."""
        self.close_connection = True
        detail = message or explain or HTTPStatus(code).phrase
        self._send(error_response(int(code), detail).with_header("Connection", "close"))

    def version_string(self) -> str:
        return self.server_version

    @property
    def _listener(self) -> _Listener:
        return cast(_Listener, self.server)

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        headers = [(key.lower(), value) for key, value in self.headers.items()]
        listener = self._listener
        listener.record(RecordedRequest(listener.scheme, self.command, self.path, headers, body))
        request = Request(self.command, self.path, tuple(headers), body, listener.scheme)
        self._send(listener.dispatch(request))

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

    def _read_body(self) -> bytes | None:
        """The request body (Content-Length or chunked), or None after answering an error."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            return b""
        try:
            length = int(raw_length)
            if length < 0:
                raise ValueError(raw_length)
        except ValueError:
            self._refuse(400, f"Content-Length {raw_length!r} is not a length", "invalidSyntax")
            return None
        if length > MAX_BODY_BYTES:
            self._refuse(413, f"The body exceeds {MAX_BODY_BYTES} bytes")
            return None
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes | None:
        body = b""
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self._refuse(400, "Malformed chunked body", "invalidSyntax")
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return body
            if len(body) + size > MAX_BODY_BYTES:
                self._refuse(413, f"The body exceeds {MAX_BODY_BYTES} bytes")
                return None
            body += self.rfile.read(size)
            self.rfile.readline(1024)

    def _refuse(self, status: int, detail: str, scim_type: str | None = None) -> None:
        self.close_connection = True
        self._send(error_response(status, detail, scim_type).with_header("Connection", "close"))

    def _send(self, response: Response) -> None:
        self.send_response_only(response.status)
        # A fault's own Server (the front end that answers) or Date (a wrong clock) replaces ours.
        if response.header("Server") is None:
            self.send_header("Server", self.version_string())
        if response.header("Date") is None:
            self.send_header("Date", self.date_time_string())
        for name, value in response.headers:
            self.send_header(name, value)
        has_body = response.status not in (204, 304)
        chunked = has_body and response.chunks is not None
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif has_body:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if getattr(self, "command", None) != "HEAD" and has_body:
            if chunked and response.chunks is not None:
                for piece in response.chunks():  # made while it is sent: memory stays flat
                    if piece:
                        self.wfile.write(b"%X\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.wfile.write(response.body)
        self.wfile.flush()


class DemoServer:
    """A SCIM 2.0 server on `bind`, presenting a certificate from its own throwaway CA.

    With `fault`, one layer misbehaves as the catalogue in faults.py describes; the client
    trusts `ca_pem` and reaches `hostname` through `resolve_pin` either way. `users` may be
    large (100,000 users are made on demand, not stored); `max_results` caps the page size.
    """

    def __init__(
        self,
        token: str,
        *,
        fault: str | Fault | None = None,
        hostname: str = "demo.scim-doctor.test",
        bind: str = "127.0.0.1",
        users: int = 3,
        groups: int = 1,
        max_results: int = MAX_RESULTS,
        http_listener: bool = False,
        port: int = 0,
        ca: CertificateAuthority | None = None,
    ) -> None:
        """`port` and `ca`: another node of a server (the same port on another loopback
        address, certificates from the same CA), for the tests of names with several
        addresses."""
        self.fault: Fault | None = fault_catalogue.get(fault) if isinstance(fault, str) else fault
        self.hostname = hostname
        self.bind = bind
        self._token = token
        self._users = users
        self._groups = groups
        self._max_results = max_results
        self._want_http = http_listener
        self._ca = ca or CertificateAuthority("scim-doctor demo CA")
        self._want_port = port
        self.ca_pem: bytes = self._ca.cert_pem
        self._lock = threading.Lock()
        self._received: list[RecordedRequest] = []
        self._port: int | None = None
        self._https: _Listener | None = None
        self._node: _Listener | None = None
        self._http: _Listener | None = None
        self._raw: sockets.SocketServer | None = None
        self._app: ScimApp | None = None
        self._started = False

    # lifecycle

    def start(self) -> DemoServer:
        if self._started:
            raise RuntimeError("DemoServer already started")
        self._started = True
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        fault = self.fault
        if fault is not None and fault.socket is not None:
            outcome = fault.socket(self.bind)
            if isinstance(outcome, int):
                self._port = outcome
            else:
                self._raw = outcome
                self._port = outcome.port
        else:
            names = tuple(dict.fromkeys((self.hostname, "localhost", "127.0.0.1", "::1")))
            certs = Certificates(ca=self._ca, names=names)
            build_context = (fault.tls if fault else None) or fault_catalogue.healthy_tls
            self._https = _Listener(
                self.bind,
                "https",
                build_context(certs),
                self._handle,
                self._record,
                port=self._want_port,
            )
            self._port = self._https.port
            if fault is not None and fault.node is not None:
                self._node = self._second_node(fault, certs)
        self._app = ScimApp(
            self._token,
            self.base_url,
            users=self._users,
            groups=self._groups,
            max_results=self._max_results,
        )
        if self._want_http:
            self._http = _Listener(self.bind, "http", None, self._handle, self._record)
            self._http.start()
        if self._https is not None:
            self._https.start()
        if self._node is not None:
            self._node.start()

    def _second_node(self, fault: Fault, certs: Certificates) -> _Listener:
        """The fault's second node: same port and SCIM app, on NODE_ADDRESS."""
        assert fault.node is not None  # noqa: S101 - checked by the caller
        if self.bind != "127.0.0.1":
            raise RuntimeError(f"fault {fault.name!r} needs the demo server on 127.0.0.1")
        try:
            return _Listener(
                NODE_ADDRESS, "https", fault.node(certs), self._handle, self._record, self.port
            )
        except OSError as exc:
            raise RuntimeError(
                f"fault {fault.name!r} needs a second loopback address, {NODE_ADDRESS}:{self.port}"
                f" ({exc.strerror}); Linux has all of 127/8, other systems need an alias"
            ) from None

    def stop(self) -> None:
        """Close every listener and connection and join every thread. Idempotent."""
        listeners = (self._https, self._http, self._node)
        self._https = self._http = self._node = None
        raw, self._raw = self._raw, None
        for listener in listeners:
            if listener is not None:
                listener.stop()
        if raw is not None:
            raw.stop()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # addresses

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("DemoServer not started: call start() or use it as a context")
        return self._port

    @property
    def http_port(self) -> int | None:
        """The plain-HTTP listener's port (`http_listener=True`), else None."""
        return self._http.port if self._http is not None else None

    @property
    def base_url(self) -> str:
        return f"https://{self.hostname}:{self.port}{BASE_PATH}"

    @property
    def resolve_pin(self) -> str:
        """`host:port:address`, as curl's and the doctor's --resolve take it (with a fault's
        second node, `host:port:address,node-address`: the name has both)."""
        addresses = self.bind if self._node is None else f"{self.bind},{NODE_ADDRESS}"
        return f"{self.hostname}:{self.port}:{addresses}"

    def write_ca(self, directory: Path) -> Path:
        """Write the root certificate the client must trust; returns its path (--cacert)."""
        return self._ca.write_root_pem(directory, "scim-doctor-demo-ca.pem")

    def write_client_cert(
        self,
        directory: Path,
        common_name: str = "scim-doctor demo client",
        *,
        valid_days: tuple[int, int] = (-1, 90),
    ) -> tuple[Path, Path]:
        """Issue a client certificate from the demo CA; write it and its key (--cert, --key).
        `valid_days`: its validity relative to now (e.g. (-60, -30) for an expired one)."""
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        issued = self._ca.issue_client(
            common_name,
            not_before=now + dt.timedelta(days=valid_days[0]),
            not_after=now + dt.timedelta(days=valid_days[1]),
        )
        cert, key = directory / "client.pem", directory / "client-key.pem"
        cert.write_bytes(issued.chain_pem())
        key.write_bytes(issued.key_pem)
        return cert, key

    @property
    def received(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._received)

    # request handling

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._received.append(request)

    def _handle(self, request: Request) -> Response:
        if self.fault is not None and self.fault.middleware is not None:
            return self.fault.middleware(request, self._dispatch)
        return self._dispatch(request)

    def _dispatch(self, request: Request) -> Response:
        """Healthy behaviour: plain HTTP is redirected (308 keeps method and body)."""
        if request.scheme == "http":
            location = f"https://{self.hostname}:{self.port}{request.target}"
            return Response(308, (("Location", location),))
        if self._app is None:
            raise RuntimeError("DemoServer not started")
        return self._app.handle(request)
