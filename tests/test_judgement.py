"""The one severity rule (scim/judgement.py): a finding is fail exactly when an identity provider
in scope will fail because of it; the summary and the provider table never disagree."""

from __future__ import annotations

from typing import Any

from scim_doctor.core import findings
from scim_doctor.core.model import (
    CheckResult,
    IdpRuleResult,
    IdpVerdict,
    ReferenceKind,
    RuleStatus,
    Severity,
    Status,
    Verdict,
)
from scim_doctor.scim import judgement
from tests.conftest import assert_one_verdict, assert_valid_report

DOC = ("Provider docs", "https://idp.example/docs")


def verdict(idp: str, outcome: Verdict, *codes: str) -> IdpVerdict:
    status = RuleStatus.BROKEN if outcome is Verdict.WILL_FAIL else RuleStatus.OK
    rule = IdpRuleResult(
        id=f"{idp}.rule",
        description="What the provider requires.",
        status=status,
        reason="observed",
        source=DOC[0],
        source_url=DOC[1],
        source_kind=ReferenceKind.IDP,
        codes=codes,
    )
    reasons = ("observed",) if outcome is not Verdict.WILL_WORK else ()
    return IdpVerdict(idp, idp.title(), outcome, reasons, (DOC,), (rule,))


def check(status: Status, *codes: str) -> CheckResult:
    made = tuple(findings.make(code, f"observed {code}") for code in codes)
    return CheckResult("users", "/Users listing", status, 1.0, "summary", findings=made)


def test_a_fail_no_provider_trips_on_is_a_warning_that_keeps_the_catalogues_fail() -> None:
    [judged] = judgement.apply(
        [check(Status.FAIL, "users.password_returned")], [verdict("okta", Verdict.WILL_WORK)]
    )
    [finding] = judged.findings
    assert (finding.severity, finding.catalogue_severity) == (Severity.WARN, Severity.FAIL)
    assert finding.affects == () and judged.status is Status.WARN


def test_a_warning_a_provider_trips_on_is_a_failure_naming_that_provider() -> None:
    [judged] = judgement.apply(
        [check(Status.WARN, "users.short_page")],
        [
            verdict("entra", Verdict.WILL_WORK),
            verdict("okta", Verdict.WILL_FAIL, "users.short_page"),
        ],
    )
    [finding] = judged.findings
    assert (finding.severity, finding.affects) == (Severity.FAIL, ("okta",))
    assert finding.catalogue_severity is Severity.WARN and judged.status is Status.FAIL


def test_a_failure_names_every_provider_whose_broken_rule_names_it_in_report_order() -> None:
    code = "users.not_list_response"
    verdicts = [verdict(key, Verdict.WILL_FAIL, code) for key in ("entra", "okta", "google")]
    [judged] = judgement.apply([check(Status.FAIL, code)], verdicts)
    assert judged.findings[0].affects == ("entra", "okta", "google")
    assert judged.findings[0].catalogue_severity is None


def test_strict_keeps_the_catalogues_fail_for_a_finding_no_provider_trips_on() -> None:
    [judged] = judgement.apply(
        [check(Status.FAIL, "users.password_returned")],
        [verdict("okta", Verdict.WILL_WORK)],
        strict=True,
    )
    assert judged.findings[0].severity is Severity.FAIL and judged.status is Status.FAIL


def test_a_run_cut_by_its_deadline_stays_a_failure_whatever_the_providers() -> None:
    [judged] = judgement.apply(
        [check(Status.FAIL, "run.deadline_exceeded")], [verdict("okta", Verdict.UNKNOWN)]
    )
    assert judged.findings[0].severity is Severity.FAIL and judged.status is Status.FAIL


def test_skipped_checks_keep_their_status() -> None:
    skipped = CheckResult("users", "/Users listing", Status.SKIP, 0.0, "requires auth")
    assert judgement.apply([skipped], [verdict("okta", Verdict.WILL_WORK)]) == (skipped,)


def demo_json(run_cli: Any, *args: str) -> tuple[int, Any]:
    result = run_cli("demo", *args, "--timeout", "2", "--format", "json")
    return result.exit_code, result.json()


def test_a_fault_only_entra_trips_on_fails_for_entra_and_is_a_warning_with_idp_okta(
    run_cli: Any, report_validator: Any
) -> None:
    """A body cut off mid-JSON for Accept: application/scim+json breaks Entra ID's calls; with
    --idp okta the providers in scope are Okta alone, and the run is no failure."""
    code, entra = demo_json(run_cli, "--fault", "truncated_json", "--idp", "entra")
    assert code == 1 and entra["summary"]["status"] == "fail"
    failing = [f for c in entra["checks"] for f in c["findings"] if f["severity"] == "fail"]
    assert [(f["code"], f["affects"]) for f in failing] == [("negotiation.not_json", ["entra"])]

    code, okta = demo_json(run_cli, "--fault", "truncated_json", "--idp", "okta")
    assert code == 0 and okta["summary"]["status"] == "warn"
    lowered = [
        f for c in okta["checks"] for f in c["findings"] if f["code"] == "negotiation.not_json"
    ]
    assert [(f["severity"], f["catalogue_severity"]) for f in lowered] == [("warn", "fail")]
    for report in (entra, okta):
        assert_valid_report(report_validator, report)
        assert_one_verdict(report)


def test_a_consequence_follows_its_cause_and_the_root_cause_is_the_cause() -> None:
    """A 0-based startIndex makes the ListResponse look inconsistent: the cause is listed first,
    the consequence names it, and the report's root cause is the cause."""
    from scim_doctor.core.model import Report, TargetInfo

    [judged] = judgement.apply(
        [
            check(
                Status.FAIL,
                "lifecycle.writes_made",
                "users.list_response_inconsistent",
                "users.zero_based_start_index",
            )
        ],
        [verdict("okta", Verdict.WILL_FAIL, "users.zero_based_start_index")],
    )
    assert [(f.code, f.caused_by) for f in judged.findings] == [
        ("users.zero_based_start_index", None),
        ("users.list_response_inconsistent", "users.zero_based_start_index"),
        ("lifecycle.writes_made", None),
    ]
    report = Report("0", TargetInfo("https://h.example/scim", "h.example", 443), "", 1.0, (judged,))
    root = report.root_cause()
    assert root is not None and (root[0], root[1].code) == ("users", "users.zero_based_start_index")


def test_a_checks_one_line_names_its_worst_finding_unless_it_already_does() -> None:
    """ "totalResults 3; 8 of 8 sub-checks ran" says nothing of what failed."""
    [judged] = judgement.apply(
        [check(Status.FAIL, "users.short_page", "users.not_list_response")],
        [verdict("okta", Verdict.WILL_FAIL, "users.not_list_response")],
    )
    assert judged.summary == "summary — users.not_list_response"
    [already] = judgement.apply(
        [
            CheckResult(
                "users", "/Users", Status.WARN, 1.0, "users.short_page seen",
                findings=(findings.make("users.short_page", "observed"),),
            )
        ],
        [verdict("okta", Verdict.WILL_WORK)],
    )  # fmt: skip
    assert already.summary == "users.short_page seen"


def test_two_equal_findings_of_one_check_both_stay_when_ordered() -> None:
    same = findings.make("users.short_page", "observed")
    assert judgement.ordered([same, same], {"users.short_page"}) == (same, same)
