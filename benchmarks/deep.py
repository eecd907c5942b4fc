"""`--deep` on a large directory: throughput and peak memory of the doctor process alone.

    .venv/bin/python benchmarks/deep.py [--users 100000] [--page-size 100] [--json PATH]

The demo server runs in its own process (so its CPU and its page bodies are not the client's)
with `--users` users, once serving them as a single page (maxResults = users) and once as pages
of `--page-size`. Each time the real command (`scim-doctor check --deep --only users`) runs as
a child process; its peak RSS comes from os.wait4, its throughput from the sweep's own facts:
users/s over the wall time of the sweep (the server's time included) and users per CPU-second
of the doctor (what the client alone can do, whatever the server). The baseline, measured the
same way at the same moment, is the naive client: httpx fetching the same pages (as many at
once) and `json.loads` on each body, no validation, no checks. Targets (the lead's acceptance):
peak RSS under 60 MiB in both layouts; 60,000 users/s on loopback.
Prints a table and a JSON object for benchmarks/results.json (`--json` writes it to a file).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOKEN = "bench-deep-token-0123456789abcdef"
TARGET_RSS_MIB = 60


def serve(users: int, max_results: int) -> None:
    """Child mode: run the demo server until stdin closes; print where it listens."""
    from scim_doctor.demo.server import DemoServer

    with (
        tempfile.TemporaryDirectory() as tmp,
        DemoServer(TOKEN, users=users, max_results=max_results) as server,
    ):
        ca = server.write_ca(Path(tmp))
        line = {
            "url": server.base_url,
            "pin": server.resolve_pin,
            "ca": str(ca),
            "port": server.port,
        }
        print(json.dumps(line), flush=True)
        sys.stdin.read()


def naive(url: str, ca: str, users: int, page_size: int) -> None:
    """Child mode: the baseline client; prints its figures as one JSON line."""
    import asyncio
    import ssl

    import httpx

    async def run() -> dict[str, Any]:
        context = ssl.create_default_context(cafile=ca)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        starts = iter(range(1, users + 1, page_size))
        seen = 0
        async with httpx.AsyncClient(verify=context, headers=headers, timeout=300) as client:

            async def worker() -> None:
                nonlocal seen
                for start in starts:
                    query = {"startIndex": start, "count": page_size}
                    response = await client.get(f"{url}/Users", params=query)
                    seen += len(json.loads(response.content)["Resources"])

            started, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(worker() for _ in range(6)))
            return {
                "users": seen,
                "seconds": time.perf_counter() - started,
                "cpu_seconds": time.process_time() - cpu,
            }

    print(json.dumps(asyncio.run(run())))


def _child(argv: list[str]) -> tuple[bytes, float, Any, int]:
    """Run `argv`; its stdout, wall time, rusage and exit code."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, env={**os.environ, "SCIM_TOKEN": TOKEN})
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        return out.read(), wall, usage, os.waitstatus_to_exitcode(status)


def measure(users: int, max_results: int) -> dict[str, Any]:
    """One layout: the doctor's peak RSS and the sweep's figures, and the baseline's."""
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(users), str(max_results)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert server.stdout is not None
        where = json.loads(server.stdout.readline())
        argv = [
            str(BIN / "scim-doctor"),
            "check",
            where["url"],
            "--cacert",
            where["ca"],
            "--resolve",
            where["pin"],
            "--deep",
            "--only",
            "users",
            "--timeout",
            "60",
            "--deadline",
            "900",
            "--format",
            "json",
        ]
        output, wall, usage, exit_code = _child(argv)
        report = json.loads(output)
        url = f"https://127.0.0.1:{where['port']}/scim/v2"  # the demo certificate covers it
        page = min(max_results, users)
        naive_argv = [sys.executable, __file__, "--naive", url, where["ca"], str(users), str(page)]
        naive_out, _, naive_usage, _ = _child(naive_argv)
        plain = json.loads(naive_out)
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)
    [users_check] = [check for check in report["checks"] if check["id"] == "users"]
    deep = users_check["facts"]["deep"]
    problems = [f["code"] for f in users_check["findings"] if f["severity"] != "info"]
    cpu = deep["cpu_seconds"]
    return {
        "users": deep["users_seen"],
        "pages": deep["pages"],
        "page_size": deep["page_size"],
        "complete": deep["complete"],
        "problems": problems,
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "sweep_s": deep["seconds"],
        "users_per_s": deep["users_per_second"],
        "sweep_cpu_s": cpu,
        "users_per_cpu_s": round(deep["users_seen"] / cpu) if cpu else None,
        "peak_page_bytes": deep["peak_page_bytes"],
        "process_wall_s": round(wall, 2),
        "process_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "exit_code": exit_code,
        "baseline": {
            "what": "httpx + json.loads per page, no validation",
            "users": plain["users"],
            "peak_rss_mib": round(naive_usage.ru_maxrss / 1024, 1),
            "users_per_s": round(plain["users"] / plain["seconds"]),
            "users_per_cpu_s": round(plain["users"] / plain["cpu_seconds"]),
        },
        "cpu_ratio_to_baseline": round(plain["users"] / plain["cpu_seconds"] * cpu / users, 2)
        if cpu
        else None,
    }


def deep_benchmark(users: int = 100_000, page_size: int = 100) -> dict[str, Any]:
    single = measure(users, users)
    paged = measure(users, page_size)
    worst = max(single["peak_rss_mib"], paged["peak_rss_mib"])
    return {
        "single_page": single,
        "pages": paged,
        "target_peak_rss_mib": TARGET_RSS_MIB,
        "peak_rss_ok": worst < TARGET_RSS_MIB,
        "target_users_per_s": 60_000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--json", type=Path, default=None, help="Also write the result here.")
    parser.add_argument("--serve", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--naive", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return
    if args.naive:
        url, ca, users, page = args.naive
        naive(url, ca, int(users), int(page))
        return
    result = deep_benchmark(args.users, args.page_size)
    for name in ("single_page", "pages"):
        row = result[name]
        print(
            f"{name:>11}: {row['users']:,} users in {row['pages']:,} page(s) of "
            f"{row['page_size']:,}; peak RSS {row['peak_rss_mib']} MiB; "
            f"{row['users_per_s']:,} users/s (wall), {row['users_per_cpu_s']:,} users/CPU-s "
            f"(doctor alone); problems: {row['problems'] or 'none'}"
        )
        base = row["baseline"]
        print(
            f"{'baseline':>11}: peak RSS {base['peak_rss_mib']} MiB; {base['users_per_s']:,} "
            f"users/s (wall), {base['users_per_cpu_s']:,} users/CPU-s; the doctor spends "
            f"{row['cpu_ratio_to_baseline']}x the baseline's CPU per user"
        )
    print(f"peak RSS under {TARGET_RSS_MIB} MiB: {result['peak_rss_ok']}")
    text = json.dumps({"deep": result}, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
