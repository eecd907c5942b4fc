"""Which proxy a connection takes: NO_PROXY and --noproxy as curl reads them, the environment's
variables and their precedence, PAC answers, and the proxy check's reading of a 407 that asks for
NTLM or Negotiate (a scripted proxy on loopback; squid's Basic is in test_company_proxy)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from scim_doctor.checks import proxy as proxy_check
from scim_doctor.core.model import Scope
from scim_doctor.net.context import Options, ProbeContext
from scim_doctor.net.failures import ProxyConfigError
from scim_doctor.net.pac import load_pac
from scim_doctor.net.proxy import ProxyRules, no_proxy_match, parse_proxy
from scim_doctor.net.target import parse_base_url
from scim_doctor.net.trust import load_trust
from scim_doctor.net.tunnel import ProxyAnswer
from tests.support.scripted_server import Reply, ScriptedServer


@pytest.mark.parametrize(
    ("entries", "host", "port", "matched"),
    [
        ("corp.com", "corp.com", 443, "corp.com"),
        ("corp.com", "scim.corp.com", 443, "corp.com"),
        (".corp.com", "scim.corp.com", 443, ".corp.com"),
        (".corp.com", "corp.com", 443, ".corp.com"),
        ("corp.com", "notcorp.com", 443, None),
        ("*", "anything.example", 443, "*"),
        ("a.test, b.test", "x.b.test", 443, "b.test"),
        ("corp.com:8443", "scim.corp.com", 443, None),
        ("corp.com:8443", "scim.corp.com", 8443, "corp.com:8443"),
        ("10.0.0.0/8", "10.1.2.3", 443, "10.0.0.0/8"),
        ("10.0.0.0/8", "11.1.2.3", 443, None),
        ("127.0.0.1", "127.0.0.1", 443, "127.0.0.1"),
        ("127.0.0.1", "127.0.0.10", 443, None),
        ("::1", "[::1]", 443, "::1"),
        ("[::1]:443", "::1", 443, "[::1]:443"),
        ("SCIM.Corp.Com", "scim.corp.com.", 443, "SCIM.Corp.Com"),
        ("", "scim.corp.com", 443, None),
    ],
)
def test_no_proxy_entries_match_as_curl_reads_them(entries, host, port, matched) -> None:
    assert no_proxy_match(entries, host, port) == matched


def test_lower_case_variables_win_and_the_https_one_serves_https_urls() -> None:
    rules = ProxyRules(
        environ={
            "https_proxy": "http://lower:3128",
            "HTTPS_PROXY": "http://upper:3128",
            "ALL_PROXY": "http://all:3128",
        }
    )

    https = rules.route("https://scim.example.com/scim/v2")
    plain = rules.route("http://scim.example.com/scim/v2")

    assert https.proxy is not None and https.proxy.host == "lower"
    assert https.source == "the https_proxy environment variable"
    assert plain.proxy is not None and plain.proxy.host == "all"


def test_no_proxy_applies_to_the_proxy_option_and_names_its_entry() -> None:
    rules = ProxyRules(proxy="http://proxy:3128", environ={"NO_PROXY": "localhost,.example.com"})

    route = rules.route("https://scim.example.com/scim/v2")

    assert route.proxy is None
    assert route.bypass == "the NO_PROXY entry '.example.com'"
    assert route.bypassed is not None and route.bypassed.host == "proxy"


def test_the_noproxy_option_replaces_no_proxy_even_when_empty() -> None:
    rules = ProxyRules(noproxy="", environ={"HTTPS_PROXY": "proxy:3128", "NO_PROXY": "*"})

    route = rules.route("https://scim.example.com/scim/v2")

    assert route.proxy is not None and route.proxy.url == "http://proxy:3128"


def test_no_setting_at_all_is_direct_and_says_so() -> None:
    route = ProxyRules(environ={}).route("https://scim.example.com/scim/v2")

    assert route.proxy is None and route.bypass is None
    assert route.source == "no proxy is configured"


def test_a_proxy_url_carries_its_credentials_to_the_proxy_only_and_shows_them_redacted() -> None:
    proxy = parse_proxy("http://user%40corp:p%3Ass@proxy:3128", "--proxy")

    assert proxy.authorization() == "Basic dXNlckBjb3JwOnA6c3M="  # user@corp:p:ss
    assert "p%3Ass" not in proxy.shown and "user" not in proxy.shown


@pytest.mark.parametrize("raw", ["http://:3128", "ftp://proxy:21", "http://proxy:99999"])
def test_an_unusable_proxy_url_is_refused_with_its_source(raw: str) -> None:
    with pytest.raises(ProxyConfigError, match="from HTTPS_PROXY"):
        parse_proxy(raw, "HTTPS_PROXY")


def test_a_pac_file_chooses_per_host_and_keeps_its_fallbacks(tmp_path: Path) -> None:
    pac = tmp_path / "wpad.dat"
    pac.write_text(
        "function FindProxyForURL(url, host) {\n"
        '  if (shExpMatch(host, "*.corp.test")) return "PROXY proxy.corp.test:8080; DIRECT";\n'
        '  return "DIRECT";\n'
        "}\n"
    )
    loaded = load_pac(str(pac))
    rules = ProxyRules(pac=loaded.lookup, pac_source=loaded.source, environ={})

    inside = rules.route("https://scim.corp.test/scim/v2")
    outside = rules.route("https://scim.example.com/scim/v2")

    assert inside.proxy is not None and inside.proxy.url == "http://proxy.corp.test:8080"
    assert inside.alternatives == ("DIRECT",)
    assert inside.source == f"--proxy-pac {pac}"
    assert outside.proxy is None and outside.bypass == f"the answer DIRECT of --proxy-pac {pac}"


def test_a_pac_file_without_find_proxy_for_url_is_refused(tmp_path: Path) -> None:
    pac = tmp_path / "broken.pac"
    pac.write_text("var x = ;")

    with pytest.raises(ProxyConfigError, match="not a usable PAC file"):
        load_pac(str(pac))


def test_a_missing_pac_file_is_refused() -> None:
    with pytest.raises(ProxyConfigError, match="cannot be read"):
        load_pac("/nonexistent/proxy.pac")


def test_proxy_answers_list_every_challenge_scheme_and_the_error_page_title() -> None:
    answer = ProxyAnswer(
        407,
        "Proxy Authentication Required",
        (
            ("Proxy-Authenticate", "Negotiate"),
            ("Proxy-Authenticate", 'NTLM, Basic realm="corp, inc"'),
        ),
        b"<html><head><title>Access &amp; Denied</title></head></html>",
    )

    assert answer.auth_schemes == ["Negotiate", "NTLM", "Basic"]
    assert answer.title == "Access & Denied"


def _context(url: str, proxy: str) -> ProbeContext:
    return ProbeContext(
        target=parse_base_url(url),
        options=Options(timeout=2.0, proxy=proxy),
        token=None,
        trust=load_trust(),
        deadline_at=time.monotonic() + 30,
    )


def test_a_proxy_asking_only_for_ntlm_or_negotiate_gets_a_local_forwarder_as_the_fix() -> None:
    with ScriptedServer() as proxy:
        proxy.default(
            Reply(
                407,
                [("Proxy-Authenticate", "Negotiate"), ("Proxy-Authenticate", "NTLM")],
                b"<title>Authentication required</title>",
            )
        )
        ctx = _context("https://scim.corp.test/scim/v2", proxy.url())
        outcome = asyncio.run(proxy_check.run(ctx))

    [finding] = outcome.findings
    assert finding.code == "proxy.auth_required" and finding.scope is Scope.THIS_MACHINE
    assert "requires authentication (Negotiate/NTLM)" in finding.message
    assert "Px or Cntlm" in finding.remediation
    assert outcome.facts["answer"]["auth_schemes"] == ["Negotiate", "NTLM"]
    assert [r.method for r in proxy.requests] == ["CONNECT"]
    assert "authorization" not in proxy.requests[0].headers
