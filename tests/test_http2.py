"""HTTP/2 where the server offers it (issue 21): a real nginx with `listen ... ssl http2` in front
of the demo server (which speaks HTTP/1.1 only), the CLI in a subprocess.

Each test: Given nginx with and without HTTP/2, When `scim-doctor check` runs, Then the run
over h2 says so (transcript, HAR) and finds what the run over HTTP/1.1 finds, token included.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.demo.server import DemoServer
from tests.support import components
from tests.support.nginx import Route, nginx, nginx_binary
from tests.test_client_certs import TOKEN, Run, check

HOST = "demo.scim-doctor.test"


@pytest.fixture
def backend() -> Iterator[DemoServer]:
    """The demo behind nginx; a wildcard name, so its users' meta.location follow the Host
    header nginx passes on (the front end's name and port), as a real deployment's do."""
    with DemoServer(TOKEN, hostname="*.scim-doctor.test") as server:
        yield server


def _through_nginx(
    backend: DemoServer, tmp_path: Path, *cli: str, http2: bool, token: str | None = None
) -> Run:
    if nginx_binary() is None:
        components.missing("nginx is not installed (Debian package nginx)")
    route = Route("/", f"https://127.0.0.1:{backend.port}")
    where = tmp_path / ("nginx-h2" if http2 else "nginx-h1")
    with nginx(where, HOST, backend._ca.issue([HOST]), [route], http2=http2) as front:
        url = f"https://{HOST}:{front.port}/scim/v2"
        env = {"SCIM_TOKEN": token} if token is not None else None
        return check(
            backend, tmp_path, *cli, base_url=url, resolve=f"{HOST}:{front.port}:127.0.0.1",
            env=env,
        )  # fmt: skip


def _exchanges(run: Run) -> list[dict[str, Any]]:
    return [exchange for check in run.report["checks"] for exchange in check["exchanges"]]


def _outcome(run: Run) -> dict[str, tuple[str, list[str]]]:
    """Each check's status and finding codes: what a reader acts on."""
    return {
        check["id"]: (check["status"], sorted(f["code"] for f in check["findings"]))
        for check in run.report["checks"]
    }


def test_a_healthy_server_over_http2_has_no_warning_and_says_http2(
    backend: DemoServer, tmp_path: Path
) -> None:
    run = _through_nginx(backend, tmp_path, http2=True)
    problems = {
        (check["id"], f["code"])
        for check in run.report["checks"]
        for f in check["findings"]
        if f["severity"] in ("warn", "fail")
    }
    assert problems == set()
    assert run.code == 0
    to_target = [e for e in _exchanges(run) if e["url"].startswith(f"https://{HOST}:")]
    assert to_target and {e["http_version"] for e in to_target if e["status"]} == {"HTTP/2"}
    assert run.check("tls")["facts"]["alpn"] == "h2"


def test_the_har_of_a_run_over_http2_says_http2(backend: DemoServer, tmp_path: Path) -> None:
    har = tmp_path / "run.har"
    _through_nginx(backend, tmp_path, "--report", f"har={har}", http2=True)
    entries = json.loads(har.read_text())["log"]["entries"]
    versions = {e["response"]["httpVersion"] for e in entries if e["response"]["status"]}
    assert "HTTP/2" in versions
    assert {e["request"]["httpVersion"] for e in entries if e["response"]["status"] and
            e["request"]["url"].startswith(f"https://{HOST}:")} == {"HTTP/2"}  # fmt: skip


@pytest.mark.parametrize("token", [TOKEN, "wrong-token-0123456789abcdef"], ids=["token", "wrong"])
def test_over_http2_every_check_finds_what_it_finds_over_http11(
    backend: DemoServer, tmp_path: Path, token: str
) -> None:
    """The same nginx, with and without h2: the same statuses and finding codes in every
    check (redirects walked from the plain-HTTP port, auth with a good and a wrong token)."""
    h1 = _through_nginx(backend, tmp_path, http2=False, token=token)
    h2 = _through_nginx(backend, tmp_path, http2=True, token=token)

    assert _outcome(h2) == _outcome(h1)
    assert {e["http_version"] for e in _exchanges(h1) if e["status"]} == {"HTTP/1.1"}
    assert "HTTP/2" in {e["http_version"] for e in _exchanges(h2)}


def test_over_http2_the_token_goes_only_to_the_target(backend: DemoServer, tmp_path: Path) -> None:
    """Every exchange that carried Authorization went to the target's https origin (over
    h2); none to the plain-HTTP port the redirect walk visits."""
    run = _through_nginx(backend, tmp_path, http2=True)
    origin = f"https://{HOST}:"
    carried = [e for e in _exchanges(run) if "authorization" in _names(e)]
    assert carried and all(e["url"].startswith(origin) for e in carried)
    assert any(e["http_version"] == "HTTP/2" for e in carried)


def _names(exchange: dict[str, Any]) -> set[str]:
    return {name.lower() for name, _ in exchange["request_headers"]}
