"""The walker every document validator is built on: one checker per document, one scope per object.

A `Checker` collects the problems of one document and knows the mode (lenient or strict); a
`Scope` is one JSON object under check, with case-insensitive attribute lookups, typed getters
that report a wrong JSON type, and the paths problems carry. Kept in one place so that every
validator grades missing, mistyped and undeclared attributes the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from scim_doctor.core.model import Severity
from scim_doctor.scim.urns import REF_NAMES
from scim_doctor.scim.values import (
    FAIL,
    INFO,
    WARN,
    Problem,
    ProblemKind,
    child_path,
    cut,
    describe,
    get_ci,
    is_json_integer,
    lookup,
)

Missing = Severity | None
"""How bad a missing attribute is in lenient mode (None: optional); strict mode: FAIL."""


class Checker:
    """Collects the problems of one document; knows the mode."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.problems: list[Problem] = []

    def add(self, severity: Severity, path: str, kind: ProblemKind, message: str, ref: str) -> None:
        self.problems.append(Problem(path, severity, message, ref, kind))

    def graded(
        self,
        lenient: Severity | None,
        strict: Severity,
        path: str,
        kind: ProblemKind,
        message: str,
        ref: str,
    ) -> None:
        """Add with `strict` severity in strict mode, else `lenient` (None: not at all)."""
        severity = strict if self.strict else lenient
        if severity is not None:
            self.add(severity, path, kind, message, ref)

    def scope(self, node: Mapping[Any, Any], path: str, ref: str) -> Scope:
        return Scope(self, node, path, ref)

    def not_object(self, path: str, value: Any, what: str, ref: str, reveal: bool = True) -> None:
        shown = describe(value, reveal=reveal)
        self.add(FAIL, path, "type", f"{what} is {shown}, not a JSON object", ref)


class Scope:
    """One JSON object under check: attribute lookups with paths, typed getters, problems."""

    def __init__(self, checker: Checker, node: Mapping[Any, Any], path: str, ref: str) -> None:
        self.checker = checker
        self.node = node
        self.path = path
        self.ref = ref
        self._duplicates()

    def _duplicates(self) -> None:
        """Keys that differ only in case name the same attribute: which one counts is a guess."""
        seen: dict[str, str] = {}
        for key in self.node:
            if isinstance(key, str) and seen.setdefault(key.lower(), key) != key:
                first = seen[key.lower()]
                self.checker.add(
                    WARN, child_path(self.path, key), "value",
                    f"{first!r} and {key!r} are the same attribute (names are case-insensitive); "
                    "clients will read either one", REF_NAMES,
                )  # fmt: skip

    def get(self, name: str) -> tuple[str, Any] | None:
        """(key as sent, value); in strict mode notes a spelling that differs in case."""
        found = lookup(self.node, name)
        if found is not None and found[0] != name:
            self.checker.graded(
                None, INFO, child_path(self.path, found[0]), "case",
                f"{found[0]!r} is spelled {name!r} in the RFC (names are case-insensitive, but "
                "some clients compare them exactly)", REF_NAMES,
            )  # fmt: skip
        return found

    def at(self, name: str) -> str:
        """The path of attribute `name` (as the document spells it, if present)."""
        found = lookup(self.node, name)
        return child_path(self.path, found[0] if found else name)

    def add(self, severity: Severity, name: str, kind: ProblemKind, message: str) -> None:
        self.checker.add(severity, self.at(name), kind, message, self.ref)

    def graded(
        self, lenient: Severity | None, strict: Severity, name: str, kind: ProblemKind, msg: str
    ) -> None:
        self.checker.graded(lenient, strict, self.at(name), kind, msg, self.ref)

    def value(self, name: str, missing: Missing) -> tuple[bool, Any]:
        """(present, value); a missing or null REQUIRED attribute is reported."""
        found = self.get(name)
        if found is not None and found[1] is not None:
            return True, found[1]
        if missing is not None:
            said = "is null" if found is not None else "is missing"
            self.graded(missing, FAIL, name, "required", f"{name} {said} (REQUIRED)")
        return False, None

    def string(
        self, name: str, *, missing: Missing = None, wrong: Severity = FAIL, reveal: bool = True
    ) -> str | None:
        """The attribute when it is a string. `wrong`: lenient severity of another type."""
        present, value = self.value(name, missing)
        if not present:
            return None
        if not isinstance(value, str):
            shown = describe(value, reveal=reveal)
            self.graded(wrong, FAIL, name, "type", f"{name} is {shown}, not a string")
            return None
        return value

    def integer(self, name: str, *, missing: Missing = None) -> int | None:
        """The attribute when it is a JSON integer (not "1", 1.0 or true)."""
        present, value = self.value(name, missing)
        if not present:
            return None
        if not is_json_integer(value):
            self.add(FAIL, name, "type", f"{name} is {describe(value)}, not a JSON integer")
            return None
        number: int = value
        return number

    def boolean(self, name: str, *, missing: Missing = None) -> bool | None:
        """The attribute when it is a JSON boolean (not "true")."""
        present, value = self.value(name, missing)
        if not present:
            return None
        if not isinstance(value, bool):
            message = f"{name} is {describe(value)}, not a JSON boolean (true or false)"
            self.add(FAIL, name, "type", message)
            return None
        return value

    def obj(self, name: str, *, missing: Missing = None) -> Scope | None:
        """The attribute as a scope when it is an object."""
        present, value = self.value(name, missing)
        if not present:
            return None
        if not isinstance(value, Mapping):
            self.checker.not_object(self.at(name), value, name, self.ref)
            return None
        return self.checker.scope(value, self.at(name), self.ref)

    def array(
        self, name: str, *, missing: Missing = None, wrong: Severity = FAIL, reveal: bool = True
    ) -> list[Any]:
        """The attribute when it is an array (else empty)."""
        present, value = self.value(name, missing)
        if not present:
            return []
        if not isinstance(value, list):
            shown = describe(value, reveal=reveal)
            self.graded(wrong, FAIL, name, "type", f"{name} is {shown}, not an array")
            return []
        return value

    def items(self, name: str, values: list[Any]) -> list[Scope]:
        """Scopes for the objects of an array attribute; other items are reported."""
        scopes = []
        for index, item in enumerate(values):
            path = f"{self.at(name)}[{index}]"
            if isinstance(item, Mapping):
                scopes.append(self.checker.scope(item, path, self.ref))
            else:
                self.checker.not_object(path, item, f"{name}[{index}]", self.ref)
        return scopes

    def unknown(self, known: Sequence[str], what: str) -> None:
        """Strict mode: attributes the definition does not have (URN containers aside)."""
        if not self.checker.strict:
            return
        names = {name.lower() for name in known}
        for key in self.node:
            if isinstance(key, str) and key.lower() not in names | {"schemas", "id", "meta"}:
                if not key.lower().startswith("urn:"):
                    message = f"{key!r} is not an attribute of {what}"
                    self.checker.add(
                        WARN, child_path(self.path, key), "undeclared", message, self.ref
                    )

    def schemas(self, urn: str) -> list[str]:
        """`schemas` must be an array of URN strings listing `urn`; returns the strings."""
        if get_ci(self.node, "schemas") is None:
            self.add(FAIL, "schemas", "required", f"schemas is missing; it must list {urn}")
            return []
        values = self.array("schemas")
        if not values:
            if isinstance(get_ci(self.node, "schemas"), list):
                self.add(FAIL, "schemas", "schemas", f"schemas is empty; it must list {urn}")
            return []
        strings = [value for value in values if isinstance(value, str)]
        for index, value in enumerate(values):
            if not isinstance(value, str):
                self.checker.add(
                    FAIL, f"{self.at('schemas')}[{index}]", "schemas",
                    f"schemas[{index}] is {describe(value)}, not a URN string", self.ref,
                )  # fmt: skip
        lowered = [value.lower() for value in strings]
        if values and urn.lower() not in lowered:
            shown = cut(json.dumps(strings, ensure_ascii=False), 160)
            self.add(FAIL, "schemas", "schemas", f"schemas is {shown} and lacks {urn}")
        elif values and urn not in strings:
            self.graded(None, INFO, "schemas", "case", f"schemas spells {urn} in another case")
        if len(set(lowered)) != len(lowered):
            self.graded(None, WARN, "schemas", "value", "schemas lists a URN more than once")
        return strings


def root_scope(checker: Checker, document: Any, what: str, ref: str) -> Scope | None:
    """The document as the root scope `$`, or None (with a problem) when it is not an object."""
    if not isinstance(document, Mapping):
        checker.not_object("$", document, what, ref)
        return None
    return checker.scope(document, "$", ref)
