"""How docs/real-servers.md is read, and that it names the versions the project pins."""

from __future__ import annotations

import pytest

from tests.thirdparty import npm
from tests.thirdparty.real_servers_doc import DOC, Row, tables
from tests.thirdparty.servers import DJANGO_SCIM2_VERSION, SCIM2_SERVER_VERSION

HEAD = "| Run | Code | Severity | Kind | What the server does | Rule |\n| --- | --- | --- | --- |\n"


def test_a_findings_table_is_read_row_by_row_after_its_marker() -> None:
    text = (
        "intro\n<!-- findings: one -->\n"
        + HEAD
        + "| check | `auth.x_y` | warn | RFC deviation | does | RFC 1 §2 (MUST) |\n\nafter\n"
    )
    assert tables(text) == {
        "one": [Row("check", "auth.x_y", "warn", "RFC deviation", "does", "RFC 1 §2 (MUST)")]
    }


@pytest.mark.parametrize(
    "row",
    [
        "| check | auth.x_y | warn | RFC deviation | does | rule |",
        "| reads | `auth.x_y` | warn | RFC deviation | does | rule |",
        "| check | `auth.x_y` | notice | RFC deviation | does | rule |",
        "| check | `auth.x_y` | warn | a guess | does | rule |",
        "| check | `auth.x_y` | warn | RFC deviation | does |",
    ],
)
def test_a_malformed_row_is_an_error_not_a_row_less(row: str) -> None:
    with pytest.raises(ValueError, match="'one'"):
        tables("<!-- findings: one -->\n" + HEAD + row + "\n")


def test_a_marker_without_its_table_is_an_error() -> None:
    with pytest.raises(ValueError, match="does not follow"):
        tables("<!-- findings: one -->\nno table here\n")


def test_the_documented_versions_are_the_pinned_ones() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"## scim2-server {SCIM2_SERVER_VERSION} (PyPI)" in text
    assert f"## django-scim2 {DJANGO_SCIM2_VERSION} (PyPI)" in text
    scimmy = npm.SCIMMY.pinned()
    assert f"## SCIMMY {scimmy['scimmy']} + scimmy-routers {scimmy['scimmy-routers']} (npm)" in text
    assert f"Express {scimmy['express']}" in text
    better_auth = npm.BETTER_AUTH.pinned()
    assert f"## Better Auth SCIM plugin {better_auth['@better-auth/scim']} (npm)" in text
    assert f"better-call {better_auth['better-call']}" in text
