"""Which attributes the lifecycle changes, and how it judges each one on its own.

An identity provider changes the attributes its mapping sends; a server only has to keep the ones
it defines: a service provider publishes the attributes it supports in its schemas (RFC 7643 §7,
served at /Schemas, RFC 7644 §4), and an attribute it does not define is not part of its
contract. So the lifecycle changes an attribute only when the server's User schema declares it
writable. Without a usable /Schemas it changes what the five providers' default mappings send:
`active`, `name.givenName`, `name.familyName`, `emails` and `displayName`.

Pure: no I/O. The steps read /Schemas, make a `Plan` from it, and compare what the server shows
with what they asked for, attribute by attribute (`gaps`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from msgspec import Struct, field

from scim_doctor.scim.validators import LIST_RESPONSE, USER, describe, get_ci, has_schema

MAPPED: Final = ("active", "name.givenName", "name.familyName", "emails", "displayName")
"""What Entra ID's, Okta's, OneLogin's, JumpCloud's and Google's default user mappings send."""
STRINGS: Final = ("displayName", "name.givenName", "name.familyName")
"""The mapped attributes the lifecycle gives new values (emails keeps the test address: it is
the user's name, and mail must go nowhere)."""
REMOVE_ORDER: Final = ("name.givenName", "name.familyName", "displayName")
UNWRITABLE: Final = frozenset({"readonly", "immutable"})
WORK_EMAIL: Final = 'emails[type eq "work"].value'
"""How Entra ID addresses the work email in a PATCH."""
WHY_ALLOWED: Final = (
    "a server keeps only the attributes its schema defines (RFC 7643 §7, published at /Schemas "
    "per RFC 7644 §4), so dropping one it does not declare is allowed"
)


class Plan(Struct, frozen=True):
    """What the lifecycle changes and judges, and why it leaves the rest alone."""

    source: str
    """Where the declared attributes came from, for the report."""
    writable: tuple[str, ...]
    """The mapped attributes the server declares writable, in `MAPPED` order: the ones PUT and
    PATCH may change (emails keeps its value)."""
    left_out: Mapping[str, str] = field(default_factory=dict)
    """Mapped attribute -> why the lifecycle does not change or judge it."""
    required: frozenset[str] = frozenset()
    """Lower-cased paths the schema declares required (never removed)."""

    def changes(self, attribute: str) -> bool:
        return attribute in self.writable

    @property
    def strings(self) -> tuple[str, ...]:
        """The string attributes PUT and PATCH give new values, in `STRINGS` order."""
        return tuple(a for a in STRINGS if a in self.writable)

    @property
    def removable(self) -> str | None:
        """The attribute the remove step clears: a changed string the schema does not require,
        a name part first (servers often derive displayName from the name when it is empty, as
        Better Auth's SCIM plugin does from name.formatted)."""
        return next((a for a in REMOVE_ORDER if a in self.strings and not self._required(a)), None)

    def _required(self, attribute: str) -> bool:
        return attribute.lower() in self.required


def default_plan(why: str) -> Plan:
    """Every mapped attribute, when the server's schema cannot be read."""
    return Plan(f"the providers' default mappings ({why})", MAPPED)


def user_schema(document: Any) -> Any:
    """The core User schema out of a /Schemas body (a ListResponse, a bare array or the schema
    itself), or None."""
    if isinstance(document, list):
        entries: list[Any] = document
    elif has_schema(document, LIST_RESPONSE) or get_ci(document, "Resources") is not None:
        resources = get_ci(document, "Resources")
        entries = resources if isinstance(resources, list) else []
    else:
        entries = [document]
    return next((e for e in entries if _is_user(get_ci(e, "id"))), None)


def _is_user(value: Any) -> bool:
    return isinstance(value, str) and value.lower() == USER.lower()


def declared(schema: Any) -> dict[str, Mapping[str, Any]]:
    """Lower-cased attribute path ('name.givenname') -> its definition, sub-attributes included."""
    found: dict[str, Mapping[str, Any]] = {}
    attributes = get_ci(schema, "attributes")
    for attribute in attributes if isinstance(attributes, list) else []:
        name = get_ci(attribute, "name")
        if not isinstance(name, str) or not isinstance(attribute, Mapping):
            continue
        found[name.lower()] = attribute
        subs = get_ci(attribute, "subAttributes")
        for sub in subs if isinstance(subs, list) else []:
            sub_name = get_ci(sub, "name")
            if isinstance(sub_name, str) and isinstance(sub, Mapping):
                found[f"{name.lower()}.{sub_name.lower()}"] = sub
    return found


def plan_from(schemas_document: Any, where: str) -> Plan:
    """The plan for a server whose /Schemas answered `schemas_document` (`where` names the
    request); the default plan when it holds no usable User schema."""
    schema = user_schema(schemas_document)
    paths = declared(schema) if schema is not None else {}
    if not paths:
        return default_plan(f"{where} describes no attributes of {USER}")
    writable: list[str] = []
    left_out: dict[str, str] = {}
    for attribute in MAPPED:
        definition = paths.get(attribute.lower())
        parent = paths.get(attribute.split(".", 1)[0].lower())
        if definition is None and parent is not None and get_ci(parent, "subAttributes") is None:
            definition = parent  # a complex attribute declared without its sub-attributes
        if definition is None:
            left_out[attribute] = f"not declared in the User schema of {where}"
            continue
        mutability = _mutability(definition) or _mutability(parent)
        if mutability in UNWRITABLE:
            left_out[attribute] = f"declared {get_ci(definition, 'mutability') or mutability}"
            continue
        writable.append(attribute)
    required = frozenset(p for p, d in paths.items() if get_ci(d, "required") is True)
    return Plan(f"{where} ({USER})", tuple(writable), left_out, required)


def _mutability(definition: Any) -> str | None:
    value = get_ci(definition, "mutability")
    return value.lower() if isinstance(value, str) else None


# --- reading and writing one attribute of a user --------------------------------------------


def value_of(document: Any, attribute: str) -> Any:
    """The attribute's value in a user ('emails': the primary, else the work, else the first
    address); None when absent."""
    if attribute == "emails":
        emails = get_ci(document, "emails")
        items = [e for e in emails if isinstance(e, Mapping)] if isinstance(emails, list) else []
        chosen = next((e for e in items if get_ci(e, "primary") is True), None)
        chosen = chosen or next((e for e in items if get_ci(e, "type") == "work"), None)
        chosen = chosen or (items[0] if items else None)
        return get_ci(chosen, "value")
    parent, _, sub = attribute.partition(".")
    value = get_ci(document, parent)
    return get_ci(value, sub) if sub else value


def with_values(body: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a user `body` with string attributes (`name.givenName` too) set to `values`."""
    updated: dict[str, Any] = json.loads(json.dumps(body))
    for attribute, value in values.items():
        parent, _, sub = attribute.partition(".")
        if sub:
            updated.setdefault(parent, {})[sub] = value
        else:
            updated[parent] = value
    return updated


def is_unassigned(value: Any) -> bool:
    """RFC 7644 §3.5.1: unassigned, null and an empty value are the same state."""
    return value is None or value == "" or value == [] or value == {}


def gaps(document: Any, expected: Mapping[str, Any]) -> list[str]:
    """What differs, one phrase per attribute: "displayName is 'a', expected 'b'"."""
    found = []
    for attribute, wanted in expected.items():
        shown = value_of(document, attribute)
        if wanted is None:
            if not is_unassigned(shown):
                found.append(f"{attribute} still has a value, expected it removed")
        elif isinstance(wanted, bool):
            if shown is not wanted:
                found.append(f"{attribute} is {describe(shown)}, expected {str(wanted).lower()}")
        elif shown != wanted:
            found.append(f"{attribute} is {describe(shown)}, expected {wanted!r}")
    return found


def dropped(sent: Mapping[str, Any], created: Any, attributes: tuple[str, ...]) -> list[str]:
    """Which of `attributes`, sent in a create, the created user does not carry."""
    return [
        a
        for a in attributes
        if not is_unassigned(value_of(sent, a)) and is_unassigned(value_of(created, a))
    ]
