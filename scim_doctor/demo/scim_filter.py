"""The demo's SCIM filter: the `eq`-joined-by-`and` dialect identity providers send.

Kept apart from the store and PATCH because both use it: a list request filters the store,
and a PATCH path like `emails[type eq "work"].value` selects values with the same grammar.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from msgspec import Struct

from scim_doctor.demo.scim_wire import ScimError

_OPERATORS: Final = frozenset({"eq", "ne", "co", "sw", "ew", "pr", "gt", "ge", "lt", "le"})
_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|[()\[\]]|[^\s()\[\]"]+)\s*')


class Comparison(Struct, frozen=True):
    """`attribute eq value`, attribute path lower-cased and without the core schema URN."""

    path: tuple[str, ...]
    value: Any
    case_exact: bool = False

    def matches(self, resource: Mapping[str, Any]) -> bool:
        return any(
            _equal(found, self.value, self.case_exact) for found in _values_at(resource, self.path)
        )


def get_ci(node: Mapping[str, Any], key: str) -> Any:
    """`node[key]`, or else the first key equal to it ignoring case: SCIM names are
    case-insensitive (RFC 7643 §2.1) and Entra ID sends `Operations` as `operations`."""
    if key in node:
        return node[key]
    wanted = key.lower()
    return next((value for name, value in node.items() if name.lower() == wanted), None)


def _values_at(resource: Mapping[str, Any], path: tuple[str, ...]) -> list[Any]:
    nodes: list[Any] = [resource]
    for part in path:
        found: list[Any] = []
        for node in nodes:
            if isinstance(node, Mapping):
                value = get_ci(node, part)
                if isinstance(value, list):
                    found.extend(value)
                elif value is not None:
                    found.append(value)
        nodes = found
    # A multi-valued complex attribute compared without a sub-attribute means its "value".
    return [get_ci(node, "value") if isinstance(node, Mapping) else node for node in nodes]


def _equal(found: Any, wanted: Any, case_exact: bool) -> bool:
    if isinstance(found, str) and isinstance(wanted, str):
        return found == wanted if case_exact else found.casefold() == wanted.casefold()
    if isinstance(found, bool) or isinstance(wanted, bool):
        return found is wanted
    return bool(found == wanted)


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ScimError(400, f"Cannot parse the filter at {text[position:]!r}", "invalidFilter")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _filter_value(raw: str) -> Any:
    if raw.lower() in ("true", "false", "null"):
        return json.loads(raw.lower())
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return value
    raise ScimError(
        400,
        f"Filter value {raw!r} is not a quoted string, a number, true, false or null",
        "invalidFilter",
    )


def parse_filter(
    text: str,
    attributes: Mapping[str, bool] | None,
    schema: str | None = None,
) -> tuple[Comparison, ...]:
    """Parse `attr eq value [and attr eq value ...]`, the dialect Entra ID and Okta send.

    `attributes` maps the filterable dotted paths (lower case) to their caseExact; None allows
    any simple attribute (value filters inside a PATCH path). Every other operator, `or`,
    `not` and grouping are answered 400 invalidFilter, as RFC 7644 §3.4.2.2 asks of a service
    provider that does not support them.
    """
    tokens = _tokens(text)
    if not tokens:
        raise ScimError(400, "The filter is empty", "invalidFilter")
    for word in tokens:
        if word.lower() in ("(", ")", "[", "]", "or", "not"):
            raise ScimError(
                400,
                f"Filter {text!r} uses {word!r}: this server supports only 'eq' joined by 'and'",
                "invalidFilter",
            )
    comparisons: list[Comparison] = []
    index = 0
    while True:
        if index + 3 > len(tokens):
            raise ScimError(400, f"Filter {text!r} ends early", "invalidFilter")
        attribute, operator, raw = tokens[index : index + 3]
        if operator.lower() != "eq":
            what = "operator" if operator.lower() in _OPERATORS else "token"
            raise ScimError(
                400,
                f"Filter {text!r}: {what} {operator!r} is not supported; "
                "this server supports only 'eq' joined by 'and'",
                "invalidFilter",
            )
        comparisons.append(_comparison(attribute, _filter_value(raw), attributes, schema))
        index += 3
        if index == len(tokens):
            return tuple(comparisons)
        if tokens[index].lower() != "and":
            raise ScimError(
                400, f"Filter {text!r}: expected 'and', found {tokens[index]!r}", "invalidFilter"
            )
        index += 1


def _comparison(
    attribute: str, value: Any, attributes: Mapping[str, bool] | None, schema: str | None
) -> Comparison:
    name = attribute
    if schema and name.lower().startswith(schema.lower() + ":"):
        name = name[len(schema) + 1 :]
    key = name.lower()
    if attributes is None:
        if not re.fullmatch(r"[a-z$][\w$-]*", key):
            raise ScimError(400, f"Cannot filter on {attribute!r}", "invalidFilter")
        return Comparison((name,), value)
    if key not in attributes:
        supported = ", ".join(sorted(attributes))
        raise ScimError(
            400,
            f"Filtering on {attribute!r} is not supported; supported attributes: {supported}",
            "invalidFilter",
        )
    return Comparison(tuple(key.split(".")), value, attributes[key])
