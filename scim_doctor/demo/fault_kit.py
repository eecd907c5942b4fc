"""What a demo fault is made of: the Fault record and the hooks that build one.

Kept apart from the catalogue (faults.py) so that each probe family can declare its HTTP faults
in its own module under demo/http_faults/ without import cycles. A fault is data plus one hook
per layer:

- `tls`: builds the server's SSL context from the demo CA (a bad certificate, an old protocol);
- `socket`: replaces the HTTPS listener with a raw socket server (silence, plain HTTP);
- `node`: a second node behind the name, on another loopback address, broken or different;
- `middleware`: wraps request handling (see `on_route` and `map_response`), so an HTTP-layer
  fault such as "answers a login page" or "`status` as an integer" is a few lines here.
"""

from __future__ import annotations

import fnmatch
import ssl
from collections.abc import Callable
from typing import Literal

from msgspec import Struct

from scim_doctor.demo import sockets
from scim_doctor.demo.pki import CertificateAuthority
from scim_doctor.demo.scim_wire import Handler, Middleware, Request, Response

Layer = Literal["tls", "socket", "http"]

NODE_ADDRESS = "127.0.0.2"
"""Where a fault's second node listens (Linux routes all of 127/8 to loopback)."""


class Certificates(Struct, frozen=True):
    """What a TLS fault builds its server context from."""

    ca: CertificateAuthority
    """The root the client is given (`ca_pem`, `--cacert`)."""
    names: tuple[str, ...]
    """The names a correct certificate covers: the demo hostname, localhost and loopback IPs."""


TlsSetup = Callable[[Certificates], ssl.SSLContext]
SocketSetup = Callable[[str], "sockets.SocketServer | int"]
"""Given the bind address, a running raw server, or a port nothing listens on."""


class Fault(Struct, frozen=True):
    name: str
    summary: str
    """One line for `scim-doctor demo --list-faults` and the demo's banner."""
    layer: Layer
    expect: tuple[str, ...]
    """Finding codes the doctor must report against this fault."""
    tls: TlsSetup | None = None
    socket: SocketSetup | None = None
    middleware: Middleware | None = None
    """Sees every request, the plain-HTTP listener's too (`request.scheme == "http"`, which the
    healthy server answers with a 308 to https)."""
    node: TlsSetup | None = None
    """A second node behind the name: an HTTPS listener on NODE_ADDRESS at the same port, with
    the same SCIM app and CA, presenting the context this builds; the client is pinned to both
    addresses (`--resolve HOST:PORT:127.0.0.1,127.0.0.2`)."""
    token_chars: int | None = None
    """The length of the token the demo issues for this fault, when it needs a long one (a
    front end's header limit); None for the usual 43 characters."""


def healthy_tls(certs: Certificates) -> ssl.SSLContext:
    """A certificate from the trusted CA for every name the client may use; TLS 1.2+."""
    return certs.ca.issue(certs.names).server_context(minimum=ssl.TLSVersion.TLSv1_2)


def on_route(method: str, pattern: str, middleware: Middleware) -> Middleware:
    """Apply `middleware` only to `method` requests whose SCIM path matches `pattern`.

    `pattern` is an fnmatch pattern on the path below the base, e.g. "/Users" or "/Users/*";
    method "*" matches any method.
    """

    def routed(request: Request, call_next: Handler) -> Response:
        scim_path = request.scim_path
        if (
            scim_path is not None
            and method in ("*", request.method.upper())
            and fnmatch.fnmatchcase(scim_path, pattern)
        ):
            return middleware(request, call_next)
        return call_next(request)

    return routed


def map_response(transform: Callable[[Request, Response], Response]) -> Middleware:
    """Let the healthy server answer, then change the answer."""

    def mapped(request: Request, call_next: Handler) -> Response:
        return transform(request, call_next(request))

    return mapped
