"""Deleting what scim-doctor wrote: the lifecycle check's guaranteed clean-up, and the
`scim-doctor cleanup` sweep for anything an earlier run left behind.

Test resources carry one recognisable name, `scim-doctor-<8 hex digits>` (users:
`scim-doctor-<hex>@example.com`), so they can be found again by name alone, whatever happened to
the run that made them. Nothing else is ever deleted: a resource is removed only when its id is
one the lifecycle itself was given, or when its name matches that exact shape, checked here on
the client (a server that ignores the filter and returns every user must not cost anyone their
account).

The lifecycle's clean-up runs in a thread of its own with its own event loop, HTTP client and
time budget (`guaranteed_clean_up`): neither the run's deadline, nor the cancellation Ctrl-C
sends through asyncio.run, nor the runner closing the shared client can stop it half-way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

import msgspec.structs
from msgspec import Struct, field

from scim_doctor.core.model import Exchange
from scim_doctor.core.pii import TEST_NAME
from scim_doctor.net.context import Options, ProbeContext, Shared
from scim_doctor.scim.validators import LIST_RESPONSE, get_ci, has_schema

if TYPE_CHECKING:  # pragma: no cover - imported lazily: http pulls in httpx
    from scim_doctor.core.secrets import Secret
    from scim_doctor.net.http import HttpClient, HttpResult
    from scim_doctor.net.target import Target
    from scim_doctor.net.trust import Trust

PREFIX = "scim-doctor-"
EMAIL_DOMAIN = "example.com"
"""Reserved for documentation (RFC 2606): mail to it goes nowhere, and validators accept it."""
_TEST_NAME = re.compile(rf"{TEST_NAME}\Z")

Kind = Literal["User", "Group"]
ENDPOINTS: dict[Kind, str] = {"User": "/Users", "Group": "/Groups"}
NAME_ATTRIBUTE: dict[Kind, str] = {"User": "userName", "Group": "displayName"}
PAGE_SIZE = 100
MAX_PAGES = 50
"""The sweep reads at most this many pages per resource type (5000 resources)."""
MAX_CLEANUP_BUDGET_S = 10.0


def new_tag() -> str:
    """Eight random hex digits: the part of a test name that makes it unique."""
    return secrets.token_hex(4)


def test_names(tag: str) -> tuple[str, str]:
    """(userName, group displayName) for one lifecycle run."""
    return f"{PREFIX}{tag}@{EMAIL_DOMAIN}", f"{PREFIX}{tag}"


def is_test_name(value: Any) -> bool:
    """True only for names scim-doctor itself makes (never for a lookalike such as
    `scim-doctor-admin`)."""
    return isinstance(value, str) and _TEST_NAME.match(value) is not None


def cleanup_budget(options: Options) -> float:
    """Seconds the clean-up may take beyond the run's deadline: 2 x --timeout, at most 10 s."""
    return min(2 * options.timeout, MAX_CLEANUP_BUDGET_S)


def resource_path(kind: Kind, resource_id: str) -> str:
    return f"{ENDPOINTS[kind]}/{urllib.parse.quote(resource_id, safe='')}"


def answer(result: HttpResult) -> str:
    """'403 Forbidden: <SCIM detail or the body's start>' or why no answer came."""
    if result.status is None:
        return f"no response ({result.error.message if result.error else 'unknown error'})"
    said = f"{result.status} {result.reason}".rstrip()
    parsed = result.json()
    detail = get_ci(parsed.value, "detail") if parsed.ok else None
    scim_type = get_ci(parsed.value, "scimType") if parsed.ok else None
    if isinstance(detail, str) and detail.strip():
        typed = f" ({scim_type})" if isinstance(scim_type, str) else ""
        return f"{said}{typed}: {' '.join(detail.split())[:160]!r}"
    start = " ".join(result.exchange.body_excerpt[:120].split())
    return f"{said}; the body starts: {start!r}" if start else said


# --- what the lifecycle wrote -------------------------------------------------------------------

State = Literal["pending", "created", "not_created", "deleted", "still_readable"]


class Written(Struct):
    """One resource the lifecycle asked the server to create, from before the POST was sent."""

    kind: Kind
    name: str
    step: str
    """The lifecycle step that sent the POST."""
    id: str | None = None
    state: State = "pending"
    """pending: POST sent, outcome unknown (the clean-up looks it up by name); created: the
    server gave its id; not_created: the server refused it; deleted: DELETE succeeded and it is
    gone; still_readable: DELETE answered success but GET still finds it."""
    removed_by: str = ""
    """How it went away, for the report ('lifecycle step: DELETE 204, then GET 404')."""
    problem: str = ""
    """Why it is still there, if it is."""


class Ledger(Struct):
    """Every create the lifecycle attempted, in the order it attempted them."""

    entries: list[Written] = field(default_factory=list)

    def add(self, kind: Kind, name: str, step: str) -> Written:
        entry = Written(kind, name, step)
        self.entries.append(entry)
        return entry

    def created(self) -> list[Written]:
        """What exists or existed on the server (pending entries the clean-up found count)."""
        return [e for e in self.entries if e.id is not None and e.state != "not_created"]

    def to_clean(self) -> list[Written]:
        """What still needs a DELETE (or a look-up by name), newest first."""
        open_states = ("pending", "created", "still_readable")
        return [e for e in reversed(self.entries) if e.state in open_states]

    def left_behind(self) -> list[Written]:
        """What is (or may be: pending, never found) still on the server."""
        return [e for e in self.entries if e.state in ("pending", "created", "still_readable")]


class CleanupRun(Struct):
    """What the guaranteed clean-up did."""

    seconds: float = 0.0
    budget_s: float = 0.0
    exchanges: list[Exchange] = field(default_factory=list)
    crashed: str | None = None
    """Set when the clean-up itself broke (a bug): what is left is then listed as unknown."""


# --- deleting and finding, shared by the lifecycle and the sweep -----------------------------


class Removal(Struct, frozen=True):
    kind: Kind
    id: str
    name: str
    status: int | None
    gone: bool
    """The DELETE succeeded (2xx) or the resource was already gone (404)."""
    said: str
    """What the server answered, for the report."""


async def delete(client: HttpClient, kind: Kind, resource_id: str, name: str) -> Removal:
    result = await client.request("DELETE", resource_path(kind, resource_id))
    status = result.status
    gone = result.ok and status is not None and (200 <= status < 300 or status == 404)
    return Removal(kind, resource_id, name, status, gone, answer(result))


class Listing(Struct):
    """Test resources found on the server, and how they were looked for."""

    found: list[tuple[str, str]] = field(default_factory=list)
    """(id, name) of each resource whose name matched."""
    lookalikes: list[tuple[str, str]] = field(default_factory=list)
    """(id, name) of resources named scim-doctor-… that scim-doctor did not make: never
    deleted, only reported."""
    how: str = ""
    problem: str | None = None
    """Why the listing is incomplete, if it is."""
    truncated: bool = False


def _filter_query(expression: str, start: int) -> str:
    quoted = urllib.parse.quote(expression, safe="")
    return f"filter={quoted}&startIndex={start}&count={PAGE_SIZE}"


def _page(result: HttpResult) -> tuple[list[Any], int | None] | None:
    """The page's resources and totalResults, or None when it is no usable ListResponse."""
    if result.status != 200:
        return None
    parsed = result.json()
    if not parsed.ok or not isinstance(parsed.value, dict):
        return None
    document = parsed.value
    if not has_schema(document, LIST_RESPONSE) and get_ci(document, "totalResults") is None:
        return None
    resources = get_ci(document, "Resources")
    total = get_ci(document, "totalResults")
    return (
        resources if isinstance(resources, list) else [],
        total if type(total) is int else None,
    )


async def _walk(
    client: HttpClient, kind: Kind, expression: str | None
) -> tuple[list[Any], str | None, bool]:
    """Every resource the listing returns (filtered or not), page by page.

    Returns (resources, problem, truncated); problem is set when the first page was refused
    (the caller may fall back) or a later page broke off.
    """
    collected: list[Any] = []
    start = 1
    for _ in range(MAX_PAGES):
        query = (
            _filter_query(expression, start)
            if expression is not None
            else f"startIndex={start}&count={PAGE_SIZE}"
        )
        result = await client.request("GET", f"{ENDPOINTS[kind]}?{query}")
        page = _page(result)
        if page is None:
            return collected, f"GET {result.url} answered {answer(result)}", False
        resources, total = page
        collected.extend(resources)
        start += len(resources)
        if not resources or (total is not None and start > total):
            return collected, None, False
    return collected, None, True


def _split(resources: Sequence[Any], kind: Kind, exact: str | None) -> Listing:
    listing = Listing()
    attribute = NAME_ATTRIBUTE[kind]
    seen: set[str] = set()
    for resource in resources:
        resource_id, name = get_ci(resource, "id"), get_ci(resource, attribute)
        if not isinstance(resource_id, str) or not isinstance(name, str) or resource_id in seen:
            continue
        seen.add(resource_id)
        if exact is not None:
            if name.casefold() == exact.casefold():
                listing.found.append((resource_id, name))
        elif is_test_name(name):
            listing.found.append((resource_id, name))
        elif name.lower().startswith(PREFIX):
            listing.lookalikes.append((resource_id, name))
    return listing


async def find(client: HttpClient, kind: Kind, *, exact: str | None = None) -> Listing:
    """Test resources of `kind`: those named `exact`, or every one scim-doctor made.

    Asks the server's filter first (`eq` for one name, `sw "scim-doctor-"` for all), and pages
    through the whole collection when the filter is refused; the name is checked here either
    way.
    """
    attribute = NAME_ATTRIBUTE[kind]
    value = exact if exact is not None else PREFIX
    operator = "eq" if exact is not None else "sw"
    expression = f"{attribute} {operator} {json.dumps(value)}"
    resources, problem, truncated = await _walk(client, kind, expression)
    how = f"filter {expression}"
    if problem is not None and not resources:
        refused = problem
        resources, problem, truncated = await _walk(client, kind, None)
        how = f"paging through {ENDPOINTS[kind]} (the filter was refused: {refused})"
    listing = _split(resources, kind, exact)
    listing.how, listing.problem, listing.truncated = how, problem, truncated
    return listing


# --- the lifecycle's guaranteed clean-up ----------------------------------------------------


async def _confirm_gone(client: HttpClient, entry: Written) -> bool:
    if entry.id is None:
        return False
    result = await client.request("GET", resource_path(entry.kind, entry.id))
    return result.status == 404


async def _remove(client: HttpClient, entry: Written) -> bool:
    """DELETE the entry's resource; True when it is gone."""
    if entry.id is None:
        return False
    lingering = entry.state == "still_readable"
    removal = await delete(client, entry.kind, entry.id, entry.name)
    if not removal.gone:
        entry.problem = f"clean-up DELETE answered {removal.said}"
        return False
    if lingering and not await _confirm_gone(client, entry):
        entry.problem = (
            f"DELETE answered {removal.said}, but GET still finds it (the server seems to "
            "deactivate instead of deleting)"
        )
        return False
    entry.state = "deleted"
    entry.removed_by = f"clean-up: DELETE {removal.said}"
    return True


async def _look_up(client: HttpClient, entry: Written) -> None:
    """A create whose answer never came may still have happened: find it by its name."""
    listing = await find(client, entry.kind, exact=entry.name)
    if not listing.found:
        if listing.problem is not None:
            entry.problem = f"could not look it up by name: {listing.problem}"
        else:
            entry.state = "not_created"
        return
    for resource_id, _ in listing.found:
        entry.id = resource_id
        entry.state = "created"
        if not await _remove(client, entry):
            return


async def _clean_up(client: HttpClient, ledger: Ledger) -> None:
    for entry in ledger.to_clean():
        if entry.state == "pending" and entry.id is None:
            await _look_up(client, entry)
            continue
        if entry.state == "pending":
            entry.state = "created"
        await _remove(client, entry)


async def _clean_up_with_own_client(ctx: ProbeContext, ledger: Ledger, run: CleanupRun) -> None:
    from scim_doctor.net.http import HttpClient

    deadline = max(ctx.deadline_at, time.monotonic()) + run.budget_s
    own = msgspec.structs.replace(ctx, deadline_at=deadline, http=None, shared=Shared())
    client = HttpClient(own)
    try:
        await _clean_up(client, ledger)
    finally:
        run.exchanges = list(client.exchanges)
        await client.aclose()


def _clean_up_in_thread(
    ctx: ProbeContext, ledger: Ledger, run: CleanupRun, done: concurrent.futures.Future[None]
) -> None:
    started = time.monotonic()
    try:
        asyncio.run(_clean_up_with_own_client(ctx, ledger, run))
    except BaseException as exc:  # a bug here must still end the wait and be reported
        run.crashed = f"{type(exc).__name__}: {exc}"
    finally:
        run.seconds = round(time.monotonic() - started, 3)
        done.set_result(None)


async def guaranteed_clean_up(ctx: ProbeContext, ledger: Ledger) -> tuple[CleanupRun, bool]:
    """Delete everything in `ledger` not yet deleted, newest first; say if we were cancelled.

    The work runs in its own (non-daemon) thread, event loop and HTTP client, with its own
    budget of `cleanup_budget()` seconds beyond the run's deadline: cancelling the caller (the
    run's deadline, Ctrl-C) only makes it wait on, and even an interpreter shutting down waits
    for the thread. Returns the run and whether a cancellation arrived meanwhile (the caller
    re-raises it once the clean-up is done).
    """
    run = CleanupRun(budget_s=cleanup_budget(ctx.options))
    if not ledger.to_clean():
        return run, False
    done: concurrent.futures.Future[None] = concurrent.futures.Future()
    worker = threading.Thread(
        target=_clean_up_in_thread,
        args=(ctx, ledger, run, done),
        name="scim-doctor-cleanup",
        daemon=False,
    )
    worker.start()
    waiting = asyncio.wrap_future(done)
    cancelled = False
    while not waiting.done():
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:
            cancelled = True
    worker.join()
    return run, cancelled


# --- `scim-doctor cleanup` -------------------------------------------------------------------


class Leftover(Struct, frozen=True):
    kind: Kind
    id: str
    name: str


class SweepResult(Struct, frozen=True):
    """What `scim-doctor cleanup` found and did."""

    base_url: str
    dry_run: bool
    found: tuple[Leftover, ...]
    removals: tuple[Removal, ...]
    """One per found resource (none in a dry run)."""
    lookalikes: tuple[Leftover, ...]
    """Named scim-doctor-… but not in scim-doctor's own format: listed, never deleted."""
    searched: dict[str, str]
    """Per endpoint: how it was searched."""
    problems: tuple[str, ...]
    """Why the search may be incomplete."""
    exchanges: tuple[Exchange, ...] = ()

    @property
    def failed(self) -> tuple[Removal, ...]:
        return tuple(r for r in self.removals if not r.gone)

    @property
    def exit_code(self) -> int:
        """0: nothing (more) left; 1: something could not be deleted or searched."""
        return 1 if self.failed or self.problems else 0

    def to_json(self) -> dict[str, Any]:
        by_id = {(r.kind, r.id): r for r in self.removals}
        resources = []
        for item in self.found:
            row: dict[str, Any] = {"type": item.kind, "id": item.id, "name": item.name}
            removal = by_id.get((item.kind, item.id))
            if removal is not None:
                row.update(deleted=removal.gone, status=removal.status, answer=removal.said)
            resources.append(row)
        return {
            "base_url": self.base_url,
            "dry_run": self.dry_run,
            "searched": self.searched,
            "found": resources,
            "lookalikes_not_deleted": [
                {"type": i.kind, "id": i.id, "name": i.name} for i in self.lookalikes
            ],
            "problems": list(self.problems),
        }

    def render_text(self) -> str:
        lines = [f"scim-doctor cleanup {self.base_url}" + (" (dry run)" if self.dry_run else "")]
        lines += [f"  {endpoint}: searched by {how}" for endpoint, how in self.searched.items()]
        if not self.found:
            lines.append("No scim-doctor test resources found.")
        else:
            verb = "would delete" if self.dry_run else "found"
            lines.append(f"{verb} {len(self.found)} test resource(s):")
            by_id = {(r.kind, r.id): r for r in self.removals}
            for item in self.found:
                removal = by_id.get((item.kind, item.id))
                if removal is None:
                    state = "not deleted (dry run)"
                elif removal.gone:
                    state = f"deleted ({removal.said})"
                else:
                    state = f"NOT deleted: DELETE answered {removal.said}"
                lines.append(f"  {item.kind:<5} {item.name}  id {item.id}  {state}")
        for item in self.lookalikes:
            lines.append(
                f"  left alone: {item.kind} {item.name} (id {item.id}) starts with {PREFIX} but "
                "is not a name scim-doctor makes"
            )
        lines += [f"  incomplete: {problem}" for problem in self.problems]
        if self.failed:
            lines.append("Delete the resources marked NOT deleted by hand (their ids are above).")
        return "\n".join(lines) + "\n"


def _leftovers(kind: Kind, pairs: Sequence[tuple[str, str]]) -> Iterator[Leftover]:
    for resource_id, name in pairs:
        yield Leftover(kind, resource_id, name)


async def sweep(ctx: ProbeContext, *, dry_run: bool = False) -> SweepResult:
    """Find every test resource scim-doctor made on the target and (unless dry_run) delete it,
    groups first (they reference users)."""
    from scim_doctor.net.http import HttpClient

    client = HttpClient.for_context(ctx)
    found: list[Leftover] = []
    lookalikes: list[Leftover] = []
    searched: dict[str, str] = {}
    problems: list[str] = []
    for kind in ("Group", "User"):
        listing = await find(client, kind)
        searched[ENDPOINTS[kind]] = listing.how
        found += _leftovers(kind, listing.found)
        lookalikes += _leftovers(kind, listing.lookalikes)
        if listing.problem is not None:
            problems.append(f"{ENDPOINTS[kind]}: {listing.problem}")
        if listing.truncated:
            problems.append(
                f"{ENDPOINTS[kind]}: stopped after {MAX_PAGES} pages of {PAGE_SIZE}; run again"
            )
    removals: list[Removal] = []
    if not dry_run:
        for item in found:
            removals.append(await delete(client, item.kind, item.id, item.name))
    return SweepResult(
        base_url=ctx.target.base_url,
        dry_run=dry_run,
        found=tuple(found),
        removals=tuple(removals),
        lookalikes=tuple(lookalikes),
        searched=searched,
        problems=tuple(problems),
        exchanges=tuple(client.exchanges),
    )


def run(
    target: Target,
    options: Options,
    token: Secret | None,
    trust: Trust,
    *,
    dry_run: bool = False,
) -> SweepResult:
    """Synchronous entry point for the `scim-doctor cleanup` command."""
    ctx = ProbeContext(
        target=target,
        options=options,
        token=token,
        trust=trust,
        deadline_at=time.monotonic() + options.deadline,
    )

    async def main() -> SweepResult:
        try:
            return await sweep(ctx, dry_run=dry_run)
        finally:
            if ctx.http is not None:
                await ctx.http.aclose()

    return asyncio.run(main())
