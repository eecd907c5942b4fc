"""JSON documents as scim-doctor writes them (scim_doctor.core.json_text): the C encoder and
msgspec's formatter must give exactly the text `json.dumps(indent=2)` gives."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scim_doctor.core.json_text import indented

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@example(value={"escape": '\x1b[0m\x00\x7f\u2028 é 😀 \\ " /', "lone": "\ud800"})
@example(value={"numbers": [1e16, 1e-7, -0.0, 10**30, 3.0], "empty": [[], {}]})
@given(value=JSON_VALUES)
def test_any_json_value_is_written_as_json_dumps_with_an_indent_writes_it(value: Any) -> None:
    assert indented(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_a_number_json_has_no_literal_for_is_written_as_json_dumps_writes_it() -> None:
    """Given NaN and Infinity (which json writes and a JSON parser refuses), then the text is
    still json.dumps's."""
    value = {"ratio": math.nan, "limit": math.inf, "floor": -math.inf}
    assert indented(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_values_json_cannot_encode_go_through_default() -> None:
    """Given a path and a set, with default=str, then they are written as json.dumps writes
    them (their str())."""
    value = {"file": Path("/tmp/report.json"), "kinds": {"a"}}
    assert indented(value, default=str) == json.dumps(
        value, indent=2, ensure_ascii=False, default=str
    )
