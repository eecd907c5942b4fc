"""Bearer-token authentication for the SCIM API.

django-scim2 authenticates nothing itself: its `SCIMAuthCheckMiddleware` answers 401 unless an
earlier middleware has put an authenticated user on the request (its documentation suggests an
OAuth2 provider). An application with one provisioning client does what this does: compare the
`Authorization: Bearer` token with the one configured, and mark the request as the
provisioning client's.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ProvisioningClient:
    """The identity provider, as request.user (not a row in the directory it provisions)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    pk = None


class BearerTokenMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        expected: str = settings.SCIM_BEARER_TOKEN
        if scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), expected.encode()):
            request.user = ProvisioningClient()
        return self.get_response(request)
