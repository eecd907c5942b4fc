"""The `tls` check: handshake with the real trust store, and name what is wrong when it fails.

A verification error from OpenSSL says little ("unable to get local issuer certificate"), so on
failure a second, non-verifying handshake fetches the chain the server actually presents and the
error is classified from it: expired, wrong host, untrusted or intercepting CA, missing
intermediate, weak key. Protocol errors get the same treatment: a retry that allows TLS 1.0 tells
an outdated server from a broken one, and a plain `HEAD` tells a plain-HTTP port from garbage.
No token is ever sent here.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from scim_doctor.checks.base import Outcome
from scim_doctor.core import findings
from scim_doctor.core.model import Finding
from scim_doctor.core.timeouts import within
from scim_doctor.net import certinfo
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.trust import unverified_context

# OpenSSL X509_V_ERR_* codes (include/openssl/x509_vfy.h).
_V_CERT_NOT_YET_VALID = 9
_V_CERT_HAS_EXPIRED = 10
_V_DEPTH_ZERO_SELF_SIGNED = 18
_V_SELF_SIGNED_IN_CHAIN = 19
_V_UNABLE_TO_GET_ISSUER_LOCALLY = 20
_V_UNABLE_TO_VERIFY_LEAF = 21
_V_HOSTNAME_MISMATCH = 62
_V_IP_ADDRESS_MISMATCH = 64
_V_EE_KEY_TOO_SMALL = 66
_V_CA_KEY_TOO_SMALL = 67

_PROTOCOL_REFUSED = frozenset(
    {
        "UNSUPPORTED_PROTOCOL",
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "NO_PROTOCOLS_AVAILABLE",
        "VERSION_TOO_LOW",
        "TLSV1_ALERT_INSUFFICIENT_SECURITY",
    }
)
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
_OLD_PROTOCOLS = frozenset({"TLSv1", "TLSv1.1", "SSLv3"})
ENTRA_TLS12_SUITES = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-RSA-AES128-SHA256",
    "ECDHE-RSA-AES256-SHA384",
)
"""Entra ID's TLS 1.2 cipher suites (its SCIM tutorial lists them by their IANA names,
TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 ...), in OpenSSL's names."""
_STATUS_LINE_MAX = 200


@dataclass
class Session:
    """What one completed handshake showed."""

    protocol: str | None
    cipher: str | None
    alpn: str | None
    chain: list[bytes]
    """DER certificates as the server sent them, leaf first."""
    handshake_ms: float
    connect_ms: float


@dataclass
class _Endpoint:
    address: str
    port: int
    server_hostname: str
    """Host for SNI and the name check (CPython sends no SNI for IP literals)."""

    @property
    def shown(self) -> str:
        return endpoint_text(self.address, self.port)


def _served_chain(ssl_object: ssl.SSLObject) -> list[bytes]:
    """The chain exactly as sent: public on Python 3.13+, private `_sslobj` method before."""
    getter = getattr(ssl_object, "get_unverified_chain", None)
    if getter is None:
        inner = getattr(ssl_object, "_sslobj", None)
        getter = getattr(inner, "get_unverified_chain", None)
    chain: list[bytes] = []
    if getter is not None:
        with contextlib.suppress(Exception):
            for cert in getter() or ():
                if isinstance(cert, bytes):
                    chain.append(cert)
                else:
                    chain.append(cert.public_bytes(ssl._ssl.ENCODING_DER))  # type: ignore[attr-defined]
    if not chain:
        leaf = ssl_object.getpeercert(binary_form=True)
        if leaf:
            chain.append(leaf)
    return chain


def endpoint_text(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


class ConnectFailed(OSError):
    """The TCP connection for a handshake could not be opened (as opposed to a failed handshake)."""


async def _addresses(address: str, port: int) -> list[Any]:
    """getaddrinfo for the handshake's address. It is nearly always the address the connect
    check reached: a literal is converted here, at once (AI_NUMERICHOST never asks a resolver),
    instead of in the loop's thread pool, whose few threads a fleet's hundreds of handshakes
    would queue for."""
    try:
        return socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, flags=_NUMERIC)
    except socket.gaierror:
        pass  # a name: resolve it without blocking the loop
    return await asyncio.get_running_loop().getaddrinfo(address, port, type=socket.SOCK_STREAM)


_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


async def _connect(address: str, port: int) -> socket.socket:
    loop = asyncio.get_running_loop()
    try:
        infos = await _addresses(address, port)
    except OSError as exc:
        raise ConnectFailed(exc.errno, f"{address} does not resolve ({exc})") from exc
    family, type_, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, type_, proto)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, sockaddr)
    except OSError as exc:
        sock.close()
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ConnectFailed(exc.errno, why) from exc
    except BaseException:
        sock.close()
        raise
    return sock


async def _close(writer: asyncio.StreamWriter) -> None:
    """Drop the connection: a graceful TLS close waits a round trip for the peer's close_notify
    and tells nothing. One turn of the loop lets the aborted transport close its socket."""
    writer.transport.abort()
    await asyncio.sleep(0)


_RECORD_READ = 16 * 1024 + 512
"""One TLS record at most (2^14 bytes of payload and its overhead): what one read asks for."""


async def _handshake_over(
    sock: socket.socket, context: ssl.SSLContext, server_hostname: str
) -> ssl.SSLObject:
    """The client handshake over memory buffers, pumped by hand through a connected socket.

    asyncio's TLS transport would do the same, but it gives every connection a 256 KiB read
    buffer, and a fleet run holds three handshakes per target in flight: 150 of them at
    concurrency 50. Failures are raised as that transport raises them: OpenSSL's own error,
    the socket's, or a bare ConnectionResetError when the server hangs up mid-handshake.
    """
    loop = asyncio.get_running_loop()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    ssl_object = context.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
    while True:
        try:
            ssl_object.do_handshake()
        except ssl.SSLWantReadError:
            pending = outgoing.read()
            if pending:
                await loop.sock_sendall(sock, pending)
            data = await loop.sock_recv(sock, _RECORD_READ)
            if not data:
                raise ConnectionResetError from None
            incoming.write(data)
            continue
        break
    finished = outgoing.read()  # the client's Finished (TLS 1.3): complete the handshake
    if finished:
        await loop.sock_sendall(sock, finished)
    return ssl_object


def _drop(sock: socket.socket) -> None:
    """Close the socket now, after unregistering it from the loop: a reader left behind by a
    cancelled read would otherwise be removed later, by fd, perhaps from a new socket's."""
    loop = asyncio.get_running_loop()
    if sock.fileno() >= 0:
        loop.remove_reader(sock.fileno())
        loop.remove_writer(sock.fileno())
    sock.close()


async def handshake(endpoint: _Endpoint, context: ssl.SSLContext, timeout: float) -> Session:
    """Connect and complete one TLS handshake within `timeout`; always close the connection."""

    async def attempt() -> Session:
        started = time.monotonic()
        sock = await _connect(endpoint.address, endpoint.port)
        connected = time.monotonic()
        try:
            ssl_object = await _handshake_over(sock, context, endpoint.server_hostname)
            done = time.monotonic()
            cipher = ssl_object.cipher()
            return Session(
                protocol=ssl_object.version(),
                cipher=cipher[0] if cipher else None,
                alpn=ssl_object.selected_alpn_protocol(),
                chain=_served_chain(ssl_object),
                handshake_ms=(done - connected) * 1000,
                connect_ms=(connected - started) * 1000,
            )
        finally:
            _drop(sock)

    return await within(attempt(), timeout)


async def _status_line(endpoint: _Endpoint, host_header: str, timeout: float) -> str | None:
    """Send a token-less `HEAD /` in clear text and return the first line the port answers."""

    async def attempt() -> bytes:
        reader, writer = await asyncio.open_connection(endpoint.address, endpoint.port)
        try:
            writer.write(f"HEAD / HTTP/1.0\r\nHost: {host_header}\r\n\r\n".encode("ascii"))
            await writer.drain()
            return await reader.readline()
        finally:
            await _close(writer)

    try:
        line = await within(attempt(), timeout)
    except (OSError, asyncio.TimeoutError, ValueError):
        return None
    return line[:_STATUS_LINE_MAX].decode("latin-1").strip()


def _date(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _describe(cert: x509.Certificate) -> str:
    return f"'{certinfo.short_name(cert.subject)}'"


def _issuer_in_chain(chain: Sequence[x509.Certificate]) -> x509.Certificate | None:
    leaf = chain[0]
    for cert in chain[1:]:
        if cert.subject == leaf.issuer:
            return cert
    return None


def _top_issuer(chain: Sequence[x509.Certificate]) -> x509.Name:
    """The name of the root the served chain leads to (the top cert's issuer)."""
    by_subject = {cert.subject: cert for cert in chain}
    current = chain[0]
    seen = {current.subject}
    while current.issuer in by_subject and current.issuer not in seen:
        current = by_subject[current.issuer]
        seen.add(current.subject)
    return current.issuer


def _expired(chain: Sequence[x509.Certificate], now: dt.datetime) -> x509.Certificate | None:
    return next((c for c in chain if certinfo.not_after(c) < now), None)


def _not_yet_valid(chain: Sequence[x509.Certificate], now: dt.datetime) -> x509.Certificate | None:
    return next((c for c in chain if certinfo.not_before(c) > now), None)


def _untrusted(
    ctx: ProbeContext, chain: Sequence[x509.Certificate], reason: str, *, self_signed: bool
) -> Finding:
    leaf = chain[0]
    root = _top_issuer(chain)
    product = certinfo.interception_product(chain)
    store = ctx.trust.description
    if product is not None:
        message = (
            f"the certificate for {ctx.target.host} was issued by "
            f"'{certinfo.short_name(leaf.issuer)}', a certificate authority of {product}: a "
            f"TLS-inspecting proxy ({product}) intercepts HTTPS traffic from this network. The "
            "identity provider is not behind this proxy, so it sees the real certificate; this "
            f"run does not (trust store: {store}; OpenSSL: {reason})"
        )
        remediation = (
            f"Run scim-doctor with --cacert <the {product} root CA certificate> (ask your "
            "network team for it), or from a network without TLS inspection. The root here is "
            f"'{certinfo.short_name(root)}'."
        )
        return findings.make("tls.untrusted_ca", message, remediation=remediation)
    if self_signed and len(chain) == 1:
        message = (
            f"the certificate {_describe(leaf)} is self-signed; no trust store knows it "
            f"(trust store: {store}; OpenSSL: {reason})"
        )
    else:
        message = (
            f"the chain for {ctx.target.host} leads to '{certinfo.short_name(root)}' "
            f"({root.rfc4514_string()}), which is not in the trust store ({store}); the "
            f"certificate was issued by '{certinfo.short_name(leaf.issuer)}' (OpenSSL: {reason})"
        )
    return findings.make("tls.untrusted_ca", message)


def _issuer_unknown(ctx: ProbeContext, leaf: x509.Certificate, reason: str) -> Finding:
    return findings.make(
        "tls.untrusted_ca",
        f"the certificate for {ctx.target.host} was issued by "
        f"'{certinfo.short_name(leaf.issuer)}' ({leaf.issuer.rfc4514_string()}), which is neither "
        f"in the trust store ({ctx.trust.description}) nor sent by the server: either a private "
        "CA whose root this trust store lacks, or an intermediate the server fails to send "
        f"(OpenSSL: {reason})",
    )


def classify_verification(
    ctx: ProbeContext, error: ssl.SSLCertVerificationError, chain: Sequence[x509.Certificate]
) -> list[Finding]:
    """The findings one verification error stands for, given the chain the server presents."""
    code = error.verify_code
    reason = error.verify_message or error.reason or str(error)
    now = dt.datetime.now(dt.timezone.utc)
    if not chain:
        return [findings.make("tls.handshake_failed", f"certificate verification failed: {reason}")]
    leaf = chain[0]
    if code == _V_CERT_HAS_EXPIRED:
        cert = _expired(chain, now) or leaf
        ago = -certinfo.days_left(cert, now)
        which = "the certificate" if cert is leaf else "the intermediate certificate"
        return [
            findings.make(
                "tls.cert_expired",
                f"{which} {_describe(cert)} expired on {_date(certinfo.not_after(cert))} "
                f"({_plural(ago, 'day')} ago)",
            )
        ]
    if code == _V_CERT_NOT_YET_VALID:
        cert = _not_yet_valid(chain, now) or leaf
        ahead = (certinfo.not_before(cert) - now).days
        return [
            findings.make(
                "tls.cert_not_yet_valid",
                f"the certificate {_describe(cert)} is valid only from "
                f"{_date(certinfo.not_before(cert))} (in {_plural(ahead, 'day')}; this machine's "
                f"clock says {_date(now)})",
            )
        ]
    if code in (_V_HOSTNAME_MISMATCH, _V_IP_ADDRESS_MISMATCH):
        covered = certinfo.covered_names(leaf)
        listed = ", ".join(covered) if covered else "no names at all"
        return [
            findings.make(
                "tls.hostname_mismatch",
                f"the certificate does not cover {ctx.target.host}; it covers: {listed}",
            )
        ]
    if code in (_V_DEPTH_ZERO_SELF_SIGNED, _V_SELF_SIGNED_IN_CHAIN):
        return [_untrusted(ctx, chain, reason, self_signed=True)]
    if code in (_V_UNABLE_TO_GET_ISSUER_LOCALLY, _V_UNABLE_TO_VERIFY_LEAF):
        urls = certinfo.aia_ca_issuers(leaf)
        if _issuer_in_chain(chain) is not None or certinfo.interception_product(chain):
            return [_untrusted(ctx, chain, reason, self_signed=False)]
        if not urls:
            # No AIA pointer: typical of a private CA, whose root a server need not send;
            # rarely of a public CA's intermediate. Say both.
            return [_issuer_unknown(ctx, leaf, reason)]
        return [
            findings.make(
                "tls.incomplete_chain",
                f"the server sent {_plural(len(chain), 'certificate')} without the intermediate "
                f"'{certinfo.short_name(leaf.issuer)}' that issued {_describe(leaf)}; it can be "
                f"downloaded from {', '.join(urls)} (AIA caIssuers), which browsers do and API "
                f"clients do not (OpenSSL: {reason})",
            )
        ]
    if code in (_V_EE_KEY_TOO_SMALL, _V_CA_KEY_TOO_SMALL):
        cas = [c for c in chain[1:] if certinfo.key_is_weak(c)]
        cert = cas[0] if code == _V_CA_KEY_TOO_SMALL and cas else leaf
        key, _ = certinfo.key_description(cert)
        return [
            findings.make(
                "tls.weak_key",
                f"the key of the certificate {_describe(cert)} is {key}; clients require RSA >= "
                f"{certinfo.MIN_RSA_BITS} or EC >= {certinfo.MIN_EC_BITS} bits (OpenSSL: {reason})",
            )
        ]
    return [
        findings.make(
            "tls.handshake_failed", f"certificate verification failed (code {code}): {reason}"
        )
    ]


def _health(
    ctx: ProbeContext, chain: Sequence[x509.Certificate], already: set[str]
) -> list[Finding]:
    """Weak keys anywhere in the chain and a leaf that expires soon: findings even when valid."""
    found: list[Finding] = []
    if "tls.weak_key" not in already:
        weak = [c for c in chain if certinfo.key_is_weak(c)]
        if weak:
            described = "; ".join(
                f"the key of {_describe(c)} is {certinfo.key_description(c)[0]}" for c in weak
            )
            found.append(
                findings.make(
                    "tls.weak_key",
                    f"{described}; clients require RSA >= {certinfo.MIN_RSA_BITS} or EC >= "
                    f"{certinfo.MIN_EC_BITS} bits",
                )
            )
    if chain and not already & {"tls.cert_expired", "tls.cert_not_yet_valid"}:
        leaf = chain[0]
        left = certinfo.days_left(leaf)
        if 0 <= left < ctx.options.expiry_warn_days:
            found.append(
                findings.make(
                    "tls.cert_expires_soon",
                    f"the certificate {_describe(leaf)} expires on "
                    f"{_date(certinfo.not_after(leaf))}, in {_plural(left, 'day')} (warning "
                    f"threshold: {ctx.options.expiry_warn_days} days)",
                )
            )
    return found


def _parse_chain(ders: Sequence[bytes]) -> list[x509.Certificate]:
    chain: list[x509.Certificate] = []
    for der in ders:
        try:
            chain.append(certinfo.load(der))
        except ValueError:
            break
    return chain


def _session_facts(session: Session, chain: Sequence[x509.Certificate]) -> dict[str, Any]:
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
        return outcome

    address = ctx.shared.connected_address or ctx.pinned_address() or target.host
    endpoint = _Endpoint(address=address, port=target.port, server_hostname=target.host)
    outcome.facts.update(
        address=address,
        port=target.port,
        sni=None if target.host_is_ip else target.host,
        trust_store=ctx.trust.description,
    )
    timeout = ctx.step_timeout()
    # The TLS 1.2 probes (for Entra ID) need nothing from the main handshake to start: run
    # them alongside it, so the check waits for one handshake instead of up to three in turn.
    tls12 = _Tls12Probes(endpoint, timeout)
    session = await _main_handshake(ctx, endpoint, timeout, outcome)
    if session is None:
        await tls12.cancel()
        return outcome
    _succeeded(ctx, session, outcome)
    await tls12.record(session, outcome)
    return outcome


async def _main_handshake(
    ctx: ProbeContext, endpoint: _Endpoint, timeout: float, outcome: Outcome
) -> Session | None:
    """The verifying handshake; on failure, the findings that name why (and None)."""
    try:
        return await handshake(endpoint, ctx.trust.context, timeout)
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


def _succeeded(ctx: ProbeContext, session: Session, outcome: Outcome) -> None:
    chain = _parse_chain(session.chain)
    facts = _session_facts(session, chain)
    outcome.facts.update(facts, verified=True)
    outcome.timings_ms.update(connect=session.connect_ms, tls=session.handshake_ms)
    ctx.shared.tls.update(facts, verified=True)
    for finding in _health(ctx, chain, set()):
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
    ctx: ProbeContext, endpoint: _Endpoint, error: ssl.SSLCertVerificationError, outcome: Outcome
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
    chain = _parse_chain(session.chain) if session else []
    if session is not None:
        facts = _session_facts(session, chain)
        outcome.facts.update(facts)
        outcome.timings_ms["tls"] = session.handshake_ms
        ctx.shared.tls.update(facts)
    found = classify_verification(ctx, error, chain)
    codes = {f.code for f in found}
    found += _health(ctx, chain, codes)
    for finding in found:
        outcome.add(finding)
    outcome.summary = f"certificate verification failed: {reason}"
    # Only verification stood in the way: an unverifying client (what --insecure makes the
    # later checks use) completes the handshake.
    if ctx.options.insecure and session is not None:
        outcome.unblocks_dependents = True
        outcome.summary += "; later checks ran anyway because of --insecure"


async def _protocol_failed(
    ctx: ProbeContext, endpoint: _Endpoint, error: ssl.SSLError, outcome: Outcome
) -> None:
    reason = _reason(error)
    outcome.facts.update(verified=False, handshake_error=reason)
    if reason in _PROTOCOL_REFUSED:
        try:
            old = await handshake(endpoint, _legacy_context(), ctx.step_timeout())
        except (OSError, asyncio.TimeoutError):
            old = None
        if old is not None and old.protocol in _OLD_PROTOCOLS:
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
        line = await _status_line(endpoint, ctx.target.netloc, ctx.step_timeout())
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


class _NotObserved(Exception):
    """The capped handshake got no answer at all (as opposed to a refusal)."""


_tls12_offers: dict[str | None, tuple[ssl.SSLContext, dict[int, str]]] = {}


def _tls12_offer(ciphers: str | None) -> tuple[ssl.SSLContext, dict[int, str]]:
    """The capped context for a cipher list and its suites by IANA number (to name the one a
    ServerHello picks), built once for the whole process: building an SSLContext costs about
    as much CPU as the handshake it serves, and a fleet makes hundreds of these probes."""
    offer = _tls12_offers.get(ciphers)
    if offer is None:
        context = unverified_context()  # the certificate is judged already; only the protocol
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        if ciphers is not None:
            context.set_ciphers(ciphers)
        names = {c["id"] & 0xFFFF: c["name"] for c in context.get_ciphers()}
        offer = _tls12_offers.setdefault(ciphers, (context, names))
    return offer


async def _tls12_cipher(endpoint: _Endpoint, timeout: float, ciphers: str | None) -> str | None:
    """The suite a server picks for a ClientHello capped at TLS 1.2 (None: refused).

    Read from its ServerHello, the first thing it answers, as testssl.sh does: the handshake
    goes no further, so the probe costs the network one round trip after the TCP connect
    instead of two and neither side computes a key. A ServerHello for another version, or an
    alert, is a refusal; a connection that ends or stays silent leaves the facts out."""
    context, names = _tls12_offer(ciphers)
    try:
        record = await within(_first_record(endpoint, context), timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        raise _NotObserved from exc
    if not record:
        raise _NotObserved
    suite = server_hello_suite(record)
    return None if suite is None else names.get(suite)


async def _first_record(endpoint: _Endpoint, context: ssl.SSLContext) -> bytes:
    """Send the ClientHello `context` makes and return the server's first TLS record (or what
    came of it before the connection ended)."""
    loop = asyncio.get_running_loop()
    sock = await _connect(endpoint.address, endpoint.port)
    try:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        ssl_object = context.wrap_bio(incoming, outgoing, server_hostname=endpoint.server_hostname)
        with contextlib.suppress(ssl.SSLWantReadError):
            ssl_object.do_handshake()
        await loop.sock_sendall(sock, outgoing.read())
        data = b""
        while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
            chunk = await loop.sock_recv(sock, _RECORD_READ)
            if not chunk:
                return data
            data += chunk
        return data[: 5 + int.from_bytes(data[3:5], "big")]
    finally:
        _drop(sock)


_HANDSHAKE_RECORD = 0x16
_SERVER_HELLO = 0x02
_TLS12 = b"\x03\x03"


def server_hello_suite(record: bytes) -> int | None:
    """The cipher suite a TLS 1.2 ServerHello record names (RFC 5246 §7.4.1.3); None for an
    alert, another version or anything that is not a ServerHello."""
    if len(record) < 5 or record[0] != _HANDSHAKE_RECORD:
        return None
    body = record[5:]
    # handshake type (1), length (3), server_version (2), random (32), session_id (1 + n)
    if len(body) < 39 or body[0] != _SERVER_HELLO or body[4:6] != _TLS12:
        return None
    at = 39 + body[38]
    if len(body) < at + 2:
        return None
    return int.from_bytes(body[at : at + 2], "big")


class _Tls12Probes:
    """Whether the server also speaks TLS 1.2, and with one of Entra ID's suites.

    Entra ID connects with TLS 1.2 only, so a handshake that settled on TLS 1.3 says nothing
    about it: a ClientHello capped at 1.2 does (its ServerHello names the suite). It starts at
    once, with the main handshake, so the check waits for one handshake rather than two in
    turn. Only when the server picks a suite outside Entra's list does a second one, offering
    only Entra's suites, tell whether it accepts one of them: most servers pick one of them
    anyway, and a fleet of hundreds of targets would otherwise pay for a probe whose answer is
    known. A probe that gets no answer at all leaves the facts out.
    """

    def __init__(self, endpoint: _Endpoint, timeout: float) -> None:
        self._endpoint = endpoint
        self._timeout = timeout
        self._capped = asyncio.ensure_future(_tls12_cipher(endpoint, timeout, None))

    async def cancel(self) -> None:
        """The main handshake failed: its findings need none of this."""
        self._capped.cancel()
        await asyncio.gather(self._capped, return_exceptions=True)

    async def record(self, session: Session, outcome: Outcome) -> None:
        """The capped probe started with the main handshake, so waiting for it costs little
        and leaves no connection behind."""
        (capped,) = await asyncio.gather(self._capped, return_exceptions=True)
        if session.protocol == "TLSv1.2":
            cipher = session.cipher
        elif isinstance(capped, BaseException):
            return  # no answer at all (_NotObserved)
        else:
            cipher = capped
        listed = cipher if cipher in ENTRA_TLS12_SUITES else None
        if cipher is not None and listed is None:
            try:
                listed = await _tls12_cipher(
                    self._endpoint, self._timeout, ":".join(ENTRA_TLS12_SUITES)
                )
            except _NotObserved:
                return
        outcome.facts.update(
            tls12_supported=cipher is not None, tls12_cipher=cipher, tls12_ecdhe_suite=listed
        )


def _legacy_context() -> ssl.SSLContext:
    """A context that still speaks TLS 1.0/1.1, only to name an outdated server."""
    return unverified_context(ssl.TLSVersion.TLSv1)


def _timed_out(endpoint: _Endpoint, timeout: float, outcome: Outcome) -> None:
    outcome.add(
        findings.make(
            "tls.handshake_timeout",
            f"{endpoint.shown} accepted the connection but the TLS handshake did not complete "
            f"within {timeout:.1f} s",
        )
    )
    outcome.summary = f"no TLS handshake within {timeout:.1f} s"
