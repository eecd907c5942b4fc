"""Fleet mode: N targets at concurrency C against one target alone and against all one by one.

    .venv/bin/python benchmarks/fleet.py [--targets 200] [--concurrency 50] [--full]
                                         [--latency-ms N | --rtt-ms N] [--runs 5]

Every run is the real command (`python -m scim_doctor check --config ...`) in a child process,
against the same four demo servers, each in a process of its own (benchmarks/latency_server.py),
as distinct endpoints would be; each target has its own name, pinned to a server with
`resolve`. Wall time is measured around
the child, peak RSS is the child's own (os.wait4).

The target (issue #6): the fleet within 1.1 x ceil(N / C) x the single-target time, where the
single-target time is the same command with a config holding one of the targets (start-up
included, as a user running one check pays it), and under 60 MiB peak at concurrency 50. The
fleet and the single target are each the median of `--runs` runs; the one-by-one run (the
same N targets at concurrency 1) is measured once, as a reference.

By default only the transport checks run (url, dns, connect, tls) so the one-by-one baseline
stays short; --full runs every check. On loopback nothing waits for the network, so the runs
are bound by CPU (client and demo servers share the machine); --latency-ms N delays every HTTP
answer by N ms, as a distant endpoint would; --rtt-ms N runs it all inside
shared/tools/with-latency (root), where every packet, handshakes included, takes N/2 ms each
way, which is what running targets concurrently is for. Prints the ratios and a JSON object
(`fleet_benchmark()` / `fleet_over_rtt()` return it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: `benchmarks` is a package of the checkout
    sys.path.insert(0, str(ROOT))

from benchmarks.memory import peak_rss  # noqa: E402 - after the path fix-up

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
    measured = peak_rss(argv, env)  # the child's own peak, not this process's size carried over
    if measured["exit_code"] not in (0, 1):
        raise RuntimeError(f"scim-doctor exited {measured['exit_code']}: {measured['stderr']}")
    return {
        "wall_s": measured["wall_s"],
        "peak_rss_kib": int(measured["peak_rss_kib"]),
        "exit_code": measured["exit_code"],
    }


@contextlib.contextmanager
def _server(index: int, latency_ms: float) -> Iterator[tuple[int, bytes]]:
    """One demo server in a process of its own (benchmarks/latency_server.py): its port and
    CA certificate. Stopped by closing its stdin."""
    argv = [
        sys.executable,
        str(Path(__file__).with_name("latency_server.py")),
        "--hostname",
        f"*.s{index}.bench.test",
        "--delay-ms",
        str(latency_ms),
    ]
    env = {**os.environ, "BENCH_SCIM_TOKEN": TOKEN}
    server = subprocess.Popen(
        argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        where = json.loads(server.stdout.readline())
        yield int(where["port"]), Path(where["cacert"]).read_bytes()
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()


def _median_run(config: Path, concurrency: int, runs: int) -> dict[str, float | int]:
    """The run with the median wall time of `runs` (its own peak RSS and exit code with it)."""
    measured = sorted((_measure(config, concurrency) for _ in range(runs)), key=_wall)
    return measured[len(measured) // 2]


def _wall(run: dict[str, float | int]) -> float:
    return float(run["wall_s"])


PEAK_RSS_TARGET_MIB = 60
TIME_TARGET_FACTOR = 1.1


def fleet_benchmark(
    targets: int = 200,
    concurrency: int = 50,
    full: bool = False,
    latency_ms: float = 0.0,
    runs: int = 5,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        directory = Path(tmp)
        servers = [stack.enter_context(_server(i, latency_ms)) for i in range(SERVERS)]
        (directory / "fleet-ca.pem").write_bytes(b"".join(ca for _, ca in servers))
        ports = [port for port, _ in servers]
        config = _write_config(directory, ports, targets, full)
        alone_dir = directory / "one"
        alone_dir.mkdir()
        (alone_dir / "fleet-ca.pem").write_bytes((directory / "fleet-ca.pem").read_bytes())
        one_target = _write_config(alone_dir, ports, 1, full)
        _measure(config, concurrency)  # warm-up: imports and the page cache
        single = _median_run(one_target, 1, runs)
        together = _median_run(config, concurrency, runs)
        one_by_one = _measure(config, 1)
    waves = math.ceil(targets / concurrency)
    time_target_s = round(TIME_TARGET_FACTOR * waves * float(single["wall_s"]), 3)
    peak_mib = int(together["peak_rss_kib"]) / 1024
    return {
        "targets": targets,
        "concurrency": concurrency,
        "checks": "all" if full else "url,dns,connect,tls",
        "latency_ms": latency_ms,
        "runs": runs,
        "single_target": single,
        "concurrent": together,
        "one_by_one": one_by_one,
        "time_target_s": time_target_s,
        "time_ratio_to_target": round(float(together["wall_s"]) / time_target_s, 2),
        "time_target_met": float(together["wall_s"]) <= time_target_s,
        "peak_rss_mib": round(peak_mib, 1),
        "memory_target_met": peak_mib < PEAK_RSS_TARGET_MIB,
        "speedup": round(float(one_by_one["wall_s"]) / float(together["wall_s"]), 2),
        "rss_ratio": round(int(together["peak_rss_kib"]) / int(one_by_one["peak_rss_kib"]), 2),
    }


def fleet_over_rtt(
    rtt_ms: float = 50.0,
    targets: int = 200,
    concurrency: int = 50,
    full: bool = False,
    runs: int = 3,
) -> dict[str, Any]:
    """The same benchmark inside `with-latency` (servers and client in a private namespace
    whose loopback holds every packet rtt/2 ms), where a check waits for the network as it
    does against a real endpoint, which is what running targets concurrently is for. Root
    only: `{"skipped": why}` elsewhere."""
    from benchmarks.latency import WITH_LATENCY, _unavailable

    reason = _unavailable()
    if reason is not None:
        return {"skipped": reason}
    argv = [
        str(WITH_LATENCY), f"{rtt_ms / 2:g}", "--", sys.executable, __file__, "--json",
        "--targets", str(targets), "--concurrency", str(concurrency), "--runs", str(runs),
    ]  # fmt: skip
    if full:
        argv.append("--full")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].startswith("{"):
        return {"skipped": f"with-latency failed (exit {done.returncode}): {done.stderr[-600:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    result["rtt_ms"] = rtt_ms
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--full", action="store_true", help="run every check, not only transport")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay of each HTTP answer")
    parser.add_argument("--runs", type=int, default=5, help="runs per median")
    parser.add_argument(
        "--rtt-ms", type=float, default=0.0, help="run inside with-latency: this round trip (root)"
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    if args.rtt_ms > 0:
        result = fleet_over_rtt(
            args.rtt_ms, args.targets, args.concurrency, args.full, max(1, args.runs)
        )
        if "skipped" in result:
            raise SystemExit(f"skipped: {result['skipped']}")
    else:
        result = fleet_benchmark(
            args.targets, args.concurrency, args.full, args.latency_ms, max(1, args.runs)
        )
    if args.json:
        print(json.dumps(result))
        return
    single, together, alone = result["single_target"], result["concurrent"], result["one_by_one"]
    print(
        f"{args.targets} targets ({result['checks']}): concurrency {args.concurrency} "
        f"{together['wall_s']:.2f} s, {result['peak_rss_mib']:.0f} MiB peak; one target "
        f"{single['wall_s']:.2f} s; one by one {alone['wall_s']:.2f} s"
    )
    met = {True: "met", False: "MISSED"}
    print(
        f"time target {result['time_target_s']:.2f} s ({TIME_TARGET_FACTOR} x "
        f"{math.ceil(args.targets / args.concurrency)} x one target): "
        f"{met[result['time_target_met']]} ({result['time_ratio_to_target']}x); "
        f"peak < {PEAK_RSS_TARGET_MIB} MiB: {met[result['memory_target_met']]}; "
        f"speed-up over one by one {result['speedup']}x"
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
