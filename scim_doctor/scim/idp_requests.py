"""The first request each identity provider builds from the base URL as pasted: what the admin
should picture when a provider's test fails, and where a trailing '/' or a query string ends up.

Facts, not rules: the url check puts them in the report. Only what the providers document is
built in: Entra ID keeps its `aadOptscim062020` flag in every request and searches a random
GUID userName to test the connection; Okta searches `userName eq` with `startIndex` and `count`;
Google probes `GET /Users?count=1`; OneLogin's Enable connects to the base URL itself; JumpCloud's
test creates a user and joins the path verbatim (a base URL ending in '/' gives `//Users`).
"""

from __future__ import annotations

import urllib.parse

ENTRA_TEST_USER = "7d4c2f1e-9a3b-4c5d-8e6f-0a1b2c3d4e5f"
"""A GUID in the shape of the one Entra's Test Connection searches (a new one each time)."""


def _filter(user_name: str) -> str:
    return "filter=" + urllib.parse.quote(f'userName eq "{user_name}"', safe="=")


def first_requests(base_url: str, *, query: str, trailing_slash: bool) -> list[dict[str, str]]:
    """Per provider, its first call as it would send it: method, URL and what it is for.

    `base_url` is the checked URL (no trailing '/', no query); `query` and `trailing_slash`
    say what the pasted URL also carried."""
    entra_query = f"{query}&" if query else ""
    jumpcloud_users = f"{base_url}/{'/' if trailing_slash else ''}Users"
    return [
        {
            "idp": "entra",
            "method": "GET",
            "url": f"{base_url}/Users?{entra_query}{_filter(ENTRA_TEST_USER)}",
            "purpose": "Test Connection: a random GUID userName, expecting an empty list",
        },
        {
            "idp": "okta",
            "method": "GET",
            "url": f"{base_url}/Users?{_filter('jdoe@example.com')}&startIndex=1&count=100",
            "purpose": "before each create: does the user exist (pages of 100)",
        },
        {
            "idp": "onelogin",
            "method": "GET",
            "url": base_url + ("/" if trailing_slash else ""),
            "purpose": "Enable: an initial connection to the base URL (request not documented)",
        },
        {
            "idp": "jumpcloud",
            "method": "POST",
            "url": jumpcloud_users,
            "purpose": "test connection: creates (then deletes) a test user"
            + ("; the pasted trailing '/' doubles the slash" if trailing_slash else ""),
        },
        {
            "idp": "google",
            "method": "GET",
            "url": f"{base_url}/Users?count=1",
            "purpose": "connection check",
        },
    ]
