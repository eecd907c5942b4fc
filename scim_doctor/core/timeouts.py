"""Time limits on awaits that never swallow a cancellation (Ctrl-C, the run's deadline).

`asyncio.wait_for` before Python 3.12 runs the awaitable in a task of its own, and when the
caller is cancelled just as that task finishes it returns the task's result instead of
raising (python/cpython#86296, fixed in 3.12 by rebuilding wait_for on `asyncio.timeout`):
the cancellation is gone, so Ctrl-C or the run's deadline is ignored until something else
notices. Every bounded await in scim-doctor goes through `within()` instead.

Where Python has `asyncio.timeout` (3.11+), `within` is that: the awaitable runs in the
caller's own task, its timer cancels that task, and on the way out the timer's cancellation
is told from anyone else's by the task's count of cancel requests (`uncancel()` returns what
is left; more than there were on entry means someone else cancelled too, and the
CancelledError goes on instead of becoming a TimeoutError).

Python 3.10 has no such count: two `cancel()` calls on one task collapse into one
CancelledError, so a timer that cancels the caller's own task cannot tell its cancellation from
Ctrl-C's when both land in the same turn of the loop. That is what the `async-timeout` package
(the usual 3.10 backport) does, and in that case it turns the outside cancellation into a
TimeoutError, the caller carries on and the interrupt is lost. `within_a_task` (used on 3.10)
avoids the ambiguity rather than resolving it: the awaitable runs in a task of its own and the
timer cancels only that task, never the caller's. So a CancelledError reaching the caller can
only come from outside, and it always goes on, even when the inner task has just finished (its
result is dropped: the one thing wait_for got wrong). The price is a task per call, which is
what wait_for cost anyway.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import Any, TypeVar

__all__ = ["within", "within_a_task"]

_T = TypeVar("_T")


async def within_a_task(awaitable: Awaitable[_T], seconds: float) -> _T:
    """`awaitable`'s result, or `asyncio.TimeoutError` once `seconds` have passed; if the
    caller is cancelled meanwhile, CancelledError, whatever state the awaitable is in.

    The implementation for Python 3.10 (see the module's docstring), correct on any version.
    As with wait_for, the awaitable has stopped running when this returns or raises (unless a
    second cancellation interrupts the wait for it to stop), and an awaitable that finishes
    despite the timer's cancellation has its result (or its error) handed back.
    """
    inner = asyncio.ensure_future(awaitable)
    try:
        await asyncio.wait((inner,), timeout=seconds)
    except asyncio.CancelledError:
        # The timer below never cancels this task, so this cancellation came from outside: it
        # wins even if `inner` finished in the same turn, and its result is dropped.
        await _stop(inner)
        raise
    if not inner.done():
        await _stop(inner)
        if inner.cancelled():
            raise asyncio.TimeoutError
    return inner.result()


async def _stop(inner: asyncio.Future[Any]) -> None:
    """Cancel `inner` and wait until it has stopped, so that nothing it does outlives the call.

    If the caller is cancelled during that wait, the CancelledError goes on at once; `inner`
    then finishes unwatched, so whatever error it ends with is marked as seen (asyncio would
    log an unretrieved one as a bug).
    """
    inner.add_done_callback(_seen)
    if inner.cancel():
        await asyncio.wait((inner,))


def _seen(inner: asyncio.Future[Any]) -> None:
    if not inner.cancelled():
        inner.exception()


if sys.version_info >= (3, 11):

    async def within(awaitable: Awaitable[_T], seconds: float) -> _T:
        """`awaitable`'s result, or `asyncio.TimeoutError` once `seconds` have passed; if the
        caller is cancelled meanwhile, CancelledError, even in the turn the awaitable finishes.

        On 3.11+ this is `asyncio.timeout`: no task per call (a deep sweep bounds each of
        thousands of reads). On 3.10 it is `within_a_task`.
        """
        async with asyncio.timeout(seconds):
            return await awaitable

else:  # pragma: no cover - Python 3.10
    within = within_a_task
