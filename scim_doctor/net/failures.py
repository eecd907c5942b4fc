"""What went wrong with one HTTP exchange, as a kind and one clean line.

Probes never see an httpx/httpcore exception: the HTTP layer turns every failure into an
`HttpError` whose kind they can branch on and whose message (already redacted, one line, no
traceback, no library jargon where a plainer word exists) goes straight into a finding.
"""

from __future__ import annotations

import re
import socket
import ssl
from enum import Enum

import httpcore
import httpx
from msgspec import Struct

from scim_doctor.core.secrets import redact


class ErrorKind(str, Enum):
    """Why an exchange has no (complete, usable) response."""

    TIMEOUT = "timeout"
    """No complete response within the step timeout (or what was left of the run's deadline)."""
    CONNECT = "connect"
    """No TCP connection: refused, unreachable, name not resolved."""
    TLS = "tls"
    """The TLS handshake failed (certificate not trusted, protocol mismatch, alert)."""
    PROXY = "proxy"
    """The proxy refused the tunnel or could not be used."""
    NETWORK = "network"
    """The connection was reset or closed mid-exchange."""
    PROTOCOL = "protocol"
    """The server's bytes are not valid HTTP (bad status line, broken chunking, short body)."""
    DECODING = "decoding"
    """The body's Content-Encoding is unsupported or corrupt."""
    INVALID_REQUEST = "invalid_request"
    """The request could not be built (bad URL, a header value HTTP does not allow)."""
    UNSAFE = "unsafe"
    """Not sent: it would have carried credentials somewhere other than https://target."""
    NO_TOKEN = "no_token"  # noqa: S105 - an error kind, not a password
    """Not sent: auth="token" was asked for but no token was given."""
    INTERNAL = "internal"
    """scim-doctor itself broke; the message asks for a bug report."""


class HttpError(Struct, frozen=True):
    """Why a request has no answer to judge: the kind of failure and what happened."""

    kind: ErrorKind
    message: str
    """One redacted line saying what happened, with the observed values."""


class ProxyConfigError(ValueError):
    """The proxy setting cannot be used (bad URL, unsupported scheme)."""


# h11 shows raw bytes as bytearray(b'...'); show them as a plain quoted string.
_BYTES_REPR = re.compile(r"bytearray\((b'.*?'|b\".*?\")\)|\bb('.*?')")


def _clean(text: str) -> str:
    text = _BYTES_REPR.sub(lambda m: (m.group(1) or m.group(2)).removeprefix("b"), text)
    return redact(" ".join(text.split())).rstrip(".")


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception, its causes and contexts, and the members of any exception group among
    them (anyio reports one failed attempt per address as a group), outermost first."""
    found: list[BaseException] = []

    def walk(current: BaseException | None) -> None:
        if current is None or any(current is seen for seen in found):
            return
        found.append(current)
        members = getattr(current, "exceptions", None)
        if isinstance(members, (list, tuple)):
            for member in members:
                if isinstance(member, BaseException):
                    walk(member)
        walk(current.__cause__ or current.__context__)

    walk(exc)
    return found


def _first(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    return next((e for e in _causes(exc) if isinstance(e, kind)), None)


def _connect_message(exc: BaseException) -> str | None:
    """What the operating system said about each failed connection attempt."""
    errors = [e for e in _causes(exc) if isinstance(e, OSError) and e.errno is not None]
    if not errors:
        return None
    messages = list(dict.fromkeys(_os_message(e) for e in errors))
    if len(messages) == 1 and len(errors) > 1:
        return f"{messages[0]}; all {len(errors)} addresses were tried"
    return "; ".join(messages)


def _tls_message(err: ssl.SSLError) -> str:
    if isinstance(err, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {err.verify_message}"
    reason = err.reason or err.strerror or str(err)
    return f"TLS handshake failed: {reason}"


def _os_message(err: OSError) -> str:
    if isinstance(err, socket.gaierror):
        return f"the host name could not be resolved ({err.strerror or err})"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused (nothing listens on that port, or a firewall rejects it)"
    if isinstance(err, ConnectionResetError):
        return "the connection was reset by the server"
    if isinstance(err, BrokenPipeError):
        return "the server closed the connection while the request was being sent"
    return err.strerror or str(err) or type(err).__name__


def classify(exc: BaseException) -> HttpError:
    """The kind and clean message of an exception raised while exchanging one request."""
    tls = _first(exc, ssl.SSLError)
    if isinstance(exc, (httpcore.TimeoutException, httpx.TimeoutException, TimeoutError)):
        return HttpError(ErrorKind.TIMEOUT, "timed out")
    if isinstance(exc, (httpcore.ProxyError, httpx.ProxyError, ProxyConfigError)):
        return HttpError(ErrorKind.PROXY, _clean(f"proxy failure: {exc}"))
    if isinstance(exc, (httpcore.ConnectError, httpx.ConnectError)):
        if isinstance(tls, ssl.SSLError):
            return HttpError(ErrorKind.TLS, _clean(_tls_message(tls)))
        message = _connect_message(exc)
        if message is not None:
            return HttpError(ErrorKind.CONNECT, _clean(message))
        detail = str(exc) or "the server closed the connection during the TLS handshake"
        return HttpError(ErrorKind.CONNECT, _clean(detail))
    if isinstance(exc, (httpcore.LocalProtocolError, httpx.LocalProtocolError)):
        # The message may quote the offending header value (which can be the token).
        return HttpError(
            ErrorKind.INVALID_REQUEST,
            "the request cannot be sent: a header holds characters HTTP does not allow "
            "(a token with a line break or non-ASCII character?)",
        )
    if isinstance(exc, (httpcore.RemoteProtocolError, httpx.RemoteProtocolError)):
        text = str(exc)
        if text.startswith("Server disconnected without sending a response"):
            return HttpError(
                ErrorKind.NETWORK, "the server closed the connection without sending a response"
            )
        return HttpError(ErrorKind.PROTOCOL, _clean(f"invalid HTTP response: {text}"))
    if isinstance(tls, ssl.SSLError):
        return HttpError(ErrorKind.TLS, _clean(_tls_message(tls)))
    if isinstance(exc, (httpcore.NetworkError, httpx.NetworkError, OSError)):
        os_error = _first(exc, OSError)
        if isinstance(os_error, OSError):
            return HttpError(ErrorKind.NETWORK, _clean(_os_message(os_error)))
        return HttpError(ErrorKind.NETWORK, _clean(str(exc) or "the connection was closed"))
    if isinstance(exc, (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return HttpError(ErrorKind.INVALID_REQUEST, _clean(f"invalid URL: {exc}"))
    return HttpError(
        ErrorKind.INTERNAL,
        _clean(
            f"internal error in scim-doctor's HTTP layer ({type(exc).__name__}: {exc}); "
            "please report it at the project's issue tracker"
        ),
    )
