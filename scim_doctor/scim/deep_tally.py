"""What the deep sweep remembers about every user it reads: a few bytes each, whatever the size
of the directory.

Duplicates are found with 64-bit hashes kept in flat arrays (`HashSet64`, at most 16 bytes a
member: 100,000 users cost under 5 MB for ids, userNames and the pairs of both, where sets of
Python ints would cost 25). Users are validated with `scim.validate_user`; as the users of one
server mostly share one shape, its verdict is remembered per *shape*: the user with every value
the validator reads only for its type replaced by that type (`user_shape`). Two users of one
shape get the same problems, word for word (tests/test_deep.py holds the validator to that),
so each shape is validated once and a directory of 100,000 alike users costs one validation.
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Final

from scim_doctor.core.model import Severity
from scim_doctor.scim import validators as scim

MAX_EXAMPLES: Final = 3
"""Users named per problem in a finding; the rest are counted."""
MAX_KINDS: Final = 24
"""Distinct problem texts kept per finding code (each with its count and examples)."""
_MEMO_SIZE: Final = 4096
_MASK64: Final = (1 << 64) - 1


class HashSet64:
    """A set of non-zero 64-bit integers in one flat array, open addressing, linear probing."""

    def __init__(self, capacity: int = 1024) -> None:
        size = 1 << max(4, (capacity - 1).bit_length())
        self._slots = array("Q", bytes(8 * size))
        self._mask = size - 1
        self.size = 0

    def add(self, value: int) -> bool:
        """Add `value` (0 stands for 1); True when it was there already."""
        value = (value & _MASK64) or 1
        slots, mask = self._slots, self._mask
        at = value & mask
        while True:
            held = slots[at]
            if held == value:
                return True
            if held == 0:
                slots[at] = value
                self.size += 1
                if self.size * 2 > mask:
                    self._grow()
                return False
            at = (at + 1) & mask

    def _grow(self) -> None:
        old = self._slots
        self._slots = array("Q", bytes(16 * len(old)))
        self._mask = len(self._slots) - 1
        self.size = 0
        for value in old:
            if value:
                self.add(value)

    @property
    def nbytes(self) -> int:
        return self._slots.itemsize * len(self._slots)


# --- validation, once per shape ------------------------------------------------------------

_EXACT: Final = frozenset({"schemas", "active"})
"""Top-level attributes whose values the validator may quote or compare: kept whole."""
_CLASSED: Final = frozenset({"id", "username"})
"""Strings judged only on being blank (and `id` on being "bulkId")."""
_OTHER, _META, _KEEP, _CLASS, _RESOURCE_TYPE, _LOCATION, _STAMP = range(7)
_ROOT_KINDS: dict[str, int] = {}
_META_KINDS: dict[str, int] = {}


def _root_kind(key: str) -> int:
    kind = _ROOT_KINDS.get(key)
    if kind is None:
        low = key.lower()
        kind = (
            _META if low == "meta" else _KEEP if low in _EXACT else _CLASS if low in _CLASSED
            else _OTHER
        )  # fmt: skip
        if len(_ROOT_KINDS) < 4096:
            _ROOT_KINDS[key] = kind
    return kind


def _meta_kind(key: str) -> int:
    kind = _META_KINDS.get(key)
    if kind is None:
        low = key.lower()
        kind = {"resourcetype": _RESOURCE_TYPE, "location": _LOCATION}.get(low, _OTHER)
        kind = _STAMP if low in ("created", "lastmodified") else kind
        if len(_META_KINDS) < 4096:
            _META_KINDS[key] = kind
    return kind


def user_shape(user: Any, users_prefix: str | None, strict: bool) -> Hashable:
    """What `scim.validate_user` reads of `user`: equal shapes, equal problems.

    Key names and their order are kept (the validator reports names that differ only in case,
    and spellings); `schemas`, `active`, `meta.resourceType`, non-string scalars and, in strict
    mode, the meta timestamps are kept whole; `id` and `userName` become blank / "bulkId" / a
    string; `meta.location` becomes "under the base URL" when it plainly is (`users_prefix`:
    base URL + "/Users/"), else stays whole; any other string becomes "a string", any object
    "an object", arrays the shapes of their items (the validator quotes their length).
    """
    if type(user) is not dict:
        return ("not an object", _exact(user))
    parts: list[Hashable] = []
    append = parts.append
    for key, value in user.items():
        kind = _root_kind(key)
        if kind == _OTHER:
            append((key, "s" if type(value) is str else _item_shape(value)))
        elif kind == _CLASS:
            if type(value) is str:
                shape = "bulkId" if value == "bulkId" else "s" if value.strip() else "blank"
                append((key, shape))
            else:
                append((key, _item_shape(value)))
        elif kind == _META and type(value) is dict:
            append((key, _meta_shape(value, users_prefix, strict)))
        else:
            append((key, _exact(value)))
    return tuple(parts)


def _item_shape(value: Any) -> Hashable:
    kind = type(value)
    if kind is dict:
        return "d"
    if kind is list:
        return ("l", *[_item_shape(item) for item in value])
    if kind is str:
        return "s"
    return (kind, value)


def _exact(value: Any) -> Hashable:
    kind = type(value)
    if kind is list:
        return ("l", *[_exact(item) for item in value])
    if kind is dict:
        return ("d", *[(key, _exact(item)) for key, item in value.items()])
    return (kind, value)


def _meta_shape(meta: dict[str, Any], users_prefix: str | None, strict: bool) -> Hashable:
    parts: list[Hashable] = ["meta"]
    for key, value in meta.items():
        kind = _meta_kind(key)
        if type(value) is not str:
            shape = _item_shape(value)
        elif kind == _RESOURCE_TYPE or (kind == _STAMP and strict):
            shape = value
        elif kind == _LOCATION:
            plain = users_prefix is not None and value.startswith(users_prefix)
            rest = value[len(users_prefix) :] if plain and users_prefix else "?"
            shape = "under the base URL" if "?" not in rest and "#" not in rest else ("v", value)
        else:
            shape = "s"
        parts.append((key, shape))
    return tuple(parts)


class UserValidator:
    """`scim.validate_user` for a whole directory: each shape of user validated once."""

    def __init__(self, base_url: str, strict: bool) -> None:
        self.base_url = base_url
        self.strict = strict
        plain_base = not set(base_url) & {"?", "#"}
        self._prefix = f"{base_url.rstrip('/')}/Users/" if plain_base else None
        self._memo: dict[Hashable, list[scim.Problem]] = {}
        self.validations = 0
        """Users actually run through the validator (the others matched a known shape)."""

    def problems(self, user: Any) -> list[scim.Problem]:
        key = user_shape(user, self._prefix, self.strict)
        found = self._memo.get(key)
        if found is None:
            found = scim.validate_user(user, base_url=self.base_url, strict=self.strict)
            self.validations += 1
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = found
        return found


# --- the tally ------------------------------------------------------------------------------


@dataclass
class Seen:
    """How often one thing was seen, and where first."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, example: str) -> None:
        self.count += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example)


@dataclass
class Tally:
    """Every user of the sweep, counted, checked for duplicates and validated."""

    validator: UserValidator
    users: int = 0
    ids: HashSet64 = field(default_factory=HashSet64)
    names: HashSet64 = field(default_factory=HashSet64)
    pairs: HashSet64 = field(default_factory=HashSet64)
    duplicate_ids: Seen = field(default_factory=Seen)
    """Users whose id an earlier user (with another userName) had."""
    duplicate_names: Seen = field(default_factory=Seen)
    """Users whose userName (case-insensitive) an earlier user with another id had."""
    repeated: Seen = field(default_factory=Seen)
    """Users listed again: same id, same userName."""
    problems: dict[str, dict[str, Seen]] = field(default_factory=dict)
    """finding code -> problem text -> users."""
    problem_users: dict[str, int] = field(default_factory=dict)
    """finding code -> users with at least one such problem."""

    def add(self, user: Any, where: str) -> None:
        """Count, check and validate one user; `where` names its page for messages."""
        self.users += 1
        user_id = scim.get_ci(user, "id")
        name = scim.get_ci(user, "userName")
        has_id = type(user_id) is str and bool(user_id)
        folded = name.casefold() if type(name) is str and name.strip() else None
        seen_id = has_id and self.ids.add(hash(user_id))
        seen_name = folded is not None and self.names.add(hash(folded))
        seen_pair = has_id and self.pairs.add(hash((user_id, folded)))
        problems = self.validator.problems(user)
        if not (seen_id or seen_name or problems):
            return
        who = f"user {scim.safe_id(user_id)}" if has_id else f"a user without id ({where})"
        if seen_pair:
            self.repeated.add(f"{who} ({where})")
        else:
            if seen_id:
                self.duplicate_ids.add(f"{scim.safe_id(user_id)} ({where})")
            if seen_name and folded is not None:
                self.duplicate_names.add(f"{scim.mask(folded)} ({who}, {where})")
        self._note(problems, who)

    def _note(self, problems: list[scim.Problem], who: str) -> None:
        codes: set[str] = set()
        for problem in problems:
            code = problem_code(problem)
            if code is None:
                continue
            codes.add(code)
            texts = self.problems.setdefault(code, {})
            text = (
                problem.message if problem.path == "$" else f"{problem.message} (at {problem.path})"
            )
            seen = texts.get(text)
            if seen is None:
                if len(texts) >= MAX_KINDS:
                    text = "other problems"
                seen = texts.setdefault(text, Seen())
            seen.add(who)
        for code in codes:
            self.problem_users[code] = self.problem_users.get(code, 0) + 1

    @property
    def nbytes(self) -> int:
        """Memory of the duplicate tracking (the arrays), for the report's facts."""
        return self.ids.nbytes + self.names.nbytes + self.pairs.nbytes


def problem_code(problem: scim.Problem) -> str | None:
    """The deep finding a User problem belongs to (INFO problems are left out, as `users`
    does)."""
    if problem.severity is Severity.FAIL or problem.kind == "returned":
        return "users.deep_invalid_users"
    if problem.severity is Severity.WARN:
        return "users.deep_nonconformant_users"
    return None
