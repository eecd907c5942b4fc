"""The `dns` and `connect` checks: can this machine find the host and open a TCP connection?

Both resolve the way the client will (the system resolver, so /etc/hosts and the VPN's DNS
count), honour `--resolve` pins like curl, and stay inside one `--timeout` each. How a name is
resolved, and why getaddrinfo runs in a thread of its own, is in `resolution`; this module holds
the two checks, the proxy the client would use, and the connection attempts.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import time
from typing import Any

from msgspec import Struct

from scim_doctor.checks.base import Outcome
from scim_doctor.checks.resolution import ResolveError as ResolveError
from scim_doctor.checks.resolution import errno_text, family, lookup, ms_since, seconds_text
from scim_doctor.checks.resolution import non_public_kind as non_public_kind
from scim_doctor.checks.resolution import resolve as resolve
from scim_doctor.checks.tls_handshake import connect as open_tcp
from scim_doctor.core import findings
from scim_doctor.core.secrets import redact
from scim_doctor.core.timeouts import within
from scim_doctor.net import head_start
from scim_doctor.net.context import OpenSocket, ProbeContext
from scim_doctor.net.failures import ProxyConfigError

RESOLVER = "system (getaddrinfo)"

MIN_ATTEMPT_S = 1.0
"""Shortest time one address gets when the connect budget is split across many."""

_UNREACHABLE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH})


# --- dns -----------------------------------------------------------------------------------------


def _proxied(ctx: ProbeContext) -> str | None:
    """'the proxy URL (from SOURCE)' when the base URL's requests go through a proxy."""
    try:
        route = ctx.proxies.route(ctx.target.base_url)
    except ProxyConfigError:
        return None
    return None if route.proxy is None else f"the proxy {route.proxy.shown} (from {route.source})"


_RESOLVER_FACT = {
    "pin": "none: pinned with --resolve",
    "literal": "none: the host is an IP address",
    "resolver": RESOLVER,
}


async def run_dns(ctx: ProbeContext) -> Outcome:
    """Resolve the target's host as the client will and flag addresses the IdP cannot reach."""
    started = time.monotonic()
    outcome = Outcome()
    host, port = ctx.target.host, ctx.target.port
    facts: dict[str, Any] = {"host": host, "port": port, "addresses": [], "pinned": False}
    outcome.facts = facts
    try:
        found = await lookup(ctx, host, port, ctx.step_timeout())
    except ResolveError as exc:
        ms = ms_since(started)
        facts.update(
            resolver=RESOLVER, error=exc.detail, error_code=exc.eai, families=[], time_ms=ms
        )
        outcome.timings_ms["dns"] = ms
        proxied = _proxied(ctx)
        if proxied is not None:
            facts["resolved_by"] = proxied
            outcome.summary = (
                f"not resolved here ({exc.message}); not needed: requests go through {proxied}, "
                "which resolves the name itself"
            )
            return outcome
        outcome.add(findings.make(exc.code, exc.message))
        outcome.summary = exc.message
        return outcome

    addresses = found.addresses
    ctx.shared.addresses = list(addresses)
    split = by_family(addresses)
    facts.update(
        addresses=addresses,
        families=list(dict.fromkeys(family(a) for a in addresses)),
        ipv4=split["IPv4"],
        ipv6=split["IPv6"],
        pinned=found.source == "pin",
        literal=found.source == "literal",
        resolver=_RESOLVER_FACT[found.source],
        time_ms=found.ms,
    )
    outcome.timings_ms["dns"] = found.ms
    if found.source == "pin":
        outcome.summary = (
            f"{host}:{port} pinned to {', '.join(addresses)} with --resolve (no lookup)"
        )
    elif found.source == "literal":
        outcome.summary = f"{host} is an IP address (no lookup)"
    else:
        facts["family_note"] = _family_note(split)
        outcome.summary = f"{host} resolved to {_families_text(split)}"

    not_public = [(a, kind) for a in addresses if (kind := non_public_kind(a)) is not None]
    facts["not_public"] = [{"address": a, "kind": kind} for a, kind in not_public]
    if not_public and found.source == "pin":
        facts["not_public_note"] = "not flagged: pinned with --resolve, so the user chose it"
    elif not_public and ctx.options.reach == "private":
        facts["not_public_note"] = (
            "expected: --reach private (the identity provider connects from a private network)"
        )
    elif not_public:
        listed = ", ".join(f"{a} ({kind})" for a, kind in not_public)
        public = [a for a in addresses if non_public_kind(a) is None]
        if found.source == "literal":
            subject = f"the host is the IP address {listed}"
        else:
            subject = f"{host} resolves to {listed}"
        also = f"; its other addresses are public: {', '.join(public)}" if public else ""
        outcome.add(
            findings.make(
                "dns.private_address",
                f"{subject}{also}: an identity provider on the internet cannot connect there",
            )
        )
    return outcome


_RECORD = {"IPv4": "A", "IPv6": "AAAA"}


def by_family(addresses: list[str]) -> dict[str, list[str]]:
    """The addresses apart by family, each in the resolver's order: A (IPv4), AAAA (IPv6)."""
    split: dict[str, list[str]] = {"IPv4": [], "IPv6": []}
    for address in addresses:
        split[family(address)].append(address)
    return split


def _family_note(split: dict[str, list[str]]) -> str | None:
    """A name with one family says so: a fact, not a finding (no provider requires IPv6, and
    an IPv6-only name is reached by clients with IPv6; the connect check tells whether this
    machine is one)."""
    missing = [name for name, found in split.items() if not found]
    if not missing:
        return None
    (absent,) = missing
    (present,) = (name for name in split if name != absent)
    return f"{present} only: no {_RECORD[absent]} ({absent}) address"


def _families_text(split: dict[str, list[str]]) -> str:
    """`IPv4 (A) 192.0.2.1; IPv6 (AAAA) 2001:db8::1`, or `...; no AAAA (IPv6) address`."""
    parts = [
        f"{name} ({_RECORD[name]}) {', '.join(found)}" for name, found in split.items() if found
    ]
    parts += [f"no {_RECORD[name]} ({name}) address" for name, found in split.items() if not found]
    return "; ".join(parts)


# --- connect -------------------------------------------------------------------------------------


class Proxy(Struct, frozen=True):
    """The proxy the client would go through for the target."""

    url: str
    """Redacted: credentials in the proxy URL never reach the report."""
    host: str
    port: int
    source: str
    """'--proxy' or the environment variable it came from."""


def proxy_for(ctx: ProbeContext) -> Proxy | None:
    """The proxy the HTTP client would use for the base URL (`ProxyRules`: --proxy, a PAC file,
    the environment, less NO_PROXY / --noproxy). Raises ValueError if the setting is unusable."""
    route = ctx.proxies.route(ctx.target.base_url)
    if route.proxy is None:
        return None
    proxy = route.proxy
    return Proxy(proxy.shown, proxy.host, proxy.port, route.source)


class Attempt(Struct, frozen=True):
    """One TCP connection attempt to one address."""

    address: str
    port: int
    result: str
    """connected, refused, timeout, unreachable, failed, or not_tried."""
    ms: float
    error: str | None = None
    sock: socket.socket | None = None
    """The open connection, when the caller asked to keep it (`keep`)."""

    def fact(self) -> dict[str, Any]:
        fact: dict[str, Any] = {
            "address": self.address,
            "port": self.port,
            "result": self.result,
            "ms": self.ms,
        }
        if self.error is not None:
            fact["error"] = self.error
        return fact

    @property
    def where(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


async def _attempt(address: str, port: int, timeout: float, *, keep: bool = False) -> Attempt:
    """One TCP connection; closed at once unless `keep` (then it is the attempt's `sock`).
    The first kept one may have been made at start-up (net.head_start): if it reached this
    address, it is this attempt; if it failed, the attempt is made again here, to name why."""
    started = time.monotonic()
    early = head_start.take_connection(port) if keep else None
    if early is not None:
        try:
            made = await within(asyncio.wrap_future(early), timeout)
        except asyncio.TimeoutError:
            no_answer = f"no answer within {seconds_text(timeout)}"
            return Attempt(address, port, "timeout", ms_since(started), no_answer)
        if made is not None and made.address == address:
            return Attempt(address, port, "connected", made.ms, sock=made.sock)
        if made is not None:
            made.sock.close()
        timeout = max(0.001, timeout - (time.monotonic() - started))
        started = time.monotonic()
    try:
        sock = await within(open_tcp(address, port), timeout)
    except asyncio.TimeoutError:
        no_answer = f"no answer within {seconds_text(timeout)}"
        return Attempt(address, port, "timeout", ms_since(started), no_answer)
    except OSError as exc:
        ms = ms_since(started)
        if exc.errno == errno.ECONNREFUSED:
            result = "refused"
        elif exc.errno in _UNREACHABLE:
            result = "unreachable"
        elif exc.errno == errno.ETIMEDOUT:
            result = "timeout"
        else:
            result = "failed"
        return Attempt(address, port, result, ms, errno_text(exc))
    ms = ms_since(started)
    if not keep:
        sock.close()
    return Attempt(address, port, "connected", ms, sock=sock if keep else None)


_FAILURE_MESSAGES = {
    "refused": ("connect.refused", "connection to {name} refused"),
    "timeout": ("connect.timeout", "no answer to the TCP handshake from {name}"),
    "unreachable": ("connect.unreachable", "no route to {name}"),
    "failed": ("connect.failed", "TCP connection to {name} failed"),
}


class _Destination(Struct, frozen=True):
    """Where the TCP connection goes: the target itself, or the proxy the client would use."""

    host: str
    port: int
    name: str
    """How findings name it: the target's host, or `the proxy <url>`."""
    remediation: str | None
    """For a proxy, where its setting came from and how to change it; None for the target."""


def _destination(ctx: ProbeContext, proxy: Proxy | None, facts: dict[str, Any]) -> _Destination:
    """The connection's destination; a proxy is recorded in the facts and for later checks."""
    if proxy is None:
        return _Destination(ctx.target.host, ctx.target.port, ctx.target.host, None)
    host, port, name = proxy.host, proxy.port, f"the proxy {proxy.url}"
    facts.update(via_proxy=proxy.url, proxy_source=proxy.source)
    ctx.shared.extra["connect"] = {"via_proxy": proxy.url, "host": host, "port": port}
    remediation = (
        f"Check {name} (from {proxy.source}): is it running and reachable from here? Fix "
        "or unset that setting, or choose another proxy with --proxy."
    )
    return _Destination(host, port, name, remediation)


async def _attempt_each(
    addresses: list[str], port: int, budget_end: float, *, keep: bool = False
) -> list[Attempt]:
    """Each address in turn until one connects, as the client will: the step's budget is shared
    out as it goes, and the addresses it leaves no time for are listed as not tried. `keep`:
    the connection made stays open (the attempt's `sock`)."""
    attempts: list[Attempt] = []
    for index, address in enumerate(addresses):
        left = budget_end - time.monotonic()
        if left <= 0:
            attempts.extend(Attempt(a, port, "not_tried", 0.0) for a in addresses[index:])
            break
        # A fair share of what is left, but never so little that a slow handshake cannot finish.
        share = min(left, max(left / (len(addresses) - index), MIN_ATTEMPT_S))
        attempt = await _attempt(address, port, share, keep=keep)
        attempts.append(attempt)
        if attempt.result == "connected":
            break
    return attempts


NODE_CONCURRENCY = 8
"""Addresses behind one name connected to at once (a round-robin name has a handful)."""


async def _attempt_rest(addresses: list[str], port: int, budget_end: float) -> list[Attempt]:
    """The addresses after the one that connected, at once (bounded): each node counts."""
    gate = asyncio.Semaphore(NODE_CONCURRENCY)

    async def one(address: str) -> Attempt:
        async with gate:
            left = budget_end - time.monotonic()
            if left <= 0:
                return Attempt(address, port, "not_tried", 0.0)
            return await _attempt(address, port, left)

    return list(await asyncio.gather(*(one(a) for a in addresses)))


def _report_connected(
    ctx: ProbeContext,
    outcome: Outcome,
    dest: _Destination,
    proxy: Proxy | None,
    connected: Attempt,
    failed: list[Attempt],
    late: bool = False,
) -> None:
    """A connection was made: later checks use its address; addresses that failed (before it,
    or `late`: after it, tried because every node counts) are still a finding, since a client
    that picks one of those fails."""
    ctx.shared.connected_address = connected.address
    outcome.timings_ms["connect"] = connected.ms
    outcome.summary = f"connected to {connected.where} in {connected.ms:.0f} ms"
    if proxy is not None:
        outcome.summary = (
            f"connected to the proxy {proxy.url} (from {proxy.source}) at "
            f"{connected.where} in {connected.ms:.0f} ms"
        )
    if failed:
        listed = ", ".join(f"{a.where} ({a.error})" for a in failed)
        outcome.summary += f", after {len(failed)} failed address(es)"
        message = f"{dest.name} has addresses that fail: {listed}; then {connected.where} connected"
        if late:
            message = (
                f"{dest.name} has addresses that fail: {listed}; {connected.where} connected. "
                "A client picks one address per connection, so a share of the identity "
                "provider's calls fail"
            )
        outcome.add(
            findings.make("connect.some_addresses_failed", message, remediation=dest.remediation)
        )


def _report_unconnected(
    outcome: Outcome,
    dest: _Destination,
    attempts: list[Attempt],
    failed: list[Attempt],
    budget: float,
    time_ms: float,
) -> None:
    """No address connected: one finding per kind of failure, and one for the addresses the
    budget left untried."""
    outcome.timings_ms["connect"] = time_ms
    for result, (code, template) in _FAILURE_MESSAGES.items():
        group = [a for a in failed if a.result == result]
        if group:
            listed = ", ".join(f"{a.where} ({a.error})" for a in group)
            message = f"{template.format(name=dest.name)}: {listed}"
            outcome.add(findings.make(code, message, remediation=dest.remediation))
    untried = [a for a in attempts if a.result == "not_tried"]
    if untried:
        message = (
            f"{len(untried)} address(es) of {dest.name} not tried: the {seconds_text(budget)} "
            f"budget of the connect step ran out ({', '.join(a.where for a in untried)})"
        )
        outcome.add(findings.make("connect.timeout", message, remediation=dest.remediation))
    kinds = ", ".join(dict.fromkeys(a.result for a in attempts))
    outcome.summary = f"could not connect to {dest.name} port {dest.port}: {kinds}"


async def run_connect(ctx: ProbeContext) -> Outcome:
    """Open a TCP connection the way the client will: each address in turn, or the proxy."""
    started = time.monotonic()
    budget = ctx.step_timeout()
    budget_end = started + budget
    outcome = Outcome()
    facts: dict[str, Any] = {"via_proxy": None}
    outcome.facts = facts
    try:
        proxy = proxy_for(ctx)
    except ValueError as exc:
        message = f"the proxy setting cannot be used: {redact(str(exc))}"
        outcome.add(findings.make("connect.failed", message))
        outcome.summary = message
        return outcome

    tunnel = ctx.shared.extra.get("proxy")
    if proxy is not None and tunnel is not None:
        facts.update(via_proxy=proxy.url, proxy_source=proxy.source, connected_address=None)
        outcome.summary = (
            f"through the proxy {proxy.url} (from {proxy.source}), whose tunnel the proxy check "
            f"opened: this machine does not connect to {ctx.target.host} itself"
        )
        return outcome
    dest = _destination(ctx, proxy, facts)
    addresses = list(ctx.shared.addresses) if proxy is None else []
    if not addresses:  # dns did not run (--skip dns), or the connection goes to a proxy
        try:
            found = await lookup(
                ctx, dest.host, dest.port, max(0.001, budget_end - time.monotonic())
            )
        except ResolveError as exc:
            facts.update(attempts=[], connected_address=None, time_ms=ms_since(started))
            message = f"{dest.name}: {exc.message}" if proxy else exc.message
            outcome.add(findings.make(exc.code, message, remediation=dest.remediation))
            outcome.summary = message
            return outcome
        addresses = found.addresses
        if found.source == "resolver":
            outcome.timings_ms["dns"] = found.ms
        if proxy is None:
            ctx.shared.addresses = list(addresses)

    # Direct, the connection stays open for the tls check's handshake (a round trip saved).
    attempts = await _attempt_each(addresses, dest.port, budget_end, keep=proxy is None)
    connected = next((a for a in attempts if a.result == "connected"), None)
    if connected is not None and connected.sock is not None:
        ctx.shared.open_socket = OpenSocket(
            connected.sock, connected.address, dest.port, connected.ms
        )
    if connected is not None and proxy is None and len(attempts) < len(addresses):
        # Every node behind the name: a client may pick any of them.
        attempts += await _attempt_rest(addresses[len(attempts) :], dest.port, budget_end)
    failed = [a for a in attempts if a.result not in ("connected", "not_tried")]
    if proxy is None:
        ctx.shared.extra["nodes"] = [a.address for a in attempts if a.result == "connected"]
    facts.update(
        host=dest.host,
        port=dest.port,
        addresses=addresses,
        attempts=[a.fact() for a in attempts],
        connected_address=connected.address if connected else None,
        time_ms=ms_since(started),
    )
    if connected is not None:
        after = attempts[attempts.index(connected) + 1 :]
        late = any(a.result not in ("connected", "not_tried") for a in after)
        _report_connected(ctx, outcome, dest, proxy, connected, failed, late)
    else:
        _report_unconnected(outcome, dest, attempts, failed, budget, facts["time_ms"])
    return outcome
