"""What an identity-provider rule is: its source, its result, the observations it reads, profiles.

A rule is a pure function of the report's check results (`Observed`) to a `RuleResult`; it never
touches the network, so a rule whose observation is missing answers `unknown` with why and never
guesses `ok`. The per-provider rule tables (`idp_entra`, `idp_okta`, `idp_others`) and the
judging (`idp`) are built on these types, which live apart so neither imports the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from msgspec import Struct

from scim_doctor.core.model import (
    CheckResult,
    Finding,
    ReferenceKind,
    RuleStatus,
    Severity,
    Status,
)


class Source(Struct, frozen=True):
    """The document a rule comes from."""

    title: str
    url: str
    kind: ReferenceKind
    """idp: the provider's own documentation; advice: a field report or third-party guide; rfc."""


class RuleResult(Struct, frozen=True):
    """What one rule makes of the observations."""

    status: RuleStatus
    reason: str
    codes: tuple[str, ...] = ()
    """The finding codes behind a broken rule: the report's one verdict rule turns exactly
    these to fail, naming this rule's provider."""


def ok(reason: str) -> RuleResult:
    return RuleResult(RuleStatus.OK, reason)


def broken(reason: str, *codes: str) -> RuleResult:
    """The rule is broken by the findings `codes` name (at least one, so that the summary can
    say fail exactly when a provider will fail)."""
    return RuleResult(RuleStatus.BROKEN, clip(reason), tuple(dict.fromkeys(codes)))


def unknown(reason: str) -> RuleResult:
    return RuleResult(RuleStatus.UNKNOWN, clip(reason))


CONTEXT_CODES = frozenset({"auth.clock_skew"})
"""Findings a check reports beside its answers, about what surrounds them (two clocks that
disagree): a rule that breaks on an answer never names them, so they keep their own severity."""


class Observed:
    """The report's check results by id, with the questions rules ask of them."""

    def __init__(self, checks: Iterable[CheckResult]) -> None:
        self._by_id = {check.id: check for check in checks}

    def get(self, check_id: str) -> CheckResult | None:
        return self._by_id.get(check_id)

    def facts(self, check_id: str) -> Mapping[str, Any]:
        check = self._by_id.get(check_id)
        return check.facts if check is not None else {}

    def findings(self, check_id: str) -> tuple[Finding, ...]:
        check = self._by_id.get(check_id)
        return check.findings if check is not None else ()

    def codes(self, check_id: str) -> set[str]:
        return {finding.code for finding in self.findings(check_id)}

    def problem_codes(self, *check_ids: str) -> tuple[str, ...]:
        """Codes of the warn and fail findings of these checks, in order: what a rule that
        reads a check's facts (a status code, a count) trips on when it breaks. Codes about
        the run's surroundings (`CONTEXT_CODES`) are never what a status trips on."""
        return tuple(
            dict.fromkeys(
                finding.code
                for check_id in check_ids
                for finding in self.findings(check_id)
                if finding.severity is not Severity.INFO and finding.code not in CONTEXT_CODES
            )
        )

    def not_run(self, check_id: str) -> RuleResult | None:
        """`unknown` with the reason when the check did not run to a result, else None."""
        check = self._by_id.get(check_id)
        if check is None:
            return unknown(f"not observed: the {check_id} check is not in this report")
        if check.status is Status.SKIP:
            return unknown(f"not observed: the {check_id} check was skipped ({check.summary})")
        if check.status is Status.ERROR:
            return unknown(f"not observed: scim-doctor itself failed in the {check_id} check")
        return None


Evaluate = Callable[[Observed], RuleResult]


class Rule(Struct, frozen=True):
    """One documented requirement or behaviour of an identity provider."""

    id: str
    """`<profile key>.<snake_case>`; stable, it appears in the JSON report."""
    description: str
    source: Source
    evaluate: Evaluate

    @property
    def source_kind(self) -> ReferenceKind:
        return self.source.kind

    def check(self, checks: Sequence[CheckResult]) -> RuleResult:
        """Apply the rule to a report's check results."""
        return self.evaluate(Observed(checks))


class IdpProfile(Struct, frozen=True):
    """An identity provider, as its SCIM client behaves."""

    key: str
    name: str
    rules: tuple[Rule, ...]
    aliases: tuple[str, ...] = ()


def clip(text: str) -> str:
    """`text` on one line: reasons are read in a table row. Never cut: the reporters wrap it,
    and a cut reason can lose the cause (issue 17)."""
    return " ".join(text.split())
