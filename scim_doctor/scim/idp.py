"""Per-identity-provider verdicts: would Entra ID's, Okta's, ... connection work with this endpoint?

Each provider is a profile of rules taken from its own documentation where it publishes one
(source kind `idp`), else from the RFC or a third-party guide (`rfc`, `advice`); the source is
named with every rule. A rule replays what the provider does or requires — Entra ID's Test
Connection searches a random GUID userName and wants 200 with an empty ListResponse; Okta
refuses a base URL with `_` — against what this run's checks observed. Rules only read the
checks' statuses, finding codes and facts; they never touch the network, so a verdict is as good
as the observations behind it: a rule whose observation is missing says `unknown`, with why, and
never guesses `ok`.

A profile will work when every rule is ok, will fail when any rule is broken (the reasons are
the broken rules'), is not judged from here when a rule is broken only by a fault on this
machine's own path (TLS inspection, the local resolver: the provider does not take that path),
and is unknown otherwise.

This module judges: it holds every profile in report order, resolves a provider's name or alias,
and turns each profile's rule results into a verdict. What a rule is lives in `idp_model`, rules
several providers share in `idp_common`, and the rule tables in `idp_entra`, `idp_okta` and
`idp_others`; the names others use are re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import msgspec.structs

from scim_doctor.core.echo import shown
from scim_doctor.core.errors import InputError
from scim_doctor.core.findings import CATALOGUE
from scim_doctor.core.model import (
    CheckResult,
    IdpRuleResult,
    IdpVerdict,
    RuleStatus,
    Scope,
    Verdict,
)
from scim_doctor.scim.idp_entra import ENTRA
from scim_doctor.scim.idp_model import (
    IdpProfile,
    Observed,
    Rule,
    RuleResult,
    Source,
    broken,
    ok,
    unknown,
)
from scim_doctor.scim.idp_okta import OKTA
from scim_doctor.scim.idp_others import GOOGLE, JUMPCLOUD, ONELOGIN

__all__ = [
    "ENTRA",
    "GOOGLE",
    "JUMPCLOUD",
    "OKTA",
    "ONELOGIN",
    "PROFILES",
    "IdpProfile",
    "Observed",
    "Rule",
    "RuleResult",
    "Source",
    "broken",
    "ok",
    "resolve_idp_name",
    "unknown",
    "verdict",
    "verdicts",
]

PROFILES: tuple[IdpProfile, ...] = (ENTRA, OKTA, ONELOGIN, JUMPCLOUD, GOOGLE)
"""Every profile, in the order reports list them."""


# --- names and verdicts -------------------------------------------------------------------------


def _normal(name: str) -> str:
    return re.sub(r"[\s_]+", "-", name.strip().lower())


_BY_NAME: dict[str, str] = {
    _normal(alias): profile.key
    for profile in PROFILES
    for alias in (profile.key, profile.name, *profile.aliases)
}


def resolve_idp_name(name: str) -> str:
    """The profile key for a name or alias ("Azure AD", "aad", "entra-id" -> "entra")."""
    key = _BY_NAME.get(_normal(name))
    if key is None:
        choices = ", ".join(profile.key for profile in PROFILES)
        raise InputError(
            f"unknown identity provider {shown(name.strip(), quote=True)}: choose one of "
            f"{choices} (aliases such as azure, aad, entra-id and google-workspace work too)"
        )
    return key


def _result(rule: Rule, observed: Observed) -> IdpRuleResult:
    try:
        result = rule.evaluate(observed)
    except Exception as exc:  # a rule bug must not cost the report
        result = unknown(
            f"scim-doctor could not evaluate this rule ({type(exc).__name__}); please report it"
        )
    return IdpRuleResult(
        id=rule.id,
        description=rule.description,
        status=result.status,
        reason=result.reason,
        source=rule.source.title,
        source_url=rule.source.url,
        source_kind=rule.source.kind,
        codes=result.codes,
    )


def _judged_from_here(result: IdpRuleResult) -> IdpRuleResult:
    """A rule broken only by faults on this machine's own path (Scope.THIS_MACHINE: TLS
    inspection, the local resolver) says nothing of what the provider meets: not_judged_here."""
    if result.status is not RuleStatus.BROKEN or not result.codes:
        return result
    if not all(on_this_machine(code) for code in result.codes):
        return result
    return msgspec.structs.replace(
        result,
        status=RuleStatus.NOT_JUDGED_HERE,
        reason=f"on this machine's path, which the provider does not take: {result.reason}",
    )


def on_this_machine(code: str) -> bool:
    spec = CATALOGUE.get(code)
    return spec is not None and spec.scope is Scope.THIS_MACHINE


def verdict(profile: IdpProfile, checks: Sequence[CheckResult]) -> IdpVerdict:
    """One provider's verdict on a report's checks."""
    observed = Observed(checks)
    results = tuple(_judged_from_here(_result(rule, observed)) for rule in profile.rules)
    failing = [r for r in results if r.status is RuleStatus.BROKEN]
    hidden = [r for r in results if r.status is RuleStatus.NOT_JUDGED_HERE]
    open_ = [r for r in results if r.status is RuleStatus.UNKNOWN]
    if failing:
        outcome, deciding = Verdict.WILL_FAIL, failing
    elif hidden:
        outcome, deciding = Verdict.NOT_JUDGED_HERE, hidden
    elif open_:
        outcome, deciding = Verdict.UNKNOWN, open_
    else:
        outcome, deciding = Verdict.WILL_WORK, list(results)
    reasons = () if outcome is Verdict.WILL_WORK else tuple(r.reason for r in deciding)
    sources = tuple(dict.fromkeys((r.source, r.source_url) for r in deciding))
    return IdpVerdict(
        idp=profile.key,
        name=profile.name,
        verdict=outcome,
        reasons=reasons,
        sources=sources,
        rules=results,
    )


def verdicts(checks: Sequence[CheckResult], only: str | None = None) -> tuple[IdpVerdict, ...]:
    """Every profile's verdict, or only the one `only` names (a key or alias)."""
    key = resolve_idp_name(only) if only is not None else None
    return tuple(verdict(p, checks) for p in PROFILES if key is None or p.key == key)
