"""A TLS-inspecting proxy on loopback, as a company's Zscaler or Netskope is to a laptop.

It answers CONNECT with 200 itself, then terminates the client's TLS with a certificate for the
requested host issued on the spot by its own CA (whose subject imitates the product: "Zscaler
Root CA", O=Zscaler Inc.), opens its own TLS connection to the real server (trusting the
server's CA) and relays the decrypted bytes both ways. It records what it could read in clear,
so a test can prove what a client that refused its certificate never sent.
"""

from __future__ import annotations

import select
import socket
import ssl
from collections.abc import Mapping
from pathlib import Path

from scim_doctor.demo.pki import CertificateAuthority
from tests.support.loopback_listener import LoopbackListener

IO_TIMEOUT_S = 10.0


class InterceptingProxy(LoopbackListener):
    """`hosts` maps the names clients CONNECT to onto the addresses of the real servers;
    `upstream_ca` is the PEM file of the CA the real servers' certificates come from."""

    def __init__(self, hosts: Mapping[str, str], upstream_ca: Path) -> None:
        super().__init__()
        self.authority = CertificateAuthority("Zscaler Root CA", organization="Zscaler Inc.")
        self._issuer = self.authority.intermediate("Zscaler Intermediate Root CA (zscaler.net)")
        self._hosts = dict(hosts)
        self._upstream = ssl.create_default_context(cafile=str(upstream_ca))
        self._contexts: dict[str, ssl.SSLContext] = {}
        self.cleartext: list[bytes] = []
        """What clients sent inside TLS sessions the proxy could decrypt."""
        self.connects: list[str] = []
        """The authority of every CONNECT received."""

    def write_root_pem(self, directory: Path) -> Path:
        return self.authority.write_root_pem(directory, "zscaler-root.pem")

    def _context_for(self, host: str) -> ssl.SSLContext:
        with self._lock:
            context = self._contexts.get(host)
            if context is None:
                issued = self._issuer.issue([host])
                context = self._contexts[host] = issued.server_context(include_intermediates=True)
            return context

    # one client

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(IO_TIMEOUT_S)
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            method, authority, *_ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            self.connects.append(authority)
            host, _, port = authority.rpartition(":")
            if method != "CONNECT" or host not in self._hosts:
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            try:
                client = self._context_for(host).wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                return  # the client refused the inspection certificate: nothing was sent
            with client:
                try:
                    raw = socket.create_connection((self._hosts[host], int(port)), IO_TIMEOUT_S)
                    server = self._upstream.wrap_socket(raw, server_hostname=host)
                except (ssl.SSLError, OSError):
                    return
                with server:
                    self._relay(client, server)

    def _relay(self, client: ssl.SSLSocket, server: ssl.SSLSocket) -> None:
        """Relay both ways. Reads are non-blocking: a readable socket may hold only a TLS
        record without application data (a session ticket), and a blocking read would then
        wait for data the other side is waiting to send."""
        peers = {client: server, server: client}
        for sock in peers:
            sock.setblocking(False)
        while not self._stopping.is_set():
            ready = [s for s in peers if s.pending()]
            if not ready:
                ready, _, _ = select.select(list(peers), [], [], IO_TIMEOUT_S)
                if not ready:
                    return
            for sock in ready:
                try:
                    data = sock.recv(65536)
                except ssl.SSLWantReadError:
                    continue
                except (ssl.SSLError, OSError):
                    return
                if not data:
                    return
                if sock is client:
                    self.cleartext.append(data)
                if not self._send(peers[sock], data):
                    return

    @staticmethod
    def _send(sock: ssl.SSLSocket, data: bytes) -> bool:
        sock.settimeout(IO_TIMEOUT_S)
        try:
            sock.sendall(data)
        except (ssl.SSLError, OSError):
            return False
        finally:
            sock.setblocking(False)
        return True
