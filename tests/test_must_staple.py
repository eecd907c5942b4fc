"""OCSP must-staple end to end (issue 20, part 2): the CLI in a subprocess against a certificate
carrying the TLS Feature extension (status_request, RFC 7633), served by real nginx with and
without a stapled OCSP response (built with cryptography's OCSPResponseBuilder and given to
nginx as `ssl_stapling_file`), by the demo server (Python's ssl never staples), and by a TLS
1.3-only server, where stapling cannot be seen from a TLS 1.2 ClientHello.

Each test: Given the server, When `scim-doctor check` runs, Then the JSON names
tls.must_staple_not_stapled (or not), with severity, check, provider verdicts and exit code.
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from scim_doctor.checks.tls_stapling import Flight, client_hello, read_flight
from scim_doctor.demo.fault_kit import Certificates, Fault
from scim_doctor.demo.pki import CertificateAuthority, Issued
from scim_doctor.demo.server import DemoServer
from tests.conftest import assert_one_verdict
from tests.support import components
from tests.support.nginx import Route, nginx, nginx_binary
from tests.test_client_certs import TOKEN, Run, check

HOST = "demo.scim-doctor.test"


def _ocsp_response(issued: Issued, ca: CertificateAuthority) -> bytes:
    """A signed 'good' OCSP response for the leaf, by the CA itself, valid for a week."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    response = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=issued.cert,
            issuer=ca.cert,
            algorithm=hashes.SHA256(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=now - dt.timedelta(hours=1),
            next_update=now + dt.timedelta(days=7),
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, ca.cert)
        .sign(ca.key, hashes.SHA256())
    )
    return response.public_bytes(serialization.Encoding.DER)


@pytest.fixture
def backend() -> Iterator[DemoServer]:
    with DemoServer(TOKEN) as server:
        yield server


def _through_nginx(backend: DemoServer, tmp_path: Path, *, staple: bool) -> Run:
    if nginx_binary() is None:
        components.missing("nginx is not installed (Debian package nginx)")
    ca = backend._ca
    issued = ca.issue([HOST], must_staple=True)
    directives = ""
    files: dict[str, bytes] = {}
    if staple:
        files = {"ocsp.der": _ocsp_response(issued, ca), "ca.pem": ca.cert_pem}
        directives = (
            "        ssl_stapling on;\n"
            f"        ssl_stapling_file {tmp_path}/nginx/conf/ocsp.der;\n"
            f"        ssl_trusted_certificate {tmp_path}/nginx/conf/ca.pem;\n"
        )
    route = Route("/", f"https://127.0.0.1:{backend.port}")
    with nginx(
        tmp_path / "nginx", HOST, issued, [route], tls_directives=directives, files=files
    ) as front:
        url = f"https://{HOST}:{front.port}/scim/v2"
        return check(backend, tmp_path, base_url=url, resolve=f"{HOST}:{front.port}:127.0.0.1")


def test_nginx_stapling_a_response_for_a_must_staple_certificate_gets_no_finding(
    backend: DemoServer, tmp_path: Path
) -> None:
    run = _through_nginx(backend, tmp_path, staple=True)
    tls = run.check("tls")
    assert tls["facts"]["ocsp_stapled"] is True
    assert tls["facts"]["chain"][0]["must_staple"] is True
    assert tls["status"] == "pass", tls
    assert "tls.must_staple_not_stapled" not in run.findings()
    assert "will_fail" not in run.verdicts().values()
    assert_one_verdict(run.report)
    assert run.code == 0


def test_nginx_without_stapling_for_a_must_staple_certificate_is_a_warning(
    backend: DemoServer, tmp_path: Path
) -> None:
    run = _through_nginx(backend, tmp_path, staple=False)
    assert run.findings()["tls.must_staple_not_stapled"] == ("warn", "tls")
    assert run.check("tls")["facts"]["ocsp_stapled"] is False
    message = run.check("tls")["findings"][0]["message"]
    assert f"the certificate '{HOST}' carries the TLS Feature extension" in message
    assert "Firefox refuses" in message
    assert "will_fail" not in run.verdicts().values()
    assert_one_verdict(run.report)
    assert run.code == 0


def test_the_demo_fault_must_staple_not_stapled_is_a_warning_no_provider_fails_on(
    tmp_path: Path,
) -> None:
    with DemoServer(TOKEN, fault="must_staple_not_stapled") as server:
        run = check(server, tmp_path)
    assert run.findings() == {"tls.must_staple_not_stapled": ("warn", "tls")}
    assert "will_fail" not in run.verdicts().values()
    assert run.verdicts()["entra"] == "will_work"
    assert_one_verdict(run.report)
    assert run.code == 0


def _tls13_only(certs: Certificates) -> ssl.SSLContext:
    issued = certs.ca.issue(certs.names, must_staple=True)
    return issued.server_context(minimum=ssl.TLSVersion.TLSv1_3)


def test_a_tls13_only_server_says_stapling_could_not_be_seen_and_finds_nothing(
    tmp_path: Path,
) -> None:
    fault = Fault("must_staple_tls13_only", "TLS 1.3 only, must-staple", "tls", (), tls=_tls13_only)
    with DemoServer(TOKEN, fault=fault) as server:
        run = check(server, tmp_path)
    facts = run.check("tls")["facts"]
    assert facts["ocsp_stapled"] is None
    assert "cannot read" in facts["ocsp_stapling_unseen"]
    assert "tls.must_staple_not_stapled" not in run.findings()
    assert run.code == 0


def _record(kind: int, payload: bytes) -> bytes:
    return bytes([kind, 3, 3]) + len(payload).to_bytes(2, "big") + payload


def _message(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


def test_the_flight_reader_finds_certificate_status_across_records() -> None:
    """Given ServerHello (echoing status_request), Certificate, CertificateStatus and
    ServerHelloDone split over records at odd places, Then it is a stapled TLS 1.2 flight;
    without the ServerHelloDone it waits for more."""
    extensions = b"\x00\x05\x00\x00"
    hello = b"\x03\x03" + b"\x01" * 32 + b"\x00" + b"\xc0\x2f" + b"\x00"
    hello += len(extensions).to_bytes(2, "big") + extensions
    stream = _message(2, hello) + _message(11, b"\x00" * 40) + _message(22, b"\x01" + b"\x00" * 9)
    stream += _message(14, b"")
    records = _record(22, stream[:30]) + _record(22, stream[30:])
    assert read_flight(records) == Flight(tls12=True, stapled=True, acknowledged=True)
    assert read_flight(records[:-3]) is None
    unstapled = _message(2, hello) + _message(11, b"\x00" * 40) + _message(14, b"")
    assert read_flight(_record(22, unstapled)).stapled is False  # type: ignore[union-attr]
    assert read_flight(_record(21, b"\x02\x46")) == Flight(False, False, False)


def test_the_client_hello_offers_status_request_and_names_the_host() -> None:
    hello = client_hello("scim.example.test")
    assert hello[:3] == b"\x16\x03\x01"
    assert b"\x00\x05\x00\x05\x01\x00\x00\x00\x00" in hello
    assert b"scim.example.test" in hello
    assert b"scim.example.test" not in client_hello(None)
