"""Many targets in one run: each diagnosed as `check` would, `concurrency` at a time.

One event loop, a semaphore around `runner.diagnose`, one SSL context per CA file for the whole
process (trust.load_trust caches them). Results come back in config order whatever order the
targets finish in, so a report is as deterministic as its targets. Tokens are read and CA files
loaded before the first connection: a typo in the file stops the run with exit 2 at once, not
after half the fleet was checked.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from msgspec import Struct

from scim_doctor import __version__
from scim_doctor.core.fleet import FleetReport, TargetOutcome, environment, now
from scim_doctor.core.model import Report, Severity
from scim_doctor.core.secrets import redact

if TYPE_CHECKING:
    from scim_doctor.core.secrets import Secret
    from scim_doctor.net.context import Options
    from scim_doctor.net.target import Target
    from scim_doctor.net.trust import Trust
    from scim_doctor.runs.config import TargetConfig


class FleetTarget(Struct, frozen=True):
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


async def diagnose_one(spec: FleetTarget, *, early: bool = False) -> TargetOutcome:
    """One target, as `check` would run it; a crash becomes an `error` outcome, not the end.

    `early` (runner.run_checks): off unless the target runs alone. Many targets at once are
    bound by CPU, not round trips, and every target's requests and connections all in flight
    together raised a fleet's peak memory (52 targets at concurrency 20, two of them hostile:
    75 -> 173 MiB)."""
    from scim_doctor.runs.runner import BUG_REPORT_HINT, diagnose

    try:
        report = await diagnose(spec.target, spec.options, spec.token, spec.trust, early=early)
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
    started_at = now()
    started = time.monotonic()
    gate = asyncio.Semaphore(max(1, concurrency))

    async def gated(spec: FleetTarget) -> TargetOutcome:
        async with gate:
            outcome = await diagnose_one(spec, early=concurrency <= 1)
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
            trust = load_trust(config.cacert, config.trust_store, config.client_cert)
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
