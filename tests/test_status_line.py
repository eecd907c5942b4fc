"""The status line of a slow single-target run: on a terminal after a second, erased before the
report; never on a pipe, under CI or with --quiet."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.cli.status_line import ERASE, StatusLine, wanted
from scim_doctor.demo.server import DemoServer

TOKEN = "status-line-token-3f8a1c6e92d0b547"
SCRIPT = str(Path(sys.executable).with_name("scim-doctor"))
STATUS = re.compile(r"\r\x1b\[K[a-z]+(?: \(\+\d+\))?… \d+\.\d s of \d+ s")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def silent(tmp_path: Path) -> Iterator[list[str]]:
    """`check` arguments for a demo server that accepts connections and never answers."""
    with DemoServer(TOKEN, fault="silent", http_listener=True) as server:
        ca = server.write_ca(tmp_path)
        yield [
            "check",
            server.base_url,
            "--cacert",
            str(ca),
            "--resolve",
            server.resolve_pin,
            "--http-port",
            str(server.http_port),
            "--timeout",
            "2",
        ]


def test_given_a_silent_server_on_a_terminal_when_checked_then_a_status_line_shows_and_is_erased(
    run_cli: Any, silent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.setattr(sys, "stdout", screen)  # one screen: the order of line and report shows
    result = run_cli(*silent, env={"SCIM_TOKEN": TOKEN, "CI": None, "GITHUB_ACTIONS": None})
    assert result.exit_code == 1
    before, _, after = screen.getvalue().rpartition(ERASE)
    assert STATUS.search(before), before
    assert "scim-doctor" in after and " s of " not in after  # erased before the report began


def test_given_a_silent_server_and_a_pipe_when_checked_then_no_status_line_appears(
    silent: list[str],
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_ACTIONS")}
    done = subprocess.run(
        [SCRIPT, *silent],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**env, "SCIM_TOKEN": TOKEN},
    )
    assert done.returncode == 1, done.stderr
    assert "\r" not in done.stderr + done.stdout
    assert " s of " not in done.stderr


@pytest.mark.parametrize(
    ("env", "quiet"),
    [({"CI": "true"}, False), ({"GITHUB_ACTIONS": "true"}, False), ({}, True)],
)
def test_no_status_line_under_ci_or_with_quiet_even_on_a_terminal(
    env: dict[str, str], quiet: bool
) -> None:
    assert not wanted(Terminal(), quiet=quiet, env=env)
    assert wanted(Terminal(), env={})
    assert not wanted(io.StringIO(), env={})


def test_the_line_names_the_first_running_check_and_how_many_run_beside_it() -> None:
    screen = Terminal()
    with StatusLine(60, screen, enabled=True, delay_s=0.0, interval_s=0.01) as status:
        status("tls", True)
        status("redirect", True)
        assert status.text(3.24) == "tls (+1)… 3.2 s of 60 s"
        status("tls", False)
        assert status.text(4.0) == "redirect… 4.0 s of 60 s"
        for _ in range(200):  # up to 2 s for the drawing thread
            if "redirect…" in screen.getvalue():
                break
            time.sleep(0.01)
    assert "redirect…" in screen.getvalue()
    assert screen.getvalue().endswith(ERASE)
