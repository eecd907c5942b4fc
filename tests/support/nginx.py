"""A real nginx (Debian's `nginx` package) in front of a plain-HTTP server, terminating TLS.

Third-party SCIM servers listen on plain HTTP and run, in production, behind a reverse proxy
that an admin configured. This starts the real thing on 127.0.0.1 with the configuration such an
admin writes (a `server` block with `ssl_certificate`, one `location` per exposed path with
`proxy_pass` and the usual `proxy_set_header` lines) and nothing the doctor would need: the point
is that a healthy server behind an ordinary nginx gets no noise.

Each instance has its own prefix (configuration, certificate, key, pid file, logs, temp dirs) in
a directory the test owns, runs in the foreground (`daemon off`) in its own session, and its
whole process group (master and workers) is killed on exit, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scim_doctor.demo.pki import Issued

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
BIND_ATTEMPTS = 5
"""The port is chosen free, then bound by nginx: another process may take it in between."""


def nginx_binary() -> str | None:
    """The nginx executable (PATH, then Debian's /usr/sbin), or None."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")


@dataclass(frozen=True)
class Route:
    """One `location` block: requests under `location` go to `upstream` unchanged."""

    location: str
    """A path prefix ending in `/`, such as `/scim/v2/`."""
    upstream: str
    """`http://127.0.0.1:PORT`, without a path, so nginx passes the request URI as it came."""


@dataclass(frozen=True)
class RunningNginx:
    port: int
    """The TLS port on 127.0.0.1."""
    http_port: int
    """The plain-HTTP port on 127.0.0.1: every request is redirected to https (301)."""
    prefix: Path
    """Configuration, certificate, logs and pid file live here."""

    @property
    def error_log(self) -> Path:
        return self.prefix / "logs" / "error.log"

    @property
    def access_log(self) -> Path:
        return self.prefix / "logs" / "access.log"


def _location(route: Route) -> str:
    return f"""
        location {route.location} {{
            proxy_pass {route.upstream};
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Port $server_port;
        }}"""


def config(
    prefix: Path,
    ports: tuple[int, int],
    server_name: str,
    routes: Sequence[Route],
    tls_directives: str = "",
    http2: bool = False,
) -> str:
    """The nginx.conf of one instance: TLS on 127.0.0.1:`ports[0]` with the routes, and on
    `ports[1]` plain HTTP answering every request with the usual 301 to https (the
    `return 301 https://$host$request_uri;` of countless configurations, with the TLS port
    spelled out because it is not 443 here).

    Request bodies and proxied responses stay in memory (the tests' are small), so no worker,
    which runs as Debian's unprivileged user, writes a temp file under the test's directory.
    `tls_directives`: more lines for the TLS `server` block (stapling, client certificates).
    `http2`: the TLS port offers h2 through ALPN (`listen ... ssl http2`: the spelling nginx
    1.22 knows; 1.25.1 and later also read `http2 on;` and only warn about this one).
    """
    port, http_port = ports
    locations = "".join(_location(route) for route in routes)
    return f"""# scim-doctor tests: TLS in front of a third-party SCIM server
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log info;

events {{
    worker_connections 256;
}}

http {{
    access_log {prefix}/logs/access.log;
    client_body_temp_path {prefix}/temp/client_body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
    client_body_buffer_size 1m;
    proxy_max_temp_file_size 0;
    default_type application/octet-stream;
    server_tokens off;

    server {{
        listen 127.0.0.1:{port} ssl{" http2" if http2 else ""};
        server_name {server_name};

        ssl_certificate {prefix}/conf/fullchain.pem;
        ssl_certificate_key {prefix}/conf/privkey.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
{tls_directives}{locations}
    }}

    server {{
        listen 127.0.0.1:{http_port};
        server_name {server_name};
        return 301 https://$host:{port}$request_uri;
    }}
}}
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill nginx's process group (master and workers) and reap the master."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT_S)
    # Workers left in the group after the master died (they exit when it does, normally).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _start(binary: str, prefix: Path, ports: tuple[int, int]) -> subprocess.Popen[bytes] | None:
    """Start nginx and wait until it accepts on both `ports`; None when one was taken."""
    conf = prefix / "conf" / "nginx.conf"
    log = prefix / "logs" / "stderr.log"
    errors = prefix / "logs" / "error.log"
    command = [binary, "-p", f"{prefix}/", "-e", str(errors), "-c", str(conf), "-g", "daemon off;"]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not all(_accepts(port) for port in ports):
            if process.poll() is not None:
                said = errors.read_text(errors="replace") + log.read_text(errors="replace")
                if "Address already in use" in said:
                    return None
                raise RuntimeError(f"nginx exited {process.returncode}:\n{said}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not listen on 127.0.0.1:{ports} in time")
            time.sleep(0.02)
    except BaseException:
        _stop(process)
        raise
    return process


@contextlib.contextmanager
def nginx(
    directory: Path,
    server_name: str,
    issued: Issued,
    routes: Sequence[Route],
    *,
    tls_directives: str = "",
    files: Mapping[str, bytes] | None = None,
    http2: bool = False,
) -> Iterator[RunningNginx]:
    """Run nginx with its prefix in `directory`, TLS with `issued`, proxying `routes`;
    `files` are written to its conf/ directory (an OCSP response, a CA bundle) for
    `tls_directives` to name."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (Debian package nginx)")
    for sub in ("conf", "logs", "temp"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    (directory / "conf" / "fullchain.pem").write_bytes(issued.chain_pem())
    key = directory / "conf" / "privkey.pem"
    key.write_bytes(issued.key_pem)
    key.chmod(0o600)
    for name, content in (files or {}).items():
        (directory / "conf" / name).write_bytes(content)
    for _attempt in range(BIND_ATTEMPTS):
        ports = (_free_port(), _free_port())
        conf = config(directory, ports, server_name, routes, tls_directives, http2)
        (directory / "conf" / "nginx.conf").write_text(conf, encoding="utf-8")
        process = _start(binary, directory, ports)
        if process is not None:
            break
    else:
        raise RuntimeError(f"nginx found no free port in {BIND_ATTEMPTS} attempts")
    try:
        yield RunningNginx(*ports, directory)
    finally:
        _stop(process)
