"""The demo's PATCH (RFC 7644 §3.5.2): add, replace and remove, by path or without one.

The part of SCIM where identity providers differ most: Entra ID capitalises ops, patches
`emails[type eq "work"].value` on users with no work email, and removes group members by
value, so the dialects they send are accepted here rather than answered 400.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from scim_doctor.demo.scim_filter import get_ci, parse_filter
from scim_doctor.demo.scim_kinds import CANONICAL, READ_ONLY, Kind, coerce_bool
from scim_doctor.demo.scim_wire import Json, ScimError

_PATCH_PATH = re.compile(
    r"^(?:(?P<urn>urn:[^\[\]]*):)?(?P<attr>[A-Za-z$][\w$-]*)"
    r"(?:\[(?P<filter>[^\]]*)\])?(?:\.(?P<sub>[A-Za-z$][\w$-]*))?$"
)


def patched(kind: Kind, current: Json, body: Json) -> Json:
    """`current` with a PATCH body's operations applied, in order, to a copy (meta dropped):
    one failing operation leaves the stored resource as it was."""
    operations = get_ci(body, "Operations")
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "A PATCH body needs a non-empty 'Operations' list", "invalidSyntax")
    resource = copy.deepcopy({k: v for k, v in current.items() if k != "meta"})
    for operation in operations:
        if not isinstance(operation, dict):
            raise ScimError(400, f"PATCH operation {operation!r} is not an object", "invalidSyntax")
        _apply(kind, resource, operation)
    return resource


def _apply(kind: Kind, resource: Json, operation: Json) -> None:
    raw_op = get_ci(operation, "op")
    op = raw_op.lower() if isinstance(raw_op, str) else ""
    if op not in ("add", "replace", "remove"):
        raise ScimError(400, f"PATCH op {raw_op!r} is not add, replace or remove", "invalidSyntax")
    path = get_ci(operation, "path")
    value = get_ci(operation, "value")
    if path is None or path == "":
        if op == "remove":
            raise ScimError(400, "A remove operation needs a path", "noTarget")
        if not isinstance(value, dict):
            raise ScimError(400, f"{op} without a path needs an object value", "invalidValue")
        for key, item in value.items():
            if key.lower() == kind.schema.lower() and isinstance(item, dict):
                for sub_key, sub_item in item.items():
                    _apply_path(kind, resource, op, sub_key, sub_item)
                continue
            extension = next((e for e in kind.extensions if e.lower() == key.lower()), None)
            if extension is not None and isinstance(item, dict):
                resource.setdefault(extension, {}).update(item)
                continue
            _apply_path(kind, resource, op, key, item)
        return
    if not isinstance(path, str):
        raise ScimError(400, f"PATCH path {path!r} is not a string", "invalidPath")
    _apply_path(kind, resource, op, path, value)


def _apply_path(kind: Kind, resource: Json, op: str, path: str, value: Any) -> None:
    match = _PATCH_PATH.match(path.strip())
    if match is None:
        raise ScimError(400, f"Cannot parse PATCH path {path!r}", "invalidPath")
    container = resource
    urn = match["urn"]
    if urn and urn.lower() != kind.schema.lower():
        extension = next((e for e in kind.extensions if e.lower() == urn.lower()), None)
        if extension is None:
            raise ScimError(400, f"PATCH path {path!r} names an unknown schema", "invalidPath")
        container = resource.setdefault(extension, {})
    attribute = _key_in(container, match["attr"], canonical=container is resource)
    if container is resource and attribute.lower() in READ_ONLY:
        raise ScimError(400, f"{attribute} is read-only and cannot be patched", "mutability")
    if attribute.lower() == "password":
        return  # Accepted and dropped: this demo never stores nor returns passwords.
    if container is resource and attribute == "active" and op != "remove":
        value = coerce_bool(value, "active")
    value_filter, sub = match["filter"], match["sub"]
    if op == "remove":
        _remove(container, attribute, value_filter, sub, value)
    elif value_filter is None and sub is None:
        _set_whole(container, attribute, op, value)
    elif value_filter is None:
        target = container.setdefault(attribute, {})
        if not isinstance(target, dict):
            raise ScimError(
                400,
                f"{attribute} is multi-valued: select values with a filter, "
                f'e.g. {attribute}[type eq "work"].{sub}',
                "invalidPath",
            )
        target[_key_in(target, sub)] = value
    else:
        _set_filtered(container, attribute, value_filter, sub, value)


def _key_in(container: Mapping[str, Any], name: str, *, canonical: bool = False) -> str:
    lowered = name.lower()
    existing = next((key for key in container if key.lower() == lowered), None)
    if existing is not None:
        return existing
    return CANONICAL.get(lowered, name) if canonical else name


def _member_key(item: Any) -> str:
    if isinstance(item, dict) and "value" in item:
        return str(item["value"])
    return json.dumps(item, sort_keys=True)


def _set_whole(container: Json, attribute: str, op: str, value: Any) -> None:
    current = container.get(attribute)
    if op == "add" and isinstance(current, list):
        present = {_member_key(item) for item in current}
        for item in value if isinstance(value, list) else [value]:
            if _member_key(item) not in present:
                current.append(item)
                present.add(_member_key(item))
    elif isinstance(current, dict) and isinstance(value, dict):
        current.update(value)
    else:
        container[attribute] = value


def _matching(container: Json, attribute: str, value_filter: str) -> tuple[list[Any], list[Any]]:
    comparisons = parse_filter(value_filter, None)
    items = container.setdefault(attribute, [])
    if not isinstance(items, list):
        raise ScimError(400, f"{attribute} is not multi-valued: it takes no filter", "invalidPath")
    hits = [i for i in items if isinstance(i, dict) and all(c.matches(i) for c in comparisons)]
    return items, hits


def _set_filtered(
    container: Json, attribute: str, value_filter: str, sub: str | None, value: Any
) -> None:
    items, hits = _matching(container, attribute, value_filter)
    if not hits:
        # Entra ID replaces `emails[type eq "work"].value` on users that have no work email
        # yet: create the value the filter describes rather than failing with noTarget.
        created: Json = {c.path[0]: c.value for c in parse_filter(value_filter, None)}
        items.append(created)
        hits = [created]
    for item in hits:
        if sub is not None:
            item[_key_in(item, sub)] = value
        elif isinstance(value, dict):
            item.update(value)
        else:
            raise ScimError(
                400, f"{attribute}[{value_filter}] needs an object value", "invalidValue"
            )


def _remove(
    container: Json, attribute: str, value_filter: str | None, sub: str | None, value: Any
) -> None:
    current = container.get(attribute)
    if value_filter is not None:
        items, hits = _matching(container, attribute, value_filter)
        if sub is None:
            container[attribute] = [item for item in items if not any(item is h for h in hits)]
        else:
            for item in hits:
                item.pop(_key_in(item, sub), None)
    elif sub is not None:
        if isinstance(current, dict):
            current.pop(_key_in(current, sub), None)
    elif isinstance(current, list) and value is not None:
        # Entra ID removes group members with path "members" and the members as the value.
        drop = {_member_key(item) for item in (value if isinstance(value, list) else [value])}
        container[attribute] = [item for item in current if _member_key(item) not in drop]
    else:
        container.pop(attribute, None)
