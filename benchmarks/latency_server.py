"""The demo SCIM server as a process of its own, for benchmarks run inside `with-latency`.

    BENCH_SCIM_TOKEN=... python benchmarks/latency_server.py

Starts `DemoServer` (HTTPS on 127.0.0.1 plus its plain-HTTP listener), prints one JSON line
saying how to reach it (base URL, --resolve pin, plain-HTTP port, CA file), then serves until
its standard input is closed. The server has to live in the same network namespace as the
client, which only a child process started inside that namespace can; the token comes from the
environment, never the command line (`ps` would show it).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scim_doctor.demo.server import DemoServer  # noqa: E402 - after the path fix-up

TOKEN_ENV = "BENCH_SCIM_TOKEN"


def main() -> None:
    token = os.environ.get(TOKEN_ENV)
    if not token:
        raise SystemExit(f"set {TOKEN_ENV} to the token the server should accept")
    with (
        tempfile.TemporaryDirectory(prefix="scim-doctor-bench-") as tmp,
        DemoServer(token, http_listener=True) as server,
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
