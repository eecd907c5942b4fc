"""A listener on 127.0.0.1 that counts the connections it accepted and those the client
closed, optionally completing a TLS handshake first: for tests about connections opened
ahead of their requests, where what counts is how many reached the server and when."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time

from tests.support.loopback_listener import LoopbackListener


class CountingListener(LoopbackListener):
    """Reads each connection until the client closes it; with `tls`, after the handshake."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self._tls = tls
        self._counts = threading.Lock()
        self.accepted = 0
        self.closed = 0

    def _handle(self, conn: socket.socket) -> None:
        with self._counts:
            self.accepted += 1
        conn.settimeout(10)
        with contextlib.suppress(OSError):
            stream = self._tls.wrap_socket(conn, server_side=True) if self._tls else conn
            with stream:
                while stream.recv(1024):
                    pass
        conn.close()
        with self._counts:
            self.closed += 1

    def wait(self, counter: str, count: int) -> int:
        """The `counter` ('accepted' or 'closed') once it reaches `count`, or after 5 s."""
        end = time.monotonic() + 5
        while time.monotonic() < end and getattr(self, counter) < count:
            time.sleep(0.01)
        return int(getattr(self, counter))
