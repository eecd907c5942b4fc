"""What the discovery and errors checks need beyond scim.py's per-document validators: pure, no I/O.

scim.py judges one document at a time (`validate_service_provider_config`,
`validate_list_response`, `validate_resource_type`, `validate_schema`, `validate_error`). The
checks also need to read what a server *declares* (filter support, maxResults, resource types)
even from a malformed document, to judge the three discovery documents together (is there a
User resource type, is the User schema described), and to sort an error body's problems into
their finding codes. That lives here, so every field-seen shape (a bare array for
/ResourceTypes, `"supported": "true"`, `"status": 404`) is tested without a server.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from msgspec import Struct

from scim_doctor.core.model import Severity
from scim_doctor.scim import validators as scim
from scim_doctor.scim.validators import (
    ERROR,
    LIST_RESPONSE,
    RESOURCE_TYPE,
    SCHEMA,
    SERVICE_PROVIDER_CONFIG,
    USER,
    Problem,
    get_ci,
    has_schema,
    is_json_integer,
)

__all__ = [
    "ERROR",
    "LIST_RESPONSE",
    "RESOURCE_TYPE",
    "SCHEMA",
    "SERVICE_PROVIDER_CONFIG",
    "USER",
    "DiscoveryList",
    "ErrorVerdict",
    "ItemsPerPageMismatch",
    "ListCheck",
    "ResourceTypesCheck",
    "SchemasCheck",
    "ServiceProviderConfigCheck",
    "check_resource_types",
    "check_schemas",
    "check_service_provider_config",
    "declaration",
    "judge_error",
    "problem_text",
    "read_list",
    "summarize",
]

MAX_SHOWN: Final = 6
"""Problems listed in one message; the rest are counted."""

_FEATURES: Final = ("patch", "bulk", "filter", "changePassword", "sort", "etag")
_LIMITS: Final = {
    ("bulk", "maxOperations"): "bulk_max_operations",
    ("bulk", "maxPayloadSize"): "bulk_max_payload_size",
    ("filter", "maxResults"): "max_results",
}


def problem_text(problem: Problem) -> str:
    """A validator problem as one phrase that says where: 'patch.supported is the string ...'.

    scim.py starts each message with the attribute's own name; here it gets its full path.
    """
    path = problem.path
    if path == "$":
        return problem.message
    dotted = path[2:] if path.startswith("$.") else path[1:]
    leaf = dotted.rsplit(".", 1)[-1]
    if problem.message.startswith(leaf + " "):
        return dotted + problem.message[len(leaf) :]
    return f"{dotted}: {problem.message}"


def _texts(problems: Sequence[Problem]) -> list[str]:
    """Lenient-mode problems as text (INFO ones are hygiene, not problems)."""
    return [problem_text(p) for p in problems if p.severity is not Severity.INFO]


def summarize(problems: Sequence[str]) -> str:
    """Problems as one line: the first MAX_SHOWN, then how many more."""
    shown = "; ".join(problems[:MAX_SHOWN])
    more = len(problems) - MAX_SHOWN
    return shown + (f"; and {more} more" if more > 0 else "")


# --- ServiceProviderConfig (RFC 7643 §5) --------------------------------------------------------


def declaration(document: Any) -> dict[str, Any]:
    """What a ServiceProviderConfig declares, JSON-compatible: None wherever the value is absent
    or not of its RFC type (a `"true"` is not taken for true)."""
    declared: dict[str, Any] = {}
    for feature in _FEATURES:
        key = "change_password" if feature == "changePassword" else feature
        supported = get_ci(get_ci(document, feature), "supported")
        declared[f"{key}_supported"] = supported if isinstance(supported, bool) else None
    for (feature, limit), key in _LIMITS.items():
        value = get_ci(get_ci(document, feature), limit)
        declared[key] = value if is_json_integer(value) and value >= 0 else None
    schemes = get_ci(document, "authenticationSchemes")
    labels = []
    for scheme in schemes if isinstance(schemes, list) else []:
        label = get_ci(scheme, "type") or get_ci(scheme, "name")
        if isinstance(label, str) and label.strip():
            labels.append(label.strip())
    declared["authentication_schemes"] = labels
    return declared


class ServiceProviderConfigCheck(Struct, frozen=True):
    """A /ServiceProviderConfig body judged: what violates the RFCs, what it declares."""

    problems: tuple[str, ...]
    """What violates RFC 7643 §5 / RFC 7644 §4, each with the observed value."""
    declared: dict[str, Any]
    """See `declaration`."""


def check_service_provider_config(
    document: Any, *, strict: bool = False
) -> ServiceProviderConfigCheck:
    """Judge a /ServiceProviderConfig body: one resource with the §5 required attributes.

    A ListResponse wrapping one configuration is a problem, but what it declares is still read.
    """
    problems: list[str] = []
    if has_schema(document, LIST_RESPONSE) and not has_schema(document, SERVICE_PROVIDER_CONFIG):
        problems.append(
            "the body is a ListResponse, but /ServiceProviderConfig is a single resource "
            "(RFC 7644 §4)"
        )
        resources = get_ci(document, "Resources")
        if isinstance(resources, list) and len(resources) == 1:
            document = resources[0]
    problems.extend(_texts(scim.validate_service_provider_config(document, strict=strict)))
    schemes = get_ci(document, "authenticationSchemes")
    if isinstance(schemes, list) and not schemes:
        problems.append("authenticationSchemes is empty: no authentication scheme is declared")
    return ServiceProviderConfigCheck(tuple(problems), declaration(document))


# --- ListResponse of discovery resources (RFC 7644 §3.4.2, §4) ----------------------------------


class ItemsPerPageMismatch(Struct, frozen=True):
    """A ListResponse whose itemsPerPage is not the number of Resources it returned.

    SCIMMY sends its page size (20) whatever the page holds. A client that pages by itemsPerPage
    computes the next startIndex from it, so the wrong number makes it skip entries or stop
    early (too large), read entries twice (too small) or never move on (0).
    """

    items_per_page: int
    returned: int
    """How many entries Resources holds."""
    start_index: int
    """As sent; 1 (the default, RFC 7644 §3.4.2.4) when absent or not a positive integer."""
    total_results: int | None
    problem: str
    """The problem as `problems` lists it: 'itemsPerPage is 20 but the page holds 2 resources'."""

    def consequence(self) -> str:
        """What a client that pages by itemsPerPage does with these numbers."""
        start, returned, said = self.start_index, self.returned, self.items_per_page
        client = "a client that pages by itemsPerPage"
        if said <= 0:
            return f"{client} never gets past startIndex={start}: it loops on this page"
        following = start + said
        if said < returned:
            again = _entries(following, start + returned - 1)
            return f"{client} asks next for startIndex={following}, so it reads {again} twice"
        missed = _entries(start + returned, following - 1)
        return (
            f"{client} asks next for startIndex={following}, so once the list is longer than "
            f"this page it never reads {missed}: it skips them, or stops early"
        )

    def explanation(self) -> str:
        """The numbers, what itemsPerPage means, and what clients do with it."""
        total = "" if self.total_results is None else f", totalResults {self.total_results}"
        return (
            f"{self.problem} (startIndex {self.start_index}{total}); itemsPerPage is the number "
            f"of resources returned in this page (RFC 7644 §3.4.2), and {self.consequence()}"
        )

    def fix(self) -> str:
        """A remediation with the numbers seen."""
        return (
            f"Set itemsPerPage to the number of resources in Resources ({self.returned} here), "
            f"not to a page size or the count asked for ({self.items_per_page} here). Where a "
            "library builds the ListResponse (SCIMMY's sets itemsPerPage to the requested count, "
            "20 by default), overwrite the value with the length of Resources before sending it."
        )


def _entries(first: int, last: int) -> str:
    return f"entry {first}" if first == last else f"entries {first} to {last}"


class DiscoveryList(Struct, frozen=True):
    """The entries of a /ResourceTypes or /Schemas body, and the shape they came in."""

    shape: str
    """'ListResponse', 'bare array', 'single resource' or 'not a list'."""
    resources: tuple[Any, ...]
    """The entries found, whatever the shape (so later checks can still adapt)."""
    problems: tuple[str, ...] = ()
    items_per_page: ItemsPerPageMismatch | None = None
    """Set when itemsPerPage contradicts the entries returned (also listed in `problems`)."""


def read_list(
    document: Any,
    single_urn: str,
    item_validator: Callable[[Any], list[Problem]],
    *,
    strict: bool = False,
) -> DiscoveryList:
    """The entries of a /ResourceTypes or /Schemas body, and everything wrong with it.

    RFC 7644 §4: 'When returning multiple ResourceTypes or Schemas, the message form described
    by ... ListResponse ... SHALL be used.' Some servers send a bare JSON array, or a single
    resource; their entries are still read and validated.
    """
    if isinstance(document, list):
        entries: tuple[Any, ...] = tuple(document)
        problems = _texts(scim.validate_list_response(document, strict=strict))
        return DiscoveryList("bare array", entries, (*problems, *_items(entries, item_validator)))
    if has_schema(document, single_urn) and not has_schema(document, LIST_RESPONSE):
        problems = ["the body is a single resource, not a ListResponse of all of them"]
        problems.extend(_texts(item_validator(document)))
        return DiscoveryList("single resource", (document,), tuple(problems))
    found = scim.validate_list_response(document, item_validator=item_validator, strict=strict)
    problems = _texts(found)
    resources = get_ci(document, "Resources")
    if not isinstance(document, Mapping):
        return DiscoveryList("not a list", (), tuple(problems))
    entries = tuple(resources) if isinstance(resources, list) else ()
    mismatch = _items_per_page_mismatch(document, found)
    return DiscoveryList("ListResponse", entries, tuple(problems), mismatch)


def _items_per_page_mismatch(
    document: Mapping[str, Any], problems: Sequence[Problem]
) -> ItemsPerPageMismatch | None:
    """The numbers behind scim.py's 'itemsPerPage is N but the page holds M resources'."""
    problem = next(
        (
            p
            for p in problems
            if p.kind == "value"
            and p.path.lower() == "$.itemsperpage"
            and p.severity is not Severity.INFO
        ),
        None,
    )
    said, resources = get_ci(document, "itemsPerPage"), get_ci(document, "Resources")
    if problem is None or not is_json_integer(said) or not isinstance(resources, list):
        return None
    start, total = get_ci(document, "startIndex"), get_ci(document, "totalResults")
    return ItemsPerPageMismatch(
        items_per_page=said,
        returned=len(resources),
        start_index=start if is_json_integer(start) and start >= 1 else 1,
        total_results=total if is_json_integer(total) else None,
        problem=problem_text(problem),
    )


def _items(entries: Sequence[Any], validator: Callable[[Any], list[Problem]]) -> list[str]:
    """Problems of the entries of a bare array, with paths `[i].name`."""
    found = []
    for index, entry in enumerate(entries):
        for problem in validator(entry):
            rooted = problem._replace(path=f"$[{index}]" + problem.path[1:])
            if rooted.severity is not Severity.INFO:
                found.append(problem_text(rooted))
    return found


# --- ResourceTypes (RFC 7643 §6) ----------------------------------------------------------------


class ListCheck(Struct, frozen=True):
    """What a /ResourceTypes or /Schemas body was found to be, whichever it is."""

    shape: str
    """See `DiscoveryList.shape`."""
    problems: tuple[str, ...]
    items_per_page: ItemsPerPageMismatch | None
    """See `DiscoveryList.items_per_page`."""

    @property
    def only_items_per_page(self) -> ItemsPerPageMismatch | None:
        """The itemsPerPage mismatch when it is the one problem: then it can be told in full."""
        mismatch = self.items_per_page
        return mismatch if mismatch is not None and self.problems == (mismatch.problem,) else None


class ResourceTypesCheck(ListCheck, frozen=True):
    """A /ResourceTypes body judged: the names and endpoints it declares."""

    names: tuple[str, ...]
    """Every resource type name declared, in order."""
    endpoints: dict[str, str]
    """Resource type name -> endpoint, for every entry that names both."""


def check_resource_types(document: Any, *, strict: bool = False) -> ResourceTypesCheck:
    """Judge a /ResourceTypes body: a ListResponse of entries with name, endpoint and schema,
    one of which is for the core User schema."""
    listing = read_list(
        document,
        RESOURCE_TYPE,
        functools.partial(scim.validate_resource_type, strict=strict),
        strict=strict,
    )
    problems = list(listing.problems)
    names: list[str] = []
    endpoints: dict[str, str] = {}
    has_user = False
    for entry in listing.resources:
        name, endpoint, schema = (get_ci(entry, k) for k in ("name", "endpoint", "schema"))
        if isinstance(name, str):
            names.append(name)
            if isinstance(endpoint, str):
                endpoints[name] = endpoint
        has_user = has_user or (isinstance(schema, str) and schema.lower() == USER.lower())
    if listing.shape != "not a list":
        if not listing.resources:
            problems.append("no resource type is declared")
        elif not has_user:
            problems.append(f"no resource type has the core User schema {USER}")
    return ResourceTypesCheck(
        shape=listing.shape,
        problems=tuple(problems),
        items_per_page=listing.items_per_page,
        names=tuple(names),
        endpoints=endpoints,
    )


# --- Schemas (RFC 7643 §7) ----------------------------------------------------------------------


class SchemasCheck(ListCheck, frozen=True):
    """A /Schemas body judged: the schema URNs it declares."""

    ids: tuple[str, ...]
    """The schema URNs declared."""


def check_schemas(document: Any, *, strict: bool = False) -> SchemasCheck:
    """Judge a /Schemas body: a ListResponse that describes at least the core User schema."""
    listing = read_list(
        document, SCHEMA, functools.partial(scim.validate_schema, strict=strict), strict=strict
    )
    problems = list(listing.problems)
    ids = [urn for e in listing.resources if isinstance(urn := get_ci(e, "id"), str)]
    if listing.shape != "not a list":
        user = next((e for e in listing.resources if _is(get_ci(e, "id"), USER)), None)
        if user is None:
            shown = ", ".join(ids) if ids else "none"
            problems.append(f"the core User schema {USER} is not described (schemas: {shown})")
        else:
            problems.extend(_user_schema_problems(user))
    return SchemasCheck(
        shape=listing.shape,
        problems=tuple(problems),
        items_per_page=listing.items_per_page,
        ids=tuple(ids),
    )


def _is(value: Any, urn: str) -> bool:
    return isinstance(value, str) and value.lower() == urn.lower()


def _user_schema_problems(user: Any) -> list[str]:
    attributes = get_ci(user, "attributes")
    if not isinstance(attributes, list):
        return []  # the schema validator has said so
    if not attributes:
        return [f"the User schema {USER} describes no attributes"]
    names = {name.lower() for a in attributes if isinstance(name := get_ci(a, "name"), str)}
    if "username" not in names:
        return [f"the User schema {USER} does not describe userName"]
    return []


# --- Error responses (RFC 7644 §3.12) -----------------------------------------------------------


class ErrorVerdict(Struct, frozen=True):
    """An error body's problems sorted by the finding they become."""

    not_scim: str | None
    """Why this is not a SCIM Error message at all (not an object, no Error URN), else None."""
    status_not_string: str | None
    """`status` sent as a JSON number, else None."""
    status_invalid: tuple[str, ...]
    """`status` missing, not a status code, or not the HTTP status."""
    scim_type: Any
    """The `scimType` as sent (None when absent or when not a SCIM Error)."""


def judge_error(document: Any, http_status: int, *, strict: bool = False) -> ErrorVerdict:
    """Sort scim.validate_error's problems: envelope, integer status, other status problems."""
    problems = scim.validate_error(document, http_status=http_status, strict=strict)
    envelope = [p for p in problems if p.path in ("$", "$.schemas")]
    if envelope:
        why = "; ".join(problem_text(p) for p in envelope)
        if isinstance(document, Mapping) and get_ci(document, "schemas") is None:
            members = ", ".join(sorted(str(key) for key in document)[:8]) or "none"
            why += f" (members: {members})"
        return ErrorVerdict(why, None, (), None)
    status = get_ci(document, "status")
    not_string = None
    invalid = []
    for problem in problems:
        if problem.path != "$.status" or problem.severity is Severity.INFO:
            continue
        if problem.kind == "type" and is_json_integer(status):
            not_string = problem_text(problem)
        else:
            invalid.append(problem_text(problem))
    return ErrorVerdict(None, not_string, tuple(invalid), get_ci(document, "scimType"))
