"""One request's progress and its record: the clock, the phase it reached, and the redacted
`Exchange` and `HttpResult` built from them, whether it was answered, timed out or refused.

Apart from `http.py` because recording is the part that decides what a transcript may show
(every URL, header and excerpt redacted, the excerpt cut only after redaction), and it reads
best without the sending around it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any, NamedTuple

import httpx
from msgspec import Struct, field

from scim_doctor.core.model import Exchange
from scim_doctor.core.secrets import redact, redact_headers
from scim_doctor.net.body import CappedBody, decode_text, parse_retry_after
from scim_doctor.net.failures import ErrorKind, HttpError
from scim_doctor.net.result import HttpResult, TlsInfo

EXCERPT_CHARS = 2048
# The excerpt is redacted before it is cut, over a window wide enough that a secret starting
# inside the excerpt is matched whole (cutting first could leave half a token showing).
REDACT_WINDOW = 64 * 1024


class Progress(Struct):
    """How far one request got: filled in as it goes, so a timeout still has a transcript."""

    started: float
    events: dict[str, float] = field(default_factory=dict)
    response: httpx.Response | None = None
    body: CappedBody | None = None
    tls: TlsInfo | None = None
    remote: str | None = None
    received: int = 0
    """Decoded body bytes handed on so far (streams keep no `body`)."""

    async def trace(self, name: str, info: Mapping[str, Any]) -> None:
        # 'connection.connect_tcp.complete', 'proxy.start_tls.complete', 'http11.…': the last
        # event of each name wins (a tunnel's CONNECT exchange comes before the real one).
        self.events[name.split(".", 1)[-1]] = time.perf_counter()

    def ms(self, event: str) -> float | None:
        at = self.events.get(event)
        return None if at is None else round((at - self.started) * 1000, 1)

    def timings(self) -> dict[str, float]:
        phases = {
            "connect": "connect_tcp.complete",
            "tls": "start_tls.complete",
            "request_sent": "send_request_body.complete",
            "first_byte": "receive_response_headers.complete",
        }
        timings = {name: ms for name, ev in phases.items() if (ms := self.ms(ev)) is not None}
        timings["total"] = round((time.perf_counter() - self.started) * 1000, 1)
        return timings

    def phase(self) -> str:
        ev = self.events
        if self.response is not None:
            got = self.body.size if self.body else self.received
            return f"while reading the body ({got} bytes received)"
        if "receive_response_headers.started" in ev:
            return "waiting for the response headers"
        if "start_tls.started" in ev and "start_tls.complete" not in ev:
            return "during the TLS handshake"
        if "connect_tcp.started" in ev and "connect_tcp.complete" not in ev:
            return "while connecting"
        if not ev:
            return "waiting for a free connection to the server"
        return "while sending the request"


class BodySeen(NamedTuple):
    """What was read of a body, for the result and the transcript."""

    kept: bytes
    """The bytes kept: the whole (capped) body, or a stream's first bytes."""
    total: int
    """Decoded bytes read in all."""
    too_large: bool
    truncated: bool
    """Not read to its end (too large, timed out, or a stream's reader stopped early)."""
    window: int = REDACT_WINDOW
    """Characters redacted before the excerpt is cut from them."""


def as_sent(headers: httpx.Headers) -> list[tuple[str, str]]:
    """Headers with their names' original case, as on the wire (HTTP header bytes are Latin-1)."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers.raw]


def wall_clock(started: float) -> str:
    """The UTC time at which the `time.perf_counter()` reading `started` was taken."""
    at = time.time() - (time.perf_counter() - started)
    stamp = dt.datetime.fromtimestamp(at, tz=dt.timezone.utc)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def timed_out(progress: Progress, budget: float, wanted: float) -> HttpError:
    """The timeout error, naming the phase the request was in when its budget ran out."""
    message = f"no complete response within {budget:.3g} s: timed out {progress.phase()}"
    if budget < wanted:
        message += " (the run's --deadline was nearly spent)"
    return HttpError(ErrorKind.TIMEOUT, message)


def transcript(
    request: httpx.Request, progress: Progress, error: HttpError | None, seen: BodySeen
) -> Exchange:
    """The redacted record of a request that was sent, however far it got."""
    response = progress.response
    headers = response.headers if response is not None else httpx.Headers()
    excerpt = redact(decode_text(seen.kept[: seen.window], headers.get("content-type")))
    return Exchange(
        method=request.method,
        url=redact(str(request.url)),
        request_headers=redact_headers(as_sent(request.headers)),
        status=response.status_code if response is not None else None,
        http_version=response.http_version if response is not None else None,
        response_headers=redact_headers(as_sent(headers)),
        body_excerpt=excerpt[:EXCERPT_CHARS],
        body_bytes=seen.total,
        body_truncated=response is not None and seen.truncated,
        timings_ms=progress.timings(),
        error=redact(error.message) if error else None,
        started_at=wall_clock(progress.started),
    )


def answered(
    exchange: Exchange,
    progress: Progress,
    error: HttpError | None,
    seen: BodySeen,
    proxy: str | None,
) -> HttpResult:
    """The probe's view of a sent request: the headers and body unredacted, to inspect."""
    response = progress.response
    headers = response.headers if response is not None else httpx.Headers()
    return HttpResult(
        method=exchange.method,
        url=exchange.url,
        status=exchange.status,
        reason=response.reason_phrase if response is not None else "",
        http_version=exchange.http_version,
        headers=headers,
        body=seen.kept,
        too_large=seen.too_large,
        error=error,
        retry_after=parse_retry_after(headers.get("retry-after"), date=headers.get("date")),
        tls=progress.tls,
        remote_address=progress.remote,
        proxy=redact(proxy) if proxy else None,
        timings_ms=exchange.timings_ms,
        exchange=exchange,
    )


def refusal(
    method: str,
    url_text: str,
    outgoing: list[tuple[str, str]],
    started: float,
    kind: ErrorKind,
    message: str,
) -> HttpResult:
    """A result for a request that was never sent, with what it would have carried."""
    timings = {"total": round((time.perf_counter() - started) * 1000, 1)}
    exchange = Exchange(
        method=method,
        url=redact(url_text),
        request_headers=redact_headers(outgoing),
        status=None,
        http_version=None,
        response_headers=(),
        body_excerpt="",
        body_bytes=0,
        body_truncated=False,
        timings_ms=timings,
        error=redact(message),
        started_at=wall_clock(started),
    )
    return HttpResult(
        method=method,
        url=exchange.url,
        status=None,
        reason="",
        http_version=None,
        headers=httpx.Headers(),
        body=b"",
        too_large=False,
        error=HttpError(kind, redact(message)),
        retry_after=None,
        tls=None,
        remote_address=None,
        proxy=None,
        timings_ms=timings,
        exchange=exchange,
    )
