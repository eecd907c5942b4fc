"""SCIM's names: the URNs of RFC 7643/7644, the scimType keywords, and the sections validators cite.

Kept apart from the validators so a module that only needs to name a message or a schema (the
lifecycle steps, the clean-up) reads them without the machinery that judges documents.
"""

from __future__ import annotations

from typing import Final

# --- URNs (RFC 7643 §3, §8.7; RFC 7644 §3.4.2, §3.5.2, §3.7, §3.12) --------------------------

LIST_RESPONSE: Final = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST: Final = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_OP: Final = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST: Final = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE: Final = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
ERROR: Final = "urn:ietf:params:scim:api:messages:2.0:Error"
USER: Final = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP: Final = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER: Final = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SERVICE_PROVIDER_CONFIG: Final = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE: Final = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA: Final = "urn:ietf:params:scim:schemas:core:2.0:Schema"

SCIM_TYPES: Final = frozenset(
    {
        "invalidFilter",
        "tooMany",
        "uniqueness",
        "mutability",
        "invalidSyntax",
        "invalidPath",
        "noTarget",
        "invalidValue",
        "invalidVers",
        "sensitive",
    }
)
"""The `scimType` keywords of RFC 7644 §3.12 (Table 9)."""

# --- references --------------------------------------------------------------------------------

REF_NAMES: Final = "RFC 7643 §2.1 (attribute names are case-insensitive)"
REF_INTEGER: Final = "RFC 7643 §2.3.4 (integer: no fractional part)"
REF_COMMON: Final = "RFC 7643 §3 (schemas) and §3.1 (id, meta)"
REF_EXTENSION: Final = "RFC 7643 §3 and §3.3 (extension schema URNs are listed in schemas)"
REF_USER: Final = "RFC 7643 §4.1 (User resource)"
REF_USER_NAME: Final = "RFC 7643 §4.1.1 (userName REQUIRED)"
REF_PASSWORD: Final = "RFC 7643 §4.1.1 (password SHALL NOT be returnable), §8.7.1"  # noqa: S105
REF_SPC: Final = "RFC 7643 §5 (ServiceProviderConfig)"
REF_RESOURCE_TYPE: Final = "RFC 7643 §6 (ResourceType)"
REF_SCHEMA: Final = "RFC 7643 §7 (Schema definitions) and §2.2 (characteristics)"
REF_LIST: Final = "RFC 7644 §3.4.2 (ListResponse)"
REF_PAGING: Final = "RFC 7644 §3.4.2.4 (pagination)"
REF_OKTA_INTEGERS: Final = (
    "Okta SCIM 2.0 reference, Retrieving users (itemsPerPage, startIndex and totalResults "
    "as integers, not strings); RFC 7644 §3.4.2"
)
REF_ERROR: Final = "RFC 7644 §3.12 (error response: status as a JSON string)"
