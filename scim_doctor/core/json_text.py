"""JSON documents as scim-doctor writes them: two-space indents, UTF-8 text as it is.

`json.dumps(value, indent=2)` runs the standard library's pure-Python encoder (with an indent
the C one is not used): some 2 ms for a check's 90 KB report, most of what rendering it costs
(issue 21), and seconds for a large fleet's. The C encoder writes the compact document and
msgspec's formatter indents it, copying every string and number as written: the text is the
one `json.dumps(value, indent=2, ensure_ascii=False)` gives (tests/test_json_text.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import msgspec


def indented(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False, default=default)`, faster."""
    compact = json.dumps(value, ensure_ascii=False, default=default, separators=(",", ":"))
    try:
        formatted = msgspec.json.format(compact.encode("utf-8", "surrogatepass"), indent=2)
    except msgspec.DecodeError:  # NaN or Infinity: json writes them, JSON has no such numbers
        return json.dumps(value, indent=2, ensure_ascii=False, default=default)
    return formatted.decode("utf-8", "surrogatepass")
