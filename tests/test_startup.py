"""Start-up (issue 21): a plain `check` imports only what a check needs. Nothing is timed here;
these tests name the modules a run must not load, in a fresh interpreter each."""

from __future__ import annotations

import json
import subprocess
import sys

from scim_doctor import __version__

# What `scim-doctor check URL` imports before it runs the checks (the CLI, the registry of
# checks, the runner, the default text reporter and the JSON one).
_CHECK_IMPORTS = """
import json, sys
import scim_doctor.cli.app
import scim_doctor.checks, scim_doctor.runs.runner
import scim_doctor.reporters.text, scim_doctor.reporters.json
import httpx
print(json.dumps(sorted(name for name, module in sys.modules.items() if module is not None)))
"""

NOT_FOR_A_PLAIN_CHECK = (
    "jinja2",  # the HTML report only
    "prometheus_client",  # --format openmetrics and `serve` only
    "scim_doctor.lifecycle.cleanup",  # --allow-writes only
    "scim_doctor.lifecycle.steps",
    "scim_doctor.checks.deep_sweep",  # --deep only
    "scim_doctor.scim.deep_tally",
    "scim_doctor.demo.server",  # `demo` only
    "scim_doctor.reporters.html",
    "httpx._main",  # httpx's own command line (rich, pygments)
    "rich",
)


def test_a_plain_check_loads_none_of_the_optional_modules() -> None:
    """Given a fresh interpreter, when it imports what `check` imports, then no module that
    only another format, command or option needs is loaded."""
    done = subprocess.run(
        [sys.executable, "-c", _CHECK_IMPORTS], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(done.stdout))

    assert not loaded & set(NOT_FOR_A_PLAIN_CHECK)
    assert "httpx" in loaded and callable(__import__("httpx").main)


# The console script's exit: `main()` without arguments, as the `scim-doctor` script calls it.
_EXIT_AS_THE_SCRIPT = """
import atexit, sys, threading, time
from scim_doctor.cli.app import main

class TornDown:
    def __del__(self):
        print("torn down", flush=True)

kept = TornDown()
atexit.register(lambda: print("atexit ran", flush=True))
if sys.argv[1] == "thread":
    threading.Thread(target=lambda: (time.sleep(0.2), print("thread done", flush=True))).start()
sys.argv = ["scim-doctor", "--version"]
main()
"""


def _exit_as_the_script(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _EXIT_AS_THE_SCRIPT, mode],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_console_script_leaves_without_the_interpreters_tear_down() -> None:
    """Given `scim-doctor --version` run as the process, when it is done, then its output is
    flushed, the atexit handlers ran and the exit code is 0, and no object was torn down (the
    interpreter's clean-up of every module was skipped)."""
    done = _exit_as_the_script("plain")

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"scim-doctor, version {__version__}", "atexit ran"]


def test_a_running_non_daemon_thread_keeps_the_ordinary_exit() -> None:
    """Given another non-daemon thread still running (a clean-up finishing its deletes), when
    the command is done, then the process waits for it as an ordinary exit does."""
    done = _exit_as_the_script("thread")

    assert done.returncode == 0, done.stderr
    assert "thread done" in done.stdout.splitlines()
    assert "torn down" in done.stdout.splitlines()
