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
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal, NamedTuple

from scim_doctor.core.model import Severity
from scim_doctor.core.pii import mask_value

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

# --- small pure helpers (public: probes use them too) -----------------------------------------


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
        return f"the integer {_cut(str(value))}" if reveal else "an integer"
    if isinstance(value, float):
        return f"the number {_cut(repr(value))}" if reveal else "a number"
    if isinstance(value, str):
        return f"the string {_cut(json.dumps(value, ensure_ascii=False))}" if reveal else "a string"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    return "an object"


def _cut(text: str, limit: int = 60) -> str:
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
    return mask(text) if "@" in text else _cut(text, 64)


Missing = Severity | None
"""How bad a missing attribute is in lenient mode (None: optional); strict mode: FAIL."""


class _Checker:
    """Collects the problems of one document; knows the mode."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.problems: list[Problem] = []

    def add(self, severity: Severity, path: str, kind: ProblemKind, message: str, ref: str) -> None:
        self.problems.append(Problem(path, severity, message, ref, kind))

    def graded(
        self,
        lenient: Severity | None,
        strict: Severity,
        path: str,
        kind: ProblemKind,
        message: str,
        ref: str,
    ) -> None:
        """Add with `strict` severity in strict mode, else `lenient` (None: not at all)."""
        severity = strict if self.strict else lenient
        if severity is not None:
            self.add(severity, path, kind, message, ref)

    def scope(self, node: Mapping[Any, Any], path: str, ref: str) -> _Scope:
        return _Scope(self, node, path, ref)

    def not_object(self, path: str, value: Any, what: str, ref: str, reveal: bool = True) -> None:
        shown = describe(value, reveal=reveal)
        self.add(FAIL, path, "type", f"{what} is {shown}, not a JSON object", ref)


class _Scope:
    """One JSON object under check: attribute lookups with paths, typed getters, problems."""

    def __init__(self, checker: _Checker, node: Mapping[Any, Any], path: str, ref: str) -> None:
        self.checker = checker
        self.node = node
        self.path = path
        self.ref = ref
        self._duplicates()

    def _duplicates(self) -> None:
        """Keys that differ only in case name the same attribute: which one counts is a guess."""
        seen: dict[str, str] = {}
        for key in self.node:
            if isinstance(key, str) and seen.setdefault(key.lower(), key) != key:
                first = seen[key.lower()]
                self.checker.add(
                    WARN, child_path(self.path, key), "value",
                    f"{first!r} and {key!r} are the same attribute (names are case-insensitive); "
                    "clients will read either one", REF_NAMES,
                )  # fmt: skip

    def get(self, name: str) -> tuple[str, Any] | None:
        """(key as sent, value); in strict mode notes a spelling that differs in case."""
        found = lookup(self.node, name)
        if found is not None and found[0] != name:
            self.checker.graded(
                None, INFO, child_path(self.path, found[0]), "case",
                f"{found[0]!r} is spelled {name!r} in the RFC (names are case-insensitive, but "
                "some clients compare them exactly)", REF_NAMES,
            )  # fmt: skip
        return found

    def at(self, name: str) -> str:
        """The path of attribute `name` (as the document spells it, if present)."""
        found = lookup(self.node, name)
        return child_path(self.path, found[0] if found else name)

    def add(self, severity: Severity, name: str, kind: ProblemKind, message: str) -> None:
        self.checker.add(severity, self.at(name), kind, message, self.ref)

    def graded(
        self, lenient: Severity | None, strict: Severity, name: str, kind: ProblemKind, msg: str
    ) -> None:
        self.checker.graded(lenient, strict, self.at(name), kind, msg, self.ref)

    def value(self, name: str, missing: Missing) -> tuple[bool, Any]:
        """(present, value); a missing or null REQUIRED attribute is reported."""
        found = self.get(name)
        if found is not None and found[1] is not None:
            return True, found[1]
        if missing is not None:
            said = "is null" if found is not None else "is missing"
            self.graded(missing, FAIL, name, "required", f"{name} {said} (REQUIRED)")
        return False, None

    def string(
        self, name: str, *, missing: Missing = None, wrong: Severity = FAIL, reveal: bool = True
    ) -> str | None:
        """The attribute when it is a string. `wrong`: lenient severity of another type."""
        present, value = self.value(name, missing)
        if not present:
            return None
        if not isinstance(value, str):
            shown = describe(value, reveal=reveal)
            self.graded(wrong, FAIL, name, "type", f"{name} is {shown}, not a string")
            return None
        return value

    def integer(self, name: str, *, missing: Missing = None) -> int | None:
        """The attribute when it is a JSON integer (not "1", 1.0 or true)."""
        present, value = self.value(name, missing)
        if not present:
            return None
        if not is_json_integer(value):
            self.add(FAIL, name, "type", f"{name} is {describe(value)}, not a JSON integer")
            return None
        number: int = value
        return number

    def boolean(self, name: str, *, missing: Missing = None) -> bool | None:
        """The attribute when it is a JSON boolean (not "true")."""
        present, value = self.value(name, missing)
        if not present:
            return None
        if not isinstance(value, bool):
            message = f"{name} is {describe(value)}, not a JSON boolean (true or false)"
            self.add(FAIL, name, "type", message)
            return None
        return value

    def obj(self, name: str, *, missing: Missing = None) -> _Scope | None:
        """The attribute as a scope when it is an object."""
        present, value = self.value(name, missing)
        if not present:
            return None
        if not isinstance(value, Mapping):
            self.checker.not_object(self.at(name), value, name, self.ref)
            return None
        return self.checker.scope(value, self.at(name), self.ref)

    def array(
        self, name: str, *, missing: Missing = None, wrong: Severity = FAIL, reveal: bool = True
    ) -> list[Any]:
        """The attribute when it is an array (else empty)."""
        present, value = self.value(name, missing)
        if not present:
            return []
        if not isinstance(value, list):
            shown = describe(value, reveal=reveal)
            self.graded(wrong, FAIL, name, "type", f"{name} is {shown}, not an array")
            return []
        return value

    def items(self, name: str, values: list[Any]) -> list[_Scope]:
        """Scopes for the objects of an array attribute; other items are reported."""
        scopes = []
        for index, item in enumerate(values):
            path = f"{self.at(name)}[{index}]"
            if isinstance(item, Mapping):
                scopes.append(self.checker.scope(item, path, self.ref))
            else:
                self.checker.not_object(path, item, f"{name}[{index}]", self.ref)
        return scopes

    def unknown(self, known: Sequence[str], what: str) -> None:
        """Strict mode: attributes the definition does not have (URN containers aside)."""
        if not self.checker.strict:
            return
        names = {name.lower() for name in known}
        for key in self.node:
            if isinstance(key, str) and key.lower() not in names | {"schemas", "id", "meta"}:
                if not key.lower().startswith("urn:"):
                    message = f"{key!r} is not an attribute of {what}"
                    self.checker.add(
                        WARN, child_path(self.path, key), "undeclared", message, self.ref
                    )

    def schemas(self, urn: str) -> list[str]:
        """`schemas` must be an array of URN strings listing `urn`; returns the strings."""
        if get_ci(self.node, "schemas") is None:
            self.add(FAIL, "schemas", "required", f"schemas is missing; it must list {urn}")
            return []
        values = self.array("schemas")
        if not values:
            if isinstance(get_ci(self.node, "schemas"), list):
                self.add(FAIL, "schemas", "schemas", f"schemas is empty; it must list {urn}")
            return []
        strings = [value for value in values if isinstance(value, str)]
        for index, value in enumerate(values):
            if not isinstance(value, str):
                self.checker.add(
                    FAIL, f"{self.at('schemas')}[{index}]", "schemas",
                    f"schemas[{index}] is {describe(value)}, not a URN string", self.ref,
                )  # fmt: skip
        lowered = [value.lower() for value in strings]
        if values and urn.lower() not in lowered:
            shown = _cut(json.dumps(strings, ensure_ascii=False), 160)
            self.add(FAIL, "schemas", "schemas", f"schemas is {shown} and lacks {urn}")
        elif values and urn not in strings:
            self.graded(None, INFO, "schemas", "case", f"schemas spells {urn} in another case")
        if len(set(lowered)) != len(lowered):
            self.graded(None, WARN, "schemas", "value", "schemas lists a URN more than once")
        return strings


def _root(checker: _Checker, document: Any, what: str, ref: str) -> _Scope | None:
    if not isinstance(document, Mapping):
        checker.not_object("$", document, what, ref)
        return None
    return checker.scope(document, "$", ref)


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
    checker = _Checker(strict)
    if isinstance(document, list):
        checker.add(
            FAIL, "$", "type",
            f"the body is a bare JSON array ({len(document)} items), not a ListResponse object "
            "with schemas, totalResults and Resources",
            REF_LIST,
        )  # fmt: skip
        return checker.problems
    root = _root(checker, document, "the body", REF_LIST)
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
    root: _Scope,
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


def _check_id(root: _Scope) -> None:
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


def _check_meta(root: _Scope, resource_type: str, endpoint: str, base_url: str | None) -> None:
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
    shown = _cut(f"{loc.scheme}://{loc.netloc}{shown_path}", 120)
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
    checker = _Checker(strict)
    root = _root(checker, document, "the user", REF_USER)
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


def _check_extensions(root: _Scope, declared: set[str]) -> None:
    """Extension containers (URN keys) must be declared in `schemas` and be objects."""
    for key, value in root.node.items():
        if not isinstance(key, str) or not key.lower().startswith("urn:"):
            continue
        path, shown = child_path("$", key), _cut(key, 100)
        if key.lower() not in declared:
            message = f"extension {shown} is used but not declared in schemas"
            root.checker.graded(WARN, FAIL, path, "undeclared", message, REF_EXTENSION)
        if value is not None and not isinstance(value, Mapping):
            message = f"extension {shown} is {describe(value, reveal=False)}, not an object"
            root.checker.graded(WARN, FAIL, path, "type", message, REF_EXTENSION)


# --- Error (RFC 7644 §3.12) --------------------------------------------------------------------


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
    checker = _Checker(strict)
    root = _root(checker, document, "the error body", REF_ERROR)
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


def _error_status(root: _Scope, status: Any, http_status: int | None) -> None:
    number: int | None = None
    if is_json_integer(status):
        number = status
        shown = _cut(str(status))
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


# --- ServiceProviderConfig (RFC 7643 §5) -------------------------------------------------------

_FEATURES: Final = ("patch", "bulk", "filter", "changePassword", "sort", "etag")
_FEATURE_LIMITS: Final = {"bulk": ("maxOperations", "maxPayloadSize"), "filter": ("maxResults",)}
_AUTH_TYPES: Final = frozenset({"oauth", "oauth2", "oauthbearertoken", "httpbasic", "httpdigest"})


def validate_service_provider_config(document: Any, *, strict: bool = False) -> list[Problem]:
    """Problems of a `/ServiceProviderConfig` document.

    FAIL: not an object, no ServiceProviderConfig URN, a `supported` that is not a JSON boolean
    (`"true"`), a limit (bulk.maxOperations, bulk.maxPayloadSize, filter.maxResults) that is not
    a JSON integer or is negative, `authenticationSchemes` not an array of objects.
    WARN (FAIL in strict mode): a REQUIRED feature (patch, bulk, filter, changePassword, sort,
    etag) or its `supported` missing, a limit of a supported feature missing,
    `authenticationSchemes` missing or a scheme without type/name/description. Paths are
    `$.<feature>.<attribute>`; kinds "required", "type", "value".
    """
    checker = _Checker(strict)
    root = _root(checker, document, "the document", REF_SPC)
    if root is None:
        return checker.problems
    root.schemas(SERVICE_PROVIDER_CONFIG)
    for feature in _FEATURES:
        node = root.obj(feature, missing=WARN)
        if node is None:
            continue
        supported = node.boolean("supported", missing=WARN)
        for limit in _FEATURE_LIMITS.get(feature, ()):
            value = node.integer(limit, missing=WARN if supported else None)
            if value is not None and value < 0:
                node.add(FAIL, limit, "value", f"{feature}.{limit} is {value}, below 0")
    root.string("documentationUri", wrong=WARN)
    schemes = root.array("authenticationSchemes", missing=WARN)
    for scheme in root.items("authenticationSchemes", schemes):
        kind = scheme.string("type", missing=WARN)
        scheme.string("name", missing=WARN)
        scheme.string("description", missing=WARN)
        scheme.boolean("primary")
        if kind is not None and kind.lower() not in _AUTH_TYPES:
            message = f"type {describe(kind)} is not one of {', '.join(sorted(_AUTH_TYPES))}"
            scheme.graded(None, INFO, "type", "value", message)
    root.unknown(("documentationUri", "authenticationSchemes", *_FEATURES), "the config")
    return checker.problems


def max_results(document: Any) -> int | None:
    """`filter.maxResults` of a ServiceProviderConfig when it is a non-negative JSON integer."""
    value = get_ci(get_ci(document, "filter"), "maxResults")
    return value if is_json_integer(value) and value >= 0 else None


# --- ResourceType (RFC 7643 §6) ----------------------------------------------------------------


def validate_resource_type(document: Any, *, strict: bool = False) -> list[Problem]:
    """Problems of one ResourceType (an item of `/ResourceTypes`).

    FAIL: not an object, no ResourceType URN, `name`, `endpoint` or `schema` missing or not a
    string, `schemaExtensions` not an array of objects, an extension `required` that is not a
    boolean. WARN: `endpoint` not relative to the base ("/Users"), an extension without
    `schema` or `required` (FAIL in strict mode). Strict adds: a `schema` that is not a URN.
    """
    checker = _Checker(strict)
    root = _root(checker, document, "the resource type", REF_RESOURCE_TYPE)
    if root is None:
        return checker.problems
    root.schemas(RESOURCE_TYPE)
    root.string("id")
    root.string("name", missing=FAIL)
    root.string("description", wrong=WARN)
    endpoint = root.string("endpoint", missing=FAIL)
    if endpoint is not None and not endpoint.startswith("/"):
        message = f'endpoint is {describe(endpoint)}; it is relative to the base URL, like "/Users"'
        root.add(WARN, "endpoint", "value", message)
    schema = root.string("schema", missing=FAIL)
    if schema is not None and not schema.lower().startswith("urn:"):
        root.graded(None, WARN, "schema", "value", f"schema is {describe(schema)}, not a URN")
    extensions = root.array("schemaExtensions")
    for extension in root.items("schemaExtensions", extensions):
        extension.string("schema", missing=WARN)
        extension.boolean("required", missing=WARN)
    root.unknown(("name", "description", "endpoint", "schema", "schemaExtensions"), "a type")
    return checker.problems


# --- Schema (RFC 7643 §7) ----------------------------------------------------------------------

_ATTRIBUTE_TYPES: Final = (
    "string",
    "boolean",
    "decimal",
    "integer",
    "dateTime",
    "binary",
    "reference",
    "complex",
)
_KEYWORDS: Final = {
    "mutability": ("readOnly", "readWrite", "immutable", "writeOnly"),
    "returned": ("always", "never", "default", "request"),
    "uniqueness": ("none", "server", "global"),
}


def validate_schema(document: Any, *, strict: bool = False) -> list[Problem]:
    """Problems of one Schema definition (an item of `/Schemas`).

    FAIL: not an object, no Schema URN, `id` missing or not a string, `attributes` missing or
    not an array, an attribute that is not an object or has no string `name`, a `type` that is
    not one of RFC 7643's data types, a characteristic of the wrong JSON type. WARN: an unknown
    mutability/returned/uniqueness value, sub-attributes below a sub-attribute. Strict adds: an
    `id` that is not a URN, missing `type`/`multiValued`, complex attributes without
    `subAttributes`, case variants of keywords.
    """
    checker = _Checker(strict)
    root = _root(checker, document, "the schema", REF_SCHEMA)
    if root is None:
        return checker.problems
    root.schemas(SCHEMA)
    urn = root.string("id", missing=FAIL)
    if urn is not None and not urn.lower().startswith("urn:"):
        root.graded(None, WARN, "id", "value", f"id is {describe(urn)}, not a URN")
    root.string("name", wrong=WARN)
    root.string("description", wrong=WARN)
    attributes = root.array("attributes", missing=FAIL)
    for attribute in root.items("attributes", attributes):
        _schema_attribute(attribute, depth=1)
    return checker.problems


def _schema_attribute(attribute: _Scope, *, depth: int) -> None:
    name = attribute.string("name", missing=FAIL)
    if name is not None and not re.fullmatch(r"\$ref|[A-Za-z][A-Za-z0-9_-]*", name):
        message = f"name {describe(name)} is not an ATTRNAME (RFC 7643 §2.1)"
        attribute.graded(None, WARN, "name", "value", message)
    kind = _keyword(attribute, "type", _ATTRIBUTE_TYPES, unknown=FAIL)
    if lookup(attribute.node, "type") is None:
        attribute.graded(None, WARN, "type", "required", "type is missing (defaults to string)")
    attribute.boolean("multiValued", missing=None)
    if lookup(attribute.node, "multiValued") is None:
        attribute.graded(None, WARN, "multiValued", "required", "multiValued is missing")
    for flag in ("required", "caseExact"):
        attribute.boolean(flag)
    for characteristic, allowed in _KEYWORDS.items():
        _keyword(attribute, characteristic, allowed, unknown=WARN)
    attribute.string("description", wrong=WARN)
    for listed in ("canonicalValues", "referenceTypes"):
        attribute.array(listed, wrong=WARN)
    if get_ci(attribute.node, "subAttributes") is None:
        if kind == "complex":
            message = "a complex attribute without subAttributes"
            attribute.graded(None, WARN, "subAttributes", "required", message)
        return
    if depth > 1:
        message = "a sub-attribute has sub-attributes (complex attributes nest one level only)"
        attribute.add(WARN, "subAttributes", "value", message)
        return
    subs = attribute.array("subAttributes")
    for sub in attribute.items("subAttributes", subs):
        _schema_attribute(sub, depth=depth + 1)


def _keyword(node: _Scope, name: str, allowed: Sequence[str], *, unknown: Severity) -> str | None:
    """A keyword characteristic (type, mutability, ...): its canonical spelling when known."""
    value = node.string(name)
    if value is None or value in allowed:
        return value
    folded = {keyword.lower(): keyword for keyword in allowed}
    if value.lower() in folded:
        spelled = folded[value.lower()]
        node.graded(None, WARN, name, "case", f"{name} {describe(value)} is spelled {spelled!r}")
        return spelled
    message = f"{name} is {describe(value)}, not one of {', '.join(allowed)}"
    node.add(unknown, name, "value", message)
    return None
