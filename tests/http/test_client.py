"""The HTTP client against real loopback servers: pins, where the token may go, TLS, pooling.

Every scenario runs through `HttpClient.for_context` exactly as a probe would; the servers
record what reached them, which is the only proof that a credential was (not) sent.
"""

from __future__ import annotations

import asyncio
import socket

from scim_doctor.demo import pki
from scim_doctor.net.http import ErrorKind, HttpClient
from scim_doctor.net.target import ResolvePin
from scim_doctor.net.transport import POOL_CONNECTIONS
from scim_doctor.net.trust import Trust
from tests.http.helpers import TOKEN, client_for, make_ctx
from tests.support.scripted_server import Raw, Reply, ScriptedServer

OK = Reply(200, {"Content-Type": "application/scim+json"}, b'{"totalResults": 0}')


def test_pinned_host_reaches_loopback_keeping_its_name_for_sni_certificate_and_host(
    ca: pki.CertificateAuthority, trust: Trust
) -> None:
    """Given --resolve demo.test:PORT:127.0.0.1 and a certificate only for demo.test,
    the request connects to 127.0.0.1 and the server sees SNI and Host demo.test."""
    with ScriptedServer(tls=ca.issue(["demo.test"]).server_context()) as server:
        server.route("/scim/v2/Users", OK)
        pin = ResolvePin("demo.test", server.port, "127.0.0.1")
        ctx = make_ctx(f"https://demo.test:{server.port}/scim/v2", trust, resolve=[pin])

        async def scenario():
            async with client_for(ctx) as client:
                return await client.request("GET", "/Users")

        result = asyncio.run(scenario())

    assert result.error is None, result.error
    assert result.status == 200
    assert result.remote_address == f"127.0.0.1:{server.port}"
    [seen] = server.requests
    assert seen.sni == "demo.test"
    assert seen.headers["host"] == f"demo.test:{server.port}"


def test_the_token_is_sent_to_the_target_over_tls(tls_server: ScriptedServer, trust: Trust) -> None:
    tls_server.route("/scim/v2/Users", OK)
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            return await client.request("GET", "/Users?count=1")

    result = asyncio.run(scenario())

    assert result.status == 200
    [seen] = tls_server.requests
    assert seen.tls
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.target == "/scim/v2/Users?count=1"
    assert seen.headers["accept"] == "application/scim+json"


def test_the_token_is_never_sent_over_plain_http_even_to_the_target(
    plain_server: ScriptedServer, trust: Trust
) -> None:
    ctx = make_ctx(plain_server.url("/scim/v2"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            return await client.request("GET", "/Users")

    result = asyncio.run(scenario())

    assert not result.sent
    assert result.error is not None and result.error.kind is ErrorKind.UNSAFE
    assert "only ever sent over https" in result.error.message
    assert plain_server.requests == []


def test_the_token_is_never_sent_to_another_port_or_host_name(
    tls_server: ScriptedServer, localhost_cert: pki.Issued, trust: Trust
) -> None:
    """A second TLS server (another port) and the target's own port under another name both
    stay untouched when asked for with the token."""
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)
    with ScriptedServer(tls=localhost_cert.server_context()) as other:

        async def scenario():
            async with client_for(ctx) as client:
                return (
                    await client.request("GET", other.url("/scim/v2/Users", host="localhost")),
                    await client.request("GET", tls_server.url("/scim/v2/Users", host="127.0.0.1")),
                )

        by_port, by_name = asyncio.run(scenario())
        assert other.requests == []

    assert tls_server.requests == []
    for result in (by_port, by_name):
        assert result.error is not None and result.error.kind is ErrorKind.UNSAFE
        assert "only ever sent to the target localhost:" in result.error.message


def test_an_explicit_authorization_header_obeys_the_same_rule(
    plain_server: ScriptedServer, tls_server: ScriptedServer, trust: Trust
) -> None:
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            return await client.request(
                "GET", plain_server.url("/x"), auth="none", headers={"Authorization": "Basic Zm9v"}
            )

    result = asyncio.run(scenario())

    assert result.error is not None and result.error.kind is ErrorKind.UNSAFE
    assert plain_server.requests == []


def test_the_token_value_smuggled_into_a_url_for_another_host_is_refused(
    plain_server: ScriptedServer, tls_server: ScriptedServer, trust: Trust
) -> None:
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            return await client.request("GET", plain_server.url(f"/x?t={TOKEN}"), auth="none")

    result = asyncio.run(scenario())

    assert result.error is not None and result.error.kind is ErrorKind.UNSAFE
    assert TOKEN not in result.exchange.url
    assert plain_server.requests == []


def test_requests_without_credentials_may_go_to_any_host(
    plain_server: ScriptedServer, tls_server: ScriptedServer, trust: Trust
) -> None:
    plain_server.route("/hop", Reply(200, body=b"ok"))
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            return await client.request("GET", plain_server.url("/hop"), auth="none")

    result = asyncio.run(scenario())

    assert result.status == 200 and result.body == b"ok"
    [seen] = plain_server.requests
    assert "authorization" not in seen.headers


def test_a_raw_authorization_value_is_sent_verbatim(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    """Okta's spec test sends `Authorization: non-token` and expects 401."""
    tls_server.route("/scim/v2/Users", Reply(401, {"WWW-Authenticate": "Bearer"}, b""))
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            return await client.request("GET", "/Users", auth="non-token")

    result = asyncio.run(scenario())

    assert result.status == 401
    assert tls_server.requests[0].headers["authorization"] == "non-token"


def test_without_a_token_an_authenticated_request_is_not_sent(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust, token=None)

    async def scenario():
        async with client_for(ctx) as client:
            return await client.request("GET", "/Users")

    result = asyncio.run(scenario())

    assert result.error is not None and result.error.kind is ErrorKind.NO_TOKEN
    assert tls_server.requests == []


def test_an_untrusted_certificate_is_a_tls_error_and_insecure_lets_the_request_through(
    trust: Trust,
) -> None:
    stranger = pki.CertificateAuthority("someone else's CA").issue(["localhost"])
    with ScriptedServer(tls=stranger.server_context()) as server:
        server.route("/scim/v2/Users", OK)

        async def attempt(insecure: bool):
            ctx = make_ctx(server.url("/scim/v2", host="localhost"), trust, insecure=insecure)
            async with client_for(ctx) as client:
                return await client.request("GET", "/Users")

        refused = asyncio.run(attempt(insecure=False))
        accepted = asyncio.run(attempt(insecure=True))

    assert refused.error is not None and refused.error.kind is ErrorKind.TLS
    assert "certificate verification failed" in refused.error.message
    assert "unable to get local issuer certificate" in refused.error.message
    assert accepted.error is None and accepted.status == 200
    assert len(server.requests) == 1


def test_a_closed_port_is_a_clean_connection_refused_result(trust: Trust) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ctx = make_ctx(f"https://localhost:{port}/scim/v2", trust)

    async def scenario():
        async with client_for(ctx) as client:
            return await client.request("GET", "/Users")

    result = asyncio.run(scenario())

    assert result.error is not None and result.error.kind is ErrorKind.CONNECT
    assert result.error.message.startswith("connection refused")
    assert result.status is None
    assert result.exchange.error == result.error.message


def test_the_connection_reports_its_tls_facts(tls_server: ScriptedServer, trust: Trust) -> None:
    tls_server.route("/scim/v2/Users", OK)
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            return await client.request("GET", "/Users"), client.target_tls

    result, target_tls = asyncio.run(scenario())

    assert result.tls is not None
    assert result.tls.version == "TLSv1.3"
    assert result.tls.cipher and result.tls.cipher_bits
    assert result.tls.peer_certificate_der
    assert target_tls == result.tls


def test_concurrent_requests_share_one_client_and_a_bounded_pool(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    tls_server.route("/scim/v2/Users", Reply(200, body=b"{}"))
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            same = HttpClient.for_context(ctx) is client and ctx.http is client
            requests = (client.request("GET", "/Users") for _ in range(POOL_CONNECTIONS + 8))
            results = await asyncio.gather(*requests)
            return same, results, len(client.exchanges)

    same, results, recorded = asyncio.run(scenario())

    assert same
    assert [r.status for r in results] == [200] * (POOL_CONNECTIONS + 8)
    assert recorded == POOL_CONNECTIONS + 8
    assert len(tls_server.requests) == POOL_CONNECTIONS + 8
    assert 1 <= tls_server.connections <= POOL_CONNECTIONS


def test_an_explicit_proxy_carries_the_request_through_a_connect_tunnel(
    plain_server: ScriptedServer, tls_server: ScriptedServer, trust: Trust
) -> None:
    """--proxy points at a recording proxy that refuses the tunnel: the CONNECT reached it, the
    target saw nothing, and the token never reached the proxy."""
    target_authority = f"localhost:{tls_server.port}"
    plain_server.route(target_authority, Reply(403, body=b"denied by policy"))
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust, proxy=plain_server.url())

    async def scenario():
        async with client_for(ctx) as client:
            return await client.request("GET", "/Users")

    result = asyncio.run(scenario())

    assert result.error is not None and result.error.kind is ErrorKind.PROXY
    assert "403" in result.error.message
    assert result.proxy == plain_server.url()
    [connect] = plain_server.requests
    assert connect.method == "CONNECT" and connect.target == target_authority
    assert "authorization" not in connect.headers
    assert tls_server.requests == []


def test_https_proxy_from_the_environment_is_used_unless_no_proxy_names_the_host(
    plain_server: ScriptedServer, tls_server: ScriptedServer, trust: Trust, monkeypatch
) -> None:
    tls_server.route("/scim/v2/Users", OK)
    plain_server.default(Reply(403))
    monkeypatch.setenv("HTTPS_PROXY", plain_server.url())

    async def attempt():
        ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)
        async with client_for(ctx) as client:
            return await client.request("GET", "/Users")

    proxied = asyncio.run(attempt())
    monkeypatch.setenv("NO_PROXY", "localhost")
    direct = asyncio.run(attempt())

    assert proxied.error is not None and proxied.error.kind is ErrorKind.PROXY
    assert direct.error is None and direct.status == 200 and direct.proxy is None
    assert [r.method for r in plain_server.requests] == ["CONNECT"]


def test_a_kept_alive_connection_the_server_closed_is_replaced_not_reused(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    # The pool asks each idle connection whether its socket is readable before reusing it
    # (scim_doctor keeps the socket to answer that cheaply): one the server closed after a
    # keep-alive answer must be dropped, and the next request must get a new connection.
    tls_server.route(
        "/scim/v2/Users",
        Raw(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nContent-Length: 2\r\n\r\n{}"
        ),
    )
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            first = await client.request("GET", "/Users")
            await asyncio.sleep(0.2)  # the server's FIN arrives
            second = await client.request("GET", "/Users")
            return first, second

    first, second = asyncio.run(scenario())

    assert (first.status, second.status) == (200, 200)
    assert second.error is None
    assert tls_server.connections == 2
