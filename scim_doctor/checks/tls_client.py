"""Client certificates for the `tls` check: a server that asks for one, and the one this run shows.

A server that requires a client certificate (mutual TLS, common behind API gateways) refuses a
client without one in two ways: in TLS 1.2 the handshake itself fails with a handshake_failure
alert after the server's CertificateRequest; in TLS 1.3 the client's side of the handshake
completes and the server's `certificate_required` alert (116) arrives on the first read, which
a client that does not look for it reports as a connection reset. Either way, a TLS 1.2
handshake without a certificate shows the CertificateRequest in clear, with the CA names the
server accepts (RFC 5246 §7.4.4; TLS 1.3 encrypts it).
"""

from __future__ import annotations

import asyncio
import ssl

from scim_doctor.checks.base import Outcome
from scim_doctor.checks.tls_handshake import Endpoint, handshake, tls_answer
from scim_doctor.core import findings
from scim_doctor.net.client_cert import ClientCert, certificate_request
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.refusals import client_cert_page
from scim_doctor.net.trust import unverified_context

FIRST_READ_WAIT = 0.5
"""Seconds to wait after a TLS 1.3 handshake for an alert before the first request (session
tickets, which a server that accepted the handshake sends at once, end the wait earlier)."""

CLIENT_CERT_ALERTS = frozenset(
    {
        "TLSV13_ALERT_CERTIFICATE_REQUIRED",
        "SSLV3_ALERT_HANDSHAKE_FAILURE",
        "SSLV3_ALERT_BAD_CERTIFICATE",
        "SSLV3_ALERT_CERTIFICATE_EXPIRED",
        "SSLV3_ALERT_CERTIFICATE_REVOKED",
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
        "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
        "TLSV1_ALERT_UNKNOWN_CA",
        "TLSV1_ALERT_ACCESS_DENIED",
        "TLSV1_ALERT_DECRYPT_ERROR",
    }
)
"""Alerts a server sends when the client certificate is missing or refused (RFC 8446 §6.2)."""

PROVIDERS_NOTE = (
    "none of the profiled identity providers (Entra ID, Okta, OneLogin, JumpCloud, Google) "
    "documents a setting to present a client certificate on its SCIM calls: they send a bearer "
    "token (or Basic credentials) only"
)


def _tls12_only() -> ssl.SSLContext:
    context = unverified_context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


async def requested_ca_names(endpoint: Endpoint, timeout: float) -> list[str] | None:
    """The CA names of the server's TLS 1.2 CertificateRequest to a client without a
    certificate; None when it sent none (or speaks only TLS 1.3, where it is encrypted)."""
    received = bytearray()
    try:
        await handshake(endpoint, _tls12_only(), timeout, received=received)
    except (OSError, asyncio.TimeoutError):
        pass  # the server refusing a client without a certificate is expected here
    return certificate_request(bytes(received))


def _names_text(names: list[str] | None) -> str:
    if names is None:
        return (
            "the CAs it accepts are not known (its CertificateRequest is encrypted in TLS 1.3 "
            "and it did not complete a TLS 1.2 handshake)"
        )
    if not names:
        return "its CertificateRequest names no CA (it accepts any, or says nothing)"
    return "it accepts certificates issued by: " + "; ".join(names)


def _client_text(client: ClientCert) -> str:
    facts = client.facts
    return (
        f"the --cert certificate '{facts['subject']}' issued by '{facts['issuer']}' "
        f"(valid {facts['not_before']} to {facts['not_after']}, from {facts['file']})"
    )


def presented_problems(ctx: ProbeContext, outcome: Outcome) -> None:
    """What is wrong with the --cert/--key pair itself, before any server judges it."""
    client = ctx.trust.client
    if client is None:
        return
    outcome.facts["client_cert"] = {**client.facts, "problem": client.problem}
    if client.problem == "key_mismatch":
        outcome.add(
            findings.make(
                "tls.client_cert_key_mismatch",
                f"--key does not belong to --cert: {client.detail}; no client certificate was "
                f"presented ({_client_text(client)})",
            )
        )
    elif client.problem in ("expired", "not_yet_valid"):
        outcome.add(
            findings.make(
                "tls.client_cert_expired",
                f"{_client_text(client)} is not valid now: {client.detail}",
            )
        )


async def judge_refusal(
    ctx: ProbeContext, endpoint: Endpoint, reason: str, outcome: Outcome, *, after: bool
) -> bool:
    """The server refused the client's certificate (or its absence) with `reason`: name it.

    `after`: the alert came on the first read after a completed TLS 1.3 handshake (else the
    handshake itself failed). False when the server sent no CertificateRequest, so the alert
    is about something else and the ordinary handshake judgement applies.
    """
    names = await requested_ca_names(endpoint, ctx.step_timeout())
    if not after and names is None:
        return False
    outcome.facts.update(client_cert_requested=True, client_cert_ca_names=names, alert=reason)
    ctx.shared.tls.update(client_cert_required=True)
    how = (
        f"the TLS 1.3 handshake completed and the server's first message was the alert {reason}"
        if after
        else f"the handshake failed with the alert {reason} after the server's CertificateRequest"
    )
    client = ctx.trust.client
    if client is None or not client.loaded:
        outcome.add(
            findings.make(
                "tls.client_cert_required",
                f"{endpoint.shown} requires a client certificate (mutual TLS): {how}; "
                f"{_names_text(names)}; {PROVIDERS_NOTE}",
            )
        )
        outcome.summary = "the server requires a client certificate; none was presented"
        return True
    outcome.add(
        findings.make(
            "tls.client_cert_rejected",
            f"{endpoint.shown} refused {_client_text(client)}: {how}; {_names_text(names)}",
        )
    )
    outcome.summary = f"the server refused the client certificate ({reason})"
    return True


async def accepted(ctx: ProbeContext, endpoint: Endpoint, outcome: Outcome) -> None:
    """The handshake presenting --cert succeeded: does the server require it? (A handshake
    without it tells; the providers' verdicts depend on it.)"""
    client = ctx.trust.client
    if client is None or not client.loaded:
        return
    required = False
    said = ""
    try:
        session = await handshake(
            endpoint, unverified_context(), ctx.step_timeout(), first_read=FIRST_READ_WAIT
        )
        required = session.alert in CLIENT_CERT_ALERTS
        if not required:
            said = await _refused_over_http(ctx, endpoint)
            required = bool(said)
    except ssl.SSLError as exc:
        required = str(exc.reason) in CLIENT_CERT_ALERTS
    except (OSError, asyncio.TimeoutError):
        pass
    outcome.facts.update(client_cert_presented=True, client_cert_required=required)
    ctx.shared.tls.update(client_cert_presented=True, client_cert_required=required)
    if required:
        outcome.add(
            findings.make(
                "tls.client_cert_accepted",
                f"{endpoint.shown} requires a client certificate{said} and accepted "
                f"{_client_text(client)}; {PROVIDERS_NOTE}",
            )
        )


async def _refused_over_http(ctx: ProbeContext, endpoint: Endpoint) -> str:
    """A handshake without the certificate completed: does the front end refuse the request
    instead (nginx's `ssl_verify_client on` answers 400 'No required SSL certificate was
    sent')? One token-less GET of the base path over a connection without it; ' (…)' saying
    so for the message, or ''."""
    target = ctx.target
    request = (
        f"GET {target.path or '/'} HTTP/1.1\r\nHost: {target.netloc}\r\n"
        "User-Agent: scim-doctor\r\nConnection: close\r\n\r\n"
    ).encode("ascii", "replace")
    try:
        answer = await tls_answer(endpoint, unverified_context(), request, ctx.step_timeout())
    except (OSError, asyncio.TimeoutError):
        return ""
    head, _, body = answer.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    page = client_cert_page(status, body)
    if page is None or page[0] != "required":
        return ""
    return f" (without it, a request is answered {status} '{page[1]}')"
