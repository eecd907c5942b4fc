"""Naming what is wrong with a certificate chain, from the chain the server actually sends.

OpenSSL's verification error says little ("unable to get local issuer certificate"); read
against the served chain it tells expired from wrong host, an untrusted or intercepting CA from a
missing intermediate, a weak key from the rest. The health findings (weak keys, a leaf about to
expire) apply even to a chain that verifies.
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Sequence

from cryptography import x509
from msgspec import Struct

from scim_doctor.core import findings
from scim_doctor.core.model import Finding
from scim_doctor.net import certinfo
from scim_doctor.net.context import ProbeContext

# OpenSSL X509_V_ERR_* codes (include/openssl/x509_vfy.h).
_V_CERT_NOT_YET_VALID = 9
_V_CERT_HAS_EXPIRED = 10
_V_DEPTH_ZERO_SELF_SIGNED = 18
_V_SELF_SIGNED_IN_CHAIN = 19
_V_UNABLE_TO_GET_ISSUER_LOCALLY = 20
_V_UNABLE_TO_VERIFY_LEAF = 21
_V_HOSTNAME_MISMATCH = 62
_V_IP_ADDRESS_MISMATCH = 64
_V_EE_KEY_TOO_SMALL = 66
_V_CA_KEY_TOO_SMALL = 67
_V_CA_MD_TOO_WEAK = 68


def _date(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _describe(cert: x509.Certificate) -> str:
    return f"'{certinfo.short_name(cert.subject)}'"


def _issuer_in_chain(chain: Sequence[x509.Certificate]) -> x509.Certificate | None:
    leaf = chain[0]
    for cert in chain[1:]:
        if cert.subject == leaf.issuer:
            return cert
    return None


def _top_issuer(chain: Sequence[x509.Certificate]) -> x509.Name:
    """The name of the root the served chain leads to (the top cert's issuer)."""
    by_subject = {cert.subject: cert for cert in chain}
    current = chain[0]
    seen = {current.subject}
    while current.issuer in by_subject and current.issuer not in seen:
        current = by_subject[current.issuer]
        seen.add(current.subject)
    return current.issuer


def _expired(chain: Sequence[x509.Certificate], now: dt.datetime) -> x509.Certificate | None:
    return next((c for c in chain if certinfo.not_after(c) < now), None)


def _not_yet_valid(chain: Sequence[x509.Certificate], now: dt.datetime) -> x509.Certificate | None:
    return next((c for c in chain if certinfo.not_before(c) > now), None)


def other_store_text(other: OtherStore | None) -> str:
    """'; the system store (…) would have trusted it' for a message, or ''."""
    if other is None:
        return ""
    verdict = "would have trusted it" if other.trusts else "does not trust it either"
    return f"; {other.description} {verdict}"


def _interception_fix(product: str, root: x509.Name, other: OtherStore | None) -> str:
    root_name = certinfo.short_name(root)
    if other is not None and other.trusts and other.kind == "system":
        return (
            f"This machine's operating-system store trusts the {product} CA: run scim-doctor "
            f"with --trust system to check through the inspection, or from a network without "
            "TLS inspection (a CI runner, a cloud shell) to see the server's own certificate."
        )
    return (
        f"Run scim-doctor with --cacert <the {product} root CA certificate, '{root_name}'> "
        "(your network team has it; browsers on this machine trust it), or with --trust "
        "system once it is in the operating system's store, or from a network without TLS "
        "inspection (a CI runner, a cloud shell)."
    )


def _untrusted(
    ctx: ProbeContext,
    chain: Sequence[x509.Certificate],
    reason: str,
    *,
    self_signed: bool,
    other: OtherStore | None = None,
) -> Finding:
    leaf = chain[0]
    root = _top_issuer(chain)
    product = certinfo.interception_product(chain)
    store = ctx.trust.description
    if product is not None:
        message = (
            f"TLS inspection by {product} on this machine's network: the certificate for "
            f"{ctx.target.host} was issued by '{certinfo.short_name(leaf.issuer)}', a "
            f"certificate authority of {product}, not by the server's own CA. The identity "
            "provider is not behind this proxy, so it sees the real certificate; this run does "
            "not, and cannot judge the server from here: the server itself may be fine (trust "
            f"store used: {store}{other_store_text(other)}; OpenSSL: {reason})"
        )
        remediation = _interception_fix(product, root, other)
        return findings.make("tls.intercepted", message, remediation=remediation)
    if self_signed and len(chain) == 1:
        message = (
            f"the certificate {_describe(leaf)} is self-signed; no trust store knows it "
            f"(trust store: {store}; OpenSSL: {reason})"
        )
    else:
        message = (
            f"the chain for {ctx.target.host} leads to '{certinfo.short_name(root)}' "
            f"({root.rfc4514_string()}), which is not in the trust store ({store}"
            f"{other_store_text(other)}); the "
            f"certificate was issued by '{certinfo.short_name(leaf.issuer)}' (OpenSSL: {reason})"
        )
    return findings.make("tls.untrusted_ca", message)


class OtherStore(Struct, frozen=True):
    """Whether the store this run did not use (the system store, or the default one) trusts
    the chain the server presented."""

    description: str
    kind: str
    trusts: bool


def intercepted_but_trusted(ctx: ProbeContext, chain: Sequence[x509.Certificate]) -> Finding | None:
    """A chain that verified, issued by a TLS-inspection product's CA (the run trusts it through
    --trust system or --cacert): the certificate judged is the proxy's, not the server's."""
    product = certinfo.interception_product(chain)
    if product is None or not chain:
        return None
    return findings.make(
        "tls.intercepted_trusted",
        f"TLS inspection by {product}: the certificate for {ctx.target.host} was issued by "
        f"'{certinfo.short_name(chain[0].issuer)}', which the trust store used "
        f"({ctx.trust.description}) holds, so the later checks ran through the inspecting "
        "proxy; the certificate facts here are the proxy's, and the server's own certificate "
        "(its expiry, its chain) was not seen from this machine",
    )


def _issuer_unknown(ctx: ProbeContext, leaf: x509.Certificate, reason: str) -> Finding:
    return findings.make(
        "tls.untrusted_ca",
        f"the certificate for {ctx.target.host} was issued by "
        f"'{certinfo.short_name(leaf.issuer)}' ({leaf.issuer.rfc4514_string()}), which is neither "
        f"in the trust store ({ctx.trust.description}) nor sent by the server: either a private "
        "CA whose root this trust store lacks, or an intermediate the server fails to send "
        f"(OpenSSL: {reason})",
    )


def _not_yet_valid_finding(chain: Sequence[x509.Certificate], now: dt.datetime) -> Finding:
    """The first certificate of the chain not valid yet, named as the leaf or the intermediate."""
    cert = _not_yet_valid(chain, now) or chain[0]
    ahead = (certinfo.not_before(cert) - now).days
    which = "the certificate" if cert is chain[0] else "the intermediate certificate"
    return findings.make(
        "tls.cert_not_yet_valid",
        f"{which} {_describe(cert)} is valid only from {_date(certinfo.not_before(cert))} (in "
        f"{_plural(ahead, 'day')}; this machine's clock says {_date(now)})",
    )


def classify_verification(
    ctx: ProbeContext,
    error: ssl.SSLCertVerificationError,
    chain: Sequence[x509.Certificate],
    other: OtherStore | None = None,
) -> list[Finding]:
    """The findings one verification error stands for, given the chain the server presents
    (and whether the other trust store would have trusted it)."""
    code = error.verify_code
    reason = error.verify_message or error.reason or str(error)
    now = dt.datetime.now(dt.timezone.utc)
    if not chain:
        return [findings.make("tls.handshake_failed", f"certificate verification failed: {reason}")]
    leaf = chain[0]
    if code == _V_CERT_HAS_EXPIRED:
        cert = _expired(chain, now) or leaf
        ago = -certinfo.days_left(cert, now)
        which = "the certificate" if cert is leaf else "the intermediate certificate"
        return [
            findings.make(
                "tls.cert_expired",
                f"{which} {_describe(cert)} expired on {_date(certinfo.not_after(cert))} "
                f"({_plural(ago, 'day')} ago)",
            )
        ]
    if code == _V_CERT_NOT_YET_VALID:
        return [_not_yet_valid_finding(chain, now)]
    if code in (_V_HOSTNAME_MISMATCH, _V_IP_ADDRESS_MISMATCH):
        covered = certinfo.covered_names(leaf)
        listed = ", ".join(covered) if covered else "no names at all"
        return [
            findings.make(
                "tls.hostname_mismatch",
                f"the certificate does not cover {ctx.target.host}; it covers: {listed}"
                + _wildcard_depth(ctx.target.host, covered),
            )
        ]
    if code in (_V_DEPTH_ZERO_SELF_SIGNED, _V_SELF_SIGNED_IN_CHAIN):
        return [_untrusted(ctx, chain, reason, self_signed=True, other=other)]
    if code in (_V_UNABLE_TO_GET_ISSUER_LOCALLY, _V_UNABLE_TO_VERIFY_LEAF):
        urls = certinfo.aia_ca_issuers(leaf)
        if _issuer_in_chain(chain) is not None or certinfo.interception_product(chain):
            return [_untrusted(ctx, chain, reason, self_signed=False, other=other)]
        if not urls:
            # No AIA pointer: typical of a private CA, whose root a server need not send;
            # rarely of a public CA's intermediate. Say both.
            return [_issuer_unknown(ctx, leaf, reason)]
        return [
            findings.make(
                "tls.incomplete_chain",
                f"the server sent {_plural(len(chain), 'certificate')} without the intermediate "
                f"'{certinfo.short_name(leaf.issuer)}' that issued {_describe(leaf)}; it can be "
                f"downloaded from {', '.join(urls)} (AIA caIssuers), which browsers do and API "
                f"clients do not (OpenSSL: {reason})",
            )
        ]
    if code == _V_CA_MD_TOO_WEAK:
        sha1 = _sha1_signed(chain)
        if sha1 is not None:
            return [sha1]
    if code in (_V_EE_KEY_TOO_SMALL, _V_CA_KEY_TOO_SMALL):
        cas = [c for c in chain[1:] if certinfo.key_is_weak(c)]
        cert = cas[0] if code == _V_CA_KEY_TOO_SMALL and cas else leaf
        key, _ = certinfo.key_description(cert)
        return [
            findings.make(
                "tls.weak_key",
                f"the key of the certificate {_describe(cert)} is {key}; clients require RSA >= "
                f"{certinfo.MIN_RSA_BITS} or EC >= {certinfo.MIN_EC_BITS} bits (OpenSSL: {reason})",
            )
        ]
    return [
        findings.make(
            "tls.handshake_failed", f"certificate verification failed (code {code}): {reason}"
        )
    ]


def _wildcard_depth(host: str, covered: Sequence[str]) -> str:
    """Why a wildcard that looks as if it covers `host` does not: it covers one label only."""
    for name in covered:
        if not name.startswith("*."):
            continue
        parent = name[2:].lower()
        if host.lower().endswith("." + parent):
            labels = host[: -len(parent) - 1]
            if "." in labels:
                one = f"{labels.rsplit('.', 1)[-1]}.{parent}"
                return (
                    f". The wildcard {name} covers exactly one label in its place (e.g. {one}), "
                    f"not the {labels.count('.') + 1} labels '{labels}' of {host} (RFC 6125 "
                    "§6.4.3; browsers and TLS libraries match so)"
                )
    return ""


def _path(chain: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    """The leaf and the served certificates that issue it in turn, up to (not including) a
    self-issued root: the ones whose signatures a client checks. Extra certificates a server
    sends off the path (an old cross-signature) are left out."""
    path = [chain[0]]
    by_subject = {cert.subject: cert for cert in chain[1:]}
    while True:
        current = path[-1]
        issuer = by_subject.get(current.issuer)
        if issuer is None or issuer in path or issuer.subject == issuer.issuer:
            return [c for c in path if c.subject != c.issuer]
        path.append(issuer)


def _sha1_signed(chain: Sequence[x509.Certificate]) -> Finding | None:
    """tls.sha1_signature naming each certificate on the path signed with SHA-1 (read from its
    signatureAlgorithm, not from OpenSSL's error): a root's self-signature is never checked."""
    if not chain:
        return None
    signed = [(c, certinfo.sha1_signature(c)) for c in _path(chain)]
    named = [
        f"{'the certificate' if cert is chain[0] else 'the intermediate certificate'} "
        f"{_describe(cert)} is signed with SHA-1 ({algorithm}) by "
        f"'{certinfo.short_name(cert.issuer)}'"
        for cert, algorithm in signed
        if algorithm is not None
    ]
    if not named:
        return None
    return findings.make(
        "tls.sha1_signature",
        f"{'; '.join(named)}. OpenSSL 3 (under Python's ssl, httpx and curl) refuses SHA-1 "
        "certificate signatures at security level 1 and above, as do Go since 1.18, browsers "
        "since 2017 and Java for chains to its bundled roots; none of the five identity "
        "providers documents its own rule",
    )


def _no_subject_alt_name(leaf: x509.Certificate) -> Finding | None:
    try:
        leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        cn = certinfo.common_name(leaf.subject)
        return findings.make(
            "tls.no_subject_alt_name",
            f"the certificate {_describe(leaf)} names its host only in the subject's Common Name "
            f"(CN={cn}) and has no subjectAltName extension: browsers (Chrome since 58), Go "
            "(since 1.15) and other clients that match subjectAltName only refuse it; this run "
            "accepted it because Python's ssl still falls back to the CN, as do curl and some "
            "Java and .NET clients. Whether each identity provider's client falls back is not "
            "documented",
        )
    return None


def health(
    ctx: ProbeContext, chain: Sequence[x509.Certificate], already: set[str]
) -> list[Finding]:
    """Weak keys anywhere in the chain, a leaf that names its host only in the CN and a leaf
    that expires soon: findings even when the chain verifies."""
    found: list[Finding] = []
    if chain and not certinfo.is_self_signed(chain[0]) and not certinfo.is_ca(chain[0]):
        cn_only = _no_subject_alt_name(chain[0])
        if cn_only is not None:
            found.append(cn_only)
    if "tls.sha1_signature" not in already:
        sha1 = _sha1_signed(chain)
        if sha1 is not None:
            found.append(sha1)
    if "tls.weak_key" not in already:
        weak = [c for c in chain if certinfo.key_is_weak(c)]
        if weak:
            described = "; ".join(
                f"the key of {_describe(c)} is {certinfo.key_description(c)[0]}" for c in weak
            )
            found.append(
                findings.make(
                    "tls.weak_key",
                    f"{described}; clients require RSA >= {certinfo.MIN_RSA_BITS} or EC >= "
                    f"{certinfo.MIN_EC_BITS} bits",
                )
            )
    if chain and not already & {"tls.cert_expired", "tls.cert_not_yet_valid"}:
        leaf = chain[0]
        left = certinfo.days_left(leaf)
        if 0 <= left < ctx.options.expiry_warn_days:
            found.append(
                findings.make(
                    "tls.cert_expires_soon",
                    f"the certificate {_describe(leaf)} expires on "
                    f"{_date(certinfo.not_after(leaf))}, in {_plural(left, 'day')} (warning "
                    f"threshold: {ctx.options.expiry_warn_days} days)",
                )
            )
    return found
