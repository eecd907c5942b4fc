"""Whether the server speaks TLS 1.2 with one of Entra ID's cipher suites.

Entra ID connects with TLS 1.2 only, so a handshake that settled on TLS 1.3 says nothing about
it. A ClientHello capped at 1.2 does, and the server's first record, its ServerHello, already
names the suite: the probe reads that and goes no further.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from scim_doctor.checks.base import Outcome
from scim_doctor.checks.tls_handshake import RECORD_READ, Endpoint, Session, drop, open_socket
from scim_doctor.core.timeouts import within
from scim_doctor.net.trust import unverified_context

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


async def _tls12_cipher(endpoint: Endpoint, timeout: float, ciphers: str | None) -> str | None:
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


async def _first_record(endpoint: Endpoint, context: ssl.SSLContext) -> bytes:
    """Send the ClientHello `context` makes and return the server's first TLS record (or what
    came of it before the connection ended)."""
    loop = asyncio.get_running_loop()
    sock = await open_socket(endpoint)
    try:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        ssl_object = context.wrap_bio(incoming, outgoing, server_hostname=endpoint.server_hostname)
        with contextlib.suppress(ssl.SSLWantReadError):
            ssl_object.do_handshake()
        await loop.sock_sendall(sock, outgoing.read())
        data = b""
        while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
            chunk = await loop.sock_recv(sock, RECORD_READ)
            if not chunk:
                return data
            data += chunk
        return data[: 5 + int.from_bytes(data[3:5], "big")]
    finally:
        drop(sock)


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


class Tls12Probes:
    """Whether the server also speaks TLS 1.2, and with one of Entra ID's suites.

    Entra ID connects with TLS 1.2 only, so a handshake that settled on TLS 1.3 says nothing
    about it: a ClientHello capped at 1.2 does (its ServerHello names the suite). It starts at
    once, with the main handshake, so the check waits for one handshake rather than two in
    turn. Only when the server picks a suite outside Entra's list does a second one, offering
    only Entra's suites, tell whether it accepts one of them: most servers pick one of them
    anyway, and a fleet of hundreds of targets would otherwise pay for a probe whose answer is
    known. A probe that gets no answer at all leaves the facts out.
    """

    def __init__(self, endpoint: Endpoint, timeout: float) -> None:
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
