"""docs/real-servers.md and the tool agree, server by server: every finding the doctor reports on
a real server behind nginx is in that server's table with its severity, and every row of the
table is still reported. A new warning or failure that nobody has explained fails here; so does
an explanation of something that no longer happens."""

from __future__ import annotations

import re

import pytest

from tests.conftest import assert_one_verdict
from tests.thirdparty.conftest import (
    INSTALL_AND_RUN_TIMEOUT_S,
    SERVER_FIXTURES,
    WRITABLE,
    Reports,
)
from tests.thirdparty.doctor import Checked
from tests.thirdparty.real_servers_doc import Row, tables

pytestmark = pytest.mark.timeout(INSTALL_AND_RUN_TIMEOUT_S)

RUNS = [(key, "check") for key in SERVER_FIXTURES] + [(key, "lifecycle") for key in WRITABLE]
_RFC_LEVEL = re.compile(r"\b(MUST|SHALL|SHOULD|REQUIRED|RECOMMENDED)\b")


def _reported(checked: Checked) -> set[tuple[str, str]]:
    return {
        (finding["code"], finding["severity"])
        for check in checked.report["checks"]
        for finding in check["findings"]
    }


def _run(reports: Reports, key: str, run: str) -> Checked:
    return reports.check(key) if run == "check" else reports.lifecycle(key)


def _rows(key: str, run: str) -> list[Row]:
    return [row for row in tables()[key] if row.run == run]


def test_the_document_has_one_findings_table_per_server_set_up() -> None:
    assert sorted(tables()) == sorted(SERVER_FIXTURES)


@pytest.mark.parametrize(("key", "run"), RUNS)
def test_every_finding_on_a_real_server_is_the_one_its_table_documents(
    reports: Reports, key: str, run: str
) -> None:
    documented = {(row.code, row.severity) for row in _rows(key, run)}
    reported = _reported(_run(reports, key, run))
    assert {
        "reported but not in docs/real-servers.md": sorted(reported - documented),
        "in docs/real-servers.md but no longer reported": sorted(documented - reported),
    } == {
        "reported but not in docs/real-servers.md": [],
        "in docs/real-servers.md but no longer reported": [],
    }


@pytest.mark.parametrize(("key", "run"), RUNS)
def test_a_real_servers_summary_and_exit_code_follow_from_its_documented_findings(
    reports: Reports, key: str, run: str
) -> None:
    checked = _run(reports, key, run)
    severities = {row.severity for row in _rows(key, run)}
    worst = "fail" if "fail" in severities else "warn" if "warn" in severities else "pass"
    assert (checked.report["summary"]["status"], checked.exit_code) == (
        worst,
        1 if worst == "fail" else 0,
    )
    assert_one_verdict(checked.report)


def test_every_documented_warning_or_failure_names_its_rule_or_says_it_is_tool_noise() -> None:
    for key, rows in tables().items():
        for row in rows:
            if row.severity == "info":
                continue
            assert row.kind != "info", (key, row.code)
            if row.kind == "RFC deviation":
                assert "RFC" in row.rule and _RFC_LEVEL.search(row.rule), (key, row.code)
            if row.kind == "tool noise":
                assert "**Tool noise**" in row.what, (key, row.code)
