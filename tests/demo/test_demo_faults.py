"""Each demo fault really breaks its layer: the served certificate, protocol or socket is wrong.

The handshakes here are plain `ssl`, not the doctor: these tests prove the demo presents the
intended misbehaviour, whatever the doctor later concludes from it.
"""

from __future__ import annotations

import _ssl
import datetime as dt
import socket
import ssl
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from scim_doctor.demo.faults import AIA_URL
from scim_doctor.demo.server import DemoServer
from tests.demo.conftest import TOKEN, trusting_context

DEMO_CA = "scim-doctor demo CA"

# OpenSSL verification codes (x509_vfy.h) the doctor maps to findings.
CERT_NOT_YET_VALID = 9
CERT_HAS_EXPIRED = 10
DEPTH_ZERO_SELF_SIGNED = 18
UNABLE_TO_GET_ISSUER_LOCALLY = 20
HOSTNAME_MISMATCH = 62


@dataclass(frozen=True)
class Handshake:
    chain: list[x509.Certificate]
    """As served, leaf first."""
    version: str

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]


def _permissive_context() -> ssl.SSLContext:
    """Accepts anything (old protocols, weak keys) so the served certificate can be inspected."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0 on purpose
        context.minimum_version = ssl.TLSVersion.TLSv1
    return context


def _served_chain(tls: ssl.SSLSocket) -> list[x509.Certificate]:
    """Every certificate the server sent, verified or not (public API from Python 3.13)."""
    unverified = getattr(tls, "get_unverified_chain", None)
    if unverified is None:
        unverified = cast(Any, tls)._sslobj.get_unverified_chain
    return [
        x509.load_der_x509_certificate(
            item if isinstance(item, bytes) else item.public_bytes(_ssl.ENCODING_DER)
        )
        for item in unverified()
    ]


def handshake(server: DemoServer, context: ssl.SSLContext | None = None) -> Handshake:
    """Connect like the doctor does with --resolve: to the bind address, SNI = the hostname."""
    with socket.create_connection((server.bind, server.port), timeout=2) as raw:
        wrapped = (context or _permissive_context()).wrap_socket(
            raw, server_hostname=server.hostname
        )
        with wrapped as tls:
            return Handshake(_served_chain(tls), tls.version() or "")


def verification_error(server: DemoServer) -> ssl.SSLCertVerificationError:
    """The error a client trusting only `ca_pem` gets; fails the test if the handshake works."""
    with pytest.raises(ssl.SSLCertVerificationError) as raised:
        handshake(server, trusting_context(server))
    return raised.value


@pytest.fixture
def faulty(request: pytest.FixtureRequest) -> Iterator[DemoServer]:
    with DemoServer(TOKEN, fault=request.param) as server:
        yield server


def _cn(name: x509.Name) -> str:
    return str(name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def test_healthy_server_passes_verification_for_the_hostname_over_tls_1_2_or_newer() -> None:
    with DemoServer(TOKEN) as server:
        served = handshake(server, trusting_context(server))

    assert served.version in ("TLSv1.2", "TLSv1.3")
    assert _cn(served.leaf.issuer) == DEMO_CA
    names = served.leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "demo.scim-doctor.test" in names.get_values_for_type(x509.DNSName)
    assert "localhost" in names.get_values_for_type(x509.DNSName)


@pytest.mark.parametrize("faulty", ["expired_cert"], indirect=True)
def test_expired_cert_fault_serves_a_certificate_past_its_not_after(faulty: DemoServer) -> None:
    leaf = handshake(faulty).leaf

    assert leaf.not_valid_after_utc < _now()
    assert verification_error(faulty).verify_code == CERT_HAS_EXPIRED


@pytest.mark.parametrize("faulty", ["not_yet_valid_cert"], indirect=True)
def test_not_yet_valid_fault_serves_a_certificate_from_the_future(faulty: DemoServer) -> None:
    leaf = handshake(faulty).leaf

    assert leaf.not_valid_before_utc > _now()
    assert verification_error(faulty).verify_code == CERT_NOT_YET_VALID


@pytest.mark.parametrize("faulty", ["wrong_host_cert"], indirect=True)
def test_wrong_host_fault_serves_a_trusted_certificate_for_other_names(faulty: DemoServer) -> None:
    leaf = handshake(faulty).leaf

    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert faulty.hostname not in names.get_values_for_type(x509.DNSName)
    assert _cn(leaf.issuer) == DEMO_CA
    assert verification_error(faulty).verify_code == HOSTNAME_MISMATCH


@pytest.mark.parametrize("faulty", ["self_signed_cert"], indirect=True)
def test_self_signed_fault_serves_a_certificate_issued_by_itself(faulty: DemoServer) -> None:
    leaf = handshake(faulty).leaf

    assert leaf.issuer == leaf.subject
    assert verification_error(faulty).verify_code == DEPTH_ZERO_SELF_SIGNED


@pytest.mark.parametrize("faulty", ["unknown_ca_cert"], indirect=True)
def test_unknown_ca_fault_serves_a_certificate_from_a_ca_the_client_lacks(
    faulty: DemoServer,
) -> None:
    leaf = handshake(faulty).leaf

    assert _cn(leaf.issuer) != DEMO_CA
    assert leaf.issuer != leaf.subject
    assert verification_error(faulty).verify_code == UNABLE_TO_GET_ISSUER_LOCALLY


@pytest.mark.parametrize("faulty", ["intercepting_proxy"], indirect=True)
def test_intercepting_proxy_fault_serves_a_zscaler_chain(faulty: DemoServer) -> None:
    chain = handshake(faulty).chain

    assert len(chain) == 2
    assert _cn(chain[0].issuer) == "Zscaler Intermediate Root CA"
    organization = chain[1].subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    assert organization[0].value == "Zscaler Inc."
    assert verification_error(faulty).verify_code == UNABLE_TO_GET_ISSUER_LOCALLY


@pytest.mark.parametrize("faulty", ["incomplete_chain"], indirect=True)
def test_incomplete_chain_fault_sends_the_leaf_without_its_intermediate(
    faulty: DemoServer,
) -> None:
    chain = handshake(faulty).chain

    assert len(chain) == 1
    assert _cn(chain[0].issuer) != DEMO_CA
    aia = chain[0].extensions.get_extension_for_class(x509.AuthorityInformationAccess)
    assert [d.access_location.value for d in aia.value] == [AIA_URL]
    assert verification_error(faulty).verify_code == UNABLE_TO_GET_ISSUER_LOCALLY


@pytest.mark.parametrize("faulty", ["tls10_only"], indirect=True)
def test_tls10_only_fault_negotiates_tls_1_0_and_refuses_tls_1_2(faulty: DemoServer) -> None:
    assert handshake(faulty).version == "TLSv1"
    with pytest.raises(ssl.SSLError):
        handshake(faulty, trusting_context(faulty))


@pytest.mark.parametrize("faulty", ["weak_key"], indirect=True)
def test_weak_key_fault_serves_a_trusted_rsa_1024_certificate(faulty: DemoServer) -> None:
    leaf = handshake(faulty).leaf

    public_key = leaf.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert public_key.key_size == 1024
    assert _cn(leaf.issuer) == DEMO_CA


@pytest.mark.parametrize("faulty", ["expires_soon"], indirect=True)
def test_expires_soon_fault_serves_a_valid_certificate_ending_in_five_days(
    faulty: DemoServer,
) -> None:
    served = handshake(faulty, trusting_context(faulty))

    remaining = served.leaf.not_valid_after_utc - _now()
    assert dt.timedelta(days=4) < remaining <= dt.timedelta(days=5)


def test_closed_port_fault_refuses_connections() -> None:
    with DemoServer(TOKEN, fault="closed_port") as server:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((server.bind, server.port), timeout=1).close()


def test_silent_fault_accepts_tcp_but_the_handshake_times_out() -> None:
    with DemoServer(TOKEN, fault="silent") as server:
        with socket.create_connection((server.bind, server.port), timeout=0.3) as raw:
            context = trusting_context(server)
            with pytest.raises(TimeoutError):
                context.wrap_socket(raw, server_hostname=server.hostname)


def test_plain_http_fault_answers_a_client_hello_with_http() -> None:
    with DemoServer(TOKEN, fault="plain_http") as server:
        with socket.create_connection((server.bind, server.port), timeout=2) as raw:
            raw.sendall(b"GET /scim/v2/Users HTTP/1.1\r\nHost: demo\r\n\r\n")
            answer = raw.recv(4096)
        with pytest.raises(ssl.SSLError):
            handshake(server, trusting_context(server))

    assert answer.startswith(b"HTTP/1.1 400")


def test_socket_faults_still_offer_the_plain_http_listener() -> None:
    with DemoServer(TOKEN, fault="silent", http_listener=True) as server:
        assert server.http_port is not None
        with socket.create_connection((server.bind, server.http_port), timeout=2) as raw:
            raw.sendall(b"GET /scim/v2/Users HTTP/1.1\r\nHost: demo\r\n\r\n")
            answer = raw.recv(4096)

    assert answer.startswith(b"HTTP/1.1 308")
    assert f"Location: {server.base_url}/Users\r\n".encode() in answer
