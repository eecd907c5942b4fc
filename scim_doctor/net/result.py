"""What one request gave: the result type probes read, and the cross-cutting findings.

`HttpResult` carries both what a probe needs to judge the endpoint (status, headers, the capped
body, JSON and media-type helpers, TLS facts) and the redacted `Exchange` the report shows;
`common_findings` turns the failures every probe meets alike (timeouts, resets, 5xx, 429, huge
bodies) into the same `http.*` findings wherever they happen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from msgspec import Struct

from scim_doctor.core import findings
from scim_doctor.core.model import Exchange, Finding
from scim_doctor.core.secrets import redact
from scim_doctor.net.body import (
    ParsedJson,
    decode_text,
    is_html,
    is_json,
    is_scim_json,
    parse_json,
)
from scim_doctor.net.failures import ErrorKind, HttpError

_NOT_SENT = (ErrorKind.UNSAFE, ErrorKind.NO_TOKEN, ErrorKind.INVALID_REQUEST)


class TlsInfo(Struct, frozen=True):
    """The TLS session that carried a response: later probes need no extra handshake."""

    version: str | None
    """e.g. 'TLSv1.3'."""
    cipher: str | None
    cipher_bits: int | None
    alpn: str | None
    peer_certificate_der: bytes | None = None
    """The server's leaf certificate (DER), as presented on this connection."""

    def facts(self) -> dict[str, Any]:
        """JSON-compatible facts (without the certificate bytes)."""
        return {"version": self.version, "cipher": self.cipher, "bits": self.cipher_bits}


def connection_facts(response: httpx.Response) -> tuple[TlsInfo | None, str | None]:
    """The TLS session and peer address of the connection that carried `response`."""
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None, None
    tls = None
    ssl_object = stream.get_extra_info("ssl_object")
    if ssl_object is not None:
        cipher = ssl_object.cipher()
        tls = TlsInfo(
            version=ssl_object.version(),
            cipher=cipher[0] if cipher else None,
            cipher_bits=cipher[2] if cipher else None,
            alpn=ssl_object.selected_alpn_protocol(),
            peer_certificate_der=ssl_object.getpeercert(binary_form=True),
        )
    address = stream.get_extra_info("server_addr")
    remote = None
    if isinstance(address, tuple) and len(address) >= 2:
        host = str(address[0])
        remote = f"[{host}]:{address[1]}" if ":" in host else f"{host}:{address[1]}"
    return tls, remote


class HttpResult(Struct, frozen=True):
    """One request's outcome. `error` is None when a complete response arrived."""

    method: str
    url: str
    """The URL requested, redacted (safe to put in a message)."""
    status: int | None
    reason: str
    http_version: str | None
    headers: httpx.Headers
    """Response headers as received (not redacted: for probes to inspect, not to print)."""
    body: bytes
    """The decoded body, at most --max-body bytes (kept out of repr: it can be 10 MiB)."""
    too_large: bool
    """The body went past --max-body; `body` holds its first --max-body bytes."""
    error: HttpError | None
    retry_after: float | None
    """Seconds the server asked to wait (Retry-After), never waited for."""
    tls: TlsInfo | None
    remote_address: str | None
    """The address the connection reached (the proxy's, when tunnelled)."""
    proxy: str | None
    """The proxy the request went through (redacted), None when direct."""
    timings_ms: Mapping[str, float]
    """Milliseconds since the request started, like curl -w: connect (time_connect), tls
    (time_appconnect), request_sent (time_pretransfer), first_byte (time_starttransfer), total.
    connect and tls are missing when a pooled connection was reused."""
    exchange: Exchange
    """The redacted transcript entry of this request."""

    def __repr__(self) -> str:
        """Without the body, which can be 10 MiB."""
        return f"HttpResult({self.method} {self.url} -> {self.status}, {len(self.body)} bytes)"

    @property
    def sent(self) -> bool:
        """False when the layer refused to send it (unsafe, no token, unbuildable)."""
        return self.error is None or self.error.kind not in _NOT_SENT

    @property
    def ok(self) -> bool:
        """A complete response arrived (whatever its status)."""
        return self.error is None and self.status is not None

    @property
    def content_type(self) -> str | None:
        value = self.headers.get("content-type")
        return None if value is None else str(value)

    @property
    def is_scim_json(self) -> bool:
        return is_scim_json(self.content_type)

    @property
    def is_json(self) -> bool:
        return is_json(self.content_type)

    @property
    def is_html(self) -> bool:
        return is_html(self.content_type)

    @property
    def text(self) -> str:
        return decode_text(self.body, self.content_type)

    def json(self) -> ParsedJson:
        """The body as JSON, or why it is not (never raises)."""
        if self.too_large:
            return ParsedJson(None, f"the body is larger than {len(self.body)} bytes (--max-body)")
        return parse_json(self.body, self.content_type)


_CONNECTION_KINDS = (
    ErrorKind.CONNECT,
    ErrorKind.TLS,
    ErrorKind.PROXY,
    ErrorKind.NETWORK,
    ErrorKind.PROTOCOL,
    ErrorKind.DECODING,
)


def common_findings(result: HttpResult) -> list[Finding]:
    """The cross-cutting `http.*` findings of one result: timeout, no usable response, body too
    large, rate limited, server error. Statuses a probe did not expect are its own call
    (`http.unexpected_status`); refusals (unsafe, no token) are probe logic, not endpoint faults.
    """
    what = f"{result.method} {result.url}"
    found: list[Finding] = []
    if result.error is not None and result.error.kind is ErrorKind.TIMEOUT:
        found.append(findings.make("http.timeout", f"{what}: {result.error.message}"))
    elif result.error is not None and result.error.kind in _CONNECTION_KINDS:
        found.append(findings.make("http.connection_failed", f"{what}: {result.error.message}"))
    if result.too_large:
        found.append(
            findings.make(
                "http.body_too_large",
                f"{what}: the response body is larger than {len(result.body)} bytes "
                "(--max-body); only that much was read",
            )
        )
    wait = ""
    if result.headers.get("retry-after") is not None:
        shown = redact(result.headers["retry-after"])
        seconds = "unparseable" if result.retry_after is None else f"{result.retry_after:g} s"
        wait = f"; Retry-After: {shown} ({seconds})"
    if result.status == 429:
        found.append(
            findings.make(
                "http.rate_limited",
                f"{what} answered 429 {result.reason}{wait or '; no Retry-After header'}",
            )
        )
    elif result.status is not None and result.status >= 500:
        start = result.exchange.body_excerpt[:200].strip()
        body = f"; the body starts: {start!r}" if start else "; the body is empty"
        found.append(
            findings.make(
                "http.server_error", f"{what} answered {result.status} {result.reason}{wait}{body}"
            )
        )
    return found
