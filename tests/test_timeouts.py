"""`within`: a time limit that never swallows the caller's cancellation.

Each scenario runs against both implementations: `within` as this Python has it
(`asyncio.timeout` on 3.11+) and `within_a_task`, the one Python 3.10 uses, so the 3.10 code is
proven on every Python. The cancellations are placed on exact turns of the event loop, where
`asyncio.wait_for` before 3.12 hands back a result instead (python/cpython#86296).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from scim_doctor.core.timeouts import within, within_a_task

Bounded = Callable[[Awaitable[Any], float], Awaitable[Any]]

IMPLEMENTATIONS = [
    pytest.param(within, id="within"),
    pytest.param(within_a_task, id="within_a_task"),
]


@pytest.mark.parametrize("bounded", IMPLEMENTATIONS)
def test_an_answer_in_time_is_handed_back(bounded: Bounded) -> None:
    async def scenario() -> Any:
        return await bounded(asyncio.sleep(0.01, result="answer"), 1.0)

    assert asyncio.run(scenario()) == "answer"


@pytest.mark.parametrize("bounded", IMPLEMENTATIONS)
def test_a_late_answer_is_a_timeout_and_the_work_is_stopped_before_it_returns(
    bounded: Bounded,
) -> None:
    stopped: list[bool] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            stopped.append(True)

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(asyncio.TimeoutError):
            await bounded(slow(), 0.05)
        assert stopped == [True]  # nothing of the work outlives the call
        return loop.time() - started

    assert asyncio.run(scenario()) < 1.0


@pytest.mark.parametrize("bounded", IMPLEMENTATIONS)
def test_an_error_from_the_work_comes_through_as_it_is(bounded: Bounded) -> None:
    async def broken() -> None:
        await asyncio.sleep(0)
        raise ConnectionResetError("peer reset")

    async def scenario() -> None:
        await bounded(broken(), 1.0)

    with pytest.raises(ConnectionResetError, match="peer reset"):
        asyncio.run(scenario())


@pytest.mark.parametrize("bounded", IMPLEMENTATIONS)
def test_a_cancellation_in_the_turn_the_answer_arrives_is_not_swallowed(bounded: Bounded) -> None:
    """The answer and the cancellation land in the same callback: the caller must end
    cancelled (wait_for on 3.10 and 3.11 returns 'answer' here)."""

    async def scenario() -> None:
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        caller = asyncio.ensure_future(bounded(answer, 5.0))
        await asyncio.sleep(0)  # the caller is now waiting for the answer
        answer.set_result("answer")
        assert caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller

    asyncio.run(scenario())


@pytest.mark.parametrize("bounded", IMPLEMENTATIONS)
def test_a_cancellation_from_a_callback_of_the_arriving_answer_is_not_swallowed(
    bounded: Bounded,
) -> None:
    """The answer's first done-callback cancels the caller: the work is finished, the caller
    has not resumed yet (it is woken by a later callback of the same answer)."""

    async def answers(answer: asyncio.Future[str]) -> str:
        return await answer

    async def scenario() -> None:
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        callers: list[asyncio.Future[Any]] = []
        landed: list[bool] = []
        answer.add_done_callback(lambda _: landed.append(callers[0].cancel()))
        callers.append(asyncio.ensure_future(bounded(answers(answer), 5.0)))
        await asyncio.sleep(0)  # the caller is now waiting for the answer
        answer.set_result("answer")
        with pytest.raises(asyncio.CancelledError):
            await callers[0]
        assert landed == [True]  # the caller was still running when the cancellation came

    asyncio.run(scenario())


@pytest.mark.parametrize("bounded", IMPLEMENTATIONS)
def test_an_outside_cancellation_landing_with_the_timeout_is_not_turned_into_a_timeout(
    bounded: Bounded,
) -> None:
    """The timer fires and Ctrl-C lands before the caller runs again: it must see
    CancelledError, not a TimeoutError it would report and carry on after (what the
    `async-timeout` backport does on 3.10)."""

    async def scenario() -> None:
        callers: list[asyncio.Future[Any]] = []

        async def hangs() -> None:
            # Scheduled after the timer (a zero timeout is due at once): same turn, just after.
            asyncio.get_running_loop().call_soon(callers[0].cancel)
            await asyncio.sleep(10)

        callers.append(asyncio.ensure_future(bounded(hangs(), 0)))
        with pytest.raises(asyncio.CancelledError):
            await callers[0]

    asyncio.run(scenario())


@pytest.mark.parametrize("bounded", IMPLEMENTATIONS)
def test_cancelling_the_caller_stops_the_work_it_waits_for(bounded: Bounded) -> None:
    stopped: list[bool] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            stopped.append(True)

    async def scenario() -> None:
        caller = asyncio.ensure_future(bounded(slow(), 5.0))
        await asyncio.sleep(0.01)
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        assert stopped == [True]

    asyncio.run(scenario())
