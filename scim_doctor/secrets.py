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
from collections.abc import Iterable, Mapping
from typing import Any

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
_pattern: re.Pattern[str] | None = None

_HEADER_LINE = re.compile(
    r"(?im)^([ \t]*(?:[<>][ \t]*)?(?:"
    + "|".join(sorted(SENSITIVE_HEADERS))
    + r")[ \t]*:[ \t]*)(?!\[REDACTED\])\S.*$"
)
# A credential after an auth scheme: 16+ token characters, or 8+ with a digit, so that prose
# such as "Bearer authentication" or "basic settings" is left alone.
_BEARER = re.compile(
    r"(?i)\b(bearer|basic)(\s+)(?!\[REDACTED\])"
    r"(?:[A-Za-z0-9\-._~+/]{16,}|(?=[A-Za-z0-9\-._~+/]*\d)[A-Za-z0-9\-._~+/]{8,})=*"
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
# The value stops at a backslash too: in JSON text `\"` ends a URL, and eating the backslash
# would leave a bare quote that breaks the document the writer redacts.
_QUERY_PARAM = re.compile(
    r"(?i)([?&;](?:"
    + "|".join(sorted(SENSITIVE_QUERY_KEYS))
    + r")=)(?!%5BREDACTED%5D)[^&#\s\"'<>\\]+"
)
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s:]+(?::[^/@\s]*)?@")


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
    global _pattern
    new = _variants(value)
    with _registry_lock:
        if new <= _registered:
            return
        _registered.update(new)
        # Longest first, so a value is not half-replaced by one of its own substrings.
        alternatives = sorted(_registered, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(a) for a in alternatives))


def redact(text: str) -> str:
    """Remove every known secret and every credential-shaped value from `text`.

    Idempotent: redacting twice gives the same text as once.
    """
    if not text:
        return text
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    text = _HEADER_LINE.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BEARER.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    text = _JWT.sub(REDACTED, text)
    text = _QUERY_PARAM.sub(lambda m: m.group(1) + "%5BREDACTED%5D", text)
    text = _URL_USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
    return text


def redact_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Headers with credential-bearing values replaced; other values pass through `redact()`."""
    cleaned = []
    for name, value in headers:
        if name.lower() in SENSITIVE_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value.strip() else ""
            keep = scheme if name.lower().endswith("authorization") and scheme.isalpha() else ""
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

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
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
