"""`--reach`: where the identity provider connects from. A cloud provider (the default,
`internet`) cannot reach a name that resolves to a loopback or private address, so that breaks
provisioning for every provider in scope; an on-premises agent or a test server on this machine
(`private`) reaches it, and nothing is flagged. The report says which was assumed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scim_doctor.demo.server import DemoServer
from tests.conftest import assert_one_verdict, assert_valid_report

TOKEN = "reach-token-4f9c1a7e2b6d8053"


def check_localhost(run_cli: Any, tmp_path: Path, *extra: str) -> tuple[int, Any]:
    """`localhost` resolved by the system resolver (/etc/hosts), not pinned with --resolve."""
    with DemoServer(TOKEN, hostname="localhost") as server:
        result = run_cli(
            "check", server.base_url, "--cacert", str(server.write_ca(tmp_path)),
            "--only", "url,dns,connect,tls,auth", "--timeout", "2", "--format", "json", *extra,
            env={"SCIM_TOKEN": TOKEN},
        )  # fmt: skip
    return result.exit_code, result.json()


def test_a_name_resolving_to_loopback_fails_for_every_cloud_provider_by_default(
    run_cli: Any, tmp_path: Path, report_validator: Any
) -> None:
    code, report = check_localhost(run_cli, tmp_path)

    assert_valid_report(report_validator, report)
    assert_one_verdict(report)
    assert report["environment"]["reach"] == "internet"
    [found] = [f for c in report["checks"] if c["id"] == "dns" for f in c["findings"]]
    assert (found["code"], found["severity"]) == ("dns.private_address", "fail")
    assert found["affects"] == ["entra", "okta", "onelogin", "jumpcloud", "google"]
    assert code == 1


def test_with_reach_private_a_loopback_address_is_expected_and_the_run_passes(
    run_cli: Any, tmp_path: Path, report_validator: Any
) -> None:
    code, report = check_localhost(run_cli, tmp_path, "--reach", "private")

    assert_valid_report(report_validator, report)
    assert report["environment"]["reach"] == "private"
    dns = next(c for c in report["checks"] if c["id"] == "dns")
    assert dns["findings"] == [] and dns["status"] == "pass"
    assert dns["facts"]["not_public_note"].startswith("expected: --reach private")
    assert code == 0
