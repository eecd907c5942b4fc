"""The demo's SCIM service provider: an in-memory store and RFC 7644 request handling.

Request in, response out, no sockets: the server (server.py) stays a thin transport, and an
HTTP-layer fault (faults.py) is a middleware that wraps or replaces any route. Healthy by
default: everything the doctor checks passes here, so a fault shows exactly one thing going
wrong. It also accepts the dialects identity providers really send (Entra ID's capitalised
PATCH ops and `"active": "False"`), because a real server has to.

This module is the app itself: authentication, routing and the handlers over the store. Its
parts live beside it, one job each: scim_wire (URNs, Request/Response, errors), scim_filter,
scim_kinds (User and Group), scim_directory (the seeded users), scim_listing (paging,
projection, streamed lists), scim_patch and scim_discovery.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Mapping, MutableMapping

from scim_doctor.demo import scim_discovery
from scim_doctor.demo.scim_directory import SeededUsers, seeded_groups, seeded_id, seeded_user
from scim_doctor.demo.scim_filter import Comparison, parse_filter
from scim_doctor.demo.scim_kinds import (
    CANONICAL,
    GROUP_KIND,
    KINDS,
    READ_ONLY,
    USER_KIND,
    Kind,
    coerce_bool,
)
from scim_doctor.demo.scim_listing import list_response, project
from scim_doctor.demo.scim_patch import patched
from scim_doctor.demo.scim_wire import (
    BASE_PATH,
    ENTERPRISE_USER,
    ERROR,
    GROUP,
    LIST_RESPONSE,
    MAX_RESULTS,
    PATCH_OP,
    REALM,
    SCIM_MEDIA_TYPE,
    USER,
    WWW_AUTHENTICATE,
    Handler,
    Headers,
    Json,
    Middleware,
    Request,
    Response,
    ScimError,
    acceptable,
    error_response,
    etag_matches,
    json_body,
    json_response,
    param,
)

__all__ = [
    "BASE_PATH",
    "ENTERPRISE_USER",
    "ERROR",
    "GROUP",
    "LIST_RESPONSE",
    "MAX_RESULTS",
    "PATCH_OP",
    "REALM",
    "SCIM_MEDIA_TYPE",
    "USER",
    "Handler",
    "Json",
    "Middleware",
    "Request",
    "Response",
    "ScimApp",
    "ScimError",
    "error_response",
    "json_response",
    "parse_filter",
    "seeded_id",
]
"""ScimApp, and the names tests and benchmarks import from here, re-exported from where they live
(the server and the faults import them from scim_wire directly)."""


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _version(resource: Json) -> str:
    content = {key: value for key, value in resource.items() if key != "meta"}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return f'W/"{digest[:16]}"'


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
            "User": SeededUsers(
                users, lambda index: seeded_user(index, self._base(), self._started)
            ),
            "Group": {},
        }
        self._seed(users, groups)

    # seeding

    def _seed(self, users: int, groups: int) -> None:
        for group in seeded_groups(users, groups):
            self._enrich_members(group)
            self._insert(GROUP_KIND, group)

    def _insert(self, kind: Kind, resource: Json) -> None:
        now = self._now()
        resource["meta"] = {"resourceType": kind.name, "created": now}
        self._stamp(kind, resource, now)
        self._store[kind.name][resource["id"]] = resource

    def _now(self) -> str:
        return _iso(self._clock())

    def _location(self, kind: Kind, resource_id: str) -> str:
        return f"{self._base()}/{kind.endpoint}/{urllib.parse.quote(resource_id, safe='')}"

    def _stamp(self, kind: Kind, resource: Json, now: str) -> None:
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
        if not acceptable(request.header("accept")):
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
                return json_response(
                    200, scim_discovery.service_provider_config(self._meta, self.max_results)
                )
            case ["ResourceTypes"]:
                self._allow(method, "GET")
                self._no_filter(request)
                return json_response(
                    200, scim_discovery.list_of(scim_discovery.resource_types(self._meta))
                )
            case ["ResourceTypes", name]:
                self._allow(method, "GET")
                return json_response(
                    200, self._find(scim_discovery.resource_types(self._meta), name, "ResourceType")
                )
            case ["Schemas"]:
                self._allow(method, "GET")
                self._no_filter(request)
                return json_response(
                    200, scim_discovery.list_of(scim_discovery.schemas(self._meta))
                )
            case ["Schemas", urn]:
                self._allow(method, "GET")
                return json_response(
                    200, self._find(scim_discovery.schemas(self._meta), urn, "Schema")
                )
            case [endpoint] if endpoint in KINDS:
                kind = KINDS[endpoint]
                self._allow(method, "GET", "POST")
                if method == "GET":
                    return list_response(
                        kind, self._store[kind.name], request.query, self.max_results
                    )
                return self._create(kind, request)
            case [endpoint, resource_id] if endpoint in KINDS and resource_id:
                return self._one(KINDS[endpoint], resource_id, method, request)
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
        if param(request.query, "filter") is not None:
            # RFC 7644 §4: filtering discovery endpoints SHOULD be refused with 403.
            raise ScimError(403, "Discovery endpoints cannot be filtered")

    @staticmethod
    def _find(resources: list[Json], wanted: str, what: str) -> Json:
        for resource in resources:
            if resource["id"] == wanted:
                return resource
        raise ScimError(404, f"{what} {wanted!r} not found")

    # discovery (RFC 7644 §4, RFC 7643 §5-§7): the documents are in scim_discovery.py

    def _meta(self, resource_type: str, path: str) -> Json:
        return {
            "resourceType": resource_type,
            "created": self._started,
            "lastModified": self._started,
            "location": f"{self._base()}/{path}",
        }

    # collections (listing, paging and projection are in scim_listing.py)

    def _create(self, kind: Kind, request: Request) -> Response:
        resource = self._clean(kind, json_body(request))
        resource["id"] = str(uuid.uuid4())
        self._validate(kind, resource)
        self._insert(kind, resource)
        return self._resource_response(kind, resource, 201, location=True)

    # single resources

    def _one(self, kind: Kind, resource_id: str, method: str, request: Request) -> Response:
        self._allow(method, "GET", "PUT", "PATCH", "DELETE")
        current = self._store[kind.name].get(resource_id)
        if current is None:
            raise ScimError(404, f"{kind.name} {resource_id!r} not found")
        version = current["meta"]["version"]
        if method == "GET":
            if etag_matches(request.header("if-none-match"), version):
                return Response(304, (("ETag", version),))
            return self._resource_response(kind, current, 200, query=request.query)
        if_match = request.header("if-match")
        if if_match is not None and not etag_matches(if_match, version):
            raise ScimError(
                412, f"If-Match {if_match} does not match the current version {version}"
            )
        if method == "DELETE":
            del self._store[kind.name][resource_id]
            if kind is USER_KIND:
                self._drop_member(resource_id)
            return Response(204)
        if method == "PUT":
            updated = self._clean(kind, json_body(request))
        else:
            updated = patched(kind, current, json_body(request))
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
        kind: Kind,
        resource: Json,
        status: int,
        *,
        location: bool = False,
        query: Mapping[str, str] | None = None,
    ) -> Response:
        headers = [("ETag", resource["meta"]["version"])]
        if location:
            headers.append(("Location", resource["meta"]["location"]))
        return json_response(status, project(resource, query or {}), headers)

    def _drop_member(self, user_id: str) -> None:
        for group in self._store["Group"].values():
            members = group.get("members") or []
            kept = [m for m in members if not (isinstance(m, dict) and m.get("value") == user_id)]
            if len(kept) != len(members):
                group["members"] = kept
                self._stamp(GROUP_KIND, group, self._now())

    # validation

    def _clean(self, kind: Kind, body: Json) -> Json:
        """The client's representation minus what it may not set (id, meta, password)."""
        resource: Json = {}
        extensions: list[str] = []
        for key, value in body.items():
            lowered = key.lower()
            if lowered in READ_ONLY or lowered == "password":
                continue
            known = next((ext for ext in kind.extensions if ext.lower() == lowered), None)
            if known is not None:
                if not isinstance(value, dict):
                    raise ScimError(400, f"{key} must be an object", "invalidValue")
                resource[known] = {k: v for k, v in value.items() if k.lower() != "password"}
                extensions.append(known)
                continue
            resource[CANONICAL.get(lowered, key)] = value
        resource["schemas"] = [kind.schema, *extensions]
        return resource

    def _validate(self, kind: Kind, resource: Json) -> None:
        required = resource.get(kind.required)
        if not isinstance(required, str) or not required.strip():
            raise ScimError(
                400, f"{kind.required} is required and must be a non-empty string", "invalidValue"
            )
        if kind is USER_KIND:
            resource["active"] = coerce_bool(resource.get("active", True), "active")
        if kind is GROUP_KIND:
            self._enrich_members(resource)
        for extension in kind.extensions:
            if resource.get(extension) and extension not in resource["schemas"]:
                resource["schemas"].append(extension)
        if kind.unique:
            wanted = str(resource[kind.unique]).casefold()
            store = self._store[kind.name]
            same = Comparison((kind.unique.lower(),), str(resource[kind.unique]))
            found = store.candidates(same) if isinstance(store, SeededUsers) else None
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
                entry["$ref"] = self._location(USER_KIND, user["id"])
                entry["type"] = "User"
            enriched.append(entry)
        group["members"] = enriched
