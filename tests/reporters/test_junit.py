"""The JUnit report: what CI servers see, validated against the junit-10 schema they read."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import msgspec.structs
import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scim_doctor.core import findings
from scim_doctor.core.model import CheckResult, Report, Severity, Status
from scim_doctor.core.secrets import Secret
from scim_doctor.reporters import junit
from tests.reporters import sample_reports
from tests.reporters.test_golden import check_golden

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "support" / "junit-10.xsd"


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA_PATH))


def parse(document: str) -> ET.Element:
    return ET.fromstring(document)  # noqa: S314 - our own output, not untrusted data


def assert_valid(schema: xmlschema.XMLSchema, document: str) -> ET.Element:
    errors = [str(error) for error in schema.iter_errors(document)]
    assert not errors, "\n".join(errors)
    return parse(document)


def case_of(root: ET.Element, check_id: str) -> ET.Element:
    found = root.find(f".//testcase[@classname='scim-doctor.{check_id}']")
    assert found is not None, check_id
    return found


def only(check: CheckResult) -> Report:
    return msgspec.structs.replace(sample_reports.healthy(), checks=(check,))


@pytest.mark.parametrize(
    ("name", "make", "fail_on"),
    [
        ("healthy.junit.xml", sample_reports.healthy, Severity.FAIL),
        ("failing.junit.xml", sample_reports.failing, Severity.FAIL),
        ("failing.junit-fail-on-warn.xml", sample_reports.failing, Severity.WARN),
    ],
)
def test_junit_output_matches_its_golden_file_and_the_schema(
    name: str, make: Any, fail_on: Severity, schema: xmlschema.XMLSchema
) -> None:
    document = junit.render_with(make(), fail_on)
    assert_valid(schema, document)
    check_golden(name, document)


def test_render_is_render_with_fail_on_fail() -> None:
    report = sample_reports.failing()
    assert junit.render(report) == junit.render_with(report, Severity.FAIL)


def test_an_expired_certificate_is_a_failure_naming_its_code_and_fix(
    schema: xmlschema.XMLSchema,
) -> None:
    root = assert_valid(schema, junit.render(sample_reports.failing()))
    failure = case_of(root, "tls").find("failure")
    assert failure is not None
    assert failure.get("message") == "tls.cert_expired"
    assert "expired on 2026-11-01T00:00:00Z" in (failure.text or "")
    assert "Fix: Renew the certificate" in (failure.text or "")


def test_a_warning_passes_by_default_with_its_findings_in_system_out(
    schema: xmlschema.XMLSchema,
) -> None:
    root = assert_valid(schema, junit.render(sample_reports.failing()))
    case = case_of(root, "url")
    assert case.find("failure") is None
    assert "url.endpoint_suffix" in (case.findtext("system-out") or "")


def test_a_warning_fails_the_testcase_when_ci_fails_on_warnings(
    schema: xmlschema.XMLSchema,
) -> None:
    root = assert_valid(schema, junit.render_with(sample_reports.failing(), Severity.WARN))
    failure = case_of(root, "url").find("failure")
    assert failure is not None and failure.get("message") == "url.endpoint_suffix"
    suite = root.find("testsuite")
    assert suite is not None and suite.get("failures") == "2"


def test_info_findings_never_fail_a_testcase_even_under_fail_on_warn() -> None:
    info = findings.make("url.trailing_slash", "the base URL ends with '/'")
    check = CheckResult("url", "Base URL", Status.PASS, 0.1, "checked", findings=(info,))
    root = parse(junit.render_with(only(check), Severity.WARN))
    assert case_of(root, "url").find("failure") is None
    assert "url.trailing_slash" in (case_of(root, "url").findtext("system-out") or "")


def test_a_skipped_check_carries_its_reason(schema: xmlschema.XMLSchema) -> None:
    root = assert_valid(schema, junit.render(sample_reports.failing()))
    skipped = case_of(root, "redirect").find("skipped")
    assert skipped is not None and skipped.get("message") == "requires tls, which failed"


def test_an_internal_error_is_an_error_not_a_failure(schema: xmlschema.XMLSchema) -> None:
    root = assert_valid(schema, junit.render(sample_reports.failing()))
    case = case_of(root, "discovery")
    error = case.find("error")
    assert case.find("failure") is None
    assert error is not None and "KeyError" in (error.get("message") or "")


def test_one_suite_per_target_with_counts_that_match_its_testcases() -> None:
    root = parse(junit.render(sample_reports.failing()))
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    cases = suite.findall("testcase")
    assert suite.get("name") == "https://scim.example.com/scim/v2"
    assert suite.get("tests") == str(len(cases)) == "7"
    assert suite.get("failures") == str(sum(c.find("failure") is not None for c in cases))
    assert suite.get("errors") == str(sum(c.find("error") is not None for c in cases)) == "1"
    assert suite.get("skipped") == str(sum(c.find("skipped") is not None for c in cases)) == "2"
    assert [c.get("time") for c in cases][:3] == ["0.000", "0.012", "0.020"]
    assert cases[0].get("name") == "Base URL"


def test_characters_xml_forbids_are_written_as_visible_escapes(
    schema: xmlschema.XMLSchema,
) -> None:
    message = "server said \x1b[31mno\x00 \ud800 \ufffe end"
    bad = findings.make("tls.handshake_failed", message)
    check = CheckResult("tls", "TLS", Status.FAIL, 1.0, "boom\x07", findings=(bad,))
    root = assert_valid(schema, junit.render(only(check)))
    text = case_of(root, "tls").findtext("failure") or ""
    assert "server said \\x1b[31mno\\x00 \\ud800 \\ufffe end" in text
    assert text.startswith("boom\\x07")


def test_a_token_in_any_value_is_redacted_before_xml_escaping_could_hide_it() -> None:
    token = "canary&junit<token>_8Wp"
    Secret(token)
    finding = findings.make("tls.cert_expired", f"echoed {token}")
    check = CheckResult("tls", f"title {token}", Status.FAIL, 1.0, token, findings=(finding,))
    document = junit.render(only(check))
    assert "8Wp" not in document
    assert "echoed [REDACTED]" in document


def test_a_demo_run_with_an_expired_certificate_gives_valid_junit(
    run_cli: Any, schema: xmlschema.XMLSchema
) -> None:
    result = run_cli("demo", "--fault", "expired_cert", "--format", "junit")
    assert result.exit_code == 1
    root = assert_valid(schema, result.stdout)
    failure = case_of(root, "tls").find("failure")
    assert failure is not None and failure.get("message") == "tls.cert_expired"
    assert case_of(root, "auth").find("skipped") is not None


ANY_TEXT = st.text(st.characters(), max_size=60)  # control characters and lone surrogates too


@settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(message=ANY_TEXT, summary=ANY_TEXT, title=ANY_TEXT, reason=ANY_TEXT, warn=st.booleans())
def test_any_text_in_a_report_gives_schema_valid_xml(
    message: str, summary: str, title: str, reason: str, warn: bool, schema: xmlschema.XMLSchema
) -> None:
    finding = findings.make("tls.handshake_failed", message)
    checks = (
        CheckResult("tls", title, Status.FAIL, 1.0, summary, findings=(finding,)),
        CheckResult("auth", title, Status.SKIP, 0.0, reason, skip_reason=reason),
        CheckResult("url", title, Status.WARN, 0.1, summary, findings=(finding,)),
    )
    report = msgspec.structs.replace(sample_reports.healthy(), checks=checks)
    document = junit.render_with(report, Severity.WARN if warn else Severity.FAIL)
    root = assert_valid(schema, document)
    failure = case_of(root, "tls").findtext("failure") or ""
    if message == junit.xml_text(message) and "\r" not in message:
        assert message in failure
