"""Which identity provider sends the writes the lifecycle check (--allow-writes) replays.

Each lifecycle code reports one operation; a provider's `writes` rule is broken by the codes of
the operations that provider sends, as its own documentation shows them:

- Entra ID (Microsoft Learn's SCIM tutorial, "SCIM protocol requests and responses"): creates
  users and groups, reads users by id and by `userName eq`, changes users with PATCH in its
  dialect (`Replace`, booleans as strings), deletes users and groups, adds members with its
  dialect and, with the aadOptscim062020 flag, the RFC form; it never sends PUT;
- Okta (its SCIM 2.0 reference): creates users, reads them by id and by `userName eq`, replaces
  them with PUT, deactivates them with a PATCH without a path, never deletes a user; pushes
  groups, changes their members with `add`, `remove` by filter and `replace`, deletes groups;
- JumpCloud's Test Connection creates a user and a group and deletes both, deactivating the user
  when DELETE is not supported (idp_others).

Only codes the catalogue rates `fail` break a rule (the same test the JumpCloud rule makes):
a `warn` is an RFC deviation or a provider quirk with a workaround on its side, such as Entra
ID's dialect, which its aadOptscim062020 flag replaces by the RFC form. A code's providers in
the catalogue are the ones this table gives for the demo fault that raises it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from scim_doctor.core.model import Finding, Severity, Status
from scim_doctor.scim.idp_common import as_mapping, finding_reason
from scim_doctor.scim.idp_model import Evaluate, Observed, RuleResult, broken, ok, unknown

ENTRA, OKTA, JUMPCLOUD = "entra", "okta", "jumpcloud"

SENT_BY: Final[Mapping[str, tuple[str, ...]]] = {
    "lifecycle.create_failed": (ENTRA, OKTA, JUMPCLOUD),
    "lifecycle.create_no_id": (ENTRA, OKTA, JUMPCLOUD),
    "lifecycle.get_failed": (ENTRA, OKTA),
    "lifecycle.filter_not_found": (ENTRA, OKTA),
    "lifecycle.put_failed": (OKTA,),
    "lifecycle.patch_method_not_allowed": (ENTRA, OKTA),
    "lifecycle.patch_okta_rejected": (OKTA,),
    "lifecycle.group_member_failed": (OKTA,),
    "lifecycle.group_members_replace_failed": (OKTA,),
    "lifecycle.unknown_member_server_error": (ENTRA, OKTA),
}
"""Code -> the providers that send the operation it reports (codes whose senders depend on
what failed are in `_senders`)."""

PATCH_DIALECT_SENDERS: Final[Mapping[str, tuple[str, ...]]] = {
    "patch_entra": (ENTRA,),
    "patch_okta": (OKTA,),
}
"""Who sends each PATCH dialect of the user, for a change answered with success but not
applied (Entra ID without the flag; Okta's deactivation). The RFC form is what standard
clients send; Entra ID sends it only with aadOptscim062020."""

DELETE_SENDERS: Final[Mapping[str, tuple[str, ...]]] = {
    "delete_user": (ENTRA,),
    "delete_member_user": (ENTRA,),
    "delete_group": (ENTRA, OKTA, JUMPCLOUD),
}
"""Who deletes what: Okta never deletes users; JumpCloud deactivates a user it cannot delete."""


_BY_STEP: Final[Mapping[str, Mapping[str, tuple[str, ...]]]] = {
    "lifecycle.patch_not_applied": PATCH_DIALECT_SENDERS,
    "lifecycle.delete_failed": DELETE_SENDERS,
}


def _senders(code: str, facts: Mapping[str, Any]) -> tuple[str, ...]:
    """The providers that send the request `code` was reported for in this run."""
    by_step = _BY_STEP.get(code)
    if by_step is None:
        return SENT_BY.get(code, ())
    failures = as_mapping(facts.get("failures"))
    return tuple(
        dict.fromkeys(
            idp
            for step, failed in failures.items()
            if failed == code
            for idp in by_step.get(str(step), ())
        )
    )


def blamed(observed: Observed, provider: str) -> list[Finding]:
    """The lifecycle's `fail` findings that report an operation `provider` sends."""
    facts = observed.facts("lifecycle")
    return [
        finding
        for finding in observed.findings("lifecycle")
        if finding.severity is Severity.FAIL and provider in _senders(finding.code, facts)
    ]


def broken_by(found: list[Finding], what: str) -> RuleResult:
    more = f" (and {len(found) - 1} more write problem(s))" if len(found) > 1 else ""
    return broken(f"{what}: {finding_reason(found[0])}{more}", *(f.code for f in found))


def writes(provider: str, name: str) -> Evaluate:
    """The writes `provider` sends are accepted and applied, when the run replayed them."""

    def evaluate(observed: Observed) -> RuleResult:
        lifecycle = observed.get("lifecycle")
        if lifecycle is None or lifecycle.status is Status.SKIP:
            why = lifecycle.summary if lifecycle is not None else "no lifecycle check"
            return ok(f"not replayed ({why}); --allow-writes replays the writes {name} sends")
        if lifecycle.status is Status.ERROR:
            return unknown("scim-doctor itself failed in the lifecycle check")
        found = blamed(observed, provider)
        if found:
            return broken_by(found, f"a write {name} sends fails")
        return ok(f"the writes {name} sends were accepted and applied")

    return evaluate
