"""The exporter's HTTP side: the standard library's threading server, four routes, and a
clean stop.

Each request gets a thread (a scrape waits for its probe, and a slow target must not hold up
the page or /metrics); the probes themselves run on the exporter's one asyncio loop. Only GET
and HEAD are answered. HTML goes out with a Content-Security-Policy that allows nothing but
inline style (the page and the reports have no script), and nothing is cached by a browser or
a proxy in between.
"""

from __future__ import annotations

import http.server
import socket
import threading
import urllib.parse
from typing import Any

from scim_doctor.serve import page
from scim_doctor.serve.exporter import Exporter, Reply

CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
HTML = "text/html; charset=utf-8"
SERVER_NAME = "scim-doctor-exporter"
IDLE_TIMEOUT_S = 60.0
"""A connection that sends nothing for this long is closed: an idle client holds a thread."""


class ExporterServer(http.server.ThreadingHTTPServer):
    """One listening socket, serving an Exporter; `stop()` ends the serve loop and the probes."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, exporter: Exporter, host: str, port: int) -> None:
        self.exporter = exporter
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler)
        self._state = threading.Lock()
        self._serving = False
        self._stopped = False

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        host = str(self.server_address[0])
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/"

    def serve(self) -> None:
        """Serve until `stop()` (or Ctrl-C in the calling thread); at once if already stopped."""
        with self._state:
            if self._stopped:
                return
            self._serving = True
        self.exporter.start()
        self.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        """Stop accepting, stop the probes, close the socket. Safe to call more than once, and
        from any thread, before or while `serve()` runs."""
        with self._state:
            if self._stopped:
                return
            self._stopped = True
            serving = self._serving
        if serving:
            self.shutdown()  # returns once serve_forever has ended, however it ended
        self.exporter.stop()
        self.server_close()

    def route(self, method: str, target: str, headers: Any) -> Reply:
        parts = urllib.parse.urlsplit(target)
        exporter = self.exporter
        if parts.path == "/probe":
            return exporter.probe(
                parts.query,
                headers.get("X-Prometheus-Scrape-Timeout-Seconds"),
                headers.get("Accept"),
            )
        if parts.path == "/metrics":
            return exporter.metrics(headers.get("Accept"))
        if parts.path == "/":
            body = page.render(
                exporter.recent(), str(exporter.config.path), exporter.cache.min_interval
            )
            return Reply(200, HTML, body.encode("utf-8"))
        if parts.path == "/report":
            return self._report(parts.query)
        return Reply.text(404, "not found: this exporter serves /, /probe, /metrics and /report")

    def _report(self, query: str) -> Reply:
        from scim_doctor.reporters import html as html_reporter

        names = urllib.parse.parse_qs(query).get("target", [])
        probed = self.exporter.last(names[0]) if len(names) == 1 else None
        if probed is None or probed.outcome.report is None:
            return Reply.text(404, "no report of that target yet: it has not been probed")
        return Reply(200, HTML, html_reporter.render(probed.outcome.report).encode("utf-8"))


class _Handler(http.server.BaseHTTPRequestHandler):
    server: ExporterServer
    protocol_version = "HTTP/1.1"
    server_version = SERVER_NAME
    sys_version = ""
    timeout = IDLE_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a scrape every 15 s would fill a log with nothing worth reading."""

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        try:
            reply = self.server.route(self.command, self.path, self.headers)
        except Exception as exc:  # one broken request must not take the exporter down
            from scim_doctor.core.secrets import redact

            reply = Reply.text(500, redact(f"internal error ({type(exc).__name__}: {exc})"))
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if reply.content_type.startswith("text/html"):
            self.send_header("Content-Security-Policy", CSP)
            self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        if send_body:
            self.wfile.write(reply.body)

    def _refuse_method(self) -> None:
        body = b"only GET and HEAD\n"
        self.close_connection = True  # its body, if any, is not read
        self.send_response(405)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method
