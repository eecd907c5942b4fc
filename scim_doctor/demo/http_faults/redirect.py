"""Demo faults for the `redirect` check: the redirects real deployments get wrong.

Every Location stays on loopback or is a known identity provider's sign-in page, which the
doctor records without fetching; so the demo (and the tests) never reach the network. The host
a request was sent to comes from its Host header, the only place a middleware learns it.
"""

from __future__ import annotations

import ipaddress

from msgspec.structs import replace

from scim_doctor.demo.fault_kit import Fault
from scim_doctor.demo.scim_wire import BASE_PATH, Handler, Request, Response

ENTRA_TENANT = "7f3c1d2e-9a4b-4c8e-b1f0-5d6e7a8b9c0d"
"""A made-up tenant id for the Entra ID sign-in URL."""
MOVED_PREFIX = "/api"
"""Where `redirect_path_moved` serves the SCIM API now: /api/scim/v2."""


def _host_and_port(request: Request) -> tuple[str, str]:
    """The host name and port the client asked for (Host header), port '' when not given."""
    host = request.header("host") or "localhost"
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, rest.removeprefix(":")
    name, _, port = host.partition(":")
    return name, port


def _redirect(status: int, location: str) -> Response:
    body = f'<html><body>Moved: <a href="{location}">{location}</a></body></html>'.encode()
    return Response(
        status, (("Location", location), ("Content-Type", "text/html; charset=utf-8")), body
    )


def _is_scim(request: Request) -> bool:
    return request.scheme == "https" and request.scim_path is not None


def _served_plain(request: Request, call_next: Handler) -> Response:
    """The plain listener hands requests to the API as if they had come over TLS."""
    if request.scheme == "http":
        return call_next(replace(request, scheme="https"))
    return call_next(request)


def _plain_301(request: Request, call_next: Handler) -> Response:
    """The plain listener redirects to https with 301, which turns POST into GET."""
    response = call_next(request)
    if request.scheme == "http" and response.status == 308:
        return replace(response, status=301)
    return response


def _to_login(request: Request, call_next: Handler) -> Response:
    """An SSO gateway in front of the whole site sends API calls to the Entra ID sign-in."""
    if not _is_scim(request):
        return call_next(request)
    name, port = _host_and_port(request)
    relay = f"https://{name}:{port}{request.target}" if port else f"https://{name}{request.target}"
    return _redirect(
        302,
        f"https://login.microsoftonline.com/{ENTRA_TENANT}/saml2"
        f"?SAMLRequest=fZJNT8MwDIbvSPyHKvc2bdcxFq2TJnaZNC4gceDmpW4b1Hwoccv49zjttBPi"
        f"&RelayState={relay}",
    )


def _loop(request: Request, call_next: Handler) -> Response:
    """A proxy adds the trailing slash the application then removes, for ever."""
    if not _is_scim(request):
        return call_next(request)
    path, sep, query = request.target.partition("?")
    other = path.rstrip("/") if path.endswith("/") else path + "/"
    return _redirect(301, other + sep + query)


def _trailing_slash(request: Request, call_next: Handler) -> Response:
    """The base answers only with a slash appended (directory handling of nginx or Apache)."""
    if request.scheme == "https" and request.path == BASE_PATH:
        _, sep, query = request.target.partition("?")
        return _redirect(301, f"{BASE_PATH}/{sep}{query}")
    return call_next(request)


def _root_crashes(request: Request, call_next: Handler) -> Response:
    """The bare base URL (which only OneLogin's Enable requests) crashes the application."""
    if request.scheme == "https" and request.path in (BASE_PATH, BASE_PATH + "/"):
        body = b"<html><body><h1>500 Internal Server Error</h1></body></html>"
        return Response(500, (("Content-Type", "text/html; charset=utf-8"),), body)
    return call_next(request)


def _downgrade(request: Request, call_next: Handler) -> Response:
    """An application behind a TLS-terminating proxy builds its redirects with http://."""
    if not _is_scim(request):
        return call_next(request)
    name, _ = _host_and_port(request)
    host = f"[{name}]" if ":" in name else name
    return _redirect(302, f"http://{host}{request.target}")


def _cross_host(request: Request, call_next: Handler) -> Response:
    """The API moved to another host; the old name redirects there (308, so POST survives).

    The new host is the loopback address itself, which the demo certificate covers and which
    needs no name lookup.
    """
    name, port = _host_and_port(request)
    try:
        ipaddress.ip_address(name)
    except ValueError:
        if _is_scim(request):
            netloc = f"127.0.0.1:{port}" if port else "127.0.0.1"
            return _redirect(308, f"https://{netloc}{request.target}")
    return call_next(request)


def _path_moved(request: Request, call_next: Handler) -> Response:
    """The API moved to /api/scim/v2 on the same host; the old path redirects there."""
    if request.scheme == "https" and request.path.startswith(MOVED_PREFIX + BASE_PATH):
        return call_next(replace(request, target=request.target[len(MOVED_PREFIX) :]))
    if _is_scim(request):
        return _redirect(308, MOVED_PREFIX + request.target)
    return call_next(request)


FAULTS: tuple[Fault, ...] = (
    Fault(
        "http_served_plain",
        "Plain HTTP serves the SCIM API in clear text instead of redirecting to https.",
        "http",
        ("redirect.http_not_redirected",),
        middleware=_served_plain,
    ),
    Fault(
        "http_redirect_301",
        "Plain HTTP redirects to https with 301: a provider configured with http:// by mistake "
        "would have its POSTs turned into GETs (info: the https base URL never meets it).",
        "http",
        ("redirect.http_port_changes_method",),
        middleware=_plain_301,
    ),
    Fault(
        "redirect_to_login",
        "An SSO gateway sends every SCIM request to the Entra ID sign-in page (302).",
        "http",
        ("redirect.to_login_page",),
        middleware=_to_login,
    ),
    Fault(
        "redirect_loop",
        "The SCIM URLs redirect back and forth between with and without a trailing slash.",
        "http",
        ("redirect.loop",),
        middleware=_loop,
    ),
    Fault(
        "redirect_trailing_slash",
        "The bare base URL answers only after a 301 to the same path with a trailing slash "
        "(nginx's `location /scim/v2/`), then 404: no fault, the service has no root resource.",
        "http",
        ("redirect.base_url_no_root",),
        middleware=_trailing_slash,
    ),
    Fault(
        "base_url_server_error",
        "The bare base URL answers 500 (the app crashes on its root): only OneLogin's Enable "
        "requests it.",
        "http",
        ("redirect.base_url_answer",),
        middleware=_root_crashes,
    ),
    Fault(
        "redirect_downgrade",
        "The SCIM URLs redirect from https to http:// (an app behind a TLS proxy).",
        "http",
        ("redirect.downgrade",),
        middleware=_downgrade,
    ),
    Fault(
        "redirect_cross_host",
        "The API moved to another host; the configured one redirects there with 308.",
        "http",
        ("redirect.cross_host",),
        middleware=_cross_host,
    ),
    Fault(
        "redirect_path_moved",
        "The API moved to /api/scim/v2 on the same host; the old path redirects with 308.",
        "http",
        ("redirect.path_moved",),
        middleware=_path_moved,
    ),
)
