"""`scim-doctor serve` against real demo servers on loopback: /probe and /metrics parsed with
prometheus_client's parser, the failure reason's labels, refusals of URLs and of tokens in the
query string, no token for an unconfigured origin, one run per --min-interval however often
it is scraped, and the scraper's timeout as the probe's deadline."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scim_doctor.demo.fault_kit import Fault, on_route
from scim_doctor.demo.scim_wire import Handler, Request, Response
from tests.serve.exporter_harness import RunningExporter, running_exporter
from tests.support.fleet_servers import TOKEN, TOKEN_ENV, FleetServers, fleet_servers


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FleetServers]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    kinds = {"healthy": None, "expired": "expired_cert", "stranger": None}
    with fleet_servers(tmp_path, kinds) as servers:
        yield servers


@pytest.fixture
def exporter(fleet: FleetServers) -> Iterator[RunningExporter]:
    config = fleet.config([("acme", "healthy"), ("globex", "expired")])
    with running_exporter(config) as running:
        yield running


def _sent(fleet: FleetServers, label: str) -> int:
    return len(fleet.servers[label].received)


def test_given_a_healthy_target_when_probed_then_success_is_1_with_no_failure_reason(
    exporter: RunningExporter,
) -> None:
    scrape = exporter.probe("acme")
    assert scrape.status == 200
    assert scrape.value("scim_doctor_probe_success") == 1
    assert scrape.value("scim_doctor_probe_status", status="fail") == 0
    assert scrape.value("scim_doctor_check_success", check="tls") == 1
    assert scrape.value("scim_doctor_check_status", check="tls", status="pass") == 1
    assert scrape.value("scim_doctor_users_http_status_code") == 200
    assert scrape.value("scim_doctor_tls_cert_expiry_timestamp_seconds") > time.time()
    assert scrape.value("scim_doctor_idp_verdict", idp="entra", verdict="will_work") == 1
    assert scrape.value("scim_doctor_probe_cached") == 0
    assert scrape.values("scim_doctor_probe_failure_info") == []
    phases = {s["phase"] for s in scrape.labelled("scim_doctor_check_phase_duration_seconds")}
    assert {"dns", "connect", "tls"} <= phases
    assert 0 < scrape.value("scim_doctor_probe_duration_seconds") < 60


def test_given_an_expired_certificate_when_probed_then_the_failure_reason_names_check_and_code(
    exporter: RunningExporter,
) -> None:
    scrape = exporter.probe("globex")
    assert scrape.status == 200
    assert scrape.value("scim_doctor_probe_success") == 0
    assert scrape.value("scim_doctor_probe_status", status="fail") == 1
    assert scrape.value("scim_doctor_check_success", check="tls") == 0
    assert scrape.labelled("scim_doctor_probe_failure_info") == [
        {
            "check": "tls",
            "code": "tls.cert_expired",
            "severity": "fail",
            "scope": "endpoint",
            "affects": "entra,okta,onelogin,jumpcloud,google",
        }
    ]
    assert scrape.value("scim_doctor_findings", check="tls", code="tls.cert_expired") == 1
    assert scrape.value("scim_doctor_tls_cert_expiry_timestamp_seconds") < time.time()
    assert scrape.value("scim_doctor_idp_verdict", idp="okta", verdict="will_fail") == 1
    assert scrape.values("scim_doctor_check_success", check="users") == []  # skipped: no sample


def test_metrics_counts_probes_successes_and_failures_per_target(
    exporter: RunningExporter,
) -> None:
    exporter.probe("acme")
    exporter.probe("globex")
    exporter.probe("globex")  # within --min-interval: served from the cache
    metrics = exporter.get("/metrics")
    assert metrics.status == 200
    assert metrics.value("scim_doctor_exporter_probes_total", target="acme") == 1
    assert metrics.value("scim_doctor_exporter_probe_successes_total", target="acme") == 1
    assert metrics.value("scim_doctor_exporter_probe_failures_total", target="globex") == 1
    assert metrics.value("scim_doctor_exporter_cache_hits_total", target="globex") == 1
    assert metrics.value("scim_doctor_exporter_probe_failures_total", target="acme") == 0
    assert (
        metrics.value(
            "scim_doctor_exporter_build_info",
            version=metrics.labelled("scim_doctor_exporter_build_info")[0]["version"],
        )
        == 1
    )


def test_given_a_url_as_target_without_allow_any_target_then_it_is_refused_and_nothing_is_sent(
    exporter: RunningExporter, fleet: FleetServers
) -> None:
    url = fleet.url("stranger", "x")
    scrape = exporter.probe(url)
    assert scrape.status == 403
    assert "--allow-any-target" in scrape.text
    assert _sent(fleet, "stranger") == 0
    refused = exporter.get("/metrics")
    assert (
        refused.value("scim_doctor_exporter_refused_requests_total", reason="url_not_allowed") == 1
    )


def test_a_token_in_the_query_string_is_refused_and_not_echoed(
    exporter: RunningExporter, fleet: FleetServers
) -> None:
    planted = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVlLWhlcmU"
    scrape = exporter.get("/probe", params={"target": "acme", "token": planted})
    assert scrape.status == 400
    assert "token" in scrape.text and planted not in scrape.text
    assert _sent(fleet, "healthy") == 0


def test_an_unknown_name_is_404_and_only_get_is_answered(exporter: RunningExporter) -> None:
    assert exporter.probe("initech").status == 404
    assert exporter.get("/probe").status == 400
    assert exporter.get("/nowhere").status == 404
    response = exporter.client.post(exporter.url + "probe?target=acme", content=b"x")
    assert response.status_code == 405


def test_given_allow_any_target_when_a_url_is_probed_then_no_configured_token_leaves(
    fleet: FleetServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recording test: the unconfigured server sees requests, none with any token of the
    config; the configured target's own server does get its token."""
    config = fleet.config([("acme", "healthy")])
    stranger = fleet.servers["stranger"]
    url = f"https://127.0.0.1:{stranger.port}/scim/v2"  # its certificate covers 127.0.0.1
    monkeypatch.setenv("SSL_CERT_FILE", str(fleet.cacert))  # the default trust for URLs
    with running_exporter(config, allow_any_target=True, reach="private") as exporter:
        adhoc = exporter.probe(url)
        configured = exporter.probe("acme")
    assert adhoc.status == 200 and configured.status == 200
    received = stranger.received
    assert received, "the URL was not probed at all"
    for request in received:
        assert TOKEN not in repr(request.headers) + request.path + request.body.decode("latin-1")
    assert adhoc.value("scim_doctor_check_status", check="tls", status="pass") == 1
    assert adhoc.value("scim_doctor_check_status", check="users", status="skip") == 1
    own = fleet.servers["healthy"].received
    assert any(dict(r.headers).get("authorization") == f"Bearer {TOKEN}" for r in own)


def test_two_scrapes_within_min_interval_send_one_set_of_requests(
    exporter: RunningExporter, fleet: FleetServers
) -> None:
    first = exporter.probe("acme")
    sent = _sent(fleet, "healthy")
    assert sent > 5
    second = exporter.probe("acme")
    assert _sent(fleet, "healthy") == sent
    assert first.value("scim_doctor_probe_cached") == 0
    assert second.value("scim_doctor_probe_cached") == 1
    assert second.value("scim_doctor_probe_timestamp_seconds") == first.value(
        "scim_doctor_probe_timestamp_seconds"
    )


def test_concurrent_scrapes_of_one_target_share_one_run(
    exporter: RunningExporter, fleet: FleetServers
) -> None:
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        scrapes = list(pool.map(lambda _: exporter.probe("acme"), range(4)))
    assert [s.status for s in scrapes] == [200] * 4
    assert exporter.server.exporter.cache.runs == 1
    single = _sent(fleet, "healthy")
    exporter.server.exporter.cache.min_interval = 0  # now every scrape runs again
    exporter.probe("acme")
    assert _sent(fleet, "healthy") == 2 * single


def _stall_users(release: threading.Event) -> Fault:
    """/Users answers only when `release` is set (or after 10 s): a target slower than the
    scraper's timeout."""

    def stall(request: Request, call_next: Handler) -> Response:
        release.wait(10.0)
        return call_next(request)

    return Fault(
        name="stalled_users",
        summary="GET /Users hangs",
        layer="http",
        expect=(),
        middleware=on_route("GET", "/Users", stall),
    )


def test_the_probe_deadline_follows_the_scrapers_timeout_less_the_margin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    release = threading.Event()
    try:
        with fleet_servers(tmp_path, {"slow": _stall_users(release)}) as fleet:
            config = fleet.config([("slowpoke", "slow")], defaults={"timeout": "30"})
            with running_exporter(config) as exporter:
                started = time.monotonic()
                scrape = exporter.probe(
                    "slowpoke", headers={"X-Prometheus-Scrape-Timeout-Seconds": "3"}
                )
                elapsed = time.monotonic() - started
                release.set()
    finally:
        release.set()
    assert scrape.status == 200
    assert elapsed < 3.0, f"answered after {elapsed:.1f} s, past the scraper's 3 s"
    assert scrape.value("scim_doctor_probe_success") == 0
    reason = scrape.labelled("scim_doctor_probe_failure_info")
    assert [r["code"] for r in reason] == ["run.deadline_exceeded"]
