"""Entra ID's provisioning client as Microsoft documents it: TLS 1.2, key sizes, Test Connection.

The rules replay what Entra ID does against this run's observations: its Test Connection
searches a random GUID userName and wants 200 with an empty ListResponse, and it asks for
application/scim+json. Sources are sections of Microsoft Learn's SCIM tutorial.
"""

from __future__ import annotations

import re

from scim_doctor.core.model import ReferenceKind, Status
from scim_doctor.scim.idp_common import (
    as_int,
    as_mapping,
    first_finding,
    https_reachable,
    token_accepted,
    user_filter,
)
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
from scim_doctor.scim.idp_writes import writes

SCIM_JSON = "application/scim+json"
RANDOM_GUID_FILTER = re.compile(
    r'^/Users\?filter=userName eq "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"$'
)
"""How the `users` check labels its search for a random GUID userName (Entra's Test Connection)."""


_ENTRA_URL = (
    "https://learn.microsoft.com/en-us/entra/identity/app-provisioning/"
    "use-scim-to-provision-users-and-groups"
)
_ENTRA_TITLE = (
    "Microsoft Learn: Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft "
    "Entra ID"
)

NEGOTIATION_HTML_CODES = (
    "negotiation.html_response",
    "negotiation.spa_catch_all",
    "negotiation.login_page",
    "negotiation.server_default_page",
)
"""The codes of an HTML page answering instead of SCIM JSON, one per kind of page."""


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
            f"negotiates {tls.get('protocol') or 'another version'})",
            *observed.problem_codes("tls"),
        )
    suite = tls.get("tls12_ecdhe_suite")
    if not suite:
        return broken(
            f"none of Entra ID's TLS 1.2 suites (ECDHE with AES-GCM or AES-CBC-SHA256/384) is "
            f"accepted; TLS 1.2 works only with {tls.get('tls12_cipher')}",
            *observed.problem_codes("tls"),
        )
    return ok(f"TLS 1.2 works with {suite}")


def entra_key_size(observed: Observed) -> RuleResult:
    missing = observed.not_run("tls")
    if missing is not None:
        return missing
    weak = first_finding(observed, "tls", ["tls.weak_key"])
    if weak is not None:
        return broken(weak.message, weak.code)
    chain = observed.facts("tls").get("chain")
    leaf = as_mapping(chain[0]) if isinstance(chain, list) and chain else {}
    if not leaf:
        return unknown("not observed: the server's certificate")
    return ok(f"the certificate's key is {leaf.get('key')}")


def _random_search(observed: Observed) -> tuple[int | None, int | None] | None:
    """(status, users returned) of the users check's random-GUID userName search, if it ran."""
    facts = observed.facts("users")
    statuses = as_mapping(facts.get("statuses"))
    sizes = as_mapping(facts.get("page_sizes"))
    for label, status in statuses.items():
        if RANDOM_GUID_FILTER.match(str(label)):
            return as_int(status), as_int(sizes.get(label))
    return None


def entra_test_connection(observed: Observed) -> RuleResult:
    """Test Connection: `filter=userName eq "<random GUID>"` must get 200 and an empty list."""
    missing = observed.not_run("users")
    if missing is not None:
        return missing
    answer = _random_search(observed)
    if answer is None:
        not_run = as_mapping(observed.facts("users").get("subchecks_not_run"))
        why = not_run.get("filter_no_match")
        return unknown(f"not observed{f': {why}' if why else ''}")
    status, users = answer
    asked = "a userName eq search for a random GUID (Test Connection)"
    if status is None:
        return broken(f"{asked} got no answer", *observed.problem_codes("users"))
    if status != 200:
        named = "users.empty_filter_404" if status == 404 else None
        return broken(
            f"{asked} answered {status}; Entra ID expects 200 with an empty ListResponse",
            *([named] if named in observed.codes("users") else observed.problem_codes("users")),
        )
    not_list = first_finding(observed, "users", ["users.not_list_response"])
    if not_list is not None:
        return broken(
            f"{asked} got 200 without a SCIM ListResponse: {not_list.message}", not_list.code
        )
    if users is None:
        return broken(
            f"{asked} got 200 without a readable list of users", *observed.problem_codes("users")
        )
    if users:
        return broken(
            f"{asked} returned {users} users instead of none (the filter is ignored)",
            *observed.problem_codes("users"),
        )
    return ok(f"{asked} got 200 with an empty ListResponse")


def entra_scim_json(observed: Observed) -> RuleResult:
    """Entra ID asks for application/scim+json and expects it back."""
    missing = observed.not_run("negotiation")
    if missing is not None:
        return missing
    responses = observed.facts("negotiation").get("responses")
    scim = next(
        (as_mapping(r) for r in responses or [] if as_mapping(r).get("accept") == SCIM_JSON), None
    )
    status = as_int(scim.get("status")) if scim is not None else None
    rejected = first_finding(observed, "negotiation", ["negotiation.scim_json_rejected"])
    if rejected is not None:
        return broken(
            f"Accept: {SCIM_JSON} is refused ({status}): {rejected.message}", rejected.code
        )
    if scim is None:
        return unknown(f"not observed: the answer to Accept: {SCIM_JSON}")
    if status != 200:
        return broken(
            f"Accept: {SCIM_JSON} got {status if status is not None else 'no answer'}",
            *observed.problem_codes("negotiation"),
        )
    for finding in observed.findings("negotiation"):
        bad_body = finding.code in ("negotiation.not_json", *NEGOTIATION_HTML_CODES)
        if bad_body and (SCIM_JSON in finding.message or "every Accept variant" in finding.message):
            return broken(f"Accept: {SCIM_JSON} got no SCIM JSON: {finding.message}", finding.code)
    return ok(f"Accept: {SCIM_JSON} gets 200 with JSON ({scim.get('content_type')})")


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
        Rule(
            "entra.writes",
            "When writes are replayed (--allow-writes): creating, reading, PATCHing and deleting "
            "users and groups the way Entra ID sends them works and is applied.",
            _entra("SCIM protocol requests and responses"),
            writes("entra", "Entra ID"),
        ),
    ),
)
