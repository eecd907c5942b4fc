"""The `errors` check against real loopback servers: the demo server with its error faults, and a
scripted server for the answers the demo cannot give (a user for any id, framework errors)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.checks import errors
from scim_doctor.checks.base import Outcome
from scim_doctor.core.model import Severity, Status
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.trust import Trust
from tests.support import probe_harness
from tests.support.probe_harness import check_through_cli, codes, finding, scim, scripted_ctx
from tests.support.scripted_server import Recorded, Reply, ScriptedServer

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture(autouse=True)
def _direct(monkeypatch: pytest.MonkeyPatch) -> None:
    probe_harness.connect_directly(monkeypatch)


@pytest.fixture(scope="module")
def trust(tmp_path_factory: pytest.TempPathFactory) -> Trust:
    return probe_harness.loopback_trust(tmp_path_factory.mktemp("errors-trust"))


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    with probe_harness.scripted_server() as server:
        yield server


def run_probe(ctx: ProbeContext) -> Outcome:
    return probe_harness.run_probe(errors.run, ctx)


def against_demo(tmp_path: Path, fault: str | None = None) -> Outcome:
    return probe_harness.against_demo(errors.run, tmp_path, fault)[0]


GOOD_404 = scim({"schemas": [ERROR], "status": "404", "detail": "not found"}, 404)
GOOD_400 = scim({"schemas": [ERROR], "status": "400", "scimType": "invalidFilter"}, 400)


def serve(
    server: ScriptedServer, *, unknown_id: Reply = GOOD_404, filter: Reply = GOOD_400
) -> None:
    """`unknown_id` answers /Users/<anything>, `filter` answers /Users?filter=..."""
    server.route("/scim/v2/Users", filter)

    def by_path(request: Recorded) -> Reply:
        if request.path.startswith("/scim/v2/Users/"):
            return unknown_id
        return Reply(404, {"Content-Type": "text/plain"}, b"no route")

    server.default(by_path)


# --- the demo server ------------------------------------------------------------------------------


def test_a_healthy_server_answers_both_errors_the_scim_way(tmp_path: Path) -> None:
    outcome = against_demo(tmp_path)

    assert outcome.status is Status.PASS, outcome.findings
    assert outcome.facts["unknown_id"]["status"] == 404
    assert outcome.facts["unknown_id"]["scim_error"] is True
    assert outcome.facts["invalid_filter"]["status"] == 400
    assert outcome.facts["invalid_filter"]["scim_type"] == "invalidFilter"
    assert len(outcome.exchanges) == 2


def test_status_as_a_json_number_is_flagged_with_the_value_sent(tmp_path: Path) -> None:
    outcome = against_demo(tmp_path, "error_status_integer")

    assert codes(outcome) == ["errors.status_not_string"]
    found = finding(outcome, "errors.status_not_string")
    assert found.severity is Severity.WARN
    assert 'status is the integer 404, not the string "404"' in found.message


def test_an_html_404_page_is_not_a_scim_error(tmp_path: Path) -> None:
    outcome = against_demo(tmp_path, "html_404")

    assert codes(outcome) == ["errors.not_scim_error"]
    found = finding(outcome, "errors.not_scim_error")
    assert found.severity is Severity.WARN
    assert "answered 404 with an HTML page (text/html; charset=iso-8859-1)" in found.message
    assert "404 Not Found" in found.message
    assert outcome.facts["unknown_id"]["scim_error"] is False


def test_an_invalid_filter_answered_with_every_user_fails(tmp_path: Path) -> None:
    outcome = against_demo(tmp_path, "invalid_filter_ignored")

    assert codes(outcome) == ["errors.invalid_filter_not_rejected"]
    found = finding(outcome, "errors.invalid_filter_not_rejected")
    assert found.severity is Severity.FAIL
    assert "answered 200 OK to the invalid filter 'userName zz \"x\"'" in found.message
    assert "a ListResponse with totalResults 3, 1 of them in this page" in found.message


def test_an_invalid_filter_that_crashes_the_server_is_named_once_as_this_checks_finding(
    tmp_path: Path,
) -> None:
    outcome = against_demo(tmp_path, "invalid_filter_500")

    assert codes(outcome) == ["errors.invalid_filter_wrong_status"]
    found = finding(outcome, "errors.invalid_filter_wrong_status")
    assert found.severity is Severity.WARN
    assert "answered 500 Internal Server Error" in found.message
    assert "FilterParseException" in found.message


# --- a scripted server ----------------------------------------------------------------------------


def test_the_probe_asks_for_a_fresh_uuid_and_sends_the_filter_percent_encoded(
    scripted: ScriptedServer, trust: Trust
) -> None:
    serve(scripted)

    outcome = run_probe(scripted_ctx(scripted, trust))

    assert outcome.status is Status.PASS, outcome.findings
    [by_id] = [r.target for r in scripted.requests if r.path != "/scim/v2/Users"]
    [by_filter] = [r.target for r in scripted.requests if r.path == "/scim/v2/Users"]
    assert by_filter == "/scim/v2/Users?filter=userName%20zz%20%22x%22&count=1"
    unknown_id = by_id.removeprefix("/scim/v2/Users/")
    assert uuid.UUID(unknown_id).version == 4
    assert outcome.facts["unknown_id"]["id"] == unknown_id


def test_a_user_returned_for_an_id_that_does_not_exist_is_a_warning(
    scripted: ScriptedServer, trust: Trust
) -> None:
    user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "42", "userName": "a"}
    serve(scripted, unknown_id=scim(user, 200))

    outcome = run_probe(scripted_ctx(scripted, trust))

    assert codes(outcome) == ["errors.unknown_id_not_404"]
    found = finding(outcome, "errors.unknown_id_not_404")
    assert found.severity is Severity.WARN
    assert "answered 200 OK for the id" in found.message
    assert "returned a resource with id '42'" in found.message


def test_a_400_for_an_id_in_another_format_fails_with_the_servers_explanation(
    scripted: ScriptedServer, trust: Trust
) -> None:
    body = {"schemas": [ERROR], "status": "400", "detail": "Invalid ID format"}
    serve(scripted, unknown_id=scim(body, 400))

    outcome = run_probe(scripted_ctx(scripted, trust))

    assert codes(outcome) == ["errors.unknown_id_not_404"]
    message = finding(outcome, "errors.unknown_id_not_404").message
    assert "answered 400 Bad Request" in message
    assert "expected 404" in message
    assert "Invalid ID format" in message


def test_a_500_for_an_unknown_id_is_a_server_error(scripted: ScriptedServer, trust: Trust) -> None:
    serve(scripted, unknown_id=Reply(500, {"Content-Type": "text/plain"}, b"NullPointerException"))

    outcome = run_probe(scripted_ctx(scripted, trust))

    assert codes(outcome) == ["http.server_error"]
    assert "NullPointerException" in outcome.findings[0].message


def test_a_frameworks_json_not_found_is_not_a_scim_error(
    scripted: ScriptedServer, trust: Trust
) -> None:
    spring = {"timestamp": "2024-05-01T10:00:00Z", "status": 404, "error": "Not Found"}
    serve(
        scripted,
        unknown_id=Reply(404, {"Content-Type": "application/json"}, json.dumps(spring).encode()),
    )

    outcome = run_probe(scripted_ctx(scripted, trust))

    assert codes(outcome) == ["errors.not_scim_error"]
    message = finding(outcome, "errors.not_scim_error").message
    assert "answered 404 with JSON that is not a SCIM Error" in message
    assert "members: error, status, timestamp" in message


def test_a_status_that_contradicts_the_http_status_is_flagged(
    scripted: ScriptedServer, trust: Trust
) -> None:
    serve(scripted, unknown_id=scim({"schemas": [ERROR], "status": "400"}, 404))

    outcome = run_probe(scripted_ctx(scripted, trust))

    assert codes(outcome) == ["errors.status_invalid"]
    assert "status says 400 but the HTTP status line says 404" in outcome.findings[0].message


def test_a_400_without_scim_type_invalid_filter_is_a_warning(
    scripted: ScriptedServer, trust: Trust
) -> None:
    body = {"schemas": [ERROR], "status": "400", "scimType": "invalidSyntax"}
    serve(scripted, filter=scim(body, 400))

    outcome = run_probe(scripted_ctx(scripted, trust))

    assert codes(outcome) == ["errors.invalid_filter_scim_type"]
    found = finding(outcome, "errors.invalid_filter_scim_type")
    assert found.severity is Severity.WARN
    assert "scimType is 'invalidSyntax', expected 'invalidFilter'" in found.message


def test_an_invalid_filter_answered_403_has_the_wrong_status(
    scripted: ScriptedServer, trust: Trust
) -> None:
    serve(scripted, filter=scim({"schemas": [ERROR], "status": "403"}, 403))

    outcome = run_probe(scripted_ctx(scripted, trust))

    assert codes(outcome) == ["errors.invalid_filter_wrong_status"]
    assert "answered 403 Forbidden" in outcome.findings[0].message


def test_two_non_scim_errors_give_one_finding_that_names_both_requests(
    scripted: ScriptedServer, trust: Trust
) -> None:
    html = {"Content-Type": "text/html"}
    serve(
        scripted,
        unknown_id=Reply(404, html, b"<h1>Not Found</h1>"),
        filter=Reply(400, html, b"<h1>Bad Request</h1>"),
    )

    outcome = run_probe(scripted_ctx(scripted, trust))

    assert codes(outcome) == ["errors.not_scim_error"]
    message = outcome.findings[0].message
    assert "answered 404 with an HTML page" in message
    assert "answered 400 with an HTML page" in message


def test_without_a_token_the_check_is_skipped_with_the_reason(
    scripted: ScriptedServer, trust: Trust
) -> None:
    outcome = run_probe(scripted_ctx(scripted, trust, token=None))

    assert outcome.status is Status.SKIP
    assert outcome.skip_reason == "no token given (--no-token)"
    assert scripted.requests == []


# --- end to end -----------------------------------------------------------------------------------


def test_a_server_that_ignores_invalid_filters_is_warned_about_as_no_provider_sends_one(
    run_cli: Any, tmp_path: Path, report_validator: Any
) -> None:
    """RFC 7644 §3.4.2.2 says 400 invalidFilter (a MUST), but no identity provider in scope
    sends an invalid filter: the one severity rule makes it a warning, the catalogue's fail
    kept beside it."""
    check, result = check_through_cli(
        run_cli, tmp_path, "invalid_filter_ignored", "errors", report_validator
    )

    assert check["status"] == "warn"
    [only] = check["findings"]
    assert only["code"] == "errors.invalid_filter_not_rejected"
    assert (only["severity"], only["catalogue_severity"], only["affects"]) == ("warn", "fail", [])
    assert result.exit_code == 0
