"""The demo's seeded directory: fake people and teams, made from their index on demand.

A demo server of 100,000 users (the scale benchmarks) must start at once and cost no memory
until users change, so the seeded users are never stored: `SeededUsers` stands in for the
store's dict and makes each user from its id when asked.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import re
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from typing import Final

from scim_doctor.demo.scim_filter import Comparison
from scim_doctor.demo.scim_wire import GROUP, USER, Json

_PEOPLE: Final = (
    ("Ada", "Lovelace"),
    ("Grace", "Hopper"),
    ("Alan", "Turing"),
    ("Katherine", "Johnson"),
    ("Edsger", "Dijkstra"),
    ("Barbara", "Liskov"),
    ("Margaret", "Hamilton"),
    ("Donald", "Knuth"),
    ("Radia", "Perlman"),
    ("Dennis", "Ritchie"),
    ("Frances", "Allen"),
    ("Ken", "Thompson"),
)
_TEAMS: Final = ("Engineering", "Support", "Finance", "Sales", "Research", "Operations")
_SEED_NAMESPACE: Final = uuid.UUID("5c1d0c70-6a35-4f0e-9a53-2d6f1c0de001")
_SEED_ID: Final = "5c1d0c70-6a35-4f0e-9a53-"
"""Seeded users' ids are this prefix and their index in 12 hex digits, so that a user of a
directory of 100,000 is found, and made, from its id alone."""
_SEED_EXTERNAL_ID: Final = "e7a3f1d2-0b4c-4e5f-8a6b-"
_SEEDED_MEMBERS: Final = 1000
"""Seeded groups share out the first users only: a group of 100,000 members helps no demo."""


class SeededUsers(MutableMapping[str, Json]):
    """The seeded users, made from their index when asked for: a directory of 100,000 users
    costs no memory until users change. Behaves as the dict it replaces (id -> resource, in
    insertion order): a replaced user keeps its place, created users come after the seeded
    ones, and `window` pages through it without making the users before the page.
    """

    def __init__(self, count: int, make: Callable[[int], Json]) -> None:
        self._count = count
        self._make = make
        self._changed: dict[int, Json] = {}
        self._deleted: list[int] = []
        """Deleted seeded indexes, sorted."""
        self._added: dict[str, Json] = {}

    def _index(self, key: str) -> int | None:
        """The seeded index behind `key`, when it names a seeded user that still exists."""
        if len(key) != 36 or not key.startswith(_SEED_ID):
            return None
        try:
            index = int(key[len(_SEED_ID) :], 16)
        except ValueError:
            return None
        if not 0 <= index < self._count or self._is_deleted(index):
            return None
        return index if key == seeded_id(index) else None

    def _is_deleted(self, index: int) -> bool:
        at = bisect.bisect_left(self._deleted, index)
        return at < len(self._deleted) and self._deleted[at] == index

    def _user(self, index: int) -> Json:
        changed = self._changed.get(index)
        return changed if changed is not None else self._make(index)

    def __getitem__(self, key: str) -> Json:
        index = self._index(key)
        if index is None:
            return self._added[key]
        return self._user(index)

    def __setitem__(self, key: str, value: Json) -> None:
        index = self._index(key)
        if index is None:
            self._added[key] = value
        else:
            self._changed[index] = value

    def __delitem__(self, key: str) -> None:
        index = self._index(key)
        if index is None:
            del self._added[key]
            return
        self._changed.pop(index, None)
        bisect.insort(self._deleted, index)

    def __len__(self) -> int:
        return self._count - len(self._deleted) + len(self._added)

    def __iter__(self) -> Iterator[str]:
        for index in self._alive(0, self._deleted):
            yield seeded_id(index)
        yield from self._added

    def _alive(self, start: int, deleted: list[int]) -> Iterator[int]:
        """Seeded indexes not in `deleted` (sorted), from `start` on."""
        at = bisect.bisect_left(deleted, start)
        for index in range(start, self._count):
            if at < len(deleted) and deleted[at] == index:
                at += 1
                continue
            yield index

    def candidates(self, comparison: Comparison) -> list[Json] | None:
        """Every user that may match an `eq` on id, externalId or userName, in store order,
        found without making the whole directory (None: any user may match)."""
        value = comparison.value
        if len(comparison.path) != 1 or not isinstance(value, str):
            return None
        attribute = comparison.path[0].lower()
        if attribute == "id":
            index = self._index(value)
        elif attribute == "externalid":
            index = self._index(_SEED_ID + value[len(_SEED_EXTERNAL_ID) :])
            index = index if value.startswith(_SEED_EXTERNAL_ID) else None
        elif attribute == "username":
            index = self._index_of_user_name(value.casefold())
        else:
            return None
        indexes = sorted({*self._changed, *([] if index is None else [index])})
        return [self._user(i) for i in indexes] + list(self._added.values())

    def _index_of_user_name(self, folded: str) -> int | None:
        """The seeded index whose userName is `folded` (see `seeded_user`), if any."""
        local, _, domain = folded.partition("@")
        match = re.fullmatch(r"([a-z]+)\.([a-z]+?)([1-9][0-9]*)?", local)
        if domain != "example.com" or match is None:
            return None
        first, last, suffix = match.groups()
        people = [(f.lower(), la.lower()) for f, la in _PEOPLE]
        if (first, last) not in people:
            return None
        position = people.index((first, last))
        round_ = int(suffix) - 1 if suffix else 0
        if suffix and round_ < 1:
            return None
        index = round_ * len(_PEOPLE) + position
        return self._index(seeded_id(index))

    def window(self, offset: int, count: int) -> Callable[[], Iterator[Json]]:
        """The users at positions offset .. offset + count - 1, made one at a time on each
        call; deletions and creations after this call do not show (a page sent while it is
        made stays the page it was)."""
        deleted, added = list(self._deleted), list(self._added.values())
        changed = dict(self._changed)

        def users() -> Iterator[Json]:
            start, left = offset, count
            seeded = self._count - len(deleted)
            if start < seeded:
                # The start-th surviving index: skip the deleted indexes that lie before it.
                index = start
                while True:
                    moved = start + bisect.bisect_right(deleted, index)
                    if moved == index:
                        break
                    index = moved
                for i in itertools.islice(self._alive(index, deleted), left):
                    user = changed.get(i)
                    yield user if user is not None else self._make(i)
                left -= min(left, seeded - start)
                start = seeded
            yield from added[start - seeded : start - seeded + left]

        return users


def seeded_id(index: int) -> str:
    """The id of the seeded user at `index`."""
    return f"{_SEED_ID}{index:012x}"


def seeded_user(index: int, base: str, started: str) -> Json:
    """Seeded user number `index`, the same every time: made on demand, never stored.

    `base` is the SCIM base URL the client is answered under, `started` the server's start.
    """
    first, last = _PEOPLE[index % len(_PEOPLE)]
    suffix = "" if index < len(_PEOPLE) else str(index // len(_PEOPLE) + 1)
    user_name = f"{first.lower()}.{last.lower()}{suffix}@example.com"
    user_id = seeded_id(index)
    location = f"{base}/Users/{user_id}"  # the id needs no quoting
    version = hashlib.blake2b(location.encode(), digest_size=8).hexdigest()
    return {
        "schemas": [USER],
        "id": user_id,
        "externalId": f"{_SEED_EXTERNAL_ID}{index:012x}",
        "userName": user_name,
        "name": {"givenName": first, "familyName": last, "formatted": f"{first} {last}"},
        "displayName": f"{first} {last}",
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "active": True,
        "meta": {
            "resourceType": "User",
            "created": started,
            "lastModified": started,
            "location": location,
            "version": f'W/"{version}"',
        },
    }


def seeded_groups(users: int, groups: int) -> Iterator[Json]:
    """The seeded groups, named after teams, sharing out the first users between them; yielded
    one at a time, members as bare values (the store adds display and $ref on insert)."""
    user_ids = [seeded_id(index) for index in range(min(users, _SEEDED_MEMBERS))]
    for index in range(groups):
        team = _TEAMS[index % len(_TEAMS)]
        name = team if index < len(_TEAMS) else f"{team} {index // len(_TEAMS) + 1}"
        yield {
            "schemas": [GROUP],
            "id": str(uuid.uuid5(_SEED_NAMESPACE, f"group:{name}")),
            "externalId": str(uuid.uuid5(_SEED_NAMESPACE, f"external-group:{name}")),
            "displayName": name,
            "members": [
                {"value": uid}
                for position, uid in enumerate(user_ids)
                if position % groups == index
            ],
        }
