"""SCIM URNs and pure validators of what a service provider sends (RFC 7643, RFC 7644).

JSON in (as `json.loads` returns it), problems out; no I/O, and no input makes a validator
raise, so a probe can hand over whatever a server answered. Each problem is a `Problem`:
(JSON path, severity, message with the observed value, reference) plus a `kind` a probe maps to
its finding codes.

Matching follows RFC 7643 §2.1: attribute names and schema URNs are case-insensitive
(`TotalResults` is `totalResults`). Validators are lenient by default: only what breaks
clients, or a MUST, is a problem; `strict=True` adds SHOULD-level and hygiene problems
(undeclared attributes, spelling, missing `meta`) and raises some warnings to failures.
Integers must be JSON integers: `"1"`, `1.0` and `true` are not. Unknown vendor attributes and
extension schemas are allowed when the extension URN is declared in `schemas`.

Messages never quote a userName, an email or a password: reports end up in support tickets.

This module judges what /Users answers (User resources and ListResponse pages) and is the one
name importers use: it re-exports SCIM's names (`urns`), the `Problem` and helpers (`values`),
the SCIM Error validator (`error_body`) and the discovery-document validators (`definitions`),
which live apart so that each file does one job; the walker they share is `scope`.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any, Final

from scim_doctor.scim.definitions import (
    max_results,
    validate_resource_type,
    validate_schema,
    validate_service_provider_config,
)
from scim_doctor.scim.error_body import validate_error
from scim_doctor.scim.scope import Checker, Missing, Scope, root_scope
from scim_doctor.scim.urns import (
    BULK_REQUEST,
    BULK_RESPONSE,
    ENTERPRISE_USER,
    ERROR,
    GROUP,
    LIST_RESPONSE,
    PATCH_OP,
    REF_COMMON,
    REF_ERROR,
    REF_EXTENSION,
    REF_INTEGER,
    REF_LIST,
    REF_NAMES,
    REF_OKTA_INTEGERS,
    REF_PAGING,
    REF_PASSWORD,
    REF_RESOURCE_TYPE,
    REF_SCHEMA,
    REF_SPC,
    REF_USER,
    REF_USER_NAME,
    RESOURCE_TYPE,
    SCHEMA,
    SCIM_TYPES,
    SEARCH_REQUEST,
    SERVICE_PROVIDER_CONFIG,
    USER,
)
from scim_doctor.scim.values import (
    FAIL,
    INFO,
    WARN,
    Problem,
    ProblemKind,
    Validator,
    child_path,
    cut,
    describe,
    get_ci,
    has_schema,
    is_json_integer,
    lenient_int,
    lookup,
    mask,
    safe_id,
    schemas_of,
)

__all__ = [
    "BULK_REQUEST",
    "BULK_RESPONSE",
    "ENTERPRISE_USER",
    "ERROR",
    "FAIL",
    "GROUP",
    "INFO",
    "LIST_RESPONSE",
    "PATCH_OP",
    "REF_COMMON",
    "REF_ERROR",
    "REF_EXTENSION",
    "REF_INTEGER",
    "REF_LIST",
    "REF_NAMES",
    "REF_OKTA_INTEGERS",
    "REF_PAGING",
    "REF_PASSWORD",
    "REF_RESOURCE_TYPE",
    "REF_SCHEMA",
    "REF_SPC",
    "REF_USER",
    "REF_USER_NAME",
    "RESOURCE_TYPE",
    "SCHEMA",
    "SCIM_TYPES",
    "SEARCH_REQUEST",
    "SERVICE_PROVIDER_CONFIG",
    "USER",
    "WARN",
    "Missing",
    "Problem",
    "ProblemKind",
    "Validator",
    "child_path",
    "describe",
    "get_ci",
    "has_schema",
    "is_json_integer",
    "lenient_int",
    "location_problem",
    "lookup",
    "mask",
    "max_results",
    "safe_id",
    "schemas_of",
    "validate_error",
    "validate_list_response",
    "validate_resource_type",
    "validate_schema",
    "validate_service_provider_config",
    "validate_user",
]

# --- ListResponse (RFC 7644 §3.4.2) ------------------------------------------------------------

_LIST_ATTRIBUTES: Final = ("totalResults", "Resources", "startIndex", "itemsPerPage")


def validate_list_response(
    document: Any,
    *,
    count: int | None = None,
    item_validator: Validator | None = None,
    strict: bool = False,
) -> list[Problem]:
    """Problems of a ListResponse (`GET /Users`, `/ResourceTypes`, `/Schemas`, searches).

    `count`: the count the request asked for, if any (with 0, no `Resources` is right).
    `item_validator`: run on each object in `Resources` (`validate_user`,
    `validate_resource_type`, `validate_schema`); its problems' paths are re-rooted under
    `$.Resources[i]`. Without it, items are only checked to be objects.

    FAIL unless said otherwise. Kinds: a bare array or non-object: "type" at `$`; a missing,
    malformed or wrong ListResponse URN: "required", "type" or "schemas" at `$.schemas`
    (or `$.schemas[i]`); no totalResults: "required" at `$.totalResults`;
    non-integer paging values: "type" at `$.totalResults`, `$.itemsPerPage`, `$.startIndex`
    (reference: Okta's integer requirement); paging values that contradict the page, or are
    missing on a partial page: "value"/"required" WARN.
    """
    checker = Checker(strict)
    if isinstance(document, list):
        checker.add(
            FAIL, "$", "type",
            f"the body is a bare JSON array ({len(document)} items), not a ListResponse object "
            "with schemas, totalResults and Resources",
            REF_LIST,
        )  # fmt: skip
        return checker.problems
    root = root_scope(checker, document, "the body", REF_LIST)
    if root is None:
        return checker.problems
    root.schemas(LIST_RESPONSE)
    root.ref = REF_OKTA_INTEGERS
    total = root.integer("totalResults", missing=FAIL)
    start = root.integer("startIndex")
    per_page = root.integer("itemsPerPage")
    root.ref = REF_LIST
    if total is not None and total < 0:
        root.add(FAIL, "totalResults", "value", f"totalResults is {total}, below 0")
    resources: list[Any] | None = None
    found = lookup(document, "Resources")
    if found is None or found[1] is None:
        if total is not None and total > 0 and count != 0:
            root.add(
                FAIL, "Resources", "required",
                f"Resources is missing although totalResults is {total} (REQUIRED when "
                "totalResults is not 0)",
            )  # fmt: skip
    else:
        values = root.array("Resources")
        resources = values if isinstance(found[1], list) else None
        for index, item in enumerate(values):
            path = f"{root.at('Resources')}[{index}]"
            if not isinstance(item, Mapping):
                checker.not_object(path, item, f"Resources[{index}]", REF_LIST, reveal=False)
            elif item_validator is not None:
                for problem in item_validator(item):
                    checker.problems.append(problem._replace(path=path + problem.path[1:]))
    _paging_consistency(root, total, start, per_page, resources)
    root.unknown(_LIST_ATTRIBUTES, "a ListResponse")
    return checker.problems


def _paging_consistency(
    root: Scope,
    total: int | None,
    start: int | None,
    per_page: int | None,
    resources: list[Any] | None,
) -> None:
    held = None if resources is None else len(resources)
    if held is not None and total is not None and held > total:
        root.add(
            WARN, "totalResults", "value",
            f"the page holds {held} resources but totalResults is {total} (the number of all "
            "matches, never fewer than one page)",
        )  # fmt: skip
    if per_page is not None and held is not None and per_page != held:
        message = f"itemsPerPage is {per_page} but the page holds {held} resources"
        root.add(WARN, "itemsPerPage", "value", message)
    if start is not None and start < 1:
        # Okta's own example answers an empty search with startIndex 0: harmless there.
        message = f"startIndex is {start}; it is the 1-based index of the first result"
        root.checker.graded(
            None if total == 0 else WARN, WARN, root.at("startIndex"), "value", message, REF_PAGING
        )
    if held is not None and total is not None and held < total:
        for name, value in (("startIndex", start), ("itemsPerPage", per_page)):
            if value is None and lookup(root.node, name) is None:
                root.add(
                    WARN, name, "required",
                    f"{name} is missing on a partial page ({held} of totalResults {total}); it "
                    "is REQUIRED when results are paged",
                )  # fmt: skip


# --- resources (RFC 7643 §3.1, §4.1) -----------------------------------------------------------


def _check_id(root: Scope) -> None:
    value = root.string("id", missing=None)
    if value is None:
        if get_ci(root.node, "id") is None:
            message = "id is missing: the server-assigned identifier is REQUIRED"
            root.add(FAIL, "id", "required", message)
        return
    if not value.strip():
        root.add(FAIL, "id", "value", "id is an empty string")
    elif value == "bulkId":
        root.add(FAIL, "id", "value", 'id is the reserved keyword "bulkId"')


def _check_meta(root: Scope, resource_type: str, endpoint: str, base_url: str | None) -> None:
    meta = root.obj("meta")
    if meta is None:
        if get_ci(root.node, "meta") is None:
            message = f"meta is missing (resourceType {resource_type!r}, location, created, ...)"
            root.graded(None, WARN, "meta", "required", message)
        return
    kind = meta.string("resourceType")
    if kind is not None and kind.lower() != resource_type.lower():
        message = f"meta.resourceType is {describe(kind)}, not {resource_type!r}"
        meta.add(FAIL, "resourceType", "value", message)
    elif kind is not None and kind != resource_type:
        message = f"meta.resourceType is {describe(kind)}; it is case-exact: {resource_type!r}"
        meta.graded(None, WARN, "resourceType", "case", message)
    elif kind is None and get_ci(meta.node, "resourceType") is None:
        meta.graded(None, WARN, "resourceType", "required", "meta.resourceType is missing")
    location = meta.string("location")
    if location is not None and base_url is not None:
        problem = location_problem(location, base_url, endpoint)
        if problem is not None:
            meta.graded(WARN, FAIL, "location", "value", problem)
    for name in ("created", "lastModified"):
        stamp = meta.string(name, wrong=WARN)
        if stamp is not None and meta.checker.strict and not _is_datetime(stamp):
            message = f"meta.{name} is {describe(stamp)}, not an xsd:dateTime (RFC 7643 §2.3.5)"
            meta.add(WARN, name, "value", message)
    meta.string("version", wrong=WARN)


def _is_datetime(text: str) -> bool:
    pattern = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?"
    if not re.fullmatch(pattern, text.strip()):
        return False
    try:
        dt.datetime.fromisoformat(text.strip()[:19])
    except ValueError:
        return False
    return True


def location_problem(location: str, base_url: str, endpoint: str) -> str | None:
    """Why `location` is not the URL of a resource under `base_url`/`endpoint`/, or None.

    The location is shown without its last path segment (the id, which may be personal).
    """
    try:
        loc = urllib.parse.urlsplit(location.strip())
        base = urllib.parse.urlsplit(base_url)
        ports = (loc.port or _default_port(loc.scheme), base.port or _default_port(base.scheme))
    except ValueError:
        return "meta.location is not a valid URL"
    if not loc.scheme or not loc.netloc:
        return "meta.location is not an absolute URL (it must be the resource's full URI)"
    host, base_host = (loc.hostname or "").lower(), (base.hostname or "").lower()
    prefix = f"{base.path.rstrip('/')}/{endpoint}/".lower()
    same_origin = loc.scheme.lower() == base.scheme.lower() and host == base_host
    if same_origin and ports[0] == ports[1] and loc.path.lower().startswith(prefix):
        return None
    segments = loc.path.split("/")
    shown_path = "/".join([*segments[:-1], "…"]) if len(segments) > 2 else loc.path
    shown = cut(f"{loc.scheme}://{loc.netloc}{shown_path}", 120)
    hint = ""
    if host == base_host and loc.scheme.lower() != base.scheme.lower():
        hint = (
            f" ({loc.scheme}:// instead of {base.scheme}://: the application builds URLs from "
            "the request a TLS-terminating proxy forwarded; honour X-Forwarded-Proto or "
            "configure the public base URL)"
        )
    elif host != base_host:
        hint = " (another host: configure the application's public base URL)"
    return f"meta.location {shown} is not under the base URL {base_url}/{endpoint}/{hint}"


def _default_port(scheme: str) -> int | None:
    return {"https": 443, "http": 80}.get(scheme.lower())


_USER_STRINGS: Final = (
    "externalId",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
)
_USER_MULTI: Final = (
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
)


def validate_user(
    document: Any, *, base_url: str | None = None, strict: bool = False
) -> list[Problem]:
    """Problems of a User resource as a service provider returns it.

    FAIL: not an object, `schemas` without the core User URN, no non-empty string `id`, no
    string `userName`, `meta.resourceType` not "User", `password` returned (kind "returned").
    WARN: `meta.location` not under `base_url` + "/Users/" (FAIL in strict mode), an extension
    container not declared in `schemas` (kind "undeclared"), core attributes of the wrong JSON
    type. Strict adds: missing `meta`, attributes not in the core schema (vendor attributes
    belong in a declared extension), spellings that differ in case.
    """
    checker = Checker(strict)
    root = root_scope(checker, document, "the user", REF_USER)
    if root is None:
        return checker.problems
    root.ref = REF_COMMON
    declared = {urn.lower() for urn in root.schemas(USER)}
    _check_id(root)
    _check_meta(root, "User", "Users", base_url)
    root.ref = REF_USER_NAME
    user_name = root.string("userName", missing=FAIL, reveal=False)
    if user_name is not None and not user_name.strip():
        root.add(FAIL, "userName", "value", "userName is empty")
    password = lookup(root.node, "password")
    if password is not None and password[1] is not None:
        shown = describe(password[1], reveal=False)
        message = f"password is returned ({shown}; value not shown)"
        root.checker.add(FAIL, root.at("password"), "returned", message, REF_PASSWORD)
    root.ref = REF_USER
    for name in _USER_STRINGS:
        root.string(name, wrong=WARN, reveal=False)
    root.boolean("active")
    if (name_value := get_ci(root.node, "name")) is not None and not isinstance(
        name_value, Mapping
    ):
        message = f"name is {describe(name_value, reveal=False)}, not a complex (object) value"
        root.graded(WARN, FAIL, "name", "type", message)
    for multi in _USER_MULTI:
        for index, item in enumerate(root.array(multi, wrong=WARN, reveal=False)):
            if not isinstance(item, Mapping):
                message = f"{multi}[{index}] is {describe(item, reveal=False)}, not an object"
                path = f"{root.at(multi)}[{index}]"
                checker.graded(WARN, FAIL, path, "type", message, REF_USER)
    _check_extensions(root, declared)
    root.unknown(("userName", "name", "active", "password", *_USER_STRINGS, *_USER_MULTI), "User")
    return checker.problems


def _check_extensions(root: Scope, declared: set[str]) -> None:
    """Extension containers (URN keys) must be declared in `schemas` and be objects."""
    for key, value in root.node.items():
        if not isinstance(key, str) or not key.lower().startswith("urn:"):
            continue
        path, shown = child_path("$", key), cut(key, 100)
        if key.lower() not in declared:
            message = f"extension {shown} is used but not declared in schemas"
            root.checker.graded(WARN, FAIL, path, "undeclared", message, REF_EXTENSION)
        if value is not None and not isinstance(value, Mapping):
            message = f"extension {shown} is {describe(value, reveal=False)}, not an object"
            root.checker.graded(WARN, FAIL, path, "type", message, REF_EXTENSION)
