"""Run Python code in a private network namespace, where the test owns DNS and routing.

Inside `unshare --net --mount` only a loopback interface exists: nothing can leave the machine,
an address without a route fails at once with ENETUNREACH, and a fake DNS server on
127.0.0.1:53 is the only resolver. /etc/resolv.conf, /etc/hosts and /etc/nsswitch.conf are
bind-mounted from temporary files in the private mount namespace (the host's stay untouched),
so the system resolver (glibc's getaddrinfo) behaves exactly as the test wants.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support import components

REPO_ROOT = Path(__file__).resolve().parents[2]

RESOLV_CONF = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"
"""Ask only the fake server, and give up after one second, so a silent resolver ends quickly."""
HOSTS = "127.0.0.1 localhost\n::1 localhost\n"

# Bound into the namespace with `sh -e -c SCRIPT sh DIR PYTHON SNIPPET ARGS...`.
_SCRIPT = """
ip link set lo up
mount --bind "$1/resolv.conf" /etc/resolv.conf
mount --bind "$1/hosts" /etc/hosts
mount --bind "$1/nsswitch.conf" /etc/nsswitch.conf
shift
exec "$@"
"""


HOSTS_SERVICES = "files dns"
"""Only /etc/hosts and the fake server: no NSS module (systemd-resolved, mDNS) can answer
from outside the namespace."""


def _nsswitch(hosts_services: str) -> str:
    """The host's nsswitch.conf with its `hosts:` line replaced."""
    try:
        lines = Path("/etc/nsswitch.conf").read_text().splitlines()
    except OSError:
        lines = []
    kept = [line for line in lines if not line.strip().startswith("hosts:")]
    return "\n".join([*kept, f"hosts: {hosts_services}", ""])


@functools.cache
def unavailable_reason() -> str | None:
    """Why tests cannot use a private network namespace here, or None when they can."""
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespace tests need root (unshare --net --mount)"
    for tool in ("unshare", "ip", "mount"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    try:
        probe = subprocess.run(
            ["unshare", "--net", "--mount", "ip", "link", "set", "lo", "up"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare cannot run: {exc}"
    if probe.returncode != 0:
        return f"unshare --net --mount failed: {probe.stderr.strip() or probe.returncode}"
    for path in ("/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf"):
        if not Path(path).exists():
            return f"{path} does not exist, so it cannot be replaced inside the namespace"
    return None


def require() -> None:
    """Skip the calling test, with the reason, when no private namespace can be made."""
    reason = unavailable_reason()
    if reason is not None:
        components.missing(reason)


def run_python(
    snippet: str,
    *args: str,
    resolv_conf: str = RESOLV_CONF,
    hosts: str = HOSTS,
    hosts_services: str = HOSTS_SERVICES,
    timeout: float = 20.0,
) -> subprocess.CompletedProcess[str]:
    """Run `snippet` with this interpreter (the venv's) in a fresh network namespace.

    `args` become sys.argv[1:]; the repository root is the working directory, so the snippet
    can import `tests.support`. `hosts_services` is the `hosts:` line of nsswitch.conf; keep
    `dns` the only service that can ask a server. Raises AssertionError with stderr when the
    snippet fails.
    """
    require()
    with tempfile.TemporaryDirectory(prefix="scim-doctor-netns-") as tmp:
        files = Path(tmp)
        (files / "resolv.conf").write_text(resolv_conf)
        (files / "hosts").write_text(hosts)
        (files / "nsswitch.conf").write_text(_nsswitch(hosts_services))
        (files / "snippet.py").write_text(snippet)
        command = [
            "unshare", "--net", "--mount", "--", "sh", "-e", "-c", _SCRIPT, "sh", tmp,
            sys.executable, str(files / "snippet.py"), *args,
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO_ROOT,
            env=env,
            check=False,
        )
    if completed.returncode != 0:
        raise AssertionError(
            f"snippet failed in the namespace (exit {completed.returncode}):\n{completed.stderr}"
        )
    return completed
