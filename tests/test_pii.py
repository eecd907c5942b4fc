"""Personal data in reports: masked by default, keeping its shape, and nothing else touched."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator

import msgspec.structs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scim_doctor.core import findings, pii
from scim_doctor.core.model import (
    CheckResult,
    Exchange,
    IdpRuleResult,
    IdpVerdict,
    ReferenceKind,
    Report,
    RuleStatus,
    Status,
    TargetInfo,
    Verdict,
)
from scim_doctor.core.pii import (
    forget_personal_data,
    mask_report,
    mask_text,
    mask_value,
    register_personal_data,
    registered_personal_data,
)
from scim_doctor.reporters import json as json_reporter
from tests.reporters import sample_reports

TARGET = TargetInfo("https://scim.example.com/scim/v2", "scim.example.com", 443)
USER_ID = "2819c223-7f76-453a-919d-413861904646"


@pytest.fixture(autouse=True)
def empty_registry() -> Iterator[None]:
    forget_personal_data()
    try:
        yield
    finally:
        forget_personal_data()


def user(
    user_name: str = "bjensen",
    given: str = "Barbara",
    family: str = "Jensen",
    email: str = "bjensen@example.com",
    phone: str = "+1 555 555 0167",
) -> dict[str, object]:
    """A User as RFC 7643 §8.2 shows it."""
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": USER_ID,
        "userName": user_name,
        "name": {"givenName": given, "familyName": family, "formatted": f"{given} {family}"},
        "displayName": f"{given} {family}",
        "emails": [{"value": email, "type": "work", "primary": True}],
        "phoneNumbers": [{"value": phone, "type": "work"}],
        "addresses": [
            {
                "type": "work",
                "streetAddress": "100 Universal City Plaza",
                "locality": "Hollywood",
                "postalCode": "91608",
                "country": "US",
            }
        ],
        "meta": {"resourceType": "User", "location": f"{TARGET.base_url}/Users/{USER_ID}"},
    }


def list_response(resource: dict[str, object]) -> str:
    return json.dumps(
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 1,
            "Resources": [resource],
        }
    )


def report_with(
    body: str,
    *,
    message: str = "observed nothing special",
    summary: str = "checked",
    url: str = f"{TARGET.base_url}/Users?count=1",
    facts: dict[str, object] | None = None,
) -> Report:
    finding = findings.make("tls.cert_expires_soon", message)
    exchange = Exchange(
        method="GET",
        url=url,
        request_headers=(("Accept", "application/scim+json"),),
        status=200,
        http_version="HTTP/1.1",
        response_headers=(("Content-Type", "application/scim+json"),),
        body_excerpt=body,
        body_bytes=len(body),
        body_truncated=False,
        timings_ms={"total": 80.5},
    )
    check = CheckResult(
        "auth",
        "Token authentication",
        Status.WARN,
        80.5,
        summary,
        findings=(finding,),
        facts=facts or {},
        timings_ms={"first_byte": 70.1},
        exchanges=(exchange,),
    )
    return Report("0.1.0", TARGET, "2026-11-27T10:00:00Z", 90.0, (check,), {"timeout_s": 10.0})


def everything(report: Report) -> str:
    return json_reporter.render(report)


def test_an_email_keeps_its_shape_but_not_its_content() -> None:
    assert mask_value("john.doe@example.com") == "j***@e***.com"


def test_a_name_keeps_one_initial_per_word() -> None:
    assert mask_value("John Doe") == "J*** D***"


def test_a_phone_number_keeps_its_country_code_grouping_and_last_two_digits() -> None:
    assert mask_value("+1 555 555 0167") == "+1 *** *** **67"


def test_a_sampled_user_disappears_from_the_body_excerpt_messages_and_urls() -> None:
    """Given a body with a user and a message, summary and filter URL quoting that user,
    when the report is masked, then none of the user's values is left anywhere."""
    report = report_with(
        list_response(user()),
        message="the filter userName eq 'bjensen' returned Barbara Jensen <bjensen@example.com>",
        summary="sampled user Barbara Jensen (call +1 555 555 0167)",
        url=f"{TARGET.base_url}/Users?filter=userName%20eq%20%22bjensen%40example.com%22",
    )
    text = everything(mask_report(report))
    for value in ("bjensen", "Barbara", "Jensen", "555 0167", "Universal City", "Hollywood"):
        assert value not in text
    masked = mask_report(report).checks[0]
    assert masked.findings[0].message == (
        "the filter userName eq 'b***' returned B*** J*** <b***@e***.com>"
    )
    assert masked.summary == "sampled user B*** J*** (call +1 *** *** **67)"
    assert masked.exchanges[0].url == (
        f"{TARGET.base_url}/Users?filter=userName%20eq%20%22b***%40e***.com%22"
    )


def test_the_excerpt_keeps_its_layout_and_masks_values_in_place() -> None:
    body = list_response(user())
    masked = json.loads(mask_report(report_with(body)).checks[0].exchanges[0].body_excerpt)
    resource = masked["Resources"][0]
    assert resource["userName"] == "b***"
    assert resource["name"] == {"givenName": "B***", "familyName": "J***", "formatted": "B*** J***"}
    assert resource["emails"][0] == {"value": "b***@e***.com", "type": "work", "primary": True}
    assert resource["phoneNumbers"][0]["value"] == "+1 *** *** **67"
    assert resource["addresses"][0]["streetAddress"] == "1*** U*** C*** P***"
    assert resource["addresses"][0]["type"] == "work"


def test_a_truncated_excerpt_is_still_masked_attribute_by_attribute() -> None:
    body = list_response(user(given="Evangeline"))
    cut = body[: body.index("Evangeline") + 4]  # ... "givenName": "Evan
    masked = mask_report(report_with(cut)).checks[0].exchanges[0].body_excerpt
    assert masked.endswith('"givenName": "E***')
    assert "bjensen" not in masked


def test_ids_codes_hosts_and_ordinary_numbers_are_left_alone() -> None:
    """Given a user whose userName is also a word of the host name and of a check id,
    then the resource id, the host, the check id, the finding code and numbers survive."""
    body = list_response(user(user_name="scim"))
    report = report_with(
        body,
        message="scim.example.com answered in 1234 ms on 2026-11-01 from 203.0.113.10:443",
        facts={"port": 443, "addresses": ["203.0.113.10"], "sample": {"userName": "scim"}},
    )
    masked = mask_report(report)
    check = masked.checks[0]
    assert check.id == "auth" and check.findings[0].code == "tls.cert_expires_soon"
    assert check.findings[0].message == report.checks[0].findings[0].message
    assert check.facts == {
        "port": 443,
        "addresses": ["203.0.113.10"],
        "sample": {"userName": "s***"},
    }
    excerpt = json.loads(check.exchanges[0].body_excerpt)
    assert excerpt["Resources"][0]["id"] == USER_ID
    assert excerpt["Resources"][0]["meta"]["location"] == f"{TARGET.base_url}/Users/{USER_ID}"
    assert check.exchanges[0].url == report.checks[0].exchanges[0].url
    assert masked.target == report.target
    assert check.timings_ms == report.checks[0].timings_ms


def test_schema_definitions_are_not_mistaken_for_users() -> None:
    """The /Schemas answer names attributes (`"name": "userName"`): those are not people."""
    schema = {
        "id": "urn:ietf:params:scim:schemas:core:2.0:User",
        "name": "User",
        "attributes": [
            {"name": "userName", "type": "string"},
            {"name": "name", "type": "complex", "subAttributes": [{"name": "givenName"}]},
        ],
    }
    body = json.dumps({"Resources": [schema]})
    assert mask_report(report_with(body)).checks[0].exchanges[0].body_excerpt == body


def test_registered_values_are_masked_in_free_text_case_insensitively() -> None:
    register_personal_data(["Grace Hopper", "ghopper"])
    report = report_with("", message="GHOPPER (Grace Hopper) is locked; ask Hopper")
    message = mask_report(report).checks[0].findings[0].message
    assert message == "G*** (G*** H***) is locked; ask H***"


def test_values_too_short_or_already_masked_are_not_registered() -> None:
    register_personal_data(["x", "J***", "a***@e***.com", "Jo"])
    assert registered_personal_data() == {"Jo"}


def test_registration_from_many_threads_loses_nothing() -> None:
    names = [f"user{i:03d}" for i in range(200)]

    def register(chunk: list[str]) -> None:
        for name in chunk:
            register_personal_data([name])

    threads = [threading.Thread(target=register, args=(names[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(names) <= registered_personal_data()
    assert mask_text("user042 and user199") == "u*** and u***"


def test_identity_provider_verdicts_are_masked_like_any_free_text() -> None:
    rule = IdpRuleResult(
        "okta.user_filter",
        "userName eq filter",
        RuleStatus.BROKEN,
        "the filter for bjensen@example.com returned 2 users",
        "Okta SCIM reference",
        "https://developer.okta.com/docs/reference/scim/",
        ReferenceKind.IDP,
    )
    verdict = IdpVerdict("okta", "Okta", Verdict.WILL_FAIL, (rule.reason,), (), (rule,))
    report = msgspec.structs.replace(report_with(list_response(user())), idp_verdicts=(verdict,))
    (masked,) = mask_report(report).idp_verdicts
    assert masked.reasons == ("the filter for b***@e***.com returned 2 users",)
    assert masked.rules[0].reason == masked.reasons[0]
    assert masked.rules[0].source_url == rule.source_url


def test_masking_a_masked_report_changes_nothing() -> None:
    report = report_with(list_response(user()), message="Barbara Jensen, bjensen@example.com")
    once = mask_report(report)
    assert mask_report(once) == once
    assert mask_report(sample_reports.failing()) == sample_reports.failing()


# --- properties -------------------------------------------------------------------------------

NAMES = st.from_regex(r"[A-Z][a-z]{2,9} [A-Z][a-z]{2,9}", fullmatch=True)
EMAILS = st.from_regex(r"[a-z]{2,8}(\.[a-z]{2,8})?@[a-z]{3,10}\.(com|org|net|io)", fullmatch=True)
NOISE = st.text(max_size=60)
ANY = st.text(st.characters(), max_size=80)  # lone surrogates and control characters included
PROPERTY = settings(
    max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY
@given(name=NAMES, email=EMAILS, before=NOISE, between=NOISE, after=NOISE)
def test_planted_names_and_emails_never_survive_masking(
    name: str, email: str, before: str, between: str, after: str
) -> None:
    given, family = name.split()
    body = list_response(user(user_name=email, given=given, family=family, email=email))
    message = f"{before} {name} {between} {email} {after}"
    masked = everything(mask_report(report_with(body, message=message, summary=f"{name} ok")))
    assert name not in masked
    assert email not in masked
    assert json.dumps(email) not in masked


@PROPERTY
@given(message=ANY, body=ANY, summary=ANY, registered=st.lists(ANY, max_size=5))
def test_masking_arbitrary_text_never_raises_and_is_idempotent(
    message: str, body: str, summary: str, registered: list[str]
) -> None:
    forget_personal_data()
    register_personal_data(registered)
    once = mask_report(report_with(body, message=message, summary=summary))
    assert mask_report(once) == once


@PROPERTY
@given(value=ANY)
def test_mask_value_is_idempotent(value: str) -> None:
    assert mask_value(mask_value(value)) == mask_value(value)


@PROPERTY
@given(text=st.text(), planted=EMAILS)
def test_json_excerpts_with_arbitrary_strings_stay_valid_json(text: str, planted: str) -> None:
    body = json.dumps({"detail": text, "userName": planted, "emails": [planted]})
    masked = mask_report(report_with(body)).checks[0].exchanges[0].body_excerpt
    document = json.loads(masked)
    assert planted not in masked
    assert document["userName"] == mask_value(planted)


def _one_alternation(known: list[str], protected: list[str]) -> re.Pattern[str]:
    """The masker's rules as the single regex they are meant to equal (its first form)."""
    keep = [pii._URL_AUTHORITY, rf"(?<![\w.\-]){pii.TEST_NAME}(?![\w\-])"]
    words = sorted({p for p in protected if p}, key=len, reverse=True)
    if words:
        keep.insert(0, rf"(?<![\w.\-])(?:{'|'.join(map(re.escape, words))})(?![\w\-])")
    alternatives = [f"(?P<keep>{'|'.join(keep)})", f"(?P<email>{pii._EMAIL})"]
    alternatives.append(f"(?P<phone>{pii._PHONE})")
    values = sorted({v for v in known if v}, key=len, reverse=True)
    if values:
        alternatives.append(
            f"(?P<known>{pii._BEFORE}(?:{'|'.join(map(re.escape, values))}){pii._AFTER})"
        )
    return re.compile("|".join(alternatives), re.IGNORECASE)


FRAGMENTS = st.sampled_from(
    [
        " ",
        "@",
        "%40",
        ".",
        "-",
        "+1 ",
        "555-123-4567",
        "(555) 123-4567",
        "https://",
        "ada",
        "Ada",
        "lovelace",
        "example.com",
        "scim-doctor-0123abcd",
        "tls.cert",
        "acme.test:8443",
        "/scim/v2",
        "\\n",
        "%2F",
        "7",
        "İ",
        "é",
        "x",
    ]
)
PIECES = st.lists(FRAGMENTS, max_size=12).map("".join)


@PROPERTY
@example(text="call 555-123-4567 now", known=["ada"], protected=["555-123-4567"])
@example(text="ada@example.com and Ada", known=["ada@example.com", "ada"], protected=[])
@example(text="see https://ada@x.test/", known=["ada"], protected=["x.test"])
@example(text="https://.", known=["."], protected=[])
@example(text="p://+15551234567", known=[], protected=["p"])
@example(text="by scim-doctor-abcdefab", known=["abcdefab"], protected=[])
@example(text="x://ada", known=["ada"], protected=[])
@given(
    text=st.one_of(PIECES, ANY),
    known=st.lists(st.one_of(PIECES, ANY), max_size=3),
    protected=st.lists(st.one_of(PIECES, ANY), max_size=3),
)
def test_the_two_pattern_masker_masks_exactly_like_one_alternation(
    text: str, known: list[str], protected: list[str]
) -> None:
    # Two patterns scanned together replaced one per-report alternation, whose compilation
    # dominated masking in a fleet; what they mask must not have changed.
    reference = _one_alternation(known, protected)
    masker = pii._TextMasker(known, protected)
    assert masker(text) == reference.sub(masker._replace, text)


_EVERY_TOKEN = re.compile(
    r'("(?:[^"\\]|\\.)*(?:"|\\?\Z)|[{}\[\]:,]|[^\s{}\[\]:,"]+|\s+)', re.DOTALL
)
"""The JSON tokenizer as it was: every token, whitespace and literals included."""

_JSON_FRAGMENTS = [
    "{", "}", "[", "]", ":", ", ", " ", "\n", "\\", '\\"', "12", "true", "é", '"a\\"b"', '"',
    "userName", '"userName"', '"name"', '"name": {', '"name": "x"', '"emails"', "emails",
    '"value"', '"members"', '"display"', '"id"', '"description"', '"User"', '"ada"', '"A"',
    '"Ada Lovelace"', '"lovelace"', '"ada@example.com"', '"+1 555 555 0167"',
]  # fmt: skip
JSON_PIECES = st.lists(st.sampled_from(_JSON_FRAGMENTS), max_size=30).map("".join)
"""JSON-ish text, often cut or broken, with personal keys, shapes and the sample user's
values in it."""


@PROPERTY
@example(text='{"userName": "ada", "emails": [{"value": "a@b.c"}], "n": 1')
@example(text='["a\\')
@given(text=st.one_of(JSON_PIECES, ANY))
def test_the_json_scan_sees_the_same_strings_and_key_paths_as_every_token_did(text: str) -> None:
    # Copying whitespace and literals between matches instead of matching them one by one
    # must leave every string value, its key path and every other byte as they were.
    def show(path: tuple[str, ...], raw: str) -> str:
        return f"<{'/'.join(path)}|{raw}>"

    fast = pii._scan_json(text, show)
    kept = pii._JSON_TOKEN
    pii._JSON_TOKEN = _EVERY_TOKEN
    try:
        slow = pii._scan_json(text, show)
    finally:
        pii._JSON_TOKEN = kept
    assert fast == slow


_KEYS = st.sampled_from(
    ["userName", "name", "givenName", "emails", "value", "display", "members", "id", "Emails"]
) | st.text(max_size=6)
JSON_DOCUMENTS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
).map(lambda value: json.dumps(value, ensure_ascii=bool(len(str(value)) % 2)))
"""Whole JSON documents with SCIM's personal keys (ASCII-escaped or not)."""


def _collected(text: str, parsed: bool) -> set[str]:
    masker = object.__new__(pii._Masker)
    masker.found = set()
    if parsed:
        masker._collect_parsed(json.loads(text, object_pairs_hook=pii._Members), ())
    else:
        pii._scan_json(text, masker._collect_raw)
    return masker.found


@PROPERTY
@example(text='{"emails": [{"value": "a@b.c"}], "emails": ["x@y.z"]}')
@example(text='{"name": {"givenName": "Ada", "familyName": "Lov\\u00e9lace"}}')
@given(text=st.one_of(JSON_DOCUMENTS, JSON_PIECES))
def test_a_whole_document_parsed_gives_the_personal_values_the_scan_collects(text: str) -> None:
    # Collecting from json.loads' tree replaced the token scan for documents that parse; the
    # values found (repeated keys included) must be the scan's.
    try:
        json.loads(text)
    except ValueError:
        return  # cut or malformed: these are still scanned
    assert _collected(text, parsed=True) == _collected(text, parsed=False)


@PROPERTY
@example(text='{"name": "User", "description": "Ada Lovelace wrote it"}')
@example(text='{"schemas": ["x"], "detail": "no user ada@example.com"}')
@example(text='{"members": [{"display": "Ada"}]}')
@given(text=JSON_PIECES)
def test_a_json_text_left_unscanned_is_one_the_scan_would_not_change(text: str) -> None:
    # Bodies with no personal key, no shape and no known value are no longer scanned string by
    # string: that shortcut must give exactly what the scan gives.
    forget_personal_data()
    masker = pii._Masker(report_with(list_response(user(user_name="ada", given="Ada"))))
    assert masker.json_text(text) == (
        pii._scan_json(text, masker._json_value)
        if pii._looks_like_json(text)
        else masker.text(text)
    )


@PROPERTY
@given(text=JSON_PIECES)
@example(text='{"name": "x"{"name": "x"')  # a value ends its key: the brace opens under none
@example(text='{"name": 1 {"name": {"a": "x"}}')
def test_a_json_text_said_to_name_no_personal_data_holds_no_personal_value(text: str) -> None:
    seen: list[tuple[str, ...]] = []

    def collect(path: tuple[str, ...], raw: str) -> str:
        if pii._personal(path):
            seen.append(path)
        return raw

    pii._scan_json(text, collect)
    if not pii._may_name_personal_data(text):
        assert seen == []
