"""What the discovery and errors checks add to scim.py's validators: declared capabilities,
list envelopes, cross-document checks and the sorting of error problems. One shape per test."""

from __future__ import annotations

import copy
from typing import Any

from scim_doctor.core.model import Severity
from scim_doctor.scim import validators as scim
from scim_doctor.scim.discovery import (
    check_resource_types,
    check_schemas,
    check_service_provider_config,
    declaration,
    judge_error,
    problem_text,
    read_list,
    summarize,
)
from scim_doctor.scim.validators import (
    ERROR,
    LIST_RESPONSE,
    RESOURCE_TYPE,
    SCHEMA,
    SERVICE_PROVIDER_CONFIG,
    USER,
    Problem,
)

# RFC 7643 §8.5, the specification's own example.
RFC_EXAMPLE: dict[str, Any] = {
    "schemas": [SERVICE_PROVIDER_CONFIG],
    "documentationUri": "http://example.com/help/scim.html",
    "patch": {"supported": True},
    "bulk": {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576},
    "filter": {"supported": True, "maxResults": 200},
    "changePassword": {"supported": True},
    "sort": {"supported": True},
    "etag": {"supported": True},
    "authenticationSchemes": [
        {
            "name": "OAuth Bearer Token",
            "description": "Authentication scheme using the OAuth Bearer Token Standard",
            "specUri": "http://www.rfc-editor.org/info/rfc6750",
            "type": "oauthbearertoken",
            "primary": True,
        }
    ],
}


def spc(**changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(RFC_EXAMPLE)
    for name, value in changes.items():
        if value is None:
            config.pop(name, None)
        else:
            config[name] = value
    return config


def listing(resources: list[Any], **extra: Any) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources),
        "Resources": resources,
        **extra,
    }


USER_TYPE = {
    "schemas": [RESOURCE_TYPE],
    "id": "User",
    "name": "User",
    "endpoint": "/Users",
    "schema": USER,
}
USER_SCHEMA = {
    "schemas": [SCHEMA],
    "id": USER,
    "name": "User",
    "attributes": [{"name": "userName", "type": "string"}, {"name": "active"}],
}


# --- ServiceProviderConfig ------------------------------------------------------------------------


def test_the_rfc_example_configuration_has_no_problem_and_its_capabilities_are_read() -> None:
    checked = check_service_provider_config(RFC_EXAMPLE)

    assert checked.problems == ()
    assert checked.declared == {
        "patch_supported": True,
        "bulk_supported": True,
        "filter_supported": True,
        "change_password_supported": True,
        "sort_supported": True,
        "etag_supported": True,
        "bulk_max_operations": 1000,
        "bulk_max_payload_size": 1048576,
        "max_results": 200,
        "authentication_schemes": ["oauthbearertoken"],
    }


def test_capabilities_are_read_whatever_the_case_of_the_attribute_names() -> None:
    checked = check_service_provider_config(spc(etag=None, eTag={"Supported": False}))

    assert checked.problems == ()
    assert checked.declared["etag_supported"] is False


def test_supported_as_the_string_true_is_named_by_its_full_path_and_not_taken_for_true() -> None:
    checked = check_service_provider_config(spc(patch={"supported": "true"}))

    assert len(checked.problems) == 1
    assert checked.problems[0].startswith('patch.supported is the string "true"')
    assert checked.declared["patch_supported"] is None


def test_a_missing_feature_leaves_its_capabilities_unknown() -> None:
    checked = check_service_provider_config(spc(bulk=None))

    assert checked.problems == ("bulk is missing (REQUIRED)",)
    assert checked.declared["bulk_supported"] is None
    assert checked.declared["bulk_max_operations"] is None


def test_a_negative_max_results_is_not_declared() -> None:
    assert declaration(spc(filter={"supported": True, "maxResults": -1}))["max_results"] is None


def test_an_empty_list_of_authentication_schemes_is_a_problem() -> None:
    checked = check_service_provider_config(spc(authenticationSchemes=[]))

    assert checked.problems == (
        "authenticationSchemes is empty: no authentication scheme is declared",
    )


def test_a_configuration_wrapped_in_a_list_response_is_flagged_but_still_read() -> None:
    checked = check_service_provider_config(listing([RFC_EXAMPLE]))

    assert checked.problems == (
        "the body is a ListResponse, but /ServiceProviderConfig is a single resource (RFC 7644 §4)",
    )
    assert checked.declared["max_results"] == 200


def test_nothing_is_declared_without_a_document() -> None:
    declared = declaration(None)

    assert declared["filter_supported"] is None
    assert declared["max_results"] is None
    assert declared["authentication_schemes"] == []


# --- problem texts --------------------------------------------------------------------------------


def problem(path: str, message: str) -> Problem:
    return Problem(path, Severity.FAIL, message, "RFC")


def test_a_problem_about_a_nested_attribute_names_its_full_path() -> None:
    text = problem_text(problem("$.Resources[0].endpoint", "endpoint is missing (REQUIRED)"))

    assert text == "Resources[0].endpoint is missing (REQUIRED)"


def test_a_problem_about_the_whole_document_is_left_as_it_is() -> None:
    assert problem_text(problem("$", "the body is an array")) == "the body is an array"


def test_a_problem_whose_message_does_not_start_with_the_name_is_prefixed_with_the_path() -> None:
    text = problem_text(problem("$.totalResults", "the page holds 2 resources"))

    assert text == "totalResults: the page holds 2 resources"


def test_summarize_counts_what_it_does_not_show() -> None:
    problems = [f"problem {n}" for n in range(9)]

    assert summarize(problems).endswith("problem 5; and 3 more")


# --- ListResponse envelope ----------------------------------------------------------------------


def test_a_bare_array_is_flagged_its_entries_kept_and_each_entry_checked() -> None:
    entry = {key: value for key, value in USER_TYPE.items() if key != "endpoint"}

    found = read_list([entry], RESOURCE_TYPE, scim.validate_resource_type)

    assert found.shape == "bare array"
    assert found.resources == (entry,)
    assert "bare JSON array" in found.problems[0]
    assert found.problems[1:] == ("[0].endpoint is missing (REQUIRED)",)


def test_a_single_resource_where_a_list_is_due_is_flagged() -> None:
    found = read_list(USER_TYPE, RESOURCE_TYPE, scim.validate_resource_type)

    assert found.shape == "single resource"
    assert found.resources == (USER_TYPE,)
    assert found.problems == ("the body is a single resource, not a ListResponse of all of them",)


def test_a_list_response_validates_its_entries_with_their_position() -> None:
    entry = {key: value for key, value in USER_TYPE.items() if key != "schema"}

    found = read_list(listing([entry]), RESOURCE_TYPE, scim.validate_resource_type)

    assert found.shape == "ListResponse"
    assert found.problems == ("Resources[0].schema is missing (REQUIRED)",)


def test_a_body_that_is_neither_object_nor_array_is_not_a_list() -> None:
    found = read_list("User", RESOURCE_TYPE, scim.validate_resource_type)

    assert found.shape == "not a list"
    assert found.resources == ()
    assert found.problems


# --- ResourceTypes --------------------------------------------------------------------------------


def test_resource_types_give_their_names_and_endpoints() -> None:
    group = {**USER_TYPE, "id": "Group", "name": "Group", "endpoint": "/Groups", "schema": "urn:g"}

    checked = check_resource_types(listing([USER_TYPE, group]))

    assert checked.problems == ()
    assert checked.names == ("User", "Group")
    assert checked.endpoints == {"User": "/Users", "Group": "/Groups"}


def test_resource_types_without_the_user_schema_are_flagged() -> None:
    group = {**USER_TYPE, "name": "Group", "endpoint": "/Groups", "schema": "urn:x:Group"}

    checked = check_resource_types(listing([group]))

    assert checked.problems == (f"no resource type has the core User schema {USER}",)


def test_no_resource_types_at_all_is_flagged() -> None:
    checked = check_resource_types(listing([]))

    assert checked.problems == ("no resource type is declared",)


# --- Schemas --------------------------------------------------------------------------------------


def test_schemas_with_the_user_schema_have_no_problem() -> None:
    checked = check_schemas(listing([USER_SCHEMA]))

    assert checked.problems == ()
    assert checked.ids == (USER,)


def test_schemas_without_the_user_schema_name_the_ones_found() -> None:
    group = {**USER_SCHEMA, "id": "urn:ietf:params:scim:schemas:core:2.0:Group"}

    checked = check_schemas(listing([group]))

    assert checked.problems == (
        f"the core User schema {USER} is not described "
        "(schemas: urn:ietf:params:scim:schemas:core:2.0:Group)",
    )


def test_a_user_schema_without_attributes_is_flagged() -> None:
    checked = check_schemas(listing([{**USER_SCHEMA, "attributes": []}]))

    assert checked.problems == (f"the User schema {USER} describes no attributes",)


def test_a_user_schema_that_does_not_describe_user_name_is_flagged() -> None:
    only_active = [{"name": "active", "type": "boolean", "multiValued": False}]

    checked = check_schemas(listing([{**USER_SCHEMA, "attributes": only_active}]))

    assert checked.problems == (f"the User schema {USER} does not describe userName",)


# --- Errors ---------------------------------------------------------------------------------------


def test_an_rfc_error_has_nothing_wrong() -> None:
    verdict = judge_error({"schemas": [ERROR], "status": "404", "detail": "User 1 not found"}, 404)

    assert verdict.not_scim is None
    assert verdict.status_not_string is None
    assert verdict.status_invalid == ()


def test_a_framework_error_envelope_is_not_a_scim_error_and_its_members_are_listed() -> None:
    verdict = judge_error({"timestamp": "2024-01-01", "status": 404, "error": "Not Found"}, 404)

    assert verdict.not_scim is not None
    assert verdict.not_scim.startswith(f"schemas is missing; it must list {ERROR}")
    assert verdict.not_scim.endswith("(members: error, status, timestamp)")


def test_schemas_as_a_string_is_not_a_scim_error() -> None:
    verdict = judge_error({"schemas": ERROR, "status": "500"}, 500)

    assert verdict.not_scim is not None
    assert "not an array" in verdict.not_scim


def test_a_json_array_is_not_a_scim_error() -> None:
    assert judge_error([], 404).not_scim is not None


def test_status_as_a_json_number_is_sorted_apart() -> None:
    verdict = judge_error({"schemas": [ERROR], "status": 404}, 404)

    assert verdict.status_not_string == 'status is the integer 404, not the string "404"'
    assert verdict.status_invalid == ()


def test_status_that_disagrees_with_the_http_status_is_invalid() -> None:
    verdict = judge_error({"schemas": [ERROR], "status": "400"}, 404)

    assert verdict.status_not_string is None
    assert verdict.status_invalid == ("status says 400 but the HTTP status line says 404",)


def test_a_missing_status_is_invalid() -> None:
    verdict = judge_error({"schemas": [ERROR], "scimType": "invalidFilter"}, 400)

    assert verdict.status_invalid == ("status is missing (REQUIRED)",)
    assert verdict.scim_type == "invalidFilter"


def _attribute(name: str, subs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"name": name, "type": "complex" if subs else "string"}
    node["multiValued"] = bool(subs)
    if subs:
        node["subAttributes"] = subs
    return node


def _schema(urn: str) -> dict[str, Any]:
    characteristics = [_attribute("name"), _attribute("type"), _attribute("caseExact")]
    nested = _attribute("subAttributes", characteristics)
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": urn,
        "name": "Schema",
        "attributes": [_attribute("attributes", [*characteristics, nested])],
    }


def test_the_schema_meta_schema_may_describe_sub_attributes_of_sub_attributes() -> None:
    """RFC 7643 §7: subAttributes has the same sub-attributes as attributes, so the schema of
    Schema resources (which django-scim2 lists in /Schemas) nests one level deeper by design."""
    meta = scim.validate_schema(_schema("urn:ietf:params:scim:schemas:core:2.0:Schema"))

    assert [p.message for p in meta] == []


def test_any_other_schema_that_nests_sub_attributes_twice_is_still_warned_about() -> None:
    other = scim.validate_schema(_schema("urn:example:params:scim:schemas:Widget"))

    assert [p.message for p in other] == [
        "a sub-attribute has sub-attributes (complex attributes nest one level only)"
    ]
