"""Reporters: each a pure `render(report) -> str`; `writer` puts the text where it belongs."""

from __future__ import annotations

from collections.abc import Callable

from scim_doctor.model import Report
from scim_doctor.reporters import json, text

RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": text.render,
    "json": json.render,
}
