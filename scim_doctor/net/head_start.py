"""The target's name lookup and first TCP connection, begun while the run's modules import.

A check of one far-away endpoint starts by waiting for the network: the name, then the TCP
handshake, one round trip each. The process spends its first ~0.15 s importing httpx,
cryptography and the checks, on the CPU. Begun in a daemon thread as soon as the command line
is read, the two overlap (issue 21: a whole check in 4 round trips plus start-up). Nothing is
sent on the connection: it is the connect check's first attempt, made early, and the tls check
handshakes on it as before. The dns and connect checks take the answers from here
(`take_lookup`, `take_connection`) and judge them exactly as if they had waited themselves; an
attempt that failed here is made again by the check, so every failure is diagnosed the usual
way. Standard library only, besides net.target and msgspec (both loaded already to read the
URL): this module loads before everything it saves time for.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import threading
import time
from concurrent.futures import Future, InvalidStateError
from typing import Any

from msgspec import Struct

from scim_doctor.net.target import never_exists

SPARES = 16
"""Connections the pool warms to the base URL's origin in a default run (the first requests of
the WARMING checks: tests/test_head_start.py checks the sum). Fewer wanted: the rest are
closed when the run ends."""
WARMING = frozenset({"redirect", "auth", "negotiation", "users", "discovery", "errors"})
"""The checks whose first requests go out on warmed connections (`Probe.connections`)."""

_lock = threading.Lock()
_started: dict[tuple[str, int], HeadStart] = {}


class Connected(Struct, frozen=True):
    """The early TCP connection: its socket and how long its handshake took."""

    sock: socket.socket
    address: str
    port: int
    ms: float


class HeadStart:
    """One target's early lookup (or its pinned addresses) and first connection."""

    def __init__(
        self, name: str, port: int, known: list[str], timeout: float, spares: int = SPARES
    ) -> None:
        self.host = name.lower()
        self.port = port
        self.lookup: Future[list[Any]] | None = None
        """getaddrinfo's answer (None when the addresses are known: nothing to look up)."""
        self.lookup_ms: float | None = None
        self.connection: Future[Connected | None] = Future()
        self.spares: list[Future[socket.socket | None]] = [Future() for _ in range(spares)]
        """Connections for the pool to warm (PinnedBackend.warm), TLS not begun."""
        self.first_address: str | None = None
        self.lookup_taken = False
        self.connection_taken = False
        self._timeout = timeout
        self._known = known
        self._name = name
        if not known:
            self.lookup = Future()

    def run(self) -> None:
        """The thread: look the name up as `resolution.resolve` does, then open at once the
        connect check's first connection and the spares the pool warms (all to the first
        address, as the connect check's first attempt and httpcore would)."""
        first = self._first_address()
        self.first_address = first
        if first is None:
            for future in self._futures():
                _settle(future, None)
            return
        try:
            family, _, _, _, sockaddr = socket.getaddrinfo(
                first, self.port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
            )[0]
        except OSError:
            family, sockaddr = None, None
        started = time.monotonic()
        waiting: dict[int, tuple[socket.socket, Future[Any]]] = {}
        for future in self._futures():
            opening = _start_connect(family, sockaddr) if family is not None else None
            if opening is None:
                _settle(future, None)  # the connect check tries again and names the failure
            else:
                waiting[opening.fileno()] = (opening, future)
        with selectors.DefaultSelector() as selector:
            for opening, _ in waiting.values():
                selector.register(opening, selectors.EVENT_WRITE)
            while selector.get_map():
                ready = selector.select(max(0.0, started + self._timeout - time.monotonic()))
                if not ready:
                    break
                for key, _ in ready:
                    selector.unregister(key.fileobj)
                    self._connected(*waiting.pop(key.fd), first, started)
        for opening, future in waiting.values():  # no answer within the timeout
            opening.close()
            _settle(future, None)

    def _futures(self) -> list[Future[Any]]:
        return [self.connection, *self.spares]

    def _connected(
        self, sock: socket.socket, future: Future[Any], address: str, started: float
    ) -> None:
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            sock.close()
            _settle(future, None)
            return
        made: object = sock
        if future is self.connection:
            made = Connected(sock, address, self.port, _ms(started))
        if not _settle(future, made):
            sock.close()  # the check stopped waiting for it

    def _first_address(self) -> str | None:
        if self.lookup is None:
            return self._known[0]
        started = time.monotonic()
        try:
            infos = socket.getaddrinfo(self._name, self.port, type=socket.SOCK_STREAM)
        except BaseException as exc:  # the dns check reports it, from the future
            self.lookup_ms = _ms(started)
            with contextlib.suppress(InvalidStateError):  # the check stopped waiting
                self.lookup.set_exception(exc)
            return None
        self.lookup_ms = _ms(started)
        _settle(self.lookup, infos)
        for af, _type, _proto, _canon, sockaddr in infos:
            if af in (socket.AF_INET, socket.AF_INET6):
                return str(sockaddr[0])
        return None


def begin(host: str, port: int, known: list[str], timeout: float, spares: int = SPARES) -> None:
    """Start the lookup and the connections for host:port (once; a second call is ignored).
    `known`: the addresses the client connects to without a lookup (--resolve pins, or the
    host itself when it is an IP address); empty: the name is looked up."""
    key = (host.lower(), port)
    if not known and never_exists(host):
        return  # resolution.resolve answers these itself, asking no resolver
    with _lock:
        if key in _started:
            return
        head = _started[key] = HeadStart(host, port, known, timeout, spares)
    threading.Thread(target=head.run, name=f"head start {host}:{port}", daemon=True).start()


def take_lookup(host: str, port: int) -> HeadStart | None:
    """The head start that is looking host:port up, its lookup taken (given once): the
    caller waits on its `lookup` future, then reads `lookup_ms`."""
    with _lock:
        head = _started.get((host.lower(), port))
        if head is None or head.lookup is None or head.lookup_taken:
            return None
        head.lookup_taken = True
        return head


def take_connection(port: int) -> Future[Connected | None] | None:
    """The early connection to this port, taken (given once): the caller waits on it and
    uses it only if it went to the address it was about to try (`Connected.address`)."""
    with _lock:
        for head in _started.values():
            if head.port == port and not head.connection_taken:
                head.connection_taken = True
                return head.connection
    return None


def take_spare(host: str, port: int) -> Future[socket.socket | None] | None:
    """A spare connection to host:port (the name, or the address it was opened to), taken:
    the caller waits on it (None: it failed or timed out; connect on your own)."""
    with _lock:
        for head in _started.values():
            if head.port != port or host.lower().strip("[]") not in (head.host, head.first_address):
                continue
            if head.spares:
                return head.spares.pop(0)
    return None


def discard() -> None:
    """Close what no check took (a run that skipped connect, or ended early)."""
    with _lock:
        heads = list(_started.values())
        _started.clear()
    for head in heads:
        if not head.connection_taken:
            head.connection.add_done_callback(close_unused)
        for spare in head.spares:
            spare.add_done_callback(close_unused)


def close_unused(connection: Future[Any]) -> None:
    """A done-callback: close the early connection nobody will use."""
    with contextlib.suppress(Exception):
        made = connection.result()
        if isinstance(made, Connected):
            made.sock.close()
        elif made is not None:
            made.close()


def _start_connect(family: Any, sockaddr: Any) -> socket.socket | None:
    """A non-blocking TCP connect under way (None when it failed at once)."""
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError:
        return None
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as asyncio's own connections
    if sock.connect_ex(sockaddr) not in (0, errno.EINPROGRESS):
        sock.close()
        return None
    return sock


def _settle(future: Future[Any], value: object) -> bool:
    """Give the future its result; False when the waiting check already gave up on it."""
    try:
        future.set_result(value)
    except InvalidStateError:
        return False
    return True


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
