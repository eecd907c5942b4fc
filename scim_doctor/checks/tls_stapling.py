"""OCSP must-staple, for the `tls` check: does a server whose certificate demands a stapled OCSP
response (the TLS Feature extension with status_request, RFC 7633) staple one?

Python's ssl cannot ask for a stapled response, so this sends a ClientHello of its own: TLS 1.2,
offering the status_request extension (RFC 6066 §8), and reads the server's plaintext first
flight up to ServerHelloDone. A CertificateStatus message (handshake type 22) there is the
stapled response; none is a missing staple. No key is computed and nothing is sent after the
ClientHello. A server that refuses TLS 1.2 sends its stapled response (if any) inside TLS 1.3's
encrypted Certificate message, which this probe cannot see: it says so and finds nothing.

The probe runs only for a certificate that carries the extension, read with `cryptography`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import struct

from cryptography import x509
from msgspec import Struct

from scim_doctor.checks.base import Outcome
from scim_doctor.checks.tls_handshake import RECORD_READ, Endpoint, drop, open_socket
from scim_doctor.core import findings
from scim_doctor.core.timeouts import within
from scim_doctor.net import certinfo

_HANDSHAKE = 22
_ALERT = 21
_CLIENT_HELLO = 1
_SERVER_HELLO = 2
_CERTIFICATE_STATUS = 22
_SERVER_HELLO_DONE = 14
_STATUS_REQUEST = 5
_MAX_FLIGHT = 256 * 1024
"""A server's first flight (certificates included) is a few KiB; stop reading past this."""

_SUITES = (
    0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC023, 0xC027, 0xC024, 0xC028,
    0xC009, 0xC013, 0xC00A, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035,
)  # fmt: skip
"""ECDHE with ECDSA or RSA (AES-GCM, ChaCha20, AES-CBC), then plain RSA: what servers accept."""
_GROUPS = (0x001D, 0x0017, 0x0018, 0x0019)  # x25519, P-256, P-384, P-521
_SIGNATURES = (
    0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601, 0x0203, 0x0201,
)  # fmt: skip


def _extension(kind: int, body: bytes) -> bytes:
    return struct.pack("!HH", kind, len(body)) + body


def _u16_list(values: tuple[int, ...]) -> bytes:
    return struct.pack("!H", 2 * len(values)) + b"".join(struct.pack("!H", v) for v in values)


def client_hello(server_name: str | None) -> bytes:
    """A TLS 1.2 ClientHello record offering status_request (OCSP, no responder ids)."""
    extensions = b""
    if server_name is not None:
        name = server_name.encode("idna")
        entry = b"\x00" + struct.pack("!H", len(name)) + name
        extensions += _extension(0, struct.pack("!H", len(entry)) + entry)
    extensions += _extension(_STATUS_REQUEST, b"\x01\x00\x00\x00\x00")
    extensions += _extension(10, _u16_list(_GROUPS))
    extensions += _extension(11, b"\x01\x00")  # ec_point_formats: uncompressed
    extensions += _extension(13, _u16_list(_SIGNATURES))
    extensions += _extension(23, b"")  # extended_master_secret
    extensions += _extension(0xFF01, b"\x00")  # renegotiation_info (initial)
    body = b"\x03\x03" + os.urandom(32) + b"\x00" + _u16_list(_SUITES) + b"\x01\x00"
    body += struct.pack("!H", len(extensions)) + extensions
    message = bytes([_CLIENT_HELLO]) + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(message)) + message


class Flight(Struct, frozen=True):
    """What the server's first TLS 1.2 flight showed."""

    tls12: bool
    """The server answered with a TLS 1.2 ServerHello (False: an alert, another version)."""
    stapled: bool
    """A CertificateStatus message came before ServerHelloDone."""
    acknowledged: bool
    """The ServerHello echoed status_request (the server means to staple)."""


def _server_hello_acknowledges(body: bytes) -> bool:
    """Whether a ServerHello body (RFC 5246 §7.4.1.3) carries the status_request extension."""
    at = 34 + 1 + body[34] + 2 + 1 if len(body) > 34 else len(body)
    if len(body) < at + 2:
        return False
    end = at + 2 + int.from_bytes(body[at : at + 2], "big")
    at += 2
    while at + 4 <= min(end, len(body)):
        kind, size = struct.unpack("!HH", body[at : at + 4])
        if kind == _STATUS_REQUEST:
            return True
        at += 4 + size
    return False


def read_flight(records: bytes) -> Flight | None:
    """The flight read from the server's records so far; None while ServerHelloDone has not
    come (more to read). An alert or a ServerHello for another version ends it."""
    handshake = b""
    at = 0
    while at + 5 <= len(records):
        kind, size = records[at], int.from_bytes(records[at + 3 : at + 5], "big")
        fragment = records[at + 5 : at + 5 + size]
        if len(fragment) < size:
            break
        if kind == _ALERT:
            return Flight(tls12=False, stapled=False, acknowledged=False)
        if kind == _HANDSHAKE:
            handshake += fragment
        at += 5 + size
    types: list[int] = []
    acknowledged = False
    at = 0
    while at + 4 <= len(handshake):
        kind, size = handshake[at], int.from_bytes(handshake[at + 1 : at + 4], "big")
        body = handshake[at + 4 : at + 4 + size]
        if len(body) < size:
            break
        if kind == _SERVER_HELLO:
            if body[:2] != b"\x03\x03":
                return Flight(tls12=False, stapled=False, acknowledged=False)
            acknowledged = _server_hello_acknowledges(body)
        types.append(kind)
        if kind == _SERVER_HELLO_DONE:
            stapled = _CERTIFICATE_STATUS in types
            return Flight(tls12=True, stapled=stapled, acknowledged=acknowledged)
        at += 4 + size
    return None


async def first_flight(endpoint: Endpoint, timeout: float) -> Flight | None:
    """Send the ClientHello and read up to ServerHelloDone; None when the server's answer ended
    (or stalled) before it."""
    sock = await open_socket(endpoint)
    loop = asyncio.get_running_loop()
    try:
        server_name = None if _is_ip(endpoint.server_hostname) else endpoint.server_hostname
        await loop.sock_sendall(sock, client_hello(server_name))

        async def read() -> Flight | None:
            data = b""
            while len(data) < _MAX_FLIGHT:
                chunk = await loop.sock_recv(sock, RECORD_READ)
                if not chunk:
                    return None
                data += chunk
                flight = read_flight(data)
                if flight is not None:
                    return flight
            return None

        return await within(read(), timeout)
    finally:
        drop(sock)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def judge(
    endpoint: Endpoint, leaf: x509.Certificate | None, timeout: float, outcome: Outcome
) -> None:
    """For a must-staple leaf: whether the server staples, in facts; a missing staple is
    tls.must_staple_not_stapled."""
    if leaf is None or not certinfo.must_staple(leaf):
        return
    try:
        flight = await first_flight(endpoint, timeout)
    except (OSError, asyncio.TimeoutError):
        flight = None
    if flight is None or not flight.tls12:
        why = "no TLS 1.2 answer" if flight is None else "the server refuses TLS 1.2"
        outcome.facts["ocsp_stapled"] = None
        outcome.facts["ocsp_stapling_unseen"] = (
            f"{why}: a TLS 1.3 server staples inside the encrypted Certificate message, which "
            "this probe cannot read"
        )
        return
    outcome.facts["ocsp_stapled"] = flight.stapled
    if flight.stapled:
        return
    outcome.add(
        findings.make(
            "tls.must_staple_not_stapled",
            f"the certificate {certinfo.short_name(leaf.subject)!r} carries the TLS Feature "
            "extension with status_request (OCSP must-staple, RFC 7633), but "
            f"{endpoint.shown} sent no OCSP response (no CertificateStatus message) to a TLS 1.2 "
            "ClientHello that asked for one"
            + ("" if flight.acknowledged else " and did not acknowledge status_request")
            + ". Firefox refuses such a connection (MOZILLA_PKIX_ERROR_REQUIRED_TLS_FEATURE_"
            "MISSING); Python, curl, Go, Java and .NET clients do not enforce must-staple by "
            "default, and none of the five identity providers documents doing so",
        )
    )
