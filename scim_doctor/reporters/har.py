"""The run's HTTP transcript as an HTTP Archive (HAR 1.2): the support attachment that opens
in tools support engineers already have (browsers' developer tools, HAR viewers).

Built from the report's exchanges, which are redacted where they are recorded (token, cookies,
credentials in URLs) and PII-masked by the runner unless --show-pii; the output passes through
the one redaction point on its way out like every other format. What the archive cannot hold is
said in each entry's `comment` rather than invented: a body is an excerpt (`content.comment`), a
request that got no answer has status 0 and the error, timings a phase did not reach are -1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from scim_doctor.core.json_text import indented
from scim_doctor.core.model import CheckResult, Exchange, Report

HAR_VERSION = "1.2"


def _reason(status: int) -> str:
    """The standard reason phrase for statusText (the exchange keeps none; HTTP/2 sends none)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _http_version(version: str | None) -> str:
    return version or "HTTP/1.1"


def _pairs(headers: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers]


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


def _timings(timings: Mapping[str, float]) -> tuple[float, dict[str, float]]:
    """HAR's phase durations from the exchange's offsets since the request started (connect,
    tls, request_sent, first_byte, total); a phase the request did not go through is -1, and
    ssl is also counted in connect, as HAR 1.2 says."""
    total = float(timings.get("total", 0.0))
    connect = timings.get("connect")
    tls = timings.get("tls")
    sent = timings.get("request_sent")
    first = timings.get("first_byte")
    start = 0.0
    har: dict[str, float] = {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1}
    if connect is not None:
        har["connect"] = round((tls if tls is not None else connect) - start, 3)
        if tls is not None:
            har["ssl"] = round(tls - connect, 3)
        start = tls if tls is not None else connect
    send_end = sent if sent is not None else start
    har["send"] = round(max(send_end - start, 0.0), 3)
    wait_end = first if first is not None else total
    har["wait"] = round(max(wait_end - send_end, 0.0), 3)
    har["receive"] = round(max(total - wait_end, 0.0), 3) if first is not None else 0.0
    return total, har


def _request(exchange: Exchange) -> dict[str, Any]:
    query = urlsplit(exchange.url).query
    return {
        "method": exchange.method,
        "url": exchange.url,
        "httpVersion": _http_version(exchange.http_version),
        "cookies": [],
        "headers": _pairs(exchange.request_headers),
        "queryString": [{"name": name, "value": value} for name, value in parse_qsl(query, True)],
        "headersSize": -1,
        "bodySize": -1,
    }


def _response(exchange: Exchange) -> dict[str, Any]:
    headers = exchange.response_headers
    mime = _header(headers, "content-type") or ""
    content: dict[str, Any] = {"size": exchange.body_bytes, "mimeType": mime}
    if exchange.body_excerpt:
        content["text"] = exchange.body_excerpt
    if exchange.body_truncated or len(exchange.body_excerpt) < exchange.body_bytes:
        content["comment"] = (
            f"an excerpt: scim-doctor keeps the first {len(exchange.body_excerpt)} characters "
            f"of {exchange.body_bytes} bytes read"
            + (", and the body went on past the read cap" if exchange.body_truncated else "")
        )
    status = exchange.status or 0
    response: dict[str, Any] = {
        "status": status,
        "statusText": _reason(status),
        "httpVersion": _http_version(exchange.http_version),
        "cookies": [],
        "headers": _pairs(headers),
        "content": content,
        "redirectURL": _header(headers, "location") or "",
        "headersSize": -1,
        "bodySize": exchange.body_bytes if exchange.status is not None else -1,
    }
    if exchange.error:
        response["_error"] = exchange.error
    return response


def _entry(exchange: Exchange, check: CheckResult, page: str, fallback: str) -> dict[str, Any]:
    total, timings = _timings(exchange.timings_ms)
    comment = f"check {check.id}"
    if exchange.error:
        comment += f"; no complete response: {exchange.error}"
    return {
        "pageref": page,
        "startedDateTime": exchange.started_at or fallback,
        "time": round(total, 3),
        "request": _request(exchange),
        "response": _response(exchange),
        "cache": {},
        "timings": timings,
        "comment": comment,
    }


def page_and_entries(report: Report, page: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One page (the run against one target) and its entries in the order they started."""
    entries = [
        _entry(exchange, check, page, report.started_at)
        for check in report.checks
        for exchange in check.exchanges
    ]
    entries.sort(key=lambda entry: str(entry["startedDateTime"]))
    title = f"scim-doctor check {report.target.base_url} — {report.status.value}"
    return (
        {
            "startedDateTime": report.started_at,
            "id": page,
            "title": title,
            "pageTimings": {"onContentLoad": -1, "onLoad": round(report.duration_ms, 3)},
        },
        entries,
    )


def archive(pages: Sequence[tuple[dict[str, Any], list[dict[str, Any]]]], version: str) -> str:
    """The HAR document of these pages, as JSON text."""
    document = {
        "log": {
            "version": HAR_VERSION,
            "creator": {"name": "scim-doctor", "version": version},
            "pages": [page for page, _ in pages],
            "entries": [entry for _, entries in pages for entry in entries],
            "comment": (
                "Redacted: the token, cookies and credentials are replaced; personal data is "
                "masked unless --show-pii was given. Bodies are excerpts."
            ),
        }
    }
    return indented(document) + "\n"


def render(report: Report) -> str:
    """The HAR 1.2 archive of one run."""
    return archive([page_and_entries(report, "run")], report.tool_version)
