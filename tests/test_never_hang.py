"""Never hang: a server stuck at any step of the stack ends the run within 2 x --timeout.

One scenario per blocking step, end to end through the real CLI (in-process, `run_cli`): a
resolver that never answers, a full accept backlog (SYNs dropped), a silent TLS port, an HTTPS
server that reads the request and never answers, a body trickling one byte per second, and a
server that sends a body without a length and keeps the connection open. Each one is run twice:
with a short --timeout (the run ends within 2 x --timeout, naming the step that timed out), and
with a --timeout far longer than --deadline (the deadline wins: the run ends just after it).

An IdP gives up on a slow endpoint after seconds; a health check that hangs in CI is worse than
one that fails. Every server here is stopped in a finally, so a failing assertion leaks nothing.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.demo import pki, sockets
from tests.conftest import CliResult, assert_valid_report
from tests.support import netns
from tests.support.backlog import full_backlog_port
from tests.support.scripted_server import Chunk, Raw, Reply, ScriptedServer

TOKEN = "never-hang-token-4c1f8e2a9b7d6053"
HOST = "stuck.scim-doctor.test"
TIMEOUT = 1.0
"""--timeout of the step scenarios; their bound is 2 x this."""
LONG_TIMEOUT = 30.0
DEADLINE = 1.5
"""--deadline of the deadline scenarios, with --timeout LONG_TIMEOUT."""
DEADLINE_SLACK = 0.6
"""What the run may take past --deadline: building and rendering the report, closing sockets."""
LOAD_SLACK = 1.5
"""What a step scenario may take past 2 x --timeout on a loaded two-core CI machine (process
start, imports, rendering while other tests run): a hang would take the whole --deadline or
for ever, far past this."""
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
NO_PROXY_ENV: dict[str, str | None] = {
    **dict.fromkeys(PROXY_VARIABLES),
    **{name.lower(): None for name in PROXY_VARIABLES},
    "SCIM_TOKEN": TOKEN,
}


@dataclass
class RunResult:
    """One CLI run: its result, its report and how long it took."""

    result: CliResult
    report: Any
    seconds: float

    @property
    def codes(self) -> dict[str, str]:
        """Finding code -> id of the check that reported it."""
        return {f["code"]: c["id"] for c in self.report["checks"] for f in c["findings"]}

    def status(self, check_id: str) -> str:
        return next(str(c["status"]) for c in self.report["checks"] if c["id"] == check_id)


def run_against(
    run_cli: Any, validator: Any, port: int, *extra: str, cacert: Path | None = None
) -> RunResult:
    """`scim-doctor check https://HOST:PORT/scim/v2 --resolve HOST:PORT:127.0.0.1 ...`."""
    args = [
        "check",
        f"https://{HOST}:{port}/scim/v2",
        "--resolve",
        f"{HOST}:{port}:127.0.0.1",
        "--http-port",
        str(sockets.closed_port()),
        "--format",
        "json",
        *extra,
    ]
    if cacert is not None:
        args += ["--cacert", str(cacert)]
    started = time.monotonic()
    result = run_cli(*args, env=NO_PROXY_ENV)
    seconds = time.monotonic() - started
    assert "Traceback" not in result.stderr, result.stderr
    report = result.json()
    assert_valid_report(validator, report)
    assert TOKEN not in result.stdout + result.stderr
    return RunResult(result, report, seconds)


def within_timeout(timeout: float = TIMEOUT) -> tuple[str, ...]:
    return ("--timeout", str(timeout))


def under_deadline() -> tuple[str, ...]:
    return ("--timeout", str(LONG_TIMEOUT), "--deadline", str(DEADLINE))


def assert_cut_by_the_deadline(outcome: RunResult, step_code: str) -> None:
    """The run ended just after --deadline, and the stuck step says it timed out or ran out."""
    assert outcome.seconds < DEADLINE + DEADLINE_SLACK, f"took {outcome.seconds:.2f} s"
    assert outcome.result.exit_code == 1
    assert {step_code, "run.deadline_exceeded"} & set(outcome.codes), outcome.codes


# --- servers that get stuck ----------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def imported() -> None:
    """Import what the CLI imports lazily, so the first scenario does not pay for the imports
    (half a second on a busy machine) in the time it measures."""
    for module in ("runs.runner", "net.trust", "net.http", "reporters.json", "checks"):
        importlib.import_module(f"scim_doctor.{module}")


@pytest.fixture(scope="module")
def ca() -> pki.CertificateAuthority:
    return pki.CertificateAuthority("scim-doctor never-hang root")


@pytest.fixture(scope="module")
def cacert(ca: pki.CertificateAuthority, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path: Path = ca.write_root_pem(tmp_path_factory.mktemp("never-hang"))
    return path


@pytest.fixture
def https_server(ca: pki.CertificateAuthority) -> Iterator[ScriptedServer]:
    """A real HTTPS server for HOST; each test scripts how it gets stuck."""
    with ScriptedServer(tls=ca.issue([HOST]).server_context()) as server:
        yield server


@pytest.fixture
def full_backlog() -> Iterator[int]:
    with full_backlog_port() as port:
        yield port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Accepts TCP connections and never sends a byte: the TLS handshake never completes."""
    server = sockets.silent_server()
    try:
        yield server.port
    finally:
        server.stop()


NEVER = 60.0
"""A pause no scenario may wait out (the server's stop() cuts it)."""


def never_answers() -> Raw:
    """Reads the request, then says nothing until the server stops."""
    return Raw([NEVER])


def trickle(seconds_per_byte: float = 1.0) -> Reply:
    """A JSON body of 120 bytes announced by Content-Length, sent one byte per second."""
    body = json.dumps({"schemas": ["x"], "pad": "." * 80}).encode().ljust(120)

    def pieces() -> Iterator[Chunk]:
        for byte in body:
            yield bytes([byte])
            yield seconds_per_byte

    headers = {"Content-Type": "application/scim+json", "Content-Length": str(len(body))}
    return Reply(200, headers, pieces())


def open_after_body() -> Raw:
    """A complete ListResponse with neither Content-Length nor chunking, then the connection
    stays open: an HTTP/1.1 client must read to EOF, which never comes."""
    body = json.dumps(
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0,
            "Resources": [],
        }
    ).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\n\r\n"
    return Raw([head + body, NEVER])


# --- DNS, in a private network namespace ---------------------------------------------------------

DNS_SNIPPET = """
import importlib, json, sys, time
from scim_doctor.cli.app import main
from tests.support.fake_dns import FakeDns

for module in ("runs.runner", "net.trust", "net.http", "reporters.json", "checks"):
    importlib.import_module(f"scim_doctor.{module}")  # not part of what is measured

args, output = json.loads(sys.argv[1]), sys.argv[2]
with FakeDns("silent") as dns:
    started = time.monotonic()
    try:
        main([*args, "--format", "json", "--output", output])
    except SystemExit as exc:
        code = exc.code
    seconds = time.monotonic() - started
    queries = len(dns.queries)
print(json.dumps({"code": code, "seconds": seconds, "queries": queries}))
"""

RESOLVER_WAIT = 10
"""resolv.conf's timeout: the system resolver itself waits this long for the silent server."""


def run_with_silent_resolver(tmp_path: Path, *extra: str) -> tuple[dict[str, Any], Any, float]:
    """Run the CLI in a namespace whose only resolver never answers; (summary, report, wall)."""
    output = tmp_path / "report.json"
    args = ["check", f"https://{HOST}/scim/v2", "--no-token", *extra]
    started = time.monotonic()
    completed = netns.run_python(
        DNS_SNIPPET,
        json.dumps(args),
        str(output),
        resolv_conf=f"nameserver 127.0.0.1\noptions timeout:{RESOLVER_WAIT} attempts:1\n",
        timeout=3 * RESOLVER_WAIT,
    )
    wall = time.monotonic() - started
    summary: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return summary, json.loads(output.read_text(encoding="utf-8")), wall


def dns_codes(report: Any) -> set[str]:
    return {f["code"] for c in report["checks"] for f in c["findings"]}


@pytest.mark.netns
def test_a_resolver_that_never_answers_ends_the_run_within_twice_the_timeout(
    tmp_path: Path, report_validator: Any
) -> None:
    """The lookup runs in a daemon thread: neither the run nor the process waits for glibc,
    which here would wait RESOLVER_WAIT seconds."""
    netns.require()
    summary, report, wall = run_with_silent_resolver(tmp_path, *within_timeout())

    assert summary["seconds"] < 2 * TIMEOUT + LOAD_SLACK
    assert summary["code"] == 1
    assert summary["queries"] >= 1, "the fake resolver was never asked"
    assert_valid_report(report_validator, report)
    assert "dns.timeout" in dns_codes(report)
    assert wall < RESOLVER_WAIT, f"the process outlived the run ({wall:.1f} s)"


@pytest.mark.netns
def test_a_resolver_that_never_answers_is_cut_by_the_deadline(
    tmp_path: Path, report_validator: Any
) -> None:
    netns.require()
    summary, report, wall = run_with_silent_resolver(tmp_path, *under_deadline())

    assert summary["seconds"] < DEADLINE + DEADLINE_SLACK
    assert summary["code"] == 1
    assert_valid_report(report_validator, report)
    assert {"dns.timeout", "run.deadline_exceeded"} & dns_codes(report)
    assert wall < RESOLVER_WAIT


# --- connect: SYNs dropped -----------------------------------------------------------------------


def test_a_port_dropping_syns_ends_the_run_within_twice_the_timeout(
    run_cli: Any, report_validator: Any, full_backlog: int
) -> None:
    outcome = run_against(run_cli, report_validator, full_backlog, *within_timeout())

    assert outcome.seconds < 2 * TIMEOUT + LOAD_SLACK, f"took {outcome.seconds:.2f} s"
    assert outcome.result.exit_code == 1
    assert outcome.codes.get("connect.timeout") == "connect"


def test_a_port_dropping_syns_is_cut_by_the_deadline(
    run_cli: Any, report_validator: Any, full_backlog: int
) -> None:
    outcome = run_against(run_cli, report_validator, full_backlog, *under_deadline())

    assert_cut_by_the_deadline(outcome, "connect.timeout")


# --- TLS: a port that never answers the ClientHello ----------------------------------------------


def test_a_silent_tls_port_ends_the_run_within_twice_the_timeout(
    run_cli: Any, report_validator: Any, silent_port: int
) -> None:
    outcome = run_against(run_cli, report_validator, silent_port, *within_timeout())

    assert outcome.seconds < 2 * TIMEOUT + LOAD_SLACK, f"took {outcome.seconds:.2f} s"
    assert outcome.result.exit_code == 1
    assert outcome.codes.get("tls.handshake_timeout") == "tls"


def test_a_silent_tls_port_is_cut_by_the_deadline(
    run_cli: Any, report_validator: Any, silent_port: int
) -> None:
    outcome = run_against(run_cli, report_validator, silent_port, *under_deadline())

    assert_cut_by_the_deadline(outcome, "tls.handshake_timeout")


# --- HTTP: the request is read, the answer never comes ------------------------------------------


def test_a_server_that_never_sends_the_first_byte_ends_the_run_within_twice_the_timeout(
    run_cli: Any, report_validator: Any, https_server: ScriptedServer, cacert: Path
) -> None:
    https_server.default(never_answers())
    outcome = run_against(
        run_cli, report_validator, https_server.port, *within_timeout(), cacert=cacert
    )

    assert outcome.seconds < 2 * TIMEOUT + LOAD_SLACK, f"took {outcome.seconds:.2f} s"
    assert outcome.result.exit_code == 1
    assert outcome.codes.get("http.timeout") == "auth", outcome.codes
    assert outcome.status("tls") == "pass"
    assert https_server.requests, "the server never saw a request"


def test_a_server_that_never_sends_the_first_byte_is_cut_by_the_deadline(
    run_cli: Any, report_validator: Any, https_server: ScriptedServer, cacert: Path
) -> None:
    https_server.default(never_answers())
    outcome = run_against(
        run_cli, report_validator, https_server.port, *under_deadline(), cacert=cacert
    )

    assert_cut_by_the_deadline(outcome, "http.timeout")


# --- HTTP: a body that trickles ------------------------------------------------------------------

TRICKLE_TIMEOUT = 1.5
"""Longer than the one-second gap between bytes, so a per-read timeout would never trip: only
a deadline for the whole request can end it."""


def test_a_body_trickling_one_byte_per_second_ends_the_run_within_twice_the_timeout(
    run_cli: Any, report_validator: Any, https_server: ScriptedServer, cacert: Path
) -> None:
    https_server.default(trickle())
    outcome = run_against(
        run_cli,
        report_validator,
        https_server.port,
        *within_timeout(TRICKLE_TIMEOUT),
        cacert=cacert,
    )

    assert outcome.seconds < 2 * TRICKLE_TIMEOUT + LOAD_SLACK, f"took {outcome.seconds:.2f} s"
    assert outcome.result.exit_code == 1
    assert outcome.codes.get("http.timeout") == "auth", outcome.codes


def test_a_body_trickling_one_byte_per_second_is_cut_by_the_deadline(
    run_cli: Any, report_validator: Any, https_server: ScriptedServer, cacert: Path
) -> None:
    https_server.default(trickle())
    outcome = run_against(
        run_cli, report_validator, https_server.port, *under_deadline(), cacert=cacert
    )

    assert_cut_by_the_deadline(outcome, "http.timeout")


# --- HTTP: the body is complete, the connection never ends ---------------------------------------


def test_a_connection_kept_open_after_an_unframed_body_ends_the_run_within_twice_the_timeout(
    run_cli: Any, report_validator: Any, https_server: ScriptedServer, cacert: Path
) -> None:
    https_server.default(open_after_body())
    outcome = run_against(
        run_cli, report_validator, https_server.port, *within_timeout(), cacert=cacert
    )

    assert outcome.seconds < 2 * TIMEOUT + LOAD_SLACK, f"took {outcome.seconds:.2f} s"
    assert outcome.result.exit_code == 1
    assert outcome.codes.get("http.timeout") == "auth", outcome.codes


def test_a_connection_kept_open_after_an_unframed_body_is_cut_by_the_deadline(
    run_cli: Any, report_validator: Any, https_server: ScriptedServer, cacert: Path
) -> None:
    https_server.default(open_after_body())
    outcome = run_against(
        run_cli, report_validator, https_server.port, *under_deadline(), cacert=cacert
    )

    assert_cut_by_the_deadline(outcome, "http.timeout")
