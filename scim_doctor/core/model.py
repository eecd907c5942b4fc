"""The one result model every probe fills and every reporter reads.

Frozen records and enums only, no I/O: a report can be rebuilt from its JSON, compared in
tests and rendered by any reporter without any of them recomputing a verdict. Records are
`msgspec.Struct(frozen=True)` classes, like every record of the package: immutable, hashable
and compared by value as frozen dataclasses are, but built by msgspec's C code where
`dataclass()` compiles each class's methods with `exec` at import (~0.5 ms a class on Python
3.11; a check loads some 65 of them: issue 21's start-up).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from msgspec import Struct, field

SCHEMA_VERSION = "1.2"
"""1.1: the verdict not_judged_here and the finding's scope (docs/report-schema.md)."""


class Status(str, Enum):
    """Outcome of one check.

    FAIL/WARN say the endpoint is wrong; SKIP says we could not tell (with the reason); ERROR
    says scim-doctor itself broke and asks for a bug report.
    """

    PASS = "pass"  # noqa: S105 - a status, not a password
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"


class Severity(str, Enum):
    """How bad one finding is; ordered so `max()` gives the worst."""

    INFO = "info"
    WARN = "warn"
    FAIL = "fail"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARN: 1, Severity.FAIL: 2}


class ReferenceKind(str, Enum):
    """Where a finding's rule comes from, so a reader knows how binding it is."""

    RFC = "rfc"
    """A MUST/SHOULD of an RFC (7643, 7644, 5280, 8446, ...)."""
    IDP = "idp"
    """A documented requirement of an identity provider."""
    ADVICE = "advice"
    """Operational advice: not a standard, but what breaks in the field."""


class RequirementLevel(str, Enum):
    """How binding the rule behind a finding code is, so a reader can weigh a deviation:
    an RFC MUST is a bug whoever calls, an identity provider's rule only for that provider."""

    MUST = "must"
    """An RFC MUST, MUST NOT, REQUIRED, SHALL or SHALL NOT."""
    SHOULD = "should"
    """An RFC SHOULD or RECOMMENDED, or an RFC statement without a requirement keyword."""
    IDP = "idp"
    """A documented requirement of an identity provider."""
    ADVICE = "advice"
    """Field advice and hygiene: what breaks in practice, not a written requirement."""


class Scope(str, Enum):
    """Where the fault lies: on the endpoint every identity provider reaches, or only on this
    machine's own path to it."""

    ENDPOINT = "endpoint"
    THIS_MACHINE = "this_machine"
    """The admin's own path: a TLS-inspecting proxy, a local proxy, this machine's resolver, an
    allow-list or WAF that blocks this machine's address. The identity provider does not take
    that path, so the server itself may be fine: the run fails (it could not check the server
    from here) and the providers it hides read not_judged_here rather than will_fail."""


class Finding(Struct, frozen=True):
    """One thing wrong (or worth knowing) about the endpoint."""

    code: str
    """Stable identifier `<check id>.<snake_case>` (or `http.*`); part of the public interface."""
    severity: Severity
    """info, warn or fail."""
    message: str
    """What was observed, with the observed values."""
    remediation: str
    """How to fix it, in plain words."""
    reference: str
    """The rule's source: an RFC section, an IdP document, or the advice it rests on."""
    reference_kind: ReferenceKind
    """Whether `reference` is an RFC, an IdP requirement or advice."""
    affects: tuple[str, ...] = ()
    """The identity providers in scope (profile keys) whose connection this finding breaks:
    exactly those whose verdict it turns to will_fail. Non-empty if and only if the severity
    is fail (the one severity rule, README "Severity")."""
    caused_by: str | None = None
    """The code of the finding in the same report that explains this one (a 0-based startIndex
    makes the list look inconsistent): the cause is listed first and is the one to fix."""
    catalogue_severity: Severity | None = None
    """The catalogue's severity, when this run's rule changed it: fail lowered to warn because
    no provider in scope is affected (`--strict` keeps fail), or warn/info raised to fail
    because a provider trips on it."""
    scope: Scope = Scope.ENDPOINT
    """this_machine when the fault is on the admin's own path, not the endpoint's."""


class Exchange(Struct, frozen=True):
    """One HTTP request and its response as sent and seen, already redacted."""

    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    status: int | None
    """None when no response arrived (see `error`)."""
    http_version: str | None
    response_headers: tuple[tuple[str, str], ...]
    body_excerpt: str
    """The first bytes of the decoded body, as text, capped."""
    body_bytes: int
    """How many decoded body bytes were read (up to the cap)."""
    body_truncated: bool
    """True when the body was longer than what was read."""
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    """Per-phase timings (connect, tls, first_byte, total) in milliseconds."""
    error: str | None = None
    """Why no (complete) response arrived, if so."""
    started_at: str | None = None
    """ISO 8601 UTC time the request started (millisecond precision): HAR entries and the
    waterfall place the request in time with it."""


class CheckResult(Struct, frozen=True):
    """The outcome of one probe."""

    id: str
    """Stable check id (dns, connect, tls, ...); part of the public interface."""
    title: str
    status: Status
    duration_ms: float
    summary: str
    """One line saying what was found."""
    skip_reason: str | None = None
    """Why the check did not run (status skip only)."""
    findings: tuple[Finding, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)
    """What was observed: JSON-compatible values only."""
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    """Per-phase timings of this check in milliseconds (dns, connect, tls, first_byte, ...)."""
    exchanges: tuple[Exchange, ...] = ()


class RuleStatus(str, Enum):
    """How one identity provider's rule fares against what this run observed."""

    OK = "ok"
    BROKEN = "broken"
    UNKNOWN = "unknown"
    """The observation the rule needs is missing (its check was skipped or did not get there)."""
    NOT_JUDGED_HERE = "not_judged_here"
    """Broken only by findings on this machine's path (Scope.THIS_MACHINE): the provider does
    not take that path, so the rule cannot be judged from here."""


class Verdict(str, Enum):
    """Whether one identity provider's connection would work with this endpoint."""

    WILL_WORK = "will_work"
    WILL_FAIL = "will_fail"
    UNKNOWN = "unknown"
    NOT_JUDGED_HERE = "not_judged_here"
    """Nothing the provider meets is known broken, but this machine's own path (a TLS-inspecting
    proxy, a local resolver...) hid what it would meet: run from another network to judge."""


class IdpRuleResult(Struct, frozen=True):
    """One documented requirement of an identity provider, applied to this run's results."""

    id: str
    """Stable rule id `<idp>.<snake_case>` (entra.test_connection); part of the public interface."""
    description: str
    """What the identity provider requires, in one sentence."""
    status: RuleStatus
    """ok, broken, or unknown (its observation is missing)."""
    reason: str
    """What was observed: why the rule is broken or cannot be told, or what satisfies it."""
    source: str
    """Title of the document the rule comes from."""
    source_url: str
    """Where that document is (https)."""
    source_kind: ReferenceKind
    """idp for the provider's own documentation, advice for field reports, rfc for an RFC."""
    codes: tuple[str, ...] = ()
    """The finding codes that break this rule (status broken only): what the provider trips on."""


class IdpVerdict(Struct, frozen=True):
    """What one identity provider's connection test and rules make of this endpoint."""

    idp: str
    """Profile key: entra, okta, onelogin, jumpcloud, google."""
    name: str
    """The provider's name as people know it (Entra ID)."""
    verdict: Verdict
    """will_work when every rule is ok, will_fail when any is broken, not_judged_here when a
    rule is broken only by this machine's path, else unknown."""
    reasons: tuple[str, ...]
    """Why it will fail (the broken rules) or cannot be told (the unknown ones); empty when it
    will work."""
    sources: tuple[tuple[str, str], ...]
    """(title, URL) of the documents behind `reasons`, or behind every rule when it will work."""
    rules: tuple[IdpRuleResult, ...]
    """Every rule of the profile, in profile order."""


class TargetInfo(Struct, frozen=True):
    """The endpoint as the report names it."""

    base_url: str
    host: str
    port: int


class Report(Struct, frozen=True):
    """Everything one run found about one target."""

    tool_version: str
    target: TargetInfo
    started_at: str
    """ISO 8601 UTC timestamp of the start of the run."""
    duration_ms: float
    checks: tuple[CheckResult, ...]
    environment: Mapping[str, Any] = field(default_factory=dict)
    """Where the run came from: Python, OS, trust store, proxy, options that change results."""
    idp_verdicts: tuple[IdpVerdict, ...] = ()
    """Per identity provider: would its connection work (scim_doctor.idp; --idp limits it)."""

    def __repr__(self) -> str:
        """The target, the verdict and the checks' statuses, not the whole report: a field by
        field repr runs to ~60 KB with every body excerpt, and asyncio builds its run's task
        repr (whose result a report is) twice as the run ends (~1 ms, issue 21)."""
        statuses = ", ".join(f"{check.id}={check.status.value}" for check in self.checks)
        return f"Report({self.target.base_url!r}, {self.status.value}: {statuses})"

    @property
    def counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        for check in self.checks:
            counts[check.status.value] += 1
        return counts

    @property
    def status(self) -> Status:
        """The verdict: fail if any check failed or broke, warn if any warned, else pass."""
        statuses = {check.status for check in self.checks}
        if Status.FAIL in statuses or Status.ERROR in statuses:
            return Status.FAIL
        if Status.WARN in statuses:
            return Status.WARN
        return Status.PASS

    def findings(self) -> list[Finding]:
        return [finding for check in self.checks for finding in check.findings]

    def root_cause(self, at_least: Severity = Severity.INFO) -> tuple[str, Finding] | None:
        """(check id, finding) of what to fix first: the first finding at the report's worst
        severity, or the finding that explains it (`caused_by`, followed to its end); None when
        nothing at `at_least` or above was found (reporters ask for WARN: an info is no cause)."""
        found = [(check.id, f) for check in self.checks for f in check.findings]
        if not found or max(f.severity.rank for _, f in found) < at_least.rank:
            return None
        worst = max(f.severity.rank for _, f in found)
        by_code = {f.code: (c, f) for c, f in reversed(found)}
        cause = next((c, f) for c, f in found if f.severity.rank == worst)
        seen = {cause[1].code}
        while cause[1].caused_by in by_code and cause[1].caused_by not in seen:
            cause = by_code[cause[1].caused_by]
            seen.add(cause[1].code)
        return cause

    def problems(self, at_least: Severity) -> list[Finding]:
        """Findings at or above a severity, in check order."""
        return [f for f in self.findings() if f.severity.rank >= at_least.rank]
