"""`--repeat N`: run the same target N times within the deadline; the statistics over the runs
are core.repeat's, their presentation reporters.repeat's."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import msgspec.structs

from scim_doctor import __version__
from scim_doctor.core.fleet import FleetReport, TargetOutcome, environment
from scim_doctor.core.repeat import statistics
from scim_doctor.runs.fleet import FleetTarget, diagnose_one


async def repeat(
    spec: FleetTarget, count: int, interval_s: float, budget_s: float | None = None
) -> TargetOutcome:
    """Run one target `count` times, `interval_s` apart, within `budget_s` seconds in all."""

    started = time.monotonic()
    end = started + budget_s if budget_s is not None else None
    outcomes: list[TargetOutcome] = []
    stopped: str | None = None
    for index in range(count):
        left = end - time.monotonic() if end is not None else None
        if left is not None and left <= 0:
            stopped = f"the {budget_s:g} s deadline was reached after {index} of {count} runs"
            break
        options = spec.options
        if left is not None and left < options.deadline:
            options = msgspec.structs.replace(options, deadline=left)
        outcome = await diagnose_one(msgspec.structs.replace(spec, options=options))
        if outcome.report is None:
            return outcome  # scim-doctor broke: the series would only repeat the bug
        outcomes.append(outcome)
        if index == count - 1 or interval_s <= 0:
            continue
        if end is not None and time.monotonic() + interval_s >= end:
            stopped = (
                f"the {budget_s:g} s deadline would pass during the {interval_s:g} s wait; "
                f"stopped after {index + 1} of {count} runs"
            )
            break
        await asyncio.sleep(interval_s)
    reports = [o.report for o in outcomes if o.report is not None]
    stats = statistics(
        reports, requested=count, interval_s=interval_s, fail_on=spec.fail_on, stopped=stopped
    )
    shown = outcomes[stats.shown_index]
    return msgspec.structs.replace(shown, repeat=stats)


def run_repeat(
    spec: FleetTarget, count: int, interval_s: float, budget_s: float | None = None
) -> TargetOutcome:
    """Synchronous entry point for the CLI."""
    return asyncio.run(repeat(spec, count, interval_s, budget_s))


def run_series(
    spec: FleetTarget, count: int, interval_s: float, budget_s: float | None = None
) -> FleetReport:
    """`--repeat`: the series as a report of one target (JSON schema version 2)."""

    started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    started = time.monotonic()
    outcome = run_repeat(spec, count, interval_s, budget_s)
    return FleetReport(
        tool_version=__version__,
        started_at=started_at.replace("+00:00", "Z"),
        duration_ms=round((time.monotonic() - started) * 1000, 1),
        targets=(outcome,),
        concurrency=1,
        environment=environment(1),
    )
