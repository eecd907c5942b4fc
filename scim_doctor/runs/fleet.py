"""Many targets in one run: each diagnosed as `check` would, `concurrency` at a time.

One event loop, a semaphore around `runner.diagnose`, one SSL context per CA file for the whole
process (trust.load_trust caches them). Results come back in config order whatever order the
targets finish in, so a report is as deterministic as its targets. Tokens are read and CA files
loaded before the first connection: a typo in the file stops the run with exit 2 at once, not
after half the fleet was checked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from scim_doctor import __version__
from scim_doctor.core.model import Report, Severity, Status
from scim_doctor.core.secrets import redact

if TYPE_CHECKING:
    from scim_doctor.core.secrets import Secret
    from scim_doctor.net.context import Options
    from scim_doctor.net.target import Target
    from scim_doctor.net.trust import Trust
    from scim_doctor.runs.config import TargetConfig
    from scim_doctor.runs.repeat import RepeatStats

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_INTERNAL = 3

TARGET_STATUSES = ("pass", "warn", "fail", "error")
"""A target's verdict: its report's status, or `error` when scim-doctor broke on it."""


@dataclass(frozen=True)
class FleetTarget:
    """A target ready to run: parsed, with its options, token and trust store."""

    name: str
    target: Target
    options: Options
    token: Secret | None
    trust: Trust
    fail_on: Severity = Severity.FAIL
    tags: tuple[str, ...] = ()
    idp: str | None = None
    source: str | None = None
    """`FILE:LINE` of its `[[targets]]` entry, when it came from a config file."""


@dataclass(frozen=True)
class TargetOutcome:
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


@dataclass(frozen=True)
class FleetReport:
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


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def outcome_of(spec: FleetTarget, report: Report | None, error: str | None = None) -> TargetOutcome:
    return TargetOutcome(
        name=spec.name,
        base_url=spec.target.base_url,
        fail_on=spec.fail_on,
        tags=spec.tags,
        idp=spec.idp,
        source=spec.source,
        report=report,
        error=error,
    )


async def diagnose_one(spec: FleetTarget) -> TargetOutcome:
    """One target, as `check` would run it; a crash becomes an `error` outcome, not the end."""
    from scim_doctor.runs.runner import BUG_REPORT_HINT, diagnose

    try:
        report = await diagnose(spec.target, spec.options, spec.token, spec.trust)
    except Exception as exc:  # one broken target must not take the fleet down
        message = redact(f"internal error ({type(exc).__name__}: {exc}). {BUG_REPORT_HINT}")
        return outcome_of(spec, None, message)
    return outcome_of(spec, report)


async def diagnose_fleet(
    specs: Sequence[FleetTarget],
    concurrency: int,
    on_done: Callable[[TargetOutcome], None] | None = None,
) -> FleetReport:
    """Diagnose every target, at most `concurrency` at once; outcomes in the order given."""
    started_at = _now()
    started = time.monotonic()
    gate = asyncio.Semaphore(max(1, concurrency))

    async def gated(spec: FleetTarget) -> TargetOutcome:
        async with gate:
            outcome = await diagnose_one(spec)
        if on_done is not None:
            on_done(outcome)
        return outcome

    outcomes = await asyncio.gather(*(gated(spec) for spec in specs))
    return FleetReport(
        tool_version=__version__,
        started_at=started_at,
        duration_ms=round((time.monotonic() - started) * 1000, 1),
        targets=tuple(outcomes),
        concurrency=concurrency,
        environment=environment(concurrency),
    )


def environment(concurrency: int) -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "concurrency": concurrency,
    }


def run_fleet(
    specs: Sequence[FleetTarget],
    concurrency: int,
    on_done: Callable[[TargetOutcome], None] | None = None,
) -> FleetReport:
    """Synchronous entry point for the CLI and the benchmark.

    The report leaves the loop through `done`, not as the main task's result: when the run
    ends, asyncio.run looks up its Ctrl-C handler with signal.getsignal, whose failed enum
    lookup formats the handler, the main task and so the repr of its result: the whole
    report, several MiB of text at the very moment the process is at its largest.
    """
    if sys.platform == "win32":  # pragma: no cover - the selector loop is what httpx expects
        asyncio.set_event_loop_policy(asyncio.WindowsSelectorEventLoopPolicy())  # type: ignore[attr-defined]
    done: list[FleetReport] = []

    async def main() -> None:
        done.append(await diagnose_fleet(specs, concurrency, on_done))

    asyncio.run(main())
    return done[0]


def prepare(configs: Sequence[TargetConfig]) -> list[FleetTarget]:
    """Read every token and load every CA file now, so a mistake stops the run before it starts."""
    from scim_doctor.core.errors import InputError
    from scim_doctor.net.trust import load_trust

    specs = []
    for config in configs:
        token = config.read_token()
        try:
            trust = load_trust(config.cacert)
        except InputError as exc:
            raise InputError(f"{config.source}: target {config.name!r}: {exc}") from None
        specs.append(
            FleetTarget(
                name=config.name,
                target=config.target,
                options=config.options(),
                token=token,
                trust=trust,
                fail_on=config.fail_on,
                tags=config.tags,
                idp=config.idp,
                source=config.source,
            )
        )
    return specs


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


class Progress:
    """`12/200 targets checked, 1 failing` on one rewritten stderr line: on a terminal only."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self.done = 0
        self.failing = 0

    def __call__(self, outcome: TargetOutcome) -> None:
        self.done += 1
        self.failing += outcome.failing
        if self.enabled:
            self.stream.write(
                f"\r\x1b[K{self.done}/{self.total} targets checked, {self.failing} failing"
            )
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _render(
    fleet: FleetReport, output_format: str, *, single_v1: bool, color: bool, verbose: bool
) -> str | Iterator[str]:
    from scim_doctor.reporters import fleet as fleet_reporter

    only = fleet.targets[0].report if len(fleet.targets) == 1 else None
    if only is not None and (
        single_v1 or output_format == "text" or output_format not in fleet_reporter.FORMATS
    ):
        # One target keeps the single-target formats: JSON version 1, HTML, ...
        if output_format == "text":
            return fleet_reporter.target_text(fleet.targets[0], color=color, verbose=verbose)
        from scim_doctor.reporters import renderer

        try:
            return renderer(output_format)(only)
        except ModuleNotFoundError:
            from scim_doctor.core.errors import InputError

            raise InputError(
                f"the {output_format} format is not available in this version"
            ) from None
    return fleet_reporter.render(fleet, output_format, color=color, verbose=verbose)


def deliver(
    fleet: FleetReport,
    outputs: Sequence[tuple[str, str]],
    *,
    verbose: bool = False,
    quiet: bool = False,
    color: bool = False,
    single_v1: bool = False,
    github: bool = False,
) -> int:
    """Write every (format, destination) report, the CI output, and return the exit code.

    `quiet` prints only the problems where the text report would go to stdout, and no "wrote"
    lines. With `github`, annotations go to stdout, or to stderr (which the runner reads too)
    when stdout carries a machine-readable report that they would corrupt.
    """
    from scim_doctor.reporters import fleet as fleet_reporter
    from scim_doctor.reporters.writer import emit, say, write_output

    for output_format, destination in outputs:
        to_stdout = destination == "-"
        if quiet and to_stdout and output_format == "text":
            # Names only where they tell targets apart: not for one BASE_URL.
            named = len(fleet.targets) > 1 or any(t.source for t in fleet.targets)
            emit(fleet_reporter.render_problems(fleet, with_names=named))
            continue
        text = _render(
            fleet,
            output_format,
            single_v1=single_v1,
            color=color and to_stdout,
            verbose=verbose,
        )
        written = write_output(text, destination)
        if written is not None and not quiet:
            say(f"wrote {written}")
    if github:
        from scim_doctor.reporters import github as ci_github

        machine_on_stdout = any(d == "-" and f != "text" for f, d in outputs)
        ci_github.write(fleet, sys.stderr if machine_on_stdout else sys.stdout)
    return fleet.exit_code


def check_many(
    specs: Sequence[FleetTarget],
    outputs: Sequence[tuple[str, str]],
    *,
    concurrency: int,
    repeat_count: int = 1,
    interval_s: float = 1.0,
    budget_s: float | None = None,
    verbose: bool = False,
    quiet: bool = False,
    color: bool = False,
    github: bool = False,
) -> int:
    """The `check --config` / `--repeat` command after its options are parsed: run, write, exit."""
    from scim_doctor.core.errors import InputError
    from scim_doctor.reporters import fleet as fleet_reporter

    if len(specs) != 1:
        for output_format, _ in outputs:
            if output_format not in fleet_reporter.FORMATS:
                raise InputError(
                    f"the {output_format} format shows one target and {len(specs)} are selected: "
                    f"choose one with --target NAME, or use {', '.join(fleet_reporter.FORMATS)}"
                )
    if repeat_count > 1:
        if len(specs) != 1:
            raise InputError(
                f"--repeat checks one target and {len(specs)} are selected: choose one with "
                "--target NAME"
            )
        from scim_doctor.runs.repeat import run_series

        report = run_series(specs[0], repeat_count, interval_s, budget_s)
    else:
        progress = Progress(len(specs))
        progress.enabled = progress.enabled and not quiet
        try:
            report = run_fleet(specs, concurrency, progress)
        finally:
            progress.close()
    return deliver(report, outputs, verbose=verbose, quiet=quiet, color=color, github=github)
