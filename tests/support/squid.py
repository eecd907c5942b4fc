"""A real squid (Debian's package) on loopback, with its own configuration, pid, logs and cache
directory, for the proxy tests.

One squid process listens on three ports, each a company proxy as people meet them:
- `auth`: Basic authentication through squid's own `basic_ncsa_auth` helper and an htpasswd
  file written here (`USER` / `PASSWORD`); without credentials, 407;
- `deny`: an access rule that refuses every CONNECT (403, squid's ERR_ACCESS_DENIED page);
- `open`: lets everything through.

Squid resolves names from its own hosts file (`hosts`), so a test host name such as
scim.corp.test reaches a loopback server through the proxy while this machine's resolver knows
nothing of it, as on a company network where only the proxy resolves outside names. Every
request's Authorization and Proxy-Authorization headers are logged (access.log), so a test can
prove what crossed the proxy in clear text.

`Squid` is a context manager: it stops the process (and waits for it) on leaving, whatever
happened inside.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from tests.support import components

SQUID = "/usr/sbin/squid"
BASIC_HELPER = "/usr/lib/squid/basic_ncsa_auth"
USER = "proxyuser"
PASSWORD = "pr0xy-Secret-7f3a"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0

# Squid's logformat codes: %>h{NAME} is a request header as the client sent it.
_LOGFORMAT = (
    'logformat doctor %ts.%03tu %>a %Ss/%03>Hs %rm %ru "%{Authorization}>h" '
    '"%{Proxy-Authorization}>h" %un'
)


def unavailable_reason() -> str | None:
    for path in (SQUID, BASIC_HELPER):
        if not Path(path).exists():
            return f"{path} is not installed (Debian's squid package)"
    if shutil.which("openssl") is None:
        return "openssl is not installed (it writes the proxy's htpasswd file)"
    return None


def require() -> None:
    reason = unavailable_reason()
    if reason is not None:
        components.missing(reason)


def _free_ports(count: int) -> list[int]:
    """Ports nothing listens on right now (squid cannot bind port 0 and say which it got)."""
    holders = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            holders.append(sock)
        return [sock.getsockname()[1] for sock in holders]
    finally:
        for sock in holders:
            sock.close()


def _htpasswd_line(user: str, password: str) -> str:
    digest = subprocess.run(
        ["openssl", "passwd", "-apr1", password],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout.strip()
    return f"{user}:{digest}\n"


class Squid:
    """A running squid with the three ports above; `hosts` maps names to loopback addresses."""

    def __init__(self, hosts: Mapping[str, str]) -> None:
        self._hosts = dict(hosts)
        self._dir = Path(tempfile.mkdtemp(prefix="scim-doctor-squid-"))
        self._process: subprocess.Popen[bytes] | None = None
        self.auth_port, self.deny_port, self.open_port = _free_ports(3)

    # addresses

    def url(self, port: int, *, credentials: bool = False) -> str:
        userinfo = f"{USER}:{PASSWORD}@" if credentials else ""
        return f"http://{userinfo}127.0.0.1:{port}"

    @property
    def access_log(self) -> str:
        path = self._dir / "access.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @property
    def cache_log(self) -> str:
        path = self._dir / "cache.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # lifecycle

    def _config(self) -> str:
        d = self._dir
        return "\n".join(
            [
                f"http_port 127.0.0.1:{self.auth_port} name=auth",
                f"http_port 127.0.0.1:{self.deny_port} name=deny",
                f"http_port 127.0.0.1:{self.open_port} name=open",
                f"pid_filename {d}/squid.pid",
                _LOGFORMAT,
                f"access_log stdio:{d}/access.log doctor",
                f"cache_log {d}/cache.log",
                "cache_store_log none",
                "cache deny all",
                f"coredump_dir {d}",
                "visible_hostname proxy.corp.test",
                "shutdown_lifetime 0 seconds",
                f"hosts_file {d}/hosts",
                # No DNS server answers on loopback: names outside the hosts file fail at once.
                "dns_nameservers 127.0.0.1",
                "dns_timeout 2 seconds",
                "connect_timeout 5 seconds",
                "forwarded_for delete",
                f"auth_param basic program {BASIC_HELPER} {d}/htpasswd",
                "auth_param basic realm scim-doctor test proxy",
                "auth_param basic children 2",
                "acl auth_port myportname auth",
                "acl deny_port myportname deny",
                "acl open_port myportname open",
                "acl authenticated proxy_auth REQUIRED",
                "acl CONNECT method CONNECT",
                "http_access deny deny_port CONNECT",
                "http_access allow open_port",
                "http_access allow deny_port",
                "http_access allow auth_port authenticated",
                "http_access deny all",
                "",
            ]
        )

    def start(self) -> Squid:
        d = self._dir
        (d / "hosts").write_text("".join(f"{a} {n}\n" for n, a in self._hosts.items()))
        (d / "htpasswd").write_text(_htpasswd_line(USER, PASSWORD))
        (d / "squid.conf").write_text(self._config())
        os.chmod(d, 0o777)  # noqa: S103 - squid runs as its own user (proxy) and logs here
        for name in ("hosts", "htpasswd", "squid.conf"):
            os.chmod(d / name, 0o644)
        with open(d / "stderr.log", "wb") as stderr:  # the child keeps its own copy
            self._process = subprocess.Popen(
                [SQUID, "-N", "-f", str(d / "squid.conf")],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        ports = (self.auth_port, self.deny_port, self.open_port)
        while time.monotonic() < deadline:
            process = self._process
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"squid exited at start: {self._tail()}")
            if "Accepting HTTP Socket connections" in self.cache_log and all(
                self._listening(port) for port in ports
            ):
                return
            time.sleep(0.1)
        raise RuntimeError(f"squid did not start within {START_TIMEOUT_S} s: {self._tail()}")

    @staticmethod
    def _listening(port: int) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return True
        return False

    def _tail(self) -> str:
        stderr = (self._dir / "stderr.log").read_text(errors="replace")
        return (stderr + self.cache_log)[-2000:]

    def stop(self) -> None:
        """Stop squid and its helpers (its process group) and remove its directory."""
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(STOP_TIMEOUT_S)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Squid:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
