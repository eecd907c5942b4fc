"""The HTML report: one self-contained file an admin can mail, attach to a ticket or print.

Everything the page needs is inside it (CSS, SVG); a Content-Security-Policy forbids scripts and
every fetch, so the file opens offline and a hostile string in a finding stays text. Jinja
autoescapes every value and treats an undefined name as an error, so a template typo fails the
golden tests instead of leaving a silent hole. The output is a pure function of the report: no
clock, no random ids, so golden files need no masking.

This module turns the report into plain view objects (strings, rows, SVG geometry); the template
only lays them out. Nothing here judges the endpoint: statuses, findings and timings are shown
as the probes reported them.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import jinja2
from msgspec import Struct

from scim_doctor.core.findings import CATALOGUE
from scim_doctor.core.model import (
    CheckResult,
    Exchange,
    Finding,
    IdpVerdict,
    Report,
    Severity,
    Status,
    Verdict,
)
from scim_doctor.reporters.curl import curl_command, replayed
from scim_doctor.reporters.html_waterfall import Waterfall, milliseconds
from scim_doctor.reporters.html_waterfall import waterfall as waterfall  # tests call html.waterfall
from scim_doctor.reporters.text import impact, verdict

TEMPLATE = "report.html.j2"

STATUS_MARKS = {
    Status.PASS: "✓",
    Status.WARN: "!",
    Status.FAIL: "✗",
    Status.SKIP: "–",
    Status.ERROR: "⚠",
}
SEVERITY_MARKS = {"info": "i", "warn": "!", "fail": "✗"}
REFERENCE_KINDS = {"rfc": "RFC", "idp": "identity provider", "advice": "advice"}

PROBLEM_STATUSES = frozenset({Status.FAIL, Status.WARN, Status.ERROR})
"""Checks a support engineer must read: open, with their exchanges, above the passing ones."""

RUN_ORIGIN_KEYS = ("python", "platform", "proxy", "trust_store")
"""Environment keys shown under "From where"; every other key is listed as a run option."""


# --- template loading -------------------------------------------------------------------------


def template_dir() -> Path:
    """The templates folder: inside the installed package, else the repository's `templates/`.

    A wheel carries it as `scim_doctor/templates` (pyproject's force-include); an editable
    install runs from the repository, where it sits beside the package.
    """
    packaged = importlib.resources.files("scim_doctor") / "templates"
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    repository = Path(__file__).resolve().parents[2] / "templates"
    if repository.is_dir():
        return repository
    raise RuntimeError(
        f"the HTML report template is missing (looked in {packaged} and {repository}); "
        "reinstall scim-doctor"
    )


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one Jinja environment: autoescaped, and an undefined name is an error."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir()),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


# --- facts as a tree of display nodes ---------------------------------------------------------


class Scalar(Struct, frozen=True):
    kind: ClassVar[str] = "scalar"
    text: str
    tone: str
    """none, bool, number, string or empty: lets the CSS mute 'none' without changing its text."""


class Table(Struct, frozen=True):
    """A mapping: one row per key."""

    kind: ClassVar[str] = "table"
    rows: tuple[tuple[str, Node], ...]


class Items(Struct, frozen=True):
    """A list of plain values, shown inline."""

    kind: ClassVar[str] = "items"
    items: tuple[Node, ...]


class Records(Struct, frozen=True):
    """A list of mappings: one row per item, one column per key."""

    kind: ClassVar[str] = "records"
    columns: tuple[str, ...]
    rows: tuple[tuple[Node, ...], ...]


class Certificate(Struct, frozen=True):
    position: str
    subject: str
    issuer: str
    names: str
    not_before: str
    not_after: str
    expiry: str
    """Days left as words ("80 days left", "expired 26 days ago"), empty when not reported."""
    expired: bool
    key: str
    signature: str
    sha256: str


class Certificates(Struct, frozen=True):
    """A TLS `chain`: one row per certificate, leaf first, with its expiry."""

    kind: ClassVar[str] = "certificates"
    certificates: tuple[Certificate, ...]


class Hop(Struct, frozen=True):
    url: str
    outcome: str
    """"308 → https://..." or "answered 200" or the error."""
    token: str


class Hops(Struct, frozen=True):
    """A redirect chain as a small diagram: each request and where it pointed next."""

    kind: ClassVar[str] = "hops"
    hops: tuple[Hop, ...]


class Addresses(Struct, frozen=True):
    kind: ClassVar[str] = "addresses"
    addresses: tuple[str, ...]


Node = Scalar | Table | Items | Records | Certificates | Hops | Addresses


def scalar(value: Any) -> Scalar:
    if value is None:
        return Scalar("none", "none")
    if isinstance(value, bool):
        return Scalar("yes" if value else "no", "bool")
    if isinstance(value, int | float):
        return Scalar(str(value), "number")
    text = str(value)
    return Scalar(text, "string") if text else Scalar("(empty)", "empty")


_LABELS = {"ipv4": "IPv4 (A)", "ipv6": "IPv6 (AAAA)"}
"""Fact keys whose words are not the key's: the dns check's addresses by family."""

_ADDRESS_LISTS = frozenset({"addresses", "ipv4", "ipv6"})


def _label(key: object) -> str:
    """A fact key in words: `days_to_expiry` -> "days to expiry", `timeout_s` -> "timeout (s)"."""
    text = str(key)
    if text in _LABELS:
        return _LABELS[text]
    for suffix, unit in (("_ms", "ms"), ("_s", "s")):
        if text.endswith(suffix) and len(text) > len(suffix):
            return f"{text[: -len(suffix)].replace('_', ' ')} ({unit})"
    return text.replace("_", " ")


def _all_mappings(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(v, Mapping) for v in value)
    )


def fact_node(value: Any, key: str = "") -> Node:
    """A fact value as a display node; `chain`, `hops` and address lists get their own shape."""
    if key == "chain" and _all_mappings(value):
        return Certificates(tuple(_certificate(i, c) for i, c in enumerate(value)))
    if key == "hops" and _all_mappings(value):
        return Hops(tuple(_hop(h) for h in value))
    if isinstance(value, Mapping):
        if not value:
            return Scalar("none", "none")
        return Table(tuple((_label(k), fact_node(v, str(k))) for k, v in value.items()))
    if isinstance(value, list | tuple):
        if not value:
            return Scalar("none", "none")
        if key in _ADDRESS_LISTS and all(isinstance(v, str) for v in value):
            return Addresses(tuple(value))
        if _all_mappings(value):
            columns = tuple(dict.fromkeys(str(k) for item in value for k in item))
            rows = tuple(
                tuple(fact_node(item[c], c) if c in item else Scalar("", "empty") for c in columns)
                for item in value
            )
            return Records(tuple(_label(c) for c in columns), rows)
        return Items(tuple(fact_node(v) for v in value))
    return scalar(value)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _certificate(index: int, cert: Mapping[str, Any]) -> Certificate:
    if index == 0:
        position = "leaf"
    elif cert.get("self_signed"):
        position = "root"
    else:
        position = "intermediate"
    days = cert.get("days_left")
    expiry = ""
    if isinstance(days, int | float) and not isinstance(days, bool):
        count = abs(int(days))
        noun = "day" if count == 1 else "days"
        expiry = f"expired {count} {noun} ago" if days < 0 else f"{count} {noun} left"
    names = cert.get("names")
    key = _text(cert.get("key"))
    return Certificate(
        position=position,
        subject=_text(cert.get("subject")),
        issuer=_text(cert.get("issuer")),
        names=", ".join(str(n) for n in names) if isinstance(names, list | tuple) else "",
        not_before=_text(cert.get("not_before")),
        not_after=_text(cert.get("not_after")),
        expiry=expiry,
        expired=isinstance(days, int | float) and days < 0,
        key=key,
        signature=_text(cert.get("signature_hash")),
        sha256=_text(cert.get("sha256")),
    )


def _hop(hop: Mapping[str, Any]) -> Hop:
    status, location, error = hop.get("status"), hop.get("location"), hop.get("error")
    if error:
        outcome = f"no answer: {error}"
    elif location:
        outcome = f"{status} → {location}"
    elif status is not None:
        outcome = f"answered {status}"
    else:
        outcome = "no answer"
    sent = hop.get("token_sent")
    token = "" if sent is None else ("token sent" if sent else "token not sent")
    return Hop(url=_text(hop.get("url")), outcome=outcome, token=token)


# --- checks, findings, exchanges --------------------------------------------------------------


class FindingView(Struct, frozen=True):
    code: str
    severity: str
    mark: str
    title: str
    message: str
    why: str
    fix: str
    reference: str
    reference_kind: str
    impact: str | None = None
    """Which identity providers it breaks, or why it is only a warning in this run."""


class ExchangeView(Struct, frozen=True):
    summary: str
    transcript: str
    curl: str | None = None
    """The command that replays it, for the exchanges of a check that failed, warned or broke."""


class CheckView(Struct, frozen=True):
    index: int
    id: str
    anchor: str
    title: str
    status: str
    mark: str
    duration: str
    summary: str
    skip_reason: str
    findings: tuple[FindingView, ...]
    facts: Node | None
    timings: str
    """The check's timings as reported, in words (the chart's text alternative and more)."""
    waterfall: Waterfall | None
    exchanges: tuple[ExchangeView, ...]
    problem: bool
    """Failed, warned or broke: shown open near the top; the rest collapse to one line."""


def _duration(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.1f} ms"


def _finding(finding: Finding, names: Mapping[str, str]) -> FindingView:
    spec = CATALOGUE.get(finding.code)
    return FindingView(
        code=finding.code,
        severity=finding.severity.value,
        mark=SEVERITY_MARKS[finding.severity.value],
        title=spec.title if spec else finding.code,
        message=finding.message,
        why=spec.why if spec else "",
        fix=finding.remediation,
        reference=finding.reference,
        reference_kind=REFERENCE_KINDS.get(
            finding.reference_kind.value, finding.reference_kind.value
        ),
        impact=impact(finding, names),
    )


def _timing_words(timings: Mapping[str, float]) -> str:
    return " · ".join(f"{_label(k)} {milliseconds(v)}" for k, v in timings.items())


def transcript(exchange: Exchange) -> str:
    """The exchange as `curl -v` shows it: > request, < response, * notes."""
    lines = [f"> {exchange.method} {exchange.url}"]
    lines += [f"> {name}: {value}" for name, value in exchange.request_headers]
    lines.append(">")
    if exchange.status is None:
        lines.append(f"* {exchange.error or 'no response'}")
    else:
        lines.append(f"< {exchange.http_version or 'HTTP'} {exchange.status}")
        lines += [f"< {name}: {value}" for name, value in exchange.response_headers]
        lines.append("<")
        if exchange.body_excerpt:
            lines.append(exchange.body_excerpt.replace("\r\n", "\n").rstrip("\n"))
        if exchange.body_truncated:
            lines.append(f"* body cut: only the first {exchange.body_bytes} bytes were read")
        if exchange.error:
            lines.append(f"* {exchange.error}")
    if exchange.timings_ms:
        lines.append(f"* {_timing_words(exchange.timings_ms)}")
    return "\n".join(lines)


def _exchange(exchange: Exchange, curl: str | None) -> ExchangeView:
    status = str(exchange.status) if exchange.status is not None else "no response"
    total = exchange.timings_ms.get("total")
    took = f" ({milliseconds(total)})" if isinstance(total, int | float) else ""
    return ExchangeView(
        summary=f"{exchange.method} {exchange.url} → {status}{took}",
        transcript=transcript(exchange),
        curl=curl,
    )


def check_view(
    index: int, check: CheckResult, names: Mapping[str, str], env: Mapping[str, Any]
) -> CheckView:
    replay = replayed(check)
    return CheckView(
        index=index,
        id=check.id,
        anchor=f"check-{index}-{check.id}",
        title=check.title,
        status=check.status.value,
        mark=STATUS_MARKS[check.status],
        duration=_duration(check.duration_ms) if check.status is not Status.SKIP else "not run",
        summary=check.summary,
        skip_reason=check.skip_reason or "",
        findings=tuple(_finding(f, names) for f in check.findings),
        facts=fact_node(dict(check.facts)) if check.facts else None,
        timings=_timing_words(check.timings_ms),
        waterfall=waterfall(check),
        exchanges=tuple(
            _exchange(e, curl_command(e, env) if replay else None) for e in check.exchanges
        ),
        problem=check.status in PROBLEM_STATUSES,
    )


# --- the run: where from, identity providers --------------------------------------------------


class Source(Struct, frozen=True):
    """One document behind a provider's verdict, with every section of it the rules cite."""

    title: str
    sections: tuple[str, ...]
    url: str
    """As text: the page links nowhere (its CSP forbids navigation targets it cannot vouch for)."""


class IdpRow(Struct, frozen=True):
    key: str
    name: str
    status: str
    """The badge style: pass (will work), fail (will fail), warn (not judged from here) or skip
    (unknown)."""
    label: str
    mark: str
    detail: str
    sources: tuple[Source, ...]


IDP_BADGES = {
    Verdict.WILL_WORK: ("pass", "✓", "WILL WORK"),
    Verdict.WILL_FAIL: ("fail", "✗", "WILL FAIL"),
    Verdict.UNKNOWN: ("skip", "?", "UNKNOWN"),
    Verdict.NOT_JUDGED_HERE: ("warn", "~", "NOT JUDGED FROM HERE"),
}


def sources(pairs: tuple[tuple[str, str], ...]) -> tuple[Source, ...]:
    """One entry per document URL, its cited sections gathered.

    The rules cite a document once per section ("Tutorial … — Security requirements",
    "Tutorial … — General: …", all one URL), which made seven near-identical lines per
    provider; a reader needs the document once and the sections as a list.
    """
    by_url: dict[str, tuple[str, list[str]]] = {}
    for title, url in pairs:
        document, _, section = title.partition(" — ")
        entry = by_url.setdefault(url, (document, []))
        if section and section not in entry[1]:
            entry[1].append(section)
    return tuple(Source(doc, tuple(secs), url) for url, (doc, secs) in by_url.items())


def idp_row(item: IdpVerdict) -> IdpRow:
    status, mark, label = IDP_BADGES[item.verdict]
    return IdpRow(
        key=item.idp,
        name=item.name,
        status=status,
        label=label,
        mark=mark,
        detail="; ".join(item.reasons),
        sources=sources(item.sources),
    )


def idp_rows(report: Report) -> tuple[IdpRow, ...]:
    """Per-identity-provider verdicts, as the run computed them (none: no section)."""
    return tuple(idp_row(item) for item in report.idp_verdicts)


# --- the root cause: what a support engineer reads first ----------------------------------------


def root_cause(report: Report) -> Finding | None:
    """The finding to fix first (`Report.root_cause`: the first at the run's worst severity, or
    the finding that explains it). Only warnings and failures qualify: a passing run has
    nothing to fix."""
    found = report.root_cause(at_least=Severity.WARN)
    return found[1] if found is not None else None


class RootCauseView(Struct, frozen=True):
    finding: FindingView
    check_title: str
    anchor: str
    """The card of the check that found it, where its exchanges prove it."""
    affected: tuple[str, ...]
    """Names of the identity providers it breaks (its `affects`), in the report's order."""


def root_cause_view(
    report: Report, checks: tuple[CheckView, ...], names: Mapping[str, str]
) -> RootCauseView | None:
    cause = root_cause(report)
    if cause is None:
        return None
    index = next(i for i, c in enumerate(report.checks) if cause in c.findings)
    return RootCauseView(
        finding=_finding(cause, names),
        check_title=checks[index].title,
        anchor=checks[index].anchor,
        affected=tuple(names.get(key, key) for key in cause.affects),
    )


def _proxy_used(report: Report) -> str | None:
    """The proxy the proxy check saw the run go through, and where the setting came from
    (--proxy, a PAC file, HTTPS_PROXY): --proxy alone missed the environment's."""
    facts = next((c.facts for c in report.checks if c.id == "proxy"), {})
    via = facts.get("via_proxy")
    if not via:
        return None
    source = facts.get("proxy_source")
    return f"{via} (from {source})" if source else str(via)


def origin_rows(report: Report) -> tuple[tuple[str, str], ...]:
    env = report.environment

    def recorded(key: str, none: str) -> str:
        if key not in env:
            return "not recorded"
        return none if env[key] in (None, "") else str(env[key])

    return (
        ("scim-doctor", report.tool_version),
        ("Python", recorded("python", "unknown")),
        ("Operating system", recorded("platform", "unknown")),
        ("Proxy", _proxy_used(report) or recorded("proxy", "none (direct connection)")),
        ("Trust store", recorded("trust_store", "unknown")),
    )


def option_node(environment: Mapping[str, Any]) -> Node | None:
    rest = {k: v for k, v in environment.items() if k not in RUN_ORIGIN_KEYS}
    return fact_node(rest) if rest else None


def count_words(counts: Mapping[str, int], total: int) -> str:
    parts = [f"{n} {status}" for status, n in counts.items() if n]
    noun = "check" if total == 1 else "checks"
    return f"{total} {noun}: {', '.join(parts)}" if parts else f"{total} {noun}"


def render(report: Report) -> str:
    status = report.status
    names = {item.idp: item.name for item in report.idp_verdicts}
    checks = tuple(
        check_view(i, c, names, report.environment) for i, c in enumerate(report.checks, start=1)
    )
    return (
        environment()
        .get_template(TEMPLATE)
        .render(
            report=report,
            status=status.value,
            status_label=status.value.upper(),
            status_mark=STATUS_MARKS[status],
            verdict=verdict(report),
            counts=count_words(report.counts, len(report.checks)),
            duration=_duration(report.duration_ms),
            origin=origin_rows(report),
            options=option_node(report.environment),
            idps=idp_rows(report),
            cause=root_cause_view(report, checks, names),
            problems=tuple(c for c in checks if c.problem),
            others=tuple(c for c in checks if not c.problem),
        )
    )
