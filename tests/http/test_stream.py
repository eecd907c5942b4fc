"""`HttpClient.stream`: bodies too large to hold, read piece by piece under the same rules.

Real loopback servers (tests/support/scripted_server.py) send the bodies; each scenario runs
through the run's client the way the deep sweep does.
"""

from __future__ import annotations

import asyncio
import gzip
import json

from scim_doctor.net.body import StreamingBody
from scim_doctor.net.http import ErrorKind, HttpStream
from scim_doctor.net.trust import Trust
from tests.http.helpers import TOKEN, client_for, make_ctx
from tests.support.scripted_server import Chunk, Reply, ScriptedServer

JSON = {"Content-Type": "application/scim+json"}


async def read_all(stream: HttpStream, pause: float = 0.0) -> list[bytes]:
    pieces = []
    async with stream as response:
        async for piece in response.chunks():
            pieces.append(piece)
            if pause:
                await asyncio.sleep(pause)
    return pieces


def test_a_body_past_max_body_streams_whole_and_is_recorded_with_an_excerpt(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    """Given --max-body 1000, a 3 MB body still streams whole (the stream's own limit applies),
    and the transcript holds a 2048-character excerpt and the full size."""
    body = b'{"Resources": [' + b",".join(b'{"id": "%d"}' % i for i in range(250_000)) + b"]}"
    tls_server.route("/scim/v2/Users", Reply(200, JSON, body))
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust, max_body=1000)

    async def scenario():
        async with client_for(ctx) as client:
            stream = client.stream("GET", "/Users", limit=10 * 1024 * 1024)
            return stream, await read_all(stream), client.exchanges

    stream, pieces, exchanges = asyncio.run(scenario())

    assert b"".join(pieces) == body
    assert max(len(piece) for piece in pieces) <= 256 * 1024
    assert stream.complete and stream.error is None and not stream.too_large
    result = stream.result
    assert result is not None and result.status == 200
    assert result.exchange.body_bytes == len(body)
    assert not result.exchange.body_truncated
    assert len(result.exchange.body_excerpt) == 2048
    assert exchanges == [result.exchange]


def test_a_gzip_bomb_stops_at_the_limit_in_small_pieces(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))
    tls_server.route("/scim/v2/Users", Reply(200, {**JSON, "Content-Encoding": "gzip"}, bomb))
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            stream = client.stream("GET", "/Users", limit=1_000_000)
            return stream, await read_all(stream)

    stream, pieces = asyncio.run(scenario())

    assert sum(len(piece) for piece in pieces) == 1_000_000
    assert max(len(piece) for piece in pieces) <= 256 * 1024
    assert stream.too_large and not stream.complete
    assert stream.result is not None and stream.result.too_large
    assert stream.result.exchange.body_truncated


def test_the_token_is_never_streamed_over_plain_http(
    plain_server: ScriptedServer, trust: Trust
) -> None:
    ctx = make_ctx(plain_server.url("/scim/v2"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            stream = client.stream("GET", "/Users")
            return stream, await read_all(stream)

    stream, pieces = asyncio.run(scenario())

    assert pieces == []
    assert stream.status is None
    assert stream.error is not None and stream.error.kind is ErrorKind.UNSAFE
    assert stream.result is not None and not stream.result.sent
    assert plain_server.requests == []


def test_a_trickling_body_times_out_on_the_time_spent_waiting_for_the_server(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    trickle: list[Chunk] = [b'{"Resources": [', 0.15, b"{}", 0.15, b",{}", 0.15, b",{}]}"]
    tls_server.route("/scim/v2/Users", Reply(200, JSON, trickle))
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust, timeout=0.25)

    async def scenario():
        async with client_for(ctx) as client:
            stream = client.stream("GET", "/Users")
            return stream, await read_all(stream)

    stream, pieces = asyncio.run(scenario())

    assert stream.error is not None and stream.error.kind is ErrorKind.TIMEOUT
    assert "while reading the body" in stream.error.message
    assert pieces and not stream.complete
    assert stream.result is not None and stream.result.exchange.body_truncated


def test_the_readers_own_time_between_pieces_is_not_charged_to_the_server(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    """Pieces come at once; the reader takes 0.15 s over each of four, 0.6 s in all, with a
    0.4 s timeout: the server was never slow, so the body is complete."""
    pieces_sent: list[Chunk] = [b"[", 0.01, b"1,", 0.01, b"2,", 0.01, b"3]"]
    tls_server.route("/scim/v2/Users", Reply(200, JSON, pieces_sent))
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust, timeout=0.4)

    async def scenario():
        async with client_for(ctx) as client:
            stream = client.stream("GET", "/Users")
            return stream, await read_all(stream, pause=0.15)

    stream, pieces = asyncio.run(scenario())

    assert b"".join(pieces) == b"[1,2,3]"
    assert stream.complete and stream.error is None


def test_an_unread_error_body_is_still_in_the_result_and_its_transcript(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    error = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "403"}
    tls_server.route("/scim/v2/Users", Reply(403, JSON, json.dumps(error).encode()))
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            async with client.stream("GET", "/Users") as response:
                status = response.status
            return status, response

    status, response = asyncio.run(scenario())

    assert status == 403
    assert response.result is not None
    assert response.result.json().value == error
    assert '"403"' in response.result.exchange.body_excerpt


def test_a_reader_that_stops_early_leaves_a_truncated_transcript_and_no_open_connection(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    big = b"[" + b"0," * 2_000_000 + b"0]"
    tls_server.route("/scim/v2/Users", Reply(200, JSON, big))
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            async with client.stream("GET", "/Users", limit=len(big)) as response:
                async for _ in response.chunks():
                    break
            return response

    response = asyncio.run(scenario())

    assert response.result is not None
    assert response.result.exchange.body_truncated
    assert 0 < response.received < len(big)
    assert not response.complete


def test_the_token_reaches_the_target_and_never_the_transcript(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    tls_server.route(
        "/scim/v2/Users", Reply(200, JSON, b'{"echo": "Bearer ' + TOKEN.encode() + b'"}')
    )
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            stream = client.stream("GET", "/Users?count=5")
            return stream, await read_all(stream)

    stream, _ = asyncio.run(scenario())

    [seen] = tls_server.requests
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.target == "/scim/v2/Users?count=5"
    assert stream.result is not None
    assert TOKEN not in repr(stream.result.exchange)


def test_a_stream_left_out_of_the_transcript_still_has_its_exchange(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    tls_server.route("/scim/v2/Users", Reply(200, JSON, b'{"Resources": []}'))
    ctx = make_ctx(tls_server.url("/scim/v2", host="localhost"), trust)

    async def scenario():
        async with client_for(ctx) as client:
            stream = client.stream("GET", "/Users", record=False)
            await read_all(stream)
            return stream, list(client.exchanges)

    stream, transcript = asyncio.run(scenario())

    assert transcript == []
    assert stream.result is not None and stream.result.exchange.status == 200


def test_streaming_body_inflates_a_gzip_body_fed_byte_by_byte() -> None:
    data = b'{"userName": "zo\xc3\xab"},' * 50_000
    body = StreamingBody("gzip", 10 * len(data))
    compressed = gzip.compress(data)

    pieces = [
        piece
        for start in range(len(compressed))
        for piece in body.feed(compressed[start : start + 1])
    ]
    body.finish()

    assert b"".join(pieces) == data and body.decoded == len(data)
    assert (body.error, body.too_large) == (None, False)


def test_streaming_body_reports_a_corrupt_gzip_body_as_an_error() -> None:
    body = StreamingBody("gzip", 1000)

    pieces = list(body.feed(b"\x1f\x8b\x08\x00garbage-that-is-not-deflate"))

    assert pieces == []
    assert body.error is not None and body.error.startswith("the gzip body is corrupt")
    assert body.done
