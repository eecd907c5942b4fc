"""SIGTERM and SIGHUP end a command the way Ctrl-C does.

CI runners, `timeout`, Docker, Kubernetes and systemd stop a process with SIGTERM, and a closed
terminal sends SIGHUP. Left at their default, both end scim-doctor on the spot: a lifecycle
check (--allow-writes) leaves its test user on the server, nothing says so, and the exit status
is the signal's instead of the documented 130. While `check`, `cleanup` or `demo` runs,
`stop_like_ctrl_c()` hands both to whatever Ctrl-C does at that moment: inside asyncio.run, its
handler cancels the run, so the lifecycle's guaranteed clean-up runs and says on stderr what it
deleted; anywhere else, KeyboardInterrupt. `cli.main` turns either into exit 130.

- A signal the parent chose to ignore stays ignored: `nohup` ignores SIGHUP precisely so that a
  run outlives its terminal.
- A repeated SIGTERM or SIGHUP does not hurry the stop. Machines send more than one (systemd
  SIGTERM and then SIGHUP with SendSIGHUP=, GitHub Actions SIGINT and 7.5 s later SIGTERM,
  `timeout` the process and then its process group), and a clean-up cut short leaves a test
  user on a production server: each repeat gets a line on stderr, and SIGKILL is what stops at
  once. (A second Ctrl-C keeps Python's meaning, but the lifecycle still waits for its clean-up
  thread.)
- Installed for one command and restored after it, never at import: importing scim_doctor
  leaves a process's signal handling alone, and `--help` / `--version` pay nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

_received: str | None = None
"""The signal that started the stop of the running (or just ended) command, e.g. "SIGTERM"."""

AGAIN = (
    "already stopping; a lifecycle clean-up (--allow-writes) that is running is finished first "
    "(SIGKILL would leave its test resources on the server)"
)


def stop_signals() -> tuple[signal.Signals, ...]:
    """SIGTERM, and SIGHUP where the platform has it (not on Windows)."""
    names = ("SIGTERM", "SIGHUP")
    return tuple(getattr(signal, name) for name in names if hasattr(signal, name))


def received() -> str | None:
    """Which signal stopped the last command ("SIGTERM", "SIGHUP"), or None (Ctrl-C, or none)."""
    return _received


@contextlib.contextmanager
def stop_like_ctrl_c() -> Iterator[None]:
    """For the duration of the block, SIGTERM and SIGHUP act as Ctrl-C; the previous handlers
    are restored after it. A no-op outside the main thread, which alone receives signals."""
    global _received
    _received = None
    previous: dict[signal.Signals, Any] = {}
    try:
        for signum in stop_signals():
            current = signal.getsignal(signum)
            if current is signal.SIG_IGN or current is None or current is _on_signal:
                continue  # ignored on purpose (nohup), a handler set outside Python, or nested
            try:
                previous[signum] = signal.signal(signum, _on_signal)
            except ValueError:  # not the main thread
                break
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _received
    name = signal.Signals(signum).name
    if _received is not None:
        _say(f"scim-doctor: {name} again: {AGAIN}")
        return
    _received = name
    ctrl_c = signal.getsignal(signal.SIGINT)
    if callable(ctrl_c):
        # asyncio.run's own handler (cancel the run) or Python's default (KeyboardInterrupt).
        ctrl_c(signal.SIGINT, frame)
        return
    # Ctrl-C itself is ignored (inherited: `cmd &` in a script), so asyncio.run installed no
    # handler. Raised from a callback, the interrupt leaves the loop between two steps, never
    # from inside a coroutine; asyncio.run then cancels every task, the lifecycle's included.
    asyncio = sys.modules.get("asyncio")
    loop = asyncio._get_running_loop() if asyncio is not None else None
    if loop is None:
        raise KeyboardInterrupt
    loop.call_soon_threadsafe(_interrupt)


def _interrupt() -> None:
    raise KeyboardInterrupt


def _say(line: str) -> None:
    """Straight to file descriptor 2: a handler may run in the middle of a write to sys.stderr,
    whose buffer is not re-entrant, and after SIGHUP the terminal may be gone. The line is
    built from the signal's name and constants only: no token can be in it."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        fd = 2
    with contextlib.suppress(OSError):
        os.write(fd, line.encode() + b"\n")
