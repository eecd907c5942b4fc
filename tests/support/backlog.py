"""A listener whose accept queue is full: the loopback stand-in for a firewall's silent drop."""

from __future__ import annotations

import contextlib
import select
import socket
from collections.abc import Iterator

import pytest


@contextlib.contextmanager
def full_backlog_port() -> Iterator[int]:
    """The port of a listener whose accept queue is full, so the kernel drops further SYNs.

    listen(0) and never accept; connect until one handshake does not complete, which proves
    on this kernel that a new SYN is dropped (the signature of a firewall's silent drop).
    Skips the test where the kernel completes handshakes beyond the backlog.
    """
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        address = server.getsockname()
        for _ in range(16):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            fillers.append(filler)
            filler.setblocking(False)
            filler.connect_ex(address)
            _, writable, _ = select.select([], [filler], [], 0.1)
            if not writable:
                break  # this SYN was dropped: the backlog is full
        else:
            pytest.skip("this kernel completes handshakes beyond the listen backlog")
        yield address[1]
    finally:
        for filler in fillers:
            filler.close()
        server.close()
