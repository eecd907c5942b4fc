"""Reporter output against golden files. `make golden` rewrites them after an intended change;
a mismatch writes the actual output to tests/actual/ and shows the diff."""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.core.model import Report
from scim_doctor.reporters import json as json_reporter
from scim_doctor.reporters import text as text_reporter
from tests.conftest import assert_valid_report
from tests.reporters import sample_reports

GOLDEN = Path(__file__).parent / "golden"
ACTUAL = Path(__file__).resolve().parents[1] / "actual"

REPORTS: dict[str, Callable[[], Report]] = {
    "healthy": sample_reports.healthy,
    "failing": sample_reports.failing,
}
RENDERERS: dict[str, tuple[str, Callable[[Report], str]]] = {
    # The text goldens are laid out at a fixed 80 columns, whatever the terminal running them.
    "text": ("txt", lambda r: text_reporter.render(r, width=80)),
    "text-verbose": ("txt", lambda r: text_reporter.render(r, verbose=True, width=80)),
    "json": ("json", json_reporter.render),
}


def check_golden(name: str, actual: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("SCIM_DOCTOR_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
        return
    expected = golden.read_text(encoding="utf-8") if golden.exists() else ""
    if actual != expected:
        ACTUAL.mkdir(exist_ok=True)
        (ACTUAL / name).write_text(actual, encoding="utf-8")
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), actual.splitlines(True), str(golden), str(ACTUAL / name)
            )
        )
        pytest.fail(f"{name} differs from its golden file (run `make golden` if intended):\n{diff}")


@pytest.mark.parametrize("report_name", sorted(REPORTS))
@pytest.mark.parametrize("renderer_name", sorted(RENDERERS))
def test_reporter_output_matches_its_golden_file(report_name: str, renderer_name: str) -> None:
    extension, render = RENDERERS[renderer_name]
    check_golden(f"{report_name}.{renderer_name}.{extension}", render(REPORTS[report_name]()))


@pytest.mark.parametrize("report_name", sorted(REPORTS))
def test_the_json_report_is_valid_against_the_published_schema(
    report_name: str, report_validator: Any
) -> None:
    assert_valid_report(report_validator, json.loads(json_reporter.render(REPORTS[report_name]())))


UNWRAPPED = ("> ", "< HTTP", "$ curl ")
"""Verbose lines kept whole: a request line (method and URL), a status line, and the curl
command that replays an exchange (a command broken over lines does not paste)."""


@pytest.mark.parametrize("width", [60, 80, 120])
def test_the_text_report_fits_its_width_but_for_one_unbreakable_token(width: int) -> None:
    for make in REPORTS.values():
        for line in text_reporter.render(make(), verbose=True, width=width).splitlines():
            whole = line.lstrip().startswith(UNWRAPPED)
            assert len(line) <= width or len(line.split()) == 1 or whole, line


def test_the_curl_command_stays_on_one_line_at_any_width() -> None:
    """Given a failing check with an exchange, when the verbose report is narrow, then its curl
    command is one line all the same."""
    text = text_reporter.render(sample_reports.failing(), verbose=True, width=40)
    [line] = [line for line in text.splitlines() if "curl " in line]
    assert line.strip().startswith("$ curl -sS -i -X GET ")
    assert line.endswith("put them back")


def test_the_text_report_cuts_nothing_and_repeats_no_provider_reason() -> None:
    text = text_reporter.render(sample_reports.failing(), width=80)
    assert "…" not in text
    assert "same as Entra ID" in text


def test_the_verdict_names_every_problem_code() -> None:
    text = text_reporter.render(sample_reports.failing())
    verdict = " ".join(text.strip().split("\n\n")[-1].split())
    assert verdict.startswith("2 problems found: url.endpoint_suffix, tls.cert_expired")
    assert "failed internally in: discovery" in verdict


def test_colour_is_added_only_when_asked() -> None:
    report = sample_reports.failing()
    assert "\x1b[" not in text_reporter.render(report)
    assert "\x1b[31m" in text_reporter.render(report, color=True)
