"""The demo's discovery documents: ServiceProviderConfig, ResourceTypes and Schemas.

Static text but for their `meta` (location under the base URL the client used, the server's
start time) and the advertised page size: the app passes those in, so these documents hold
no state and read like the RFC 7643 §5-§7 examples they follow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from scim_doctor.demo.scim_kinds import KINDS
from scim_doctor.demo.scim_wire import (
    ENTERPRISE_USER,
    GROUP,
    LIST_RESPONSE,
    RESOURCE_TYPE,
    SCHEMA,
    SERVICE_PROVIDER_CONFIG,
    USER,
    Json,
)

Meta = Callable[[str, str], Json]
"""Makes a document's `meta` from its resource type and its path below the base URL."""


def _attribute(
    name: str,
    description: str,
    type_: str = "string",
    *,
    multi: bool = False,
    required: bool = False,
    case_exact: bool = False,
    mutability: str = "readWrite",
    returned: str = "default",
    uniqueness: str = "none",
    sub: tuple[Json, ...] = (),
    reference_types: tuple[str, ...] = (),
    canonical: tuple[str, ...] = (),
) -> Json:
    """One attribute definition as RFC 7643 §7 describes it."""
    definition: Json = {
        "name": name,
        "type": type_,
        "multiValued": multi,
        "description": description,
        "required": required,
        "caseExact": case_exact,
        "mutability": mutability,
        "returned": returned,
        "uniqueness": uniqueness,
    }
    if sub:
        definition["subAttributes"] = list(sub)
    if reference_types:
        definition["referenceTypes"] = list(reference_types)
    if canonical:
        definition["canonicalValues"] = list(canonical)
    return definition


_USER_ATTRIBUTES: Final = [
    _attribute(
        "userName",
        "Unique identifier for the User, typically used to sign in.",
        required=True,
        uniqueness="server",
    ),
    _attribute(
        "name",
        "The components of the user's real name.",
        "complex",
        sub=(
            _attribute("formatted", "The full name, formatted for display."),
            _attribute("familyName", "The family name of the User."),
            _attribute("givenName", "The given name of the User."),
        ),
    ),
    _attribute("displayName", "The name of the User, suitable for display to end-users."),
    _attribute("title", "The user's title, such as 'Vice President'."),
    _attribute("active", "The User's administrative status.", "boolean"),
    _attribute(
        "password",
        "The User's cleartext password; never returned.",
        mutability="writeOnly",
        returned="never",
    ),
    _attribute(
        "emails",
        "Email addresses for the user.",
        "complex",
        multi=True,
        sub=(
            _attribute("value", "Email address for the User."),
            _attribute(
                "type",
                "A label indicating the e-mail's function.",
                canonical=("work", "home", "other"),
            ),
            _attribute("primary", "Whether this is the primary e-mail address.", "boolean"),
        ),
    ),
]
_GROUP_ATTRIBUTES: Final = [
    _attribute("displayName", "A human-readable name for the Group.", required=True),
    _attribute(
        "members",
        "A list of members of the Group.",
        "complex",
        multi=True,
        sub=(
            _attribute(
                "value", "Identifier of the member.", mutability="immutable", case_exact=True
            ),
            _attribute(
                "$ref",
                "The URI of the member resource.",
                "reference",
                mutability="immutable",
                reference_types=("User", "Group"),
            ),
            _attribute("display", "The member's display name.", mutability="readOnly"),
            _attribute("type", "The member's resource type.", canonical=("User", "Group")),
        ),
    ),
]
_ENTERPRISE_ATTRIBUTES: Final = [
    _attribute("employeeNumber", "Numeric or alphanumeric identifier assigned to a person."),
    _attribute("department", "Identifies the name of a department."),
    _attribute(
        "manager",
        "The User's manager.",
        "complex",
        sub=(
            _attribute("value", "The id of the SCIM resource representing the manager."),
            _attribute("$ref", "The URI of the manager.", "reference", reference_types=("User",)),
            _attribute("displayName", "The manager's display name.", mutability="readOnly"),
        ),
    ),
]
_SCHEMA_DEFINITIONS: Final = (
    (USER, "User", "User Account", _USER_ATTRIBUTES),
    (GROUP, "Group", "Group", _GROUP_ATTRIBUTES),
    (ENTERPRISE_USER, "EnterpriseUser", "Enterprise User", _ENTERPRISE_ATTRIBUTES),
)


def list_of(resources: list[Json]) -> Json:
    """A discovery collection as one unpaged ListResponse."""
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def service_provider_config(meta: Meta, max_results: int) -> Json:
    """What this server supports (RFC 7644 §5): PATCH, filter, ETags; no bulk, no sort."""
    return {
        "schemas": [SERVICE_PROVIDER_CONFIG],
        "documentationUri": "https://www.rfc-editor.org/rfc/rfc7644",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": max_results},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication with a bearer token (RFC 6750)",
                "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                "primary": True,
            }
        ],
        "meta": meta("ServiceProviderConfig", "ServiceProviderConfig"),
    }


def resource_types(meta: Meta) -> list[Json]:
    """One ResourceType per kind served (RFC 7643 §6)."""
    return [
        {
            "schemas": [RESOURCE_TYPE],
            "id": kind.name,
            "name": kind.name,
            "endpoint": f"/{kind.endpoint}",
            "description": kind.description,
            "schema": kind.schema,
            "schemaExtensions": [
                {"schema": extension, "required": False} for extension in kind.extensions
            ],
            "meta": meta("ResourceType", f"ResourceTypes/{kind.name}"),
        }
        for kind in KINDS.values()
    ]


def schemas(meta: Meta) -> list[Json]:
    """The User, Group and enterprise extension schemas (RFC 7643 §7)."""
    return [
        {
            "schemas": [SCHEMA],
            "id": urn,
            "name": name,
            "description": description,
            "attributes": attributes,
            "meta": meta("Schema", f"Schemas/{urn}"),
        }
        for urn, name, description, attributes in _SCHEMA_DEFINITIONS
    ]
