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

TYPE_CHECKING = False  # the package root runs this: no `typing` import (~10 ms) at start-up
if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any


class _DeferH2:
    """A meta path finder that only wraps the loader of `httpcore`, once."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if name != "httpcore":
            return None
        sys.meta_path.remove(self)
        if "h2" in sys.modules:
            return None
        import importlib.util

        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _WithoutH2(spec.loader)  # type: ignore[assignment]
        return spec


class _WithoutH2:
    """httpcore's own loader, run while `import h2` fails."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self._inner.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        sys.modules["h2"] = None  # type: ignore[assignment]
        try:
            self._inner.exec_module(module)
        finally:
            if "h2" in sys.modules and sys.modules["h2"] is None:
                del sys.modules["h2"]


def install() -> None:
    if "httpcore" not in sys.modules and not any(
        isinstance(finder, _DeferH2) for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _DeferH2())
