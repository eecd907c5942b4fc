"""The `discovery` check against real loopback servers: the demo server with its discovery faults,
and a scripted server for the answers the demo cannot give (403, HTML, 5xx)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.context import ProbeContext
from scim_doctor.demo import pki
from scim_doctor.demo.server import DemoServer
from scim_doctor.model import Severity, Status
from scim_doctor.probes import discovery
from scim_doctor.probes.base import Outcome
from scim_doctor.target import ResolvePin
from scim_doctor.trust import Trust, load_trust
from tests.conftest import assert_valid_report
from tests.http.helpers import TOKEN, make_ctx
from tests.support.scripted_server import Reply, ScriptedServer

SCIM_JSON = {"Content-Type": "application/scim+json"}
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback servers must be reached directly, whatever the developer's shell exports."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def run_probe(ctx: ProbeContext) -> Outcome:
    async def scenario() -> Outcome:
        try:
            return await discovery.run(ctx)
        finally:
            if ctx.http is not None:
                await ctx.http.aclose()

    return asyncio.run(scenario())


def against_demo(tmp_path: Path, fault: str | None = None) -> tuple[Outcome, ProbeContext]:
    with DemoServer(TOKEN, fault=fault) as server:
        trust = load_trust(server.write_ca(tmp_path))
        pin = ResolvePin(server.hostname, server.port, server.bind)
        ctx = make_ctx(server.base_url, trust, resolve=[pin])
        return run_probe(ctx), ctx


def codes(outcome: Outcome) -> list[str]:
    return [finding.code for finding in outcome.findings]


def finding(outcome: Outcome, code: str) -> Any:
    return next(f for f in outcome.findings if f.code == code)


@pytest.fixture(scope="module")
def ca() -> pki.CertificateAuthority:
    return pki.CertificateAuthority("scim-doctor discovery tests", organization="scim-doctor")


@pytest.fixture(scope="module")
def trust(ca: pki.CertificateAuthority, tmp_path_factory: pytest.TempPathFactory) -> Trust:
    return load_trust(ca.write_root_pem(tmp_path_factory.mktemp("discovery-trust")))


@pytest.fixture
def scripted(ca: pki.CertificateAuthority) -> Iterator[ScriptedServer]:
    with ScriptedServer(tls=ca.issue(["localhost", "127.0.0.1"]).server_context()) as server:
        yield server


def scripted_ctx(server: ScriptedServer, trust: Trust, **options: Any) -> ProbeContext:
    return make_ctx(server.url("/scim/v2", host="localhost"), trust, **options)


def scim(payload: Any, status: int = 200) -> Reply:
    return Reply(status, SCIM_JSON, json.dumps(payload).encode())


# --- the demo server ------------------------------------------------------------------------------


def test_a_healthy_server_passes_and_leaves_what_it_declares_for_later_checks(
    tmp_path: Path,
) -> None:
    outcome, ctx = against_demo(tmp_path)

    assert outcome.status is Status.PASS, outcome.findings
    declared = ctx.shared.extra["discovery"]
    assert declared["service_provider_config"] == "valid"
    assert declared["filter_supported"] is True
    assert declared["max_results"] == 100
    assert declared["patch_supported"] is True
    assert declared["etag_supported"] is True
    assert declared["bulk_supported"] is False
    assert declared["resource_types"] == ["User", "Group"]
    assert declared["endpoints"] == {"User": "/Users", "Group": "/Groups"}
    assert "urn:ietf:params:scim:schemas:core:2.0:User" in declared["schemas"]
    assert outcome.facts["declared"] == declared
    assert [e.url.rsplit("/", 1)[-1] for e in outcome.exchanges] == [
        "ServiceProviderConfig",
        "ResourceTypes",
        "Schemas",
    ]


def test_a_missing_service_provider_config_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    outcome, ctx = against_demo(tmp_path, "spc_missing")

    assert codes(outcome) == ["discovery.service_provider_config_missing"]
    found = finding(outcome, "discovery.service_provider_config_missing")
    assert found.severity is Severity.WARN
    assert "/ServiceProviderConfig answered 404 Not Found" in found.message
    assert outcome.status is Status.WARN
    declared = ctx.shared.extra["discovery"]
    assert declared["service_provider_config"] == "missing"
    assert declared["filter_supported"] is None
    assert declared["resource_types"] == ["User", "Group"]


def test_a_service_provider_config_missing_required_attributes_is_named_attribute_by_attribute(
    tmp_path: Path,
) -> None:
    outcome, ctx = against_demo(tmp_path, "spc_invalid")

    assert codes(outcome) == ["discovery.service_provider_config_invalid"]
    found = finding(outcome, "discovery.service_provider_config_invalid")
    assert found.severity is Severity.WARN
    assert "bulk is missing (REQUIRED)" in found.message
    assert 'filter.supported is the string "true", not a JSON boolean' in found.message
    assert ctx.shared.extra["discovery"]["service_provider_config"] == "invalid"
    assert ctx.shared.extra["discovery"]["patch_supported"] is True


def test_resource_types_as_a_bare_array_are_flagged_but_still_read(tmp_path: Path) -> None:
    outcome, ctx = against_demo(tmp_path, "resource_types_bare_array")

    assert codes(outcome) == ["discovery.resource_types_invalid"]
    found = finding(outcome, "discovery.resource_types_invalid")
    assert found.severity is Severity.WARN
    assert "the body is a bare JSON array" in found.message
    assert ctx.shared.extra["discovery"]["resource_types"] == ["User", "Group"]
    assert outcome.facts["endpoints"]["/ResourceTypes"]["shape"] == "bare array"


def test_schemas_without_the_core_user_schema_are_flagged(tmp_path: Path) -> None:
    outcome, _ = against_demo(tmp_path, "schemas_without_user")

    assert codes(outcome) == ["discovery.schemas_invalid"]
    found = finding(outcome, "discovery.schemas_invalid")
    assert found.severity is Severity.WARN
    assert "the core User schema urn:ietf:params:scim:schemas:core:2.0:User is not described" in (
        found.message
    )


# --- a scripted server ----------------------------------------------------------------------------


def test_a_forbidden_config_a_missing_resource_types_and_an_html_schemas_page_are_each_named(
    scripted: ScriptedServer, trust: Trust
) -> None:
    scripted.route(
        "/scim/v2/ServiceProviderConfig",
        scim({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "403"}, 403),
    )
    scripted.route("/scim/v2/ResourceTypes", scim({"detail": "no"}, 404))
    scripted.route(
        "/scim/v2/Schemas",
        Reply(200, {"Content-Type": "text/html"}, b"<html><body>Sign in</body></html>"),
    )

    outcome = run_probe(scripted_ctx(scripted, trust))

    assert codes(outcome) == [
        "discovery.service_provider_config_invalid",
        "discovery.resource_types_invalid",
        "discovery.schemas_invalid",
    ]
    assert "answered 403 Forbidden, expected 200" in outcome.findings[0].message
    assert "ResourceTypes answered 404 Not Found" in outcome.findings[1].message
    assert "answered 200 with an HTML page (text/html)" in outcome.findings[2].message
    assert "'<html><body>Sign in</body></html>'" in outcome.findings[2].message


def test_server_errors_on_all_three_endpoints_give_one_finding_naming_each_url(
    scripted: ScriptedServer, trust: Trust
) -> None:
    scripted.default(Reply(503, {"Content-Type": "text/plain"}, b"upstream unavailable"))

    outcome = run_probe(scripted_ctx(scripted, trust))

    assert codes(outcome) == ["http.server_error"]
    message = outcome.findings[0].message
    for path in ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas"):
        assert f"/scim/v2{path} answered 503" in message
    assert outcome.status is Status.FAIL
    asked = {r.path for r in scripted.requests}
    assert asked == {"/scim/v2/ServiceProviderConfig", "/scim/v2/ResourceTypes", "/scim/v2/Schemas"}


def test_the_three_requests_go_out_together_not_one_after_the_other(
    scripted: ScriptedServer, trust: Trust
) -> None:
    """Each answer takes 0.4 s; sent one after the other they would take 1.2 s."""
    slow = Reply(200, SCIM_JSON, [0.4, b"{}"])
    scripted.default(slow)

    outcome = run_probe(scripted_ctx(scripted, trust))

    assert len(outcome.exchanges) == 3
    assert max(e.timings_ms["total"] for e in outcome.exchanges) < 1000


def test_without_a_token_the_check_is_skipped_with_the_reason(
    scripted: ScriptedServer, trust: Trust
) -> None:
    outcome = run_probe(scripted_ctx(scripted, trust, token=None))

    assert outcome.status is Status.SKIP
    assert outcome.skip_reason == "no token given (--no-token)"
    assert scripted.requests == []


# --- end to end -----------------------------------------------------------------------------------


def test_the_cli_reports_a_missing_service_provider_config_as_a_warning(
    run_cli: Any, tmp_path: Path, report_validator: Any
) -> None:
    with DemoServer(TOKEN, fault="spc_missing") as server:
        ca = server.write_ca(tmp_path)
        result = run_cli(
            "check",
            server.base_url,
            "--cacert",
            str(ca),
            "--resolve",
            server.resolve_pin,
            "--only",
            "discovery",
            "--format",
            "json",
            env={"SCIM_TOKEN": TOKEN},
        )

    report = result.json()
    assert_valid_report(report_validator, report)
    [check] = [c for c in report["checks"] if c["id"] == "discovery"]
    assert check["status"] == "warn"
    assert [f["code"] for f in check["findings"]] == ["discovery.service_provider_config_missing"]
    assert result.exit_code == 0, result.stdout + result.stderr
    assert TOKEN not in result.stdout + result.stderr
