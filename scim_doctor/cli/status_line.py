"""While one target is checked: a single status line on stderr, on a terminal only.

A slow target (a silent server, a handshake that never ends) used to show nothing for the whole
`--timeout`; after a second without output this line says which check is running and how long
the run has taken against its deadline (`tls… 3.2 s of 60 s`), rewritten in place, and is
erased before the report prints. Never on a pipe or a file (it would corrupt what is captured),
never under CI (`CI=true`, `GITHUB_ACTIONS`: logs keep every `\\r`), never with --quiet. The
runner only reports which checks start and end (runs.runner.CheckWatcher); the drawing is here.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import TextIO

ERASE = "\r\x1b[K"


def wanted(stream: TextIO, *, quiet: bool = False, env: Mapping[str, str] | None = None) -> bool:
    """Whether a status line may be drawn on `stream`: a terminal, not CI, not --quiet."""
    env = os.environ if env is None else env
    if quiet or env.get("CI", "").lower() in ("true", "1") or "GITHUB_ACTIONS" in env:
        return False
    return stream.isatty()


class StatusLine:
    """The status line of one run: a CheckWatcher for the runner, drawn by a daemon thread
    (the run's event loop is busy on the main thread) every `interval_s` once `delay_s` passed.
    Use it as a context manager: leaving it erases the line, however the run ended."""

    def __init__(
        self,
        deadline_s: float,
        stream: TextIO | None = None,
        *,
        enabled: bool | None = None,
        delay_s: float = 1.0,
        interval_s: float = 0.2,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = wanted(self.stream) if enabled is None else enabled
        self.deadline_s = deadline_s
        self.delay_s = delay_s
        self.interval_s = interval_s
        self.running: list[str] = []
        """Check ids now running, in the order they started."""
        self.shown = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = time.monotonic()

    def __call__(self, check_id: str, running: bool) -> None:
        with self._lock:
            if running:
                self.running.append(check_id)
            elif check_id in self.running:
                self.running.remove(check_id)

    def __enter__(self) -> StatusLine:
        self._started = time.monotonic()
        if self.enabled:
            self._thread = threading.Thread(target=self._draw, name="status-line", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def text(self, elapsed_s: float) -> str:
        """`tls… 3.2 s of 60 s`; the first check still running, and how many more run beside it
        (one short line: a line wider than the terminal cannot be rewritten in place)."""
        with self._lock:
            return self._text(elapsed_s)

    def _draw(self) -> None:
        while not self._stop.wait(self.interval_s):
            elapsed = time.monotonic() - self._started
            if elapsed < self.delay_s:
                continue
            with self._lock:  # close() erases under the same lock: no line drawn after it
                if self._stop.is_set():
                    return
                self.stream.write(ERASE + self._text(elapsed))
                self.stream.flush()
                self.shown = True

    def _text(self, elapsed_s: float) -> str:
        what = self.running[0] if self.running else "finishing"
        if len(self.running) > 1:
            what += f" (+{len(self.running) - 1})"
        return f"{what}… {elapsed_s:.1f} s of {self.deadline_s:g} s"

    def close(self) -> None:
        """Stop drawing and erase the line, so the report (or an error) starts on a clean one."""
        with self._lock:
            self._stop.set()
            if self.shown:
                self.stream.write(ERASE)
                self.stream.flush()
                self.shown = False
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None
