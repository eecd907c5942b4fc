"""The one place rendered output leaves the process: stdout or an atomically written file.

Everything written passes through `redact()` here, so no reporter can leak the token even if a
probe put it somewhere by mistake. Files are written to a temporary sibling and renamed, so a CI
job never reads half a report.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from scim_doctor.core.echo import may_echo
from scim_doctor.core.errors import InputError
from scim_doctor.core.files import atomic_file, check_writable
from scim_doctor.core.secrets import redact


def emit(text: str | Iterable[str], stream: TextIO | None = None) -> None:
    """Write redacted text to a stream (stdout by default)."""
    out = stream or sys.stdout
    _write_redacted(out, text)
    out.flush()


def _write_redacted(handle: TextIO, text: str | Iterable[str]) -> None:
    """A report given in pieces is redacted piece by piece: each piece is whole lines (one
    target of a fleet), so no secret or credential line is split between two of them."""
    for piece in (text,) if isinstance(text, str) else text:
        handle.write(redact(piece))


def check_destination(destination: str, option: str = "--output") -> None:
    """Refuse an unusable output path before any network step, not after the whole run.

    A new file name that looks like a token is refused too: it is a token pasted after the
    option, and writing a report under that name would put the token on disk and in "wrote".
    """
    if destination == "-":
        return
    if not may_echo(destination, path=True):
        raise InputError(
            f"{option} takes the PATH of the file to write, and the name given looks like a "
            "token (it is not shown): choose another file name"
        )
    check_writable(Path(destination), f"--output {destination}")


def write_output(text: str | Iterable[str], destination: str) -> Path | None:
    """Write a report to `destination` ('-' = stdout); return the path written, if a file."""
    if destination == "-":
        emit(text)
        return None
    check_destination(destination)
    path = Path(destination)
    if path.exists() and not path.is_file():
        # /dev/null, /dev/stdout, a FIFO: renaming over it would replace the device itself.
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            _write_redacted(handle, text)
        return path
    with (
        atomic_file(path, f"--output {destination}") as raw,
        io.TextIOWrapper(raw, encoding="utf-8", newline="\n") as handle,
    ):
        _write_redacted(handle, text)
    return path


def say(message: str) -> None:
    """One redacted line for the human on stderr ("wrote report.json", errors)."""
    sys.stderr.write(redact(message).rstrip("\n") + "\n")
    sys.stderr.flush()
