"""Requests sent early (issue 21, item 1): redirect and auth start once `tls` has verified the
certificate, and every HTTP check's first requests go out on connections opened while `connect`
and `tls` run. Whole runs of the real runner against the demo server on loopback.

What must not change: which requests carry the token (none before the certificate is verified,
none when `tls` fails), and the report (order, statuses, skip reasons, findings, requests) is
the one the checks give when each waits for its prerequisites.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
import time
from pathlib import Path
from typing import Any

import msgspec.structs
import pytest

from scim_doctor.checks import REGISTRY
from scim_doctor.core.model import CheckResult, Status
from scim_doctor.core.secrets import Secret
from scim_doctor.demo.server import DemoServer
from scim_doctor.net.context import Options, ProbeContext
from scim_doctor.net.target import ResolvePin, parse_base_url
from scim_doctor.net.trust import load_trust
from scim_doctor.runs.runner import run_checks
from tests.http.helpers import TOKEN
from tests.support.probe_harness import connect_directly

WAITING = tuple(
    msgspec.structs.replace(probe, ahead_of=(), connections=None, warms_pool=False)
    for probe in REGISTRY
)
"""The registry as it was: every check waits for its prerequisites, nothing opened ahead."""

_RANDOM = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+(\.\d+)? ?ms"
)


@pytest.fixture(autouse=True)
def _direct(monkeypatch: pytest.MonkeyPatch) -> None:
    connect_directly(monkeypatch)


def _run(
    server: DemoServer, tmp_path: Path, probes: Any = REGISTRY, token: str | None = TOKEN
) -> list[CheckResult]:
    trust = load_trust(server.write_ca(tmp_path))
    options = Options(
        timeout=5.0,
        deadline=30.0,
        resolve=(ResolvePin(server.hostname, server.port, server.bind),),
        http_port=server.http_port or 80,
    )
    ctx = ProbeContext(
        target=parse_base_url(server.base_url),
        options=options,
        token=Secret(token) if token is not None else None,
        trust=trust,
        deadline_at=time.monotonic() + options.deadline,
    )
    return asyncio.run(run_checks(ctx, probes))


def _shape(results: list[CheckResult]) -> list[tuple[Any, ...]]:
    """What a report says, without what differs from one run to the next (timings, the random
    ids some requests make up)."""

    def plain(text: str | None) -> str | None:
        return None if text is None else _RANDOM.sub("*", text)

    return [
        (
            r.id,
            r.status,
            plain(r.skip_reason),
            [(f.code, f.severity) for f in r.findings],
            [(e.method, plain(e.url), e.status) for e in r.exchanges],
        )
        for r in results
    ]


def _token_requests(server: DemoServer) -> list[str]:
    bearer = f"Bearer {TOKEN}"
    return [f"{r.method} {r.path}" for r in server.received if r.header("authorization") == bearer]


@pytest.mark.parametrize(
    "fault", [None, "token_rejected", "forbidden", "wrong_base_path", "sso_login_page"]
)
def test_the_report_is_the_same_whether_checks_start_early_or_wait(
    fault: str | None, tmp_path: Path
) -> None:
    """Given the demo server (healthy, or refusing the token so that the checks that started
    early are skipped after all), When checked with early starts and again with every check
    waiting, Then both reports list the same checks in the same order, with the same statuses,
    skip reasons, findings and requests."""
    with DemoServer(TOKEN, fault=fault) as server:
        early = _run(server, tmp_path)
        waited = _run(server, tmp_path, WAITING)
    assert _shape(early) == _shape(waited)
    assert [r.id for r in early] == [p.id for p in REGISTRY]


def test_checks_that_ran_early_for_a_rejected_token_are_skipped_with_the_reason(
    tmp_path: Path,
) -> None:
    with DemoServer(TOKEN, fault="token_rejected") as server:
        results = {r.id: r for r in _run(server, tmp_path)}
    assert results["auth"].status is Status.FAIL
    for check in ("negotiation", "users", "discovery", "errors"):
        assert results[check].status is Status.SKIP
        assert results[check].skip_reason == "requires auth, which failed"
        assert results[check].exchanges == ()


@pytest.mark.parametrize(
    "fault",
    [
        "expired_cert",
        "wrong_host_cert",
        "self_signed_cert",
        "unknown_ca_cert",
        "incomplete_chain",
        "expired_intermediate",
        "client_cert_required",
    ],
)
def test_a_failing_tls_check_lets_no_token_bearing_request_through(
    fault: str, tmp_path: Path
) -> None:
    """Given a certificate the run's trust store rejects (or a server that wants a client
    certificate), When the whole check runs, with connections opened while tls runs, Then tls
    fails, every HTTP check is skipped with tls named, and the server received no request
    carrying the token."""
    with DemoServer(TOKEN, fault=fault) as server:
        results = {r.id: r for r in _run(server, tmp_path)}
        carried = _token_requests(server)
    assert results["tls"].status is Status.FAIL
    assert results["auth"].skip_reason == "requires tls, which failed"
    assert results["users"].skip_reason == "requires auth, which was skipped"
    assert carried == []


def test_early_starts_send_the_token_with_the_same_requests_as_waiting(tmp_path: Path) -> None:
    """Given a healthy server, Then the requests that reached it with the token are the same
    (by path: some queries carry random values) whether checks start early or wait: nothing
    carries the token that a waiting run would not have sent."""

    def paths(requests: list[str]) -> list[str]:
        return sorted(_RANDOM.sub("*", request.split("?")[0]) for request in requests)

    with DemoServer(TOKEN) as server:
        _run(server, tmp_path)
        early = _token_requests(server)
    with DemoServer(TOKEN) as server:
        _run(server, tmp_path, WAITING)
        waited = _token_requests(server)
    assert paths(early) == paths(waited)
    assert len(early) > 10


def test_a_run_leaves_no_connection_or_thread_behind(tmp_path: Path) -> None:
    """Given a run without a token (the checks after auth are skipped, so connections opened
    for them go unused), When it ends, Then every connection it opened to the server is
    closed and no thread it started is left: the process has nothing to wait for at exit."""
    with DemoServer(TOKEN) as server:
        threads_before = set(threading.enumerate())
        results = {r.id: r for r in _run(server, tmp_path, token=None)}
        left_open = _client_sockets_to({server.port, server.http_port})
        threads_left = {
            t
            for t in set(threading.enumerate()) - threads_before
            if t.is_alive() and not t.name.startswith("scim-demo")  # the server's, not the run's
        }
    assert results["negotiation"].status is Status.SKIP
    assert left_open == []
    assert not threads_left


def _client_sockets_to(ports: set[int | None]) -> list[tuple[Any, Any]]:
    """This process's sockets connected to one of `ports` (the server's own side excluded)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if not os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                continue
            with socket.socket(fileno=os.dup(int(fd))) as sock:
                peer, local = sock.getpeername(), sock.getsockname()
        except OSError:
            continue  # gone meanwhile, not connected, or not an inet socket
        if isinstance(peer, tuple) and peer[1] in ports and local[1] not in ports:
            found.append((local, peer))
    return found
