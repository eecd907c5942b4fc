"""`--format nagios`: the plugin line against golden files for OK, WARNING, CRITICAL (a failing
and an unreachable endpoint) and UNKNOWN (bad input), the plugin exit codes through the real
CLI against the demo server, and the rules of the format (one `|`, perfdata syntax)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from msgspec.structs import replace

from scim_doctor.reporters import nagios
from tests.reporters import sample_reports
from tests.reporters.test_golden import check_golden

SAMPLES = {
    "ok": (sample_reports.healthy, nagios.State.OK),
    "warning": (sample_reports.warning, nagios.State.WARNING),
    "critical-failing": (sample_reports.failing, nagios.State.CRITICAL),
    "critical-unreachable": (sample_reports.unreachable, nagios.State.CRITICAL),
}
PERFDATA = re.compile(r"^('[^'=]+'|[A-Za-z0-9_]+)=-?[0-9.]+(s|%|B|c)?(;[0-9.-]*){0,4}$")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_plugin_output_matches_its_golden_file(name: str) -> None:
    make, expected = SAMPLES[name]
    report = make()
    output = nagios.render(report)
    check_golden(f"{name}.nagios.txt", output)
    assert nagios.state(report) is expected
    assert output.startswith(f"SCIM {expected.name} - ")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_first_line_has_one_bar_and_valid_performance_data(name: str) -> None:
    first, *rest = nagios.render(SAMPLES[name][0]()).splitlines()
    assert first.count("|") == 1
    assert all("|" not in line for line in rest)
    for item in first.split("|")[1].split():
        assert PERFDATA.match(item), item


def test_bad_input_is_unknown_with_exit_code_3(run_cli: Any) -> None:
    result = run_cli("check", "ftp://scim.example.com/scim/v2", "--format", "nagios", "--no-token")
    assert result.exit_code == 3
    assert result.stderr == ""
    check_golden("unknown-bad-input.nagios.txt", result.stdout)


def test_an_unknown_option_is_unknown_too(run_cli: Any) -> None:
    result = run_cli("check", "--format=nagios", "--no-such-option")
    assert result.exit_code == 3
    assert result.stdout.startswith("SCIM UNKNOWN - bad input: ")


def test_only_scim_doctor_breaking_is_unknown_not_critical() -> None:

    from scim_doctor.core.model import CheckResult, Status

    broken = CheckResult("users", "Users", Status.ERROR, 1.0, "internal error (KeyError)")
    report = sample_reports.healthy()
    report = replace(report, checks=(*report.checks, broken))
    assert nagios.state(report) is nagios.State.UNKNOWN
    assert "scim-doctor itself failed in users" in nagios.render(report)


@pytest.mark.parametrize(("fault", "code"), [(None, 0), ("expired_cert", 2), ("closed_port", 2)])
def test_the_demo_exits_with_the_plugin_state(run_cli: Any, fault: str | None, code: int) -> None:
    args = ["demo", "--format", "nagios", *(["--fault", fault] if fault else [])]
    result = run_cli(*args)
    assert result.exit_code == code, result.stdout + result.stderr
    state = {0: "OK", 2: "CRITICAL"}[code]
    assert result.stdout.startswith(f"SCIM {state} - https://demo.scim-doctor.test:")


def test_the_plugin_exit_codes_apply_only_to_the_nagios_format(run_cli: Any) -> None:
    result = run_cli("demo", "--fault", "expired_cert", "--format", "json")
    assert result.exit_code == 1


def test_one_target_of_a_config_is_a_plugin_too(run_cli: Any, tmp_path: Any) -> None:
    from tests.support.fleet_servers import TOKEN, TOKEN_ENV, fleet_servers

    with fleet_servers(tmp_path, {"expired": "expired_cert"}) as fleet:
        config = fleet.config([("globex", "expired")])
        args = ("check", "--config", str(config), "--target", "globex", "--format", "nagios")
        result = run_cli(*args, env={TOKEN_ENV: TOKEN})
        repeated = run_cli(*args, "--repeat", "2", env={TOKEN_ENV: TOKEN})
    assert result.exit_code == 2
    assert result.stdout.startswith("SCIM CRITICAL - https://globex.expired.fleet.test:")
    assert "tls.cert_expired" in result.stdout.splitlines()[0]
    assert repeated.exit_code == 3
    assert repeated.stdout.startswith("SCIM UNKNOWN - bad input: --format nagios checks once")
