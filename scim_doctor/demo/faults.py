"""The demo server's catalogue of named misbehaviours.

Each fault breaks exactly one layer the way endpoints break in the field, and names the finding
codes the doctor must report for it, so `scim-doctor demo --fault X` and the tests agree on what
a correct diagnosis is. Transport faults (certificates, sockets) are declared here; HTTP-layer
faults live with their probe family in demo/http_faults/. The building blocks are in fault_kit.
"""

from __future__ import annotations

import datetime as dt
import ssl
import weakref
from collections.abc import Mapping
from types import MappingProxyType

from scim_doctor.demo import sockets
from scim_doctor.demo.fault_kit import (
    Certificates,
    Fault,
    Layer,
    SocketSetup,
    TlsSetup,
    healthy_tls,
    map_response,
    on_route,
)
from scim_doctor.demo.http_faults import HTTP_FAULTS
from scim_doctor.demo.pki import CertificateAuthority, Issued, self_signed

__all__ = [
    "AIA_URL",
    "FAULTS",
    "Certificates",
    "Fault",
    "Layer",
    "SocketSetup",
    "TlsSetup",
    "get",
    "healthy_tls",
    "map_response",
    "on_route",
]

AIA_URL = "http://pki.demo.scim-doctor.test/issuing-ca.cer"
"""Where the incomplete chain's leaf says its issuer lives (`.test` never resolves)."""


def _days(days: int) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(days=days)


def _expired(certs: Certificates) -> ssl.SSLContext:
    issued = certs.ca.issue(certs.names, not_before=_days(-120), not_after=_days(-30))
    return issued.server_context()


def _not_yet_valid(certs: Certificates) -> ssl.SSLContext:
    issued = certs.ca.issue(certs.names, not_before=_days(30), not_after=_days(120))
    return issued.server_context()


def _wrong_host(certs: Certificates) -> ssl.SSLContext:
    return certs.ca.issue(["intranet.example.net", "www.example.net"]).server_context()


def _self_signed(certs: Certificates) -> ssl.SSLContext:
    return self_signed(certs.names).server_context()


def _unknown_ca(certs: Certificates) -> ssl.SSLContext:
    stranger = CertificateAuthority("Internal Issuing CA 2", organization="Example Corp IT")
    return stranger.issue(certs.names).server_context()


def _intercepting_proxy(certs: Certificates) -> ssl.SSLContext:
    root = CertificateAuthority("Zscaler Root CA", organization="Zscaler Inc.")
    inspector = root.intermediate("Zscaler Intermediate Root CA")
    return inspector.issue(certs.names).server_context()


def _incomplete_chain(certs: Certificates) -> ssl.SSLContext:
    issuing = certs.ca.intermediate("scim-doctor demo Issuing CA", aia_url=AIA_URL)
    return issuing.issue(certs.names).server_context(include_intermediates=False)


def _tls10_only(certs: Certificates) -> ssl.SSLContext:
    return certs.ca.issue(certs.names).server_context(maximum=ssl.TLSVersion.TLSv1)


def _weak_key(certs: Certificates) -> ssl.SSLContext:
    return certs.ca.issue(certs.names, key_type="rsa", key_bits=1024).server_context()


def _expires_soon(certs: Certificates) -> ssl.SSLContext:
    return certs.ca.issue(certs.names, not_after=_days(5)).server_context()


def _closed_port(bind: str) -> int:
    return sockets.closed_port(bind)


def _client_cert_required(certs: Certificates) -> ssl.SSLContext:
    return certs.ca.require_client_certs(healthy_tls(certs))


def _client_cert_required_tls12(certs: Certificates) -> ssl.SSLContext:
    context = certs.ca.issue(certs.names).server_context(maximum=ssl.TLSVersion.TLSv1_2)
    return certs.ca.require_client_certs(context)


def _cn_only(certs: Certificates) -> ssl.SSLContext:
    return certs.ca.issue(certs.names, subject_alt_name=False).server_context()


def _must_staple(certs: Certificates) -> ssl.SSLContext:
    """Python's ssl server never staples an OCSP response."""
    return certs.ca.issue(certs.names, must_staple=True).server_context()


def _deep_wildcard(certs: Certificates) -> ssl.SSLContext:
    """A wildcard one level above the host's parent: *.example.test for a.b.example.test."""
    host = certs.names[0]
    parent = host.split(".", 2)[-1]
    return certs.ca.issue([f"*.{parent}"]).server_context()


def _intermediate_dated(not_before: int, not_after: int) -> TlsSetup:
    def build(certs: Certificates) -> ssl.SSLContext:
        validity = (_days(not_before), _days(not_after))
        issuing = certs.ca.intermediate("scim-doctor demo Issuing CA", validity=validity)
        return issuing.issue(certs.names).server_context()

    return build


def _renewed(certs: Certificates) -> ssl.SSLContext:
    """A valid certificate for the same names, but another one (a renewal on this node only)."""
    return certs.ca.issue(certs.names, not_after=_days(365)).server_context()


_ONE_CERTIFICATE: weakref.WeakKeyDictionary[CertificateAuthority, Issued] = (
    weakref.WeakKeyDictionary()
)
"""One certificate per CA for the faults whose two nodes differ in protocol only."""


def _same_certificate(certs: Certificates) -> Issued:
    issued = _ONE_CERTIFICATE.get(certs.ca)
    if issued is None:
        issued = _ONE_CERTIFICATE[certs.ca] = certs.ca.issue(certs.names)
    return issued


def _tls13_node(certs: Certificates) -> ssl.SSLContext:
    """The first node of node_tls12_only: TLS 1.2 and 1.3, the certificate the second serves."""
    return _same_certificate(certs).server_context(minimum=ssl.TLSVersion.TLSv1_2)


def _tls12_node(certs: Certificates) -> ssl.SSLContext:
    """The same certificate, TLS 1.2 at most (a node whose TLS settings were not updated)."""
    return _same_certificate(certs).server_context(maximum=ssl.TLSVersion.TLSv1_2)


def _silent(bind: str) -> sockets.SocketServer:
    return sockets.silent_server(bind)


def _plain_http(bind: str) -> sockets.SocketServer:
    return sockets.plain_http_server(bind)


_CATALOGUE = (
    Fault(
        "expired_cert",
        "The certificate expired 30 days ago.",
        "tls",
        ("tls.cert_expired",),
        tls=_expired,
    ),
    Fault(
        "not_yet_valid_cert",
        "The certificate only becomes valid in 30 days (clock skew or a premature deploy).",
        "tls",
        ("tls.cert_not_yet_valid",),
        tls=_not_yet_valid,
    ),
    Fault(
        "wrong_host_cert",
        "The certificate is for intranet.example.net, not the host the client asked for.",
        "tls",
        ("tls.hostname_mismatch",),
        tls=_wrong_host,
    ),
    Fault(
        "self_signed_cert",
        "The server presents a self-signed certificate.",
        "tls",
        ("tls.untrusted_ca",),
        tls=_self_signed,
    ),
    Fault(
        "unknown_ca_cert",
        "The certificate is issued by a private CA the client was not given.",
        "tls",
        ("tls.untrusted_ca",),
        tls=_unknown_ca,
    ),
    Fault(
        "intercepting_proxy",
        "A TLS-inspection proxy (Zscaler) re-signs the connection with its own CA.",
        "tls",
        ("tls.intercepted",),
        tls=_intercepting_proxy,
    ),
    Fault(
        "incomplete_chain",
        "The server sends its certificate without the intermediate that issued it.",
        "tls",
        ("tls.incomplete_chain",),
        tls=_incomplete_chain,
    ),
    Fault(
        "tls10_only",
        "The server speaks only TLS 1.0; SCIM clients require TLS 1.2.",
        "tls",
        ("tls.protocol_too_old",),
        tls=_tls10_only,
    ),
    Fault(
        "weak_key",
        "The certificate has a 1024-bit RSA key.",
        "tls",
        ("tls.weak_key",),
        tls=_weak_key,
    ),
    Fault(
        "expires_soon",
        "The certificate expires in 5 days.",
        "tls",
        ("tls.cert_expires_soon",),
        tls=_expires_soon,
    ),
    Fault(
        "cn_only_cert",
        "The certificate names the host only in its Common Name, with no subjectAltName.",
        "tls",
        ("tls.no_subject_alt_name",),
        tls=_cn_only,
    ),
    Fault(
        "must_staple_not_stapled",
        "The certificate demands a stapled OCSP response (must-staple) and the server staples "
        "none.",
        "tls",
        ("tls.must_staple_not_stapled",),
        tls=_must_staple,
    ),
    Fault(
        "deep_wildcard_cert",
        "The certificate is a wildcard one label too high (*.example.test for a.b.example.test).",
        "tls",
        ("tls.hostname_mismatch",),
        tls=_deep_wildcard,
    ),
    Fault(
        "expired_intermediate",
        "The leaf is valid but the intermediate CA certificate it is served with has expired.",
        "tls",
        ("tls.cert_expired",),
        tls=_intermediate_dated(-400, -10),
    ),
    Fault(
        "not_yet_valid_intermediate",
        "The leaf is valid but the intermediate CA certificate is valid only from next month.",
        "tls",
        ("tls.cert_not_yet_valid",),
        tls=_intermediate_dated(30, 400),
    ),
    Fault(
        "client_cert_required",
        "The server requires a client certificate (mutual TLS, TLS 1.3): the client without "
        "one sees a certificate_required alert on its first read.",
        "tls",
        ("tls.client_cert_required",),
        tls=_client_cert_required,
    ),
    Fault(
        "client_cert_required_tls12",
        "The server speaks TLS 1.2 only and requires a client certificate: the handshake fails "
        "after its CertificateRequest.",
        "tls",
        ("tls.client_cert_required",),
        tls=_client_cert_required_tls12,
    ),
    Fault(
        "node_expired_cert",
        "The name has two nodes (127.0.0.1 and 127.0.0.2, as a load balancer or DNS round robin "
        "gives); the second serves a certificate that expired 30 days ago.",
        "tls",
        ("tls.node_differs",),
        node=_expired,
    ),
    Fault(
        "node_expires_soon",
        "The name has two nodes; the second serves a valid certificate that expires in 5 days "
        "(the first one's has 90).",
        "tls",
        ("tls.cert_expires_soon", "tls.node_cert_differs"),
        node=_expires_soon,
    ),
    Fault(
        "node_other_cert",
        "The name has two nodes serving two different valid certificates (a renewal rolled out "
        "to one node only).",
        "tls",
        ("tls.node_cert_differs",),
        node=_renewed,
    ),
    Fault(
        "node_tls12_only",
        "The name has two nodes serving the same certificate; the second speaks TLS 1.2 at most "
        "while the first negotiates TLS 1.3 (its TLS settings were not updated).",
        "tls",
        ("tls.node_protocol_differs",),
        tls=_tls13_node,
        node=_tls12_node,
    ),
    Fault(
        "closed_port",
        "Nothing listens on the port: the connection is refused.",
        "socket",
        ("connect.refused",),
        socket=_closed_port,
    ),
    Fault(
        "silent",
        "The port accepts TCP connections but never answers the TLS handshake.",
        "socket",
        ("tls.handshake_timeout",),
        socket=_silent,
    ),
    Fault(
        "plain_http",
        "The HTTPS port speaks plain HTTP.",
        "socket",
        ("tls.not_tls",),
        socket=_plain_http,
    ),
)

FAULTS: Mapping[str, Fault] = MappingProxyType(
    {fault.name: fault for fault in (*_CATALOGUE, *HTTP_FAULTS)}
)


def get(name: str) -> Fault:
    """The fault called `name`; ValueError listing the known ones otherwise."""
    try:
        return FAULTS[name]
    except KeyError:
        known = ", ".join(sorted(FAULTS))
        raise ValueError(f"Unknown demo fault {name!r}; known faults: {known}") from None
