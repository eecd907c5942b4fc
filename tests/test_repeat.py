"""`--repeat N`: a server that fails one request in four is caught at about 25 % by the right
check, with latency percentiles per phase, and the series never waits past its deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.core.model import CheckResult, Report, Severity, Status, TargetInfo
from scim_doctor.core.repeat import percentile, statistics
from scim_doctor.demo.fault_kit import Fault, on_route
from scim_doctor.demo.scim_app import Handler, Request, Response, error_response
from scim_doctor.demo.server import DemoServer

TOKEN = "canary-repeat-5e8a1c3f7b2d9046"
ENV = {"SCIM_TOKEN": TOKEN, "GITHUB_ACTIONS": None}
UP_TO_AUTH = ("--only", "url,dns,connect,tls,auth")


def fails_every_fourth_authenticated_users_request() -> Fault:
    """The auth check's request with the real token gets a 500 on every 4th /Users call.

    Requests without the token (the auth check's negative probes) pass untouched, so exactly
    one request per run is counted and the pattern is one failing run in four.
    """
    lock = threading.Lock()
    seen = 0

    def flaky(request: Request, call_next: Handler) -> Response:
        nonlocal seen
        if request.header("authorization") != f"Bearer {TOKEN}":
            return call_next(request)
        with lock:
            seen += 1
            fail = seen % 4 == 0
        if fail:
            return error_response(500, "upstream database connection reset")
        return call_next(request)

    return Fault(
        "flaky_users",
        "Every 4th authenticated GET /Users answers 500.",
        "http",
        ("http.server_error",),
        middleware=on_route("GET", "/Users", flaky),
    )


@pytest.fixture
def flaky(tmp_path: Path) -> Iterator[tuple[DemoServer, Path]]:
    with DemoServer(TOKEN, fault=fails_every_fourth_authenticated_users_request()) as server:
        yield server, server.write_ca(tmp_path)


def args(server: DemoServer, ca: Path, *extra: str) -> list[str]:
    return [
        "check",
        server.base_url,
        "--cacert",
        str(ca),
        "--resolve",
        server.resolve_pin,
        "--timeout",
        "2",
        *extra,
    ]


def test_twenty_runs_against_a_server_failing_one_request_in_four_report_25_percent_for_auth(
    run_cli: Any, flaky: tuple[DemoServer, Path]
) -> None:
    server, ca = flaky
    result = run_cli(
        *args(server, ca, *UP_TO_AUTH, "--repeat", "20", "--interval", "0", "--format", "json"),
        env=ENV,
    )
    assert result.exit_code == 1
    report = result.json()
    assert report["schema_version"] == "2.2"
    (target,) = report["targets"]
    series = target["repeat"]
    assert (series["runs"], series["requested"], series["problem_runs"]) == (20, 20, 5)
    checks = {check["id"]: check for check in series["checks"]}
    assert checks["auth"]["fail_rate"] == 0.25
    assert checks["auth"]["codes"] == {"http.server_error": 5}
    assert all(checks[c]["fail_rate"] == 0 for c in ("url", "dns", "connect", "tls"))
    assert checks["users"]["runs"] == 0  # not selected: skipped in every run
    assert series["shown_run"] == 4  # the first run that failed is the one shown in full
    assert "http.server_error" in target["summary"]["problems"]
    for check_id, phases in (("connect", {"connect"}), ("auth", {"first_byte", "total"})):
        timings = checks[check_id]["timings_ms"]
        assert phases <= set(timings), (check_id, timings)
        for phase in phases:
            spread = timings[phase]
            assert spread["samples"] == 20
            assert 0 <= spread["p50"] <= spread["p95"] <= spread["max"]
    assert series["addresses"] == [
        {
            "address": "127.0.0.1",
            "runs": 20,
            "problem_runs": 5,
            "attempts": 20,
            "failed_attempts": 0,
        }
    ]
    assert series["correlation"].startswith("every run connected to 127.0.0.1: one address")
    assert TOKEN not in result.stdout + result.stderr


def test_the_text_report_shows_the_failure_rate_and_the_latency_percentiles(
    run_cli: Any, flaky: tuple[DemoServer, Path]
) -> None:
    server, ca = flaky
    result = run_cli(*args(server, ca, *UP_TO_AUTH, "--repeat", "8", "--interval", "0"), env=ENV)
    assert result.exit_code == 1
    out = result.stdout
    assert out.startswith("Repeated 8 of 8 runs, 0 s apart; 2 run(s) with a problem")
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line[:2] == "  "}
    assert rows["auth"][:3] == ["8", "2", "(25"]
    assert "http.server_error" in rows["auth"]
    assert rows["tls"][:3] == ["8", "0", "(0"]
    assert rows["connect.connect"][0] == "8"
    assert "Run 4 of 8, in full:" in out


def test_quiet_repeat_prints_only_the_checks_that_failed_and_their_problems(
    run_cli: Any, flaky: tuple[DemoServer, Path]
) -> None:
    server, ca = flaky
    result = run_cli(
        *args(server, ca, *UP_TO_AUTH, "--repeat", "4", "--interval", "0", "-q"), env=ENV
    )
    lines = result.stdout.splitlines()
    assert lines[-1] == "auth failed in 1 and warned in 0 of 4 runs"
    assert all(line.startswith(("fail http.server_error", "auth failed")) for line in lines)


def test_intervals_are_waited_between_runs_but_not_after_the_last(
    run_cli: Any, flaky: tuple[DemoServer, Path]
) -> None:
    server, ca = flaky
    started = time.monotonic()
    result = run_cli(
        *args(server, ca, "--only", "url", "--repeat", "3", "--interval", "0.15", "-q"), env=ENV
    )
    elapsed = time.monotonic() - started
    assert result.exit_code == 0
    assert 0.3 <= elapsed < 2.0


def test_a_wait_that_would_pass_the_deadline_is_not_started(
    run_cli: Any, flaky: tuple[DemoServer, Path]
) -> None:
    server, ca = flaky
    started = time.monotonic()
    result = run_cli(
        *args(server, ca, "--only", "url", "--repeat", "5", "--interval", "30"),
        "--deadline",
        "1",
        "--format",
        "json",
        env=ENV,
    )
    elapsed = time.monotonic() - started
    series = result.json()["targets"][0]["repeat"]
    assert series["runs"] == 1
    assert series["stopped"] == (
        "the 1 s deadline would pass during the 30 s wait; stopped after 1 of 5 runs"
    )
    assert elapsed < 1.5
    assert result.exit_code == 0


def test_interval_without_repeat_is_a_usage_error(run_cli: Any) -> None:
    result = run_cli("check", "https://a.example/scim", "--interval", "1", env=ENV)
    assert result.exit_code == 2
    assert "--interval needs --repeat" in result.stderr


def test_repeat_with_a_config_needs_exactly_one_target(run_cli: Any, tmp_path: Path) -> None:
    config = tmp_path / "scim-doctor.toml"
    config.write_text(
        '[[targets]]\nurl = "https://a.example/scim"\n[[targets]]\nurl = "https://b.example/scim"\n'
    )
    result = run_cli("check", "--config", str(config), "--repeat", "3", env=ENV)
    assert result.exit_code == 2
    assert "--repeat checks one target and 2 are selected" in result.stderr


# --- the statistics, on reports built by hand --------------------------------------------------


def run_report(address: str, connect_ok: bool = True, users_fail: bool = False) -> Report:
    from scim_doctor.core import findings

    connect = CheckResult(
        id="connect",
        title="TCP connection",
        status=Status.PASS if connect_ok else Status.FAIL,
        duration_ms=1.0,
        summary="",
        facts={
            "connected_address": address if connect_ok else None,
            "attempts": [
                {
                    "address": address,
                    "port": 443,
                    "result": "connected" if connect_ok else "refused",
                    "ms": 1.0,
                }
            ],
        },
        timings_ms={"connect": 1.0},
    )
    users = CheckResult(
        id="users",
        title="/Users listing",
        status=Status.FAIL if users_fail else Status.PASS,
        duration_ms=1.0,
        summary="",
        findings=(findings.make("http.server_error", "500"),) if users_fail else (),
    )
    return Report(
        tool_version="0",
        target=TargetInfo("https://a.test/scim", "a.test", 443),
        started_at="2026-01-01T00:00:00Z",
        duration_ms=2.0,
        checks=(connect, users),
    )


def test_failures_that_all_go_through_one_address_are_tied_to_it() -> None:
    reports = [run_report("10.0.0.5", users_fail=i % 2 == 0) for i in range(6)]
    reports += [run_report("10.0.0.6") for _ in range(6)]
    stats = statistics(reports, requested=12, interval_s=0)
    assert stats.correlated_address == "10.0.0.5"
    assert stats.correlation.startswith(
        "failures follow one address: 3 of 6 runs via 10.0.0.5 had a problem, none of 6 via "
        "10.0.0.6"
    )


def test_failures_spread_over_addresses_are_not_tied_to_one() -> None:
    reports = [run_report(a, users_fail=True) for a in ("10.0.0.5", "10.0.0.6")]
    reports += [run_report(a) for a in ("10.0.0.5", "10.0.0.6")]
    stats = statistics(reports, requested=4, interval_s=0)
    assert stats.correlated_address is None
    assert "spread over addresses (10.0.0.5 1/2, 10.0.0.6 1/2)" in stats.correlation


def test_an_address_that_refuses_connections_is_named_with_its_failed_attempts() -> None:
    reports = [run_report("10.0.0.7", connect_ok=False), run_report("10.0.0.5")]
    stats = statistics(reports, requested=2, interval_s=0)
    assert "connecting to 10.0.0.7 failed in 1 of 1 attempts" in stats.correlation
    by_address = {a.address: a for a in stats.addresses}
    assert (by_address["10.0.0.7"].failed_attempts, by_address["10.0.0.5"].runs) == (1, 1)


def test_the_run_shown_is_the_first_with_a_problem_at_or_above_fail_on() -> None:
    reports = [run_report("10.0.0.5"), run_report("10.0.0.5", users_fail=True)]
    stats = statistics(reports, requested=2, interval_s=0, fail_on=Severity.FAIL)
    assert stats.shown_index == 1
    assert stats.problem_runs() == 1
    users = next(c for c in stats.checks if c.id == "users")
    assert (users.failed, users.fail_rate, users.codes) == (1, 0.5, {"http.server_error": 1})


def test_percentiles_are_nearest_rank_values_that_were_seen() -> None:
    samples = [float(n) for n in range(20, 0, -1)]
    assert (percentile(samples, 50), percentile(samples, 95), max(samples)) == (10.0, 19.0, 20.0)
    assert percentile([7.5], 95) == 7.5
