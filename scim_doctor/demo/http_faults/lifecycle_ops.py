"""Demo faults for the operations identity providers send beyond create, read and delete: declared
attributes, PUT applied per attribute, PATCH remove, group members in each provider's form, and
an unknown member id (`lifecycle` check, --allow-writes).

As in `lifecycle.py`, each fault touches only writes, or what the lifecycle alone reads, so every
read-only check stays healthy and the one step named in the fault's summary goes wrong.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from msgspec.structs import replace

from scim_doctor.demo.fault_kit import Fault, map_response, on_route
from scim_doctor.demo.scim_wire import (
    BASE_PATH,
    PATCH_OP,
    USER,
    Handler,
    Request,
    Response,
)

UNDECLARED = "displayName"
"""The attribute the `lifecycle_undeclared_attribute_ignored` server neither declares nor keeps."""


def _body(request: Request) -> Any:
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        return None


def _operations(request: Request) -> list[dict[str, Any]]:
    body = _body(request)
    operations = body.get("Operations") if isinstance(body, dict) else None
    return [op for op in operations or [] if isinstance(op, dict)]


def _with_operations(request: Request, operations: list[dict[str, Any]]) -> Request:
    payload = {"schemas": [PATCH_OP], "Operations": operations}
    return replace(request, body=json.dumps(payload).encode())


def _current(request: Request, call_next: Handler) -> Response:
    """The resource as stored, answered 200: what a server that ignores a change sends back."""
    return call_next(replace(request, method="GET", body=b""))


def _op(operation: dict[str, Any]) -> str:
    return str(operation.get("op", "")).lower()


# --- attributes the server does not declare ----------------------------------------------------


def _without_undeclared(schema: Any) -> Any:
    if not isinstance(schema, dict) or schema.get("id") != USER:
        return schema
    kept = [a for a in schema.get("attributes", []) if a.get("name") != UNDECLARED]
    return {**schema, "attributes": kept}


def _schemas_without(request: Request, response: Response) -> Response:
    if response.status != 200:
        return response
    document = response.json()
    if "Resources" in document:
        document["Resources"] = [_without_undeclared(s) for s in document["Resources"]]
        return response.with_json(document)
    return response.with_json(_without_undeclared(document))


def _drop_undeclared(request: Request, call_next: Handler) -> Response:
    """Creates and replacements lose the attribute; PATCH operations on it are skipped."""
    body = _body(request)
    if request.method.upper() != "PATCH":
        if isinstance(body, dict):
            body.pop(UNDECLARED, None)
            request = replace(request, body=json.dumps(body).encode())
        return call_next(request)
    kept = []
    for operation in _operations(request):
        value = operation.get("value")
        if str(operation.get("path", "")).lower() == UNDECLARED.lower():
            continue
        if isinstance(value, dict):
            operation = {**operation, "value": {k: v for k, v in value.items() if k != UNDECLARED}}
        kept.append(operation)
    if not kept:
        return _current(request, call_next)
    return call_next(_with_operations(request, kept))


def _undeclared(request: Request, call_next: Handler) -> Response:
    path = request.scim_path or ""
    if request.method.upper() == "GET" and path.startswith("/Schemas"):
        return map_response(_schemas_without)(request, call_next)
    if path.startswith("/Users") and request.method.upper() in ("POST", "PUT", "PATCH"):
        return _drop_undeclared(request, call_next)
    return call_next(request)


# --- PUT and PATCH remove ------------------------------------------------------------------------


def _put_ignored(request: Request, call_next: Handler) -> Response:
    """200 with the stored user: the replacement is acknowledged and dropped."""
    return _current(request, call_next)


def _remove_ignored(request: Request, call_next: Handler) -> Response:
    """Remove operations are skipped, and the answer is 200 all the same."""
    operations = _operations(request)
    kept = [op for op in operations if _op(op) != "remove"]
    if len(kept) == len(operations):
        return call_next(request)
    return call_next(_with_operations(request, kept)) if kept else _current(request, call_next)


# --- group members -------------------------------------------------------------------------------


def _remove_reads_the_rfc_way(request: Request, call_next: Handler) -> Response:
    """Entra ID's `Remove` on "members" with a value list, read as RFC 7644 reads a remove
    without a filter: every member goes."""
    operations = []
    for operation in _operations(request):
        if _op(operation) == "remove" and str(operation.get("path", "")).lower() == "members":
            operation = {k: v for k, v in operation.items() if k != "value"}
        operations.append(operation)
    return call_next(_with_operations(request, operations))


def _replace_as_add(request: Request, call_next: Handler) -> Response:
    """A replace of "members" adds the listed members and keeps the others."""
    operations = []
    for operation in _operations(request):
        if _op(operation) == "replace" and str(operation.get("path", "")).lower() == "members":
            operation = {**operation, "op": "add"}
        operations.append(operation)
    return call_next(_with_operations(request, operations))


def _unknown_member_crash(request: Request, call_next: Handler) -> Response:
    """A member id with no user behind it throws in the lookup: 500."""
    for operation in _operations(request):
        values = operation.get("value")
        for member in values if isinstance(values, list) else []:
            member_id = member.get("value") if isinstance(member, dict) else None
            if not isinstance(member_id, str):
                continue
            target = f"{BASE_PATH}/Users/{urllib.parse.quote(member_id, safe='')}"
            found = call_next(replace(request, method="GET", target=target, body=b""))
            if found.status == 404:
                return Response(
                    500,
                    (("Content-Type", "text/plain; charset=utf-8"),),
                    b"Internal Server Error: NullReferenceException in GroupMembers.Add",
                )
    return call_next(request)


FAULTS: tuple[Fault, ...] = (
    Fault(
        "lifecycle_undeclared_attribute_ignored",
        f"/Schemas does not declare {UNDECLARED}, and writes drop it (allowed: no warning).",
        "http",
        ("lifecycle.attributes_not_declared",),
        middleware=_undeclared,
    ),
    Fault(
        "lifecycle_put_ignored",
        "PUT /Users/{id} answers 200 with the stored user and applies nothing.",
        "http",
        ("lifecycle.put_failed",),
        middleware=on_route("PUT", "/Users/*", _put_ignored),
    ),
    Fault(
        "lifecycle_patch_remove_ignored",
        'PATCH {"op": "remove"} on a user answers 200 and keeps the attribute.',
        "http",
        ("lifecycle.attribute_remove_failed",),
        middleware=on_route("PATCH", "/Users/*", _remove_ignored),
    ),
    Fault(
        "lifecycle_group_remove_removes_all",
        "Entra ID's member Remove (path members, a value list) removes every member.",
        "http",
        ("lifecycle.group_member_entra_failed",),
        middleware=on_route("PATCH", "/Groups/*", _remove_reads_the_rfc_way),
    ),
    Fault(
        "lifecycle_group_replace_adds",
        "Okta's replace of a group's members adds them and keeps the old ones.",
        "http",
        ("lifecycle.group_members_replace_failed",),
        middleware=on_route("PATCH", "/Groups/*", _replace_as_add),
    ),
    Fault(
        "lifecycle_unknown_member_500",
        "Adding a member id no user has answers 500 instead of 400.",
        "http",
        ("lifecycle.unknown_member_server_error",),
        middleware=on_route("PATCH", "/Groups/*", _unknown_member_crash),
    ),
)
