"""The token type and the one redaction function every output passes through.

A `Secret` never shows its value in `str()`, `repr()`, f-strings or tracebacks; only the HTTP
layer calls `reveal()`. Every value a Secret is built from is registered here, so `redact()` can
scrub it (and its common encodings) from any text: reports, transcripts, exception messages,
stderr. Pattern rules also catch credentials we were never told about (cookies, other bearer
tokens, `?access_token=` in URLs).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from scim_doctor.core.patterns import LazyPattern

REDACTED = "[REDACTED]"

# A secret shorter than this is not registered: scrubbing every "abc" from a report would make
# it unreadable, and such a value is flagged by the token linter anyway.
_MIN_SECRET_LENGTH = 4

SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
    }
)

SENSITIVE_QUERY_KEYS = frozenset(
    {
        "token",
        "access_token",
        "id_token",
        "refresh_token",
        "api_key",
        "apikey",
        "key",
        "secret",
        "client_secret",
        "password",
        "passwd",
        "sig",
        "signature",
        "code",
        "auth",
    }
)

_registry_lock = threading.Lock()
_registered: set[str] = set()
_registered_forms: tuple[str, ...] = ()
"""`_registered`, longest first (a value is not half-replaced by one of its own substrings)."""
_pattern: re.Pattern[str] | None = None
_pattern_forms: tuple[str, ...] = ()
"""The forms `_pattern` was compiled for (`_pattern_for`)."""

_HEADER_LINE = LazyPattern(
    r"(?im)^([ \t]*(?:[<>][ \t]*)?(?:"
    + "|".join(sorted(SENSITIVE_HEADERS))
    + r")[ \t]*:[ \t]*)(?!\[REDACTED\])\S.*$"
)
# A credential after an auth scheme: 16+ token characters, or 8+ with a digit, so that prose
# such as "Bearer authentication" or "basic settings" is left alone.
_BEARER = LazyPattern(
    r"(?i)\b(bearer|basic)(\s+)(?!\[REDACTED\])"
    r"(?:[A-Za-z0-9\-._~+/]{16,}|(?=[A-Za-z0-9\-._~+/]*\d)[A-Za-z0-9\-._~+/]{8,})=*"
)
_JWT = LazyPattern(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
# The value stops at a backslash too: in JSON text `\"` ends a URL, and eating the backslash
# would leave a bare quote that breaks the document the writer redacts.
_QUERY_PARAM = LazyPattern(
    r"(?i)([?&;](?:"
    + "|".join(sorted(SENSITIVE_QUERY_KEYS))
    + r")=)(?!%5BREDACTED%5D|\[REDACTED\])[^&#\s\"'<>\\]+"
)
_URL_USERINFO = LazyPattern(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s:]+(?::[^/@\s]*)?@")


# Cheap necessary conditions for the rules above: each regex runs only when its text holds the
# literal it cannot match without (a substring search is some 100 times faster than running
# the regex over a 64 KiB body that holds no credential at all). Case-insensitive rules look in
# a folded copy. Under re.IGNORECASE, four non-ASCII letters also match ASCII ones (İ and ı
# match i, ſ matches s, the Kelvin sign matches k; lower() already maps the last), so they are
# folded first: a pre-check may let a text through needlessly, never skip a match.
_IGNORECASE_TWINS = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})
_HEADER_NAMES = tuple(sorted(SENSITIVE_HEADERS))
_QUERY_KEYS = tuple(f"{key}=" for key in sorted(SENSITIVE_QUERY_KEYS))
_QUERY_KEY_REACH = max(map(len, _QUERY_KEYS))


def _folded(text: str) -> str:
    # translate() walks a long text character by character (0.6 s for a 5 MiB fleet report);
    # three substring searches say whether it has anything to do.
    if text.isascii() or not any(twin in text for twin in "\u0130\u0131\u017f"):
        return text.lower()
    return text.translate(_IGNORECASE_TWINS).lower()


def _names_a_query_key(folded: str) -> bool:
    """Whether one of `_QUERY_KEYS` ends at some '=' of `folded`: a report has a few dozen
    '=' but is 100 KB long, which sixteen substring searches would each read through."""
    index = folded.find("=")
    while index >= 0:
        if folded[max(0, index + 1 - _QUERY_KEY_REACH) : index + 1].endswith(_QUERY_KEYS):
            return True
        index = folded.find("=", index + 1)
    return False


def _occurrences(folded: str, needles: Iterable[str]) -> list[int]:
    """Every index where one of `needles` starts in `folded`, in order."""
    found: set[int] = set()
    for needle in needles:
        index = folded.find(needle)
        while index >= 0:
            found.add(index)
            index = folded.find(needle, index + 1)
    return sorted(found)


def _sub_at(
    pattern: LazyPattern[str],
    text: str,
    starts: Iterable[int],
    repl: Callable[[re.Match[str]], str],
) -> str:
    """`pattern.sub(repl, text)` for a pattern that can only match at one of `starts`.

    Python's regex engine tries every position of a long text (0.3 s per rule over a 5 MiB
    fleet report); a rule that begins with a literal word, or with the start of a line, can
    match only where the word is or where a line starts, and `match(text, pos)` still sees the
    characters before `pos` for `\b` and `^`.
    """
    out: list[str] = []
    pos = 0
    for start in starts:
        if start < pos:
            continue
        match = pattern.match(text, start)
        if match is None:
            continue
        out += (text[pos:start], repl(match))
        pos = match.end()
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _line_starts(text: str, indexes: Iterable[int]) -> list[int]:
    return sorted({text.rfind("\n", 0, index) + 1 for index in indexes})


# The characters `[a-z0-9+.-]` matches under re.IGNORECASE: the ASCII ones and four twins.
_SCHEME_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-\u0130\u0131\u017f\u212a"
)
_SCHEME_LETTERS = _SCHEME_CHARS - frozenset("0123456789+.-")


def _scheme_starts(text: str) -> list[int]:
    """Where `_URL_USERINFO` can match: its scheme is a run of scheme characters ending at a
    `://`, so a match begins inside the run before one, at the first letter with a word
    boundary before it (`\b`). A later start in the same run would read the same text after
    `://`, so it matches exactly when the first does: one start per `://` is enough."""
    starts: list[int] = []
    index = text.find("://")
    while index >= 0:
        begin = index
        while begin > 0 and text[begin - 1] in _SCHEME_CHARS:
            begin -= 1
        for start in range(begin, index):
            before = text[start - 1] if start else ""
            if text[start] in _SCHEME_LETTERS and not (before.isalnum() or before == "_"):
                starts.append(start)
                break
        index = text.find("://", index + 3)
    return starts


def _variants(value: str) -> set[str]:
    """The forms a secret can take in output: raw, trimmed, unprefixed, base64'd, URL-quoted."""
    forms = {value, value.strip()}
    stripped = value.strip()
    if stripped.lower().startswith("bearer "):
        forms.add(stripped[7:].strip())
    for form in list(forms):
        if not form:
            continue
        raw = form.encode("utf-8", "surrogatepass")
        forms.add(base64.b64encode(raw).decode("ascii"))
        forms.add(base64.urlsafe_b64encode(raw).decode("ascii").rstrip("="))
        forms.add(urllib.parse.quote(form, safe=""))
        forms.add(repr(form)[1:-1])
        forms.add(json.dumps(form)[1:-1])
        forms.add(json.dumps(form, ensure_ascii=False)[1:-1])
        forms.add(html.escape(form))
    return {form for form in forms if len(form) >= _MIN_SECRET_LENGTH}


def register_secret(value: str) -> None:
    """Make `redact()` scrub this value (and its encodings) from every output from now on."""
    global _registered_forms
    new = _variants(value)
    with _registry_lock:
        if new <= _registered:
            return
        _registered.update(new)
        # Longest first, so a value is not half-replaced by one of its own substrings.
        _registered_forms = tuple(sorted(_registered, key=len, reverse=True))


def _pattern_for(forms: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern matching any of `forms`, compiled when a text first holds one of them: a
    fleet or `serve` registers a token per target, and compiling a pattern of every form known
    at each registration made registering N tokens cost N compilations of up to N tokens' forms.
    """
    global _pattern, _pattern_forms
    with _registry_lock:
        if _pattern is None or _pattern_forms is not forms:
            _pattern = re.compile("|".join(re.escape(form) for form in forms))
            _pattern_forms = forms
        return _pattern


def redact(text: str) -> str:
    """Remove every known secret and every credential-shaped value from `text`.

    Idempotent: redacting twice gives the same text as once.
    """
    if not text:
        return text
    forms = _registered_forms
    if forms and any(form in text for form in forms):
        text = _pattern_for(forms).sub(REDACTED, text)
    # The folded copy has the text's length (the one character whose lower case is longer, İ,
    # is folded first), so an index found in it is the same place in the text. The header rule
    # changes lengths, so the scheme rule, which needs indexes, gets a fresh copy after it.
    # Later rules use the copy only to pre-check: each replacement only adds ASCII they do not
    # look for ('[REDACTED]', '%5BREDACTED%5D'), so a stale copy can only let a rule run.
    folded = _folded(text)
    if ":" in text:
        starts = _line_starts(text, _occurrences(folded, _HEADER_NAMES))
        redacted = _sub_at(_HEADER_LINE, text, starts, lambda m: m.group(1) + REDACTED)
        if redacted is not text:
            text, folded = redacted, _folded(redacted)
    starts = _occurrences(folded, ("bearer", "basic"))
    text = _sub_at(_BEARER, text, starts, lambda m: m.group(1) + m.group(2) + REDACTED)
    if "eyJ" in text:
        text = _JWT.sub(REDACTED, text)
    if "=" in text and _names_a_query_key(folded):
        text = _QUERY_PARAM.sub(lambda m: m.group(1) + "%5BREDACTED%5D", text)
    if "@" in text and "://" in text:
        starts = _scheme_starts(text)
        text = _sub_at(_URL_USERINFO, text, starts, lambda m: m.group(1) + REDACTED + "@")
    return text


def redact_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Headers with credential-bearing values replaced; other values pass through `redact()`."""
    cleaned = []
    for name, value in headers:
        if name.lower() in SENSITIVE_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value.strip() else ""
            # The scheme (Bearer, Basic) stays readable, unless the "scheme" is itself a
            # registered secret: a token pasted without its scheme, or as the first word.
            plain = scheme.isalpha() and redact(scheme) == scheme
            keep = scheme if name.lower().endswith("authorization") and plain else ""
            cleaned.append((name, f"{keep} {REDACTED}".strip()))
        else:
            cleaned.append((name, redact(value)))
    return tuple(cleaned)


def redact_data(value: Any) -> Any:
    """Apply `redact()` to every string inside a JSON-compatible structure (keys included)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact(str(k)): redact_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v) for v in value]
    return value


class Secret:
    """A credential whose value shows nowhere but where the HTTP layer asks for it."""

    __slots__ = ("_value", "trimmed")

    def __init__(self, value: str, trimmed: str | None = None) -> None:
        self._value = value
        # What was removed from the value as read, and where it was read from ("a trailing
        # line break (\n) from environment variable SCIM_TOKEN"): reported, never silent.
        self.trimmed = trimmed
        register_secret(value)

    def reveal(self) -> str:
        """The raw value. Only the HTTP layer and the token linter may call this."""
        return self._value

    @property
    def fingerprint(self) -> str:
        """First 8 hex digits of the SHA-256 of the value: lets two reports be compared."""
        return hashlib.sha256(self._value.encode("utf-8", "surrogatepass")).hexdigest()[:8]

    def __len__(self) -> int:
        return len(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return f"Secret(sha256:{self.fingerprint}…)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret is not picklable")


def redact_query(query: str) -> str:
    """A query string for a sentence: the values of credential parameters as `[REDACTED]`
    (the output redaction writes `%5BREDACTED%5D` inside URLs, which must stay valid)."""
    parts = []
    for part in query.split("&"):
        key, sep, value = part.partition("=")
        hidden = sep and value and key.lower() in SENSITIVE_QUERY_KEYS
        parts.append(f"{key}=[REDACTED]" if hidden else part)
    return "&".join(parts)
