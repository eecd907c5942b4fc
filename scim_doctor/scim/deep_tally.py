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
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter, itemgetter, methodcaller
from typing import Any, Final, Literal, NamedTuple

from scim_doctor.core.model import Severity
from scim_doctor.scim import validators as scim

MAX_EXAMPLES: Final = 3
"""Users named per problem in a finding; the rest are counted."""
MAX_KINDS: Final = 24
"""Distinct problem texts kept per finding code (each with its count and examples)."""
RESERVE_MAX: Final = 131_072
"""Users the duplicate tracking makes room for up front (`Tally.reserve`)."""
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
        """Grow now to hold `members` without growing again."""
        while members * 2 > self._mask:
            self._grow()

    def _grow(self) -> None:
        old = self._slots
        slots = self._slots = array("Q", bytes(16 * len(old)))
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


class AlikePage(NamedTuple):
    """A page of users of one shape (`UserValidator.page`)."""

    problems: list[scim.Problem]
    """Each user's problems (the same for every one)."""
    ids: list[str]
    """Each user's id: a string with a non-blank character."""
    folded: list[str]
    """Each user's userName, case-folded (non-blank strings)."""


def _ci_key(keys: tuple[str, ...], lower: str) -> str | None:
    """The key `scim.get_ci` reads for `lower` (an exact spelling wins), None when absent."""
    exact = {"id": "id", "username": "userName"}[lower]
    if exact in keys:
        return exact
    return next((key for key in keys if key.lower() == lower), None)


def _one_str_class(column: list[Any]) -> bool:
    """Every value a string with a non-blank character, none of them "bulkId": one class."""
    return (
        set(map(type, column)) == {str} and all(map(str.strip, column)) and ("bulkId" not in column)
    )


def _alike(kind: int, column: list[Any], prefix: str | None, strict: bool) -> bool:
    """True when `user_shape` gives every value of `column` (one attribute of each user of a
    page, under a key of `kind`) the same part; False when it may not."""
    types = set(map(type, column))
    if len(types) != 1:
        return False
    [kind_of] = types
    if kind == _CLASS:
        return _one_str_class(column)
    if kind == _META and kind_of is dict:
        return _meta_alike(column, prefix, strict)
    if kind_of is str:
        return kind == _OTHER  # "s" (kept whole under _KEEP and a non-dict meta: differ)
    if kind_of is dict:
        return kind == _OTHER  # "d"
    if kind_of is list:
        if kind == _OTHER:
            return _items_alike(column)
        return _exact_lists_alike(column)
    try:
        return len(set(column)) == 1  # a scalar kept whole, as (type, value)
    except TypeError:  # pragma: no cover - every JSON scalar is hashable
        return False


def _items_alike(column: list[list[Any]]) -> bool:
    """Lists whose item shapes agree: all as long, every item a string, or every one an
    object."""
    if len(set(map(len, column))) != 1:
        return False
    item_types = set(map(type, chain.from_iterable(column)))
    return item_types in ({str}, {dict}, set())


def _exact_lists_alike(column: list[list[Any]]) -> bool:
    """Lists kept whole (`schemas`): all equal, of strings only."""
    if set(map(type, chain.from_iterable(column))) - {str}:
        return False
    return len(set(map(tuple, column))) == 1


def _meta_alike(column: list[dict[str, Any]], prefix: str | None, strict: bool) -> bool:
    """Meta objects `_meta_shape` gives one shape: the same keys in the same order, each
    member alike as its kind needs (kept whole, classed, or only typed)."""
    keys_seen = set(map(tuple, column))
    if len(keys_seen) != 1:
        return False
    [keys] = keys_seen
    for key in keys:
        values = list(map(itemgetter(key), column))
        types = set(map(type, values))
        if len(types) != 1:
            return False
        [kind_of] = types
        kind = _meta_kind(key)
        if kind_of is not str:
            if kind_of is dict:
                continue  # "d"
            if kind_of is list or len(set(values)) != 1:
                return False
        elif kind == _RESOURCE_TYPE or (kind == _STAMP and strict):
            if len(set(values)) != 1:
                return False
        elif kind == _LOCATION:
            if prefix is None or not all(map(methodcaller("startswith", prefix), values)):
                return False
            rests = "".join(values)
            if "?" in rests or "#" in rests:
                return False  # the prefix has neither: some value has one after it
    return True


# --- a page decoded by type: users of one known shape, read without a dict each -------------


class Typed(NamedTuple):
    """What a page of users alike to one template needs, read by a msgspec decoder built from
    that template (`typed_template`)."""

    decoder: Any
    """msgspec.json.Decoder of a list of the template's struct: it refuses (in C) any user
    whose attributes differ from the template's in key or type, or in a value pinned as a
    Literal (schemas, meta.resourceType, an integer)."""
    id_of: Callable[[Any], str]
    name_of: Callable[[Any], str]
    checks: tuple[tuple[str, Callable[[Any], Any], Any], ...]
    """What the type cannot pin, checked a column at a time (`alike`): ("exact", getter,
    the template's value) for true/false and floats, ("plain", getter, None) for a string
    classed "s" (id, userName), ("under", getter, prefix) for meta.location."""

    def alike(self, users: list[Any]) -> bool:
        """Every one of `users` (decoded by `decoder`) has the template's shape."""
        for check, getter, value in self.checks:
            column = list(map(getter, users))
            if check == "exact":
                if set(column) != {value}:
                    return False
            elif check == "plain":
                if not _one_str_class(column):
                    return False
            elif not all(map(methodcaller("startswith", value), column)):
                return False
            else:
                rests = "".join(column)
                if "?" in rests or "#" in rests:
                    return False
        return True


def typed_template(user: Any, users_prefix: str | None, strict: bool) -> Typed | None:
    """A decoder that reads only users of `user`'s shape (key order aside), or None when
    that shape cannot be told by type, or in strict mode (its timestamps are kept whole).

    Only for a template without problems: every user the decoder accepts (and `alike`
    passes) has the template's keys and, for each, what `user_shape` keeps of its value, so
    `validate_user` finds none in it either (the order of keys changes only the order of
    problems found)."""
    import msgspec

    if strict or type(user) is not dict:
        return None
    fields: list[tuple[str, Any]] = []
    checks: list[tuple[str, Callable[[Any], Any], Any]] = []
    rename: dict[str, str] = {}
    for index, (key, value) in enumerate(user.items()):
        name = f"f{index}"
        kind = _root_kind(key)
        if kind == _META:
            typ = _meta_type(value, users_prefix, name, checks) if type(value) is dict else None
        elif kind == _CLASS:
            plain = type(value) is str and bool(value.strip()) and value != "bulkId"
            typ = str if plain else None
            checks.append(("plain", attrgetter(name), None))
        elif kind == _KEEP and type(value) is list:
            strings = all(type(item) is str for item in value)
            typ = _TUPLE[tuple(_LITERAL[item] for item in value)] if strings and value else None
        elif kind == _KEEP:
            typ = _scalar_type(value)
        else:
            typ = _value_type(value)
        if typ is None:
            return None
        if typ in (bool, float):
            checks.append(("exact", attrgetter(name), value))
        fields.append((name, typ))
        rename[name] = key
    keys = tuple(user)
    id_key, name_key = _ci_key(keys, "id"), _ci_key(keys, "username")
    if id_key is None or name_key is None:
        return None
    struct = msgspec.defstruct("User", fields, rename=rename, forbid_unknown_fields=True)
    return Typed(
        msgspec.json.Decoder(list[struct]),  # type: ignore[valid-type]
        attrgetter(f"f{keys.index(id_key)}"),
        attrgetter(f"f{keys.index(name_key)}"),
        tuple(checks),
    )


def _any_object() -> Any:
    """Any JSON object, its members skipped (checked as JSON, never made into objects)."""
    import msgspec

    global _ANY_OBJECT
    if _ANY_OBJECT is None:
        _ANY_OBJECT = msgspec.defstruct("AnyObject", [], forbid_unknown_fields=False)
    return _ANY_OBJECT


_ANY_OBJECT: Any = None
_TUPLE: Any = tuple
_LITERAL: Any = Literal
"""Subscripted with values only known at run time (a template's)."""


def _scalar_type(value: Any) -> Any:
    """A type for a non-string scalar kept whole: None, a Literal integer, or bool / float
    (their value then compared after decoding)."""
    kind = type(value)
    if value is None:
        return type(None)
    if kind is int:
        return _LITERAL[value]
    if kind in (bool, float):
        return kind
    return None


def _value_type(value: Any) -> Any:
    """The type for a value `user_shape` reads as `_item_shape` (a plain attribute)."""
    kind = type(value)
    if kind is str:
        return str
    if kind is dict:
        return _any_object()
    if kind is list:
        items = {type(item) for item in value}
        if not value:
            return _TUPLE[()]
        if items == {str}:
            return _TUPLE[(str,) * len(value)]
        if items == {dict}:
            return _TUPLE[(_any_object(),) * len(value)]
        return None
    return _scalar_type(value)


def _meta_type(
    meta: dict[str, Any],
    users_prefix: str | None,
    name: str,
    checks: list[tuple[str, Callable[[Any], Any], Any]],
) -> Any:
    """A struct type for `meta` (non-strict), `name` in the user's: what `_meta_shape` keeps
    of each member; meta.location's check goes to `checks`."""
    import msgspec

    fields: list[tuple[str, Any]] = []
    rename: dict[str, str] = {}
    for index, (key, value) in enumerate(meta.items()):
        kind = _meta_kind(key)
        if type(value) is not str:
            typ = _value_type(value)
            if typ in (bool, float) or type(value) is list:
                return None
        elif kind == _RESOURCE_TYPE:
            typ = _LITERAL[value]
        elif kind == _LOCATION:
            if users_prefix is None or not value.startswith(users_prefix):
                return None
            if "?" in value or "#" in value:
                return None
            typ = str
            checks.append(("under", attrgetter(f"{name}.f{index}"), users_prefix))
        else:
            typ = str
        if typ is None:
            return None
        fields.append((f"f{index}", typ))
        rename[f"f{index}"] = key
    return msgspec.defstruct("Meta", fields, rename=rename, forbid_unknown_fields=True)


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
        if not users or set(map(type, users)) != {dict}:
            return None
        keys_seen = set(map(tuple, users))
        if len(keys_seen) != 1:
            return None
        [keys] = keys_seen
        id_key, name_key = _ci_key(keys, "id"), _ci_key(keys, "username")
        if id_key is None or name_key is None:
            return None
        for key in keys:
            column = list(map(itemgetter(key), users))
            if not _alike(_root_kind(key), column, self._prefix, self.strict):
                return None
        ids = list(map(itemgetter(id_key), users))
        names = list(map(itemgetter(name_key), users))
        return AlikePage(self.problems(users[0]), ids, list(map(str.casefold, names)))

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
    typed: Typed | None = None
    """A decoder for users of the shape of the first page of alike users without problems
    (`typed_template`), for the pages after it."""
    _typed_tried: bool = False

    def reserve(self, users: int) -> None:
        """Room for `users` (totalResults) in the duplicate tracking, made once instead of by
        doubling as they come; at most RESERVE_MAX, so a totalResults no page bears out
        costs at most 2 MiB a table."""
        for hashes in (self.ids, self.names, self.pairs):
            hashes.reserve(min(users, RESERVE_MAX))

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
        seen_ids = self.ids.add_many(map(hash, ids))
        seen_names = self.names.add_many(map(hash, folded))
        seen_pairs = self.pairs.add_many(map(hash, zip(ids, folded, strict=True)))
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
        return self.ids.nbytes + self.names.nbytes + self.pairs.nbytes


def problem_code(problem: scim.Problem) -> str | None:
    """The deep finding a User problem belongs to (INFO problems are left out, as `users`
    does)."""
    if problem.severity is Severity.FAIL or problem.kind == "returned":
        return "users.deep_invalid_users"
    if problem.severity is Severity.WARN:
        return "users.deep_nonconformant_users"
    return None
