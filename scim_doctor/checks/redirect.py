"""The `redirect` check: where the base URL, and its plain-HTTP counterpart, really lead.

The HTTP layer never follows redirects, so this probe walks every hop itself and shows each one.
Three walks run at once, each at most `MAX_REQUESTS` requests long:

- `GET http://HOST:<--http-port>/<base path>` without credentials: does plain HTTP answer the
  API in clear text (an IdP configured with http:// would then send its token unencrypted), or
  send clients to https with a status that keeps POST bodies (307/308)?
- `GET <base URL>`: what an IdP that probes the base sees (OneLogin), and what trailing-slash
  rewrites hit;
- `GET <base URL>/Users?count=1`: an endpoint every IdP calls (Google's own probe), the one SSO
  gateways and moved APIs redirect.

The token goes out only while a chain is still on https://target; once a hop has left that
origin it is never sent again, not even back on the target, as clients that follow redirects
drop Authorization across origins (and the HTTP layer refuses anything else anyway). Hops to a
known identity provider's sign-in page are recorded, not fetched: their address says enough.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from scim_doctor.checks.base import Outcome
from scim_doctor.core import findings
from scim_doctor.core.model import Finding, Severity
from scim_doctor.core.secrets import redact
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.http import ErrorKind, HttpClient, HttpResult, common_findings

MAX_REQUESTS = 10
"""Requests per walk: a chain still redirecting after that many counts as a loop."""
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
METHOD_CHANGING = frozenset({301, 302, 303})
"""Statuses after which clients may (301/302) or must (303) repeat a POST as a GET."""

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
_SIGN_IN_PATHS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"/realms/[^/]+/protocol/(openid-connect|saml)(/|$)"), "Keycloak"),
    (re.compile(r"^/adfs/(ls|oauth2)(/|$)", re.IGNORECASE), "AD FS"),
    (re.compile(r"^/cdn-cgi/access/login(/|$)"), "Cloudflare Access"),
    (re.compile(r"^/oauth2/(start|sign_in)(/|$)"), "oauth2-proxy"),
    (re.compile(r"^/idp/profile/SAML2/|/Shibboleth\.sso/"), "Shibboleth"),
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
_PASSWORD_FIELD = re.compile(r"<input[^>]+type\s*=\s*[\"']?password", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SIGN_IN_WORDS = re.compile(
    r"\b(sign[ -]?in|log[ -]?in|log[ -]?on|single sign[ -]?on|sso|authenticate)\b", re.IGNORECASE
)
_SIGN_IN_PATH = re.compile(
    r"/(log-?in|sign-?in|sso|saml2?|oauth2?/(v2\.0/)?authorize|authorize)(/|$)", re.IGNORECASE
)
_PAGE_SCAN_BYTES = 64 * 1024


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def _host(url: httpx.URL) -> str:
    return url.raw_host.decode("ascii").lower()


def _same_origin(url: httpx.URL, ctx: ProbeContext) -> bool:
    target = ctx.target
    return (url.scheme, _host(url), _port(url)) == (target.scheme, target.host, target.port)


def _key(url: httpx.URL) -> str:
    return str(url.copy_with(fragment=None))


def _shown(url: httpx.URL) -> str:
    return redact(str(url))


def _brief(shown: str) -> str:
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
    host = _host(url)
    if host != ctx.target.host:
        for suffix, name in _SIGN_IN_HOSTS:
            if host == suffix or host.endswith("." + suffix):
                return name
    path = url.path
    return next((name for pattern, name in _SIGN_IN_PATHS if pattern.search(path)), None)


@dataclass(frozen=True)
class SignIn:
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


@dataclass(frozen=True)
class Hop:
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
            location = _shown(self.location)
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


@dataclass(frozen=True)
class Walk:
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
        steps = [f"{_brief(hop.result.url)} ({hop.outcome})" for hop in self.hops]
        if self.pointed_to is not None:
            steps.append(f"{_brief(_shown(self.pointed_to))} (not followed)")
        elif self.end == "bad_location":
            steps.append(f"Location {redact(self.last.raw_location or '')!r} (not a usable URL)")
        return " -> ".join(steps)

    def fact(self) -> dict[str, Any]:
        fact: dict[str, Any] = {
            "start": self.start,
            "end": self.end,
            "final_url": _shown(self.final_url),
            "hops": [hop.fact() for hop in self.hops],
        }
        if self.sign_in is not None:
            fact["sign_in"] = self.sign_in.service or "unknown"
        return fact


async def _walk(
    client: HttpClient, ctx: ProbeContext, name: WalkName, start: str, *, with_token: bool
) -> Walk:
    """Follow `start` hop by hop; the token only while the chain stays on https://target."""
    url = httpx.URL(start)
    hops: list[Hop] = []
    seen = {_key(url)}
    trusted = with_token
    while True:
        trusted = trusted and url.scheme == "https" and _same_origin(url, ctx)
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


def _base_of(url: httpx.URL, walk: Walk) -> str:
    """The base URL to configure, read off where a walk ended."""
    path = url.path.rstrip("/")
    if walk.name == "users" and path.lower().endswith("/users"):
        path = path[: -len("/users")].rstrip("/")
    return _shown(url.copy_with(path=path or "/", query=None, fragment=None)).rstrip("/")


def _is_trailing_slash(hop: Hop) -> bool:
    location = hop.location
    return (
        location is not None
        and (location.scheme, _host(location), _port(location))
        == (hop.url.scheme, _host(hop.url), _port(hop.url))
        and location.path == hop.url.path + "/"
        and location.query == hop.url.query
    )


def _downgrade_hop(walk: Walk) -> Hop | None:
    return next(
        (
            hop
            for hop in walk.hops
            if hop.url.scheme == "https" and hop.location is not None
            if hop.location.scheme == "http"
        ),
        None,
    )


def _ending(walk: Walk) -> str:
    """How a walk ended, for messages: 'ends at URL (401)'."""
    if walk.end in ("loop", "too_many_hops"):
        return "loops" if walk.end == "loop" else f"redirects more than {MAX_REQUESTS} times"
    if walk.sign_in is not None:
        return f"ends at {walk.sign_in.describe()}"
    return f"ends at {_brief(walk.last.result.url)} ({walk.last.outcome})"


def _https_findings(walk: Walk, ctx: ProbeContext, configure_url: str | None) -> list[Finding]:
    """What is wrong with one walk that starts at the https base URL (`configure_url`: what
    both walks together say the base URL should be)."""
    found: list[Finding] = []
    request = f"GET {walk.start}"
    down = _downgrade_hop(walk)
    if down is not None and down.location is not None:
        found.append(
            findings.make(
                "redirect.downgrade",
                f"{_brief(down.result.url)} answered {down.result.status} with Location "
                f"{_brief(_shown(down.location))}, leaving TLS; chain: {walk.chain()}",
            )
        )
    if walk.end in ("loop", "too_many_hops"):
        why = (
            f"{_brief(_shown(walk.final_url))} was already visited"
            if walk.end == "loop"
            else f"still redirecting after {MAX_REQUESTS} requests"
        )
        found.append(findings.make("redirect.loop", f"{request} loops ({why}): {walk.chain()}"))
        return found
    if walk.sign_in is not None:
        found.append(
            findings.make(
                "redirect.to_login_page",
                f"{request} is sent to {walk.sign_in.describe()} instead of the API: "
                f"{walk.chain()}",
            )
        )
        return found
    if not walk.redirected or walk.end == "bad_location":
        return found
    final = walk.final_url
    if not _same_origin(final, ctx):
        if final.scheme == "https" or not ctx.target.is_https:
            configure = configure_url or _base_of(final, walk)
            what = "host" if _host(final) != ctx.target.host else "port"
            found.append(
                findings.make(
                    "redirect.cross_host",
                    f"{request} is redirected to another {what} and {_ending(walk)}; clients "
                    f"drop the Authorization header at that hop. Chain: {walk.chain()}",
                    remediation=f"Configure {configure} as the base URL in the identity "
                    f"provider instead of {ctx.target.base_url}.",
                )
            )
    elif down is None:
        first = walk.hops[0]
        if len(walk.hops) == 2 and _is_trailing_slash(first):
            found.append(
                findings.make(
                    "redirect.trailing_slash",
                    f"{request} answers {first.result.status} with a redirect to the same path "
                    f"with a trailing slash, and {_ending(walk)}",
                )
            )
        elif _base_of(final, walk) != ctx.target.base_url:
            configure = configure_url or _base_of(final, walk)
            found.append(
                findings.make(
                    "redirect.path_moved",
                    f"{request} is redirected on the same host and {_ending(walk)}; "
                    f"chain: {walk.chain()}",
                    remediation=f"Configure {configure} as the base URL in the identity "
                    f"provider instead of {ctx.target.base_url}.",
                )
            )
    if walk.name == "users" and not any(f.severity is Severity.FAIL for f in found):
        found.extend(_method_changing(walk, "a POST creating a user"))
    return found


def _method_changing(walk: Walk, what: str) -> list[Finding]:
    hops = [h for h in walk.hops if h.result.status in METHOD_CHANGING and h.location is not None]
    if not hops:
        return []
    shown = "; ".join(
        f"{_brief(hop.result.url)} answers {hop.result.status} -> {_brief(_shown(hop.location))}"
        for hop in hops
        if hop.location is not None
    )
    return [
        findings.make(
            "redirect.method_changing_status",
            f"{shown}: after a {'/'.join(str(h.result.status) for h in hops)} {what} is repeated "
            "as a GET without its body by clients that follow it (307/308 keep both)",
        )
    ]


@dataclass(frozen=True)
class PlainVerdict:
    """What the plain-HTTP walk showed."""

    result: str
    """closed, no_answer, answers_in_clear, redirects_to_https, redirects_within_http."""
    note: str
    findings: tuple[Finding, ...] = ()


def _plain_verdict(walk: Walk, ctx: ProbeContext, port: int) -> PlainVerdict:
    first = walk.hops[0]
    error = first.result.error
    if error is not None:
        if error.kind is ErrorKind.CONNECT and "refused" in error.message:
            return PlainVerdict("closed", f"port {port} closed: nothing answers plain HTTP")
        return PlainVerdict(
            "no_answer",
            f"plain HTTP on port {port} gave no answer ({error.message}); a client configured "
            "with http:// could not connect either",
        )
    upgrade = next(
        (h for h in walk.hops if h.location is not None and h.location.scheme == "https"), None
    )
    if upgrade is None or upgrade.location is None:
        if walk.end != "answered":
            return PlainVerdict(
                "redirects_within_http",
                f"plain HTTP on port {port} redirects but never to https: {walk.chain()}",
            )
        last = walk.last.result
        after = f" after {len(walk.hops) - 1} redirect(s)" if walk.redirected else ""
        kind = last.content_type or "no Content-Type"
        finding = findings.make(
            "redirect.http_not_redirected",
            f"GET {walk.start} (sent without credentials) answered {last.status} {last.reason} "
            f"({kind}, {len(last.body)} bytes){after} in clear text instead of redirecting to "
            "https: an identity provider configured with http:// would send its token in "
            "clear text and get answers",
        )
        return PlainVerdict(
            "answers_in_clear",
            f"plain HTTP on port {port} answers {last.status} in clear text",
            (finding,),
        )
    before = walk.hops[: walk.hops.index(upgrade) + 1]
    found = _method_changing(
        Walk(walk.name, tuple(before), walk.end), "a POST or PATCH sent to the http:// URL"
    )
    destination = upgrade.location
    expected = _same_origin(destination, ctx) and destination.path.rstrip("/") == ctx.target.path
    if not expected:
        other = "another host" if _host(destination) != ctx.target.host else "another URL"
        found.append(
            findings.make(
                "redirect.http_redirects_elsewhere",
                f"GET {walk.start} is redirected ({upgrade.result.status}) to {other}, "
                f"{_brief(_shown(destination))}, not to {ctx.target.base_url}; "
                f"chain: {walk.chain()}",
            )
        )
    return PlainVerdict(
        "redirects_to_https",
        f"plain HTTP on port {port} redirects to https with {upgrade.result.status}",
        tuple(found),
    )


def _merge(found: list[tuple[Walk | None, Finding]]) -> list[Finding]:
    """One finding per code: a problem both https walks show names the second by its chain."""
    merged: dict[str, Finding] = {}
    for walk, finding in found:
        seen = merged.get(finding.code)
        if seen is None:
            merged[finding.code] = finding
        elif finding.message not in seen.message:
            also = f"GET {walk.start} likewise: {walk.chain()}" if walk else finding.message
            merged[finding.code] = findings.make(
                finding.code, f"{seen.message}; {also}", remediation=seen.remediation
            )
    return list(merged.values())


def _configure_url(walks: list[Walk], ctx: ProbeContext) -> str | None:
    """The base URL the admin should configure, when the walks tell (None: they do not)."""

    def usable(walk: Walk) -> bool:
        return (
            walk.end == "answered"
            and walk.sign_in is None
            and all(hop.url.scheme == ctx.target.scheme for hop in walk.hops)
        )

    by_name = {walk.name: walk for walk in walks}
    users, base = by_name.get("users"), by_name.get("base")
    if users is not None and usable(users):
        if not users.redirected:
            return ctx.target.base_url
        if users.final_url.path.rstrip("/").lower().endswith("/users"):
            return _base_of(users.final_url, users)
    if base is not None and usable(base):
        return _base_of(base.final_url, base) if base.redirected else ctx.target.base_url
    return None


def _plain_url(ctx: ProbeContext, port: int) -> str:
    target = ctx.target
    host = f"[{target.host}]" if ":" in target.host else target.host
    netloc = host if port == 80 else f"{host}:{port}"
    return f"http://{netloc}{target.path}"


def _summary(base: Walk, users: Walk, plain_note: str) -> str:
    redirected = [walk for walk in (base, users) if walk.redirected]
    if not redirected:
        head = (
            f"no redirects ({base.start} answers {base.last.outcome}, "
            f"/Users answers {users.last.outcome})"
        )
    else:
        head = "; ".join(
            f"{'base URL' if walk.name == 'base' else '/Users'} {_ending(walk)}"
            for walk in redirected
        )
    return f"{head}; {plain_note}"


async def run(ctx: ProbeContext) -> Outcome:
    target = ctx.target
    client = HttpClient.for_context(ctx)
    with_token = ctx.token is not None
    port = ctx.options.http_port
    probe_plain = target.is_https and port != target.port

    async def plain() -> Walk | None:
        if not probe_plain:
            return None
        return await _walk(client, ctx, "plain_http", _plain_url(ctx, port), with_token=False)

    plain_walk, base, users = await asyncio.gather(
        plain(),
        _walk(client, ctx, "base", target.url(), with_token=with_token),
        _walk(client, ctx, "users", target.url("/Users?count=1"), with_token=with_token),
    )
    outcome = Outcome()
    walks = [w for w in (plain_walk, base, users) if w is not None]
    for walk in walks:
        outcome.exchanges.extend(hop.result.exchange for hop in walk.hops)
        outcome.timings_ms[walk.name] = round(
            sum(hop.result.timings_ms.get("total", 0.0) for hop in walk.hops), 1
        )

    found: list[tuple[Walk | None, Finding]] = []
    if plain_walk is not None:
        verdict = _plain_verdict(plain_walk, ctx, port)
        found.extend((None, finding) for finding in verdict.findings)
        outcome.facts["plain_http"] = {
            "url": plain_walk.start,
            "port": port,
            "result": verdict.result,
            "note": verdict.note,
            "hops": [hop.fact() for hop in plain_walk.hops],
        }
        plain_note = verdict.note
    else:
        why = (
            "the base URL is not https"
            if not target.is_https
            else f"--http-port {port} is the base URL's own port"
        )
        outcome.facts["plain_http"] = {"result": "not_probed", "note": f"not probed: {why}"}
        plain_note = f"plain HTTP not probed ({why})"

    configure = _configure_url([base, users], ctx)
    for walk in (base, users):
        found.extend((walk, finding) for finding in _https_findings(walk, ctx, configure))
        # Failures of other hosts along the chain are the redirect's consequence, shown in it.
        for hop in walk.hops:
            if _same_origin(hop.url, ctx):
                found.extend((None, finding) for finding in common_findings(hop.result))
    outcome.findings.extend(_merge(found))

    outcome.facts["walks"] = [base.fact(), users.fact()]
    outcome.facts["configure_url"] = configure
    ctx.shared.extra["redirect"] = {"configure_url": configure}

    outcome.summary = _summary(base, users, plain_note)
    return outcome
