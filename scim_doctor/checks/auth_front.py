"""The auth check's answers that came from in front of the SCIM API, and the server's clock.

A refusal by a front end is not a verdict on the token: an IP allow-list, a WAF or bot
protection, a header buffer smaller than the token. Each is told apart here by comparing the
request with the token with the three without it (net/refusals.py recognises the answers), and
each gets its own code, because what is known differs:

- an IP allow-list turned down this machine's address: nothing follows for the identity
  provider's addresses (this machine's path, `auth.ip_not_allowed`);
- a WAF that blocks requests with and without the token alike decided on something of this
  client (address, reputation, fingerprint) or of the request: this run cannot tell which, so
  nothing follows for the provider either (`auth.waf_blocked`);
- a WAF that blocks only the request that carries the token, and a front end that refuses the
  header the token makes too long, refuse the same token from any provider (`auth.waf_blocks_token`,
  `auth.header_too_large`).

The clock: every answer's Date is the server's (or its front end's) time; more than five minutes
from this machine's clock is worth a warning, and which of the two is wrong cannot be told.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from msgspec import Struct

from scim_doctor.core import findings
from scim_doctor.core.model import Finding
from scim_doctor.net.refusals import (
    AUTHORIZATION_PREFIX,
    NGINX_HEADER_LIMIT,
    Refusal,
    client_cert_page,
    header_too_large,
    ip_refusal,
    server_clock,
    waf_block,
)
from scim_doctor.net.result import HttpResult

CLOCK_SKEW_LIMIT = dt.timedelta(minutes=5)
"""More than this between the clocks is a warning: the leeway JWT libraries and Kerberos allow."""

Labelled = Sequence[tuple[str, HttpResult]]
"""The requests without a valid token, by the label messages give them ('without a token')."""

_LOOK_UP = {
    "Cloudflare": "in the Cloudflare dashboard under Security → Events (filter by Ray ID)",
    "Akamai": "with Akamai's reference lookup or in its Security Center events",
    "AWS WAF": "in the web ACL's sampled requests or WAF logs (the terminatingRuleId field)",
    "AWS WAF / API Gateway": "in the web ACL's sampled requests or WAF logs (terminatingRuleId); "
    "API Gateway answers the same for a missing API key or a resource-policy deny",
    "AWS WAF / CloudFront": "in the web ACL's sampled requests or WAF logs (terminatingRuleId)",
    "Imperva Incapsula": "in Imperva's Security Events (search by incident ID)",
    "F5 BIG-IP": "in the BIG-IP ASM / Advanced WAF event log (search by support ID)",
}


class Refused(Struct, frozen=True):
    """How the auth check reads an authenticated request refused in front of the API."""

    summary: str
    finding: Finding


def refused_in_front(
    token: HttpResult, negatives: Labelled, token_chars: int, presented: bool = False
) -> Refused | None:
    """The front end's refusal of the request with the token, or None when the API answered
    (or nothing did): a client certificate it requires (nginx's page names it), then the
    header limit (it is certain), then the IP allow-list, then the WAF. `presented`: this
    run gave a client certificate (--cert)."""
    if token.status is None:
        return None
    what = f"GET {token.url} (with the token)"
    certificate = _client_cert_refusal(what, token, negatives, presented)
    if certificate is not None:
        return certificate
    line = AUTHORIZATION_PREFIX + token_chars
    too_large = header_too_large(token.status, token.headers, token.body, line)
    if too_large is not None and not _same_status(negatives, token.status, "without a token"):
        return _header_finding(what, token, too_large, negatives, token_chars)
    address = ip_refusal(token.status, token.headers, token.body)
    if address is not None:
        return _ip_finding(what, token, address, negatives)
    block = waf_block(token.status, token.headers, token.body)
    if block is not None:
        return _waf_finding(what, token, block, negatives)
    return None


def _client_cert_refusal(
    what: str, token: HttpResult, negatives: Labelled, presented: bool
) -> Refused | None:
    """nginx's `ssl_verify_client on`: the TLS handshake completes without a client certificate
    (or with one it does not accept), and every request gets a 400 page saying so."""
    page = client_cert_page(token.status, token.body)
    if page is None:
        return None
    kind, said = page
    answered = f"{what} answered {_answered(token)} '{said}' over a completed TLS handshake"
    if kind == "rejected" and presented:
        message = (
            f"{answered}, while the same request {_others(negatives)}: the front end (nginx's "
            "ssl_verify_client) refused the client certificate given with --cert without failing "
            "the handshake, so the TLS check saw nothing wrong"
        )
        summary = "the front end refused the client certificate (HTTP 400 from nginx)"
        return Refused(summary, findings.make("tls.client_cert_rejected", message))
    message = (
        f"{answered}, while the same request {_others(negatives)}: the front end requires a "
        "client certificate (nginx's ssl_verify_client on) and answers every request without "
        "one with this page instead of failing the handshake, so it looks like a broken API. "
        "The token was never checked"
    )
    summary = "a client certificate is required (HTTP 400 from nginx): the token was not checked"
    return Refused(summary, findings.make("tls.client_cert_required", message))


def _same_status(negatives: Labelled, status: int, *labels: str) -> bool:
    return any(r.status == status for label, r in negatives if not labels or label in labels)


def _answered(result: HttpResult) -> str:
    return f"{result.status} {result.reason}".strip()


def _others(negatives: Labelled) -> str:
    """How the requests without the token were answered: "got 401 Unauthorized without a token,
    with a random bearer token and with 'Authorization: non-token'"."""
    groups: dict[str, list[str]] = {}
    for label, result in negatives:
        answer = _answered(result) if result.status is not None else "no answer"
        groups.setdefault(answer, []).append(label)
    return "; ".join(f"got {answer} {_join(labels)}" for answer, labels in groups.items())


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _header_finding(
    what: str, token: HttpResult, refusal: Refusal, negatives: Labelled, chars: int
) -> Refused:
    line = AUTHORIZATION_PREFIX + chars
    said = f" {', '.join(refusal.evidence)}" if refusal.evidence else ""
    server = f" (Server: {refusal.vendor})" if refusal.vendor else ""
    if line > NGINX_HEADER_LIMIT:
        limit = (
            f"past the 8 KiB ({NGINX_HEADER_LIMIT:,} bytes) that front ends commonly allow for "
            "one header line (nginx's default large_client_header_buffers 4 8k)"
        )
    else:
        limit = (
            "under the common 8 KiB limit, so this front end allows less (or counts all "
            "headers together)"
        )
    message = (
        f"{what} answered {_answered(token)}{said}{server}, while the same request "
        f"{_others(negatives)}. The token is {chars:,} characters long, so its header line "
        f"'Authorization: Bearer <token>' is {line:,} bytes, {limit}. The front end refused "
        "the request before the API saw the token; every identity provider sends the same "
        "token in the same header and is refused the same way"
    )
    summary = (
        f"the token was not checked: its header is too large for the front end ({token.status})"
    )
    return Refused(summary, findings.make("auth.header_too_large", message))


def _ip_finding(what: str, token: HttpResult, refusal: Refusal, negatives: Labelled) -> Refused:
    said = f" saying {refusal.said!r}" if refusal.said else ""
    who = f" from {refusal.describe()}" if refusal.vendor or refusal.evidence else ""
    if refusal.reference and not who:
        who = f" ({refusal.reference})"
    seen = (
        f"; the answer gives this machine's address as {refusal.address}" if refusal.address else ""
    )
    message = (
        f"{what} answered {_answered(token)}{said}{who}{seen}; the same request "
        f"{_others(negatives)}. "
        "The server, or a firewall or WAF in front of it, admits clients by their address, and "
        "this machine's is not on its list: the token was never checked. A test from this "
        "machine cannot prove that the identity provider's addresses are allowed, nor that they "
        "are refused: the provider calls from its own published ranges (Entra ID: the Azure "
        "service tag AzureActiveDirectory; Okta: the IP ranges of your org's cell in its "
        "ip_ranges.json; OneLogin, JumpCloud and Google publish no list for their provisioning "
        "calls that scim-doctor knows of: ask their support)"
    )
    summary = f"the token was not checked: an IP allow-list refused this machine ({token.status})"
    return Refused(summary, findings.make("auth.ip_not_allowed", message))


def _waf_finding(what: str, token: HttpResult, refusal: Refusal, negatives: Labelled) -> Refused:
    blocked = [
        label
        for label, result in negatives
        if waf_block(result.status, result.headers, result.body) is not None
    ]
    where = _LOOK_UP.get(refusal.vendor or "", "in the WAF's event log")
    reference = refusal.reference or "the time of this run and this machine's address"
    look = f"Look {reference} up {where} to see the rule that fired"
    vendor = refusal.vendor or "the WAF"
    if "without a token" in blocked:
        message = (
            f"{what} answered {_answered(token)}: a block by {refusal.describe()}; requests "
            f"{_join(blocked)} were blocked too, so the block comes before the token is "
            f"looked at. {vendor} decided against this client (its address, reputation or "
            "country, its client fingerprint) or against the request itself (path, query, "
            "headers), and this run cannot tell which: whether the identity provider's calls, "
            f"from its own addresses and client, are blocked too is not known from here. {look}"
        )
        summary = f"the token was not checked: {vendor} blocked every request ({token.status})"
        return Refused(summary, findings.make("auth.waf_blocked", message))
    message = (
        f"{what} answered {_answered(token)}: a block by {refusal.describe()}, while the same "
        f"request {_others(negatives)}. Only the request that carries the token is blocked, so "
        "a WAF rule matches something in the token (its length, characters a rule reads as an "
        "attack pattern, a JWT claim); the identity provider sends the same token in the same "
        f"header and is blocked the same way. {look}"
    )
    summary = f"the token was not checked: {vendor} blocks the request that carries it"
    return Refused(summary, findings.make("auth.waf_blocks_token", message))


# --- the clock ----------------------------------------------------------------------------------


def clock_finding(
    results: Sequence[HttpResult], now: dt.datetime
) -> tuple[dict[str, object], Finding | None]:
    """The server's clock against this machine's (`now`, aware UTC): the facts, and a warning
    when they are more than five minutes apart."""
    dated = next(
        ((r, when) for r in results if (when := server_clock(r.headers)) is not None), None
    )
    if dated is None:
        return {}, None
    result, when = dated
    offset = round((when - now).total_seconds())
    facts: dict[str, object] = {
        "server_date": _iso(when),
        "local_time": _iso(now),
        "offset_s": offset,
    }
    if abs(offset) <= CLOCK_SKEW_LIMIT.total_seconds():
        return facts, None
    ahead = "ahead of" if offset > 0 else "behind"
    message = (
        f"The Date header of {result.method} {result.url} reads {_iso(when)}, this machine's "
        f"clock {_iso(now)}: the server's clock is {_span(abs(offset))} {ahead} this machine's. "
        "Which of the two is wrong cannot be told from here (the Date comes from whatever "
        "answered: the application or its proxy, load balancer or CDN). What compares times "
        "across them depends on it: a JWT's exp and nbf checked by a clock other than the "
        "issuer's, certificate validity (notBefore, notAfter), and this run's own date checks "
        "(the token's exp/nbf, certificate expiry), which used this machine's clock"
    )
    return facts, findings.make("auth.clock_skew", message)


def _iso(moment: dt.datetime) -> str:
    return (
        moment.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    )


def _span(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes else []
    parts += [f"{secs} s"] if secs else []
    return " ".join(parts) or "0 s"
