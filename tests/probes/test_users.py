"""The `users` check against the real demo server on loopback, one misbehaviour per test.

The demo's named faults (scim_doctor/demo/http_faults/users.py) cover what `scim-doctor demo`
shows; the rest are one-off faults built here with the same middleware kit, so every finding
code of the check is produced by a real server over real TLS, never by a mock.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.checks import users
from scim_doctor.checks.base import Outcome
from scim_doctor.core.findings import CATALOGUE
from scim_doctor.core.model import Severity, Status
from scim_doctor.core.pii import forget_personal_data, registered_personal_data
from scim_doctor.core.secrets import Secret
from scim_doctor.demo.fault_kit import Fault, map_response, on_route
from scim_doctor.demo.http_faults.users import FAULTS
from scim_doctor.demo.scim_app import Handler, Request, Response, error_response
from scim_doctor.demo.server import DemoServer
from scim_doctor.net.context import Options, ProbeContext
from scim_doctor.net.target import ResolvePin, parse_base_url
from scim_doctor.net.trust import load_trust
from tests.conftest import assert_one_verdict, assert_valid_report, catalogue_severity

TOKEN = "users-probe-token-4f1c9e2a7b3d6058"
USER_NAMES = ("ada.lovelace@example.com", "grace.hopper@example.com", "alan.turing@example.com")


@pytest.fixture(autouse=True)
def no_proxy_and_no_leftover_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    forget_personal_data()
    try:
        yield
    finally:
        forget_personal_data()


def diagnose(
    tmp_path: Path, fault: str | Fault | None = None, *, users_count: int = 3, token: str = TOKEN
) -> Outcome:
    """Run the users check against a demo server with `fault`, as the runner would."""
    with DemoServer(TOKEN, fault=fault, users=users_count) as server:
        ctx = ProbeContext(
            target=parse_base_url(server.base_url),
            options=Options(
                timeout=3.0, resolve=(ResolvePin(server.hostname, server.port, server.bind),)
            ),
            token=Secret(token),
            trust=load_trust(server.write_ca(tmp_path)),
            deadline_at=time.monotonic() + 20,
        )
        return asyncio.run(_run_and_close(ctx))


async def _run_and_close(ctx: ProbeContext) -> Outcome:
    try:
        return await users.run(ctx)
    finally:
        if ctx.http is not None:
            await ctx.http.aclose()


def severities(outcome: Outcome) -> dict[str, Severity]:
    return {finding.code: finding.severity for finding in outcome.findings}


def message(outcome: Outcome, code: str) -> str:
    return next(f.message for f in outcome.findings if f.code == code)


def one_off(name: str, middleware: Callable[[Request, Handler], Response]) -> Fault:
    return Fault(name, name, "http", (), middleware=middleware)


def json_change(path: str, change: Callable[[Request, Any], Any], method: str = "GET") -> Fault:
    """A fault that rewrites the healthy JSON answer of `path` (200s only)."""

    def transform(request: Request, response: Response) -> Response:
        if response.status != 200:
            return response
        return response.with_json(change(request, response.json()))

    return one_off(f"change {path}", on_route(method, path, map_response(transform)))


def capped_pages(limit: int, *, declare: bool) -> Fault:
    """/Users pages hold at most `limit` users; with `declare`, ServiceProviderConfig says so."""

    def middleware(request: Request, call_next: Handler) -> Response:
        response = call_next(request)
        if response.status != 200 or request.scim_path not in ("/Users", "/ServiceProviderConfig"):
            return response
        document = response.json()
        if request.scim_path == "/ServiceProviderConfig":
            if declare:
                document["filter"]["maxResults"] = limit
            return response.with_json(document)
        if "Resources" in document:
            document["Resources"] = document["Resources"][:limit]
            document["itemsPerPage"] = len(document["Resources"])
        return response.with_json(document)

    return one_off("capped pages", middleware)


# --- healthy -----------------------------------------------------------------------------------


def test_a_healthy_server_passes_every_sub_check(tmp_path: Path) -> None:
    outcome = diagnose(tmp_path)
    assert outcome.status is Status.PASS, outcome.findings
    assert outcome.findings == []
    assert outcome.facts["total_results"] == 3
    assert outcome.facts["subchecks_ran"] == list(users.SUBCHECKS)
    assert outcome.facts["subchecks_not_run"] == {}
    assert outcome.facts["page_sizes"]["/Users?startIndex=1&count=2"] == 2
    assert len(outcome.exchanges) == 8
    assert "paging and userName filters behave as RFC 7644 describes" in outcome.summary


def test_no_user_name_or_email_appears_in_facts_messages_or_summary(tmp_path: Path) -> None:
    outcome = diagnose(tmp_path, "users_filter_ignored")
    shown = (
        json.dumps(outcome.facts) + outcome.summary + "".join(f.message for f in outcome.findings)
    )
    assert "@example.com" not in shown and "lovelace" not in shown.lower()
    assert 'filter=userName eq \\"a***@e***.com\\"' in json.dumps(outcome.facts)


def test_the_user_names_it_sees_are_registered_for_the_reports_masking(tmp_path: Path) -> None:
    diagnose(tmp_path)
    assert set(USER_NAMES) <= registered_personal_data()


def test_without_a_token_the_check_is_skipped(tmp_path: Path) -> None:
    ctx = ProbeContext(
        target=parse_base_url("https://scim.example.test/scim/v2"),
        options=Options(),
        token=None,
        trust=load_trust(),
        deadline_at=time.monotonic() + 5,
    )
    outcome = asyncio.run(users.run(ctx))
    assert outcome.status is Status.SKIP and outcome.skip_reason == users.NO_TOKEN


# --- the demo's named faults -------------------------------------------------------------------


SHALLOW_FAULTS = [f for f in FAULTS if not f.name.startswith("users_deep_")]
"""The faults the check finds without --deep (the deep ones: tests/test_deep.py)."""


@pytest.mark.parametrize("fault", SHALLOW_FAULTS, ids=lambda f: f.name)
def test_each_demo_fault_is_named_with_its_catalogue_severity(tmp_path: Path, fault: Fault) -> None:
    outcome = diagnose(tmp_path, fault)
    found = severities(outcome)
    for code in fault.expect:
        assert code in found, (fault.name, outcome.findings)
        assert found[code] is CATALOGUE[code].severity
    assert outcome.status in (Status.WARN, Status.FAIL)


def test_a_bare_array_is_reported_once_for_all_the_requests_it_broke(tmp_path: Path) -> None:
    outcome = diagnose(tmp_path, "users_bare_array")
    assert [f.code for f in outcome.findings] == ["users.not_list_response"]
    text = message(outcome, "users.not_list_response")
    assert "bare JSON array (2 items)" in text and "GET /Users?startIndex=1&count=2" in text
    assert outcome.facts["subchecks_not_run"] == {
        "start_index_last": "totalResults is missing or not a number"
    }


def test_a_string_total_is_reported_as_okta_requires_integers(tmp_path: Path) -> None:
    outcome = diagnose(tmp_path, "users_total_as_string")
    finding = next(f for f in outcome.findings if f.code == "users.paging_field_not_integer")
    assert 'totalResults is the string "3", not a JSON integer' in finding.message
    assert "Okta" in finding.reference


def test_a_zero_based_start_index_names_the_user_it_skips(tmp_path: Path) -> None:
    outcome = diagnose(tmp_path, "users_zero_based_start")
    text = message(outcome, "users.zero_based_start_index")
    assert "startIndex=3 (the last of totalResults 3) returned no user" in text
    assert "without startIndex the list starts with user" in text


def test_ignored_pagination_is_named_for_count_and_for_start_index(tmp_path: Path) -> None:
    text = message(diagnose(tmp_path, "users_pagination_ignored"), "users.pagination_ignored")
    assert "count=2 returned 3 users" in text
    assert "startIndex=2 returned the first user again" in text


def test_a_returned_password_is_a_failure_that_never_shows_the_value(tmp_path: Path) -> None:
    outcome = diagnose(tmp_path, "users_password_returned")
    text = message(outcome, "users.password_returned")
    assert "value not shown" in text and "SSHA" not in text
    assert text.count("user ") == 3


def test_a_case_sensitive_user_name_search_is_a_warning(tmp_path: Path) -> None:
    outcome = diagnose(tmp_path, "users_case_sensitive_filter")
    assert outcome.status is Status.WARN
    assert severities(outcome) == {"users.filter_case_sensitive": Severity.WARN}


# --- one-off faults for the other codes ---------------------------------------------------------


def test_an_error_status_on_users_stops_the_check_with_the_servers_detail(tmp_path: Path) -> None:
    def forbidden(request: Request, call_next: Handler) -> Response:
        return error_response(403, "SCIM is not enabled for this tenant")

    outcome = diagnose(tmp_path, one_off("forbidden", on_route("GET", "/Users", forbidden)))
    assert severities(outcome) == {"users.status_error": Severity.FAIL}
    assert '403 Forbidden: "SCIM is not enabled for this tenant"' in message(
        outcome, "users.status_error"
    )
    assert set(outcome.facts["subchecks_not_run"]) == set(users.SUBCHECKS)
    assert outcome.summary.startswith("GET /Users?startIndex=1&count=2 answered 403")


def test_a_server_error_is_an_http_finding_not_a_second_users_finding(tmp_path: Path) -> None:
    def broken(request: Request, call_next: Handler) -> Response:
        return error_response(500, "NullReferenceException")

    outcome = diagnose(tmp_path, one_off("500", on_route("GET", "/Users", broken)))
    assert severities(outcome) == {"http.server_error": Severity.FAIL}


def test_an_html_login_page_is_not_a_list_response(tmp_path: Path) -> None:
    def login(request: Request, call_next: Handler) -> Response:
        return Response(200, (("Content-Type", "text/html"),), b"<html><body>Sign in</body></html>")

    outcome = diagnose(tmp_path, one_off("login page", on_route("GET", "/Users", login)))
    text = message(outcome, "users.not_list_response")
    assert "the body is not JSON" in text and "text/html" in text
    assert outcome.facts["subchecks_not_run"]["count_0"] == (
        "page 1 of GET /Users held no usable list of users"
    )


def test_items_per_page_that_contradicts_the_page_is_a_warning(tmp_path: Path) -> None:
    fault = json_change("/Users", lambda request, doc: {**doc, "itemsPerPage": 100})
    outcome = diagnose(tmp_path, fault)
    assert severities(outcome) == {"users.list_response_inconsistent": Severity.WARN}
    assert "itemsPerPage is 100 but the page holds 2 resources" in message(
        outcome, "users.list_response_inconsistent"
    )


def test_a_location_on_the_internal_http_url_is_a_warning_with_its_cause(tmp_path: Path) -> None:
    def internal(request: Request, document: Any) -> Any:
        for user in document.get("Resources", []):
            user["meta"]["location"] = user["meta"]["location"].replace("https://", "http://")
        return document

    outcome = diagnose(tmp_path, json_change("/Users", internal))
    assert severities(outcome) == {"users.resource_nonconformant": Severity.WARN}
    assert "X-Forwarded-Proto" in message(outcome, "users.resource_nonconformant")


def test_count_zero_refused_is_a_warning(tmp_path: Path) -> None:
    def refuse_zero(request: Request, call_next: Handler) -> Response:
        if request.query.get("count") == "0":
            return error_response(400, "count must be between 1 and 100", "invalidValue")
        return call_next(request)

    outcome = diagnose(tmp_path, one_off("count=0", on_route("GET", "/Users", refuse_zero)))
    assert severities(outcome) == {"users.count_zero_ignored": Severity.WARN}
    assert "answered 400 Bad Request" in message(outcome, "users.count_zero_ignored")


def test_a_search_that_misses_an_existing_user_fails(tmp_path: Path) -> None:
    def find_nobody(request: Request, document: Any) -> Any:
        if "filter" in request.query:
            return {**document, "totalResults": 0, "itemsPerPage": 0, "Resources": []}
        return document

    outcome = diagnose(tmp_path, json_change("/Users", find_nobody))
    assert severities(outcome) == {
        "users.filter_misses_user": Severity.FAIL,
        "users.filter_case_sensitive": Severity.WARN,
    }
    assert "found no user (totalResults 0) although user" in message(
        outcome, "users.filter_misses_user"
    )


def test_a_search_without_matches_answered_404_breaks_an_rfc_shall_and_is_a_warning(
    tmp_path: Path,
) -> None:
    """RFC 7644 §3.4.2: no match SHALL be 200 with totalResults 0; Entra ID's Test connection
    trips on the 404 (the provider verdict makes it fail for Entra in a whole run)."""

    def not_found(request: Request, call_next: Handler) -> Response:
        response = call_next(request)
        if (
            "filter" in request.query
            and response.status == 200
            and not response.json()["totalResults"]
        ):
            return error_response(404, "User not found")
        return response

    outcome = diagnose(tmp_path, one_off("404", on_route("GET", "/Users", not_found)))
    assert outcome.status is Status.WARN
    assert severities(outcome) == {"users.empty_filter_404": Severity.WARN}


# --- directories the check cannot fully exercise -------------------------------------------------


def test_an_empty_directory_says_which_sub_checks_could_not_run(tmp_path: Path) -> None:
    outcome = diagnose(tmp_path, users_count=0)
    assert severities(outcome) == {"users.empty_directory": Severity.INFO}
    not_run = outcome.facts["subchecks_not_run"]
    assert set(not_run) == {
        "count_1",
        "start_index_2",
        "start_index_last",
        "filter_userName",
        "filter_userName_case",
    }
    assert set(not_run.values()) == {"the directory lists no users (totalResults 0)"}
    assert outcome.facts["subchecks_ran"] == ["list", "count_0", "filter_no_match"]
    assert "not run: count_1, start_index_2" in outcome.summary


def test_a_single_user_directory_runs_what_one_user_allows(tmp_path: Path) -> None:
    outcome = diagnose(tmp_path, users_count=1)
    assert outcome.findings == []
    assert outcome.facts["subchecks_not_run"] == {
        "count_1": "needs at least 2 users; totalResults 1",
        "start_index_2": "needs at least 2 users; totalResults 1",
    }


def test_a_smaller_page_size_declared_as_max_results_is_legal(tmp_path: Path) -> None:
    outcome = diagnose(tmp_path, capped_pages(1, declare=True))
    assert outcome.findings == [], outcome.findings
    assert outcome.facts["max_results"] == 1
    assert outcome.facts["page_sizes"]["/Users?startIndex=1&count=2"] == 1


def test_a_short_page_without_a_declared_limit_is_a_warning(tmp_path: Path) -> None:
    outcome = diagnose(tmp_path, capped_pages(1, declare=False))
    assert severities(outcome) == {"users.short_page": Severity.WARN}
    assert "count=2 returned 1 of totalResults 3 users" in message(outcome, "users.short_page")
    assert "declares filter.maxResults 100" in message(outcome, "users.short_page")


# --- end to end ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_scim_doctor_demo_names_each_users_fault(
    run_cli: Any, report_validator: Any, fault: Fault
) -> None:
    deep = ("--deep",) if any(code.startswith("users.deep_") for code in fault.expect) else ()
    result = run_cli("demo", "--fault", fault.name, "--only", "users", "--format", "json", *deep)
    report = result.json()
    assert_valid_report(report_validator, report)
    check = next(c for c in report["checks"] if c["id"] == "users")
    found = {f["code"]: catalogue_severity(f) for f in check["findings"]}
    assert {code: CATALOGUE[code].severity.value for code in fault.expect}.items() <= found.items()
    assert_one_verdict(report)
    assert "Traceback" not in result.stderr


def test_scim_doctor_check_passes_a_healthy_server_end_to_end(
    run_cli: Any, report_validator: Any, tmp_path: Path
) -> None:
    with DemoServer(TOKEN) as server:
        result = run_cli(
            "check", server.base_url, "--cacert", str(server.write_ca(tmp_path)),
            "--resolve", server.resolve_pin, "--only", "users", "--format", "json",
            env={"SCIM_TOKEN": TOKEN},
        )  # fmt: skip
    report = result.json()
    assert_valid_report(report_validator, report)
    check = next(c for c in report["checks"] if c["id"] == "users")
    assert result.exit_code == 0 and check["status"] == "pass", check
    assert TOKEN not in result.stdout + result.stderr
