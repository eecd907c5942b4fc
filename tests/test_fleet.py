"""Many targets in one run (`check --config`): the summary names exactly the faulty targets,
results keep config order, one SSL context per CA file, exit codes as for one target, and the
JSON report (schema version 2) validates against docs/report-schema-v2.json."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import msgspec.structs
import pytest

from scim_doctor.checks import CHECK_IDS
from scim_doctor.core.fleet import FleetReport, TargetOutcome
from scim_doctor.core.model import Severity
from scim_doctor.net import trust
from scim_doctor.reporters import fleet as fleet_reporter
from scim_doctor.scim import idp
from tests.conftest import ROOT, assert_valid_report
from tests.reporters import sample_reports
from tests.support.fleet_servers import TOKEN, TOKEN_ENV, FleetServers, fleet_servers

SCHEMA_V2 = ROOT / "docs" / "report-schema-v2.json"
ENV = {TOKEN_ENV: TOKEN, "GITHUB_ACTIONS": None, "GITHUB_STEP_SUMMARY": None}
HEALTHY = ("healthy-1", "healthy-2", "healthy-3", "healthy-4")
KINDS = {**dict.fromkeys(HEALTHY), "expired": "expired_cert", "closed": "closed_port"}
TRANSPORT = ("--only", "url,dns,connect,tls")


@pytest.fixture(scope="module")
def v2_validator() -> Any:
    schema = json.loads(SCHEMA_V2.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[FleetServers]:
    with fleet_servers(tmp_path, KINDS) as servers:
        yield servers


def _label(index: int) -> str:
    """Targets 17, 58 and 123 have an expired certificate; 42, 99 and 177 refuse connections."""
    if index in (17, 58, 123):
        return "expired"
    if index in (42, 99, 177):
        return "closed"
    return HEALTHY[index % len(HEALTHY)]


def test_two_hundred_targets_are_checked_in_one_run_and_the_summary_names_exactly_the_faulty(
    run_cli: Any, fleet: FleetServers
) -> None:
    targets = [(f"t{index:03d}", _label(index)) for index in range(1, 201)]
    config = fleet.config(targets)
    started = time.monotonic()
    result = run_cli("check", "--config", str(config), *TRANSPORT, env=ENV)
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    faulty = [name for name, label in targets if label in ("expired", "closed")]
    assert result.stdout.rstrip().splitlines()[-1] == f"Failing: {', '.join(faulty)}"
    assert "Summary: 200 targets, 6 failing (194 pass, 0 warn, 6 fail, 0 error)" in result.stdout
    rows = _summary_rows(result.stdout)
    assert len(rows) == 200
    assert rows["t017"] == ["✗", "fail", "tls.cert_expired"]
    assert rows["t042"] == ["✗", "fail", "connect.refused"]
    assert rows["t001"] == ["✓", "pass", "-"]
    assert elapsed < 60, f"200 targets took {elapsed:.1f} s"
    assert TOKEN not in result.stdout + result.stderr


def _summary_rows(text: str) -> dict[str, list[str]]:
    table = text[text.index("\nSummary: ") :].split("\n\n")[1]
    return {line.split()[0]: line.split()[1:] for line in table.splitlines()[1:]}


def test_the_json_report_is_schema_version_2_with_the_v1_check_objects_per_target(
    run_cli: Any, fleet: FleetServers, v2_validator: Any, report_validator: Any
) -> None:
    targets = [(f"t{index:03d}", _label(index)) for index in range(40, 52)]
    result = run_cli(
        "check", "--config", str(fleet.config(targets)), *TRANSPORT, "--format", "json", env=ENV
    )
    report = result.json()
    assert_valid_report(v2_validator, report)
    assert result.exit_code == 1
    assert report["schema_version"] == "2.2"
    assert report["summary"]["failing"] == ["t042"]
    assert report["summary"]["counts"] == {"pass": 11, "warn": 0, "fail": 1, "error": 0}
    assert [t["name"] for t in report["targets"]] == [name for name, _ in targets]
    refused = report["targets"][2]
    assert refused["summary"] == {
        "status": "fail",
        "failing": True,
        "counts": {"pass": 2, "warn": 0, "fail": 1, "skip": len(CHECK_IDS) - 3, "error": 0},
        "problems": ["connect.refused"],
        "root_cause": {"check": "connect", "code": "connect.refused"},
    }
    as_v1 = {
        "schema_version": "1",
        "tool": report["tool"],
        "target": {"base_url": refused["base_url"], "host": "h", "port": 443},
        "started_at": refused["started_at"],
        "duration_ms": refused["duration_ms"],
        "summary": refused["summary"],
        "checks": refused["checks"],
    }
    assert_valid_report(report_validator, as_v1)


def test_the_text_report_has_a_section_per_target_and_a_summary_table_at_the_end(
    run_cli: Any, fleet: FleetServers
) -> None:
    config = fleet.config([("acme", "healthy-1"), ("globex", "expired"), ("initech", "closed")])
    result = run_cli("check", "--config", str(config), *TRANSPORT, env=ENV)
    assert result.exit_code == 1
    out = result.stdout
    sections = [line for line in out.splitlines() if line.startswith("── ")]
    assert [line.split()[1] for line in sections] == ["acme", "globex", "initech"]
    table = out[out.index("Summary: 3 targets, 2 failing") :]
    rows = [line.split() for line in table.splitlines()[2:6]]
    assert rows == [
        ["target", "status", "problems"],
        ["acme", "✓", "pass", "-"],
        ["globex", "✗", "fail", "tls.cert_expired"],
        ["initech", "✗", "fail", "connect.refused"],
    ]
    assert table.rstrip().endswith("Failing: globex, initech")
    assert "the certificate" in out[: out.index("Summary:")]  # the full per-target text


def test_a_pipe_gets_no_progress_line(run_cli: Any, fleet: FleetServers) -> None:
    config = fleet.config([("acme", "healthy-1"), ("globex", "healthy-2")])
    result = run_cli("check", "--config", str(config), *TRANSPORT, env=ENV)
    assert result.exit_code == 0
    assert "targets checked" not in result.stderr
    assert "\r" not in result.stderr + result.stdout


def test_progress_on_a_terminal_counts_done_and_failing_targets_on_one_line() -> None:
    import io

    from scim_doctor.core.fleet import TargetOutcome
    from scim_doctor.core.model import Severity
    from scim_doctor.runs.fleet import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    progress = Progress(3, screen)
    broken = TargetOutcome("b", "https://b.test/scim", Severity.FAIL, error="internal error")
    progress(broken)
    progress(broken)
    progress.close()
    assert "\r\x1b[K1/3 targets checked, 1 failing" in screen.getvalue()
    assert "\r\x1b[K2/3 targets checked, 2 failing" in screen.getvalue()
    assert screen.getvalue().endswith("\r\x1b[K")


def test_quiet_prints_one_line_per_problem_and_nothing_for_healthy_targets(
    run_cli: Any, fleet: FleetServers
) -> None:
    config = fleet.config([("acme", "healthy-1"), ("globex", "expired")])
    result = run_cli("check", "--config", str(config), *TRANSPORT, "--quiet", env=ENV)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("globex: fail tls.cert_expired: the certificate")
    assert result.stderr == ""


def test_quiet_prints_nothing_at_all_when_every_target_is_healthy(
    run_cli: Any, fleet: FleetServers
) -> None:
    config = fleet.config([("acme", "healthy-1"), ("globex", "healthy-2")])
    result = run_cli("check", "--config", str(config), *TRANSPORT, "-q", env=ENV)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_targets_and_tags_select_a_subset_in_config_order(
    run_cli: Any, fleet: FleetServers
) -> None:
    config = fleet.config(
        [
            ("acme", "healthy-1"),
            ("globex", "expired"),
            ("initech", "healthy-2"),
            ("hooli", "closed"),
        ]
    )
    result = run_cli(
        "check", "--config", str(config), *TRANSPORT, "--format", "json",
        "--target", "hooli", "--tag", "healthy-1", env=ENV,
    )  # fmt: skip
    assert [t["name"] for t in result.json()["targets"]] == ["acme", "hooli"]
    assert result.exit_code == 1


def test_an_unknown_target_name_is_a_usage_error_naming_the_known_ones(
    run_cli: Any, fleet: FleetServers
) -> None:
    config = fleet.config([("acme", "healthy-1")])
    result = run_cli("check", "--config", str(config), "--target", "acmee", env=ENV)
    assert result.exit_code == 2
    assert "--target 'acmee'" in result.stderr and "acme" in result.stderr


def test_a_warning_fails_a_target_only_when_its_own_fail_on_is_warn(
    run_cli: Any, tmp_path: Path
) -> None:
    with fleet_servers(tmp_path, {"soon": "expires_soon", "ok": None}) as servers:
        lenient = servers.config([("a", "soon")], file_name="lenient.toml")
        strict = servers.config([("a", "soon")], extra={"fail_on": '"warn"'})
        passed = run_cli("check", "--config", str(lenient), *TRANSPORT, "--format", "json", env=ENV)
        failed = run_cli("check", "--config", str(strict), *TRANSPORT, "--format", "json", env=ENV)
    assert passed.exit_code == 0 and passed.json()["summary"]["failing"] == []
    assert passed.json()["targets"][0]["summary"]["status"] == "warn"
    assert failed.exit_code == 1 and failed.json()["summary"]["failing"] == ["a"]


def test_command_line_options_override_the_file_for_every_target(
    run_cli: Any, fleet: FleetServers
) -> None:
    config = fleet.config([("acme", "healthy-1")], extra={"only": '["url"]'})
    result = run_cli(
        "check", "--config", str(config), "--only", "dns", "--timeout", "1.5",
        "--format", "json", env=ENV,
    )  # fmt: skip
    target = result.json()["targets"][0]
    statuses = {c["id"]: c["status"] for c in target["checks"]}
    assert statuses["dns"] == "pass" and statuses["url"] == "skip"


def test_reach_and_max_body_given_with_a_config_file_apply_to_every_target(
    run_cli: Any, fleet: FleetServers
) -> None:
    """Given --reach private and --max-body 64k with --config, when the fleet runs, then every
    target runs with them (they used to be dropped silently): the reach is in each target's
    environment, and the size is taken, not refused."""
    config = fleet.config([("acme", "healthy-1")])
    result = run_cli(
        "check", "--config", str(config), "--reach", "private", "--max-body", "64k",
        "--only", "url", "--format", "json", env=ENV,
    )  # fmt: skip
    target = result.json()["targets"][0]
    assert target["environment"]["reach"] == "private"


def test_every_target_with_the_same_ca_file_shares_one_ssl_context(
    fleet: FleetServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scim_doctor.runs.config import load_config
    from scim_doctor.runs.fleet import prepare

    config = load_config(fleet.config([(f"t{i}", HEALTHY[i % 4]) for i in range(10)]))
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    specs = prepare(config.targets)
    assert len({id(spec.trust.context) for spec in specs}) == 1
    assert specs[0].trust is trust.load_trust(fleet.cacert)


def test_targets_run_concurrently_up_to_the_limit_and_results_keep_config_order(
    fleet: FleetServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given 8 targets and concurrency 4, at most 4 are in flight and the order is the file's."""
    import asyncio

    from scim_doctor.runs import fleet as fleet_module
    from scim_doctor.runs.config import load_config

    config = load_config(fleet.config([(f"t{i}", HEALTHY[i % 4]) for i in range(8)]))
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    specs = [_transport(spec) for spec in fleet_module.prepare(config.targets)]
    in_flight = peak = 0
    original = fleet_module.diagnose_one

    async def counting(spec: fleet_module.FleetTarget, *, early: bool = False) -> TargetOutcome:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.01 * (8 - int(spec.name[1:])))  # later targets finish first
            return await original(spec, early=early)
        finally:
            in_flight -= 1

    monkeypatch.setattr(fleet_module, "diagnose_one", counting)
    report = fleet_module.run_fleet(specs, concurrency=4)
    assert peak == 4
    assert [t.name for t in report.targets] == [f"t{i}" for i in range(8)]
    assert report.exit_code == 0


def _transport(spec: Any) -> Any:
    only = frozenset({"url", "dns", "connect", "tls"})
    return msgspec.structs.replace(spec, options=msgspec.structs.replace(spec.options, only=only))


def test_a_target_scim_doctor_breaks_on_is_an_error_and_the_exit_code_is_3(
    fleet: FleetServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scim_doctor.runs import fleet as fleet_module
    from scim_doctor.runs.config import load_config

    config = load_config(fleet.config([("acme", "healthy-1"), ("globex", "healthy-2")]))
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    good, bad = (_transport(spec) for spec in fleet_module.prepare(config.targets))
    bad = msgspec.structs.replace(bad, options=None)  # the runner cannot work with no options
    report = fleet_module.run_fleet([good, bad], concurrency=2)
    assert [t.status for t in report.targets] == ["pass", "error"]
    assert report.targets[1].error is not None and "internal error" in report.targets[1].error
    assert report.exit_code == 3
    assert report.failing == ["globex"]


def test_base_url_and_config_together_are_refused(run_cli: Any, fleet: FleetServers) -> None:
    config = fleet.config([("acme", "healthy-1")])
    result = run_cli("check", "https://x.example/scim", "--config", str(config), env=ENV)
    assert result.exit_code == 2
    assert "either BASE_URL or --config" in result.stderr


def test_neither_base_url_nor_config_is_refused_with_one_line(run_cli: Any) -> None:
    result = run_cli("check", env=ENV)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "BASE_URL" in result.stderr and "--config" in result.stderr


@pytest.mark.parametrize(
    "option",
    [["--cacert", "x.pem"], ["--resolve", "a:1:127.0.0.1"], ["--token-env", "X"], ["--no-token"]],
)
def test_target_options_cannot_be_mixed_with_a_config_file(
    run_cli: Any, fleet: FleetServers, option: list[str]
) -> None:
    config = fleet.config([("acme", "healthy-1")])
    result = run_cli("check", "--config", str(config), *option, env=ENV)
    assert result.exit_code == 2
    assert f"{option[0]} cannot be combined with --config" in result.stderr


@pytest.mark.parametrize("option", [["--target", "a"], ["--tag", "eu"], ["--concurrency", "5"]])
def test_fleet_options_need_a_config_file(run_cli: Any, option: list[str]) -> None:
    result = run_cli("check", "https://x.example/scim", *option, env=ENV)
    assert result.exit_code == 2
    assert "needs --config" in result.stderr


def test_html_needs_a_single_target(run_cli: Any, fleet: FleetServers) -> None:
    config = fleet.config([("acme", "healthy-1"), ("globex", "healthy-2")])
    result = run_cli("check", "--config", str(config), "--format", "html", env=ENV)
    assert result.exit_code == 2
    assert "--target NAME" in result.stderr


def test_a_single_url_keeps_schema_version_1_even_with_quiet_and_github_output(
    run_cli: Any, fleet: FleetServers, tmp_path: Path, report_validator: Any
) -> None:
    server = fleet.servers["healthy-1"]
    result = run_cli(
        "check", fleet.url("healthy-1", "solo"), "--resolve", fleet.pin("healthy-1", "solo"),
        "--cacert", str(fleet.cacert), "--token-env", TOKEN_ENV, *TRANSPORT,
        "--format", "json", "--quiet",
        env={**ENV, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "s.md")},
    )  # fmt: skip
    assert server.port
    assert result.exit_code == 0
    assert_valid_report(report_validator, result.json())
    assert result.json()["schema_version"] == "1.2"


def test_the_v2_schema_reuses_the_v1_definitions_unchanged() -> None:
    v1 = json.loads((ROOT / "docs" / "report-schema-v1.json").read_text(encoding="utf-8"))
    v2 = json.loads(SCHEMA_V2.read_text(encoding="utf-8"))
    assert {key: v2["$defs"][key] for key in v1["$defs"]} == v1["$defs"]


def test_markdown_gives_the_summary_table_then_each_targets_report(
    run_cli: Any, fleet: FleetServers
) -> None:
    config = fleet.config([("acme", "healthy-1"), ("globex", "expired")])
    result = run_cli("check", "--config", str(config), *TRANSPORT, "--format", "markdown", env=ENV)
    out = result.stdout
    assert out.startswith("### scim-doctor: 1 of 2 targets failing\n")
    assert "| globex | ❌ fail | `tls.cert_expired` |" in out
    assert out.index("## acme") < out.index("## globex")


def test_one_target_of_a_config_can_still_be_written_as_html(
    run_cli: Any, fleet: FleetServers, tmp_path: Path
) -> None:
    config = fleet.config([("acme", "healthy-1"), ("globex", "expired")])
    page = tmp_path / "acme.html"
    result = run_cli(
        "check", "--config", str(config), "--target", "acme", *TRANSPORT,
        "--report", f"html={page}", env=ENV,
    )  # fmt: skip
    assert result.exit_code == 0
    assert page.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html>")


def test_each_json_target_carries_its_idp_verdicts_in_the_v1_shape_and_validates_against_v2(
    run_cli: Any, fleet: FleetServers, v2_validator: Any, report_validator: Any
) -> None:
    config = fleet.config([("acme", "healthy-1"), ("globex", "expired")])
    result = run_cli("check", "--config", str(config), *TRANSPORT, "--format", "json", env=ENV)
    report = result.json()
    assert_valid_report(v2_validator, report)
    acme, globex = report["targets"]
    assert [v["idp"] for v in globex["idp_verdicts"]] == [p.key for p in idp.PROFILES]
    assert {v["verdict"] for v in globex["idp_verdicts"]} == {"will_fail"}
    entra = globex["idp_verdicts"][0]
    assert any("expired" in reason for reason in entra["reasons"]), entra["reasons"]
    assert "will_fail" not in {v["verdict"] for v in acme["idp_verdicts"]}
    as_v1 = {
        "schema_version": "1",
        "tool": report["tool"],
        "target": {"base_url": globex["base_url"], "host": "h", "port": 443},
        "started_at": globex["started_at"],
        "duration_ms": globex["duration_ms"],
        "summary": globex["summary"],
        "checks": globex["checks"],
        "idp_verdicts": globex["idp_verdicts"],
    }
    assert_valid_report(report_validator, as_v1)


def test_the_v2_target_idp_verdicts_schema_is_version_1s_unchanged() -> None:
    v1 = json.loads((ROOT / "docs" / "report-schema-v1.json").read_text(encoding="utf-8"))
    v2 = json.loads(SCHEMA_V2.read_text(encoding="utf-8"))
    target = v2["$defs"]["target"]
    assert target["properties"]["idp_verdicts"] == v1["properties"]["idp_verdicts"]
    assert "idp_verdicts" not in target["required"]  # documents before 0.1.x lack it


def _mixed_fleet() -> FleetReport:
    """A healthy target judged for Entra ID and JumpCloud, a failing one for Entra ID and Okta,
    and one scim-doctor broke on (no report, so no verdicts)."""
    healthy, failing = sample_reports.healthy(), sample_reports.failing()
    return FleetReport(
        tool_version="0.1.0",
        started_at="2026-11-27T10:00:00Z",
        duration_ms=500.0,
        targets=(
            TargetOutcome("acme", healthy.target.base_url, Severity.FAIL, report=healthy),
            TargetOutcome("globex", failing.target.base_url, Severity.FAIL, report=failing),
            TargetOutcome("initech", "https://initech.example/scim/v2", Severity.FAIL, error="x"),
        ),
    )


def test_a_target_without_a_report_has_empty_idp_verdicts_and_the_document_still_validates(
    v2_validator: Any,
) -> None:
    report = json.loads(fleet_reporter.render_json(_mixed_fleet()))
    assert_valid_report(v2_validator, report)
    assert [[v["verdict"] for v in t["idp_verdicts"]] for t in report["targets"]] == [
        ["will_work", "unknown"],
        ["will_fail", "will_fail"],
        [],
    ]


def test_the_text_summary_marks_each_identity_provider_per_target_blank_where_not_judged() -> None:
    text = fleet_reporter.render_text(_mixed_fleet())
    matrix = text[text.index("\nSummary: ") :].split("\n\n")[2].splitlines()
    assert matrix == [
        "  target   Entra ID  JumpCloud  Okta",
        "  acme     ✓         ?",
        "  globex   ✗                    ✗",
        "  initech",
    ]
    assert text.rstrip().endswith("Failing: globex, initech")


def test_the_text_summary_has_no_identity_provider_block_when_no_target_has_verdicts() -> None:
    fleet = _mixed_fleet()
    bare = tuple(
        msgspec.structs.replace(t, report=msgspec.structs.replace(t.report, idp_verdicts=()))
        if t.report
        else t
        for t in fleet.targets
    )
    text = fleet_reporter.render_text(msgspec.structs.replace(fleet, targets=bare))
    assert "Entra ID" not in text[text.index("\nSummary: ") :]


def test_the_step_summary_gives_each_target_its_identity_provider_verdicts(
    run_cli: Any, fleet: FleetServers
) -> None:
    config = fleet.config([("acme", "healthy-1"), ("globex", "expired")])
    result = run_cli("check", "--config", str(config), *TRANSPORT, "--format", "markdown", env=ENV)
    out = result.stdout
    assert "| target | status | problems | identity providers |\n|---|---|---|---|\n" in out
    globex = next(line for line in out.splitlines() if line.startswith("| globex |"))
    names = " · ".join(f"{p.name} ❌" for p in idp.PROFILES)
    assert globex == f"| globex | ❌ fail | `tls.cert_expired` | {names} |"
    assert out.count("### Identity providers") == 2  # each target's own report has its table


def test_the_json_report_comes_in_one_piece_per_target_equal_to_one_document() -> None:
    # Written and redacted a target at a time, so a report of hundreds of full checks is never
    # one string; the bytes must be exactly those of the whole document dumped at once.
    fleet = _mixed_fleet()
    pieces = list(fleet_reporter.json_chunks(fleet))
    whole = json.dumps(fleet_reporter.fleet_to_dict(fleet), indent=2, ensure_ascii=False) + "\n"
    assert len(pieces) == len(fleet.targets) + 2
    assert "".join(pieces) == whole
    assert all(piece.endswith("\n") for piece in pieces)


def test_a_fleet_without_targets_is_dumped_in_one_piece() -> None:
    # Never produced by the CLI (a config selects at least one target), but the renderer
    # must still give whole JSON rather than an unclosed list.
    empty = msgspec.structs.replace(_mixed_fleet(), targets=())
    (piece,) = fleet_reporter.json_chunks(empty)
    assert json.loads(piece)["targets"] == []


def test_a_json_report_written_in_pieces_is_redacted_in_every_piece(tmp_path: Path) -> None:
    from scim_doctor.core.output import write_output
    from scim_doctor.core.secrets import register_secret

    register_secret("piecewise-canary-token-0123456789")
    pieces = ['{"a": "piecewise-canary-token-0123456789",\n', '"b": "Bearer abcdefgh12345678"}\n']
    written = write_output(iter(pieces), str(tmp_path / "report.json"))
    assert written is not None
    text = written.read_text(encoding="utf-8")
    assert "piecewise-canary" not in text and "abcdefgh12345678" not in text
    assert text.count("[REDACTED]") == 2
