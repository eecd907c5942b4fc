"""The JUnit XML report, for CI servers that turn test results into a red or green build.

One `<testsuite>` for the target, one `<testcase>` per check, so a CI dashboard shows which
check broke and keeps its history per check. It follows the junit-10.xsd dialect the Jenkins
xUnit plugin publishes, which GitLab and the GitHub test-report actions also read; the tests
validate every report against a stored copy.

What counts as a failure depends on `--fail-on`, as the exit code does: a warning fails the
testcase only when the run fails on warnings, so the CI page and the exit code never disagree.

A probe's message may quote anything a server sent, and XML 1.0 cannot carry every character
(control characters, lone surrogates, U+FFFE/U+FFFF): those are written as visible `\\xNN`
escapes rather than breaking the CI server's parser.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from scim_doctor.core.model import CheckResult, Finding, Report, Severity, Status
from scim_doctor.core.secrets import redact

_ILLEGAL_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _escape_illegal(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def xml_text(text: str) -> str:
    """`text` redacted, with every character XML 1.0 forbids replaced by a visible escape.

    Redacted here because the writer's redaction runs on the serialised XML, where `&amp;` and
    `\\x..` escapes could hide a token from it.
    """
    return _ILLEGAL_XML.sub(_escape_illegal, redact(text))


def _seconds(ms: float) -> str:
    return f"{max(ms, 0.0) / 1000:.3f}"


def _element(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _finding_block(finding: Finding) -> str:
    return (
        f"[{finding.severity.value}] {finding.code}: {finding.message}\n"
        f"  Fix: {finding.remediation}\n"
        f"  Reference ({finding.reference_kind.value}): {finding.reference}"
    )


def _blocks(findings: Iterable[Finding]) -> str:
    return "\n\n".join(_finding_block(f) for f in findings)


def _failing(check: CheckResult, fail_on: Severity) -> tuple[bool, list[Finding]]:
    """Whether the testcase fails under `fail_on`, and the findings that make it fail."""
    failing = [f for f in check.findings if f.severity.rank >= fail_on.rank]
    if check.status is Status.FAIL:
        return True, failing or [f for f in check.findings if f.severity is Severity.FAIL]
    if check.status in (Status.SKIP, Status.ERROR):
        return False, []
    return bool(failing), failing


def _testcase(suite: ET.Element, check: CheckResult, fail_on: Severity) -> str | None:
    """Add one testcase; return the outcome counted in the suite (failure/error/skipped)."""
    case = _element(
        suite,
        "testcase",
        classname=f"scim-doctor.{check.id}",
        name=check.title,
        time=_seconds(check.duration_ms),
    )
    if check.status is Status.SKIP:
        _element(case, "skipped", message=check.skip_reason or check.summary)
        return "skipped"
    fails, failing = _failing(check, fail_on)
    rest = [f for f in check.findings if f not in failing]
    if check.status is Status.ERROR:
        text = check.summary + (f"\n\n{_blocks(check.findings)}" if check.findings else "")
        _element(case, "error", text, message=check.summary, type="scim-doctor.internal_error")
        return "error"
    if not fails:
        _element(case, "system-out", check.summary + (f"\n\n{_blocks(rest)}" if rest else ""))
        return None
    codes = ", ".join(dict.fromkeys(f.code for f in failing)) or check.summary
    text = check.summary + (f"\n\n{_blocks(failing)}" if failing else "")
    _element(case, "failure", text, message=codes, type=f"scim-doctor.{check.status.value}")
    if rest:
        _element(case, "system-out", _blocks(rest))
    return "failure"


def _properties(suite: ET.Element, report: Report, fail_on: Severity) -> None:
    properties = _element(suite, "properties")
    pairs = [
        ("scim_doctor.version", report.tool_version),
        ("target.base_url", report.target.base_url),
        ("started_at", report.started_at),
        ("verdict", report.status.value),
        ("fail_on", fail_on.value),
    ]
    if (found := report.root_cause()) is not None:
        pairs.append(("root_cause", f"{found[0]}: {found[1].code}"))
    for key, value in report.environment.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        pairs.append((f"environment.{key}", shown))
    for name, value in pairs:
        _element(properties, "property", name=name, value=value)


def render_with(report: Report, fail_on: Severity) -> str:
    """The JUnit XML of `report`, failing the testcases that `--fail-on fail_on` would fail on."""
    root = ET.Element("testsuites", {"name": "scim-doctor"})
    suite = _element(root, "testsuite", name=report.target.base_url)
    _properties(suite, report, fail_on)
    outcomes = [_testcase(suite, check, fail_on) for check in report.checks]
    counts = {
        "tests": str(len(report.checks)),
        "failures": str(outcomes.count("failure")),
        "errors": str(outcomes.count("error")),
    }
    time = _seconds(report.duration_ms)
    root.attrib.update({**counts, "time": time})
    # Attribute order as CI tools print it: counts first, then timing and provenance.
    suite.attrib.update(
        {
            **counts,
            "skipped": str(outcomes.count("skipped")),
            "time": time,
            "timestamp": xml_text(report.started_at),
            "hostname": xml_text(report.target.host),
        }
    )
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def render(report: Report) -> str:
    """The JUnit XML of `report` under the default `--fail-on fail`."""
    return render_with(report, Severity.FAIL)
