"""A proxy auto-config (PAC) file, as a company laptop's browser uses it: `--proxy-pac FILE|URL`.

The file is JavaScript defining `FindProxyForURL(url, host)`; `pypac` evaluates it (with dukpy's
JavaScript engine and the PAC helper functions: dnsDomainIs, isInNet, shExpMatch, ...). The
answer is a list such as `PROXY proxy.corp:8080; DIRECT`; the run takes the first choice, as a
browser does while that choice works, and records the others.

A PAC URL is fetched once per process, directly (browsers fetch it without a proxy), with a
size cap; a file is read once. pypac (and requests, which it imports) load only when a PAC file
is used.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from scim_doctor.core.echo import shown
from scim_doctor.core.secrets import redact
from scim_doctor.net.proxy import ProxySettingError

MAX_PAC_BYTES = 1024 * 1024
FETCH_TIMEOUT_S = 10.0

_cache: dict[str, Pac] = {}
_lock = threading.Lock()


class Pac:
    """A loaded PAC file: `lookup(url, host)` gives its choices, in order."""

    def __init__(self, source: str, script: Any) -> None:
        self.source = source
        """'--proxy-pac FILE' or '--proxy-pac URL' (redacted), as reports name it."""
        self.script = script
        """pypac's PACFile."""
        self._answers: dict[tuple[str, str], list[str]] = {}
        self._lock = threading.Lock()

    def lookup(self, url: str, host: str) -> list[str]:
        """Proxy URLs ('http://proxy:8080', 'socks5://...') or 'DIRECT', in the file's order."""
        key = (url, host)
        with self._lock:
            cached = self._answers.get(key)
            if cached is None:
                cached = self._answers[key] = self._evaluate(url, host)
            return cached

    def _evaluate(self, url: str, host: str) -> list[str]:
        from pypac.parser import proxy_url

        try:
            value = self.script.find_proxy_for_url(url, host)
        except Exception as exc:  # a JavaScript error inside FindProxyForURL
            raise ProxySettingError(
                f"{self.source}: FindProxyForURL failed for {redact(url)}: {exc}"
            ) from None
        choices: list[str] = []
        for element in str(value or "DIRECT").split(";"):
            element = element.strip()
            if not element:
                continue
            try:
                choices.append(proxy_url(element))
            except ValueError:
                continue  # a malformed choice: browsers skip it too
        return choices or ["DIRECT"]


def _read(source: str) -> str:
    if source.lower().startswith(("http://", "https://")):
        import httpx

        try:
            with httpx.Client(trust_env=False, timeout=FETCH_TIMEOUT_S) as client:
                with client.stream("GET", source) as response:
                    if response.status_code != 200:
                        raise ProxySettingError(
                            f"--proxy-pac {redact(source)}: answered {response.status_code} "
                            f"{response.reason_phrase}"
                        )
                    data = b""
                    for piece in response.iter_bytes():
                        data += piece
                        if len(data) > MAX_PAC_BYTES:
                            raise ProxySettingError(
                                f"--proxy-pac {redact(source)}: larger than {MAX_PAC_BYTES} bytes"
                            )
        except httpx.HTTPError as exc:
            raise ProxySettingError(
                f"--proxy-pac {redact(source)}: cannot be fetched ({exc})"
            ) from None
        return data.decode("utf-8", "replace")
    path = Path(source.removeprefix("file://"))
    where = f"--proxy-pac {shown(source, path=True)}"
    try:
        if path.stat().st_size > MAX_PAC_BYTES:
            raise ProxySettingError(f"{where}: larger than {MAX_PAC_BYTES} bytes")
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ProxySettingError(f"{where}: cannot be read ({exc.strerror})") from None


def load_pac(source: str) -> Pac:
    """The PAC file at `source` (a path or an http(s):// URL), loaded once per process."""
    with _lock:
        cached = _cache.get(source)
        if cached is not None:
            return cached
    text = _read(source)
    try:
        from pypac.parser import MalformedPacError, PACFile
    except ImportError:  # pragma: no cover - a dependency of scim-doctor
        raise ProxySettingError("--proxy-pac needs the 'pypac' package") from None
    try:
        script = PACFile(text)
    except MalformedPacError as exc:
        raise ProxySettingError(
            f"--proxy-pac {redact(source)}: not a usable PAC file ({exc})"
        ) from None
    except Exception as exc:  # dukpy's own errors for JavaScript it cannot run
        raise ProxySettingError(
            f"--proxy-pac {redact(source)}: not a usable PAC file ({type(exc).__name__}: {exc})"
        ) from None
    pac = Pac(f"--proxy-pac {redact(source)}", script)
    with _lock:
        return _cache.setdefault(source, pac)
