"""The run's one HTTP client: every HTTP-level probe asks its questions through `request()`.

It exists so that no probe can get the dangerous parts wrong:
- the token goes only over https to exactly the target's host and port; anything else is
  refused here, before a byte is sent (`ErrorKind.UNSAFE`), whatever the probe asked for;
- no body is read unbounded: decoded size (after gzip/deflate) is capped at --max-body while
  streaming, so neither a 200 MiB answer nor a gzip bomb inflates in memory;
- each request has one deadline for connect + headers + the whole body (httpx's read timeout is
  per read, so a one-byte-per-second trickle would never trip it), and it is never past the run's;
- every failure is a result with a kind and a clean line, never an exception or a traceback;
- every exchange is recorded as a redacted `Exchange`, with curl-style timings and the TLS facts
  of the connection that carried it.

Redirects are never followed: the redirect probe walks hops itself. Retry-After is parsed and
reported, never slept on. Transport details (--resolve pins, proxies, the pool) live in
`http_transport`; pure body helpers (JSON, charsets, media types) in `http_body`; the result
type and the cross-cutting `http.*` findings in `http_result`; error kinds in `http_errors`.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import ssl
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from scim_doctor import __version__
from scim_doctor.context import ProbeContext
from scim_doctor.http_body import SCIM_JSON, CappedBody, decode_text, parse_retry_after
from scim_doctor.http_errors import ErrorKind, HttpError, classify
from scim_doctor.http_result import HttpResult, TlsInfo, common_findings, connection_facts
from scim_doctor.http_transport import DoctorTransport
from scim_doctor.model import Exchange
from scim_doctor.secrets import SENSITIVE_HEADERS, redact, redact_headers
from scim_doctor.trust import unverified_context

__all__ = [
    "SCIM_JSON",
    "ErrorKind",
    "HttpClient",
    "HttpError",
    "HttpResult",
    "TlsInfo",
    "common_findings",
]

USER_AGENT = f"scim-doctor/{__version__}"
EXCERPT_CHARS = 2048
# The excerpt is redacted before it is cut, over a window wide enough that a secret starting
# inside the excerpt is matched whole (cutting first could leave half a token showing).
_REDACT_WINDOW = 64 * 1024

_unverified_lock = threading.Lock()
_unverified: ssl.SSLContext | None = None


def _shared_unverified_context() -> ssl.SSLContext:
    """One unverified context per process, like the verifying one (building one costs ~ms)."""
    global _unverified
    with _unverified_lock:
        if _unverified is None:
            _unverified = unverified_context()
        return _unverified


@dataclass
class _Progress:
    """How far one request got: filled in as it goes, so a timeout still has a transcript."""

    started: float
    events: dict[str, float] = field(default_factory=dict)
    response: httpx.Response | None = None
    body: CappedBody | None = None
    tls: TlsInfo | None = None
    remote: str | None = None

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
            got = len(self.body.body) if self.body else 0
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


def _as_sent(headers: httpx.Headers) -> list[tuple[str, str]]:
    """Headers with their names' original case, as on the wire (HTTP header bytes are Latin-1)."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers.raw]


def _header_items(headers: Mapping[str, str] | Sequence[tuple[str, str]] | None) -> list[Any]:
    if headers is None:
        return []
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers)


class HttpClient:
    """The run's HTTP client (one per run, in `ctx.http`; the runner closes it)."""

    def __init__(self, ctx: ProbeContext) -> None:
        self._ctx = ctx
        ssl_context = _shared_unverified_context() if ctx.options.insecure else ctx.trust.context
        self._transport = DoctorTransport(
            ssl_context=ssl_context,
            pins={(pin.host, pin.port): pin.address for pin in ctx.options.resolve},
            proxy=ctx.options.proxy,
            trust_env=True,
        )
        # trust_env=False: the transport reads the proxy environment itself; nothing else of
        # the environment (netrc, SSL_CERT_FILE) may change what this client sends or trusts.
        self._client = httpx.AsyncClient(
            transport=self._transport,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
            timeout=ctx.options.timeout,
        )
        self.exchanges: list[Exchange] = []
        """Every exchange of the run, in completion order (redacted)."""
        self.target_tls: TlsInfo | None = None
        """The TLS facts of the first https connection to the target."""

    @classmethod
    def for_context(cls, ctx: ProbeContext) -> HttpClient:
        """The run's client, built on first use and kept in `ctx.http`."""
        if not isinstance(ctx.http, HttpClient):
            ctx.http = cls(ctx)
        client: HttpClient = ctx.http
        return client

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        url_or_path: str,
        *,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        auth: Literal["token", "none"] | str = "token",
        json: Any = None,
        content: bytes | None = None,
        accept: str | None = SCIM_JSON,
        timeout: float | None = None,
    ) -> HttpResult:
        """Send one request and read its response (never raises for network trouble).

        `url_or_path`: an absolute URL, or a path relative to the base URL ('/Users?count=1').
        `auth`: "token" sends `Authorization: Bearer <token>`; "none" sends none; any other
        string is sent as the raw Authorization value (negative probes: 'non-token').
        `json` is sent as application/scim+json; `content` as raw bytes (with your own
        Content-Type in `headers`). `accept=None` sends no Accept header. `headers` win over
        everything built from the other arguments. `timeout` (seconds) replaces --timeout for
        this request; the run's deadline still caps it.
        """
        ctx = self._ctx
        started = time.perf_counter()
        method = method.upper()
        relative = url_or_path == "" or url_or_path.startswith(("/", "?"))
        url_text = ctx.target.url(url_or_path) if relative else url_or_path

        outgoing: list[tuple[str, str]] = []
        if accept is not None:
            outgoing.append(("Accept", accept))
        body = content
        if json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False).encode("utf-8")
            outgoing.append(("Content-Type", SCIM_JSON))
        if auth == "token":
            if ctx.token is None:
                return self._refused(
                    method, url_text, outgoing, started, ErrorKind.NO_TOKEN,
                    "not sent: the request needs the token and none was given",
                )  # fmt: skip
            outgoing.append(("Authorization", f"Bearer {ctx.token.reveal()}"))
        elif auth != "none":
            outgoing.append(("Authorization", auth))
        for name, value in _header_items(headers):
            outgoing = [(n, v) for n, v in outgoing if n.lower() != name.lower()]
            outgoing.append((name, value))

        try:
            url = httpx.URL(url_text)
            if url.scheme not in ("http", "https") or not url.host:
                raise httpx.InvalidURL("only absolute http:// and https:// URLs can be requested")
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            return self._refused(
                method, url_text, outgoing, started, ErrorKind.INVALID_REQUEST,
                redact(f"not sent: invalid URL {url_text}: {exc}"),
            )  # fmt: skip
        unsafe = self._unsafe(url, outgoing, body)
        if unsafe is not None:
            return self._refused(method, url_text, outgoing, started, ErrorKind.UNSAFE, unsafe)

        wanted = ctx.options.timeout if timeout is None else timeout
        budget = (
            ctx.step_timeout() if timeout is None else max(0.001, min(timeout, ctx.remaining()))
        )
        progress = _Progress(started)
        try:
            request = self._client.build_request(
                method,
                url,
                headers=outgoing,
                content=body,
                timeout=httpx.Timeout(budget),
                extensions={"trace": progress.trace},
            )
        except Exception as exc:  # whatever httpx rejects becomes a result
            failure = classify(exc)
            return self._refused(
                method, url_text, outgoing, started, ErrorKind.INVALID_REQUEST,
                f"not sent: {failure.message}",
            )  # fmt: skip
        if accept is None and not any(n.lower() == "accept" for n, _ in outgoing):
            del request.headers["Accept"]

        error: HttpError | None = None
        try:
            await asyncio.wait_for(self._exchange(request, progress), budget)
        except asyncio.TimeoutError:
            error = self._timeout(progress, budget, wanted)
        except Exception as exc:  # every network failure becomes a result
            error = classify(exc)
            if error.kind is ErrorKind.TIMEOUT:
                error = self._timeout(progress, budget, wanted)
        if error is None and progress.body is not None and progress.body.error is not None:
            error = HttpError(ErrorKind.DECODING, redact(progress.body.error))
        return self._finish(request, progress, error)

    async def _exchange(self, request: httpx.Request, progress: _Progress) -> None:
        response = await self._client.send(request, stream=True)
        progress.response = response
        progress.tls, progress.remote = connection_facts(response)
        body = CappedBody(response.headers.get("content-encoding"), self._ctx.options.max_body)
        progress.body = body
        try:
            async for chunk in response.aiter_raw():
                body.feed(chunk)
                if body.done:
                    break
            else:
                body.finish()
        finally:
            await response.aclose()

    def _unsafe(
        self, url: httpx.URL, outgoing: list[tuple[str, str]], body: bytes | None
    ) -> str | None:
        """Why this request must not be sent (credentials leaving https://target), else None."""
        token = self._ctx.token.reveal() if self._ctx.token else ""
        credential_header = any(name.lower() in SENSITIVE_HEADERS for name, _ in outgoing)
        forms = {token, urllib.parse.quote(token, safe=""), urllib.parse.quote_plus(token)}
        token_inside = len(token) >= 4 and (
            any(form in str(url) for form in forms)
            or any(token in value for _, value in outgoing)
            or (body is not None and token.encode("utf-8", "surrogatepass") in body)
        )
        if not (credential_header or token_inside):
            return None
        target = self._ctx.target
        host = url.raw_host.decode("ascii").lower()
        port = url.port or (443 if url.scheme == "https" else 80)
        where = redact(f"{url.scheme}://{url.netloc.decode('ascii')}")
        if url.scheme != "https":
            return (
                "not sent: credentials are only ever sent over https, and this request goes "
                f"to {where}"
            )
        if host != target.host or port != target.port:
            return (
                f"not sent: credentials are only ever sent to the target "
                f"{target.host}:{target.port}, and this request goes to {where}"
            )
        return None

    def _timeout(self, progress: _Progress, budget: float, wanted: float) -> HttpError:
        message = f"no complete response within {budget:.3g} s: timed out {progress.phase()}"
        if budget < wanted:
            message += " (the run's --deadline was nearly spent)"
        return HttpError(ErrorKind.TIMEOUT, message)

    def _finish(
        self, request: httpx.Request, progress: _Progress, error: HttpError | None
    ) -> HttpResult:
        response = progress.response
        headers = response.headers if response is not None else httpx.Headers()
        capped = progress.body
        body = bytes(capped.body) if capped is not None else b""
        too_large = capped is not None and capped.too_large
        timings = progress.timings()
        excerpt = redact(decode_text(body[:_REDACT_WINDOW], headers.get("content-type")))
        cut_short = error is not None and error.kind is ErrorKind.TIMEOUT and response is not None
        exchange = Exchange(
            method=request.method,
            url=redact(str(request.url)),
            request_headers=redact_headers(_as_sent(request.headers)),
            status=response.status_code if response is not None else None,
            http_version=response.http_version if response is not None else None,
            response_headers=redact_headers(_as_sent(headers)),
            body_excerpt=excerpt[:EXCERPT_CHARS],
            body_bytes=len(body),
            body_truncated=too_large or cut_short,
            timings_ms=timings,
            error=redact(error.message) if error else None,
        )
        self.exchanges.append(exchange)
        target = self._ctx.target
        if (
            progress.tls is not None
            and self.target_tls is None
            and request.url.raw_host.decode("ascii").lower() == target.host
            and (request.url.port or 443) == target.port
        ):
            self.target_tls = progress.tls
        proxy = self._transport.proxy_for(request.url)
        return HttpResult(
            method=request.method,
            url=exchange.url,
            status=exchange.status,
            reason=response.reason_phrase if response is not None else "",
            http_version=exchange.http_version,
            headers=headers,
            body=body,
            too_large=too_large,
            error=error,
            retry_after=parse_retry_after(headers.get("retry-after"), date=headers.get("date")),
            tls=progress.tls,
            remote_address=progress.remote,
            proxy=redact(proxy) if proxy else None,
            timings_ms=timings,
            exchange=exchange,
        )

    def _refused(
        self,
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
        )
        self.exchanges.append(exchange)
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
