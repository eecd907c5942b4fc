"""Fleet mode: 200 targets at concurrency 50 against the same 200 targets one by one.

    .venv/bin/python benchmarks/fleet.py [--targets 200] [--concurrency 50] [--full]

Both runs are the real command (`python -m scim_doctor check --config ...`) in a child process,
against the same four demo servers running in this process; each target has its own name,
pinned to a server with `resolve`. Wall time is measured around the child, peak RSS is the
child's own (os.wait4), so the figures compare the client alone. By default only the
transport checks run (url, dns, connect, tls) so the one-by-one baseline stays short; --full
runs every check. On loopback nothing waits for the network, so both runs are bound by CPU
(client and demo servers share this machine); --latency-ms N delays every HTTP answer by N ms,
as a distant endpoint would, which is what running targets concurrently is for. Prints the
ratios and a JSON object (`fleet_benchmark()` returns it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scim_doctor.demo.fault_kit import Fault
from scim_doctor.demo.scim_app import Handler, Request, Response

TOKEN = "bench-fleet-token-0123456789abcdef"
SERVERS = 4


def _write_config(directory: Path, ports: list[int], targets: int, full: bool) -> Path:
    lines = [
        "[defaults]",
        "timeout = 10",
        'cacert = "fleet-ca.pem"',
        'token_env = "BENCH_SCIM_TOKEN"',
        "" if full else 'only = ["url", "dns", "connect", "tls"]',
        "",
    ]
    for index in range(targets):
        server = index % len(ports)
        host = f"t{index:04d}.s{server}.bench.test"
        lines += [
            "[[targets]]",
            f'name = "t{index:04d}"',
            f'url = "https://{host}:{ports[server]}/scim/v2"',
            f'resolve = ["{host}:{ports[server]}:127.0.0.1"]',
            "",
        ]
    path = directory / "scim-doctor.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _measure(config: Path, concurrency: int) -> dict[str, float | int]:
    """Wall seconds, peak RSS (KiB) and exit code of one `check --config` child process."""
    argv = [
        sys.executable,
        "-m",
        "scim_doctor",
        "check",
        "--config",
        str(config),
        "--concurrency",
        str(concurrency),
        "--quiet",
    ]
    env = {**os.environ, "BENCH_SCIM_TOKEN": TOKEN, "GITHUB_ACTIONS": ""}
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read().decode() if child.stderr else ""
    if child.stderr:
        child.stderr.close()
    if child.returncode not in (0, 1):
        raise RuntimeError(f"scim-doctor exited {child.returncode}: {stderr.strip()}")
    return {
        "wall_s": round(elapsed, 3),
        "peak_rss_kib": int(usage.ru_maxrss),
        "exit_code": child.returncode,
    }


def _slow(latency_ms: float) -> Fault | None:
    """Every HTTP answer `latency_ms` late, as over a long network path (None for 0)."""
    if latency_ms <= 0:
        return None

    def delayed(request: Request, call_next: Handler) -> Response:
        time.sleep(latency_ms / 1000)
        return call_next(request)

    return Fault("latency", f"answers {latency_ms:g} ms late", "http", (), middleware=delayed)


def fleet_benchmark(
    targets: int = 200, concurrency: int = 50, full: bool = False, latency_ms: float = 0.0
) -> dict[str, Any]:
    from scim_doctor.demo.server import DemoServer

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        directory = Path(tmp)
        servers = [
            stack.enter_context(
                DemoServer(TOKEN, fault=_slow(latency_ms), hostname=f"*.s{i}.bench.test")
            )
            for i in range(SERVERS)
        ]
        (directory / "fleet-ca.pem").write_bytes(b"".join(s.ca_pem for s in servers))
        config = _write_config(directory, [s.port for s in servers], targets, full)
        _measure(config, concurrency)  # warm-up: imports and the page cache
        together = _measure(config, concurrency)
        one_by_one = _measure(config, 1)
    return {
        "targets": targets,
        "concurrency": concurrency,
        "checks": "all" if full else "url,dns,connect,tls",
        "latency_ms": latency_ms,
        "concurrent": together,
        "one_by_one": one_by_one,
        "speedup": round(one_by_one["wall_s"] / together["wall_s"], 2),
        "rss_ratio": round(together["peak_rss_kib"] / one_by_one["peak_rss_kib"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--full", action="store_true", help="run every check, not only transport")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay of each HTTP answer")
    args = parser.parse_args()
    result = fleet_benchmark(args.targets, args.concurrency, args.full, args.latency_ms)
    together, alone = result["concurrent"], result["one_by_one"]
    print(
        f"{args.targets} targets ({result['checks']}): concurrency {args.concurrency} "
        f"{together['wall_s']:.2f} s, {together['peak_rss_kib'] / 1024:.0f} MiB peak; "
        f"one by one {alone['wall_s']:.2f} s, {alone['peak_rss_kib'] / 1024:.0f} MiB peak"
    )
    print(f"speed-up {result['speedup']}x; peak RSS ratio {result['rss_ratio']}x")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
