"""The `negotiation` check against real loopback servers: the demo server with its negotiation
faults, and a scripted server for the hostile bodies the demo cannot send (login pages, broken
HTTP framing, oversized bodies, control characters). Every answer must be diagnosed by name,
never with a traceback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.checks import negotiation
from scim_doctor.checks.base import Outcome
from scim_doctor.core.findings import CATALOGUE
from scim_doctor.core.model import Finding, Severity, Status
from scim_doctor.core.secrets import Secret
from scim_doctor.demo import pki
from scim_doctor.demo.http_faults.negotiation import FAULTS
from scim_doctor.demo.server import DemoServer
from scim_doctor.net.context import DEFAULT_MAX_BODY, Options, ProbeContext
from scim_doctor.net.target import parse_base_url, parse_resolve
from scim_doctor.net.trust import Trust, load_trust
from tests.conftest import assert_one_verdict, assert_valid_report
from tests.support.scripted_server import Raw, Recorded, Reply, ScriptedServer

TOKEN = "neg-canary-3c9e1f7a5b2d8064"
USERS = "/scim/v2/Users"
SCIM = "application/scim+json"
LIST = (
    b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,'
    b'"startIndex":1,"itemsPerPage":1,"Resources":[{"id":"1","userName":"ada"}]}'
)


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback servers must be reached directly, whatever the developer's shell exports."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="module")
def ca() -> pki.CertificateAuthority:
    return pki.CertificateAuthority("negotiation test root", organization="scim-doctor tests")


@pytest.fixture(scope="module")
def trust(ca: pki.CertificateAuthority, tmp_path_factory: pytest.TempPathFactory) -> Trust:
    return load_trust(ca.write_root_pem(tmp_path_factory.mktemp("negotiation-trust")))


@pytest.fixture
def scripted(ca: pki.CertificateAuthority) -> Iterator[ScriptedServer]:
    with ScriptedServer(tls=ca.issue(["localhost", "127.0.0.1"]).server_context()) as server:
        yield server


def probe(
    base_url: str,
    trust: Trust,
    *,
    token: str | None = TOKEN,
    resolve: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
) -> Outcome:
    ctx = ProbeContext(
        target=parse_base_url(base_url),
        options=Options(
            timeout=3.0,
            max_body=max_body,
            resolve=(parse_resolve(resolve),) if resolve else (),
        ),
        token=Secret(token) if token is not None else None,
        trust=trust,
        deadline_at=time.monotonic() + 20,
    )

    async def scenario() -> Outcome:
        try:
            return await negotiation.run(ctx)
        finally:
            if ctx.http is not None:
                await ctx.http.aclose()

    return asyncio.run(scenario())


def against_demo(fault: str | None, tmp_path: Path) -> tuple[Outcome, DemoServer]:
    with DemoServer(TOKEN, fault=fault) as server:
        trust = load_trust(server.write_ca(tmp_path))
        return probe(server.base_url, trust, resolve=server.resolve_pin), server


def against(server: ScriptedServer, trust: Trust, **options: Any) -> Outcome:
    return probe(server.url("/scim/v2", host="localhost"), trust, **options)


def by_accept(answers: dict[str | None, Reply]) -> Any:
    """A /Users handler that answers by the request's Accept header (None: no header)."""

    def handler(request: Recorded) -> Reply:
        return answers[request.headers.get("accept")]

    return handler


def found(outcome: Outcome, code: str) -> Finding:
    matches = [f for f in outcome.findings if f.code == code]
    assert len(matches) == 1, [(f.code, f.message) for f in outcome.findings]
    return matches[0]


def codes(outcome: Outcome) -> set[str]:
    return {finding.code for finding in outcome.findings}


def scim_json(body: bytes = LIST, content_type: str = SCIM, **headers: str) -> Reply:
    return Reply(200, {"Content-Type": content_type, **headers}, body)


# --- the healthy server ------------------------------------------------------------------------


def test_a_healthy_server_answers_all_three_accept_variants_without_a_finding(
    tmp_path: Path,
) -> None:
    outcome, server = against_demo(None, tmp_path)

    assert outcome.status is Status.PASS
    assert outcome.findings == []
    assert outcome.summary == "200 application/scim+json for all three Accept variants"
    responses = outcome.facts["responses"]
    assert [r["accept"] for r in responses] == [SCIM, "application/json", None]
    assert all(r["status"] == 200 and r["content_type"] == SCIM for r in responses)
    assert all(r["body"] == "json" and r["bytes"] > 0 for r in responses)
    sent = [r.header("accept") for r in server.received if r.path.startswith(USERS)]
    assert sorted(sent, key=str) == sorted([SCIM, "application/json", None], key=str)
    assert len(outcome.exchanges) == 3


def test_without_a_token_the_check_is_skipped_with_the_reason(tmp_path: Path) -> None:
    with DemoServer(TOKEN) as server:
        trust = load_trust(server.write_ca(tmp_path))
        outcome = probe(server.base_url, trust, token=None, resolve=server.resolve_pin)
        assert server.received == []
    assert outcome.status is Status.SKIP
    assert outcome.skip_reason == "no token given (--no-token)"


# --- the demo faults ----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [fault.name for fault in FAULTS])
def test_each_negotiation_demo_fault_is_diagnosed_by_its_expected_code(
    fault: str, tmp_path: Path
) -> None:
    outcome, _ = against_demo(fault, tmp_path)

    expected = next(f for f in FAULTS if f.name == fault).expect
    for code in expected:
        assert found(outcome, code).severity is CATALOGUE[code].severity
    assert TOKEN not in repr(outcome)


def test_a_406_to_the_scim_media_type_fails_quoting_the_servers_reason(tmp_path: Path) -> None:
    outcome, _ = against_demo("scim_json_406", tmp_path)

    rejected = found(outcome, "negotiation.scim_json_rejected")
    assert rejected.severity is Severity.FAIL
    assert f"with Accept: {SCIM}: answered 406 Not Acceptable" in rejected.message
    assert '"Could not find acceptable representation"' in rejected.message
    assert outcome.status is Status.FAIL


def test_json_labelled_text_plain_is_one_warning_naming_every_variant(tmp_path: Path) -> None:
    outcome, _ = against_demo("json_as_text_plain", tmp_path)

    wrong = found(outcome, "negotiation.wrong_content_type")
    assert wrong.severity is Severity.WARN
    assert "with every Accept variant" in wrong.message
    assert '"text/plain; charset=utf-8"' in wrong.message
    assert outcome.status is Status.WARN


def test_an_spa_catch_all_is_named_with_its_title_and_script_bundle(tmp_path: Path) -> None:
    outcome, _ = against_demo("html_spa_catch_all", tmp_path)

    html = found(outcome, "negotiation.spa_catch_all")
    assert "with Accept: application/json and no Accept header" in html.message
    assert "React single-page app's index.html" in html.message
    assert "script bundle /static/js/main.7c1f3a9e.js" in html.message
    assert "titled 'Acme Portal'" in html.message
    assert "catch-all route answered" in html.remediation
    assert "not mounted at this base path" in html.remediation
    assert [r.get("page") for r in outcome.facts["responses"]] == [None, "spa", "spa"]
    assert outcome.summary == (
        "200 text/html for json and no Accept; 200 application/scim+json for scim+json"
    )


def test_a_waf_block_page_is_named_with_the_vendor_and_its_ray_id(tmp_path: Path) -> None:
    outcome, _ = against_demo("waf_block_page", tmp_path)

    html = found(outcome, "negotiation.html_response")
    assert "with no Accept header: answered 403 Forbidden" in html.message
    assert "a Cloudflare block page" in html.message
    assert "Ray ID 8f1c2d3e4a5b6c7d-FRA" in html.message
    assert "titled 'Attention Required! | Cloudflare'" in html.message
    assert html.remediation.startswith("Cloudflare (WAF / CDN)")


def test_an_xml_answer_is_not_json_and_names_its_root_element(tmp_path: Path) -> None:
    outcome, _ = against_demo("xml_body", tmp_path)

    not_json = found(outcome, "negotiation.not_json")
    assert "with no Accept header" in not_json.message
    assert "XML (root element <ListResponse>)" in not_json.message
    assert 'it starts \'<?xml version="1.0" encoding="UTF-8"?>\\n<ListResponse>' in (
        not_json.message
    )
    assert "jackson-dataformat-xml" in not_json.remediation


def test_cut_off_json_says_it_ends_early_and_shows_its_last_bytes(tmp_path: Path) -> None:
    outcome, _ = against_demo("truncated_json", tmp_path)

    not_json = found(outcome, "negotiation.not_json")
    assert "with Accept: application/json" in not_json.message
    assert "the JSON ends early" in not_json.message
    assert "Content-Length" in not_json.message and "matches what arrived" in not_json.message
    assert "it ends '…" in not_json.message
    assert "proxy" in not_json.remediation


def test_latin1_bytes_labelled_utf8_name_the_offset_charset_and_the_letters(
    tmp_path: Path,
) -> None:
    outcome, _ = against_demo("latin1_body", tmp_path)

    bad = found(outcome, "negotiation.bad_encoding")
    assert "with Accept: application/json" in bad.message
    assert "declares charset=utf-8 but byte 0xE9 at offset" in bad.message
    assert "Ingénieure" in bad.message
    assert "negotiation.not_json" not in codes(outcome)


# --- scripted answers the demo cannot give ------------------------------------------------------


def test_an_sso_login_page_is_named_with_its_identity_provider(
    scripted: ScriptedServer, trust: Trust
) -> None:
    login = (
        b"<!DOCTYPE html><html><head><title>Acme - Sign In</title></head><body>"
        b'<form action="https://acme.okta.com/login/do-login" method="post">'
        b'<input name="username"><input type="password" name="password"></form></body></html>'
    )
    scripted.route(USERS, Reply(200, {"Content-Type": "text/html"}, login))

    outcome = against(scripted, trust)

    html = found(outcome, "negotiation.login_page")
    assert "with every Accept variant" in html.message
    assert "an Okta login / SSO page (a password field" in html.message
    assert "titled 'Acme - Sign In'" in html.message
    assert "interactive sign-in (Okta)" in html.remediation


def test_an_app_shell_with_its_own_sign_in_form_is_the_apps_catch_all_not_an_sso_page(
    scripted: ScriptedServer, trust: Trust
) -> None:
    """A React index.html that renders its own generic sign-in form answers /Users: the API is
    not mounted at this base path (no identity provider's sign-in is in front of it)."""
    shell = (
        b"<!DOCTYPE html><html><head><title>Acme Portal</title>"
        b'<script defer src="/static/js/main.1a2b3c4d.js"></script></head><body>'
        b'<div id="root"></div><form action="/login" method="post">'
        b'<input name="email"><input type="password" name="password"></form></body></html>'
    )
    scripted.route(USERS, Reply(200, {"Content-Type": "text/html"}, shell))

    outcome = against(scripted, trust)

    html = found(outcome, "negotiation.spa_catch_all")
    assert "a sign-in form inside the app" in html.message
    assert "negotiation.login_page" not in codes(outcome)
    assert "not mounted at this base path" in html.remediation


def test_the_web_servers_default_error_page_is_named_as_such(
    scripted: ScriptedServer, trust: Trust
) -> None:
    """nginx's stock 404 page: the request never reached the application."""
    page = (
        b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
        b"<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n"
        b"</body>\r\n</html>\r\n"
    )
    scripted.route(USERS, Reply(404, {"Content-Type": "text/html", "Server": "nginx"}, page))

    outcome = against(scripted, trust)

    default = found(outcome, "negotiation.server_default_page")
    assert "nginx" in default.message
    assert "answered 404" in default.message


def test_a_soap_fault_in_xml_is_not_json(scripted: ScriptedServer, trust: Trust) -> None:
    fault = b'<?xml version="1.0"?><soap:Envelope xmlns:soap="x"><soap:Body><soap:Fault/>'
    scripted.route(USERS, Reply(200, {"Content-Type": "text/xml"}, fault))

    not_json = found(against(scripted, trust), "negotiation.not_json")
    assert "XML (root element <soap:Envelope>), not JSON" in not_json.message


def test_json_cut_off_by_a_closed_connection_ends_early(
    scripted: ScriptedServer, trust: Trust
) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nConnection: close\r\n\r\n"
    scripted.route(USERS, lambda request: Raw(head + LIST[:70]))

    not_json = found(against(scripted, trust), "negotiation.not_json")
    assert "the JSON ends early — the body stops after 70 bytes" in not_json.message
    assert "Content-Length" not in not_json.message


def test_a_body_shorter_than_its_content_length_is_a_transport_error_not_bad_json(
    scripted: ScriptedServer, trust: Trust
) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nContent-Length: 500\r\n\r\n"
    scripted.route(USERS, lambda request: Raw(head + LIST[:70]))

    outcome = against(scripted, trust)

    assert codes(outcome) == {"http.connection_failed"}
    assert "(with every Accept variant" in found(outcome, "http.connection_failed").message


def test_a_body_larger_than_max_body_is_reported_too_large_never_malformed(
    scripted: ScriptedServer, trust: Trust
) -> None:
    big = LIST[:-3] + b',{"id":"2","userName":"' + b"x" * 5000 + b'"}]}'
    scripted.route(USERS, scim_json(big))

    outcome = against(scripted, trust, max_body=1024)

    assert codes(outcome) == {"http.body_too_large"}
    assert all(r["truncated"] for r in outcome.facts["responses"])


def test_latin1_json_without_a_charset_is_judged_as_utf8(
    scripted: ScriptedServer, trust: Trust
) -> None:
    body = b'{"Resources":[{"userName":"jos\xe9"}],"totalResults":1}'
    scripted.route(USERS, scim_json(body, "application/json"))

    bad = found(against(scripted, trust), "negotiation.bad_encoding")
    assert "byte 0xE9 at offset 30" in bad.message
    assert 'Content-Type "application/json" declares no charset' in bad.message
    assert '"userName":"josé"' in bad.message


def test_a_declared_latin1_charset_warns_even_when_the_bytes_match(
    scripted: ScriptedServer, trust: Trust
) -> None:
    scripted.route(USERS, scim_json(LIST, f"{SCIM}; charset=ISO-8859-1"))

    outcome = against(scripted, trust)

    warning = found(outcome, "negotiation.non_utf8_charset")
    assert warning.severity is Severity.WARN
    assert "charset=iso-8859-1" in warning.message
    assert "plain ASCII" in warning.message


def test_malformed_json_names_the_byte_offset_and_the_text_around_it(
    scripted: ScriptedServer, trust: Trust
) -> None:
    scripted.route(USERS, scim_json(b'{"totalResults": 1, "Resources": [],}'))

    not_json = found(against(scripted, trust), "negotiation.not_json")
    assert "invalid JSON at byte 36 (line 1, column 37)" in not_json.message
    assert "around byte 36" in not_json.message


def test_plain_text_is_not_json_and_control_characters_and_the_token_are_never_shown(
    scripted: ScriptedServer, trust: Trust
) -> None:
    echo = f"OK\x1b[2J\r\nAuthorization: Bearer {TOKEN}\n".encode()
    scripted.route(USERS, Reply(200, {"Content-Type": "text/plain"}, echo))

    outcome = against(scripted, trust)

    not_json = found(outcome, "negotiation.not_json")
    assert "the body is plain text, not JSON; it starts 'OK\\x1b[2J\\r\\n" in not_json.message
    assert "\x1b" not in not_json.message
    assert TOKEN not in repr(outcome)


def test_an_empty_200_is_not_json(scripted: ScriptedServer, trust: Trust) -> None:
    scripted.route(USERS, scim_json(b""))

    not_json = found(against(scripted, trust), "negotiation.not_json")
    assert "the body is empty, not JSON" in not_json.message


def test_json_without_a_content_type_warns(scripted: ScriptedServer, trust: Trust) -> None:
    scripted.route(USERS, Reply(200, {}, LIST))

    wrong = found(against(scripted, trust), "negotiation.wrong_content_type")
    assert "served JSON without a Content-Type header" in wrong.message


def test_application_json_where_scim_json_was_asked_for_is_only_information(
    scripted: ScriptedServer, trust: Trust
) -> None:
    scripted.route(USERS, scim_json(content_type="application/json; charset=utf-8"))

    outcome = against(scripted, trust)

    info = found(outcome, "negotiation.json_content_type")
    assert info.severity is Severity.INFO
    assert f"with Accept: {SCIM} and no Accept header" in info.message
    assert outcome.status is Status.PASS


def test_refusing_application_json_is_a_warning(scripted: ScriptedServer, trust: Trust) -> None:
    refusal = Reply(415, {"Content-Type": "application/json"}, b'{"message":"Unsupported"}')
    scripted.route(
        USERS, by_accept({SCIM: scim_json(), "application/json": refusal, None: scim_json()})
    )

    outcome = against(scripted, trust)

    rejected = found(outcome, "negotiation.json_rejected")
    assert rejected.severity is Severity.WARN
    assert 'answered 415 Unsupported Media Type; the server says "Unsupported"' in (
        rejected.message
    )
    assert outcome.status is Status.WARN


def test_refusing_a_request_without_accept_is_a_warning(
    scripted: ScriptedServer, trust: Trust
) -> None:
    refusal = Reply(406, {"Content-Type": "text/html"}, b"<html><h1>406 Not Acceptable</h1>")
    scripted.route(
        USERS, by_accept({SCIM: scim_json(), "application/json": scim_json(), None: refusal})
    )

    rejected = found(against(scripted, trust), "negotiation.no_accept_rejected")
    assert rejected.severity is Severity.WARN
    assert "with no Accept header: answered 406 Not Acceptable with HTML" in rejected.message


def test_a_waf_refusing_the_scim_type_with_406_points_at_the_waf_not_the_api(
    scripted: ScriptedServer, trust: Trust
) -> None:
    page = (
        b"<html><head><title>Not Acceptable!</title></head><body><h1>Not Acceptable!</h1>"
        b"<p>An appropriate representation of the requested resource could not be found on "
        b"this server. This error was generated by Mod_Security.</p></body></html>"
    )
    waf = Reply(406, {"Content-Type": "text/html"}, page)
    scripted.route(
        USERS, by_accept({SCIM: waf, "application/json": scim_json(), None: scim_json()})
    )

    rejected = found(against(scripted, trust), "negotiation.scim_json_rejected")
    assert "with HTML: a ModSecurity block page" in rejected.message
    assert rejected.remediation.startswith("ModSecurity (WAF / CDN) in front of the API")


def test_oversized_plain_text_is_not_json_and_says_only_part_was_read(
    scripted: ScriptedServer, trust: Trust
) -> None:
    scripted.route(USERS, Reply(200, {"Content-Type": "text/plain"}, b"ERROR " * 1000))

    outcome = against(scripted, trust, max_body=1024)

    assert codes(outcome) == {"http.body_too_large", "negotiation.not_json"}
    not_json = found(outcome, "negotiation.not_json")
    assert "only the first --max-body bytes were read" in not_json.message


def test_a_server_error_on_every_variant_is_one_http_finding(
    scripted: ScriptedServer, trust: Trust
) -> None:
    scripted.route(USERS, Reply(502, {"Content-Type": "text/html"}, b"<h1>502 Bad Gateway</h1>"))

    outcome = against(scripted, trust)

    assert codes(outcome) == {"http.server_error"}
    assert "(with every Accept variant" in found(outcome, "http.server_error").message


def test_another_status_for_one_variant_is_an_unexpected_status(
    scripted: ScriptedServer, trust: Trust
) -> None:
    missing = Reply(404, {"Content-Type": SCIM}, b'{"detail":"no such endpoint"}')
    scripted.route(
        USERS, by_accept({SCIM: scim_json(), "application/json": missing, None: scim_json()})
    )

    unexpected = found(against(scripted, trust), "http.unexpected_status")
    assert "with Accept: application/json: answered 404 Not Found" in unexpected.message
    assert "expected 200 with a SCIM ListResponse" in unexpected.message


# --- end to end -------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [fault.name for fault in FAULTS])
def test_scim_doctor_demo_reports_each_negotiation_fault_by_its_code(
    run_cli: Any, report_validator: Any, fault: str
) -> None:
    result = run_cli("demo", "--fault", fault, "--timeout", "2", "--format", "json")

    report = result.json()
    assert_valid_report(report_validator, report)
    check = next(c for c in report["checks"] if c["id"] == "negotiation")
    expected = next(f for f in FAULTS if f.name == fault).expect
    assert {f["code"] for f in check["findings"]} >= set(expected)
    failing = any(f["severity"] == "fail" for f in check["findings"])
    assert check["status"] == ("fail" if failing else "warn")
    assert result.exit_code == (1 if report["summary"]["status"] == "fail" else 0)
    assert_one_verdict(report)
    assert "Traceback" not in result.stderr


def test_scim_doctor_check_passes_negotiation_on_the_healthy_demo_server(
    run_cli: Any, tmp_path: Path, report_validator: Any
) -> None:
    with DemoServer(TOKEN) as server:
        ca = server.write_ca(tmp_path)
        result = run_cli(
            "check", server.base_url, "--cacert", str(ca), "--resolve", server.resolve_pin,
            "--timeout", "2", "--format", "json",
            env={"SCIM_TOKEN": TOKEN},
        )  # fmt: skip

    report = result.json()
    assert_valid_report(report_validator, report)
    check = next(c for c in report["checks"] if c["id"] == "negotiation")
    assert (check["status"], check["findings"]) == ("pass", [])
    assert [r["status"] for r in check["facts"]["responses"]] == [200, 200, 200]
    assert TOKEN not in result.stdout + result.stderr
