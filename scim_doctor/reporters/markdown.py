"""The Markdown report: pasted into a support ticket or written to a CI step summary.

GitHub-flavoured (tables, emoji), readable as plain text too. Every value that came from the
server or the network is escaped, so a `|` in a message cannot split a table cell, a `<script>`
cannot become HTML, an `@name` cannot notify a stranger in a ticket, and a leading `#` cannot
turn a message into a heading.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from scim_doctor.core.findings import CATALOGUE
from scim_doctor.core.model import (
    CheckResult,
    Finding,
    IdpVerdict,
    Report,
    Severity,
    Status,
    Verdict,
)
from scim_doctor.core.secrets import redact
from scim_doctor.reporters.text import impact, verdict

STATUS_MARKS = {
    Status.PASS: "✅ pass",
    Status.WARN: "⚠️ warn",
    Status.FAIL: "❌ fail",
    Status.SKIP: "⏭️ skip",
    Status.ERROR: "💥 error",
}
SEVERITY_MARKS = {Severity.INFO: "ℹ️ info", Severity.WARN: "⚠️ warn", Severity.FAIL: "❌ fail"}
VERDICT_MARKS = {
    Verdict.WILL_WORK: "✅ will work",
    Verdict.WILL_FAIL: "❌ will fail",
    Verdict.UNKNOWN: "❔ unknown",
    Verdict.NOT_JUDGED_HERE: "🚧 not judged from here",
}

# Backslash-escaping any ASCII punctuation is valid CommonMark; these are the ones that can
# start emphasis, links, code, HTML, strikethrough, table cells, entities or @-mentions.
_ACTIVE = re.compile(r"([\\`*_\[\]{}<>|~&@!#])")
# At the start of a paragraph or cell these make a list, quote, heading or rule.
_LINE_START = re.compile(r"^([-+=])|^(\d{1,9})([.)])(?=\s|$)")


def escape(value: str) -> str:
    """`value` as literal Markdown text on one line, safe inside a table cell.

    Redacted first: once escaped (`a\\_b`), a token would no longer match the writer's redaction.
    """
    text = " ".join(redact(value).split())
    text = _ACTIVE.sub(r"\\\1", text)
    return _LINE_START.sub(
        lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3), text
    )


def code(value: str) -> str:
    """`value` as inline code; falls back to escaped text when it holds a backtick or a pipe."""
    value = redact(value)
    if "`" in value or "|" in value or not value.strip():
        return escape(value)
    return f"`{' '.join(value.split())}`"


def _duration(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _check_row(check: CheckResult) -> str:
    time = "" if check.status is Status.SKIP else _duration(check.duration_ms)
    summary = (check.skip_reason or check.summary) if check.status is Status.SKIP else check.summary
    cells = [f"{code(check.id)} {escape(check.title)}", STATUS_MARKS[check.status], time]
    cells.append(escape(summary))
    return "| " + " | ".join(cells) + " |"


def _finding(check: CheckResult, finding: Finding, names: Mapping[str, str]) -> list[str]:
    spec = CATALOGUE.get(finding.code)
    title = f" — {escape(spec.title)}" if spec else ""
    return [
        f"#### {SEVERITY_MARKS[finding.severity]}: {code(finding.code)}{title}",
        "",
        f"Check: {code(check.id)} ({escape(check.title)})",
        "",
        escape(finding.message),
        "",
        *([f"**Impact:** {escape(said)}", ""] if (said := impact(finding, names)) else []),
        f"**Fix:** {escape(finding.remediation)}",
        "",
        f"**Reference** ({finding.reference_kind.value}): {escape(finding.reference)}",
        "",
    ]


def _idp_table(verdicts: tuple[IdpVerdict, ...]) -> list[str]:
    """Per identity provider, whether its connection would work and why not (the broken or
    unknown rules' reasons, as the run computed them)."""
    if not verdicts:
        return []
    lines = ["### Identity providers", "", "| IdP | Verdict | Why |", "| --- | --- | --- |"]
    for item in verdicts:
        why = "; ".join(escape(reason) for reason in item.reasons) or "—"
        lines.append(f"| {escape(item.name)} | {VERDICT_MARKS[item.verdict]} | {why} |")
    return [*lines, ""]


def _counts(report: Report) -> str:
    words = {
        Status.PASS: "passed",
        Status.WARN: "warned",
        Status.FAIL: "failed",
        Status.SKIP: "skipped",
        Status.ERROR: "errored",
    }
    counts = report.counts
    return ", ".join(f"{counts[s.value]} {words[s]}" for s in Status if counts[s.value])


def _environment(report: Report) -> list[str]:
    if not report.environment:
        return []
    lines = ["<details><summary>Run environment</summary>", "", "| Setting | Value |"]
    lines.append("| --- | --- |")
    for key, value in report.environment.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"| {code(str(key))} | {escape(shown)} |")
    return [*lines, "", "</details>", ""]


def _root_code(report: Report) -> str | None:
    found = report.root_cause(at_least=Severity.WARN)
    return found[1].code if found else None


def render(report: Report) -> str:
    lines = [
        f"## scim-doctor report for {escape(report.target.base_url)}: {report.status.value}"
        + (f", root cause `{cause}`" if (cause := _root_code(report)) else ""),
        "",
        f"**Verdict: {STATUS_MARKS[report.status]}** — {escape(verdict(report))}",
        "",
        f"scim-doctor {escape(report.tool_version)} · started {escape(report.started_at)} · "
        f"{_duration(report.duration_ms)} · {_counts(report) or 'no checks ran'}",
        "",
        "| Check | Status | Time | Summary |",
        "| --- | --- | ---: | --- |",
        *(_check_row(check) for check in report.checks),
        "",
        *_idp_table(report.idp_verdicts),
    ]
    found = [(check, f) for check in report.checks for f in check.findings]
    if found:
        lines += ["### Findings", ""]
        names = {item.idp: item.name for item in report.idp_verdicts}
        for check, finding in found:
            lines += _finding(check, finding, names)
    skipped = [c for c in report.checks if c.status is Status.SKIP]
    if skipped:
        lines += ["### Skipped checks", ""]
        lines += [
            f"- {code(c.id)} {escape(c.title)}: {escape(c.skip_reason or c.summary)}"
            for c in skipped
        ]
        lines.append("")
    broken = [c for c in report.checks if c.status is Status.ERROR]
    if broken:
        lines += ["### scim-doctor errors", ""]
        lines += [f"- {code(c.id)} {escape(c.title)}: {escape(c.summary)}" for c in broken]
        lines += ["", "These are bugs in scim-doctor, not in the endpoint; please report them.", ""]
    lines += _environment(report)
    return "\n".join(lines).rstrip("\n") + "\n"
