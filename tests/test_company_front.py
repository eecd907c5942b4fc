"""Issue 19, items 3 and 4 end to end: block pages, an IP allow-list, a header limit and the clock,
each through the real console script in a subprocess against the demo server carrying the fault.

For each: the JSON report's code, severity, check, provider verdicts and exit code; the text
report's first line names the cause and its fix is one a company admin can act on; the token is
in no output, and the recording of both demo listeners shows the token went to the base URL's
host and port only (never to the plain-HTTP port, never outside the SCIM base).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.core.findings import CATALOGUE
from scim_doctor.demo.faults import FAULTS
from scim_doctor.demo.scim_wire import BASE_PATH
from scim_doctor.demo.server import DemoServer, RecordedRequest
from tests.conftest import assert_one_verdict, assert_valid_report

TOKEN = "front-e2e-token-3f9a1c7d5e2b8046"
SCRIPT = str(Path(sys.executable).with_name("scim-doctor"))
PROVIDERS = ("entra", "okta", "onelogin", "jumpcloud", "google")
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@dataclass(frozen=True)
class Expected:
    code: str
    severity: str
    verdict: str
    """What every provider reads."""
    exit_code: int
    fix_says: tuple[str, ...]
    """Words of the finding's fix (or message) an admin acts on."""


EXPECTED: dict[str, Expected] = {
    "waf_blocks_api": Expected(
        "auth.waf_blocked", "fail", "not_judged_here", 1, ("event log", "exempt the SCIM path")
    ),
    "waf_blocks_token": Expected(
        "auth.waf_blocks_token", "fail", "will_fail", 1, ("event log", "Authorization header")
    ),
    "ip_allowlist": Expected(
        "auth.ip_not_allowed", "fail", "not_judged_here", 1, ("AzureActiveDirectory", "Okta")
    ),
    "header_too_large": Expected(
        "auth.header_too_large",
        "fail",
        "will_fail",
        1,
        ("large_client_header_buffers 4 16k", "shorter token"),
    ),
    "clock_skew": Expected("auth.clock_skew", "warn", "will_work", 0, ("NTP", "this machine")),
}


TITLES = {code: CATALOGUE[code].title for code in (e.code for e in EXPECTED.values())}


@dataclass(frozen=True)
class Run:
    exit_code: int
    text: str
    report: dict[str, Any]
    stderr: str
    received: list[RecordedRequest]
    token: str
    https_port: int


def _environment(token: str) -> dict[str, str]:
    """This run's environment: the token, and no proxy the developer's shell may export."""
    kept = {
        k: v
        for k, v in os.environ.items()
        if k.upper() not in _PROXY_VARIABLES and not k.upper().startswith("SCIM_")
    }
    return {**kept, "SCIM_TOKEN": token}


def run_fault(fault: str, tmp_path: Path) -> Run:
    chars = FAULTS[fault].token_chars
    token = (TOKEN + "-" + "z" * chars)[:chars] if chars else TOKEN
    with DemoServer(token, fault=fault, http_listener=True) as server:
        ca = server.write_ca(tmp_path)
        json_path = tmp_path / "report.json"
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
            "3",
            "--allow-writes",  # the demo is throwaway: every provider can then be judged
            "--report",
            f"json={json_path}",
        ]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=60, check=False, env=_environment(token)
        )
        report = json.loads(json_path.read_text(encoding="utf-8"))
        return Run(
            done.returncode,
            done.stdout,
            report,
            done.stderr,
            server.received,
            token,
            server.port,
        )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    return {fault: run_fault(fault, tmp_path_factory.mktemp(fault)) for fault in EXPECTED}


def test_every_fault_of_items_3_and_4_is_in_the_demo_with_its_code() -> None:
    for fault, expected in EXPECTED.items():
        assert FAULTS[fault].expect == (expected.code,)


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_the_json_report_names_the_code_severity_check_providers_and_exit_code(
    runs: dict[str, Run], report_validator: Any, fault: str
) -> None:
    run, expected = runs[fault], EXPECTED[fault]
    report = run.report
    assert_valid_report(report_validator, report)
    assert_one_verdict(report)
    found = [
        (c["id"], f) for c in report["checks"] for f in c["findings"] if f["severity"] != "info"
    ]
    assert [(check, f["code"]) for check, f in found] == [("auth", expected.code)]
    finding = found[0][1]
    assert finding["severity"] == expected.severity
    assert report["summary"]["root_cause"]["code"] == expected.code
    verdicts = {v["idp"]: v["verdict"] for v in report["idp_verdicts"]}
    assert verdicts == dict.fromkeys(PROVIDERS, expected.verdict)
    blamed = PROVIDERS if expected.verdict == "will_fail" else ()
    assert tuple(finding.get("affects", ())) == blamed
    assert run.exit_code == expected.exit_code, run.stderr
    assert report["summary"]["status"] == {"fail": "fail", "warn": "warn"}[expected.severity]


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_the_text_report_names_the_cause_first_and_gives_a_fix_an_admin_can_act_on(
    runs: dict[str, Run], fault: str
) -> None:
    run, expected = runs[fault], EXPECTED[fault]
    first = run.text.splitlines()[0]
    title = next(
        f for c in run.report["checks"] for f in c["findings"] if f["code"] == expected.code
    )
    assert expected.code in " ".join(run.text.splitlines()[:2]), first
    assert "Fix:" in run.text
    advice = " ".join(f"{title['message']} {title['remediation']}".split())
    for words in expected.fix_says:
        assert words in advice, (fault, words)
    assert "token is refused" not in run.text and "auth.rejected" not in run.text


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_the_token_is_in_no_output_and_went_only_to_the_base_urls_host_and_port(
    runs: dict[str, Run], fault: str
) -> None:
    run = runs[fault]
    assert run.token not in run.text + run.stderr + json.dumps(run.report)
    carrying = [r for r in run.received if run.token in (r.header("authorization") or "")]
    assert carrying, "the token was never sent"
    for request in carrying:
        assert request.scheme == "https", (request.method, request.path)
        assert request.path.startswith(BASE_PATH + "/") or request.path == BASE_PATH
        assert request.header("host") == f"demo.scim-doctor.test:{run.https_port}"
    plain = [r for r in run.received if r.scheme == "http"]
    assert all(r.header("authorization") is None for r in plain)
