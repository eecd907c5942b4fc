"""The deep sweep (`--deep`): every page of /Users read, every user validated, read-only.

Identity providers import a whole directory by paging through /Users; what breaks there rarely
shows on page 1: two users sharing an id or a userName far apart, a totalResults that moves or
promises users no page holds, an order that changes between requests so some users come twice
and others never, a page deep in the table that times out. The sweep reads the directory the
way an import does and reports those.

How: the page size is the server's (filter.maxResults from discovery or ServiceProviderConfig,
else what page 1 held, else 100). Page 1 comes first, for totalResults; the other pages then go
out concurrently, PAGES_IN_FLIGHT at a time. Every body is streamed
(`HttpClient.stream`) and parsed as it arrives (`stream_json`), so memory stays flat whatever
the page size: one page of 100,000 users or 1,000 pages of 100. Users are tallied in a few
bytes each (`deep_tally`). At the end page 1 is asked for again: an answer with other users or
another order means the order is not stable. A progress line goes to stderr on a terminal.

Runs as part of the `users` check (`users.run` calls `sweep` last); its findings are
`users.deep_*`, its facts `facts["deep"]`.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any, Final, TextIO

from msgspec import Struct, field

from scim_doctor.checks.base import Outcome
from scim_doctor.core import findings
from scim_doctor.core.model import Exchange
from scim_doctor.net.body import BODY_MEMORY
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.http import HttpClient, HttpResult, HttpStream
from scim_doctor.net.stream_json import (
    ListStream,
    StreamError,
    WholeList,
    first_item,
    read_typed,
    read_whole,
)
from scim_doctor.scim import validators as scim
from scim_doctor.scim.deep_tally import MAX_EXAMPLES, Seen, Tally, UserValidator

DEFAULT_PAGE: Final = 100
"""Page size when the server declares none and page 1 gives no hint (Okta's count)."""
PAGES_IN_FLIGHT: Final = 6
"""Pages asked for at once. An import reads one page at a time; six in flight (what a browser
opens per host) sweeps a far-away directory up to six times quicker and keeps one slow page
deep in the table from stalling the rest, while staying gentle on a server whose /Users is
often its most expensive query. Its own number, not the pool's: it must stay below
http_transport.POOL_CONNECTIONS (16) so that pages never wait for a connection and the checks
running alongside `users` still find one free."""
PAGE_LIMIT: Final = 4 * 1024**3
"""Decoded bytes one page may stream (a page is never held, so this only stops a bomb)."""
READERS: Final = 3
"""Pages of the PAGES_IN_FLIGHT whose bodies are read at once. The others' requests are out and
their answers arrive into the kernel's socket buffers (TCP holds the server back when they are
full), so they are read at once when their turn comes, while held pages (WHOLE_PAGE each) stay
few: 3 instead of 6 cut the sweep's peak RSS by about 2 MiB, at the same speed."""
WHOLE_PAGE: Final = 1024 * 1024
"""Decoded bytes of a page held whole and parsed in one call (`read_whole`, about twice as
fast as streaming it); a larger page is streamed. Held from the process's body budget
(`BODY_MEMORY`), so PAGES_IN_FLIGHT pages hold at most 6 MiB, and one page's users as objects
(some 4 times its bytes) exist at a time."""
REFETCH: Final = 100
"""Users of page 1 compared when it is asked for again."""
MAX_PAGES: Final = 100_000
MAX_FAILED_PAGES: Final = 10
"""Failed pages after which the sweep stops asking (the server is down, or rate-limits)."""
RATE_LIMIT_RETRIES: Final = 3
MAX_RETRY_WAIT: Final = 5.0
SHOWN_EXCHANGES: Final = 4
"""Page exchanges kept in the report besides failed ones (a sweep may make thousands)."""
MAX_SHOWN: Final = 4


class Page(Struct):
    """One GET /Users page of the sweep, as far as it was read."""

    start: int
    count: int | None
    users: int = 0
    total: int | None = None
    """Its totalResults (None: missing or not a number)."""
    total_raw: Any = None
    failure: str | None = None
    """Why the page could not be read (status, network, JSON), None when it was."""
    result: HttpResult | None = None
    ids: list[str] | None = None
    """The first REFETCH ids, kept for page 1 and its second reading only."""
    received: int = 0
    """Decoded body bytes."""
    retries: int = 0
    again: bool = False
    """Page 1 asked for again, to compare (its users are not tallied twice)."""

    @property
    def where(self) -> str:
        return "page 1 asked for again" if self.again else f"page at startIndex {self.start}"

    @property
    def label(self) -> str:
        count = "" if self.count is None else f"&count={self.count}"
        return f"/Users?startIndex={self.start}{count}"


class _Pages(Struct):
    """What the sweep keeps of its pages: counts and the few worth naming, never all of them
    (a sweep may read 100,000 pages)."""

    walked: int = 0
    """Pages of the walk read (page 1 asked for again not counted)."""
    users: int = 0
    """Users those pages held."""
    failed: list[Page] = field(default_factory=list)
    odd: list[Page] = field(default_factory=list)
    """The first pages that held more, or (before the last page) fewer, users than asked."""
    requests: int = 0
    retries: int = 0
    peak_bytes: int = 0
    bytes: int = 0

    def add(self, page: Page, expected_total: int | None) -> None:
        self.requests += 1
        self.retries += page.retries
        self.peak_bytes = max(self.peak_bytes, page.received)
        self.bytes += page.received
        if page.failure is not None:
            self.failed.append(page)
        if page.again:
            return
        self.walked += 1
        self.users += page.users
        count = page.count
        if count is None or page.failure is not None or len(self.odd) >= MAX_SHOWN:
            return
        last = expected_total is not None and page.start + count > expected_total
        if page.users > count or (page.users < count and not last):
            self.odd.append(page)


class _Sweep(Struct):
    ctx: ProbeContext
    client: HttpClient
    tally: Tally
    progress: Progress
    pages: _Pages = field(default_factory=_Pages)
    first_total: int | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    omitted: int = 0
    stopped: str | None = None
    """Why the sweep ended before the last page (deadline, failures, no progress)."""
    totals: dict[int, str] = field(default_factory=dict)
    reading: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(READERS))
    """Pages whose bodies are read at once (the others wait in the kernel's socket buffers)."""
    """Each distinct totalResults -> the first page that said it."""

    # fetching

    async def fetch(
        self, start: int, count: int | None, *, keep_ids: bool = False, again: bool = False
    ) -> Page:
        """One page, streamed and tallied (unless it is page 1 `again`); retried after 429
        within the run's deadline."""
        page = Page(start, count, again=again)
        query = {"startIndex": str(start)}
        if count is not None:
            query["count"] = str(count)
        path = "/Users?" + urllib.parse.urlencode(query)
        while True:
            page.ids = [] if keep_ids else None
            stream = self.client.stream("GET", path, limit=PAGE_LIMIT, record=False)
            async with stream as response:
                if response.status == 200:
                    async with self.reading:
                        await self._read(response, page, tally=not again)
            page.result = result = response.result
            if result is None:  # pragma: no cover - the stream always records a result
                raise RuntimeError("the HTTP layer returned no result")
            wait = self._retry_wait(result, page)
            if wait is None:
                break
            page.retries += 1
            await asyncio.sleep(wait)
        if page.failure is None:
            page.failure = _failure(result)
        self.pages.add(page, page.total if self.first_total is None else self.first_total)
        self._keep_exchange(page)
        if page.failure is None:
            page.result = None  # a sweep may read 100,000 pages: keep what is needed only
        if page.total is not None and page.failure is None:
            self.totals.setdefault(page.total, page.where)
        return page

    async def _read(self, response: HttpStream, page: Page, *, tally: bool) -> None:
        """Read one page: held whole and parsed in one call while it fits in WHOLE_PAGE (and
        the process's body budget), streamed through `ListStream` past that (or when the
        whole reading cannot tell what ListStream would, `read_whole`)."""
        held: list[bytes] = []
        size = granted = 0
        parser: ListStream | None = None
        try:
            async for piece in response.chunks():
                if parser is None:
                    if size + len(piece) <= WHOLE_PAGE:
                        more = BODY_MEMORY.take(len(piece))
                        granted += more
                        if more == len(piece):
                            held.append(piece)
                            size += len(piece)
                            continue
                    parser = ListStream()
                    self._feed(parser, b"".join(held), page, tally=tally)
                    held = []
                self._feed(parser, piece, page, tally=tally)
            if response.complete:
                if parser is None:
                    body = b"".join(held)
                    held = []
                    if self._typed(body, page, tally=tally):
                        return
                    whole = read_whole(body)
                    if whole is not None:
                        self._take(whole, page, tally=tally)
                        return
                    parser = ListStream()
                    self._feed(parser, body, page, tally=tally)
                self._feed(parser, b"", page, tally=tally, close=True)
        except StreamError as error:
            page.failure = f"the body is not a readable ListResponse: {error.message}"
            return
        finally:
            BODY_MEMORY.give_back(granted)
            page.received = response.received
        if parser is None:  # cut short (an error, the budget): what arrived, as ListStream
            parser = ListStream()
            try:
                self._feed(parser, b"".join(held), page, tally=tally)
            except StreamError as error:
                page.failure = f"the body is not a readable ListResponse: {error.message}"
                return
        self._finish(parser.head, parser.shape, response, page)

    def _feed(
        self, parser: ListStream, data: bytes, page: Page, *, tally: bool, close: bool = False
    ) -> None:
        """Feed `data` (or the end, `close`) to `parser`; tally the users it completes."""
        users = parser.close() if close else list(parser.feed(data))
        if users:
            self._users(users, page, tally=tally)

    def _typed(self, body: bytes, page: Page, *, tally: bool) -> bool:
        """The page read by the decoder of the sweep's known shape of user (`Tally.typed`),
        when there is one and every user of the page has that shape; False otherwise (nothing
        tallied: the page is then read as any other)."""
        typed = self.tally.typed
        if typed is None and tally:
            typed = self.tally.template_from(first_item(body))
        if typed is None:
            return False
        whole = read_typed(body, typed.decoder)
        if whole is None:
            return False
        users = whole.items
        if tally and not self.tally.add_typed(users, typed, page.where):
            return False
        page.users += len(users)
        if page.ids is not None:
            page.ids.extend(map(typed.id_of, users[:REFETCH]))
        if tally:
            self.progress.show(self.tally.users)
        self._finish(whole.head, whole.shape, None, page)
        return True

    def _take(self, whole: WholeList, page: Page, *, tally: bool) -> None:
        self._users(whole.items, page, tally=tally)
        page.total_raw = scim.get_ci(whole.head, "totalResults")
        page.total = scim.lenient_int(page.total_raw)
        if whole.shape == "array":
            page.failure = "the body is a bare JSON array, not a ListResponse"

    def _users(self, users: list[Any], page: Page, *, tally: bool) -> None:
        page.users += len(users)
        ids = page.ids
        if ids is not None and len(ids) < REFETCH:
            for user in users[: REFETCH - len(ids)]:
                found = scim.get_ci(user, "id")
                ids.append(found if isinstance(found, str) else repr(found))
        if tally:
            self.tally.add_page(users, page.where)
            self.progress.show(self.tally.users)

    def _finish(
        self, head: dict[str, Any], shape: str | None, response: HttpStream | None, page: Page
    ) -> None:
        if response is not None and response.too_large:
            page.failure = f"the page is larger than {PAGE_LIMIT:,} bytes; the sweep stopped there"
        page.total_raw = scim.get_ci(head, "totalResults")
        page.total = scim.lenient_int(page.total_raw)
        if shape == "array":
            page.failure = "the body is a bare JSON array, not a ListResponse"

    def _retry_wait(self, result: HttpResult, page: Page) -> float | None:
        """Seconds to wait before asking again after a 429, None when not to ask again."""
        if result.status != 429 or page.retries >= RATE_LIMIT_RETRIES:
            return None
        wait = min(result.retry_after if result.retry_after is not None else 1.0, MAX_RETRY_WAIT)
        return wait if wait < self.ctx.remaining() - self.reserve else None

    @property
    def reserve(self) -> float:
        """Seconds of the run's deadline left for the checks after this one."""
        options = self.ctx.options
        return min(options.timeout, options.deadline / 5)

    def _keep_exchange(self, page: Page) -> None:
        if page.result is None:
            return
        if page.failure is not None or len(self.exchanges) < SHOWN_EXCHANGES:
            self.exchanges.append(page.result.exchange)
        else:
            self.omitted += 1

    # the walk

    async def walk(self, page_size: int | None) -> Page:
        """Page 1, then every other page; returns page 1."""
        first = await self.fetch(1, page_size, keep_ids=True)
        self.progress.total = self.first_total = first.total
        if first.total is not None and first.total > 0:
            self.tally.reserve(first.total)
        if first.failure is not None:
            return first
        size = _size(first, page_size)
        if first.total is None:
            await self._sequential(first, size)
        elif first.users < first.total and first.users > 0:
            starts = range(1 + size, first.total + 1, size)
            await self._concurrent(iter(starts[: MAX_PAGES - 1]), size)
            if len(starts) > MAX_PAGES - 1:
                self.stopped = f"the sweep reads at most {MAX_PAGES:,} pages"
        return first

    async def _concurrent(self, starts: Iterator[int], size: int) -> None:
        async def worker() -> None:
            for start in starts:
                if self._should_stop():
                    return
                await self.fetch(start, size)

        await asyncio.gather(*(worker() for _ in range(PAGES_IN_FLIGHT)))

    async def _sequential(self, first: Page, size: int) -> None:
        """Without totalResults: page on until a short or empty page (or no new users)."""
        page, start = first, 1
        for _ in range(MAX_PAGES - 1):
            if page.failure is not None or page.users < size or self._should_stop():
                return
            start += page.users
            seen = self.tally.users - self.tally.repeated.count
            page = await self.fetch(start, size)
            if page.users and self.tally.users - self.tally.repeated.count == seen:
                self.stopped = (
                    f"the {page.where} listed only users already seen: paging does not advance"
                )
                return
        self.stopped = f"the sweep reads at most {MAX_PAGES:,} pages"

    def _should_stop(self) -> bool:
        if self.stopped is not None:
            return True
        failed = len(self.pages.failed)
        if failed >= MAX_FAILED_PAGES:
            self.stopped = f"{failed} pages failed"
        elif self.ctx.remaining() < self.reserve + 0.5:
            self.stopped = (
                f"the run's --deadline ({self.ctx.options.deadline:g} s) was near; the remaining "
                "checks need the rest"
            )
        return self.stopped is not None


class Progress:
    """`/Users --deep: 45,200 of 100,000 users (45%)` on one rewritten stderr line, on a
    terminal only (nothing on a pipe), at most ten times a second."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self.total: int | None = None
        self._shown = 0.0
        self._started = time.monotonic()

    def show(self, users: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._shown < 0.1:
            return
        self._shown = now
        rate = users / max(now - self._started, 1e-6)
        of = f" of {self.total:,}" if self.total else ""
        share = f" ({min(users / self.total, 1.0):.0%})" if self.total else ""
        self.stream.write(f"\r\x1b[K/Users --deep: {users:,}{of} users{share}, {rate:,.0f}/s")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


async def sweep(ctx: ProbeContext, outcome: Outcome, *, progress: Progress | None = None) -> None:
    """Walk every page of /Users; add `users.deep_*` findings and `facts["deep"]` to `outcome`."""
    client = HttpClient.for_context(ctx)
    started, cpu_started = time.perf_counter(), time.process_time()
    validator = UserValidator(ctx.target.base_url, ctx.options.strict)
    run = _Sweep(ctx, client, Tally(validator), progress or Progress())
    try:
        page_size = await _page_size(run, outcome)
        first = await run.walk(page_size)
        again = None
        if first.failure is None and first.users:
            size = min(_size(first, page_size), REFETCH)
            again = await run.fetch(1, size, keep_ids=True, again=True)
    finally:
        run.progress.close()
    seconds = time.perf_counter() - started
    outcome.exchanges.extend(run.exchanges)
    _judge(run, first, again, outcome)
    tally, pages = run.tally, run.pages
    outcome.facts["deep"] = {
        "users_seen": tally.users,
        "total_results": first.total,
        "pages": pages.walked,
        "page_size": _size(first, page_size),
        "complete": run.stopped is None and not pages.failed,
        "stopped": run.stopped,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(time.process_time() - cpu_started, 3),
        "users_per_second": round(tally.users / seconds) if seconds > 0 else None,
        "duplicate_ids": tally.duplicate_ids.count,
        "duplicate_user_names": tally.duplicate_names.count,
        "listed_again": tally.repeated.count,
        "users_with_problems": dict(sorted(tally.problem_users.items())),
        "validations": validator.validations,
        "failed_pages": len(pages.failed),
        "rate_limit_retries": pages.retries,
        "peak_page_bytes": pages.peak_bytes,
        "body_bytes": pages.bytes,
        "tracking_bytes": tally.nbytes,
        "exchanges_omitted": run.omitted,
    }
    outcome.timings_ms["deep"] = round(seconds * 1000, 1)
    walked = "1 page" if pages.walked == 1 else f"{pages.walked:,} pages"
    outcome.summary += (
        f"; deep sweep: {tally.users:,} users in {walked}, "
        f"{tally.users / seconds if seconds > 0 else 0:,.0f} users/s"
    )


def _size(first: Page, page_size: int | None) -> int:
    """The page size the sweep used."""
    return first.users if first.users > 0 else (page_size or DEFAULT_PAGE)


async def _page_size(run: _Sweep, outcome: Outcome) -> int | None:
    """filter.maxResults, from discovery or the users check if they read it, else asked."""
    declared = run.ctx.shared.extra.get("discovery", {})
    for value in (declared.get("max_results"), outcome.facts.get("max_results")):
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    result = await run.client.request("GET", "/ServiceProviderConfig")
    run.exchanges.append(result.exchange)
    parsed = result.json() if result.status == 200 else None
    limit = scim.max_results(parsed.value) if parsed is not None and parsed.ok else None
    return limit if limit else None


def _failure(result: HttpResult) -> str | None:
    if result.error is not None:
        return result.error.message
    if result.status != 200:
        text = f"answered {result.status} {result.reason}".strip()
        parsed = result.json()
        detail = scim.get_ci(parsed.value, "detail") if parsed.ok else None
        if isinstance(detail, str) and detail.strip():
            text += f": {detail.strip()[:160]!r}"
        return text
    return None


# --- judging -------------------------------------------------------------------------------


def _judge(run: _Sweep, first: Page, again: Page | None, outcome: Outcome) -> None:
    tally = run.tally
    add = outcome.add
    failed = run.pages.failed
    if failed:
        shown = "; ".join(f"{p.label}: {p.failure}" for p in failed[:MAX_SHOWN])
        more = f"; and {len(failed) - MAX_SHOWN} more" if len(failed) > MAX_SHOWN else ""
        add(findings.make("users.deep_page_failed", f"{len(failed)} of {run.pages.requests} "
                          f"requests failed: {shown}{more}"))  # fmt: skip
    for code in ("users.deep_invalid_users", "users.deep_nonconformant_users"):
        if code in tally.problems:
            users = tally.problem_users[code]
            text = _problems(tally.problems[code])
            add(findings.make(code, f"{users:,} of {tally.users:,} users: {text}"))
    if tally.duplicate_ids.count:
        add(findings.make("users.deep_duplicate_id", _seen(
            tally.duplicate_ids, "user listed with an id an earlier user (another userName) has",
            "users listed with ids earlier users (with other userNames) have",
        )))  # fmt: skip
    if tally.duplicate_names.count:
        add(findings.make("users.deep_duplicate_user_name", _seen(
            tally.duplicate_names,
            "user has the userName of an earlier user with another id (compared ignoring case)",
            "users have the userName of earlier users with other ids (compared ignoring case)",
        )))  # fmt: skip
    _judge_order(run, first, again, outcome)
    _judge_totals(run, first, outcome)
    if run.stopped is not None:
        read = f"{tally.users:,} users" + (
            f" of totalResults {first.total:,}" if first.total else ""
        )
        add(findings.make("users.deep_incomplete", f"stopped after {read}: {run.stopped}"))


def _judge_order(run: _Sweep, first: Page, again: Page | None, outcome: Outcome) -> None:
    problems: list[str] = []
    repeated = run.tally.repeated
    if repeated.count:
        problems.append(
            f"{repeated.count:,} users were listed twice: "
            + ", ".join(repeated.examples)
            + (" and more" if repeated.count > len(repeated.examples) else "")
        )
    before = first.ids or []
    after = again.ids or [] if again is not None and again.failure is None else []
    if first.failure is None and before and after:
        shared = min(len(before), len(after))
        position = next(
            (i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b), None
        )
        if position is not None and position < shared:
            problems.append(
                f"page 1 asked for again listed other users: at position {position + 1} user "
                f"{scim.safe_id(before[position])} the first time, user "
                f"{scim.safe_id(after[position])} the second"
            )
    if problems:
        outcome.add(findings.make("users.deep_unstable_order", "; ".join(problems)))


def _judge_totals(run: _Sweep, first: Page, outcome: Outcome) -> None:
    if len(run.totals) > 1:
        seen = ", ".join(f"{total:,} ({where})" for total, where in list(run.totals.items())[:6])
        outcome.add(findings.make("users.deep_total_changed", f"totalResults was {seen}"))
    total, pages = first.total, run.pages
    if total is None or run.stopped is not None or pages.failed or pages.users == total:
        return
    odd = sorted(pages.odd, key=lambda page: page.start)
    detail = "; ".join(f"the {p.where} held {p.users:,}, not {p.count:,}" for p in odd)
    walked = "1 page" if pages.walked == 1 else f"{pages.walked:,} pages"
    text = f"totalResults is {total:,} but the {walked} held {pages.users:,} users" + (
        f" ({detail})" if detail else ""
    )
    outcome.add(findings.make("users.deep_total_mismatch", text))


def _seen(seen: Seen, one: str, many: str) -> str:
    what = one if seen.count == 1 else many
    more = (
        f" and {seen.count - len(seen.examples):,} more" if seen.count > len(seen.examples) else ""
    )
    return f"{seen.count:,} {what}: {', '.join(seen.examples)}{more}"


def _problems(problems: dict[str, Seen]) -> str:
    parts = []
    for text, seen in itertools.islice(problems.items(), MAX_SHOWN):
        more = f" and {seen.count - MAX_EXAMPLES:,} more" if seen.count > MAX_EXAMPLES else ""
        users = "1 user" if seen.count == 1 else f"{seen.count:,} users"
        parts.append(f"{text} — {users} ({', '.join(seen.examples)}{more})")
    rest = len(problems) - MAX_SHOWN
    return "; ".join(parts) + (f"; and {rest} more problems" if rest > 0 else "")
