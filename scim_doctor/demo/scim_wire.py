"""The demo's SCIM wire: URNs, the request and response types, and RFC 7644 error answers.

Everything a route, a middleware or a fault needs to read a request and write an answer, and
nothing about resources: the HTTP-layer faults (http_faults/) and the server's transport use
these types without pulling in the store, the filters or PATCH.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final

from msgspec import Struct
from msgspec.structs import replace

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


class Request(Struct, frozen=True):
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


class Response(Struct, frozen=True):
    status: int
    headers: Headers = ()
    body: bytes = b""
    chunks: Callable[[], Iterator[bytes]] | None = None
    """A body made while it is sent (chunked), instead of `body`: a page of 100,000 users is
    sent as it is encoded, never held whole. Each call gives the whole body afresh."""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def json(self) -> Any:
        return json.loads(self.body if self.chunks is None else b"".join(self.chunks()))

    def with_json(self, payload: Any) -> Response:
        """The same response with another JSON body (what most HTTP-layer faults need)."""
        return replace(self, body=encode(payload), chunks=None)

    def with_header(self, name: str, value: str) -> Response:
        """The same response with `name` set to `value` (replacing any previous value)."""
        return replace(self, headers=(*self.without_header(name).headers, (name, value)))

    def without_header(self, name: str) -> Response:
        """The same response with every `name` header dropped (a fault's missing header)."""
        kept = tuple((k, v) for k, v in self.headers if k.lower() != name.lower())
        return replace(self, headers=kept)


Handler = Callable[[Request], Response]
Middleware = Callable[[Request, Handler], Response]
"""Gets the request and the next handler; may call it, change its answer, or answer itself."""


_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode(payload: Any) -> bytes:
    """Compact UTF-8 JSON, the one encoding every body of the demo uses."""
    return _ENCODER.encode(payload).encode()


def json_response(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(status, (("Content-Type", SCIM_MEDIA_TYPE), *headers), encode(payload))


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


def acceptable(accept: str | None) -> bool:
    """Whether an Accept header lets us answer in SCIM JSON (a 406 otherwise)."""
    if accept is None or not accept.strip():
        return True
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for parameter in params:
            key, _, value = parameter.partition("=")
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


def int_param(query: Mapping[str, str], name: str, default: int) -> int:
    """An integer query parameter (startIndex, count); a 400 invalidValue if it is not one."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ScimError(400, f"{name}={raw!r} is not an integer", "invalidValue") from None


def param(query: Mapping[str, str], name: str) -> str | None:
    """A query parameter by name, case-insensitively: clients spell `filter` as they like."""
    wanted = name.lower()
    return next((value for key, value in query.items() if key.lower() == wanted), None)


def etag_matches(header: str | None, version: str) -> bool:
    """Whether an If-Match / If-None-Match header names `version` (or `*`)."""
    if header is None:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or version in tags


def json_body(request: Request) -> Json:
    """The request body as a JSON object; a 400 invalidSyntax for anything else."""
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ScimError(400, "The request body is not valid JSON", "invalidSyntax") from None
    if not isinstance(body, dict):
        raise ScimError(400, "The request body must be a JSON object", "invalidSyntax")
    return body
