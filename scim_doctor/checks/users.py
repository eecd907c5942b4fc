"""The `users` check: GET /Users the way identity providers use it, read-only.

Listing users is the first thing every IdP does with a new connection (Okta's "Test connection"
asks `startIndex=1&count=2`, Entra ID searches a random userName, Google asks `count=1`), and the
`userName eq` search runs before every create: a wrong answer here links accounts wrongly or
stops provisioning, even when the token works. Page 1 comes first; every other question is
independent of the others, so they go out together, and are judged in a fixed order so the
report reads the same every run.

The directory's people stay out of the report: userNames are masked (`j***@e***.com`) in
messages and facts, and a user is named by its id only.
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any

from msgspec import Struct, field

from scim_doctor.checks.base import Outcome
from scim_doctor.core import findings
from scim_doctor.core.model import Severity
from scim_doctor.core.pii import register_personal_data
from scim_doctor.core.secrets import redact
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.http import HttpClient, HttpResult, common_findings
from scim_doctor.scim import validators as scim

PAGE = 2
"""Page size of the first listing: Okta's "Test connection" asks `startIndex=1&count=2`."""
NO_TOKEN = "no token given (--no-token)"  # noqa: S105 - a reason, not a token
MAX_SHOWN = 4
"""Problems spelled out per finding; the rest are counted."""
_PAGING = ("totalresults", "itemsperpage", "startindex")

SUBCHECKS = (
    "list",
    "count_1",
    "start_index_2",
    "start_index_last",
    "count_0",
    "filter_userName",
    "filter_userName_case",
    "filter_no_match",
)
"""Every question the check asks, in report order (facts name them)."""


class _Listing(Struct):
    """One GET /Users answer, read as far as this check needs it."""

    label: str
    """The request as shown in messages and facts (personal values masked)."""
    result: HttpResult
    resources: list[Any] | None = None
    """The users on the page; None when the answer held no usable list."""
    total: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.result.status is not None and 200 <= self.result.status < 300

    @property
    def ids(self) -> list[Any]:
        return [scim.get_ci(r, "id") for r in self.resources or [] if isinstance(r, Mapping)]


class _Target(Struct):
    """The real user the filter questions search for."""

    user_name: str
    id: Any
    variant: str | None
    """The userName with the case of its ASCII letters swapped (None: it has none)."""

    def matches(self, resource: Any, value: str) -> bool:
        name = scim.get_ci(resource, "userName")
        if isinstance(name, str):
            return name.casefold() == value.casefold()
        return self.id is not None and scim.get_ci(resource, "id") == self.id


class _Audit(Struct):
    """What the check has seen so far; turns into the Outcome."""

    ctx: ProbeContext
    client: HttpClient
    outcome: Outcome = field(default_factory=Outcome)
    notes: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """finding code -> problem text -> where it was seen (requests or users)."""
    http: dict[str, list[str]] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)
    not_run: dict[str, str] = field(default_factory=dict)
    page_sizes: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int | None] = field(default_factory=dict)
    personal: dict[str, str] = field(default_factory=dict)
    """Personal values that may echo back in server messages -> their masked form."""
    _users_seen: set[str] = field(default_factory=set)

    # recording

    def note(self, code: str, text: str, where: str) -> None:
        seen = self.notes.setdefault(code, {}).setdefault(self.scrub(text), [])
        if where not in seen:
            seen.append(where)

    def scrub(self, text: str) -> str:
        """Mask every personal value this run handled (servers echo them in details)."""
        for value, masked in self.personal.items():
            text = re.sub(re.escape(value), masked, text, flags=re.IGNORECASE)
        return redact(text)

    async def fetch(self, query: dict[str, str]) -> HttpResult:
        path = "/Users"
        if query:
            path += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
        return await self.client.request("GET", path)

    def take(self, label: str, result: HttpResult, count: int | None) -> _Listing:
        """Record one answer (exchange, status, HTTP-level trouble) and read its list."""
        self.outcome.exchanges.append(result.exchange)
        self.statuses[label] = result.status
        for finding in common_findings(result):
            self.http.setdefault(finding.code, []).append(
                self.scrub(finding.message.replace(result.url, f"{self.ctx.target.url()}{label}"))
            )
        listing = _Listing(label, result)
        if listing.succeeded:
            self._read(listing, count)
        return listing

    def _read(self, listing: _Listing, count: int | None) -> None:
        parsed = listing.result.json()
        where = f"GET {listing.label}"
        if not parsed.ok:
            content_type = listing.result.content_type or "no Content-Type"
            text = f"the body is not JSON ({parsed.error}; {content_type})"
            self.note("users.not_list_response", text, where)
            return
        document = parsed.value
        for problem in scim.validate_list_response(
            document, count=count, strict=self.ctx.options.strict
        ):
            code = _list_code(problem)
            if code is not None:
                self.note(code, _problem_text(problem), where)
        if isinstance(document, list):
            listing.resources = document
        elif isinstance(document, Mapping):
            listing.total = scim.lenient_int(scim.get_ci(document, "totalResults"))
            resources = scim.get_ci(document, "Resources")
            if isinstance(resources, list):
                listing.resources = resources
            elif resources is None and (listing.total == 0 or count == 0):
                listing.resources = []
        if listing.resources is not None:
            self.page_sizes[listing.label] = len(listing.resources)
            self._check_users(listing)

    def _check_users(self, listing: _Listing) -> None:
        """Validate each user once, however many answers it appears in."""
        for index, resource in enumerate(listing.resources or []):
            try:
                key = json.dumps(resource, sort_keys=True, default=str)
            except (ValueError, TypeError, RecursionError):
                key = repr(id(resource))
            if key in self._users_seen or not isinstance(resource, Mapping):
                continue
            self._users_seen.add(key)
            register_personal_data(_personal_values(resource))
            user_id = scim.get_ci(resource, "id")
            who = (
                f"user {scim.safe_id(user_id)}"
                if isinstance(user_id, str) and user_id.strip()
                else f"Resources[{index}] of GET {listing.label}"
            )
            for problem in scim.validate_user(
                resource, base_url=self.ctx.target.base_url, strict=self.ctx.options.strict
            ):
                code = _user_code(problem)
                if code is not None:
                    self.note(code, _problem_text(problem), who)

    def unexpected(self, listing: _Listing) -> None:
        """A status this question has no special reading for: users.status_error (5xx and
        429 are already http.* findings)."""
        status = listing.result.status
        if status is None or listing.succeeded or status >= 500 or status == 429:
            return
        self.note("users.status_error", f"answered {_status_text(listing.result)}", listing.label)

    def skip(self, names: tuple[str, ...] | list[str], reason: str) -> None:
        for name in names:
            self.not_run.setdefault(name, reason)

    # the result

    def finish(self, summary: str | None = None) -> Outcome:
        outcome = self.outcome
        for code, problems in self.notes.items():
            outcome.add(findings.make(code, _render(problems)))
        for code, messages in self.http.items():
            outcome.add(findings.make(code, "; ".join(messages)))
        outcome.facts.update(
            {
                "statuses": self.statuses,
                "page_sizes": self.page_sizes,
                "subchecks_ran": [name for name in SUBCHECKS if name in self.ran],
                "subchecks_not_run": {n: self.not_run[n] for n in SUBCHECKS if n in self.not_run},
            }
        )
        outcome.summary = summary or self._summary()
        return outcome

    def _summary(self) -> str:
        total = self.outcome.facts.get("total_results")
        parts = [f"totalResults {total}" if total is not None else "totalResults unusable"]
        parts.append(f"{len(self.ran)} of {len(SUBCHECKS)} sub-checks ran")
        by_reason: dict[str, list[str]] = {}
        for name in SUBCHECKS:
            if name in self.not_run:
                by_reason.setdefault(self.not_run[name], []).append(name)
        parts += [f"not run: {', '.join(names)} ({reason})" for reason, names in by_reason.items()]
        worst = max((f.severity.rank for f in self.outcome.findings), default=-1)
        if worst < Severity.WARN.rank:
            parts.append("paging and userName filters behave as RFC 7644 describes")
        return "; ".join(parts)


def _list_code(problem: scim.Problem) -> str | None:
    """Which finding a ListResponse problem is."""
    if problem.severity is Severity.INFO:
        return None
    segment = re.split(r"[.\[]", problem.path[2:], maxsplit=1)[0].lower()
    if segment == "totalresults" and problem.kind == "required":
        return "users.missing_total_results"
    if segment in _PAGING and problem.kind == "type":
        return "users.paging_field_not_integer"
    if problem.severity is Severity.FAIL:
        return "users.not_list_response"
    return "users.list_response_inconsistent"


def _user_code(problem: scim.Problem) -> str | None:
    """Which finding a User problem is."""
    if problem.kind == "returned":
        return "users.password_returned"
    if problem.severity is Severity.FAIL:
        return "users.invalid_resource"
    if problem.severity is Severity.WARN:
        return "users.resource_nonconformant"
    return None


def _personal_values(user: Mapping[Any, Any]) -> list[str]:
    """The strings of a user that name a person, for the report's masking to find anywhere."""
    values = [scim.get_ci(user, a) for a in ("userName", "displayName", "nickName")]
    name = scim.get_ci(user, "name")
    values += [scim.get_ci(name, part) for part in ("formatted", "givenName", "familyName")]
    emails = scim.get_ci(user, "emails")
    values += [scim.get_ci(e, "value") for e in emails] if isinstance(emails, list) else []
    return [value for value in values if isinstance(value, str)]


def _problem_text(problem: scim.Problem) -> str:
    return problem.message if problem.path == "$" else f"{problem.message} (at {problem.path})"


def _render(problems: dict[str, list[str]]) -> str:
    """One finding message: the first MAX_SHOWN problems with where they were seen."""
    parts = []
    for text, where in list(problems.items())[:MAX_SHOWN]:
        seen = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
        parts.append(f"{text} — {seen}")
    more = len(problems) - MAX_SHOWN
    return "; ".join(parts) + (f"; and {more} more problems" if more > 0 else "")


def _status_text(result: HttpResult) -> str:
    """'404 Not Found: "No such endpoint"' from the status line and a SCIM error detail."""
    text = f"{result.status} {result.reason}".strip()
    location = result.headers.get("location")
    if location and result.status is not None and 300 <= result.status < 400:
        text += f" (Location: {redact(location)})"
    parsed = result.json()
    detail = scim.get_ci(parsed.value, "detail") if parsed.ok else None
    if isinstance(detail, str) and detail.strip():
        text += f": {json.dumps(detail.strip()[:160], ensure_ascii=False)}"
    return text


def _swap_case(value: str) -> str | None:
    """The value with its ASCII letters' case swapped (not str.swapcase: 'ß' becomes 'SS')."""
    swapped = "".join(c.swapcase() if c.isascii() and c.isalpha() else c for c in value)
    return swapped if swapped != value else None


async def run(ctx: ProbeContext) -> Outcome:
    if ctx.token is None:
        return Outcome(skip_reason=NO_TOKEN)
    audit = _Audit(ctx, HttpClient.for_context(ctx))
    first_label = f"/Users?startIndex=1&count={PAGE}"
    result = await audit.fetch({"startIndex": "1", "count": str(PAGE)})
    first = audit.take(first_label, result, PAGE)
    if not first.succeeded:
        audit.unexpected(first)
        audit.skip(SUBCHECKS, "GET /Users failed")
        if result.status is None:
            why = result.error.message if result.error else "no response"
            return audit.finish(f"GET {first_label} got no response: {why}")
        return audit.finish(f"GET {first_label} answered {_status_text(result)}")
    audit.ran.append("list")
    if first.resources is None:
        audit.skip(SUBCHECKS, "page 1 of GET /Users held no usable list of users")
        return audit.finish()
    audit.outcome.timings_ms["list"] = result.timings_ms.get("total", 0.0)
    await _after_first_page(audit, first)
    outcome = audit.finish()
    if ctx.options.deep:  # the sweep's modules load only when asked (start-up: issue 21)
        from scim_doctor.checks import deep_sweep

        await deep_sweep.sweep(ctx, outcome)
    return outcome


Plan = dict[str, tuple[str, dict[str, str], int | None]]
"""sub-check -> (label, query, count asked for)."""


async def _after_first_page(audit: _Audit, first: _Listing) -> None:
    """Plan the independent questions, ask them together, judge them in order."""
    resources = first.resources or []
    total = first.total
    audit.outcome.facts["total_results"] = total
    audit.outcome.facts["sample_user_ids"] = [scim.safe_id(i) for i in first.ids if i is not None][
        :PAGE
    ]
    if len(resources) > PAGE:
        text = f"count={PAGE} returned {len(resources)} users (never more than count)"
        audit.note("users.pagination_ignored", text, f"GET {first.label}")
    target = _pick_target(audit, resources)
    plan = _plan(audit, first, target)
    short = total is not None and len(resources) < min(PAGE, total)

    names = [name for name in SUBCHECKS if name in plan]
    requests = [audit.fetch(plan[name][1]) for name in names]
    if short:
        requests.append(audit.client.request("GET", "/ServiceProviderConfig"))
    results = await asyncio.gather(*requests)
    listings = {
        name: audit.take(plan[name][0], result, plan[name][2])
        for name, result in zip(names, results, strict=False)
    }
    audit.ran.extend(names)
    zero_based = _judge_paging(audit, first, listings)
    _judge_count_zero(audit, listings["count_0"])
    if target is not None:
        _judge_filters(audit, target, listings)
    _judge_no_match(audit, listings["filter_no_match"])
    if short and not zero_based:
        _judge_short_page(audit, first, results[-1])


def _plan(audit: _Audit, first: _Listing, target: _Target | None) -> Plan:
    """The questions this directory allows; the others are recorded as not run, with why."""
    total = first.total
    known = max(total or 0, len(first.resources or []))
    guid = str(uuid.uuid4())
    plan: Plan = {
        "count_0": ("/Users?count=0", {"count": "0"}, 0),
        "filter_no_match": (
            f'/Users?filter=userName eq "{guid}"',
            {"filter": f'userName eq "{guid}"'},
            None,
        ),
    }
    if known == 0:
        untested = [name for name in SUBCHECKS if name not in (*plan, "list")]
        if total == 0:
            reason = "the directory lists no users (totalResults 0)"
            text = f"{reason}, so {', '.join(untested)} could not run"
            audit.note("users.empty_directory", text, f"GET {first.label}")
        else:
            reason = "page 1 listed no users and totalResults is unusable"
        audit.skip(untested, reason)
        return plan
    if known >= 2:
        plan["count_1"] = ("/Users?count=1", {"count": "1"}, 1)
        plan["start_index_2"] = (
            "/Users?startIndex=2&count=1",
            {"startIndex": "2", "count": "1"},
            1,
        )
    else:
        audit.skip(("count_1", "start_index_2"), f"needs at least 2 users; totalResults {total}")
    if total is not None and total >= 1:
        query = {"startIndex": str(total), "count": "1"}
        plan["start_index_last"] = (f"/Users?startIndex={total}&count=1", query, 1)
    else:
        audit.skip(("start_index_last",), "totalResults is missing or not a number")
    if target is None:
        audit.skip(("filter_userName", "filter_userName_case"), "no user on page 1 has a userName")
        return plan
    plan["filter_userName"] = _filter(target.user_name, audit.personal)
    if target.variant is None:
        audit.skip(("filter_userName_case",), "the userName has no letters to change")
    else:
        plan["filter_userName_case"] = _filter(target.variant, audit.personal)
    return plan


def _pick_target(audit: _Audit, resources: list[Any]) -> _Target | None:
    for resource in resources:
        name = scim.get_ci(resource, "userName")
        if isinstance(name, str) and name.strip():
            variant = _swap_case(name)
            audit.personal[name] = scim.mask(name)
            if variant is not None:
                audit.personal[variant] = scim.mask(variant)
            return _Target(name, scim.get_ci(resource, "id"), variant)
    return None


def _filter(value: str, personal: dict[str, str]) -> tuple[str, dict[str, str], int | None]:
    """(label with the value masked, query, count) of a `userName eq` search."""
    quoted = json.dumps(value, ensure_ascii=False)
    label = f'/Users?filter=userName eq "{personal.get(value, scim.mask(value))}"'
    return label, {"filter": f"userName eq {quoted}"}, None


def _judge_paging(audit: _Audit, first: _Listing, listings: dict[str, _Listing]) -> bool:
    """count honoured, startIndex=2 the next user, the last startIndex a user; True when the
    answers show a 0-based startIndex."""
    first_ids = first.ids
    for name in ("count_1", "start_index_2", "start_index_last"):
        listing = listings.get(name)
        if listing is None:
            continue
        if not listing.succeeded:
            audit.unexpected(listing)
        elif listing.resources is not None and len(listing.resources) > 1:
            text = f"count=1 returned {len(listing.resources)} users (never more than count)"
            audit.note("users.pagination_ignored", text, f"GET {listing.label}")
    second = listings.get("start_index_2")
    if second is not None and second.ids and first_ids:
        again = second.ids[0] == first_ids[0]
        if again and (len(first_ids) < 2 or first_ids[1] != first_ids[0]):
            text = (
                f"startIndex=2 returned the first user again (id {scim.safe_id(first_ids[0])}): "
                "startIndex is ignored"
            )
            audit.note("users.pagination_ignored", text, f"GET {second.label}")
    last = listings.get("start_index_last")
    if last is None or last.resources is None or last.resources or not first.total:
        return False
    text = (
        f"startIndex={first.total} (the last of totalResults {first.total}) returned no user: "
        "startIndex is counted from 0, so startIndex=1 skips the first user — or totalResults "
        "counts users that cannot be listed"
    )
    default = listings.get("count_1")
    if default is not None and default.ids and default.ids[0] not in first_ids:
        text += (
            f"; without startIndex the list starts with user {scim.safe_id(default.ids[0])}, "
            "which startIndex=1 skipped"
        )
    audit.note("users.zero_based_start_index", text, f"GET {last.label}")
    return True


def _judge_count_zero(audit: _Audit, listing: _Listing) -> None:
    status = listing.result.status
    if status is not None and 400 <= status < 500 and status not in (401, 403, 429):
        text = f"answered {_status_text(listing.result)} instead of totalResults only"
        audit.note("users.count_zero_ignored", text, f"GET {listing.label}")
    elif not listing.succeeded:
        audit.unexpected(listing)
    elif listing.resources:
        text = f"returned {len(listing.resources)} users instead of totalResults only"
        audit.note("users.count_zero_ignored", text, f"GET {listing.label}")


def _judge_filters(audit: _Audit, target: _Target, listings: dict[str, _Listing]) -> None:
    exact = listings["filter_userName"]
    where = f"GET {exact.label}"
    unsupported = exact.result.status in (400, 501)
    if unsupported:
        text = f"answered {_status_text(exact.result)} to a userName eq search"
        audit.note("users.filter_unsupported", text, where)
    elif exact.result.status == 404:
        text = f"answered {_status_text(exact.result)} although user {_who(target)} exists"
        audit.note("users.filter_misses_user", text, where)
    elif _misses(audit, target, exact, target.user_name):
        text = (
            f"found no user (totalResults {exact.total}) although user {_who(target)} "
            "has that userName"
        )
        audit.note("users.filter_misses_user", text, where)
    variant = listings.get("filter_userName_case")
    if variant is None or target.variant is None or unsupported:
        return
    where = f"GET {variant.label}"
    if variant.result.status in (400, 404, 501):
        text = (
            f"answered {_status_text(variant.result)} for user {_who(target)}'s userName in "
            "other letter case"
        )
        audit.note("users.filter_case_sensitive", text, where)
    elif _misses(audit, target, variant, target.variant):
        text = (
            f"found no user (totalResults {variant.total}) for user {_who(target)}'s "
            "userName in other letter case"
        )
        audit.note("users.filter_case_sensitive", text, where)


def _misses(audit: _Audit, target: _Target, listing: _Listing, value: str) -> bool:
    """Whether a userName search answered without the user it looked for: both searches (exact,
    other letter case) judge their answer so; an unexpected answer or other users are noted
    here, so the caller only words the miss."""
    if not listing.succeeded:
        audit.unexpected(listing)
        return False
    if listing.resources is None or _ignored(audit, target, listing, value):
        return False
    return not any(target.matches(r, value) for r in listing.resources)


def _who(target: _Target) -> str:
    return scim.safe_id(target.id) if target.id is not None else "(without id)"


def _ignored(audit: _Audit, target: _Target, listing: _Listing, value: str) -> bool:
    """Note and say whether the search returned users with another userName."""
    others = [r for r in listing.resources or [] if not target.matches(r, value)]
    if not others:
        return False
    ids = ", ".join(scim.safe_id(scim.get_ci(r, "id")) for r in others[:3])
    text = (
        f"returned {len(listing.resources or [])} users, {len(others)} with another userName "
        f"(ids {ids})"
    )
    audit.note("users.filter_ignored", text, f"GET {listing.label}")
    return True


def _judge_no_match(audit: _Audit, listing: _Listing) -> None:
    where = f"GET {listing.label}"
    status = listing.result.status
    if status == 404:
        text = f"answered {_status_text(listing.result)} to a search that matches nobody"
        audit.note("users.empty_filter_404", text, where)
    elif status in (400, 501):
        text = f"answered {_status_text(listing.result)} to a userName eq search"
        audit.note("users.filter_unsupported", text, where)
    elif not listing.succeeded:
        audit.unexpected(listing)
    elif listing.resources:
        ids = ", ".join(scim.safe_id(i) for i in listing.ids[:3])
        text = (
            f"returned {len(listing.resources)} users (ids {ids}) for a random userName no user has"
        )
        audit.note("users.filter_ignored", text, where)
    elif listing.total:
        text = f"totalResults is {listing.total} for a random userName no user has"
        audit.note("users.list_response_inconsistent", text, where)


def _judge_short_page(audit: _Audit, first: _Listing, config: HttpResult) -> None:
    """Fewer than count while more remain: legal under a declared smaller maxResults."""
    audit.outcome.exchanges.append(config.exchange)
    parsed = config.json() if config.ok and config.status == 200 else None
    limit = scim.max_results(parsed.value) if parsed is not None and parsed.ok else None
    audit.outcome.facts["max_results"] = limit
    held = len(first.resources or [])
    if limit is not None and limit < PAGE:
        audit.outcome.facts["page_size_limit"] = (
            f"pages hold at most {limit} users, as ServiceProviderConfig declares"
        )
        return
    declared = (
        f"declares filter.maxResults {limit}"
        if limit is not None
        else "declares no filter.maxResults"
        if parsed is not None
        else f"could not be read ({config.status or 'no response'})"
    )
    text = (
        f"count={PAGE} returned {held} of totalResults {first.total} users, and "
        f"ServiceProviderConfig {declared}"
    )
    audit.note("users.short_page", text, f"GET {first.label}")
