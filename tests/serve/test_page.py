"""The exporter's front page in real headless Chromium: after two probes it lists both targets
with their verdicts, and its links open each target's last HTML report (no console errors, no
request anywhere but the exporter). A screenshot lands in tests/actual/ for a human."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reporters.test_golden import ACTUAL
from tests.serve.exporter_harness import running_exporter
from tests.support import components
from tests.support.browser import BrowserUnavailable, Chromium
from tests.support.fleet_servers import TOKEN, TOKEN_ENV, fleet_servers


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    try:
        browser = Chromium.launch()
    except BrowserUnavailable as exc:
        components.missing(f"headless Chromium unavailable: {exc}")
    with browser:
        yield browser


ROWS = """[...document.querySelectorAll('tr.target')].map(row => ({
  name: row.dataset.target,
  verdict: row.querySelector('.verdict') ? row.querySelector('.verdict').textContent : null,
  report: row.querySelector('a.report') ? row.querySelector('a.report').href : null,
}))"""


def test_after_two_probes_the_page_lists_both_targets_and_links_to_their_reports(
    chromium: Chromium, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    kinds = {"healthy": None, "expired": "expired_cert"}
    with fleet_servers(tmp_path, kinds) as fleet:
        config = fleet.config([("acme", "healthy"), ("globex", "expired")])
        with running_exporter(config) as exporter:
            assert exporter.probe("acme").status == 200
            assert exporter.probe("globex").status == 200
            with chromium.opened(exporter.url) as page:
                rows = page.evaluate(ROWS)
                assert page.console_errors() == []
                page.screenshot(ACTUAL / "exporter-page.png")
                assert all(url.startswith(exporter.url) for url in page.requests())
            assert [(r["name"], r["verdict"]) for r in rows] == [
                ("acme", "pass"),
                ("globex", "fail"),
            ]
            for row in rows:
                last = exporter.server.exporter.last(row["name"])
                assert last is not None and last.outcome.report is not None
                with chromium.opened(row["report"]) as report:
                    assert report.console_errors() == []
                    cards = report.evaluate(
                        "[...document.querySelectorAll('section[data-check]')]"
                        ".map(s => s.dataset.check)"
                    )
                    assert sorted(cards) == sorted(c.id for c in last.outcome.report.checks)
                    text = report.evaluate("document.body.innerText")
                    assert last.outcome.base_url in text
                    report.screenshot(ACTUAL / f"exporter-report-{row['name']}.png")
            assert "tls.cert_expired" in text  # globex, the last row: its root cause
