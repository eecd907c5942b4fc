"""Demo faults for the `lifecycle` check (--allow-writes): creates, updates and deletes broken the
way the identity providers' validators find them broken.

Each fault touches only writes, or reads of scim-doctor's own test resources (named
`scim-doctor-…`), so every read-only check stays healthy and the lifecycle is the one check that
goes wrong.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from msgspec.structs import replace

from scim_doctor.demo.fault_kit import Fault, map_response, on_route
from scim_doctor.demo.scim_wire import (
    BASE_PATH,
    LIST_RESPONSE,
    PATCH_OP,
    Handler,
    Request,
    Response,
    error_response,
    json_response,
)

TEST_PREFIX = "scim-doctor-"
_IIS_405 = (
    b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN">\r\n<html><head>'
    b"<title>405 - HTTP verb used to access this page is not allowed.</title></head><body>"
    b"<h2>405 - HTTP verb used to access this page is not allowed.</h2>"
    b"<h3>The page you are looking for cannot be displayed because an invalid method (HTTP "
    b"verb) was used to attempt access.</h3></body></html>\r\n"
)


def _body(request: Request) -> Any:
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        return None


def _is_test(document: Any) -> bool:
    if not isinstance(document, dict):
        return False
    name = document.get("userName") or document.get("displayName")
    return isinstance(name, str) and name.startswith(TEST_PREFIX)


def _operations(request: Request) -> list[dict[str, Any]]:
    body = _body(request)
    operations = body.get("Operations") if isinstance(body, dict) else None
    return [op for op in operations or [] if isinstance(op, dict)]


def _with_operations(request: Request, operations: list[dict[str, Any]]) -> Request:
    payload = {"schemas": [PATCH_OP], "Operations": operations}
    return replace(request, body=json.dumps(payload).encode())


# --- create ------------------------------------------------------------------------------------


def _forbidden(request: Request, call_next: Handler) -> Response:
    return error_response(403, "This token may read users but not create them")


def _status_200(request: Request, response: Response) -> Response:
    return replace(response, status=200) if response.status == 201 else response


def _drop_header(name: str) -> Any:
    def transform(request: Request, response: Response) -> Response:
        return response.without_header(name)

    return transform


def _empty_body(request: Request, response: Response) -> Response:
    if response.status != 201:
        return response
    return Response(201, response.without_header("Content-Type").headers, b"")


def _without_meta(request: Request, response: Response) -> Response:
    if response.status != 201:
        return response
    document = response.json()
    document.pop("meta", None)
    return response.with_json(document)


# --- duplicates ------------------------------------------------------------------------------


def _existing_instead_of_409(request: Request, call_next: Handler) -> Response:
    """'Create' is idempotent here: a taken userName returns the user who has it."""
    response = call_next(request)
    body = _body(request)
    if response.status != 409 or not isinstance(body, dict):
        return response
    expression = urllib.parse.quote(f"userName eq {json.dumps(body.get('userName'))}", safe="")
    lookup = replace(request, method="GET", target=f"{BASE_PATH}/Users?filter={expression}")
    found = call_next(lookup).json().get("Resources") or []
    return json_response(200, found[0]) if found else response


def _duplicate_as_400(request: Request, response: Response) -> Response:
    if response.status != 409:
        return response
    return error_response(400, "User already exists", "invalidValue")


def _409_without_scim_type(request: Request, response: Response) -> Response:
    if response.status != 409:
        return response
    return error_response(409, "User already exists")


# --- reads of the test user --------------------------------------------------------------------


def _test_user_not_found(request: Request, response: Response) -> Response:
    """A read replica that has not seen the new user yet."""
    if response.status == 200 and _is_test(response.json()):
        return error_response(404, "User not found")
    return response


def _stale_search(request: Request, call_next: Handler) -> Response:
    """The search index lags: filters for a user created moments ago find nothing."""
    filter_text = next(
        (v for k, v in urllib.parse.parse_qsl(request.target.partition("?")[2]) if k == "filter"),
        "",
    )
    if TEST_PREFIX not in filter_text:
        return call_next(request)
    empty = {"schemas": [LIST_RESPONSE], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0}
    return json_response(200, {**empty, "Resources": []})


# --- PUT and PATCH -----------------------------------------------------------------------------


def _put_not_allowed(request: Request, call_next: Handler) -> Response:
    response = error_response(405, "PUT is not supported; use PATCH")
    return response.with_header("Allow", "GET, PATCH, DELETE")


def _iis_webdav(request: Request, call_next: Handler) -> Response:
    headers = (
        ("Content-Type", "text/html"),
        ("Allow", "GET, HEAD, OPTIONS, TRACE, POST"),
        ("Server", "Microsoft-IIS/10.0"),
    )
    return Response(405, headers, _IIS_405)


def _strict_ops(request: Request, call_next: Handler) -> Response:
    """Only the RFC's lower-case ops and JSON booleans: Entra ID's dialect is refused."""
    for operation in _operations(request):
        op, value = operation.get("op"), operation.get("value")
        if op not in ("add", "replace", "remove"):
            return error_response(400, f"Unsupported op {op!r}", "invalidSyntax")
        if isinstance(value, str) and value in ("True", "False"):
            return error_response(400, f"Value {value!r} is not a boolean", "invalidValue")
    return call_next(request)


def _path_required(request: Request, call_next: Handler) -> Response:
    if any(not operation.get("path") for operation in _operations(request)):
        return error_response(400, "Each operation needs a path", "noTarget")
    return call_next(request)


def _string_booleans_only(request: Request, call_next: Handler) -> Response:
    """Built against Entra ID alone: `active` must be the string "True" or "False"."""
    for operation in _operations(request):
        value = operation.get("value")
        values = [value, *(value.values() if isinstance(value, dict) else ())]
        if any(isinstance(item, bool) for item in values):
            return error_response(
                400, "active must be the string 'True' or 'False'", "invalidValue"
            )
    return call_next(request)


def _lower_case_ops_only(request: Request, call_next: Handler) -> Response:
    """Unknown ops ('Replace') are skipped, and the answer is 200 all the same."""
    operations = _operations(request)
    kept = [op for op in operations if op.get("op") in ("add", "replace", "remove")]
    if kept:
        return call_next(_with_operations(request, kept))
    current = call_next(replace(request, method="GET", body=b""))
    return replace(current, status=200) if current.status == 200 else current


def _group_patch_ignored(request: Request, call_next: Handler) -> Response:
    return Response(204)


# --- groups and deletes -----------------------------------------------------------------------


def _no_groups(request: Request, call_next: Handler) -> Response:
    return error_response(404, f"No SCIM endpoint at {request.path}")


def _delete_200(request: Request, response: Response) -> Response:
    if response.status != 204:
        return response
    return json_response(200, {})


def _soft_delete(request: Request, call_next: Handler) -> Response:
    """DELETE only deactivates: the user stays, readable and holding its userName."""
    deactivate = [{"op": "replace", "path": "active", "value": False}]
    response = call_next(_with_operations(replace(request, method="PATCH"), deactivate))
    return Response(204) if response.status == 200 else response


def _delete_forbidden(request: Request, call_next: Handler) -> Response:
    return error_response(403, "Users cannot be deleted here; deactivate them instead")


FAULTS: tuple[Fault, ...] = (
    Fault(
        "lifecycle_create_forbidden",
        "The token may read but not write: POST /Users answers 403.",
        "http",
        ("lifecycle.create_failed",),
        middleware=on_route("POST", "/Users", _forbidden),
    ),
    Fault(
        "lifecycle_create_200",
        "POST /Users creates the user but answers 200, not 201.",
        "http",
        ("lifecycle.create_not_201",),
        middleware=on_route("POST", "/Users", map_response(_status_200)),
    ),
    Fault(
        "lifecycle_create_no_location",
        "POST /Users answers 201 without a Location header.",
        "http",
        ("lifecycle.create_no_location",),
        middleware=on_route("POST", "/Users", map_response(_drop_header("Location"))),
    ),
    Fault(
        "lifecycle_create_empty_body",
        "POST /Users answers 201 with an empty body: the new user's id is only in Location.",
        "http",
        ("lifecycle.create_no_id",),
        middleware=on_route("POST", "/Users", map_response(_empty_body)),
    ),
    Fault(
        "lifecycle_create_no_meta",
        "The user returned by POST /Users has no meta.",
        "http",
        ("lifecycle.create_no_meta",),
        middleware=on_route("POST", "/Users", map_response(_without_meta)),
    ),
    Fault(
        "lifecycle_create_no_etag",
        "ETags are declared, but POST /Users answers without an ETag header.",
        "http",
        ("lifecycle.create_no_etag",),
        middleware=on_route("POST", "/Users", map_response(_drop_header("ETag"))),
    ),
    Fault(
        "lifecycle_duplicate_returns_existing",
        "Creating a taken userName returns the existing user with 200 instead of 409.",
        "http",
        ("lifecycle.duplicate_accepted",),
        middleware=on_route("POST", "/Users", _existing_instead_of_409),
    ),
    Fault(
        "lifecycle_duplicate_400",
        "Creating a taken userName answers 400 invalidValue instead of 409.",
        "http",
        ("lifecycle.duplicate_not_409",),
        middleware=on_route("POST", "/Users", map_response(_duplicate_as_400)),
    ),
    Fault(
        "lifecycle_duplicate_no_scim_type",
        "Creating a taken userName answers 409 without scimType uniqueness.",
        "http",
        ("lifecycle.duplicate_no_uniqueness",),
        middleware=on_route("POST", "/Users", map_response(_409_without_scim_type)),
    ),
    Fault(
        "lifecycle_read_lag",
        "A user just created is not found by GET /Users/{id} (a lagging read replica).",
        "http",
        ("lifecycle.get_failed",),
        middleware=on_route("GET", "/Users/*", map_response(_test_user_not_found)),
    ),
    Fault(
        "lifecycle_stale_search",
        "Filters do not find a user created moments ago (a lagging search index).",
        "http",
        ("lifecycle.filter_not_found",),
        middleware=on_route("GET", "/Users", _stale_search),
    ),
    Fault(
        "lifecycle_put_not_allowed",
        "PUT /Users/{id} answers 405 Method Not Allowed.",
        "http",
        ("lifecycle.put_failed",),
        middleware=on_route("PUT", "/Users/*", _put_not_allowed),
    ),
    Fault(
        "lifecycle_patch_webdav",
        "IIS WebDAV answers every PATCH with its 405 page.",
        "http",
        ("lifecycle.patch_method_not_allowed",),
        middleware=on_route("PATCH", "*", _iis_webdav),
    ),
    Fault(
        "lifecycle_patch_strict_ops",
        'PATCH refuses Entra ID\'s "Replace" and "False": only lower-case ops and booleans.',
        "http",
        ("lifecycle.patch_entra_rejected",),
        middleware=on_route("PATCH", "/Users/*", _strict_ops),
    ),
    Fault(
        "lifecycle_patch_path_required",
        "PATCH refuses operations without a path (Okta's deactivation).",
        "http",
        ("lifecycle.patch_okta_rejected",),
        middleware=on_route("PATCH", "/Users/*", _path_required),
    ),
    Fault(
        "lifecycle_patch_string_booleans",
        'Built for Entra ID alone: PATCH takes active only as the string "True"/"False".',
        "http",
        ("lifecycle.patch_okta_rejected", "lifecycle.patch_rfc_rejected"),
        middleware=on_route("PATCH", "/Users/*", _string_booleans_only),
    ),
    Fault(
        "lifecycle_patch_ignores_capitalised_ops",
        'PATCH skips ops it does not know ("Replace") and answers 200 all the same.',
        "http",
        ("lifecycle.patch_not_applied",),
        middleware=on_route("PATCH", "/Users/*", _lower_case_ops_only),
    ),
    Fault(
        "lifecycle_group_patch_ignored",
        "Group member PATCH answers 204 but changes nothing.",
        "http",
        ("lifecycle.group_member_failed",),
        middleware=on_route("PATCH", "/Groups/*", _group_patch_ignored),
    ),
    Fault(
        "lifecycle_no_groups",
        "POST /Groups answers 404: the server provisions users only.",
        "http",
        ("lifecycle.group_create_failed",),
        middleware=on_route("POST", "/Groups", _no_groups),
    ),
    Fault(
        "lifecycle_delete_200",
        "DELETE answers 200 with a body instead of 204.",
        "http",
        ("lifecycle.delete_not_204",),
        middleware=on_route("DELETE", "*", map_response(_delete_200)),
    ),
    Fault(
        "lifecycle_soft_delete",
        "DELETE /Users/{id} only deactivates the user and answers 204; it stays readable.",
        "http",
        ("lifecycle.deleted_still_found", "lifecycle.cleanup_incomplete"),
        middleware=on_route("DELETE", "/Users/*", _soft_delete),
    ),
    Fault(
        "lifecycle_delete_forbidden",
        "DELETE /Users/{id} answers 403: users can only be deactivated.",
        "http",
        ("lifecycle.delete_failed", "lifecycle.cleanup_incomplete"),
        middleware=on_route("DELETE", "/Users/*", _delete_forbidden),
    ),
)
