"""Reporters: each a pure `render(report) -> str`; `writer` puts the text where it belongs.

Imported lazily by format name, so a run that writes only text never loads Jinja.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from scim_doctor.core.model import Report

FORMATS: dict[str, str] = {
    "text": "scim_doctor.reporters.text",
    "json": "scim_doctor.reporters.json",
    "html": "scim_doctor.reporters.html",
    "junit": "scim_doctor.reporters.junit",
    "markdown": "scim_doctor.reporters.markdown",
    "openmetrics": "scim_doctor.reporters.openmetrics",
    "nagios": "scim_doctor.reporters.nagios",
    "har": "scim_doctor.reporters.har",
}
"""Every report format, by the name used in --format and --report FORMAT=PATH."""


def renderer(name: str) -> Callable[[Report], str]:
    """The `render` function of a format (KeyError for an unknown name)."""
    module = importlib.import_module(FORMATS[name])
    render: Callable[[Report], str] = module.render
    return render
