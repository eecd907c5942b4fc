"""What the layer records and reports: redacted exchanges, timings, request shapes, findings."""

from __future__ import annotations

import asyncio
import json

from scim_doctor.net.http import ErrorKind, common_findings
from scim_doctor.net.trust import Trust
from tests.http.helpers import TOKEN, client_for, make_ctx
from tests.support.scripted_server import Recorded, Reply, ScriptedServer


def echo_token(request: Recorded) -> Reply:
    """A careless server: sets a session cookie and echoes the Authorization header back."""
    body = json.dumps({"detail": f"you sent {request.headers.get('authorization')}"}).encode()
    return Reply(
        200,
        [("Content-Type", "application/json"), ("Set-Cookie", "session=s3cr3t-cookie-value")],
        body,
    )


def test_exchanges_are_redacted_everywhere(tls_server: ScriptedServer, trust: Trust) -> None:
    tls_server.route("/scim/v2/Users", echo_token)
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            result = await client.request("GET", "/Users?access_token=q-tok-123456789")
            return result, client.exchanges

    result, exchanges = asyncio.run(scenario())

    assert TOKEN.encode() in result.body  # the probe itself may look at what came back
    [exchange] = exchanges
    assert exchange is result.exchange
    dump = repr(exchange)
    for secret in (TOKEN, "s3cr3t-cookie-value", "q-tok-123456789"):
        assert secret not in dump
    assert "access_token=%5BREDACTED%5D" in exchange.url
    assert dict(exchange.request_headers)["Authorization"] == "Bearer [REDACTED]"
    assert dict(exchange.response_headers)["Set-Cookie"] == "[REDACTED]"
    assert "you sent Bearer [REDACTED]" in exchange.body_excerpt
    assert exchange.status == 200 and exchange.http_version == "HTTP/1.1"
    assert exchange.body_bytes == len(result.body)


def test_refused_requests_are_recorded_without_the_token(
    plain_server: ScriptedServer, trust: Trust
) -> None:
    ctx = make_ctx(plain_server.url("/scim/v2"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            await client.request("GET", "/Users")
            return client.exchanges

    [exchange] = asyncio.run(scenario())

    assert exchange.status is None
    assert exchange.error is not None and exchange.error.startswith("not sent:")
    assert TOKEN not in repr(exchange)


def test_a_fresh_tls_connection_reports_each_phase_in_order(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    tls_server.route("/scim/v2/Users", Reply(200, body=b"{}"))
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            return await client.request("GET", "/Users"), await client.request("GET", "/Users")

    fresh, reused = asyncio.run(scenario())

    t = fresh.timings_ms
    assert list(t) == ["connect", "tls", "request_sent", "first_byte", "total"]
    assert 0 < t["connect"] <= t["tls"] <= t["request_sent"] <= t["first_byte"] <= t["total"]
    assert fresh.exchange.timings_ms == t
    assert "connect" not in reused.timings_ms and "first_byte" in reused.timings_ms
    assert tls_server.connections == 1


def test_json_is_sent_as_scim_json_and_accept_can_be_left_out(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    tls_server.route("/scim/v2/Users", Reply(201, body=b"{}"))
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            await client.request("post", "/Users", json={"userName": "zoë"}, accept=None)

    asyncio.run(scenario())

    [seen] = tls_server.requests
    assert seen.method == "POST"
    assert seen.headers["content-type"] == "application/scim+json"
    assert json.loads(seen.body) == {"userName": "zoë"}
    assert "accept" not in seen.headers
    assert seen.headers["user-agent"].startswith("scim-doctor/")


def test_a_token_with_a_line_break_is_not_sent_and_not_shown(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust, token=TOKEN + "\n")

    async def scenario():
        async with client_for(ctx) as client:
            return await client.request("GET", "/Users")

    result = asyncio.run(scenario())

    assert result.error is not None and result.error.kind is ErrorKind.INVALID_REQUEST
    assert TOKEN not in repr(result.exchange) and TOKEN not in result.error.message
    assert tls_server.requests == []


def test_a_503_with_retry_after_gives_a_server_error_finding_with_the_wait(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    tls_server.route(
        "/scim/v2/Users",
        Reply(
            503,
            {
                "Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT",
                "Date": "Wed, 21 Oct 2015 07:26:00 GMT",
            },
            b"maintenance",
        ),
    )
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            return await client.request("GET", "/Users")

    result = asyncio.run(scenario())
    [finding] = common_findings(result)

    assert result.retry_after == 120.0
    assert finding.code == "http.server_error"
    assert "503 Service Unavailable" in finding.message
    assert "(120 s)" in finding.message and "'maintenance'" in finding.message


def test_a_429_gives_a_rate_limited_finding(tls_server: ScriptedServer, trust: Trust) -> None:
    tls_server.route("/scim/v2/Users", Reply(429, {"Retry-After": "30"}))
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            return await client.request("GET", "/Users")

    [finding] = common_findings(asyncio.run(scenario()))

    assert finding.code == "http.rate_limited"
    assert finding.message.endswith("answered 429 Too Many Requests; Retry-After: 30 (30 s)")
