"""A throwaway certificate authority for the demo server and the tests.

Made fresh at every start, in memory, with `cryptography`: nothing is written to the system trust
store. Besides correct certificates it can issue exactly the wrong ones admins meet in the field
(expired, not yet valid, wrong host, self-signed, weak key, missing intermediate), so the demo
and the tests show real diagnoses of real handshakes.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    NameOID,
    SignatureAlgorithmOID,
)
from msgspec import Struct

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_DAY = dt.timedelta(days=1)
_SHA1_OIDS = frozenset({SignatureAlgorithmOID.RSA_WITH_SHA1, SignatureAlgorithmOID.ECDSA_WITH_SHA1})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def new_key(key_type: str = "ec", bits: int = 2048) -> PrivateKey:
    """An EC P-256 key (fast) or an RSA key of `bits` bits (slow, for weak-key scenarios)."""
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _san(names: Sequence[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class Issued(Struct, frozen=True):
    """A server certificate, its key, and the intermediates a correct server sends with it."""

    cert: x509.Certificate
    key: PrivateKey
    intermediates: tuple[x509.Certificate, ...] = ()

    @property
    def cert_pem(self) -> bytes:
        return _pem(self.cert)

    @property
    def key_pem(self) -> bytes:
        return _key_pem(self.key)

    def chain_pem(self, include_intermediates: bool = True) -> bytes:
        """Leaf first, then intermediates (what `fullchain.pem` holds)."""
        extra = b"".join(_pem(c) for c in self.intermediates) if include_intermediates else b""
        return self.cert_pem + extra

    def server_context(
        self,
        *,
        include_intermediates: bool = True,
        minimum: ssl.TLSVersion | None = None,
        maximum: ssl.TLSVersion | None = None,
    ) -> ssl.SSLContext:
        """A server-side SSL context presenting this certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with warnings.catch_warnings():
            # Offering TLS 1.0/1.1 is the point of the old-protocol scenarios: Python's
            # DeprecationWarning about them is expected here (and an error under pytest).
            warnings.simplefilter("ignore", DeprecationWarning)
            if maximum is not None and maximum < ssl.TLSVersion.TLSv1_2:
                # OpenSSL 3 refuses old protocols at its default security level.
                context.set_ciphers("DEFAULT:@SECLEVEL=0")
                context.minimum_version = minimum or ssl.TLSVersion.TLSv1
            elif minimum is not None:
                context.minimum_version = minimum
            if maximum is not None:
                context.maximum_version = maximum
        served = (self.cert, *self.intermediates)
        sha1 = any(c.signature_algorithm_oid in _SHA1_OIDS for c in served)
        if sha1 or (isinstance(self.key, rsa.RSAPrivateKey) and self.key.key_size < 2048):
            # OpenSSL 3 refuses to load a weak key or a SHA-1-signed certificate at its
            # default security level; those scenarios serve them on purpose.
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with tempfile.TemporaryDirectory(prefix="scim-doctor-pki-") as tmp:
            certfile = Path(tmp) / "cert.pem"
            keyfile = Path(tmp) / "key.pem"
            certfile.write_bytes(self.chain_pem(include_intermediates))
            keyfile.write_bytes(self.key_pem)
            context.load_cert_chain(certfile, keyfile)
        return context


class CertificateAuthority:
    """A root (or, with `parent`, an intermediate) CA that issues server certificates."""

    def __init__(
        self,
        common_name: str = "scim-doctor demo CA",
        *,
        organization: str | None = "scim-doctor",
        parent: CertificateAuthority | None = None,
        aia_url: str | None = None,
        validity: tuple[dt.datetime, dt.datetime] | None = None,
    ) -> None:
        self.key: PrivateKey = new_key()
        self.parent = parent
        self.cert: x509.Certificate
        now = _now()
        subject = _name(common_name, organization)
        issuer_name = parent.cert.subject if parent else subject
        signing_key = parent.key if parent else self.key
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(validity[0] if validity else now - _DAY)
            .not_valid_after(validity[1] if validity else now + 3650 * _DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
        )
        if parent is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()),
                critical=False,
            )
        self.aia_url = aia_url
        self.cert = builder.sign(signing_key, hashes.SHA256())

    @property
    def cert_pem(self) -> bytes:
        return _pem(self.cert)

    def chain(self) -> tuple[x509.Certificate, ...]:
        """This CA and its parents up to, but not including, the root."""
        if self.parent is None:
            return ()
        return (self.cert, *self.parent.chain())

    def root(self) -> CertificateAuthority:
        return self.parent.root() if self.parent else self

    def write_root_pem(self, directory: Path, name: str = "ca.pem") -> Path:
        """Write the root certificate where a client can use it as --cacert."""
        path = directory / name
        path.write_bytes(self.root().cert_pem)
        return path

    def intermediate(
        self,
        common_name: str,
        *,
        aia_url: str | None = None,
        validity: tuple[dt.datetime, dt.datetime] | None = None,
    ) -> CertificateAuthority:
        """An intermediate CA under this one; `validity` (not before, not after) for the
        expired or not-yet-valid intermediate scenarios."""
        organizations = self.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        organization = str(organizations[0].value) if organizations else None
        return CertificateAuthority(
            common_name, organization=organization, parent=self, aia_url=aia_url, validity=validity
        )

    def issue(
        self,
        names: Sequence[str],
        *,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        key_type: str = "ec",
        key_bits: int = 2048,
        common_name: str | None = None,
        subject_alt_name: bool = True,
        must_staple: bool = False,
    ) -> Issued:
        """A server certificate for `names` (DNS names or IP literals). `subject_alt_name=False`:
        the first name in the Common Name only, as old internal CAs issue. `must_staple`: the TLS
        Feature extension with status_request (RFC 7633)."""
        now = _now()
        key = new_key(key_type, key_bits)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name or names[0]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - _DAY)
            .not_valid_after(not_after or now + 90 * _DAY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if subject_alt_name:
            builder = builder.add_extension(_san(names), critical=False)
        if must_staple:
            builder = builder.add_extension(
                x509.TLSFeature([x509.TLSFeatureType.status_request]), critical=False
            )
        if self.aia_url:
            builder = builder.add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            AuthorityInformationAccessOID.CA_ISSUERS,
                            x509.UniformResourceIdentifier(self.aia_url),
                        )
                    ]
                ),
                critical=False,
            )
        cert = builder.sign(self.key, hashes.SHA256())
        return Issued(cert=cert, key=key, intermediates=self.chain())

    def issue_client(
        self,
        common_name: str,
        *,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
    ) -> Issued:
        """A client certificate (TLS client authentication) for mutual-TLS scenarios."""
        now = _now()
        key = new_key()
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - _DAY)
            .not_valid_after(not_after or now + 90 * _DAY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return Issued(cert=cert, key=key, intermediates=self.chain())

    def require_client_certs(self, context: ssl.SSLContext) -> ssl.SSLContext:
        """`context` (a server's) requiring client certificates issued by this CA's root, and
        naming that root in its CertificateRequest."""
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=self.root().cert_pem.decode("ascii"))
        return context


def self_signed(names: Sequence[str], *, key_type: str = "ec") -> Issued:
    """A leaf that signs itself, as appliances and dev servers ship."""
    key = new_key(key_type)
    now = _now()
    subject = _name(names[0])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _DAY)
        .not_valid_after(now + 365 * _DAY)
        .add_extension(_san(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert=cert, key=key)
