"""What the tests of one check against real loopback servers share, whichever check it is.

A check runs the way the runner runs it (the run's client closed afterwards), against the demo
server carrying a named fault or against a `ScriptedServer` for answers the demo cannot give;
end to end, the real CLI runs it alone and its JSON report is validated. Kept here so that
`tests/probes/test_discovery.py` and `test_errors.py` (and any later check's tests) say only
their scenarios.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from scim_doctor.checks.base import Outcome
from scim_doctor.core.model import Finding
from scim_doctor.demo import pki
from scim_doctor.demo.server import DemoServer
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.target import ResolvePin
from scim_doctor.net.trust import Trust, load_trust
from tests.conftest import CliResult, assert_valid_report
from tests.http.helpers import TOKEN, make_ctx
from tests.support.scripted_server import Reply, ScriptedServer

ProbeRun = Callable[[ProbeContext], Awaitable[Outcome]]
"""A check's `run` function (`discovery.run`, `errors.run`)."""

SCIM_JSON = {"Content-Type": "application/scim+json"}
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def connect_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback servers must be reached directly, whatever the developer's shell exports."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def run_probe(probe: ProbeRun, ctx: ProbeContext) -> Outcome:
    """Run one check as the runner does: in its own loop, the run's client closed after."""

    async def scenario() -> Outcome:
        try:
            return await probe(ctx)
        finally:
            await ctx.aclose()

    return asyncio.run(scenario())


def against_demo(
    probe: ProbeRun, tmp_path: Path, fault: str | None = None
) -> tuple[Outcome, ProbeContext]:
    """The check's outcome against the demo server with `fault`, and the context it ran in
    (for what it left in `ctx.shared` for later checks)."""
    with DemoServer(TOKEN, fault=fault) as server:
        trust = load_trust(server.write_ca(tmp_path))
        pin = ResolvePin(server.hostname, server.port, server.bind)
        ctx = make_ctx(server.base_url, trust, resolve=[pin])
        return run_probe(probe, ctx), ctx


def codes(outcome: Outcome) -> list[str]:
    return [finding.code for finding in outcome.findings]


def finding(outcome: Outcome, code: str) -> Finding:
    return next(f for f in outcome.findings if f.code == code)


# --- a scripted server behind a test CA ---------------------------------------------------------


@functools.cache
def loopback_ca() -> pki.CertificateAuthority:
    """One CA for the session's scripted servers: making a key pair per module costs time."""
    return pki.CertificateAuthority("scim-doctor probe tests", organization="scim-doctor")


def loopback_trust(directory: Path) -> Trust:
    """A trust store holding only `loopback_ca`, as `--cacert` would load it."""
    return load_trust(loopback_ca().write_root_pem(directory))


@contextmanager
def scripted_server() -> Iterator[ScriptedServer]:
    """A TLS ScriptedServer whose certificate names localhost and 127.0.0.1."""
    tls = loopback_ca().issue(["localhost", "127.0.0.1"]).server_context()
    with ScriptedServer(tls=tls) as server:
        yield server


def scripted_ctx(server: ScriptedServer, trust: Trust, **options: Any) -> ProbeContext:
    """A context whose base URL is the scripted server's /scim/v2."""
    return make_ctx(server.url("/scim/v2", host="localhost"), trust, **options)


def scim(payload: Any, status: int = 200) -> Reply:
    """A reply with `payload` as application/scim+json."""
    return Reply(status, SCIM_JSON, json.dumps(payload).encode())


# --- end to end -------------------------------------------------------------------------------


def check_through_cli(
    run_cli: Callable[..., CliResult],
    tmp_path: Path,
    fault: str,
    check_id: str,
    report_validator: jsonschema.protocols.Validator,
) -> tuple[dict[str, Any], CliResult]:
    """`scim-doctor check --only CHECK --format json` against the demo server with `fault`.

    Returns the check's entry in the report and the CLI's result, once the report has been
    validated against the schema and the token shown to appear in no output.
    """
    with DemoServer(TOKEN, fault=fault) as server:
        ca = server.write_ca(tmp_path)
        result = run_cli(
            "check",
            server.base_url,
            "--cacert",
            str(ca),
            "--resolve",
            server.resolve_pin,
            "--only",
            check_id,
            "--format",
            "json",
            env={"SCIM_TOKEN": TOKEN},
        )
    report = result.json()
    assert_valid_report(report_validator, report)
    assert TOKEN not in result.stdout + result.stderr
    [check] = [c for c in report["checks"] if c["id"] == check_id]
    return check, result
