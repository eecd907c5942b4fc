"""The company path out, end to end (issue 19 items 1, 2 and 5): the real console script, in a
subprocess with JSON output, against a healthy demo server reached through a real squid or
through a TLS-inspecting proxy built here.

The SCIM host's name (scim.corp.test) resolves only inside squid (its own hosts file), as on a
company network where only the proxy resolves outside names; the intercepting proxy maps it
itself. Every fault is asserted by code, severity, check, scope, the providers' verdicts and
the exit code; the healthy path through squid has no warn or fail, whether the proxy comes
from HTTPS_PROXY or from --proxy. The last test replays every scenario with decoy proxies in
the variables the run must not use, and proves the token went to no host, port or proxy but
the base URL's.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.demo.server import DemoServer
from tests.conftest import assert_one_verdict, assert_valid_report
from tests.support import squid
from tests.support.intercepting_proxy import InterceptingProxy
from tests.support.loopback_listener import LoopbackListener
from tests.support.silent_listener import SilentListener
from tests.support.squid import Squid

pytestmark = pytest.mark.timeout(300)

SCRIPT = str(Path(sys.executable).with_name("scim-doctor"))
TOKEN = "company-proxy-canary-3f9d1c7b5e2a4680"
HOST = "scim.corp.test"
DOWN = "down.corp.test"
"""A name squid resolves to loopback, on a port where nothing listens."""
TIMEOUT = "3"
PROXY_VARIABLES = (
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Lab:
    server: DemoServer
    ca: Path
    squid: Squid
    mitm: InterceptingProxy
    mitm_root: Path
    silent: SilentListener
    closed: int
    tmp: Path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    squid.require()
    tmp = tmp_path_factory.mktemp("company-proxy")
    with DemoServer(TOKEN, hostname=HOST, http_listener=True) as server:
        ca = server.write_ca(tmp)
        with (
            Squid({HOST: "127.0.0.1", DOWN: "127.0.0.1"}) as proxy,
            InterceptingProxy({HOST: "127.0.0.1"}, ca) as mitm,
            SilentListener() as silent,
        ):
            root = mitm.write_root_pem(tmp)
            yield Lab(server, ca, proxy, mitm, root, silent, _closed_port(), tmp)


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    report: dict[str, Any] = field(default_factory=dict)

    def check(self, check_id: str) -> dict[str, Any]:
        return next(c for c in self.report["checks"] if c["id"] == check_id)

    def finding(self, code: str) -> dict[str, Any]:
        return next(f for c in self.report["checks"] for f in c["findings"] if f["code"] == code)

    @property
    def problems(self) -> list[str]:
        checks = self.report["checks"]
        return [f["code"] for c in checks for f in c["findings"] if f["severity"] != "info"]

    @property
    def verdicts(self) -> dict[str, str]:
        return {v["idp"]: v["verdict"] for v in self.report["idp_verdicts"]}


def doctor(
    lab: Lab,
    *args: str,
    env: Mapping[str, str] | None = None,
    url: str | None = None,
    cacert: bool = True,
    fmt: str = "json",
) -> Run:
    """scim-doctor check against the lab's server, with no proxy variable but those given."""
    clean = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
    argv = [
        SCRIPT,
        "check",
        url or lab.server.base_url,
        *(["--cacert", str(lab.ca)] if cacert else []),
        "--http-port",
        str(lab.server.http_port),
        "--timeout",
        TIMEOUT,
        "--format",
        fmt,
        *args,
    ]
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**clean, "SCIM_TOKEN": TOKEN, **(env or {})},
    )
    run = Run(done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    assert TOKEN not in done.stdout + done.stderr
    if fmt == "json":
        run.report = json.loads(done.stdout)
    return run


def assert_this_machine(run: Run, code: str, check_id: str, validator: Any) -> dict[str, Any]:
    """A fault of this machine's path: fail, no provider affected, every provider not judged
    from here, exit 1."""
    assert_valid_report(validator, run.report)
    assert_one_verdict(run.report)
    assert run.exit_code == 1, run.stderr
    assert run.report["summary"]["status"] == "fail"
    assert run.report["summary"]["root_cause"] == {"check": check_id, "code": code}
    assert run.problems[0] == code
    finding = run.finding(code)
    assert finding["severity"] == "fail"
    assert finding["scope"] == "this_machine"
    assert finding.get("affects", []) == []
    assert run.check(check_id)["status"] == "fail"
    assert set(run.verdicts.values()) == {"not_judged_here"}, run.verdicts
    return finding


def assert_healthy(run: Run, validator: Any) -> None:
    assert_valid_report(validator, run.report)
    assert_one_verdict(run.report)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.problems == []
    assert run.report["summary"]["status"] == "pass"
    assert run.verdicts["entra"] == run.verdicts["okta"] == "will_work"


# --- healthy through squid -----------------------------------------------------------------------


def test_given_https_proxy_in_the_environment_then_the_healthy_server_passes_through_squid(
    lab: Lab, report_validator: Any
) -> None:
    run = doctor(lab, env={"HTTPS_PROXY": lab.squid.url(lab.squid.open_port)})

    assert_healthy(run, report_validator)
    proxy = run.check("proxy")
    assert proxy["facts"]["proxy_source"] == "the HTTPS_PROXY environment variable"
    assert proxy["facts"]["answer"]["status"] == 200
    assert run.check("tls")["facts"]["via_proxy"] == lab.squid.url(lab.squid.open_port)
    assert "not needed" in run.check("dns")["summary"]  # only squid resolves scim.corp.test
    assert f"CONNECT {HOST}:{lab.server.port}" in lab.squid.access_log


def test_given_proxy_option_then_the_healthy_server_passes_through_squid_plain_http_included(
    lab: Lab, report_validator: Any
) -> None:
    run = doctor(lab, "--proxy", lab.squid.url(lab.squid.open_port))

    assert_healthy(run, report_validator)
    assert run.check("proxy")["facts"]["proxy_source"] == "--proxy"
    assert run.check("redirect")["facts"]["plain_http"]["result"] == "redirects_to_https"
    assert f"GET http://{HOST}:{lab.server.http_port}/scim/v2" in lab.squid.access_log


def test_given_the_proxys_credentials_in_https_proxy_then_the_run_passes_and_never_shows_them(
    lab: Lab, report_validator: Any
) -> None:
    url = lab.squid.url(lab.squid.auth_port, credentials=True)
    run = doctor(lab, env={"HTTPS_PROXY": url})

    assert_healthy(run, report_validator)
    assert squid.PASSWORD not in run.stdout + run.stderr
    assert run.check("proxy")["facts"]["credentials_sent"] is True


# --- the proxy's own faults ----------------------------------------------------------------------


def test_given_a_proxy_that_wants_credentials_then_407_names_basic_and_how_to_pass_them(
    lab: Lab, report_validator: Any
) -> None:
    run = doctor(lab, "--proxy", lab.squid.url(lab.squid.auth_port))

    finding = assert_this_machine(run, "proxy.auth_required", "proxy", report_validator)
    assert "requires authentication (Basic)" in finding["message"]
    assert "carries no credentials" in finding["message"]
    assert "ERR_CACHE_ACCESS_DENIED" in finding["message"]
    assert "HTTPS_PROXY" in finding["remediation"] and "never prints" in finding["remediation"]
    assert all(c["status"] == "skip" for c in run.report["checks"][2:])
    assert run.check("redirect")["findings"] == []  # no false redirect.http_not_redirected


def test_given_wrong_proxy_credentials_then_407_says_they_were_refused_without_echoing_them(
    lab: Lab, report_validator: Any
) -> None:
    url = f"http://{squid.USER}:not-the-password@127.0.0.1:{lab.squid.auth_port}"
    run = doctor(lab, env={"HTTPS_PROXY": url})

    finding = assert_this_machine(run, "proxy.auth_required", "proxy", report_validator)
    assert "refused the credentials" in finding["message"]
    assert "not-the-password" not in run.stdout + run.stderr


def test_given_a_proxy_whose_policy_refuses_connect_then_403_quotes_its_page(
    lab: Lab, report_validator: Any
) -> None:
    run = doctor(lab, "--proxy", lab.squid.url(lab.squid.deny_port))

    finding = assert_this_machine(run, "proxy.connect_refused", "proxy", report_validator)
    assert "403 Forbidden" in finding["message"]
    assert "ERR_ACCESS_DENIED" in finding["message"]
    assert "page title 'ERROR: The requested URL could not be retrieved'" in finding["message"]


def test_given_a_proxy_that_cannot_reach_the_host_then_its_5xx_is_upstream_failed(
    lab: Lab, report_validator: Any
) -> None:
    url = f"https://{DOWN}:{lab.closed}/scim/v2"
    run = doctor(lab, "--proxy", lab.squid.url(lab.squid.open_port), url=url)

    finding = assert_this_machine(run, "proxy.upstream_failed", "proxy", report_validator)
    assert "503" in finding["message"] and "ERR_CONNECT_FAIL" in finding["message"]


def test_given_a_closed_proxy_port_then_the_proxy_is_unreachable(
    lab: Lab, report_validator: Any
) -> None:
    run = doctor(lab, env={"HTTPS_PROXY": f"http://127.0.0.1:{lab.closed}"})

    finding = assert_this_machine(run, "proxy.unreachable", "proxy", report_validator)
    assert "ECONNREFUSED" in finding["message"]
    assert "HTTPS_PROXY environment variable" in finding["message"]


def test_given_a_proxy_name_that_does_not_resolve_then_the_proxys_dns_is_named(
    lab: Lab, report_validator: Any
) -> None:
    run = doctor(lab, "--proxy", "http://proxy.nowhere.invalid:3128")

    finding = assert_this_machine(run, "proxy.dns_failed", "proxy", report_validator)
    assert "proxy.nowhere.invalid" in finding["message"]


def test_given_a_proxy_that_accepts_and_stays_silent_then_it_times_out(
    lab: Lab, report_validator: Any
) -> None:
    run = doctor(lab, "--proxy", lab.silent.url, "--timeout", "1")

    finding = assert_this_machine(run, "proxy.timeout", "proxy", report_validator)
    assert "did not answer CONNECT" in finding["message"]


def test_given_no_proxy_names_the_host_while_only_the_proxy_reaches_it_then_bypassed(
    lab: Lab, report_validator: Any
) -> None:
    env = {"HTTPS_PROXY": lab.squid.url(lab.squid.open_port), "NO_PROXY": "localhost,.corp.test"}
    run = doctor(lab, env=env)

    finding = assert_this_machine(run, "proxy.bypassed", "proxy", report_validator)
    assert "the NO_PROXY entry '.corp.test'" in finding["message"]


def test_given_an_empty_noproxy_option_then_no_proxy_is_ignored_as_in_curl(
    lab: Lab, report_validator: Any
) -> None:
    env = {"HTTPS_PROXY": lab.squid.url(lab.squid.open_port), "NO_PROXY": ".corp.test"}
    run = doctor(lab, "--noproxy", "", env=env)

    assert_healthy(run, report_validator)


def test_given_a_pac_file_then_it_chooses_squid_for_the_host_and_the_run_passes(
    lab: Lab, report_validator: Any
) -> None:
    pac = lab.tmp / "corp.pac"
    pac.write_text(
        "function FindProxyForURL(url, host) {\n"
        '  if (dnsDomainIs(host, ".corp.test"))\n'
        f'    return "PROXY 127.0.0.1:{lab.squid.open_port}; DIRECT";\n'
        '  return "DIRECT";\n'
        "}\n"
    )
    run = doctor(lab, "--proxy-pac", str(pac))

    assert_healthy(run, report_validator)
    route = run.check("proxy")["facts"]["route"]
    assert route["source"] == f"--proxy-pac {pac}"
    assert route["alternatives"] == ["DIRECT"]


# --- TLS inspection ------------------------------------------------------------------------------


def test_given_tls_inspection_then_the_tunnelled_chain_is_judged_intercepted_not_the_servers(
    lab: Lab, report_validator: Any
) -> None:
    """The handshake runs inside the CONNECT tunnel: the TLS check sees the inspection chain,
    not the demo server that also listens on the proxy's address at the target's port."""
    run = doctor(lab, "--proxy", lab.mitm.url)

    finding = assert_this_machine(run, "tls.intercepted", "tls", report_validator)
    assert finding["message"].startswith("TLS inspection by Zscaler")
    assert "does not trust it either" in finding["message"]
    tls = run.check("tls")["facts"]
    assert tls["via_proxy"] == lab.mitm.url
    assert tls["chain"][0]["issuer"].startswith("CN=Zscaler Intermediate Root CA")
    assert tls["other_store"]["trusts_chain"] is False
    assert lab.mitm.cleartext == []


def test_given_the_inspection_ca_in_the_system_store_then_the_report_says_trust_system_would_do(
    lab: Lab, report_validator: Any
) -> None:
    """--cacert in use; the system store (OpenSSL's default file on Linux) holds the
    inspection CA: the report names the store used and says the other one trusts the chain."""
    run = doctor(lab, "--proxy", lab.mitm.url, env={"SSL_CERT_FILE": str(lab.mitm_root)})

    finding = assert_this_machine(run, "tls.intercepted", "tls", report_validator)
    assert f"trust store used: --cacert {lab.ca}" in finding["message"]
    assert "the system store (truststore" in finding["message"]
    assert "would have trusted it" in finding["message"]
    assert "--trust system" in finding["remediation"]
    assert run.check("tls")["facts"]["other_store"]["trusts_chain"] is True


def test_given_trust_system_with_the_inspection_ca_then_the_run_goes_through_and_says_so(
    lab: Lab, report_validator: Any
) -> None:
    env = {"SSL_CERT_FILE": str(lab.mitm_root)}
    run = doctor(lab, "--proxy", lab.mitm.url, "--trust", "system", cacert=False, env=env)

    assert_valid_report(report_validator, run.report)
    assert_one_verdict(run.report)
    assert run.exit_code == 0, run.stdout
    finding = run.finding("tls.intercepted_trusted")
    assert finding["severity"] == "info" and finding["scope"] == "this_machine"
    assert "the system store (truststore" in run.report["environment"]["trust_store"]
    assert run.check("auth")["status"] == "pass"
    assert run.verdicts["entra"] == "unknown"  # the server's own certificate was not seen


# --- the text report -----------------------------------------------------------------------------

TEXT_CASES = (
    ("auth_port", "proxy.auth_required"),
    ("deny_port", "proxy.connect_refused"),
    ("mitm", "tls.intercepted"),
)


@pytest.mark.parametrize(("proxy", "code"), TEXT_CASES)
def test_given_a_proxy_fault_then_the_text_report_names_the_cause_in_its_first_line(
    lab: Lab, proxy: str, code: str
) -> None:
    url = lab.mitm.url if proxy == "mitm" else lab.squid.url(getattr(lab.squid, proxy))
    run = doctor(lab, "--proxy", url, fmt="text")

    first = run.stdout.splitlines()[0]
    assert f"fail, root cause {code}" in first, first
    assert "server, which itself may be fine" in run.stdout


# --- where the token went ------------------------------------------------------------------------


def _scenarios(lab: Lab) -> list[tuple[str, Sequence[str], dict[str, str], str | None]]:
    """(name, options, environment, url) of every run of this issue's proxy faults."""
    open_proxy = lab.squid.url(lab.squid.open_port)
    return [
        ("healthy --proxy", ["--proxy", open_proxy], {}, None),
        ("healthy https_proxy", [], {"https_proxy": open_proxy}, None),
        ("407", ["--proxy", lab.squid.url(lab.squid.auth_port)], {}, None),
        ("403", ["--proxy", lab.squid.url(lab.squid.deny_port)], {}, None),
        ("upstream", ["--proxy", open_proxy], {}, f"https://{DOWN}:{lab.closed}/scim/v2"),
        ("unreachable", ["--proxy", f"http://127.0.0.1:{lab.closed}"], {}, None),
        ("bypassed", [], {"https_proxy": open_proxy, "no_proxy": ".corp.test"}, None),
        ("intercepted", ["--proxy", lab.mitm.url], {}, None),
    ]


def test_over_every_proxy_fault_the_token_goes_only_to_the_base_urls_host_and_port(
    lab: Lab,
) -> None:
    """Decoy proxies sit in every variable the run must not use (with --proxy, the whole
    environment; with https_proxy, the upper-case HTTPS_PROXY it shadows, as in curl); after
    all the runs, no decoy saw a connection, squid saw the token in no request it could read,
    every CONNECT went to the base URL's host and port, the demo server got the token only over
    TLS, and the inspecting proxy, which no run trusted, read nothing."""
    lab.mitm.cleartext.clear()
    lab.mitm.connects.clear()
    with SilentListener() as decoy:
        for name, options, env, url in _scenarios(lab):
            decoys = {"HTTPS_PROXY": decoy.url}
            if "--proxy" in options:
                decoys.update(ALL_PROXY=decoy.url, HTTP_PROXY=decoy.url)
            before = len(lab.server.received)
            doctor(lab, *options, env={**decoys, **env}, url=url)
            for request in lab.server.received[before:]:
                bearer = request.header("authorization") or ""
                assert request.scheme == "https" or TOKEN not in bearer, name
        assert decoy.connections == 0 and decoy.received == b""
    log = lab.squid.access_log
    assert TOKEN not in log
    targets = {line.split()[4] for line in log.splitlines() if " CONNECT " in line}
    assert targets <= {f"{HOST}:{lab.server.port}", f"{DOWN}:{lab.closed}"}, targets
    assert all(TOKEN.encode() not in piece for piece in lab.mitm.cleartext)
    assert set(lab.mitm.connects) == {f"{HOST}:{lab.server.port}"}


def test_given_a_407_on_the_plain_http_probe_then_it_is_the_proxys_answer_not_the_servers(
    lab: Lab, report_validator: Any
) -> None:
    """HTTP_PROXY is a proxy that wants credentials, https goes direct (pinned): the plain-HTTP
    probe's 407 is the proxy's, so no redirect.http_not_redirected is made of it."""
    env = {"HTTP_PROXY": lab.squid.url(lab.squid.auth_port)}
    run = doctor(lab, "--resolve", lab.server.resolve_pin, "--reach", "private", env=env)

    assert_healthy(run, report_validator)
    plain = run.check("redirect")["facts"]["plain_http"]
    assert plain["result"] == "proxy_answered"
    assert "407" in plain["note"] and "Basic" in plain["note"]


class NotAProxy(LoopbackListener):
    """Something else listening where the proxy setting points: it answers in SSH."""

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(2.0)
            with contextlib.suppress(OSError):
                conn.recv(4096)
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")


def test_given_a_proxy_address_where_something_else_answers_then_it_is_not_a_proxy(
    lab: Lab, report_validator: Any
) -> None:
    with NotAProxy() as other:
        run = doctor(lab, env={"HTTPS_PROXY": other.url})

    finding = assert_this_machine(run, "proxy.not_a_proxy", "proxy", report_validator)
    assert "does not work as an HTTP proxy" in finding["message"]
    assert f"to CONNECT {HOST}:" in finding["message"]


def test_given_a_proxy_variable_that_is_no_url_then_the_setting_is_named(
    lab: Lab, report_validator: Any
) -> None:
    run = doctor(lab, env={"HTTPS_PROXY": "http://[::1"})

    finding = assert_this_machine(run, "proxy.setting_invalid", "proxy", report_validator)
    assert "the proxy setting cannot be used" in finding["message"]
