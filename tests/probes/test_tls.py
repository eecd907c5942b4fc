"""The `tls` check against real TLS servers on loopback, one misconfiguration per test.

Certificates come from the demo PKI; the client trusts its root through the real --cacert path
(`load_trust`), exactly as a user run would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import ssl
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from scim_doctor.checks import tls
from scim_doctor.checks.base import Outcome
from scim_doctor.core.model import Scope, Status
from scim_doctor.demo import pki, sockets
from scim_doctor.net import certinfo
from scim_doctor.net.context import Options, ProbeContext
from scim_doctor.net.target import parse_base_url
from scim_doctor.net.trust import Trust, load_trust

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def ca() -> pki.CertificateAuthority:
    return pki.CertificateAuthority("scim-doctor test root", organization="scim-doctor tests")


@pytest.fixture(scope="module")
def cacert(ca: pki.CertificateAuthority, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ca.write_root_pem(tmp_path_factory.mktemp("trust"))


def check(
    port: int,
    cacert: Path,
    *,
    scheme: str = "https",
    host: str = "localhost",
    timeout: float = 3.0,
    insecure: bool = False,
) -> tuple[Outcome, ProbeContext]:
    ctx = ProbeContext(
        target=parse_base_url(f"{scheme}://{host}:{port}/scim/v2"),
        options=Options(timeout=timeout, insecure=insecure),
        token=None,
        trust=load_trust(cacert),
        deadline_at=time.monotonic() + 30,
    )
    ctx.shared.connected_address = "127.0.0.1"
    return asyncio.run(tls.run(ctx)), ctx


def codes(outcome: Outcome) -> list[str]:
    return [finding.code for finding in outcome.findings]


def message(outcome: Outcome, code: str) -> str:
    return next(f.message for f in outcome.findings if f.code == code)


@pytest.fixture
def serve() -> Iterator[object]:
    """Start TLS servers for one test and stop them all afterwards."""
    started: list[sockets.SocketServer] = []

    def start(context: ssl.SSLContext) -> int:
        server = sockets.tls_server(context)
        started.append(server)
        return server.port

    try:
        yield start
    finally:
        for server in started:
            server.stop()


def test_healthy_server_passes_with_protocol_cipher_and_chain_facts(ca, cacert, serve) -> None:
    port = serve(ca.issue(["localhost"]).server_context())

    outcome, ctx = check(port, cacert)

    assert outcome.status is Status.PASS, outcome.findings
    assert outcome.facts["verified"] is True
    assert outcome.facts["protocol"] == "TLSv1.3"
    assert outcome.facts["cipher"]
    assert outcome.facts["alpn"] is None  # the demo server does not negotiate ALPN
    assert outcome.facts["trust_store"] == f"--cacert {cacert}"
    assert outcome.facts["sni"] == "localhost"
    assert [c["names"] for c in outcome.facts["chain"]] == [["localhost"]]
    assert outcome.facts["chain"][0]["issuer"] == "CN=scim-doctor test root,O=scim-doctor tests"
    assert 88 <= outcome.facts["days_to_expiry"] <= 90
    assert ctx.shared.tls["protocol"] == "TLSv1.3"
    assert ctx.shared.tls["chain"] == outcome.facts["chain"]
    assert outcome.timings_ms["tls"] > 0
    assert "TLSv1.3" in outcome.summary
    json.dumps(outcome.facts)  # JSON-compatible


def test_intermediate_served_with_the_leaf_verifies(ca, cacert, serve) -> None:
    issued = ca.intermediate("scim-doctor test issuing CA").issue(["localhost"])
    port = serve(issued.server_context(include_intermediates=True))

    outcome, _ = check(port, cacert)

    assert outcome.status is Status.PASS, outcome.findings
    assert [c["subject"] for c in outcome.facts["chain"]] == [
        "CN=localhost",
        "CN=scim-doctor test issuing CA,O=scim-doctor tests",
    ]


def test_ip_literal_target_is_verified_against_ip_sans_without_sni(ca, cacert, serve) -> None:
    server_names: list[str | None] = []
    context = ca.issue(["localhost", "127.0.0.1"]).server_context()
    context.sni_callback = lambda _obj, name, _ctx: server_names.append(name)
    port = serve(context)

    outcome, _ = check(port, cacert, host="127.0.0.1")

    assert outcome.status is Status.PASS, outcome.findings
    assert outcome.facts["sni"] is None
    assert server_names and set(server_names) == {None}  # the TLS 1.2 handshake sends none either


def test_ip_literal_not_in_the_certificate_is_a_hostname_mismatch(ca, cacert, serve) -> None:
    port = serve(ca.issue(["localhost"]).server_context())

    outcome, _ = check(port, cacert, host="127.0.0.1")

    assert codes(outcome) == ["tls.hostname_mismatch"]
    assert "does not cover 127.0.0.1; it covers: localhost" in message(
        outcome, "tls.hostname_mismatch"
    )


def test_port_closed_since_connect_is_reported_as_no_connection(cacert) -> None:
    port = sockets.closed_port()

    outcome, _ = check(port, cacert)

    assert codes(outcome) == ["tls.handshake_failed"]
    assert f"could not open a new connection to 127.0.0.1:{port}" in message(
        outcome, "tls.handshake_failed"
    )


def test_http_base_url_is_not_https_and_no_handshake_is_tried(cacert) -> None:
    outcome, _ = check(sockets.closed_port(), cacert, scheme="http")

    assert codes(outcome) == ["tls.not_https"]
    assert "http://localhost" in message(outcome, "tls.not_https")


def test_expired_certificate_is_diagnosed_with_its_expiry_date(ca, cacert, serve) -> None:
    expired_on = NOW - 3 * DAY
    issued = ca.issue(["localhost"], not_before=NOW - 90 * DAY, not_after=expired_on)
    port = serve(issued.server_context())

    outcome, _ = check(port, cacert)

    assert codes(outcome) == ["tls.cert_expired"]
    text = message(outcome, "tls.cert_expired")
    assert expired_on.strftime("%Y-%m-%d") in text
    assert "3 days ago" in text
    assert outcome.facts["verified"] is False
    assert outcome.facts["verify_code"] == 10
    assert outcome.facts["chain"][0]["days_left"] < 0


def test_not_yet_valid_certificate_is_diagnosed_with_its_start_date(ca, cacert, serve) -> None:
    starts = NOW + 2 * DAY + dt.timedelta(hours=1)
    issued = ca.issue(["localhost"], not_before=starts, not_after=NOW + 90 * DAY)
    port = serve(issued.server_context())

    outcome, _ = check(port, cacert)

    assert codes(outcome) == ["tls.cert_not_yet_valid"]
    assert starts.strftime("%Y-%m-%d %H:%M") in message(outcome, "tls.cert_not_yet_valid")


def test_wrong_host_certificate_lists_the_names_it_covers(ca, cacert, serve) -> None:
    issued = ca.issue(["scim.example.com", "www.example.com", "192.0.2.7"])
    port = serve(issued.server_context())

    outcome, _ = check(port, cacert)

    assert codes(outcome) == ["tls.hostname_mismatch"]
    text = message(outcome, "tls.hostname_mismatch")
    assert "localhost" in text
    assert "scim.example.com, www.example.com, 192.0.2.7" in text


def test_self_signed_certificate_is_an_untrusted_ca(cacert, serve) -> None:
    port = serve(pki.self_signed(["localhost"]).server_context())

    outcome, _ = check(port, cacert)

    assert codes(outcome) == ["tls.untrusted_ca"]
    assert "self-signed" in message(outcome, "tls.untrusted_ca")
    assert outcome.facts["chain"][0]["self_signed"] is True
    assert outcome.unblocks_dependents is None  # without --insecure, later checks stay blocked


def test_unknown_ca_is_named_as_the_root_the_chain_leads_to(cacert, serve) -> None:
    private = pki.CertificateAuthority("Acme Private Root CA", organization="Acme Corp")
    issued = private.intermediate("Acme Issuing CA 1").issue(["localhost"])
    port = serve(issued.server_context(include_intermediates=True))

    outcome, _ = check(port, cacert)

    assert codes(outcome) == ["tls.untrusted_ca"]
    text = message(outcome, "tls.untrusted_ca")
    assert "'Acme Private Root CA'" in text
    assert "'Acme Issuing CA 1'" in text
    assert f"--cacert {cacert}" in text


def test_private_root_without_intermediate_is_untrusted_not_incomplete(cacert, serve) -> None:
    private = pki.CertificateAuthority("Acme Private Root CA", organization="Acme Corp")
    port = serve(private.issue(["localhost"]).server_context())

    outcome, _ = check(port, cacert)

    assert codes(outcome) == ["tls.untrusted_ca"]
    text = message(outcome, "tls.untrusted_ca")
    assert "issued by 'Acme Private Root CA'" in text
    assert "neither in the trust store" in text


def test_interception_proxy_ca_is_tls_inspected_on_this_machines_path_with_cacert_suggested(
    cacert, serve
) -> None:
    zscaler = pki.CertificateAuthority("Zscaler Root CA", organization="Zscaler Inc.")
    issued = zscaler.intermediate("Zscaler Intermediate Root CA (zscaler.net)").issue(["localhost"])
    port = serve(issued.server_context(include_intermediates=True))

    outcome, _ = check(port, cacert)

    assert codes(outcome) == ["tls.intercepted"]
    finding = outcome.findings[0]
    assert finding.scope is Scope.THIS_MACHINE
    assert finding.message.startswith("TLS inspection by Zscaler on this machine's network")
    assert "identity provider is not behind this proxy" in finding.message
    assert "the server itself may be fine" in finding.message
    assert "the system store (truststore" in finding.message
    assert "does not trust it either" in finding.message
    assert "--cacert <the Zscaler root CA certificate, 'Zscaler Root CA'>" in finding.remediation
    assert "--trust system" in finding.remediation
    assert outcome.facts["other_store"]["trusts_chain"] is False


def test_missing_intermediate_is_an_incomplete_chain_with_its_aia_url(ca, cacert, serve) -> None:
    url = "http://pki.example.test/issuing-ca.crt"
    issued = ca.intermediate("scim-doctor test issuing CA", aia_url=url).issue(["localhost"])
    port = serve(issued.server_context(include_intermediates=False))

    outcome, _ = check(port, cacert)

    assert codes(outcome) == ["tls.incomplete_chain"]
    text = message(outcome, "tls.incomplete_chain")
    assert url in text
    assert "'scim-doctor test issuing CA'" in text
    assert outcome.facts["chain"][0]["aia_ca_issuers"] == [url]


def test_tls_1_0_only_server_is_protocol_too_old(ca, cacert, serve) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSVersion.TLSv1 is deprecated
        context = ca.issue(["localhost"]).server_context(maximum=ssl.TLSVersion.TLSv1)
    port = serve(context)

    outcome, _ = check(port, cacert)

    assert codes(outcome) == ["tls.protocol_too_old"]
    assert "TLSv1 " in message(outcome, "tls.protocol_too_old")
    assert outcome.facts["protocol"] == "TLSv1"


def test_silent_server_is_a_handshake_timeout_within_twice_the_timeout(cacert) -> None:
    with sockets.silent_server() as server:
        started = time.monotonic()
        outcome, _ = check(server.port, cacert, timeout=0.5)
        elapsed = time.monotonic() - started

    assert codes(outcome) == ["tls.handshake_timeout"]
    assert "0.5 s" in message(outcome, "tls.handshake_timeout")
    assert elapsed < 1.0


def test_plain_http_port_is_not_tls_and_quotes_the_status_line(cacert) -> None:
    with sockets.plain_http_server() as server:
        outcome, _ = check(server.port, cacert)

    assert codes(outcome) == ["tls.not_tls"]
    assert "'HTTP/1.1 400 Bad Request'" in message(outcome, "tls.not_tls")
    assert outcome.facts["plain_status_line"] == "HTTP/1.1 400 Bad Request"


def test_required_client_certificate_is_named_with_the_alert_after_certificate_request(
    ca, cacert, serve
) -> None:
    context = ca.issue(["localhost"]).server_context(maximum=ssl.TLSVersion.TLSv1_2)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=ca.cert_pem.decode())
    port = serve(context)

    outcome, _ = check(port, cacert)

    assert codes(outcome) == ["tls.client_cert_required"]
    text = message(outcome, "tls.client_cert_required")
    assert "SSLV3_ALERT_HANDSHAKE_FAILURE after the server's CertificateRequest" in text


def test_certificate_expiring_in_five_days_warns_with_the_date(ca, cacert, serve) -> None:
    expires = NOW + 5 * DAY + dt.timedelta(hours=1)
    port = serve(ca.issue(["localhost"], not_after=expires).server_context())

    outcome, _ = check(port, cacert)

    assert outcome.status is Status.WARN
    assert codes(outcome) == ["tls.cert_expires_soon"]
    text = message(outcome, "tls.cert_expires_soon")
    assert expires.strftime("%Y-%m-%d") in text
    assert "in 5 days" in text


def test_rsa_1024_certificate_is_a_weak_key(ca, cacert, serve) -> None:
    issued = ca.issue(["localhost"], key_type="rsa", key_bits=1024)
    port = serve(issued.server_context())

    outcome, _ = check(port, cacert)

    assert codes(outcome) == ["tls.weak_key"]
    assert "is RSA 1024" in message(outcome, "tls.weak_key")


def _check_with_a_lax_store(ca: pki.CertificateAuthority, port: int) -> Outcome:
    """The tls check through a trust store at OpenSSL security level 0, which accepts what
    the default level refuses (RSA-1024, SHA-1): what is reported then comes from the
    certificate itself."""
    lax = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    lax.set_ciphers("DEFAULT:@SECLEVEL=0")
    lax.load_verify_locations(cadata=ca.cert_pem.decode())
    ctx = ProbeContext(
        target=parse_base_url(f"https://localhost:{port}/scim/v2"),
        options=Options(timeout=3.0),
        token=None,
        trust=Trust(context=lax, description="lax test store"),
        deadline_at=time.monotonic() + 30,
    )
    ctx.shared.connected_address = "127.0.0.1"
    return asyncio.run(tls.run(ctx))


def test_weak_key_is_reported_even_when_a_lax_trust_store_verifies_it(ca, cacert, serve) -> None:
    """An OpenSSL policy below security level 2 accepts RSA-1024; Entra ID does not."""
    issued = ca.issue(["localhost"], key_type="rsa", key_bits=1024)
    port = serve(issued.server_context())
    outcome = _check_with_a_lax_store(ca, port)

    assert outcome.facts["verified"] is True
    assert codes(outcome) == ["tls.weak_key"]
    assert "is RSA 1024" in message(outcome, "tls.weak_key")


def test_a_sha1_leaf_is_reported_even_when_a_lax_trust_store_verifies_it(ca, serve) -> None:
    """Given a SHA-1 leaf and a trust store at OpenSSL security level 0 (which accepts it),
    Then the chain verifies and tls.sha1_signature is still reported, from the certificate."""
    from scim_doctor.demo.fault_kit import Certificates
    from tests.support.sha1_certs import sha1_leaf

    issued = sha1_leaf(Certificates(ca=ca, names=("localhost",)))
    port = serve(issued.server_context())
    outcome = _check_with_a_lax_store(ca, port)

    assert outcome.facts["verified"] is True
    assert codes(outcome) == ["tls.sha1_signature"]
    assert "the certificate 'localhost' is signed with SHA-1" in message(
        outcome, "tls.sha1_signature"
    )


def test_a_sha1_certificate_served_off_the_path_is_not_blamed(ca) -> None:
    """Given a SHA-256 chain plus an unrelated SHA-1 certificate the server also sends (an old
    cross-signature), Then no SHA-1 finding: clients never check that signature."""
    from scim_doctor.checks.tls_chain import _sha1_signed
    from tests.support.sha1_certs import sign_sha1

    leaf = ca.issue(["localhost"])
    stranger = pki.CertificateAuthority("Old Cross Root")
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Old Cross-Signed CA")])
    old = sign_sha1(stranger, pki.new_key(), subject, ca=True)
    assert certinfo.sha1_signature(old) == "ecdsa-with-SHA1"
    assert _sha1_signed([leaf.cert, old]) is None


def test_insecure_lets_later_checks_run_past_a_certificate_problem(cacert, serve) -> None:
    port = serve(pki.self_signed(["localhost"]).server_context())

    outcome, _ = check(port, cacert, insecure=True)

    assert codes(outcome) == ["tls.untrusted_ca"]  # the finding stays
    assert outcome.status is Status.FAIL
    assert outcome.unblocks_dependents is True
    assert "--insecure" in outcome.summary


def test_insecure_does_not_unblock_a_port_that_is_not_tls(cacert) -> None:
    with sockets.plain_http_server() as server:
        outcome, _ = check(server.port, cacert, insecure=True)

    assert codes(outcome) == ["tls.not_tls"]
    assert outcome.unblocks_dependents is None


# --- certinfo: pure functions, no servers -----------------------------------------------------


def test_certinfo_describes_an_ec_leaf(ca) -> None:
    cert = ca.issue(["localhost", "127.0.0.1"]).cert

    facts = certinfo.facts(cert)

    assert facts["subject"] == "CN=localhost"
    assert facts["issuer"] == "CN=scim-doctor test root,O=scim-doctor tests"
    assert facts["names"] == ["localhost", "127.0.0.1"]
    assert facts["key"] == "EC P-256 (256 bits)"
    assert facts["key_bits"] == 256
    assert facts["signature_hash"] == "sha256"
    assert facts["self_signed"] is False
    assert facts["ca"] is False
    assert facts["aia_ca_issuers"] == []
    assert facts["not_after"].endswith("Z")
    assert dt.datetime.fromisoformat(facts["not_after"][:-1]) > NOW.replace(tzinfo=None)
    assert len(facts["sha256"].split(":")) == 32
    json.dumps(facts)


def test_certinfo_flags_rsa_1024_as_weak_and_p256_as_not(ca) -> None:
    weak = ca.issue(["localhost"], key_type="rsa", key_bits=1024).cert
    assert certinfo.key_description(weak) == ("RSA 1024", 1024)
    assert certinfo.key_is_weak(weak) is True
    assert certinfo.key_is_weak(ca.issue(["localhost"]).cert) is False


def test_a_dsa_certificate_is_described_and_flagged_weak_without_naming_deprecated_classes() -> (
    None
):
    """cryptography 51 deprecates its DSA classes: reading a DSA certificate's key must not warn
    (warnings are errors in this suite). The PEM was made once with openssl (DSA 1024, SHA-256)."""
    pem = (Path(__file__).parent / "data" / "dsa-1024-self-signed.pem").read_bytes()
    cert = x509.load_pem_x509_certificate(pem)
    assert certinfo.key_description(cert) == ("DSA 1024", 1024)
    assert certinfo.key_is_weak(cert) is True


def test_certinfo_recognises_self_signed_and_aia(ca) -> None:
    assert certinfo.is_self_signed(pki.self_signed(["localhost"]).cert) is True
    issuing = ca.intermediate("x", aia_url="http://pki.example.test/x.crt")
    assert certinfo.aia_ca_issuers(issuing.issue(["a.test"]).cert) == [
        "http://pki.example.test/x.crt"
    ]


def test_certinfo_days_left_is_negative_once_expired(ca) -> None:
    cert = ca.issue(["a.test"], not_before=NOW - 10 * DAY, not_after=NOW - 2 * DAY).cert
    assert certinfo.days_left(cert) == -2  # whole days ago, as "expired 2 days ago" says


@pytest.mark.parametrize(
    ("root_cn", "org", "product"),
    [
        ("Zscaler Root CA", "Zscaler Inc.", "Zscaler"),
        ("Netskope Root CA", None, "Netskope"),
        ("FortiGate CA", "Fortinet Ltd.", "Fortinet FortiGate"),
        ("Cloudflare for Teams ECC Certificate Authority", "Cloudflare, Inc.", None),
    ],
)
def test_interception_product_matches_the_proxy_ca_names(root_cn, org, product) -> None:
    proxy = pki.CertificateAuthority(root_cn, organization=org)
    issued = proxy.intermediate("Issuing").issue(["scim.example.com"])

    found = certinfo.interception_product([issued.cert, *issued.intermediates])

    assert found == (product or "Cloudflare Gateway (WARP)")


def test_interception_product_ignores_ordinary_cas_and_the_leaf_subject() -> None:
    public_like = pki.CertificateAuthority("Cloudflare Inc ECC CA-3", organization="Cloudflare")
    zscaler_site = public_like.issue(["www.zscaler.com"], common_name="Zscaler")

    assert certinfo.interception_product([zscaler_site.cert]) is None


def _server_hello(version: bytes, suite: int, session_id: bytes = b"\x11" * 32) -> bytes:
    body = version + b"\x00" * 32 + bytes([len(session_id)]) + session_id
    body += suite.to_bytes(2, "big") + b"\x00"  # compression: none
    message = b"\x02" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x03" + len(message).to_bytes(2, "big") + message


def test_the_tls12_probe_reads_the_suite_from_the_server_hello_alone() -> None:
    # Pure parsing (the probe itself is tried against real servers in test_idp.py): the
    # ServerHello names the suite; an alert, another version or a cut record name none.
    server_hello_suite = tls.server_hello_suite
    assert server_hello_suite(_server_hello(b"\x03\x03", 0xC02F)) == 0xC02F
    assert server_hello_suite(_server_hello(b"\x03\x03", 0xCCA9, session_id=b"")) == 0xCCA9
    assert server_hello_suite(_server_hello(b"\x03\x02", 0xC02F)) is None  # TLS 1.1
    assert server_hello_suite(b"\x15\x03\x03\x00\x02\x02\x46") is None  # protocol_version alert
    assert server_hello_suite(_server_hello(b"\x03\x03", 0xC02F)[:44]) is None
    assert server_hello_suite(b"") is None
