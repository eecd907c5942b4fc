"""Walking a redirect chain hop by hop, and recognising a sign-in page where one lands.

The HTTP layer never follows redirects; this module does, one request at a time, so every hop
can be shown and the token can be withheld the moment a chain leaves https://target (clients that
follow redirects drop Authorization across origins). A walk stops at a loop, after
`MAX_REQUESTS` requests, at an unusable Location, or at a known identity provider's sign-in page,
whose address says enough without fetching it. Judging the walks is the `redirect` check's part.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import httpx
from msgspec import Struct

from scim_doctor.core.patterns import LazyPattern
from scim_doctor.core.secrets import redact
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.http import HttpClient, HttpResult

MAX_REQUESTS = 10
"""Requests per walk: a chain still redirecting after that many counts as a loop."""
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

End = Literal["answered", "error", "loop", "too_many_hops", "sign_in", "bad_location"]
WalkName = Literal["plain_http", "base", "users"]

# Sign-in services recognised by host name (the host itself or any subdomain).
_SIGN_IN_HOSTS: tuple[tuple[str, str], ...] = (
    ("login.microsoftonline.com", "Microsoft Entra ID"),
    ("login.microsoftonline.us", "Microsoft Entra ID"),
    ("login.microsoft.com", "Microsoft Entra ID"),
    ("login.windows.net", "Microsoft Entra ID"),
    ("b2clogin.com", "Azure AD B2C"),
    ("okta.com", "Okta"),
    ("oktapreview.com", "Okta"),
    ("okta-emea.com", "Okta"),
    ("accounts.google.com", "Google"),
    ("onelogin.com", "OneLogin"),
    ("jumpcloud.com", "JumpCloud"),
    ("auth0.com", "Auth0"),
    ("cloudflareaccess.com", "Cloudflare Access"),
    ("pingone.com", "PingOne"),
    ("pingone.eu", "PingOne"),
    ("duosecurity.com", "Duo"),
    ("amazoncognito.com", "Amazon Cognito"),
)
# ... and by path, wherever they are hosted.
_SIGN_IN_PATHS: tuple[tuple[LazyPattern[str], str], ...] = (
    (LazyPattern(r"/realms/[^/]+/protocol/(openid-connect|saml)(/|$)"), "Keycloak"),
    (LazyPattern(r"^/adfs/(ls|oauth2)(/|$)", re.IGNORECASE), "AD FS"),
    (LazyPattern(r"^/cdn-cgi/access/login(/|$)"), "Cloudflare Access"),
    (LazyPattern(r"^/oauth2/(start|sign_in)(/|$)"), "oauth2-proxy"),
    (LazyPattern(r"^/idp/profile/SAML2/|/Shibboleth\.sso/"), "Shibboleth"),
)
# Words in a fetched page that name who runs it.
_PAGE_MARKERS: tuple[tuple[str, str], ...] = (
    ("login.microsoftonline.com", "Microsoft Entra ID"),
    ("okta", "Okta"),
    ("accounts.google.com", "Google"),
    ("onelogin", "OneLogin"),
    ("jumpcloud", "JumpCloud"),
    ("auth0", "Auth0"),
    ("keycloak", "Keycloak"),
    ("kc-form-login", "Keycloak"),
    ("/adfs/", "AD FS"),
    ("cloudflare access", "Cloudflare Access"),
)
_PASSWORD_FIELD = LazyPattern(r"<input[^>]+type\s*=\s*[\"']?password", re.IGNORECASE)
_TITLE = LazyPattern(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SIGN_IN_WORDS = LazyPattern(
    r"\b(sign[ -]?in|log[ -]?in|log[ -]?on|single sign[ -]?on|sso|authenticate)\b", re.IGNORECASE
)
_SIGN_IN_PATH = LazyPattern(
    r"/(log-?in|sign-?in|sso|saml2?|oauth2?/(v2\.0/)?authorize|authorize)(/|$)", re.IGNORECASE
)
_PAGE_SCAN_BYTES = 64 * 1024


def url_port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def url_host(url: httpx.URL) -> str:
    return url.raw_host.decode("ascii").lower()


def same_origin(url: httpx.URL, ctx: ProbeContext) -> bool:
    target = ctx.target
    return (url.scheme, url_host(url), url_port(url)) == (target.scheme, target.host, target.port)


def _key(url: httpx.URL) -> str:
    return str(url.copy_with(fragment=None))


def shown_url(url: httpx.URL) -> str:
    return redact(str(url))


def brief_url(shown: str) -> str:
    """A redacted URL for a message: a long query string is cut (the facts keep it whole)."""
    head, sep, query = shown.partition("?")
    return f"{head}?{query[:40]}..." if sep and len(query) > 48 else shown


def _resolve(current: httpx.URL, location: str) -> httpx.URL | None:
    """The absolute URL a Location header points at, None when it is not a usable http(s) URL."""
    try:
        resolved = current.join(location.strip())
    except (httpx.InvalidURL, ValueError, TypeError, UnicodeError):
        return None
    if resolved.scheme not in ("http", "https") or not resolved.raw_host:
        return None
    return resolved.copy_with(fragment=None)


def _known_sign_in(url: httpx.URL, ctx: ProbeContext) -> str | None:
    """The service whose sign-in page `url` is, when its address alone makes that plain."""
    host = url_host(url)
    if host != ctx.target.host:
        for suffix, name in _SIGN_IN_HOSTS:
            if host == suffix or host.endswith("." + suffix):
                return name
    path = url.path
    return next((name for pattern, name in _SIGN_IN_PATHS if pattern.search(path)), None)


class SignIn(Struct, frozen=True):
    """A page that asks a human to sign in."""

    service: str | None
    """Who runs it, when the address or the page says so."""
    title: str | None

    def describe(self) -> str:
        if self.service:
            return f"the {self.service} sign-in page"
        return f"a sign-in page (title {self.title!r})" if self.title else "a sign-in page"


def _sign_in_page(result: HttpResult, url: httpx.URL, ctx: ProbeContext) -> SignIn | None:
    """Whether an answered hop is an HTML sign-in page, and whose."""
    head = result.body[:_PAGE_SCAN_BYTES].lstrip()[:15].lower()
    if not (result.is_html or head.startswith((b"<!doctype html", b"<html"))):
        return None
    page = result.text[:_PAGE_SCAN_BYTES]
    match = _TITLE.search(page)
    title = redact(" ".join(match.group(1).split())[:80]) if match else None
    looks_like = (
        _PASSWORD_FIELD.search(page) is not None
        or "samlrequest" in page.lower()
        or (title is not None and _SIGN_IN_WORDS.search(title) is not None)
        or _SIGN_IN_PATH.search(url.path) is not None
    )
    if not looks_like:
        return None
    service = _known_sign_in(url, ctx)
    if service is None:
        lowered = page.lower()
        service = next((name for marker, name in _PAGE_MARKERS if marker in lowered), None)
    return SignIn(service, title)


class Hop(Struct, frozen=True):
    """One request of a walk and where it pointed next."""

    url: httpx.URL
    result: HttpResult
    token_sent: bool
    location: httpx.URL | None
    """The redirect target, resolved against `url` (None: not a redirect, or no usable one)."""
    raw_location: str | None
    """The Location header as sent (redirect statuses only)."""

    @property
    def outcome(self) -> str:
        result = self.result
        if result.error is not None:
            return f"no answer: {result.error.message}"
        return str(result.status)

    def fact(self) -> dict[str, Any]:
        location = None
        if self.location is not None:
            location = shown_url(self.location)
        elif self.raw_location is not None:
            location = redact(self.raw_location)
        fact: dict[str, Any] = {
            "url": self.result.url,
            "status": self.result.status,
            "location": location,
            "token_sent": self.token_sent,
        }
        if self.result.error is not None:
            fact["error"] = self.result.error.message
        return fact


class Walk(Struct, frozen=True):
    """One chain of redirects, from its first request to where it stopped and why."""

    name: WalkName
    hops: tuple[Hop, ...]
    end: End
    pointed_to: httpx.URL | None = None
    """The Location not followed (loop, too many hops, known sign-in page)."""
    sign_in: SignIn | None = None

    @property
    def start(self) -> str:
        return self.hops[0].result.url

    @property
    def last(self) -> Hop:
        return self.hops[-1]

    @property
    def redirected(self) -> bool:
        return len(self.hops) > 1 or self.pointed_to is not None

    @property
    def final_url(self) -> httpx.URL:
        return self.pointed_to if self.pointed_to is not None else self.last.url

    def chain(self) -> str:
        """The hops as one line: `URL (302) -> URL (200)`."""
        steps = [f"{brief_url(hop.result.url)} ({hop.outcome})" for hop in self.hops]
        if self.pointed_to is not None:
            steps.append(f"{brief_url(shown_url(self.pointed_to))} (not followed)")
        elif self.end == "bad_location":
            steps.append(f"Location {redact(self.last.raw_location or '')!r} (not a usable URL)")
        return " -> ".join(steps)

    def fact(self) -> dict[str, Any]:
        fact: dict[str, Any] = {
            "start": self.start,
            "end": self.end,
            "final_url": shown_url(self.final_url),
            "hops": [hop.fact() for hop in self.hops],
        }
        if self.sign_in is not None:
            fact["sign_in"] = self.sign_in.service or "unknown"
        return fact


async def follow(
    client: HttpClient, ctx: ProbeContext, name: WalkName, start: str, *, with_token: bool
) -> Walk:
    """Follow `start` hop by hop; the token only while the chain stays on https://target."""
    url = httpx.URL(start)
    hops: list[Hop] = []
    seen = {_key(url)}
    trusted = with_token
    while True:
        trusted = trusted and url.scheme == "https" and same_origin(url, ctx)
        result = await client.request("GET", str(url), auth="token" if trusted else "none")
        raw = result.headers.get("location") if result.status in REDIRECT_STATUSES else None
        location = _resolve(url, raw) if raw is not None else None
        hops.append(Hop(url, result, trusted, location, raw))
        if raw is None or not result.ok:
            end: End = "answered" if result.ok else "error"
            sign_in = _sign_in_page(result, url, ctx) if result.ok and len(hops) > 1 else None
            return Walk(name, tuple(hops), end, sign_in=sign_in)
        if location is None:
            return Walk(name, tuple(hops), "bad_location")
        service = _known_sign_in(location, ctx)
        if service is not None:
            return Walk(name, tuple(hops), "sign_in", location, SignIn(service, None))
        if _key(location) in seen:
            return Walk(name, tuple(hops), "loop", location)
        if len(hops) >= MAX_REQUESTS:
            return Walk(name, tuple(hops), "too_many_hops", location)
        seen.add(_key(location))
        url = location
