"""Runs the probes: prerequisites first, independent ones concurrently, results in fixed order.

Every probe is a task that first waits for its prerequisites. A check whose prerequisite did not
pass is skipped with the reason; a crash becomes `error` with a bug-report hint and the run goes
on; the run's deadline cuts every probe short, however it is stuck. A caller may watch which
checks are running (`on_check`), e.g. to show a status line; the runner itself prints nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence

from msgspec.structs import replace

from scim_doctor import __version__
from scim_doctor.checks import REGISTRY
from scim_doctor.checks.base import Outcome, Probe
from scim_doctor.core import findings, pii
from scim_doctor.core.model import CheckResult, Report, Status, TargetInfo
from scim_doctor.core.secrets import Secret, redact
from scim_doctor.core.timeouts import within
from scim_doctor.net.context import Options, ProbeContext
from scim_doctor.net.target import Target
from scim_doctor.net.trust import Trust
from scim_doctor.scim import idp, judgement

BUG_REPORT_HINT = (
    "scim-doctor itself failed here; this says nothing about the endpoint. Please report it "
    "with this report attached (the token is redacted)."
)

Unblocks = bool | frozenset[str]
"""Whether a check's dependents may run: all or none, or only the ids named."""
_BLOCKING = {Status.FAIL: "failed", Status.ERROR: "broke", Status.SKIP: "was skipped"}

CheckWatcher = Callable[[str, bool], None]
"""Called with (check id, True) when a check starts running and (check id, False) when it ends:
how the CLI learns what a slow run is waiting for, without the runner knowing about terminals."""


def selected(probe: Probe, options: Options) -> bool:
    if options.only is not None and probe.id not in options.only:
        return False
    return probe.id not in options.skip


def _skip(probe: Probe, reason: str) -> CheckResult:
    return CheckResult(
        id=probe.id,
        title=probe.title,
        status=Status.SKIP,
        duration_ms=0.0,
        summary=reason,
        skip_reason=reason,
    )


def _result(probe: Probe, outcome: Outcome, duration_ms: float) -> CheckResult:
    status = outcome.status
    return CheckResult(
        id=probe.id,
        title=probe.title,
        status=status,
        duration_ms=round(duration_ms, 1),
        summary=outcome.summary or outcome.skip_reason or status.value,
        skip_reason=outcome.skip_reason,
        findings=tuple(outcome.findings),
        facts=dict(outcome.facts),
        timings_ms={k: round(v, 1) for k, v in outcome.timings_ms.items()},
        exchanges=tuple(outcome.exchanges),
    )


async def _run_one(probe: Probe, ctx: ProbeContext) -> tuple[CheckResult, Unblocks]:
    """Run one probe under the deadline; also say whether its dependents may run."""
    started = time.monotonic()
    budget = ctx.remaining()
    if budget <= 0:
        return _skip(probe, "the run's deadline was reached before this check could start"), False
    try:
        outcome = await within(probe.run(ctx), budget)
    except asyncio.TimeoutError:
        if ctx.remaining() > 0:
            return _crashed(probe, started, "a timeout escaped the probe"), False
        outcome = Outcome(
            summary=f"not finished when the run's deadline ({ctx.options.deadline:g} s) was "
            "reached",
        )
        outcome.add(
            findings.make(
                "run.deadline_exceeded",
                f"{probe.id} was still running after {time.monotonic() - started:.1f} s, when "
                f"the whole run reached its {ctx.options.deadline:g} s deadline",
            )
        )
    except Exception as exc:  # a probe crash must not end the run
        return _crashed(probe, started, f"{type(exc).__name__}: {exc}", exc), False
    result = _result(probe, outcome, (time.monotonic() - started) * 1000)
    unblocks = outcome.unblocks_dependents
    return result, (result.status not in _BLOCKING) if unblocks is None else unblocks


def _crashed(
    probe: Probe, started: float, what: str, exc: BaseException | None = None
) -> CheckResult:
    facts = {}
    if exc is not None:
        facts["traceback"] = redact("".join(traceback.format_exception(exc)[-6:]))
    return CheckResult(
        id=probe.id,
        title=probe.title,
        status=Status.ERROR,
        duration_ms=round((time.monotonic() - started) * 1000, 1),
        summary=redact(f"internal error ({what}). {BUG_REPORT_HINT}"),
        facts=facts,
    )


async def run_checks(
    ctx: ProbeContext,
    probes: Sequence[Probe] = REGISTRY,
    on_check: CheckWatcher | None = None,
    *,
    early: bool = True,
) -> list[CheckResult]:
    """Run every probe once its prerequisites are settled; return results in registry order.

    A probe declared `ahead_of` a prerequisite starts as soon as that prerequisite lets its
    dependents start (the `tls` check once the certificate is verified, `auth` as it sends its
    own requests): its requests go out in the same round trip as the prerequisite's. Its result
    still waits for the prerequisite's: if that one blocks it, the early run is cancelled and
    the probe is skipped with the very reason it would have had waiting, so the report is the
    same whichever way the requests were scheduled. `early=False` runs every probe after its
    prerequisites and opens no connection ahead (a fleet's targets run side by side instead).
    """
    if not early:
        probes = [replace(p, ahead_of=(), warms_pool=False) for p in probes]
    by_id = {probe.id: probe for probe in probes}
    tasks: dict[str, asyncio.Task[tuple[CheckResult, Unblocks]]] = {}
    loop = asyncio.get_running_loop()
    for probe in probes:
        ctx.early[probe.id] = loop.create_future()

    async def gated(probe: Probe) -> tuple[CheckResult, Unblocks]:
        def allowed(unblocks: Unblocks) -> bool:
            return probe.id in unblocks if isinstance(unblocks, frozenset) else unblocks

        if not selected(probe, ctx.options):
            return _skip(probe, "not selected (--only / --skip)"), True
        ahead: list[str] = []
        for req in probe.requires:
            if req not in tasks or not selected(by_id[req], ctx.options):
                continue  # an unselected prerequisite does not block: the user chose to skip it
            if req in probe.ahead_of and await ctx.early[req]:
                ahead.append(req)
                continue
            before, unblocks = await tasks[req]
            if not allowed(unblocks):
                why = await _blocked_by(ahead, allowed)
                return _skip(probe, why or f"requires {req}, which {_blocked(before)}"), False
        for earlier in probe.after:
            if earlier in tasks:
                await tasks[earlier]
        if probe.warms_pool:
            _warm_pool(ctx, probes)
        if not ahead:
            return await _watched(probe, ctx, on_check)
        running = asyncio.ensure_future(_watched(probe, ctx, on_check))
        try:
            why = await _blocked_by(ahead, allowed)
            if why is None:
                return await running
        finally:
            if not running.done():
                running.cancel()  # blocked after all, or the run itself is ending
                await asyncio.gather(running, return_exceptions=True)
        return _skip(probe, why), False

    async def _blocked_by(reqs: Sequence[str], allowed: Callable[[Unblocks], bool]) -> str | None:
        """Why the first of `reqs` (awaited in order) that blocks the probe does, or None."""
        for req in reqs:
            before, unblocks = await tasks[req]
            if not allowed(unblocks):
                return f"requires {req}, which {_blocked(before)}"
        return None

    for probe in probes:
        tasks[probe.id] = asyncio.ensure_future(gated(probe))
        tasks[probe.id].add_done_callback(settled(ctx.early[probe.id]))
    try:
        return [(await tasks[probe.id])[0] for probe in probes]
    finally:
        for task in tasks.values():
            task.cancel()
        await ctx.aclose()


async def _watched(
    probe: Probe, ctx: ProbeContext, on_check: CheckWatcher | None
) -> tuple[CheckResult, Unblocks]:
    if on_check is None:
        return await _run_one(probe, ctx)
    on_check(probe.id, True)
    try:
        return await _run_one(probe, ctx)
    finally:
        on_check(probe.id, False)


def settled(early: asyncio.Future[bool]) -> Callable[[object], None]:
    """A done-callback for a check's task: if it never let its dependents start early, they
    learn that they must wait for its result."""

    def settle(_: object) -> None:
        if not early.done():
            early.set_result(False)

    return settle


def _warm_pool(ctx: ProbeContext, probes: Sequence[Probe]) -> None:
    """Open the connections the selected checks' first requests need (`Probe.connections`),
    now, so that they are ready when `tls` lets those checks start."""
    if not ctx.target.is_https:
        return  # nothing after tls runs but the token-less redirect walk
    from scim_doctor.net.http import HttpClient

    wanted: dict[str, int] = {}
    for probe in probes:
        if probe.connections is not None and selected(probe, ctx.options):
            for url, count in probe.connections(ctx):
                wanted[url] = wanted.get(url, 0) + count
    client = HttpClient.for_context(ctx)
    for url, count in wanted.items():
        client.warm(url, count)


def _blocked(before: CheckResult) -> str:
    return _BLOCKING.get(before.status, "did not pass")


def environment(trust: Trust, options: Options) -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "trust_store": trust.description,
        # The CA file the user gave (a path, not a secret): a replayed curl command needs it.
        "cacert": str(options.cacert.absolute()) if options.cacert else None,
        "proxy": redact(options.proxy) if options.proxy else None,
        "noproxy": options.noproxy,
        "proxy_pac": redact(options.proxy_pac) if options.proxy_pac else None,
        "timeout_s": options.timeout,
        "deadline_s": options.deadline,
        "insecure": options.insecure,
        "reach": options.reach,
        "resolve": [f"{p.host}:{p.port}:{','.join(p.addresses)}" for p in options.resolve],
    }


async def diagnose(
    target: Target,
    options: Options,
    token: Secret | None,
    trust: Trust,
    on_check: CheckWatcher | None = None,
    *,
    early: bool = True,
) -> Report:
    """Run every check against one target and build its report (`early`: see run_checks)."""
    only_idp = idp.resolve_idp_name(options.idp) if options.idp else None  # before any traffic
    started_wall = dt.datetime.now(dt.timezone.utc)
    started = time.monotonic()
    ctx = ProbeContext(
        target=target,
        options=options,
        token=token,
        trust=trust,
        deadline_at=started + options.deadline,
    )
    checks = await run_checks(ctx, on_check=on_check, early=early)
    verdicts = idp.verdicts(checks, only=only_idp)
    report = Report(
        tool_version=__version__,
        target=TargetInfo(base_url=target.base_url, host=target.host, port=target.port),
        started_at=started_wall.isoformat(timespec="seconds").replace("+00:00", "Z"),
        duration_ms=round((time.monotonic() - started) * 1000, 1),
        checks=judgement.apply(checks, verdicts, strict=options.strict),
        environment=environment(trust, options),
        idp_verdicts=verdicts,
    )
    # Personal data seen in sampled resources is masked here, once, for every output format
    # (reports are attached to support tickets); --show-pii keeps it for a local run.
    return report if options.show_pii else pii.mask_report(report)


def run(
    target: Target,
    options: Options,
    token: Secret | None,
    trust: Trust,
    on_check: CheckWatcher | None = None,
) -> Report:
    """Synchronous entry point for the CLI."""
    if sys.platform == "win32":  # pragma: no cover - the selector loop is what httpx expects
        asyncio.set_event_loop_policy(asyncio.WindowsSelectorEventLoopPolicy())  # type: ignore[attr-defined]
    return asyncio.run(diagnose(target, options, token, trust, on_check))
