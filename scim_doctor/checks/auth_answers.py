"""How an answer to an authentication request reads in a finding: its challenge, its reason,
what its body is. Apart from checks/auth.py, which judges the answers, because every judgement
words its answer the same way."""

from __future__ import annotations

from scim_doctor.core.patterns import LazyPattern
from scim_doctor.core.secrets import redact
from scim_doctor.net.result import HttpResult
from scim_doctor.net.sniff import body_kind, html_title

LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
_AUTH_PARAM = LazyPattern(r'([A-Za-z][A-Za-z0-9_.-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]+)')
_QUOTE_CHARS = 160


def challenge_text(result: HttpResult) -> str | None:
    values = result.headers.get_list("www-authenticate")
    return redact(", ".join(values))[:300] if values else None


def challenge(result: HttpResult) -> dict[str, str]:
    """The auth-params of the WWW-Authenticate challenge(s), names lower-cased, first wins."""
    params: dict[str, str] = {}
    for value in result.headers.get_list("www-authenticate"):
        for name, raw in _AUTH_PARAM.findall(value):
            text = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw
            params.setdefault(name.lower(), text)
    return params


def quoted_reason(result: HttpResult) -> str:
    """What the server said about the refusal: challenge error, its description, SCIM detail."""
    said: list[str] = []
    params = challenge(result)
    for name in ("error", "error_description"):
        if name in params:
            said.append(f'{name}="{quote_clip(params[name])}"')
    detail = error_detail(result)
    if detail:
        said.append(f"detail: {detail!r}")
    if not said and result.headers.get_list("www-authenticate"):
        said.append(f"WWW-Authenticate: {challenge_text(result)}")
    return f" ({'; '.join(said)})" if said else ""


def error_detail(result: HttpResult) -> str | None:
    """The human-readable reason in a JSON error body (SCIM `detail` or common envelopes)."""
    if not result.is_json and not result.body.lstrip().startswith(b"{"):
        return None
    parsed = result.json()
    if not parsed.ok or not isinstance(parsed.value, dict):
        return None
    for key in ("detail", "error_description", "message", "error"):
        value = parsed.value.get(key)
        if isinstance(value, str) and value.strip():
            return quote_clip(value)
    return None


def quote_clip(text: str) -> str:
    text = redact(" ".join(text.split()))
    return text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 1] + "…"


def looks_html(result: HttpResult) -> bool:
    """An HTML page by its bytes, or by its Content-Type when the bytes are not JSON: a SCIM
    answer mislabelled text/html is still an answer (negotiation reports the label)."""
    kind = body_kind(result.body, result.content_type)
    return kind == "html" or (result.is_html and kind != "json")


def describe_body(result: HttpResult) -> str:
    """What a 2xx without valid credentials handed out (shape only, no personal data)."""
    kind = result.content_type or "no Content-Type"
    parsed = result.json() if result.body.strip() else None
    if parsed is not None and parsed.ok and isinstance(parsed.value, dict):
        body = parsed.value
        schemas = body.get("schemas")
        total = body.get("totalResults")
        if isinstance(schemas, list) and LIST_URN in schemas:
            return f"a SCIM ListResponse (totalResults {total!r}; {kind})"
        return f"a JSON object ({kind})"
    return f"{len(result.body)} bytes of {kind}"


def describe_answer(result: HttpResult) -> str:
    status = f"{result.status} {result.reason}".strip()
    if result.status is not None and 300 <= result.status < 400:
        return f"{status} to {redact(result.headers.get('location') or '(no Location)')}"
    if looks_html(result):
        title = html_title(result.body)
        return f"{status} with an HTML page" + (f" titled {title!r}" if title else "")
    return status + quoted_reason(result)
