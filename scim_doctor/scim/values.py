"""What a validator reports (`Problem`) and the small pure helpers SCIM modules read JSON with.

Matching follows RFC 7643 §2.1: attribute names and schema URNs are case-insensitive, so every
lookup goes through `lookup`/`get_ci`. Messages never quote a userName, an email or a password:
`describe(reveal=False)`, `mask` and `safe_id` keep personal data out of reports, which end up in
support tickets. Probes use these helpers too, so they are public.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, NamedTuple

from scim_doctor.core.model import Severity
from scim_doctor.core.pii import mask_value

FAIL: Final = Severity.FAIL
WARN: Final = Severity.WARN
INFO: Final = Severity.INFO

ProblemKind = Literal["type", "required", "schemas", "value", "returned", "undeclared", "case"]
"""What sort of problem: a wrong JSON type, a missing REQUIRED attribute, a missing or malformed
`schemas` URN, a wrong value, an attribute returned that never may be (password), an attribute
or extension not declared, a name spelled in another case (strict only)."""


class Problem(NamedTuple):
    """One thing wrong in a document."""

    path: str
    """JSON path from the document root: `$`, `$.Resources[0].meta.location`, `$["urn:…"]`."""
    severity: Severity
    message: str
    """What was observed, with the value where it is not personal data."""
    reference: str
    """The rule: RFC section or identity provider document."""
    kind: ProblemKind = "value"


Validator = Callable[[Any], list[Problem]]
"""A validator of one resource, as `validate_list_response(item_validator=...)` takes it."""


def is_json_integer(value: Any) -> bool:
    """True for a JSON integer: not a bool, not a float (even 1.0), not a numeric string."""
    return type(value) is int


def lenient_int(value: Any) -> int | None:
    """The integer a client would most likely read from `value` ("3", 3.0, 3), else None.

    For probes that must go on after reporting a type problem; never for judging.
    """
    if is_json_integer(value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,18}\s*", value):
        return int(value)
    return None


def lookup(node: Mapping[Any, Any], name: str) -> tuple[str, Any] | None:
    """(key as sent, value) for attribute `name`, matched case-insensitively; None if absent.

    An exact match wins over one that differs in case.
    """
    if name in node:
        return name, node[name]
    wanted = name.lower()
    for key, value in node.items():
        if isinstance(key, str) and key.lower() == wanted:
            return key, value
    return None


def get_ci(node: Any, name: str) -> Any:
    """`node[name]` with the name matched case-insensitively; None when absent or not an object."""
    if not isinstance(node, Mapping):
        return None
    found = lookup(node, name)
    return None if found is None else found[1]


def schemas_of(document: Any) -> list[str]:
    """The string values of the document's `schemas` attribute (empty when unusable)."""
    values = get_ci(document, "schemas")
    if not isinstance(values, list):
        return []
    return [value for value in values if isinstance(value, str)]


def has_schema(document: Any, urn: str) -> bool:
    """True when `schemas` lists `urn` (case-insensitively)."""
    return urn.lower() in {value.lower() for value in schemas_of(document)}


def child_path(path: str, key: str) -> str:
    """`$.a` for plain names, `$["urn:…:User"]` for anything else."""
    if re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$-]*", key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def describe(value: Any, *, reveal: bool = True) -> str:
    """A value for a message: 'the string "3"', 'the number 2.5', 'an array'.

    `reveal=False` gives the type only (for userName, emails and other personal data).
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"the integer {cut(str(value))}" if reveal else "an integer"
    if isinstance(value, float):
        return f"the number {cut(repr(value))}" if reveal else "a number"
    if isinstance(value, str):
        return f"the string {cut(json.dumps(value, ensure_ascii=False))}" if reveal else "a string"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    return "an object"


def cut(text: str, limit: int = 60) -> str:
    """`text` shortened to `limit` characters with an ellipsis: messages stay one readable line."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mask(value: str) -> str:
    """A personal value made unidentifiable but recognisable: 'j***@e***.com', 'J***'.

    For userNames and emails in messages and facts (reports go to support tickets); the same
    masking the report applies everywhere else (`scim_doctor.pii`).
    """
    return mask_value(value)


def safe_id(value: Any) -> str:
    """A resource id for a message or fact: masked if it looks like an email, capped in length."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return mask(text) if "@" in text else cut(text, 64)
