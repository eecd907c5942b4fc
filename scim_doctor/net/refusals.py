"""Who refused a request before the SCIM API saw it, and what the server's clock says.

A company's path to a SCIM endpoint often ends in front of it: a WAF or bot protection with a
block page and a reference id, an IP allow-list that answers "your IP address is not allowed",
a front end whose header buffer is smaller than a long token. Each needs its own fix and none is
a bad token, so each is recognised here from the answer alone: pure functions over status,
headers and body (no I/O), tested from samples of the products' own answers. The markers are the
ones the products put in their default pages and headers (sniff.py holds the page signatures).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import ipaddress
import json
import re
from collections.abc import Mapping

from msgspec import Struct

from scim_doctor.core.patterns import LazyPattern
from scim_doctor.core.secrets import redact
from scim_doctor.net.sniff import body_kind, classify_page, escape_controls, html_title

_SCAN = 64 * 1024
_QUOTE_CHARS = 160
NGINX_HEADER_LIMIT = 8 * 1024
"""nginx's default `large_client_header_buffers 4 8k`: one request header line at most 8 KiB."""
AUTHORIZATION_PREFIX = len("Authorization: Bearer ")
"""What the header line adds to the token's own length."""


class Refusal(Struct, frozen=True):
    """What refused a request, in the words and ids a reader can take to its owner."""

    vendor: str | None
    """The product that answered (Cloudflare, AWS WAF, nginx...), when a marker names it."""
    evidence: tuple[str, ...]
    """The markers that matched: a header, a phrase of the page."""
    reference: str | None = None
    """The incident id the answer carries (Ray ID, Reference #, request id, support ID)."""
    said: str | None = None
    """The sentence of the answer that states the refusal, quoted (redacted, clipped)."""
    address: str | None = None
    """The client address the answer names (what the server saw this machine as)."""

    def describe(self) -> str:
        """e.g. "Cloudflare (cf-ray header, 'error code: 1020' in the answer; Ray ID 8f1c...)"."""
        details = ", ".join(self.evidence)
        if self.reference:
            details = f"{details}; {self.reference}" if details else self.reference
        subject = self.vendor or "the front end"
        return f"{subject} ({details})" if details else subject


# --- the text of an answer ----------------------------------------------------------------------

_TAG = LazyPattern(r"<(?:script|style)\b.*?</(?:script|style)\s*>|<[^>]+>", re.I | re.S)


def _strings(value: object) -> list[str]:
    """The string values of a JSON document, in order (the messages an error carries)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def answer_text(body: bytes) -> str:
    """The words of a body as a reader sees them, on one line: a page without its tags and
    entities, a JSON error's string values (its message, detail, error)."""
    text = body[:_SCAN].decode("utf-8", errors="replace")
    if body_kind(body) == "json":
        try:
            text = ". ".join(s.strip().rstrip(".") for s in _strings(json.loads(text)) if s.strip())
        except ValueError:
            pass  # malformed JSON is read as it is
    return " ".join(html.unescape(_TAG.sub(" ", text)).split())


def _quote(text: str) -> str:
    text = escape_controls(redact(text.strip()))
    return text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 1] + "…"


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


# --- WAF and bot protection ---------------------------------------------------------------------

_CLOUDFLARE_CODE = LazyPattern(r"\berror(?: code)?:?\s*(10\d\d)\b", re.I)
_CLOUDFLARE_IP_CODES = {
    "1005": "the owner banned the network (ASN) of this machine's address",
    "1006": "the owner banned this machine's IP address",
    "1007": "the owner banned this machine's IP address",
    "1008": "the owner banned this machine's IP address",
    "1009": "the owner banned the country or region of this machine's address",
}
"""Cloudflare's 1xxx errors that are about the client's address (Cloudflare's error pages)."""
_API_GATEWAY_FORBIDDEN = LazyPattern(rb'^\s*\{\s*"message"\s*:\s*"Forbidden"\s*\}\s*$')
_BLOCK_STATUSES = frozenset({200, 400, 403, 405, 406, 409, 418, 451})
"""Statuses WAFs block with (F5's default page is a 200; AWS WAF's CAPTCHA a 405). 401, 404,
429 and 5xx keep their own meaning (authentication, routing, rate limit, server error)."""


def _amazon(status: int, headers: dict[str, str], body: bytes) -> Refusal | None:
    waf = sorted(name for name in headers if name.startswith("x-amzn-waf-"))
    request_id = headers.get("x-amzn-requestid") or headers.get("x-amz-cf-id")
    reference = f"request id {request_id}" if request_id else None
    if waf:
        return Refusal("AWS WAF", (f"{waf[0]} header",), reference)
    if status == 403 and "x-amzn-requestid" in headers and _API_GATEWAY_FORBIDDEN.match(body):
        evidence = ['{"message":"Forbidden"} from API Gateway', "x-amzn-RequestId header"]
        if headers.get("x-amzn-errortype", "").startswith("ForbiddenException"):
            evidence.append(f"x-amzn-ErrorType: {headers['x-amzn-errortype']}")
        return Refusal("AWS WAF / API Gateway", tuple(evidence), reference)
    return None


def _cloudflare_text(status: int, headers: dict[str, str], text: str) -> Refusal | None:
    """Cloudflare's short answers to non-browser clients: 'error code: 1020' with a cf-ray (an
    application's own 403 passed through Cloudflare carries a cf-ray too, but no such code)."""
    code = _CLOUDFLARE_CODE.search(text)
    if "cf-ray" not in headers or status not in (403, 409, 451) or code is None:
        return None
    evidence = ("cf-ray header", f"'error code: {code.group(1)}' in the answer")
    return Refusal("Cloudflare", evidence, f"Ray ID {headers['cf-ray']}")


def _named_block(body: bytes, headers: dict[str, str], status: int) -> Refusal | None:
    """A block page of a named product, recognised by the page itself or a header that only a
    block carries (cf-mitigated): a CDN's header on the application's own error page is not
    enough, every answer through that CDN has it."""
    if body_kind(body, headers.get("content-type")) != "html":
        return None
    page = classify_page(body, headers, status)
    if page.kind != "block" or page.vendor is None:
        return None
    if not any(e.endswith("in the page") or e.startswith("cf-mitigated") for e in page.evidence):
        return None
    return Refusal(page.vendor, page.evidence, page.reference)


def waf_block(status: int | None, headers: Mapping[str, str], body: bytes) -> Refusal | None:
    """A WAF, CDN or bot-protection block page (or its API-style answer), else None.

    Only named products count: an anonymous "Access denied" page may as well be the application's
    own 403, which keeps its auth.forbidden reading.
    """
    if status is None or status not in _BLOCK_STATUSES:
        return None
    lowered = _lower(headers)
    amazon = _amazon(status, lowered, body)
    if amazon is not None:
        return amazon
    named = _named_block(body, lowered, status)
    if named is not None:
        return named
    if status == 200:
        return None  # a 200 is a block only when its page says so
    return _cloudflare_text(status, lowered, answer_text(body))


# --- IP allow-lists -----------------------------------------------------------------------------

_WINDOW = r"(?:[^.!?;]|\.(?=\w)){0,60}?"
"""A stretch of one sentence (a dot inside an address or a host name does not end it)."""
_SUBJECT = (
    r"(?:\b(?:client|source|remote|your|this|the|requesting|originating)?\s*ip\b(?:[ -]?address)?"
    r"|\b(?:client|source|remote|your) (?:network )?address"
    r"|\byour (?:country|region|location))"
)
_REFUSED = (
    r"(?:not (?:be )?(?:allowed|permitted|authori[sz]ed|whitelisted|allow-?listed|accepted|"
    r"in (?:the |an |your |our )?(?:allow|white|access)[- ]?list|on (?:the |an )?(?:allow|white)"
    r"[- ]?list|in (?:the |an )?allowed (?:range|ranges|list|networks?))|"
    r"(?:been |is |was )?(?:blocked|banned|denied|rejected|restricted|blacklisted|block-?listed))"
)
_IP_PHRASES = (
    LazyPattern(rf"{_SUBJECT}{_WINDOW}\b{_REFUSED}", re.I),
    LazyPattern(
        r"\b(?:banned|blocked|denied|rejected|restricted|not (?:allowed|permitted|authori[sz]ed))"
        r"\s+(?:access\s+)?(?:from|for|to)?\s*(?:your|this|the client'?s?|the) "
        r"(?:ip\b|ip address|address|country|region)",
        re.I,
    ),
    LazyPattern(
        r"\bip[ _-]?(?:address[ _-]?)?(?:allow[ _-]?list|white[ _-]?list|restriction|filter(?:ing)?"
        r"|not[ _-]?allowed|forbidden|blocked|denied)\b|\bipnotallowed\b|\bip_restricted\b",
        re.I,
    ),
    # Azure App Service access restrictions and IIS "IP and Domain Restrictions" (403.503).
    LazyPattern(r"has blocked your access|ip address of the client has been rejected", re.I),
)
_IPV4 = LazyPattern(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = LazyPattern(r"(?<![\w:])(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{0,4}(?![\w:])", re.I)
_IP_STATUSES = frozenset({401, 403, 451})


def _address_near(text: str, start: int, end: int) -> str | None:
    """The first IP address written within a sentence or two of the refusal."""
    window = text[max(0, start - 120) : end + 120]
    for pattern in (_IPV4, _IPV6):
        for match in pattern.finditer(window):
            try:
                return str(ipaddress.ip_address(match.group(0)))
            except ValueError:
                continue
    return None


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence around text[start:end], what a reader would quote; a long one is cut around
    the match ('…' where words were left out)."""
    left = max(text.rfind(mark, 0, start) for mark in (". ", "! ", "? ", "; ", ": "))
    rights = [i for mark in (". ", "! ", "? ", "; ") if (i := text.find(mark, end)) != -1]
    begin, finish = left + 2 if left >= 0 else 0, min(rights) + 1 if rights else len(text)
    if finish - begin <= _QUOTE_CHARS:
        return text[begin:finish]
    room = max(0, (_QUOTE_CHARS - (end - start)) // 2 - 2)
    cut_begin, cut_finish = max(begin, start - room), min(finish, end + room)
    if cut_begin > begin:  # whole words only
        cut_begin = text.find(" ", cut_begin, start) + 1 or cut_begin
    if cut_finish < finish:
        space = text.rfind(" ", end, cut_finish)
        cut_finish = space if space > 0 else cut_finish
    head = "…" if cut_begin > begin else ""
    tail = "…" if cut_finish < finish else ""
    return f"{head}{text[cut_begin:cut_finish].strip()}{tail}"


def ip_refusal(status: int | None, headers: Mapping[str, str], body: bytes) -> Refusal | None:
    """An answer saying this machine's address (or its country) is not allowed, else None: an IP
    allow-list, a WAF IP rule, a geo-block. Recognised by what the answer says, in a page or a
    JSON error, and by Cloudflare's address errors (1005-1009)."""
    if status is None or status not in _IP_STATUSES:
        return None
    lowered = _lower(headers)
    text = answer_text(body)
    code = _CLOUDFLARE_CODE.search(text)
    if "cf-ray" in lowered and code is not None and code.group(1) in _CLOUDFLARE_IP_CODES:
        return Refusal(
            "Cloudflare",
            (f"Cloudflare error {code.group(1)}: {_CLOUDFLARE_IP_CODES[code.group(1)]}",),
            f"Ray ID {lowered['cf-ray']}",
            _quote(_sentence(text, code.start(), code.end())),
            _address_near(text, code.start(), code.end()),
        )
    match = next((m for p in _IP_PHRASES if (m := p.search(text)) is not None), None)
    if match is None:
        return None
    said = _quote(_sentence(text, match.start(), match.end()))
    address = _address_near(text, match.start(), match.end())
    named = _named_block(body, lowered, status)
    if named is not None:
        return Refusal(named.vendor, named.evidence, named.reference, said, address)
    server = lowered.get("server")
    evidence = (f"Server: {_quote(server)}",) if server else ()
    return Refusal(None, evidence, None, said, address)


# --- a request header too large for the front end -------------------------------------------------

_HEADER_TOO_LARGE = LazyPattern(
    r"request header or cookie too large|request header fields? too large|"
    r"header fields? too (?:large|long)|request headers? (?:is |are )?too (?:large|long)|"
    r"size of a request header field exceeds|headers? too (?:large|long)|"
    r"header (?:line |size )?exceeds|request too long|headertoolong|header_too_large",
    re.I,
)
HEADER_STATUSES = frozenset({400, 413, 431, 494})
"""431 (RFC 6585 §5); nginx logs 494 and answers 400; some servers use 413."""


def header_too_large(
    status: int | None, headers: Mapping[str, str], body: bytes, header_line: int
) -> Refusal | None:
    """A front end refusing a request header as too large, else None. `header_line` is the
    length of the longest header line the request sent: a 400 that names no cause counts only
    when that line is past the usual 8 KiB limit."""
    if status is None or status not in HEADER_STATUSES:
        return None
    lowered = _lower(headers)
    text = answer_text(body)
    marker = _HEADER_TOO_LARGE.search(text)
    if status != 431 and marker is None and header_line <= NGINX_HEADER_LIMIT:
        return None
    evidence: list[str] = []
    if marker is not None:
        title = html_title(body)
        said = title if title and _HEADER_TOO_LARGE.search(title) else marker.group(0)
        evidence.append(f"'{_quote(said)}'")
    server = lowered.get("server")
    vendor = _quote(server) if server else None
    return Refusal(vendor, tuple(evidence))


# --- a client certificate required or refused over a completed handshake ----------------------

_NGINX_NO_CERT = "No required SSL certificate was sent"
_NGINX_CERT_ERROR = "The SSL certificate error"


def client_cert_page(status: int | None, body: bytes) -> tuple[str, str] | None:
    """nginx's answer to a request over a handshake that completed without the client
    certificate `ssl_verify_client on` requires: ('required', the page's words) for its 400
    "No required SSL certificate was sent" (internally 496), ('rejected', …) for "The SSL
    certificate error" (495: a certificate was presented and failed verification); else None.
    OpenResty, Kong and Tengine keep nginx's pages."""
    if status != 400 or body_kind(body) != "html":
        return None
    title = html_title(body) or ""
    for kind, words in (("required", _NGINX_NO_CERT), ("rejected", _NGINX_CERT_ERROR)):
        if words.lower() in title.lower():
            return kind, _quote(title)
    return None


# --- the server's clock -------------------------------------------------------------------------


def server_clock(headers: Mapping[str, str]) -> dt.datetime | None:
    """The server's time when it answered: its Date header (RFC 9110 §6.6.1) plus Age for an
    answer served from a cache (RFC 9111 §5.1); None without a parseable Date."""
    lowered = _lower(headers)
    raw = lowered.get("date")
    if not raw:
        return None
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    age = lowered.get("age", "").strip()
    if age.isdigit():
        when += dt.timedelta(seconds=int(age))
    return when.astimezone(dt.timezone.utc)
