"""The result of a fleet run (`check --config`, `--repeat`): every target's outcome in config
order, its verdict and the process's exit code. Built by runs/, presented by reporters/."""

from __future__ import annotations

import datetime as dt
import platform
from typing import TYPE_CHECKING

from msgspec import Struct, field

from scim_doctor.core.model import Report, Severity, Status

if TYPE_CHECKING:
    from scim_doctor.core.repeat import RepeatStats


EXIT_OK = 0


EXIT_PROBLEMS = 1


EXIT_INTERNAL = 3


TARGET_STATUSES = ("pass", "warn", "fail", "error")
"""A target's verdict: its report's status, or `error` when scim-doctor broke on it."""


class TargetOutcome(Struct, frozen=True):
    """What one target's run gave: a report, or why scim-doctor could not produce one."""

    name: str
    base_url: str
    fail_on: Severity
    tags: tuple[str, ...] = ()
    idp: str | None = None
    source: str | None = None
    report: Report | None = None
    error: str | None = None
    """scim-doctor itself failed on this target (redacted; a bug, never the endpoint)."""
    repeat: RepeatStats | None = None
    """Statistics over every run (`--repeat`); `report` is then the run shown in full."""

    @property
    def status(self) -> str:
        if self.report is None or any(c.status is Status.ERROR for c in self.report.checks):
            return "error"
        status = self.report.status
        if self.repeat is not None and self.repeat.worst_status is not Status.PASS:
            status = self.repeat.worst_status
        return str(status.value)

    def problems(self) -> list[str]:
        """Codes of every finding at warn or above, once each, in check order."""
        if self.report is None:
            return []
        codes = [f.code for f in self.report.problems(at_least=Severity.WARN)]
        if self.repeat is not None:
            codes += self.repeat.problem_codes()
        return list(dict.fromkeys(codes))

    @property
    def exit_code(self) -> int:
        if self.status == "error":
            return EXIT_INTERNAL
        if self.repeat is not None:
            return EXIT_PROBLEMS if self.repeat.problem_runs(self.fail_on) else EXIT_OK
        assert self.report is not None  # noqa: S101 - status is "error" otherwise
        return EXIT_PROBLEMS if self.report.problems(at_least=self.fail_on) else EXIT_OK

    @property
    def failing(self) -> bool:
        """A problem at or above the target's fail_on, or scim-doctor broke on it."""
        return self.exit_code != EXIT_OK


class FleetReport(Struct, frozen=True):
    """Every selected target's outcome, in config order."""

    tool_version: str
    started_at: str
    duration_ms: float
    targets: tuple[TargetOutcome, ...]
    concurrency: int = 1
    environment: dict[str, object] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(TARGET_STATUSES, 0)
        for outcome in self.targets:
            counts[outcome.status] += 1
        return counts

    @property
    def status(self) -> str:
        """fail if any target failed or broke, warn if any warned, else pass."""
        counts = self.counts
        if counts["fail"] or counts["error"]:
            return "fail"
        return "warn" if counts["warn"] else "pass"

    @property
    def failing(self) -> list[str]:
        return [outcome.name for outcome in self.targets if outcome.failing]

    @property
    def exit_code(self) -> int:
        """3 if scim-doctor broke on any target, else 1 if any target failed, else 0."""
        codes = {outcome.exit_code for outcome in self.targets}
        if EXIT_INTERNAL in codes:
            return EXIT_INTERNAL
        return EXIT_PROBLEMS if EXIT_PROBLEMS in codes else EXIT_OK


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def environment(concurrency: int) -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "concurrency": concurrency,
    }


def single(report: Report, name: str, fail_on: Severity) -> FleetReport:
    """A one-target run seen as a fleet of one (for --quiet and CI output)."""
    outcome = TargetOutcome(
        name=name, base_url=report.target.base_url, fail_on=fail_on, report=report
    )
    return FleetReport(
        tool_version=report.tool_version,
        started_at=report.started_at,
        duration_ms=report.duration_ms,
        targets=(outcome,),
    )
