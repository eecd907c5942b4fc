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
TARGET_RATIO = 1.0
"""The doctor's users/s over the naive client's (issue 21)."""
CEILING_RATIO = 2.0
"""The bare-socket ceiling over the naive client: below it the server, not the client, is
measured."""


class _Prerendered:
    """The demo server's answers, with every page of the sweep rendered once, before the clock
    starts, and served from memory: the server must not be what is measured."""

    def __init__(self, server: Any, users: int, page_size: int) -> None:
        from scim_doctor.demo.scim_wire import BASE_PATH, Request, Response

        self._dispatch = server._dispatch
        self._pages: dict[tuple[str, str], Any] = {}
        auth = (("authorization", f"Bearer {TOKEN}"),)
        for start in range(1, users + 1, page_size):
            key = (str(start), str(page_size))
            target = f"{BASE_PATH}/Users?startIndex={start}&count={page_size}"
            answer = self._dispatch(Request("GET", target, auth))
            body = answer.body if answer.chunks is None else b"".join(answer.chunks())
            self._pages[key] = Response(answer.status, answer.headers, body)
        server._dispatch = self

    def __call__(self, request: Any) -> Any:
        if request.method == "GET" and request.path.endswith("/Users"):
            query = request.query
            page = self._pages.get((query.get("startIndex"), query.get("count")))
            if page is not None:
                return page
        return self._dispatch(request)

    def targets(self) -> list[str]:
        return [f"startIndex={start}&count={count}" for start, count in self._pages]


def serve(users: int, max_results: int) -> None:
    """Child mode: run the demo server, its pages pre-rendered, until stdin closes; print
    where it listens."""
    from scim_doctor.demo.server import DemoServer

    with (
        tempfile.TemporaryDirectory() as tmp,
        DemoServer(TOKEN, users=users, max_results=max_results) as server,
    ):
        _Prerendered(server, users, min(max_results, users))
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


def ceiling(url: str, ca: str, users: int, page_size: int) -> None:
    """Child mode: the fastest any client could read the same pages here: bare TLS sockets
    (as many as the naive client's workers, one thread each) sending each GET and reading its
    Content-Length of bytes, nothing parsed. Prints its figures as one JSON line."""
    import socket
    import ssl
    import threading
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 443
    context = ssl.create_default_context(cafile=ca)
    starts = iter(range(1, users + 1, page_size))
    lock = threading.Lock()
    seen = [0, 0]

    def worker() -> None:
        with (
            socket.create_connection((host, port)) as raw,
            context.wrap_socket(raw, server_hostname=host) as conn,
        ):
            buffer = b""
            while True:
                with lock:
                    start = next(starts, None)
                if start is None:
                    return
                conn.sendall(
                    f"GET {parts.path}/Users?startIndex={start}&count={page_size} HTTP/1.1\r\n"
                    f"Host: {host}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
                )
                while b"\r\n\r\n" not in buffer:
                    buffer += conn.recv(1 << 16)
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                received = len(buffer)
                while received < length:
                    received += len(conn.recv(1 << 18))
                buffer = b""  # one request at a time: nothing follows the body
                with lock:
                    seen[0] += min(page_size, users - start + 1)
                    seen[1] += length

    started, cpu = time.perf_counter(), time.process_time()
    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    figures = {"users": seen[0], "bytes": seen[1], "seconds": time.perf_counter() - started}
    print(json.dumps({**figures, "cpu_seconds": time.process_time() - cpu}))


def _child(argv: list[str]) -> tuple[bytes, float, Any, int]:
    """Run `argv`; its stdout, wall time, rusage and exit code."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, env={**os.environ, "SCIM_TOKEN": TOKEN})
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        return out.read(), wall, usage, os.waitstatus_to_exitcode(status)


def _doctor(where: dict[str, Any]) -> dict[str, Any]:
    """One run of the real command: the sweep's facts, the process's peak RSS and CPU."""
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
        "validations": deep["validations"],
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "sweep_s": deep["seconds"],
        "users_per_s": deep["users_per_second"],
        "sweep_cpu_s": cpu,
        "users_per_cpu_s": round(deep["users_seen"] / cpu) if cpu else None,
        "peak_page_bytes": deep["peak_page_bytes"],
        "process_wall_s": round(wall, 2),
        "process_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "exit_code": exit_code,
    }


def _client(mode: str, where: dict[str, Any], users: int, page: int) -> dict[str, Any]:
    """One run of the naive client or the ceiling reader (`mode`), in its own process."""
    url = f"https://127.0.0.1:{where['port']}/scim/v2"  # the demo certificate covers it
    argv = [sys.executable, __file__, mode, url, where["ca"], str(users), str(page)]
    output, _, usage, _ = _child(argv)
    plain = json.loads(output)
    return {
        "users": plain["users"],
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "users_per_s": round(plain["users"] / plain["seconds"]),
        "users_per_cpu_s": round(plain["users"] / plain["cpu_seconds"]),
    }


def measure(users: int, max_results: int, runs: int = 3) -> dict[str, Any]:
    """One layout, `runs` times over, the three clients taking turns (a machine slowing down
    slows all three): the doctor's figures, the naive client's, the ceiling's; the median run
    of each."""
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(users), str(max_results)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    page = min(max_results, users)
    doctors, naives, ceilings = [], [], []
    try:
        assert server.stdout is not None
        where = json.loads(server.stdout.readline())
        for _ in range(runs):
            doctors.append(_doctor(where))
            naives.append(_client("--naive", where, users, page))
            ceilings.append(_client("--ceiling", where, users, page))
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)

    def median(rows: list[dict[str, Any]]) -> dict[str, Any]:
        return sorted(rows, key=lambda row: row["users_per_s"] or 0)[len(rows) // 2]

    doctor, plain, ceiling_ = median(doctors), median(naives), median(ceilings)
    return {
        **doctor,
        "peak_rss_mib": max(row["peak_rss_mib"] for row in doctors),
        "runs": runs,
        "baseline": {"what": "httpx + json.loads per page, no validation", **plain},
        "ceiling": {"what": "bare TLS sockets reading the same pages, nothing parsed", **ceiling_},
        "ratio": round(doctor["users_per_s"] / plain["users_per_s"], 2),
        "ceiling_ratio": round(ceiling_["users_per_s"] / plain["users_per_s"], 2),
        "cpu_ratio_to_baseline": round(plain["users_per_cpu_s"] / doctor["users_per_cpu_s"], 2),
    }


def deep_benchmark(users: int = 100_000, page_size: int = 1000, runs: int = 3) -> dict[str, Any]:
    """The issue's row (pages of `page_size`), and the same users as one page (memory)."""
    paged = measure(users, page_size, runs)
    single = measure(users, users, 1)
    worst = max(single["peak_rss_mib"], paged["peak_rss_mib"])
    return {
        "pages": paged,
        "single_page": single,
        "ratio": paged["ratio"],
        "target_ratio": TARGET_RATIO,
        "ratio_ok": paged["ratio"] >= TARGET_RATIO,
        "ceiling_ok": paged["ceiling_ratio"] >= CEILING_RATIO,
        "target_peak_rss_mib": TARGET_RSS_MIB,
        "peak_rss_ok": worst < TARGET_RSS_MIB,
    }


def summary(result: dict[str, Any]) -> list[str]:
    """The benchmark's lines of text (run.py prints them too)."""
    lines = []
    for name in ("pages", "single_page"):
        row = result[name]
        base, top = row["baseline"], row["ceiling"]
        lines.append(
            f"deep {name}: {row['users']:,} users in {row['pages']:,} page(s) of "
            f"{row['page_size']:,}, every one validated; problems: {row['problems'] or 'none'}; "
            f"peak RSS {row['peak_rss_mib']} MiB"
        )
        lines.append(
            f"  doctor {row['users_per_s']:,} users/s, naive httpx + json.loads "
            f"{base['users_per_s']:,} users/s, ceiling (bare sockets) {top['users_per_s']:,} "
            f"users/s: doctor {row['ratio']}x naive (ceiling {row['ceiling_ratio']}x naive); "
            f"CPU per user {row['cpu_ratio_to_baseline']}x naive's"
        )
    lines.append(
        f"deep: {result['ratio']}x the naive client (target >= {result['target_ratio']}x, "
        f"ceiling >= {CEILING_RATIO}x naive: {result['ceiling_ok']}); peak RSS under "
        f"{TARGET_RSS_MIB} MiB: {result['peak_rss_ok']}"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="Also write the result here.")
    parser.add_argument("--serve", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--naive", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--ceiling", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return
    for mode, run in (("naive", naive), ("ceiling", ceiling)):
        if getattr(args, mode):
            url, ca, users, page = getattr(args, mode)
            run(url, ca, int(users), int(page))
            return
    result = deep_benchmark(args.users, args.page_size, args.runs)
    print("\n".join(summary(result)))
    text = json.dumps({"deep": result}, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
