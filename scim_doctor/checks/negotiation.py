"""The `negotiation` check: does the API answer SCIM's media type, and is what it sends JSON?

One small listing (`GET /Users?startIndex=1&count=1`) is asked for three ways at once: with
`Accept: application/scim+json` (what Entra ID and Okta send; RFC 7644 §3.8 MUST), with
`Accept: application/json` (SHOULD) and with no Accept header (defaults to SCIM JSON). Each
answer is judged on its status, its Content-Type, its character set and what its body really
is; when the body is not JSON, `body_sniff` names what answered instead (an SPA catch-all, a
login page, a WAF block page, XML...), because "invalid JSON at byte 0" sends nobody anywhere.

What the ListResponse contains is the `users` check's business; this one stops at "a JSON
document, labelled as one, in UTF-8".
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import Sequence
from typing import Any

from msgspec import Struct

from scim_doctor.checks.base import Outcome
from scim_doctor.core import findings
from scim_doctor.core.model import Finding
from scim_doctor.core.patterns import LazyPattern
from scim_doctor.core.secrets import redact
from scim_doctor.net.body import (
    charset_of,
    charset_problem,
    is_json,
    media_type,
    parse_json,
)
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.http import SCIM_JSON, HttpClient, HttpResult, common_findings
from scim_doctor.net.sniff import Page, Sniffed, legacy_reading, preview, sniff

PATH = "/Users?startIndex=1&count=1"
_JSON = "application/json"
_SHOWN = 60
"""Characters of a body quoted in a finding."""
_JSON_ERROR_AT = LazyPattern(r"at byte (\d+)")  # a parse error message only


class Variant(Struct, frozen=True):
    """One way of asking: the Accept header sent, and the code for refusing it."""

    accept: str | None
    label: str
    short: str
    tag: str
    """The shortest name, for the one-line summary."""
    rejected_code: str


VARIANTS: tuple[Variant, ...] = (
    Variant(
        SCIM_JSON, f"Accept: {SCIM_JSON}", SCIM_JSON, "scim+json", "negotiation.scim_json_rejected"
    ),
    Variant(_JSON, f"Accept: {_JSON}", _JSON, "json", "negotiation.json_rejected"),
    Variant(None, "no Accept header", "no Accept", "no Accept", "negotiation.no_accept_rejected"),
)


class _Issue(Struct, frozen=True):
    """One problem with one answer; identical issues of several variants become one finding."""

    code: str
    detail: str
    remediation: str | None = None


async def run(ctx: ProbeContext) -> Outcome:
    if ctx.token is None:
        return Outcome(skip_reason="no token given (--no-token)")
    client = HttpClient.for_context(ctx)
    results = await asyncio.gather(
        *(client.request("GET", PATH, accept=variant.accept) for variant in VARIANTS)
    )
    outcome = Outcome()
    outcome.exchanges.extend(result.exchange for result in results)
    pairs = list(zip(VARIANTS, results, strict=True))
    if not any(result.sent for result in results):
        error = results[0].error
        outcome.skip_reason = error.message if error is not None else "no request was sent"
        return outcome

    outcome.findings.extend(_merge_http([(v, f) for v, r in pairs for f in common_findings(r)]))
    issues = [(variant, issue) for variant, result in pairs for issue in _judge(variant, result)]
    outcome.findings.extend(_merge(issues, results[0].url))
    outcome.facts = {
        "path": PATH,
        "responses": [_facts(variant, result) for variant, result in pairs],
    }
    totals = [r.timings_ms["total"] for r in results if "total" in r.timings_ms]
    if totals:
        outcome.timings_ms = {"total": max(totals)}
    outcome.summary = _summary(pairs)
    return outcome


# --- judging one answer ---------------------------------------------------------------------


def _judge(variant: Variant, result: HttpResult) -> list[_Issue]:
    status = result.status
    if result.error is not None or status is None:
        return []  # no usable answer: common_findings names it (http.timeout, ...)
    sniffed = sniff(result.body, result.content_type, result.headers, status)
    if status in (406, 415):
        said = _server_says(result, sniffed)
        page = sniffed.page
        # ModSecurity and other WAFs deny with 406 too: then the WAF, not the API, is the fix.
        fix = _page_fix(page) if page is not None and page.kind == "block" else None
        return [_Issue(variant.rejected_code, f"answered {status} {result.reason}{said}", fix)]
    if status == 429 or status >= 500:
        return []  # http.rate_limited / http.server_error
    if sniffed.kind == "html" and sniffed.page is not None:
        return [_html(result, sniffed, sniffed.page)]
    if status != 200:
        return [_unexpected(result, sniffed)]
    return _judge_body(variant, result, sniffed)


def _judge_body(variant: Variant, result: HttpResult, sniffed: Sniffed) -> list[_Issue]:
    """A 200 that is not HTML: is it complete JSON, in UTF-8, labelled as JSON?"""
    status_line = f"answered 200 with Content-Type {_shown_type(result)}"
    # A SCIM body is an object: text that does not start with "{" is no JSON, even cut short.
    if sniffed.kind in ("empty", "xml", "binary") or (result.too_large and sniffed.kind == "text"):
        cut = " (only the first --max-body bytes were read)" if result.too_large else ""
        start = "" if sniffed.kind == "empty" else f"; it starts {preview(result.body, _SHOWN)}"
        what = "empty" if sniffed.kind == "empty" else sniffed.describe()
        detail = f"{status_line}: the body is {what}, not JSON{cut}{start}"
        return [_Issue("negotiation.not_json", detail, _not_json_fix(sniffed))]
    if result.too_large:
        return _judge_type(variant, result)  # http.body_too_large: a cut body is not parsed
    encoding = _encoding_issue(result)
    if encoding is not None:
        return [encoding]
    parsed = parse_json(result.body, result.content_type)
    if not parsed.ok:
        detail = _parse_failure(result, sniffed, parsed.error or "")
        fix = _TRUNCATED_FIX if "ends early" in detail else None
        return [_Issue("negotiation.not_json", detail, fix)]
    return _judge_type(variant, result)


def _judge_type(variant: Variant, result: HttpResult) -> list[_Issue]:
    """JSON arrived: is it labelled as JSON, as SCIM JSON, and in UTF-8?"""
    content_type = result.content_type
    issues: list[_Issue] = []
    if not is_json(content_type):
        what = (
            "without a Content-Type header"
            if content_type is None
            else f"with Content-Type {_shown_type(result)}"
        )
        issues.append(_Issue("negotiation.wrong_content_type", f"served JSON {what}"))
    elif media_type(content_type) != SCIM_JSON and variant.accept != _JSON:
        detail = (
            f"answered Content-Type {_shown_type(result)} instead of {SCIM_JSON} (the type "
            "asked for with Accept, and the default without one)"
        )
        issues.append(_Issue("negotiation.json_content_type", detail))
    declared = charset_of(content_type)
    if declared is not None and _codec(declared) not in ("utf-8", "ascii", None):
        ascii_only = result.body.isascii()
        consequence = (
            "this answer is plain ASCII, so it reads the same either way, but the first "
            "non-ASCII name will not"
            if ascii_only
            else "its non-ASCII characters are mis-read by clients that assume UTF-8"
        )
        issues.append(
            _Issue(
                "negotiation.non_utf8_charset",
                f"declared charset={declared} (Content-Type {_shown_type(result)}); {consequence}",
            )
        )
    return issues


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _encoding_issue(result: HttpResult) -> _Issue | None:
    """bad_encoding when the bytes are not in the declared charset (UTF-8 when undeclared)."""
    content_type = result.content_type
    declared = charset_of(content_type)
    # Whatever the label, a body that starts like JSON is judged as JSON: UTF-8 unless declared.
    judged_as = content_type if declared is not None or is_json(content_type) else _JSON
    problem = charset_problem(judged_as, result.body)
    if problem is None:
        return None
    codec = _codec(declared or "utf-8")
    detail = problem
    if declared is None:
        detail += f"; Content-Type {_shown_type(result)} declares no charset"
    if codec is not None:
        try:
            result.body.decode(codec)
        except UnicodeDecodeError as exc:
            reading = legacy_reading(result.body, exc.start)
            if reading is not None and codec != "cp1252":
                detail += f"; read as Latin-1 / Windows-1252 the bytes there say {reading}"
    return _Issue("negotiation.bad_encoding", detail)


_TRUNCATED_FIX = (
    "The server sent a complete HTTP message whose JSON is cut off: look for a response buffer "
    "or size limit in a proxy or gateway between the API and its clients, or a worker that "
    "fails while serialising (its log shows it); repeat the request against the application "
    "directly to tell which."
)


def _parse_failure(result: HttpResult, sniffed: Sniffed, error: str) -> str:
    body = result.body
    status_line = f"answered 200 with Content-Type {_shown_type(result)}"
    if sniffed.kind == "text":
        return (
            f"{status_line}: the body is plain text, not JSON; it starts "
            f"{preview(body, _SHOWN)} ({len(body)} bytes)"
        )
    match = _JSON_ERROR_AT.search(error)
    offset = int(match.group(1)) if match else None
    # Cut off: the parser ran out of input (an unterminated string runs to the end too).
    if offset is not None and (offset >= len(body.rstrip()) or "Unterminated string" in error):
        length = result.headers.get("content-length")
        sent = (
            f"; Content-Length {length} matches what arrived, so the server (or a proxy in "
            "front of it) sent the document cut off"
            if length is not None and length.strip() == str(len(body))
            else ""
        )
        return (
            f"{status_line}: the JSON ends early — the body stops after {len(body)} bytes in "
            f"the middle of the document ({error}){sent}; it ends "
            f"{preview(body, _SHOWN, tail=True)}"
        )
    near = ""
    if offset is not None:
        start = max(0, offset - 30)
        shown = preview(body[start:], _SHOWN)
        if start > 0:
            shown = "'…" + shown[1:]  # the window starts mid-body: say so, as at its end
        near = f"; around byte {offset}: {shown}"
    return f"{status_line}: {error}{near}; the body starts {preview(body, _SHOWN)}"


def _server_says(result: HttpResult, sniffed: Sniffed) -> str:
    """What the refusal's body says, in a few words (the server's own reason, when it has one)."""
    if sniffed.kind == "empty":
        return " with an empty body"
    if sniffed.kind == "html":
        return f" with {sniffed.describe()}"
    parsed = parse_json(result.body, result.content_type) if sniffed.kind == "json" else None
    if parsed is not None and parsed.ok and isinstance(parsed.value, dict):
        for key in ("detail", "message", "error", "title"):
            value = parsed.value.get(key)
            if isinstance(value, str) and value.strip():
                text = " ".join(value.split())
                shown = text if len(text) <= 160 else text[:159] + "…"
                return f'; the server says "{redact(shown)}"'
    return f"; the body starts {preview(result.body, _SHOWN)}"


def _page_fix(page: Page) -> str:
    """The remediation for the kind of page that answered, naming the product when known."""
    if page.kind == "block":
        who = f"{page.vendor} (WAF / CDN)" if page.vendor else "A WAF, CDN or filtering proxy"
        ref = f"; quote {page.reference} to its administrators" if page.reference else ""
        return (
            f"{who} in front of the API refused the request{ref}: allowlist the SCIM base path "
            "(or the identity provider's egress ranges) there, or relax the rule that matched "
            "this request (the message names its Accept header)."
        )
    if page.kind == "login":
        of = f" ({page.vendor})" if page.vendor else ""
        return (
            f"The SCIM path sits behind interactive sign-in{of}: exempt the SCIM base path from "
            "the login / SSO layer (SCIM authenticates with its bearer token and answers 401 "
            "JSON, never a login page), or correct the base URL."
        )
    if page.kind == "spa":
        return (
            "The web front end's catch-all route answered, not the API: the API is not mounted "
            "at this base path. Configure the path the SCIM API really lives at, or route the "
            "SCIM base path to the API before the single-page app's fallback (proxy location "
            "order, history-API fallback exclusions)."
        )
    server = f"{page.vendor} " if page.vendor else ""
    return (
        f"An HTML page from the {server}server answered instead of the SCIM API: check the base "
        "URL and the proxy routing, and make the SCIM endpoint answer (errors included) in SCIM "
        "JSON."
    )


PAGE_CODES = {
    "spa": "negotiation.spa_catch_all",
    "login": "negotiation.login_page",
    "error": "negotiation.server_default_page",
}
"""The code for each kind of HTML page; block pages and any other HTML are html_response."""
HTML_CODES = ("negotiation.html_response", *PAGE_CODES.values())


def _html(result: HttpResult, sniffed: Sniffed, page: Page) -> _Issue:
    detail = f"answered {result.status} {result.reason} with {sniffed.describe()}"
    return _Issue(PAGE_CODES.get(page.kind, "negotiation.html_response"), detail, _page_fix(page))


def _unexpected(result: HttpResult, sniffed: Sniffed) -> _Issue:
    location = result.headers.get("location")
    where = f" (Location: {redact(location)})" if location else ""
    body = (
        ""
        if sniffed.kind == "empty"
        else f"; the body is {sniffed.describe()}, it starts {preview(result.body, _SHOWN)}"
    )
    return _Issue(
        "http.unexpected_status",
        f"answered {result.status} {result.reason}{where}; expected 200 with a SCIM "
        f"ListResponse{body}",
    )


def _not_json_fix(sniffed: Sniffed) -> str | None:
    if sniffed.kind == "xml":
        return (
            "Make JSON (application/scim+json) the default representation: an XML formatter "
            "that wins content negotiation (Spring with jackson-dataformat-xml on the classpath, "
            "ASP.NET with XML formatters) answers XML when the Accept header is missing or */*."
        )
    if sniffed.kind == "empty":
        return "Return the ListResponse as the body of the 200 (an empty result still has one)."
    return None


def _shown_type(result: HttpResult) -> str:
    content_type = result.content_type
    return "(none)" if content_type is None else f'"{redact(content_type)}"'


# --- merging and reporting -------------------------------------------------------------------


def _join(labels: Sequence[str]) -> str:
    if len(labels) == len(VARIANTS):
        return "every Accept variant (" + ", ".join(v.short for v in VARIANTS) + ")"
    return _join_words(labels)


def _merge(issues: list[tuple[Variant, _Issue]], url: str) -> list[Finding]:
    """One finding per distinct problem, naming every Accept variant that showed it."""
    grouped: dict[tuple[str, str], list[Variant]] = {}
    fixes: dict[tuple[str, str], str | None] = {}
    for variant, issue in issues:
        key = (issue.code, issue.detail)
        grouped.setdefault(key, []).append(variant)
        fixes.setdefault(key, issue.remediation)
    return [
        findings.make(
            code,
            f"GET {url} with {_join([v.label for v in variants])}: {detail}",
            remediation=fixes[(code, detail)],
        )
        for (code, detail), variants in grouped.items()
    ]


def _merge_http(found: list[tuple[Variant, Finding]]) -> list[Finding]:
    """The http.* findings of the three requests, one per code (they share the URL)."""
    by_code: dict[str, list[tuple[Variant, Finding]]] = {}
    for variant, finding in found:
        by_code.setdefault(finding.code, []).append((variant, finding))
    merged: list[Finding] = []
    for code, group in by_code.items():
        labels = _join([variant.label for variant, _ in group])
        messages = list(dict.fromkeys(finding.message for _, finding in group))
        if len(messages) == 1:
            message = f"{messages[0]} (with {labels})"
        else:
            message = "; ".join(f"with {v.label}: {f.message}" for v, f in group)
        merged.append(findings.make(code, message))
    return merged


def _facts(variant: Variant, result: HttpResult) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "accept": variant.accept,
        "status": result.status,
        "content_type": redact(result.content_type) if result.content_type else None,
        "bytes": len(result.body),
        "truncated": result.too_large,
    }
    if result.error is not None:
        facts["error"] = result.error.kind.value
    elif result.status is not None:
        sniffed = sniff(result.body, result.content_type, result.headers, result.status)
        facts["body"] = sniffed.kind
        if sniffed.page is not None:
            facts["page"] = sniffed.page.kind
            facts["page_vendor"] = sniffed.page.vendor
    return facts


def _summary(pairs: Sequence[tuple[Variant, HttpResult]]) -> str:
    """'200 text/html for json and no Accept; 200 application/scim+json for scim+json'."""

    def answer(result: HttpResult) -> str:
        if result.status is None:
            return "no answer"
        return f"{result.status} {media_type(result.content_type) or 'without Content-Type'}"

    grouped: dict[str, list[str]] = {}
    for variant, result in pairs:
        grouped.setdefault(answer(result), []).append(variant.tag)
    if len(grouped) == 1:
        return f"{next(iter(grouped))} for all three Accept variants"
    # The healthy answer last: a one-line view that cuts the summary still shows the problem.
    ordered = sorted(grouped.items(), key=lambda item: item[0] == f"200 {SCIM_JSON}")
    return "; ".join(f"{text} for {_join_words(tags)}" for text, tags in ordered)


def _join_words(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
