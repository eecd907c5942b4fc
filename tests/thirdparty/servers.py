"""Real third-party SCIM servers on loopback, each behind a real nginx with TLS, seeded with a
few users through the server's own SCIM API.

- scim2-server (PyPI, the `dev` extra pins it): its own `scim2-server` command, with
  `--bearer-token` when a token is given and `--reverse-proxy` so its URLs name the public host;
- SCIMMY + scimmy-routers on Express (npm, tests/thirdparty/scimmy/package-lock.json): the
  handlers of SCIMMY's documentation over an in-memory store (tests/thirdparty/scimmy/server.mjs);
- django-scim2 (PyPI) in a minimal Django project (tests/thirdparty/django_scim2_site) on SQLite,
  served by gunicorn;
- Better Auth with @better-auth/scim (npm, tests/thirdparty/better_auth/package-lock.json) on
  Node's http server with Better Auth's memory adapter (tests/thirdparty/better_auth/server.mjs).

Each server listens on 127.0.0.1 in plain HTTP, as such servers do in production; an nginx in
front (tests/support/nginx.py) terminates TLS with a certificate from a throwaway CA for
`<name>.thirdparty.test`, which the CLI reaches with `--resolve` and trusts with `--cacert`, and
redirects its plain-HTTP port to https. nginx starts first, so each server is configured with its
public URL, as an admin configures it. Every process is started in its own session and its
process group is killed on exit. Reusable by any test that wants a real server (read-only checks,
the write lifecycle, the documentation test).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from scim_doctor.demo.pki import CertificateAuthority
from tests.support import nginx as nginx_support
from tests.support.nginx import Route, RunningNginx, nginx
from tests.thirdparty import npm

REPO = Path(__file__).resolve().parents[2]
SCIM2_SERVER_VERSION = "0.8.3"
"""The version the dev extra pins; docs/real-servers.md describes this one."""
DJANGO_SCIM2_VERSION = "0.23.0"
"""The version the dev extra pins; docs/real-servers.md describes this one."""
DJANGO_SITE = "tests.thirdparty.django_scim2_site"
TOKEN = "thirdparty-canary-5e0b7d21c4a9f836"
"""The bearer token the servers are configured with."""
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
SEED_USERS: tuple[tuple[str, str, str], ...] = (
    ("ada.lovelace", "Ada", "Lovelace"),
    ("grace.hopper", "Grace", "Hopper"),
    ("alan.turing", "Alan", "Turing"),
)
"""(userName, givenName, familyName) of the users every server starts with."""


@dataclass(frozen=True)
class RunningServer:
    """A third-party server as the CLI sees it (through nginx) and as the test does."""

    name: str
    """As docs/real-servers.md calls it."""
    version: str
    host: str
    """The name in the certificate and the URL; pinned to 127.0.0.1 with --resolve."""
    port: int
    """nginx's TLS port."""
    base_path: str
    """`/v2`, `/scim/v2` or `/api/auth/scim/v2`."""
    backend: str
    """The server's own plain-HTTP base URL on 127.0.0.1 (for seeding and inspection)."""
    token: str | None
    cacert: Path
    http_port: int
    """nginx's plain-HTTP port, which redirects to https (for --http-port)."""
    front: RunningNginx

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}{self.base_path}"

    @property
    def resolve(self) -> str:
        return f"{self.host}:{self.port}:127.0.0.1"

    def check_args(self, *extra: str) -> list[str]:
        """`scim-doctor check` arguments for this server (the token goes in SCIM_TOKEN)."""
        return [
            "check",
            self.base_url,
            "--cacert",
            str(self.cacert),
            "--resolve",
            self.resolve,
            "--http-port",
            str(self.http_port),
            "--timeout",
            "5",
            *extra,
        ]


def nginx_unavailable() -> str | None:
    """Why nginx cannot front the servers here, or None."""
    if nginx_support.nginx_binary() is None:
        return "nginx is needed in front of the third-party servers (apt-get install nginx)"
    return None


def scim2_server_unavailable() -> str | None:
    """Why scim2-server cannot run here, or None. On Python 3.10, where it does not install,
    the calling test is skipped: that is the package's limit, not a missing component."""
    if sys.version_info < (3, 11):
        pytest.skip("scim2-server 0.8.3 needs Python >= 3.11")
    if importlib.util.find_spec("scim2_server") is None:
        return (
            "scim2-server is not installed: it comes with the dev extra "
            "(`make .venv/.installed`) and needs Python >= 3.11"
        )
    return nginx_unavailable()


def django_scim2_unavailable() -> str | None:
    """Why the django-scim2 server cannot run here, or None."""
    for module in ("django_scim", "gunicorn"):
        if importlib.util.find_spec(module) is None:
            return (
                f"{module} is not installed: it comes with the dev extra (`make .venv/.installed`)"
            )
    return nginx_unavailable()


def npm_unavailable(project: npm.NpmProject) -> str | None:
    """Why an npm-based server cannot run here (after installing its packages), or None."""
    return project.ensure_installed() or nginx_unavailable()


def _seed(backend: str, token: str | None, users: Sequence[tuple[str, str, str]]) -> None:
    headers = {"Content-Type": "application/scim+json", "Accept": "application/scim+json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        for user_name, given, family in users:
            body: dict[str, Any] = {
                "schemas": [USER_SCHEMA],
                "userName": user_name,
                "name": {"givenName": given, "familyName": family},
                "displayName": f"{given} {family}",
                "emails": [{"value": f"{user_name}@example.com", "type": "work", "primary": True}],
                "active": True,
            }
            response = client.post(f"{backend}/Users", json=body, headers=headers)
            if response.status_code != 201:
                raise RuntimeError(
                    f"seeding {user_name} failed: {response.status_code} {response.text[:300]}"
                )


@contextlib.contextmanager
def _process(command: list[str], log: Path, ready: str, env: dict[str, str]) -> Iterator[str]:
    """Run `command` in its own session with output to `log`; yield the log line matching the
    regex `ready` once it appears; kill the process group on exit."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        pattern = re.compile(ready, re.MULTILINE)
        while (match := pattern.search(log.read_text(errors="replace"))) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                state = f"not ready after {START_TIMEOUT_S:.0f} s"
                if process.returncode is not None:
                    state = f"exited {process.returncode}"
                raise RuntimeError(f"{command[0]} {state}:\n{log.read_text(errors='replace')}")
            time.sleep(0.05)
        yield match.group(0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT_S)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class _Front:
    """nginx, started before the server it fronts: the port the server must listen on, and
    the public origin it must name in its URLs."""

    host: str
    upstream_port: int
    nginx: RunningNginx
    cacert: Path

    @property
    def origin(self) -> str:
        return f"https://{self.host}:{self.nginx.port}"

    def server(self, name: str, version: str, base_path: str, token: str | None) -> RunningServer:
        backend = f"http://127.0.0.1:{self.upstream_port}{base_path}"
        return RunningServer(
            name,
            version,
            self.host,
            self.nginx.port,
            base_path,
            backend,
            token,
            self.cacert,
            self.nginx.http_port,
            self.nginx,
        )


@contextlib.contextmanager
def _front(label: str, directory: Path, base_path: str) -> Iterator[_Front]:
    """nginx for `<label>.thirdparty.test`, proxying `<base_path>/` to a port chosen now."""
    host = f"{label}.thirdparty.test"
    authority = CertificateAuthority("scim-doctor third-party test CA")
    cacert = authority.write_root_pem(directory, f"{label}-ca.pem")
    upstream_port = _free_port()  # Not every server's command says which port 0 chose.
    route = Route(f"{base_path}/", f"http://127.0.0.1:{upstream_port}")
    with nginx(directory / "nginx", host, authority.issue([host]), [route]) as front:
        yield _Front(host, upstream_port, front, cacert)


@contextlib.contextmanager
def scim2_server(
    directory: Path,
    *,
    token: str | None,
    users: Sequence[tuple[str, str, str]] = SEED_USERS,
) -> Iterator[RunningServer]:
    """`scim2-server --reverse-proxy [--bearer-token TOKEN]` behind nginx, seeded with `users`.

    Without a token it runs as its documentation's first command does: accepting every request.
    """
    version = importlib.metadata.version("scim2-server")
    with _front("scim2-server", directory, "/v2") as front:
        command = [sys.executable, "-m", "scim2_server.testserver.cli"]
        command += ["--hostname", "127.0.0.1", "--port", str(front.upstream_port)]
        command += ["--reverse-proxy"]
        if token is not None:
            command += ["--bearer-token", token]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        log = directory / "scim2-server.log"
        with _process(command, log, r"^Serving SCIM on .*$", env):
            server = front.server("scim2-server", version, "/v2", token)
            _seed(server.backend, token, users)
            yield server


@contextlib.contextmanager
def scimmy_server(
    directory: Path,
    *,
    token: str,
    users: Sequence[tuple[str, str, str]] = SEED_USERS,
) -> Iterator[RunningServer]:
    """tests/thirdparty/scimmy/server.mjs (SCIMMY + scimmy-routers) behind nginx, seeded."""
    version = npm.SCIMMY.installed_version("scimmy") or "?"
    routers = npm.SCIMMY.installed_version("scimmy-routers") or "?"
    with _front("scimmy", directory, "/scim/v2") as front:
        command = ["node", str(npm.SCIMMY.directory / "server.mjs")]
        env = {**os.environ, "SCIMMY_PORT": str(front.upstream_port), "SCIMMY_TOKEN": token}
        log = directory / "scimmy.log"
        with _process(command, log, r"^listening http://127\.0\.0\.1:\d+/scim/v2$", env):
            label = f"{version} (scimmy-routers {routers})"
            server = front.server("SCIMMY", label, "/scim/v2", token)
            _seed(server.backend, token, users)
            yield server


@contextlib.contextmanager
def django_scim2_server(
    directory: Path,
    *,
    token: str,
    users: Sequence[tuple[str, str, str]] = SEED_USERS,
) -> Iterator[RunningServer]:
    """django-scim2 in tests/thirdparty/django_scim2_site, on a fresh SQLite database created
    with `django-admin migrate --run-syncdb`, served by gunicorn behind nginx, seeded."""
    version = importlib.metadata.version("django-scim2")
    with _front("django-scim2", directory, "/scim/v2") as front:
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(REPO),
            "DJANGO_SETTINGS_MODULE": f"{DJANGO_SITE}.settings",
            "DJANGO_SCIM2_DB": str(directory / "directory.sqlite3"),
            "DJANGO_SCIM2_NETLOC": f"{front.host}:{front.nginx.port}",
            "DJANGO_SCIM2_TOKEN": token,
        }
        migrate = [sys.executable, "-m", "django", "migrate", "--run-syncdb", "--verbosity", "0"]
        done = subprocess.run(
            migrate, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"django migrate exited {done.returncode}:\n{done.stderr}")
        command = [sys.executable, "-m", "gunicorn", "--no-control-socket", "--workers", "2"]
        command += ["--bind", f"127.0.0.1:{front.upstream_port}", f"{DJANGO_SITE}.wsgi"]
        log = directory / "gunicorn.log"
        with _process(command, log, r"Booting worker with pid", env):
            server = front.server("django-scim2", version, "/scim/v2", token)
            _seed(server.backend, token, users)
            yield server


@contextlib.contextmanager
def better_auth_server(
    directory: Path,
    *,
    token: str,
    users: Sequence[tuple[str, str, str]] = SEED_USERS,
) -> Iterator[RunningServer]:
    """tests/thirdparty/better_auth/server.mjs (Better Auth + @better-auth/scim) behind nginx,
    seeded."""
    version = npm.BETTER_AUTH.installed_version("@better-auth/scim") or "?"
    core = npm.BETTER_AUTH.installed_version("better-auth") or "?"
    base_path = "/api/auth/scim/v2"
    with _front("better-auth", directory, base_path) as front:
        command = ["node", str(npm.BETTER_AUTH.directory / "server.mjs")]
        env = {
            **os.environ,
            "BETTER_AUTH_PORT": str(front.upstream_port),
            "BETTER_AUTH_URL": front.origin,
            "BETTER_AUTH_TOKEN": token,
        }
        log = directory / "better-auth.log"
        ready = r"^listening http://127\.0\.0\.1:\d+/api/auth/scim/v2$"
        with _process(command, log, ready, env):
            label = f"{version} (better-auth {core})"
            server = front.server("Better Auth", label, base_path, token)
            _seed(server.backend, token, users)
            yield server
