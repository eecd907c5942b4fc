"""The HTML report: golden files, escaping, strict templates, the installed-package path, and the
file opened in real headless Chromium (no console errors, no network, one card per check).

Screenshots of every page the browser opens land in tests/actual/ (git-ignored) for a human to
look at; `make golden` rewrites the .html golden files after an intended change."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

import jinja2
import msgspec.structs
import pytest

from scim_doctor.core import findings
from scim_doctor.core.model import (
    CheckResult,
    Exchange,
    Finding,
    Report,
    Severity,
    Status,
    TargetInfo,
)
from scim_doctor.demo.server import DemoServer
from scim_doctor.reporters import html
from scim_doctor.reporters.text import verdict
from tests.reporters import sample_reports
from tests.reporters.test_golden import ACTUAL, REPORTS, check_golden
from tests.support import components
from tests.support.browser import BrowserUnavailable, Chromium

ROOT = Path(__file__).resolve().parents[2]
PLANTED = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"
TOKEN = "canary-html-5f1d2c9a7b3e4086"


def with_check(report: Report, check: CheckResult) -> Report:
    return msgspec.structs.replace(report, checks=(*report.checks, check))


def planted_report() -> Report:
    """Hostile text in every field a server or a user controls."""
    finding = findings.make("auth.rejected", f"the server said {PLANTED}")
    check = CheckResult(
        id="auth",
        title="Token authentication",
        status=Status.FAIL,
        duration_ms=3.0,
        summary=f"401 {PLANTED}",
        findings=(finding,),
        facts={PLANTED: PLANTED, "hops": [{"url": PLANTED, "status": 302, "location": PLANTED}]},
        exchanges=(
            Exchange(
                method="GET",
                url=f"https://scim.example.com/{PLANTED}",
                request_headers=(("Accept", PLANTED),),
                status=401,
                http_version="HTTP/1.1",
                response_headers=(("X-Reason", PLANTED),),
                body_excerpt=f"<html>{PLANTED}</html>",
                body_bytes=80,
                body_truncated=False,
            ),
        ),
    )
    return with_check(sample_reports.healthy(), check)


# --- the file itself ----------------------------------------------------------------------------


@pytest.mark.parametrize("report_name", sorted(REPORTS))
def test_the_html_report_matches_its_golden_file(report_name: str) -> None:
    check_golden(f"{report_name}.html.html", html.render(REPORTS[report_name]()))


def test_a_script_planted_in_server_text_is_escaped_everywhere() -> None:
    page = html.render(planted_report())
    assert "<script" not in page
    assert "<img" not in page
    assert page.count("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;") >= 8


def test_the_template_environment_refuses_undefined_names() -> None:
    env = html.environment()
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ no_such_name }}").render()
    with pytest.raises(jinja2.UndefinedError):
        env.get_template(html.TEMPLATE).render()


def test_the_report_carries_no_external_reference_and_forbids_fetching() -> None:
    page = html.render(sample_reports.failing())
    assert "default-src 'none'" in page
    assert not re.search(r"""(src|href)=["'](?!#)""", page), "only in-page links are allowed"
    assert "@import" not in page and "url(" not in page


def test_a_report_without_environment_or_checks_still_renders() -> None:
    empty = Report(
        tool_version="0.1.0",
        target=TargetInfo("https://scim.example.com/scim/v2", "scim.example.com", 443),
        started_at="2026-11-27T10:00:00Z",
        duration_ms=0.0,
        checks=(),
    )
    page = html.render(empty)
    assert "0 checks" in page
    assert "<dt>Proxy</dt><dd>not recorded</dd>" in page
    assert "Identity providers" not in page


def test_per_identity_provider_verdicts_appear_only_when_the_run_recorded_them() -> None:
    bare = msgspec.structs.replace(sample_reports.healthy(), idp_verdicts=())
    assert "Identity providers" not in html.render(bare)

    page = html.render(sample_reports.failing())

    assert '<h2 id="idp-heading">Identity providers</h2>' in page
    okta = re.search(r"<th scope=\"row\">Okta</th><td>(.*?)</td><td>(.*?)</td>", page, re.S)
    assert okta and "WILL FAIL" in okta.group(1) and "s-fail" in okta.group(1)
    assert "contains &#39;_&#39;, which Okta does not accept" in okta.group(2)
    assert "Build your SCIM API service — Base URL: https://developer.okta.com/" in okta.group(2)


def test_an_identity_provider_that_cannot_be_judged_reads_unknown_with_the_reason() -> None:
    page = html.render(sample_reports.healthy())

    jumpcloud = re.search(r"<th scope=\"row\">JumpCloud</th><td>(.*?)</td><td>(.*?)</td>", page)
    assert jumpcloud and "UNKNOWN" in jumpcloud.group(1) and "s-skip" in jumpcloud.group(1)
    assert jumpcloud.group(2).startswith("not replayed (read-only run")


def test_an_expired_certificate_in_the_chain_is_shown_with_its_days_past_expiry() -> None:
    chain = [
        {"subject": "CN=scim.example.com", "not_after": "2026-11-01T00:00:00Z", "days_left": -26},
        {
            "subject": "CN=Example Issuing CA",
            "not_after": "2030-01-01T00:00:00Z",
            "days_left": 1131,
        },
    ]
    check = CheckResult("tls", "TLS", Status.FAIL, 4.0, "expired", facts={"chain": chain})
    page = html.render(with_check(sample_reports.healthy(), check))
    assert '<tr class="expired">' in page
    assert "expired 26 days ago" in page
    assert "1131 days left" in page
    assert "intermediate" in page


def test_redirect_hops_are_drawn_as_a_diagram_with_each_status_and_target() -> None:
    hops = [
        {
            "url": "http://scim.example.com/scim/v2",
            "status": 301,
            "location": "https://scim.example.com/scim/v2",
            "token_sent": False,
        },
        {
            "url": "https://scim.example.com/scim/v2",
            "status": 200,
            "location": None,
            "token_sent": True,
        },
    ]
    check = CheckResult("redirect", "Redirects", Status.WARN, 9.0, "301", facts={"hops": hops})
    page = html.render(with_check(sample_reports.healthy(), check))
    diagram = page[
        page.index('<ol class="hops"') : page.index("</ol>", page.index('<ol class="hops"'))
    ]
    assert "301 → https://scim.example.com/scim/v2" in diagram
    assert "answered 200" in diagram
    assert "(token not sent)" in diagram and "(token sent)" in diagram


def test_an_exchange_waterfall_draws_each_curl_phase_from_its_cumulative_times() -> None:
    exchange = Exchange(
        method="GET",
        url="https://scim.example.com/scim/v2/Users",
        request_headers=(),
        status=200,
        http_version="HTTP/1.1",
        response_headers=(),
        body_excerpt="",
        body_bytes=0,
        body_truncated=False,
        timings_ms={
            "connect": 10.0,
            "tls": 30.0,
            "request_sent": 31.0,
            "first_byte": 90.0,
            "total": 100.0,
        },
    )
    check = CheckResult("auth", "Auth", Status.PASS, 100.0, "ok", exchanges=(exchange,))
    chart = html.waterfall(check)
    assert chart is not None
    assert chart.description == (
        "GET /scim/v2/Users → 200: TCP connect 10.0 ms, TLS handshake 20.0 ms, request sent "
        "1.0 ms, waiting for first byte 59.0 ms, reading body 10.0 ms."
    )
    assert [s.phase for s in chart.rows[0].segments] == [
        "connect",
        "tls",
        "send",
        "wait",
        "receive",
    ]


def test_a_check_with_a_single_timing_gets_words_not_a_chart() -> None:
    dns = sample_reports.healthy().checks[1]
    assert html.waterfall(dns) is None
    page = html.render(sample_reports.healthy())
    assert "Reported timings: dns 12.3 ms" in page


def test_the_report_renders_from_an_installed_package_with_its_own_templates_folder(
    tmp_path: Path,
) -> None:
    """As in the wheel: scim_doctor/templates inside the package, no repository beside it."""
    site = tmp_path / "site-packages"
    shutil.copytree(
        ROOT / "scim_doctor", site / "scim_doctor", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(ROOT / "templates", site / "scim_doctor" / "templates")
    script = (
        "import sys, scim_doctor\n"
        "from scim_doctor.reporters import html\n"
        "from tests.reporters import sample_reports\n"
        "print(scim_doctor.__file__)\n"
        "print(html.template_dir())\n"
        "print(html.render(sample_reports.healthy()).count('data-check='))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"PYTHONPATH": f"{site}:{ROOT}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    module, templates, cards = result.stdout.split()
    assert Path(module).is_relative_to(site)
    assert Path(templates) == site / "scim_doctor" / "templates"
    assert cards == "5"


# --- in a real browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    try:
        browser = Chromium.launch()
    except BrowserUnavailable as exc:
        components.missing(f"headless Chromium unavailable: {exc}")
    with browser:
        yield browser


def desk_order(statuses: list[tuple[str, str]]) -> list[str]:
    """Check ids as the page lists them: failing, warning and broken checks first, then the rest,
    each group in check order."""
    problems = {"fail", "warn", "error"}
    return [i for i, s in statuses if s in problems] + [i for i, s in statuses if s not in problems]


def write(tmp_path: Path, name: str, page: str) -> Path:
    path = tmp_path / f"{name}.html"
    path.write_text(page, encoding="utf-8")
    return path


def assert_clean_page(chromium: Chromium, path: Path, report: Report, shot: str) -> None:
    """No console errors, nothing fetched but the file, one card per check, the verdict shown."""
    with chromium.opened(path) as page:
        assert page.console_errors() == []
        assert page.requests() == [path.resolve().as_uri()]
        assert page.evaluate("document.querySelectorAll('section[data-check]').length") == len(
            report.checks
        )
        assert page.evaluate(
            "[...document.querySelectorAll('section[data-check]')].map(s => s.dataset.check)"
        ) == desk_order([(c.id, c.status.value) for c in report.checks])
        shown = page.evaluate("document.querySelector('#verdict .verdict-text').innerText")
        assert shown == verdict(report)
        assert page.evaluate("document.querySelectorAll('script, img, iframe, link').length") == 0
        page.screenshot(ACTUAL / f"{shot}.png")


@pytest.mark.parametrize("report_name", sorted(REPORTS))
def test_the_sample_report_opens_in_chromium_cleanly(
    chromium: Chromium, tmp_path: Path, report_name: str
) -> None:
    report = REPORTS[report_name]()
    path = write(tmp_path, report_name, html.render(report))
    assert_clean_page(chromium, path, report, f"html-{report_name}")


def test_a_real_report_written_by_the_cli_opens_in_chromium_cleanly(
    chromium: Chromium, run_cli: Any, tmp_path: Path
) -> None:
    """Given the demo server, when `check --report html=PATH` runs, the page shows every check."""
    html_path, json_path = tmp_path / "report.html", tmp_path / "report.json"
    with DemoServer(TOKEN) as server:
        ca = server.write_ca(tmp_path)
        result = run_cli(
            "check",
            server.base_url,
            "--cacert",
            str(ca),
            "--resolve",
            server.resolve_pin,
            "--timeout",
            "2",
            "--report",
            f"html={html_path}",
            "--report",
            f"json={json_path}",
            env={"SCIM_TOKEN": TOKEN},
        )
    assert result.exit_code == 0, result.stdout + result.stderr
    document = json.loads(json_path.read_text(encoding="utf-8"))
    text = html_path.read_text(encoding="utf-8")
    assert TOKEN not in text
    with chromium.opened(html_path) as page:
        assert page.console_errors() == []
        assert page.requests() == [html_path.resolve().as_uri()]
        cards = page.evaluate(
            "[...document.querySelectorAll('section[data-check]')]"
            ".map(s => [s.dataset.check, s.dataset.status])"
        )
        statuses = {c["id"]: c["status"] for c in document["checks"]}
        assert [i for i, _ in cards] == desk_order(list(statuses.items()))
        assert dict(cards) == statuses
        verdict = page.evaluate("document.querySelector('#verdict').innerText")
        if document["summary"]["status"] == "pass":
            assert "No problems found" in verdict
        else:
            assert "found" in verdict
        assert (
            page.evaluate("document.querySelectorAll('svg[role=img][aria-labelledby]').length") > 0
        )
        page.screenshot(ACTUAL / "html-demo-run.png")


def test_a_planted_script_stays_text_in_the_browser(chromium: Chromium, tmp_path: Path) -> None:
    path = write(tmp_path, "planted", html.render(planted_report()))
    with chromium.opened(path) as page:
        assert page.console_errors() == []
        assert page.requests() == [path.resolve().as_uri()]
        assert page.evaluate("document.title").startswith("scim-doctor: FAIL")
        assert page.evaluate("document.querySelectorAll('script, img').length") == 0
        message = page.evaluate("document.querySelector('.finding .message').textContent")
        assert message == f"the server said {PLANTED}"


def test_the_report_follows_a_dark_colour_scheme(chromium: Chromium, tmp_path: Path) -> None:
    path = write(tmp_path, "failing-dark", html.render(sample_reports.failing()))
    with chromium.opened(path, color_scheme="dark") as page:
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(13, 17, 23)"
        assert page.console_errors() == []
        page.screenshot(ACTUAL / "html-failing-dark.png")


def test_printing_shows_the_exchanges_on_a_white_page(chromium: Chromium, tmp_path: Path) -> None:
    path = write(tmp_path, "healthy-print", html.render(sample_reports.healthy()))
    with chromium.opened(path, color_scheme="dark", media="print") as page:
        assert (
            page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
        )
        assert page.evaluate("document.querySelector('details pre').checkVisibility()") is True


# --- for the support desk: the root cause first ---------------------------------------------


def finding_at(code: str, severity: Severity, affects: tuple[str, ...] = ()) -> Finding:
    return msgspec.structs.replace(
        findings.make(code, "observed"), severity=severity, affects=affects
    )


def test_the_root_cause_is_the_first_finding_at_the_worst_severity_in_check_order() -> None:
    """Given a warning, then two failures in later checks, the first failure is the root cause."""
    warning = finding_at("url.endpoint_suffix", Severity.WARN)
    first = finding_at("tls.cert_expired", Severity.FAIL, ("okta",))
    later = finding_at("auth.rejected", Severity.FAIL, ("okta",))
    report = msgspec.structs.replace(
        sample_reports.healthy(),
        checks=(
            CheckResult("url", "Base URL", Status.WARN, 1.0, "", findings=(warning,)),
            CheckResult("tls", "TLS", Status.FAIL, 1.0, "", findings=(first,)),
            CheckResult("auth", "Auth", Status.FAIL, 1.0, "", findings=(later,)),
        ),
    )
    assert html.root_cause(report) is first


def test_a_run_with_only_notes_has_no_root_cause_and_no_section() -> None:
    note = finding_at("url.endpoint_suffix", Severity.INFO)
    check = CheckResult("url", "Base URL", Status.PASS, 1.0, "ok", findings=(note,))
    report = msgspec.structs.replace(sample_reports.healthy(), checks=(check,))
    assert html.root_cause(report) is None
    assert 'id="root-cause"' not in html.render(report)


def test_the_root_cause_section_leads_with_its_fix_and_the_providers_it_breaks() -> None:
    page = html.render(sample_reports.failing())
    top = page[page.index('id="root-cause"') : page.index('id="problems-heading"')]
    assert page.index('id="root-cause"') < page.index('id="run-heading"')
    assert '<code class="code">tls.cert_expired</code>' in top
    assert "breaks provisioning for <strong>Entra ID, Okta</strong>" in top
    cause = html.root_cause(sample_reports.failing())
    assert cause is not None and cause.code == "tls.cert_expired"
    assert f'<dd class="fix">{escape(cause.remediation)}</dd>' in top


def test_sources_citing_one_document_in_several_sections_are_listed_once() -> None:
    url = "https://learn.microsoft.com/scim"
    listed = html.sources(
        (
            ("Microsoft Learn: Tutorial — General: HTTPS", url),
            ("Microsoft Learn: Tutorial — Security requirements", url),
            ("Microsoft Learn: Tutorial — General: HTTPS", url),
            ("RFC 7644 §7.2", "https://www.rfc-editor.org/rfc/rfc7644#section-7.2"),
        )
    )
    assert [(s.title, s.sections, s.url) for s in listed] == [
        ("Microsoft Learn: Tutorial", ("General: HTTPS", "Security requirements"), url),
        ("RFC 7644 §7.2", (), "https://www.rfc-editor.org/rfc/rfc7644#section-7.2"),
    ]


def test_passing_and_skipped_checks_collapse_to_one_line_and_problems_stay_open() -> None:
    page = html.render(sample_reports.failing())
    for check in sample_reports.failing().checks:
        card = page[page.index(f'data-check="{check.id}"') :]
        card = card[: card.index("</section>")]
        collapsed = '<details>\n<summary class="card-head">' in card
        assert collapsed == (check.status in (Status.PASS, Status.SKIP)), check.id


def test_printing_fits_an_a4_page_without_cut_tables(chromium: Chromium, tmp_path: Path) -> None:
    """Given A4's printable width (about 700 CSS px), no table or block runs past the page."""
    assert "@page { size: A4" in html.render(sample_reports.failing())
    path = write(tmp_path, "failing-print", html.render(sample_reports.failing()))
    with chromium.opened(path, media="print", width=700) as page:
        assert page.evaluate("document.documentElement.scrollWidth") <= 700
        assert page.evaluate("getComputedStyle(document.querySelector('tr')).breakInside") == (
            "avoid"
        )


DESK_FAULTS = {
    "expired_cert": "tls.cert_expired",
    "users_zero_based_start": "users.zero_based_start_index",
    "token_rejected": "auth.rejected",
}
VIEWPORT = (1280, 800)


@pytest.mark.parametrize("fault", sorted(DESK_FAULTS))
def test_a_support_engineer_sees_the_root_cause_and_its_fix_without_scrolling(
    chromium: Chromium, run_cli: Any, tmp_path: Path, fault: str
) -> None:
    """Given a demo fault, when its HTML report opens at 1280×800, then the root cause's code and
    fix are inside the first viewport and the page fetched nothing but itself."""
    path = tmp_path / "report.html"
    result = run_cli("demo", "--fault", fault, "--format", "html", "--output", str(path))
    assert result.exit_code in (1, 2), result.stdout + result.stderr
    width, height = VIEWPORT
    with chromium.opened(path, width=width, height=height) as page:
        assert page.console_errors() == []
        assert page.requests() == [path.resolve().as_uri()], "no request may leave the page"
        shown = page.evaluate(
            "(() => { const s = document.querySelector('#root-cause');"
            " const box = e => e.getBoundingClientRect();"
            " const code = s.querySelector('.rc-title code'), fix = s.querySelector('.fix');"
            " return {code: code.innerText, codeBottom: box(code).bottom,"
            " fix: fix.innerText, fixBottom: box(fix).bottom, scrollY: window.scrollY}; })()"
        )
        assert shown["code"] == DESK_FAULTS[fault]
        assert shown["scrollY"] == 0
        assert 0 < shown["codeBottom"] <= height
        assert 0 < shown["fixBottom"] <= height
        assert shown["fix"]
        page.screenshot(ACTUAL / f"html-desk-{fault}.png")


def test_the_proxy_row_names_the_proxy_the_run_went_through_and_where_it_was_set() -> None:
    """An HTTPS_PROXY from the environment used to read "none (direct connection)": the row
    showed only --proxy. It now reads the proxy check's facts."""
    report = sample_reports.healthy()
    through = CheckResult(
        "proxy", "Proxy", Status.PASS, 3.0, "through proxy.corp.example:3128",
        facts={"via_proxy": "http://proxy.corp.example:3128", "proxy_source": "HTTPS_PROXY"},
    )  # fmt: skip
    report = msgspec.structs.replace(report, checks=(through, *report.checks))

    rows = dict(html.origin_rows(report))

    assert rows["Proxy"] == "http://proxy.corp.example:3128 (from HTTPS_PROXY)"
    assert dict(html.origin_rows(sample_reports.healthy()))["Proxy"] != rows["Proxy"]
