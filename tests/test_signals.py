"""SIGTERM and SIGHUP end a command as Ctrl-C does (core.signals): handlers live only for
the command and are restored after it, a signal ignored by the parent (nohup) stays ignored, a
repeat is acknowledged instead of cutting the stop short, and a fleet run (`check --config`)
stopped by SIGTERM exits 130 with one line and no traceback.

The lifecycle's clean-up under SIGTERM / SIGHUP is proven against the demo server in
tests/probes/test_lifecycle.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from scim_doctor.core import signals
from scim_doctor.demo.fault_kit import Fault, on_route
from scim_doctor.demo.scim_app import Handler, Request, Response
from scim_doctor.demo.server import DemoServer

SCRIPT = str(Path(sys.executable).with_name("scim-doctor"))
TOKEN = "canary-signals-5b8e2d7c9a1f3064"
TOKEN_ENV = "SIGNALS_SCIM_TOKEN"
HOLD_LIMIT_S = 30.0
"""How long the held answers wait at most; every test releases them as soon as it is done."""


def _sentinel(signum: int, frame: FrameType | None) -> None:
    """A handler that is not scim-doctor's, to see it restored."""


def _not_replaced(signum: int, frame: FrameType | None) -> None:
    """In place before each command: a signal scim-doctor failed to take fails the test instead
    of ending the test run."""
    raise AssertionError(f"{signal.Signals(signum).name} reached the handler set before")


@contextlib.contextmanager
def handlers(**wanted: Any) -> Iterator[None]:
    """Set signal handlers by name for the test (SIGINT=..., SIGTERM=...), restore them after."""
    previous = {name: signal.signal(getattr(signal, name), h) for name, h in wanted.items()}
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


def run_interrupted(ctrl_c: Any) -> tuple[list[str], float]:
    """A run that sends itself SIGTERM while awaiting: what its coroutine saw, and how long the
    stop took, with Ctrl-C's handler set to `ctrl_c` before asyncio.run."""
    seen: list[str] = []

    async def waits() -> None:
        asyncio.get_running_loop().call_soon(signal.raise_signal, signal.SIGTERM)
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    started = time.monotonic()
    with handlers(SIGINT=ctrl_c, SIGTERM=_not_replaced), signals.stop_like_ctrl_c():
        with pytest.raises(KeyboardInterrupt):
            asyncio.run(waits())
    return seen, time.monotonic() - started


# --- the handlers: installed for one command only ----------------------------------------------


def test_importing_scim_doctor_changes_no_signal_handler() -> None:
    code = (
        "import signal\n"
        "def shown(): return [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)]\n"
        "before = shown()\n"
        "import scim_doctor.cli, scim_doctor.core.signals\n"
        "print(before == shown(), before)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert result.stdout.startswith("True "), result.stdout


def test_the_previous_handlers_are_restored_when_the_command_ends() -> None:
    with handlers(SIGTERM=_sentinel, SIGHUP=_sentinel):
        with signals.stop_like_ctrl_c():
            during = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)
        after = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)
    assert _sentinel not in during
    assert after == (_sentinel, _sentinel)


def test_a_sighup_ignored_by_nohup_stays_ignored() -> None:
    """`nohup scim-doctor check ...` ignores SIGHUP so the run outlives its terminal."""
    with handlers(SIGHUP=signal.SIG_IGN, SIGTERM=signal.SIG_DFL), signals.stop_like_ctrl_c():
        hangup, terminate = signal.getsignal(signal.SIGHUP), signal.getsignal(signal.SIGTERM)
    assert hangup is signal.SIG_IGN
    assert terminate is not signal.SIG_DFL


def test_outside_the_main_thread_nothing_is_installed() -> None:
    """Only the main thread receives signals; a command run on another thread changes nothing."""
    seen: list[object] = []

    def command() -> None:
        with signals.stop_like_ctrl_c():
            seen.append(signal.getsignal(signal.SIGTERM))

    with handlers(SIGTERM=_sentinel):
        worker = threading.Thread(target=command)
        worker.start()
        worker.join(5)
    assert seen == [_sentinel]


# --- what a signal does ---------------------------------------------------------------------------


def test_sigterm_in_asyncio_run_cancels_the_run_as_ctrl_c_does() -> None:
    seen, took = run_interrupted(signal.default_int_handler)
    assert seen == ["cancelled"]
    assert took < 1.0
    assert signals.received() == "SIGTERM"


def test_sigterm_cancels_the_run_even_where_ctrl_c_is_ignored() -> None:
    """`cmd &` in a script starts with SIGINT ignored: asyncio.run installs no handler, and
    SIGTERM must still cancel every task (the lifecycle's clean-up waits on a cancellation)."""
    seen, took = run_interrupted(signal.SIG_IGN)
    assert seen == ["cancelled"]
    assert took < 1.0


def test_sigterm_outside_the_event_loop_raises_keyboard_interrupt() -> None:
    """Reading the token from stdin, writing the report: the interrupt stops the command there."""
    with (
        handlers(SIGINT=signal.default_int_handler, SIGTERM=_not_replaced),
        signals.stop_like_ctrl_c(),
        pytest.raises(KeyboardInterrupt),
    ):
        signal.raise_signal(signal.SIGTERM)


def test_a_repeated_signal_is_acknowledged_on_stderr_and_does_not_interrupt_again(
    capfd: pytest.CaptureFixture[str],
) -> None:
    stops = {"SIGTERM": _not_replaced, "SIGHUP": _not_replaced}
    with handlers(SIGINT=signal.default_int_handler, **stops), signals.stop_like_ctrl_c():
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGHUP)  # raises nothing: the stop is under way
    said = capfd.readouterr().err
    assert said.startswith("scim-doctor: SIGHUP again: already stopping; a lifecycle clean-up")
    assert "SIGKILL would leave its test resources on the server" in said
    assert signals.received() == "SIGTERM"


# --- a fleet run ----------------------------------------------------------------------------------


class Hold:
    """A demo fault that holds every SCIM answer back until released: the fleet is mid-run."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()

    def fault(self) -> Fault:
        def middleware(request: Request, call_next: Handler) -> Response:
            self.reached.set()
            self.release.wait(HOLD_LIMIT_S)
            return call_next(request)

        return Fault("held", "answers late", "http", (), middleware=on_route("*", "*", middleware))


def fleet_config(directory: Path, server: DemoServer, names: tuple[str, ...]) -> Path:
    ca = server.write_ca(directory)
    lines = ["[defaults]", "timeout = 20", f'cacert = "{ca.name}"', f'token_env = "{TOKEN_ENV}"']
    for name in names:
        lines += [
            "",
            "[[targets]]",
            f'name = "{name}"',
            f'url = "{server.base_url}"',
            f'resolve = ["{server.resolve_pin}"]',
        ]
    path = directory / "scim-doctor.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_fleet_run_stopped_by_sigterm_exits_130_with_one_line_and_no_traceback(
    tmp_path: Path,
) -> None:
    hold = Hold()
    environment = {
        key: value
        for key, value in os.environ.items()
        if "PROXY" not in key.upper() and not key.startswith("GITHUB_")
    }
    try:
        with DemoServer(TOKEN, fault=hold.fault()) as server:
            config = fleet_config(tmp_path, server, ("billing", "payroll"))
            with subprocess.Popen(
                [SCRIPT, "check", "--config", str(config)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**environment, TOKEN_ENV: TOKEN},
            ) as process:
                try:
                    assert hold.reached.wait(30), "no target reached the server"
                    assert process.poll() is None, "the fleet ended while its requests were held"
                    process.send_signal(signal.SIGTERM)
                    stdout, stderr = process.communicate(timeout=20)
                finally:
                    hold.release.set()
                    if process.poll() is None:
                        process.kill()
                        process.communicate()
    finally:
        hold.release.set()

    assert process.returncode == 130, f"stderr: {stderr!r}; stdout: {stdout[:2000]!r}"
    assert stderr.strip() == "scim-doctor: interrupted by SIGTERM"
    assert stdout == ""
