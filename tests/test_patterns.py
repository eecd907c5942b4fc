"""Regular expressions compiled on first use (scim_doctor.core.patterns, issue 21)."""

from __future__ import annotations

import re
from types import ModuleType

import pytest
from msgspec import Struct

from scim_doctor.checks import redirect_walk
from scim_doctor.core.patterns import LazyPattern
from scim_doctor.net import refusals, sniff


def test_a_lazy_pattern_compiles_on_first_use_and_answers_as_re_does() -> None:
    """Given a LazyPattern, when it is first searched, then it compiles once, and each method
    answers as the same re.compile pattern does."""
    lazy = LazyPattern(r"id:?\s*([0-9a-f]+)", re.I)
    eager = re.compile(r"id:?\s*([0-9a-f]+)", re.I)
    text = "Ray ID: 7f3a and id 00ff"

    assert lazy._compiled is None
    found = lazy.search(text)
    assert found is not None and found.group(1) == "7f3a"
    assert lazy.compiled is lazy.compiled
    assert lazy.findall(text) == eager.findall(text)
    assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in eager.finditer(text)]
    assert lazy.sub("<id>", text) == eager.sub("<id>", text)
    assert lazy.match(text) is None and LazyPattern(rb"\{").match(b"{}") is not None


def _patterns(value: object, seen: set[int]) -> list[LazyPattern[str] | LazyPattern[bytes]]:
    if id(value) in seen:
        return []
    seen.add(id(value))
    if isinstance(value, LazyPattern):
        return [value]
    if isinstance(value, (tuple, list, frozenset, set)):
        return [p for item in value for p in _patterns(item, seen)]
    if isinstance(value, dict):
        return [p for item in value.values() for p in _patterns(item, seen)]
    if isinstance(value, Struct):
        return [
            p for name in value.__struct_fields__ for p in _patterns(getattr(value, name), seen)
        ]
    return []


@pytest.mark.parametrize("module", [sniff, refusals, redirect_walk], ids=lambda m: m.__name__)
def test_every_lazy_pattern_of_a_module_compiles(module: ModuleType) -> None:
    """Given a module whose patterns compile on first use, then each of them compiles (a typo
    fails here, not in the one run that meets such an answer)."""
    found = _patterns(list(vars(module).values()), set())

    assert found
    for pattern in found:
        assert isinstance(pattern.compiled, re.Pattern)
