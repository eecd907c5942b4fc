"""What a test does when a real component it needs (Chromium, node, a third-party server, root
for a network namespace) is missing.

A skip counts as green, so a suite that skips quietly can pass on a machine where none of the
real-server, browser or namespace tests ran. `make test` installs the components first
(scripts/ensure-components) and sets SCIM_DOCTOR_REQUIRE_REAL=1: then a missing component fails
the test with the reason. `make test-fast` leaves it unset, and the same tests skip with it.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_REAL = "SCIM_DOCTOR_REQUIRE_REAL"


def required() -> bool:
    """Whether missing components fail the run (`make test`) rather than skip (`make test-fast`)."""
    return os.environ.get(REQUIRE_REAL, "") not in ("", "0")


def missing(reason: str) -> NoReturn:
    """Fail (components required) or skip (allowed) the calling test, saying what is missing."""
    if required():
        pytest.fail(
            f"a required component is missing: {reason} "
            f"({REQUIRE_REAL}=1: `make test` installs it; `make test-fast` lets this skip)",
            pytrace=False,
        )
    pytest.skip(reason)
