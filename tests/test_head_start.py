"""The head start (net.head_start): the name lookup and the first TCP connections, begun by
`check` while the run's modules import, then taken by the dns and connect checks and by the
pool's warmed connections. Real sockets on loopback and a real demo server."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.checks import REGISTRY
from scim_doctor.demo.server import DemoServer
from scim_doctor.net import head_start
from scim_doctor.net.context import Options, ProbeContext
from scim_doctor.net.target import parse_base_url
from scim_doctor.net.trust import load_trust
from tests.support.counting_listener import CountingListener

TOKEN = "head-start-token-0123456789abcdef"


@pytest.fixture
def listener() -> Iterator[CountingListener]:
    with CountingListener() as server:
        yield server
    head_start.discard()


def test_the_head_start_opens_the_spares_a_default_run_warms_on_the_base_url() -> None:
    ctx = ProbeContext(
        target=parse_base_url("https://scim.example.com/scim/v2"),
        options=Options(),
        token=None,
        trust=load_trust(None),
        deadline_at=time.monotonic() + 10,
    )
    on_base = sum(
        count
        for probe in REGISTRY
        if probe.connections is not None
        for url, count in probe.connections(ctx)
        if url.startswith("https://scim.example.com/")
    )
    assert on_base == head_start.SPARES
    assert {p.id for p in REGISTRY if p.connections is not None} == head_start.WARMING


def test_each_early_connection_is_made_at_once_and_handed_out_once(
    listener: CountingListener,
) -> None:
    head_start.begin("node.scim-doctor.test", listener.port, ["127.0.0.1"], 5.0, spares=3)
    connection = head_start.take_connection(listener.port)
    assert connection is not None
    made = connection.result(timeout=5)
    assert made is not None and made.address == "127.0.0.1" and made.port == listener.port
    assert head_start.take_connection(listener.port) is None  # given once
    spares = [head_start.take_spare("node.scim-doctor.test", listener.port) for _ in range(4)]
    assert spares[3] is None  # three were opened
    socks = [spare.result(timeout=5) for spare in spares[:3] if spare is not None]
    assert len(socks) == 3 and all(s is not None for s in socks)
    assert listener.wait("accepted", 4) == 4  # before anyone sent a byte
    for sock in socks:
        assert sock is not None
        sock.close()
    made.sock.close()


def test_the_spares_no_check_took_are_closed_when_the_run_ends(
    listener: CountingListener,
) -> None:
    head_start.begin("127.0.0.1", listener.port, ["127.0.0.1"], 5.0, spares=2)
    connection = head_start.take_connection(listener.port)
    assert connection is not None
    made = connection.result(timeout=5)
    assert listener.wait("accepted", 3) == 3
    head_start.discard()
    assert listener.wait("closed", 2) == 2  # the two spares; the connect check's stays open
    assert made is not None
    made.sock.close()
    assert listener.wait("closed", 3) == 3


def test_a_name_is_looked_up_once_and_its_answer_is_the_resolvers(
    listener: CountingListener,
) -> None:
    head_start.begin("localhost", listener.port, [], 5.0, spares=0)
    head = head_start.take_lookup("localhost", listener.port)
    assert head is not None and head.lookup is not None
    infos = head.lookup.result(timeout=5)
    assert infos == socket.getaddrinfo("localhost", listener.port, type=socket.SOCK_STREAM)
    assert head.lookup_ms is not None
    assert head_start.take_lookup("localhost", listener.port) is None  # given once


def test_a_refused_early_connection_is_left_for_the_connect_check_to_make_and_name() -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    head_start.begin("127.0.0.1", port, ["127.0.0.1"], 5.0, spares=1)
    connection = head_start.take_connection(port)
    assert connection is not None
    assert connection.result(timeout=5) is None
    spare = head_start.take_spare("127.0.0.1", port)
    assert spare is not None and spare.result(timeout=5) is None
    head_start.discard()


def test_a_check_takes_its_dns_answer_connection_and_warmed_sockets_from_the_head_start(
    run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: dict[str, list[object]] = {"connection": [], "spare": []}
    real_connection, real_spare = head_start.take_connection, head_start.take_spare

    def take_connection(port: int) -> object:
        result = real_connection(port)
        taken["connection"].append(result)
        return result

    def take_spare(host: str, port: int) -> object:
        result = real_spare(host, port)
        taken["spare"].append(result)
        return result

    monkeypatch.setattr(head_start, "take_connection", take_connection)
    monkeypatch.setattr(head_start, "take_spare", take_spare)
    with DemoServer(TOKEN) as server:
        ca = server.write_ca(tmp_path)
        result = run_cli(
            "check", server.base_url, "--cacert", str(ca), "--resolve", server.resolve_pin,
            "--format", "json", env={"SCIM_TOKEN": TOKEN, "HTTPS_PROXY": None,
                                     "https_proxy": None, "ALL_PROXY": None, "all_proxy": None},
        )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert '"status": "pass"' in result.stdout
    assert [c is not None for c in taken["connection"]] == [True]
    used = [s for s in taken["spare"] if s is not None]
    assert used and all(s.result(timeout=5) is not None for s in used)  # type: ignore[attr-defined]
    assert head_start._started == {}  # what no check took was closed with the run


def test_no_head_start_when_a_proxy_decides_the_route(
    run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    begun: list[tuple[str, int]] = []
    monkeypatch.setattr(head_start, "begin", lambda host, port, *_: begun.append((host, port)))
    result = run_cli(
        "check", "https://scim.example.com/scim/v2", "--only", "dns,connect", "--no-token",
        "--format", "json", env={"HTTPS_PROXY": "http://127.0.0.1:9"},
    )  # fmt: skip
    assert result.exit_code in (0, 1)
    assert '"via_proxy": "http://127.0.0.1:9"' in result.stdout
    assert begun == []
