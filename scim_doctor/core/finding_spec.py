"""What a catalogue entry is, and how a probe turns a code into a `Finding`.

Kept apart from `findings.py` so the catalogue stays a table a reader can scan: the rules for
building findings from it live here, the codes and their texts live there.
"""

from __future__ import annotations

from msgspec import Struct

from scim_doctor.core.model import Finding, ReferenceKind, RequirementLevel, Scope, Severity


class FindingSpec(Struct, frozen=True):
    """One catalogue entry."""

    code: str
    severity: Severity
    title: str
    """Short name of the problem."""
    why: str
    """Why it matters: what breaks for the identity provider."""
    fix: str
    """How to fix it, in plain words."""
    reference: str
    """RFC section, IdP document, or the field experience the advice rests on."""
    reference_kind: ReferenceKind
    level: RequirementLevel
    """How binding the rule behind the code is (must, should, idp, advice): a catalogued
    `info` is never `must`, and a `fail` no provider trips on rests on a `must`."""
    providers: tuple[str, ...] = ()
    """The identity providers (profile keys, in profile order) whose connection the code breaks
    where the demo raises it: the `affects` its finding gets when the provider rules trip on it.
    Empty for codes no provider rule names, or names only in some runs."""
    scope: Scope = Scope.ENDPOINT
    """this_machine for a fault on the admin's own path (its providers are then empty: no
    provider takes that path, see `Scope`)."""


class Catalogue(dict[str, FindingSpec]):
    """The codes by name, and the only way to build a finding from one.

    A plain dict to every reader (`CATALOGUE[code]`, `.get`, `.values()`), so severity,
    remediation and reference of every finding always come from the one table it holds.
    """

    def make(self, code: str, message: str, *, remediation: str | None = None) -> Finding:
        """Build a finding from the catalogue: `message` says what was observed, with values.

        `remediation` replaces the catalogue's fix when the observed values make a sharper one.
        """
        spec = self[code]
        return Finding(
            code=spec.code,
            severity=spec.severity,
            message=message,
            remediation=remediation or spec.fix,
            reference=spec.reference,
            reference_kind=spec.reference_kind,
            scope=spec.scope,
        )

    def merge_by_code(self, found: list[Finding]) -> list[Finding]:
        """One finding per code, its message naming every occurrence: a problem seen by several
        requests of one check is one problem, not several."""
        by_code: dict[str, list[str]] = {}
        for finding in found:
            messages = by_code.setdefault(finding.code, [])
            if finding.message not in messages:
                messages.append(finding.message)
        return [self.make(code, "; ".join(messages)) for code, messages in by_code.items()]
