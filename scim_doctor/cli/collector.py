"""The cyclic garbage collector at start-up (issue 21): paused while a `check` process imports
its modules and reads its options, back on when the run begins.

What start-up allocates lives until the process exits: modules, classes, functions, the
finding catalogue. Collecting while it grows finds nothing to free and costs some 10 ms of
every run; once it is over, `gc.freeze()` keeps those objects out of every later collection,
so the run's collections look only at what the run made. Only the process itself pauses
(`main()` without arguments); a test calling `main([...])` in its own process never does.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Stop collecting until `resume()`."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Collect again, with everything made so far frozen out of the collections; a no-op
    unless `pause()` stopped the collector."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
