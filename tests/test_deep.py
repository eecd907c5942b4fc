"""The deep sweep (`--deep`) against the real demo server on loopback, one scenario per test.

Directories of hundreds or thousands of users are served by the demo (made on demand), the
deep demo faults break them the way field servers do, and a few one-off faults built here cover
the rest; the sweep is run as the `users` check runs it (`deep.sweep` after the check's own
questions), or through the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from scim_doctor.checks import deep_sweep as deep
from scim_doctor.checks import users
from scim_doctor.checks.base import Outcome
from scim_doctor.core.findings import CATALOGUE
from scim_doctor.core.model import Severity
from scim_doctor.core.pii import forget_personal_data
from scim_doctor.core.secrets import Secret
from scim_doctor.demo.fault_kit import Fault, on_route
from scim_doctor.demo.http_faults.users import FAULTS
from scim_doctor.demo.scim_app import ENTERPRISE_USER, USER, Handler, Request, Response
from scim_doctor.demo.scim_wire import LIST_RESPONSE as LIST
from scim_doctor.demo.server import DemoServer
from scim_doctor.net.context import Options, ProbeContext
from scim_doctor.net.stream_json import ListStream, first_item, read_typed, read_whole
from scim_doctor.net.target import ResolvePin, parse_base_url
from scim_doctor.net.trust import load_trust
from scim_doctor.scim import validators as scim
from scim_doctor.scim.deep_tally import HashSet64, IdPairs, Tally, UserValidator, user_shape
from tests.conftest import assert_one_verdict, assert_valid_report, catalogue_severity
from tests.demo import conftest as demo_conftest

TOKEN = "deep-sweep-token-8d2f6a1c9e4b7035"
DEEP_FAULTS = [fault for fault in FAULTS if fault.name.startswith("users_deep_")]


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


def context(server: DemoServer, tmp_path: Path, **options: Any) -> ProbeContext:
    settings_ = {"timeout": 5.0, "deadline": 30.0, "deep": True, **options}
    return ProbeContext(
        target=parse_base_url(server.base_url),
        options=Options(
            resolve=(ResolvePin(server.hostname, server.port, server.bind),), **settings_
        ),
        token=Secret(TOKEN),
        trust=load_trust(server.write_ca(tmp_path)),
        deadline_at=time.monotonic() + settings_["deadline"],
    )


def sweep(
    tmp_path: Path,
    fault: str | Fault | None = None,
    *,
    users_count: int = 250,
    max_results: int = 100,
    **options: Any,
) -> Outcome:
    """The users check with --deep against a demo server of `users_count` users."""
    with DemoServer(TOKEN, fault=fault, users=users_count, max_results=max_results) as server:
        ctx = context(server, tmp_path, **options)
        return asyncio.run(_run_and_close(ctx))


async def _run_and_close(ctx: ProbeContext) -> Outcome:
    try:
        return await users.run(ctx)
    finally:
        if ctx.http is not None:
            await ctx.http.aclose()


def deep_findings(outcome: Outcome) -> dict[str, Severity]:
    return {f.code: f.severity for f in outcome.findings if f.code.startswith("users.deep_")}


def message(outcome: Outcome, code: str) -> str:
    return next(f.message for f in outcome.findings if f.code == code)


def import_pages(transform: Any) -> Fault:
    """A one-off fault: `transform(request, document)` on every 200 page an import reads."""

    def middleware(request: Request, call_next: Handler) -> Response:
        response = call_next(request)
        count = request.query.get("count", "")
        if response.status != 200 or "filter" in request.query or count in ("0", "1", "2"):
            return response
        return response.with_json(transform(request, response.json()))

    return Fault(
        "one-off", "test fault", "http", (), middleware=on_route("GET", "/Users", middleware)
    )


# --- a healthy directory ---------------------------------------------------------------------


def test_a_clean_directory_of_1500_users_passes_every_page(tmp_path: Path) -> None:
    outcome = sweep(tmp_path, users_count=1500)

    assert outcome.findings == [], outcome.findings
    facts = outcome.facts["deep"]
    assert (facts["users_seen"], facts["total_results"], facts["pages"]) == (1500, 1500, 15)
    assert facts["page_size"] == 100 and facts["complete"]
    assert (facts["duplicate_ids"], facts["duplicate_user_names"], facts["listed_again"]) == (
        0,
        0,
        0,
    )
    assert facts["validations"] == 1  # 1,500 users of one shape: validated once
    assert "deep sweep: 1,500 users in 15 pages" in outcome.summary


def test_a_single_page_far_over_max_body_streams_without_the_body_cap(tmp_path: Path) -> None:
    """Given --max-body 64 KiB and 2,000 users served as one page of about 1.3 MB, the sweep
    streams the page whole: no http.body_too_large, every user read."""
    outcome = sweep(tmp_path, users_count=2000, max_results=2000, max_body=64 * 1024)

    facts = outcome.facts["deep"]
    assert [f.code for f in outcome.findings] == []
    assert (facts["users_seen"], facts["pages"]) == (2000, 1)
    assert facts["peak_page_bytes"] > 16 * 64 * 1024


def test_the_page_size_is_the_declared_max_results(tmp_path: Path) -> None:
    outcome = sweep(tmp_path, users_count=120, max_results=25)

    facts = outcome.facts["deep"]
    assert (facts["page_size"], facts["pages"], facts["users_seen"]) == (25, 5, 120)
    assert deep_findings(outcome) == {}


# --- each deep finding -----------------------------------------------------------------------


@pytest.mark.parametrize("fault", DEEP_FAULTS, ids=lambda f: f.name)
def test_each_deep_demo_fault_is_diagnosed_with_its_code_and_severity(
    tmp_path: Path, fault: Fault
) -> None:
    outcome = sweep(tmp_path, fault)

    found = deep_findings(outcome)
    for code in fault.expect:
        assert found.get(code) is CATALOGUE[code].severity, (code, outcome.findings)
    assert not [f for f in outcome.findings if not f.code.startswith("users.deep_")]


def test_a_duplicate_user_name_names_the_masked_name_and_the_later_user(tmp_path: Path) -> None:
    outcome = sweep(tmp_path, "users_deep_duplicate_user_name")

    text = message(outcome, "users.deep_duplicate_user_name")
    assert "a***@e***.com" in text and "ada.lovelace" not in text.lower()
    assert "user 5c1d0c70-6a35-4f0e-9a53-000000000002" in text
    assert outcome.facts["deep"]["duplicate_user_names"] == 1


def test_a_duplicate_id_names_the_id(tmp_path: Path) -> None:
    outcome = sweep(tmp_path, "users_deep_duplicate_id")

    assert "5c1d0c70-6a35-4f0e-9a53-000000000000" in message(outcome, "users.deep_duplicate_id")


def test_an_unstable_order_shows_users_twice_and_page_1_changed(tmp_path: Path) -> None:
    outcome = sweep(tmp_path, "users_deep_unstable_order")

    text = message(outcome, "users.deep_unstable_order")
    assert "users were listed twice" in text
    assert "page 1 asked for again listed other users" in text


def test_pages_holding_fewer_users_than_total_results_is_a_mismatch(tmp_path: Path) -> None:
    """totalResults claims 10 users more than the pages hold."""

    def inflate(request: Request, document: dict[str, Any]) -> dict[str, Any]:
        document["totalResults"] += 10
        return document

    outcome = sweep(tmp_path, import_pages(inflate))

    assert deep_findings(outcome) == {"users.deep_total_mismatch": Severity.WARN}
    assert "totalResults is 260 but the 3 pages held 250 users" in message(
        outcome, "users.deep_total_mismatch"
    )


def test_a_short_page_in_the_middle_is_named_in_the_mismatch(tmp_path: Path) -> None:
    def drop_one(request: Request, document: dict[str, Any]) -> dict[str, Any]:
        if request.query.get("startIndex") == "101":
            document["Resources"] = document["Resources"][:-1]
        return document

    outcome = sweep(tmp_path, import_pages(drop_one))

    text = message(outcome, "users.deep_total_mismatch")
    assert "held 249 users" in text and "the page at startIndex 101 held 99, not 100" in text


def test_a_page_that_is_not_json_fails_with_its_byte_offset_and_the_sweep_goes_on(
    tmp_path: Path,
) -> None:
    def middleware(request: Request, call_next: Handler) -> Response:
        response = call_next(request)
        if request.query.get("startIndex") == "101" and request.query.get("count") == "100":
            return Response(200, response.headers, response.body[:5000] + b"<html>oops")
        return response

    outcome = sweep(
        tmp_path, Fault("bad", "", "http", (), middleware=on_route("GET", "/Users", middleware))
    )

    text = message(outcome, "users.deep_page_failed")
    assert "/Users?startIndex=101&count=100" in text and "invalid JSON at byte 5000" in text
    assert outcome.facts["deep"]["failed_pages"] == 1
    assert outcome.facts["deep"]["users_seen"] >= 150  # pages 1 and 3 were read whole


def test_invalid_users_are_counted_with_examples(tmp_path: Path) -> None:
    def strip_ids(request: Request, document: dict[str, Any]) -> dict[str, Any]:
        for user in document.get("Resources", [])[::10]:
            user.pop("id")
        return document

    outcome = sweep(tmp_path, import_pages(strip_ids))

    text = message(outcome, "users.deep_invalid_users")
    assert text.startswith("25 of 250 users: id is missing")
    assert "a user without id (page at startIndex 1)" in text
    assert outcome.facts["deep"]["users_with_problems"] == {"users.deep_invalid_users": 25}


def test_nonconformant_users_are_counted_apart_from_invalid_ones(tmp_path: Path) -> None:
    """A meta.location outside the base URL does not stop an IdP: a warning, not invalid."""

    def plain_http_locations(request: Request, document: dict[str, Any]) -> dict[str, Any]:
        for user in document.get("Resources", [])[::5]:
            location = user["meta"]["location"]
            user["meta"]["location"] = location.replace("https://", "http://", 1)
        return document

    outcome = sweep(tmp_path, import_pages(plain_http_locations))

    found = {finding.code for finding in outcome.findings}
    assert "users.deep_nonconformant_users" in found
    assert "users.deep_invalid_users" not in found
    assert outcome.facts["deep"]["users_with_problems"] == {"users.deep_nonconformant_users": 50}


def test_a_rate_limited_page_is_asked_again_after_retry_after(tmp_path: Path) -> None:
    answered = itertools.count()

    def middleware(request: Request, call_next: Handler) -> Response:
        if request.query.get("startIndex") == "201" and next(answered) == 0:
            return Response(429, (("Retry-After", "0"),), b"")
        return call_next(request)

    outcome = sweep(
        tmp_path, Fault("429", "", "http", (), middleware=on_route("GET", "/Users", middleware))
    )

    assert deep_findings(outcome) == {}
    assert outcome.facts["deep"]["rate_limit_retries"] == 1
    assert outcome.facts["deep"]["users_seen"] == 250


def test_a_sweep_stops_before_the_deadline_and_says_how_far_it_got(tmp_path: Path) -> None:
    """Deadline 1.5 s (so 0.3 s kept for later checks), pages that take 0.2 s: the sweep stops
    part way, and says so instead of running into the deadline."""

    def slow(request: Request, call_next: Handler) -> Response:
        if request.query.get("count") == "25":
            time.sleep(0.2)
        return call_next(request)

    fault = Fault("slow", "", "http", (), middleware=on_route("GET", "/Users", slow))
    with DemoServer(TOKEN, fault=fault, users=1000, max_results=25) as server:
        ctx = context(server, tmp_path, deadline=1.5, timeout=1.0)
        outcome = Outcome()
        asyncio.run(_sweep_only(ctx, outcome))

    found = deep_findings(outcome)
    assert found == {"users.deep_incomplete": Severity.INFO}, outcome.findings
    assert "of totalResults 1,000: the run's --deadline (1.5 s) was near" in message(
        outcome, "users.deep_incomplete"
    )
    assert not outcome.facts["deep"]["complete"]


async def _sweep_only(ctx: ProbeContext, outcome: Outcome) -> None:
    try:
        await deep.sweep(ctx, outcome)
    finally:
        if ctx.http is not None:
            await ctx.http.aclose()


def test_without_total_results_the_sweep_pages_on_until_a_short_page(tmp_path: Path) -> None:
    def no_total(request: Request, document: dict[str, Any]) -> dict[str, Any]:
        document.pop("totalResults")
        return document

    outcome = sweep(tmp_path, import_pages(no_total))

    facts = outcome.facts["deep"]
    assert (facts["users_seen"], facts["pages"], facts["total_results"]) == (250, 3, None)
    assert deep_findings(outcome) == {}


def test_without_total_results_a_server_ignoring_start_index_does_not_loop(
    tmp_path: Path,
) -> None:
    """No totalResults and startIndex ignored: page 2 holds page 1's users again; the sweep
    stops there instead of asking forever."""

    def ignore_start(request: Request, call_next: Handler) -> Response:
        path, _, query = request.target.partition("?")
        if "filter" in request.query or request.query.get("count") in ("0", "1", "2"):
            return call_next(request)
        response = call_next(
            replace(request, target=f"{path}?{query.replace('startIndex=', 'x=')}")
        )
        document = response.json()
        document.pop("totalResults", None)
        return response.with_json(document)

    fault = Fault("ignored", "", "http", (), middleware=on_route("GET", "/Users", ignore_start))
    outcome = sweep(tmp_path, fault)

    facts = outcome.facts["deep"]
    assert (facts["users_seen"], facts["listed_again"], facts["pages"]) == (200, 100, 2)
    assert "listed only users already seen: paging does not advance" in message(
        outcome, "users.deep_incomplete"
    )
    assert "users.deep_unstable_order" in deep_findings(outcome)


# --- progress on a terminal ------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_one_rewritten_line_on_a_terminal() -> None:
    screen = Terminal()
    progress = deep.Progress(screen)
    progress.total = 100_000

    progress.show(45_200)
    progress.close()

    assert screen.getvalue().startswith("\r\x1b[K/Users --deep: 45,200 of 100,000 users (45%)")
    assert screen.getvalue().endswith("\r\x1b[K")


def test_progress_writes_nothing_on_a_pipe() -> None:
    pipe = io.StringIO()
    progress = deep.Progress(pipe)

    progress.show(10)
    progress.close()

    assert pipe.getvalue() == ""


# --- end to end ------------------------------------------------------------------------------


def test_scim_doctor_demo_deep_reports_a_deep_fault_end_to_end(
    run_cli: Any, report_validator: Any
) -> None:
    result = run_cli(
        "demo", "--fault", "users_deep_duplicate_user_name", "--deep", "--only", "users",
        "--format", "json",
    )  # fmt: skip

    report = result.json()
    assert_valid_report(report_validator, report)
    check = next(c for c in report["checks"] if c["id"] == "users")
    # No provider in scope is known to trip on it (the one severity rule): a warning.
    assert check["status"] == "warn"
    assert [(f["code"], catalogue_severity(f)) for f in check["findings"]] == [
        ("users.deep_duplicate_user_name", "fail")
    ]
    assert_one_verdict(report)
    assert check["facts"]["deep"]["users_seen"] == 3
    assert result.stderr.count("\r") == 0  # no progress line on a pipe
    assert "Traceback" not in result.stderr


def test_without_deep_the_users_check_reads_no_further_than_before(tmp_path: Path) -> None:
    outcome = sweep(tmp_path, "users_deep_duplicate_user_name", deep=False)

    assert "deep" not in outcome.facts and deep_findings(outcome) == {}


# --- the demo's large directories ------------------------------------------------------------


def test_the_demo_sends_a_page_of_1500_users_chunked_as_one_list_response() -> None:
    with (
        DemoServer(demo_conftest.TOKEN, users=1500, max_results=1500) as server,
        demo_conftest.scim_client(server) as client,
    ):
        response = client.get("/Users", params={"count": 1500})
        first = client.get("/Users", params={"startIndex": 1, "count": 2}).json()

    body = response.json()
    assert response.headers["transfer-encoding"] == "chunked"
    assert (body["totalResults"], body["itemsPerPage"], len(body["Resources"])) == (
        1500,
        1500,
        1500,
    )
    ids = [user["id"] for user in body["Resources"]]
    assert len(set(ids)) == 1500 and ids[:2] == [user["id"] for user in first["Resources"]]
    assert body["Resources"][1499]["userName"] == "ken.thompson125@example.com"


def test_a_large_demo_directory_pages_past_deleted_and_created_users() -> None:
    with (
        DemoServer(demo_conftest.TOKEN, users=100_000) as server,
        demo_conftest.scim_client(server) as client,
    ):
        doomed = client.get("/Users", params={"startIndex": 50_000, "count": 1}).json()
        client.delete(f"/Users/{doomed['Resources'][0]['id']}")
        created = client.post("/Users", json={"schemas": [USER], "userName": "new@example.test"})
        around = client.get("/Users", params={"startIndex": 49_999, "count": 2}).json()
        last = client.get("/Users", params={"startIndex": 100_000, "count": 5}).json()

    assert created.status_code == 201
    assert around["totalResults"] == 100_000
    assert [u["id"][-5:] for u in around["Resources"]] == [
        "0c34e",
        "0c350",
    ]  # 49,999th and 50,001st
    assert [u["userName"] for u in last["Resources"]] == ["new@example.test"]


# --- the bookkeeping -------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=3000))
def test_hashset64_agrees_with_a_set(values: list[int]) -> None:
    compact, reference = HashSet64(capacity=16), set()
    for value in values:
        stored = value or 1
        assert compact.add(value) == (stored in reference)
        reference.add(stored)
    assert compact.size == len(reference)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.integers(0, 3)), max_size=400
    ),  # few ids and names: many repeats
    st.integers(1, 5),
)
def test_id_pairs_agree_with_a_table_of_ids_and_one_of_pairs(
    users: list[tuple[int, int]], batches: int
) -> None:
    """Ids with their first pair beside them say what two tables said: id seen, pair seen."""
    compact, ids, pairs = IdPairs(capacity=16), HashSet64(), HashSet64()
    step = max(1, len(users) // batches)
    for start in range(0, len(users), step):
        batch = users[start : start + step]
        id_hashes = [hash(("id", i)) for i, _ in batch]
        pair_hashes = [hash((f"id{i}", n)) for i, n in batch]
        assert compact.add_many(id_hashes, pair_hashes) == (
            ids.add_many(id_hashes), pairs.add_many(pair_hashes)
        )  # fmt: skip


BASE = "https://scim.example.test/scim/v2"
texts = st.sampled_from(
    [
        "",
        " ",
        "bulkId",
        "x",
        "User",
        "user",
        "Group",
        f"{BASE}/Users/1",
        f"{BASE}/Users/2?v=1",
        f"{BASE}/Users/3#x",
        "http://scim.example.test/scim/v2/Users/1",
        "https://other.test/Users/1",
        "2024-05-01T10:00:00Z",
        "yesterday",
        USER,
        ENTERPRISE_USER,
        "urn:example:custom",
    ]
) | st.text(max_size=6)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 2) | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
meta_keys = st.sampled_from(
    ["resourceType", "ResourceType", "location", "created", "lastModified", "version", "x"]
)
user_keys = st.sampled_from(
    [
        "schemas", "id", "Id", "userName", "USERNAME", "name", "displayName", "active",
        "emails", "groups", "password", "externalId", "title", ENTERPRISE_USER,
        "urn:example:custom", "vendorThing",
    ]
)  # fmt: skip
users_like = st.dictionaries(
    user_keys | st.just("meta") | st.just("Meta"),
    json_values | st.dictionaries(meta_keys, json_values, max_size=6),
    max_size=9,
)


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths of every value in a document (objects' values and arrays' items)."""
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        yield (*path, key)
        yield from _leaves(child, (*path, key))


def _set(document: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        document = document[key]
    document[path[-1]] = value


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    user=users_like,
    replacements=st.lists(json_values, min_size=1, max_size=12),
    strict=st.booleans(),
)
def test_users_of_one_shape_get_the_same_problems_word_for_word(
    user: dict[str, Any], replacements: list[Any], strict: bool
) -> None:
    """Whatever the shape leaves out must not matter to scim.validate_user: change values of a
    user wherever the shape stays the same, and the problems stay the same. This holds the
    validator to the memo in deep_tally (a new check on a value must be reflected there)."""
    prefix = f"{BASE}/Users/"
    shape = user_shape(user, prefix, strict)
    other = scim_copy(user)
    for path, value in zip(list(_leaves(other)), itertools.cycle(replacements), strict=False):
        try:  # an earlier replacement may have removed or replaced this place
            before = _get(other, path)
            _set(other, path, scim_copy(value))
        except (KeyError, IndexError, TypeError):
            continue
        if user_shape(other, prefix, strict) != shape:
            _set(other, path, before)

    assert user_shape(other, prefix, strict) == shape
    assert scim.validate_user(other, base_url=BASE, strict=strict) == scim.validate_user(
        user, base_url=BASE, strict=strict
    )


def _get(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


def scim_copy(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)


def test_the_memo_validates_each_shape_once_and_gives_the_validators_problems() -> None:
    validator = UserValidator(BASE, strict=False)
    good = {"schemas": [USER], "id": "1", "userName": "a@example.test"}
    bad = {"schemas": [USER], "id": "", "userName": "b@example.test"}

    for index in range(50):
        assert validator.problems({**good, "id": str(index + 1)}) == []
    problems = validator.problems(bad)

    assert problems == scim.validate_user(bad, base_url=BASE)
    assert validator.validations == 2


# --- the quick readings of a page give what reading it user by user gives ------------------


def _valid_user(number: int) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "id": f"u{number}",
        "externalId": f"e{number}",
        "userName": f"user{number}@example.test",
        "name": {"givenName": "A", "familyName": "B"},
        "displayName": "A B",
        "emails": [{"value": f"user{number}@example.test", "primary": True}],
        "active": True,
        "meta": {
            "resourceType": "User",
            "created": "2024-05-01T10:00:00Z",
            "lastModified": "2024-05-01T10:00:00Z",
            "location": f"{BASE}/Users/u{number}",
            "version": 'W/"1"',
        },
    }


def _body(users: list[Any], total: int) -> bytes:
    document = {"schemas": [LIST], "totalResults": total, "Resources": users}
    return json.dumps(document, ensure_ascii=False).encode()


def _tally_state(tally: Tally) -> Any:
    return (
        tally.users,
        {name: (seen.count, seen.examples) for name, seen in (
            ("ids", tally.duplicate_ids), ("names", tally.duplicate_names),
            ("again", tally.repeated),
        )},
        {code: {text: (seen.count, seen.examples) for text, seen in texts.items()}
         for code, texts in tally.problems.items()},
        tally.problem_users,
    )  # fmt: skip


def _as_the_sweep_reads(tally: Tally, body: bytes, where: str) -> None:
    """A page as `deep_sweep._Sweep._read` takes a whole body: by type, whole, or streamed."""
    typed = tally.typed or tally.template_from(first_item(body))
    if typed is not None:
        whole = read_typed(body, typed.decoder)
        if whole is not None and tally.add_typed(whole.items, typed, where):
            return
    whole = read_whole(body)
    if whole is not None:
        tally.add_page(whole.items, where)
        return
    parser = ListStream()
    tally.add_page([*parser.feed(body), *parser.close()], where)


shape_paths = st.sampled_from(
    [("id",), ("userName",), ("active",), ("schemas",), ("emails",), ("name",), ("externalId",),
     ("meta",), ("meta", "location"), ("meta", "resourceType"), ("meta", "created"),
     ("emails", 0), ("schemas", 0), ("title",)]
)  # fmt: skip
shape_values: st.SearchStrategy[Any] = st.sampled_from(
    ["", " ", "\u00a0", "bulkId", "x", None, True, False, 0, 1, 1.5, [], {}, [USER],
     [USER, ENTERPRISE_USER], ["x"], [{}], [{}, {}], f"{BASE}/Users/2?v=1", f"{BASE}/Users/3#x",
     "https://other.test/Users/1", "Group", "user1@example.test", "USER1@example.test"]
) | json_values  # fmt: skip
mutations = st.lists(
    st.tuples(
        st.integers(0, 59),  # which user (pages of 20)
        st.sampled_from(["set", "set", "set", "drop", "case", "reverse", "copy id",
                         "copy name", "not an object"]),
        st.integers(0, 10**6),  # which key / other user
        shape_paths,
        shape_values,
    ),
    max_size=6,
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=mutations, strict=st.booleans())
def test_pages_read_whole_or_by_type_tally_as_one_user_at_a_time(
    changes: list[tuple[int, str, int, tuple[Any, ...], Any]], strict: bool
) -> None:
    """Pages of alike users read in one call (validated once, or decoded by the first clean
    page's type) and the same users added one by one give the same duplicates, problems,
    counts and examples, whatever changes hit some users of the later pages."""
    users: list[Any] = [_valid_user(number) for number in range(60)]
    for index, change, pick, path, value in changes:
        user = users[index]
        if not isinstance(user, dict):
            continue
        keys = list(user)
        key = keys[pick % len(keys)] if keys else None
        if change == "set":
            with contextlib.suppress(KeyError, IndexError, TypeError):
                _set(user, path, scim_copy(value))
        elif change == "drop" and key is not None:
            del user[key]
        elif change == "case" and key is not None:
            user[key.upper()] = user.pop(key)
        elif change == "reverse":
            users[index] = dict(reversed(list(user.items())))
        elif change == "not an object":
            users[index] = scim_copy(value)
        elif change in ("copy id", "copy name"):
            name = "id" if change == "copy id" else "userName"
            other = users[pick % 60]
            if isinstance(other, dict):
                user[name] = other.get(name)
    reference, quick = Tally(UserValidator(BASE, strict)), Tally(UserValidator(BASE, strict))
    for start in range(0, 60, 20):
        where = f"page at startIndex {start + 1}"
        page = users[start : start + 20]
        for user in json.loads(_body(page, 60))["Resources"]:
            reference.add(user, where)
        _as_the_sweep_reads(quick, _body(page, 60), where)

    assert _tally_state(quick) == _tally_state(reference)


def test_after_a_clean_page_the_next_pages_are_read_by_type() -> None:
    tally = Tally(UserValidator(BASE, strict=False))
    _as_the_sweep_reads(tally, _body([_valid_user(n) for n in range(20)], 40), "page 1")
    assert tally.typed is not None
    second = read_typed(_body([_valid_user(n) for n in range(20, 40)], 40), tally.typed.decoder)

    assert second is not None and tally.add_typed(second.items, tally.typed, "page 2")
    assert tally.users == 40 and tally.validator.validations == 1
    odd = _valid_user(41) | {"userName": " "}
    assert read_typed(_body([_valid_user(40), odd], 40), tally.typed.decoder) is not None
    assert not tally.add_typed([_typed_copy(tally, _valid_user(40)), _typed_copy(tally, odd)],
                               tally.typed, "page 3")  # fmt: skip
    assert tally.users == 40


def _typed_copy(tally: Tally, user: dict[str, Any]) -> Any:
    assert tally.typed is not None
    [decoded] = tally.typed.decoder.decode(json.dumps([user]).encode())
    return decoded


ODD_USERS = [
    (("emails",), ["x"]), (("emails",), [{}, {}]), (("emails",), []), (("emails",), [1]),
    (("schemas",), [USER, ENTERPRISE_USER]), (("schemas",), ["x"]), (("schemas",), [1]),
    (("active",), False), (("active",), 1), (("active",), "true"), (("title",), 1.5),
    (("id",), ""), (("id",), " "), (("id",), "bulkId"), (("id",), 7), (("userName",), "\u00a0"),
    (("meta", "location"), f"{BASE}/Users/2?v=1"), (("meta", "location"), "https://o.test/1"),
    (("meta", "resourceType"), "Group"), (("meta", "version"), 1), (("meta", "created"), None),
    (("meta", "extra"), "x"), (("meta",), "x"), (("name",), "A B"), (("externalId",), None),
]  # fmt: skip


@pytest.mark.parametrize(("path", "value"), ODD_USERS, ids=repr)
@pytest.mark.parametrize("index", [5, 25])
def test_one_odd_user_on_a_page_is_tallied_as_alone(
    path: tuple[Any, ...], value: Any, index: int
) -> None:
    """One user unlike the others, on the first page (read whole) or a later one (read by
    type): the same tally as user by user."""
    users = [_valid_user(number) for number in range(40)]
    _set(users[index], path, value)
    reference, quick = Tally(UserValidator(BASE, False)), Tally(UserValidator(BASE, False))
    for start in (0, 20):
        page, where = users[start : start + 20], f"page {start}"
        for user in page:
            reference.add(user, where)
        _as_the_sweep_reads(quick, _body(page, 40), where)

    assert _tally_state(quick) == _tally_state(reference)
