"""The shape of a user: what `scim.validate_user` reads of it, so that users of one shape get
the same problems and one validation speaks for all of them (the deep sweep's memo).

`user_shape` builds it for one user; `alike_columns` tells whether every user of a page has one
shape, an attribute at a time through C-level map/set calls; `typed_template` builds, from a
user without problems, a msgspec decoder that accepts only users of that user's shape.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from itertools import chain
from operator import attrgetter, itemgetter, methodcaller
from typing import Any, Final, Literal, NamedTuple

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


def alike_columns(
    users: list[Any], prefix: str | None, strict: bool
) -> tuple[list[str], list[str]] | None:
    """The ids and case-folded userNames of `users` when they all have one shape and each an
    id and a non-blank userName; None when they may not.

    What `user_shape` reads is checked a column at a time (one attribute of every user),
    never by building a shape per user: the same key names in the same order, and for each
    attribute what its kind needs to be alike (`_alike`)."""
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
        if not _alike(_root_kind(key), column, prefix, strict):
            return None
    ids = list(map(itemgetter(id_key), users))
    names = list(map(itemgetter(name_key), users))
    return ids, list(map(str.casefold, names))


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
