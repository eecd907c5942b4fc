"""Under GitHub Actions (`GITHUB_ACTIONS=true`): an annotation per problem, escaped so that no
message can end or forge a workflow command, and a Markdown table in $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.reporters import github as ci_github
from tests.support.fleet_servers import TOKEN, TOKEN_ENV, FleetServers, fleet_servers

TRANSPORT = ("--only", "url,dns,connect,tls")
KINDS = {"ok": None, "expired": "expired_cert", "soon": "expires_soon"}


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[FleetServers]:
    with fleet_servers(tmp_path, KINDS) as servers:
        yield servers


@pytest.fixture
def github(tmp_path: Path) -> dict[str, str | None]:
    summary = tmp_path / "step-summary.md"
    summary.write_text("## earlier step\n\n")
    return {
        TOKEN_ENV: TOKEN,
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_WORKSPACE": str(tmp_path),
    }


def test_data_escapes_percent_and_line_breaks() -> None:
    assert ci_github.escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"


def test_properties_also_escape_colon_and_comma() -> None:
    assert ci_github.escape_property("acme: tls, expired%") == "acme%3A tls%2C expired%25"


def test_a_message_cannot_start_a_second_workflow_command() -> None:
    line = ci_github.command("warning", "bad\n::error::forged", title="a,b::c")
    assert line == "::warning title=a%2Cb%3A%3Ac::bad%0A::error::forged"
    assert "\n" not in line


def test_markdown_cells_cannot_break_the_table_or_carry_html() -> None:
    assert ci_github.md_cell("a|b\n<script>") == "a\\|b &lt;script&gt;"


def test_each_fail_finding_is_an_error_and_each_warn_a_warning_on_stdout(
    run_cli: Any, fleet: FleetServers, github: dict[str, str | None]
) -> None:
    config = fleet.config([("acme", "ok"), ("globex", "expired"), ("initech", "soon")])
    result = run_cli("check", "--config", str(config), *TRANSPORT, env=github)
    assert result.exit_code == 1
    commands = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert len(commands) == 2
    error, warning = commands
    assert error.startswith(
        "::error title=globex%3A tls.cert_expired,file=scim-doctor.toml,line=12::Root cause, fix "
        "this first: the certificate "
    )
    assert "%0AFix: Renew the certificate" in error
    assert warning.startswith(
        "::warning title=initech%3A tls.cert_expires_soon,file=scim-doctor.toml,line=18::"
    )
    assert TOKEN not in result.stdout + result.stderr


def test_the_step_summary_gets_a_table_of_every_target_appended(
    run_cli: Any, fleet: FleetServers, github: dict[str, str | None]
) -> None:
    config = fleet.config([("acme", "ok"), ("globex", "expired"), ("initech", "soon")])
    run_cli("check", "--config", str(config), *TRANSPORT, env=github)
    summary = Path(str(github["GITHUB_STEP_SUMMARY"])).read_text(encoding="utf-8")
    assert summary.startswith("## earlier step\n\n### scim-doctor: 1 of 3 targets failing\n")
    assert "| target | status | problems |" in summary
    assert "| acme | ✅ pass | — |" in summary
    assert "| globex | ❌ fail | `tls.cert_expired` |" in summary
    assert "| initech | ⚠️ warn | `tls.cert_expires_soon` |" in summary
    assert TOKEN not in summary


def test_a_json_report_on_stdout_stays_parseable_and_the_annotations_go_to_stderr(
    run_cli: Any, fleet: FleetServers, github: dict[str, str | None]
) -> None:
    config = fleet.config([("globex", "expired")])
    result = run_cli("check", "--config", str(config), *TRANSPORT, "--format", "json", env=github)
    assert json.loads(result.stdout)["summary"]["failing"] == ["globex"]
    assert result.stderr.startswith("::error title=globex%3A tls.cert_expired")


def test_a_single_base_url_run_gets_annotations_too(
    run_cli: Any, fleet: FleetServers, github: dict[str, str | None]
) -> None:
    result = run_cli(
        "check", fleet.url("expired", "solo"), "--resolve", fleet.pin("expired", "solo"),
        "--cacert", str(fleet.cacert), "--token-env", TOKEN_ENV, *TRANSPORT, env=github,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "1 problem found: tls.cert_expired." in result.stdout
    hostname = "solo.expired.fleet.test"
    assert f"::error title={hostname}%3A tls.cert_expired::" in result.stdout
    summary = Path(str(github["GITHUB_STEP_SUMMARY"])).read_text(encoding="utf-8")
    assert f"| {hostname} | ❌ fail | `tls.cert_expired` |" in summary


def test_outside_github_actions_nothing_of_this_is_printed(
    run_cli: Any, fleet: FleetServers, tmp_path: Path
) -> None:
    config = fleet.config([("globex", "expired")])
    summary = tmp_path / "summary.md"
    result = run_cli(
        "check", "--config", str(config), *TRANSPORT,
        env={TOKEN_ENV: TOKEN, "GITHUB_ACTIONS": None, "GITHUB_STEP_SUMMARY": str(summary)},
    )  # fmt: skip
    assert "::error" not in result.stdout + result.stderr
    assert not summary.exists()


def test_quiet_keeps_the_annotations(
    run_cli: Any, fleet: FleetServers, github: dict[str, str | None]
) -> None:
    config = fleet.config([("acme", "ok"), ("globex", "expired")])
    result = run_cli("check", "--config", str(config), *TRANSPORT, "-q", env=github)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("globex: fail tls.cert_expired: ")
    assert lines[1].startswith("::error title=globex%3A tls.cert_expired")
    assert len(lines) == 2
