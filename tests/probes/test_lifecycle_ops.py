"""The lifecycle judged the way identity providers write (issue 18, items 2-5), against the real
demo server on loopback: only declared attributes are changed, each judged on its own; PATCH
remove, group members in each provider's form, an unknown member id; one cause, one finding, and
fixes chosen from what the server answered. What the server received is read from the server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.core.model import Severity
from scim_doctor.demo.fault_kit import Fault, on_route
from scim_doctor.demo.scim_app import Handler, Request, Response, error_response
from scim_doctor.demo.server import DemoServer, RecordedRequest
from scim_doctor.lifecycle.attributes import MAPPED, plan_from
from tests.http.helpers import TOKEN
from tests.probes.test_lifecycle import codes, message, run_probe, writes_ctx

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def run_against(tmp_path: Path, fault: str | Fault | None) -> tuple[Any, list[RecordedRequest]]:
    """The lifecycle's outcome and every request the server received."""
    with DemoServer(TOKEN, fault=fault) as server:
        outcome = run_probe(writes_ctx(server, server.write_ca(tmp_path)))
        return outcome, server.received


def patches(received: list[RecordedRequest], endpoint: str) -> list[list[dict[str, Any]]]:
    """The Operations of every PATCH to `endpoint` (Users or Groups), in order."""
    return [
        json.loads(r.body)["Operations"]
        for r in received
        if r.method == "PATCH" and f"/{endpoint}/" in r.path
    ]


def finding(outcome: Any, code: str) -> Any:
    return next(f for f in outcome.findings if f.code == code)


# --- which attributes are changed (item 2) ------------------------------------------------------


def test_given_a_server_that_does_not_declare_display_name_then_dropping_it_is_no_problem(
    tmp_path: Path,
) -> None:
    outcome, received = run_against(tmp_path, "lifecycle_undeclared_attribute_ignored")

    assert outcome.status.value == "pass", outcome.findings
    assert codes(outcome) == ["lifecycle.attributes_not_declared", "lifecycle.writes_made"]
    note = finding(outcome, "lifecycle.attributes_not_declared")
    assert note.severity is Severity.INFO
    assert "displayName: not declared in the User schema of /Schemas" in note.message
    assert "(the server dropped it from the created user)" in note.message
    assert "RFC 7643 §7" in note.message
    sent_paths = {op.get("path") for ops in patches(received, "Users") for op in ops}
    assert "displayName" not in sent_paths and "name.givenName" in sent_paths
    facts = outcome.facts["attributes"]
    assert facts["left_alone"] == [
        {"attribute": "displayName", "why": "not declared in the User schema of /Schemas"}
    ]
    assert facts["dropped_on_create"] == ["displayName"]


def test_given_no_schemas_then_the_five_default_mapping_attributes_are_changed(
    tmp_path: Path,
) -> None:
    def no_schemas(request: Request, call_next: Handler) -> Response:
        return error_response(404, "No SCIM endpoint here")

    fault = Fault("no_schemas", "", "http", (), middleware=on_route("GET", "/Schemas", no_schemas))
    outcome, received = run_against(tmp_path, fault)

    assert codes(outcome) == ["lifecycle.writes_made"]
    attributes = outcome.facts["attributes"]
    assert attributes["declared_by"].startswith("the providers' default mappings (GET /Schemas")
    assert attributes["writable"] == list(MAPPED)
    entra_paths = [op["path"] for op in patches(received, "Users")[0]]
    assert entra_paths == ["active", "displayName", "name.givenName", "name.familyName"]


def test_given_a_put_answered_200_but_ignored_then_each_attribute_is_named_and_no_webdav_advice(
    tmp_path: Path,
) -> None:
    outcome, _ = run_against(tmp_path, "lifecycle_put_ignored")

    put = finding(outcome, "lifecycle.put_failed")
    assert "answered 200 OK, but the replacement was not applied" in put.message
    for name in ("displayName", "name.givenName", "name.familyName"):
        assert f"{name} is the string" in put.message
    assert "webdav" not in put.remediation.lower()
    applied = outcome.facts["attributes"]["applied"]["put_user"]
    assert all(entry["applied"] is False for entry in applied)


def test_given_a_put_refused_405_by_iis_then_the_webdav_fix_is_given(tmp_path: Path) -> None:
    def iis(request: Request, call_next: Handler) -> Response:
        return Response(405, (("Allow", "GET, POST"), ("Server", "Microsoft-IIS/10.0")), b"")

    fault = Fault("iis", "", "http", (), middleware=on_route("PUT", "*", iis))
    outcome, _ = run_against(tmp_path, fault)

    put = finding(outcome, "lifecycle.put_failed")
    assert "'Microsoft-IIS/10.0': IIS's WebDAV module" in put.message
    assert "WebDAVModule" in put.remediation


def test_given_a_put_refused_405_without_iis_then_no_webdav_is_mentioned(tmp_path: Path) -> None:
    outcome, _ = run_against(tmp_path, "lifecycle_put_not_allowed")

    put = finding(outcome, "lifecycle.put_failed")
    assert "405 Method Not Allowed (Allow: GET, PATCH, DELETE)" in put.message
    assert "webdav" not in (put.message + put.remediation).lower()


def test_the_plan_leaves_read_only_attributes_alone_and_never_removes_a_required_one() -> None:
    schema = {
        "id": USER,
        "attributes": [
            {"name": "userName", "required": True},
            {"name": "displayName"},
            {"name": "active", "mutability": "readOnly"},
            {"name": "name", "subAttributes": [{"name": "givenName", "required": True}]},
        ],
    }

    plan = plan_from({"Resources": [schema]}, "/Schemas")

    assert plan.writable == ("name.givenName", "displayName")
    assert plan.left_out == {
        "active": "declared readOnly",
        "name.familyName": "not declared in the User schema of /Schemas",
        "emails": "not declared in the User schema of /Schemas",
    }
    assert plan.removable == "displayName"


def test_a_complex_attribute_declared_without_its_sub_attributes_covers_them() -> None:
    schema = {"id": USER, "attributes": [{"name": "userName"}, {"name": "name"}]}

    plan = plan_from([schema], "/Schemas")

    assert plan.writable == ("name.givenName", "name.familyName")


# --- the operations providers send (item 3) ----------------------------------------------------


def test_a_healthy_server_gets_each_group_member_change_in_each_providers_form(
    tmp_path: Path,
) -> None:
    outcome, received = run_against(tmp_path, None)

    assert codes(outcome) == ["lifecycle.writes_made"]
    user = next(c["id"] for c in outcome.facts["created"] if c["step"] == "create_user")
    sent = patches(received, "Groups")
    assert [ops[0]["op"] for ops in sent] == ["add", "remove", "Add", "Remove", "replace", "add"]
    assert sent[1] == [{"op": "remove", "path": f'members[value eq "{user}"]'}]
    assert sent[3] == [
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": user}]}
    ]
    assert sent[4][0]["path"] == "members" and sent[4][0]["value"][0]["value"] == user
    assert sent[5][0]["value"][0]["value"] not in {c["id"] for c in outcome.facts["created"]}
    assert patches(received, "Users")[-1] == [{"op": "remove", "path": "name.givenName"}]


def test_given_a_remove_answered_200_but_ignored_then_it_is_a_warning_naming_the_attribute(
    tmp_path: Path,
) -> None:
    outcome, _ = run_against(tmp_path, "lifecycle_patch_remove_ignored")

    removal = finding(outcome, "lifecycle.attribute_remove_failed")
    assert removal.severity is Severity.WARN
    assert '{"op": "remove", "path": "name.givenName"} answered 200 OK' in removal.message
    assert "name.givenName still has a value, expected it removed" in removal.message


def test_given_entras_remove_read_the_rfc_way_then_every_member_going_is_reported(
    tmp_path: Path,
) -> None:
    outcome, _ = run_against(tmp_path, "lifecycle_group_remove_removes_all")

    text = message(outcome, "lifecycle.group_member_entra_failed")
    assert "in Entra ID's default form" in text
    assert "the other test user (id" in text and "is not a member" in text
    assert "the request removed every member, not only the one it named" in text
    assert outcome.facts["group_dialects"] == {"rfc": True, "entra": False, "okta": True}


def test_given_oktas_replace_treated_as_add_then_the_kept_member_is_named(tmp_path: Path) -> None:
    outcome, _ = run_against(tmp_path, "lifecycle_group_replace_adds")

    text = message(outcome, "lifecycle.group_members_replace_failed")
    assert "the other test user (id" in text and "is still a member" in text
    assert "replace added to the members instead of replacing them" in text


def test_given_an_unknown_member_answered_500_then_it_fails_with_the_servers_answer(
    tmp_path: Path,
) -> None:
    outcome, _ = run_against(tmp_path, "lifecycle_unknown_member_500")

    crash = finding(outcome, "lifecycle.unknown_member_server_error")
    assert crash.severity is Severity.FAIL
    assert "answered 500 Internal Server Error" in crash.message
    assert "NullReferenceException" in crash.message
    assert outcome.facts["steps"]["group_add_unknown_member"] == {"status": 500, "ok": False}


def test_given_an_unknown_member_accepted_then_nothing_is_reported(tmp_path: Path) -> None:
    """Both healthy real servers of the tests store it; only a 5xx is a problem."""
    outcome, _ = run_against(tmp_path, None)

    assert outcome.facts["steps"]["group_add_unknown_member"] == {"status": 204, "ok": True}


# --- one cause, one finding (item 4) ---------------------------------------------------------


def test_given_group_patches_ignored_then_only_the_rfc_form_is_reported_and_the_rest_not_tried(
    tmp_path: Path,
) -> None:
    outcome, received = run_against(tmp_path, "lifecycle_group_patch_ignored")

    assert codes(outcome) == ["lifecycle.group_member_failed", "lifecycle.writes_made"]
    assert len(patches(received, "Groups")) == 1
    not_tried = outcome.facts["not_tried"]
    assert set(not_tried) == {
        "group_add_member_entra",
        "group_replace_members",
        "group_add_unknown_member",
    }
    assert outcome.facts["group_dialects"] == {"rfc": False, "entra": None, "okta": None}


def test_given_patch_refused_everywhere_then_the_removal_is_not_tried_on_top(
    tmp_path: Path,
) -> None:
    def refuse(request: Request, call_next: Handler) -> Response:
        return error_response(400, "PATCH is not supported", "invalidSyntax")

    fault = Fault("no_patch", "", "http", (), middleware=on_route("PATCH", "/Users/*", refuse))
    outcome, _ = run_against(tmp_path, fault)

    assert "lifecycle.attribute_remove_failed" not in codes(outcome)
    assert outcome.facts["not_tried"]["patch_remove"] == (
        "the RFC 7644 PATCH of the user already failed"
    )
