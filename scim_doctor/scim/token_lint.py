"""Token hygiene before any request: the mistakes of pasting a token, and JWT validity dates.

Pure functions: they see the token's value but report only its shape (length, fingerprint,
which characters are wrong and where), never the value. A JWT is decoded without verifying
the signature: we only read `exp`, `nbf`, `iat`, `aud` and `iss` to explain a rejection.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any

from msgspec import Struct, field

from scim_doctor.core import findings
from scim_doctor.core.model import Finding
from scim_doctor.core.secrets import Secret

_QUOTES = "\"'`“”‘’"


class TokenReport(Struct, frozen=True):
    """What the linter found: findings plus facts safe to show (no value)."""

    findings: tuple[Finding, ...]
    facts: dict[str, Any] = field(default_factory=dict)


def _b64url_json(part: str) -> Any:
    padded = part + "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def decode_jwt_claims(value: str) -> dict[str, Any] | None:
    """The claims of a JWT-shaped token (unverified), or None when it is not one."""
    parts = value.split(".")
    if len(parts) != 3 or not parts[0].startswith("eyJ"):
        return None
    try:
        header = _b64url_json(parts[0])
        claims = _b64url_json(parts[1])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return claims


def _when(seconds: Any) -> dt.datetime | None:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return None
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _iso(moment: dt.datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _paste_problems(value: str) -> list[str]:
    """How the value was mis-pasted: a scheme prefix, spaces, line breaks, quotes, ..."""
    problems: list[str] = []
    stripped = value.strip()
    if stripped.lower().startswith("bearer "):
        problems.append(
            "it starts with 'Bearer ': identity providers add that prefix themselves, so the "
            "server receives 'Bearer Bearer …'"
        )
    if value != value.strip(" \t"):
        problems.append("it has leading or trailing spaces or tabs")
    if "\n" in value or "\r" in value:
        problems.append("it contains a line break (often a copy from a terminal or a file)")
    if stripped[:1] in _QUOTES or stripped[-1:] in _QUOTES:
        problems.append("it is wrapped in quotes")
    non_ascii = [(i, ch) for i, ch in enumerate(value) if not ch.isascii()]
    if non_ascii:
        where = ", ".join(f"U+{ord(ch):04X} at position {i + 1}" for i, ch in non_ascii[:3])
        problems.append(
            f"it contains non-ASCII characters ({where}), which HTTP headers cannot carry"
        )
    controls = [i for i, ch in enumerate(value) if ch.isascii() and not ch.isprintable()]
    if controls and not ("\n" in value or "\r" in value):
        problems.append(f"it contains control characters (at position {controls[0] + 1})")
    if " " in _without_scheme(stripped):
        problems.append("it contains a space in the middle")
    return problems


def _without_scheme(stripped: str) -> str:
    return stripped[7:].strip() if stripped.lower().startswith("bearer ") else stripped


def _jwt_findings(claims: dict[str, Any], facts: dict[str, Any], now: dt.datetime) -> list[Finding]:
    """A JWT's claims worth showing, and whether its validity window holds now."""
    result: list[Finding] = []
    facts["jwt"] = True
    for claim in ("iss", "aud", "scope"):
        if isinstance(claims.get(claim), (str, list)):
            facts[f"jwt_{claim}"] = claims[claim]
    expires = _when(claims.get("exp"))
    not_before = _when(claims.get("nbf"))
    if expires is not None:
        facts["jwt_exp"] = _iso(expires)
        if expires <= now:
            result.append(
                findings.make(
                    "auth.token_expired",
                    f"the token is a JWT whose exp is {_iso(expires)}, {_human(now - expires)} ago",
                )
            )
    if not_before is not None:
        facts["jwt_nbf"] = _iso(not_before)
        if not_before > now:
            result.append(
                findings.make(
                    "auth.token_not_yet_valid",
                    f"the token is a JWT whose nbf is {_iso(not_before)}, "
                    f"{_human(not_before - now)} from now",
                )
            )
    return result


def lint_token(secret: Secret, now: dt.datetime | None = None) -> TokenReport:
    """Check how a token was pasted, and a JWT's validity window."""
    value = secret.reveal()
    now = now or dt.datetime.now(dt.timezone.utc)
    facts: dict[str, Any] = {
        "length": len(value),
        "sha256_prefix": secret.fingerprint,
        "jwt": False,
    }
    result: list[Finding] = []
    problems = _paste_problems(value)
    if problems:
        result.append(
            findings.make(
                "auth.token_malformed",
                f"the token ({len(value)} characters, sha256 {secret.fingerprint}…) looks "
                "mis-pasted: " + "; ".join(problems),
            )
        )
    if secret.trimmed is not None:
        result.append(
            findings.make(
                "auth.token_trailing_newline",
                f"scim-doctor removed {secret.trimmed} before using the token (sha256 "
                f"{secret.fingerprint}… after removal): a token never ends with one",
            )
        )
    claims = decode_jwt_claims(_without_scheme(value.strip()))
    if claims is not None:
        result += _jwt_findings(claims, facts, now)
    return TokenReport(findings=tuple(result), facts=facts)


def _human(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 2 * 86400:
        return f"{seconds // 86400} days"
    if seconds >= 2 * 3600:
        return f"{seconds // 3600} hours"
    if seconds >= 120:
        return f"{seconds // 60} minutes"
    return f"{seconds} seconds"
