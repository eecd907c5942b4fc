"""The `proxy` check: which way this machine's connections to the target leave, and whether the
proxy on that way lets them through.

It runs first, before `dns` and `connect`: through a proxy, this machine neither resolves nor
connects to the target itself, and a proxy that wants credentials, refuses the host or cannot be
reached explains every later failure. So it names the route (`--proxy`, a PAC file, the
environment, or direct) and the NO_PROXY / --noproxy entry that sends a host direct, then opens
what the client will open: a TCP connection to the proxy and, for an https target, a CONNECT
tunnel to the target's host and port. The proxy's answer is judged by status: 407 (the schemes
it asks for), 403 and other refusals (the proxy's page title), 5xx (the proxy could not reach
the host), no answer. Every failure here is on this machine's own path (`Scope.THIS_MACHINE`):
the identity provider does not use this proxy, so the providers are not judged from here.

A NO_PROXY entry that sends the host direct is tested both ways: when the direct connection
fails and the proxy's tunnel opens, the entry is the cause.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from scim_doctor.checks.base import Outcome
from scim_doctor.checks.resolution import ResolveError, errno_text, lookup, ms_since, seconds_text
from scim_doctor.checks.tls_handshake import ConnectFailed, connect, drop
from scim_doctor.core import findings
from scim_doctor.core.model import Finding
from scim_doctor.core.timeouts import within
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.failures import ProxyConfigError
from scim_doctor.net.proxy import ProxyServer, Route

if TYPE_CHECKING:
    from scim_doctor.net.tunnel import ProxyAnswer


class Passage(Struct):
    """What trying one proxy showed: a tunnel (or a forward connection), or the finding why not."""

    facts: dict[str, Any]
    finding: Finding | None = None
    answer: ProxyAnswer | None = None
    ms: float = 0.0


def _setting(route: Route) -> str:
    return f"the proxy {route.proxy.shown if route.proxy else '?'} (from {route.source})"


async def run(ctx: ProbeContext) -> Outcome:
    outcome = Outcome()
    target = ctx.target
    try:
        route = ctx.proxies.route(target.base_url)
    except ProxyConfigError as exc:
        message = f"the proxy setting cannot be used: {exc}"
        outcome.add(findings.make("proxy.setting_invalid", message))
        outcome.summary = message
        return outcome
    outcome.facts["route"] = route.fact()
    if route.proxy is None and route.bypassed is None:
        outcome.summary = f"direct: {route.bypass or route.source}"
        outcome.facts["via_proxy"] = None
        return outcome
    if route.proxy is None:
        return await _bypassed(ctx, route, outcome)
    passage = await _through(ctx, route.proxy, route.source, ctx.step_timeout())
    outcome.facts.update(passage.facts, via_proxy=route.proxy.shown, proxy_source=route.source)
    outcome.timings_ms["proxy"] = passage.ms
    if passage.finding is not None:
        outcome.add(passage.finding)
        outcome.summary = passage.finding.message
        return outcome
    ctx.shared.extra["proxy"] = {"via_proxy": route.proxy.shown, "source": route.source}
    what = (
        f"tunnel to {target.netloc} opened"
        if target.is_https
        else "forward proxy reachable (plain-HTTP requests go through it)"
    )
    software = f" ({passage.answer.software})" if passage.answer and passage.answer.software else ""
    outcome.summary = f"{_setting(route)}: {what} in {passage.ms:.0f} ms{software}"
    return outcome


async def _through(ctx: ProbeContext, proxy: ProxyServer, source: str, budget: float) -> Passage:
    """Resolve the proxy, connect to it and, for an https target, open the tunnel."""
    started = time.monotonic()
    end = started + budget
    name = f"the proxy {proxy.shown} (from {source})"
    facts: dict[str, Any] = {"proxy_host": proxy.host, "proxy_port": proxy.port}
    try:
        found = await lookup(ctx, proxy.host, proxy.port, max(0.001, end - time.monotonic()))
    except ResolveError as exc:
        facts["proxy_dns_error"] = exc.detail
        message = f"{name}: its host name does not resolve here ({exc.detail})"
        return Passage(facts, findings.make("proxy.dns_failed", message), ms=ms_since(started))
    facts["proxy_addresses"] = found.addresses
    attempts: list[dict[str, Any]] = []
    facts["proxy_attempts"] = attempts
    for address in found.addresses:
        left = end - time.monotonic()
        if left <= 0:
            break
        try:
            sock = await within(connect(address, proxy.port), left)
        except asyncio.TimeoutError:
            attempts.append({"address": address, "result": "timeout"})
            continue
        except ConnectFailed as exc:
            attempts.append({"address": address, "result": "failed", "error": errno_text(exc)})
            continue
        attempts.append({"address": address, "result": "connected"})
        try:
            return await _tunnel(ctx, sock, proxy, name, facts, (started, end))
        finally:
            drop(sock)
    return Passage(facts, _unreached(name, attempts, budget), ms=ms_since(started))


def _unreached(name: str, attempts: list[dict[str, Any]], budget: float) -> Finding:
    failed = [a for a in attempts if a["result"] == "failed"]
    if failed:
        listed = ", ".join(f"{a['address']} ({a['error']})" for a in failed)
        return findings.make("proxy.unreachable", f"{name} cannot be reached: {listed}")
    return findings.make(
        "proxy.timeout",
        f"{name} did not accept a TCP connection within {seconds_text(budget)}",
    )


async def _tunnel(
    ctx: ProbeContext,
    sock: Any,
    proxy: ProxyServer,
    name: str,
    facts: dict[str, Any],
    span: tuple[float, float],
) -> Passage:
    """CONNECT to the target on a socket connected to the proxy (`span`: the step's start and
    end on the monotonic clock)."""
    target = ctx.target
    started, end = span
    if not target.is_https or proxy.scheme != "http":
        # plain-HTTP requests are forwarded, not tunnelled; a SOCKS or TLS (https://) proxy
        # speaks no plain CONNECT: only reaching it is tested here
        facts["tunnel_tested"] = False
        return Passage(facts, ms=ms_since(started))
    from scim_doctor.net.tunnel import TunnelBroken, request_tunnel  # an http:// proxy only

    authority = f"{_bracketed(target.host)}:{target.port}"
    auth = proxy.authorization()
    facts["connect_request"] = f"CONNECT {authority}"
    facts["credentials_sent"] = auth is not None
    try:
        answer = await within(
            request_tunnel(sock, authority, auth), max(0.001, end - time.monotonic())
        )
    except asyncio.TimeoutError:
        message = (
            f"{name} accepted the connection but did not answer CONNECT {authority} within "
            f"{seconds_text(end - started)}: the proxy is stuck, or still trying to reach the host"
        )
        return Passage(facts, findings.make("proxy.timeout", message), ms=ms_since(started))
    except (TunnelBroken, OSError) as exc:
        why = str(exc) if isinstance(exc, TunnelBroken) else errno_text(exc)
        message = f"{name} does not work as an HTTP proxy: to CONNECT {authority}, {why}"
        return Passage(facts, findings.make("proxy.not_a_proxy", message), ms=ms_since(started))
    facts["answer"] = answer.fact()
    ms = ms_since(started)
    if answer.opened:
        return Passage(facts, answer=answer, ms=ms)
    return Passage(facts, _refusal(name, authority, answer, auth is not None), answer, ms)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _said(answer: ProxyAnswer) -> str:
    parts = [f"{answer.status} {answer.reason}".strip()]
    if answer.title:
        parts.append(f"page title {answer.title!r}")
    error_id = answer.header("x-squid-error")
    if error_id:
        parts.append(f"X-Squid-Error {error_id}")
    if answer.software:
        parts.append(f"from {answer.software}")
    return ", ".join(parts)


def _refusal(name: str, authority: str, answer: ProxyAnswer, sent: bool) -> Finding:
    said = _said(answer)
    if answer.status == 407:
        schemes = answer.auth_schemes
        asked = "/".join(schemes) or "no scheme named (no Proxy-Authenticate header)"
        if sent:
            message = (
                f"{name} refused the credentials in the proxy URL and asks again for "
                f"authentication ({asked}) to CONNECT {authority}: {said}"
            )
        else:
            message = (
                f"{name} requires authentication ({asked}) to CONNECT {authority}, and the "
                f"proxy URL carries no credentials: {said}"
            )
        return findings.make("proxy.auth_required", message, remediation=_auth_fix(schemes, sent))
    if 500 <= answer.status < 600:
        message = f"{name} could not reach {authority}: it answered CONNECT with {said}"
        return findings.make("proxy.upstream_failed", message)
    message = f"{name} refuses CONNECT {authority}: {said}"
    return findings.make("proxy.connect_refused", message)


SAFE_CREDENTIALS = (
    "Put the credentials in the proxy URL of the environment rather than on the command line "
    "(other users see command lines): HTTPS_PROXY set to the proxy URL with USER:PASSWORD@ "
    "before the host (USER:PASSWORD@PROXY:PORT after http://), with @ : / % in the password "
    "percent-encoded; scim-doctor sends them to the proxy only, as Basic, and never prints them."
)


def _auth_fix(schemes: list[str], sent: bool) -> str:
    basic = any(s.lower() == "basic" for s in schemes) or not schemes
    if sent and basic:
        return (
            "Check the user name and password in the proxy URL (special characters "
            "percent-encoded) and that this account may use the proxy. " + SAFE_CREDENTIALS
        )
    if basic:
        return SAFE_CREDENTIALS
    listed = "/".join(schemes)
    return (
        f"The proxy asks for {listed} only, which scim-doctor (like most Python tools) cannot "
        "speak. Run a local forwarder that authenticates to it for you (Px or Cntlm, with your "
        "Windows sign-in) and point --proxy at it (http://127.0.0.1:3128), or ask the network "
        "team for a proxy port that accepts Basic, or for this host to be allowed without "
        "authentication."
    )


async def _bypassed(ctx: ProbeContext, route: Route, outcome: Outcome) -> Outcome:
    """A NO_PROXY / --noproxy entry (or a PAC DIRECT) sends the host direct: does direct work,
    and would the proxy have got through?"""
    assert route.bypassed is not None  # noqa: S101 - only called for a bypassed route
    target = ctx.target
    budget = ctx.step_timeout()
    direct, passage = await asyncio.gather(
        _direct(ctx, budget), _through(ctx, route.bypassed, route.source, budget)
    )
    outcome.facts.update(via_proxy=None, direct=direct or "connected", bypassed_proxy=passage.facts)
    would = f"the proxy {route.bypassed.shown} (from {route.source})"
    if direct is None:
        outcome.summary = f"direct: {route.bypass} bypasses {would} for {target.host}"
        return outcome
    if passage.finding is not None:
        outcome.summary = (
            f"direct: {route.bypass} bypasses {would} for {target.host}; the direct connection "
            f"fails ({direct}) and the proxy does not get through either"
        )
        return outcome
    message = (
        f"{route.bypass} sends {target.host} direct, bypassing {would}; the direct connection "
        f"fails ({direct}) while the proxy's tunnel to {target.netloc} opens"
    )
    outcome.add(findings.make("proxy.bypassed", message))
    outcome.summary = message
    return outcome


async def _direct(ctx: ProbeContext, budget: float) -> str | None:
    """None when a direct TCP connection to the target opens, else why not."""
    target = ctx.target
    end = time.monotonic() + budget
    try:
        found = await lookup(ctx, target.host, target.port, budget)
    except ResolveError as exc:
        return exc.message
    why = "no address"
    for address in found.addresses:
        try:
            sock = await within(connect(address, target.port), max(0.001, end - time.monotonic()))
        except asyncio.TimeoutError:
            why = f"{address}: no answer within {seconds_text(budget)}"
            continue
        except ConnectFailed as exc:
            why = f"{address}: {errno_text(exc)}"
            continue
        drop(sock)
        return None
    return why
