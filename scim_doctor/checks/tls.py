"""The `tls` check: handshake with the real trust store, and name what is wrong when it fails.

A verification error from OpenSSL says little ("unable to get local issuer certificate"), so on
failure a second, non-verifying handshake fetches the chain the server actually presents and the
error is classified from it: expired, wrong host, untrusted or intercepting CA, missing
intermediate, weak key. Protocol errors get the same treatment: a retry that allows TLS 1.0 tells
an outdated server from a broken one, and a plain `HEAD` tells a plain-HTTP port from garbage.
No token is ever sent here.

This module holds the check and its judgement of each outcome; the sockets and handshakes are in
`tls_handshake`, the reading of a served chain in `tls_chain`, the TLS 1.2 / Entra ID suites
probe in `tls12`.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Sequence
from typing import Any

from cryptography import x509

from scim_doctor.checks import tls_nodes, tls_stapling
from scim_doctor.checks.base import Outcome
from scim_doctor.checks.tls12 import ENTRA_TLS12_SUITES as ENTRA_TLS12_SUITES
from scim_doctor.checks.tls12 import Tls12Probes
from scim_doctor.checks.tls12 import server_hello_suite as server_hello_suite
from scim_doctor.checks.tls_chain import (
    OtherStore,
    classify_verification,
    health,
    intercepted_but_trusted,
)
from scim_doctor.checks.tls_client import (
    CLIENT_CERT_ALERTS,
    FIRST_READ_WAIT,
    accepted,
    judge_refusal,
    presented_problems,
)
from scim_doctor.checks.tls_handshake import (
    OLD_PROTOCOLS,
    PROTOCOL_REFUSED,
    ConnectFailed,
    Endpoint,
    Session,
    handshake,
    legacy_context,
    status_line,
)
from scim_doctor.core import findings
from scim_doctor.core.model import Status
from scim_doctor.net import certinfo
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.failures import ProxyConfigError
from scim_doctor.net.proxy import ProxyServer
from scim_doctor.net.trust import alternative, unverified_context

_NOT_A_TLS_RECORD = frozenset(
    {
        "WRONG_VERSION_NUMBER",
        "UNKNOWN_PROTOCOL",
        "RECORD_LAYER_FAILURE",
        "PACKET_LENGTH_TOO_LONG",
        "RECORD_TOO_LARGE",
        "HTTP_REQUEST",
        "HTTPS_PROXY_REQUEST",
    }
)


def parse_chain(ders: Sequence[bytes]) -> list[x509.Certificate]:
    chain: list[x509.Certificate] = []
    for der in ders:
        try:
            chain.append(certinfo.load(der))
        except ValueError:
            break
    return chain


def session_facts(session: Session, chain: Sequence[x509.Certificate]) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "protocol": session.protocol,
        "cipher": session.cipher,
        "alpn": session.alpn,
        "chain": [certinfo.facts(c) for c in chain],
    }
    if chain:
        facts["days_to_expiry"] = certinfo.days_left(chain[0])
    return facts


def _openssl_text(error: ssl.SSLError) -> str:
    """OpenSSL's words without CPython's '(_ssl.c:1006)' source location."""
    return re.sub(r"\s*\(_ssl\.c:\d+\)", "", str(error))


def _reason(error: BaseException) -> str:
    if isinstance(error, ssl.SSLError):
        return str(error.reason or error.strerror or error)
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


async def run(ctx: ProbeContext) -> Outcome:
    """Handshake with the trust store of this run; classify any failure from what is served."""
    target = ctx.target
    outcome = Outcome()
    if not target.is_https:
        outcome.add(
            findings.make(
                "tls.not_https",
                f"the base URL {target.base_url} uses http://: the bearer token and user data "
                "would cross the network in clear text",
            )
        )
        outcome.summary = "plain http:// base URL: no TLS to check"
        outcome.unblocks_dependents = frozenset({"redirect"})  # walks it without the token
        return outcome

    address = ctx.shared.connected_address or ctx.pinned_address() or target.host
    via = _proxy(ctx)
    endpoint = Endpoint(address, target.port, target.host, via)
    outcome.facts.update(
        address=None if via else address,
        port=target.port,
        sni=None if target.host_is_ip else target.host,
        trust_store=ctx.trust.description,
        via_proxy=via.shown if via else None,
    )
    presented_problems(ctx, outcome)
    timeout = ctx.step_timeout()
    # The TLS 1.2 probes (for Entra ID) need nothing from the main handshake to start: run
    # them alongside it, so the check waits for one handshake instead of up to three in turn.
    tls12 = Tls12Probes(endpoint, timeout)
    session = await _main_handshake(ctx, endpoint, timeout, outcome, via is None)
    if session is not None and session.alert in CLIENT_CERT_ALERTS:
        _succeeded(ctx, session, outcome)
        if await judge_refusal(ctx, endpoint, session.alert, outcome, after=True):
            session = None
    if session is None:
        await tls12.cancel()
        return outcome
    _succeeded(ctx, session, outcome)
    await accepted(ctx, endpoint, outcome)
    chain = parse_chain(session.chain)
    await tls_stapling.judge(endpoint, chain[0] if chain else None, timeout, outcome)
    await tls_nodes.compare(ctx, session, address, outcome)
    await tls12.record(session, outcome)
    return outcome


def _proxy(ctx: ProbeContext) -> ProxyServer | None:
    """The proxy whose tunnel the handshakes run in (the one the HTTP client will use)."""
    try:
        proxy = ctx.proxies.route(ctx.target.base_url).proxy
    except ProxyConfigError:
        return None  # the proxy check says why; try direct
    return proxy if proxy is not None and proxy.scheme == "http" else None  # CONNECT only


async def _main_handshake(
    ctx: ProbeContext, endpoint: Endpoint, timeout: float, outcome: Outcome, direct: bool
) -> Session | None:
    """The verifying handshake (on the connect check's connection when it went direct to this
    address); on failure, the findings that name why (and None)."""
    connected = ctx.shared.take_socket(endpoint.address, endpoint.port) if direct else None
    try:
        return await handshake(
            endpoint,
            ctx.trust.context,
            timeout,
            first_read=FIRST_READ_WAIT,
            connected=connected,
            on_handshake=lambda session: _early_go_ahead(ctx, session, outcome),
        )
    except ssl.SSLCertVerificationError as exc:
        await _verification_failed(ctx, endpoint, exc, outcome)
    except ssl.SSLError as exc:
        await _protocol_failed(ctx, endpoint, exc, outcome)
    except asyncio.TimeoutError:
        _timed_out(endpoint, timeout, outcome)
    except ConnectFailed as exc:
        outcome.add(
            findings.make(
                "tls.handshake_failed",
                f"could not open a new connection to {endpoint.shown} for the TLS handshake: "
                f"{exc.strerror}",
            )
        )
        outcome.summary = f"no connection for the handshake: {exc.strerror}"
    except OSError as exc:
        outcome.add(
            findings.make(
                "tls.handshake_failed",
                f"the connection to {endpoint.shown} failed during the TLS handshake: "
                f"{_reason(exc)}",
            )
        )
        outcome.summary = f"handshake failed: {_reason(exc)}"
    return None


def _early_go_ahead(ctx: ProbeContext, session: Session, outcome: Outcome) -> None:
    """The certificate verified with this run's trust store: let the HTTP checks send their
    requests now, while this check waits for a TLS 1.3 alert and finishes its probes, unless
    something already seen fails it. Judged as `_succeeded` will judge it, on a copy. A name
    with several nodes waits for all of them to be compared: the token goes to no node
    before each has shown a valid certificate."""
    if len(ctx.shared.extra.get("nodes", [])) > 1 or outcome.status is Status.FAIL:
        return
    scratch = Outcome()
    _succeeded(ctx, session, scratch)
    if scratch.status is not Status.FAIL:
        ctx.let_dependents_start("tls")


def _succeeded(ctx: ProbeContext, session: Session, outcome: Outcome) -> None:
    chain = parse_chain(session.chain)
    facts = session_facts(session, chain)
    outcome.facts.update(facts, verified=True)
    outcome.timings_ms.update(connect=session.connect_ms, tls=session.handshake_ms)
    ctx.shared.tls.update(facts, verified=True)
    inspected = intercepted_but_trusted(ctx, chain)
    if inspected is not None:  # the chain is the inspecting proxy's: its health is not the server's
        outcome.add(inspected)
    for finding in health(ctx, chain, set()) if inspected is None else []:
        outcome.add(finding)
    leaf = chain[0] if chain else None
    if leaf is None:
        outcome.summary = f"{session.protocol}, {session.cipher}; certificate verified"
        return
    outcome.summary = (
        f"{session.protocol} with {session.cipher}; certificate for "
        f"{', '.join(certinfo.covered_names(leaf)) or certinfo.short_name(leaf.subject)} valid "
        f"until {certinfo.iso(certinfo.not_after(leaf))} ({certinfo.days_left(leaf)} days), "
        f"issued by '{certinfo.short_name(leaf.issuer)}'"
    )


async def _verification_failed(
    ctx: ProbeContext, endpoint: Endpoint, error: ssl.SSLCertVerificationError, outcome: Outcome
) -> None:
    reason = error.verify_message or error.reason or str(error)
    outcome.facts.update(verified=False, verify_code=error.verify_code, verify_error=reason)
    ctx.shared.tls.update(verified=False)
    try:
        session: Session | None = await handshake(
            endpoint, unverified_context(), ctx.step_timeout()
        )
    except (OSError, asyncio.TimeoutError):
        session = None
    chain = parse_chain(session.chain) if session else []
    if session is not None:
        facts = session_facts(session, chain)
        outcome.facts.update(facts)
        outcome.timings_ms["tls"] = session.handshake_ms
        ctx.shared.tls.update(facts)
    other = await _other_store(ctx, endpoint) if session is not None else None
    if other is not None:
        outcome.facts["other_store"] = {"store": other.description, "trusts_chain": other.trusts}
    found = classify_verification(ctx, error, chain, other)
    codes = {f.code for f in found}
    found += health(ctx, chain, codes)
    for finding in found:
        outcome.add(finding)
    outcome.summary = f"certificate verification failed: {reason}"
    # Only verification stood in the way: an unverifying client (what --insecure makes the
    # later checks use) completes the handshake.
    if ctx.options.insecure and session is not None:
        outcome.unblocks_dependents = True
        outcome.summary += "; later checks ran anyway because of --insecure"


async def _other_store(ctx: ProbeContext, endpoint: Endpoint) -> OtherStore | None:
    """Whether the store this run did not use would have trusted the chain: a handshake with
    it (None when it cannot be loaded or the handshake fails for another reason)."""
    other = alternative(ctx.trust)
    if other is None:
        return None
    try:
        await handshake(endpoint, other.context, ctx.step_timeout())
    except ssl.SSLCertVerificationError:
        return OtherStore(other.description, other.kind, trusts=False)
    except (OSError, asyncio.TimeoutError):
        return None
    return OtherStore(other.description, other.kind, trusts=True)


async def _protocol_failed(
    ctx: ProbeContext, endpoint: Endpoint, error: ssl.SSLError, outcome: Outcome
) -> None:
    reason = _reason(error)
    outcome.facts.update(verified=False, handshake_error=reason)
    if reason in CLIENT_CERT_ALERTS and await judge_refusal(
        ctx, endpoint, reason, outcome, after=False
    ):
        return
    if reason in PROTOCOL_REFUSED:
        try:
            old = await handshake(endpoint, legacy_context(), ctx.step_timeout())
        except (OSError, asyncio.TimeoutError):
            old = None
        if old is not None and old.protocol in OLD_PROTOCOLS:
            outcome.facts.update(protocol=old.protocol, cipher=old.cipher)
            outcome.add(
                findings.make(
                    "tls.protocol_too_old",
                    f"{endpoint.shown} refused TLS 1.2 and 1.3 ({reason}) and completed a "
                    f"handshake only with {old.protocol} ({old.cipher})",
                )
            )
            outcome.summary = f"the server speaks only {old.protocol}"
            return
    elif reason in _NOT_A_TLS_RECORD:
        line = await status_line(endpoint, ctx.target.netloc, ctx.step_timeout())
        if line is not None and line.startswith("HTTP/"):
            outcome.facts.update(plain_status_line=line)
            outcome.add(
                findings.make(
                    "tls.not_tls",
                    f"{endpoint.shown} answered the TLS ClientHello with something that is not "
                    f"TLS ({reason}); a plain HTTP request got '{line}'",
                )
            )
            outcome.summary = f"the port speaks plain HTTP, not TLS ('{line}')"
            return
    outcome.add(
        findings.make(
            "tls.handshake_failed",
            f"the TLS handshake with {endpoint.shown} (SNI {endpoint.server_hostname}) failed: "
            f"{_openssl_text(error)}",
        )
    )
    outcome.summary = f"handshake failed: {reason}"


def _timed_out(endpoint: Endpoint, timeout: float, outcome: Outcome) -> None:
    outcome.add(
        findings.make(
            "tls.handshake_timeout",
            f"{endpoint.shown} accepted the connection but the TLS handshake did not complete "
            f"within {timeout:.1f} s",
        )
    )
    outcome.summary = f"no TLS handshake within {timeout:.1f} s"
