"""The incremental ListResponse parser: the same answer as json.loads, whatever the cuts.

Properties (Hypothesis): any list of JSON objects, in a ListResponse or bare, serialised any
way and cut into pieces at any points, streams to exactly what json.loads reads; any mangled
body either streams to what json.loads reads or fails with a StreamError carrying a byte
offset, never another exception.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scim_doctor.net.stream_json import ListStream, StreamError, read_typed, read_whole

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=8,
)
objects = st.dictionaries(st.text(max_size=8), values, max_size=5)


def stream(data: bytes, cuts: list[int], **options: Any) -> tuple[list[Any], ListStream]:
    """Feed `data` cut at `cuts`; the resources and the parser (for head and shape)."""
    parser = ListStream(**options)
    items: list[Any] = []
    start = 0
    for cut in [*sorted({c for c in cuts if 0 < c < len(data)}), len(data)]:
        items.extend(parser.feed(data[start:cut]))
        start = cut
    items.extend(parser.close())
    return items, parser


def serialise(document: Any, style: int, ascii_only: bool) -> bytes:
    if style == 0:
        text = json.dumps(document, ensure_ascii=ascii_only)
    elif style == 1:
        text = json.dumps(document, ensure_ascii=ascii_only, separators=(",", ":"))
    else:
        text = json.dumps(document, ensure_ascii=ascii_only, indent="\t \r\n"[: style % 4 + 1])
    return text.encode("utf-8")


def reference(data: bytes) -> tuple[list[Any], dict[str, Any]]:
    """What the parser must give, per json.loads: (resources, head). Raises when invalid."""
    text = data.decode("utf-8")
    text = text.removeprefix("\ufeff")
    calls: list[list[tuple[str, Any]]] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        calls.append(pairs)
        return dict(pairs)

    document = json.loads(text, object_pairs_hook=pairs_hook)
    if isinstance(document, list):
        return document, {}
    if not isinstance(document, dict):
        raise ValueError("not an object or array")
    items: list[Any] = []
    head: dict[str, Any] = {}
    for key, value in calls[-1]:  # the top-level object is the last one completed
        if key.lower() == "resources" and isinstance(value, list):
            items.extend(value)
        else:
            head[key] = value
    return items, head


@SETTINGS
@given(
    resources=st.lists(objects, max_size=8),
    extra=st.dictionaries(st.sampled_from(["totalResults", "startIndex", "schemas", "x"]), values),
    style=st.integers(0, 5),
    ascii_only=st.booleans(),
    resources_first=st.booleans(),
    cuts=st.lists(st.integers(0, 4000), max_size=30),
)
def test_any_list_response_cut_anywhere_streams_to_what_json_loads_reads(
    resources: list[dict[str, Any]],
    extra: dict[str, Any],
    style: int,
    ascii_only: bool,
    resources_first: bool,
    cuts: list[int],
) -> None:
    members = [("Resources", resources), *extra.items()]
    document = dict(members if resources_first else members[::-1])
    data = serialise(document, style, ascii_only)

    items, parser = stream(data, cuts)

    assert items == json.loads(data)["Resources"]
    assert parser.head == extra
    assert (parser.shape, parser.items) == ("object", len(resources))


@SETTINGS
@given(resources=st.lists(objects, max_size=8), cuts=st.lists(st.integers(0, 3000), max_size=40))
def test_a_bare_array_streams_its_elements_too(
    resources: list[dict[str, Any]], cuts: list[int]
) -> None:
    data = json.dumps(resources, ensure_ascii=False).encode()

    items, parser = stream(data, cuts)

    assert items == resources
    assert (parser.shape, parser.head) == ("array", {})


@SETTINGS
@given(
    resources=st.lists(objects, min_size=1, max_size=4),
    edits=st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 3), st.binary(max_size=3)),
        min_size=1,
        max_size=3,
    ),
    cuts=st.lists(st.integers(0, 2000), max_size=20),
)
def test_a_mangled_body_reads_like_json_loads_or_fails_with_a_byte_offset(
    resources: list[dict[str, Any]],
    edits: list[tuple[int, int, bytes]],
    cuts: list[int],
) -> None:
    data = json.dumps({"totalResults": len(resources), "Resources": resources}).encode()
    for at, drop, insert in edits:
        at %= len(data) + 1
        data = data[:at] + insert + data[at + drop :]
    try:
        expected: tuple[list[Any], dict[str, Any]] | None = reference(data)
    except ValueError:  # JSONDecodeError, UnicodeDecodeError, digit limit, not an object
        expected = None

    try:
        items, parser = stream(data, cuts)
    except StreamError as error:
        assert expected is None, f"{data!r} is valid JSON, but: {error}"
        assert 0 <= error.offset <= len(data)
        return
    assert expected is not None, f"{data!r} is not valid JSON, yet it streamed"
    assert (items, parser.head) == expected


def test_a_syntax_error_names_its_byte_offset() -> None:
    data = '{"totalResults": 2, "Resources": [{"userName": "zoë"}, {"active": tru}]}'.encode()

    with pytest.raises(StreamError) as caught:
        stream(data, [10, 40, 60])

    assert caught.value.offset == data.index(b"tru}")
    assert f"at byte {caught.value.offset}" in str(caught.value)


def test_an_invalid_utf8_byte_is_reported_at_its_offset_even_across_pieces() -> None:
    data = b'{"Resources": [{"a": "caf\xc3\xa9"}, {"b": "\xff"}]}'

    with pytest.raises(StreamError) as caught:
        stream(data, list(range(1, len(data))))

    assert caught.value.offset == data.index(b"\xff")
    assert "0xFF" in caught.value.message


def test_a_character_split_between_pieces_is_decoded_whole() -> None:
    data = json.dumps({"Resources": [{"name": "Zoë Ångström 東京"}]}, ensure_ascii=False).encode()

    items, _ = stream(data, list(range(1, len(data))))

    assert items == [{"name": "Zoë Ångström 東京"}]


def test_resources_are_recognised_in_any_letter_case() -> None:
    items, parser = stream(b'{"resources": [{"id": "1"}], "TotalResults": 1}', [])

    assert items == [{"id": "1"}]
    assert parser.head == {"TotalResults": 1}


def test_a_byte_order_mark_is_accepted() -> None:
    items, _ = stream(codecs.BOM_UTF8 + b'{"Resources": [{}]}', [1, 2])

    assert items == [{}]


def test_a_body_cut_short_fails_at_its_end() -> None:
    data = b'{"totalResults": 3, "Resources": [{"id": "1"}, {"id": "2"'

    with pytest.raises(StreamError) as caught:
        stream(data, [20])

    assert caught.value.offset == len(data)
    assert "ends early" in caught.value.message


def test_resources_arrive_before_the_body_is_complete() -> None:
    parser = ListStream()

    first = list(parser.feed(b'{"Resources": [{"id": "1"}, {"id": "2"}, {"id": '))

    assert first == [{"id": "1"}, {"id": "2"}]
    assert list(parser.feed(b'"3"}], "totalResults": 3}')) == [{"id": "3"}]
    assert parser.close() == []
    assert parser.head == {"totalResults": 3}


def test_a_number_cut_at_the_end_of_a_piece_waits_for_the_rest() -> None:
    parser = ListStream()

    assert list(parser.feed(b"[12")) == []
    assert list(parser.feed(b"34]")) == [1234]
    parser.close()


def test_a_value_longer_than_the_limit_fails_before_the_body_ends() -> None:
    parser = ListStream(max_item=1000)
    list(parser.feed(b'{"Resources": [{"photo": "'))

    with pytest.raises(StreamError) as caught:
        for _ in range(10):
            list(parser.feed(b"A" * 500))

    assert "longer than 1000 characters" in caught.value.message
    assert caught.value.offset == len(b'{"Resources": [')


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the body is empty"),
        (b"   ", "the body is empty"),
        (b"<html>login</html>", "Expecting value"),
        (b'"a string"', "expected a JSON object"),
        (b'{"Resources": []} {}', "extra data"),
        (b'{"Resources": [1 2]}', "Expecting ',' delimiter"),
        (b'{"a" 1}', "Expecting ':' delimiter"),
        (b'{"a": 1,}', "Expecting property name"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_what_is_not_a_list_response_fails_cleanly(body: bytes, message: str) -> None:
    with pytest.raises(StreamError) as caught:
        stream(body, [3, 7])

    assert message in caught.value.message
    assert 0 <= caught.value.offset <= len(body)


# --- read_whole / read_typed: the same answer as ListStream, or none -----------------------

WHOLE_BODIES = [
    b'{"totalResults":2,"Resources":[{"id":"1"},{"id":"2"}],"itemsPerPage":2}',
    b'[{"id":"1"}]',
    b'{"Resources":[{"id":"1"}],"Resources":[{"id":"2"}]}',
    b'{"Resources":[{"id":"1"}],"resources":[{"id":"2"}]}',
    b'{"Resources":[{"id":"1"}],"Re\\u0073ources":[{"id":"2"}]}',
    b'{"Resources":[{"id":"1","name":"\\u00e9"}]}',
    b'{"Resources":[{"id":"1","x":"\\"Resources\\""}]}',
    b'{"Resources":null,"totalResults":0}',
    b'\xef\xbb\xbf{"Resources":[]}',
    b'{"Resources":[{"id":NaN}]}',
    b'{"Resources":[{"id":"\\ud800"}]}',
    b'{"Resources":[{"id":"\xff"}]}',
    b'{"Resources":[{"id":"\xed\xa0\x80"}]}',
    b'{"Resources":[{"n":123456789012345678901234567890}]}',
    b'{"Resources":[{"n":1e400}]}',
    b'"just a string"',
    b'{"Resources":[{"id":"1"}]',
]


def _streamed(body: bytes) -> tuple[list[Any], dict[str, Any], str | None] | str:
    parser = ListStream()
    try:
        items = [*parser.feed(body), *parser.close()]
    except StreamError as error:
        return error.message
    return items, parser.head, parser.shape


@pytest.mark.parametrize("body", WHOLE_BODIES, ids=repr)
def test_a_page_read_whole_is_what_the_stream_parser_reads_or_nothing(body: bytes) -> None:
    whole = read_whole(body)
    if whole is not None:
        assert (whole.items, whole.head, whole.shape) == _streamed(body)


@pytest.mark.parametrize("body", WHOLE_BODIES, ids=repr)
def test_a_page_read_by_type_is_what_the_stream_parser_reads_or_nothing(body: bytes) -> None:
    import msgspec

    whole = read_typed(body, msgspec.json.Decoder(list[dict[str, Any]]))
    if whole is not None:
        assert (whole.items, whole.head, whole.shape) == _streamed(body)


def test_duplicate_or_escaped_resources_members_are_left_to_the_stream_parser() -> None:
    for body in WHOLE_BODIES[2:5]:
        assert read_typed(body, _any_list()) is None
    assert read_whole(WHOLE_BODIES[2]) is None
    assert read_whole(WHOLE_BODIES[4]) is None
    assert read_whole(WHOLE_BODIES[6]) is not None  # the name inside a value is no member


def _any_list() -> Any:
    import msgspec

    return msgspec.json.Decoder(list[Any])
