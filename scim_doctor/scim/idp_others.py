"""OneLogin, JumpCloud and Google Workspace: providers that document little beyond TLS and a token.

Their profiles are short because their documentation is: the RFC's TLS requirement, the token,
and what each one's test or first call is known to do (JumpCloud's Test Connection writes;
Google's auto-provisioning probes GET /Users?count=1, from a third-party guide).
"""

from __future__ import annotations

from scim_doctor.core.model import ReferenceKind, Status
from scim_doctor.scim.idp_common import (
    as_int,
    as_mapping,
    https_reachable,
    settled_by_check,
    token_accepted,
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
from scim_doctor.scim.idp_writes import blamed, broken_by

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
    """Test Connection creates and deletes a test user and group: only a writing run replays it.
    A user it cannot delete it deactivates, so only the group's DELETE counts."""
    lifecycle = observed.get("lifecycle")
    if lifecycle is None or lifecycle.status is Status.SKIP:
        why = lifecycle.summary if lifecycle is not None else "no lifecycle check"
        return unknown(
            f"not replayed ({why}): Test Connection creates and deletes a test user and a test "
            "group"
        )
    if lifecycle.status is Status.ERROR:
        return unknown("scim-doctor itself failed in the lifecycle check")
    found = blamed(observed, "jumpcloud")
    if found:
        return broken_by(found, "creating or deleting a user or group failed")
    return ok("users and groups can be created and deleted")


def google_first_call(observed: Observed) -> RuleResult:
    codes = ("users.not_list_response", "users.missing_total_results")
    settled = settled_by_check(observed, "users", codes)
    if settled is not None:
        return settled
    statuses = as_mapping(observed.facts("users").get("statuses"))
    status = as_int(statuses.get("/Users?count=1"))
    if status is not None and status != 200:
        return broken(
            f"GET /Users?count=1 answered {status}, not 200",
            *observed.problem_codes("auth", "users", "negotiation"),
        )
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
