"""What the deep sweep remembers about every user it reads: a few bytes each, whatever the size
of the directory.

Duplicates are found with 64-bit hashes kept in flat arrays (`HashSet64`, at most 16 bytes a
member; `IdPairs` keeps each id's first (id, userName) pair beside it): 100,000 users cost 6 MiB
for ids, pairs and userNames, where sets of Python ints would cost 25. Users are validated
with `scim.validate_user`; as the users of one server mostly share one shape, its verdict is
remembered per *shape*: the user with every value the validator reads only for its type
replaced by that type (`user_shape`). Two users of one shape get the same problems, word for
word (tests/test_deep.py holds the validator to that), so each shape is validated once and a
directory of 100,000 alike users costs one validation.
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable, Iterable
from typing import Any, Final, NamedTuple

from msgspec import Struct, field

from scim_doctor.core.model import Severity
from scim_doctor.scim import validators as scim
from scim_doctor.scim.user_shape import Typed, alike_columns, typed_template, user_shape

__all__ = [
    "MAX_EXAMPLES",
    "AlikePage",
    "HashSet64",
    "IdPairs",
    "Seen",
    "Tally",
    "Typed",
    "UserValidator",
    "problem_code",
    "user_shape",
]

MAX_EXAMPLES: Final = 3
"""Users named per problem in a finding; the rest are counted."""
MAX_KINDS: Final = 24
"""Distinct problem texts kept per finding code (each with its count and examples)."""
RESERVE_MAX: Final = 131_072
"""Users the duplicate tracking makes room for up front (`Tally.reserve`)."""
_MEMO_SIZE: Final = 4096
_MASK64: Final = (1 << 64) - 1


def _zeros(size: int) -> array[int]:
    """`size` zero slots, allocated once (array("Q", bytes(n)) makes the bytes first: twice the
    memory for a moment, a hole in the heap afterwards that kept 3 MiB more RSS)."""
    return array("Q", [0]) * size


class HashSet64:
    """A set of non-zero 64-bit integers in one flat array, open addressing, linear probing."""

    def __init__(self, capacity: int = 1024) -> None:
        size = 1 << max(4, (capacity - 1).bit_length())
        self._slots = _zeros(size)
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

    def add_many(self, values: Iterable[int]) -> set[int]:
        """Add every value in order, as `add` would one by one; the positions (in `values`) of
        those that were there already, an earlier one of `values` included. One loop with
        the probing inlined: a third of the time of calling `add` for each."""
        seen: set[int] = set()
        slots, mask, size = self._slots, self._mask, self.size
        for index, raw in enumerate(values):
            value = (raw & _MASK64) or 1
            at = value & mask
            while True:
                held = slots[at]
                if held == value:
                    seen.add(index)
                    break
                if held == 0:
                    slots[at] = value
                    size += 1
                    if size * 2 > mask:
                        self.size = size
                        self._grow()
                        slots, mask = self._slots, self._mask
                    break
                at = (at + 1) & mask
        self.size = size
        return seen

    def reserve(self, members: int) -> None:
        """Grow now, in one step, to hold `members` without growing again."""
        if members * 2 > self._mask:
            self._grow(1 << (members * 2).bit_length())

    def _grow(self, size: int = 0) -> None:
        old = self._slots
        slots = self._slots = _zeros(size or 2 * len(old))
        mask = self._mask = len(slots) - 1
        for value in old:  # distinct and non-zero already: only a free slot to find
            if value:
                at = value & mask
                while slots[at]:
                    at = (at + 1) & mask
                slots[at] = value

    @property
    def nbytes(self) -> int:
        return self._slots.itemsize * len(self._slots)


class AlikePage(NamedTuple):
    """A page of users of one shape (`UserValidator.page`)."""

    problems: list[scim.Problem]
    """Each user's problems (the same for every one)."""
    ids: list[str]
    """Each user's id: a string with a non-blank character."""
    folded: list[str]
    """Each user's userName, case-folded (non-blank strings)."""


class UserValidator:
    """`scim.validate_user` for a whole directory: each shape of user validated once."""

    def __init__(self, base_url: str, strict: bool) -> None:
        self.base_url = base_url
        self.strict = strict
        plain_base = not set(base_url) & {"?", "#"}
        self._prefix = f"{base_url.rstrip('/')}/Users/" if plain_base else None
        self.users_prefix = self._prefix
        """base URL + "/Users/", None when the base URL has a query or a fragment."""
        self._memo: dict[Hashable, list[scim.Problem]] = {}
        self.validations = 0
        """Users actually run through the validator (the others matched a known shape)."""

    def page(self, users: list[Any]) -> AlikePage | None:
        """The problems every user of `users` has, when they all have one shape (so one
        validation speaks for each), with their ids and folded userNames; None when they
        may not, or have no id or userName to tally by: then each is taken alone.

        What `user_shape` reads is checked a column at a time (one attribute of every user,
        through C-level map/set calls), never by building a shape per user: the same key
        names in the same order, and for each attribute what its kind needs to be alike
        (`_alike`). The first user's shape then stands for the page."""
        columns = alike_columns(users, self._prefix, self.strict)
        if columns is None:
            return None
        ids, folded = columns
        return AlikePage(self.problems(users[0]), ids, folded)

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


class IdPairs:
    """Ids (64-bit hashes, as `HashSet64`), each with the hash of the (id, userName) pair of its
    first user beside it: whether a later user's pair was seen before needs no table of its own
    (the `pairs` of every user), only the few pairs of ids seen twice (`later`). One probe a
    user where an id table and a pair table took two."""

    def __init__(self, capacity: int = 1024) -> None:
        self._ids = HashSet64(capacity)
        self._pairs = _zeros(len(self._ids._slots))
        self.later: set[int] = set()
        """Pairs of users whose id an earlier user had, when not that user's pair."""

    def add_many(self, ids: Iterable[int], pairs: Iterable[int]) -> tuple[set[int], set[int]]:
        """Add each (id, pair) in order; the positions whose id was seen before, and those
        whose pair was (as `HashSet64.add_many` on each would say)."""
        seen_ids: set[int] = set()
        seen_pairs: set[int] = set()
        table = self._ids
        keys, values, mask, size = table._slots, self._pairs, table._mask, table.size
        later = self.later
        for index, (raw, pair) in enumerate(zip(ids, pairs, strict=True)):
            value = (raw & _MASK64) or 1
            pair &= _MASK64
            at = value & mask
            while True:
                held = keys[at]
                if held == value:
                    seen_ids.add(index)
                    if values[at] == pair or pair in later:
                        seen_pairs.add(index)
                    else:
                        later.add(pair)
                    break
                if held == 0:
                    keys[at] = value
                    values[at] = pair
                    size += 1
                    if size * 2 > mask:
                        table.size = size
                        self._grow()
                        keys, values, mask = table._slots, self._pairs, table._mask
                    break
                at = (at + 1) & mask
        table.size = size
        return seen_ids, seen_pairs

    def reserve(self, members: int) -> None:
        if members * 2 > self._ids._mask:
            self._grow(1 << (members * 2).bit_length())

    def _grow(self, size: int = 0) -> None:
        table, old_keys, old_values = self._ids, self._ids._slots, self._pairs
        keys = table._slots = _zeros(size or 2 * len(old_keys))
        values = self._pairs = _zeros(len(keys))
        mask = table._mask = len(keys) - 1
        for value, pair in zip(old_keys, old_values, strict=True):
            if value:
                at = value & mask
                while keys[at]:
                    at = (at + 1) & mask
                keys[at] = value
                values[at] = pair

    @property
    def nbytes(self) -> int:
        return self._ids.nbytes + 8 * len(self._pairs) + 32 * len(self.later)


# --- the tally ------------------------------------------------------------------------------


class Seen(Struct):
    """How often one thing was seen, and where first."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, example: str) -> None:
        self.count += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example)


class Tally(Struct):
    """Every user of the sweep, counted, checked for duplicates and validated."""

    validator: UserValidator
    users: int = 0
    ids: IdPairs = field(default_factory=IdPairs)
    """Ids, with whether an (id, userName) pair was seen before."""
    names: HashSet64 = field(default_factory=HashSet64)
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
    typed: Typed | None = None
    """A decoder for users of the shape of the first page of alike users without problems
    (`typed_template`), for the pages after it."""
    _typed_tried: bool = False
    _first_tried: bool = False

    def reserve(self, users: int) -> None:
        """Room for `users` (totalResults) in the duplicate tracking, made once instead of by
        doubling as they come; at most RESERVE_MAX, so a totalResults no page bears out
        costs at most 2 MiB a table."""
        for hashes in (self.ids, self.names):
            hashes.reserve(min(users, RESERVE_MAX))

    def add(self, user: Any, where: str) -> None:
        """Count, check and validate one user; `where` names its page for messages."""
        self.users += 1
        user_id = scim.get_ci(user, "id")
        name = scim.get_ci(user, "userName")
        has_id = type(user_id) is str and bool(user_id)
        folded = name.casefold() if type(name) is str and name.strip() else None
        seen_id = seen_pair = False
        if has_id:
            found_ids, found_pairs = self.ids.add_many((hash(user_id),), (hash((user_id, folded)),))
            seen_id, seen_pair = bool(found_ids), bool(found_pairs)
        seen_name = folded is not None and self.names.add(hash(folded))
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

    def add_page(self, users: list[Any], where: str) -> None:
        """`add` for each of `users` in order, with the same outcome; a page of one shape
        (`UserValidator.page`) is validated once and its duplicates found in three loops
        over hashes instead of a call per user."""
        page = self.validator.page(users)
        if page is None:
            for user in users:
                self.add(user, where)
            return
        self._add_alike(page.problems, page.ids, page.folded, where)
        if not page.problems and self.typed is None and not self._typed_tried:
            self._typed_tried = True
            validator = self.validator
            self.typed = typed_template(users[0], validator.users_prefix, validator.strict)

    def template_from(self, user: Any) -> Typed | None:
        """`typed` built from `user` (the first of the sweep) when it has no problems, so that
        even the first page is decoded by type (its users as dicts would take some 3 MiB)."""
        if self.typed is None and not self._first_tried and user is not None:
            self._first_tried = True
            validator = self.validator
            if not validator.problems(user):
                self.typed = typed_template(user, validator.users_prefix, validator.strict)
        return self.typed

    def add_typed(self, users: list[Any], typed: Typed, where: str) -> bool:
        """`add` for each of `users`, decoded by `typed.decoder` (so of its template's shape,
        which has no problems); False, adding none, when a value msgspec could not pin
        differs from the template's."""
        if not typed.alike(users):
            return False
        ids = list(map(typed.id_of, users))
        folded = list(map(str.casefold, map(typed.name_of, users)))
        self._add_alike([], ids, folded, where)
        return True

    def _add_alike(
        self, problems: list[scim.Problem], ids: list[str], folded: list[str], where: str
    ) -> None:
        """Users with the same `problems`, each with an id and a non-blank userName."""
        self.users += len(ids)
        seen_ids, seen_pairs = self.ids.add_many(
            map(hash, ids), map(hash, zip(ids, folded, strict=True))
        )
        seen_names = self.names.add_many(map(hash, folded))
        flagged = seen_ids | seen_names
        for index in range(len(ids)) if problems else sorted(flagged):
            user_id = ids[index]
            who = f"user {scim.safe_id(user_id)}"
            if index in seen_pairs:
                self.repeated.add(f"{who} ({where})")
            else:
                if index in seen_ids:
                    self.duplicate_ids.add(f"{scim.safe_id(user_id)} ({where})")
                if index in seen_names:
                    self.duplicate_names.add(f"{scim.mask(folded[index])} ({who}, {where})")
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
        return self.ids.nbytes + self.names.nbytes


def problem_code(problem: scim.Problem) -> str | None:
    """The deep finding a User problem belongs to (INFO problems are left out, as `users`
    does)."""
    if problem.severity is Severity.FAIL or problem.kind == "returned":
        return "users.deep_invalid_users"
    if problem.severity is Severity.WARN:
        return "users.deep_nonconformant_users"
    return None
