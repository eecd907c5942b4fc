"""The base URL and network pins as the user gave them, checked and normalised once.

Parsing errors raise `InputError` (exit code 2, one line); mistakes an admin makes when pasting
a base URL into an IdP become `url.*` findings, and the run checks the corrected URL.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse

from msgspec import Struct

from scim_doctor.core import findings
from scim_doctor.core.echo import hidden, may_echo, shown
from scim_doctor.core.errors import InputError
from scim_doctor.core.model import Finding
from scim_doctor.core.secrets import redact, redact_query

__all__ = ["InputError", "ResolvePin", "Target", "parse_base_url", "parse_resolve"]

# Endpoints an admin may paste on the end of the base URL (RFC 7644 §3.2), longest first.
ENDPOINT_SUFFIXES = (
    "/ServiceProviderConfigs",
    "/ServiceProviderConfig",
    "/ResourceTypes",
    "/Schemas",
    "/.search",
    "/Groups",
    "/Users",
    "/Bulk",
    "/Me",
)

_HOST_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$", re.IGNORECASE)

ENTRA_FLAG = "aadOptscim062020"
"""Entra ID's Tenant URL query flag for RFC-compliant SCIM requests (kept on purpose)."""


class ResolvePin(Struct, frozen=True):
    """`--resolve HOST:PORT:ADDR[,ADDR...]`: connect to ADDR for HOST:PORT, keep HOST for SNI
    and Host; several addresses stand for the nodes behind the name (curl takes them too)."""

    host: str
    port: int
    address: str
    """The first address: the one requests use."""
    more: tuple[str, ...] = ()
    """The other addresses, in the order given."""

    @property
    def addresses(self) -> tuple[str, ...]:
        return (self.address, *self.more)


class Target(Struct, frozen=True):
    """A SCIM base URL, normalised, with what the URL lint found."""

    given_url: str
    """The URL as typed (redacted before it is shown)."""
    base_url: str
    """The URL checked: https or http, host, port when not default, path without trailing slash."""
    scheme: str
    host: str
    """ASCII (IDNA) host name or IP literal without brackets, lower case."""
    port: int
    path: str
    """Base path without trailing slash ('' for the root)."""
    lint: tuple[Finding, ...] = ()
    query: str = ""
    """The base URL's query string as given (Entra ID's `aadOptscim062020` flag), without '?'."""

    @property
    def is_https(self) -> bool:
        return self.scheme == "https"

    @property
    def host_is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    def url(self, endpoint: str = "") -> str:
        """Absolute URL of an endpoint relative to the base (`url('/Users')`)."""
        return f"{self.scheme}://{self.netloc}{self.path}{endpoint}"


def _ascii_host(host: str) -> str:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host.lower()
    if host.endswith("."):
        host = host[:-1]
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise InputError(
            f"host name {shown(host, quote=True)} is not a valid internationalised name"
        ) from exc
    ascii_host = ascii_host.lower()
    if len(ascii_host) > 253 or not all(_HOST_LABEL.match(lbl) for lbl in ascii_host.split(".")):
        raise InputError(f"{shown(host, quote=True)} is not a valid host name")
    return ascii_host


def _lint(parts: urllib.parse.SplitResult, host: str, scheme: str) -> tuple[list[Finding], str]:
    """What is odd about a parseable base URL, and the path to check (corrected)."""
    lint: list[Finding] = []
    path = parts.path
    entra_flag = parts.query.lower() == ENTRA_FLAG.lower() and not parts.fragment
    if entra_flag:
        lint.append(
            findings.make(
                "url.entra_feature_flag",
                f"the base URL carries ?{parts.query}, Entra ID's flag for RFC-compliant SCIM; "
                "Entra sends it with every request, the other providers need the URL without it",
            )
        )
    elif parts.query or parts.fragment:
        lint.append(
            findings.make(
                "url.query_or_fragment",
                f"the base URL carries {'?' + redact_query(parts.query) if parts.query else ''}"
                f"{'#' + parts.fragment if parts.fragment else ''}; it was checked without it",
            )
        )
    if "_" in host:
        lint.append(findings.make("url.underscore_in_host", f"host name {host!r} contains '_'"))
    if path.endswith("/") and path != "/":
        lint.append(findings.make("url.trailing_slash", f"the path {path!r} ends with '/'"))
    path = path.rstrip("/")
    for suffix in ENDPOINT_SUFFIXES:
        if path.lower().endswith(suffix.lower()):
            stripped = path[: -len(suffix)]
            lint.append(
                findings.make(
                    "url.endpoint_suffix",
                    f"the base URL ends with {path[-len(suffix) :]}; it was checked as "
                    f"{scheme}://{parts.netloc}{stripped}",
                    remediation=f"Configure {scheme}://{parts.netloc}{stripped} as the base URL "
                    "in the identity provider.",
                )
            )
            path = stripped.rstrip("/")
            break
    return lint, path


def parse_base_url(raw: str) -> Target:
    """Parse and lint a base URL; raise InputError when it cannot be checked at all."""
    text = raw.strip()
    if not text:
        raise InputError("the base URL is empty")
    if any(ch.isspace() for ch in text) or any(ord(ch) < 32 for ch in text):
        raise InputError("the base URL contains whitespace or control characters")
    echo = may_echo(text)
    if not echo and "://" not in text:
        raise InputError(
            f"the base URL given, {len(text)} characters, looks like a token, not a URL (it is "
            "not shown): give the endpoint's URL (e.g. https://example.com/scim/v2), and the "
            "token in SCIM_TOKEN"
        )
    shown_url = redact(text) if echo else f"the base URL {hidden(text)}"
    if "://" not in text:
        raise InputError(f"{shown_url} has no scheme: use https://HOST/scim/v2")
    try:
        parts = urllib.parse.urlsplit(text)
        port_given = parts.port
    except ValueError as exc:
        detail = f" ({exc})" if echo else ""
        raise InputError(f"{shown_url} is not a valid URL{detail}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise InputError(
            f"unsupported scheme {shown(scheme, quote=True)} in {shown_url}: use https://"
        )
    if parts.username is not None or parts.password is not None:
        raise InputError(
            f"{shown_url} has credentials in it: remove them and pass the token with "
            "SCIM_TOKEN, --token-env, --token-file or --token-stdin"
        )
    if not parts.hostname:
        raise InputError(f"{shown_url} has no host name")
    host = _ascii_host(parts.hostname)
    port = port_given if port_given is not None else (443 if scheme == "https" else 80)
    if port == 0:
        raise InputError(f"port 0 in {shown_url} is not a port a server can listen on")

    lint, path = _lint(parts, host, scheme)
    base = Target(given_url=text, base_url="", scheme=scheme, host=host, port=port, path=path)
    return Target(
        given_url=text,
        base_url=base.url(),
        scheme=scheme,
        host=host,
        port=port,
        path=path,
        lint=tuple(lint),
        query=parts.query,
    )


def parse_resolve(spec: str) -> ResolvePin:
    """Parse curl's `HOST:PORT:ADDR[,ADDR...]` (an ADDR may be a bracketed IPv6 literal)."""
    where = f"--resolve {shown(spec, quote=True)}"
    host, sep1, rest = spec.partition(":")
    port_text, sep2, address = rest.partition(":")
    if not (sep1 and sep2 and host and port_text and address):
        raise InputError(f"{where}: expected HOST:PORT:ADDRESS")
    try:
        port = int(port_text)
    except ValueError:
        raise InputError(f"{where}: port {shown(port_text, quote=True)} is not a number") from None
    if not 0 < port < 65536:
        raise InputError(f"{where}: port {port} is out of range 1-65535")
    addresses: list[str] = []
    for item in address.split(","):
        literal = item.strip()
        if literal.startswith("[") and literal.endswith("]"):
            literal = literal[1:-1]
        try:
            ipaddress.ip_address(literal)
        except ValueError:
            quoted = shown(literal, quote=True)
            raise InputError(f"{where}: {quoted} is not an IP address") from None
        if literal not in addresses:
            addresses.append(literal)
    return ResolvePin(
        host=_ascii_host(host), port=port, address=addresses[0], more=tuple(addresses[1:])
    )


def pins_for(resolve: tuple[ResolvePin, ...], host: str, port: int) -> list[str]:
    """The --resolve addresses for host:port, or for host on another port when this port has
    none (see `ProbeContext.pinned_address`); empty when the host is not pinned."""
    same_host = [pin for pin in resolve if pin.host == host]
    for pin in same_host:
        if pin.port == port:
            return list(pin.addresses)
    return list(same_host[0].addresses) if same_host else []


def never_exists(host: str) -> bool:
    """A name under .invalid: reserved never to exist (RFC 6761 §6.4), so resolvers and
    libraries SHOULD answer it negatively at once; glibc still sends the query, so nothing
    here asks."""
    name = host.rstrip(".").lower()
    return name == "invalid" or name.endswith(".invalid")
