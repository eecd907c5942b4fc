"""The text report of every demo fault, laid out at 60, 80, 120 and 200 columns: nothing cut,
no URL broken, every line within the width unless it holds one unbreakable token.

Users saw the cause cut away ("port 43191: re…") and URLs split across lines; this runs each
fault once (in-process, two at a time, against a loopback demo server) and renders its report at
all four widths, so the whole module stays well under a minute.
"""

from __future__ import annotations

import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from scim_doctor.core.model import Report
from scim_doctor.core.secrets import Secret
from scim_doctor.demo.faults import FAULTS
from scim_doctor.demo.server import DemoServer
from scim_doctor.net.context import Options
from scim_doctor.net.target import parse_base_url, parse_resolve
from scim_doctor.net.trust import load_trust
from scim_doctor.reporters import text as text_reporter
from scim_doctor.runs.runner import run

TOKEN = "text-width-token-5b9e0c27a4f1d863"
TIMEOUT = 2.0
WIDTHS = (60, 80, 120, 200)
URL = re.compile(r"https?://[^\s\"'<>)]+")
# What may stand before the one long token of an over-wide line: an indent and the label of
# the line it continues or starts (a check's mark and id, a finding's mark, Fix:, Impact:, a
# provider's verdict); after it, only a check's duration.
LABEL = re.compile(
    r"^\s*(?:\[.\] \S+\s+|[!✗i] |Fix: |Impact: |- |\S.*?(?:will work|will fail|unknown): )?"
)
DURATION = re.compile(r"\s+\d+(?:\.\d)? m?s$")

pytestmark = pytest.mark.timeout(300)


def diagnose(fault: str) -> Report:
    """One fault's report, as `check` would make it (writes allowed, deep where it shows)."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        DemoServer(TOKEN, fault=fault, http_listener=True) as server,
    ):
        ca = server.write_ca(Path(tmp))
        options = Options(
            timeout=TIMEOUT,
            deadline=10 * TIMEOUT,
            cacert=ca,
            resolve=(parse_resolve(server.resolve_pin),),
            http_port=server.http_port or 80,
            allow_writes=True,
            deep=any(code.startswith("users.deep_") for code in FAULTS[fault].expect),
        )
        return run(parse_base_url(server.base_url), options, Secret(TOKEN), load_trust(ca))


@pytest.fixture(scope="module")
def reports() -> dict[str, Report]:
    names = sorted(FAULTS)
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(names, pool.map(diagnose, names), strict=True))


def flat(text: str) -> str:
    """The text as one line of words, without the durations at the right of check lines (which
    stand between a wrapped summary's first line and its continuation)."""
    lines = [DURATION.sub("", line) if line.startswith("[") else line for line in text.split("\n")]
    return " ".join(" ".join(lines).split())


def said(report: Report) -> list[str]:
    """Everything the report must show whole: summaries, messages, impacts' sources, fixes, and
    each provider's first reason."""
    whole = [check.summary for check in report.checks]
    for check in report.checks:
        whole += [part for f in check.findings for part in (f.message, f.remediation)]
    whole += [item.reasons[0] for item in report.idp_verdicts if item.reasons]
    return whole


def too_wide(line: str, width: int) -> bool:
    """Over the width, and not because of one token that cannot be broken."""
    if len(line) <= width:
        return False
    rest = DURATION.sub("", line[LABEL.match(line).end() :])  # type: ignore[union-attr]
    return len(rest.split()) != 1


@pytest.mark.parametrize("width", WIDTHS)
def test_every_fault_report_cuts_nothing_breaks_no_url_and_fits_its_width(
    reports: dict[str, Report], width: int
) -> None:
    problems = []
    for fault, report in reports.items():
        text = text_reporter.render(report, width=width)
        shown = flat(text)
        repeated = {i.reasons[0] for i in report.idp_verdicts if i.reasons}
        for part in said(report):
            if flat(part) not in shown and not (part in repeated and "same as " in text):
                problems.append(f"{fault} @{width}: not shown whole: {part!r}")
            problems += [
                f"{fault} @{width}: URL broken: {url}"
                for url in URL.findall(part)
                if url not in text
            ]
        problems += [
            f"{fault} @{width}: {len(line)} columns: {line!r}"
            for line in text.splitlines()
            if too_wide(line, width)
        ]
        if "…" in text and not any("…" in part for part in said(report)):
            problems.append(f"{fault} @{width}: an ellipsis the report did not contain")
    assert not problems, "\n".join(problems[:40])


def test_the_cli_lays_out_at_columns_when_set_and_at_100_when_piped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io
    import sys

    from scim_doctor.cli.delivery import text_width

    monkeypatch.setattr(sys, "stdout", io.StringIO())  # a pipe
    monkeypatch.setenv("COLUMNS", "200")
    assert text_width() == 200
    assert text_width("report.txt") == text_reporter.PIPE_WIDTH == 100  # a file: fixed
    monkeypatch.delenv("COLUMNS")
    assert text_width() == 100
