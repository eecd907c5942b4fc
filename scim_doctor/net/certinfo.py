"""Facts about X.509 certificates, as a report shows them.

Pure functions from DER bytes or `x509.Certificate` to JSON-compatible values, so the `tls` check
and the reporters never reach into `cryptography` themselves, and every certificate is described
the same way (RFC 4514 names, ISO 8601 dates, colon-hex fingerprints).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID, SignatureAlgorithmOID

MIN_RSA_BITS = 2048
MIN_EC_BITS = 256

_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}

INTERCEPTION_PRODUCTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Zscaler", ("zscaler",)),
    ("Netskope", ("netskope",)),
    ("Palo Alto Networks", ("palo alto networks", "paloaltonetworks")),
    ("Fortinet FortiGate", ("fortinet", "fortigate")),
    ("Blue Coat / Symantec ProxySG", ("blue coat", "bluecoat", "proxysg", "symantec web")),
    ("Cisco Umbrella", ("cisco umbrella", "opendns")),
    ("Sophos", ("sophos",)),
    ("Check Point", ("check point", "checkpoint")),
    ("Forcepoint", ("forcepoint", "websense")),
    ("McAfee / Skyhigh Web Gateway", ("mcafee", "skyhigh")),
    ("Barracuda", ("barracuda",)),
    ("Cloudflare Gateway (WARP)", ("cloudflare for teams", "gateway ca - cloudflare")),
    ("iboss", ("iboss",)),
    ("Menlo Security", ("menlo security",)),
    ("Cato Networks", ("cato networks",)),
    ("Kaspersky", ("kaspersky",)),
    ("ESET", ("eset ssl filter",)),
    ("Avast / AVG", ("avast", "avg web/mail shield")),
    ("mitmproxy", ("mitmproxy",)),
    ("Fiddler", ("do_not_trust_fiddlerroot", "fiddler")),
    ("Charles Proxy", ("charles proxy",)),
    ("Burp Suite", ("portswigger",)),
)
"""TLS-inspection products and the words their CA certificates carry in O or CN.

Only names a public CA would not put in its own issuer names: Cloudflare is matched by its
Zero Trust gateway CA, not by the 'Cloudflare Inc ECC CA' that signs ordinary sites.
"""


def load(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def iso(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second."""
    utc = moment.astimezone(dt.timezone.utc).replace(microsecond=0, tzinfo=None)
    return utc.isoformat() + "Z"


def not_before(cert: x509.Certificate) -> dt.datetime:
    return cert.not_valid_before_utc


def not_after(cert: x509.Certificate) -> dt.datetime:
    return cert.not_valid_after_utc


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def days_left(cert: x509.Certificate, now: dt.datetime | None = None) -> int:
    """Whole days until notAfter, negative once expired: -3 reads '3 days ago'."""
    seconds = (not_after(cert) - (now or _now())).total_seconds()
    return int(seconds / 86400)  # toward zero, so both signs count whole days elapsed


def names(cert: x509.Certificate) -> list[str]:
    """The DNS names and IP addresses of the SAN extension, in certificate order."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    dns = [str(n) for n in san.get_values_for_type(x509.DNSName)]
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return dns + ips


def common_name(name: x509.Name) -> str | None:
    attributes = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attributes[0].value) if attributes else None


def covered_names(cert: x509.Certificate) -> list[str]:
    """What a client matches the host against: the SANs, or the CN when there are none."""
    sans = names(cert)
    if sans:
        return sans
    cn = common_name(cert.subject)
    return [cn] if cn else []


def short_name(name: x509.Name) -> str:
    """The CN when present (what people recognise), else the full RFC 4514 string."""
    return common_name(name) or name.rfc4514_string()


_DSA_OID = bytes.fromhex("2a8648ce380401")
"""id-dsa, 1.2.840.10040.4.1 (RFC 3279 §2.3.2), as its DER content bytes."""


def _der_children(der: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """(tag, content start, content end) of each DER element between start and end."""
    children = []
    while start < end:
        tag, length, start = der[start], der[start + 1], start + 2
        if length & 0x80:
            size = length & 0x7F
            length, start = int.from_bytes(der[start : start + size], "big"), start + size
        children.append((tag, start, start + length))
        start += length
    return children


def _dsa_bits(cert: x509.Certificate) -> int | None:
    """For a DSA key, the bit length of its prime p (0 when unreadable); None for other keys.

    Read from the certificate's SubjectPublicKeyInfo, whose AlgorithmIdentifier names the key
    type and, for DSA, carries SEQUENCE {p, q, g}, without loading the key: cryptography 51
    deprecates DSA, and both naming its classes and loading a DSA key print a warning on every
    certificate read (and cryptography 42, the oldest we allow, cannot name the OID itself).
    """
    tbs = cert.tbs_certificate_bytes
    try:
        (_, start, end), *_ = _der_children(tbs, 0, len(tbs))
        fields = _der_children(tbs, start, end)
        if fields and fields[0][0] == 0xA0:  # [0] version
            fields = fields[1:]
        _, start, end = fields[5]  # serial, signature, issuer, validity, subject, SPKI
        (_, start, end), *_ = _der_children(tbs, start, end)  # AlgorithmIdentifier
        (_, oid_start, oid_end), *parameters = _der_children(tbs, start, end)
        if tbs[oid_start:oid_end] != _DSA_OID:
            return None
        _, start, end = parameters[0]
        _, start, end = _der_children(tbs, start, end)[0]  # p
    except (IndexError, ValueError):
        return 0
    return int.from_bytes(tbs[start:end], "big").bit_length()


def key_description(cert: x509.Certificate) -> tuple[str, int | None]:
    """('RSA 2048', 2048), ('EC P-256 (256 bits)', 256), ('Ed25519', 256), ..."""
    bits = _dsa_bits(cert)
    if bits is not None:
        return (f"DSA {bits}", bits) if bits else ("DSA", None)
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        curve = _CURVE_NAMES.get(key.curve.name, key.curve.name)
        return f"EC {curve} ({key.curve.key_size} bits)", key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    return type(key).__name__, None


def key_is_weak(cert: x509.Certificate) -> bool:
    """RSA/DSA under 2048 bits or EC under 256 bits (Entra ID's floor, and NIST SP 800-57's)."""
    bits = _dsa_bits(cert)
    if bits is not None:
        return bits < MIN_RSA_BITS
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return key.key_size < MIN_RSA_BITS
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.curve.key_size < MIN_EC_BITS
    return False


def signature_hash(cert: x509.Certificate) -> str | None:
    """e.g. 'sha256'; None for schemes without a separate hash (Ed25519) or unknown ones."""
    try:
        algorithm = cert.signature_hash_algorithm
    except Exception:  # UnsupportedAlgorithm: an OID cryptography does not know
        return None
    return algorithm.name if algorithm is not None else None


_SHA1_SIGNATURES = {
    SignatureAlgorithmOID.RSA_WITH_SHA1: "sha1WithRSAEncryption",
    SignatureAlgorithmOID.ECDSA_WITH_SHA1: "ecdsa-with-SHA1",
    SignatureAlgorithmOID.DSA_WITH_SHA1: "dsa-with-sha1",
}


def sha1_signature(cert: x509.Certificate) -> str | None:
    """The name of the certificate's signature algorithm when it hashes with SHA-1 (read from
    its signatureAlgorithm OID, RFC 3279 §2.2), else None."""
    return _SHA1_SIGNATURES.get(cert.signature_algorithm_oid)


def must_staple(cert: x509.Certificate) -> bool:
    """Whether the certificate carries the TLS Feature extension with status_request (RFC 7633
    "OCSP must-staple"): the server must staple an OCSP response to every handshake."""
    try:
        features = cert.extensions.get_extension_for_class(x509.TLSFeature).value
    except x509.ExtensionNotFound:
        return False
    return x509.TLSFeatureType.status_request in features


def fingerprint_sha256(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def is_self_signed(cert: x509.Certificate) -> bool:
    """Subject equals issuer and the certificate's own key verifies its signature."""
    if cert.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except Exception:  # wrong signature, unsupported key type: not provably self-signed
        return False
    return True


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def aia_ca_issuers(cert: x509.Certificate) -> list[str]:
    """The caIssuers URLs (where the issuer certificate can be downloaded), if any."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    return [
        str(d.access_location.value)
        for d in aia
        if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
    ]


def facts(cert: x509.Certificate, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything a report shows about one certificate, JSON-compatible."""
    key, bits = key_description(cert)
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "names": names(cert),
        "not_before": iso(not_before(cert)),
        "not_after": iso(not_after(cert)),
        "days_left": days_left(cert, now),
        "key": key,
        "key_bits": bits,
        "signature_hash": signature_hash(cert),
        "sha256": fingerprint_sha256(cert),
        "self_signed": is_self_signed(cert),
        "ca": is_ca(cert),
        "aia_ca_issuers": aia_ca_issuers(cert),
        "must_staple": must_staple(cert),
    }


def _name_words(name: x509.Name) -> list[str]:
    oids = (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME)
    return [str(a.value).lower() for oid in oids for a in name.get_attributes_for_oid(oid)]


def interception_product(certs: Iterable[x509.Certificate]) -> str | None:
    """The TLS-inspection product whose CA signed this chain, if its name gives it away.

    Issuer names of every certificate are searched, and subjects of all but the leaf: the
    leaf's subject is the site itself, which may legitimately be zscaler.com.
    """
    for index, cert in enumerate(certs):
        candidates = _name_words(cert.issuer)
        if index > 0:
            candidates += _name_words(cert.subject)
        for product, patterns in INTERCEPTION_PRODUCTS:
            if any(p in text for text in candidates for p in patterns):
                return product
    return None
