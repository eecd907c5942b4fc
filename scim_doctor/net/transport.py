"""How the run's HTTP requests reach the wire: --resolve pins, proxies, one bounded pool.

Why our own `httpx.AsyncBaseTransport` over `httpcore.AsyncConnectionPool` rather than
`httpx.AsyncHTTPTransport`: only the httpcore pool accepts a `network_backend`, and a backend is
the one place where curl's `--resolve HOST:PORT:ADDR` can be honoured exactly. `connect_tcp` is
the only call that sees an address; the connection keeps the URL's host for the TLS SNI, the
certificate's host name check and the Host header, so a pinned request is indistinguishable from
one whose DNS answered ADDR. Rewriting the URL to the address instead would break all three, and
patching `getaddrinfo` would leak into the whole process. Everything used here is public
httpcore/httpx API (`AsyncConnectionPool(network_backend=..., proxy=...)`, `AnyIOBackend`,
`Proxy`); the request/response mapping mirrors what `httpx.AsyncHTTPTransport` does.

HTTP/2: offered through ALPN on every TLS connection (`http2=True`), used where the server picks
it; a server that offers nothing or http/1.1 gets HTTP/1.1. httpcore imports `h2` (and hpack,
hyperframe) only when a connection has negotiated it, so a run against an HTTP/1.1 server never
loads them. Each exchange records the version it went over (transcript, HAR `httpVersion`).

Proxies: each request asks the run's `ProxyRules` (net/proxy.py: `--proxy`, `--noproxy`,
`--proxy-pac` and the environment, as curl reads them) for its route, so the HTTP client goes
where the proxy and TLS checks went. A tunnelled request's TLS runs end-to-end with the target,
so the token never shows in clear to the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import importlib
import importlib.util
import select
import ssl
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import anyio.abc
import httpcore
import httpx
from httpcore._backends.anyio import AnyIOStream  # the stream httpcore's own backend returns

from scim_doctor.core.secrets import redact
from scim_doctor.core.timeouts import within
from scim_doctor.net import head_start
from scim_doctor.net.failures import ProxyConfigError
from scim_doctor.net.proxy import ProxyRules

# anyio imports its stream classes and its asyncio backend lazily, on the run's first
# connection: some 50 ms of imports that every first request of the checks after `tls` would
# wait for together, on the run's critical path. They load with this module instead (the
# backend is the module `anyio.get_async_backend()` imports under asyncio).
for _name in (
    "anyio.abc",
    "anyio.lowlevel",
    "anyio.streams.memory",
    "anyio.streams.stapled",
    "anyio.streams.tls",
    "anyio._backends._asyncio",
):
    with contextlib.suppress(ImportError):
        importlib.import_module(_name)

POOL_CONNECTIONS = 20
"""Connections per pool. Once `tls` has verified the certificate, six checks (redirect, auth,
negotiation, users, discovery, errors) send their first requests at once: 16 to the base URL's
origin and one to its plain-HTTP port, on connections opened ahead (`PinnedBackend.warm`); the
second wave reuses them. Fewer connections make a far-away target's requests queue for round
trips."""
KEEPALIVE_EXPIRY = 5.0

Origin = tuple[str, str, int]
"""(scheme, lower-case host, port) of a request's URL."""

_direct_origin: contextvars.ContextVar[Origin | None] = contextvars.ContextVar(
    "_direct_origin", default=None
)
"""The origin the request being sent in this task goes to directly (None through a proxy): only
such a request may take a warmed connection. httpcore opens a request's connection in the
request's own task, so the backend sees it."""


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the pinned address for a pinned HOST:PORT, to HOST itself otherwise."""

    def __init__(
        self,
        pins: Mapping[tuple[str, int], str],
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._pins = {(host.lower(), port): address for (host, port), address in pins.items()}
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()
        self._warm: dict[Origin, list[asyncio.Task[_Stream]]] = {}
        self._closing: list[asyncio.Future[None]] = []

    def warm(self, origin: Origin, count: int, ssl_context: ssl.SSLContext, timeout: float) -> None:
        """Open `count` connections to `origin` now, for requests that will want them: TCP,
        and for https the TLS handshake exactly as httpcore makes it (this context, the host
        as SNI and name to verify; a certificate that does not verify leaves no connection).
        A request to the origin takes one instead of connecting (`connect_tcp`)."""
        scheme, host, port = origin
        tasks = self._warm.setdefault(origin, [])
        for _ in range(count):
            tls = (ssl_context, host) if scheme == "https" else None
            tasks.append(asyncio.ensure_future(self._open(host, port, tls, timeout)))

    async def _open(
        self, host: str, port: int, tls: tuple[ssl.SSLContext, str] | None, timeout: float
    ) -> _Stream:
        stream = _Stream(await self._connect_early(host, port, timeout))
        if tls is None:
            return stream
        context, server_hostname = tls
        try:
            secured = await stream.start_tls(context, server_hostname, timeout)
        except BaseException:  # cancelled too (the run ended first): close the socket now
            with contextlib.suppress(Exception):
                await asyncio.shield(stream.aclose())
            raise
        return _Stream(secured, stream.get_extra_info("socket"), warmed=tls)

    async def _connect_early(
        self, host: str, port: int, timeout: float
    ) -> httpcore.AsyncNetworkStream:
        """TCP for a warmed connection: one the head start opened while the run's modules
        imported (net.head_start), else a connection made now."""
        address = self.address_for(host, port)
        spare = head_start.take_spare(address, port)
        try:
            sock = await within(asyncio.wrap_future(spare), timeout) if spare else None
        except asyncio.TimeoutError:
            raise httpcore.ConnectTimeout("timed out waiting for a connection") from None
        if sock is None:
            return await self._inner.connect_tcp(address, port, timeout=timeout)
        try:
            return AnyIOStream(await anyio.abc.SocketStream.from_socket(sock))
        except BaseException:
            sock.close()
            raise

    async def _take_warm(self, host: str, port: int, timeout: float | None) -> _Stream | None:
        """A warmed connection for the request being sent, if it goes directly to this host
        and port and one was opened (waiting for it if its handshake is under way; None when
        it failed: the request then connects itself and meets the failure its own way)."""
        origin = _direct_origin.get()
        if origin is None or origin[1:] != (host.lower().strip("[]"), port):
            return None
        tasks = self._warm.get(origin)
        while tasks:
            task = tasks.pop(0)
            try:
                stream = await asyncio.wait_for(asyncio.shield(task), timeout)
            except asyncio.TimeoutError:
                tasks.append(task)  # still opening: closed with the transport
                raise httpcore.ConnectTimeout("timed out waiting for a connection") from None
            except asyncio.CancelledError:
                if not task.done() or not task.cancelled():
                    tasks.insert(0, task)  # another request (or the transport's close) takes it
                raise
            except Exception:  # noqa: S112 - the request connects on its own and reports why
                continue
            if stream.alpn() == "h2":
                # httpcore sends every later request to this origin over this one connection:
                # the others would idle until the run ends, holding a server's connection slots.
                self._closing.append(asyncio.ensure_future(_close_all(tasks[:])))
                tasks.clear()
            return stream
        return None

    async def aclose(self) -> None:
        """Close the warmed connections no request took (and stop those still opening)."""
        tasks = [task for waiting in self._warm.values() for task in waiting]
        self._warm.clear()
        await _close_all(tasks)
        await asyncio.gather(*self._closing, return_exceptions=True)

    def address_for(self, host: str, port: int) -> str:
        """The pin for HOST:PORT, else a pin for HOST on another port (as
        `ProbeContext.pinned_address` does: the http:// counterpart of a pinned https target
        must reach the same server, not look the name up), else HOST itself."""
        name = host.lower().strip("[]")
        exact = self._pins.get((name, port))
        if exact is not None:
            return exact
        return next((addr for (pinned, _), addr in self._pins.items() if pinned == name), host)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        warmed = await self._take_warm(host, port, timeout)
        if warmed is not None:
            return warmed
        stream = await self._inner.connect_tcp(
            self.address_for(host, port),
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )
        return _Stream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover - never used: no --unix-socket option
        return await self._inner.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )

    async def sleep(self, seconds: float) -> None:  # pragma: no cover - only httpcore retries
        await self._inner.sleep(seconds)


async def _close_all(tasks: list[asyncio.Task[_Stream]]) -> None:
    """Stop warmed connections still opening and close those open."""
    for task in tasks:
        task.cancel()
    for result in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(result, _Stream):
            with contextlib.suppress(Exception):
                await result.aclose()


class _Stream(httpcore.AsyncNetworkStream):
    """A connection whose socket is looked up once.

    Before each request httpcore asks every idle connection of the pool whether its socket is
    readable (the server closed it); anyio answers by rebuilding a table of attributes over
    every layer of the stream each time, a third of the pool's CPU in a run of full checks.
    The socket does not change (TLS wraps the same one), so it is kept and polled directly.
    """

    def __init__(
        self,
        inner: httpcore.AsyncNetworkStream,
        sock: Any = None,
        warmed: tuple[ssl.SSLContext, str] | None = None,
    ) -> None:
        self._inner = inner
        self._socket = sock if sock is not None else inner.get_extra_info("socket")
        self._warmed = warmed
        """(context, server name) of the TLS handshake already made on a warmed connection."""
        self._tls: ssl.SSLObject | None = inner.get_extra_info("ssl_object")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = await self._inner.read(max_bytes, timeout)
        if self._tls is None or not data or len(data) >= max_bytes:
            return data
        return _drained(self._tls, data, max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self._warmed is not None:
            if self._warmed != (ssl_context, server_hostname):  # pragma: no cover - never: one
                await self.aclose()  # context per transport, the URL's host as SNI
                raise httpcore.ConnectError("a warmed connection was made for another handshake")
            return self  # the very handshake httpcore asks for, already made
        wrapped = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return _Stream(wrapped, self._socket)

    def alpn(self) -> str | None:
        """The protocol the TLS handshake agreed on (None over plain TCP or without ALPN)."""
        return self._tls.selected_alpn_protocol() if self._tls is not None else None

    def get_extra_info(self, info: str) -> Any:
        if info == "socket":
            return self._socket
        if info == "is_readable":
            return _readable_or_closed(self._socket)
        return self._inner.get_extra_info(info)


def _drained(tls: ssl.SSLObject, data: bytes, max_bytes: int) -> bytes:
    """`data` and what else the TLS layer can decrypt at once, up to `max_bytes`.

    A TLS read gives one record, at most 16 KiB, though one socket read brings several: a
    large body then went through anyio, h11, httpcore, httpx and the capped reader 16 KiB at a
    time, and that per-piece overhead was a third of a deep sweep's CPU. The records already
    received are read here directly from the same SSLObject; the first one still incomplete
    (SSLWantReadError) or anything else the TLS layer has to say (an alert, the peer's
    close_notify) is left to the next read, which meets it as anyio would have."""
    parts = [data]
    size = len(data)
    while size < max_bytes:
        try:
            more = tls.read(max_bytes - size)
        except ssl.SSLError:
            break
        if not more:
            break
        parts.append(more)
        size += len(more)
    return data if len(parts) == 1 else b"".join(parts)


def _readable_or_closed(sock: Any) -> bool:
    """What httpcore's own check answers: True when the peer sent something or hung up (an
    idle HTTP/1.1 connection that is readable can only be closing), or the socket is gone."""
    if sock is None or sock.fileno() < 0:
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([sock], [], [], 0)  # pragma: no cover - Windows
    return bool(readable)


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        if hasattr(self._stream, "aclose"):
            await self._stream.aclose()


def _httpcore_proxy(proxy_url: str, ssl_context: ssl.SSLContext) -> httpcore.Proxy:
    try:
        proxy = httpx.Proxy(proxy_url)
    except (ValueError, httpx.InvalidURL) as exc:
        raise ProxyConfigError(f"proxy {redact(proxy_url)} cannot be used: {exc}") from None
    scheme = proxy.url.scheme
    if scheme in ("socks5", "socks5h") and importlib.util.find_spec("socksio") is None:
        raise ProxyConfigError(
            f"proxy {redact(proxy_url)} is a SOCKS proxy, which needs the 'socksio' package"
        )
    return httpcore.Proxy(
        url=httpcore.URL(
            scheme=proxy.url.raw_scheme,
            host=proxy.url.raw_host,
            port=proxy.url.port,
            target=proxy.url.raw_path,
        ),
        auth=proxy.raw_auth,
        headers=proxy.headers.raw,
        # An https:// proxy is verified with the same roots as the target (--cacert applies).
        ssl_context=ssl_context if scheme == "https" else None,
    )


class DoctorTransport(httpx.AsyncBaseTransport):
    """One bounded connection pool per proxy route (direct, or via a proxy), created on demand."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        pins: Mapping[tuple[str, int], str],
        rules: ProxyRules,
        max_connections: int = POOL_CONNECTIONS,
    ) -> None:
        self._ssl_context = ssl_context
        self._backend = PinnedBackend(pins)
        self._rules = rules
        self._max_connections = max_connections
        self._pools: dict[str | None, httpcore.AsyncConnectionPool] = {}

    def proxy_for(self, url: httpx.URL) -> str | None:
        """The proxy URL a request to `url` goes through (None: direct); the same route every
        other connection of the run takes (`ProxyRules`). Raises ProxyConfigError when the
        setting cannot be used."""
        proxy = self._rules.route(str(url)).proxy
        return proxy.url if proxy is not None else None

    def warm(self, url: httpx.URL, count: int, timeout: float) -> None:
        """Open `count` connections to the origin of `url` ahead of the requests that will use
        them (`PinnedBackend.warm`), when requests there go direct: through a proxy, nothing."""
        try:
            if count <= 0 or self.proxy_for(url) is not None:
                return
        except ProxyConfigError:
            return
        origin = (url.scheme, url.raw_host.decode("ascii").lower(), url.port or _PORTS[url.scheme])
        self._backend.warm(origin, min(count, self._max_connections), self._ssl_context, timeout)

    def _pool(self, proxy_url: str | None) -> httpcore.AsyncConnectionPool:
        pool = self._pools.get(proxy_url)
        if pool is None:
            proxy = _httpcore_proxy(proxy_url, self._ssl_context) if proxy_url else None
            pool = httpcore.AsyncConnectionPool(
                ssl_context=self._ssl_context,
                proxy=proxy,
                http2=True,
                max_connections=self._max_connections,
                max_keepalive_connections=self._max_connections,
                keepalive_expiry=KEEPALIVE_EXPIRY,
                network_backend=self._backend,
            )
            self._pools[proxy_url] = pool
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)  # noqa: S101 - httpx guarantees it
        proxy = self.proxy_for(request.url)
        pool = self._pool(proxy)
        url = request.url
        host = url.raw_host.decode("ascii").lower()
        _direct_origin.set(None if proxy else (url.scheme, host, url.port or _PORTS[url.scheme]))
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        response = await pool.handle_async_request(core_request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._backend.aclose()
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


_PORTS = {"https": 443, "http": 80}
