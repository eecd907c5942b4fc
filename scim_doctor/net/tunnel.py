"""An HTTP CONNECT tunnel through a proxy, on a raw socket (RFC 9110 §9.3.6).

The proxy check opens one to see what the proxy says; the TLS check's handshakes run inside
one, so the certificate judged is the one the target presents through the proxy (not the
proxy's own, nor whatever listens on the proxy's address at the target's port). The proxy
answers the CONNECT itself: 2xx opens the tunnel; 407 wants credentials
(`Proxy-Authenticate` names the schemes); 403 is its access policy; 502/503/504 mean it could
not reach the host. Its answer is kept with the headers and page a report quotes (the error
page's title, squid's X-Squid-Error).

Only the proxy's own credentials (from its URL, as Basic) are ever sent here; the token never
is: it travels inside the TLS session that runs end to end through the tunnel.
"""

from __future__ import annotations

import asyncio
import html
import re
import socket

from msgspec import Struct

from scim_doctor import __version__

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_HEADING = re.compile(rb"<h[12][^>]*>(.*?)</h[12]>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


class TunnelBroken(OSError):
    """The proxy closed the connection or sent something that is not an HTTP answer."""


class ProxyAnswer(Struct, frozen=True):
    """What a proxy answered to CONNECT."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    """The error page (at most MAX_BODY bytes); empty when the tunnel opened."""

    @property
    def opened(self) -> bool:
        return 200 <= self.status < 300

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for n, v in self.headers if n.lower() == wanted), None)

    def all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [v for n, v in self.headers if n.lower() == wanted]

    @property
    def auth_schemes(self) -> list[str]:
        """The schemes of every Proxy-Authenticate challenge ('Basic', 'NTLM', 'Negotiate')."""
        schemes: list[str] = []
        for value in self.all("proxy-authenticate"):
            for part in value.split(","):
                word = part.strip().split(" ", 1)[0]
                if _SCHEME.match(word) and word not in schemes:
                    schemes.append(word)
        return schemes

    @property
    def title(self) -> str | None:
        """The error page's title (or first heading), as the proxy's own words."""
        for pattern in (_TITLE, _HEADING):
            found = pattern.search(self.body)
            if found:
                text = found.group(1).decode("utf-8", "replace")
                text = " ".join(html.unescape(_TAGS.sub(" ", text)).split())
                if text:
                    return text[:200]
        return None

    @property
    def software(self) -> str | None:
        """What the proxy calls itself (Server, else Via)."""
        return self.header("server") or self.header("via")

    def fact(self) -> dict[str, object]:
        return {
            "status": self.status,
            "reason": self.reason,
            "server": self.software,
            "auth_schemes": self.auth_schemes,
            "error_id": self.header("x-squid-error"),
            "page_title": self.title,
        }


def connect_request(authority: str, authorization: str | None) -> bytes:
    lines = [
        f"CONNECT {authority} HTTP/1.1",
        f"Host: {authority}",
        f"User-Agent: scim-doctor/{__version__}",
    ]
    if authorization is not None:
        lines.append(f"Proxy-Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _parse_head(head: bytes) -> tuple[int, str, tuple[tuple[str, str], ...]]:
    text = head.decode("latin-1")
    status_line, *lines = text.split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise TunnelBroken(f"the proxy answered CONNECT with {status_line[:80]!r}, not HTTP")
    headers = []
    for line in lines:
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers.append((name.strip(), value.strip()))
    return int(parts[1]), (parts[2] if len(parts) > 2 else "").strip(), tuple(headers)


async def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    loop = asyncio.get_running_loop()
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD:
            raise TunnelBroken("the proxy's answer to CONNECT has a head over 64 KiB")
        chunk = await loop.sock_recv(sock, 4096)
        if not chunk:
            if not data:
                raise TunnelBroken("the proxy closed the connection without answering CONNECT")
            raise TunnelBroken("the proxy closed the connection in the middle of its answer")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


async def _read_body(sock: socket.socket, rest: bytes, length: int | None) -> bytes:
    """The error page: Content-Length bytes, or until the proxy closes, at most MAX_BODY."""
    loop = asyncio.get_running_loop()
    body = rest
    want = MAX_BODY if length is None else min(length, MAX_BODY)
    while len(body) < want:
        try:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 16384), 1.0)
        except (asyncio.TimeoutError, OSError):
            break
        if not chunk:
            break
        body += chunk
    return body[:MAX_BODY]


async def request_tunnel(
    sock: socket.socket, authority: str, authorization: str | None
) -> ProxyAnswer:
    """Send CONNECT authority on a connected socket and read the proxy's answer (the caller
    bounds the time). When it opens (2xx), the socket is the tunnel: nothing past the head is
    read, and the TLS handshake can start on it."""
    loop = asyncio.get_running_loop()
    await loop.sock_sendall(sock, connect_request(authority, authorization))
    head, rest = await _read_head(sock)
    status, reason, headers = _parse_head(head)
    answer = ProxyAnswer(status, reason, headers, b"")
    if answer.opened:
        if rest:
            raise TunnelBroken("the proxy sent data into the tunnel before the client spoke")
        return answer
    length_text = answer.header("content-length")
    length = int(length_text) if length_text and length_text.isdigit() else None
    body = await _read_body(sock, rest, length)
    return ProxyAnswer(status, reason, headers, body)
