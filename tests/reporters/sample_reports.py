"""Fixed reports for the reporters' golden files: deterministic, so no masking is needed."""

from __future__ import annotations

import msgspec.structs

from scim_doctor.core import findings
from scim_doctor.core.model import (
    CheckResult,
    Exchange,
    IdpRuleResult,
    IdpVerdict,
    ReferenceKind,
    Report,
    RuleStatus,
    Status,
    TargetInfo,
    Verdict,
)

TARGET = TargetInfo(base_url="https://scim.example.com/scim/v2", host="scim.example.com", port=443)
ENVIRONMENT: dict[str, object] = {
    "python": "3.11.7",
    "platform": "Linux 6.1 (x86_64)",
    "trust_store": "certifi 2024.8.30",
    "proxy": None,
    "timeout_s": 10.0,
    "deadline_s": 60.0,
    "insecure": False,
    "resolve": [],
}
FAILING_ENVIRONMENT: dict[str, object] = {
    **ENVIRONMENT,
    "trust_store": "--cacert /etc/scim-doctor/ca.pem",
    "cacert": "/etc/scim-doctor/ca.pem",
    "proxy": "http://[REDACTED]@proxy.example.com:3128",
    "resolve": ["scim.example.com:443:203.0.113.10"],
}
"""A run through a proxy with a CA file and a pin: what a replayed curl command must carry."""


ENTRA_DOC = (
    "Microsoft Learn: Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft "
    "Entra ID — Security requirements",
    "https://learn.microsoft.com/en-us/entra/identity/app-provisioning/"
    "use-scim-to-provision-users-and-groups",
)
OKTA_DOC = (
    "Okta Developer: Build your SCIM API service — Base URL",
    "https://developer.okta.com/docs/guides/scim-provisioning-integration-prepare/main/",
)
JUMPCLOUD_DOC = (
    "JumpCloud: Identity Management using a Custom SCIM Integration",
    "https://jumpcloud.com/support/provision-and-manage-users-and-groups-in-apps-using-custom-"
    "scim-identity-management-integration",
)


def _rule(
    rule_id: str,
    status: RuleStatus,
    reason: str,
    doc: tuple[str, str],
    codes: tuple[str, ...] = (),
) -> IdpRuleResult:
    return IdpRuleResult(
        id=rule_id,
        description=f"What {rule_id} requires.",
        status=status,
        reason=reason,
        source=doc[0],
        source_url=doc[1],
        source_kind=ReferenceKind.IDP,
        codes=codes,
    )


def _verdict(key: str, name: str, verdict: Verdict, rules: tuple[IdpRuleResult, ...]) -> IdpVerdict:
    wanted = {Verdict.WILL_FAIL: RuleStatus.BROKEN, Verdict.UNKNOWN: RuleStatus.UNKNOWN}
    deciding = [r for r in rules if verdict is Verdict.WILL_WORK or r.status is wanted[verdict]]
    return IdpVerdict(
        idp=key,
        name=name,
        verdict=verdict,
        reasons=tuple(r.reason for r in deciding) if verdict is not Verdict.WILL_WORK else (),
        sources=tuple(dict.fromkeys((r.source, r.source_url) for r in deciding)),
        rules=rules,
    )


HEALTHY_IDPS = (
    _verdict(
        "entra",
        "Entra ID",
        Verdict.WILL_WORK,
        (
            _rule(
                "entra.tls12",
                RuleStatus.OK,
                "TLS 1.2 works with ECDHE-RSA-AES128-GCM-SHA256",
                ENTRA_DOC,
            ),
        ),
    ),
    _verdict(
        "jumpcloud",
        "JumpCloud",
        Verdict.UNKNOWN,
        (
            _rule(
                "jumpcloud.test_connection",
                RuleStatus.UNKNOWN,
                "not replayed (read-only run: writes need --allow-writes): Test Connection "
                "creates and deletes a test user and a test group",
                JUMPCLOUD_DOC,
            ),
        ),
    ),
)
FAILING_IDPS = (
    _verdict(
        "entra",
        "Entra ID",
        Verdict.WILL_FAIL,
        (
            _rule(
                "entra.https",
                RuleStatus.BROKEN,
                "TLS handshake and certificate: certificate expired 26 days ago",
                ENTRA_DOC,
                ("tls.cert_expired",),
            ),
            _rule("entra.tls12", RuleStatus.UNKNOWN, "not observed", ENTRA_DOC),
        ),
    ),
    _verdict(
        "okta",
        "Okta",
        Verdict.WILL_FAIL,
        (
            _rule(
                "okta.https",
                RuleStatus.BROKEN,
                "TLS handshake and certificate: certificate expired 26 days ago",
                OKTA_DOC,
                ("tls.cert_expired",),
            ),
            _rule(
                "okta.no_underscore",
                RuleStatus.BROKEN,
                "the base URL https://scim_api.example.com/scim/v2 contains '_', which Okta "
                "does not accept",
                OKTA_DOC,
            ),
        ),
    ),
)


def _skip(check_id: str, title: str, reason: str) -> CheckResult:
    return CheckResult(
        id=check_id,
        title=title,
        status=Status.SKIP,
        duration_ms=0.0,
        summary=reason,
        skip_reason=reason,
    )


def healthy() -> Report:
    return Report(
        tool_version="0.1.0",
        target=TARGET,
        started_at="2026-11-27T10:00:00Z",
        duration_ms=412.5,
        environment=ENVIRONMENT,
        idp_verdicts=HEALTHY_IDPS,
        checks=(
            CheckResult(
                "url",
                "Base URL",
                Status.PASS,
                0.1,
                "https://scim.example.com/scim/v2 is well formed",
            ),
            CheckResult(
                "dns",
                "DNS resolution",
                Status.PASS,
                12.3,
                "scim.example.com resolved to IPv4 (A) 203.0.113.10; IPv6 (AAAA) 2001:db8::10",
                facts={
                    "addresses": ["203.0.113.10", "2001:db8::10"],
                    "ipv4": ["203.0.113.10"],
                    "ipv6": ["2001:db8::10"],
                    "pinned": False,
                },
                timings_ms={"dns": 12.3},
            ),
            CheckResult(
                "connect",
                "TCP connection",
                Status.PASS,
                20.4,
                "connected to 203.0.113.10:443",
                facts={"connected_address": "203.0.113.10"},
                timings_ms={"connect": 20.4},
            ),
            CheckResult(
                "tls",
                "TLS handshake and certificate",
                Status.PASS,
                41.0,
                "TLSv1.3, certificate valid for 80 more days",
                facts={"protocol": "TLSv1.3", "days_to_expiry": 80},
                timings_ms={"tls": 41.0},
            ),
            CheckResult(
                "auth",
                "Token authentication",
                Status.PASS,
                80.2,
                "the token is accepted",
                exchanges=(
                    Exchange(
                        method="GET",
                        url="https://scim.example.com/scim/v2/Users?count=1",
                        request_headers=(
                            ("Accept", "application/scim+json"),
                            ("Authorization", "Bearer [REDACTED]"),
                        ),
                        status=200,
                        http_version="HTTP/1.1",
                        response_headers=(("Content-Type", "application/scim+json"),),
                        body_excerpt='{"totalResults": 0}',
                        body_bytes=19,
                        body_truncated=False,
                        timings_ms={"first_byte": 70.1, "total": 80.2},
                    ),
                ),
            ),
        ),
    )


def failing() -> Report:
    expired = msgspec.structs.replace(
        findings.make(
            "tls.cert_expired",
            "the certificate for scim.example.com expired on 2026-11-01T00:00:00Z (26 days ago)",
        ),
        affects=("entra", "okta"),  # the providers whose verdict it breaks (FAILING_IDPS)
    )
    suffix = findings.make(
        "url.endpoint_suffix",
        "the base URL ends with /Users; it was checked as https://scim.example.com/scim/v2",
        remediation="Configure https://scim.example.com/scim/v2 as the base URL in the identity "
        "provider.",
    )
    return Report(
        tool_version="0.1.0",
        target=TARGET,
        started_at="2026-11-27T10:00:00Z",
        duration_ms=88.0,
        environment=FAILING_ENVIRONMENT,
        idp_verdicts=FAILING_IDPS,
        checks=(
            CheckResult(
                "url",
                "Base URL",
                Status.WARN,
                0.1,
                "checked https://scim.example.com/scim/v2",
                findings=(suffix,),
            ),
            CheckResult(
                "dns", "DNS resolution", Status.PASS, 12.3, "scim.example.com has 1 address"
            ),
            CheckResult(
                "connect", "TCP connection", Status.PASS, 20.4, "connected to 203.0.113.10:443"
            ),
            CheckResult(
                "tls",
                "TLS handshake and certificate",
                Status.FAIL,
                45.9,
                "certificate expired 26 days ago",
                findings=(expired,),
                facts={
                    "verified": False,
                    "chain": [
                        {"subject": "CN=scim.example.com", "not_after": "2026-11-01T00:00:00Z"}
                    ],
                },
            ),
            _skip("redirect", "Redirects", "requires tls, which failed"),
            _skip("auth", "Token authentication", "requires tls, which failed"),
            CheckResult(
                "discovery",
                "Discovery endpoints",
                Status.ERROR,
                1.0,
                "internal error (KeyError: 'x'). scim-doctor itself failed here; please report it.",
                exchanges=(
                    Exchange(
                        method="GET",
                        url="https://scim.example.com/scim/v2/ServiceProviderConfig",
                        request_headers=(
                            ("Host", "scim.example.com"),
                            ("Accept", "application/scim+json"),
                            ("Authorization", "Bearer [REDACTED]"),
                        ),
                        status=200,
                        http_version="HTTP/1.1",
                        response_headers=(("Content-Type", "application/scim+json"),),
                        body_excerpt='{"x": null}',
                        body_bytes=11,
                        body_truncated=False,
                        timings_ms={"first_byte": 30.2, "total": 31.0},
                    ),
                ),
            ),
        ),
    )


def warning() -> Report:
    """Healthy, but the certificate expires within --expiry-warn-days: a WARNING, not a page."""
    report = healthy()
    soon = findings.make(
        "tls.cert_expires_soon",
        "the certificate for scim.example.com expires on 2026-12-05T00:00:00Z (7 days)",
    )
    checks = tuple(
        msgspec.structs.replace(
            check,
            status=Status.WARN,
            summary="TLSv1.3, certificate expires in 7 days",
            findings=(soon,),
            facts={
                "protocol": "TLSv1.3",
                "days_to_expiry": 7,
                "chain": [
                    {"subject": "CN=scim.example.com", "not_after": "2026-12-05T00:00:00Z"},
                    {"subject": "CN=Example Intermediate", "not_after": "2030-01-01T00:00:00Z"},
                ],
            },
        )
        if check.id == "tls"
        else check
        for check in report.checks
    )
    return msgspec.structs.replace(report, checks=checks)


def unreachable() -> Report:
    """Nothing listens on the port: every provider fails, the later checks are skipped."""
    refused = msgspec.structs.replace(
        findings.make("connect.refused", "203.0.113.10:443 refused the connection"),
        affects=("entra",),
    )
    return Report(
        tool_version="0.1.0",
        target=TARGET,
        started_at="2026-11-27T10:00:00Z",
        duration_ms=31.0,
        environment=ENVIRONMENT,
        idp_verdicts=(
            _verdict(
                "entra",
                "Entra ID",
                Verdict.WILL_FAIL,
                (
                    _rule(
                        "entra.https",
                        RuleStatus.BROKEN,
                        "TCP connection: 203.0.113.10:443 refused the connection",
                        ENTRA_DOC,
                        ("connect.refused",),
                    ),
                ),
            ),
        ),
        checks=(
            CheckResult("url", "Base URL", Status.PASS, 0.1, "well formed"),
            CheckResult(
                "dns",
                "DNS resolution",
                Status.PASS,
                12.3,
                "scim.example.com has 1 address",
                timings_ms={"dns": 12.3},
            ),
            CheckResult(
                "connect",
                "TCP connection",
                Status.FAIL,
                18.2,
                "203.0.113.10:443 refused the connection",
                findings=(refused,),
            ),
            _skip("tls", "TLS handshake and certificate", "requires connect, which failed"),
            _skip("auth", "Token authentication", "requires tls, which was skipped"),
        ),
    )
