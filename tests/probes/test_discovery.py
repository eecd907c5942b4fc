"""The `discovery` check against real loopback servers: the demo server with its discovery faults,
and a scripted server for the answers the demo cannot give (403, HTML, 5xx)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.checks import discovery
from scim_doctor.checks.base import Outcome
from scim_doctor.core.model import Severity, Status
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.trust import Trust
from tests.support import probe_harness
from tests.support.probe_harness import (
    SCIM_JSON,
    check_through_cli,
    codes,
    finding,
    scim,
    scripted_ctx,
)
from tests.support.scripted_server import Reply, ScriptedServer


@pytest.fixture(autouse=True)
def _direct(monkeypatch: pytest.MonkeyPatch) -> None:
    probe_harness.connect_directly(monkeypatch)


@pytest.fixture(scope="module")
def trust(tmp_path_factory: pytest.TempPathFactory) -> Trust:
    return probe_harness.loopback_trust(tmp_path_factory.mktemp("discovery-trust"))


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    with probe_harness.scripted_server() as server:
        yield server


def run_probe(ctx: ProbeContext) -> Outcome:
    return probe_harness.run_probe(discovery.run, ctx)


def against_demo(tmp_path: Path, fault: str | None = None) -> tuple[Outcome, ProbeContext]:
    return probe_harness.against_demo(discovery.run, tmp_path, fault)


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
    assert [e.url.split("/scim/v2/", 1)[-1] for e in outcome.exchanges] == [
        "ServiceProviderConfig",
        "ResourceTypes",
        "Schemas",
        "Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        "ResourceTypes/User",
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


def test_a_user_schema_missing_from_the_list_is_not_asked_for_by_id_as_well(
    tmp_path: Path,
) -> None:
    """One cause, one finding: the list already says the User schema is not described."""
    outcome, _ = against_demo(tmp_path, "schemas_without_user")

    asked = [e.url.split("/scim/v2/", 1)[-1] for e in outcome.exchanges]
    assert "Schemas/urn:ietf:params:scim:schemas:core:2.0:User" not in asked
    assert "ResourceTypes/User" in asked
    assert "discovery.by_id_unavailable" not in codes(outcome)


def test_an_html_404_for_the_user_schema_and_resource_type_by_id_is_a_warning_naming_both(
    tmp_path: Path,
) -> None:
    outcome, _ = against_demo(tmp_path, "discovery_by_id_html_404")

    assert codes(outcome) == ["discovery.by_id_unavailable"]
    found = finding(outcome, "discovery.by_id_unavailable")
    assert found.severity is Severity.WARN
    for path in ("Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "ResourceTypes/User"):
        assert f"/scim/v2/{path} answered 404 Not Found with an HTML page" in found.message
    assert outcome.summary.endswith("User schema or resource type not readable by id")


def test_a_list_answered_where_one_schema_is_asked_for_is_named_as_such(
    scripted: ScriptedServer, trust: Trust
) -> None:
    schemas = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 1,
        "Resources": [
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
                "id": "urn:ietf:params:scim:schemas:core:2.0:User",
                "attributes": [{"name": "userName", "type": "string"}],
            }
        ],
    }
    body = json.dumps(schemas).encode()
    scripted.route("/scim/v2/Schemas", Reply(200, SCIM_JSON, body))
    scripted.route(
        "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        Reply(200, SCIM_JSON, body),
    )

    outcome = run_probe(scripted_ctx(scripted, trust))

    found = finding(outcome, "discovery.by_id_unavailable")
    assert "answered the whole list (a ListResponse), not the one resource" in found.message


def test_items_per_page_that_is_the_page_size_is_told_with_the_numbers_and_what_clients_do(
    tmp_path: Path,
) -> None:
    """SCIMMY's discovery lists say itemsPerPage 20 for the 2 resource types and 3 schemas they
    return; that is all that is wrong with them, so the findings say exactly that."""
    outcome, ctx = against_demo(tmp_path, "discovery_items_per_page")

    assert codes(outcome) == ["discovery.resource_types_invalid", "discovery.schemas_invalid"]
    for code, returned, path in (
        ("discovery.resource_types_invalid", 2, "/ResourceTypes"),
        ("discovery.schemas_invalid", 3, "/Schemas"),
    ):
        found = finding(outcome, code)
        assert found.severity is Severity.WARN
        assert found.message.startswith(f"GET {ctx.target.base_url}{path}: ")
        assert (
            f"itemsPerPage is 20 but the page holds {returned} resources "
            f"(startIndex 1, totalResults {returned})"
        ) in found.message
        assert "malformed" not in found.message
        assert (
            "a client that pages by itemsPerPage asks next for startIndex=21, so once the list "
            f"is longer than this page it never reads entries {returned + 1} to 20: it skips "
            "them, or stops early"
        ) in found.message
        assert found.remediation.startswith(
            f"Set itemsPerPage to the number of resources in Resources ({returned} here), "
            "not to a page size or the count asked for (20 here)."
        )
    declared = ctx.shared.extra["discovery"]
    assert declared["resource_types"] == ["User", "Group"]
    assert len(declared["schemas"]) == 3
    assert "resource types: User, Group (ListResponse, itemsPerPage 20 for 2)" in outcome.summary
    assert "3 schemas (ListResponse, itemsPerPage 20 for 3)" in outcome.summary


def resource_type(name: str, schema: str) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": name,
        "name": name,
        "endpoint": f"/{name}s",
        "schema": schema,
    }


def listing(resources: list[Any], items_per_page: int) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": items_per_page,
        "Resources": resources,
    }


def test_items_per_page_0_is_told_as_a_page_clients_loop_on(
    scripted: ScriptedServer, trust: Trust
) -> None:
    user = resource_type("User", "urn:ietf:params:scim:schemas:core:2.0:User")
    scripted.route("/scim/v2/ResourceTypes", scim(listing([user], 0)))

    outcome = run_probe(scripted_ctx(scripted, trust))

    found = finding(outcome, "discovery.resource_types_invalid")
    assert "itemsPerPage is 0 but the page holds 1 resources (startIndex 1, totalResults 1)" in (
        found.message
    )
    assert "never gets past startIndex=1: it loops on this page" in found.message
    assert "(1 here)" in found.remediation and "(0 here)" in found.remediation


def test_items_per_page_among_other_problems_is_one_item_of_the_list(
    scripted: ScriptedServer, trust: Trust
) -> None:
    """Told in full only when it is the one problem; otherwise listed with the others."""
    group = resource_type("Group", "urn:ietf:params:scim:schemas:core:2.0:Group")
    scripted.route("/scim/v2/ResourceTypes", scim(listing([group], 0)))

    outcome = run_probe(scripted_ctx(scripted, trust))

    found = finding(outcome, "discovery.resource_types_invalid")
    assert "itemsPerPage is 0 but the page holds 1 resources" in found.message
    assert "no resource type has the core User schema" in found.message
    assert "a client that pages by itemsPerPage" not in found.message
    assert found.remediation.startswith("Answer GET <base>/ResourceTypes with a ListResponse")


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
    check, result = check_through_cli(
        run_cli, tmp_path, "spc_missing", "discovery", report_validator
    )

    assert check["status"] == "warn"
    assert [f["code"] for f in check["findings"]] == ["discovery.service_provider_config_missing"]
    assert result.exit_code == 0, result.stdout + result.stderr
