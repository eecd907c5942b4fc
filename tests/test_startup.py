"""Start-up (issue 21): a plain `check` imports only what a check needs. Nothing is timed here;
these tests name the modules a run must not load, in a fresh interpreter each."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scim_doctor import __version__
from scim_doctor.cli.app import main
from scim_doctor.demo.server import DemoServer

_TOKEN = "startup-test-token-0123456789abcdef"

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
    "scim_doctor.cli.serve",  # the other commands: each imported when it is asked for
    "scim_doctor.cli.demo",
    "scim_doctor.cli.cleanup",
    "scim_doctor.cli.diff",
    "scim_doctor.cli.merge",
    "scim_doctor.cli.catalogue",
    "rich",
)


# What a real `check --format json` run against the demo server has loaded when it exits.
_MODULES_AT_EXIT = """
import atexit, json, sys
from scim_doctor.cli.app import main

def dump():
    import inspect, msgspec
    names = sorted(name for name, module in sys.modules.items() if module is not None)
    undocumented = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for name in names if name.startswith("scim_doctor")
        for cls in vars(sys.modules[name]).values()
        if inspect.isclass(cls) and cls.__module__ == name and issubclass(cls, msgspec.Struct)
        and not cls.__doc__
    )
    print(json.dumps({"modules": names, "undocumented": undocumented}), file=sys.stderr)

atexit.register(dump)
sys.argv = ["scim-doctor", *sys.argv[1:]]
main()
"""

NOT_FOR_A_JSON_CHECK = (
    *NOT_FOR_A_PLAIN_CHECK,
    "scim_doctor.reporters.text",  # the other formats: only when asked for
    "scim_doctor.reporters.curl",
    "scim_doctor.reporters.junit",
    "scim_doctor.reporters.markdown",
    "scim_doctor.reporters.har",
    "scim_doctor.reporters.nagios",
    "scim_doctor.reporters.openmetrics",
    "scim_doctor.reporters.bundle",
    "scim_doctor.reporters.fleet",
    "scim_doctor.runs.fleet",  # --config, --repeat, --quiet only
    "scim_doctor.runs.config",
    "scim_doctor.runs.repeat",
    "scim_doctor.cli.fleet_output",
    "scim_doctor.net.pac",  # --proxy-pac only
    "scim_doctor.net.tunnel",  # CONNECT through an http:// proxy only
    "scim_doctor.serve.exporter",  # `serve` only
    "truststore",  # --trust system only
    "markupsafe",
    "h2",  # HTTP/2: only for a connection that negotiates it (the demo server speaks 1.1)
    "hpack",
    "hyperframe",
    "orjson",
)


_WITHOUT_PROXIES = {
    name: value
    for name, value in os.environ.items()
    if name.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
}


def test_a_json_check_run_loads_none_of_the_optional_modules(tmp_path: Path) -> None:
    """Given a healthy demo server, when `check --format json` runs against it as the process
    does, then the run passes and no module only another format, command or option needs (nor
    anything of the demo server) was loaded."""
    with DemoServer(_TOKEN) as server:
        ca = server.write_ca(tmp_path)
        pinned = ["--cacert", str(ca), "--resolve", server.resolve_pin]
        argv = ["check", server.base_url, *pinned, "--format", "json"]
        done = subprocess.run(
            [sys.executable, "-c", _MODULES_AT_EXIT, *argv],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            env={**_WITHOUT_PROXIES, "SCIM_TOKEN": _TOKEN},
        )
    seen = json.loads(done.stderr.splitlines()[-1])
    loaded = set(seen["modules"])

    assert json.loads(done.stdout)["summary"]["status"] == "pass", done.stdout[-2000:]
    assert not loaded & set(NOT_FOR_A_JSON_CHECK)
    assert not {
        name for name in loaded if name.startswith(("scim_doctor.demo", "scim_doctor.lifecycle"))
    }
    assert "scim_doctor.reporters.json" in loaded
    # Every record the run loads says why it exists (the style asks for it).
    assert seen["undocumented"] == []


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


_COLLECTOR_AS_THE_SCRIPT = """
import atexit, gc, sys
from scim_doctor.cli.app import main

atexit.register(lambda: print(gc.isenabled(), gc.get_freeze_count() > 0, flush=True))
sys.argv = ["scim-doctor", *sys.argv[1:]]
main()
"""


def test_the_collector_is_back_on_when_the_run_begins() -> None:
    """Given `check` run as the process, when the run is over, then the garbage collector is
    on and what start-up made is frozen out of its collections."""
    check = ["check", "https://127.0.0.1:9/scim/v2", "--only", "url", "--no-token"]
    done = subprocess.run(
        [sys.executable, "-c", _COLLECTOR_AS_THE_SCRIPT, *check, "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert done.stdout.splitlines()[-1] == "True True", done.stderr


def test_another_command_collects_from_the_start() -> None:
    """Given a command other than `check` (here `codes`) run as the process, then the garbage
    collector is back on before the command runs."""
    done = subprocess.run(
        [sys.executable, "-c", _COLLECTOR_AS_THE_SCRIPT, "codes"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "True True"


def test_main_called_in_a_process_of_its_own_leaves_the_collector_alone() -> None:
    """Given `main([...])` called by a test in its own process, then the collector is neither
    paused nor frozen, and the process is not left through os._exit."""
    frozen = gc.get_freeze_count()
    with pytest.raises(SystemExit) as done:
        main(["codes"])

    assert done.value.code == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_the_console_scripts_package_pauses_the_collector_before_click_loads() -> None:
    """Given a fresh interpreter, when it imports what the `scim-doctor` script imports first
    (scim_doctor.cli), then click is not loaded yet: the script's `main` pauses the garbage
    collector before click and the commands load."""
    code = (
        "import sys, scim_doctor.cli; print('click' in sys.modules, callable(scim_doctor.cli.main))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert done.stdout.split() == ["False", "True"]


def test_the_help_lists_every_command_though_only_check_loads_with_the_cli() -> None:
    """Given a fresh interpreter, when `scim-doctor --help` runs, then every command is listed
    with its summary, each imported only to be listed, and `codes` runs from its own module."""

    def run(*argv: str) -> str:
        command = [sys.executable, "-m", "scim_doctor", *argv]
        done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
        return done.stdout

    listed = run("--help")
    commands = listed.split("Commands:", 1)[1].split()
    for name in ("check", "cleanup", "codes", "demo", "diff", "explain", "merge", "serve"):
        assert name in commands
    assert "List every finding code" in listed
    assert "tls.cert_expired" in run("codes")
