"""The registry: every check, in the order it runs and is reported.

A fixed list, not plugin discovery: nine probes do not need machinery, and the order is part of
the public interface (the JSON report lists checks in this order).
"""

from __future__ import annotations

from scim_doctor.checks import (
    auth,
    discovery,
    errors,
    lifecycle,
    negotiation,
    network,
    proxy,
    redirect,
    tls,
    url,
)
from scim_doctor.checks import users as users_probe
from scim_doctor.checks.base import Probe, on_base_url

REGISTRY: tuple[Probe, ...] = (
    Probe("url", "Base URL", (), url.run),
    Probe("proxy", "Proxy", (), proxy.run),
    Probe("dns", "DNS resolution", ("proxy",), network.run_dns),
    Probe("connect", "TCP connection", ("dns",), network.run_connect, warms_pool=True),
    Probe("tls", "TLS handshake and certificate", ("connect",), tls.run),
    # The read-only HTTP checks start once `tls` has verified the certificate and `auth` is
    # sending its requests (`ahead_of`), so their first requests share one round trip; each
    # result still waits for its prerequisite's, and the report's order is this list's. The
    # connections their first requests go out on (`connections`) are opened while connect and
    # tls run. lifecycle (writes) waits for auth's verdict.
    Probe(
        "redirect",
        "Redirects",
        ("tls",),
        redirect.run,
        ahead_of=("tls",),
        connections=redirect.first_connections,
    ),
    Probe(
        "auth",
        "Token authentication",
        ("tls",),
        auth.run,
        ahead_of=("tls",),
        connections=on_base_url(len(auth.ROLES)),
    ),
    Probe(
        "negotiation",
        "Content negotiation",
        ("auth",),
        negotiation.run,
        ahead_of=("auth",),
        connections=on_base_url(len(negotiation.VARIANTS)),
    ),
    Probe(
        "users",
        "/Users listing",
        ("auth",),
        users_probe.run,
        ahead_of=("auth",),
        connections=on_base_url(1),
    ),
    Probe(
        "discovery",
        "Discovery endpoints",
        ("auth",),
        discovery.run,
        ahead_of=("auth",),
        connections=on_base_url(len(discovery.PATHS)),
    ),
    Probe(
        "errors",
        "SCIM error responses",
        ("auth",),
        errors.run,
        ahead_of=("auth",),
        connections=on_base_url(2),
    ),
    # Writes wait for the read-only checks, so a test user never shows up in their listings.
    Probe(
        "lifecycle",
        "Provisioning lifecycle (writes)",
        ("auth",),
        lifecycle.run,
        after=("users", "discovery", "errors"),
    ),
)

CHECK_IDS: tuple[str, ...] = tuple(probe.id for probe in REGISTRY)
