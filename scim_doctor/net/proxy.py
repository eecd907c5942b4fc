"""Which proxy a request goes through, and why: `--proxy`, `--noproxy`, `--proxy-pac` and the
environment, read as curl reads them.

One `ProxyRules` per run answers `route(url)` for every connection the run opens (the proxy
check, the TLS handshakes, the HTTP client), so they can never disagree. A `Route` names the
proxy (or none), where that choice came from, and the NO_PROXY / --noproxy entry or PAC answer
that sent the host direct, so a report can say which setting to change.

- The proxy: `--proxy URL`, else a PAC file's answer (`--proxy-pac`), else the environment:
  `https_proxy` / `HTTPS_PROXY` for https:// URLs, `http_proxy` / `HTTP_PROXY` for http://, then
  `all_proxy` / `ALL_PROXY` (the lower-case name wins, as in curl).
- The bypass list: `--noproxy LIST` when given (even empty: it then overrides the environment,
  as curl's), else `no_proxy` / `NO_PROXY`. It applies whatever chose the proxy, as in curl:
  comma-separated; `*` alone matches every host; a name matches itself and its subdomains (a
  leading dot is ignored: `corp.com` and `.corp.com` both match `scim.corp.com`, never
  `notcorp.com`); `HOST:PORT` matches that port only; an IP address matches itself and a CIDR
  block (`10.0.0.0/8`) the addresses in it.

Credentials in a proxy URL are sent to that proxy only (Basic `Proxy-Authorization`), and every
text meant for a report shows the URL redacted.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import urllib.parse
from collections.abc import Callable, Mapping

from msgspec import Struct

from scim_doctor.core.secrets import redact
from scim_doctor.net.failures import ProxyConfigError

DEFAULT_PORTS = {"http": 80, "https": 443, "socks4": 1080, "socks5": 1080, "socks5h": 1080}
"""A proxy URL without a port uses its scheme's (curl uses 1080 for http:// proxies; httpx
and urllib use 80: we follow httpx, which carries the requests)."""


ProxySettingError = ProxyConfigError
"""A proxy setting cannot be used (not a URL, no host, a bad port, a PAC file that fails); the
message is redacted."""


class ProxyServer(Struct, frozen=True):
    """One proxy, parsed from its URL."""

    url: str
    """As configured, credentials included: for the HTTP layer only, never for a report."""
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None

    @property
    def shown(self) -> str:
        """The URL as a report shows it (credentials redacted)."""
        return redact(self.url)

    @property
    def has_credentials(self) -> bool:
        return self.username is not None

    def authorization(self) -> str | None:
        """The `Proxy-Authorization` value for the URL's credentials (Basic), or None."""
        if self.username is None:
            return None
        pair = f"{self.username}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


def parse_proxy(raw: str, source: str) -> ProxyServer:
    """A proxy URL as curl takes it (`host:port` means http://host:port)."""
    text = raw.strip()
    if "://" not in text:
        text = f"http://{text}"
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError:
        raise ProxySettingError(
            f"the proxy {redact(raw)!r} from {source} is not a valid URL"
        ) from None
    scheme = parts.scheme.lower()
    if not parts.hostname:
        raise ProxySettingError(f"the proxy {redact(raw)!r} from {source} has no host")
    if scheme not in DEFAULT_PORTS:
        raise ProxySettingError(
            f"the proxy {redact(raw)!r} from {source} has the scheme {scheme}://; expected "
            "http://, https:// or socks5://"
        )
    user = urllib.parse.unquote(parts.username) if parts.username is not None else None
    password = urllib.parse.unquote(parts.password) if parts.password is not None else None
    return ProxyServer(text, scheme, parts.hostname, port or DEFAULT_PORTS[scheme], user, password)


class Route(Struct, frozen=True):
    """How a connection to one URL leaves this machine."""

    proxy: ProxyServer | None
    """The proxy it goes through; None: direct."""
    source: str
    """Where the proxy came from ('--proxy', 'the HTTPS_PROXY environment variable', '--proxy-pac
    FILE'), or why the connection is direct ('no proxy is configured', ...)."""
    bypass: str | None = None
    """The setting that sent this host direct although a proxy is configured ("the NO_PROXY
    entry '.corp.test'", "the PAC file's answer DIRECT"), else None."""
    bypassed: ProxyServer | None = None
    """The proxy it would have gone through but for `bypass`."""
    alternatives: tuple[str, ...] = ()
    """Further choices a PAC file listed after the first (redacted), tried by browsers when
    the first fails; this run uses the first."""

    @property
    def shown(self) -> str:
        if self.proxy is None:
            return "direct"
        return f"through the proxy {self.proxy.shown} (from {self.source})"

    def fact(self) -> dict[str, object]:
        return {
            "proxy": self.proxy.shown if self.proxy else None,
            "source": self.source,
            "bypass": self.bypass,
            "bypassed_proxy": self.bypassed.shown if self.bypassed else None,
            "alternatives": list(self.alternatives),
        }


# --- NO_PROXY, as curl reads it ------------------------------------------------------------------


def _host_and_port(entry: str) -> tuple[str, int | None]:
    """'host:port', '[v6]:port', 'v6', 'host' -> (host, port or None)."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return host, int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port) if port.isdigit() else None
    return entry, None


def _as_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def no_proxy_match(no_proxy: str, host: str, port: int) -> str | None:
    """The entry of a NO_PROXY list that matches host:port (as written in the list), or None."""
    name = host.strip("[]").rstrip(".").lower()
    address = _as_ip(name)
    for raw in no_proxy.replace(" ", ",").split(","):
        entry = raw.strip()
        if not entry:
            continue
        if entry == "*":
            return entry
        if "/" in entry and address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return entry
            except ValueError:
                pass
            continue
        pattern, only_port = _host_and_port(entry.lower())
        if only_port is not None and only_port != port:
            continue
        pattern = pattern.lstrip(".").rstrip(".")
        if not pattern:
            continue
        if address is not None or _as_ip(pattern) is not None:
            if _as_ip(pattern) == address:
                return entry
            continue
        if name == pattern or name.endswith("." + pattern):
            return entry
    return None


# --- the rules -----------------------------------------------------------------------------------

PacLookup = Callable[[str, str], "list[str]"]
"""(url, host) -> the PAC file's choices in order: proxy URLs, or 'DIRECT'."""


def _env(environ: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """The value of `name` (lower case first, as curl) and the variable it came from."""
    for variable in (name.lower(), name.upper()):
        value = environ.get(variable, "").strip()
        if value:
            return value, variable
    return None


class ProxyRules:
    """The run's proxy settings; `route(url)` for each connection."""

    def __init__(
        self,
        *,
        proxy: str | None = None,
        noproxy: str | None = None,
        pac: PacLookup | None = None,
        pac_source: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._proxy = proxy
        self._noproxy = noproxy
        self._pac = pac
        self._pac_source = pac_source or "--proxy-pac"
        self._environ = dict(os.environ if environ is None else environ)
        self._routes: dict[tuple[str, str, int, str], Route] = {}

    @property
    def configured(self) -> bool:
        """Whether any proxy setting exists at all (some URL might go through a proxy)."""
        env = self._environ
        return bool(
            self._proxy
            or self._pac
            or any(_env(env, f"{scheme}_proxy") for scheme in ("https", "http", "all"))
        )

    def _bypass_list(self) -> tuple[str, str] | None:
        if self._noproxy is not None:
            return self._noproxy, "--noproxy"
        return _env(self._environ, "no_proxy")

    def _chosen(self, url: str, scheme: str, host: str) -> tuple[list[str], str] | None:
        """The proxy choices for the URL, in order, and where they came from (None: none)."""
        if self._proxy:
            return [self._proxy], "--proxy"
        if self._pac is not None:
            return self._pac(url, host), self._pac_source
        found = _env(self._environ, f"{scheme}_proxy") or _env(self._environ, "all_proxy")
        if found is None:
            return None
        value, variable = found
        return [value], f"the {variable} environment variable"

    def route(self, url: str) -> Route:
        """How a connection to `url` (http:// or https://) leaves this machine."""
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if scheme == "https" else 80)
        key = (scheme, host, port, parts.path)
        cached = self._routes.get(key)
        if cached is None:
            cached = self._routes[key] = self._decide(url, scheme, host, port)
        return cached

    def _decide(self, url: str, scheme: str, host: str, port: int) -> Route:
        chosen = self._chosen(url, scheme, host)
        if chosen is None:
            return Route(None, "no proxy is configured")
        choices, source = chosen
        first = choices[0] if choices else "DIRECT"
        rest = tuple(redact(c) for c in choices[1:])
        if first == "DIRECT":
            return Route(None, source, bypass=f"the answer DIRECT of {source}", alternatives=rest)
        proxy = parse_proxy(first, source)
        listed = self._bypass_list()
        if listed is not None:
            entry = no_proxy_match(listed[0], host, port)
            if entry is not None:
                return Route(
                    None,
                    source,
                    bypass=f"the {listed[1]} entry {entry!r}",
                    bypassed=proxy,
                    alternatives=rest,
                )
        return Route(proxy, source, alternatives=rest)
