"""Per-identity-provider verdicts: the rules on built check results, the TLS 1.2 observation on
real loopback TLS servers, and whole runs of the CLI against the demo server."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import replace

from scim_doctor.checks import tls
from scim_doctor.core import findings
from scim_doctor.core.errors import InputError
from scim_doctor.core.model import (
    CheckResult,
    IdpVerdict,
    ReferenceKind,
    RuleStatus,
    Status,
    Verdict,
)
from scim_doctor.demo import pki, sockets
from scim_doctor.demo.server import DemoServer
from scim_doctor.net.context import Options, ProbeContext
from scim_doctor.net.target import parse_base_url
from scim_doctor.net.trust import load_trust
from scim_doctor.scim import idp
from tests.conftest import assert_valid_report

TOKEN = "idp-test-token-4c1f9e2a7b3d"
GUID_SEARCH = '/Users?filter=userName eq "0f8fad5b-d9cb-469f-a165-70867728950e"'


# --- built check results ------------------------------------------------------------------------


def check(check_id: str, status: Status = Status.PASS, **kwargs: Any) -> CheckResult:
    summary = kwargs.pop("summary", f"{check_id} summary")
    return CheckResult(check_id, check_id.title(), status, 1.0, summary, **kwargs)


def healthy_checks() -> dict[str, CheckResult]:
    """What a run against a well-behaved endpoint leaves behind, as far as the rules read it."""
    requests = {
        "token": {"status": 200},
        "no_token": {"status": 401, "error_body_problem": None},
        "bogus_token": {"status": 401, "error_body_problem": None},
        "non_token": {"status": 401, "error_body_problem": None},
    }
    return {
        "url": check(
            "url",
            facts={
                "given_url": "https://scim.example.com/scim/v2",
                "checked_url": "https://scim.example.com/scim/v2",
                "scheme": "https",
            },
        ),
        "dns": check("dns"),
        "connect": check("connect"),
        "tls": check(
            "tls",
            facts={
                "protocol": "TLSv1.3",
                "tls12_supported": True,
                "tls12_cipher": "ECDHE-RSA-AES128-GCM-SHA256",
                "tls12_ecdhe_suite": "ECDHE-RSA-AES128-GCM-SHA256",
                "chain": [{"key": "RSA 2048", "key_bits": 2048}],
            },
        ),
        "auth": check(
            "auth",
            facts={"requests": requests, "authenticated_request": "the token works (200 OK)"},
        ),
        "negotiation": check(
            "negotiation",
            facts={
                "responses": [
                    {
                        "accept": "application/scim+json",
                        "status": 200,
                        "content_type": "application/scim+json",
                        "body": "json",
                    }
                ]
            },
        ),
        "users": check(
            "users",
            facts={
                "statuses": {"/Users?startIndex=1&count=2": 200, GUID_SEARCH: 200},
                "page_sizes": {"/Users?startIndex=1&count=2": 2, GUID_SEARCH: 0},
                "subchecks_ran": ["list", "filter_userName", "filter_no_match"],
                "subchecks_not_run": {},
            },
        ),
        "lifecycle": check("lifecycle", Status.PASS),
    }


def with_changes(**changes: CheckResult) -> list[CheckResult]:
    return list({**healthy_checks(), **changes}.values())


def finding(code: str, message: str = "observed") -> Any:
    return findings.make(code, message)


def verdict_of(key: str, checks: list[CheckResult]) -> IdpVerdict:
    (result,) = idp.verdicts(checks, only=key)
    return result


def rule(verdict: IdpVerdict, rule_id: str) -> Any:
    return next(r for r in verdict.rules if r.id == rule_id)


def test_every_provider_will_work_when_every_rule_is_satisfied() -> None:
    results = idp.verdicts(list(healthy_checks().values()))

    assert [(v.idp, v.verdict) for v in results] == [
        ("entra", Verdict.WILL_WORK),
        ("okta", Verdict.WILL_WORK),
        ("onelogin", Verdict.WILL_WORK),
        ("jumpcloud", Verdict.WILL_WORK),
        ("google", Verdict.WILL_WORK),
    ]
    assert all(v.reasons == () for v in results)


def test_every_rule_cites_a_titled_https_document_and_each_profile_its_own_docs_where_known() -> (
    None
):
    for profile in idp.PROFILES:
        for each in profile.rules:
            assert each.id.startswith(f"{profile.key}.")
            assert each.source.title and each.source.url.startswith("https://")
            assert each.description.endswith(".")
    for key in ("entra", "okta", "onelogin", "jumpcloud"):
        profile = next(p for p in idp.PROFILES if p.key == key)
        assert any(r.source_kind is ReferenceKind.IDP for r in profile.rules), key


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ("Azure AD", "entra"),
        ("aad", "entra"),
        ("entra-id", "entra"),
        ("ENTRA_ID", "entra"),
        ("Entra ID", "entra"),
        ("okta", "okta"),
        ("OneLogin", "onelogin"),
        ("jumpcloud", "jumpcloud"),
        ("Google Workspace", "google"),
    ],
)
def test_names_and_aliases_resolve_to_the_profile_key(given: str, key: str) -> None:
    assert idp.resolve_idp_name(given) == key


def test_an_unknown_provider_name_is_an_input_error_that_lists_the_choices() -> None:
    with pytest.raises(InputError, match=r"unknown identity provider 'ping'.*entra, okta"):
        idp.resolve_idp_name("ping")


def test_only_limits_the_verdicts_to_the_named_provider_by_alias() -> None:
    results = idp.verdicts(list(healthy_checks().values()), only="azure")

    assert [v.name for v in results] == ["Entra ID"]


def test_a_skipped_check_leaves_its_rules_unknown_with_the_skip_reason() -> None:
    skipped = check("users", Status.SKIP, summary="requires auth, which failed")

    entra = verdict_of("entra", with_changes(users=skipped))

    assert entra.verdict is Verdict.UNKNOWN
    assert rule(entra, "entra.test_connection").status is RuleStatus.UNKNOWN
    assert "requires auth, which failed" in entra.reasons[0]


def test_entra_test_connection_answered_404_for_a_random_guid_will_fail_while_okta_accepts_it() -> (
    None
):
    users = healthy_checks()["users"]
    statuses = {**users.facts["statuses"], GUID_SEARCH: 404}
    not_found = replace(
        users,
        status=Status.WARN,
        facts={**users.facts, "statuses": statuses},
        findings=(finding("users.empty_filter_404"),),
    )
    checks = with_changes(users=not_found)

    entra, okta = verdict_of("entra", checks), verdict_of("okta", checks)

    assert entra.verdict is Verdict.WILL_FAIL
    assert entra.reasons == (
        "a userName eq search for a random GUID (Test Connection) answered 404; Entra ID "
        "expects 200 with an empty ListResponse",
    )
    assert okta.verdict is Verdict.WILL_WORK


def test_entra_test_connection_that_returns_users_for_a_random_guid_will_fail() -> None:
    users = healthy_checks()["users"]
    sizes = {**users.facts["page_sizes"], GUID_SEARCH: 3}

    entra = verdict_of(
        "entra", with_changes(users=replace(users, facts={**users.facts, "page_sizes": sizes}))
    )

    assert "returned 3 users instead of none" in rule(entra, "entra.test_connection").reason


def test_entra_test_connection_without_the_random_search_is_not_observed() -> None:
    users = healthy_checks()["users"]
    facts = {
        "statuses": {},
        "page_sizes": {},
        "subchecks_not_run": {"filter_no_match": "GET /Users failed"},
    }

    entra = verdict_of("entra", with_changes(users=replace(users, facts=facts)))

    assert rule(entra, "entra.test_connection").reason == "not observed: GET /Users failed"
    assert entra.verdict is Verdict.UNKNOWN


def test_a_server_that_refuses_tls12_fails_entra_but_not_okta() -> None:
    tls_check = healthy_checks()["tls"]
    facts = {**tls_check.facts, "tls12_supported": False, "tls12_cipher": None}
    checks = with_changes(tls=replace(tls_check, facts=facts))

    entra = verdict_of("entra", checks)

    assert entra.verdict is Verdict.WILL_FAIL
    assert entra.reasons[0].startswith("TLS 1.2 is not offered")
    assert "negotiates TLSv1.3" in entra.reasons[0]
    assert verdict_of("okta", checks).verdict is Verdict.WILL_WORK


def test_tls12_without_any_of_entras_suites_fails_entra_naming_the_suite_used() -> None:
    tls_check = healthy_checks()["tls"]
    facts = {
        **tls_check.facts,
        "tls12_cipher": "ECDHE-RSA-CHACHA20-POLY1305",
        "tls12_ecdhe_suite": None,
    }

    entra = verdict_of("entra", with_changes(tls=replace(tls_check, facts=facts)))

    assert "TLS 1.2 works only with ECDHE-RSA-CHACHA20-POLY1305" in entra.reasons[0]


def test_a_weak_key_fails_entra_once_by_its_key_size_rule_not_twice() -> None:
    weak = check(
        "tls",
        Status.FAIL,
        summary="certificate verification failed: EE certificate key too weak",
        findings=(finding("tls.weak_key", "the key of the certificate is RSA 1024"),),
    )

    entra = verdict_of("entra", with_changes(tls=weak))

    assert entra.verdict is Verdict.WILL_FAIL
    assert entra.reasons == ("the key of the certificate is RSA 1024",)
    assert rule(entra, "entra.https").status is RuleStatus.OK


def test_an_underscore_in_the_base_url_fails_okta_only() -> None:
    url = check(
        "url",
        Status.WARN,
        facts={"given_url": "https://scim_api.example.com/scim/v2", "scheme": "https"},
        findings=(finding("url.underscore_in_host"),),
    )
    checks = with_changes(url=url)

    okta = verdict_of("okta", checks)

    assert okta.verdict is Verdict.WILL_FAIL
    assert okta.reasons == (
        "the base URL https://scim_api.example.com/scim/v2 contains '_', which Okta does not "
        "accept",
    )
    assert okta.sources == (
        (
            "Okta Developer: Build your SCIM API service — Base URL",
            "https://developer.okta.com/docs/guides/scim-provisioning-integration-prepare/main/",
        ),
    )
    assert verdict_of("entra", checks).verdict is Verdict.WILL_WORK


def test_okta_fails_when_non_token_gets_a_401_whose_status_is_a_number() -> None:
    auth = healthy_checks()["auth"]
    requests = dict(auth.facts["requests"])
    requests["non_token"] = {
        "status": 401,
        "error_body_problem": "'status' is the number 401, not the string \"401\"",
    }

    okta = verdict_of(
        "okta", with_changes(auth=replace(auth, facts={**auth.facts, "requests": requests}))
    )

    assert okta.reasons == (
        "the 401 to 'Authorization: non-token' is no SCIM Error: 'status' is the number 401, "
        'not the string "401"',
    )


def test_okta_fails_when_the_directory_is_readable_without_a_token() -> None:
    auth = healthy_checks()["auth"]
    requests = {**auth.facts["requests"], "no_token": {"status": 200}}

    okta = verdict_of(
        "okta", with_changes(auth=replace(auth, facts={**auth.facts, "requests": requests}))
    )

    assert okta.reasons == ("GET /Users without a token answered 200: the API is open to anyone",)


def test_okta_fails_on_paging_fields_sent_as_strings_and_entra_does_not_care() -> None:
    users = healthy_checks()["users"]
    as_string = replace(
        users,
        status=Status.FAIL,
        findings=(finding("users.paging_field_not_integer", 'totalResults is the string "3"'),),
    )
    checks = with_changes(users=as_string)

    okta = verdict_of("okta", checks)

    assert okta.verdict is Verdict.WILL_FAIL
    assert rule(okta, "okta.first_page").reason == (
        'Paging value is not a JSON integer: totalResults is the string "3"'
    )
    assert verdict_of("entra", checks).verdict is Verdict.WILL_WORK


def test_entra_fails_when_accept_scim_json_is_refused() -> None:
    refused = check(
        "negotiation",
        Status.FAIL,
        facts={"responses": [{"accept": "application/scim+json", "status": 406, "body": "json"}]},
        findings=(finding("negotiation.scim_json_rejected", "answered 406 Not Acceptable"),),
    )

    entra = verdict_of("entra", with_changes(negotiation=refused))

    assert entra.reasons == (
        "Accept: application/scim+json is refused (406): answered 406 Not Acceptable",
    )


def test_a_rejected_token_fails_every_provider_with_the_observed_answer() -> None:
    auth = check(
        "auth",
        Status.FAIL,
        facts={
            "requests": {"token": {"status": 401}, "no_token": {"status": 401}},
            "authenticated_request": "the token is refused (401)",
        },
        findings=(finding("auth.rejected"),),
    )

    results = idp.verdicts(with_changes(auth=auth))

    assert {v.verdict for v in results} == {Verdict.WILL_FAIL}
    assert all("the token is refused (401)" in v.reasons for v in results)


def test_without_a_token_the_token_rules_are_unknown_not_ok() -> None:
    auth = check(
        "auth",
        Status.SKIP,
        summary="no token given (--no-token)",
        skip_reason="no token given (--no-token)",
        facts={"requests": {"no_token": {"status": 401}}},
    )

    onelogin = verdict_of("onelogin", with_changes(auth=auth))

    assert onelogin.verdict is Verdict.UNKNOWN
    assert onelogin.reasons == ("the token was not tried (no token given (--no-token))",)


def test_a_broken_rule_outweighs_unknown_ones_and_only_its_reason_is_given() -> None:
    skipped_users = check("users", Status.SKIP, summary="requires auth, which failed")
    url = check("url", facts={"given_url": "https://a_b.example.com/scim/v2"})

    okta = verdict_of("okta", with_changes(users=skipped_users, url=url))

    assert okta.verdict is Verdict.WILL_FAIL
    assert len(okta.reasons) == 1 and "contains '_'" in okta.reasons[0]


def test_jumpcloud_is_unknown_when_the_run_did_not_write() -> None:
    read_only = check(
        "lifecycle",
        Status.SKIP,
        summary="read-only run: writes need --allow-writes",
        skip_reason="read-only run: writes need --allow-writes",
    )

    jumpcloud = verdict_of("jumpcloud", with_changes(lifecycle=read_only))

    assert jumpcloud.verdict is Verdict.UNKNOWN
    assert jumpcloud.reasons[0].startswith("not replayed (read-only run: writes need")


def test_entra_and_okta_stay_will_work_when_the_run_did_not_write() -> None:
    """Their connections do not write; the writes rule says it was not replayed, and why."""
    read_only = check("lifecycle", Status.SKIP, summary="read-only run: writes need --allow-writes")

    for key in ("entra", "okta"):
        verdict = verdict_of(key, with_changes(lifecycle=read_only))
        writes = rule(verdict, f"{key}.writes")
        assert verdict.verdict is Verdict.WILL_WORK
        assert writes.status is RuleStatus.OK
        assert writes.reason.startswith("not replayed (read-only run: writes need --allow-writes)")


def written(*found: Any, failures: dict[str, str] | None = None) -> CheckResult:
    """A lifecycle check that wrote and reported `found`, its steps failing as `failures` says."""
    return check(
        "lifecycle", Status.FAIL, findings=tuple(found), facts={"failures": failures or {}}
    )


def test_a_patch_ignored_in_entras_dialect_breaks_entra_and_not_okta_or_jumpcloud() -> None:
    ignored = finding("lifecycle.patch_not_applied", "PATCH ... in Entra ID's dialect ...")
    lifecycle = written(ignored, failures={"patch_entra": "lifecycle.patch_not_applied"})

    verdicts = {v.idp: v for v in idp.verdicts(with_changes(lifecycle=lifecycle))}

    assert rule(verdicts["entra"], "entra.writes").codes == ("lifecycle.patch_not_applied",)
    assert verdicts["okta"].verdict is Verdict.WILL_WORK
    assert verdicts["jumpcloud"].verdict is Verdict.WILL_WORK


def test_a_put_that_fails_breaks_okta_only_which_is_the_provider_that_sends_put() -> None:
    lifecycle = written(finding("lifecycle.put_failed"), failures={"put_user": "x"})

    verdicts = {v.idp: v.verdict for v in idp.verdicts(with_changes(lifecycle=lifecycle))}

    assert verdicts == {
        "entra": Verdict.WILL_WORK,
        "okta": Verdict.WILL_FAIL,
        "onelogin": Verdict.WILL_WORK,
        "jumpcloud": Verdict.WILL_WORK,
        "google": Verdict.WILL_WORK,
    }


def test_a_refused_group_delete_breaks_jumpclouds_test_connection_but_a_user_delete_does_not() -> (
    None
):
    refused = finding("lifecycle.delete_failed")
    user = written(refused, failures={"delete_user": "lifecycle.delete_failed"})
    group = written(refused, failures={"delete_group": "lifecycle.delete_failed"})

    on_user = verdict_of("jumpcloud", with_changes(lifecycle=user))
    on_group = verdict_of("jumpcloud", with_changes(lifecycle=group))

    assert on_user.verdict is Verdict.WILL_WORK  # it deactivates a user it cannot delete
    assert on_group.verdict is Verdict.WILL_FAIL
    assert rule(on_group, "jumpcloud.test_connection").codes == ("lifecycle.delete_failed",)


def test_a_warning_of_the_lifecycle_breaks_no_provider() -> None:
    """Entra ID's dialect refused is a quirk its aadOptscim062020 flag works around."""
    lifecycle = written(finding("lifecycle.patch_entra_rejected"), failures={"patch_entra": "x"})

    verdicts = idp.verdicts(with_changes(lifecycle=lifecycle))

    assert all(v.verdict is Verdict.WILL_WORK for v in verdicts)


def test_a_rule_that_crashes_reads_unknown_instead_of_costing_the_report() -> None:
    def crash(_observed: idp.Observed) -> idp.RuleResult:
        raise KeyError("x")

    source = idp.Source("a document", "https://example.com/doc", ReferenceKind.ADVICE)
    profile = idp.IdpProfile(
        "test", "Test IdP", (idp.Rule("test.crash", "Crashes.", source, crash),)
    )

    result = idp.verdict(profile, list(healthy_checks().values()))

    assert result.verdict is Verdict.UNKNOWN
    assert "could not evaluate this rule (KeyError)" in result.reasons[0]


# --- the TLS 1.2 observation, on real loopback TLS servers ----------------------------------------


@pytest.fixture(scope="module")
def ca() -> pki.CertificateAuthority:
    return pki.CertificateAuthority("scim-doctor idp test root", organization="scim-doctor tests")


@pytest.fixture
def tls_server(ca: pki.CertificateAuthority, tmp_path: Path) -> Iterator[Any]:
    started: list[sockets.SocketServer] = []
    cacert = ca.write_root_pem(tmp_path)

    def start(adjust: Any = None) -> dict[str, Any]:
        context = ca.issue(["localhost"]).server_context()
        if adjust is not None:
            adjust(context)
        server = sockets.tls_server(context)
        started.append(server)
        ctx = ProbeContext(
            target=parse_base_url(f"https://localhost:{server.port}/scim/v2"),
            options=Options(timeout=2.0),
            token=None,
            trust=load_trust(cacert),
            deadline_at=time.monotonic() + 20,
        )
        ctx.shared.connected_address = "127.0.0.1"
        outcome = asyncio.run(tls.run(ctx))
        assert outcome.status is Status.PASS, outcome.findings
        return outcome.facts

    try:
        yield start
    finally:
        for server in started:
            server.stop()


def test_a_server_preferring_tls13_is_still_recorded_as_offering_tls12(tls_server: Any) -> None:
    facts = tls_server()

    assert facts["protocol"] == "TLSv1.3"
    assert facts["tls12_supported"] is True
    assert facts["tls12_ecdhe_suite"] in tls.ENTRA_TLS12_SUITES


def test_a_tls13_only_server_is_recorded_as_not_offering_tls12(tls_server: Any) -> None:
    def only_13(context: ssl.SSLContext) -> None:
        context.minimum_version = ssl.TLSVersion.TLSv1_3

    facts = tls_server(only_13)

    assert (facts["tls12_supported"], facts["tls12_cipher"], facts["tls12_ecdhe_suite"]) == (
        False,
        None,
        None,
    )


def test_a_tls12_server_without_entras_suites_records_the_suite_it_chose(tls_server: Any) -> None:
    def chacha_only(context: ssl.SSLContext) -> None:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers("ECDHE-ECDSA-CHACHA20-POLY1305")

    facts = tls_server(chacha_only)

    assert facts["tls12_cipher"] == "ECDHE-ECDSA-CHACHA20-POLY1305"
    assert facts["tls12_ecdhe_suite"] is None


def test_a_tls12_server_is_asked_again_with_only_entras_suites(tls_server: Any) -> None:
    def chacha_first(context: ssl.SSLContext) -> None:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers("ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-SHA384")

    facts = tls_server(chacha_first)

    assert facts["tls12_ecdhe_suite"] == "ECDHE-ECDSA-AES256-SHA384"


# --- whole runs against the demo server ---------------------------------------------------------


def run_demo(
    run_cli: Any,
    tmp_path: Path,
    *extra: str,
    fault: str | None = None,
    hostname: str = "demo.scim-doctor.test",
) -> Any:
    with DemoServer(TOKEN, fault=fault, hostname=hostname) as server:
        ca = server.write_ca(tmp_path)
        args = [
            "check",
            server.base_url,
            "--cacert",
            str(ca),
            "--resolve",
            server.resolve_pin,
            "--timeout",
            "2",
            *extra,
        ]
        return run_cli(*args, env={"SCIM_TOKEN": TOKEN})


def by_idp(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["idp"]: item for item in report["idp_verdicts"]}


def test_a_healthy_demo_server_works_with_every_provider_a_read_only_run_can_judge(
    run_cli: Any, tmp_path: Path, report_validator: Any
) -> None:
    result = run_demo(run_cli, tmp_path, "--format", "json")

    report = result.json()
    assert_valid_report(report_validator, report)
    verdicts = {key: item["verdict"] for key, item in by_idp(report).items()}
    assert verdicts == {
        "entra": "will_work",
        "okta": "will_work",
        "onelogin": "will_work",
        "jumpcloud": "unknown",  # its Test Connection writes; this run did not
        "google": "will_work",
    }
    assert all(r["status"] == "ok" for r in by_idp(report)["entra"]["rules"])


@pytest.mark.parametrize(
    ("fault", "idp_key", "rule_id", "says"),
    [
        ("weak_key", "entra", "entra.key_size", "RSA 1024"),
        ("users_total_as_string", "okta", "okta.first_page", "totalResults"),
        ("scim_json_406", "entra", "entra.scim_json", "Accept: application/scim+json is refused"),
    ],
)
def test_a_fault_fails_the_provider_whose_rule_it_breaks(
    run_cli: Any,
    tmp_path: Path,
    report_validator: Any,
    fault: str,
    idp_key: str,
    rule_id: str,
    says: str,
) -> None:
    report = run_demo(run_cli, tmp_path, "--format", "json", fault=fault).json()

    assert_valid_report(report_validator, report)
    item = by_idp(report)[idp_key]
    assert item["verdict"] == "will_fail"
    broken = {r["id"]: r["reason"] for r in item["rules"] if r["status"] == "broken"}
    assert says in broken[rule_id]


def test_paging_fields_as_strings_fail_okta_but_not_entra(run_cli: Any, tmp_path: Path) -> None:
    report = run_demo(run_cli, tmp_path, "--format", "json", fault="users_total_as_string").json()

    assert by_idp(report)["entra"]["verdict"] == "will_work"


def test_a_host_name_with_an_underscore_fails_okta_and_not_entra(
    run_cli: Any, tmp_path: Path
) -> None:
    report = run_demo(
        run_cli, tmp_path, "--format", "json", hostname="scim_demo.scim-doctor.test"
    ).json()

    verdicts = by_idp(report)
    assert verdicts["okta"]["verdict"] == "will_fail"
    assert "contains '_', which Okta does not accept" in verdicts["okta"]["reasons"][0]
    assert verdicts["entra"]["verdict"] == "will_work"


def test_idp_okta_limits_the_table_to_okta(
    run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scim_doctor.reporters.text import PIPE_WIDTH

    monkeypatch.delenv("COLUMNS", raising=False)
    result = run_demo(run_cli, tmp_path, "--idp", "okta")

    table = result.stdout.split("Identity providers\n", 1)[1].split("\n\n", 1)[0]
    assert table.splitlines() == ["  Okta  ✓ will work"]
    # Piped (not a terminal, no COLUMNS): the text report's fixed pipe width.
    assert all(len(line) <= PIPE_WIDTH for line in result.stdout.splitlines())


def test_an_unknown_idp_name_is_a_usage_error_before_anything_is_checked(
    run_cli: Any, tmp_path: Path
) -> None:
    with DemoServer(TOKEN) as server:
        ca = server.write_ca(tmp_path)
        result = run_cli(
            "check",
            server.base_url,
            "--cacert",
            str(ca),
            "--resolve",
            server.resolve_pin,
            "--idp",
            "ping",
            env={"SCIM_TOKEN": TOKEN},
        )
        received = server.received

    assert result.exit_code == 2
    assert "unknown identity provider 'ping'" in result.stderr
    assert received == []
