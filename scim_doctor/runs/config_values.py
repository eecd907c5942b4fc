"""Reading one value of a config file: where a key is (line numbers tomllib does not give), and
the typed readers that turn a value into a setting or an InputError naming file, line and key.

Apart from `config.py` (which knows the keys and builds targets from them) because these rules
hold for every key alike. The underscore names are private to the pair: `config` imports them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from msgspec import Struct

from scim_doctor.core.echo import looks_like_token
from scim_doctor.core.errors import InputError

_SECRET_KEYS = frozenset(
    {
        "token",
        "scim_token",
        "bearer",
        "bearer_token",
        "access_token",
        "auth_token",
        "api_token",
        "api_key",
        "apikey",
        "authorization",
        "password",
        "secret",
        "client_secret",
        "credentials",
    }
)
_PASSPHRASE_KEYS = frozenset({"key_passphrase", "passphrase", "key_password", "pass_phrase"})


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")


class _Lines:
    """Best-effort line numbers for tables and keys, from the raw text."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.tables: list[tuple[str, int]] = []
        """(table name, header line) in file order; array entries repeat their name."""
        for number, line in enumerate(self.lines, start=1):
            match = _HEADER.match(line)
            if match:
                self.tables.append((match.group(2).strip().strip("\"'"), number))

    def table(self, name: str, index: int = 0) -> int | None:
        found = [number for table, number in self.tables if table == name]
        return found[index] if index < len(found) else None

    def key(self, table_line: int | None, key: str) -> int | None:
        """The line of `key = ...` inside the table starting at `table_line` (0: top level)."""
        start = table_line or 0
        ends = [number for _, number in self.tables if number > start]
        end = min(ends) if ends else len(self.lines) + 1
        pattern = re.compile(
            rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*="
        )
        for number in range(start + 1, end):
            if pattern.match(self.lines[number - 1]):
                return number
        return None


class _Where(Struct, frozen=True):
    """Where a table is: used to prefix every message about it."""

    path: str
    lines: _Lines
    table_line: int | None
    label: str
    """e.g. '[defaults]', '[[targets]] #3 "acme"'."""

    def error(self, key: str | None, message: str) -> InputError:
        line = self.lines.key(self.table_line, key) if key is not None else None
        line = line or self.table_line
        location = f"{self.path}:{line}" if line else self.path
        subject = f"{self.label}: {key}" if key is not None else self.label
        return InputError(f"{location}: {subject}: {message}")


def _type_name(value: object) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _string(where: _Where, key: str, value: object) -> str:
    if not isinstance(value, str):
        raise where.error(key, f"expected a string, got {_type_name(value)}")
    if not value.strip():
        raise where.error(key, "is empty")
    return value


def _no_token_in(where: _Where, key: str, value: str, what: str) -> None:
    if looks_like_token(value):
        raise where.error(
            key,
            f"the value looks like a token, not {what} (it is not shown here); tokens never go "
            "in the config file: put it in an environment variable (token_env) or a file "
            "(token_file)",
        )


def _strings(where: _Where, key: str, value: object) -> tuple[str, ...]:
    """An array of strings, or one string (`only = "dns,tls"` is accepted like the option)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise where.error(key, f"expected an array of strings, got {_type_name(value)}")
    return tuple(item.strip() for item in items if isinstance(item, str))


def _bool(where: _Where, key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise where.error(key, f"expected true or false, got {_type_name(value)}")
    return value


def _number(where: _Where, key: str, value: object, upper: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise where.error(key, f"expected a number of seconds, got {_type_name(value)}")
    if not (0 < value <= upper and math.isfinite(value)):
        raise where.error(key, f"{value:g}: must be more than 0 and at most {upper:g} seconds")
    return float(value)


def _integer(where: _Where, key: str, value: object, lower: int, upper: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(key, f"expected an integer, got {_type_name(value)}")
    if not lower <= value <= upper:
        raise where.error(key, f"{value}: must be between {lower} and {upper}")
    return value


def _path(where: _Where, key: str, value: object, base: Path) -> Path:
    text = _string(where, key, value)
    path = Path(text).expanduser()
    return (path if path.is_absolute() else base / path).resolve()


def _check_ids(where: _Where, key: str, value: object) -> frozenset[str]:
    from scim_doctor.checks import CHECK_IDS

    ids: set[str] = set()
    for item in _strings(where, key, value):
        for check_id in (part.strip() for part in item.split(",")):
            if not check_id:
                continue
            if check_id not in CHECK_IDS:
                raise where.error(
                    key, f"{check_id!r} is not a check (known: {', '.join(CHECK_IDS)})"
                )
            ids.add(check_id)
    return frozenset(ids)


def _proxy(where: _Where, key: str, value: object) -> str:
    import urllib.parse

    from scim_doctor.core.secrets import redact

    text = _string(where, key, value)
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise where.error(key, f"{redact(text)}: not a valid URL") from None
    if parts.scheme not in ("http", "https", "socks5") or not parts.hostname:
        raise where.error(key, f"{redact(text)}: expected http://HOST:PORT")
    return text


def _check_keys(where: _Where, table: Mapping[str, Any], allowed: frozenset[str]) -> None:
    for key in table:
        if key.lower() in _SECRET_KEYS:
            raise where.error(
                key,
                "refused: tokens never go in the config file (the value is not shown); name "
                'where the token is with token_env = "NAME" or token_file = "PATH"',
            )
    for key in table:
        if key.lower() in _PASSPHRASE_KEYS:
            raise where.error(
                key,
                "refused: a key's passphrase never goes in the config file (the value is not "
                'shown); name where it is with key_passphrase_env = "NAME" or '
                'key_passphrase_file = "PATH"',
            )
    for key, value in table.items():
        if key in allowed:
            continue
        if isinstance(value, str) and looks_like_token(value):
            raise where.error(
                key,
                "unknown key, and its value looks like a token (it is not shown); tokens never "
                "go in the config file: use token_env or token_file",
            )
        raise where.error(key, f"unknown key (known: {', '.join(sorted(allowed))})")
