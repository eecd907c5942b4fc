"""One module's loader wrapped the first time it is imported: how the package root defers a
third-party module's start-up work (`_lazy_h2`, `_lazy_rfc4514`) without touching any other
import. Standard library only, and no `typing`: the package root runs this for every command.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # the package root runs this: no `typing` import (~10 ms) at start-up
if TYPE_CHECKING:
    from collections.abc import Callable
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any


class DelegatingLoader:
    """A module's own loader; subclasses change how `exec_module` runs it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self.inner.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)


class _WrappingFinder:
    """A meta path finder for one module name: at that module's first import it leaves
    sys.meta_path, finds the module as the other finders would, and gives it the loader
    `wrap` makes of the one found (None from `wrap`: the module loads as found)."""

    def __init__(self, name: str, wrap: Callable[[Any], DelegatingLoader | None]) -> None:
        self.name = name
        self._wrap = wrap

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if name != self.name:
            return None
        sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return None
        wrapped = self._wrap(spec.loader)
        if wrapped is not None:
            spec.loader = wrapped  # type: ignore[assignment]
        return spec


def wrap_on_import(name: str, wrap: Callable[[Any], DelegatingLoader | None]) -> None:
    """Have `wrap` make the loader of module `name` when it is first imported; nothing if it
    is imported already or a wrapper for it is installed."""
    if name not in sys.modules and not any(
        isinstance(finder, _WrappingFinder) and finder.name == name for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _WrappingFinder(name, wrap))
