"""`--format nagios`: one status line with performance data, for Nagios, Icinga, Checkmk and
anything else that runs monitoring plugins.

The plugin convention (Monitoring Plugins development guidelines): the first line is
`SERVICE STATE - text | perfdata`, more lines may follow as long output, and the exit code is
the state: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. A monitoring system pages on CRITICAL, so
UNKNOWN is kept for what says nothing about the endpoint: bad input, or scim-doctor itself
breaking without anything known to be wrong. The state is the report's one verdict, so a
provider that will fail (or a run that could not judge the endpoint) is CRITICAL and nothing
else is.
"""

from __future__ import annotations

from enum import IntEnum

from scim_doctor.core.model import Report, Severity, Status
from scim_doctor.reporters.text import root_cause_words

SERVICE = "SCIM"


class State(IntEnum):
    """A plugin's state; its value is the plugin's exit code."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


def state(report: Report) -> State:
    """CRITICAL when the report fails on a finding; UNKNOWN when only scim-doctor itself broke;
    WARNING for a warning; else OK."""
    if report.problems(at_least=Severity.FAIL):
        return State.CRITICAL
    if any(check.status is Status.ERROR for check in report.checks):
        return State.UNKNOWN
    if report.status is Status.WARN:
        return State.WARNING
    return State.OK


def _clean(text: str) -> str:
    """One line without `|`, which would start the performance data."""
    return " ".join(text.replace("|", "/").split())


def _perf_label(label: str) -> str:
    """A label as the guidelines allow it: quoted when it holds anything but [A-Za-z0-9_]."""
    if label.replace("_", "").isalnum() and label.isascii():
        return label
    return "'" + label.replace("'", "") + "'"


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.3f}s"


def perfdata(report: Report) -> str:
    """`time` (the whole run), `cert_days` (until the certificate expires, when the tls check
    saw one) and `time_<check>` for every check that ran, all with a minimum of 0."""
    parts = [f"time={_seconds(report.duration_ms)};;;0"]
    tls = next((c for c in report.checks if c.id == "tls"), None)
    days = tls.facts.get("days_to_expiry") if tls is not None else None
    if isinstance(days, int) and not isinstance(days, bool):
        parts.append(f"cert_days={days}")
    for check in report.checks:
        if check.status is not Status.SKIP:
            parts.append(f"{_perf_label('time_' + check.id)}={_seconds(check.duration_ms)};;;0")
    return " ".join(parts)


def summary(report: Report, current: State) -> str:
    """What follows the state: the root cause and its message, or why nothing is wrong."""
    target = report.target.base_url
    cause = report.root_cause(at_least=Severity.WARN)
    if cause is not None:
        check_id, finding = cause
        return f"{target}: {root_cause_words(report)} in {check_id}: {finding.message}"
    broken = [c.id for c in report.checks if c.status is Status.ERROR]
    if current is State.UNKNOWN:
        return (
            f"{target}: scim-doctor itself failed in {', '.join(broken)}; this says nothing "
            "about the endpoint (please report it)"
        )
    skipped = report.counts[Status.SKIP.value]
    tail = f" ({skipped} check{'s' if skipped != 1 else ''} skipped)" if skipped else ""
    return f"{target}: no problems found{tail}"


def long_output(report: Report) -> list[str]:
    """The lines after the first: every other problem, every check scim-doctor broke on, then
    each provider's verdict."""
    cause = report.root_cause(at_least=Severity.WARN)
    lines = [
        f"{finding.severity.value} {finding.code}: {finding.message}"
        for finding in report.problems(at_least=Severity.WARN)
        if cause is None or finding is not cause[1]
    ]
    lines += [
        f"error {check.id}: scim-doctor itself failed in this check (please report it)"
        for check in report.checks
        if check.status is Status.ERROR
    ]
    lines += [
        f"{verdict.name}: {verdict.verdict.value.replace('_', ' ')}"
        for verdict in report.idp_verdicts
    ]
    return [_clean(line) for line in lines]


def render(report: Report) -> str:
    current = state(report)
    first = f"{SERVICE} {current.name} - {_clean(summary(report, current))} | {perfdata(report)}"
    return "\n".join([first, *long_output(report)]) + "\n"


def unknown(message: str) -> str:
    """The line for bad input or an internal error, when no report could be made."""
    return f"{SERVICE} {State.UNKNOWN.name} - {_clean(message)}\n"
