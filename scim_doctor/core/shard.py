"""`--shard K/N`: which targets of a fleet this runner checks, so a CI matrix of N jobs covers a
fleet of thousands of tenants, each target exactly once.

Rendezvous (highest-random-weight) hashing on the target's name: a target goes to the shard
whose hash of (shard number, name) is highest. So a target's shard depends on its name and N
alone — adding or removing a target moves no other target, and going from N to N+1 shards moves
only about 1/(N+1) of them — and CI history per shard stays meaningful. Balance is that of a fair
draw: for 200 targets over 4 shards, every shard is within 25 % of the mean for a fleet of
ordinary names (tests/test_shard.py measures it); no stable scheme can promise more, since
stability forces a target's shard to depend on its own name only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import TypeVar

from msgspec import Struct

from scim_doctor.core.echo import shown
from scim_doctor.core.errors import InputError

T = TypeVar("T")
MAX_SHARDS = 1000


class Shard(Struct, frozen=True):
    """One of N partitions, numbered 1..N as CI matrices count."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, name: str) -> bool:
        return shard_of(name, self.count) == self.index

    def select(self, items: Sequence[T], name_of: str = "name") -> tuple[T, ...]:
        """The items (targets) of this shard, in their order."""
        return tuple(item for item in items if self.holds(str(getattr(item, name_of))))


def _weight(index: int, name: str) -> int:
    digest = hashlib.blake2b(f"{index}\x00{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def shard_of(name: str, count: int) -> int:
    """The shard (1..count) that holds the target `name`."""
    return max(range(1, count + 1), key=lambda index: _weight(index, name))


def parse_shard(text: str) -> Shard:
    """`K/N` with 1 <= K <= N, as a GitHub Actions or GitLab matrix numbers its jobs."""
    match = re.fullmatch(r"\s*(\d{1,4})\s*/\s*(\d{1,4})\s*", text)
    if match is None:
        raise InputError(
            f"--shard {shown(text, quote=True)}: expected K/N, e.g. 2/4 (shard 2 of 4)"
        )
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= count <= MAX_SHARDS:
        raise InputError(f"--shard {text}: N must be between 1 and {MAX_SHARDS}")
    if not 1 <= index <= count:
        raise InputError(f"--shard {text}: K must be between 1 and N ({count})")
    return Shard(index, count)
