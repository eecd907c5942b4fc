"""The `errors` check: does the server say "not found" and "bad filter" the SCIM way?

Two read-only requests, sent together: a user id no server can have (a fresh UUID) must give
404 with a SCIM Error whose `status` is the string "404"; a filter with an operator the grammar
does not have (`userName zz "x"`) must give 400 with scimType `invalidFilter` (RFC 7644 §3.4.2.2,
§3.12). Identity providers decide "gone", "create" or "retry" from exactly these answers.
"""

from __future__ import annotations

import asyncio
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any

from scim_doctor.checks.base import Outcome
from scim_doctor.core import findings
from scim_doctor.core.model import Finding
from scim_doctor.core.secrets import redact
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.http import HttpClient, HttpResult, common_findings
from scim_doctor.scim.discovery import judge_error
from scim_doctor.scim.validators import LIST_RESPONSE, get_ci, has_schema

INVALID_FILTER = 'userName zz "x"'
"""`zz` is no operator of RFC 7644 §3.4.2.2 (Figure 1): every server must reject it."""


def _excerpt(result: HttpResult) -> str:
    start = " ".join(result.exchange.body_excerpt[:120].split())
    return f"the body starts: {start!r}" if start else "the body is empty"


def _error_body(result: HttpResult, what: str, *, strict: bool) -> tuple[list[Finding], Any]:
    """Findings about an error response's body, and its scimType (None when not a SCIM Error)."""
    status = result.status or 0
    parsed = result.json()
    if not parsed.ok:
        kind = result.content_type or "no Content-Type"
        body = "an HTML page" if result.is_html else "a body that is not JSON"
        message = f"{what} answered {status} with {body} ({kind}); {_excerpt(result)}"
        return [findings.make("errors.not_scim_error", message)], None
    verdict = judge_error(parsed.value, status, strict=strict)
    if verdict.not_scim is not None:
        message = f"{what} answered {status} with JSON that is not a SCIM Error: {verdict.not_scim}"
        return [findings.make("errors.not_scim_error", message)], None
    found: list[Finding] = []
    if verdict.status_not_string is not None:
        message = f"{what} answered {status}: {verdict.status_not_string}"
        found.append(findings.make("errors.status_not_string", message))
    if verdict.status_invalid:
        message = f"{what} answered {status}: {'; '.join(verdict.status_invalid)}"
        found.append(findings.make("errors.status_invalid", message))
    return found, verdict.scim_type


def _what_came_back(result: HttpResult) -> str:
    """For a 2xx where an error was due: what the server returned instead."""
    parsed = result.json()
    document = parsed.value if parsed.ok else None
    if isinstance(document, Mapping):
        total = get_ci(document, "totalResults")
        if has_schema(document, LIST_RESPONSE):
            resources = get_ci(document, "Resources")
            count = len(resources) if isinstance(resources, list) else 0
            return f"a ListResponse with totalResults {total}, {count} of them in this page"
        if get_ci(document, "id") is not None:
            return f"a resource with id {str(get_ci(document, 'id'))[:80]!r}"
        return f"a JSON object ({result.content_type or 'no Content-Type'})"
    return f"{result.content_type or 'no Content-Type'}; {_excerpt(result)}"


def _judge_unknown_id(
    result: HttpResult, unknown_id: str, *, strict: bool
) -> tuple[list[Finding], dict[str, Any]]:
    what = f"GET {result.url}"
    fact: dict[str, Any] = {"url": result.url, "status": result.status, "id": unknown_id}
    fact["content_type"] = result.content_type
    status = result.status
    found = common_findings(result)
    if not result.ok or status is None or status >= 500 or status == 429:
        return found, fact
    if status == 404:
        body_findings, _ = _error_body(result, what, strict=strict)
        fact["scim_error"] = not any(f.code == "errors.not_scim_error" for f in body_findings)
        return found + body_findings, fact
    if 200 <= status < 300:
        why = f"returned {_what_came_back(result)}"
    elif 300 <= status < 400:
        why = f"redirected to {redact(result.headers.get('location') or '(no Location header)')}"
    else:
        why = _excerpt(result)
    message = (
        f"{what} answered {status} {result.reason} for the id {unknown_id}, which no resource "
        f"has (a fresh random UUID): expected 404; {why}"
    )
    return [*found, findings.make("errors.unknown_id_not_404", message)], fact


def _judge_invalid_filter(
    result: HttpResult, *, strict: bool
) -> tuple[list[Finding], dict[str, Any]]:
    what = f"GET {result.url}"
    fact: dict[str, Any] = {"url": result.url, "status": result.status, "filter": INVALID_FILTER}
    fact["content_type"] = result.content_type
    status = result.status
    # A 5xx here is this check's own finding (an unhandled parse error), not a generic one.
    found = [f for f in common_findings(result) if f.code != "http.server_error"]
    if not result.ok or status is None or status == 429:
        return found, fact
    if status == 400:
        body_findings, scim_type = _error_body(result, what, strict=strict)
        fact["scim_type"] = scim_type if isinstance(scim_type, str) else None
        is_scim = not any(f.code == "errors.not_scim_error" for f in body_findings)
        if is_scim and scim_type != "invalidFilter":
            shown = "missing" if scim_type is None else repr(scim_type)
            body_findings.append(
                findings.make(
                    "errors.invalid_filter_scim_type",
                    f"{what} (filter {INVALID_FILTER!r}) answered 400 but scimType is {shown}, "
                    "expected 'invalidFilter'",
                )
            )
        return found + body_findings, fact
    if 200 <= status < 300:
        message = (
            f"{what} answered {status} {result.reason} to the invalid filter {INVALID_FILTER!r} "
            f"('zz' is no SCIM operator) instead of 400 invalidFilter; it returned "
            f"{_what_came_back(result)}"
        )
        return [*found, findings.make("errors.invalid_filter_not_rejected", message)], fact
    message = (
        f"{what} answered {status} {result.reason} to the invalid filter {INVALID_FILTER!r}, "
        f"expected 400 with scimType invalidFilter; {_excerpt(result)}"
    )
    return [*found, findings.make("errors.invalid_filter_wrong_status", message)], fact


async def run(ctx: ProbeContext) -> Outcome:
    if ctx.token is None:
        return Outcome(skip_reason="no token given (--no-token)")
    client = HttpClient.for_context(ctx)
    unknown_id = str(uuid.uuid4())
    # %20, not '+', for spaces: some servers take '+' in a query literally.
    query = f"filter={urllib.parse.quote(INVALID_FILTER, safe='')}&count=1"
    missing, bad_filter = await asyncio.gather(
        client.request("GET", f"/Users/{unknown_id}"),
        client.request("GET", f"/Users?{query}"),
    )
    outcome = Outcome(exchanges=[missing.exchange, bad_filter.exchange])
    id_findings, id_fact = _judge_unknown_id(missing, unknown_id, strict=ctx.options.strict)
    filter_findings, filter_fact = _judge_invalid_filter(bad_filter, strict=ctx.options.strict)
    for finding in findings.merge_by_code(id_findings + filter_findings):
        outcome.add(finding)
    outcome.facts = {"unknown_id": id_fact, "invalid_filter": filter_fact}
    outcome.summary = (
        f"unknown user id: {_said(missing)}; invalid filter: {_said(bad_filter)}"
        if outcome.findings
        else "an unknown user id gives 404 and an invalid filter 400 invalidFilter, both as "
        "SCIM Errors"
    )
    return outcome


def _said(result: HttpResult) -> str:
    return str(result.status) if result.status is not None else "no response"
