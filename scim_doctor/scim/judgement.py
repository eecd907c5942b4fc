"""The one severity rule: a finding is `fail` exactly when an identity provider in scope will fail
because of it, so the summary and the provider table can never disagree.

The catalogue gives each code the severity it has when it breaks provisioning; the run decides
whether it did. Every broken provider rule names the finding codes that break it
(`RuleResult.codes`); after the verdicts are made, each finding is rewritten:

- named by a broken rule of a provider in scope: `fail`, with those providers in `affects`;
- catalogued `fail` but named by no provider in scope: lowered to `warn` (it breaks an RFC
  MUST, is a security hole, or will break later; `catalogue_severity` keeps what the catalogue
  says),
  unless `--strict` asks for the catalogue's severity;
- `warn` and `info` stay as they are;
- `run.*` findings (the run itself could not finish: its deadline cut the checks) are never
  lowered: no provider can be judged from a run that did not get there, and CI must notice.
- findings on this machine's own path (`Scope.THIS_MACHINE`: TLS inspection, the local
  resolver) are never lowered either: the run could not check the server from here, and the
  providers they hide read not_judged_here (scim/idp.py), not will_fail.

A check's status follows its findings (fail, else warn, else pass); skipped and broken checks
keep theirs. So the report's status is `fail` if and only if at least one provider in scope will
fail, or the run could not judge the server from here (its deadline, this machine's path), or
scim-doctor itself broke; and a finding's `affects` lists exactly the providers whose
verdict it turns to will_fail.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec.structs

from scim_doctor.core.model import (
    CheckResult,
    Finding,
    IdpVerdict,
    RuleStatus,
    Scope,
    Severity,
    Status,
    Verdict,
)
from scim_doctor.scim.causes import cause_of

UNJUDGED = "run."
"""Codes about the run rather than the endpoint: they keep the catalogue's severity."""


def blamed_codes(verdicts: Sequence[IdpVerdict]) -> dict[str, tuple[str, ...]]:
    """Finding code -> the providers (in report order) whose broken rules name it."""
    blamed: dict[str, dict[str, None]] = {}
    for verdict in verdicts:
        if verdict.verdict is not Verdict.WILL_FAIL:
            continue
        for rule in verdict.rules:
            if rule.status is RuleStatus.BROKEN:
                for code in rule.codes:
                    blamed.setdefault(code, {})[verdict.idp] = None
    return {code: tuple(idps) for code, idps in blamed.items()}


def judged(finding: Finding, affects: tuple[str, ...], *, strict: bool) -> Finding:
    """`finding` with the severity the rule gives it in this run."""
    if affects:
        raised = None if finding.severity is Severity.FAIL else finding.severity
        return msgspec.structs.replace(
            finding, severity=Severity.FAIL, affects=affects, catalogue_severity=raised
        )
    unjudged = finding.code.startswith(UNJUDGED) or finding.scope is Scope.THIS_MACHINE
    if finding.severity is Severity.FAIL and not strict and not unjudged:
        return msgspec.structs.replace(
            finding, severity=Severity.WARN, catalogue_severity=Severity.FAIL
        )
    return finding


def _status(check: CheckResult, findings: tuple[Finding, ...]) -> Status:
    if check.status not in (Status.PASS, Status.WARN, Status.FAIL) or not findings:
        return check.status
    worst = max((f.severity for f in findings), key=lambda s: s.rank)
    return {Severity.FAIL: Status.FAIL, Severity.WARN: Status.WARN}.get(worst, Status.PASS)


def ordered(findings: Sequence[Finding], present: set[str]) -> tuple[Finding, ...]:
    """Each finding linked to its cause (scim/causes.py) and placed right after it, causes by
    severity: the first finding a reader meets is the one to fix, its consequences next."""
    linked = [
        msgspec.structs.replace(f, caused_by=cause) if (cause := cause_of(f.code, present)) else f
        for f in findings
    ]
    by_severity = sorted(linked, key=lambda f: -f.severity.rank)
    here = {f.code for f in linked}
    placed: list[int] = []  # positions in by_severity: two equal findings stay two

    def place(index: int) -> None:
        placed.append(index)
        for other, consequence in enumerate(by_severity):
            if consequence.caused_by == by_severity[index].code and other not in placed:
                place(other)

    for index, finding in enumerate(by_severity):
        if finding.caused_by not in here and index not in placed:
            place(index)
    placed += [index for index in range(len(by_severity)) if index not in placed]
    return tuple(by_severity[index] for index in placed)


def apply(
    checks: Sequence[CheckResult], verdicts: Sequence[IdpVerdict], *, strict: bool = False
) -> tuple[CheckResult, ...]:
    """The checks with every finding's severity, `affects` and every check's status set by the
    one rule above, and findings linked to their causes and ordered cause first."""
    blamed = blamed_codes(verdicts)
    present = {f.code for check in checks for f in check.findings}
    judged_checks = []
    for check in checks:
        findings = ordered(
            [judged(f, blamed.get(f.code, ()), strict=strict) for f in check.findings], present
        )
        summary = _naming_worst(check.summary, findings)
        if findings == check.findings and summary == check.summary:
            judged_checks.append(check)
            continue
        judged_checks.append(
            msgspec.structs.replace(
                check, findings=findings, status=_status(check, findings), summary=summary
            )
        )
    return tuple(judged_checks)


def _naming_worst(summary: str, findings: Sequence[Finding]) -> str:
    """The check's one line, naming its worst finding when it does not already: "totalResults
    3; 8 of 8 sub-checks ran" says nothing of what failed."""
    problems = [f for f in findings if f.severity is not Severity.INFO]
    if not problems or problems[0].code in summary:
        return summary
    return f"{summary} — {problems[0].code}"
