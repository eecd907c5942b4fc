"""How the demo's resources go out: attribute projection, paging, and streamed list bodies.

A page of the 100,000-user directory must neither be made nor encoded whole, so paging takes
a window of the store that makes users as they are sent, and a large ListResponse is encoded
one resource at a time into chunks.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import Final

from scim_doctor.demo.scim_directory import SeededUsers
from scim_doctor.demo.scim_filter import parse_filter
from scim_doctor.demo.scim_kinds import Kind
from scim_doctor.demo.scim_wire import (
    GROUP,
    LIST_RESPONSE,
    SCIM_MEDIA_TYPE,
    USER,
    Json,
    Response,
    encode,
    int_param,
    param,
)


def _window(
    store: Mapping[str, Json] | list[Json], offset: int, count: int
) -> Callable[[], Iterator[Json]]:
    """The resources at offset .. offset + count - 1, to be made when the page is sent."""
    if isinstance(store, SeededUsers):
        return store.window(offset, count)
    values = store if isinstance(store, list) else store.values()
    page = list(itertools.islice(values, offset, offset + count))
    return lambda: iter(page)


_STREAMED_PAGE: Final = 1000
"""Pages of more resources are sent while they are encoded (chunked); smaller ones whole."""
_PIECE: Final = 64 * 1024


def _list_pieces(head: Json, resources: Iterable[Json]) -> Iterator[bytes]:
    """A ListResponse encoded one resource at a time, in pieces of about 64 KiB: a page of
    100,000 users never exists as objects, nor as one body, all at once."""
    out = bytearray(encode(head)[:-1])
    out += b',"Resources":[' if head else b'"Resources":['
    for position, resource in enumerate(resources):
        if position:
            out += b","
        out += encode(resource)
        if len(out) >= _PIECE:
            yield bytes(out)
            out.clear()
    out += b"]}"
    yield bytes(out)


def project(resource: Json, query: Mapping[str, str]) -> Json:
    """Apply `attributes` / `excludedAttributes` (top level); id, schemas and meta always stay.

    Keys come out in reading order: schemas and id first, meta last.
    """
    return projection(query)(resource)


def projection(query: Mapping[str, str]) -> Callable[[Json], Json]:
    """`project` for many resources: the query is read once (a page may hold 100,000)."""
    always = {"id", "schemas", "meta"}
    wanted = param(query, "attributes")
    excluded = param(query, "excludedAttributes")
    keep = _top_level_names(wanted) | always if wanted else None
    drop = _top_level_names(excluded) - always if excluded and not wanted else None

    def apply(resource: Json) -> Json:
        first: Json = {key: resource[key] for key in ("schemas", "id") if key in resource}
        rest = {k: v for k, v in resource.items() if k not in ("schemas", "id", "meta")}
        # Shared with the store, not copied: the result is serialised at once, never changed.
        result: Json = {**first, **rest, "meta": resource["meta"]}
        if keep is not None:
            result = {key: value for key, value in result.items() if key.lower() in keep}
        elif drop is not None:
            result = {key: value for key, value in result.items() if key.lower() not in drop}
        return result

    return apply


def _top_level_names(text: str) -> set[str]:
    """The lower-case top-level names in an attributes list, schema URNs stripped."""
    names: set[str] = set()
    for raw in text.split(","):
        name = raw.strip()
        for schema in (USER, GROUP):
            if name.lower().startswith(schema.lower() + ":"):
                name = name[len(schema) + 1 :]
        names.add(name.split(".")[0].lower())
    return names


def list_response(
    kind: Kind, store: MutableMapping[str, Json], query: Mapping[str, str], max_results: int
) -> Response:
    """A list request's answer (RFC 7644 §3.4.2): filtered, paged by startIndex and count
    (capped at `max_results`), projected, and streamed when the page is large."""
    text = param(query, "filter")
    comparisons = parse_filter(text, kind.filterable, kind.schema) if text else ()
    start = max(int_param(query, "startIndex", 1), 1)
    count = min(max(int_param(query, "count", max_results), 0), max_results)
    if comparisons:
        found = store.candidates(comparisons[0]) if isinstance(store, SeededUsers) else None
        source = store.values() if found is None else found
        matches = [r for r in source if all(c.matches(r) for c in comparisons)]
        total, page = len(matches), _window(matches, start - 1, count)
    else:
        total, page = len(store), _window(store, start - 1, count)
    held = max(0, min(count, total - start + 1))
    head: Json = {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": held,
    }
    headers = (("Content-Type", SCIM_MEDIA_TYPE),)
    if count <= 0:
        return Response(200, headers, encode(head))
    shape = projection(query)

    def body() -> Iterator[bytes]:
        return _list_pieces(head, (shape(resource) for resource in page()))

    if held > _STREAMED_PAGE:
        return Response(200, headers, chunks=body)
    return Response(200, headers, b"".join(body()))
