"""The healthy demo server speaks SCIM 2.0 the way RFC 7644 and the identity providers expect."""

from __future__ import annotations

import uuid

import httpx

from scim_doctor.demo.scim_app import ERROR, LIST_RESPONSE, PATCH_OP, USER
from scim_doctor.demo.server import DemoServer
from tests.demo.conftest import TOKEN, scim_client


def _patch(*operations: dict[str, object]) -> dict[str, object]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def test_users_come_as_a_list_response_in_scim_json(client: httpx.Client) -> None:
    response = client.get("/Users")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/scim+json"
    body = response.json()
    assert body["schemas"] == [LIST_RESPONSE]
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (3, 1, 3)
    assert [user["userName"] for user in body["Resources"]] == [
        "ada.lovelace@example.com",
        "grace.hopper@example.com",
        "alan.turing@example.com",
    ]


def test_seeded_users_are_realistic_and_carry_no_password(client: httpx.Client) -> None:
    ada = client.get("/Users").json()["Resources"][0]

    assert ada["name"] == {
        "givenName": "Ada",
        "familyName": "Lovelace",
        "formatted": "Ada Lovelace",
    }
    assert ada["emails"] == [{"value": "ada.lovelace@example.com", "type": "work", "primary": True}]
    assert ada["active"] is True
    assert ada["schemas"] == [USER]
    assert "password" not in ada


def test_paging_walks_the_same_stable_order_one_based() -> None:
    with DemoServer(TOKEN, users=5) as server, scim_client(server) as client:
        everyone = [u["id"] for u in client.get("/Users").json()["Resources"]]
        page = client.get("/Users", params={"startIndex": 2, "count": 2}).json()

    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
    assert [u["id"] for u in page["Resources"]] == everyone[1:3]


def test_start_index_below_one_counts_as_one(client: httpx.Client) -> None:
    page = client.get("/Users", params={"startIndex": 0, "count": 1}).json()

    assert page["startIndex"] == 1
    assert page["Resources"][0]["userName"] == "ada.lovelace@example.com"


def test_count_zero_returns_only_the_total(client: httpx.Client) -> None:
    page = client.get("/Users", params={"count": 0}).json()

    assert page["totalResults"] == 3
    assert page["itemsPerPage"] == 0
    assert "Resources" not in page


def test_pages_are_capped_at_max_results_100() -> None:
    with DemoServer(TOKEN, users=120) as server, scim_client(server) as client:
        first = client.get("/Users", params={"count": 1000}).json()
        last = client.get("/Users", params={"startIndex": 101, "count": 100}).json()

    assert (first["totalResults"], first["itemsPerPage"], len(first["Resources"])) == (
        120,
        100,
        100,
    )
    assert (last["itemsPerPage"], len(last["Resources"])) == (20, 20)


def test_username_filter_ignores_case_of_attribute_and_value(client: httpx.Client) -> None:
    response = client.get("/Users", params={"filter": 'USERNAME eq "Ada.Lovelace@EXAMPLE.com"'})

    body = response.json()
    assert response.status_code == 200
    assert body["totalResults"] == 1
    assert body["Resources"][0]["userName"] == "ada.lovelace@example.com"


def test_filters_join_with_and_over_email_and_active(client: httpx.Client) -> None:
    text = 'emails.value eq "grace.hopper@example.com" and active eq true'

    body = client.get("/Users", params={"filter": text}).json()

    assert [u["userName"] for u in body["Resources"]] == ["grace.hopper@example.com"]


def test_external_id_filter_is_case_exact(client: httpx.Client) -> None:
    ada = client.get("/Users").json()["Resources"][0]

    exact = client.get("/Users", params={"filter": f'externalId eq "{ada["externalId"]}"'}).json()
    upper = client.get(
        "/Users", params={"filter": f'externalId eq "{ada["externalId"].upper()}"'}
    ).json()

    assert exact["totalResults"] == 1
    assert upper["totalResults"] == 0


def test_entra_test_connection_query_gets_an_empty_list_response(client: httpx.Client) -> None:
    response = client.get("/Users", params={"filter": f'userName eq "{uuid.uuid4()}"'})

    assert response.status_code == 200
    assert response.json() == {
        "schemas": [LIST_RESPONSE],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }


def test_unsupported_filter_operator_is_400_invalid_filter(client: httpx.Client) -> None:
    response = client.get("/Users", params={"filter": 'userName co "ada"'})

    body = response.json()
    assert response.status_code == 400
    assert (body["status"], body["scimType"]) == ("400", "invalidFilter")
    assert "'co'" in body["detail"]


def test_or_filter_is_400_invalid_filter(client: httpx.Client) -> None:
    text = 'userName eq "a@example.com" or userName eq "b@example.com"'

    response = client.get("/Users", params={"filter": text})

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_missing_token_is_401_with_a_bearer_challenge(server: DemoServer) -> None:
    with scim_client(server, token=None) as anonymous:
        response = anonymous.get("/Users")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="scim-doctor-demo"'
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == "401"


def test_wrong_token_is_401_and_never_echoed(server: DemoServer) -> None:
    with scim_client(server, token="not-the-token") as intruder:
        response = intruder.get("/Users")

    assert response.status_code == 401
    assert response.json()["status"] == "401"
    assert "not-the-token" not in response.text
    assert TOKEN not in response.text


def test_okta_non_token_authorization_is_401(client: httpx.Client) -> None:
    response = client.get("/Users", headers={"Authorization": "non-token"})

    assert response.status_code == 401
    assert response.json()["status"] == "401"


def test_unknown_user_is_404_scim_error_with_string_status(client: httpx.Client) -> None:
    response = client.get(f"/Users/{uuid.uuid4()}")

    body = response.json()
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/scim+json"
    assert body["schemas"] == [ERROR]
    assert body["status"] == "404"


def test_unknown_path_under_the_base_is_404_scim_error(client: httpx.Client) -> None:
    response = client.get("/Accounts")

    assert response.status_code == 404
    assert response.json()["status"] == "404"


def test_accept_header_for_html_is_refused_with_406(client: httpx.Client) -> None:
    response = client.get("/Users", headers={"Accept": "text/html"})

    assert response.status_code == 406
    assert response.json()["status"] == "406"


def test_accept_scim_json_and_plain_json_are_both_served(client: httpx.Client) -> None:
    scim = client.get("/Users", headers={"Accept": "application/scim+json"})
    plain = client.get("/Users", headers={"Accept": "application/json"})

    assert (scim.status_code, plain.status_code) == (200, 200)
    assert plain.headers["content-type"] == "application/scim+json"


def test_created_user_has_location_etag_meta_and_no_password(
    client: httpx.Client, server: DemoServer
) -> None:
    response = client.post(
        "/Users",
        json={"schemas": [USER], "userName": "linus@example.com", "password": "hunter2"},
    )

    created = response.json()
    assert response.status_code == 201
    assert response.headers["location"] == created["meta"]["location"]
    assert created["meta"]["location"] == f"{server.base_url}/Users/{created['id']}"
    assert response.headers["etag"] == created["meta"]["version"]
    assert created["meta"]["version"].startswith('W/"')
    assert created["meta"]["resourceType"] == "User"
    assert created["active"] is True
    assert "password" not in created
    assert "hunter2" not in response.text
    assert client.get(f"/Users/{created['id']}").json() == created


def test_duplicate_username_is_409_uniqueness_regardless_of_case(client: httpx.Client) -> None:
    response = client.post(
        "/Users", json={"schemas": [USER], "userName": "ADA.LOVELACE@example.com"}
    )

    body = response.json()
    assert response.status_code == 409
    assert (body["status"], body["scimType"]) == ("409", "uniqueness")


def test_user_without_username_is_400_invalid_value(client: httpx.Client) -> None:
    response = client.post("/Users", json={"schemas": [USER], "displayName": "Nobody"})

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


def test_entra_patch_with_capitalised_op_and_string_false_deactivates(
    client: httpx.Client,
) -> None:
    ada = client.get("/Users").json()["Resources"][0]

    response = client.patch(
        f"/Users/{ada['id']}", json=_patch({"op": "Replace", "path": "active", "value": "False"})
    )

    assert response.status_code == 200
    assert response.json()["active"] is False
    assert response.headers["etag"] != ada["meta"]["version"]
    assert client.get(f"/Users/{ada['id']}").json()["active"] is False


def test_entra_patch_updates_work_email_and_name_without_path(client: httpx.Client) -> None:
    ada = client.get("/Users").json()["Resources"][0]

    response = client.patch(
        f"/Users/{ada['id']}",
        json=_patch(
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "ada@example.org"},
            {"op": "Replace", "value": {"name.familyName": "King", "displayName": "Ada King"}},
        ),
    )

    user = response.json()
    assert user["emails"] == [{"value": "ada@example.org", "type": "work", "primary": True}]
    assert user["name"]["familyName"] == "King"
    assert user["displayName"] == "Ada King"


def test_group_membership_patches_answer_204(client: httpx.Client) -> None:
    group = client.get("/Groups").json()["Resources"][0]
    newcomer = client.post("/Users", json={"schemas": [USER], "userName": "new@example.com"}).json()

    added = client.patch(
        f"/Groups/{group['id']}",
        json=_patch({"op": "Add", "path": "members", "value": [{"value": newcomer["id"]}]}),
    )
    after_add = client.get(f"/Groups/{group['id']}").json()
    removed = client.patch(
        f"/Groups/{group['id']}",
        json=_patch({"op": "Remove", "path": f'members[value eq "{newcomer["id"]}"]'}),
    )
    after_remove = client.get(f"/Groups/{group['id']}").json()

    assert (added.status_code, removed.status_code) == (204, 204)
    assert newcomer["id"] in [m["value"] for m in after_add["members"]]
    assert newcomer["id"] not in [m["value"] for m in after_remove["members"]]
    assert len(after_remove["members"]) == len(group["members"])


def test_put_replaces_the_user_but_keeps_id_and_created(client: httpx.Client) -> None:
    grace = client.get("/Users").json()["Resources"][1]

    response = client.put(
        f"/Users/{grace['id']}",
        json={"schemas": [USER], "userName": grace["userName"], "active": False},
    )

    replaced = response.json()
    assert response.status_code == 200
    assert replaced["id"] == grace["id"]
    assert replaced["meta"]["created"] == grace["meta"]["created"]
    assert "emails" not in replaced
    assert replaced["active"] is False


def test_stale_if_match_is_412(client: httpx.Client) -> None:
    ada = client.get("/Users").json()["Resources"][0]

    response = client.delete(f"/Users/{ada['id']}", headers={"If-Match": 'W/"stale"'})

    assert response.status_code == 412
    assert response.json()["status"] == "412"


def test_deleted_user_is_gone_and_leaves_its_groups(client: httpx.Client) -> None:
    ada = client.get("/Users").json()["Resources"][0]

    deleted = client.delete(f"/Users/{ada['id']}")

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert client.get(f"/Users/{ada['id']}").status_code == 404
    members = client.get("/Groups").json()["Resources"][0]["members"]
    assert ada["id"] not in [m["value"] for m in members]


def test_service_provider_config_advertises_what_the_server_does(client: httpx.Client) -> None:
    config = client.get("/ServiceProviderConfig").json()

    assert config["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert config["patch"] == {"supported": True}
    assert config["bulk"]["supported"] is False
    assert config["filter"] == {"supported": True, "maxResults": 100}
    assert config["changePassword"] == {"supported": False}
    assert config["sort"] == {"supported": False}
    assert config["etag"] == {"supported": True}
    assert [s["type"] for s in config["authenticationSchemes"]] == ["oauthbearertoken"]


def test_resource_types_list_users_and_groups(client: httpx.Client) -> None:
    body = client.get("/ResourceTypes").json()

    assert body["schemas"] == [LIST_RESPONSE]
    assert body["totalResults"] == 2
    assert {(r["name"], r["endpoint"], r["schema"]) for r in body["Resources"]} == {
        ("User", "/Users", USER),
        ("Group", "/Groups", "urn:ietf:params:scim:schemas:core:2.0:Group"),
    }


def test_schemas_describe_the_core_user_with_its_attributes(client: httpx.Client) -> None:
    body = client.get("/Schemas").json()
    user = client.get(f"/Schemas/{USER}").json()

    assert body["schemas"] == [LIST_RESPONSE]
    assert USER in [schema["id"] for schema in body["Resources"]]
    attributes = {attribute["name"]: attribute for attribute in user["attributes"]}
    assert attributes["userName"]["required"] is True
    assert attributes["userName"]["uniqueness"] == "server"
    assert attributes["password"]["returned"] == "never"
    assert {"name", "displayName", "active", "emails"} <= set(attributes)


def test_filtering_a_discovery_endpoint_is_403(client: httpx.Client) -> None:
    response = client.get("/Schemas", params={"filter": 'id eq "x"'})

    assert response.status_code == 403
    assert response.json()["status"] == "403"
