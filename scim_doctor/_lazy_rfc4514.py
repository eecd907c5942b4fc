"""cryptography's RFC 4514 name parser compiled on first use, not by `import cryptography.x509`.

`cryptography.x509.name` compiles five regular expressions in a class body
(`_RFC4514NameParser`), one of them a long verbose one: some 6 ms of every check's start-up
(issue 21), though only `Name.from_rfc4514_string` uses them, and scim-doctor never calls it.
So that one module runs with an `import re` of its own: the same module but for `compile`,
which returns a `LazyPattern` (compiled on its first match or sub, the only two calls the
parser makes; any other use is answered by the compiled pattern). The stand-in is reached
through the module's own builtins, so no other module, thread or later import sees anything
but the real `re`.

Installed by the package root, before anything can import cryptography; it does nothing once
`cryptography.x509.name` is imported, or when its loader is not one that hands out the code.
"""

from __future__ import annotations

from scim_doctor._wrapped_loader import DelegatingLoader, wrap_on_import

TYPE_CHECKING = False  # the package root runs this: no `typing` import at start-up
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any


class _WithLazyRegexes(DelegatingLoader):
    """The module's own loader, its code run with `import re` giving the stand-in."""

    def exec_module(self, module: ModuleType) -> None:
        import builtins

        code = self.inner.get_code(module.__name__)
        real_import = builtins.__import__
        stand_in = _lazy_re()

        def import_(name: str, *args: Any, **kwargs: Any) -> Any:
            return stand_in if name == "re" else real_import(name, *args, **kwargs)

        # Functions keep the builtins their module had when they were made: this dict, which
        # gets the real __import__ back as soon as the module has run.
        own = dict(vars(builtins))
        own["__import__"] = import_
        module.__dict__["__builtins__"] = own
        try:
            exec(code, module.__dict__)  # noqa: S102 - the module's own code, as its loader would
        finally:
            own["__import__"] = real_import


def _lazy_re() -> ModuleType:
    import re
    from types import ModuleType

    from scim_doctor.core.patterns import LazyPattern

    class DeferredPattern(LazyPattern[str]):
        """A LazyPattern that also answers what it does not define (`split`, `groups`...)
        from the compiled pattern: another cryptography may use its patterns otherwise."""

        def __getattr__(self, name: str) -> Any:
            return getattr(self.compiled, name)

    stand_in = ModuleType("re")
    stand_in.__dict__.update(vars(re))
    stand_in.compile = DeferredPattern  # type: ignore[attr-defined]
    return stand_in


def _with_lazy_regexes(loader: Any) -> DelegatingLoader | None:
    return _WithLazyRegexes(loader) if hasattr(loader, "get_code") else None


def install() -> None:
    wrap_on_import("cryptography.x509.name", _with_lazy_regexes)
