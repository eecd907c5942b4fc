"""What personal data looks like, and where in a SCIM resource it sits: the e-mail and phone
shapes, the key paths that are personal (RFC 7643), and how one value is masked keeping its
shape.

Apart from `pii.py` (the registry, free-text masking and the walk over a report) because these
are the rules a reviewer checks against the RFC and against a sample of real data; the
machinery that applies them fast does not need to be read alongside. The underscore names are
private to the pair: `pii` imports them, and nothing else should.
"""

from __future__ import annotations

import re

MASK = "***"

# --- shapes --------------------------------------------------------------------------------------

_AT = r"(?:@|%40)"
_LOCAL = r"[\w*+'-][\w.*+'-]*"
_LABEL = r"[\w*](?:[\w*-]*[\w*])?"
_EMAIL_BODY = rf"{_LOCAL}{_AT}{_LABEL}(?:\.{_LABEL})*\.[^\W\d_]{{2,24}}(?![\w-])"
# Not glued to a longer word, except right after a %XX escape in a URL.
_EMAIL = rf"(?:(?<![\w.*+'%-])|(?<=%[0-9A-Fa-f]{{2}})){_EMAIL_BODY}"
_PHONE_INTL = r"(?<![\w+*])\+\d(?:[ .()\-]{0,2}\d){6,14}(?!\d)"
_PHONE_NANP_PARENS = r"(?<![\w+*])\(\d{3}\)[ .\-]?\d{3}[ .\-]\d{4}(?![\w-])"
_PHONE_NANP = r"(?<![\w+*.\-])\d{3}[.\-]\d{3}[.\-]\d{4}(?![\w.\-]?\d)(?!\w)"
_PHONE = rf"{_PHONE_INTL}|{_PHONE_NANP_PARENS}|{_PHONE_NANP}"

_EMAIL_FULL = re.compile(rf"{_EMAIL_BODY}\Z")
_MASKED_PHONE = re.compile(r"\+?[\d\s().\-]*\*[\d\s().*\-]*\Z")
_PHONE_FULL = re.compile(rf"(?:{_PHONE})\Z")
# A URL's scheme and authority: never masked (hosts are not personal data, and the secrets
# module already scrubs credentials in userinfo).
_URL_AUTHORITY = r"[A-Za-z][A-Za-z0-9+.\-]*://[^/?#\s\"'<>\\]*"
# Around a registered value: not inside a longer word, except after a %XX escape in a URL or a
# \n-style escape in a JSON string.
_BEFORE = r"(?:(?<!\w)|(?<=%[0-9A-Fa-f]{2})|(?<=\\[nrtbf]))"
_AFTER = r"(?:(?!\w)|(?=%[0-9A-Fa-f]{2}))"

# --- structure -----------------------------------------------------------------------------------

_PERSONAL_KEYS = frozenset({"username", "displayname", "nickname"})
"""Attributes personal wherever they appear (RFC 7643 §4.1.1, and `manager.displayName`)."""
_CONTAINERS = frozenset({"emails", "phonenumbers", "ims"})
"""Multi-valued attributes whose `value` / `display` is personal (RFC 7643 §4.1.2)."""
_ADDRESS_NOT_PERSONAL = frozenset({"type", "primary"})
_REFERENCES = frozenset({"members", "manager"})
"""Sub-objects whose `display` names a user (RFC 7643 §4.2, §4.3)."""
_FREE_TEXT_ATTRIBUTES = frozenset(
    {
        "username",
        "displayname",
        "nickname",
        "formatted",
        "givenname",
        "familyname",
        "value",
        "display",
    }
)
"""Personal values also masked where they appear in free text (not address parts or types)."""


def _personal(path: tuple[str, ...]) -> bool:
    """Whether a string at this key path (lower-cased keys, arrays skipped) is personal data."""
    if not path:
        return False
    key = path[-1]
    parent = path[-2] if len(path) > 1 else ""
    if key in _PERSONAL_KEYS:
        return True
    if parent == "name":  # name.givenName, name.formatted, ...; a string `name` is not personal
        return True
    if parent in _CONTAINERS and key in ("value", "display"):
        return True
    if key in _CONTAINERS:  # a bare string inside emails: [...]
        return True
    if parent == "addresses" and key not in _ADDRESS_NOT_PERSONAL:
        return True
    return parent in _REFERENCES and key in ("display", "displayname")


def _worth_remembering(path: tuple[str, ...]) -> bool:
    """Whether a personal value at `path` is specific enough to hunt for in free text."""
    key = path[-1] if path else ""
    parent = path[-2] if len(path) > 1 else ""
    return key in _FREE_TEXT_ATTRIBUTES or parent == "name" or key in _CONTAINERS


# --- masking one value ---------------------------------------------------------------------------


def _head(text: str) -> str:
    return text[0] if text[:1].isalnum() else "*"


def _mask_email(value: str) -> str:
    match = re.search(_AT, value)
    if match is None:  # pragma: no cover - only called on e-mail shapes
        return _mask_words(value)
    local, at, domain = value[: match.start()], match.group(), value[match.end() :]
    labels = domain.split(".")
    return f"{_head(local)}{MASK}{at}{_head(labels[0])}{MASK}.{labels[-1]}"


def _mask_phone(value: str) -> str:
    """Every digit masked but a leading country code and the last two."""
    keep: set[int] = set()
    digits = [i for i, c in enumerate(value) if c.isdigit()]
    keep.update(digits[-2:])
    if value.startswith("+"):
        country = re.match(r"\+(\d{1,3})(?=\D)", value)
        if country:
            keep.update(range(1, country.end()))
    return "".join(c if not c.isdigit() or i in keep else "*" for i, c in enumerate(value))


TEST_NAME = r"scim-doctor-[0-9a-f]{8}(?:@example\.com)?"
"""The names the lifecycle check gives its test resources: not personal data, and the admin
needs them to find a leftover, so they are never masked."""
_TEST_NAME_FULL = re.compile(rf"{TEST_NAME}\Z")


def _mask_words(value: str) -> str:
    return re.sub(r"\S+", lambda m: _head(m.group()) + MASK, value)


def mask_value(value: str) -> str:
    """`value` masked keeping its shape: `a***@e***.com`, `+1 *** *** **67`, `A*** L***`.

    Idempotent: a masked value masks to itself.
    """
    if not value:
        return value
    stripped = value.strip()
    if _TEST_NAME_FULL.match(stripped):
        return value
    if _EMAIL_FULL.match(stripped):
        return value.replace(stripped, _mask_email(stripped))
    if _MASKED_PHONE.match(stripped):
        return value
    if _PHONE_FULL.match(stripped):
        return value.replace(stripped, _mask_phone(stripped))
    return _mask_words(value)
