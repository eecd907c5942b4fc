"""stderr is ours alone: a run prints nothing there that scim-doctor did not write itself — no
deprecation warning from a dependency, no traceback — even with every warning made an error
(`python -W error`), as a CI log, cron mail or support ticket would show it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scim_doctor.demo.server import DemoServer
from tests.support.fleet_servers import TOKEN, TOKEN_ENV, FleetServers, fleet_servers

CANARY = "canary-stderr-5e1f0a9c7b3d2648"
DEMO_BANNER = "demo: SCIM server on 127.0.0.1:"


def scim_doctor(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real program in a fresh interpreter with warnings as errors."""
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "scim_doctor", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "error", **env},
    )


def assert_clean(stderr: str, *own: str) -> None:
    assert "Warning" not in stderr and "Traceback" not in stderr, stderr
    foreign = [line for line in stderr.splitlines() if not line.startswith(own)]
    assert foreign == [], stderr


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[FleetServers]:
    with fleet_servers(tmp_path, {"healthy": None, "expired": "expired_cert"}) as servers:
        yield servers


def test_a_check_reaching_tls_prints_nothing_on_stderr_with_warnings_as_errors(
    tmp_path: Path,
) -> None:
    with DemoServer(CANARY) as server:
        done = scim_doctor(
            "check", server.base_url, "--cacert", str(server.write_ca(tmp_path)),
            "--resolve", server.resolve_pin, "--timeout", "2",
            env={"SCIM_TOKEN": CANARY},
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""


def test_the_demo_prints_only_its_own_banner_on_stderr_with_warnings_as_errors() -> None:
    done = scim_doctor("demo", "--timeout", "2", env={})
    assert done.returncode == 0, done.stdout + done.stderr
    assert DEMO_BANNER in done.stderr
    assert_clean(done.stderr, DEMO_BANNER)


def test_the_demo_with_a_certificate_fault_prints_only_its_banner_with_warnings_as_errors() -> None:
    done = scim_doctor("demo", "--fault", "expired_cert", "--timeout", "2", env={})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "tls.cert_expired" in done.stdout
    assert_clean(done.stderr, DEMO_BANNER)


def test_a_fleet_prints_nothing_on_stderr_with_warnings_as_errors(fleet: FleetServers) -> None:
    config = fleet.config([("a", "healthy"), ("b", "expired")])
    done = scim_doctor("check", "--config", str(config), env={TOKEN_ENV: TOKEN})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "tls.cert_expired" in done.stdout
    assert done.stderr == ""
