"""End to end: the curl command a report gives for a failing exchange, run with the real curl
binary against the same demo server, gets the answer the report recorded."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from scim_doctor.demo.server import DemoServer
from tests.support.components import missing

TOKEN = "replay-canary-token-8Jd2kQ0wXv41"
STATUS_LINE = re.compile(r"^\s+< HTTP/\S+ (\d{3})$")


def commands_with_status(text: str) -> list[tuple[int, str]]:
    """(recorded status, curl command) for each replayable exchange of a verbose text report:
    the command is the `$ curl` line under the exchange's `< HTTP/1.1 NNN` line."""
    found: list[tuple[int, str]] = []
    status: int | None = None
    for line in text.splitlines():
        match = STATUS_LINE.match(line)
        if match:
            status = int(match.group(1))
        elif line.lstrip().startswith("$ curl ") and status is not None:
            found.append((status, line.lstrip()[2:]))
            status = None
    return found


def replay(command: str, token: str | None) -> int:
    """Run the command through bash (which expands "$SCIM_TOKEN"); the first status line."""
    env = {"PATH": "/usr/bin:/bin"} | ({"SCIM_TOKEN": token} if token is not None else {})
    done = subprocess.run(  # the command comes from our own report of our own demo server
        ["/bin/bash", "-c", command], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    return int(first.split()[1])


def test_the_failing_exchange_replays_with_curl_and_gets_the_recorded_status(
    run_cli: Any, tmp_path: Path
) -> None:
    """Given a demo server that answers the valid token 403 (and no token 401), when the
    failing auth exchange's curl command runs with SCIM_TOKEN set, then curl gets 403 as the
    report recorded; the token-less exchange's command gets 401; the token is in no output."""
    if shutil.which("curl") is None:
        missing("the curl binary (Debian's curl; scripts/ensure-components installs it)")
    with DemoServer(TOKEN, fault="forbidden") as server:
        ca = server.write_ca(tmp_path)
        result = run_cli(
            "check",
            server.base_url,
            "--cacert",
            str(ca),
            "--resolve",
            server.resolve_pin,
            "--timeout",
            "5",
            "-v",
            env={"SCIM_TOKEN": TOKEN},
        )
        assert result.exit_code == 1
        assert TOKEN not in result.stdout + result.stderr
        found = commands_with_status(result.stdout)
        with_token = [(s, c) for s, c in found if "$SCIM_TOKEN" in c and s == 403]
        without = [(s, c) for s, c in found if "SCIM_TOKEN" not in c and s == 401]
        assert with_token, result.stdout
        assert without, result.stdout
        status, command = with_token[0]
        assert f"--cacert '{ca.absolute()}'" in command
        assert f"--resolve '{server.resolve_pin}'" in command
        assert replay(command, TOKEN) == status == 403
        assert replay(without[0][1], None) == 401
        assert replay(command, None) == 401  # so the 403 above came from the token
