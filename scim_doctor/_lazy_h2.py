"""h2 loaded only by a connection that negotiates HTTP/2, not by `import httpcore`.

httpcore's package initialisation imports its HTTP/2 connection classes when `h2` is installed
(falling back to stubs when it is not): h2, hpack and hyperframe, some 8 ms of every run's
start-up, though only a connection that negotiated "h2" through ALPN uses them, and that
connection imports its class again itself (`from .http2 import AsyncHTTP2Connection` in
httpcore's connection module). So while httpcore's package initialises, `h2` reads as absent
(a None in sys.modules, as for sniffio in net/http.py); the HTTP/2 modules then load on first
use. Installed by the package root, before anything can import httpcore; it does nothing once
httpcore is imported, or if h2 already was.
"""

from __future__ import annotations

import sys

from scim_doctor._wrapped_loader import DelegatingLoader, wrap_on_import

TYPE_CHECKING = False  # the package root runs this: no `typing` import (~10 ms) at start-up
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any


class _WithoutH2(DelegatingLoader):
    """httpcore's own loader, run while `import h2` fails."""

    def exec_module(self, module: ModuleType) -> None:
        sys.modules["h2"] = None  # type: ignore[assignment]
        try:
            self.inner.exec_module(module)
        finally:
            if "h2" in sys.modules and sys.modules["h2"] is None:
                del sys.modules["h2"]


def _without_h2(loader: Any) -> DelegatingLoader | None:
    return None if "h2" in sys.modules else _WithoutH2(loader)


def install() -> None:
    wrap_on_import("httpcore", _without_h2)
