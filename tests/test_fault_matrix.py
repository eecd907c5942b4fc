"""The fault matrix: every fault the demo server can inject, diagnosed end to end.

The real console script runs in a subprocess with JSON output against a loopback demo server
carrying one fault. For each: the expected codes with their catalogue severity, the first
check that is not healthy is the one the first expected code belongs to, exit code 1 (with
--fail-on warn, so warn-only faults count too), no traceback, valid JSON, within 2 x --timeout.
The healthy server gets exit 0 and no warn or fail. Subprocesses run two at a time so the
whole matrix stays quick on two cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.core.findings import CATALOGUE
from scim_doctor.demo.faults import FAULTS
from scim_doctor.demo.server import DemoServer
from tests.conftest import assert_one_verdict, assert_valid_report, catalogue_severity

TOKEN = "fault-matrix-token-6c0e2b9a71d45f38"
TIMEOUT = 3.0
LOAD_SLACK = 2.0
"""Past 2 x --timeout, what a run may take on a loaded two-core CI machine (two runs at a
time, process start, rendering): a hang would take the run's deadline or for ever."""
SCRIPT = str(Path(sys.executable).with_name("scim-doctor"))

# The module fixture runs every fault once (a few subprocesses at a time) before the first test.
pytestmark = pytest.mark.timeout(600)


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    seconds: float


def token_for(fault: str | None) -> str:
    """TOKEN, or a long token that starts with it where the fault needs one (a header limit):
    the canary checks below find either."""
    chars = FAULTS[fault].token_chars if fault is not None else None
    return (TOKEN + "-" + "x" * chars)[:chars] if chars else TOKEN


def run_against(fault: str | None) -> Run:
    token = token_for(fault)
    with (
        tempfile.TemporaryDirectory() as tmp,
        DemoServer(token, fault=fault, http_listener=True) as server,
    ):
        ca = server.write_ca(Path(tmp))
        argv = [
            SCRIPT,
            "check",
            server.base_url,
            "--cacert",
            str(ca),
            "--resolve",
            server.resolve_pin,
            "--http-port",
            str(server.http_port),
            "--timeout",
            str(TIMEOUT),
            "--format",
            "json",
            "--fail-on",
            "warn",
            "--allow-writes",  # the demo server is throwaway; lifecycle faults need writes
        ]
        if fault is not None and any(c.startswith("users.deep_") for c in FAULTS[fault].expect):
            argv.append("--deep")  # the deep faults show only on the pages an import reads
        started = time.monotonic()
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "SCIM_TOKEN": token},
        )
        return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


@pytest.fixture(scope="module")
def matrix() -> dict[str | None, Run]:
    names: list[str | None] = [None, *sorted(FAULTS)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(names, pool.map(run_against, names), strict=True))


def test_the_matrix_covers_at_least_forty_faults() -> None:
    assert len(FAULTS) >= 40, f"only {len(FAULTS)} faults"


def test_the_healthy_server_exits_0_with_no_warn_or_fail(
    matrix: dict[str | None, Run], report_validator: Any
) -> None:
    run = matrix[None]
    report = json.loads(run.stdout)
    assert_valid_report(report_validator, report)
    problems = [
        (c["id"], f["code"])
        for c in report["checks"]
        for f in c["findings"]
        if f["severity"] != "info"
    ]
    assert run.exit_code == 0 and problems == [], problems
    assert_one_verdict(report)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_is_diagnosed_with_its_code_severity_and_check(
    matrix: dict[str | None, Run], report_validator: Any, fault: str
) -> None:
    run = matrix[fault]
    assert "Traceback" not in run.stderr + run.stdout
    assert TOKEN not in run.stderr + run.stdout
    report = json.loads(run.stdout)
    assert_valid_report(report_validator, report)
    found = {f["code"]: f for c in report["checks"] for f in c["findings"]}
    for code in FAULTS[fault].expect:
        assert code in found, f"{fault}: {code} not in {sorted(found)}"
        assert catalogue_severity(found[code]) == CATALOGUE[code].severity.value
    assert_one_verdict(report)
    assert run.seconds < 2 * TIMEOUT + LOAD_SLACK, f"{fault} took {run.seconds:.1f} s"
    if all(CATALOGUE[code].severity.value == "info" for code in FAULTS[fault].expect):
        # A risk that needs another mistake first (e.g. port 80's 301 for an https base URL).
        assert run.exit_code == 0 and report["summary"]["status"] == "pass", run.stderr
        return
    problems = [
        f["code"] for c in report["checks"] for f in c["findings"] if f["severity"] != "info"
    ]
    expected_first = FAULTS[fault].expect[0]
    assert problems[0] == expected_first, f"{fault}: first problem {problems[0]}"
    assert report["summary"]["root_cause"]["code"] == expected_first
    first_bad = next(c["id"] for c in report["checks"] if c["status"] in ("warn", "fail", "error"))
    expected_check = FAULTS[fault].expect[0].split(".", 1)[0]
    if expected_check != "http":
        assert first_bad in (expected_check, "url"), f"{fault}: first bad check {first_bad}"
    assert run.exit_code == 1, run.stderr


# --- advice that fits the observation -----------------------------------------------------------

FIX_CONFLICTS: tuple[tuple[str, str, str], ...] = (
    # (when the report has this code, no finding's fix may say this, because ...)
    (
        "auth.token_malformed",
        "generate a new scim token",
        "a new token pasted the same way fails the same way: the fix is the paste",
    ),
)
"""Pairs of observations and fixes that contradict them, kept as data."""
WEBDAV_NEEDS = "405"
"""IIS WebDAV advice fits only a request the server refused with 405."""


def contradictions(report: dict[str, Any]) -> list[str]:
    findings = [f for c in report["checks"] for f in c["findings"]]
    present = {f["code"] for f in findings}
    found = [
        f"{f['code']}: {why}"
        for code, phrase, why in FIX_CONFLICTS
        if code in present
        for f in findings
        if phrase in f["remediation"].lower()
    ]
    found += [
        f"{f['code']}: WebDAV advice for an answer that was not 405"
        for f in findings
        if "webdav" in f["remediation"].lower() and WEBDAV_NEEDS not in f["message"]
    ]
    return found


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_no_two_findings_of_a_report_give_contradictory_fixes(
    matrix: dict[str | None, Run], fault: str
) -> None:
    assert contradictions(json.loads(matrix[fault].stdout)) == []


def test_the_contradiction_table_catches_new_token_advice_beside_a_malformed_token() -> None:
    report = {
        "checks": [
            {
                "findings": [
                    {"code": "auth.token_malformed", "message": "m", "remediation": "Paste it."},
                    {
                        "code": "auth.rejected",
                        "message": "401",
                        "remediation": "Generate a new SCIM token in the application.",
                    },
                    {
                        "code": "lifecycle.put_failed",
                        "message": "answered 200 but ignored it",
                        "remediation": "If IIS answers 405, remove the WebDAV module.",
                    },
                ]
            }
        ]
    }
    assert len(contradictions(report)) == 2
