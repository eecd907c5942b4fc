"""The validator of a SCIM Error body (RFC 7644 §3.12): what a server answers a failed request with.

Apart from the resource validators because it is read on a different path: the errors check
judges the bodies of 4xx answers (through `discovery.judge_error`), where what matters is the
Error URN, `status` as a JSON string that agrees with the status line, and a `scimType` from
RFC 7644's table.
"""

from __future__ import annotations

import re
from typing import Any

from scim_doctor.scim.scope import Checker, Scope, root_scope
from scim_doctor.scim.urns import ERROR, REF_ERROR, SCIM_TYPES
from scim_doctor.scim.values import (
    FAIL,
    INFO,
    WARN,
    Problem,
    ProblemKind,
    cut,
    describe,
    is_json_integer,
)


def validate_error(
    document: Any, *, http_status: int | None = None, strict: bool = False
) -> list[Problem]:
    """Problems of a SCIM error body.

    FAIL: not an object, no Error URN in `schemas` (kind "schemas"/"required"), no `status`
    (kind "required"), a `status` that is not a number at all. `status` as a JSON integer
    (`404` instead of `"404"`) is WARN kind "type" (FAIL in strict mode): RFC 7644 asks for a
    string, Okta's own examples send integers, strict SCIM SDKs reject them. A `status` that
    differs from `http_status` is WARN kind "value". `scimType` outside RFC 7644 Table 9 is
    WARN kind "value" (a case variant: INFO, strict WARN); a non-string `detail` WARN "type".
    """
    checker = Checker(strict)
    root = root_scope(checker, document, "the error body", REF_ERROR)
    if root is None:
        return checker.problems
    root.schemas(ERROR)
    present, status = root.value("status", FAIL)
    if present:
        _error_status(root, status, http_status)
    scim_type = root.string("scimType", wrong=WARN)
    if scim_type is not None and scim_type not in SCIM_TYPES:
        folded = {known.lower(): known for known in SCIM_TYPES}
        if scim_type.lower() in folded:
            spelled = folded[scim_type.lower()]
            message = f"scimType is {describe(scim_type)}; RFC 7644 spells it {spelled!r}"
            root.graded(INFO, WARN, "scimType", "case", message)
        else:
            known = ", ".join(sorted(SCIM_TYPES))
            message = f"scimType is {describe(scim_type)}, not one of RFC 7644's ({known})"
            root.add(WARN, "scimType", "value", message)
    root.string("detail", wrong=WARN)
    return checker.problems


def _error_status(root: Scope, status: Any, http_status: int | None) -> None:
    number: int | None = None
    if is_json_integer(status):
        number = status
        shown = cut(str(status))
        message = f'status is the integer {shown}, not the string "{shown}"'
        root.graded(WARN, FAIL, "status", "type", message)
    elif isinstance(status, str) and re.fullmatch(r"\s*\d{3}\s*", status):
        number = int(status)
    else:
        kind: ProblemKind = "value" if isinstance(status, str) else "type"
        message = f"status is {describe(status)}, not an HTTP status code string"
        root.add(FAIL, "status", kind, message)
    if number is not None and http_status is not None and number != http_status:
        message = f"status says {number} but the HTTP status line says {http_status}"
        root.add(WARN, "status", "value", message)
