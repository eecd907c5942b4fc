"""Real third-party SCIM servers on loopback, behind real TLS, seeded with a few users.

- scim2-server (PyPI, the `dev` extra pins it): its own `scim2-server` command, with
  `--bearer-token` when a token is given and `--reverse-proxy` so its URLs name the proxy;
- SCIMMY + scimmy-routers on Express (npm, tests/thirdparty/scimmy/package-lock.json): the
  handlers of SCIMMY's documentation over an in-memory store (tests/thirdparty/scimmy/server.mjs).

Each listens on 127.0.0.1 in plain HTTP, as such servers do behind nginx; a TlsProxy in front
terminates TLS with a certificate from a throwaway CA for `<name>.thirdparty.test`, which the
CLI reaches with `--resolve` and trusts with `--cacert`. Users are seeded through the server's
own SCIM API. Every process is started in its own session and its process group is killed on
exit; the proxy is stopped. Reusable by any test that wants a real server (read-only checks here,
the write lifecycle elsewhere).
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
from tests.support.tls_proxy import TlsProxy
from tests.thirdparty import npm

SCIM2_SERVER_VERSION = "0.8.3"
"""The version the dev extra pins; docs/thirdparty.md describes this one."""
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
    """A third-party server as the CLI sees it (through the TLS proxy) and as the test does."""

    name: str
    """Package name, as docs/thirdparty.md calls it."""
    version: str
    host: str
    """The name in the certificate and the URL; pinned to 127.0.0.1 with --resolve."""
    port: int
    """The TLS proxy's port."""
    base_path: str
    """`/v2` or `/scim/v2`."""
    backend: str
    """The server's own plain-HTTP base URL on 127.0.0.1 (for seeding and inspection)."""
    token: str | None
    cacert: Path
    closed_http_port: int
    """A loopback port where nothing listens, for --http-port: no plain-HTTP listener."""

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
            str(self.closed_http_port),
            "--timeout",
            "5",
            *extra,
        ]


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
    return None


def scimmy_unavailable() -> str | None:
    """Why the SCIMMY server cannot run here (after installing its npm packages), or None."""
    return npm.ensure_installed()


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


@contextlib.contextmanager
def _closed_port() -> Iterator[int]:
    """A loopback port bound but not listening: connections to it are refused, and no other
    process can take it meanwhile."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        yield port


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _fronted(
    name: str,
    version: str,
    directory: Path,
    upstream_port: int,
    base_path: str,
    token: str | None,
    users: Sequence[tuple[str, str, str]],
) -> Iterator[RunningServer]:
    host = f"{name}.thirdparty.test"
    authority = CertificateAuthority("scim-doctor third-party test CA")
    cacert = authority.write_root_pem(directory, f"{name}-ca.pem")
    context = authority.issue([host]).server_context()
    backend = f"http://127.0.0.1:{upstream_port}{base_path}"
    _seed(backend, token, users)
    with TlsProxy(context, ("127.0.0.1", upstream_port)) as proxy, _closed_port() as closed:
        yield RunningServer(
            name, version, host, proxy.port, base_path, backend, token, cacert, closed
        )


@contextlib.contextmanager
def scim2_server(
    directory: Path,
    *,
    token: str | None,
    users: Sequence[tuple[str, str, str]] = SEED_USERS,
) -> Iterator[RunningServer]:
    """`scim2-server --reverse-proxy [--bearer-token TOKEN]` behind TLS, seeded with `users`.

    Without a token it runs as its documentation's first command does: accepting every request.
    """
    version = importlib.metadata.version("scim2-server")
    port = _free_port()  # Its command takes a port but does not tell which one port 0 chose.
    command = [sys.executable, "-m", "scim2_server.testserver.cli"]
    command += ["--hostname", "127.0.0.1", "--port", str(port), "--reverse-proxy"]
    if token is not None:
        command += ["--bearer-token", token]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = directory / "scim2-server.log"
    with _process(command, log, r"^Serving SCIM on .*$", env):
        with _fronted("scim2-server", version, directory, port, "/v2", token, users) as server:
            yield server


@contextlib.contextmanager
def scimmy_server(
    directory: Path,
    *,
    token: str,
    users: Sequence[tuple[str, str, str]] = SEED_USERS,
) -> Iterator[RunningServer]:
    """tests/thirdparty/scimmy/server.mjs (SCIMMY + scimmy-routers) behind TLS, seeded."""
    version = npm.installed_version("scimmy") or "?"
    routers = npm.installed_version("scimmy-routers") or "?"
    command = ["node", str(npm.SCIMMY_DIR / "server.mjs")]
    env = {**os.environ, "SCIMMY_PORT": "0", "SCIMMY_TOKEN": token}
    log = directory / "scimmy.log"
    with _process(command, log, r"^listening http://127\.0\.0\.1:\d+/scim/v2$", env) as line:
        port = int(line.rsplit(":", 1)[1].split("/", 1)[0])
        name = "scimmy"
        with _fronted(
            name, f"{version} (scimmy-routers {routers})", directory, port, "/scim/v2", token, users
        ) as server:
            yield server
