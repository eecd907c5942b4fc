"""`--format openmetrics`: golden files, parsed back with prometheus_client's OpenMetrics parser
(what node_exporter's textfile collector and a Pushgateway accept), and a fleet run where every
sample carries its target's name."""

from __future__ import annotations

from typing import Any

import pytest
from msgspec.structs import replace
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from scim_doctor.reporters import openmetrics
from tests.reporters import sample_reports
from tests.reporters.test_golden import check_golden
from tests.support.fleet_servers import TOKEN, TOKEN_ENV, fleet_servers

SAMPLES = {
    "healthy": sample_reports.healthy,
    "warning": sample_reports.warning,
    "failing": sample_reports.failing,
    "unreachable": sample_reports.unreachable,
}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_exposition_matches_its_golden_file_and_parses(name: str) -> None:
    text = openmetrics.render(SAMPLES[name]())
    check_golden(f"{name}.openmetrics.txt", text)
    assert text.endswith("# EOF\n")
    assert samples(text)


def test_the_failing_report_names_its_root_cause_and_earliest_expiry() -> None:
    found = samples(openmetrics.render(sample_reports.failing()))
    target = ("target", sample_reports.TARGET.base_url)
    cause = (
        "scim_doctor_probe_failure_info",
        (
            ("affects", "entra,okta"),
            ("check", "tls"),
            ("code", "tls.cert_expired"),
            ("scope", "endpoint"),
            ("severity", "fail"),
            target,
        ),
    )
    assert found[cause] == 1
    assert found[("scim_doctor_probe_success", (target,))] == 0
    assert found[("scim_doctor_probe_status", (("status", "error"), target))] == 1
    expiry = found[("scim_doctor_tls_cert_expiry_timestamp_seconds", (target,))]
    assert expiry == 1793491200  # 2026-11-01T00:00:00Z


def test_the_warning_report_uses_the_earliest_notafter_of_the_chain() -> None:
    found = samples(openmetrics.render(sample_reports.warning()))
    target = ("target", sample_reports.TARGET.base_url)
    assert found[("scim_doctor_tls_cert_expiry_timestamp_seconds", (target,))] == 1796428800
    assert found[("scim_doctor_probe_success", (target,))] == 1


def test_a_fleet_run_labels_every_sample_with_its_target(run_cli: Any, tmp_path: Any) -> None:
    kinds = {"healthy": None, "expired": "expired_cert"}
    with fleet_servers(tmp_path, kinds) as fleet:
        config = fleet.config([("acme", "healthy"), ("globex", "expired")])
        result = run_cli(
            "check", "--config", str(config), "--format", "openmetrics", env={TOKEN_ENV: TOKEN}
        )
    assert result.exit_code == 1
    found = samples(result.stdout)
    assert {dict(labels)["target"] for _, labels in found} == {"acme", "globex"}
    assert found[("scim_doctor_probe_success", (("target", "acme"),))] == 1
    assert found[("scim_doctor_probe_success", (("target", "globex"),))] == 0
    assert TOKEN not in result.stdout


def test_another_nodes_earlier_certificate_is_the_earliest_expiry() -> None:
    """Given a tls check whose other node serves a certificate expiring before the main chain,
    Then the expiry gauge is that node's notAfter (a client may land on it); an unverified node
    (no notAfter) is ignored."""

    report = sample_reports.failing()
    checks = []
    for check in report.checks:
        if check.id == "tls":
            nodes = [
                {"address": "203.0.113.11", "verified": True, "not_after": "2026-10-01T00:00:00Z"},
                {"address": "203.0.113.12", "verified": False, "error": "certificate has expired"},
            ]
            check = replace(check, facts={**check.facts, "nodes": nodes})
        checks.append(check)
    report = replace(report, checks=tuple(checks))
    found = samples(openmetrics.render(report))
    target = ("target", sample_reports.TARGET.base_url)
    expiry = found[("scim_doctor_tls_cert_expiry_timestamp_seconds", (target,))]
    assert expiry == 1790812800  # 2026-10-01T00:00:00Z
