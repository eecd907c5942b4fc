"""What a probe is given: the target, the options, the token, the trust store, the clock, and
what earlier probes left for it.

Time is the budget every network step draws from: `step_timeout()` is `--timeout`, cut short by
the run's deadline, so no single step can outlive the run.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from scim_doctor.core.defaults import (
    DEFAULT_DEADLINE,
    DEFAULT_EXPIRY_WARN_DAYS,
    DEFAULT_MAX_BODY,
    DEFAULT_TIMEOUT,
)
from scim_doctor.core.secrets import Secret
from scim_doctor.net.client_cert import ClientCertSource
from scim_doctor.net.failures import ProxyConfigError
from scim_doctor.net.proxy import ProxyRules
from scim_doctor.net.target import ResolvePin, Target, pins_for
from scim_doctor.net.trust import Trust

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_EXPIRY_WARN_DAYS",
    "DEFAULT_MAX_BODY",
    "DEFAULT_TIMEOUT",
    "Options",
    "ProbeContext",
    "Shared",
]


class Options(Struct, frozen=True):
    """Everything the user chose that changes how checks run."""

    timeout: float = DEFAULT_TIMEOUT
    """Seconds for each network step (resolve, connect, handshake, one request)."""
    deadline: float = DEFAULT_DEADLINE
    """Seconds for the whole run."""
    cacert: Path | None = None
    insecure: bool = False
    """Let later checks run past a certificate failure; the TLS findings stay in the report."""
    resolve: tuple[ResolvePin, ...] = ()
    proxy: str | None = None
    """--proxy: every connection goes through it (but hosts NO_PROXY / --noproxy names)."""
    noproxy: str | None = None
    """--noproxy: hosts that go direct (curl's list); given, it replaces NO_PROXY."""
    proxy_pac: str | None = None
    """--proxy-pac: a PAC file (path or URL) that chooses the proxy for each URL."""
    trust_store: str = "default"
    """--trust: `default` (certifi, or SSL_CERT_FILE / SSL_CERT_DIR) or `system` (the
    operating system's store, through truststore); --cacert replaces both."""
    expiry_warn_days: int = DEFAULT_EXPIRY_WARN_DAYS
    max_body: int = DEFAULT_MAX_BODY
    http_port: int = 80
    """Where the plain-HTTP listener of the host is expected (the redirect check probes it)."""
    only: frozenset[str] | None = None
    skip: frozenset[str] = frozenset()
    idp: str | None = None
    """Limit the identity-provider verdicts to this profile (entra, okta, ...); None = all."""
    strict: bool = False
    """SCIM validators report leniently tolerated deviations too."""
    reach: str = "internet"
    """Where the identity provider connects from: `internet` (a cloud provider: private and
    loopback addresses are out of its reach) or `private` (an on-premises provisioning agent,
    or a test server on this machine: they are expected)."""
    deep: bool = False
    """Walk every page of /Users and validate every user (read-only, but many requests)."""
    allow_writes: bool = False
    """Run the lifecycle check: create, change and delete test resources, then clean up."""
    show_pii: bool = False
    """Keep personal data (userNames, emails, names) in the report: for a local run only."""
    client_cert: ClientCertSource | None = None
    """The client certificate to present (--cert/--key); None presents none."""


def proxy_rules(options: Options) -> ProxyRules:
    """The proxy rules these options make. A PAC file that cannot be loaded makes every route
    fail with its reason (the proxy check reports it; the CLI refuses it before the run)."""
    pac = None
    source = None
    if options.proxy_pac is not None and not options.proxy:
        from scim_doctor.net.pac import load_pac

        try:
            loaded = load_pac(options.proxy_pac)
        except ProxyConfigError as exc:
            failure = str(exc)

            def pac(url: str, host: str) -> list[str]:
                raise ProxyConfigError(failure)

        else:
            pac, source = loaded.lookup, loaded.source
    return ProxyRules(proxy=options.proxy, noproxy=options.noproxy, pac=pac, pac_source=source)


class OpenSocket(Struct):
    """A TCP connection `connect` made and left open for the `tls` handshake: handshaking on
    it instead of a new one saves that check a round trip."""

    sock: socket.socket
    address: str
    port: int
    connect_ms: float
    """How long the TCP handshake took (the `tls` check reports it as its own)."""


class Shared(Struct):
    """Facts one probe leaves for later ones (only through declared prerequisites)."""

    addresses: list[str] = field(default_factory=list)
    """Addresses `dns` found (or the --resolve pin), in the order to try them."""
    connected_address: str | None = None
    """The address `connect` reached first."""
    tls: dict[str, Any] = field(default_factory=dict)
    """Protocol, cipher and chain facts from `tls`."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Anything else a probe family wants to hand on (keyed by check id)."""
    open_socket: OpenSocket | None = None
    """The connection `connect` made to `connected_address`, until `tls` takes it."""

    def take_socket(self, address: str, port: int) -> OpenSocket | None:
        """The open connection to address:port, now the caller's to close (None if there is
        none, or it goes elsewhere)."""
        held, self.open_socket = self.open_socket, None
        if held is not None and (held.address, held.port) == (address, port):
            return held
        if held is not None:
            held.sock.close()
        return None

    def release(self) -> None:
        """Close what nobody took (the run is over, or `tls` did not run)."""
        held, self.open_socket = self.open_socket, None
        if held is not None:
            held.sock.close()


class ProbeContext(Struct):
    """The run as seen by one probe."""

    target: Target
    options: Options
    token: Secret | None
    trust: Trust
    deadline_at: float
    """time.monotonic() value at which the run must end."""
    shared: Shared = field(default_factory=Shared)
    http: Any = None
    """The run's HTTP client (scim_doctor.http), built by the runner when an HTTP probe runs."""
    _proxies: ProxyRules | None = None
    early: dict[str, asyncio.Future[bool]] = field(default_factory=dict)
    """Per check id, set by the runner: resolved True when that check lets the checks that
    may run ahead of it start (`let_dependents_start`), False when it ended without doing so."""

    def let_dependents_start(self, check_id: str) -> None:
        """What the checks declared `ahead_of` `check_id` need from it to send their requests
        is settled: they may start now. Their results still wait for this check's own."""
        future = self.early.get(check_id)
        if future is not None and not future.done():
            future.set_result(True)

    @property
    def proxies(self) -> ProxyRules:
        """The run's proxy rules (--proxy, --noproxy, --proxy-pac, the environment), built on
        first use: every connection of the run asks them for its route."""
        if self._proxies is None:
            self._proxies = proxy_rules(self.options)
        return self._proxies

    async def aclose(self) -> None:
        """End the run's connections: the HTTP client's, and one no check took over."""
        self.shared.release()
        if self.http is not None:
            await self.http.aclose()

    def remaining(self) -> float:
        return max(0.0, self.deadline_at - time.monotonic())

    def step_timeout(self) -> float:
        """Timeout for one network step: --timeout, never past the run's deadline."""
        return max(0.001, min(self.options.timeout, self.remaining()))

    def pinned_address(self, host: str | None = None, port: int | None = None) -> str | None:
        """The --resolve address for host:port (the target's by default), if pinned.

        A pin for the same host on another port is used when this port has none, so that the
        http:// probe of a pinned https target reaches the same server (curl would look the
        name up instead, which for a pinned test name fails).
        """
        host = host or self.target.host
        port = port or self.target.port
        pinned = self.pinned_addresses(host, port)
        return pinned[0] if pinned else None

    def pinned_addresses(self, host: str | None = None, port: int | None = None) -> list[str]:
        """Every --resolve address for host:port (several stand for the nodes behind the
        name), chosen as `pinned_address` chooses; empty when not pinned."""
        return pins_for(self.options.resolve, host or self.target.host, port or self.target.port)
