"""Okta's SCIM client, as Okta documents it: no '_' in the base URL, 401s, integer paging fields.

Sources are Okta's guide to building a SCIM service, its SCIM 2.0 protocol reference and the
spec test it links; each rule names the section it replays.
"""

from __future__ import annotations

from scim_doctor.core.model import ReferenceKind
from scim_doctor.scim.idp_common import (
    as_int,
    as_mapping,
    codes_rule,
    first_finding,
    https_reachable,
    refused_in_front,
    settled_by_check,
    token_accepted,
    token_request,
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
        return broken(
            f"the base URL {with_underscore} contains '_', which Okta does not accept",
            *observed.problem_codes("url"),
        )
    found = first_finding(observed, "url", ["url.underscore_in_host"])
    if found is not None:
        return broken(found.message, found.code)
    return ok("the base URL has no '_'")


def okta_invalid_credentials_refused(observed: Observed) -> RuleResult:
    """Requests without a valid token get 401; `Authorization: non-token` a SCIM Error "401"."""
    auth = observed.get("auth")
    requests = as_mapping(observed.facts("auth").get("requests"))
    if auth is None or not requests:
        why = (auth.skip_reason or auth.summary) if auth is not None else "no auth check"
        return unknown(f"not observed ({why})")
    labels = {
        "no_token": "without a token",
        "bogus_token": "with a random bearer token",
        "non_token": "with 'Authorization: non-token'",
    }
    for role, label in labels.items():
        request = as_mapping(requests.get(role))
        status = as_int(request.get("status"))
        if not request:
            continue
        if status is None:
            return unknown(f"GET /Users {label} got no answer")
        if 200 <= status < 300:
            return broken(
                f"GET /Users {label} answered {status}: the API is open to anyone",
                *observed.problem_codes("auth"),
            )
        if status != 401:
            front = refused_in_front(observed)
            return broken(
                f"GET /Users {label} answered {status}, not 401",
                *((front.code,) if front else observed.problem_codes("auth", "redirect")),
            )
    non_token = as_mapping(requests.get("non_token"))
    if not non_token:
        return unknown("not observed: the request with 'Authorization: non-token'")
    problem = non_token.get("error_body_problem", "not observed")
    if problem == "not observed":
        return unknown("not observed: the body of the 401 to 'Authorization: non-token'")
    if problem is not None:
        return broken(
            f"the 401 to 'Authorization: non-token' is no SCIM Error: {problem}",
            *observed.problem_codes("auth"),
        )
    return ok('requests without a valid token get 401 with a SCIM Error, "status": "401"')


def okta_first_page(observed: Observed) -> RuleResult:
    """GET /Users?count=1&startIndex=1: 200, a ListResponse, integer paging fields."""
    codes = (
        "users.paging_field_not_integer",
        "users.not_list_response",
        "users.missing_total_results",
    )
    settled = settled_by_check(observed, "users", codes)
    if settled is not None:
        return settled
    request = token_request(observed)
    status = as_int(request.get("status")) if request is not None else None
    if status is not None and status != 200:
        return broken(
            f"GET /Users?startIndex=1&count=1 answered {status}, not 200",
            *observed.problem_codes("auth", "users", "negotiation"),
        )
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
            codes_rule(
                "users",
                (
                    "users.pagination_ignored",
                    "users.zero_based_start_index",
                    "users.short_page",
                    "users.deep_page_failed",
                ),
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
        Rule(
            "okta.writes",
            "When writes are replayed (--allow-writes): creating users, replacing them with PUT, "
            "deactivating them with PATCH, pushing groups and changing their members the way "
            "Okta sends them works and is applied.",
            _okta(_OKTA_REFERENCE, "SCIM User operations and SCIM Group operations"),
            writes("okta", "Okta"),
        ),
    ),
)
