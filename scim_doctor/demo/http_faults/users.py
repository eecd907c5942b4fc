"""Demo faults for the `users` check: /Users listings and searches broken the way real
servers break them (each one a finding the doctor must name)."""

from __future__ import annotations

import itertools
import json
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from msgspec.structs import replace

from scim_doctor.demo.fault_kit import Fault, map_response, on_route
from scim_doctor.demo.scim_directory import seeded_id
from scim_doctor.demo.scim_wire import (
    Handler,
    Middleware,
    Request,
    Response,
    error_response,
)

Json = dict[str, Any]


def _listing(change: Callable[[Json], Any]) -> Middleware:
    """Let the healthy server list users, then change the 200 ListResponse."""

    def transform(request: Request, response: Response) -> Response:
        if response.status != 200:
            return response
        return response.with_json(change(response.json()))

    return on_route("GET", "/Users", map_response(transform))


def _rewrite_query(request: Request, change: Callable[[dict[str, str]], None]) -> Request:
    """The same request with its query parameters changed (names as sent)."""
    path, _, query = request.target.partition("?")
    params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    change(params)
    encoded = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    return replace(request, target=f"{path}?{encoded}" if encoded else path)


def _drop_params(*names: str) -> Middleware:
    """The server never reads these query parameters."""

    def middleware(request: Request, call_next: Handler) -> Response:
        def drop(params: dict[str, str]) -> None:
            for key in [k for k in params if k.lower() in names]:
                del params[key]

        return call_next(_rewrite_query(request, drop))

    return on_route("GET", "/Users", middleware)


def _bare_array(document: Json) -> Any:
    return document.get("Resources", [])


def _without_total(document: Json) -> Json:
    document.pop("totalResults", None)
    return document


def _total_as_string(document: Json) -> Json:
    for name in ("totalResults", "itemsPerPage", "startIndex"):
        if name in document:
            document[name] = str(document[name])
    return document


def _zero_based(request: Request, call_next: Handler) -> Response:
    """startIndex used as an offset from 0: `.Skip(startIndex)` with a default of 0."""
    sent = request.query.get("startIndex", "0")
    if not sent.lstrip("-").isdigit():
        return call_next(request)

    def shift(params: dict[str, str]) -> None:
        params["startIndex"] = str(int(sent) + 1)

    response = call_next(_rewrite_query(request, shift))
    if response.status != 200:
        return response
    document = response.json()
    document["startIndex"] = int(sent)
    return response.with_json(document)


def _filter_refused(request: Request, call_next: Handler) -> Response:
    if any(key.lower() == "filter" for key in request.query):
        return error_response(400, "Filtering is not supported", "invalidFilter")
    return call_next(request)


def _no_match_404(request: Request, response: Response) -> Response:
    """A search that matches nobody is answered 404 instead of an empty ListResponse."""
    if response.status != 200 or not any(key.lower() == "filter" for key in request.query):
        return response
    if response.json().get("totalResults") != 0:
        return response
    return error_response(404, "No user matches the filter")


def _with_password(request: Request, response: Response) -> Response:
    """Every user comes back with its stored password hash."""
    if response.status != 200:
        return response
    document = response.json()
    users = document.get("Resources", []) if "Resources" in document else [document]
    for user in users:
        if isinstance(user, dict) and "userName" in user:
            user["password"] = "{SSHA256}7c2b9a0e5d41f3b8c6a2d9e0f1b4c7a3"  # noqa: S105 - fake hash
    return response.with_json(document)


def _first_user_without_id(document: Json) -> Json:
    """The demo's first seeded user (Ada Lovelace) is listed without its id."""
    for user in document.get("Resources", []):
        if str(user.get("userName", "")).lower().startswith("ada."):
            user.pop("id", None)
    return document


_USER_NAME_EQ = re.compile(r'^\s*userName\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


def _case_sensitive_filter(request: Request, call_next: Handler) -> Response:
    """`userName eq` compares with ==: the healthy answer minus users spelled differently."""
    response = call_next(request)
    match = _USER_NAME_EQ.match(next((v for k, v in request.query.items() if k == "filter"), ""))
    if match is None or response.status != 200:
        return response
    wanted = json.loads(f'"{match.group(1)}"')
    document = response.json()
    kept = [u for u in document.get("Resources", []) if u.get("userName") == wanted]
    document.update(totalResults=len(kept), itemsPerPage=len(kept), Resources=kept)
    return response.with_json(document)


# --- faults only --deep sees -----------------------------------------------------------------
# They show on the pages an import reads (no filter, a count above the 2 the users check asks
# for), as such bugs do in the field: never on the first page of a quick check.


def _import_page(request: Request) -> bool:
    query = {key.lower(): value for key, value in request.query.items()}
    count = query.get("count")
    return "filter" not in query and (count is None or (count.isdigit() and int(count) > 2))


def _start(request: Request) -> int:
    raw = next((v for k, v in request.query.items() if k.lower() == "startindex"), "1")
    return max(int(raw), 1) if raw.lstrip("-").isdigit() else 1


def _on_import_pages(change: Callable[[Request, Json], Json]) -> Middleware:
    def middleware(request: Request, call_next: Handler) -> Response:
        response = call_next(request)
        if response.status != 200 or not _import_page(request):
            return response
        return response.with_json(change(request, response.json()))

    return on_route("GET", "/Users", middleware)


def _third_user(change: Callable[[Json], None]) -> Callable[[Request, Json], Json]:
    """Change the directory's third user on every import page that lists it."""

    def apply(request: Request, document: Json) -> Json:
        first = _start(request) - 1
        for position, user in enumerate(document.get("Resources", []), start=first):
            if position == 2 and isinstance(user, dict):
                change(user)
        return document

    return apply


def _ada_in_capitals(user: Json) -> None:
    user["userName"] = "ADA.LOVELACE@EXAMPLE.COM"  # the first seeded user's, in other case


def _ada_id(user: Json) -> None:
    user["id"] = seeded_id(0)


def _without_user_name(user: Json) -> None:
    user.pop("userName", None)


def _replica_totals() -> Callable[[Request, Json], Json]:
    """Two replicas behind a round-robin balancer, one still counting a deleted user."""
    turns = itertools.count()

    def apply(request: Request, document: Json) -> Json:
        if next(turns) % 2 and isinstance(document.get("totalResults"), int):
            document["totalResults"] += 1
        return document

    return apply


def _unordered() -> Middleware:
    """No ORDER BY: each import query sees the table rotated by one more row."""
    turns = itertools.count()

    def middleware(request: Request, call_next: Handler) -> Response:
        response = call_next(request)
        if response.status != 200 or not _import_page(request):
            return response
        document = response.json()
        total, held = document.get("totalResults"), len(document.get("Resources", []))
        shift = next(turns)
        if not isinstance(total, int) or total < 2 or not held:
            return response

        def window(start: int, count: int) -> list[Any]:
            def move(params: dict[str, str]) -> None:
                params.update(startIndex=str(start + 1), count=str(count))

            page = call_next(_rewrite_query(request, move)).json()
            return list(page.get("Resources", []))

        start = (_start(request) - 1 + shift) % total
        users = window(start, held)
        if len(users) < held:
            users += window(0, held - len(users))
        document["Resources"] = users
        return response.with_json(document)

    return on_route("GET", "/Users", middleware)


def _large_pages_time_out(request: Request, call_next: Handler) -> Response:
    count = next((v for k, v in request.query.items() if k.lower() == "count"), "")
    if _import_page(request) and count.isdigit() and int(count) > 50:
        return error_response(504, "The listing query took too long (gateway timeout)")
    return call_next(request)


FAULTS: tuple[Fault, ...] = (
    Fault(
        "users_bare_array",
        "GET /Users answers a bare JSON array instead of a ListResponse",
        "http",
        ("users.not_list_response",),
        middleware=_listing(_bare_array),
    ),
    Fault(
        "users_total_missing",
        "ListResponses of /Users carry no totalResults",
        "http",
        ("users.missing_total_results",),
        middleware=_listing(_without_total),
    ),
    Fault(
        "users_total_as_string",
        'totalResults, itemsPerPage and startIndex are strings ("3")',
        "http",
        ("users.paging_field_not_integer",),
        middleware=_listing(_total_as_string),
    ),
    Fault(
        "users_zero_based_start",
        "startIndex is used as a 0-based offset: the first user is never listed",
        "http",
        ("users.zero_based_start_index",),
        middleware=on_route("GET", "/Users", _zero_based),
    ),
    Fault(
        "users_pagination_ignored",
        "count and startIndex are ignored: every page is the whole directory",
        "http",
        ("users.pagination_ignored",),
        middleware=_drop_params("count", "startindex"),
    ),
    Fault(
        "users_filter_ignored",
        "filter is ignored: a userName search returns everyone",
        "http",
        ("users.filter_ignored",),
        middleware=_drop_params("filter"),
    ),
    Fault(
        "users_filter_unsupported",
        "any filter on /Users is refused with 400 invalidFilter",
        "http",
        ("users.filter_unsupported",),
        middleware=on_route("GET", "/Users", _filter_refused),
    ),
    Fault(
        "users_empty_search_404",
        "a search that matches nobody is answered 404, not an empty ListResponse",
        "http",
        ("users.empty_filter_404",),
        middleware=on_route("GET", "/Users", map_response(_no_match_404)),
    ),
    Fault(
        "users_password_returned",
        "users come back with their password hash",
        "http",
        ("users.password_returned",),
        middleware=on_route("GET", "/Users*", map_response(_with_password)),
    ),
    Fault(
        "users_missing_id",
        "one user is listed without an id",
        "http",
        ("users.invalid_resource",),
        middleware=_listing(_first_user_without_id),
    ),
    Fault(
        "users_case_sensitive_filter",
        "userName eq compares case-sensitively",
        "http",
        ("users.filter_case_sensitive",),
        middleware=on_route("GET", "/Users", _case_sensitive_filter),
    ),
    Fault(
        "users_deep_duplicate_user_name",
        "--deep: the third user has the first user's userName in capitals",
        "http",
        ("users.deep_duplicate_user_name",),
        middleware=_on_import_pages(_third_user(_ada_in_capitals)),
    ),
    Fault(
        "users_deep_duplicate_id",
        "--deep: the third user carries the first user's id",
        "http",
        ("users.deep_duplicate_id",),
        middleware=_on_import_pages(_third_user(_ada_id)),
    ),
    Fault(
        "users_deep_invalid_user",
        "--deep: the third user has no userName on the pages an import reads",
        "http",
        ("users.deep_invalid_users",),
        middleware=_on_import_pages(_third_user(_without_user_name)),
    ),
    Fault(
        "users_deep_total_changes",
        "--deep: totalResults alternates between two replicas' counts",
        "http",
        ("users.deep_total_changed",),
        middleware=_on_import_pages(_replica_totals()),
    ),
    Fault(
        "users_deep_unstable_order",
        "--deep: the listing order changes with every query (no ORDER BY)",
        "http",
        ("users.deep_unstable_order",),
        middleware=_unordered(),
    ),
    Fault(
        "users_deep_large_page_fails",
        "--deep: pages of more than 50 users time out at the gateway (504)",
        "http",
        ("users.deep_page_failed",),
        middleware=on_route("GET", "/Users", _large_pages_time_out),
    ),
)
