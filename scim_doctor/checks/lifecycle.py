"""The `lifecycle` check (--allow-writes only): create, read, change and delete a test user and
group the way the identity providers' own validators do, and leave nothing behind.

Off by default: without --allow-writes the check is skipped and the doctor sends only GET and
HEAD. With it, the report says plainly what was written: the summary starts with "WROTE to the
server:", an info finding lists what was created and deleted, and anything that could not be
deleted is a failure naming its id.

Clean-up is guaranteed: whatever ends the steps (a failure, a crash, the run's deadline,
Ctrl-C), everything created and not yet deleted is deleted, newest first, by
`cleanup.guaranteed_clean_up`, which runs in its own thread with its own HTTP client and a budget
of min(2 x --timeout, 10 s) beyond the deadline. At the deadline the check still reports (with
`run.deadline_exceeded`); on Ctrl-C (or SIGTERM / SIGHUP, see `scim_doctor.signals`) the
cancellation goes on after the clean-up, and one line on stderr says what was deleted and what,
if anything, is left. The steps are in `scim_doctor.lifecycle.steps` and `.group_steps`.

What is left behind because of a problem a step already reported (a DELETE that only
deactivates, a refused DELETE) is one more finding that points at that cause
(`scim.causes`), and its fix is chosen from what the server did.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from scim_doctor.checks.base import Outcome
from scim_doctor.core import findings
from scim_doctor.core.model import Finding, Severity
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.http import HttpClient

if TYPE_CHECKING:  # the write modules load only for a run that writes (start-up: issue 21)
    from scim_doctor.lifecycle.cleanup import CleanupRun, Ledger, Written
    from scim_doctor.lifecycle.session import Session

READ_ONLY = "read-only run: writes need --allow-writes"
CLEANUP_HINT = "delete it by hand or run `scim-doctor cleanup`"
SOFT_DELETE_FIX = (
    "This server only deactivates what DELETE names, so `scim-doctor cleanup` cannot remove the "
    "test resources either: delete them in the application itself (its admin console or "
    "database), by the ids listed; then make DELETE remove resources (see "
    "lifecycle.deleted_still_found)."
)
REFUSED_DELETE_FIX = (
    "DELETE was refused (see lifecycle.delete_failed): delete the resources listed in the "
    "application itself, or with a token allowed to delete, then run `scim-doctor cleanup URL` "
    "to find any other test resources."
)


async def run(ctx: ProbeContext) -> Outcome:
    if not ctx.options.allow_writes:
        return Outcome(skip_reason=READ_ONLY)
    if ctx.token is None:
        return Outcome(skip_reason="no token given (--no-token)")
    from scim_doctor.lifecycle.cleanup import Ledger, guaranteed_clean_up, new_tag
    from scim_doctor.lifecycle.session import DEADLINE_SLACK_S, DeadlineReached, Session
    from scim_doctor.lifecycle.steps import run_steps

    session = Session(ctx, HttpClient.for_context(ctx), Ledger(), new_tag())
    stopped_at: str | None = None
    interruption: BaseException | None = None
    try:
        await run_steps(session)
    except DeadlineReached as reached:
        stopped_at = str(reached)
    except asyncio.CancelledError as cancelled:
        # The runner cancels at the deadline; anything earlier is Ctrl-C (or a caller giving up).
        if ctx.remaining() > DEADLINE_SLACK_S:
            interruption = cancelled
        else:
            stopped_at = session.step
    except GeneratorExit:  # pragma: no cover - the coroutine is being closed: nothing may await
        raise
    except BaseException as exc:  # a bug or KeyboardInterrupt: clean up first, then let it through
        interruption = exc
    cleanup, cancelled_meanwhile = await guaranteed_clean_up(ctx, session.ledger)
    if cancelled_meanwhile and interruption is None:
        if ctx.remaining() > DEADLINE_SLACK_S:
            interruption = asyncio.CancelledError()
        elif stopped_at is None:
            stopped_at = "clean-up"
    if interruption is not None:
        if isinstance(interruption, asyncio.CancelledError | KeyboardInterrupt):
            _announce(session, cleanup)
        raise interruption
    return _outcome(session, cleanup, stopped_at)


def _label(entry: Written) -> str:
    return f"{entry.kind} {entry.name} (id {entry.id or 'unknown'})"


def _left_reason(entry: Written) -> str:
    if entry.problem:
        return entry.problem
    if entry.state == "pending":
        return "its create got no answer and it could not be looked up by name"
    return "the clean-up did not get to it within its time budget"


def _announce(session: Session, cleanup: CleanupRun) -> None:
    """Ctrl-C leaves no report: say on stderr what the interrupted run wrote and removed."""
    from scim_doctor.core.output import say

    deleted = [_label(e) for e in session.ledger.entries if e.state == "deleted"]
    left = [f"{_label(e)}: {_left_reason(e)}" for e in session.ledger.left_behind()]
    line = f"interrupted during the lifecycle check (step {session.step}); "
    line += f"deleted {', '.join(deleted)}" if deleted else "nothing had been created"
    line += f"; LEFT ON THE SERVER: {'; '.join(left)} ({CLEANUP_HINT})" if left else ""
    if cleanup.crashed:
        line += f"; the clean-up itself failed ({cleanup.crashed})"
    try:
        say(f"scim-doctor: {line}")
    except OSError:  # stderr is gone (SIGHUP: the terminal closed): the interrupt must go on
        pass


def _outcome(session: Session, cleanup: CleanupRun, stopped_at: str | None) -> Outcome:
    ctx, ledger = session.ctx, session.ledger
    outcome = Outcome(exchanges=[*session.exchanges, *cleanup.exchanges])
    for finding in session.merged_findings():
        outcome.add(finding)
    if stopped_at is not None:
        outcome.add(
            findings.make(
                "run.deadline_exceeded",
                f"the lifecycle was at step {stopped_at} when the run reached its "
                f"{ctx.options.deadline:g} s deadline; the clean-up then took "
                f"{cleanup.seconds:.1f} s (it may take {cleanup.budget_s:g} s beyond the "
                "deadline)",
            )
        )
    created = ledger.created()
    left = ledger.left_behind()
    if left or cleanup.crashed:
        outcome.add(_cleanup_incomplete(left, cleanup, {f.code for f in outcome.findings}))
    from scim_doctor.lifecycle.steps import not_declared_note

    note = not_declared_note(session)
    if note is not None:
        outcome.add(findings.make("lifecycle.attributes_not_declared", note))
    outcome.add(findings.make("lifecycle.writes_made", _writes_message(ledger)))
    outcome.facts = _facts(session, cleanup, stopped_at)
    ctx.shared.extra["lifecycle"] = {
        "patch_dialects": dict(session.dialects),
        "patch_method_not_allowed": bool(session.not_allowed),
        "steps": {step: dict(value) for step, value in session.steps.items()},
        "left_behind": len(left),
    }
    problems = sum(1 for f in outcome.findings if f.severity is not Severity.INFO)
    outcome.summary = _summary(session, created, left, problems)
    return outcome


def _cleanup_incomplete(left: list[Written], cleanup: CleanupRun, seen: set[str]) -> Finding:
    """What is left, with the fix for why: a DELETE that only deactivates or was refused (a
    cause reported already) needs other hands than `scim-doctor cleanup`."""
    broke = f" (the clean-up itself failed: {cleanup.crashed})" if cleanup.crashed else ""
    listed = "; ".join(f"{_label(e)}: {_left_reason(e)}" for e in left)
    message = f"Left on the server: {listed}{broke}."
    fix = None
    if any(e.state == "still_readable" for e in left) and "lifecycle.deleted_still_found" in seen:
        fix = SOFT_DELETE_FIX
    elif "lifecycle.delete_failed" in seen:
        fix = REFUSED_DELETE_FIX
    else:
        message += f" {CLEANUP_HINT[0].upper()}{CLEANUP_HINT[1:]}."
    return findings.make("lifecycle.cleanup_incomplete", message, remediation=fix)


def _writes_message(ledger: Ledger) -> str:
    created = ledger.created()
    if not created:
        return (
            "Sent creates (POST) for a test user and group; the server created neither, so "
            "nothing needed deleting."
        )
    fates = []
    for entry in created:
        if entry.state == "deleted":
            fates.append(f"{_label(entry)}, deleted ({entry.removed_by})")
        else:
            fates.append(f"{_label(entry)}, NOT deleted ({_left_reason(entry)})")
    return "Created " + "; ".join(fates) + "."


def _summary(session: Session, created: list[Written], left: list[Written], problems: int) -> str:
    kinds = " and ".join(dict.fromkeys(e.kind for e in created)) or "nothing"
    text = f"WROTE to the server: created {kinds}"
    text += f", {len(left)} LEFT BEHIND (ids in the report)" if left else ", all cleaned up"
    accepted = [name for name, ok in session.dialects.items() if ok]
    if any(ok is not None for ok in session.dialects.values()):
        text += f"; PATCH dialects accepted: {', '.join(accepted) or 'none'}"
    members = [name for name, ok in session.group_dialects.items() if ok]
    if any(ok is not None for ok in session.group_dialects.values()):
        text += f"; group member forms accepted: {', '.join(members) or 'none'}"
    if problems:
        text += f"; {problems} problem{'s' if problems > 1 else ''}"
    return text


def _facts(session: Session, cleanup: CleanupRun, stopped_at: str | None) -> dict[str, Any]:
    ledger = session.ledger
    return {
        "writes_made": True,
        "test_name": session.display,
        "created": [
            {"type": e.kind, "id": e.id, "name": e.name, "step": e.step} for e in ledger.created()
        ],
        "cleaned_up": [
            {"type": e.kind, "id": e.id, "how": e.removed_by}
            for e in ledger.entries
            if e.state == "deleted"
        ],
        "left_behind": [
            {"type": e.kind, "id": e.id, "name": e.name, "reason": _left_reason(e)}
            for e in ledger.left_behind()
        ],
        "steps": {step: dict(value) for step, value in session.steps.items()},
        "patch_dialects": dict(session.dialects),
        "failures": dict(session.failures),
        "group_dialects": dict(session.group_dialects),
        "patch_method_not_allowed": bool(session.not_allowed),
        "etag_declared": session.etag_declared,
        "attributes": {
            "declared_by": session.plan.source,
            "writable": list(session.plan.writable),
            "left_alone": [
                {"attribute": name, "why": why} for name, why in session.plan.left_out.items()
            ],
            "dropped_on_create": list(session.dropped),
            "applied": {
                step: [{"attribute": name, "applied": done} for name, done in value.items()]
                for step, value in session.results.items()
            },
        },
        "not_tried": dict(session.not_tried),
        "cleanup": {
            "budget_s": cleanup.budget_s,
            "seconds": cleanup.seconds,
            "stopped_by_deadline_at": stopped_at,
        },
    }
