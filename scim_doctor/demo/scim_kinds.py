"""The demo's resource types, User and Group, and the attribute rules they share.

One `Kind` per endpoint holds what differs between Users and Groups (required and unique
attribute, filterable paths, what PATCH answers), so the handlers, PATCH and the discovery
documents read one description instead of branching on the endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from msgspec import Struct

from scim_doctor.demo.scim_wire import ENTERPRISE_USER, GROUP, USER, ScimError


class Kind(Struct, frozen=True):
    """One SCIM resource type as this server serves it."""

    name: str
    endpoint: str
    schema: str
    extensions: tuple[str, ...]
    required: str
    unique: str | None
    filterable: Mapping[str, bool]
    patch_status: int
    description: str


USER_KIND: Final = Kind(
    name="User",
    endpoint="Users",
    schema=USER,
    extensions=(ENTERPRISE_USER,),
    required="userName",
    unique="userName",
    filterable={
        "id": True,
        "externalid": True,
        "username": False,
        "displayname": False,
        "active": False,
        "emails": False,
        "emails.value": False,
        "emails.type": False,
        "name.givenname": False,
        "name.familyname": False,
        "name.formatted": False,
    },
    patch_status=200,
    description="User Account",
)
GROUP_KIND: Final = Kind(
    name="Group",
    endpoint="Groups",
    schema=GROUP,
    extensions=(),
    required="displayName",
    unique=None,
    filterable={
        "id": True,
        "externalid": True,
        "displayname": False,
        "members": True,
        "members.value": True,
    },
    patch_status=204,
    description="Group",
)
KINDS: Final = {kind.endpoint: kind for kind in (USER_KIND, GROUP_KIND)}

CANONICAL: Final = {
    name.lower(): name
    for name in (
        "userName",
        "externalId",
        "displayName",
        "nickName",
        "profileUrl",
        "title",
        "userType",
        "preferredLanguage",
        "locale",
        "timezone",
        "active",
        "name",
        "emails",
        "phoneNumbers",
        "addresses",
        "roles",
        "members",
    )
}
"""Attribute names as RFC 7643 spells them, by their lower-case form: a client's
`USERNAME` is stored as `userName`."""
READ_ONLY: Final = frozenset({"id", "meta", "schemas", "groups"})
"""What a client never sets: PUT and POST drop them, PATCH refuses them (mutability)."""


def coerce_bool(value: Any, attribute: str) -> bool:
    """Entra ID sends booleans as the strings "True"/"False" unless told otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ScimError(400, f"{attribute} must be a boolean, got {value!r}", "invalidValue")
