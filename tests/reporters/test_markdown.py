"""The Markdown report: a support ticket or CI step summary that server text cannot break."""

from __future__ import annotations

from collections.abc import Callable

import msgspec.structs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scim_doctor.core import findings
from scim_doctor.core.model import CheckResult, Report, Scope, Status
from scim_doctor.core.secrets import Secret
from scim_doctor.reporters import markdown
from scim_doctor.reporters.text import impact as text_impact
from tests.reporters import sample_reports
from tests.reporters.test_golden import check_golden


def cells(row: str) -> list[str]:
    """The cells of a GFM table row, split on unescaped pipes (a backslash escapes one char)."""
    parts, current, i = [], "", 0
    while i < len(row):
        char = row[i]
        if char == "\\" and i + 1 < len(row):
            current += row[i : i + 2]
            i += 2
            continue
        if char == "|":
            parts.append(current)
            current = ""
        else:
            current += char
        i += 1
    parts.append(current)
    return [p.strip() for p in parts[1:-1]]


def table_rows(document: str) -> list[list[str]]:
    """The body rows of the first table (header and delimiter rows left out)."""
    lines = document.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| "))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("| "):
            break
        rows.append(cells(line))
    return rows


def only(check: CheckResult) -> Report:
    return msgspec.structs.replace(sample_reports.healthy(), checks=(check,), environment={})


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("healthy.markdown.md", sample_reports.healthy),
        ("failing.markdown.md", sample_reports.failing),
    ],
)
def test_markdown_output_matches_its_golden_file(name: str, make: Callable[[], Report]) -> None:
    check_golden(name, markdown.render(make()))


def test_the_verdict_comes_first_and_names_every_problem() -> None:
    lines = markdown.render(sample_reports.failing()).splitlines()
    verdict = next(line for line in lines if line.startswith("**Verdict"))
    assert verdict.startswith("**Verdict: ❌ fail** — 2 problems found: url.endpoint\\_suffix")
    assert lines.index(verdict) < next(i for i, line in enumerate(lines) if line.startswith("|"))


def test_the_table_has_one_row_per_check_with_status_time_and_summary() -> None:
    report = sample_reports.failing()
    rows = table_rows(markdown.render(report))
    assert [row[0].split()[0] for row in rows] == [f"`{c.id}`" for c in report.checks]
    assert rows[3] == [
        "`tls` TLS handshake and certificate",
        "❌ fail",
        "46 ms",
        "certificate expired 26 days ago",
    ]
    assert rows[4][1:3] == ["⏭️ skip", ""]


def test_each_finding_shows_its_fix_and_reference() -> None:
    document = markdown.render(sample_reports.failing())
    findings = document.split("### Findings", 1)[1]
    section = findings.split("`tls.cert_expired`", 1)[1].split("####", 1)[0]
    assert "**Fix:** Renew the certificate" in section
    assert "**Reference** (rfc): RFC 5280 §4.1.2.5 (validity)" in section


def test_skipped_checks_are_listed_with_their_reasons() -> None:
    document = markdown.render(sample_reports.failing())
    skipped = document.split("### Skipped checks", 1)[1].split("###", 1)[0]
    assert "- `redirect` Redirects: requires tls, which failed" in skipped
    assert "- `auth` Token authentication: requires tls, which failed" in skipped


def idp_rows(document: str) -> list[list[str]]:
    """The body rows of the identity-provider table."""
    return table_rows(document.split("### Identity providers", 1)[1])


def test_the_idp_table_follows_the_checks_table_with_each_verdict_and_why() -> None:
    document = markdown.render(sample_reports.failing())
    checks_end = document.index("| `discovery` Discovery endpoints")
    assert checks_end < document.index("### Identity providers") < document.index("### Findings")
    assert "| IdP | Verdict | Why |" in document
    assert idp_rows(document) == [
        [
            "Entra ID",
            "❌ will fail",
            "TLS handshake and certificate: certificate expired 26 days ago",
        ],
        [
            "Okta",
            "❌ will fail",
            "TLS handshake and certificate: certificate expired 26 days ago; the base URL "
            "https://scim\\_api.example.com/scim/v2 contains '\\_', which Okta does not accept",
        ],
    ]


def test_an_idp_that_will_work_has_no_reasons_and_an_unknown_one_says_what_is_missing() -> None:
    rows = idp_rows(markdown.render(sample_reports.healthy()))
    assert rows[0] == ["Entra ID", "✅ will work", "—"]
    assert rows[1][:2] == ["JumpCloud", "❔ unknown"]
    assert rows[1][2].startswith("not replayed (read-only run")


def test_a_run_without_idp_verdicts_has_no_idp_section() -> None:
    report = msgspec.structs.replace(sample_reports.failing(), idp_verdicts=())
    assert "Identity providers" not in markdown.render(report)


def test_an_idp_reason_cannot_break_its_table_or_inject_markup() -> None:
    """Given a reason quoting server text full of Markdown and HTML, then it stays one cell."""
    verdict = msgspec.structs.replace(
        sample_reports.FAILING_IDPS[0], reasons=("a|b <img src=x> @octocat\n# heading",)
    )
    report = msgspec.structs.replace(sample_reports.failing(), idp_verdicts=(verdict,))
    document = markdown.render(report)
    assert idp_rows(document) == [
        ["Entra ID", "❌ will fail", "a\\|b \\<img src=x\\> \\@octocat \\# heading"]
    ]
    assert "<img src=x>" not in document


def test_server_text_cannot_break_the_table_or_inject_markup() -> None:
    """Given a summary full of Markdown and HTML, then it stays one literal cell."""
    summary = "a|b <script>x</script> *bold* [link](http://x) @octocat\n# not a heading"
    document = markdown.render(only(CheckResult("auth", "Auth", Status.WARN, 1.0, summary)))
    row = table_rows(document)[-1]
    assert len(row) == 4
    assert row[3] == (
        "a\\|b \\<script\\>x\\</script\\> \\*bold\\* \\[link\\](http://x) \\@octocat "
        "\\# not a heading"
    )
    assert "<script>" not in document


def test_a_message_cannot_start_a_list_heading_or_quote() -> None:
    finding = findings.make("tls.cert_expired", "1. expired\n> quoted")
    check = CheckResult("tls", "TLS", Status.FAIL, 1.0, "- dash", findings=(finding,))
    document = markdown.render(only(check))
    assert "\n1\\. expired \\> quoted\n" in document
    assert table_rows(document)[-1][3] == "\\- dash"


def test_a_token_in_any_value_is_redacted_before_escaping_could_hide_it() -> None:
    token = "canary_md_token*9Qz|x"
    Secret(token)
    finding = findings.make("tls.cert_expired", f"echoed {token}")
    check = CheckResult("auth", "Auth", Status.FAIL, 1.0, f"got {token}", findings=(finding,))
    document = markdown.render(only(check))
    assert "9Qz" not in document
    assert "echoed \\[REDACTED\\]" in document


@settings(
    max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(summary=st.text(), title=st.text(), message=st.text())
def test_any_text_stays_inside_its_cell_and_paragraph(
    summary: str, title: str, message: str
) -> None:
    finding = findings.make("tls.cert_expired", message)
    check = CheckResult("tls", title, Status.FAIL, 1.0, summary, findings=(finding,))
    document = markdown.render(only(check))
    rows = table_rows(document)
    assert len(rows) == 1 and len(rows[0]) == 4
    assert "<" not in rows[0][3].replace("\\<", "")


def test_a_fault_on_this_machines_path_says_the_providers_are_not_judged_not_that_none_trips() -> (
    None
):
    """Markdown's and HTML's Impact read "no identity provider in scope trips on it" for a TLS
    inspection or an IP allow-list: true, but it hid why the run still failed."""
    found = findings.make("tls.intercepted", "Zscaler intercepts this network's HTTPS")
    assert found.scope is Scope.THIS_MACHINE

    said = text_impact(found, {})

    assert said is not None and "not judged from here" in said
    assert text_impact(findings.make("tls.untrusted_ca", "a private CA"), {}) is None
