"""What a request carries before it is sent: its headers and body, its URL, and the rule that
keeps the token on https to the target's own host and port.

Apart from `http.py` so the safety rule (`unsafe`) reads on its own: it is the one place that
decides whether credentials may leave, whatever a probe asked for.
"""

from __future__ import annotations

import json as jsonlib
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from msgspec import Struct

from scim_doctor.core.secrets import SENSITIVE_HEADERS, Secret, redact
from scim_doctor.net.body import SCIM_JSON
from scim_doctor.net.exchange import Progress
from scim_doctor.net.target import Target


class Prepared(Struct, frozen=True):
    """A request that may be sent, with its clock and time budget."""

    request: httpx.Request
    progress: Progress
    budget: float
    """Seconds this request may take (--timeout or `timeout`, cut by the run's deadline)."""
    wanted: float
    """Seconds asked for, before the deadline cut it."""


def content_headers(
    accept: str | None, json: Any, content: bytes | None
) -> tuple[list[tuple[str, str]], bytes | None]:
    """Accept, and the body with its Content-Type: `json` as application/scim+json, else the
    raw `content`."""
    outgoing: list[tuple[str, str]] = []
    if accept is not None:
        outgoing.append(("Accept", accept))
    body = content
    if json is not None:
        body = jsonlib.dumps(json, ensure_ascii=False).encode("utf-8")
        outgoing.append(("Content-Type", SCIM_JSON))
    return outgoing, body


def with_caller_headers(
    outgoing: list[tuple[str, str]],
    headers: Mapping[str, str] | Sequence[tuple[str, str]] | None,
) -> list[tuple[str, str]]:
    """The caller's headers win over everything built from the other arguments (any case)."""
    items: list[Any] = []
    if headers is not None:
        items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    for name, value in items:
        outgoing = [(n, v) for n, v in outgoing if n.lower() != name.lower()]
        outgoing.append((name, value))
    return outgoing


def absolute_url(url_text: str) -> httpx.URL:
    """The URL to send to; raises `httpx.InvalidURL` (or ValueError) unless absolute http(s)."""
    url = httpx.URL(url_text)
    if url.scheme not in ("http", "https") or not url.host:
        raise httpx.InvalidURL("only absolute http:// and https:// URLs can be requested")
    return url


def unsafe(
    url: httpx.URL,
    outgoing: list[tuple[str, str]],
    body: bytes | None,
    token_secret: Secret | None,
    target: Target,
) -> str | None:
    """Why this request must not be sent (credentials leaving https://target), else None."""
    token = token_secret.reveal() if token_secret else ""
    credential_header = any(name.lower() in SENSITIVE_HEADERS for name, _ in outgoing)
    forms = {token, urllib.parse.quote(token, safe=""), urllib.parse.quote_plus(token)}
    token_inside = len(token) >= 4 and (
        any(form in str(url) for form in forms)
        or any(token in value for _, value in outgoing)
        or (body is not None and token.encode("utf-8", "surrogatepass") in body)
    )
    if not (credential_header or token_inside):
        return None
    host = url.raw_host.decode("ascii").lower()
    port = url.port or (443 if url.scheme == "https" else 80)
    where = redact(f"{url.scheme}://{url.netloc.decode('ascii')}")
    if url.scheme != "https":
        return (
            f"not sent: credentials are only ever sent over https, and this request goes to {where}"
        )
    if host != target.host or port != target.port:
        return (
            f"not sent: credentials are only ever sent to the target "
            f"{target.host}:{target.port}, and this request goes to {where}"
        )
    return None
