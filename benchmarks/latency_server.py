"""The demo SCIM server as a process of its own, for benchmarks.

    BENCH_SCIM_TOKEN=... python benchmarks/latency_server.py [--hostname PATTERN] [--delay-ms N]

Starts `DemoServer` (HTTPS on 127.0.0.1 plus its plain-HTTP listener), prints one JSON line
saying how to reach it (base URL, --resolve pin, plain-HTTP port, CA file), then serves until
its standard input is closed. The server has to live in the same network namespace as the
client, which only a child process started inside that namespace can; the token comes from the
environment, never the command line (`ps` would show it). The fleet benchmark starts several,
each with a wildcard certificate (`--hostname '*.s0.bench.test'`) and optionally answering every
HTTP request `--delay-ms` late, so that the servers' work runs beside the client's instead of
sharing one interpreter (and its lock) with the benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scim_doctor.demo.fault_kit import Fault, on_route  # noqa: E402 - after the path fix-up
from scim_doctor.demo.scim_app import Handler, Request, Response  # noqa: E402
from scim_doctor.demo.server import DemoServer  # noqa: E402

TOKEN_ENV = "BENCH_SCIM_TOKEN"


def delayed(milliseconds: float) -> Fault | None:
    """Every HTTP answer `milliseconds` late, as over a long network path (None for 0)."""
    if milliseconds <= 0:
        return None

    def late(request: Request, call_next: Handler) -> Response:
        time.sleep(milliseconds / 1000)
        return call_next(request)

    return Fault("latency", f"answers {milliseconds:g} ms late", "http", (), middleware=late)


MIB = 1024 * 1024
HOSTILE_SIZE = 200 * MIB


def _huge() -> Iterator[bytes]:
    """200 MiB of a ListResponse, chunked (no length announced): a runaway /Users."""
    yield b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"Resources":['
    block = b'{"userName":"u","id":"1"},' * (MIB // 26)
    for _ in range(HOSTILE_SIZE // len(block)):
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


def hostile(kind: str | None) -> Fault | None:
    """GET /Users answering a 200 MiB body (`huge`) or a gzip bomb (`bomb`); None for none."""
    if kind is None:
        return None
    headers = [("Content-Type", "application/scim+json")]
    if kind == "bomb":
        headers.append(("Content-Encoding", "gzip"))
    chunks = _bomb if kind == "bomb" else _huge

    def answer(request: Request, call_next: Handler) -> Response:
        return Response(200, tuple(headers), chunks=chunks)

    return Fault(f"users_{kind}", f"GET /Users answers a {kind} body", "http", (),
                 middleware=on_route("GET", "/Users", answer))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hostname", default=None, help="the certificate's name (may be *.x)")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="delay of each HTTP answer")
    parser.add_argument(
        "--hostile", choices=("huge", "bomb"), default=None, help="what GET /Users answers"
    )
    args = parser.parse_args()
    token = os.environ.get(TOKEN_ENV)
    if not token:
        raise SystemExit(f"set {TOKEN_ENV} to the token the server should accept")
    extra = {"hostname": args.hostname} if args.hostname else {}
    with (
        tempfile.TemporaryDirectory(prefix="scim-doctor-bench-") as tmp,
        DemoServer(
            token,
            http_listener=True,
            fault=hostile(args.hostile) or delayed(args.delay_ms),
            **extra,
        ) as server,
    ):
        ca = server.write_ca(Path(tmp))
        where = {
            "base_url": server.base_url,
            "resolve_pin": server.resolve_pin,
            "port": server.port,
            "http_port": server.http_port,
            "cacert": str(ca),
        }
        print(json.dumps(where), flush=True)
        sys.stdin.read()  # until the parent closes our stdin


if __name__ == "__main__":
    main()
