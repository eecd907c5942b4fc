"""Hostile and broken servers: huge bodies, gzip bombs, trickles, malformed HTTP.

Each answer comes from a real socket; the layer must return a result promptly, with bounded
memory, and never raise.
"""

from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc
import zlib
from collections.abc import Iterator

from scim_doctor.net.body import SPILL_AT
from scim_doctor.net.http import ErrorKind, common_findings
from scim_doctor.net.trust import Trust
from tests.http.helpers import client_for, make_ctx
from tests.support.scripted_server import Chunk, Raw, Reply, ScriptedServer

MIB = 1024 * 1024


def fetch(server: ScriptedServer, trust: Trust, path: str = "/Users", **options):
    ctx = make_ctx(server.url("/scim/v2", host="localhost"), trust, **options)

    async def scenario():
        async with client_for(ctx) as client:
            return await client.request("GET", path)

    return asyncio.run(scenario())


def endless(total: int, block: bytes) -> Iterator[Chunk]:
    for _ in range(total // len(block)):
        yield block


def gzipped_zeros(total: int) -> Iterator[Chunk]:
    """`total` bytes of zeros as one gzip stream, compressed as it is sent (never held whole)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(MIB)
    for _ in range(total // MIB):
        out = compressor.compress(block)
        if out:
            yield out
    yield compressor.flush()


def test_a_200_mib_body_stops_at_the_cap_quickly(tls_server: ScriptedServer, trust: Trust) -> None:
    size = 200 * MIB
    tls_server.route(
        "/scim/v2/Users",
        Reply(200, {"Content-Length": str(size)}, endless(size, b"x" * (256 * 1024))),
    )
    started = time.monotonic()

    result = fetch(tls_server, trust)

    assert time.monotonic() - started < 3
    assert result.error is None
    assert result.too_large
    assert result.body == b"x" * SPILL_AT  # only the first bytes are kept of a body over the cap
    assert result.exchange.body_truncated and result.exchange.body_bytes == 10 * MIB
    assert not result.json().ok
    assert [f.code for f in common_findings(result)] == ["http.body_too_large"]


def test_a_gzip_bomb_is_capped_without_inflating_in_memory(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    """1 GiB of zeros, gzip-compressed on the fly: only --max-body of it is ever inflated."""
    tls_server.route(
        "/scim/v2/Users",
        Reply(200, {"Content-Type": "application/scim+json", "Content-Encoding": "gzip"},
              gzipped_zeros(1024 * MIB)),
    )  # fmt: skip
    tracemalloc.start()
    try:
        started = time.monotonic()
        result = fetch(tls_server, trust)
        took = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.error is None
    assert result.too_large
    assert result.body == bytes(SPILL_AT) and result.exchange.body_bytes == 10 * MIB
    assert peak < 8 * MIB, f"peak traced memory {peak / MIB:.0f} MiB"
    assert took < 5


def test_a_body_at_exactly_the_cap_is_complete_and_one_byte_more_is_too_large(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    tls_server.route("/scim/v2/exact", Reply(200, body=b"a" * 1000))
    tls_server.route("/scim/v2/over", Reply(200, body=b"a" * 1001))

    exact = fetch(tls_server, trust, "/exact", max_body=1000)
    over = fetch(tls_server, trust, "/over", max_body=1000)

    assert (exact.too_large, len(exact.body)) == (False, 1000)
    assert (over.too_large, len(over.body)) == (True, 1000)


def test_a_trickling_body_ends_at_the_request_deadline(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    """One byte every 0.1 s never trips a per-read timeout; the whole-request deadline does."""
    trickle: list[Chunk] = [piece for _ in range(100) for piece in (b"x", 0.1)]
    tls_server.route("/scim/v2/Users", Reply(200, {"Content-Length": "100"}, trickle))
    started = time.monotonic()

    result = fetch(tls_server, trust, timeout=0.5)

    took = time.monotonic() - started
    assert 0.45 < took < 1.5
    assert result.error is not None and result.error.kind is ErrorKind.TIMEOUT
    assert result.error.message.startswith("no complete response within 0.5 s")
    assert "while reading the body" in result.error.message
    assert result.status == 200
    assert 1 <= len(result.body) < 100
    assert result.exchange.body_truncated
    assert [f.code for f in common_findings(result)] == ["http.timeout"]


def test_the_run_deadline_cuts_a_request_shorter_than_its_timeout(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    tls_server.route("/scim/v2/Users", Reply(200, {"Content-Length": "10"}, [b"x", 5.0]))
    started = time.monotonic()

    result = fetch(tls_server, trust, timeout=5.0, deadline=0.4)

    assert time.monotonic() - started < 1.5
    assert result.error is not None and result.error.kind is ErrorKind.TIMEOUT
    assert "--deadline" in result.error.message


def test_retry_after_is_reported_and_never_waited_for(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    tls_server.route("/scim/v2/Users", Reply(429, {"Retry-After": "120"}, b"slow down"))
    started = time.monotonic()

    result = fetch(tls_server, trust)

    assert time.monotonic() - started < 1
    assert result.status == 429
    assert result.retry_after == 120.0
    assert result.error is None


def test_a_malformed_status_line_is_a_clean_protocol_error(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    tls_server.route("/scim/v2/Users", Raw(b"HTTP/1.1 two-hundred OK\r\nContent-Length: 0\r\n\r\n"))

    result = fetch(tls_server, trust)

    assert result.error is not None and result.error.kind is ErrorKind.PROTOCOL
    assert result.error.message.startswith("invalid HTTP response: illegal status line")
    assert "two-hundred" in result.error.message
    assert [f.code for f in common_findings(result)] == ["http.connection_failed"]
    assert "Traceback" not in result.error.message and "\n" not in result.error.message
    assert result.status is None


def test_a_truncated_chunked_body_is_a_protocol_error_keeping_what_arrived(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    tls_server.route(
        "/scim/v2/Users",
        Raw(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\nonly-a-part"
        ),
    )

    result = fetch(tls_server, trust)

    assert result.status == 200
    assert result.error is not None and result.error.kind is ErrorKind.PROTOCOL
    assert "incomplete chunked read" in result.error.message
    assert result.body.startswith(b"hello")


def test_a_connection_closed_without_an_answer_is_a_network_error(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    tls_server.route("/scim/v2/Users", Raw(b""))

    result = fetch(tls_server, trust)

    assert result.error is not None and result.error.kind is ErrorKind.NETWORK
    assert result.error.message == "the server closed the connection without sending a response"


def test_gzip_and_deflate_bodies_are_decoded(tls_server: ScriptedServer, trust: Trust) -> None:
    document = b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]}'
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    tls_server.route(
        "/scim/v2/gzip", Reply(200, {"Content-Encoding": "gzip"}, gzip.compress(document))
    )
    tls_server.route(
        "/scim/v2/zlib", Reply(200, {"Content-Encoding": "deflate"}, zlib.compress(document))
    )
    tls_server.route(
        "/scim/v2/raw",
        Reply(
            200,
            {"Content-Encoding": "deflate"},
            raw_deflate.compress(document) + raw_deflate.flush(),
        ),
    )

    results = [fetch(tls_server, trust, path) for path in ("/gzip", "/zlib", "/raw")]

    assert [(r.error, r.body) for r in results] == [(None, document)] * 3
    assert tls_server.requests[0].headers["accept-encoding"] == "gzip, deflate"


def test_an_encoding_we_did_not_ask_for_is_a_decoding_error(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    tls_server.route(
        "/scim/v2/Users", Reply(200, {"Content-Encoding": "br"}, b"\x0b\x02\x80{}\x03")
    )

    result = fetch(tls_server, trust)

    assert result.status == 200
    assert result.error is not None and result.error.kind is ErrorKind.DECODING
    assert "'br'" in result.error.message
