"""The report shows, per identity provider, the first request it builds from the base URL as
pasted: Entra ID's with its aadOptscim062020 flag kept, JumpCloud's with the doubled slash a
pasted trailing '/' gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scim_doctor.demo.server import DemoServer
from scim_doctor.scim.idp_requests import first_requests
from tests.conftest import assert_one_verdict, assert_valid_report

TOKEN = "provider-requests-token-5b8e2c1f"
BASE = "https://h.example.com/scim/v2"


def by_idp(requests: list[dict[str, str]]) -> dict[str, str]:
    return {r["idp"]: f"{r['method']} {r['url']}" for r in requests}


def test_entra_keeps_its_flag_in_the_query_and_no_other_provider_gets_it() -> None:
    urls = by_idp(first_requests(BASE, query="aadOptscim062020", trailing_slash=False))
    assert urls["entra"].startswith(f"GET {BASE}/Users?aadOptscim062020&filter=userName%20eq%20")
    assert all("aadOptscim062020" not in url for idp, url in urls.items() if idp != "entra")
    assert urls["google"] == f"GET {BASE}/Users?count=1"


def test_a_pasted_trailing_slash_doubles_jumpclouds_slash_and_reaches_onelogins_enable() -> None:
    urls = by_idp(first_requests(BASE, query="", trailing_slash=True))
    assert urls["jumpcloud"] == f"POST {BASE}//Users"
    assert urls["onelogin"] == f"GET {BASE}/"
    assert urls["okta"].startswith(f"GET {BASE}/Users?filter=")


def test_a_tenant_url_with_entras_flag_checks_clean_and_reports_the_requests(
    run_cli: Any, tmp_path: Path, report_validator: Any
) -> None:
    with DemoServer(TOKEN) as server:
        result = run_cli(
            "check", f"{server.base_url}?aadOptscim062020", "--cacert",
            str(server.write_ca(tmp_path)), "--resolve", server.resolve_pin, "--timeout", "2",
            "--format", "json", env={"SCIM_TOKEN": TOKEN},
        )  # fmt: skip
        base = server.base_url
    report = result.json()
    assert_valid_report(report_validator, report)
    assert_one_verdict(report)
    url = next(c for c in report["checks"] if c["id"] == "url")
    assert [(f["code"], f["severity"]) for f in url["findings"]] == [
        ("url.entra_feature_flag", "info")
    ]
    entra = by_idp(url["facts"]["provider_requests"])["entra"]
    assert entra.startswith(f"GET {base}/Users?aadOptscim062020&filter=")
    assert result.exit_code == 0 and report["summary"]["status"] == "pass"
