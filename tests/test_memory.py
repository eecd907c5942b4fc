"""Memory bounded by design (issue 21): a whole `scim-doctor check` process, as a user runs it,
against a server whose /Users answers 200 MiB or a gzip bomb, stays under a fixed peak RSS.

The check runs in a subprocess so that its peak resident memory is the operating system's own
accounting of that process alone (`os.wait4`), not the test runner's. Nothing here is timed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from scim_doctor.demo.fault_kit import Fault, on_route
from scim_doctor.demo.scim_app import Handler, Request, Response
from scim_doctor.demo.server import DemoServer

TOKEN = "memory-test-token-0123456789abcdef"
MIB = 1024 * 1024
PEAK_RSS_LIMIT_MIB = 60
"""The issue's target with the default --max-body 10M (it was ~150 MiB when every request
in flight held up to --max-body in memory)."""


def _huge() -> Iterator[bytes]:
    """200 MiB of a ListResponse, chunked: no length announced, so it must be read to the cap."""
    yield b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"Resources":['
    block = b'{"userName":"u","id":"1"},' * (MIB // 26)
    for _ in range(200 * MIB // len(block)):
        yield block


def _bomb() -> Iterator[bytes]:
    """1 GiB of zeros gzip-compressed on the fly (about 1 MiB on the wire)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(MIB)
    for _ in range(1024):
        out = compressor.compress(block)
        if out:
            yield out
    yield compressor.flush()


def _hostile_users(kind: str) -> Fault:
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/scim+json"),)
    if kind == "bomb":
        headers += (("Content-Encoding", "gzip"),)
    chunks = _bomb if kind == "bomb" else _huge

    def answer(request: Request, call_next: Handler) -> Response:
        return Response(200, headers, chunks=chunks)

    return Fault(f"users_{kind}", f"GET /Users answers a {kind} body", "http", (),
                 middleware=on_route("GET", "/Users", answer))  # fmt: skip


_MEASURE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""
"""Started from a small interpreter, not from this test process: Linux carries the RSS high-water
mark of the memory a process had before exec over into the new program's, so a child forked
straight from pytest (tens of MiB) would report at least pytest's own size."""


def _peak_rss_mib(argv: list[str], env: dict[str, str]) -> tuple[int, float]:
    """Run a command to its end; its exit code and its own peak resident memory in MiB."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *argv],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=110,
    )
    code, kib = done.stdout.split()
    return int(code), int(kib) / 1024  # ru_maxrss is in KiB on Linux


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux only")
@pytest.mark.parametrize("kind", ["huge", "bomb"])
def test_a_hostile_users_body_leaves_the_check_process_under_60_mib(
    kind: str, tmp_path: Path
) -> None:
    """Given /Users answering 200 MiB (or a gzip bomb of 1 GiB) to every request, when a whole
    check runs with the default --max-body 10M, then the process peaks under 60 MiB and the
    run ends with a report (exit 1: the answers are wrong), not a crash."""
    with DemoServer(TOKEN, fault=_hostile_users(kind)) as server:
        ca = server.write_ca(tmp_path)
        argv = [
            str(Path(sys.executable).parent / "scim-doctor"),
            "check",
            server.base_url,
            "--cacert",
            str(ca),
            "--resolve",
            server.resolve_pin,
            "--format",
            "json",
        ]
        code, peak = _peak_rss_mib(argv, {**os.environ, "SCIM_TOKEN": TOKEN})

    assert code == 1
    assert peak < PEAK_RSS_LIMIT_MIB, f"peak RSS {peak:.1f} MiB"
