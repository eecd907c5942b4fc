"""`scim-doctor cleanup`: finds scim-doctor's test resources by name and deletes only those, on
the demo server (which refuses `sw`, so the sweep pages) and on scripted servers (one that
supports the filter, one that ignores it and returns everybody, one that refuses deletes)."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scim_doctor.core.secrets import Secret
from scim_doctor.demo.server import DemoServer
from scim_doctor.lifecycle import cleanup
from scim_doctor.net.context import Options
from scim_doctor.net.target import ResolvePin, parse_base_url
from scim_doctor.net.trust import Trust, load_trust
from tests.http.helpers import TOKEN
from tests.support import probe_harness
from tests.support.probe_harness import SCIM_JSON
from tests.support.scripted_server import Recorded, Reply, ScriptedServer

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    probe_harness.connect_directly(monkeypatch)


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["scim-doctor-0123abcd@example.com", "scim-doctor-0123abcd", "scim-doctor-ffffffff"],
)
def test_names_scim_doctor_makes_are_recognised(name: str) -> None:
    assert cleanup.is_test_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "scim-doctor-admin@example.com",
        "scim-doctor-0123abcd@corp.example.net",
        "scim-doctor-0123ABCD",
        "scim-doctor-0123abcd-put",
        "xscim-doctor-0123abcd",
        "ada.lovelace@example.com",
    ],
)
def test_lookalike_names_are_never_taken_for_test_data(name: str) -> None:
    assert not cleanup.is_test_name(name)


def test_each_run_gets_fresh_names_with_the_prefix() -> None:
    first, second = cleanup.test_names(cleanup.new_tag()), cleanup.test_names(cleanup.new_tag())
    assert first != second
    assert all(cleanup.is_test_name(name) for name in (*first, *second))


# --- against the demo server (no `sw` filter: the sweep pages) --------------------------------


def _sweep(server: DemoServer | ScriptedServer, trust: Trust, **kwargs: Any) -> Any:
    if isinstance(server, DemoServer):
        base = server.base_url
        pins: tuple[ResolvePin, ...] = (ResolvePin(server.hostname, server.port, server.bind),)
    else:
        base, pins = server.url("/scim/v2", host="localhost"), ()
    options = Options(timeout=3.0, deadline=20.0, resolve=pins)
    return cleanup.run(parse_base_url(base), options, Secret(TOKEN), trust, **kwargs)


def _client(server: DemoServer, ca: Path) -> httpx.Client:
    return httpx.Client(
        base_url=f"https://127.0.0.1:{server.port}/scim/v2",
        verify=ssl.create_default_context(cafile=str(ca)),
        trust_env=False,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )


def _seed(server: DemoServer, ca: Path) -> dict[str, str]:
    """Two runs' leftovers and one lookalike; returns name -> id."""
    ids = {}
    with _client(server, ca) as client:
        for name in (
            "scim-doctor-0123abcd@example.com",
            "scim-doctor-4567cdef@example.com",
            "scim-doctor-admin@example.com",
        ):
            created = client.post("/Users", json={"schemas": [USER], "userName": name})
            ids[name] = created.json()["id"]
        group = client.post(
            "/Groups", json={"schemas": [GROUP], "displayName": "scim-doctor-0123abcd"}
        )
        ids["scim-doctor-0123abcd"] = group.json()["id"]
    return ids


def _names(server: DemoServer, ca: Path) -> set[str]:
    """Every user and group name on the server (read page by page by the test itself)."""
    names: set[str] = set()
    with _client(server, ca) as client:
        for endpoint, attribute in (("Users", "userName"), ("Groups", "displayName")):
            start = 1
            while (
                page := client.get(f"/{endpoint}?startIndex={start}&count=100")
                .json()
                .get("Resources")
            ):
                names |= {resource[attribute] for resource in page}
                start += len(page)
    return names


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[DemoServer, Path]]:
    with DemoServer(TOKEN, users=120) as server:
        yield server, server.write_ca(tmp_path)


def test_the_sweep_pages_when_sw_is_refused_and_deletes_only_test_data(
    demo: tuple[DemoServer, Path],
) -> None:
    server, ca = demo
    ids = _seed(server, ca)
    before = _names(server, ca)

    result = _sweep(server, load_trust(ca))

    assert {(f.kind, f.name) for f in result.found} == {
        ("User", "scim-doctor-0123abcd@example.com"),
        ("User", "scim-doctor-4567cdef@example.com"),
        ("Group", "scim-doctor-0123abcd"),
    }
    assert result.found[0].kind == "Group"  # groups first: they reference users
    assert all(r.gone and r.status == 204 for r in result.removals)
    assert "paging through /Users (the filter was refused: " in result.searched["/Users"]
    assert "400 Bad Request (invalidFilter)" in result.searched["/Users"]
    assert [(i.name, i.id) for i in result.lookalikes] == [
        ("scim-doctor-admin@example.com", ids["scim-doctor-admin@example.com"])
    ]
    after = _names(server, ca)
    assert before - after == {n for n in ids if cleanup.is_test_name(n)}
    assert "scim-doctor-admin@example.com" in after
    assert len(after) == 122  # 120 seeded users (two pages), the lookalike, the seeded group
    assert result.exit_code == 0


def test_a_dry_run_lists_test_data_and_deletes_nothing(demo: tuple[DemoServer, Path]) -> None:
    server, ca = demo
    _seed(server, ca)

    result = _sweep(server, load_trust(ca), dry_run=True)

    assert len(result.found) == 3
    assert result.removals == ()
    assert not any(r.method == "DELETE" for r in server.received)
    text = result.render_text()
    assert "(dry run)" in text and "would delete 3 test resource(s)" in text
    assert "not deleted (dry run)" in text


def test_a_server_with_nothing_left_is_reported_clean(demo: tuple[DemoServer, Path]) -> None:
    server, ca = demo

    result = _sweep(server, load_trust(ca))

    assert result.found == () and result.exit_code == 0
    assert "No scim-doctor test resources found." in result.render_text()


# --- scripted servers ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trust(tmp_path_factory: pytest.TempPathFactory) -> Trust:
    return probe_harness.loopback_trust(tmp_path_factory.mktemp("cleanup-trust"))


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    with probe_harness.scripted_server() as server:
        yield server


def _list(resources: list[dict[str, Any]]) -> Reply:
    body = {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
    return probe_harness.scim(body)


def _serve(
    server: ScriptedServer,
    users: list[dict[str, Any]],
    *,
    delete: Reply | None = None,
) -> None:
    server.route("/scim/v2/Users", _list(users))
    server.route("/scim/v2/Groups", _list([]))

    def deletes(request: Recorded) -> Reply:
        if request.method == "DELETE":
            return delete or Reply(204)
        return Reply(404, SCIM_JSON, b"{}")

    server.default(deletes)


TEST_USER = {"schemas": [USER], "id": "u-1", "userName": "scim-doctor-0123abcd@example.com"}


def test_a_server_that_supports_sw_is_searched_by_filter(
    scripted: ScriptedServer, trust: Trust
) -> None:
    _serve(scripted, [TEST_USER])

    result = _sweep(scripted, trust)

    assert result.searched["/Users"] == 'filter userName sw "scim-doctor-"'
    [listing] = [r.target for r in scripted.requests if r.path == "/scim/v2/Users"]
    assert listing.startswith("/scim/v2/Users?filter=userName%20sw%20%22scim-doctor-%22&")
    assert [r.target for r in scripted.requests if r.method == "DELETE"] == ["/scim/v2/Users/u-1"]
    assert result.exit_code == 0


def test_a_server_that_ignores_the_filter_loses_only_test_data(
    scripted: ScriptedServer, trust: Trust
) -> None:
    everybody = [
        {"schemas": [USER], "id": "real-1", "userName": "ada.lovelace@example.com"},
        {"schemas": [USER], "id": "real-2", "userName": "scim-doctor-admin@example.com"},
        TEST_USER,
    ]
    _serve(scripted, everybody)

    result = _sweep(scripted, trust)

    assert [r.target for r in scripted.requests if r.method == "DELETE"] == ["/scim/v2/Users/u-1"]
    assert [i.id for i in result.lookalikes] == ["real-2"]
    assert "left alone: User scim-doctor-admin@example.com (id real-2)" in result.render_text()


def test_a_refused_delete_is_listed_with_its_id_and_fails_the_command(
    scripted: ScriptedServer, trust: Trust
) -> None:
    refusal = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "403",
        "detail": "deactivate instead",
    }
    _serve(scripted, [TEST_USER], delete=probe_harness.scim(refusal, 403))

    result = _sweep(scripted, trust)

    assert result.exit_code == 1
    text = result.render_text()
    assert "id u-1  NOT deleted: DELETE answered 403 Forbidden: 'deactivate instead'" in text
    assert "Delete the resources marked NOT deleted by hand" in text
    [row] = result.to_json()["found"]
    assert row == {
        "type": "User",
        "id": "u-1",
        "name": "scim-doctor-0123abcd@example.com",
        "deleted": False,
        "status": 403,
        "answer": "403 Forbidden: 'deactivate instead'",
    }


def test_a_listing_that_breaks_makes_the_result_incomplete(
    scripted: ScriptedServer, trust: Trust
) -> None:
    _serve(scripted, [])
    scripted.route("/scim/v2/Groups", Reply(500, {"Content-Type": "text/plain"}, b"boom"))

    result = _sweep(scripted, trust)

    assert result.exit_code == 1
    assert result.problems[0].startswith("/Groups: GET ")
    assert "500 Internal Server Error" in result.problems[0]
    assert TOKEN not in result.render_text() + json.dumps(result.to_json())


def test_the_cleanup_command_deletes_only_what_scim_doctor_made(run_cli, tmp_path) -> None:
    """Given a leftover test user and a lookalike, `scim-doctor cleanup` deletes the first only
    (and --dry-run deletes nothing)."""
    import ssl

    import httpx

    from scim_doctor.demo.server import DemoServer

    token = "cleanup-cli-token-5d2e8a91c04b"
    with DemoServer(token) as server:
        ca = server.write_ca(tmp_path)
        context = ssl.create_default_context(cadata=server.ca_pem.decode())
        with httpx.Client(verify=context) as client:
            for name in ("scim-doctor-0a1b2c3d@example.com", "scim-doctor-admin"):
                client.post(
                    f"https://localhost:{server.port}/scim/v2/Users",
                    json={
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": name,
                    },
                    headers={"Authorization": f"Bearer {token}"},
                ).raise_for_status()
        argv = ["cleanup", server.base_url, "--cacert", str(ca), "--resolve", server.resolve_pin]
        dry = run_cli(*argv, "--dry-run", env={"SCIM_TOKEN": token})
        real = run_cli(*argv, "--format", "json", env={"SCIM_TOKEN": token})
        with httpx.Client(verify=context) as client:
            left = client.get(
                f"https://localhost:{server.port}/scim/v2/Users?count=100",
                headers={"Authorization": f"Bearer {token}"},
            ).json()
    names = {user["userName"] for user in left["Resources"]}
    assert "not deleted (dry run)" in dry.stdout
    assert real.exit_code == 0
    assert "scim-doctor-0a1b2c3d@example.com" not in names
    assert "scim-doctor-admin" in names
    assert token not in dry.stdout + real.stdout
