"""The demo's SCIM service provider: an in-memory store and RFC 7644 request handling.

Request in, response out, no sockets: the server (server.py) stays a thin transport, and an
HTTP-layer fault (faults.py) is a middleware that wraps or replaces any route. Healthy by
default: everything the doctor checks passes here, so a fault shows exactly one thing going
wrong. It also accepts the dialects identity providers really send (Entra ID's capitalised
PATCH ops and `"active": "False"`), because a real server has to.
"""

from __future__ import annotations

import bisect
import copy
import datetime as dt
import hashlib
import hmac
import itertools
import json
import re
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

BASE_PATH: Final = "/scim/v2"
SCIM_MEDIA_TYPE: Final = "application/scim+json"
LIST_RESPONSE: Final = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR: Final = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP: Final = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER: Final = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP: Final = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER: Final = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SERVICE_PROVIDER_CONFIG: Final = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE: Final = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA: Final = "urn:ietf:params:scim:schemas:core:2.0:Schema"
MAX_RESULTS: Final = 100
"""Page size cap, advertised as `filter.maxResults` (Okta pages with count=100)."""
REALM: Final = "scim-doctor-demo"
WWW_AUTHENTICATE: Final = f'Bearer realm="{REALM}"'

Json = dict[str, Any]
Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Request:
    """One HTTP request as the app sees it, independent of the socket it came on."""

    method: str
    target: str
    """Path with query string, as on the request line."""
    headers: Headers = ()
    """Lower-cased names, in arrival order."""
    body: bytes = b""
    scheme: str = "https"

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> dict[str, str]:
        """Query parameters, first value wins; names as sent."""
        pairs = urllib.parse.parse_qsl(self.target.partition("?")[2], keep_blank_values=True)
        result: dict[str, str] = {}
        for key, value in pairs:
            result.setdefault(key, value)
        return result

    @property
    def scim_path(self) -> str | None:
        """The path below the SCIM base (`/Users/42`, `""` for the base), None outside it."""
        path = self.path
        if path == BASE_PATH:
            return ""
        if path.startswith(BASE_PATH + "/"):
            return path[len(BASE_PATH) :]
        return None


@dataclass(frozen=True)
class Response:
    status: int
    headers: Headers = ()
    body: bytes = b""
    chunks: Callable[[], Iterator[bytes]] | None = field(default=None, repr=False, compare=False)
    """A body made while it is sent (chunked), instead of `body`: a page of 100,000 users is
    sent as it is encoded, never held whole. Each call gives the whole body afresh."""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def json(self) -> Any:
        return json.loads(self.body if self.chunks is None else b"".join(self.chunks()))

    def with_json(self, payload: Any) -> Response:
        """The same response with another JSON body (what most HTTP-layer faults need)."""
        return replace(self, body=_encode(payload), chunks=None)

    def with_header(self, name: str, value: str) -> Response:
        """The same response with `name` set to `value` (replacing any previous value)."""
        kept = tuple((k, v) for k, v in self.headers if k.lower() != name.lower())
        return replace(self, headers=(*kept, (name, value)))


Handler = Callable[[Request], Response]
Middleware = Callable[[Request, Handler], Response]
"""Gets the request and the next handler; may call it, change its answer, or answer itself."""


_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _encode(payload: Any) -> bytes:
    return _ENCODER.encode(payload).encode()


def json_response(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(status, (("Content-Type", SCIM_MEDIA_TYPE), *headers), _encode(payload))


def error_response(
    status: int,
    detail: str,
    scim_type: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> Response:
    """An RFC 7644 §3.12 error: `status` is the HTTP code as a JSON string."""
    payload: Json = {"schemas": [ERROR], "status": str(int(status)), "detail": detail}
    if scim_type:
        payload["scimType"] = scim_type
    return json_response(status, payload, headers)


class ScimError(Exception):
    """Raised anywhere below `ScimApp.handle`; becomes an RFC 7644 error response."""

    def __init__(
        self,
        status: int,
        detail: str,
        scim_type: str | None = None,
        headers: Headers = (),
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type
        self.headers = headers

    def response(self) -> Response:
        return error_response(self.status, self.detail, self.scim_type, self.headers)


# --- filters ------------------------------------------------------------------------------

_OPERATORS: Final = frozenset({"eq", "ne", "co", "sw", "ew", "pr", "gt", "ge", "lt", "le"})
_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|[()\[\]]|[^\s()\[\]"]+)\s*')


@dataclass(frozen=True)
class Comparison:
    """`attribute eq value`, attribute path lower-cased and without the core schema URN."""

    path: tuple[str, ...]
    value: Any
    case_exact: bool = False

    def matches(self, resource: Mapping[str, Any]) -> bool:
        return any(
            _equal(found, self.value, self.case_exact) for found in _values_at(resource, self.path)
        )


def _get_ci(node: Mapping[str, Any], key: str) -> Any:
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
                value = _get_ci(node, part)
                if isinstance(value, list):
                    found.extend(value)
                elif value is not None:
                    found.append(value)
        nodes = found
    # A multi-valued complex attribute compared without a sub-attribute means its "value".
    return [_get_ci(node, "value") if isinstance(node, Mapping) else node for node in nodes]


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


# --- resource types ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    name: str
    endpoint: str
    schema: str
    extensions: tuple[str, ...]
    required: str
    unique: str | None
    filterable: Mapping[str, bool]
    patch_status: int
    description: str


_USER_KIND: Final = _Kind(
    name="User",
    endpoint="Users",
    schema=USER,
    extensions=(ENTERPRISE_USER,),
    required="userName",
    unique="userName",
    filterable={
        "id": True,
        "externalid": True,
        "username": False,
        "displayname": False,
        "active": False,
        "emails": False,
        "emails.value": False,
        "emails.type": False,
        "name.givenname": False,
        "name.familyname": False,
        "name.formatted": False,
    },
    patch_status=200,
    description="User Account",
)
_GROUP_KIND: Final = _Kind(
    name="Group",
    endpoint="Groups",
    schema=GROUP,
    extensions=(),
    required="displayName",
    unique=None,
    filterable={
        "id": True,
        "externalid": True,
        "displayname": False,
        "members": True,
        "members.value": True,
    },
    patch_status=204,
    description="Group",
)
_KINDS: Final = {kind.endpoint: kind for kind in (_USER_KIND, _GROUP_KIND)}

_CANONICAL: Final = {
    name.lower(): name
    for name in (
        "userName",
        "externalId",
        "displayName",
        "nickName",
        "profileUrl",
        "title",
        "userType",
        "preferredLanguage",
        "locale",
        "timezone",
        "active",
        "name",
        "emails",
        "phoneNumbers",
        "addresses",
        "roles",
        "members",
    )
}
_READ_ONLY: Final = frozenset({"id", "meta", "schemas", "groups"})
_PATCH_PATH = re.compile(
    r"^(?:(?P<urn>urn:[^\[\]]*):)?(?P<attr>[A-Za-z$][\w$-]*)"
    r"(?:\[(?P<filter>[^\]]*)\])?(?:\.(?P<sub>[A-Za-z$][\w$-]*))?$"
)

_PEOPLE: Final = (
    ("Ada", "Lovelace"),
    ("Grace", "Hopper"),
    ("Alan", "Turing"),
    ("Katherine", "Johnson"),
    ("Edsger", "Dijkstra"),
    ("Barbara", "Liskov"),
    ("Margaret", "Hamilton"),
    ("Donald", "Knuth"),
    ("Radia", "Perlman"),
    ("Dennis", "Ritchie"),
    ("Frances", "Allen"),
    ("Ken", "Thompson"),
)
_TEAMS: Final = ("Engineering", "Support", "Finance", "Sales", "Research", "Operations")
_SEED_NAMESPACE: Final = uuid.UUID("5c1d0c70-6a35-4f0e-9a53-2d6f1c0de001")
_SEED_ID: Final = "5c1d0c70-6a35-4f0e-9a53-"
"""Seeded users' ids are this prefix and their index in 12 hex digits, so that a user of a
directory of 100,000 is found, and made, from its id alone."""
_SEED_EXTERNAL_ID: Final = "e7a3f1d2-0b4c-4e5f-8a6b-"
_SEEDED_MEMBERS: Final = 1000
"""Seeded groups share out the first users only: a group of 100,000 members helps no demo."""


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _version(resource: Json) -> str:
    content = {key: value for key, value in resource.items() if key != "meta"}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return f'W/"{digest[:16]}"'


def _coerce_bool(value: Any, attribute: str) -> bool:
    """Entra ID sends booleans as the strings "True"/"False" unless told otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ScimError(400, f"{attribute} must be a boolean, got {value!r}", "invalidValue")


def _acceptable(accept: str | None) -> bool:
    if accept is None or not accept.strip():
        return True
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0 and media.lower() in (
            SCIM_MEDIA_TYPE,
            "application/json",
            "application/*",
            "*/*",
        ):
            return True
    return False


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ScimError(400, f"{name}={raw!r} is not an integer", "invalidValue") from None


def _param(query: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in query.items() if key.lower() == wanted), None)


# --- the seeded users ----------------------------------------------------------------------


class _SeededUsers(MutableMapping[str, Json]):
    """The seeded users, made from their index when asked for: a directory of 100,000 users
    costs no memory until users change. Behaves as the dict it replaces (id -> resource, in
    insertion order): a replaced user keeps its place, created users come after the seeded
    ones, and `window` pages through it without making the users before the page.
    """

    def __init__(self, count: int, make: Callable[[int], Json]) -> None:
        self._count = count
        self._make = make
        self._changed: dict[int, Json] = {}
        self._deleted: list[int] = []
        """Deleted seeded indexes, sorted."""
        self._added: dict[str, Json] = {}

    def _index(self, key: str) -> int | None:
        """The seeded index behind `key`, when it names a seeded user that still exists."""
        if len(key) != 36 or not key.startswith(_SEED_ID):
            return None
        try:
            index = int(key[len(_SEED_ID) :], 16)
        except ValueError:
            return None
        if not 0 <= index < self._count or self._is_deleted(index):
            return None
        return index if key == seeded_id(index) else None

    def _is_deleted(self, index: int) -> bool:
        at = bisect.bisect_left(self._deleted, index)
        return at < len(self._deleted) and self._deleted[at] == index

    def _user(self, index: int) -> Json:
        changed = self._changed.get(index)
        return changed if changed is not None else self._make(index)

    def __getitem__(self, key: str) -> Json:
        index = self._index(key)
        if index is None:
            return self._added[key]
        return self._user(index)

    def __setitem__(self, key: str, value: Json) -> None:
        index = self._index(key)
        if index is None:
            self._added[key] = value
        else:
            self._changed[index] = value

    def __delitem__(self, key: str) -> None:
        index = self._index(key)
        if index is None:
            del self._added[key]
            return
        self._changed.pop(index, None)
        bisect.insort(self._deleted, index)

    def __len__(self) -> int:
        return self._count - len(self._deleted) + len(self._added)

    def __iter__(self) -> Iterator[str]:
        for index in self._alive(0, self._deleted):
            yield seeded_id(index)
        yield from self._added

    def _alive(self, start: int, deleted: list[int]) -> Iterator[int]:
        """Seeded indexes not in `deleted` (sorted), from `start` on."""
        at = bisect.bisect_left(deleted, start)
        for index in range(start, self._count):
            if at < len(deleted) and deleted[at] == index:
                at += 1
                continue
            yield index

    def candidates(self, comparison: Comparison) -> list[Json] | None:
        """Every user that may match an `eq` on id, externalId or userName, in store order,
        found without making the whole directory (None: any user may match)."""
        value = comparison.value
        if len(comparison.path) != 1 or not isinstance(value, str):
            return None
        attribute = comparison.path[0].lower()
        if attribute == "id":
            index = self._index(value)
        elif attribute == "externalid":
            index = self._index(_SEED_ID + value[len(_SEED_EXTERNAL_ID) :])
            index = index if value.startswith(_SEED_EXTERNAL_ID) else None
        elif attribute == "username":
            index = self._index_of_user_name(value.casefold())
        else:
            return None
        indexes = sorted({*self._changed, *([] if index is None else [index])})
        return [self._user(i) for i in indexes] + list(self._added.values())

    def _index_of_user_name(self, folded: str) -> int | None:
        """The seeded index whose userName is `folded` (see ScimApp._seeded_user), if any."""
        local, _, domain = folded.partition("@")
        match = re.fullmatch(r"([a-z]+)\.([a-z]+?)([1-9][0-9]*)?", local)
        if domain != "example.com" or match is None:
            return None
        first, last, suffix = match.groups()
        people = [(f.lower(), la.lower()) for f, la in _PEOPLE]
        if (first, last) not in people:
            return None
        position = people.index((first, last))
        round_ = int(suffix) - 1 if suffix else 0
        if suffix and round_ < 1:
            return None
        index = round_ * len(_PEOPLE) + position
        return self._index(seeded_id(index))

    def window(self, offset: int, count: int) -> Callable[[], Iterator[Json]]:
        """The users at positions offset .. offset + count - 1, made one at a time on each
        call; deletions and creations after this call do not show (a page sent while it is
        made stays the page it was)."""
        deleted, added = list(self._deleted), list(self._added.values())
        changed = dict(self._changed)

        def users() -> Iterator[Json]:
            start, left = offset, count
            seeded = self._count - len(deleted)
            if start < seeded:
                # The start-th surviving index: skip the deleted indexes that lie before it.
                index = start
                while True:
                    moved = start + bisect.bisect_right(deleted, index)
                    if moved == index:
                        break
                    index = moved
                for i in itertools.islice(self._alive(index, deleted), left):
                    user = changed.get(i)
                    yield user if user is not None else self._make(i)
                left -= min(left, seeded - start)
                start = seeded
            yield from added[start - seeded : start - seeded + left]

        return users


def seeded_id(index: int) -> str:
    """The id of the seeded user at `index`."""
    return f"{_SEED_ID}{index:012x}"


def _window(
    store: Mapping[str, Json] | list[Json], offset: int, count: int
) -> Callable[[], Iterator[Json]]:
    if isinstance(store, _SeededUsers):
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
    out = bytearray(_encode(head)[:-1])
    out += b',"Resources":[' if head else b'"Resources":['
    for position, resource in enumerate(resources):
        if position:
            out += b","
        out += _encode(resource)
        if len(out) >= _PIECE:
            yield bytes(out)
            out.clear()
    out += b"]}"
    yield bytes(out)


# --- the app -------------------------------------------------------------------------------


class ScimApp:
    """A correct SCIM 2.0 service provider over an in-memory store, seeded with fake people."""

    def __init__(
        self,
        token: str,
        base_url: str,
        *,
        users: int = 3,
        groups: int = 1,
        max_results: int = MAX_RESULTS,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self._token = token.encode()
        self.base_url = base_url.rstrip("/")
        self._answering_base: str | None = None
        """The base URL of the request being answered, when `base_url`'s host is a wildcard."""
        self.max_results = max_results
        """The page size cap, advertised as `filter.maxResults`; also the default count."""
        self._clock = clock
        self._lock = threading.RLock()
        self._started = _iso(clock())
        self._store: dict[str, MutableMapping[str, Json]] = {
            "User": _SeededUsers(users, self._seeded_user),
            "Group": {},
        }
        self._seed(users, groups)

    # seeding

    def _seeded_user(self, index: int) -> Json:
        """Seeded user number `index`, the same every time: made on demand, never stored."""
        first, last = _PEOPLE[index % len(_PEOPLE)]
        suffix = "" if index < len(_PEOPLE) else str(index // len(_PEOPLE) + 1)
        user_name = f"{first.lower()}.{last.lower()}{suffix}@example.com"
        user_id = seeded_id(index)
        location = f"{self._base()}/Users/{user_id}"  # the id needs no quoting
        version = hashlib.blake2b(location.encode(), digest_size=8).hexdigest()
        return {
            "schemas": [USER],
            "id": user_id,
            "externalId": f"{_SEED_EXTERNAL_ID}{index:012x}",
            "userName": user_name,
            "name": {"givenName": first, "familyName": last, "formatted": f"{first} {last}"},
            "displayName": f"{first} {last}",
            "emails": [{"value": user_name, "type": "work", "primary": True}],
            "active": True,
            "meta": {
                "resourceType": "User",
                "created": self._started,
                "lastModified": self._started,
                "location": location,
                "version": f'W/"{version}"',
            },
        }

    def _seed(self, users: int, groups: int) -> None:
        user_ids = [seeded_id(index) for index in range(min(users, _SEEDED_MEMBERS))]
        for index in range(groups):
            team = _TEAMS[index % len(_TEAMS)]
            name = team if index < len(_TEAMS) else f"{team} {index // len(_TEAMS) + 1}"
            group: Json = {
                "schemas": [GROUP],
                "id": str(uuid.uuid5(_SEED_NAMESPACE, f"group:{name}")),
                "externalId": str(uuid.uuid5(_SEED_NAMESPACE, f"external-group:{name}")),
                "displayName": name,
                "members": [
                    {"value": uid}
                    for position, uid in enumerate(user_ids)
                    if position % groups == index
                ],
            }
            self._enrich_members(group)
            self._insert(_GROUP_KIND, group)

    def _insert(self, kind: _Kind, resource: Json) -> None:
        now = self._now()
        resource["meta"] = {"resourceType": kind.name, "created": now}
        self._stamp(kind, resource, now)
        self._store[kind.name][resource["id"]] = resource

    def _now(self) -> str:
        return _iso(self._clock())

    def _location(self, kind: _Kind, resource_id: str) -> str:
        return f"{self._base()}/{kind.endpoint}/{urllib.parse.quote(resource_id, safe='')}"

    def _stamp(self, kind: _Kind, resource: Json, now: str) -> None:
        meta = resource["meta"]
        meta["lastModified"] = now
        meta["location"] = self._location(kind, resource["id"])
        meta["version"] = _version(resource)

    # entry point

    def handle(self, request: Request) -> Response:
        """Answer one request; never raises for anything a client can send."""
        with self._lock:
            self._answering_base = self._base_for(request)
            try:
                return self._route(request)
            except ScimError as error:
                return error.response()
            finally:
                self._answering_base = None

    def _base(self) -> str:
        return self._answering_base or self.base_url

    def _base_for(self, request: Request) -> str | None:
        """For a server named `*.example.test` (one certificate for many names, as the fleet
        benchmark uses), the base URL under the name the client asked for: resources' meta
        locations must point at the host the client used."""
        parts = urllib.parse.urlsplit(self.base_url)
        wildcard = parts.hostname or ""
        host = request.header("host") or ""
        name = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else ""
        if not wildcard.startswith("*.") or not name.endswith(wildcard[1:]):
            return None
        return f"{parts.scheme}://{host}{parts.path.rstrip('/')}"

    def _route(self, request: Request) -> Response:
        scim_path = request.scim_path
        if scim_path is None:
            raise ScimError(404, f"{request.path} is not under the SCIM base path {BASE_PATH}")
        self._authenticate(request)
        if not _acceptable(request.header("accept")):
            raise ScimError(
                406,
                f"Cannot answer in {request.header('accept')!r}; "
                f"this server produces {SCIM_MEDIA_TYPE} (application/json also accepted)",
            )
        method = "GET" if request.method.upper() == "HEAD" else request.method.upper()
        segments = [urllib.parse.unquote(s) for s in scim_path[1:].split("/")] if scim_path else []
        match segments:
            case ["ServiceProviderConfig"]:
                self._allow(method, "GET")
                self._no_filter(request)
                return json_response(200, self._service_provider_config())
            case ["ResourceTypes"]:
                self._allow(method, "GET")
                self._no_filter(request)
                return json_response(200, _list_of(self._resource_types()))
            case ["ResourceTypes", name]:
                self._allow(method, "GET")
                return json_response(200, self._find(self._resource_types(), name, "ResourceType"))
            case ["Schemas"]:
                self._allow(method, "GET")
                self._no_filter(request)
                return json_response(200, _list_of(self._schemas()))
            case ["Schemas", urn]:
                self._allow(method, "GET")
                return json_response(200, self._find(self._schemas(), urn, "Schema"))
            case [endpoint] if endpoint in _KINDS:
                kind = _KINDS[endpoint]
                self._allow(method, "GET", "POST")
                if method == "GET":
                    return self._list(kind, request)
                return self._create(kind, request)
            case [endpoint, resource_id] if endpoint in _KINDS and resource_id:
                return self._one(_KINDS[endpoint], resource_id, method, request)
        raise ScimError(404, f"No SCIM endpoint at {request.path}")

    def _authenticate(self, request: Request) -> None:
        header = request.header("authorization")
        challenge: Headers = (("WWW-Authenticate", WWW_AUTHENTICATE),)
        if header is None or not header.strip():
            raise ScimError(
                401,
                "Authorization header missing: send 'Authorization: Bearer <token>'",
                headers=challenge,
            )
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise ScimError(
                401,
                "Authorization scheme is not Bearer: send 'Authorization: Bearer <token>'",
                headers=challenge,
            )
        if not hmac.compare_digest(credentials.strip().encode(), self._token):
            raise ScimError(401, "The bearer token is not valid for this server", headers=challenge)

    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise ScimError(
                405,
                f"{method} is not allowed here; allowed: {', '.join(allowed)}",
                headers=(("Allow", ", ".join(allowed)),),
            )

    @staticmethod
    def _no_filter(request: Request) -> None:
        if _param(request.query, "filter") is not None:
            # RFC 7644 §4: filtering discovery endpoints SHOULD be refused with 403.
            raise ScimError(403, "Discovery endpoints cannot be filtered")

    @staticmethod
    def _find(resources: list[Json], wanted: str, what: str) -> Json:
        for resource in resources:
            if resource["id"] == wanted:
                return resource
        raise ScimError(404, f"{what} {wanted!r} not found")

    # discovery (RFC 7644 §4, RFC 7643 §5-§7)

    def _meta(self, resource_type: str, path: str) -> Json:
        return {
            "resourceType": resource_type,
            "created": self._started,
            "lastModified": self._started,
            "location": f"{self._base()}/{path}",
        }

    def _service_provider_config(self) -> Json:
        return {
            "schemas": [SERVICE_PROVIDER_CONFIG],
            "documentationUri": "https://www.rfc-editor.org/rfc/rfc7644",
            "patch": {"supported": True},
            "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": True, "maxResults": self.max_results},
            "changePassword": {"supported": False},
            "sort": {"supported": False},
            "etag": {"supported": True},
            "authenticationSchemes": [
                {
                    "type": "oauthbearertoken",
                    "name": "OAuth Bearer Token",
                    "description": "Authentication with a bearer token (RFC 6750)",
                    "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                    "primary": True,
                }
            ],
            "meta": self._meta("ServiceProviderConfig", "ServiceProviderConfig"),
        }

    def _resource_types(self) -> list[Json]:
        return [
            {
                "schemas": [RESOURCE_TYPE],
                "id": kind.name,
                "name": kind.name,
                "endpoint": f"/{kind.endpoint}",
                "description": kind.description,
                "schema": kind.schema,
                "schemaExtensions": [
                    {"schema": extension, "required": False} for extension in kind.extensions
                ],
                "meta": self._meta("ResourceType", f"ResourceTypes/{kind.name}"),
            }
            for kind in _KINDS.values()
        ]

    def _schemas(self) -> list[Json]:
        return [
            {
                "schemas": [SCHEMA],
                "id": urn,
                "name": name,
                "description": description,
                "attributes": attributes,
                "meta": self._meta("Schema", f"Schemas/{urn}"),
            }
            for urn, name, description, attributes in _SCHEMA_DEFINITIONS
        ]

    # collections

    def _list(self, kind: _Kind, request: Request) -> Response:
        query = request.query
        text = _param(query, "filter")
        comparisons = parse_filter(text, kind.filterable, kind.schema) if text else ()
        start = max(_int_param(query, "startIndex", 1), 1)
        count = min(max(_int_param(query, "count", self.max_results), 0), self.max_results)
        store = self._store[kind.name]
        if comparisons:
            found = store.candidates(comparisons[0]) if isinstance(store, _SeededUsers) else None
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
            return Response(200, headers, _encode(head))
        project = _projection(query)

        def body() -> Iterator[bytes]:
            return _list_pieces(head, (project(resource) for resource in page()))

        if held > _STREAMED_PAGE:
            return Response(200, headers, chunks=body)
        return Response(200, headers, b"".join(body()))

    def _create(self, kind: _Kind, request: Request) -> Response:
        resource = self._clean(kind, _json_body(request))
        resource["id"] = str(uuid.uuid4())
        self._validate(kind, resource)
        self._insert(kind, resource)
        return self._resource_response(kind, resource, 201, location=True)

    # single resources

    def _one(self, kind: _Kind, resource_id: str, method: str, request: Request) -> Response:
        self._allow(method, "GET", "PUT", "PATCH", "DELETE")
        current = self._store[kind.name].get(resource_id)
        if current is None:
            raise ScimError(404, f"{kind.name} {resource_id!r} not found")
        version = current["meta"]["version"]
        if method == "GET":
            if _etag_matches(request.header("if-none-match"), version):
                return Response(304, (("ETag", version),))
            return self._resource_response(kind, current, 200, query=request.query)
        if_match = request.header("if-match")
        if if_match is not None and not _etag_matches(if_match, version):
            raise ScimError(
                412, f"If-Match {if_match} does not match the current version {version}"
            )
        if method == "DELETE":
            del self._store[kind.name][resource_id]
            if kind is _USER_KIND:
                self._drop_member(resource_id)
            return Response(204)
        if method == "PUT":
            updated = self._clean(kind, _json_body(request))
        else:
            updated = self._patched(kind, current, _json_body(request))
        updated["id"] = resource_id
        self._validate(kind, updated)
        updated["meta"] = dict(current["meta"])
        self._stamp(kind, updated, self._now())
        self._store[kind.name][resource_id] = updated
        if method == "PATCH" and kind.patch_status == 204:
            return Response(204, (("ETag", updated["meta"]["version"]),))
        return self._resource_response(kind, updated, 200)

    def _resource_response(
        self,
        kind: _Kind,
        resource: Json,
        status: int,
        *,
        location: bool = False,
        query: Mapping[str, str] | None = None,
    ) -> Response:
        headers = [("ETag", resource["meta"]["version"])]
        if location:
            headers.append(("Location", resource["meta"]["location"]))
        return json_response(status, _project(resource, query or {}), headers)

    def _drop_member(self, user_id: str) -> None:
        for group in self._store["Group"].values():
            members = group.get("members") or []
            kept = [m for m in members if not (isinstance(m, dict) and m.get("value") == user_id)]
            if len(kept) != len(members):
                group["members"] = kept
                self._stamp(_GROUP_KIND, group, self._now())

    # validation

    def _clean(self, kind: _Kind, body: Json) -> Json:
        """The client's representation minus what it may not set (id, meta, password)."""
        resource: Json = {}
        extensions: list[str] = []
        for key, value in body.items():
            lowered = key.lower()
            if lowered in _READ_ONLY or lowered == "password":
                continue
            known = next((ext for ext in kind.extensions if ext.lower() == lowered), None)
            if known is not None:
                if not isinstance(value, dict):
                    raise ScimError(400, f"{key} must be an object", "invalidValue")
                resource[known] = {k: v for k, v in value.items() if k.lower() != "password"}
                extensions.append(known)
                continue
            resource[_CANONICAL.get(lowered, key)] = value
        resource["schemas"] = [kind.schema, *extensions]
        return resource

    def _validate(self, kind: _Kind, resource: Json) -> None:
        required = resource.get(kind.required)
        if not isinstance(required, str) or not required.strip():
            raise ScimError(
                400, f"{kind.required} is required and must be a non-empty string", "invalidValue"
            )
        if kind is _USER_KIND:
            resource["active"] = _coerce_bool(resource.get("active", True), "active")
        if kind is _GROUP_KIND:
            self._enrich_members(resource)
        for extension in kind.extensions:
            if resource.get(extension) and extension not in resource["schemas"]:
                resource["schemas"].append(extension)
        if kind.unique:
            wanted = str(resource[kind.unique]).casefold()
            store = self._store[kind.name]
            same = Comparison((kind.unique.lower(),), str(resource[kind.unique]))
            found = store.candidates(same) if isinstance(store, _SeededUsers) else None
            for other in store.values() if found is None else found:
                if (
                    other["id"] != resource["id"]
                    and str(other.get(kind.unique, "")).casefold() == wanted
                ):
                    raise ScimError(
                        409,
                        f"{kind.unique} {resource[kind.unique]!r} is already taken by "
                        f"{kind.name} {other['id']}",
                        "uniqueness",
                    )

    def _enrich_members(self, group: Json) -> None:
        members = group.get("members", [])
        if not isinstance(members, list):
            raise ScimError(400, "members must be a list", "invalidValue")
        enriched: list[Json] = []
        seen: set[str] = set()
        for member in members:
            if not isinstance(member, dict) or not isinstance(member.get("value"), str):
                raise ScimError(
                    400, f"Each member needs a string 'value', got {member!r}", "invalidValue"
                )
            if member["value"] in seen:
                continue
            seen.add(member["value"])
            entry: Json = {"value": member["value"]}
            user = self._store["User"].get(member["value"])
            if user is not None:
                entry["display"] = user.get("displayName") or user.get("userName")
                entry["$ref"] = self._location(_USER_KIND, user["id"])
                entry["type"] = "User"
            enriched.append(entry)
        group["members"] = enriched

    # PATCH (RFC 7644 §3.5.2)

    def _patched(self, kind: _Kind, current: Json, body: Json) -> Json:
        operations = _get_ci(body, "Operations")
        if not isinstance(operations, list) or not operations:
            raise ScimError(
                400, "A PATCH body needs a non-empty 'Operations' list", "invalidSyntax"
            )
        resource = copy.deepcopy({k: v for k, v in current.items() if k != "meta"})
        for operation in operations:
            if not isinstance(operation, dict):
                raise ScimError(
                    400, f"PATCH operation {operation!r} is not an object", "invalidSyntax"
                )
            self._apply(kind, resource, operation)
        return resource

    def _apply(self, kind: _Kind, resource: Json, operation: Json) -> None:
        raw_op = _get_ci(operation, "op")
        op = raw_op.lower() if isinstance(raw_op, str) else ""
        if op not in ("add", "replace", "remove"):
            raise ScimError(
                400, f"PATCH op {raw_op!r} is not add, replace or remove", "invalidSyntax"
            )
        path = _get_ci(operation, "path")
        value = _get_ci(operation, "value")
        if path is None or path == "":
            if op == "remove":
                raise ScimError(400, "A remove operation needs a path", "noTarget")
            if not isinstance(value, dict):
                raise ScimError(400, f"{op} without a path needs an object value", "invalidValue")
            for key, item in value.items():
                if key.lower() == kind.schema.lower() and isinstance(item, dict):
                    for sub_key, sub_item in item.items():
                        self._apply_path(kind, resource, op, sub_key, sub_item)
                    continue
                extension = next((e for e in kind.extensions if e.lower() == key.lower()), None)
                if extension is not None and isinstance(item, dict):
                    resource.setdefault(extension, {}).update(item)
                    continue
                self._apply_path(kind, resource, op, key, item)
            return
        if not isinstance(path, str):
            raise ScimError(400, f"PATCH path {path!r} is not a string", "invalidPath")
        self._apply_path(kind, resource, op, path, value)

    def _apply_path(self, kind: _Kind, resource: Json, op: str, path: str, value: Any) -> None:
        match = _PATCH_PATH.match(path.strip())
        if match is None:
            raise ScimError(400, f"Cannot parse PATCH path {path!r}", "invalidPath")
        container = resource
        urn = match["urn"]
        if urn and urn.lower() != kind.schema.lower():
            extension = next((e for e in kind.extensions if e.lower() == urn.lower()), None)
            if extension is None:
                raise ScimError(400, f"PATCH path {path!r} names an unknown schema", "invalidPath")
            container = resource.setdefault(extension, {})
        attribute = _key_in(container, match["attr"], canonical=container is resource)
        if container is resource and attribute.lower() in _READ_ONLY:
            raise ScimError(400, f"{attribute} is read-only and cannot be patched", "mutability")
        if attribute.lower() == "password":
            return  # Accepted and dropped: this demo never stores nor returns passwords.
        if container is resource and attribute == "active" and op != "remove":
            value = _coerce_bool(value, "active")
        value_filter, sub = match["filter"], match["sub"]
        if op == "remove":
            _remove(container, attribute, value_filter, sub, value)
        elif value_filter is None and sub is None:
            _set_whole(container, attribute, op, value)
        elif value_filter is None:
            target = container.setdefault(attribute, {})
            if not isinstance(target, dict):
                raise ScimError(
                    400,
                    f"{attribute} is multi-valued: select values with a filter, "
                    f'e.g. {attribute}[type eq "work"].{sub}',
                    "invalidPath",
                )
            target[_key_in(target, sub)] = value
        else:
            _set_filtered(container, attribute, value_filter, sub, value)


def _key_in(container: Mapping[str, Any], name: str, *, canonical: bool = False) -> str:
    lowered = name.lower()
    existing = next((key for key in container if key.lower() == lowered), None)
    if existing is not None:
        return existing
    return _CANONICAL.get(lowered, name) if canonical else name


def _member_key(item: Any) -> str:
    if isinstance(item, dict) and "value" in item:
        return str(item["value"])
    return json.dumps(item, sort_keys=True)


def _set_whole(container: Json, attribute: str, op: str, value: Any) -> None:
    current = container.get(attribute)
    if op == "add" and isinstance(current, list):
        present = {_member_key(item) for item in current}
        for item in value if isinstance(value, list) else [value]:
            if _member_key(item) not in present:
                current.append(item)
                present.add(_member_key(item))
    elif isinstance(current, dict) and isinstance(value, dict):
        current.update(value)
    else:
        container[attribute] = value


def _matching(container: Json, attribute: str, value_filter: str) -> tuple[list[Any], list[Any]]:
    comparisons = parse_filter(value_filter, None)
    items = container.setdefault(attribute, [])
    if not isinstance(items, list):
        raise ScimError(400, f"{attribute} is not multi-valued: it takes no filter", "invalidPath")
    hits = [i for i in items if isinstance(i, dict) and all(c.matches(i) for c in comparisons)]
    return items, hits


def _set_filtered(
    container: Json, attribute: str, value_filter: str, sub: str | None, value: Any
) -> None:
    items, hits = _matching(container, attribute, value_filter)
    if not hits:
        # Entra ID replaces `emails[type eq "work"].value` on users that have no work email
        # yet: create the value the filter describes rather than failing with noTarget.
        created: Json = {c.path[0]: c.value for c in parse_filter(value_filter, None)}
        items.append(created)
        hits = [created]
    for item in hits:
        if sub is not None:
            item[_key_in(item, sub)] = value
        elif isinstance(value, dict):
            item.update(value)
        else:
            raise ScimError(
                400, f"{attribute}[{value_filter}] needs an object value", "invalidValue"
            )


def _remove(
    container: Json, attribute: str, value_filter: str | None, sub: str | None, value: Any
) -> None:
    current = container.get(attribute)
    if value_filter is not None:
        items, hits = _matching(container, attribute, value_filter)
        if sub is None:
            container[attribute] = [item for item in items if not any(item is h for h in hits)]
        else:
            for item in hits:
                item.pop(_key_in(item, sub), None)
    elif sub is not None:
        if isinstance(current, dict):
            current.pop(_key_in(current, sub), None)
    elif isinstance(current, list) and value is not None:
        # Entra ID removes group members with path "members" and the members as the value.
        drop = {_member_key(item) for item in (value if isinstance(value, list) else [value])}
        container[attribute] = [item for item in current if _member_key(item) not in drop]
    else:
        container.pop(attribute, None)


def _etag_matches(header: str | None, version: str) -> bool:
    if header is None:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or version in tags


def _json_body(request: Request) -> Json:
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ScimError(400, "The request body is not valid JSON", "invalidSyntax") from None
    if not isinstance(body, dict):
        raise ScimError(400, "The request body must be a JSON object", "invalidSyntax")
    return body


def _project(resource: Json, query: Mapping[str, str]) -> Json:
    """Apply `attributes` / `excludedAttributes` (top level); id, schemas and meta always stay.

    Keys come out in reading order: schemas and id first, meta last.
    """
    return _projection(query)(resource)


def _projection(query: Mapping[str, str]) -> Callable[[Json], Json]:
    """`_project` for many resources: the query is read once (a page may hold 100,000)."""
    always = {"id", "schemas", "meta"}
    wanted = _param(query, "attributes")
    excluded = _param(query, "excludedAttributes")
    keep = _top_level_names(wanted) | always if wanted else None
    drop = _top_level_names(excluded) - always if excluded and not wanted else None

    def project(resource: Json) -> Json:
        first: Json = {key: resource[key] for key in ("schemas", "id") if key in resource}
        rest = {k: v for k, v in resource.items() if k not in ("schemas", "id", "meta")}
        # Shared with the store, not copied: the result is serialised at once, never changed.
        result: Json = {**first, **rest, "meta": resource["meta"]}
        if keep is not None:
            result = {key: value for key, value in result.items() if key.lower() in keep}
        elif drop is not None:
            result = {key: value for key, value in result.items() if key.lower() not in drop}
        return result

    return project


def _top_level_names(text: str) -> set[str]:
    names: set[str] = set()
    for raw in text.split(","):
        name = raw.strip()
        for schema in (USER, GROUP):
            if name.lower().startswith(schema.lower() + ":"):
                name = name[len(schema) + 1 :]
        names.add(name.split(".")[0].lower())
    return names


def _attribute(
    name: str,
    description: str,
    type_: str = "string",
    *,
    multi: bool = False,
    required: bool = False,
    case_exact: bool = False,
    mutability: str = "readWrite",
    returned: str = "default",
    uniqueness: str = "none",
    sub: tuple[Json, ...] = (),
    reference_types: tuple[str, ...] = (),
    canonical: tuple[str, ...] = (),
) -> Json:
    """One attribute definition as RFC 7643 §7 describes it."""
    definition: Json = {
        "name": name,
        "type": type_,
        "multiValued": multi,
        "description": description,
        "required": required,
        "caseExact": case_exact,
        "mutability": mutability,
        "returned": returned,
        "uniqueness": uniqueness,
    }
    if sub:
        definition["subAttributes"] = list(sub)
    if reference_types:
        definition["referenceTypes"] = list(reference_types)
    if canonical:
        definition["canonicalValues"] = list(canonical)
    return definition


_USER_ATTRIBUTES: Final = [
    _attribute(
        "userName",
        "Unique identifier for the User, typically used to sign in.",
        required=True,
        uniqueness="server",
    ),
    _attribute(
        "name",
        "The components of the user's real name.",
        "complex",
        sub=(
            _attribute("formatted", "The full name, formatted for display."),
            _attribute("familyName", "The family name of the User."),
            _attribute("givenName", "The given name of the User."),
        ),
    ),
    _attribute("displayName", "The name of the User, suitable for display to end-users."),
    _attribute("title", "The user's title, such as 'Vice President'."),
    _attribute("active", "The User's administrative status.", "boolean"),
    _attribute(
        "password",
        "The User's cleartext password; never returned.",
        mutability="writeOnly",
        returned="never",
    ),
    _attribute(
        "emails",
        "Email addresses for the user.",
        "complex",
        multi=True,
        sub=(
            _attribute("value", "Email address for the User."),
            _attribute(
                "type",
                "A label indicating the e-mail's function.",
                canonical=("work", "home", "other"),
            ),
            _attribute("primary", "Whether this is the primary e-mail address.", "boolean"),
        ),
    ),
]
_GROUP_ATTRIBUTES: Final = [
    _attribute("displayName", "A human-readable name for the Group.", required=True),
    _attribute(
        "members",
        "A list of members of the Group.",
        "complex",
        multi=True,
        sub=(
            _attribute(
                "value", "Identifier of the member.", mutability="immutable", case_exact=True
            ),
            _attribute(
                "$ref",
                "The URI of the member resource.",
                "reference",
                mutability="immutable",
                reference_types=("User", "Group"),
            ),
            _attribute("display", "The member's display name.", mutability="readOnly"),
            _attribute("type", "The member's resource type.", canonical=("User", "Group")),
        ),
    ),
]
_ENTERPRISE_ATTRIBUTES: Final = [
    _attribute("employeeNumber", "Numeric or alphanumeric identifier assigned to a person."),
    _attribute("department", "Identifies the name of a department."),
    _attribute(
        "manager",
        "The User's manager.",
        "complex",
        sub=(
            _attribute("value", "The id of the SCIM resource representing the manager."),
            _attribute("$ref", "The URI of the manager.", "reference", reference_types=("User",)),
            _attribute("displayName", "The manager's display name.", mutability="readOnly"),
        ),
    ),
]
_SCHEMA_DEFINITIONS: Final = (
    (USER, "User", "User Account", _USER_ATTRIBUTES),
    (GROUP, "Group", "Group", _GROUP_ATTRIBUTES),
    (ENTERPRISE_USER, "EnterpriseUser", "Enterprise User", _ENTERPRISE_ATTRIBUTES),
)


def _list_of(resources: list[Json]) -> Json:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
