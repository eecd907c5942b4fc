"""Rules and helpers several identity providers share: reachability over TLS, the token, searches.

Every provider needs an https:// endpoint it can reach and a token the API accepts, and both
Entra ID and Okta search `userName eq "..."` before they create a user; the profiles name these
rules with their own sources, so the rule is written once here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from scim_doctor.core.findings import CATALOGUE
from scim_doctor.core.model import Finding, Severity, Status
from scim_doctor.scim.idp_model import Evaluate, Observed, RuleResult, broken, ok, unknown


def _title(code: str) -> str:
    spec = CATALOGUE.get(code)
    return spec.title if spec is not None else code


def first_finding(observed: Observed, check_id: str, codes: Iterable[str]) -> Finding | None:
    wanted = set(codes)
    return next((f for f in observed.findings(check_id) if f.code in wanted), None)


def finding_reason(finding: Finding) -> str:
    return f"{_title(finding.code)}: {finding.message}"


def settled_by_check(observed: Observed, check_id: str, codes: Iterable[str]) -> RuleResult | None:
    """The rule's verdict when the check alone decides it: unknown when the check did not run,
    broken (first finding's message as the reason) when it reported one of `codes`; else None,
    and the rule goes on to look at the check's facts."""
    missing = observed.not_run(check_id)
    if missing is not None:
        return missing
    found = first_finding(observed, check_id, codes)
    if found is not None:
        return broken(finding_reason(found), found.code)
    return None


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


REFUSED_IN_FRONT = (
    "tls.client_cert_required",
    "tls.client_cert_rejected",
    "auth.header_too_large",
    "auth.ip_not_allowed",
    "auth.waf_blocked",
    "auth.waf_blocks_token",
)
"""The auth check's codes for a request refused in front of the API (checks/auth_front.py):
when one stands it is why every rule reading the refused answers breaks, and the only reason."""


def refused_in_front(observed: Observed) -> Finding | None:
    return first_finding(observed, "auth", REFUSED_IN_FRONT)


def token_request(observed: Observed) -> Mapping[str, Any] | None:
    return as_mapping(as_mapping(observed.facts("auth").get("requests")).get("token")) or None


# --- rules every provider has -------------------------------------------------------------------


def https_reachable(covered: frozenset[str] = frozenset()) -> Evaluate:
    """The base URL is https://, its host resolves and connects, and its certificate verifies.

    `covered`: TLS finding codes a more specific rule of the same profile reports (Entra ID's
    key-size rule), so one cause is not given twice.
    """

    def evaluate(observed: Observed) -> RuleResult:
        scheme = observed.facts("url").get("scheme")
        if scheme == "http":
            return broken(
                "the base URL uses http://; the token and user data need https://",
                *observed.problem_codes("url", "tls"),
            )
        private = first_finding(observed, "dns", ["dns.private_address"])
        if private is not None:
            return broken(
                f"{private.message}; the provider connects from the internet (--reach internet)",
                private.code,
            )
        aside: list[str] = []
        proxy = observed.get("proxy")
        if proxy is not None and proxy.status is Status.FAIL:
            return broken(f"{proxy.title}: {proxy.summary}", *observed.problem_codes("proxy"))
        for check_id in ("dns", "connect", "tls"):
            missing = observed.not_run(check_id)
            check = observed.get(check_id)
            if missing is not None or check is None:
                return missing or unknown(f"not observed: the {check_id} check")
            if check.status is not Status.FAIL:
                continue
            failed = [f for f in check.findings if f.severity is Severity.FAIL]
            if failed and all(f.code in covered for f in failed):
                aside += [f.code for f in failed]
                continue
            return broken(
                f"{check.title}: {check.summary}",
                *([f.code for f in failed] or observed.problem_codes(check_id)),
            )
        protocol = observed.facts("tls").get("protocol") or "TLS"
        tls = observed.facts("tls")
        if tls.get("client_cert_required") and tls.get("client_cert_presented"):
            return unknown(
                "the server requires a client certificate, which this run presented (--cert); "
                "the provider documents no setting to present one, so its calls work only by "
                "a path that does not require it"
            )
        inspected = first_finding(observed, "tls", ["tls.intercepted_trusted"])
        if inspected is not None:
            return unknown(
                f"reached over {protocol} through TLS inspection: the certificate seen is the "
                "inspecting proxy's, the server's own was not seen from here"
            )
        if aside:
            return ok(f"reached over {protocol}; {', '.join(aside)} is judged by its own rule")
        return ok(f"reached over {protocol}; the certificate verifies")

    return evaluate


def token_accepted(observed: Observed) -> RuleResult:
    """GET /Users?startIndex=1&count=1 with the token gets past authentication."""
    auth = observed.get("auth")
    if auth is None:
        return unknown("not observed: the auth check is not in this report")
    request = token_request(observed)
    if request is None:
        why = auth.skip_reason or auth.summary
        return unknown(f"the token was not tried ({why})")
    status = as_int(request.get("status"))
    said = str(observed.facts("auth").get("authenticated_request") or "")
    if "auth.sso_login_page" in observed.codes("auth"):
        return broken(f"the token is not checked by the API: {said}", "auth.sso_login_page")
    front = refused_in_front(observed)
    if front is not None:
        return broken(said or finding_reason(front), front.code)
    node = first_finding(observed, "auth", ["auth.node_differs"])
    if node is not None:
        return broken(finding_reason(node), node.code)
    if status is not None and 200 <= status < 300:
        return ok(said or f"the token works ({status})")
    negatives = as_mapping(observed.facts("auth").get("requests"))
    refused = [
        r for k, r in negatives.items() if k != "token" and as_mapping(r).get("status") == 401
    ]
    if (
        status is not None
        and 400 <= status < 500
        and status not in (401, 403, 404, 429)
        and refused
    ):
        return ok(f"the token passed authentication (its request got {status}, others got 401)")
    return broken(
        said or f"GET /Users with the token answered {status}",
        *observed.problem_codes("auth", "redirect"),
    )


def codes_rule(check_id: str, codes: Sequence[str], fine: str) -> Evaluate:
    """Broken when the check reported any of these codes (first one's message as the reason)."""

    def evaluate(observed: Observed) -> RuleResult:
        return settled_by_check(observed, check_id, codes) or ok(fine)

    return evaluate


def user_filter(observed: Observed) -> RuleResult:
    """`userName eq "..."` finds exactly the user (searched before every create)."""
    codes = ("users.filter_unsupported", "users.filter_misses_user", "users.filter_ignored")
    settled = settled_by_check(observed, "users", codes)
    if settled is not None:
        return settled
    not_run = as_mapping(observed.facts("users").get("subchecks_not_run"))
    if "filter_userName" in not_run:
        return ok(
            f"userName eq searches are answered; one for an existing user was not tried "
            f"({not_run['filter_userName']})"
        )
    return ok("a userName eq search finds exactly the user")
