"""GitHub Actions output: annotations for every problem, and a table in the job's summary page.

With `GITHUB_ACTIONS=true` (set by the runner) each finding of severity fail becomes an
`::error` workflow command and each warn a `::warning`, so the problems show on the run's page
without anyone opening the log; a Markdown table of the targets is appended to the file named
by `$GITHUB_STEP_SUMMARY`. Command data and properties are escaped as GitHub's toolkit does
(`%`, CR and LF always; `:` and `,` in properties too), so a message can neither end the command
early nor inject another one. Everything passes through `redact()` like any other output.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from scim_doctor.core.fleet import FleetReport, TargetOutcome
from scim_doctor.core.model import Finding, Severity, Status, Verdict
from scim_doctor.core.secrets import redact

_STATUS_ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "error": "💥"}
_VERDICT_ICON = {
    Verdict.WILL_WORK: "✅",
    Verdict.WILL_FAIL: "❌",
    Verdict.UNKNOWN: "❔",
    Verdict.NOT_JUDGED_HERE: "🚧",
}
MAX_ANNOTATIONS = 200
"""More than this many lines of annotations help nobody; the summary table has the rest."""


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    return (environ if environ is not None else os.environ).get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int) -> str:
    """One workflow command line: `::name key=value,...::message`."""
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def _location(outcome: TargetOutcome) -> dict[str, str | int]:
    """file/line of the target's [[targets]] entry, when the config file is in the workspace."""
    if not outcome.source:
        return {}
    path, _, line = outcome.source.rpartition(":")
    if not line.isdigit() or not path:
        return {}
    file = Path(path)
    workspace = Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd()).resolve()
    try:
        relative = file.resolve().relative_to(workspace)
    except ValueError:
        return {}
    return {"file": relative.as_posix(), "line": int(line)}


def _finding_command(
    finding: Finding, title: str, where: Mapping[str, str | int], lead: str = ""
) -> str:
    kind = "error" if finding.severity is Severity.FAIL else "warning"
    message = f"{lead}{finding.message}\nFix: {finding.remediation}"
    return command(kind, message, title=title, **where)


def annotation_lines(fleet: FleetReport) -> list[str]:
    """The workflow commands for every fail/warn finding and every internal error."""
    lines: list[str] = []
    for outcome in fleet.targets:
        where = _location(outcome)
        name = outcome.name
        if outcome.report is None:
            lines.append(
                command("error", outcome.error or "internal error", title=f"{name}: scim-doctor")
            )
            continue
        root = outcome.report.root_cause(at_least=Severity.WARN)
        first = root[1] if root is not None else None
        if first is not None:  # what to fix first leads, named as such
            lead = "Root cause, fix this first: "
            lines.append(_finding_command(first, f"{name}: {first.code}", where, lead))
        for check in outcome.report.checks:
            if check.status is Status.ERROR:
                lines.append(
                    command("error", check.summary, title=f"{name}: {check.id} (internal)", **where)
                )
            for finding in check.findings:
                if finding.severity.rank < Severity.WARN.rank or finding is first:
                    continue
                lines.append(_finding_command(finding, f"{name}: {finding.code}", where))
        if outcome.repeat is not None:
            for stats in outcome.repeat.checks:
                if stats.failed:
                    lines.append(
                        command(
                            "error" if outcome.failing else "warning",
                            f"{stats.id} failed in {stats.failed} of {stats.runs} runs; "
                            f"{outcome.repeat.correlation}",
                            title=f"{name}: {stats.id} is flaky",
                            **where,
                        )
                    )
    if len(lines) > MAX_ANNOTATIONS:
        dropped = len(lines) - MAX_ANNOTATIONS
        lines = lines[:MAX_ANNOTATIONS]
        lines.append(command("warning", f"{dropped} more problems: see the job summary and logs"))
    return [redact(line) for line in lines]


def md_cell(text: str) -> str:
    """Text safe inside a Markdown table cell: no pipes, no line breaks, no raw HTML."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("\r", " ")
        .replace("\n", " ")
    )


def _idp_cell(outcome: TargetOutcome) -> str:
    """`Entra ID ❌ · Okta ✅`: each identity provider's verdict, the reasons being in the
    target's own report."""
    verdicts = outcome.report.idp_verdicts if outcome.report else ()
    marks = " · ".join(f"{md_cell(v.name)} {_VERDICT_ICON[v.verdict]}" for v in verdicts)
    return marks or "—"


def summary_markdown(fleet: FleetReport) -> str:
    """A heading and one table row per target (written here, not by the Markdown reporter)."""
    count = len(fleet.targets)
    failing = fleet.failing
    head = (
        f"### scim-doctor: {len(failing)} of {count} target{'s' if count != 1 else ''} failing"
        if failing
        else f"### scim-doctor: {count} target{'s' if count != 1 else ''}, none failing"
    )
    counts = ", ".join(f"{n} {status}" for status, n in fleet.counts.items() if n)
    with_idps = any(o.report and o.report.idp_verdicts for o in fleet.targets)
    lines = [
        head,
        "",
        f"{counts}; {fleet.duration_ms / 1000:.1f} s.",
        "",
        "| target | status | problems |" + (" identity providers |" if with_idps else ""),
        "|---|---|---|" + ("---|" if with_idps else ""),
    ]
    for outcome in fleet.targets:
        codes = outcome.problems()
        problems = ", ".join(f"`{code}`" for code in codes) if codes else ""
        if outcome.report is None:
            problems = md_cell(outcome.error or "internal error")
        if outcome.repeat is not None and outcome.repeat.problem_runs():
            problems += (
                f" ({outcome.repeat.problem_runs()} of {outcome.repeat.runs} runs had a problem)"
            )
        icon = _STATUS_ICON[outcome.status]
        row = f"| {md_cell(outcome.name)} | {icon} {outcome.status} | {problems or '—'} |"
        if with_idps:
            row += f" {_idp_cell(outcome)} |"
        lines.append(row)
    return redact("\n".join(lines) + "\n")


def write(fleet: FleetReport, stream: TextIO, environ: Mapping[str, str] | None = None) -> None:
    """Print the annotations on `stream` and append the table to $GITHUB_STEP_SUMMARY."""
    env = environ if environ is not None else os.environ
    for line in annotation_lines(fleet):
        stream.write(line + "\n")
    stream.flush()
    summary_path = env.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        try:
            with open(summary_path, "a", encoding="utf-8") as handle:
                handle.write(summary_markdown(fleet) + "\n")
        except OSError as exc:
            from scim_doctor.core.output import say

            say(f"scim-doctor: cannot append to $GITHUB_STEP_SUMMARY ({exc.strerror})")
