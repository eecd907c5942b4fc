"""`--repeat N`: statistics over the same target checked N times, for problems that come and go.

An endpoint that fails one request in four passes most single runs; an IdP retrying every few
minutes still sees its 500s. Repeating the run shows how often each check failed or warned,
how each phase's latency spread (p50 / p95 / max, from the checks' `timings_ms`), and whether
the failures line up with one of the addresses the name resolves to (one bad node behind a
round-robin DNS name is the classic cause).

Percentiles are nearest-rank: p95 of 20 samples is the 19th smallest, a value that was seen.
`--deadline` bounds the whole series: a run gets what is left of it, and a wait between runs
that would end past it is not started (the series stops and says why).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from msgspec import Struct

from scim_doctor.core.model import Report, Severity, Status

PHASES = ("dns", "connect", "tls", "first_byte", "total")
"""The timing phases summarised, in the order of a connection (as curl -w names them)."""

_STATUS_ORDER = (Status.PASS, Status.WARN, Status.FAIL, Status.ERROR)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0-100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


class PhaseStats(Struct, frozen=True):
    """The spread of one timing phase of one check over the runs that measured it."""

    phase: str
    samples: int
    p50_ms: float
    p95_ms: float
    max_ms: float


class CheckStats(Struct, frozen=True):
    """How one check fared over the series."""

    id: str
    title: str
    runs: int
    """Runs in which the check took part (skipped runs excluded)."""
    counts: dict[str, int]
    """Runs per status: pass, warn, fail, skip, error."""
    codes: dict[str, int]
    """Finding codes at warn or above, and in how many runs each appeared."""
    phases: tuple[PhaseStats, ...]

    @property
    def failed(self) -> int:
        return self.counts[Status.FAIL.value] + self.counts[Status.ERROR.value]

    @property
    def warned(self) -> int:
        return self.counts[Status.WARN.value]

    @property
    def fail_rate(self) -> float:
        """Failed (or broken) runs over the runs in which the check ran (0 when it never ran)."""
        return self.failed / self.runs if self.runs else 0.0

    @property
    def warn_rate(self) -> float:
        return self.warned / self.runs if self.runs else 0.0


class AddressStats(Struct, frozen=True):
    """One address the runs connected to (or tried to)."""

    address: str
    runs: int
    """Runs whose connection went to this address."""
    problem_runs: int
    """Of those, runs with a problem at or above --fail-on."""
    attempts: int
    """Connection attempts to it over all runs."""
    failed_attempts: int


class RepeatStats(Struct, frozen=True):
    """Everything the series showed; `reports` keeps each run for the exit code."""

    requested: int
    interval_s: float
    reports: tuple[Report, ...]
    checks: tuple[CheckStats, ...]
    addresses: tuple[AddressStats, ...]
    correlation: str
    """One sentence: do the failing runs line up with one address?"""
    correlated_address: str | None
    """The address every failing run (and no passing run elsewhere) went to, if there is one."""
    fail_on: Severity
    stopped: str | None = None
    """Why fewer runs than requested were made (the deadline), else None."""

    @property
    def runs(self) -> int:
        return len(self.reports)

    @property
    def worst_status(self) -> Status:
        worst = Status.PASS
        for report in self.reports:
            status = report.status
            if any(c.status is Status.ERROR for c in report.checks):
                status = Status.ERROR
            if _STATUS_ORDER.index(status) > _STATUS_ORDER.index(worst):
                worst = status
        return worst

    def problem_runs(self, fail_on: Severity | None = None) -> int:
        """Runs with a problem at or above `fail_on` (the series' own by default)."""
        level = fail_on or self.fail_on
        return sum(1 for report in self.reports if _has_problem(report, level))

    def problem_codes(self) -> list[str]:
        return list(dict.fromkeys(code for check in self.checks for code in check.codes))

    @property
    def shown_index(self) -> int:
        """The run shown in full: the first with a problem at or above fail_on, else the last."""
        for index, report in enumerate(self.reports):
            if _has_problem(report, self.fail_on):
                return index
        return len(self.reports) - 1


def _has_problem(report: Report, fail_on: Severity) -> bool:
    return bool(report.problems(at_least=fail_on)) or any(
        c.status is Status.ERROR for c in report.checks
    )


def _check_stats(reports: Sequence[Report]) -> tuple[CheckStats, ...]:
    order: dict[str, str] = {}
    for report in reports:
        for check in report.checks:
            order.setdefault(check.id, check.title)
    stats = []
    for check_id, title in order.items():
        counts = {status.value: 0 for status in Status}
        codes: dict[str, int] = {}
        samples: dict[str, list[float]] = {phase: [] for phase in PHASES}
        for report in reports:
            result = next((c for c in report.checks if c.id == check_id), None)
            if result is None:
                continue
            counts[result.status.value] += 1
            for code in dict.fromkeys(
                f.code for f in result.findings if f.severity.rank >= Severity.WARN.rank
            ):
                codes[code] = codes.get(code, 0) + 1
            if result.status is not Status.SKIP:
                for phase in PHASES:
                    value = result.timings_ms.get(phase)
                    if isinstance(value, (int, float)):
                        samples[phase].append(float(value))
        phases = tuple(
            PhaseStats(
                phase=phase,
                samples=len(values),
                p50_ms=percentile(values, 50),
                p95_ms=percentile(values, 95),
                max_ms=max(values),
            )
            for phase, values in samples.items()
            if values
        )
        ran = len(reports) - counts[Status.SKIP.value]
        stats.append(CheckStats(check_id, title, ran, counts, codes, phases))
    return tuple(stats)


def _connect_facts(report: Report) -> dict[str, Any]:
    check = next((c for c in report.checks if c.id == "connect"), None)
    return dict(check.facts) if check is not None else {}


def _address_stats(reports: Sequence[Report], fail_on: Severity) -> tuple[AddressStats, ...]:
    runs: dict[str, list[bool]] = {}
    attempts: dict[str, list[bool]] = {}
    for report in reports:
        facts = _connect_facts(report)
        connected = facts.get("connected_address")
        if isinstance(connected, str):
            runs.setdefault(connected, []).append(_has_problem(report, fail_on))
        for attempt in facts.get("attempts") or []:
            if isinstance(attempt, dict) and isinstance(attempt.get("address"), str):
                if attempt.get("result") == "not_tried":
                    continue
                ok = attempt.get("result") == "connected"
                attempts.setdefault(attempt["address"], []).append(ok)
    addresses = list(dict.fromkeys([*runs, *attempts]))
    return tuple(
        AddressStats(
            address=address,
            runs=len(runs.get(address, [])),
            problem_runs=sum(runs.get(address, [])),
            attempts=len(attempts.get(address, [])),
            failed_attempts=sum(not ok for ok in attempts.get(address, [])),
        )
        for address in addresses
    )


def _correlation(
    addresses: Sequence[AddressStats], problem_runs: int, total: int
) -> tuple[str, str | None]:
    unreachable = [a for a in addresses if a.failed_attempts]
    notes = [
        f"connecting to {a.address} failed in {a.failed_attempts} of {a.attempts} attempts"
        for a in unreachable
    ]
    tail = ("; " + "; ".join(notes)) if notes else ""
    if problem_runs == 0:
        return "no run had a problem" + tail, None
    connected = [a for a in addresses if a.runs]
    if not connected:
        return f"no run connected to any address ({problem_runs} of {total} had a problem)", (
            unreachable[0].address if len(unreachable) == 1 else None
        )
    if len(connected) == 1 and not unreachable:
        only = connected[0]
        return (
            f"every run connected to {only.address}: one address, so nothing to compare "
            f"({problem_runs} of {total} runs had a problem)",
            None,
        )
    failing = [a for a in connected if a.problem_runs]
    if len(failing) == 1 and sum(a.problem_runs for a in connected) == problem_runs:
        bad = failing[0]
        others = [a for a in connected if a is not bad]
        other_runs = sum(a.runs for a in others)
        if other_runs:
            return (
                f"failures follow one address: {bad.problem_runs} of {bad.runs} runs via "
                f"{bad.address} had a problem, none of {other_runs} via "
                f"{', '.join(a.address for a in others)}" + tail,
                bad.address,
            )
    if len(unreachable) == 1 and not failing:
        return "failures follow one address" + tail, unreachable[0].address
    spread = ", ".join(f"{a.address} {a.problem_runs}/{a.runs}" for a in connected)
    return f"failures are spread over addresses ({spread}): not tied to one" + tail, None


def statistics(
    reports: Sequence[Report],
    *,
    requested: int,
    interval_s: float,
    fail_on: Severity = Severity.FAIL,
    stopped: str | None = None,
) -> RepeatStats:
    """Summarise a series of reports of one target (pure: no I/O, no clock)."""
    if not reports:
        raise ValueError("statistics of no runs")
    addresses = _address_stats(reports, fail_on)
    problems = sum(1 for report in reports if _has_problem(report, fail_on))
    sentence, address = _correlation(addresses, problems, len(reports))
    return RepeatStats(
        requested=requested,
        interval_s=interval_s,
        reports=tuple(reports),
        checks=_check_stats(reports),
        addresses=addresses,
        correlation=sentence,
        correlated_address=address,
        fail_on=fail_on,
        stopped=stopped,
    )


# --- presentation -----------------------------------------------------------------------------
