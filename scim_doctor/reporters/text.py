"""The terminal report, in the manner of `flutter doctor`: a line per check, the fix beneath,
then a line per identity provider saying whether its connection will work.

Wraps to the width it is given (the CLI gives the terminal's, or PIPE_WIDTH when piped) and
never cuts: a cut removed the very cause ("port 43191: re…"). Words go onto indented
continuation lines; a URL, code, path or address is never broken (it must stay copyable), so a
line holding one may run past the width. Colour only when asked (the CLI asks on a TTY without
NO_COLOR); verbose mode adds the redacted HTTP exchanges like `curl -v`, and under each exchange
of a check that failed, warned or broke the curl command that replays it (reporters/curl.py).
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
    Scope,
    Severity,
    Status,
    Verdict,
)
from scim_doctor.core.secrets import redact
from scim_doctor.reporters.curl import curl_command, replayed

WIDTH = 80
"""The classic terminal width: the golden files' and the fleet headings' default."""
MIN_WIDTH = 40
"""Below this a wrapped line holds a word or two: narrower terminals get this width."""
PIPE_WIDTH = 100
"""The width when the output is not a terminal (a pipe, a file, a CI log): fixed, so a saved
report does not depend on the terminal it was made from; wide enough for most messages."""

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


def _wrap(text: str, width: int, indent: int, first_prefix: str = "") -> list[str]:
    """Words onto continuation lines aligned under the first; an unbreakable token (URL, code,
    path, address) is kept whole and may run past the width rather than be split or cut."""
    prefix = " " * indent
    return textwrap.wrap(
        text,
        width=width,
        initial_indent=prefix + first_prefix,
        subsequent_indent=prefix + " " * len(first_prefix),
        break_long_words=False,
        break_on_hyphens=False,
    ) or [prefix + first_prefix.rstrip()]


def _duration(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _check_line(check: CheckResult, color: bool, width: int) -> list[str]:
    """`[✓] id  summary  duration`; a long summary wraps under itself, the duration stays at
    the right of the first line."""
    mark = f"[{MARKS[check.status]}]"
    right = _duration(check.duration_ms) if check.status is not Status.SKIP else ""
    summary = check.summary if check.status is not Status.SKIP else f"skipped: {check.summary}"
    head = f"{mark} {check.id:<12}"
    room = width - len(right) - (2 if right else 0)
    lines = _wrap(summary, room, 0, head)
    lines[0] = lines[0].ljust(width - len(right) - 1) + " " + right if right else lines[0]
    lines[0] = _paint(mark, COLOURS[check.status], color) + lines[0][len(mark) :]
    return [line.rstrip() for line in lines]


def impact(finding: Finding, names: Mapping[str, str]) -> str | None:
    """Which identity providers the finding breaks, or why it is not a failure in this run:
    the one severity rule, said where the finding is read."""
    if finding.affects:
        return "breaks provisioning for " + ", ".join(names.get(k, k) for k in finding.affects)
    if finding.scope is Scope.THIS_MACHINE:
        return (
            "on this machine's own path, which the identity providers do not take: they are not "
            "judged from here"
        )
    if finding.catalogue_severity is Severity.FAIL:
        return (
            "no identity provider in scope trips on it, so it is a warning here (a failure in "
            "the catalogue; --strict reports it so)"
        )
    return None


def _finding_lines(
    finding: Finding, color: bool, names: Mapping[str, str], width: int
) -> list[str]:
    spec = CATALOGUE.get(finding.code)
    title = spec.title if spec else finding.code
    mark = SEVERITY_MARKS[finding.severity]
    colour = {"i": "36", "!": "33", "✗": "31"}[mark]
    lines = _wrap(f"{finding.code}: {title}", width, 4, f"{mark} ")
    lines[0] = "    " + _paint(mark, colour, color) + lines[0][4 + len(mark) :]
    lines += _wrap(finding.message, width, 6)
    if finding.caused_by is not None:
        lines += _wrap(f"{finding.caused_by} (fix that first)", width, 6, "Because of: ")
    said = impact(finding, names)
    if said is not None:
        lines += _wrap(said, width, 6, "Impact: ")
    lines += _wrap(finding.remediation, width, 6, "Fix: ")
    return lines


def _exchange_lines(exchange: Exchange, width: int) -> list[str]:
    lines = [f"      > {exchange.method} {exchange.url}"]
    lines += [f"      > {name}: {value}" for name, value in exchange.request_headers]
    if exchange.status is None:
        lines.append(f"      ! {exchange.error or 'no response'}")
        return lines
    lines.append(f"      < {exchange.http_version or 'HTTP'} {exchange.status}")
    lines += [f"      < {name}: {value}" for name, value in exchange.response_headers]
    if exchange.body_excerpt:
        # Redacted before the cut: a token cut in half by [:400] no longer matches redact().
        excerpt = redact(exchange.body_excerpt)[:400].replace("\r", "")
        for line in excerpt.splitlines()[:8]:
            lines += _wrap(line, width, 6, "< ")
        if exchange.body_truncated or len(exchange.body_excerpt) > 400:
            lines.append(f"      < … ({exchange.body_bytes} bytes read)")
    return lines


VERDICT_WORDS = {
    Verdict.WILL_WORK: ("✓", "will work", "32"),
    Verdict.WILL_FAIL: ("✗", "will fail", "31"),
    Verdict.UNKNOWN: ("?", "unknown", "2"),
    Verdict.NOT_JUDGED_HERE: ("~", "not judged from here", "33"),
}


def _idp_lines(
    verdicts: tuple[IdpVerdict, ...], color: bool, verbose: bool, width: int
) -> list[str]:
    """One line per identity provider with its first reason, wrapped under the verdict; a reason
    already given for a provider above is not repeated ("same as Entra ID"): five copies of one
    TLS failure hid the one line that differed. Verbose: every reason, with its documents."""
    column = max(len(v.name) for v in verdicts) + 2
    lines = ["Identity providers"]
    said: dict[str, str] = {}
    for item in verdicts:
        mark, words, colour = VERDICT_WORDS[item.verdict]
        plain = f"  {item.name:<{column}}{mark} {words}"
        painted = f"  {item.name:<{column}}{_paint(mark, colour, color)} {words}"
        if not item.reasons:
            lines.append(painted)
            continue
        if verbose:
            lines.append(painted + ":")
            for reason in item.reasons:
                lines += _wrap(reason, width, 4, "- ")
            for title, _url in item.sources:  # URLs do not wrap: the JSON and HTML have them
                lines += _wrap(title, width, 4, "Source: ")
            continue
        first = item.reasons[0]
        reason = f"same as {said[first]}" if first in said else first
        said.setdefault(first, item.name)
        more = len(item.reasons) - 1
        if more:
            reason += f" (and {more} more: -v lists {'it' if more == 1 else 'them'})"
        subsequent = " " * (len(plain) + 2)
        wrapped = textwrap.wrap(
            f"{plain}: {reason}",
            width=width,
            subsequent_indent=subsequent,
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines.append(painted + wrapped[0][len(plain) :])
        lines += wrapped[1:]
    return lines


def root_cause_words(report: Report) -> str | None:
    """`code (title)` of what to fix first (Report.root_cause), for a report's first line;
    None when nothing at warn or above was found."""
    found = report.root_cause(at_least=Severity.WARN)
    if found is None:
        return None
    spec = CATALOGUE.get(found[1].code)
    return f"{found[1].code} ({spec.title})" if spec else found[1].code


def headline(report: Report) -> str:
    """The report's first line: the tool, the target, the verdict and the root cause."""
    cause = root_cause_words(report)
    said = f"{report.status.value}" + (f", root cause {cause}" if cause else "")
    return f"scim-doctor {report.tool_version} — {report.target.base_url} — {said}"


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
    if any(f.scope is Scope.THIS_MACHINE for f in problems):
        parts.append(
            "this machine's own network path kept the run from judging the server, which itself "
            "may be fine: run again from another network, or as the finding says"
        )
    if not parts:
        skipped = report.counts[Status.SKIP.value]
        tail = f" ({skipped} check{'s' if skipped != 1 else ''} skipped)" if skipped else ""
        return f"No problems found{tail}."
    return "; ".join(parts) + "."


def render(
    report: Report, *, color: bool = False, verbose: bool = False, width: int = PIPE_WIDTH
) -> str:
    """The report laid out for `width` columns, cutting nothing (a line holding one long
    unbreakable token may run past it)."""
    width = max(MIN_WIDTH, width)
    lines = [*_wrap(headline(report), width, 0), ""]
    names = {item.idp: item.name for item in report.idp_verdicts}
    for check in report.checks:
        lines += _check_line(check, color, width)  # whole: an error's summary is not repeated
        for finding in check.findings:
            lines += _finding_lines(finding, color, names, width)
        if verbose and check.exchanges:
            for exchange in check.exchanges:
                lines += _exchange_lines(exchange, width)
                if replayed(check):  # one line, never wrapped: a broken command does not paste
                    lines.append(f"      $ {curl_command(exchange, report.environment)}")
    if report.idp_verdicts:
        lines += ["", *_idp_lines(report.idp_verdicts, color, verbose, width)]
    lines += ["", *_wrap(verdict(report), width, 0)]
    return "\n".join(lines) + "\n"
