"""docs/thirdparty.md names every finding the third-party tests expect (read-only and the write
lifecycle), and the pinned versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.thirdparty import npm, test_lifecycle, test_scim2_server, test_scimmy
from tests.thirdparty.servers import SCIM2_SERVER_VERSION

DOC = Path(__file__).resolve().parents[2] / "docs" / "thirdparty.md"
LIFECYCLE_HEADING = "\n## Opt-in write lifecycle (`--allow-writes`)\n"


def _codes(expected: dict[str, set[str]]) -> set[str]:
    return set().union(*expected.values()) if expected else set()


@pytest.mark.parametrize(
    ("server", "codes"),
    [
        ("scim2-server", _codes(test_scim2_server.EXPECTED_WITHOUT_TOKEN)),
        ("SCIMMY", _codes(test_scimmy.EXPECTED)),
    ],
)
def test_every_expected_finding_is_explained_in_the_server_section(
    server: str, codes: set[str]
) -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"\n## {server} ", 1)[1].split("\n## ", 1)[0]
    assert {code for code in codes if f"`{code}`" not in section} == set()


@pytest.mark.parametrize(
    ("server", "codes"),
    [
        ("scim2-server", _codes(test_lifecycle.EXPECTED_SCIM2_SERVER)),
        ("SCIMMY", _codes(test_lifecycle.EXPECTED_SCIMMY)),
    ],
)
def test_every_expected_lifecycle_finding_is_explained_in_the_lifecycle_section(
    server: str, codes: set[str]
) -> None:
    text = DOC.read_text(encoding="utf-8")
    lifecycle = text.split(LIFECYCLE_HEADING, 1)[1].split("\n## ", 1)[0]
    subsection = lifecycle.split(f"\n### {server} ", 1)[1].split("\n### ", 1)[0]
    assert {code for code in codes if f"`{code}`" not in subsection} == set()
    assert ("**No findings.**" in subsection) == (not codes)


def test_the_documented_versions_are_the_pinned_ones() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"## scim2-server {SCIM2_SERVER_VERSION} " in text
    pins = npm.pinned()
    assert f"## SCIMMY {pins['scimmy']} + scimmy-routers {pins['scimmy-routers']} " in text
    assert f"express {pins['express']}" in text
