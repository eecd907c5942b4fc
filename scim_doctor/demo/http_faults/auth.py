"""Demo faults for the `auth` check: how endpoints get authentication wrong in the field.

Each breaks one thing on the https listener under the SCIM base and leaves the rest healthy, so
the doctor's `auth` findings are the only ones it must explain. The middlewares cannot know the
demo's token (the app keeps it), so "accepted" answers are built here: an empty ListResponse is
what a server that skips authentication hands out for an unknown tenant.
"""

from __future__ import annotations

from scim_doctor.demo.fault_kit import Fault, map_response, on_route
from scim_doctor.demo.scim_wire import (
    LIST_RESPONSE,
    REALM,
    Handler,
    Request,
    Response,
    error_response,
    json_response,
)

_EMPTY_LIST = {"schemas": [LIST_RESPONSE], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0}
_LOGIN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in \xc2\xb7 Example SSO</title></head>\n"
    b'<body><form method="post" action="/sso/login"><input name="username">'
    b'<input name="password" type="password"><button>Sign in</button></form></body></html>\n'
)


def _in_scim(request: Request) -> bool:
    return request.scheme == "https" and request.scim_path is not None


def _is_bearer(request: Request) -> bool:
    return (request.header("authorization") or "").strip().lower().startswith("bearer ")


def _reject_every_token(request: Request, call_next: Handler) -> Response:
    if _in_scim(request) and _is_bearer(request):
        challenge = (
            f'Bearer realm="{REALM}", error="invalid_token", '
            'error_description="The access token has been revoked"'
        )
        return error_response(
            401, "The bearer token is not valid", headers=(("WWW-Authenticate", challenge),)
        )
    return call_next(request)


def _forbid_valid_tokens(request: Request, response: Response) -> Response:
    if _in_scim(request) and 200 <= response.status < 300:
        return error_response(
            403,
            "SCIM provisioning is not enabled for this organization (it requires the "
            "Enterprise plan)",
        )
    return response


def _open_without_token(request: Request, call_next: Handler) -> Response:
    response = call_next(request)
    if request.header("authorization") is None and response.status == 401:
        return json_response(200, _EMPTY_LIST)
    return response


def _open_to_any_bearer(request: Request, call_next: Handler) -> Response:
    response = call_next(request)
    if _is_bearer(request) and response.status == 401:
        return json_response(200, _EMPTY_LIST)
    return response


def _drop_challenge(request: Request, response: Response) -> Response:
    if response.status != 401:
        return response
    return response.without_header("WWW-Authenticate")


def _framework_401(request: Request, response: Response) -> Response:
    if response.status != 401:
        return response
    return response.with_header("Content-Type", "application/json").with_json(
        {"error": "Unauthorized", "status": 401}
    )


def _login_page(request: Request, call_next: Handler) -> Response:
    if _in_scim(request):
        return Response(200, (("Content-Type", "text/html; charset=utf-8"),), _LOGIN_PAGE)
    return call_next(request)


def _nothing_here(request: Request, call_next: Handler) -> Response:
    if _in_scim(request):
        return Response(404, (("Content-Type", "text/plain"),), b"404 page not found\n")
    return call_next(request)


FAULTS: tuple[Fault, ...] = (
    Fault(
        "token_rejected",
        'Every bearer token is refused: 401 with error="invalid_token" (a revoked token).',
        "http",
        ("auth.rejected",),
        middleware=_reject_every_token,
    ),
    Fault(
        "forbidden",
        "The token is known but gets 403: SCIM provisioning is not enabled for the account.",
        "http",
        ("auth.forbidden",),
        middleware=map_response(_forbid_valid_tokens),
    ),
    Fault(
        "no_auth_required",
        "GET /Users answers 200 to requests without any Authorization header.",
        "http",
        ("auth.no_token_accepted",),
        middleware=on_route("GET", "/Users", _open_without_token),
    ),
    Fault(
        "any_token_accepted",
        "GET /Users answers 200 to any bearer token, even a made-up one.",
        "http",
        ("auth.bogus_token_accepted",),
        middleware=on_route("GET", "/Users", _open_to_any_bearer),
    ),
    Fault(
        "no_www_authenticate",
        "401 answers carry no WWW-Authenticate header.",
        "http",
        ("auth.missing_www_authenticate",),
        middleware=map_response(_drop_challenge),
    ),
    Fault(
        "plain_401_body",
        'A 401 answers a framework body {"error": "Unauthorized", "status": 401}, no SCIM Error.',
        "http",
        ("auth.401_not_scim_error",),
        middleware=map_response(_framework_401),
    ),
    Fault(
        "sso_login_page",
        "The SCIM path is behind an SSO front end: every request gets an HTML sign-in page.",
        "http",
        ("auth.sso_login_page",),
        middleware=_login_page,
    ),
    Fault(
        "wrong_base_path",
        "Nothing is served under the base path: every SCIM request answers 404.",
        "http",
        ("auth.endpoint_not_found",),
        middleware=_nothing_here,
    ),
)
