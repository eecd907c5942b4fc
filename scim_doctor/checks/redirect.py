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

This module judges the walks; `redirect_walk` walks them and recognises sign-in pages.
"""

from __future__ import annotations

import asyncio

import httpx
from msgspec import Struct

from scim_doctor.checks.base import Outcome
from scim_doctor.checks.redirect_walk import (
    MAX_REQUESTS,
    Hop,
    Walk,
    brief_url,
    follow,
    same_origin,
    shown_url,
    url_host,
    url_port,
)
from scim_doctor.core import findings
from scim_doctor.core.model import Finding, Severity
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.http import ErrorKind, HttpClient, common_findings

METHOD_CHANGING = frozenset({301, 302, 303})
"""Statuses after which clients may (301/302) or must (303) repeat a POST as a GET."""


def _base_of(url: httpx.URL, walk: Walk) -> str:
    """The base URL to configure, read off where a walk ended."""
    path = url.path.rstrip("/")
    if walk.name == "users" and path.lower().endswith("/users"):
        path = path[: -len("/users")].rstrip("/")
    return shown_url(url.copy_with(path=path or "/", query=None, fragment=None)).rstrip("/")


def _is_trailing_slash(hop: Hop) -> bool:
    location = hop.location
    return (
        location is not None
        and (location.scheme, url_host(location), url_port(location))
        == (hop.url.scheme, url_host(hop.url), url_port(hop.url))
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
    return f"ends at {brief_url(walk.last.result.url)} ({walk.last.outcome})"


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
                f"{brief_url(down.result.url)} answered {down.result.status} with Location "
                f"{brief_url(shown_url(down.location))}, leaving TLS; chain: {walk.chain()}",
            )
        )
    if walk.end in ("loop", "too_many_hops"):
        why = (
            f"{brief_url(shown_url(walk.final_url))} was already visited"
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
    if not same_origin(final, ctx):
        if final.scheme == "https" or not ctx.target.is_https:
            configure = configure_url or _base_of(final, walk)
            what = "host" if url_host(final) != ctx.target.host else "port"
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


def _method_changing(
    walk: Walk, what: str, code: str = "redirect.method_changing_status"
) -> list[Finding]:
    hops = [h for h in walk.hops if h.result.status in METHOD_CHANGING and h.location is not None]
    if not hops:
        return []
    shown = "; ".join(
        f"{brief_url(hop.result.url)} answers {hop.result.status} -> "
        f"{brief_url(shown_url(hop.location))}"
        for hop in hops
        if hop.location is not None
    )
    return [
        findings.make(
            code,
            f"{shown}: after a {'/'.join(str(h.result.status) for h in hops)} {what} is repeated "
            "as a GET without its body by clients that follow it (307/308 keep both)",
        )
    ]


class PlainVerdict(Struct, frozen=True):
    """What the plain-HTTP walk showed."""

    result: str
    """closed, no_answer, answers_in_clear, redirects_to_https, redirects_within_http,
    proxy_answered."""
    note: str
    findings: tuple[Finding, ...] = ()


def _proxy_answered(walk: Walk) -> str | None:
    """How the proxy, not the server, answered the plain-HTTP request (a 407, or a proxy's own
    error page), else None: an answer of the proxy says nothing of the server's port 80."""
    result = walk.hops[0].result
    if result.proxy is None or result.status is None:
        return None
    headers = result.headers
    if result.status == 407 or "proxy-authenticate" in headers:
        schemes = ", ".join(headers.get_list("proxy-authenticate")) or "no scheme named"
        return f"{result.status} {result.reason} (the proxy wants {schemes})"
    if "x-squid-error" in headers:
        return f"{result.status} {result.reason} (X-Squid-Error {headers['x-squid-error']})"
    if result.status == 403 or result.status >= 500:
        # A proxy's refusal (its policy, an unreachable host) and the server's look alike from
        # here; a 401, 404 or 2xx is the server's: proxies answer for themselves with 407.
        return f"{result.status} {result.reason}, which the proxy may have made itself"
    return None


def _https_upgrade(walk: Walk) -> Hop | None:
    """The first hop of a plain-HTTP walk that sends the client to https."""
    return next(
        (h for h in walk.hops if h.location is not None and h.location.scheme == "https"), None
    )


def _plain_verdict(walk: Walk, ctx: ProbeContext, port: int) -> PlainVerdict:
    first = walk.hops[0]
    by_proxy = _proxy_answered(walk)
    if by_proxy is not None:
        return PlainVerdict(
            "proxy_answered",
            f"plain HTTP on port {port} not judged: through the proxy {first.result.proxy} "
            f"it got {by_proxy}",
        )
    error = first.result.error
    if error is not None:
        if error.kind is ErrorKind.CONNECT and "refused" in error.message:
            return PlainVerdict("closed", f"port {port} closed: nothing answers plain HTTP")
        return PlainVerdict(
            "no_answer",
            f"plain HTTP on port {port} gave no answer ({error.message}); a client configured "
            "with http:// could not connect either",
        )
    upgrade = _https_upgrade(walk)
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
        Walk(walk.name, tuple(before), walk.end),
        "a POST or PATCH sent to the http:// URL",
        code="redirect.http_port_changes_method",
    )
    destination = upgrade.location
    expected = same_origin(destination, ctx) and destination.path.rstrip("/") == ctx.target.path
    if not expected:
        other = "another host" if url_host(destination) != ctx.target.host else "another URL"
        found.append(
            findings.make(
                "redirect.http_redirects_elsewhere",
                f"GET {walk.start} is redirected ({upgrade.result.status}) to {other}, "
                f"{brief_url(shown_url(destination))}, not to {ctx.target.base_url}; "
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


def first_connections(ctx: ProbeContext) -> list[tuple[str, int]]:
    """The base URL and /Users walks start on the base URL's origin, the plain-HTTP one on
    --http-port, and its upgrade hop comes back to the base URL's origin just as the other
    checks' first answers arrive (the registry has them opened ahead)."""
    port = ctx.options.http_port
    if not ctx.target.is_https or port == ctx.target.port:
        return [(ctx.target.url(), 2)]
    return [(ctx.target.url(), 3), (_plain_url(ctx, port), 1)]


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


def _walk_findings(
    walk: Walk, ctx: ProbeContext, configure: str | None
) -> list[tuple[Walk | None, Finding]]:
    found: list[tuple[Walk | None, Finding]] = [
        (walk, finding) for finding in _https_findings(walk, ctx, configure)
    ]
    # Failures of other hosts along the chain are the redirect's consequence, shown in it.
    for hop in walk.hops:
        if same_origin(hop.url, ctx):
            found.extend((None, finding) for finding in common_findings(hop.result))
    return found


def _base_url_findings(
    base: Walk, ctx: ProbeContext, configure: str | None, of_users: set[str]
) -> list[tuple[Walk | None, Finding]]:
    """What the bare base URL's answer shows, judged for the one provider that requests it.

    No identity provider but OneLogin (whose "Enable" connects to the base URL) ever sends
    `GET <base URL>`: a problem that /Users shares is reported as /Users' own; one of the base
    URL alone (a trailing-slash rewrite, a 404 or 501 for the service root) is one warning
    naming OneLogin, and the walk stays in the facts.
    """
    shared: list[tuple[Walk | None, Finding]] = []
    alone: list[tuple[Walk | None, Finding]] = []
    for walk, finding in _walk_findings(base, ctx, configure):
        (shared if finding.code in of_users else alone).append((walk, finding))
    if alone and _no_root_resource(base, ctx):
        last = base.last.result
        rewrite = " after a trailing-slash redirect" if base.redirected else ""
        shared.append(
            (
                None,
                findings.make(
                    "redirect.base_url_no_root",
                    f"GET {base.start} answered {last.status}{rewrite}: no fault, RFC 7644 "
                    "defines no resource at the service root and identity providers call /Users "
                    "and the other endpoints, which are judged on their own",
                ),
            )
        )
    elif alone:
        seen = "; ".join(dict.fromkeys(finding.message for _, finding in alone))
        shared.append(
            (
                None,
                findings.make(
                    "redirect.base_url_answer",
                    f"GET {base.start}, the request OneLogin's Enable makes: {seen}. Only "
                    "OneLogin requests the base URL; every other provider calls /Users and the "
                    "other endpoints, which are judged on their own",
                ),
            )
        )
    return shared


NO_ROOT_STATUSES = frozenset({404, 405, 501})
"""What a server with no service-root resource answers for it (not found, no GET, not
implemented): RFC 7644 defines no resource there, so none of these is a fault."""


def _no_root_resource(base: Walk, ctx: ProbeContext) -> bool:
    """The bare base URL only shows that there is nothing at the service root: at most
    same-origin trailing-slash rewrites (nginx's answer to a `location /x/`), then a 2xx or a
    plain 'no such resource'. A sign-in page, another host, a 5xx or no answer is something else."""
    for hop in base.hops[:-1]:
        if (
            hop.location is None
            or not same_origin(hop.location, ctx)
            or not _is_trailing_slash(hop)
        ):
            return False
    last = base.last.result
    if base.end != "answered" or last.error is not None or last.status is None:
        return False
    return 200 <= last.status < 300 or last.status in NO_ROOT_STATUSES


async def _http_base(ctx: ProbeContext, client: HttpClient) -> Outcome:
    """An http:// base URL (the tls check already says the token would cross in clear text):
    what a provider configured with it meets next. Walked without the token, which never goes
    over plain HTTP: a 301/302 to https turns the provider's POSTs and PATCHes into GETs."""
    target = ctx.target
    users = await follow(client, ctx, "users", target.url("/Users?count=1"), with_token=False)
    outcome = Outcome()
    outcome.exchanges.extend(hop.result.exchange for hop in users.hops)
    outcome.facts["walks"] = [users.fact()]
    outcome.facts["plain_http"] = {
        "result": "not_probed",
        "note": "not probed: the base URL is not https",
    }
    upgrade = _https_upgrade(users)
    if upgrade is None or upgrade.location is None:
        last = users.last.result
        outcome.findings.extend(common_findings(last))
        outcome.facts["configure_url"] = None
        answer = f"answers {last.status}" if last.status is not None else "gives no answer"
        outcome.summary = f"http:// base URL {answer} without redirecting to https"
        return outcome
    before = users.hops[: users.hops.index(upgrade) + 1]
    outcome.findings.extend(
        _method_changing(
            Walk(users.name, tuple(before), users.end),
            "a POST or PATCH the identity provider sends to the http:// base URL",
        )
    )
    destination = upgrade.location
    configure = _base_of(destination, users) if url_host(destination) == target.host else None
    outcome.facts["configure_url"] = configure
    ctx.shared.extra["redirect"] = {"configure_url": configure}
    where = f"; configure {configure} instead" if configure else ""
    outcome.summary = f"http:// base URL redirects to https with {upgrade.result.status}{where}"
    return outcome


async def run(ctx: ProbeContext) -> Outcome:
    target = ctx.target
    client = HttpClient.for_context(ctx)
    if not target.is_https:
        return await _http_base(ctx, client)
    with_token = ctx.token is not None
    port = ctx.options.http_port
    probe_plain = target.is_https and port != target.port

    async def plain() -> Walk | None:
        if not probe_plain:
            return None
        return await follow(client, ctx, "plain_http", _plain_url(ctx, port), with_token=False)

    plain_walk, base, users = await asyncio.gather(
        plain(),
        follow(client, ctx, "base", target.url(), with_token=with_token),
        follow(client, ctx, "users", target.url("/Users?count=1"), with_token=with_token),
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
    of_users = _walk_findings(users, ctx, configure)
    found.extend(_base_url_findings(base, ctx, configure, {f.code for _, f in of_users}))
    found.extend(of_users)
    outcome.findings.extend(_merge(found))

    outcome.facts["walks"] = [base.fact(), users.fact()]
    outcome.facts["configure_url"] = configure
    ctx.shared.extra["redirect"] = {"configure_url": configure}

    outcome.summary = _summary(base, users, plain_note)
    return outcome
