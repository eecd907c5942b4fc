"""The pure body helpers: capped decoding, JSON with byte offsets, charsets, Retry-After."""

from __future__ import annotations

import datetime as dt
import gzip
import zlib

import pytest

from scim_doctor.net.body import (
    CappedBody,
    MemoryBudget,
    charset_of,
    charset_problem,
    is_html,
    is_json,
    is_scim_json,
    media_type,
    parse_json,
    parse_retry_after,
)


def feed_in_pieces(body: CappedBody, data: bytes, size: int = 7) -> CappedBody:
    for start in range(0, len(data), size):
        body.feed(data[start : start + size])
    body.finish()
    return body


def test_identity_body_is_cut_at_the_limit() -> None:
    body = feed_in_pieces(CappedBody(None, 10), b"0123456789abc")
    assert (bytes(body.body), body.too_large, body.error) == (b"0123456789", True, None)


def test_a_gzip_body_fed_in_small_pieces_decodes_whole() -> None:
    data = b"hello, " * 1000
    body = feed_in_pieces(CappedBody("gzip", 1 << 20), gzip.compress(data))
    assert (bytes(body.body), body.too_large, body.error) == (data, False, None)


def test_concatenated_gzip_members_decode_as_one_body() -> None:
    body = feed_in_pieces(CappedBody("gzip", 100), gzip.compress(b"abc") + gzip.compress(b"def"))
    assert bytes(body.body) == b"abcdef"


def test_stacked_encodings_are_undone_in_reverse_order() -> None:
    data = b'{"a": 1}'
    body = feed_in_pieces(CappedBody("deflate, gzip", 100), gzip.compress(zlib.compress(data)))
    assert (bytes(body.body), body.error) == (data, None)


def test_a_corrupt_gzip_body_is_an_error_not_an_exception() -> None:
    body = CappedBody("gzip", 100)
    body.feed(b"\x1f\x8b\x08\x00garbage-that-is-not-deflate")
    assert body.error is not None and body.error.startswith("the gzip body is corrupt")
    assert body.done


def test_a_gzip_body_cut_short_is_reported_at_the_end() -> None:
    body = feed_in_pieces(CappedBody("gzip", 1000), gzip.compress(b"x" * 500)[:-12])
    assert body.error == "the gzip body ends before the end of its compressed stream"


def test_an_unsupported_encoding_keeps_the_raw_bytes_and_says_why() -> None:
    body = feed_in_pieces(CappedBody("br", 100), b"\x0b\x02\x80")
    assert bytes(body.body) == b"\x0b\x02\x80"
    assert body.error is not None and "'br'" in body.error


def test_media_type_helpers() -> None:
    assert media_type(" Application/SCIM+JSON ; charset=UTF-8") == "application/scim+json"
    assert is_scim_json("application/scim+json; charset=utf-8")
    assert not is_scim_json("application/json")
    assert is_json("application/json") and is_json("application/problem+json")
    assert not is_json("text/json-ish") and not is_json(None)
    assert is_html("text/html; charset=iso-8859-1") and not is_html("text/plain")
    assert charset_of('application/json; charset="UTF-8"') == "utf-8"
    assert charset_of("application/json") is None


def test_invalid_json_names_the_byte_offset_line_and_column() -> None:
    parsed = parse_json('{"name": "zoë",\n "x": }'.encode())
    assert parsed.value is None
    assert parsed.error == "invalid JSON at byte 23 (line 2, column 7): Expecting value"


def test_json_with_a_utf8_bom_is_accepted() -> None:
    assert parse_json(b'\xef\xbb\xbf{"a": [1]}') == ({"a": [1]}, None)


def test_json_null_is_a_value_not_an_error() -> None:
    parsed = parse_json(b"null")
    assert parsed.ok and parsed.value is None


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"  ", "the body is empty, expected JSON"),
        (b'{"a": "\xe9"}', "the body is not valid utf-8: byte 0xE9 at offset 7"),
        (b"[" * 100_000, "the JSON is nested too deeply to parse"),
    ],
)
def test_hostile_json_gives_an_error_never_an_exception(body: bytes, error: str) -> None:
    assert parse_json(body) == (None, error)


def test_a_declared_latin1_body_is_decoded_as_declared() -> None:
    assert parse_json(b'{"a": "\xe9"}', "application/json; charset=iso-8859-1").value == {"a": "é"}


def test_declared_utf8_that_is_not_utf8_is_a_charset_problem_with_its_offset() -> None:
    problem = charset_problem("application/scim+json; charset=utf-8", b'{"name": "Jos\xe9"}')
    assert problem == (
        "Content-Type declares charset=utf-8 but byte 0xE9 at offset 13 is not valid utf-8"
    )


def test_undeclared_json_must_be_utf8_but_undeclared_text_is_not_judged() -> None:
    assert charset_problem("application/json", b"\xff") is not None
    assert "RFC 8259" in (charset_problem("application/json", b"\xff") or "")
    assert charset_problem("text/plain", b"\xff") is None
    assert charset_problem("application/json; charset=utf-8", "é".encode()) is None
    assert charset_problem("text/html; charset=klingon", b"x") == (
        "Content-Type declares charset='klingon', which is not a known character set"
    )


def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    now = dt.datetime(2015, 10, 21, 7, 26, tzinfo=dt.timezone.utc)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after("-5") is None
    assert parse_retry_after(None) is None


def test_an_http_date_is_measured_from_the_responses_own_date_header() -> None:
    skewed_local_clock = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    wait = parse_retry_after(
        "Wed, 21 Oct 2015 07:28:00 GMT",
        date="Wed, 21 Oct 2015 07:27:30 GMT",
        now=skewed_local_clock,
    )
    assert wait == 30.0


def test_a_body_past_the_memory_share_goes_to_a_file_and_comes_back_whole() -> None:
    """Given a 1,000-byte body and 100 bytes of memory, when read, then only 100 bytes were
    held in memory and contents() gives all 1,000."""
    data = bytes(range(256)) * 4
    body = feed_in_pieces(CappedBody(None, 2000, spill_at=100), data[:1000])
    body.finish()

    assert (len(body.body), body.size, body.too_large) == (100, 1000, False)
    assert body.contents() == data[:1000]


def test_a_body_over_the_cap_keeps_only_its_memory_share() -> None:
    body = feed_in_pieces(CappedBody("gzip", 1000, spill_at=100), gzip.compress(b"y" * 5000))

    assert (body.too_large, body.size) == (True, 1000)
    assert body.contents() == b"y" * 100


def test_bodies_share_one_memory_budget_and_give_it_back() -> None:
    """Given a budget of 150 bytes and two 100-byte bodies read at once, when both are read,
    then the second holds only what was left (50 bytes) in memory, the rest in its file; both
    come back whole, and the budget is whole again."""
    budget = MemoryBudget(150)
    first = CappedBody(None, 1000, spill_at=100, budget=budget)
    second = CappedBody(None, 1000, spill_at=100, budget=budget)
    first.feed(b"a" * 100)
    second.feed(b"b" * 100)

    assert (len(first.body), len(second.body), budget.used) == (100, 50, 150)
    assert (first.contents(), second.contents()) == (b"a" * 100, b"b" * 100)
    assert budget.used == 0


def test_a_body_with_no_budget_left_keeps_its_first_bytes_from_the_file() -> None:
    body = feed_in_pieces(CappedBody(None, 500, spill_at=100, budget=MemoryBudget(0)), b"z" * 900)

    assert (body.too_large, len(body.body), body.size) == (True, 0, 500)
    assert body.contents() == b"z" * 100
