"""The terminal report, in the manner of `flutter doctor`: a line per check, the fix beneath,
then a line per identity provider saying whether its connection will work.

Fits 80 columns; colour only when asked (the CLI asks on a TTY without NO_COLOR); verbose mode
adds the redacted HTTP exchanges like `curl -v`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

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

WIDTH = 80

MARKS = {
    Status.PASS: "✓",
    Status.WARN: "!",
    Status.FAIL: "✗",
    Status.SKIP: "-",
    Status.ERROR: "E",
}
SEVERITY_MARKS = {Severity.INFO: "i", Severity.WARN: "!", Severity.FAIL: "✗"}
COLOURS = {
    Status.PASS: "32",
    Status.WARN: "33",
    Status.FAIL: "31",
    Status.SKIP: "2",
    Status.ERROR: "35",
}


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def _wrap(text: str, indent: int, first_prefix: str = "") -> list[str]:
    prefix = " " * indent
    return textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=prefix + first_prefix,
        subsequent_indent=prefix + " " * len(first_prefix),
        break_long_words=True,
        break_on_hyphens=False,
    ) or [prefix + first_prefix.rstrip()]


def _duration(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _check_line(check: CheckResult, color: bool) -> str:
    mark = _paint(f"[{MARKS[check.status]}]", COLOURS[check.status], color)
    right = _duration(check.duration_ms) if check.status is not Status.SKIP else ""
    summary = check.summary if check.status is not Status.SKIP else f"skipped: {check.summary}"
    head = f"{check.id:<12}"
    room = WIDTH - 4 - len(head) - len(right) - 2
    if len(summary) > room:
        summary = summary[: max(0, room - 1)] + "…"
    gap = " " * max(1, WIDTH - 4 - len(head) - len(summary) - len(right))
    return f"{mark} {head}{summary}{gap}{right}".rstrip()


def impact(finding: Finding, names: Mapping[str, str]) -> str | None:
    """Which identity providers the finding breaks, or why it is not a failure in this run:
    the one severity rule, said where the finding is read."""
    if finding.affects:
        return "breaks provisioning for " + ", ".join(names.get(k, k) for k in finding.affects)
    if finding.catalogue_severity is Severity.FAIL:
        return (
            "no identity provider in scope trips on it, so it is a warning here (a failure in "
            "the catalogue; --strict reports it so)"
        )
    return None


def _finding_lines(finding: Finding, color: bool, names: Mapping[str, str]) -> list[str]:
    spec = CATALOGUE.get(finding.code)
    title = spec.title if spec else finding.code
    mark = SEVERITY_MARKS[finding.severity]
    colour = {"i": "36", "!": "33", "✗": "31"}[mark]
    lines = [f"    {_paint(mark, colour, color)} {finding.code}: {title}"]
    lines += _wrap(finding.message, 6)
    said = impact(finding, names)
    if said is not None:
        lines += _wrap(said, 6, "Impact: ")
    lines += _wrap(finding.remediation, 6, "Fix: ")
    return lines


def _exchange_lines(exchange: Exchange) -> list[str]:
    lines = [f"      > {exchange.method} {exchange.url}"]
    lines += [f"      > {name}: {value}" for name, value in exchange.request_headers]
    if exchange.status is None:
        lines.append(f"      ! {exchange.error or 'no response'}")
        return lines
    lines.append(f"      < {exchange.http_version or 'HTTP'} {exchange.status}")
    lines += [f"      < {name}: {value}" for name, value in exchange.response_headers]
    if exchange.body_excerpt:
        excerpt = exchange.body_excerpt[:400].replace("\r", "")
        for line in excerpt.splitlines()[:8]:
            lines.append(f"      < {line}"[:WIDTH])
        if exchange.body_truncated or len(exchange.body_excerpt) > 400:
            lines.append(f"      < … ({exchange.body_bytes} bytes read)")
    return lines


VERDICT_WORDS = {
    Verdict.WILL_WORK: ("✓", "will work", "32"),
    Verdict.WILL_FAIL: ("✗", "will fail", "31"),
    Verdict.UNKNOWN: ("?", "unknown", "2"),
}


def _idp_lines(verdicts: tuple[IdpVerdict, ...], color: bool, verbose: bool) -> list[str]:
    """One line per identity provider, its first reasons cut to the width; verbose: all of
    them wrapped, with the documents they come from."""
    column = max(len(v.name) for v in verdicts) + 2
    lines = ["Identity providers"]
    for item in verdicts:
        mark, words, colour = VERDICT_WORDS[item.verdict]
        head = f"  {item.name:<{column}}{_paint(mark, colour, color)} {words}"
        shown = len(f"  {item.name:<{column}}{mark} {words}")
        if not item.reasons:
            lines.append(head)
        elif verbose:
            lines.append(head + ":")
            for reason in item.reasons:
                lines += _wrap(reason, 4, "- ")
            for title, _url in item.sources:  # URLs do not wrap: the JSON and HTML have them
                lines += _wrap(title, 4, "Source: ")
        else:
            text = ": " + "; ".join(item.reasons)
            room = WIDTH - shown
            if len(text) > room:
                text = text[: room - 1] + "…"
            lines.append(head + text)
    return lines


def verdict(report: Report) -> str:
    problems = report.problems(at_least=Severity.WARN)
    errors = [c.id for c in report.checks if c.status is Status.ERROR]
    parts = []
    if problems:
        codes = ", ".join(dict.fromkeys(f.code for f in problems))
        noun = "problem" if len(problems) == 1 else "problems"
        parts.append(f"{len(problems)} {noun} found: {codes}")
    if errors:
        parts.append(f"scim-doctor failed internally in: {', '.join(errors)}")
    if not parts:
        skipped = report.counts[Status.SKIP.value]
        tail = f" ({skipped} check{'s' if skipped != 1 else ''} skipped)" if skipped else ""
        return f"No problems found{tail}."
    return "; ".join(parts) + "."


def render(report: Report, *, color: bool = False, verbose: bool = False) -> str:
    lines = [
        f"scim-doctor {report.tool_version} — {report.target.base_url}",
        "",
    ]
    names = {item.idp: item.name for item in report.idp_verdicts}
    for check in report.checks:
        lines.append(_check_line(check, color))
        if check.status is Status.ERROR:
            lines += _wrap(check.summary, 4)
        for finding in check.findings:
            lines += _finding_lines(finding, color, names)
        if verbose and check.exchanges:
            for exchange in check.exchanges:
                lines += _exchange_lines(exchange)
    if report.idp_verdicts:
        lines += ["", *_idp_lines(report.idp_verdicts, color, verbose)]
    lines += ["", *_wrap(verdict(report), 0)]
    return "\n".join(lines) + "\n"
