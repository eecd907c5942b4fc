"""The `dns` and `connect` checks: can this machine find the host and open a TCP connection?

Both resolve the way the client will (the system resolver, so /etc/hosts and the VPN's DNS
count), honour `--resolve` pins like curl, and stay inside one `--timeout` each. getaddrinfo
runs in a daemon thread, not the loop's default executor: a stuck lookup cannot be cancelled,
and asyncio.run() waits for executor threads at shutdown, so the tool would hang with it.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import errno
import ipaddress
import os
import socket
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scim_doctor.checks.base import Outcome
from scim_doctor.core import findings
from scim_doctor.core.secrets import redact
from scim_doctor.core.timeouts import within
from scim_doctor.net.context import ProbeContext

RESOLVER = "system (getaddrinfo)"

MIN_ATTEMPT_S = 1.0
"""Shortest time one address gets when the connect budget is split across many."""

_EAI_NAMES = {
    value: name
    for name in dir(socket)
    if name.startswith("EAI_") and isinstance(value := getattr(socket, name), int)
}
_EAI_NO_ADDRESS = frozenset(
    getattr(socket, name) for name in ("EAI_NODATA", "EAI_ADDRFAMILY") if hasattr(socket, name)
)
_UNREACHABLE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH})

# socket.getaddrinfo encodes the name with the idna codec, imported on first use: imported
# then, in a process with no free file descriptor, it fails with an OSError of its own (naming
# encodings/idna.py) before glibc is asked. Look it up once here, while files can be opened.
codecs.lookup("idna")

NSSWITCH = Path("/etc/nsswitch.conf")
"""Where glibc reads which services answer host lookups (files, dns, mdns, sss, resolve...)."""

_RFC1918 = tuple(
    ipaddress.IPv4Network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")

_PROXY_DEFAULT_PORTS = {"http": 80, "https": 443, "socks4": 1080, "socks5": 1080, "socks5h": 1080}


def _seconds(value: float) -> str:
    """Two significant digits: a budget split at run time reads 0.5 s, not 0.496 s."""
    return f"{value:.2g} s"


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


# --- resolution ----------------------------------------------------------------------------------


class ResolveError(Exception):
    """A name that did not resolve: the finding code, a message with the observed values, and
    the resolver's own words."""

    def __init__(self, code: str, message: str, detail: str, eai: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail
        self.eai = eai


def _gai_error(host: str, exc: socket.gaierror) -> ResolveError:
    words = exc.strerror or str(exc)
    name = _EAI_NAMES.get(exc.errno or 0, f"error {exc.errno}")
    said = f'the system resolver answered "{words}" ({name})'
    if exc.errno == socket.EAI_NONAME:
        return ResolveError("dns.nxdomain", f"{host} does not exist: {said}", words, name)
    if exc.errno == socket.EAI_AGAIN:
        message = (
            f'the system resolver gave up on {host}: "{words}" ({name}); no DNS server gave '
            "an answer in time"
        )
        return ResolveError("dns.timeout", message, words, name)
    if exc.errno in _EAI_NO_ADDRESS:
        message = f"{host} exists but has no A or AAAA record: {said}"
        return ResolveError("dns.no_address", message, words, name)
    return ResolveError("dns.resolution_failed", f"resolving {host} failed: {said}", words, name)


def _nsswitch_hosts() -> str | None:
    """The services of the `hosts:` line glibc uses (the last one), or None without one."""
    try:
        text = NSSWITCH.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    services = None
    for line in text.splitlines():
        database, colon, rest = line.split("#", 1)[0].partition(":")
        if colon and database.strip() == "hosts":
            services = " ".join(rest.split())
    return services


def _system_error(host: str, exc: OSError) -> ResolveError:
    """EAI_SYSTEM, which CPython raises as a plain OSError carrying glibc's errno.

    That errno can mislead on its own: glibc says EBUSY when a service on the `hosts:` line of
    nsswitch.conf is not installed or cannot look up hosts, and a service can fail with no
    errno at all (older SSSD clients with sssd stopped); then that line is what explains it.
    """
    if exc.filename is not None:  # from Python around the call (a file it opened), not glibc
        return ResolveError("dns.resolution_failed", f"resolving {host} failed: {exc}", str(exc))
    if exc.errno:
        words = _errno_text(exc)
        said = f'the system resolver failed with EAI_SYSTEM ("System error"), errno {words}'
    else:
        words = "no error number"
        said = 'the system resolver failed with EAI_SYSTEM ("System error") and no error number'
    message = f"resolving {host} failed: {said}"
    if not exc.errno or exc.errno == errno.EBUSY:
        services = _nsswitch_hosts()
        if services is not None:
            why = (
                "glibc's answer when a service listed there is not installed or cannot look "
                "up hosts"
                if exc.errno
                else "a service listed there failed without saying why"
            )
            message += f'; {NSSWITCH} says "hosts: {services}" ({why})'
    return ResolveError("dns.resolution_failed", message, words, "EAI_SYSTEM")


async def resolve(host: str, port: int, timeout: float) -> list[str]:
    """Every A/AAAA address of `host` from the system resolver, de-duplicated, in its order.

    Raises ResolveError. The lookup thread is a daemon, abandoned on timeout: getaddrinfo
    cannot be interrupted, and a daemon thread does not keep the process alive.
    """
    if host.rstrip(".").endswith(".invalid") or host == "invalid":
        # RFC 6761 §6.4: resolvers and libraries SHOULD answer "invalid" names negatively at
        # once; glibc still sends the query, so we answer it ourselves and send nothing.
        raise ResolveError(
            "dns.nxdomain",
            f"{host} is under .invalid, a name reserved never to exist (RFC 6761 §6.4)",
            "reserved name: no query sent",
        )
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[list[Any]] = loop.create_future()

    def settle(infos: list[Any] | None, error: BaseException | None) -> None:
        if answer.done():  # we stopped waiting (timeout, cancellation)
            return
        if error is not None:
            answer.set_exception(error)
        else:
            answer.set_result(infos or [])

    def lookup() -> None:
        infos: list[Any] | None = None
        error: BaseException | None = None
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except Exception as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            loop.call_soon_threadsafe(settle, infos, error)

    try:
        threading.Thread(target=lookup, name=f"getaddrinfo {host}", daemon=True).start()
    except RuntimeError as exc:  # "can't start new thread": out of threads or memory
        raise ResolveError(
            "dns.resolution_failed",
            f"resolving {host} failed: this process could not start the thread that asks the "
            f"system resolver ({exc})",
            f"no resolver thread ({exc})",
        ) from None
    try:
        infos = await within(answer, timeout)
    except asyncio.TimeoutError:
        raise ResolveError(
            "dns.timeout",
            f"the system resolver did not answer for {host} within {_seconds(timeout)}",
            f"no answer within {_seconds(timeout)}",
        ) from None
    except socket.gaierror as exc:
        raise _gai_error(host, exc) from None
    except OSError as exc:  # not a gaierror: getaddrinfo returned EAI_SYSTEM
        raise _system_error(host, exc) from None
    except UnicodeError as exc:  # the name cannot be IDNA-encoded: nothing was asked
        raise ResolveError(
            "dns.resolution_failed", f"resolving {host} failed: {exc}", str(exc)
        ) from None
    addresses: list[str] = []
    for af, _type, _proto, _canon, sockaddr in infos:
        if af in (socket.AF_INET, socket.AF_INET6) and sockaddr[0] not in addresses:
            addresses.append(str(sockaddr[0]))
    if not addresses:
        raise ResolveError(
            "dns.no_address",
            f"{host} exists but the system resolver returned no IPv4 or IPv6 address",
            "no address",
        )
    return addresses


@dataclass(frozen=True)
class Lookup:
    """Where the addresses to connect to came from."""

    addresses: list[str]
    source: str
    """'pin' (--resolve), 'literal' (the host is an IP address) or 'resolver'."""
    ms: float


async def lookup(ctx: ProbeContext, host: str, port: int, timeout: float) -> Lookup:
    """The addresses the client would use for host:port: the pin, the literal, or a lookup."""
    started = time.monotonic()
    pinned = ctx.pinned_address(host, port)
    if pinned is not None:
        return Lookup([pinned], "pin", 0.0)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return Lookup([host], "literal", 0.0)
    addresses = await resolve(host, port, timeout)
    return Lookup(addresses, "resolver", _ms_since(started))


def family(address: str) -> str:
    return f"IPv{ipaddress.ip_address(address).version}"


def non_public_kind(address: str) -> str | None:
    """Why an identity provider on the internet cannot reach `address`, or None if it can."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if isinstance(ip, ipaddress.IPv4Address):
        if any(ip in net for net in _RFC1918):
            return "private, RFC 1918"
        if ip in _CGNAT:
            return "carrier-grade NAT, RFC 6598"
    elif ip in _UNIQUE_LOCAL:
        return "unique-local, RFC 4193"
    if ip.is_private or ip.is_reserved:
        return "reserved, not routed on the internet"
    return None


# --- dns -----------------------------------------------------------------------------------------

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
        ms = _ms_since(started)
        facts.update(
            resolver=RESOLVER, error=exc.detail, error_code=exc.eai, families=[], time_ms=ms
        )
        outcome.timings_ms["dns"] = ms
        outcome.add(findings.make(exc.code, exc.message))
        outcome.summary = exc.message
        return outcome

    addresses = found.addresses
    ctx.shared.addresses = list(addresses)
    facts.update(
        addresses=addresses,
        families=list(dict.fromkeys(family(a) for a in addresses)),
        pinned=found.source == "pin",
        literal=found.source == "literal",
        resolver=_RESOLVER_FACT[found.source],
        time_ms=found.ms,
    )
    outcome.timings_ms["dns"] = found.ms
    if found.source == "pin":
        outcome.summary = f"{host}:{port} pinned to {addresses[0]} with --resolve (no lookup)"
    elif found.source == "literal":
        outcome.summary = f"{host} is an IP address (no lookup)"
    else:
        outcome.summary = f"{host} resolved to {', '.join(addresses)} in {found.ms:.0f} ms"

    not_public = [(a, kind) for a in addresses if (kind := non_public_kind(a)) is not None]
    facts["not_public"] = [{"address": a, "kind": kind} for a, kind in not_public]
    if not_public and found.source == "pin":
        facts["not_public_note"] = "not flagged: pinned with --resolve, so the user chose it"
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


# --- connect -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proxy:
    """The proxy the client would go through for the target."""

    url: str
    """Redacted: credentials in the proxy URL never reach the report."""
    host: str
    port: int
    source: str
    """'--proxy' or the environment variable it came from."""


def proxy_for(ctx: ProbeContext) -> Proxy | None:
    """The proxy the HTTP client would use: --proxy, else the environment unless NO_PROXY
    bypasses the host (the rules urllib and httpx share). Raises ValueError if unparseable."""
    if ctx.options.proxy:
        raw, source = ctx.options.proxy, "--proxy"
    else:
        proxies = urllib.request.getproxies()
        scheme = ctx.target.scheme
        key = scheme if proxies.get(scheme) else "all"
        raw = proxies.get(key, "")
        if not raw:
            return None
        host = ctx.target.host
        probe = host if ":" in host else f"{host}:{ctx.target.port}"
        if urllib.request.proxy_bypass(probe):
            return None
        source = f"the {key.upper()}_PROXY environment variable"
    text = raw if "://" in raw else f"http://{raw}"
    parts = urllib.parse.urlsplit(text)
    port = parts.port  # raises ValueError on a bad port
    if not parts.hostname:
        raise ValueError(f"proxy {redact(raw)!r} from {source} has no host")
    default = _PROXY_DEFAULT_PORTS.get(parts.scheme.lower(), 80)
    return Proxy(redact(raw), parts.hostname, port or default, source)


@dataclass(frozen=True)
class Attempt:
    """One TCP connection attempt to one address."""

    address: str
    port: int
    result: str
    """connected, refused, timeout, unreachable, failed, or not_tried."""
    ms: float
    error: str | None = None

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


def _errno_text(exc: OSError) -> str:
    """`ECONNREFUSED: Connection refused`: asyncio's own wording repeats the address."""
    if exc.errno is None:
        return str(exc)
    name = errno.errorcode.get(exc.errno, f"errno {exc.errno}")
    return f"{name}: {os.strerror(exc.errno)}"


async def _attempt(address: str, port: int, timeout: float) -> Attempt:
    started = time.monotonic()
    try:
        _reader, writer = await within(asyncio.open_connection(address, port), timeout)
    except asyncio.TimeoutError:
        no_answer = f"no answer within {_seconds(timeout)}"
        return Attempt(address, port, "timeout", _ms_since(started), no_answer)
    except OSError as exc:
        ms = _ms_since(started)
        if exc.errno == errno.ECONNREFUSED:
            result = "refused"
        elif exc.errno in _UNREACHABLE:
            result = "unreachable"
        elif exc.errno == errno.ETIMEDOUT:
            result = "timeout"
        else:
            result = "failed"
        return Attempt(address, port, result, ms, _errno_text(exc))
    ms = _ms_since(started)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return Attempt(address, port, "connected", ms)


_FAILURE_MESSAGES = {
    "refused": ("connect.refused", "connection to {name} refused"),
    "timeout": ("connect.timeout", "no answer to the TCP handshake from {name}"),
    "unreachable": ("connect.unreachable", "no route to {name}"),
    "failed": ("connect.failed", "TCP connection to {name} failed"),
}


@dataclass(frozen=True)
class _Destination:
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


async def _attempt_each(addresses: list[str], port: int, budget_end: float) -> list[Attempt]:
    """Each address in turn until one connects, as the client will: the step's budget is shared
    out as it goes, and the addresses it leaves no time for are listed as not tried."""
    attempts: list[Attempt] = []
    for index, address in enumerate(addresses):
        left = budget_end - time.monotonic()
        if left <= 0:
            attempts.extend(Attempt(a, port, "not_tried", 0.0) for a in addresses[index:])
            break
        # A fair share of what is left, but never so little that a slow handshake cannot finish.
        share = min(left, max(left / (len(addresses) - index), MIN_ATTEMPT_S))
        attempt = await _attempt(address, port, share)
        attempts.append(attempt)
        if attempt.result == "connected":
            break
    return attempts


def _report_connected(
    ctx: ProbeContext,
    outcome: Outcome,
    dest: _Destination,
    proxy: Proxy | None,
    connected: Attempt,
    failed: list[Attempt],
) -> None:
    """A connection was made: later checks use its address; addresses that failed first are
    still a finding, since a client that tries only those would fail."""
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
        outcome.add(
            findings.make(
                "connect.some_addresses_failed",
                f"{dest.name} has addresses that fail: {listed}; then {connected.where} connected",
                remediation=dest.remediation,
            )
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
            f"{len(untried)} address(es) of {dest.name} not tried: the {_seconds(budget)} budget "
            f"of the connect step ran out ({', '.join(a.where for a in untried)})"
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

    dest = _destination(ctx, proxy, facts)
    addresses = list(ctx.shared.addresses) if proxy is None else []
    if not addresses:  # dns did not run (--skip dns), or the connection goes to a proxy
        try:
            found = await lookup(
                ctx, dest.host, dest.port, max(0.001, budget_end - time.monotonic())
            )
        except ResolveError as exc:
            facts.update(attempts=[], connected_address=None, time_ms=_ms_since(started))
            message = f"{dest.name}: {exc.message}" if proxy else exc.message
            outcome.add(findings.make(exc.code, message, remediation=dest.remediation))
            outcome.summary = message
            return outcome
        addresses = found.addresses
        if found.source == "resolver":
            outcome.timings_ms["dns"] = found.ms
        if proxy is None:
            ctx.shared.addresses = list(addresses)

    attempts = await _attempt_each(addresses, dest.port, budget_end)
    connected = next((a for a in attempts if a.result == "connected"), None)
    failed = [a for a in attempts if a.result not in ("connected", "not_tried")]
    facts.update(
        host=dest.host,
        port=dest.port,
        addresses=addresses,
        attempts=[a.fact() for a in attempts],
        connected_address=connected.address if connected else None,
        time_ms=_ms_since(started),
    )
    if connected is not None:
        _report_connected(ctx, outcome, dest, proxy, connected, failed)
    else:
        _report_unconnected(outcome, dest, attempts, failed, budget, facts["time_ms"])
    return outcome
