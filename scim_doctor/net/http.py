"""The run's one HTTP client: every HTTP-level probe asks its questions through `request()`
(or `stream()`, for bodies too large to hold: the deep sweep's pages).

It exists so that no probe can get the dangerous parts wrong:
- the token goes only over https to exactly the target's host and port; anything else is
  refused here, before a byte is sent (`ErrorKind.UNSAFE`), whatever the probe asked for;
- no body is read unbounded: decoded size (after gzip/deflate) is capped at --max-body while
  streaming, so neither a 200 MiB answer nor a gzip bomb inflates in memory; `stream()` hands
  a body on in pieces of at most 256 KiB and keeps none of it but the excerpt;
- each request has one deadline for connect + headers + the whole body (httpx's read timeout is
  per read, so a one-byte-per-second trickle would never trip it), and it is never past the run's;
- every failure is a result with a kind and a clean line, never an exception or a traceback;
- every exchange is recorded as a redacted `Exchange`, with curl-style timings and the TLS facts
  of the connection that carried it.

Redirects are never followed: the redirect probe walks hops itself. Retry-After is parsed and
reported, never slept on. Transport details (--resolve pins, proxies, the pool) live in
`transport`; pure body helpers (JSON, charsets, media types) in `body`; the result type and
the cross-cutting `http.*` findings in `result`; error kinds in `failures`; what a request
carries and whether it may be sent in `outgoing`; how far it got and its redacted record in
`exchange`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import ssl
import sys
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal

import httpx

from scim_doctor import __version__
from scim_doctor.core.model import Exchange
from scim_doctor.core.secrets import redact
from scim_doctor.core.timeouts import within
from scim_doctor.net.body import SCIM_JSON, CappedBody, StreamingBody
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.exchange import (
    EXCERPT_CHARS,
    BodySeen,
    Progress,
    answered,
    refusal,
    timed_out,
    transcript,
)
from scim_doctor.net.failures import ErrorKind, HttpError, ProxyConfigError, classify
from scim_doctor.net.outgoing import (
    Prepared,
    absolute_url,
    content_headers,
    unsafe,
    with_caller_headers,
)
from scim_doctor.net.result import HttpResult, TlsInfo, common_findings, connection_facts
from scim_doctor.net.transport import DoctorTransport
from scim_doctor.net.trust import unverified_context

__all__ = [
    "SCIM_JSON",
    "ErrorKind",
    "HttpClient",
    "HttpError",
    "HttpResult",
    "HttpStream",
    "TlsInfo",
    "common_findings",
]

# httpcore runs `import sniffio` whenever it makes a lock, several times a request. Without
# sniffio installed that import fails, and Python does not remember failures: each is a search
# of sys.path costing about a millisecond, most of a request's CPU time on loopback (a deep
# sweep of 1,000 pages spent seconds there). Remembering the absence makes the same
# ImportError immediate; httpcore then picks asyncio, exactly as before.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

USER_AGENT = f"scim-doctor/{__version__}"
_STREAM_HEAD = 8 * 1024
"""Bytes of a streamed body kept for its result: an error document whole."""
_STREAM_WINDOW = EXCERPT_CHARS + 2048
"""A streamed body's excerpt is redacted over this many characters: room past the excerpt for
a secret (a long JWT) starting inside it. Redacting 64 KiB, as `request()` does, takes about
a millisecond: more than reading a page of 100 users, over each of a sweep's 1,000 pages."""

_unverified_lock = threading.Lock()
_unverified: ssl.SSLContext | None = None


def _shared_unverified_context() -> ssl.SSLContext:
    """One unverified context per process, like the verifying one (building one costs ~ms)."""
    global _unverified
    with _unverified_lock:
        if _unverified is None:
            _unverified = unverified_context()
        return _unverified


class HttpClient:
    """The run's HTTP client (one per run, in `ctx.http`; the runner closes it)."""

    def __init__(self, ctx: ProbeContext) -> None:
        self._ctx = ctx
        ssl_context = ctx.trust.context
        if ctx.options.insecure:  # with --cert, a non-verifying context that still presents it
            ssl_context = ctx.trust.insecure_context or _shared_unverified_context()
        self._transport = DoctorTransport(
            ssl_context=ssl_context,
            pins={(pin.host, pin.port): pin.address for pin in ctx.options.resolve},
            rules=ctx.proxies,
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

    def warm(self, url: str, count: int) -> None:
        """Open `count` connections to the origin of `url` now, for requests that will go
        there: TCP, and for https the verified TLS handshake this client would make. Nothing
        is sent on them; a request takes one instead of connecting. Direct routes only."""
        try:
            parsed = absolute_url(url)
        except (httpx.InvalidURL, ValueError, TypeError):
            return
        self._transport.warm(parsed, count, self._ctx.step_timeout())

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
        prepared = self._prepare(method, url_or_path, headers, auth, json, content, accept, timeout)
        if isinstance(prepared, HttpResult):
            return prepared
        request, progress = prepared.request, prepared.progress
        error: HttpError | None = None
        try:
            await within(self._exchange(request, progress), prepared.budget)
        except asyncio.TimeoutError:
            error = self._timeout(progress, prepared.budget, prepared.wanted)
        except Exception as exc:  # every network failure becomes a result
            error = classify(exc)
            if error.kind is ErrorKind.TIMEOUT:
                error = self._timeout(progress, prepared.budget, prepared.wanted)
        except BaseException:  # cancelled: the body's temporary file goes now, not at GC
            if progress.body is not None:
                progress.body.close()
            raise
        capped = progress.body
        if error is None and capped is not None and capped.error is not None:
            error = HttpError(ErrorKind.DECODING, redact(capped.error))
        body = capped.contents() if capped is not None else b""
        size = capped.size if capped is not None else 0
        too_large = capped is not None and capped.too_large
        cut_short = error is not None and error.kind is ErrorKind.TIMEOUT
        seen = BodySeen(body, size, too_large, too_large or cut_short)
        return self._finish(request, progress, error, seen)

    def stream(
        self,
        method: str,
        url_or_path: str,
        *,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        auth: Literal["token", "none"] | str = "token",
        accept: str | None = SCIM_JSON,
        timeout: float | None = None,
        limit: int | None = None,
        record: bool = True,
    ) -> HttpStream:
        """Send one request and hand its body on piece by piece, for bodies too large to hold.

            async with client.stream("GET", "/Users?count=100000") as response:
                if response.status == 200:
                    async for piece in response.chunks():
                        parser.feed(piece)
            result = response.result

        Same rules as `request()` (same arguments, minus a request body): the token only over
        https to the target, refusals and failures as `error` (never an exception), one budget
        of `timeout` (default --timeout, never past the run's deadline) for connecting, the
        headers and every wait for the next piece. The time the reader spends between pieces
        is not charged to the server. Pieces are decoded (gzip, deflate) and at most 256 KiB;
        `limit` caps the decoded bytes handed on (default --max-body). On leaving the block
        the response is closed and the exchange recorded (redacted, with an excerpt of the
        first bytes), as `result`. `record=False` leaves it out of the run's transcript
        (`exchanges`): for a caller that makes thousands of requests and keeps a sample.
        """
        prepared = self._prepare(method, url_or_path, headers, auth, None, None, accept, timeout)
        cap = self._ctx.options.max_body if limit is None else limit
        return HttpStream(self, prepared, cap, record=record)

    def _prepare(
        self,
        method: str,
        url_or_path: str,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] | None,
        auth: Literal["token", "none"] | str,
        json: Any,
        content: bytes | None,
        accept: str | None,
        timeout: float | None,
    ) -> Prepared | HttpResult:
        """The request ready to send, or the result of refusing it (unsafe, no token, invalid)."""
        ctx = self._ctx
        started = time.perf_counter()
        method = method.upper()
        relative = url_or_path == "" or url_or_path.startswith(("/", "?"))
        url_text = ctx.target.url(url_or_path) if relative else url_or_path

        outgoing, body = content_headers(accept, json, content)
        if auth == "token":
            if ctx.token is None:
                return self._refused(
                    method, url_text, outgoing, started, ErrorKind.NO_TOKEN,
                    "not sent: the request needs the token and none was given",
                )  # fmt: skip
            outgoing.append(("Authorization", f"Bearer {ctx.token.reveal()}"))
        elif auth != "none":
            outgoing.append(("Authorization", auth))
        outgoing = with_caller_headers(outgoing, headers)

        try:
            url = absolute_url(url_text)
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            return self._refused(
                method, url_text, outgoing, started, ErrorKind.INVALID_REQUEST,
                redact(f"not sent: invalid URL {url_text}: {exc}"),
            )  # fmt: skip
        why_not = unsafe(url, outgoing, body, ctx.token, ctx.target)
        if why_not is not None:
            return self._refused(method, url_text, outgoing, started, ErrorKind.UNSAFE, why_not)

        wanted = ctx.options.timeout if timeout is None else timeout
        budget = (
            ctx.step_timeout() if timeout is None else max(0.001, min(timeout, ctx.remaining()))
        )
        progress = Progress(started)
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
        return Prepared(request, progress, budget, wanted)

    async def _exchange(self, request: httpx.Request, progress: Progress) -> None:
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

    def _timeout(self, progress: Progress, budget: float, wanted: float) -> HttpError:
        return timed_out(progress, budget, wanted)

    def _finish(
        self,
        request: httpx.Request,
        progress: Progress,
        error: HttpError | None,
        seen: BodySeen,
        *,
        record: bool = True,
    ) -> HttpResult:
        """Record a sent request (unless `record` is off) and build its result; the first
        https connection to the target gives the run its TLS facts."""
        exchange = transcript(request, progress, error, seen)
        if record:
            self.exchanges.append(exchange)
        target = self._ctx.target
        if (
            progress.tls is not None
            and self.target_tls is None
            and request.url.raw_host.decode("ascii").lower() == target.host
            and (request.url.port or 443) == target.port
        ):
            self.target_tls = progress.tls
        try:
            proxy = self._transport.proxy_for(request.url)
        except ProxyConfigError:
            proxy = None  # the request failed with that reason already
        return answered(exchange, progress, error, seen, proxy)

    def _refused(
        self,
        method: str,
        url_text: str,
        outgoing: list[tuple[str, str]],
        started: float,
        kind: ErrorKind,
        message: str,
    ) -> HttpResult:
        """A result for a request that was never sent, recorded with what it would have
        carried."""
        result = refusal(method, url_text, outgoing, started, kind, message)
        self.exchanges.append(result.exchange)
        return result


class HttpStream:
    """One response read piece by piece (see `HttpClient.stream`): an async context manager.

    Inside the block: `status`, `reason`, `headers` (None / empty when no response came, then
    `error` says why) and `chunks()`. After it: `result`, an `HttpResult` whose `body` holds
    the first 8 KiB of the decoded body (all of it for a short one, such as an error
    document), `complete` (the body was read to its end) and `received` (decoded bytes).
    """

    def __init__(
        self,
        client: HttpClient,
        prepared: Prepared | HttpResult,
        limit: int,
        *,
        record: bool = True,
    ) -> None:
        self._client = client
        self._record = record
        self._prepared = prepared if isinstance(prepared, Prepared) else None
        self.result: HttpResult | None = prepared if isinstance(prepared, HttpResult) else None
        self.error: HttpError | None = self.result.error if self.result is not None else None
        self._limit = limit
        self._response: httpx.Response | None = None
        self._body: StreamingBody | None = None
        self._head = bytearray()
        self._waited = 0.0
        self._pieces: AsyncIterator[bytes] | None = None
        self.complete = False
        self.received = 0

    # what arrived

    @property
    def status(self) -> int | None:
        return self._response.status_code if self._response is not None else None

    @property
    def reason(self) -> str:
        return self._response.reason_phrase if self._response is not None else ""

    @property
    def headers(self) -> httpx.Headers:
        return self._response.headers if self._response is not None else httpx.Headers()

    @property
    def content_type(self) -> str | None:
        value = self.headers.get("content-type")
        return None if value is None else str(value)

    @property
    def too_large(self) -> bool:
        """The body went past `limit`; only that much was handed on."""
        return self._body is not None and self._body.too_large

    # the exchange

    async def __aenter__(self) -> HttpStream:
        prepared = self._prepared
        if prepared is None:
            return self
        started = time.perf_counter()
        try:
            response = await within(
                self._client._client.send(prepared.request, stream=True), prepared.budget
            )
        except asyncio.TimeoutError:
            self._fail_timeout()
        except Exception as exc:  # every network failure becomes a result
            self.error = classify(exc)
            if self.error.kind is ErrorKind.TIMEOUT:
                self._fail_timeout()
        else:
            self._response = prepared.progress.response = response
            prepared.progress.tls, prepared.progress.remote = connection_facts(response)
            self._body = StreamingBody(response.headers.get("content-encoding"), self._limit)
        self._waited = time.perf_counter() - started
        return self

    def chunks(self) -> AsyncIterator[bytes]:
        """The decoded body, piece by piece, until its end, `limit`, an error or the budget."""
        if self._pieces is None:
            self._pieces = self._read()
        return self._pieces

    async def _read(self) -> AsyncIterator[bytes]:
        prepared, response, body = self._prepared, self._response, self._body
        if prepared is None or response is None or body is None or self.error is not None:
            return
        raw = response.aiter_raw()
        ctx = self._client._ctx
        while not body.done:
            left = min(prepared.budget - self._waited, ctx.remaining())
            if left <= 0:
                self._fail_timeout()
                return
            started = time.perf_counter()
            try:
                data = await within(raw.__anext__(), left)
            except StopAsyncIteration:
                body.finish()
                break
            except asyncio.TimeoutError:
                self._fail_timeout()
                return
            except Exception as exc:  # every network failure becomes a result
                self.error = classify(exc)
                if self.error.kind is ErrorKind.TIMEOUT:
                    self._fail_timeout()
                return
            finally:
                self._waited += time.perf_counter() - started
            for piece in body.feed(data):
                self._keep(piece)
                yield piece
        if body.error is not None:
            self.error = HttpError(ErrorKind.DECODING, redact(body.error))
        self.complete = self.error is None and not body.too_large

    def _keep(self, piece: bytes) -> None:
        self.received += len(piece)
        if self._prepared is not None:
            self._prepared.progress.received = self.received
        room = _STREAM_HEAD - len(self._head)
        if room > 0:
            self._head += piece[:room]

    def _fail_timeout(self) -> None:
        prepared = self._prepared
        if prepared is not None:
            self.error = self._client._timeout(prepared.progress, prepared.budget, prepared.wanted)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        prepared = self._prepared
        if prepared is None or self.result is not None:
            return
        try:
            if exc is None and self._pieces is None and self._response is not None:
                # An unread body (an error document, say) still belongs in the transcript:
                # read its first bytes, as `request()` would have.
                async for _ in self.chunks():
                    if len(self._head) >= _STREAM_HEAD:
                        break
            if isinstance(self._pieces, AsyncGenerator):
                await self._pieces.aclose()
            if self._response is not None:
                await self._response.aclose()
        except Exception as failure:  # closing a broken connection must not raise
            if self.error is None:
                self.error = classify(failure)
        finally:
            if self.error is None and exc is not None and self._response is not None:
                if isinstance(exc, asyncio.CancelledError):
                    self.error = HttpError(ErrorKind.TIMEOUT, "cancelled while reading the body")
            seen = BodySeen(
                bytes(self._head), self.received, self.too_large, not self.complete, _STREAM_WINDOW
            )
            self.result = self._client._finish(
                prepared.request, prepared.progress, self.error, seen, record=self._record
            )
