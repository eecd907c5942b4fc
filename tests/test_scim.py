"""The pure SCIM validators: every shape a server sends in the field, judged without a server.

Documents the demo server serves are the "healthy" baseline; each test breaks one thing. The
Hypothesis properties prove what probes rely on: no JSON whatsoever makes a validator raise,
and attribute-name case never matters (RFC 7643 §2.1).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scim_doctor.core.model import Severity
from scim_doctor.demo.scim_app import Request, ScimApp
from scim_doctor.scim import validators as scim

BASE = "https://scim.example.test/scim/v2"
FAIL, WARN, INFO = Severity.FAIL, Severity.WARN, Severity.INFO


def _served(path: str) -> Any:
    app = ScimApp("t", BASE)
    response = app.handle(Request("GET", f"/scim/v2{path}", (("authorization", "Bearer t"),)))
    return json.loads(response.body)


HEALTHY_LIST = _served("/Users?startIndex=1&count=2")
HEALTHY_USER = copy.deepcopy(HEALTHY_LIST["Resources"][0])
HEALTHY_CONFIG = _served("/ServiceProviderConfig")
HEALTHY_TYPES = _served("/ResourceTypes")
HEALTHY_SCHEMAS = _served("/Schemas")
HEALTHY_ERROR = _served("/Users/does-not-exist")


def user(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = copy.deepcopy(HEALTHY_USER)
    for key, value in changes.items():
        if value is _DROP:
            document.pop(key, None)
        else:
            document[key] = value
    return document


def listing(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = copy.deepcopy(HEALTHY_LIST)
    for key, value in changes.items():
        if value is _DROP:
            document.pop(key, None)
        else:
            document[key] = value
    return document


_DROP = object()


def at(problems: list[scim.Problem], path: str) -> list[scim.Problem]:
    return [p for p in problems if p.path == path]


def only(problems: list[scim.Problem], path: str) -> scim.Problem:
    found = at(problems, path)
    assert len(found) == 1, problems
    return found[0]


def check_user(document: Any, **options: Any) -> list[scim.Problem]:
    return scim.validate_user(document, base_url=BASE, **options)


# --- the demo's documents are the healthy baseline ---------------------------------------------


def test_the_demo_servers_documents_have_no_problems_even_in_strict_mode() -> None:
    def strict_user(document: Any) -> list[scim.Problem]:
        return scim.validate_user(document, base_url=BASE, strict=True)

    assert scim.validate_list_response(HEALTHY_LIST, count=2, item_validator=strict_user) == []
    assert scim.validate_list_response(HEALTHY_LIST, strict=True, item_validator=strict_user) == []
    assert scim.validate_service_provider_config(HEALTHY_CONFIG, strict=True) == []
    strict_type = lambda d: scim.validate_resource_type(d, strict=True)  # noqa: E731
    assert scim.validate_list_response(HEALTHY_TYPES, item_validator=strict_type) == []
    strict_schema = lambda d: scim.validate_schema(d, strict=True)  # noqa: E731
    assert scim.validate_list_response(HEALTHY_SCHEMAS, item_validator=strict_schema) == []
    assert scim.validate_error(HEALTHY_ERROR, http_status=404, strict=True) == []


# --- ListResponse ------------------------------------------------------------------------------


def test_a_bare_array_is_not_a_list_response() -> None:
    problem = only(scim.validate_list_response([HEALTHY_USER]), "$")
    assert (problem.severity, problem.kind) == (FAIL, "type")
    assert "bare JSON array (1 items)" in problem.message


def test_a_list_response_without_its_urn_fails_and_names_what_it_has() -> None:
    problems = scim.validate_list_response(listing(schemas=["urn:scim:schemas:core:1.0"]))
    problem = only(problems, "$.schemas")
    assert (problem.severity, problem.kind) == (FAIL, "schemas")
    assert "urn:scim:schemas:core:1.0" in problem.message and scim.LIST_RESPONSE in problem.message


def test_missing_schemas_is_a_required_failure() -> None:
    problem = only(scim.validate_list_response(listing(schemas=_DROP)), "$.schemas")
    assert (problem.severity, problem.kind) == (FAIL, "required")


def test_urns_and_attribute_names_match_case_insensitively_in_lenient_mode() -> None:
    document = {
        "SCHEMAS": [scim.LIST_RESPONSE.upper()],
        "TotalResults": 1,
        "resources": [HEALTHY_USER],
        "STARTINDEX": 1,
        "itemsperpage": 1,
    }
    assert scim.validate_list_response(document) == []


def test_strict_mode_notes_spellings_that_differ_in_case_as_info() -> None:
    problems = scim.validate_list_response(listing(totalresults=3, totalResults=_DROP), strict=True)
    problem = only(problems, "$.totalresults")
    assert (problem.severity, problem.kind) == (INFO, "case")


def test_missing_total_results_fails_as_required() -> None:
    problem = only(scim.validate_list_response(listing(totalResults=_DROP)), "$.totalResults")
    assert (problem.severity, problem.kind) == (FAIL, "required")


@pytest.mark.parametrize(
    ("value", "shown"),
    [("3", 'the string "3"'), (3.0, "the number 3.0"), (True, "true"), ([3], "an array of 1")],
)
@pytest.mark.parametrize("name", ["totalResults", "itemsPerPage", "startIndex"])
def test_paging_values_must_be_json_integers(name: str, value: Any, shown: str) -> None:
    problem = only(scim.validate_list_response(listing(**{name: value})), f"$.{name}")
    assert (problem.severity, problem.kind) == (FAIL, "type")
    assert problem.message == f"{name} is {shown}, not a JSON integer"
    assert "Okta" in problem.reference


def test_resources_may_be_absent_when_nothing_matches_or_count_is_zero() -> None:
    empty = {"schemas": [scim.LIST_RESPONSE], "totalResults": 0}
    assert scim.validate_list_response(empty) == []
    totals_only = {"schemas": [scim.LIST_RESPONSE], "totalResults": 3}
    assert scim.validate_list_response(totals_only, count=0) == []
    problem = only(scim.validate_list_response(totals_only), "$.Resources")
    assert (problem.severity, problem.kind) == (FAIL, "required")
    assert "totalResults is 3" in problem.message


def test_resources_that_is_not_an_array_or_holds_non_objects_fails() -> None:
    problem = only(scim.validate_list_response(listing(Resources={"a": 1})), "$.Resources")
    assert (problem.severity, problem.kind) == (FAIL, "type")
    problems = scim.validate_list_response(listing(Resources=[HEALTHY_USER, "x"], itemsPerPage=2))
    assert only(problems, "$.Resources[1]").severity is FAIL


def test_paging_values_that_contradict_the_page_are_warnings() -> None:
    problems = scim.validate_list_response(listing(itemsPerPage=10))
    problem = only(problems, "$.itemsPerPage")
    assert (problem.severity, problem.kind) == (WARN, "value")
    assert "itemsPerPage is 10 but the page holds 2 resources" in problem.message
    too_few = scim.validate_list_response(listing(totalResults=1, itemsPerPage=2))
    assert only(too_few, "$.totalResults").severity is WARN


def test_a_partial_page_needs_start_index_and_items_per_page() -> None:
    problems = scim.validate_list_response(listing(startIndex=_DROP, itemsPerPage=_DROP))
    assert {(p.path, p.severity, p.kind) for p in problems} == {
        ("$.startIndex", WARN, "required"),
        ("$.itemsPerPage", WARN, "required"),
    }


def test_start_index_zero_is_tolerated_only_on_an_empty_result() -> None:
    okta_style_empty = {"schemas": [scim.LIST_RESPONSE], "totalResults": 0, "startIndex": 0}
    assert scim.validate_list_response(okta_style_empty) == []
    assert only(scim.validate_list_response(okta_style_empty, strict=True), "$.startIndex")
    problem = only(scim.validate_list_response(listing(startIndex=0)), "$.startIndex")
    assert (problem.severity, problem.kind) == (WARN, "value")


def test_item_problems_are_reported_under_their_resource() -> None:
    document = listing(Resources=[HEALTHY_USER, user(id=_DROP)])
    problems = scim.validate_list_response(document, item_validator=check_user)
    assert [(p.path, p.kind) for p in problems] == [("$.Resources[1].id", "required")]


def test_attributes_sent_twice_in_different_case_are_ambiguous() -> None:
    problems = scim.validate_list_response(listing(totalresults=7))
    problem = only(problems, "$.totalresults")
    assert problem.severity is WARN and "'totalResults' and 'totalresults'" in problem.message


# --- User --------------------------------------------------------------------------------------


def test_a_user_without_id_fails() -> None:
    problem = only(check_user(user(id=_DROP)), "$.id")
    assert (problem.severity, problem.kind) == (FAIL, "required")


@pytest.mark.parametrize(("value", "kind"), [(42, "type"), ("", "value"), ("bulkId", "value")])
def test_an_id_must_be_a_non_empty_string_and_not_the_bulk_id_keyword(
    value: Any, kind: str
) -> None:
    problem = only(check_user(user(id=value)), "$.id")
    assert (problem.severity, problem.kind) == (FAIL, kind)


def test_a_user_without_user_name_fails_and_a_non_string_one_is_not_shown() -> None:
    assert only(check_user(user(userName=_DROP)), "$.userName").kind == "required"
    problem = only(check_user(user(userName=1234567)), "$.userName")
    assert problem.kind == "type" and "1234567" not in problem.message


def test_a_user_without_the_core_user_urn_fails() -> None:
    problem = only(check_user(user(schemas=[scim.ENTERPRISE_USER])), "$.schemas")
    assert (problem.severity, problem.kind) == (FAIL, "schemas")


def test_a_returned_password_fails_without_showing_the_value() -> None:
    problem = only(check_user(user(password="Secr3t!hash")), "$.password")
    assert (problem.severity, problem.kind) == (FAIL, "returned")
    assert "Secr3t" not in problem.message
    assert "§4.1.1" in problem.reference
    assert check_user(user(password=None)) == []


def test_meta_resource_type_must_be_user() -> None:
    problem = only(
        check_user(user(meta={**HEALTHY_USER["meta"], "resourceType": "Group"})),
        "$.meta.resourceType",
    )
    assert (problem.severity, problem.kind) == (FAIL, "value")
    lowercase = user(meta={**HEALTHY_USER["meta"], "resourceType": "user"})
    assert check_user(lowercase) == []
    assert only(check_user(lowercase, strict=True), "$.meta.resourceType").kind == "case"


def test_a_location_built_from_the_proxied_http_request_is_a_warning_with_the_cause() -> None:
    location = HEALTHY_USER["meta"]["location"].replace("https://", "http://")
    problems = check_user(user(meta={**HEALTHY_USER["meta"], "location": location}))
    problem = only(problems, "$.meta.location")
    assert (problem.severity, problem.kind) == (WARN, "value")
    assert (
        "http:// instead of https://" in problem.message and "X-Forwarded-Proto" in problem.message
    )
    assert HEALTHY_USER["id"] not in problem.message
    strict = check_user(user(meta={**HEALTHY_USER["meta"], "location": location}), strict=True)
    assert only(strict, "$.meta.location").severity is FAIL


def test_a_location_on_an_internal_host_names_that_host() -> None:
    location = "http://10.0.3.7:8080/scim/v2/Users/" + HEALTHY_USER["id"]
    problem = only(
        check_user(user(meta={"resourceType": "User", "location": location})), "$.meta.location"
    )
    assert "http://10.0.3.7:8080/scim/v2/Users/…" in problem.message
    assert "another host" in problem.message


def test_a_declared_extension_and_vendor_attributes_are_allowed() -> None:
    extended = user(
        schemas=[scim.USER, "urn:example:params:scim:schemas:extension:acme:2.0:User"],
        **{"urn:example:params:scim:schemas:extension:acme:2.0:User": {"badge": "42"}},
    )
    assert check_user(extended) == []
    assert check_user(user(costCenter="4711")) == []
    strict = check_user(user(costCenter="4711"), strict=True)
    assert only(strict, "$.costCenter").kind == "undeclared"


def test_an_undeclared_extension_is_a_warning() -> None:
    problems = check_user(user(**{scim.ENTERPRISE_USER: {"department": "R&D"}}))
    problem = only(problems, f'$["{scim.ENTERPRISE_USER}"]')
    assert (problem.severity, problem.kind) == (WARN, "undeclared")


def test_core_attributes_of_the_wrong_type_warn_leniently_and_fail_strictly() -> None:
    problem = only(check_user(user(active="true")), "$.active")
    assert (problem.severity, problem.kind) == (FAIL, "type")
    emails = only(check_user(user(emails="ada@example.com")), "$.emails")
    assert emails.severity is WARN and "ada@example.com" not in emails.message
    assert only(check_user(user(emails="x"), strict=True), "$.emails").severity is FAIL


def test_strict_mode_asks_for_meta() -> None:
    assert check_user(user(meta=_DROP)) == []
    assert only(check_user(user(meta=_DROP), strict=True), "$.meta").kind == "required"


def test_a_user_that_is_not_an_object_fails() -> None:
    problem = only(check_user("ada"), "$")
    assert (problem.severity, problem.kind) == (FAIL, "type")


# --- Error -------------------------------------------------------------------------------------


def test_an_integer_status_warns_leniently_and_fails_strictly() -> None:
    body = {"schemas": [scim.ERROR], "status": 404, "detail": "User not found"}
    problem = only(scim.validate_error(body, http_status=404), "$.status")
    assert (problem.severity, problem.kind) == (WARN, "type")
    assert problem.message == 'status is the integer 404, not the string "404"'
    assert only(scim.validate_error(body, strict=True), "$.status").severity is FAIL


def test_a_status_that_contradicts_the_status_line_is_a_warning() -> None:
    body = {"schemas": [scim.ERROR], "status": "400"}
    problem = only(scim.validate_error(body, http_status=404), "$.status")
    assert (problem.severity, problem.kind) == (WARN, "value")
    assert "400" in problem.message and "404" in problem.message


def test_an_error_without_status_or_urn_fails() -> None:
    problems = scim.validate_error({"detail": "nope"})
    assert {(p.path, p.kind) for p in problems} == {
        ("$.schemas", "required"),
        ("$.status", "required"),
    }
    assert (
        only(
            scim.validate_error({"schemas": [scim.ERROR], "status": "Not Found"}), "$.status"
        ).severity
        is FAIL
    )


def test_scim_type_must_be_an_rfc_keyword() -> None:
    body = {"schemas": [scim.ERROR], "status": "400", "scimType": "badFilter"}
    assert only(scim.validate_error(body), "$.scimType").severity is WARN
    body["scimType"] = "InvalidFilter"
    problem = only(scim.validate_error(body), "$.scimType")
    assert (problem.severity, problem.kind) == (INFO, "case")


# --- discovery documents -----------------------------------------------------------------------


def test_a_supported_flag_sent_as_a_string_fails() -> None:
    config = copy.deepcopy(HEALTHY_CONFIG)
    config["etag"]["supported"] = "true"
    problem = only(scim.validate_service_provider_config(config), "$.etag.supported")
    assert (problem.severity, problem.kind) == (FAIL, "type")


def test_a_missing_feature_warns_leniently_and_fails_strictly() -> None:
    config = copy.deepcopy(HEALTHY_CONFIG)
    del config["sort"]
    assert only(scim.validate_service_provider_config(config), "$.sort").severity is WARN
    assert (
        only(scim.validate_service_provider_config(config, strict=True), "$.sort").severity is FAIL
    )


def test_max_results_must_be_an_integer_and_is_read_case_insensitively() -> None:
    config = copy.deepcopy(HEALTHY_CONFIG)
    config["filter"]["maxResults"] = "100"
    assert only(scim.validate_service_provider_config(config), "$.filter.maxResults").kind == "type"
    assert scim.max_results(config) is None
    assert scim.max_results({"Filter": {"MAXRESULTS": 50}}) == 50
    assert scim.max_results(HEALTHY_CONFIG) == 100


def test_unsupported_bulk_may_omit_its_limits() -> None:
    config = copy.deepcopy(HEALTHY_CONFIG)
    config["bulk"] = {"supported": False}
    assert scim.validate_service_provider_config(config) == []
    config["bulk"] = {"supported": True}
    problems = scim.validate_service_provider_config(config)
    assert {p.path for p in problems} == {"$.bulk.maxOperations", "$.bulk.maxPayloadSize"}


def test_a_resource_type_needs_name_endpoint_and_schema() -> None:
    problems = scim.validate_resource_type({"schemas": [scim.RESOURCE_TYPE], "name": "User"})
    assert {(p.path, p.severity) for p in problems} == {("$.endpoint", FAIL), ("$.schema", FAIL)}
    relative = dict(HEALTHY_TYPES["Resources"][0], endpoint="Users")
    assert only(scim.validate_resource_type(relative), "$.endpoint").severity is WARN


def test_schema_attributes_need_known_types_and_keywords() -> None:
    schema = copy.deepcopy(HEALTHY_SCHEMAS["Resources"][0])
    schema["attributes"][0]["type"] = "text"
    schema["attributes"][1]["mutability"] = "sometimes"
    problems = scim.validate_schema(schema)
    assert only(problems, "$.attributes[0].type").severity is FAIL
    assert only(problems, "$.attributes[1].mutability").severity is WARN


def test_sub_attributes_nest_one_level_only() -> None:
    deep = {"name": "b", "type": "complex", "multiValued": False, "subAttributes": []}
    nested = {"name": "a", "type": "complex", "multiValued": False, "subAttributes": [deep]}
    schema = {"schemas": [scim.SCHEMA], "id": "urn:x", "attributes": [nested]}
    problem = only(scim.validate_schema(schema), "$.attributes[0].subAttributes[0].subAttributes")
    assert problem.severity is WARN


# --- helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("john.smith@example.com", "j***@e***.com"),
        ("JSmith", "J***"),
        ("ada@localhost", "a***"),
        ("", ""),
    ],
)
def test_personal_values_are_masked_but_recognisable(value: str, masked: str) -> None:
    assert scim.mask(value) == masked


def test_ids_that_look_like_emails_are_masked() -> None:
    assert scim.safe_id("ada@example.com") == "a***@e***.com"
    assert (
        scim.safe_id("2819c223-7f76-453a-919d-413861904646")
        == "2819c223-7f76-453a-919d-413861904646"
    )
    assert scim.safe_id(17) == "17"


@pytest.mark.parametrize(
    ("value", "number"),
    [(3, 3), ("3", 3), (" 3 ", 3), (3.0, 3), (3.5, None), (True, None), ("x", None)],
)
def test_lenient_int_reads_what_a_client_would(value: Any, number: int | None) -> None:
    assert scim.lenient_int(value) == number


# --- properties --------------------------------------------------------------------------------

_SCIM_KEYS = st.sampled_from(
    [
        "schemas", "id", "userName", "password", "meta", "location", "resourceType", "Resources",
        "totalResults", "startIndex", "itemsPerPage", "status", "scimType", "detail", "filter",
        "maxResults", "supported", "bulk", "authenticationSchemes", "attributes", "subAttributes",
        "type", "mutability", "schemaExtensions", "endpoint", "emails", "name", "active",
        scim.ENTERPRISE_USER, "TOTALRESULTS",
    ]
)  # fmt: skip
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from([scim.LIST_RESPONSE, scim.USER, scim.ERROR, BASE + "/Users/1", "404"])
)
JSON = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(_SCIM_KEYS | st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=40,
)

VALIDATORS = [
    lambda d, s: scim.validate_list_response(
        d, strict=s, item_validator=lambda u: check_user(u, strict=s)
    ),
    lambda d, s: scim.validate_list_response(d, strict=s, count=0),
    lambda d, s: check_user(d, strict=s),
    lambda d, s: scim.validate_error(d, http_status=400, strict=s),
    lambda d, s: scim.validate_service_provider_config(d, strict=s),
    lambda d, s: scim.validate_resource_type(d, strict=s),
    lambda d, s: scim.validate_schema(d, strict=s),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=JSON, strict=st.booleans())
def test_no_json_makes_a_validator_or_helper_raise_and_every_problem_is_well_formed(
    document: Any, strict: bool
) -> None:
    for validate in VALIDATORS:
        for problem in validate(document, strict):
            assert problem.path.startswith("$")
            assert isinstance(problem.severity, Severity)
            assert problem.message and problem.reference
            assert problem.kind in (
                "type", "required", "schemas", "value", "returned", "undeclared", "case",
            )  # fmt: skip
    scim.lenient_int(document)
    scim.schemas_of(document)
    scim.max_results(document)
    scim.safe_id(document)
    scim.describe(document)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_attribute_name_case_never_matters_for_a_valid_list(data: st.DataObject) -> None:
    def recase(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                data.draw(st.sampled_from([k, k.upper(), k.lower(), k.swapcase()])): recase(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [recase(item) for item in node]
        return node

    document = recase(HEALTHY_LIST)
    problems = scim.validate_list_response(document, count=2, item_validator=check_user)
    assert [p for p in problems if p.severity is not INFO] == []


@settings(max_examples=100, deadline=None)
@given(name=st.emails(), secret=st.text(alphabet="0123456789abcdef", min_size=12, max_size=20))
def test_no_message_ever_quotes_a_user_name_or_password(name: str, secret: str) -> None:
    password = f"pw-{secret}"
    broken = user(userName=[name], password=password, emails=name, displayName={"x": name})
    broken["meta"] = {"resourceType": "User", "location": name}
    broken["name"] = name
    broken["groups"] = [name]
    for problem in check_user(broken, strict=True):
        assert password not in problem.message
        assert name not in problem.message, problem
