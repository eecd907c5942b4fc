"""Round trips: a full check of the demo server over a link with 100 ms round trips.

    .venv/bin/python benchmarks/latency.py [--one-way-ms 50] [--runs 5]

On loopback nothing waits for the network, so the other benchmarks measure CPU. An identity
provider's SCIM endpoint is far away: what matters there is how many round trips the check
waits for one after another. This benchmark runs the demo server and the real command inside
`/work/shared/tools/with-latency MS`, a private network namespace whose loopback holds every
packet MS milliseconds (a round trip costs 2 x MS), and expresses the check's wall time in
round trips (RTT).

Baseline, measured in the same namespace at the same moment: the very HTTP requests the check
made (taken from its own JSON report), sent one after another on one keep-alive connection per
origin with httpx; what a client that does not overlap anything would take. The same two
measurements on the host's loopback (no added delay) show what is CPU rather than network, so
the difference divided by the RTT is the check's critical path in round trips.

Same work: every run, delayed or not, must make the same checks with the same statuses and send
the same number of requests to each (`work`); otherwise `same_work_as_loopback` is false and the
target counts as not met, so it cannot be met by doing less over a slow link.

Target (issue 7): the whole check within 4 RTT + 0.25 s. Prints the figures and a JSON object;
`latency_benchmark()` returns it for benchmarks/results.json. Needs root (with-latency makes a
network namespace and installs what it needs on first use); otherwise the result says why it
was skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import ssl
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# shared/ sits beside the checkout (the developers' machines and CI alike).
WITH_LATENCY = Path(
    os.environ.get(
        "WITH_LATENCY",
        Path(__file__).resolve().parents[2] / "shared" / "tools" / "with-latency",
    )
)
SERVER = ROOT / "benchmarks" / "latency_server.py"
TOKEN_ENV = "BENCH_SCIM_TOKEN"
TARGET_RTT = 4
TARGET_EXTRA_S = 0.25


def _median_wall(argv: list[str], runs: int, env: dict[str, str]) -> tuple[float, list[Any]]:
    """Median wall time of a command after one warm-up run, and the JSON each run printed."""
    outputs: list[Any] = []
    samples: list[float] = []
    for index in range(runs + 1):
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
        elapsed = time.perf_counter() - started
        if index == 0:
            continue
        samples.append(elapsed)
        if done.stdout.startswith("{"):
            outputs.append(json.loads(done.stdout))
    return statistics.median(samples), outputs


def _start_server(token: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    server = subprocess.Popen(
        [sys.executable, str(SERVER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, TOKEN_ENV: token},
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line:
        server.kill()
        server.wait()
        raise RuntimeError("the demo server did not start (see its stderr above)")
    return server, json.loads(line)


def _stop_server(server: subprocess.Popen[str]) -> None:
    stdin: IO[str] | None = server.stdin
    if stdin is not None:
        stdin.close()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    if server.stdout is not None:
        server.stdout.close()


def _replay(report: Any, where: dict[str, Any], token: str) -> tuple[float, int, int]:
    """Send the check's own requests one after another; (seconds, requests, connections).

    One keep-alive client per origin (the https port and the plain-HTTP listener), so each
    origin pays its TCP (and TLS) handshake once; URLs go to the pinned address with the
    original Host header, as the check's --resolve does. Requests the check never sent (refused
    before sending) are left out.
    """
    address = where["resolve_pin"].rsplit(":", 1)[1]
    context = ssl.create_default_context(cafile=where["cacert"])
    context.check_hostname = False  # the name is checked by the real check, not the baseline
    exchanges = [
        exchange
        for check in report["checks"]
        for exchange in check["exchanges"]
        if exchange["status"] is not None
    ]
    clients: dict[str, httpx.Client] = {}
    started = time.perf_counter()
    try:
        for exchange in exchanges:
            url = httpx.URL(exchange["url"])
            origin = f"{url.scheme}:{url.port}"
            if origin not in clients:
                clients[origin] = httpx.Client(verify=context, trust_env=False, timeout=30)
            headers = {"Host": url.netloc.decode("ascii")}
            for name, value in exchange["request_headers"]:
                if name.lower() in ("host", "content-length", "connection"):
                    continue
                headers[name] = f"Bearer {token}" if "[REDACTED]" in value else value
            body = b"{}" if exchange["method"] in ("POST", "PUT", "PATCH") else None
            clients[origin].request(
                exchange["method"], url.copy_with(host=address), headers=headers, content=body
            )
    finally:
        for client in clients.values():
            client.close()
    return time.perf_counter() - started, len(exchanges), len(clients)


def measure(runs: int) -> dict[str, Any]:
    """Both measurements on this network (loopback, or the namespace's delayed loopback)."""
    token = "bench-latency-" + secrets.token_hex(12)
    server, where = _start_server(token)
    try:
        env = {**os.environ, "SCIM_TOKEN": token}
        startup_s, _ = _median_wall([str(BIN / "scim-doctor"), "--version"], runs, env)
        check = [
            str(BIN / "scim-doctor"),
            "check",
            where["base_url"],
            "--cacert",
            where["cacert"],
            "--resolve",
            where["resolve_pin"],
            "--http-port",
            str(where["http_port"]),
            "--format",
            "json",
        ]
        doctor_s, reports = _median_wall(check, runs, env)
        if not reports:
            raise RuntimeError("the check printed no JSON report")
        run_s = statistics.median(report["duration_ms"] for report in reports) / 1000
        statuses = sorted({c["status"] for r in reports for c in r["checks"]})
        per_check = {
            check["id"]: {
                "ms": round(statistics.median(r["checks"][i]["duration_ms"] for r in reports), 1),
                "requests": len(check["exchanges"]),
            }
            for i, check in enumerate(reports[0]["checks"])
            if check["status"] != "skip"
        }
        work = [_work(report) for report in reports]
        replays = [_replay(reports[0], where, token) for _ in range(runs)]
        sequential_s = statistics.median(seconds for seconds, _, _ in replays)
        _, requests, connections = replays[0]
    finally:
        _stop_server(server)
    return {
        "startup_s": round(startup_s, 4),
        "doctor_wall_s": round(doctor_s, 4),
        "doctor_run_s": round(run_s, 4),
        "check_statuses": statuses,
        "checks": per_check,
        "requests": requests,
        "origins": connections,
        "sequential_s": round(sequential_s, 4),
        "work": work[0],
        "work_varied": any(w != work[0] for w in work),
    }


def _work(report: Any) -> list[list[Any]]:
    """What one run did, check by check: [id, status, requests sent]. A run over a slow link
    must do the same as one on loopback, or its speed would come from doing less."""
    return [
        [
            check["id"],
            check["status"],
            sum(1 for exchange in check["exchanges"] if exchange["status"] is not None),
        ]
        for check in report["checks"]
    ]


def _unavailable() -> str | None:
    if sys.platform != "linux":
        return "with-latency needs Linux network namespaces"
    if os.geteuid() != 0:
        return "with-latency needs root (ip netns, iptables NFQUEUE)"
    if not WITH_LATENCY.is_file() or not os.access(WITH_LATENCY, os.X_OK):
        return f"{WITH_LATENCY} is missing or not executable"
    for tool in ("ip", "bash"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    return None


def _inside(one_way_ms: float, runs: int) -> dict[str, Any]:
    argv = [str(WITH_LATENCY), f"{one_way_ms:g}", "--", sys.executable, __file__, "--measure"]
    done = subprocess.run(
        [*argv, "--runs", str(runs)], capture_output=True, text=True, timeout=900, check=False
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].startswith("{"):
        raise RuntimeError(
            f"with-latency failed (exit {done.returncode}): {done.stderr.strip()[-800:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def latency_benchmark(one_way_ms: float = 50.0, runs: int = 5) -> dict[str, Any]:
    """The figures for benchmarks/results.json (`{"skipped": why}` when it cannot run here)."""
    reason = _unavailable()
    if reason is not None:
        return {"skipped": reason}
    rtt = 2 * one_way_ms / 1000
    loopback = measure(runs)
    try:
        delayed = _inside(one_way_ms, runs)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return {"skipped": str(exc), "loopback": loopback}

    def in_rtt(seconds: float) -> float:
        return round(seconds / rtt, 1)

    target_s = TARGET_RTT * rtt + TARGET_EXTRA_S
    network_s = delayed["doctor_run_s"] - loopback["doctor_run_s"]
    # The same checks with the same results and the same number of requests as without the
    # added latency, in every run: a target met by doing less does not count.
    same_work = (
        delayed["work"] == loopback["work"]
        and not delayed["work_varied"]
        and not loopback["work_varied"]
    )
    return {
        "one_way_delay_ms": one_way_ms,
        "rtt_ms": round(rtt * 1000, 1),
        "runs": runs,
        "requests": delayed["requests"],
        "doctor_wall_s": delayed["doctor_wall_s"],
        "doctor_wall_rtt": in_rtt(delayed["doctor_wall_s"]),
        "doctor_run_s": delayed["doctor_run_s"],
        "doctor_run_rtt": in_rtt(delayed["doctor_run_s"]),
        "critical_path_rtt": in_rtt(network_s),
        "sequential_s": delayed["sequential_s"],
        "sequential_rtt": in_rtt(delayed["sequential_s"]),
        "sequential_round_trips_expected": delayed["requests"] + 2 * delayed["origins"],
        "ratio_run_to_sequential": round(delayed["doctor_run_s"] / delayed["sequential_s"], 2),
        "ratio_wall_to_sequential": round(delayed["doctor_wall_s"] / delayed["sequential_s"], 2),
        "startup_s": delayed["startup_s"],
        "target_s": round(target_s, 3),
        "target": f"{TARGET_RTT} RTT + {TARGET_EXTRA_S:g} s",
        "meets_target": delayed["doctor_wall_s"] <= target_s and same_work,
        "same_work_as_loopback": same_work,
        "work": delayed["work"],
        **({} if same_work else {"loopback_work": loopback["work"]}),
        "check_statuses": delayed["check_statuses"],
        "checks_rtt": {
            check_id: {"rtt": in_rtt(c["ms"] / 1000), "requests": c["requests"]}
            for check_id, c in delayed["checks"].items()
        },
        "loopback": loopback,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one-way-ms", type=float, default=50.0, help="delay of each packet")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each measurement")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # inside the namespace: one JSON line for the caller
        print(json.dumps(measure(args.runs)))
        return
    result = latency_benchmark(args.one_way_ms, args.runs)
    if "skipped" in result:
        print(f"latency: skipped: {result['skipped']}")
    else:
        print(
            f"latency ({result['rtt_ms']:g} ms RTT): full check {result['doctor_wall_s']} s wall"
            f" = {result['doctor_wall_rtt']} RTT (run alone {result['doctor_run_rtt']} RTT,"
            f" critical path {result['critical_path_rtt']} RTT); the same"
            f" {result['requests']} requests one after another {result['sequential_s']} s ="
            f" {result['sequential_rtt']} RTT; ratio {result['ratio_wall_to_sequential']}x"
            f" (run alone {result['ratio_run_to_sequential']}x); target {result['target']}"
            f" = {result['target_s']} s: {'met' if result['meets_target'] else 'NOT met'}"
        )
        if not result["same_work_as_loopback"]:
            print(
                "latency: the delayed runs did not make the same checks and requests as the"
                " loopback runs (see work / loopback_work): the figures do not count"
            )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
