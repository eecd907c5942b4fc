"""Where the token comes from: an environment variable, a file or stdin — never argv.

A token given as a command-line value lands in shell history and in `ps` for every user of the
machine, so there is deliberately no option that takes one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from scim_doctor.core.echo import may_echo, shown
from scim_doctor.core.errors import InputError
from scim_doctor.core.files import read_at_most
from scim_doctor.core.secrets import Secret

DEFAULT_TOKEN_ENV = "SCIM_TOKEN"  # noqa: S105 - a variable name, not a secret
# Bearer tokens in the field are at most a few KiB (JWTs with many claims); anything larger is
# a wrong file, and reading it whole would be a memory hazard.
MAX_TOKEN_BYTES = 16 * 1024


def _decode(raw: bytes, where: str) -> Secret:
    if len(raw) > MAX_TOKEN_BYTES:
        raise InputError(f"{where} holds {len(raw)} bytes: too large to be a token")
    if b"\x00" in raw:
        raise InputError(f"{where} holds binary data, not a token")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{where} is not UTF-8 text, so it cannot be a token") from None
    # One trailing newline is what `echo token > file` writes; a token never ends with one, so
    # it is removed, and said (the auth check reports it: the identity provider's token field,
    # where the value was copied from, must not keep it). Anything else odd (spaces, quotes,
    # "Bearer ") is left for the token linter to diagnose.
    trimmed = None
    for ending, shown_as in (("\r\n", "\\r\\n"), ("\n", "\\n")):
        if text.endswith(ending):
            text, trimmed = text[: -len(ending)], f"a trailing line break ({shown_as}) from {where}"
            break
    if not text.strip():
        raise InputError(f"{where} is empty")
    return Secret(text, trimmed=trimmed)


def read_token(
    *,
    token_env: str | None,
    token_file: Path | None,
    token_stdin: bool,
    stdin: BinaryIO | None = None,
) -> Secret:
    """Read the one token source the user chose (SCIM_TOKEN when none was chosen)."""
    chosen = [token_env is not None, token_file is not None, token_stdin]
    if sum(chosen) > 1:
        raise InputError("choose one of --token-env, --token-file and --token-stdin")
    if token_file is not None:
        if not may_echo(str(token_file), path=True):
            raise InputError(
                "--token-file takes the PATH of a file that holds the token, and what was given "
                "looks like a token itself (it is not shown): put the token in a file and give "
                "its path, or set SCIM_TOKEN"
            )
        where = f"--token-file {token_file}"
        return _decode(read_at_most(token_file, MAX_TOKEN_BYTES, where), where)
    if token_stdin:
        if stdin is None:
            raise InputError("--token-stdin: no standard input")
        return _decode(stdin.read(MAX_TOKEN_BYTES + 1), "standard input (--token-stdin)")
    name = token_env or DEFAULT_TOKEN_ENV
    value = os.environ.get(name) if name and "=" not in name else None
    if value is None and not may_echo(name):
        raise InputError(
            "--token-env takes the NAME of an environment variable, and what was given looks "
            "like a token itself (it is not shown): put the token in that variable instead "
            "(SCIM_TOKEN needs no --token-env)"
        )
    if not name or "=" in name:
        raise InputError(f"--token-env {name!r} is not an environment variable name")
    if value is None:
        raise InputError(
            f"no token: set {name} (or use --token-env NAME, --token-file PATH, --token-stdin; "
            "--no-token checks without one)"
        )
    return _decode(value.encode("utf-8", "surrogateescape"), f"environment variable {shown(name)}")
