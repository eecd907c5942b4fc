"""Cancelling a request (Ctrl-C, the run's deadline) as its response arrives still cancels it.

`asyncio.wait_for` before Python 3.12 returns the result when the cancellation lands in the
turns between the response being read and the caller resuming (python/cpython#86296): the
run would go on as if nothing had happened. Here a loopback server runs in the test's own
event loop, so the turn in which the answer reaches the client's socket is known; each
scenario cancels the request 0, 1, 2, ... turns of the loop after that, one request per
offset, until the request is finished before the cancellation comes. Every cancellation that
reaches an unfinished request must end it cancelled, never with a result. Both
implementations of the HTTP layer's time limit are exercised (`within_a_task` is Python 3.10's).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from scim_doctor.core.timeouts import within, within_a_task
from scim_doctor.net import http
from scim_doctor.net.http import HttpClient, HttpResult
from scim_doctor.net.trust import Trust
from tests.http.helpers import client_for, make_ctx

BODY = b'{"totalResults": 0, "Resources": []}'
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
)
MAX_TURNS = 200
"""A loopback request finishes within a few dozen turns of the answer; far more is a hang."""

Send = Callable[[HttpClient], Awaitable[Any]]


@dataclass
class Answering:
    """A loopback HTTP/1.1 server in the running loop that answers each request at once, then
    calls `on_answer` in the same turn: the answer's bytes are in the client's socket."""

    on_answer: Callable[[], None] = lambda: None
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(ANSWER)
                self.on_answer()


@contextlib.asynccontextmanager
async def answering_server() -> AsyncIterator[tuple[Answering, str]]:
    answering = Answering()
    server = await asyncio.start_server(answering.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield answering, f"http://127.0.0.1:{port}/scim/v2"
    finally:
        server.close()
        for writer in answering.writers:
            writer.close()
        for writer in answering.writers:
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        await server.wait_closed()


def after_turns(turns: int, action: Callable[[], None]) -> None:
    """Run `action` `turns` turns of the event loop from now (0: right now)."""
    if turns == 0:
        action()
    else:
        asyncio.get_running_loop().call_soon(after_turns, turns - 1, action)


def cancel_noting(request: asyncio.Future[Any], landed: list[bool]) -> None:
    """Cancel `request`, noting whether it was still running (True) or already done."""
    landed.append(request.cancel())


@dataclass
class Sweep:
    """What happened at each offset: the cancellation reached a running request, or came
    after it had finished."""

    reached_running: list[int] = field(default_factory=list)
    came_after_the_end: list[int] = field(default_factory=list)


async def cancel_at_every_turn_after_the_answer(
    send: Send, base_url: str, answering: Answering, trust: Trust
) -> Sweep:
    sweep = Sweep()
    async with client_for(make_ctx(base_url, trust, timeout=5.0)) as client:
        for offset in range(MAX_TURNS):
            request = asyncio.ensure_future(send(client))
            landed: list[bool] = []
            answering.on_answer = functools.partial(
                after_turns, offset, functools.partial(cancel_noting, request, landed)
            )
            await asyncio.wait((request,))
            while not landed:  # the request finished before the cancellation's turn came
                await asyncio.sleep(0)
            if landed == [True]:
                assert request.cancelled(), (
                    f"cancelled {offset} turns after the answer arrived, the request still "
                    f"ended with a result: status {request.result().status}"
                )
                sweep.reached_running.append(offset)
            else:
                assert request.result().status == 200
                sweep.came_after_the_end.append(offset)
                if len(sweep.came_after_the_end) == 3:
                    return sweep
    raise AssertionError(f"a request was still running {MAX_TURNS} turns after its answer")


async def request(client: HttpClient) -> HttpResult:
    return await client.request("GET", "/Users", auth="none")


async def stream(client: HttpClient) -> HttpResult:
    async with client.stream("GET", "/Users", auth="none") as response:
        async for _ in response.chunks():
            pass
    assert response.result is not None
    return response.result


@pytest.mark.parametrize("bounded", [within, within_a_task], ids=["within", "within_a_task"])
@pytest.mark.parametrize("send", [request, stream], ids=["request", "stream"])
def test_cancelling_a_request_in_any_turn_after_its_answer_arrives_cancels_it(
    send: Send,
    bounded: Callable[[Awaitable[Any], float], Awaitable[Any]],
    trust: Trust,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http, "within", bounded)

    async def scenario() -> Sweep:
        async with answering_server() as (answering, base_url):
            return await cancel_at_every_turn_after_the_answer(send, base_url, answering, trust)

    sweep = asyncio.run(scenario())

    # The sweep went from the answer's own turn to past the request's end, so the turns
    # between the response being read and the caller resuming were all tried.
    assert sweep.reached_running[0] == 0
    assert len(sweep.came_after_the_end) == 3
