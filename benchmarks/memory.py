"""Memory bounded by design (issue 21): peak RSS of whole `scim-doctor check` processes whose
targets answer hostile bodies, against the same runs on healthy targets, in one run.

    .venv/bin/python benchmarks/memory.py [--runs 3]

- one target whose GET /Users answers 200 MiB (chunked, no length) or a gzip bomb (1 GiB of
  zeros, ~1 MiB on the wire), every check, default --max-body 10M: target < 60 MiB;
- a `--config` fleet of 52 targets at --concurrency 20, every check, two of them hostile as
  above: target < 80 MiB.

Each server is `latency_server.py` in a process of its own (`--hostile huge|bomb`). A child's
peak RSS is read with os.wait4 in a small interpreter started for that purpose (`peak_rss`):
Linux carries the high-water mark of the memory a process had before exec over into the new
program's, so a child started straight from this (larger) process would report at least this
process's own size. Prints the figures and a JSON object; `memory_benchmark()` returns it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOKEN = "bench-memory-token-0123456789abcdef"
SINGLE_TARGET_MIB = 60
FLEET_TARGET_MIB = 80
FLEET_TARGETS = 52
FLEET_CONCURRENCY = 20

_MEASURE = """
import json, os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
stderr = child.stderr.read().decode(errors="replace")
_, status, usage = os.wait4(child.pid, 0)
print(json.dumps({"wall_s": round(time.perf_counter() - started, 3),
                  "peak_rss_kib": usage.ru_maxrss, "exit_code": os.waitstatus_to_exitcode(status),
                  "stderr": stderr[-600:]}))
"""


def peak_rss(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Wall seconds, peak RSS (KiB, the child's own), exit code and stderr's tail of a command."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *argv],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@contextlib.contextmanager
def server(hostname: str, hostile: str | None = None) -> Iterator[dict[str, Any]]:
    """One demo server (its own process) answering for `hostname` (may be `*.x`); where it is."""
    argv = [sys.executable, str(ROOT / "benchmarks" / "latency_server.py"), "--hostname", hostname]
    if hostile is not None:
        argv += ["--hostile", hostile]
    child = subprocess.Popen(
        argv,
        env={**os.environ, "BENCH_SCIM_TOKEN": TOKEN},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        yield json.loads(child.stdout.readline())
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def _median_peak_mib(argv: list[str], runs: int) -> float:
    env = {**os.environ, "SCIM_TOKEN": TOKEN, "BENCH_SCIM_TOKEN": TOKEN, "GITHUB_ACTIONS": ""}
    peaks = []
    for _ in range(runs):
        measured = peak_rss(argv, env)
        if measured["exit_code"] not in (0, 1):
            raise RuntimeError(f"scim-doctor exited {measured['exit_code']}: {measured['stderr']}")
        peaks.append(measured["peak_rss_kib"] / 1024)
    return round(float(statistics.median(peaks)), 1)


def _check(where: dict[str, Any]) -> list[str]:
    return [
        str(BIN / "scim-doctor"), "check", where["base_url"], "--cacert", where["cacert"],
        "--resolve", where["resolve_pin"], "--format", "json",
    ]  # fmt: skip


def single_target(runs: int) -> dict[str, Any]:
    """Peak RSS of one check against a healthy server, a 200 MiB /Users and a gzip bomb."""
    result: dict[str, Any] = {"target_mib": SINGLE_TARGET_MIB, "runs": runs}
    with contextlib.ExitStack() as stack:
        servers = {
            kind: stack.enter_context(server(f"{kind}.bench.test", hostile))
            for kind, hostile in (("healthy", None), ("huge", "huge"), ("bomb", "bomb"))
        }
        for kind, where in servers.items():
            result[f"{kind}_peak_mib"] = _median_peak_mib(_check(where), runs)
    for kind in ("huge", "bomb"):
        result[f"{kind}_to_healthy"] = round(
            result[f"{kind}_peak_mib"] / result["healthy_peak_mib"], 2
        )
    result["met"] = max(result["huge_peak_mib"], result["bomb_peak_mib"]) < SINGLE_TARGET_MIB
    return result


def _fleet_config(directory: Path, servers: list[dict[str, Any]], hostile: bool) -> Path:
    """52 targets over the two healthy servers; with `hostile`, two of them on the others."""
    (directory / "fleet-ca.pem").write_bytes(
        b"".join(Path(where["cacert"]).read_bytes() for where in servers)
    )
    lines = [
        "[defaults]",
        "timeout = 10",
        'cacert = "fleet-ca.pem"',
        'token_env = "BENCH_SCIM_TOKEN"',
        "",
    ]
    for index in range(FLEET_TARGETS):
        which = {10: 2, 30: 3}.get(index, index % 2) if hostile else index % 2
        host, port = f"t{index:04d}.s{which}.bench.test", servers[which]["port"]
        lines += [
            "[[targets]]", f'name = "t{index:04d}"', f'url = "https://{host}:{port}/scim/v2"',
            f'resolve = ["{host}:{port}:127.0.0.1"]', "",
        ]  # fmt: skip
    path = directory / ("hostile.toml" if hostile else "healthy.toml")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def fleet(runs: int) -> dict[str, Any]:
    """Peak RSS of the 52-target fleet with two hostile targets, and of the same all healthy."""
    kinds = (None, None, "huge", "bomb")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(server(f"*.s{i}.bench.test", k)) for i, k in enumerate(kinds)
        ]
        peaks = {}
        for hostile in (False, True):
            config = _fleet_config(Path(tmp), servers, hostile)
            argv = [
                str(BIN / "scim-doctor"), "check", "--config", str(config),
                "--concurrency", str(FLEET_CONCURRENCY), "--quiet",
            ]  # fmt: skip
            peaks[hostile] = _median_peak_mib(argv, runs)
    return {
        "targets": FLEET_TARGETS,
        "concurrency": FLEET_CONCURRENCY,
        "hostile_targets": 2,
        "runs": runs,
        "hostile_peak_mib": peaks[True],
        "healthy_peak_mib": peaks[False],
        "hostile_to_healthy": round(peaks[True] / peaks[False], 2),
        "target_mib": FLEET_TARGET_MIB,
        "met": peaks[True] < FLEET_TARGET_MIB,
    }


def memory_benchmark(runs: int = 3) -> dict[str, Any]:
    """The figures for benchmarks/results.json."""
    return {"single_target": single_target(runs), "fleet": fleet(runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per median")
    args = parser.parse_args()
    result = memory_benchmark(max(1, args.runs))
    one, many = result["single_target"], result["fleet"]
    met = {True: "met", False: "MISSED"}
    print(
        f"one target: 200 MiB /Users {one['huge_peak_mib']} MiB, gzip bomb {one['bomb_peak_mib']}"
        f" MiB, healthy {one['healthy_peak_mib']} MiB; < {SINGLE_TARGET_MIB} MiB: "
        f"{met[one['met']]}"
    )
    print(
        f"fleet of {FLEET_TARGETS} at concurrency {FLEET_CONCURRENCY}, two hostile: "
        f"{many['hostile_peak_mib']} MiB (all healthy {many['healthy_peak_mib']} MiB); "
        f"< {FLEET_TARGET_MIB} MiB: {met[many['met']]}"
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
