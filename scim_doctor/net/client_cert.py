"""The client certificate this run presents (`--cert` / `--key`, as curl), and the CA names a
server's CertificateRequest lists.

The certificate and key are PEM files; the key's passphrase comes from an environment variable or
a file, never from the command line (a process list shows argv). What is wrong with the pair the
user gave (expired, not yet valid, a key that is not the certificate's) is recorded as a fact for
the `tls` check to report, not raised: the admin learns it beside what the server said. A file that
cannot be read, or a wrong passphrase, is an input error (exit 2).
"""

from __future__ import annotations

import datetime as dt
import os
import ssl
from pathlib import Path
from typing import Any

from cryptography import x509
from msgspec import Struct

from scim_doctor.core.echo import shown
from scim_doctor.core.errors import InputError
from scim_doctor.net import certinfo


class ClientCertSource(Struct, frozen=True):
    """Where the client certificate, its key and the key's passphrase come from."""

    cert: Path
    """PEM: the certificate, optionally followed by its intermediates (and the key, as curl)."""
    key: Path | None = None
    """PEM private key; None when it is in the --cert file."""
    passphrase_env: str | None = None
    """Name of the environment variable holding the key's passphrase."""
    passphrase_file: Path | None = None
    """File whose first line is the key's passphrase."""

    def identity(self) -> str:
        """A cache key that changes when a file is rewritten."""
        parts = []
        for path in (self.cert, self.key, self.passphrase_file):
            if path is not None:
                try:
                    stamp = path.stat().st_mtime_ns
                except OSError:
                    stamp = 0
                parts.append(f"{path}@{stamp}")
        return "|".join([*parts, self.passphrase_env or ""])


class ClientCert(Struct, frozen=True):
    """The certificate this run presents, as the report shows it, and what is wrong with it."""

    facts: dict[str, Any]
    """certinfo.facts of the leaf, plus the file it came from."""
    problem: str | None = None
    """'expired', 'not_yet_valid' or 'key_mismatch'; None when the pair looks usable."""
    detail: str = ""
    loaded: bool = False
    """Whether the context presents it (not with a key that does not match)."""


def _passphrase(source: ClientCertSource) -> str | None:
    if source.passphrase_env is not None:
        value = os.environ.get(source.passphrase_env)
        if value is None:
            raise InputError(f"--key-passphrase-env {source.passphrase_env}: the variable is unset")
        return value
    if source.passphrase_file is not None:
        try:
            text = source.passphrase_file.read_text(encoding="utf-8")
        except OSError as exc:
            where = shown(str(source.passphrase_file), path=True)
            why = exc.strerror
            raise InputError(f"--key-passphrase-file {where}: unreadable ({why})") from None
        return text.splitlines()[0] if text else ""
    return None


def _leaf(source: ClientCertSource) -> x509.Certificate:
    where = f"--cert {shown(str(source.cert), path=True)}"
    try:
        data = source.cert.read_bytes()
    except OSError as exc:
        raise InputError(f"{where}: cannot be read ({exc.strerror})") from None
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise InputError(f"{where}: holds no PEM certificate") from None
    return certs[0]


def load_into(context: ssl.SSLContext, source: ClientCertSource) -> ClientCert:
    """Load the pair into `context` (when the key matches) and describe it."""
    leaf = _leaf(source)
    facts: dict[str, Any] = {**certinfo.facts(leaf), "file": str(source.cert)}
    key = source.key
    if key is not None and not key.is_file():
        raise InputError(f"--key {shown(str(key), path=True)}: no such file")
    passphrase = _passphrase(source)
    try:
        context.load_cert_chain(str(source.cert), str(key) if key else None, password=passphrase)
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            detail = f"the key {key or source.cert} is not the private key of the certificate"
            return ClientCert(facts, "key_mismatch", detail)
        why = exc.reason or "unreadable"
        raise InputError(
            f"--cert/--key: the private key cannot be loaded ({why}): the passphrase is wrong "
            "or missing, or the file holds no PEM private key"
        ) from None
    now = dt.datetime.now(dt.timezone.utc)
    if certinfo.not_after(leaf) < now:
        return ClientCert(facts, "expired", f"it expired on {facts['not_after']}", loaded=True)
    if certinfo.not_before(leaf) > now:
        detail = f"it is valid only from {facts['not_before']}"
        return ClientCert(facts, "not_yet_valid", detail, loaded=True)
    return ClientCert(facts, loaded=True)


# --- the CA names of a TLS 1.2 CertificateRequest (RFC 5246 §7.4.4) ----------------------------

_ATTRIBUTE_NAMES = {
    "550403": "CN",
    "55040a": "O",
    "55040b": "OU",
    "550406": "C",
    "550407": "L",
    "550408": "ST",
    "0992268993f22c640119": "DC",
}


def _children(der: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """(tag, content start, content end) of each DER element between start and end."""
    found = []
    while start + 2 <= end:
        tag, length, start = der[start], der[start + 1], start + 2
        if length & 0x80:
            size = length & 0x7F
            length, start = int.from_bytes(der[start : start + size], "big"), start + size
        if start + length > end:
            raise ValueError("truncated DER")
        found.append((tag, start, start + length))
        start += length
    return found


def name_text(der: bytes) -> str:
    """A DER Name as an RFC 4514-like string (most specific first); the hex when unreadable."""
    try:
        (_, start, end), *_ = _children(der, 0, len(der))
        parts = []
        for _, set_start, set_end in _children(der, start, end):
            for _, seq_start, seq_end in _children(der, set_start, set_end):
                (_, o_start, o_end), (_, v_start, v_end) = _children(der, seq_start, seq_end)[:2]
                label = _ATTRIBUTE_NAMES.get(der[o_start:o_end].hex(), der[o_start:o_end].hex())
                parts.append(f"{label}={der[v_start:v_end].decode('utf-8', 'replace')}")
        return ",".join(reversed(parts))
    except (ValueError, IndexError):
        return der.hex()


def _handshake_messages(received: bytes) -> list[tuple[int, bytes]]:
    """The plaintext handshake messages in the server's first flight (until ChangeCipherSpec)."""
    payload = b""
    offset = 0
    while offset + 5 <= len(received):
        content_type = received[offset]
        length = int.from_bytes(received[offset + 3 : offset + 5], "big")
        if content_type != 22:
            break
        payload += received[offset + 5 : offset + 5 + length]
        offset += 5 + length
    messages = []
    offset = 0
    while offset + 4 <= len(payload):
        kind = payload[offset]
        length = int.from_bytes(payload[offset + 1 : offset + 4], "big")
        messages.append((kind, payload[offset + 4 : offset + 4 + length]))
        offset += 4 + length
    return messages


def certificate_request(received: bytes) -> list[str] | None:
    """The CA names of the TLS 1.2 CertificateRequest in `received` (the server's bytes of a
    handshake); None when the server sent no CertificateRequest."""
    for kind, body in _handshake_messages(received):
        if kind != 13:
            continue
        try:
            types = body[0]
            offset = 1 + types
            algorithms = int.from_bytes(body[offset : offset + 2], "big")
            offset += 2 + algorithms
            total = int.from_bytes(body[offset : offset + 2], "big")
            offset += 2
            end = min(len(body), offset + total)
            found = []
            while offset + 2 <= end:
                size = int.from_bytes(body[offset : offset + 2], "big")
                found.append(name_text(body[offset + 2 : offset + 2 + size]))
                offset += 2 + size
            return found
        except IndexError:
            return []
    return None
