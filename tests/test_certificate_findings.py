"""Certificate findings end to end (issue 20, part 2): the CLI in a subprocess against the demo
server presenting a CN-only certificate, a wildcard one label too high, and a valid leaf served
with an expired or not yet valid intermediate.

Each test: Given the demo fault, When `scim-doctor check` runs, Then the JSON names the code,
severity, check, the provider verdicts and the exit code.
"""

from __future__ import annotations

from pathlib import Path

from scim_doctor.demo.server import DemoServer
from tests.test_client_certs import TOKEN, check


def test_a_certificate_with_only_a_common_name_is_a_warning_no_provider_fails_on(
    tmp_path: Path,
) -> None:
    with DemoServer(TOKEN, fault="cn_only_cert") as server:
        run = check(server, tmp_path)
    assert run.findings() == {"tls.no_subject_alt_name": ("warn", "tls")}
    message = run.check("tls")["findings"][0]["message"]
    assert "CN=demo.scim-doctor.test" in message and "Chrome" in message
    assert "will_fail" not in run.verdicts().values()
    assert run.verdicts()["entra"] == "will_work"
    assert run.code == 0


def test_a_wildcard_two_labels_above_the_host_is_explained(tmp_path: Path) -> None:
    with DemoServer(TOKEN, fault="deep_wildcard_cert", hostname="scim.eu.example.test") as server:
        run = check(server, tmp_path)
    assert run.findings() == {"tls.hostname_mismatch": ("fail", "tls")}
    message = run.check("tls")["findings"][0]["message"]
    assert "The wildcard *.example.test covers exactly one label" in message
    assert "'scim.eu' of scim.eu.example.test" in message
    assert set(run.verdicts().values()) == {"will_fail"}
    assert run.code == 1


def test_an_expired_intermediate_is_named_as_the_intermediate(tmp_path: Path) -> None:
    with DemoServer(TOKEN, fault="expired_intermediate") as server:
        run = check(server, tmp_path)
    assert run.findings() == {"tls.cert_expired": ("fail", "tls")}
    message = run.check("tls")["findings"][0]["message"]
    assert message.startswith("the intermediate certificate 'scim-doctor demo Issuing CA' expired")
    assert set(run.verdicts().values()) == {"will_fail"}
    assert run.code == 1


def test_a_not_yet_valid_intermediate_is_named_as_the_intermediate(tmp_path: Path) -> None:
    with DemoServer(TOKEN, fault="not_yet_valid_intermediate") as server:
        run = check(server, tmp_path)
    assert run.findings() == {"tls.cert_not_yet_valid": ("fail", "tls")}
    message = run.check("tls")["findings"][0]["message"]
    assert message.startswith("the intermediate certificate 'scim-doctor demo Issuing CA' is valid")
    assert set(run.verdicts().values()) == {"will_fail"}
    assert run.code == 1
