"""Demo faults for the `errors` check: error answers as frameworks and SDKs get them wrong."""

from __future__ import annotations

import json
import urllib.parse

import msgspec.structs

from scim_doctor.demo.fault_kit import Fault, map_response, on_route
from scim_doctor.demo.scim_wire import Handler, Request, Response

_HTML_404 = (
    b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>\n"
    b"<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n"
    b"<hr><address>Apache/2.4.57 (Debian) Server</address>\n</body></html>\n"
)


def _status_as_integer(request: Request, response: Response) -> Response:
    """What SDKs that model `status` as an int send (SCIM-SDK#834, pingidentity/scim2#87)."""
    if response.status < 400:
        return response
    try:
        body = response.json()
    except ValueError:
        return response
    body["status"] = int(body["status"])
    return response.with_json(body)


def _html_404(request: Request, response: Response) -> Response:
    if response.status != 404:
        return response
    return Response(404, (("Content-Type", "text/html; charset=iso-8859-1"),), _HTML_404)


def _rejected_filter(response: Response) -> bool:
    if response.status != 400:
        return False
    return bool(response.json().get("scimType") == "invalidFilter")


def _without_filter(request: Request) -> Request:
    path, _, query = request.target.partition("?")
    kept = [(k, v) for k, v in urllib.parse.parse_qsl(query) if k.lower() != "filter"]
    target = path + ("?" + urllib.parse.urlencode(kept) if kept else "")
    return msgspec.structs.replace(request, target=target)


def _ignore_bad_filter(request: Request, call_next: Handler) -> Response:
    """A filter the server cannot parse is dropped: the full list comes back."""
    response = call_next(request)
    return call_next(_without_filter(request)) if _rejected_filter(response) else response


def _crash_on_bad_filter(request: Request, call_next: Handler) -> Response:
    """The parser's exception escapes to the framework's default 500 page."""
    response = call_next(request)
    if not _rejected_filter(response):
        return response
    detail = json.loads(response.body).get("detail", "")
    body = f"Internal Server Error\n\nFilterParseException: {detail}\n".encode()
    return Response(500, (("Content-Type", "text/plain; charset=utf-8"),), body)


FAULTS: tuple[Fault, ...] = (
    Fault(
        "error_status_integer",
        'Errors for /Users/{id} carry "status": 404 (a JSON number), not "404".',
        "http",
        ("errors.status_not_string",),
        middleware=on_route("GET", "/Users/*", map_response(_status_as_integer)),
    ),
    Fault(
        "html_404",
        "An unknown user id is answered with the web server's HTML 404 page.",
        "http",
        ("errors.not_scim_error",),
        middleware=on_route("GET", "/Users/*", map_response(_html_404)),
    ),
    Fault(
        "invalid_filter_ignored",
        "A filter the server cannot parse is ignored: 200 with every user.",
        "http",
        ("errors.invalid_filter_not_rejected",),
        middleware=on_route("GET", "/Users", _ignore_bad_filter),
    ),
    Fault(
        "invalid_filter_500",
        "A filter the server cannot parse crashes it: 500 with a stack-trace page.",
        "http",
        ("errors.invalid_filter_wrong_status",),
        middleware=on_route("GET", "/Users", _crash_on_bad_filter),
    ),
)
