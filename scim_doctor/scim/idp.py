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
the broken rules'), and is unknown otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scim_doctor.core.echo import shown
from scim_doctor.core.errors import InputError
from scim_doctor.core.findings import CATALOGUE
from scim_doctor.core.model import (
    CheckResult,
    Finding,
    IdpRuleResult,
    IdpVerdict,
    ReferenceKind,
    RuleStatus,
    Severity,
    Status,
    Verdict,
)

__all__ = [
    "PROFILES",
    "IdpProfile",
    "Observed",
    "Rule",
    "RuleResult",
    "Source",
    "resolve_idp_name",
    "verdicts",
]

SCIM_JSON = "application/scim+json"
RANDOM_GUID_FILTER = re.compile(
    r'^/Users\?filter=userName eq "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"$'
)
"""How the `users` check labels its search for a random GUID userName (Entra's Test Connection)."""
_REASON_CHARS = 240


# --- what a rule is -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """The document a rule comes from."""

    title: str
    url: str
    kind: ReferenceKind
    """idp: the provider's own documentation; advice: a field report or third-party guide; rfc."""


@dataclass(frozen=True)
class RuleResult:
    """What one rule makes of the observations."""

    status: RuleStatus
    reason: str


def ok(reason: str) -> RuleResult:
    return RuleResult(RuleStatus.OK, reason)


def broken(reason: str) -> RuleResult:
    return RuleResult(RuleStatus.BROKEN, _clip(reason))


def unknown(reason: str) -> RuleResult:
    return RuleResult(RuleStatus.UNKNOWN, _clip(reason))


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


@dataclass(frozen=True)
class Rule:
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


@dataclass(frozen=True)
class IdpProfile:
    """An identity provider, as its SCIM client behaves."""

    key: str
    name: str
    rules: tuple[Rule, ...]
    aliases: tuple[str, ...] = ()


# --- helpers shared by rules --------------------------------------------------------------------


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 1] + "…"


def _title(code: str) -> str:
    spec = CATALOGUE.get(code)
    return spec.title if spec is not None else code


def _first(observed: Observed, check_id: str, codes: Iterable[str]) -> Finding | None:
    wanted = set(codes)
    return next((f for f in observed.findings(check_id) if f.code in wanted), None)


def _finding_reason(finding: Finding) -> str:
    return f"{_title(finding.code)}: {finding.message}"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _token_request(observed: Observed) -> Mapping[str, Any] | None:
    return _mapping(_mapping(observed.facts("auth").get("requests")).get("token")) or None


# --- rules every provider has -------------------------------------------------------------------


def https_reachable(covered: frozenset[str] = frozenset()) -> Evaluate:
    """The base URL is https://, its host resolves and connects, and its certificate verifies.

    `covered`: TLS finding codes a more specific rule of the same profile reports (Entra ID's
    key-size rule), so one cause is not given twice.
    """

    def evaluate(observed: Observed) -> RuleResult:
        scheme = observed.facts("url").get("scheme")
        if scheme == "http":
            return broken("the base URL uses http://; the token and user data need https://")
        aside: list[str] = []
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
            return broken(f"{check.title}: {check.summary}")
        protocol = observed.facts("tls").get("protocol") or "TLS"
        if aside:
            return ok(f"reached over {protocol}; {', '.join(aside)} is judged by its own rule")
        return ok(f"reached over {protocol}; the certificate verifies")

    return evaluate


def token_accepted(observed: Observed) -> RuleResult:
    """GET /Users?startIndex=1&count=1 with the token gets past authentication."""
    auth = observed.get("auth")
    if auth is None:
        return unknown("not observed: the auth check is not in this report")
    request = _token_request(observed)
    if request is None:
        why = auth.skip_reason or auth.summary
        return unknown(f"the token was not tried ({why})")
    status = _int(request.get("status"))
    said = str(observed.facts("auth").get("authenticated_request") or "")
    if "auth.sso_login_page" in observed.codes("auth"):
        return broken(f"the token is not checked by the API: {said}")
    if status is not None and 200 <= status < 300:
        return ok(said or f"the token works ({status})")
    negatives = _mapping(observed.facts("auth").get("requests"))
    refused = [r for k, r in negatives.items() if k != "token" and _mapping(r).get("status") == 401]
    if (
        status is not None
        and 400 <= status < 500
        and status not in (401, 403, 404, 429)
        and refused
    ):
        return ok(f"the token passed authentication (its request got {status}, others got 401)")
    return broken(said or f"GET /Users with the token answered {status}")


def _codes_rule(check_id: str, codes: Sequence[str], fine: str) -> Evaluate:
    """Broken when the check reported any of these codes (first one's message as the reason)."""

    def evaluate(observed: Observed) -> RuleResult:
        missing = observed.not_run(check_id)
        if missing is not None:
            return missing
        found = _first(observed, check_id, codes)
        if found is not None:
            return broken(_finding_reason(found))
        return ok(fine)

    return evaluate


# --- Entra ID -----------------------------------------------------------------------------------

_ENTRA_URL = (
    "https://learn.microsoft.com/en-us/entra/identity/app-provisioning/"
    "use-scim-to-provision-users-and-groups"
)
_ENTRA_TITLE = (
    "Microsoft Learn: Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft "
    "Entra ID"
)


def _entra(section: str) -> Source:
    return Source(f"{_ENTRA_TITLE} — {section}", _ENTRA_URL, ReferenceKind.IDP)


def entra_tls12(observed: Observed) -> RuleResult:
    """TLS 1.2 with one of the ECDHE suites Entra lists (the tls check's capped handshakes)."""
    missing = observed.not_run("tls")
    if missing is not None:
        return missing
    check = observed.get("tls")
    tls = observed.facts("tls")
    supported = tls.get("tls12_supported")
    if supported is None:
        if check is not None and check.status is Status.FAIL:
            return unknown("not observed: the TLS handshake failed before TLS 1.2 was tried")
        return unknown("not observed: whether the server speaks TLS 1.2")
    if supported is False:
        return broken(
            f"TLS 1.2 is not offered: a handshake capped at TLS 1.2 was refused (the server "
            f"negotiates {tls.get('protocol') or 'another version'})"
        )
    suite = tls.get("tls12_ecdhe_suite")
    if not suite:
        return broken(
            f"none of Entra ID's TLS 1.2 suites (ECDHE with AES-GCM or AES-CBC-SHA256/384) is "
            f"accepted; TLS 1.2 works only with {tls.get('tls12_cipher')}"
        )
    return ok(f"TLS 1.2 works with {suite}")


def entra_key_size(observed: Observed) -> RuleResult:
    missing = observed.not_run("tls")
    if missing is not None:
        return missing
    weak = _first(observed, "tls", ["tls.weak_key"])
    if weak is not None:
        return broken(weak.message)
    chain = observed.facts("tls").get("chain")
    leaf = _mapping(chain[0]) if isinstance(chain, list) and chain else {}
    if not leaf:
        return unknown("not observed: the server's certificate")
    return ok(f"the certificate's key is {leaf.get('key')}")


def _random_search(observed: Observed) -> tuple[int | None, int | None] | None:
    """(status, users returned) of the users check's random-GUID userName search, if it ran."""
    facts = observed.facts("users")
    statuses = _mapping(facts.get("statuses"))
    sizes = _mapping(facts.get("page_sizes"))
    for label, status in statuses.items():
        if RANDOM_GUID_FILTER.match(str(label)):
            return _int(status), _int(sizes.get(label))
    return None


def entra_test_connection(observed: Observed) -> RuleResult:
    """Test Connection: `filter=userName eq "<random GUID>"` must get 200 and an empty list."""
    missing = observed.not_run("users")
    if missing is not None:
        return missing
    answer = _random_search(observed)
    if answer is None:
        not_run = _mapping(observed.facts("users").get("subchecks_not_run"))
        why = not_run.get("filter_no_match")
        return unknown(f"not observed{f': {why}' if why else ''}")
    status, users = answer
    asked = "a userName eq search for a random GUID (Test Connection)"
    if status is None:
        return broken(f"{asked} got no answer")
    if status != 200:
        return broken(f"{asked} answered {status}; Entra ID expects 200 with an empty ListResponse")
    not_list = _first(observed, "users", ["users.not_list_response"])
    if not_list is not None:
        return broken(f"{asked} got 200 without a SCIM ListResponse: {not_list.message}")
    if users is None:
        return broken(f"{asked} got 200 without a readable list of users")
    if users:
        return broken(f"{asked} returned {users} users instead of none (the filter is ignored)")
    return ok(f"{asked} got 200 with an empty ListResponse")


def entra_scim_json(observed: Observed) -> RuleResult:
    """Entra ID asks for application/scim+json and expects it back."""
    missing = observed.not_run("negotiation")
    if missing is not None:
        return missing
    responses = observed.facts("negotiation").get("responses")
    scim = next(
        (_mapping(r) for r in responses or [] if _mapping(r).get("accept") == SCIM_JSON), None
    )
    status = _int(scim.get("status")) if scim is not None else None
    rejected = _first(observed, "negotiation", ["negotiation.scim_json_rejected"])
    if rejected is not None:
        return broken(f"Accept: {SCIM_JSON} is refused ({status}): {rejected.message}")
    if scim is None:
        return unknown(f"not observed: the answer to Accept: {SCIM_JSON}")
    if status != 200:
        return broken(f"Accept: {SCIM_JSON} got {status if status is not None else 'no answer'}")
    for finding in observed.findings("negotiation"):
        bad_body = finding.code in ("negotiation.not_json", "negotiation.html_response")
        if bad_body and (SCIM_JSON in finding.message or "every Accept variant" in finding.message):
            return broken(f"Accept: {SCIM_JSON} got no SCIM JSON: {finding.message}")
    return ok(f"Accept: {SCIM_JSON} gets 200 with JSON ({scim.get('content_type')})")


def user_filter(observed: Observed) -> RuleResult:
    """`userName eq "..."` finds exactly the user (searched before every create)."""
    missing = observed.not_run("users")
    if missing is not None:
        return missing
    codes = ("users.filter_unsupported", "users.filter_misses_user", "users.filter_ignored")
    found = _first(observed, "users", codes)
    if found is not None:
        return broken(_finding_reason(found))
    not_run = _mapping(observed.facts("users").get("subchecks_not_run"))
    if "filter_userName" in not_run:
        return ok(
            f"userName eq searches are answered; one for an existing user was not tried "
            f"({not_run['filter_userName']})"
        )
    return ok("a userName eq search finds exactly the user")


ENTRA = IdpProfile(
    key="entra",
    name="Entra ID",
    aliases=(
        "entra-id",
        "entraid",
        "microsoft-entra",
        "microsoft-entra-id",
        "azure",
        "azure-ad",
        "azuread",
        "aad",
        "azure-active-directory",
    ),
    rules=(
        Rule(
            "entra.https",
            "The SCIM endpoint is served over HTTPS with a valid certificate.",
            _entra("General: support HTTPS on your SCIM endpoint"),
            https_reachable(covered=frozenset({"tls.weak_key"})),
        ),
        Rule(
            "entra.tls12",
            "TLS 1.2 with one of the listed ECDHE cipher suites (the only protocol Entra ID "
            "accepts).",
            _entra("Security requirements: TLS protocol versions and cipher suites"),
            entra_tls12,
        ),
        Rule(
            "entra.key_size",
            "Certificates use RSA keys of at least 2,048 bits or ECC keys of at least 256 bits.",
            _entra("Security requirements: key lengths"),
            entra_key_size,
        ),
        Rule(
            "entra.token",
            "A single bearer token authenticates Entra ID's requests.",
            _entra("Understand the Microsoft Entra SCIM implementation"),
            token_accepted,
        ),
        Rule(
            "entra.test_connection",
            "Test Connection queries a user that does not exist (a random GUID as the matching "
            "property) and expects HTTP 200 with an empty SCIM ListResponse.",
            _entra("Integrate your SCIM endpoint: Test Connection"),
            entra_test_connection,
        ),
        Rule(
            "entra.scim_json",
            "Requests ask for application/scim+json; responses are application/scim+json.",
            _entra("General: response Content-Type application/scim+json"),
            entra_scim_json,
        ),
        Rule(
            "entra.user_filter",
            'Users are queried with userName eq "..." (Entra ID uses only eq and and).',
            _entra("Retrieving resources and /Users"),
            user_filter,
        ),
    ),
)


# --- Okta ---------------------------------------------------------------------------------------

_OKTA_BUILD = (
    "Okta Developer: Build your SCIM API service",
    "https://developer.okta.com/docs/guides/scim-provisioning-integration-prepare/main/",
)
_OKTA_REFERENCE = (
    "Okta Developer: SCIM 2.0 Protocol Reference (Okta and SCIM Version 2.0)",
    "https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20",
)
_OKTA_SPEC_TEST = (
    "Okta Developer: Okta SCIM 2.0 Spec Test (Okta-SCIM-20-SPEC-Test.json, linked from "
    "Build your SCIM API service — Test your SCIM API)",
    "https://developer.okta.com/standards/SCIM/SCIMFiles/Okta-SCIM-20-SPEC-Test.json",
)


def _okta(document: tuple[str, str], section: str) -> Source:
    title, url = document
    return Source(f"{title} — {section}", url, ReferenceKind.IDP)


def okta_no_underscore(observed: Observed) -> RuleResult:
    missing = observed.not_run("url")
    if missing is not None:
        return missing
    facts = observed.facts("url")
    urls = [facts.get(key) for key in ("given_url", "checked_url")]
    with_underscore = next((u for u in urls if isinstance(u, str) and "_" in u), None)
    if with_underscore is not None:
        return broken(f"the base URL {with_underscore} contains '_', which Okta does not accept")
    found = _first(observed, "url", ["url.underscore_in_host"])
    if found is not None:
        return broken(found.message)
    return ok("the base URL has no '_'")


def okta_invalid_credentials_refused(observed: Observed) -> RuleResult:
    """Requests without a valid token get 401; `Authorization: non-token` a SCIM Error "401"."""
    auth = observed.get("auth")
    requests = _mapping(observed.facts("auth").get("requests"))
    if auth is None or not requests:
        why = (auth.skip_reason or auth.summary) if auth is not None else "no auth check"
        return unknown(f"not observed ({why})")
    labels = {
        "no_token": "without a token",
        "bogus_token": "with a random bearer token",
        "non_token": "with 'Authorization: non-token'",
    }
    for role, label in labels.items():
        request = _mapping(requests.get(role))
        status = _int(request.get("status"))
        if not request:
            continue
        if status is None:
            return unknown(f"GET /Users {label} got no answer")
        if 200 <= status < 300:
            return broken(f"GET /Users {label} answered {status}: the API is open to anyone")
        if status != 401:
            return broken(f"GET /Users {label} answered {status}, not 401")
    non_token = _mapping(requests.get("non_token"))
    if not non_token:
        return unknown("not observed: the request with 'Authorization: non-token'")
    problem = non_token.get("error_body_problem", "not observed")
    if problem == "not observed":
        return unknown("not observed: the body of the 401 to 'Authorization: non-token'")
    if problem is not None:
        return broken(f"the 401 to 'Authorization: non-token' is no SCIM Error: {problem}")
    return ok('requests without a valid token get 401 with a SCIM Error, "status": "401"')


def okta_first_page(observed: Observed) -> RuleResult:
    """GET /Users?count=1&startIndex=1: 200, a ListResponse, integer paging fields."""
    missing = observed.not_run("users")
    if missing is not None:
        return missing
    codes = (
        "users.paging_field_not_integer",
        "users.not_list_response",
        "users.missing_total_results",
    )
    found = _first(observed, "users", codes)
    if found is not None:
        return broken(_finding_reason(found))
    request = _token_request(observed)
    status = _int(request.get("status")) if request is not None else None
    if status is not None and status != 200:
        return broken(f"GET /Users?startIndex=1&count=1 answered {status}, not 200")
    if "list" not in (observed.facts("users").get("subchecks_ran") or []):
        return unknown("not observed: a readable first page of GET /Users")
    return ok(
        "the first page is a ListResponse with integer totalResults, startIndex, itemsPerPage"
    )


OKTA = IdpProfile(
    key="okta",
    name="Okta",
    rules=(
        Rule(
            "okta.https",
            "The SCIM API is secured with TLS: an https:// URL with a valid certificate.",
            _okta(_OKTA_BUILD, "API endpoints"),
            https_reachable(),
        ),
        Rule(
            "okta.no_underscore",
            "The base URL does not contain the underscore character.",
            _okta(_OKTA_BUILD, "Base URL"),
            okta_no_underscore,
        ),
        Rule(
            "okta.token",
            "Okta authenticates with the HTTP Authorization header (the bearer token).",
            _okta(_OKTA_BUILD, "Authentication"),
            token_accepted,
        ),
        Rule(
            "okta.invalid_credentials",
            "The API refuses anonymous access: 'Authorization: non-token' gets 401 with a SCIM "
            'Error whose status is "401".',
            _okta(_OKTA_SPEC_TEST, "requests without valid credentials"),
            okta_invalid_credentials_refused,
        ),
        Rule(
            "okta.first_page",
            "GET /Users?count=1&startIndex=1 answers 200 with a ListResponse; itemsPerPage, "
            "startIndex and totalResults are integers, not strings.",
            _okta(_OKTA_REFERENCE, "Retrieve Users"),
            okta_first_page,
        ),
        Rule(
            "okta.paging",
            "Imports page with startIndex and count=100 (startIndex+100 next) in a stable order.",
            _okta(_OKTA_REFERENCE, "Retrieve Users"),
            _codes_rule(
                "users",
                ("users.pagination_ignored", "users.zero_based_start_index", "users.short_page"),
                "startIndex and count are honoured",
            ),
        ),
        Rule(
            "okta.user_filter",
            'Before creating a user Okta searches filter=userName eq "..."; no match is an empty '
            "ListResponse (or 404).",
            _okta(_OKTA_REFERENCE, "Determine if the User already exists"),
            user_filter,
        ),
    ),
)


# --- OneLogin, JumpCloud, Google ----------------------------------------------------------------

_RFC7644_TLS = Source(
    "RFC 7644 §7.2 (TLS is required; TLS 1.2 must be supported)",
    "https://www.rfc-editor.org/rfc/rfc7644#section-7.2",
    ReferenceKind.RFC,
)
_ONELOGIN_TEST = Source(
    "OneLogin Developers: SCIM — Step 4. Test Your SCIM Implementation",
    "https://developers.onelogin.com/scim/test-your-scim",
    ReferenceKind.IDP,
)
_JUMPCLOUD = Source(
    "JumpCloud: Identity Management using a Custom SCIM Integration",
    "https://jumpcloud.com/support/provision-and-manage-users-and-groups-in-apps-using-custom-"
    "scim-identity-management-integration",
    ReferenceKind.IDP,
)
_GOOGLE_PROBE = Source(
    "authn.sh: SCIM 2.0 with Google Workspace (Google probes /Users?count=1 when auto-"
    "provisioning is turned on)",
    "https://authn-sh-docs.pages.dev/guides/scim/google-workspace/",
    ReferenceKind.ADVICE,
)


def jumpcloud_test_connection(observed: Observed) -> RuleResult:
    """Test Connection creates and deletes a test user and group: only a writing run replays it."""
    lifecycle = observed.get("lifecycle")
    if lifecycle is None or lifecycle.status is Status.SKIP:
        why = lifecycle.summary if lifecycle is not None else "no lifecycle check"
        return unknown(
            f"not replayed ({why}): Test Connection creates and deletes a test user and a test "
            "group"
        )
    if lifecycle.status is Status.ERROR:
        return unknown("scim-doctor itself failed in the lifecycle check")
    if lifecycle.status is Status.FAIL:
        return broken(f"creating or deleting a user or group failed: {lifecycle.summary}")
    return ok("users and groups can be created and deleted")


def google_first_call(observed: Observed) -> RuleResult:
    missing = observed.not_run("users")
    if missing is not None:
        return missing
    found = _first(observed, "users", ("users.not_list_response", "users.missing_total_results"))
    if found is not None:
        return broken(_finding_reason(found))
    statuses = _mapping(observed.facts("users").get("statuses"))
    status = _int(statuses.get("/Users?count=1"))
    if status is not None and status != 200:
        return broken(f"GET /Users?count=1 answered {status}, not 200")
    if "list" not in (observed.facts("users").get("subchecks_ran") or []):
        first = next((s for s in statuses.values() if s is not None), None)
        answered = f": GET /Users answered {first} to scim-doctor's request" if first else ""
        return unknown(f"not observed: a readable first page of GET /Users{answered}")
    return ok("GET /Users answers 200 with a ListResponse")


ONELOGIN = IdpProfile(
    key="onelogin",
    name="OneLogin",
    aliases=("one-login",),
    rules=(
        Rule(
            "onelogin.https",
            "The SCIM base URL is reachable over TLS with a valid certificate.",
            _RFC7644_TLS,
            https_reachable(),
        ),
        Rule(
            "onelogin.token",
            "The SCIM Bearer Token configured in the app is accepted (provisioning calls carry "
            "it).",
            _ONELOGIN_TEST,
            token_accepted,
        ),
    ),
)

JUMPCLOUD = IdpProfile(
    key="jumpcloud",
    name="JumpCloud",
    aliases=("jump-cloud",),
    rules=(
        Rule(
            "jumpcloud.https",
            "The SCIM base URL is reachable over TLS with a valid certificate.",
            _RFC7644_TLS,
            https_reachable(),
        ),
        Rule(
            "jumpcloud.token",
            "The service provider takes a SCIM API key or bearer token.",
            _JUMPCLOUD,
            token_accepted,
        ),
        Rule(
            "jumpcloud.test_connection",
            "Test Connection creates a test user and a test group and deletes both (or "
            "deactivates the user when DELETE is not supported).",
            _JUMPCLOUD,
            jumpcloud_test_connection,
        ),
    ),
)

GOOGLE = IdpProfile(
    key="google",
    name="Google Workspace",
    aliases=("google-workspace", "workspace", "gsuite", "g-suite", "cloud-identity"),
    rules=(
        Rule(
            "google.https",
            "The endpoint URL is reachable over TLS with a valid certificate.",
            _RFC7644_TLS,
            https_reachable(),
        ),
        Rule(
            "google.token",
            "The access token entered for auto-provisioning is accepted.",
            _GOOGLE_PROBE,
            token_accepted,
        ),
        Rule(
            "google.first_call",
            "Turning auto-provisioning on probes GET /Users?count=1 and expects 200 with a "
            "ListResponse.",
            _GOOGLE_PROBE,
            google_first_call,
        ),
    ),
)

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
    )


def verdict(profile: IdpProfile, checks: Sequence[CheckResult]) -> IdpVerdict:
    """One provider's verdict on a report's checks."""
    observed = Observed(checks)
    results = tuple(_result(rule, observed) for rule in profile.rules)
    failing = [r for r in results if r.status is RuleStatus.BROKEN]
    open_ = [r for r in results if r.status is RuleStatus.UNKNOWN]
    if failing:
        outcome, deciding = Verdict.WILL_FAIL, failing
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
