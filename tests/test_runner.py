"""The runner: fixed order, prerequisites, crashes, the deadline and Ctrl-C (pure probes, no
network)."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from scim_doctor.checks.base import Outcome, Probe, ProbeFn
from scim_doctor.core import findings
from scim_doctor.core.model import Status
from scim_doctor.net.context import Options, ProbeContext
from scim_doctor.net.target import parse_base_url
from scim_doctor.net.trust import load_trust
from scim_doctor.runs.runner import run_checks


def context(**options: object) -> ProbeContext:
    opts = Options(**options)  # type: ignore[arg-type]
    return ProbeContext(
        target=parse_base_url("https://scim.example.com/scim/v2"),
        options=opts,
        token=None,
        trust=load_trust(),
        deadline_at=time.monotonic() + opts.deadline,
    )


def passing(delay: float = 0.0) -> ProbeFn:
    async def run(ctx: ProbeContext) -> Outcome:
        await asyncio.sleep(delay)
        return Outcome(summary="fine")

    return run


async def failing(ctx: ProbeContext) -> Outcome:
    outcome = Outcome(summary="broken")
    outcome.add(findings.make("connect.refused", "127.0.0.1:9 refused the connection"))
    return outcome


async def crashing(ctx: ProbeContext) -> Outcome:
    raise RuntimeError("boom")


async def hanging(ctx: ProbeContext) -> Outcome:
    await asyncio.sleep(3600)
    return Outcome()


def run(probes: list[Probe], ctx: ProbeContext | None = None) -> dict[str, tuple[Status, str]]:
    results = asyncio.run(run_checks(ctx or context(), probes))
    return {r.id: (r.status, r.summary) for r in results}


def test_a_check_whose_prerequisite_failed_is_skipped_with_the_reason() -> None:
    results = run(
        [
            Probe("connect", "c", (), failing),
            Probe("tls", "t", ("connect",), passing()),
            Probe("auth", "a", ("tls",), passing()),
        ]
    )
    assert results["connect"][0] is Status.FAIL
    assert results["tls"] == (Status.SKIP, "requires connect, which failed")
    assert results["auth"] == (Status.SKIP, "requires tls, which was skipped")


def test_a_crashing_probe_becomes_error_with_a_bug_report_hint_and_the_run_goes_on() -> None:
    results = run([Probe("dns", "d", (), crashing), Probe("url", "u", (), passing())])
    status, summary = results["dns"]
    assert status is Status.ERROR
    assert "RuntimeError: boom" in summary and "report" in summary
    assert results["url"][0] is Status.PASS


def test_results_keep_registry_order_while_independent_probes_overlap() -> None:
    probes = [Probe(name, name, (), passing(0.2)) for name in ("a", "b", "c", "d")]
    started = time.monotonic()
    results = asyncio.run(run_checks(context(), probes))
    assert [r.id for r in results] == ["a", "b", "c", "d"]
    assert time.monotonic() - started < 0.7  # four 0.2 s probes, run concurrently


def test_the_run_deadline_cuts_a_hanging_probe_and_names_it() -> None:
    ctx = context(deadline=0.3)
    results = asyncio.run(run_checks(ctx, [Probe("dns", "d", (), hanging)]))
    [result] = results
    assert result.status is Status.FAIL
    assert [f.code for f in result.findings] == ["run.deadline_exceeded"]


def test_only_and_skip_select_checks_without_blocking_their_dependents() -> None:
    results = run(
        [Probe("dns", "d", (), failing), Probe("connect", "c", ("dns",), passing())],
        context(skip=frozenset({"dns"})),
    )
    assert results["dns"] == (Status.SKIP, "not selected (--only / --skip)")
    assert results["connect"][0] is Status.PASS


def test_a_failed_check_may_let_its_dependents_run_when_it_says_so() -> None:
    async def insecure_tls(ctx: ProbeContext) -> Outcome:
        outcome = await failing(ctx)
        outcome.unblocks_dependents = True
        return outcome

    results = run([Probe("tls", "t", (), insecure_tls), Probe("auth", "a", ("tls",), passing())])
    assert results["tls"][0] is Status.FAIL
    assert results["auth"][0] is Status.PASS


def test_ctrl_c_landing_just_as_a_probe_finishes_still_interrupts_the_run() -> None:
    """Python 3.11's wait_for hands back a probe's result when the cancellation comes as the probe
    finishes: the run would go on and end with a report (exit 1) instead of exit 130."""

    async def finishes_as_ctrl_c_lands(ctx: ProbeContext) -> Outcome:
        # A real SIGINT on the loop's next turn: the probe's task is done, its result not taken.
        asyncio.get_running_loop().call_soon(signal.raise_signal, signal.SIGINT)
        return Outcome(summary="fine")

    probes = [Probe("dns", "d", (), finishes_as_ctrl_c_lands), Probe("tls", "t", (), passing(2.0))]
    # asyncio.run turns SIGINT into a cancellation only where Ctrl-C is not ignored (`cmd &`).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            asyncio.run(run_checks(context(), probes))
    finally:
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - started < 1.0  # the other check is cancelled, not waited for


# --- checks that run ahead of a prerequisite ------------------------------------------------------


def signals_then(outcome_of: ProbeFn, events: list[str]) -> ProbeFn:
    """A prerequisite that lets its dependents start, then takes a while to reach its verdict."""

    async def run(ctx: ProbeContext) -> Outcome:
        ctx.let_dependents_start("tls")
        await asyncio.sleep(0.05)
        events.append("tls verdict")
        return await outcome_of(ctx)

    return run


def recording(events: list[str], name: str) -> ProbeFn:
    async def run(ctx: ProbeContext) -> Outcome:
        events.append(f"{name} started")
        await asyncio.sleep(0.01)
        events.append(f"{name} sent")
        return Outcome(summary="fine")

    return run


def test_a_check_ahead_of_its_prerequisite_starts_when_let_and_reports_after_it_passes() -> None:
    """Given auth declared ahead of tls, When tls lets dependents start before its verdict,
    Then auth's requests go out before that verdict, and auth passes once tls has passed."""
    events: list[str] = []
    results = run(
        [
            Probe("tls", "t", (), signals_then(passing(), events)),
            Probe("auth", "a", ("tls",), recording(events, "auth"), ahead_of=("tls",)),
            Probe("late", "l", ("tls",), recording(events, "late")),
        ]
    )
    assert results["auth"] == (Status.PASS, "fine")
    assert events.index("auth sent") < events.index("tls verdict")
    assert events.index("late started") > events.index("tls verdict")  # not declared ahead


def test_a_check_ahead_of_a_prerequisite_that_then_fails_is_skipped_with_the_same_reason() -> None:
    """Given tls fails after letting auth start, Then auth (and what needs auth) read exactly
    as when they waited: skipped, with the prerequisite named."""
    events: list[str] = []
    probes = [
        Probe("tls", "t", (), signals_then(failing, events)),
        Probe("auth", "a", ("tls",), recording(events, "auth"), ahead_of=("tls",)),
        Probe("users", "u", ("auth",), recording(events, "users"), ahead_of=("auth",)),
    ]
    early = run(probes)
    waited = run([Probe(p.id, p.title, p.requires, p.run) for p in probes])
    assert early == waited
    assert early["auth"] == (Status.SKIP, "requires tls, which failed")
    assert early["users"] == (Status.SKIP, "requires auth, which was skipped")


def test_a_check_ahead_of_a_prerequisite_still_running_when_it_fails_is_cancelled() -> None:
    cancelled: list[bool] = []

    async def slow(ctx: ProbeContext) -> Outcome:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return Outcome()

    results = run(
        [
            Probe("tls", "t", (), signals_then(failing, [])),
            Probe("auth", "a", ("tls",), slow, ahead_of=("tls",)),
        ]
    )
    assert results["auth"] == (Status.SKIP, "requires tls, which failed")
    assert cancelled == [True]


def test_a_prerequisite_that_never_lets_dependents_start_early_is_waited_for() -> None:
    events: list[str] = []

    async def tls(ctx: ProbeContext) -> Outcome:
        await asyncio.sleep(0.02)
        events.append("tls verdict")
        return Outcome(summary="fine")

    results = run(
        [
            Probe("tls", "t", (), tls),
            Probe("auth", "a", ("tls",), recording(events, "auth"), ahead_of=("tls",)),
        ]
    )
    assert results["auth"][0] is Status.PASS
    assert events == ["tls verdict", "auth started", "auth sent"]


def test_without_early_starts_a_check_ahead_of_its_prerequisite_waits_for_it() -> None:
    """As a fleet runs its targets side by side (runs/fleet.py): early=False."""
    events: list[str] = []
    probes = [
        Probe("tls", "t", (), signals_then(passing(), events)),
        Probe("auth", "a", ("tls",), recording(events, "auth"), ahead_of=("tls",)),
    ]
    results = asyncio.run(run_checks(context(), probes, early=False))
    assert [r.status for r in results] == [Status.PASS, Status.PASS]
    assert events == ["tls verdict", "auth started", "auth sent"]
