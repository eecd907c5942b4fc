"""Demo faults for the `negotiation` check: media types, Content-Type, charsets, non-JSON bodies.

Each copies a way real deployments break. Most are triggered by one Accept variant only (a
gateway rule, a framework's formatter order, a legacy path), as they are in the field, which also
keeps the identity provider's own requests (Accept: application/scim+json) working where the
fault does not concern them; `scim_json_406` breaks exactly those, as it does for real.
"""

from __future__ import annotations

import json

from msgspec.structs import replace

from scim_doctor.demo.fault_kit import Fault, map_response, on_route
from scim_doctor.demo.http_faults import cloudflare
from scim_doctor.demo.scim_wire import SCIM_MEDIA_TYPE, Handler, Request, Response

_JSON = "application/json"


def _accept(request: Request) -> str:
    return (request.header("accept") or "").strip().lower()


def _only_scim_json(request: Request, call_next: Handler) -> Response:
    """A framework that knows application/json but was never told about application/scim+json
    (Spring's produces = "application/json", Rails' respond_to :json): 406 for the SCIM type.
    Authentication runs first (a security filter, a before_action), so a bad token still gets
    its 401."""
    response = call_next(request)
    if request.scheme != "https" or response.status == 401:
        return response  # the plain listener's 308, and the authentication gate, stay as they are
    accept = _accept(request)
    if SCIM_MEDIA_TYPE in accept and not any(t in accept for t in (_JSON, "*/*", "application/*")):
        body = {
            "timestamp": "2026-01-01T00:00:00.000+00:00",
            "status": 406,
            "error": "Not Acceptable",
            "message": "Could not find acceptable representation",
            "path": request.path,
        }
        return Response(406, (("Content-Type", _JSON),), json.dumps(body).encode())
    if response.header("Content-Type") == SCIM_MEDIA_TYPE:
        return response.with_header("Content-Type", _JSON)
    return response


def _as_text_plain(request: Request, response: Response) -> Response:
    """A handler that writes the JSON string itself and leaves the framework's default type."""
    return response.with_header("Content-Type", "text/plain; charset=utf-8")


_SPA_INDEX = b"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <link rel="icon" href="/favicon.ico" />
    <meta name="viewport" content="width=device-width,initial-scale=1" />
    <title>Acme Portal</title>
    <script defer="defer" src="/static/js/main.7c1f3a9e.js"></script>
    <link href="/static/css/main.0b2d9c41.css" rel="stylesheet" />
  </head>
  <body>
    <noscript>You need to enable JavaScript to run this app.</noscript>
    <div id="root"></div>
  </body>
</html>
"""


def _spa_catch_all(request: Request, call_next: Handler) -> Response:
    """A gateway that sends /scim/v2 to the API only when Accept names the SCIM type; the rest
    falls through to the web app, whose history fallback serves index.html for any path."""
    if SCIM_MEDIA_TYPE in _accept(request):
        return call_next(request)
    headers = (("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-cache"))
    return Response(200, headers, _SPA_INDEX)


_RAY_ID = "8f1c2d3e4a5b6c7d"


def _waf_blocks_missing_accept(request: Request, call_next: Handler) -> Response:
    """A WAF rule that treats a request without an Accept header as a bot (OWASP CRS 920300
    flags it; bot-fight modes block it), answered with the CDN's block page."""
    if request.header("accept") is not None or request.scheme != "https":
        return call_next(request)
    return cloudflare.block(_RAY_ID)


def _xml_by_default(request: Request, call_next: Handler) -> Response:
    """Spring with jackson-dataformat-xml on the classpath: XML wins when Accept is missing."""
    accept = _accept(request)
    if accept and accept not in ("*/*", "application/*"):
        return call_next(request)
    response = call_next(request)
    payload = json.loads(response.body)
    users = "".join(
        f"<Resources><id>{user['id']}</id><userName>{user['userName']}</userName></Resources>"
        for user in payload.get("Resources", [])
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<ListResponse>'
        f"<totalResults>{payload.get('totalResults')}</totalResults>{users}</ListResponse>"
    )
    return Response(200, (("Content-Type", "application/xml;charset=UTF-8"),), body.encode())


def _truncated(request: Request, call_next: Handler) -> Response:
    """The plain-JSON path sits behind a proxy whose buffer cuts the answer (and fixes up
    Content-Length to what it kept), so the client gets a complete HTTP message of broken JSON."""
    response = call_next(request)
    if _accept(request) != _JSON or response.status != 200:
        return response
    return replace(response, body=response.body[: len(response.body) * 3 // 5])


def _latin1(request: Request, call_next: Handler) -> Response:
    """A legacy servlet behind the plain-JSON path writes ISO-8859-1 (its container's default)
    while the header still says UTF-8. The demo's names are ASCII, so the fault gives the first
    user an accented title, as any real directory has."""
    response = call_next(request)
    if _accept(request) != _JSON or response.status != 200:
        return response
    payload = json.loads(response.body)
    for user in payload.get("Resources", [])[:1]:
        user["title"] = "Ingénieure réseau"
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("latin-1")
    return Response(200, (("Content-Type", "application/json;charset=UTF-8"),), body)


FAULTS: tuple[Fault, ...] = (
    Fault(
        "scim_json_406",
        "answers 406 to Accept: application/scim+json (only application/json was registered)",
        layer="http",
        expect=("negotiation.scim_json_rejected",),
        middleware=on_route("*", "*", _only_scim_json),
    ),
    Fault(
        "json_as_text_plain",
        "serves the /Users JSON as Content-Type: text/plain",
        layer="http",
        expect=("negotiation.wrong_content_type",),
        middleware=on_route("GET", "/Users", map_response(_as_text_plain)),
    ),
    Fault(
        "html_spa_catch_all",
        "GET /Users without Accept: application/scim+json falls through to a React app's "
        "index.html",
        layer="http",
        expect=("negotiation.spa_catch_all",),
        middleware=on_route("GET", "/Users", _spa_catch_all),
    ),
    Fault(
        "waf_block_page",
        "a Cloudflare-style WAF answers requests without an Accept header with its 403 block page",
        layer="http",
        expect=("negotiation.html_response",),
        middleware=on_route("*", "*", _waf_blocks_missing_accept),
    ),
    Fault(
        "xml_body",
        "GET /Users without an Accept header answers XML (an XML formatter wins negotiation)",
        layer="http",
        expect=("negotiation.not_json",),
        middleware=on_route("GET", "/Users", _xml_by_default),
    ),
    Fault(
        "truncated_json",
        "GET /Users with Accept: application/json answers JSON cut off by a proxy buffer",
        layer="http",
        expect=("negotiation.not_json",),
        middleware=on_route("GET", "/Users", _truncated),
    ),
    Fault(
        "latin1_body",
        "GET /Users with Accept: application/json answers Latin-1 bytes labelled charset=UTF-8",
        layer="http",
        expect=("negotiation.bad_encoding",),
        middleware=on_route("GET", "/Users", _latin1),
    ),
)
