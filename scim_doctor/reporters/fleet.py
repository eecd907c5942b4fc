"""Reports of many targets (and of `--repeat` series): text, JSON schema version 2, --quiet.

Each target's part is what the single-target reporters already say (the text section is
reporters/text.py's output, a JSON target carries the same check objects as version 1), so the
two never drift; this module adds only what belongs to the fleet: headings, the summary table,
the counts. docs/report-schema-v2.json is the JSON Schema; docs/report-schema.md the changelog.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from scim_doctor.core.errors import InputError
from scim_doctor.core.fleet import FleetReport, TargetOutcome
from scim_doctor.core.json_text import indented
from scim_doctor.core.model import Severity, Status
from scim_doctor.reporters import text as text_reporter
from scim_doctor.reporters.json import check_to_dict, idp_verdict_to_dict, root_cause_to_dict

SCHEMA_VERSION = "2.2"
WIDTH = text_reporter.PIPE_WIDTH
"""The text width unless the caller gives one (the CLI gives the terminal's)."""
FORMATS = ("text", "json", "junit", "markdown", "openmetrics", "har")
"""Formats a report of several targets can be written in (html shows one target)."""

_MARK = {"pass": "✓", "warn": "!", "fail": "✗", "error": "E"}


# --- JSON (schema version 2) ------------------------------------------------------------------


def target_to_dict(outcome: TargetOutcome) -> dict[str, Any]:
    report = outcome.report
    entry: dict[str, Any] = {
        "name": outcome.name,
        "base_url": outcome.base_url,
        "tags": list(outcome.tags),
        "idp": outcome.idp,
        "source": outcome.source,
        "fail_on": outcome.fail_on.value,
        "started_at": report.started_at if report else None,
        "duration_ms": report.duration_ms if report else None,
        "environment": dict(report.environment) if report else {},
        "error": outcome.error,
        "summary": {
            "status": outcome.status,
            "failing": outcome.failing,
            "counts": report.counts if report else {s.value: 0 for s in Status},
            "problems": outcome.problems(),
            "root_cause": root_cause_to_dict(report) if report else None,
        },
        "checks": [check_to_dict(c) for c in report.checks] if report else [],
        "idp_verdicts": [idp_verdict_to_dict(v) for v in report.idp_verdicts] if report else [],
    }
    if outcome.repeat is not None:
        from scim_doctor.reporters import repeat

        entry["repeat"] = repeat.to_dict(outcome.repeat)
    return entry


def fleet_to_dict(fleet: FleetReport) -> dict[str, Any]:
    document = fleet_to_dict_without_targets(fleet)
    document["targets"] = [target_to_dict(outcome) for outcome in fleet.targets]
    return document


def fleet_to_dict_without_targets(fleet: FleetReport) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "scim-doctor", "version": fleet.tool_version},
        "started_at": fleet.started_at,
        "duration_ms": fleet.duration_ms,
        "environment": dict(fleet.environment),
        "summary": {
            "status": fleet.status,
            "targets": len(fleet.targets),
            "counts": fleet.counts,
            "failing": fleet.failing,
        },
    }


def render_json(fleet: FleetReport) -> str:
    return "".join(json_chunks(fleet))


def json_chunks(fleet: FleetReport) -> Iterator[str]:
    """The JSON report in pieces, one per target, byte for byte what one `json.dumps` of the
    whole document gives: a report of hundreds of targets is never held as one string (nor
    redacted as one: 17 MB for 200 full checks made the run peak above 200 MiB)."""
    head = _dumps({**fleet_to_dict_without_targets(fleet), "targets": []})
    closing = '"targets": []\n}'  # "targets" is the last key
    if not fleet.targets or not head.endswith(closing):
        yield _dumps(fleet_to_dict(fleet)) + "\n"
        return
    yield head[: -len(closing)] + '"targets": [\n'
    for index, outcome in enumerate(fleet.targets):
        entry = "\n".join("    " + line for line in _dumps(target_to_dict(outcome)).split("\n"))
        yield entry + (",\n" if index < len(fleet.targets) - 1 else "\n")
    yield "  ]\n}\n"


def _dumps(value: Any) -> str:
    return indented(value, default=str)


# --- text -------------------------------------------------------------------------------------


def _heading(outcome: TargetOutcome, width: int = WIDTH) -> str:
    extra = f"  [{', '.join(outcome.tags)}]" if outcome.tags else ""
    title = f"── {outcome.name}{extra} "
    return title + "─" * max(3, width - len(title))


def target_text(
    outcome: TargetOutcome, *, color: bool = False, verbose: bool = False, width: int = WIDTH
) -> str:
    """One target's section: the single-target text report, or why there is none."""
    if outcome.report is None:
        body = f"scim-doctor — {outcome.base_url}\n\n{outcome.error}\n"
    else:
        body = text_reporter.render(outcome.report, color=color, verbose=verbose, width=width)
    if outcome.repeat is not None:
        from scim_doctor.reporters import repeat

        shown = outcome.repeat.shown_index + 1
        body = (
            repeat.render_text(outcome.repeat)
            + f"\nRun {shown} of {outcome.repeat.runs}, in full:\n\n"
            + body
        )
    return body


def summary_table(fleet: FleetReport) -> list[str]:
    counts = fleet.counts
    failing = fleet.failing
    lines = [
        f"Summary: {len(fleet.targets)} target{'s' if len(fleet.targets) != 1 else ''}, "
        f"{len(failing)} failing ({counts['pass']} pass, {counts['warn']} warn, "
        f"{counts['fail']} fail, {counts['error']} error) in {fleet.duration_ms / 1000:.1f} s",
        "",
    ]
    width = max([len("target"), *(len(o.name) for o in fleet.targets)])
    lines.append(f"  {'target':<{width}}  status  problems")
    for outcome in fleet.targets:
        problems = ", ".join(outcome.problems()) or ("-" if outcome.report else "internal error")
        mark = _MARK[outcome.status]
        lines.append(f"  {outcome.name:<{width}}  {mark} {outcome.status:<5} {problems}".rstrip())
    lines += idp_matrix(fleet)
    if failing:
        lines += ["", f"Failing: {', '.join(failing)}"]
    return lines


def idp_matrix(fleet: FleetReport) -> list[str]:
    """One row per target, one column per identity provider: ✓ will work, ✗ will fail,
    ~ not judged from here, ? unknown (blank: not evaluated for that target, e.g. its `idp`
    names another). The reasons are in each target's section; nothing when no target has a
    verdict."""
    names: dict[str, str] = {}
    for outcome in fleet.targets:
        for item in outcome.report.idp_verdicts if outcome.report else ():
            names.setdefault(item.idp, item.name)
    if not names:
        return []
    width = max([len("target"), *(len(o.name) for o in fleet.targets)])
    header = "  ".join(names.values())
    lines = ["", f"  {'target':<{width}}  {header}"]
    for outcome in fleet.targets:
        marks = {
            v.idp: text_reporter.VERDICT_WORDS[v.verdict][0]
            for v in (outcome.report.idp_verdicts if outcome.report else ())
        }
        cells = "  ".join(f"{marks.get(key, ''):<{len(name)}}" for key, name in names.items())
        lines.append(f"  {outcome.name:<{width}}  {cells}".rstrip())
    return lines


def render_text(
    fleet: FleetReport, *, color: bool = False, verbose: bool = False, width: int = WIDTH
) -> str:
    parts = []
    for outcome in fleet.targets:
        section = target_text(outcome, color=color, verbose=verbose, width=width)
        parts.append(_heading(outcome, width) + "\n" + section)
    parts.append("\n".join(summary_table(fleet)) + "\n")
    return "\n".join(parts)


def render_problems(fleet: FleetReport, *, with_names: bool = True) -> str:
    """--quiet: one line per problem (warn or above, internal errors), nothing when all is well."""
    lines = []
    for outcome in fleet.targets:
        prefix = f"{outcome.name}: " if with_names else ""
        if outcome.report is None:
            lines.append(f"{prefix}error: {outcome.error}")
            continue
        for check in outcome.report.checks:
            if check.status is Status.ERROR:
                lines.append(f"{prefix}error {check.id}: {check.summary}")
            for finding in check.findings:
                if finding.severity.rank >= Severity.WARN.rank:
                    lines.append(
                        f"{prefix}{finding.severity.value} {finding.code}: {finding.message}"
                    )
        if outcome.repeat is not None:
            for stats in outcome.repeat.checks:
                if stats.failed or stats.warned:
                    lines.append(
                        f"{prefix}{stats.id} failed in {stats.failed} and warned in "
                        f"{stats.warned} of {stats.runs} runs"
                    )
    return "".join(line.replace("\n", " ") + "\n" for line in lines)


# --- other formats: the single-target reporters per target, gathered ---------------------------


def render_junit(fleet: FleetReport) -> str:
    """One <testsuites> holding each target's suite, from the single-target JUnit reporter.

    Each target's testcases fail as its own `fail_on` says, like the exit code does.
    """
    import importlib
    import xml.etree.ElementTree as ET

    from scim_doctor.reporters import FORMATS as SINGLE_FORMATS

    try:
        junit = importlib.import_module(SINGLE_FORMATS["junit"])
    except ModuleNotFoundError:
        raise InputError("the junit format is not available in this version") from None
    root = ET.Element("testsuites", name="scim-doctor")
    totals = dict.fromkeys(("tests", "failures", "errors"), 0)
    time_s = 0.0
    for outcome in fleet.targets:
        if outcome.report is None:
            attrs = {"name": outcome.name, "tests": "1", "failures": "0", "errors": "1"}
            suite = ET.SubElement(root, "testsuite", {**attrs, "skipped": "0", "time": "0"})
            case = ET.SubElement(suite, "testcase", classname="scim-doctor", name=outcome.name)
            ET.SubElement(case, "error", message=outcome.error or "internal error")
            totals["tests"] += 1
            totals["errors"] += 1
            continue
        render_with = getattr(junit, "render_with", None)
        xml = (
            render_with(outcome.report, outcome.fail_on)
            if render_with is not None
            else junit.render(outcome.report)
        )
        document = ET.fromstring(xml)  # noqa: S314 - our own reporter's output, not input
        suites = [document] if document.tag == "testsuite" else document.findall("testsuite")
        for suite in suites:
            suite.set("name", f"{outcome.name} ({suite.get('name', outcome.base_url)})")
            for key in totals:
                totals[key] += int(suite.get(key) or 0)
            time_s += float(suite.get("time") or 0)
            root.append(suite)
    root.attrib.update({key: str(value) for key, value in totals.items()})
    root.set("time", f"{time_s:.3f}")
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def render_markdown(fleet: FleetReport) -> str:
    """The summary table, then each target's Markdown report under its name."""
    from scim_doctor.reporters import github as ci_github
    from scim_doctor.reporters import renderer

    single = _renderer("markdown", renderer)
    parts = [ci_github.summary_markdown(fleet)]
    for outcome in fleet.targets:
        section = single(outcome.report) if outcome.report else f"{outcome.error}\n"
        parts.append(f"## {ci_github.md_cell(outcome.name)}\n\n{section}")
    return "\n".join(parts)


def _renderer(name: str, lookup: Callable[[str], Callable[[Any], str]]) -> Callable[[Any], str]:
    try:
        return lookup(name)
    except ModuleNotFoundError:
        raise InputError(f"the {name} format is not available in this version") from None


def render_har(fleet: FleetReport) -> str:
    """One HAR archive for the whole fleet: a page per target (its name), its entries under it."""
    from scim_doctor.reporters import har

    pages = [
        har.page_and_entries(outcome.report, outcome.name)
        for outcome in fleet.targets
        if outcome.report is not None
    ]
    return har.archive(pages, fleet.tool_version)


def render(
    fleet: FleetReport,
    output_format: str,
    *,
    color: bool = False,
    verbose: bool = False,
    width: int = WIDTH,
) -> str | Iterator[str]:
    """A fleet report in one of FORMATS (JSON in pieces: see `json_chunks`)."""
    if output_format == "text":
        return render_text(fleet, color=color, verbose=verbose, width=width)
    if output_format == "json":
        return json_chunks(fleet)
    if output_format == "junit":
        return render_junit(fleet)
    if output_format == "markdown":
        return render_markdown(fleet)
    if output_format == "openmetrics":
        from scim_doctor.reporters import openmetrics

        return openmetrics.render_fleet(fleet)
    if output_format == "har":
        return render_har(fleet)
    raise InputError(
        f"the {output_format} format shows one target: choose one with --target NAME, or use "
        f"{', '.join(FORMATS)}"
    )
