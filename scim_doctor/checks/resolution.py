"""Finding a host's addresses as the client will: `--resolve` pins, literals, the system resolver.

getaddrinfo runs in a daemon thread, not the loop's default executor: a stuck lookup cannot be
cancelled, and asyncio.run() waits for executor threads at shutdown, so the tool would hang with
it. Its failures are named from the resolver's own codes and from what /etc/nsswitch.conf says
answers host lookups. Shared by the `dns` and `connect` checks (`network`).
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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from scim_doctor.core.timeouts import within
from scim_doctor.net import head_start
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.target import never_exists

if TYPE_CHECKING:
    from concurrent.futures import Future

_EAI_NAMES = {
    value: name
    for name in dir(socket)
    if name.startswith("EAI_") and isinstance(value := getattr(socket, name), int)
}
_EAI_NO_ADDRESS = frozenset(
    getattr(socket, name) for name in ("EAI_NODATA", "EAI_ADDRFAMILY") if hasattr(socket, name)
)

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


def seconds_text(value: float) -> str:
    """Two significant digits: a budget split at run time reads 0.5 s, not 0.496 s."""
    return f"{value:.2g} s"


def ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def errno_text(exc: OSError) -> str:
    """`ECONNREFUSED: Connection refused`: asyncio's own wording repeats the address."""
    if exc.errno is None:
        return str(exc)
    name = errno.errorcode.get(exc.errno, f"errno {exc.errno}")
    return f"{name}: {os.strerror(exc.errno)}"


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
        words = errno_text(exc)
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


async def resolve(
    host: str, port: int, timeout: float, early: Future[list[Any]] | None = None
) -> list[str]:
    """Every A/AAAA address of `host` from the system resolver, de-duplicated, in its order.

    Raises ResolveError. The lookup thread is a daemon, abandoned on timeout: getaddrinfo
    cannot be interrupted, and a daemon thread does not keep the process alive. `early`: the
    same getaddrinfo call, begun at start-up (net.head_start), whose answer is judged here.
    """
    if never_exists(host):
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
        if early is not None:
            answer = asyncio.wrap_future(early)
        else:
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
            f"the system resolver did not answer for {host} within {seconds_text(timeout)}",
            f"no answer within {seconds_text(timeout)}",
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


class Lookup(Struct, frozen=True):
    """Where the addresses to connect to came from."""

    addresses: list[str]
    source: str
    """'pin' (--resolve), 'literal' (the host is an IP address) or 'resolver'."""
    ms: float


async def lookup(ctx: ProbeContext, host: str, port: int, timeout: float) -> Lookup:
    """The addresses the client would use for host:port: the pin, the literal, or a lookup."""
    started = time.monotonic()
    pinned = ctx.pinned_addresses(host, port)
    if pinned:
        return Lookup(pinned, "pin", 0.0)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return Lookup([host], "literal", 0.0)
    early = head_start.take_lookup(host, port)
    addresses = await resolve(host, port, timeout, early.lookup if early else None)
    took = early.lookup_ms if early is not None else None
    return Lookup(addresses, "resolver", took if took is not None else ms_since(started))


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
