"""`scim-doctor serve` as a monitoring system runs it: the real console script in a subprocess,
on a free loopback port (said on stderr), scraped, then stopped with SIGTERM (exit 0); and the
mistakes that must stop it before it listens (exit 2, one line)."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.fleet_servers import TOKEN, TOKEN_ENV, fleet_servers

SCRIPT = str(Path(sys.executable).with_name("scim-doctor"))
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+/)")


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stderr is not None
    ready, _, _ = select.select([process.stderr], [], [], timeout)
    assert ready, "the exporter said nothing on stderr"
    return process.stderr.readline()


def test_serve_listens_on_a_free_port_answers_a_scrape_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    with fleet_servers(tmp_path, {"healthy": None}) as fleet:
        config = fleet.config([("acme", "healthy")])
        env = {**os.environ, TOKEN_ENV: TOKEN}
        process = subprocess.Popen(
            [SCRIPT, "serve", "--config", str(config), "--listen", "127.0.0.1:0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            line = _read_line(process, 30.0)
            found = LISTENING.search(line)
            assert found, line
            base = found.group(1)
            with httpx.Client(trust_env=False, timeout=30.0) as client:
                probe = client.get(base + "probe", params={"target": "acme"})
                metrics = client.get(base + "metrics")
                pages = [client.get(base).text, client.get(base + "report?target=acme").text]
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 0, err
    assert "stopped (SIGTERM)" in err
    assert TOKEN not in out + err + probe.text + metrics.text + "".join(pages)
    assert "acme" in pages[0] and "<html" in pages[1]
    success = [
        sample.value
        for family in text_string_to_metric_families(probe.text)
        for sample in family.samples
        if sample.name == "scim_doctor_probe_success"
    ]
    assert success == [1.0]
    assert "scim_doctor_exporter_probes_total" in metrics.text


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--listen", "nowhere"], "--listen 'nowhere': expected HOST:PORT"),
        (["--config", "missing.toml"], "no such file"),
    ],
)
def test_a_bad_option_stops_serve_before_it_listens(
    tmp_path: Path, args: list[str], said: str
) -> None:
    config = tmp_path / "scim-doctor.toml"
    config.write_text('[[targets]]\nurl = "https://scim.example.com/scim/v2"\nno_token = true\n')
    argv = [SCRIPT, "serve", "--config", str(config), *args]
    started = time.monotonic()
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=30, check=False, cwd=tmp_path
    )
    assert done.returncode == 2, done.stderr
    assert said in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 20


def test_a_missing_token_stops_serve_before_it_listens(tmp_path: Path) -> None:
    config = tmp_path / "scim-doctor.toml"
    config.write_text(
        '[[targets]]\nname = "acme"\nurl = "https://scim.example.com/scim/v2"\n'
        'token_env = "NOT_SET_ANYWHERE_42"\n'
    )
    env = {k: v for k, v in os.environ.items() if k != "NOT_SET_ANYWHERE_42"}
    done = subprocess.run(
        [SCRIPT, "serve", "--config", str(config), "--listen", "127.0.0.1:0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=env,
    )
    assert done.returncode == 2
    assert "NOT_SET_ANYWHERE_42" in done.stderr and "listening" not in done.stderr
