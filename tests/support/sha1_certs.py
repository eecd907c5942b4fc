"""Certificates signed with SHA-1, from a test CA, for the SHA-1 scenarios.

`cryptography` refuses to sign with SHA-1 ("Hash algorithm 'sha1' not supported for
signatures"), so the signature is made by the real `openssl x509 -req -sha1` command (Debian's
openssl package, installed by `make test`), from a CSR made with `cryptography` and the demo
CA's key. The demo itself does not model this fault: it would need the openssl command at run
time.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from scim_doctor.demo.fault_kit import Certificates, Fault
from scim_doctor.demo.pki import CertificateAuthority, Issued, PrivateKey
from tests.support import components


def _openssl() -> str:
    found = shutil.which("openssl")
    if found is None:
        components.missing("the openssl command is not installed (it signs the SHA-1 certificate)")
    return found


def _extensions(names: Sequence[str], ca: bool) -> str:
    lines = ["subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid"]
    if ca:
        lines += ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"]
    else:
        lines += ["basicConstraints=critical,CA:FALSE", "extendedKeyUsage=serverAuth"]
    if names:
        entries = []
        for name in names:
            try:
                entries.append(f"IP:{ipaddress.ip_address(name)}")
            except ValueError:
                entries.append(f"DNS:{name}")
        lines.append("subjectAltName=" + ",".join(entries))
    return "\n".join(lines) + "\n"


def sign_sha1(
    issuer: CertificateAuthority,
    key: PrivateKey,
    subject: x509.Name,
    *,
    names: Sequence[str] = (),
    ca: bool = False,
) -> x509.Certificate:
    """A certificate for `key` and `subject`, signed by `issuer` with SHA-1 (by openssl)."""
    openssl = _openssl()
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    with tempfile.TemporaryDirectory(prefix="scim-doctor-sha1-") as tmp:
        work = Path(tmp)
        (work / "ca.pem").write_bytes(issuer.cert_pem)
        (work / "ca-key.pem").write_bytes(
            issuer.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        (work / "req.pem").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
        (work / "ext.cnf").write_text(_extensions(names, ca))
        argv = [openssl, "x509", "-req", "-sha1", "-in", "req.pem", "-CA", "ca.pem"]
        argv += ["-CAkey", "ca-key.pem", "-set_serial", str(x509.random_serial_number())]
        argv += ["-days", "90", "-extfile", "ext.cnf", "-out", "cert.pem"]
        subprocess.run(argv, cwd=work, check=True, capture_output=True, timeout=30)
        cert = x509.load_pem_x509_certificate((work / "cert.pem").read_bytes())
    assert cert.not_valid_before_utc <= dt.datetime.now(dt.timezone.utc)
    return cert


def sha1_leaf(certs: Certificates) -> Issued:
    """A leaf for the demo names signed by the demo CA with SHA-1."""
    issued = certs.ca.issue(certs.names)
    cert = sign_sha1(certs.ca, issued.key, issued.cert.subject, names=certs.names)
    return Issued(cert=cert, key=issued.key)


def sha1_intermediate(certs: Certificates) -> Issued:
    """A SHA-256 leaf under an intermediate CA that the demo root signed with SHA-1."""
    issuing = certs.ca.intermediate("scim-doctor test SHA-1 Issuing CA")
    issuing.cert = sign_sha1(certs.ca, issuing.key, issuing.cert.subject, ca=True)
    return issuing.issue(certs.names)


SHA1_LEAF = Fault(
    "sha1_leaf",
    "The leaf certificate is signed with SHA-1 (ecdsa-with-SHA1) by the trusted CA.",
    "tls",
    ("tls.sha1_signature",),
    tls=lambda certs: sha1_leaf(certs).server_context(),
)
SHA1_INTERMEDIATE = Fault(
    "sha1_intermediate",
    "The intermediate CA certificate is signed with SHA-1 by the trusted root.",
    "tls",
    ("tls.sha1_signature",),
    tls=lambda certs: sha1_intermediate(certs).server_context(),
)
