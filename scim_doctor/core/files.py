"""The user's own files: read with a size cap, written whole or not at all.

A token file, a config file, a report and a support bundle are all paths the user typed, and
they fail in the same ways (a directory, a missing folder, no permission). One set of checks
gives every option the same refusals, worded with the option that named the path.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from scim_doctor.core.errors import InputError


def read_at_most(path: Path, limit: int, where: str) -> bytes:
    """At most `limit` + 1 bytes of `path`, so the caller can tell "too large" without reading
    an unbounded file into memory; `where` names the option in the error ("--config x.toml")."""
    if path.is_dir():
        raise InputError(f"{where}: is a directory")
    try:
        with path.open("rb") as handle:
            return handle.read(limit + 1)
    except OSError as exc:
        raise InputError(f"{where}: cannot be read ({exc.strerror})") from None


def check_writable(path: Path, where: str) -> None:
    """Refuse a path no file can be written to, before any work that would be lost."""
    if path.is_dir():
        raise InputError(f"{where}: is a directory")
    if not path.parent.is_dir():
        raise InputError(f"{where}: directory {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK):
        raise InputError(f"{where}: directory {path.parent} is not writable")


@contextmanager
def atomic_file(path: Path, where: str) -> Iterator[BinaryIO]:
    """A handle on a temporary sibling of `path`, renamed over it when the block ends cleanly
    (and removed when it does not), so a reader never sees half a file."""
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise InputError(f"{where}: cannot write there ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
