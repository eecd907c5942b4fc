"""A TCP listener on loopback that accepts, records what arrives and never answers.

Two uses: a proxy that hangs (it accepts the connection, then says nothing to CONNECT), and a
decoy set in a proxy variable the run must not use: any connection it records is a leak.
"""

from __future__ import annotations

import socket

from tests.support.loopback_listener import LoopbackListener


class SilentListener(LoopbackListener):
    def __init__(self) -> None:
        super().__init__()
        self.connections = 0
        self.received = b""

    def _handle(self, conn: socket.socket) -> None:
        with self._lock:
            self.connections += 1
        conn.settimeout(0.2)
        with conn:
            while not self._stopping.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                with self._lock:
                    self.received += data
