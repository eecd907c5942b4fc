"""The `auth` check against the real demo server over TLS on loopback, one scenario per test.

The demo's own faults (demo/http_faults/auth.py) and a few test-only faults built from the same
fault kit stand in for the endpoints met in the field; the client trusts the demo CA through
the real --cacert path and reaches it through --resolve, exactly as a user run would.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.checks import auth
from scim_doctor.checks.base import Outcome
from scim_doctor.core.findings import CATALOGUE
from scim_doctor.core.model import Severity, Status
from scim_doctor.core.secrets import Secret, redact
from scim_doctor.demo.fault_kit import Fault, map_response
from scim_doctor.demo.http_faults.auth import FAULTS as AUTH_FAULTS
from scim_doctor.demo.scim_app import Handler, Request, Response, error_response
from scim_doctor.demo.server import DemoServer
from scim_doctor.net.context import Options, ProbeContext
from scim_doctor.net.target import parse_base_url, parse_resolve
from scim_doctor.net.trust import load_trust
from tests.conftest import assert_one_verdict, assert_valid_report, catalogue_severity

TOKEN = "k7Jq2vX9pL4mN8rT1wY6zA3bC5dE0fGh-auth-tests"
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
DEPENDENTS = ("negotiation", "users", "discovery", "errors")


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback servers must be reached directly, whatever the developer's shell exports."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def healthy() -> Iterator[DemoServer]:
    with DemoServer(TOKEN) as server:
        yield server


def check(server: DemoServer, tmp_path: Path, token: str | None = TOKEN) -> Outcome:
    """Run the auth probe as the runner would (shared client closed afterwards)."""
    ctx = ProbeContext(
        target=parse_base_url(server.base_url),
        options=Options(timeout=2.0, resolve=(parse_resolve(server.resolve_pin),)),
        token=None if token is None else Secret(token),
        trust=load_trust(server.write_ca(tmp_path)),
        deadline_at=time.monotonic() + 30,
    )

    async def go() -> Outcome:
        try:
            return await auth.run(ctx)
        finally:
            if ctx.http is not None:
                await ctx.http.aclose()

    return asyncio.run(go())


def against(fault: str | Fault, tmp_path: Path, token: str | None = TOKEN) -> Outcome:
    with DemoServer(TOKEN, fault=fault) as server:
        return check(server, tmp_path, token)


def codes(outcome: Outcome) -> dict[str, Severity]:
    return {finding.code: finding.severity for finding in outcome.findings}


def message(outcome: Outcome, code: str) -> str:
    return next(f.message for f in outcome.findings if f.code == code)


def jwt(**claims: object) -> str:
    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def custom(name: str, middleware: Any) -> Fault:
    return Fault(name, "test-only fault", "http", ("auth.rejected",), middleware=middleware)


def _scim_https(request: Request) -> bool:
    return request.scheme == "https" and request.scim_path is not None


# --- healthy ----------------------------------------------------------------------------------


def test_healthy_server_accepts_the_token_and_refuses_the_three_others_with_401(
    healthy: DemoServer, tmp_path: Path
) -> None:
    outcome = check(healthy, tmp_path)

    assert outcome.status is Status.PASS, outcome.findings
    assert outcome.findings == []
    requests = outcome.facts["requests"]
    assert {role: r["status"] for role, r in requests.items()} == {
        "token": 200,
        "no_token": 401,
        "bogus_token": 401,
        "non_token": 401,
    }
    assert requests["no_token"]["www_authenticate"] == 'Bearer realm="scim-doctor-demo"'
    assert requests["bogus_token"]["authorization"] == "Bearer <random>"
    assert outcome.facts["url"].endswith("/scim/v2/Users?startIndex=1&count=1")
    assert outcome.facts["token"]["length"] == len(TOKEN)
    assert outcome.facts["token"]["sha256_prefix"] == Secret(TOKEN).fingerprint
    assert "works (200 OK)" in outcome.summary
    assert len(outcome.exchanges) == 4
    assert outcome.unblocks_dependents is None


def test_the_token_appears_in_no_fact_finding_or_transcript(
    healthy: DemoServer, tmp_path: Path
) -> None:
    outcome = check(healthy, tmp_path)

    shown = json.dumps([outcome.facts, outcome.summary], default=str) + repr(outcome.exchanges)
    assert TOKEN not in shown
    assert TOKEN[:12] not in shown


def test_the_bogus_token_is_random_per_run_and_unrelated_to_the_real_one(
    healthy: DemoServer, tmp_path: Path
) -> None:
    check(healthy, tmp_path)
    check(healthy, tmp_path)

    sent = [r.header("authorization") for r in healthy.received]
    assert sent.count(f"Bearer {TOKEN}") == 2
    assert sent.count(None) == 2
    assert sent.count("non-token") == 2
    bogus = [v for v in sent if v and v.startswith("Bearer ") and v != f"Bearer {TOKEN}"]
    assert len(bogus) == 2
    assert bogus[0] != bogus[1]
    for value in bogus:
        random_part = value.removeprefix("Bearer ")
        assert len(random_part) >= 40
        assert TOKEN[:8] not in random_part and random_part not in TOKEN


def test_all_four_requests_go_to_users_with_startindex_and_count(
    healthy: DemoServer, tmp_path: Path
) -> None:
    check(healthy, tmp_path)

    assert {(r.method, r.path) for r in healthy.received} == {
        ("GET", "/scim/v2/Users?startIndex=1&count=1")
    }


# --- the token refused ------------------------------------------------------------------------


def test_a_rejected_token_quotes_the_servers_error_and_description(tmp_path: Path) -> None:
    outcome = against("token_rejected", tmp_path)

    assert codes(outcome) == {"auth.rejected": Severity.FAIL}
    text = message(outcome, "auth.rejected")
    assert 'error="invalid_token"' in text
    assert 'error_description="The access token has been revoked"' in text
    assert "looks well-formed" in text
    assert outcome.facts["requests"]["token"]["status"] == 401


def test_a_token_pasted_with_bearer_prefix_is_named_as_the_likely_cause(
    healthy: DemoServer, tmp_path: Path
) -> None:
    outcome = check(healthy, tmp_path, token=f"Bearer {TOKEN}")

    assert codes(outcome) == {"auth.token_malformed": Severity.FAIL, "auth.rejected": Severity.FAIL}
    assert "starts with 'Bearer '" in message(outcome, "auth.token_malformed")
    assert "Likely cause: the token looks mis-pasted" in message(outcome, "auth.rejected")
    assert outcome.findings[0].code == "auth.token_malformed"  # the cause comes first


def test_an_expired_jwt_is_named_as_the_likely_cause_of_the_401(
    healthy: DemoServer, tmp_path: Path
) -> None:
    expired = jwt(exp=int((NOW - dt.timedelta(days=3)).timestamp()), iss="https://idp.example")

    outcome = check(healthy, tmp_path, token=expired)

    assert codes(outcome) == {"auth.token_expired": Severity.FAIL, "auth.rejected": Severity.FAIL}
    assert "3 days ago" in message(outcome, "auth.token_expired")
    assert "Likely cause: the token has expired" in message(outcome, "auth.rejected")
    assert outcome.facts["token"]["jwt_iss"] == "https://idp.example"
    assert outcome.facts["token"]["jwt"] is True


def test_a_jwt_not_yet_valid_is_named_as_the_likely_cause_of_the_401(
    healthy: DemoServer, tmp_path: Path
) -> None:
    early = jwt(nbf=int((NOW + dt.timedelta(hours=5)).timestamp()), aud="scim")

    outcome = check(healthy, tmp_path, token=early)

    assert codes(outcome) == {
        "auth.token_not_yet_valid": Severity.FAIL,
        "auth.rejected": Severity.FAIL,
    }
    assert "not valid yet" in message(outcome, "auth.rejected")
    assert outcome.facts["token"]["jwt_aud"] == "scim"


def test_an_expired_jwt_the_server_still_accepts_is_a_warning_not_a_failure(
    tmp_path: Path,
) -> None:
    expired = jwt(exp=int((NOW - dt.timedelta(days=2)).timestamp()))
    with DemoServer(expired) as server:
        outcome = check(server, tmp_path, token=expired)

    assert codes(outcome) == {"auth.token_dates_ignored": Severity.WARN}
    text = message(outcome, "auth.token_dates_ignored")
    assert "yet the server accepted it" in text and "2 days ago" in text
    assert outcome.status is Status.WARN


def test_a_quoted_token_the_server_accepts_as_sent_is_a_warning(tmp_path: Path) -> None:
    quoted = f'"{TOKEN}"'
    with DemoServer(quoted) as server:
        outcome = check(server, tmp_path, token=quoted)

    assert codes(outcome) == {"auth.token_malformed_accepted": Severity.WARN}
    assert "wrapped in quotes" in message(outcome, "auth.token_malformed_accepted")


def test_a_token_with_a_line_break_is_never_sent_and_is_diagnosed_as_mis_pasted(
    healthy: DemoServer, tmp_path: Path
) -> None:
    outcome = check(healthy, tmp_path, token=f"{TOKEN}\r\nX-Injected: 1")

    assert codes(outcome) == {"auth.token_malformed": Severity.FAIL}
    assert "line break" in message(outcome, "auth.token_malformed")
    assert "could not be sent" in outcome.summary
    assert not any("x-injected" in dict(r.headers) for r in healthy.received)
    assert outcome.facts["requests"]["token"]["status"] is None


def test_a_403_lists_scim_not_enabled_allowlist_and_token_type(tmp_path: Path) -> None:
    outcome = against("forbidden", tmp_path)

    assert codes(outcome) == {"auth.forbidden": Severity.FAIL}
    text = message(outcome, "auth.forbidden")
    assert "SCIM provisioning is not enabled for this organization" in text  # server's detail
    assert "IP allowlist" in text and "egress" in text and "wrong type" in text


def test_a_403_for_every_request_points_at_a_block_before_authentication(tmp_path: Path) -> None:
    def wall(request: Request, call_next: Handler) -> Response:
        if _scim_https(request):
            return Response(403, (("Content-Type", "text/plain"),), b"Access denied\n")
        return call_next(request)

    outcome = against(custom("wall", wall), tmp_path)

    assert codes(outcome) == {"auth.forbidden": Severity.FAIL}
    text = message(outcome, "auth.forbidden")
    assert "got 403 as well" in text and "before the token" in text


def test_a_403_with_insufficient_scope_names_the_missing_scope(tmp_path: Path) -> None:
    def scoped(request: Request, response: Response) -> Response:
        if _scim_https(request) and response.status == 200:
            challenge = 'Bearer error="insufficient_scope", scope="scim:provision"'
            return error_response(
                403, "Insufficient scope", headers=(("WWW-Authenticate", challenge),)
            )
        return response

    outcome = against(custom("scoped", map_response(scoped)), tmp_path)

    text = message(outcome, "auth.forbidden")
    assert 'error="insufficient_scope"' in text and "needed: scim:provision" in text


def test_a_404_on_users_says_the_base_path_is_probably_wrong(tmp_path: Path) -> None:
    outcome = against("wrong_base_path", tmp_path)

    assert codes(outcome) == {"auth.endpoint_not_found": Severity.FAIL}
    text = message(outcome, "auth.endpoint_not_found")
    assert "got 404 too" in text and "base URL is probably wrong" in text
    assert "/scim/v2" in text


def test_an_html_sign_in_page_on_200_is_not_an_accepted_token(tmp_path: Path) -> None:
    outcome = against("sso_login_page", tmp_path)

    assert codes(outcome) == {"auth.sso_login_page": Severity.FAIL}
    text = message(outcome, "auth.sso_login_page")
    assert "'Sign in · Example SSO'" in text and "single-sign-on front end" in text
    assert "it is a login / SSO page (a password field, a login form)" in text
    assert "works" not in outcome.summary


def test_a_login_form_labelled_as_json_is_still_a_login_page(tmp_path: Path) -> None:
    """No <html> or doctype and the wrong Content-Type: the bytes still make it a page."""
    page = b'<body><form action="/sso/login"><input type="password" name="p"></form></body>'

    def login_form(request: Request, call_next: Handler) -> Response:
        if _scim_https(request):
            return Response(200, (("Content-Type", "application/json"),), page)
        return call_next(request)

    outcome = against(custom("json_login_form", login_form), tmp_path)

    assert codes(outcome) == {"auth.sso_login_page": Severity.FAIL}
    assert "a login / SSO page (a password field, a login form)" in message(
        outcome, "auth.sso_login_page"
    )


def test_scim_json_labelled_text_html_is_not_taken_for_a_login_page(tmp_path: Path) -> None:
    """The label is the negotiation check's to judge; the token did get the directory."""

    def labelled_html(request: Request, call_next: Handler) -> Response:
        response = call_next(request)
        if _scim_https(request) and response.status == 200:
            return response.with_header("Content-Type", "text/html")
        return response

    outcome = against(custom("json_as_html", labelled_html), tmp_path)

    assert "auth.sso_login_page" not in codes(outcome)
    assert outcome.summary.startswith("the token works (200 OK)")


def test_a_redirect_to_a_login_url_is_diagnosed_as_an_sso_front_end(tmp_path: Path) -> None:
    def to_login(request: Request, call_next: Handler) -> Response:
        if _scim_https(request):
            return Response(302, (("Location", "https://sso.example.com/login?next=%2Fscim"),))
        return call_next(request)

    outcome = against(custom("to_login", to_login), tmp_path)

    assert codes(outcome) == {"auth.sso_login_page": Severity.FAIL}
    assert "https://sso.example.com/login" in message(outcome, "auth.sso_login_page")


def test_a_redirect_elsewhere_is_an_unexpected_status(tmp_path: Path) -> None:
    def moved(request: Request, call_next: Handler) -> Response:
        if _scim_https(request):
            return Response(301, (("Location", "https://api.example.com/v3/scim/Users"),))
        return call_next(request)

    outcome = against(custom("moved", moved), tmp_path)

    assert codes(outcome) == {"http.unexpected_status": Severity.FAIL}
    assert "do not follow redirects" in message(outcome, "http.unexpected_status")


def test_a_406_only_the_token_gets_means_the_token_passed_authentication(tmp_path: Path) -> None:
    def picky(request: Request, response: Response) -> Response:
        if _scim_https(request) and response.status == 200:
            return error_response(406, "Only application/json is produced")
        return response

    outcome = against(custom("picky", map_response(picky)), tmp_path)

    assert outcome.status is Status.PASS, outcome.findings
    assert "passed authentication" in outcome.summary and "406" in outcome.summary


def test_a_400_for_everyone_cannot_tell_and_is_an_unexpected_status(tmp_path: Path) -> None:
    def broken(request: Request, call_next: Handler) -> Response:
        if _scim_https(request):
            return error_response(400, "startIndex is not supported", "invalidValue")
        return call_next(request)

    outcome = against(custom("broken", broken), tmp_path)

    assert codes(outcome) == {"http.unexpected_status": Severity.FAIL}
    assert "cannot be told" in message(outcome, "http.unexpected_status")


def test_server_errors_of_all_four_requests_are_one_finding_naming_each(tmp_path: Path) -> None:
    def crash(request: Request, call_next: Handler) -> Response:
        if _scim_https(request):
            return Response(500, (("Content-Type", "text/plain"),), b"NullReferenceException\n")
        return call_next(request)

    outcome = against(custom("crash", crash), tmp_path)

    assert codes(outcome) == {"http.server_error": Severity.FAIL}
    text = message(outcome, "http.server_error")
    for label in ("with the token", "without a token", "random bearer token", "non-token"):
        assert label in text
    assert text.count("answered 500") == 4


def test_a_server_that_crashes_on_non_token_fails_okta_s_spec_test(tmp_path: Path) -> None:
    def fragile(request: Request, call_next: Handler) -> Response:
        if _scim_https(request) and request.header("authorization") == "non-token":
            return Response(500, (("Content-Type", "text/plain"),), b"IndexError\n")
        return call_next(request)

    outcome = against(custom("fragile", fragile), tmp_path)

    assert codes(outcome) == {"http.server_error": Severity.FAIL}
    assert "with 'Authorization: non-token': answered 500" in message(outcome, "http.server_error")


# --- the three requests without a valid token -------------------------------------------------


def test_a_server_that_answers_without_a_token_is_a_security_failure(tmp_path: Path) -> None:
    outcome = against("no_auth_required", tmp_path)

    assert codes(outcome) == {"auth.no_token_accepted": Severity.FAIL}
    text = message(outcome, "auth.no_token_accepted")
    assert "without a token: 200 OK with a SCIM ListResponse" in text
    assert "readable without any credentials" in text


def test_a_server_that_takes_any_bearer_value_is_a_security_failure(tmp_path: Path) -> None:
    outcome = against("any_token_accepted", tmp_path)

    assert codes(outcome) == {"auth.bogus_token_accepted": Severity.FAIL}
    text = message(outcome, "auth.bogus_token_accepted")
    assert "with a random bearer token: 200 OK" in text
    assert "non-token" not in text  # that one still got its 401


def test_a_401_without_www_authenticate_is_a_warning(tmp_path: Path) -> None:
    outcome = against("no_www_authenticate", tmp_path)

    assert codes(outcome) == {"auth.missing_www_authenticate": Severity.WARN}
    assert outcome.status is Status.WARN
    assert "without a token" in message(outcome, "auth.missing_www_authenticate")
    assert outcome.facts["requests"]["no_token"]["www_authenticate"] is None


def test_a_401_with_a_framework_body_is_not_a_scim_error(tmp_path: Path) -> None:
    outcome = against("plain_401_body", tmp_path)

    assert codes(outcome) == {"auth.401_not_scim_error": Severity.WARN}
    text = message(outcome, "auth.401_not_scim_error")
    assert "does not list urn:ietf:params:scim:api:messages:2.0:Error" in text
    assert "keys: error, status" in text


def test_a_scim_error_whose_status_is_the_number_401_is_flagged(tmp_path: Path) -> None:
    def numeric(request: Request, response: Response) -> Response:
        if response.status != 401:
            return response
        return response.with_json({"schemas": [auth.ERROR_URN], "status": 401, "detail": "No"})

    outcome = against(custom("numeric", map_response(numeric)), tmp_path)

    assert codes(outcome) == {"auth.401_not_scim_error": Severity.WARN}
    assert "'status' is the number 401, not the string \"401\"" in message(
        outcome, "auth.401_not_scim_error"
    )


def test_a_403_without_a_token_is_answered_where_401_belongs(tmp_path: Path) -> None:
    def forbid_anonymous(request: Request, call_next: Handler) -> Response:
        if _scim_https(request) and request.header("authorization") is None:
            return error_response(403, "Forbidden")
        return call_next(request)

    outcome = against(custom("anon403", forbid_anonymous), tmp_path)

    assert codes(outcome) == {"auth.invalid_credentials_not_401": Severity.WARN}
    assert "without a token: 403 Forbidden" in message(outcome, "auth.invalid_credentials_not_401")


def test_a_login_page_for_anonymous_requests_only_is_a_warning(tmp_path: Path) -> None:
    def browser_login(request: Request, call_next: Handler) -> Response:
        if _scim_https(request) and request.header("authorization") is None:
            page = b"<html><head><title>Log in</title></head></html>"
            return Response(200, (("Content-Type", "text/html"),), page)
        return call_next(request)

    outcome = against(custom("browser", browser_login), tmp_path)

    assert codes(outcome) == {"auth.invalid_credentials_not_401": Severity.WARN}
    assert "HTML page titled 'Log in'" in message(outcome, "auth.invalid_credentials_not_401")


# --- --no-token -------------------------------------------------------------------------------


def test_no_token_runs_only_the_three_negative_requests_and_skips_with_the_reason(
    healthy: DemoServer, tmp_path: Path
) -> None:
    outcome = check(healthy, tmp_path, token=None)

    assert outcome.status is Status.SKIP
    assert outcome.skip_reason is not None
    assert outcome.skip_reason.startswith("no token given (--no-token)")
    assert "got 401 as they should" in outcome.skip_reason
    assert set(outcome.facts["requests"]) == {"no_token", "bogus_token", "non_token"}
    assert "token" not in outcome.facts
    assert len(healthy.received) == 3
    assert f"Bearer {TOKEN}" not in [r.header("authorization") for r in healthy.received]


def test_no_token_still_fails_an_open_endpoint_and_holds_back_the_dependents(
    tmp_path: Path,
) -> None:
    outcome = against("no_auth_required", tmp_path, token=None)

    assert codes(outcome) == {"auth.no_token_accepted": Severity.FAIL}
    assert outcome.unblocks_dependents is False
    assert "authenticated request skipped: no token given (--no-token)" in outcome.summary


def test_no_token_and_a_404_for_everything_still_says_the_path_is_wrong(tmp_path: Path) -> None:
    outcome = against("wrong_base_path", tmp_path, token=None)

    assert codes(outcome) == {"auth.endpoint_not_found": Severity.FAIL}
    assert "base URL is probably wrong" in message(outcome, "auth.endpoint_not_found")


def test_a_warning_with_no_token_still_holds_back_the_dependents(tmp_path: Path) -> None:
    outcome = against("no_www_authenticate", tmp_path, token=None)

    assert outcome.status is Status.WARN
    assert outcome.unblocks_dependents is False


# --- end to end through the CLI ---------------------------------------------------------------


def _auth_check(report: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["id"] == "auth")


def test_cli_demo_healthy_gives_auth_pass_without_warnings(
    run_cli: Any, report_validator: Any
) -> None:
    result = run_cli("demo", "--format", "json")

    report = result.json()
    assert_valid_report(report_validator, report)
    check_ = _auth_check(report)
    assert check_["status"] == "pass", check_
    assert check_["findings"] == []


@pytest.mark.parametrize("fault", [f.name for f in AUTH_FAULTS])
def test_cli_demo_fault_is_named_by_its_codes(
    run_cli: Any, report_validator: Any, fault: str
) -> None:
    spec = next(f for f in AUTH_FAULTS if f.name == fault)

    result = run_cli("demo", "--fault", fault, "--format", "json")

    report = result.json()
    assert_valid_report(report_validator, report)
    found = {f["code"]: f for f in _auth_check(report)["findings"]}
    for code in spec.expect:
        assert code in found, (fault, found)
    failing = any(found[code]["severity"] == "fail" for code in spec.expect)
    assert _auth_check(report)["status"] == ("fail" if failing else "warn")
    assert result.exit_code == (1 if failing else 0), result.stderr
    assert_one_verdict(report)
    # The checks after auth wait for what the probe itself found, before any provider's rule.
    if any(catalogue_severity(found[code]) == "fail" for code in spec.expect):
        for check_ in report["checks"]:
            if check_["id"] in DEPENDENTS:
                assert check_["status"] == "skip"
                assert check_["skip_reason"] == "requires auth, which failed"


def test_cli_check_with_no_token_skips_auth_and_every_check_that_needs_the_token(
    run_cli: Any, report_validator: Any, healthy: DemoServer, tmp_path: Path
) -> None:
    ca = healthy.write_ca(tmp_path)
    result = run_cli(
        "check",
        healthy.base_url,
        "--cacert",
        str(ca),
        "--resolve",
        healthy.resolve_pin,
        "--timeout",
        "2",
        "--no-token",
        "--format",
        "json",
    )

    report = result.json()
    assert_valid_report(report_validator, report)
    assert result.exit_code == 0, result.stdout + result.stderr
    by_id = {c["id"]: c for c in report["checks"]}
    assert by_id["auth"]["status"] == "skip"
    assert by_id["auth"]["skip_reason"].startswith("no token given (--no-token)")
    assert by_id["auth"]["facts"]["requests"]["no_token"]["status"] == 401
    for dependent in DEPENDENTS:
        assert by_id[dependent]["status"] == "skip"
        assert by_id[dependent]["skip_reason"] == "requires auth, which was skipped"
    assert all(c["status"] != "pass" for c in report["checks"] if c["id"] in DEPENDENTS)


def test_cli_check_names_a_rejected_token_and_keeps_it_out_of_every_output(
    run_cli: Any, report_validator: Any, healthy: DemoServer, tmp_path: Path
) -> None:
    wrong = "wrong-token-7f3a9c2e5b1d4068"
    ca = healthy.write_ca(tmp_path)
    args = ["check", healthy.base_url, "--cacert", str(ca), "--resolve", healthy.resolve_pin]

    as_json = run_cli(*args, "--format", "json", env={"SCIM_TOKEN": wrong})
    as_text = run_cli(*args, env={"SCIM_TOKEN": wrong})

    report = as_json.json()
    assert_valid_report(report_validator, report)
    assert as_json.exit_code == 1
    assert [f["code"] for f in _auth_check(report)["findings"]] == ["auth.rejected"]
    assert "auth.rejected" in as_text.stdout
    for output in (as_json.stdout, as_json.stderr, as_text.stdout, as_text.stderr):
        assert wrong not in output


@pytest.mark.parametrize("fault", [None, "token_rejected", "forbidden", "any_token_accepted"])
def test_auth_wording_survives_the_redaction_every_report_applies(
    tmp_path: Path, fault: str | None
) -> None:
    """redact() takes 'token <long word>' for a credential; no auth text may look like one."""
    outcome = against(fault, tmp_path) if fault else against(custom("none", None), tmp_path)
    texts = [outcome.summary, *(f.message for f in outcome.findings)]
    texts += [
        getattr(spec, field)
        for code, spec in CATALOGUE.items()
        if code.startswith("auth.")
        for field in ("title", "why", "fix", "reference")
    ]
    for text in texts:
        assert redact(text) == text


# --- a line break removed from the token as read is said, not silently repaired ---------------


@pytest.mark.parametrize(
    ("source", "ending", "shown"),
    [("file", "\n", "\\n"), ("env", "\r\n", "\\r\\n")],
)
def test_a_token_read_with_a_trailing_line_break_works_and_the_removal_is_an_info_finding(
    run_cli: Any, tmp_path: Path, report_validator: Any, source: str, ending: str, shown: str
) -> None:
    """`echo token > file` or a CI secret copied with its line break: scim-doctor checks the
    token without it, and says so, because the provider's token field may keep it."""
    with DemoServer(TOKEN) as server:
        ca = server.write_ca(tmp_path)
        args = ["check", server.base_url, "--cacert", str(ca), "--resolve", server.resolve_pin]
        args += ["--only", "url,dns,connect,tls,auth", "--timeout", "2", "--format", "json"]
        if source == "file":
            token_file = tmp_path / "scim.token"
            token_file.write_text(TOKEN + ending, encoding="utf-8")
            result = run_cli(*args, "--token-file", str(token_file))
            where = f"--token-file {token_file}"
        else:
            result = run_cli(*args, env={"SCIM_TOKEN": TOKEN + ending})
            where = "environment variable SCIM_TOKEN"

    report = result.json()
    assert_valid_report(report_validator, report)
    assert result.exit_code == 0 and _auth_check(report)["status"] == "pass"
    [found] = _auth_check(report)["findings"]
    assert (found["code"], found["severity"]) == ("auth.token_trailing_newline", "info")
    assert f"removed a trailing line break ({shown}) from {where}" in found["message"]
    assert TOKEN not in result.stdout + result.stderr


def test_a_token_pasted_with_its_bearer_prefix_is_told_to_fix_the_paste_not_to_make_a_new_token(
    run_cli: Any, tmp_path: Path
) -> None:
    """The server refuses 'Bearer Bearer …': auth.token_malformed is the cause, and auth.rejected
    beside it says to fix the paste, not to generate a new token."""
    from tests.test_fault_matrix import contradictions

    with DemoServer(TOKEN) as server:
        result = run_cli(
            "check", server.base_url, "--cacert", str(server.write_ca(tmp_path)),
            "--resolve", server.resolve_pin, "--only", "url,dns,connect,tls,auth",
            "--timeout", "2", "--format", "json", env={"SCIM_TOKEN": f"Bearer {TOKEN}"},
        )  # fmt: skip
    report = result.json()
    found = {f["code"]: f for f in _auth_check(report)["findings"]}
    assert "auth.token_malformed" in found and "auth.rejected" in found
    assert found["auth.rejected"]["remediation"].startswith("Paste the token alone")
    assert found["auth.rejected"]["caused_by"] == "auth.token_malformed"
    assert report["summary"]["root_cause"] == {"check": "auth", "code": "auth.token_malformed"}
    assert contradictions(report) == []
