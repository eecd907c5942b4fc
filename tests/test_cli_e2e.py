"""The CLI end to end against the demo server: exit codes, the JSON contract, every transport
fault named by its code within 2 x --timeout, and the token in no output."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.demo.faults import FAULTS
from scim_doctor.demo.server import DemoServer
from tests.conftest import assert_valid_report

CANARY = "canary-e2e-9d2b7c4f1a6e3058"
TIMEOUT = 1.0
TRANSPORT_FAULTS = sorted(name for name, f in FAULTS.items() if f.layer in ("tls", "socket"))


@pytest.fixture
def healthy(tmp_path: Path) -> Iterator[tuple[DemoServer, Path]]:
    with DemoServer(CANARY) as server:
        yield server, server.write_ca(tmp_path)


def check_args(server: DemoServer, ca: Path, *extra: str) -> list[str]:
    return [
        "check",
        server.base_url,
        "--cacert",
        str(ca),
        "--resolve",
        server.resolve_pin,
        "--timeout",
        str(TIMEOUT),
        *extra,
    ]


def test_a_healthy_server_gives_exit_0_and_a_json_report_valid_against_the_schema(
    run_cli: Any, healthy: tuple[DemoServer, Path], report_validator: Any
) -> None:
    server, ca = healthy
    result = run_cli(*check_args(server, ca, "--format", "json"), env={"SCIM_TOKEN": CANARY})
    assert result.exit_code == 0, result.stdout + result.stderr
    report = result.json()
    assert_valid_report(report_validator, report)
    assert report["summary"]["status"] == "pass"
    assert [c["id"] for c in report["checks"]][:5] == ["url", "proxy", "dns", "connect", "tls"]
    assert all(c["status"] in ("pass", "skip") for c in report["checks"])


@pytest.mark.parametrize("fault", TRANSPORT_FAULTS)
def test_each_transport_fault_is_named_by_its_code_within_twice_the_timeout(
    run_cli: Any, tmp_path: Path, report_validator: Any, fault: str
) -> None:
    with DemoServer(CANARY, fault=fault) as server:
        ca = server.write_ca(tmp_path)
        started = time.monotonic()
        result = run_cli(*check_args(server, ca, "--format", "json"), env={"SCIM_TOKEN": CANARY})
        elapsed = time.monotonic() - started
    report = result.json()
    assert_valid_report(report_validator, report)
    codes = {f["code"]: f["severity"] for c in report["checks"] for f in c["findings"]}
    for code in FAULTS[fault].expect:
        assert code in codes, (fault, codes)
    expected_exit = 1 if any(codes[c] == "fail" for c in FAULTS[fault].expect) else 0
    assert result.exit_code == expected_exit
    assert elapsed < 2 * TIMEOUT + 1.0, f"{fault} took {elapsed:.1f} s"
    assert "Traceback" not in result.stderr
    assert CANARY not in result.stdout + result.stderr


def test_a_warning_fails_the_run_only_with_fail_on_warn(run_cli: Any, tmp_path: Path) -> None:
    with DemoServer(CANARY, fault="expires_soon") as server:
        ca = server.write_ca(tmp_path)
        default = run_cli(*check_args(server, ca), env={"SCIM_TOKEN": CANARY})
        strict = run_cli(*check_args(server, ca, "--fail-on", "warn"), env={"SCIM_TOKEN": CANARY})
    assert default.exit_code == 0 and "tls.cert_expires_soon" in default.stdout
    assert strict.exit_code == 1


def test_an_invalid_host_name_is_diagnosed_as_nxdomain_quickly(run_cli: Any) -> None:
    started = time.monotonic()
    result = run_cli(
        "check",
        "https://scim.example.invalid/scim/v2",
        "--timeout",
        str(TIMEOUT),
        "--format",
        "json",
        env={"SCIM_TOKEN": CANARY},
    )
    assert result.exit_code == 1
    codes = [f["code"] for c in result.json()["checks"] for f in c["findings"]]
    assert codes[0] == "dns.nxdomain"
    assert time.monotonic() - started < 2 * TIMEOUT + 1.0


def test_insecure_lets_later_checks_run_and_keeps_the_tls_finding(
    run_cli: Any, tmp_path: Path
) -> None:
    with DemoServer(CANARY, fault="self_signed_cert") as server:
        ca = server.write_ca(tmp_path)
        result = run_cli(
            *check_args(server, ca, "--insecure", "--format", "json"), env={"SCIM_TOKEN": CANARY}
        )
    checks = {c["id"]: c for c in result.json()["checks"]}
    assert checks["tls"]["status"] == "fail"
    assert "tls.untrusted_ca" in [f["code"] for f in checks["tls"]["findings"]]
    assert "requires tls" not in (checks["redirect"]["skip_reason"] or "")
    assert result.exit_code == 1


def test_only_runs_the_named_checks(run_cli: Any, healthy: tuple[DemoServer, Path]) -> None:
    server, ca = healthy
    result = run_cli(
        *check_args(server, ca, "--only", "dns,tls", "--format", "json"), env={"SCIM_TOKEN": CANARY}
    )
    statuses = {c["id"]: c["status"] for c in result.json()["checks"]}
    assert statuses["dns"] == "pass" and statuses["tls"] == "pass"
    assert statuses["connect"] == "skip" and statuses["url"] == "skip"


def test_the_report_file_is_written_atomically_and_announced(
    run_cli: Any, healthy: tuple[DemoServer, Path], tmp_path: Path
) -> None:
    server, ca = healthy
    out = tmp_path / "report.json"
    result = run_cli(
        *check_args(server, ca, "--format", "json", "-o", str(out)), env={"SCIM_TOKEN": CANARY}
    )
    assert result.exit_code == 0
    assert json.loads(out.read_text())["schema_version"] == "1.2"
    assert f"wrote {out}" in result.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []


def test_several_reports_are_written_in_one_run_beside_the_terminal_text(
    run_cli: Any, healthy: tuple[DemoServer, Path], tmp_path: Path, report_validator: Any
) -> None:
    server, ca = healthy
    json_path, text_path = tmp_path / "r.json", tmp_path / "r.txt"
    result = run_cli(
        *check_args(server, ca, "--report", f"json={json_path}", "--report", f"text={text_path}"),
        env={"SCIM_TOKEN": CANARY},
    )
    assert result.exit_code == 0
    assert "No problems found" in result.stdout
    assert_valid_report(report_validator, json.loads(json_path.read_text()))
    assert text_path.read_text().startswith("scim-doctor ")
    assert f"wrote {json_path}" in result.stderr and f"wrote {text_path}" in result.stderr


def test_the_cli_lists_exactly_the_report_formats_that_exist() -> None:
    from scim_doctor.cli.options import REPORT_FORMATS
    from scim_doctor.reporters import FORMATS

    assert set(REPORT_FORMATS) == set(FORMATS)


@pytest.mark.parametrize("fault", [None, "expired_cert", "plain_http"])
def test_the_canary_token_appears_in_no_output_of_any_format(
    run_cli: Any, tmp_path: Path, fault: str | None
) -> None:
    with DemoServer(CANARY, fault=fault) as server:
        ca = server.write_ca(tmp_path)
        outputs = []
        for extra in (("--format", "text", "-v"), ("--format", "json"), ("--insecure", "-v")):
            result = run_cli(*check_args(server, ca, *extra), env={"SCIM_TOKEN": CANARY})
            outputs.append(result.stdout + result.stderr)
    assert outputs and all(CANARY not in text for text in outputs)


def test_the_demo_command_checks_its_own_server_and_passes(run_cli: Any) -> None:
    result = run_cli("demo", "--timeout", str(TIMEOUT))
    assert result.exit_code == 0, result.stdout
    assert "No problems found" in result.stdout


def test_the_demo_command_shows_an_injected_fault(run_cli: Any) -> None:
    result = run_cli("demo", "--fault", "expired_cert", "--timeout", str(TIMEOUT))
    assert result.exit_code == 1
    assert "tls.cert_expired" in result.stdout


def test_the_console_script_and_python_m_agree_on_the_version() -> None:
    from scim_doctor import __version__

    exe = Path(sys.executable).with_name("scim-doctor")
    for argv in ([str(exe), "--version"], [sys.executable, "-m", "scim_doctor", "--version"]):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 0 and __version__ in done.stdout
