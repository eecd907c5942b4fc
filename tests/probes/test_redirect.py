"""The `redirect` check against real loopback servers: the demo server with its redirect faults,
and scripted servers for chains the demo cannot build (long chains, hostile sign-in pages).

The servers record every request they receive, which is the proof that the token never went
over plain HTTP or to another host.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.checks import redirect
from scim_doctor.checks.base import Outcome
from scim_doctor.core.model import Severity, Status
from scim_doctor.core.secrets import Secret
from scim_doctor.demo import pki, sockets
from scim_doctor.demo.http_faults.redirect import FAULTS
from scim_doctor.demo.server import DemoServer, RecordedRequest
from scim_doctor.net.context import Options, ProbeContext
from scim_doctor.net.target import ResolvePin, parse_base_url, parse_resolve
from scim_doctor.net.trust import Trust, load_trust
from tests.conftest import assert_one_verdict, assert_valid_report
from tests.support.scripted_server import Recorded, Reply, ScriptedServer

TOKEN = "redirect-canary-5e1f0a9c7b3d2468"
SCIM_JSON = {"Content-Type": "application/scim+json"}
EMPTY_LIST = (
    b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,'
    b'"Resources":[]}'
)
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback servers must be reached directly, whatever the developer's shell exports."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="module")
def ca() -> pki.CertificateAuthority:
    return pki.CertificateAuthority("scim-doctor redirect tests", organization="scim-doctor tests")


@pytest.fixture(scope="module")
def trust(ca: pki.CertificateAuthority, tmp_path_factory: pytest.TempPathFactory) -> Trust:
    return load_trust(ca.write_root_pem(tmp_path_factory.mktemp("redirect-trust")))


@pytest.fixture
def tls_server(ca: pki.CertificateAuthority) -> Iterator[ScriptedServer]:
    """An https server reachable as both localhost and 127.0.0.1: two origins, one recorder."""
    with ScriptedServer(tls=ca.issue(["localhost", "127.0.0.1"]).server_context()) as server:
        yield server


@pytest.fixture
def plain_server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


def context(
    base_url: str,
    trust: Trust,
    *,
    token: str | None = TOKEN,
    http_port: int = 80,
    resolve: tuple[ResolvePin, ...] = (),
) -> ProbeContext:
    return ProbeContext(
        target=parse_base_url(base_url),
        options=Options(timeout=2.0, http_port=http_port, resolve=resolve),
        token=Secret(token) if token is not None else None,
        trust=trust,
        deadline_at=time.monotonic() + 20,
    )


def probe(ctx: ProbeContext) -> Outcome:
    async def scenario() -> Outcome:
        try:
            return await redirect.run(ctx)
        finally:
            if ctx.http is not None:
                await ctx.http.aclose()

    return asyncio.run(scenario())


def demo_context(
    server: DemoServer, tmp_path: Path, *, token: str | None = TOKEN, http_port: int | None = None
) -> ProbeContext:
    """What `scim-doctor demo` builds: the demo CA, the --resolve pin, the plain listener."""
    return context(
        server.base_url,
        load_trust(server.write_ca(tmp_path)),
        token=token,
        http_port=http_port or server.http_port or 80,
        resolve=(parse_resolve(server.resolve_pin),),
    )


@dataclass(frozen=True)
class DemoRun:
    """A stopped demo server's addresses and record (a stopped server forgets its ports)."""

    base_url: str
    port: int
    http_port: int
    received: list[RecordedRequest]


def run_demo(
    tmp_path: Path, fault: str | None = None, *, token: str | None = TOKEN
) -> tuple[Outcome, DemoRun]:
    with DemoServer(TOKEN, fault=fault, http_listener=True) as server:
        outcome = probe(demo_context(server, tmp_path, token=token))
        assert server.http_port is not None
        ran = DemoRun(server.base_url, server.port, server.http_port, server.received)
    return outcome, ran


def severities(outcome: Outcome) -> dict[str, Severity]:
    return {finding.code: finding.severity for finding in outcome.findings}


def message(outcome: Outcome, code: str) -> str:
    return next(f.message for f in outcome.findings if f.code == code)


def assert_no_token_in_output(outcome: Outcome) -> None:
    text = json.dumps(outcome.facts) + outcome.summary
    text += "".join(f.message + f.remediation for f in outcome.findings)
    text += "".join(str(exchange) for exchange in outcome.exchanges)
    assert TOKEN not in text


# --- healthy ------------------------------------------------------------------------------------


def test_healthy_demo_redirects_plain_http_with_308_and_answers_https_directly(
    tmp_path: Path,
) -> None:
    outcome, server = run_demo(tmp_path)

    assert outcome.status is Status.PASS, outcome.findings
    assert outcome.findings == []
    plain = outcome.facts["plain_http"]
    assert plain["result"] == "redirects_to_https"
    assert [hop["status"] for hop in plain["hops"]] == [308, 401]
    assert plain["hops"][0]["location"] == server.base_url
    assert [walk["end"] for walk in outcome.facts["walks"]] == ["answered", "answered"]
    assert [len(walk["hops"]) for walk in outcome.facts["walks"]] == [1, 1]
    assert outcome.facts["configure_url"] == server.base_url
    assert "no redirects" in outcome.summary
    assert "308" in outcome.summary
    assert len(outcome.exchanges) == 4
    assert_no_token_in_output(outcome)


def test_without_a_token_the_walks_run_and_send_no_authorization(tmp_path: Path) -> None:
    outcome, server = run_demo(tmp_path, token=None)

    assert outcome.status is Status.PASS, outcome.findings
    assert server.received
    assert all(request.header("authorization") is None for request in server.received)
    hops = [hop for walk in outcome.facts["walks"] for hop in walk["hops"]]
    assert not any(hop["token_sent"] for hop in hops)


# --- plain HTTP ---------------------------------------------------------------------------------


def test_plain_http_serving_the_api_in_clear_text_fails(tmp_path: Path) -> None:
    outcome, server = run_demo(tmp_path, "http_served_plain")

    assert severities(outcome) == {"redirect.http_not_redirected": Severity.FAIL}
    text = message(outcome, "redirect.http_not_redirected")
    assert f"http://demo.scim-doctor.test:{server.http_port}/scim/v2" in text
    assert "401 Unauthorized" in text
    assert "application/scim+json" in text
    assert outcome.facts["plain_http"]["result"] == "answers_in_clear"
    plain_requests = [r for r in server.received if r.scheme == "http"]
    assert plain_requests
    assert all(r.header("authorization") is None for r in plain_requests)


def test_plain_http_redirecting_an_https_base_with_301_is_only_info_that_post_becomes_get(
    tmp_path: Path,
) -> None:
    """The base URL is https://: no provider configured with it meets port 80's 301; only one
    configured with http:// by mistake would, so it is a risk that needs another mistake."""
    outcome, server = run_demo(tmp_path, "http_redirect_301")

    assert severities(outcome) == {"redirect.http_port_changes_method": Severity.INFO}
    text = message(outcome, "redirect.http_port_changes_method")
    assert f"answers 301 -> {server.base_url}" in text
    assert "GET" in text
    assert outcome.status is Status.PASS


def test_closed_plain_http_port_is_fine_and_said_so(tmp_path: Path) -> None:
    closed = sockets.closed_port("127.0.0.1")
    with DemoServer(TOKEN) as server:
        outcome = probe(demo_context(server, tmp_path, http_port=closed))

    assert outcome.status is Status.PASS, outcome.findings
    assert outcome.findings == []
    assert outcome.facts["plain_http"]["result"] == "closed"
    assert outcome.facts["plain_http"]["note"] == (
        f"port {closed} closed: nothing answers plain HTTP"
    )
    assert f"port {closed} closed" in outcome.summary


def test_plain_http_redirecting_to_another_host_is_said_without_failing(
    tls_server: ScriptedServer, plain_server: ScriptedServer, trust: Trust
) -> None:
    """Given port 80 of localhost sends everyone to https://127.0.0.1 (the company website,
    say), the check says where plain HTTP leads, as information."""
    tls_server.default(Reply(401, SCIM_JSON, b"{}"))
    elsewhere = f"https://127.0.0.1:{tls_server.port}/"
    plain_server.default(Reply(308, {"Location": elsewhere}))
    ctx = context(tls_server.url("/scim/v2", host="localhost"), trust, http_port=plain_server.port)

    outcome = probe(ctx)

    assert severities(outcome) == {"redirect.http_redirects_elsewhere": Severity.INFO}
    assert outcome.status is Status.PASS
    text = message(outcome, "redirect.http_redirects_elsewhere")
    assert f"to another host, {elsewhere}" in text
    assert [r.headers.get("authorization") for r in plain_server.requests] == [None]


def test_an_http_base_url_is_not_probed_on_plain_http_again(
    plain_server: ScriptedServer, trust: Trust
) -> None:
    plain_server.default(Reply(200, SCIM_JSON, EMPTY_LIST))
    ctx = context(plain_server.url("/scim/v2"), trust, http_port=plain_server.port)

    outcome = probe(ctx)

    assert outcome.facts["plain_http"] == {
        "result": "not_probed",
        "note": "not probed: the base URL is not https",
    }
    assert all("authorization" not in r.headers for r in plain_server.requests)


def test_an_http_base_url_redirected_with_301_is_said_to_turn_the_providers_posts_into_gets(
    tls_server: ScriptedServer, plain_server: ScriptedServer, trust: Trust
) -> None:
    """Given http://… answers 301 to the same path on https, the walk (without the token) names
    the method-changing redirect and the https URL to configure instead."""
    secure = tls_server.url("", host="localhost")

    def upgrade(request: Recorded) -> Reply:
        return Reply(301, {"Location": secure + request.target})

    plain_server.default(upgrade)
    tls_server.default(Reply(200, SCIM_JSON, EMPTY_LIST))
    ctx = context(plain_server.url("/scim/v2", host="localhost"), trust)

    outcome = probe(ctx)

    assert severities(outcome) == {"redirect.method_changing_status": Severity.WARN}
    assert "sends to the http:// base URL" in message(outcome, "redirect.method_changing_status")
    assert outcome.facts["configure_url"] == f"{secure}/scim/v2"
    assert f"configure {secure}/scim/v2 instead" in outcome.summary
    assert [r.target for r in plain_server.requests] == ["/scim/v2/Users?count=1"]
    assert all("authorization" not in r.headers for r in plain_server.requests)
    assert all("authorization" not in r.headers for r in tls_server.requests)


def test_an_http_base_url_gets_both_the_clear_text_and_the_lost_post_findings(
    tls_server: ScriptedServer,
    plain_server: ScriptedServer,
    ca: pki.CertificateAuthority,
    tmp_path: Path,
    run_cli: Any,
) -> None:
    """The whole run: tls.not_https fails for every provider, the redirect check still runs
    after it (the token stays home), and the checks that need the token are skipped."""
    secure = tls_server.url("", host="localhost")
    plain_server.default(lambda request: Reply(301, {"Location": secure + request.target}))
    tls_server.default(Reply(200, SCIM_JSON, EMPTY_LIST))

    result = run_cli(
        "check", plain_server.url("/scim/v2", host="localhost"), "--format", "json",
        "--timeout", "3", "--cacert", str(ca.write_root_pem(tmp_path)),
        env={"SCIM_TOKEN": TOKEN},
    )  # fmt: skip

    report = result.json()
    checks = {check["id"]: check for check in report["checks"]}
    assert [f["code"] for f in checks["tls"]["findings"]] == ["tls.not_https"]
    assert checks["redirect"]["status"] == "warn"
    assert [f["code"] for f in checks["redirect"]["findings"]] == [
        "redirect.method_changing_status"
    ]
    assert checks["auth"]["status"] == "skip"
    assert checks["auth"]["summary"] == "requires tls, which failed"
    assert_one_verdict(report)
    assert TOKEN not in result.stdout + result.stderr
    assert all("authorization" not in r.headers for r in plain_server.requests)


# --- the https walks ----------------------------------------------------------------------------


def test_redirect_to_entra_sign_in_is_named_and_not_followed(tmp_path: Path) -> None:
    outcome, _ = run_demo(tmp_path, "redirect_to_login")

    assert severities(outcome) == {"redirect.to_login_page": Severity.FAIL}
    text = message(outcome, "redirect.to_login_page")
    assert "Microsoft Entra ID sign-in page" in text
    assert "https://login.microsoftonline.com/" in text
    walks = outcome.facts["walks"]
    assert [walk["end"] for walk in walks] == ["sign_in", "sign_in"]
    assert walks[0]["sign_in"] == "Microsoft Entra ID"
    assert walks[0]["final_url"].startswith("https://login.microsoftonline.com/")
    # Recorded, not fetched: one request per walk, nothing sent to Microsoft.
    assert [len(walk["hops"]) for walk in walks] == [1, 1]
    assert not any("microsoftonline" in exchange.url for exchange in outcome.exchanges)
    assert outcome.facts["configure_url"] is None
    assert_no_token_in_output(outcome)


def test_redirect_to_a_local_okta_looking_page_is_recognised_from_the_page(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    """Given an SSO gateway that sends /Users to its own sign-in page on another origin, the page
    itself (a password field, Okta's widget) tells who runs it."""
    login = f"https://127.0.0.1:{tls_server.port}/gateway/signin?return=/scim/v2/Users"
    tls_server.route("/scim/v2", Reply(404, SCIM_JSON, b"{}"))
    tls_server.route("/scim/v2/Users", Reply(302, {"Location": login}))
    page = (
        b"<!DOCTYPE html><html><head><title>Acme - Sign In</title></head><body>"
        b'<div id="okta-sign-in"><form><input name="username">'
        b'<input type="password" name="password"></form></div></body></html>'
    )
    tls_server.route("/gateway/signin", Reply(200, {"Content-Type": "text/html"}, page))
    ctx = context(tls_server.url("/scim/v2", host="localhost"), trust)

    outcome = probe(ctx)

    assert severities(outcome) == {"redirect.to_login_page": Severity.FAIL}
    text = message(outcome, "redirect.to_login_page")
    assert "GET https://localhost:" in text
    assert "the Okta sign-in page" in text
    assert outcome.facts["walks"][1]["sign_in"] == "Okta"
    [to_gateway] = [r for r in tls_server.requests if r.path == "/gateway/signin"]
    assert "authorization" not in to_gateway.headers


def test_slash_ping_pong_is_a_loop(tmp_path: Path) -> None:
    outcome, _ = run_demo(tmp_path, "redirect_loop")

    assert severities(outcome) == {"redirect.loop": Severity.FAIL}
    text = message(outcome, "redirect.loop")
    assert "/scim/v2/ (301)" in text
    assert "was already visited" in text
    assert [walk["end"] for walk in outcome.facts["walks"]] == ["loop", "loop"]
    assert outcome.facts["configure_url"] is None


def test_a_chain_longer_than_ten_requests_is_a_loop(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    def onwards(request: Recorded) -> Reply:
        return Reply(307, {"Location": request.path + "/next"})

    tls_server.default(onwards)
    ctx = context(tls_server.url("/scim/v2", host="localhost"), trust)

    outcome = probe(ctx)

    assert severities(outcome) == {"redirect.loop": Severity.FAIL}
    assert "still redirecting after 10 requests" in message(outcome, "redirect.loop")
    assert [len(w["hops"]) for w in outcome.facts["walks"]] == [10, 10]
    assert [w["end"] for w in outcome.facts["walks"]] == ["too_many_hops", "too_many_hops"]


def test_a_trailing_slash_rewrite_of_the_bare_base_url_then_404_is_only_info_that_there_is_no_root(
    tmp_path: Path,
) -> None:
    """nginx's `location /scim/v2/` answers the bare base URL with 301, and the service has no
    root resource (404): RFC 7644 defines none and no provider needs one, so no warning."""
    outcome, server = run_demo(tmp_path, "redirect_trailing_slash")

    assert severities(outcome) == {"redirect.base_url_no_root": Severity.INFO}
    text = message(outcome, "redirect.base_url_no_root")
    assert f"GET {server.base_url} answered 404 after a trailing-slash redirect" in text
    assert outcome.facts["configure_url"] == server.base_url


def test_a_bare_base_url_that_crashes_is_one_warning_naming_onelogin(tmp_path: Path) -> None:
    """Only OneLogin's Enable requests the bare base URL: a 500 there is one warning for
    OneLogin, and /Users, which every provider calls, is fine."""
    outcome, server = run_demo(tmp_path, "base_url_server_error")

    assert severities(outcome) == {"redirect.base_url_answer": Severity.WARN}
    text = message(outcome, "redirect.base_url_answer")
    assert f"GET {server.base_url}, the request OneLogin's Enable makes" in text
    assert "500" in text


def test_users_redirected_with_302_warns_of_both_the_slash_and_the_lost_post(
    tls_server: ScriptedServer, trust: Trust
) -> None:
    tls_server.route("/scim/v2", Reply(404, SCIM_JSON, b"{}"))
    tls_server.route("/scim/v2/Users", Reply(302, {"Location": "/scim/v2/Users/?count=1"}))
    tls_server.route("/scim/v2/Users/", Reply(200, SCIM_JSON, EMPTY_LIST))
    ctx = context(tls_server.url("/scim/v2", host="localhost"), trust)

    outcome = probe(ctx)

    assert severities(outcome) == {
        "redirect.trailing_slash": Severity.WARN,
        "redirect.method_changing_status": Severity.WARN,
    }
    assert "a POST creating a user is repeated as a GET" in message(
        outcome, "redirect.method_changing_status"
    )
    # The redirect stays on the target's origin, so the token went along (as clients do).
    assert [r.headers.get("authorization") for r in tls_server.requests] == [f"Bearer {TOKEN}"] * 3


def test_https_to_http_downgrade_fails(tmp_path: Path) -> None:
    outcome, server = run_demo(tmp_path, "redirect_downgrade")

    assert severities(outcome) == {"redirect.downgrade": Severity.FAIL}
    text = message(outcome, "redirect.downgrade")
    assert f"{server.base_url} answered 302 with Location http://demo.scim-doctor.test/scim/v2" in (
        text
    )
    assert outcome.facts["configure_url"] is None
    http_hops = [
        hop
        for walk in outcome.facts["walks"]
        for hop in walk["hops"]
        if hop["url"].startswith("http://")
    ]
    assert len(http_hops) == 2
    assert not any(hop["token_sent"] for hop in http_hops)


def test_cross_host_redirect_fails_and_names_the_url_to_configure(tmp_path: Path) -> None:
    outcome, server = run_demo(tmp_path, "redirect_cross_host")

    assert severities(outcome) == {"redirect.cross_host": Severity.FAIL}
    [finding] = outcome.findings
    moved = f"https://127.0.0.1:{server.port}/scim/v2"
    assert f"redirected to another host and ends at {moved} (401)" in finding.message
    assert finding.remediation == (
        f"Configure {moved} as the base URL in the identity provider instead of {server.base_url}."
    )
    assert outcome.facts["configure_url"] == moved


def test_path_moved_warns_and_names_the_url_to_configure(tmp_path: Path) -> None:
    outcome, server = run_demo(tmp_path, "redirect_path_moved")

    assert severities(outcome) == {"redirect.path_moved": Severity.WARN}
    moved = f"https://demo.scim-doctor.test:{server.port}/api/scim/v2"
    assert outcome.facts["configure_url"] == moved
    assert moved in outcome.findings[0].remediation


# --- safety: where the token goes ---------------------------------------------------------------


def test_no_request_over_plain_http_carries_authorization(
    tls_server: ScriptedServer, plain_server: ScriptedServer, trust: Trust
) -> None:
    """Given the https target redirects to plain http, the hop is followed without the token:
    the plain server, recording everything, sees no Authorization; the target saw it."""
    plain_server.default(Reply(200, {"Content-Type": "text/plain"}, b"hello in clear text\n"))
    down = f"http://127.0.0.1:{plain_server.port}"

    def downgrade(request: Recorded) -> Reply:
        return Reply(301, {"Location": down + request.target})

    tls_server.default(downgrade)
    ctx = context(tls_server.url("/scim/v2", host="localhost"), trust, http_port=plain_server.port)

    outcome = probe(ctx)

    assert severities(outcome)["redirect.downgrade"] is Severity.FAIL
    assert len(plain_server.requests) == 3  # the plain-HTTP walk, and one hop of each https walk
    assert all("authorization" not in r.headers for r in plain_server.requests)
    assert [r.headers.get("authorization") for r in tls_server.requests] == [f"Bearer {TOKEN}"] * 2
    assert_no_token_in_output(outcome)


def test_no_request_to_another_host_carries_authorization(tmp_path: Path) -> None:
    """Given the demo host redirects to 127.0.0.1 (the same server under another name), the
    server's own record shows the token on the configured host only."""
    outcome, server = run_demo(tmp_path, "redirect_cross_host")

    https = [r for r in server.received if r.scheme == "https"]
    to_target = [r for r in https if r.header("host") == f"demo.scim-doctor.test:{server.port}"]
    elsewhere = [r for r in https if r.header("host") == f"127.0.0.1:{server.port}"]
    assert len(to_target) + len(elsewhere) == len(https)
    assert elsewhere  # the hops were followed ...
    assert all(r.header("authorization") is None for r in elsewhere)  # ... without the token
    assert {r.header("authorization") for r in to_target} == {f"Bearer {TOKEN}", None}
    # (None: the plain-HTTP walk, which never carries the token, reaches the target too.)
    assert all(r.header("authorization") is None for r in server.received if r.scheme == "http")
    assert_no_token_in_output(outcome)


# --- end to end ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [fault.name for fault in FAULTS])
def test_each_redirect_fault_is_diagnosed_by_the_demo_command(
    run_cli: Any, report_validator: Any, fault: str
) -> None:
    result = run_cli("demo", "--fault", fault, "--format", "json", "--timeout", "2")

    report = result.json()
    assert_valid_report(report_validator, report)
    [check] = [c for c in report["checks"] if c["id"] == "redirect"]
    codes = {f["code"]: f["severity"] for f in check["findings"]}
    expected = next(f for f in FAULTS if f.name == fault).expect
    assert set(codes) == set(expected), codes
    worst = max(codes.values(), key=lambda s: ["info", "warn", "fail"].index(s))
    assert check["status"] == ("pass" if worst == "info" else worst)
    failed = any(f["severity"] == "fail" for c in report["checks"] for f in c["findings"])
    assert result.exit_code == (1 if failed else 0)
    assert "Traceback" not in result.stderr


def test_the_healthy_demo_command_reports_no_redirect_problem(
    run_cli: Any, report_validator: Any
) -> None:
    result = run_cli("demo", "--format", "json", "--timeout", "2")

    report = result.json()
    assert_valid_report(report_validator, report)
    [check] = [c for c in report["checks"] if c["id"] == "redirect"]
    assert check["status"] == "pass"
    assert check["findings"] == []
    assert check["facts"]["plain_http"]["result"] == "redirects_to_https"
    assert check["facts"]["configure_url"] == report["target"]["base_url"]
