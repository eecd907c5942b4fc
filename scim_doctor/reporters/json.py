"""The JSON report (schema version 1): a public contract for CI scripts.

docs/report-schema-v1.json is its JSON Schema and docs/report-schema.md its changelog; a test
validates every report the suite produces against it. Add fields freely; never rename, remove or
change the type of one without a new schema version.
"""

from __future__ import annotations

from typing import Any

from scim_doctor.core.json_text import indented
from scim_doctor.core.model import (
    SCHEMA_VERSION,
    CheckResult,
    Exchange,
    Finding,
    IdpVerdict,
    Report,
    Severity,
)


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "severity": finding.severity.value,
        "message": finding.message,
        "remediation": finding.remediation,
        "reference": finding.reference,
        "reference_kind": finding.reference_kind.value,
        "affects": list(finding.affects),
        "caused_by": finding.caused_by,
        "catalogue_severity": (
            finding.catalogue_severity.value if finding.catalogue_severity is not None else None
        ),
        "scope": finding.scope.value,
    }


def exchange_to_dict(exchange: Exchange) -> dict[str, Any]:
    return {
        "method": exchange.method,
        "url": exchange.url,
        "request_headers": [list(pair) for pair in exchange.request_headers],
        "status": exchange.status,
        "http_version": exchange.http_version,
        "response_headers": [list(pair) for pair in exchange.response_headers],
        "body_excerpt": exchange.body_excerpt,
        "body_bytes": exchange.body_bytes,
        "body_truncated": exchange.body_truncated,
        "timings_ms": dict(exchange.timings_ms),
        "error": exchange.error,
        "started_at": exchange.started_at,
    }


def check_to_dict(check: CheckResult) -> dict[str, Any]:
    return {
        "id": check.id,
        "title": check.title,
        "status": check.status.value,
        "duration_ms": check.duration_ms,
        "summary": check.summary,
        "skip_reason": check.skip_reason,
        "findings": [finding_to_dict(f) for f in check.findings],
        "facts": dict(check.facts),
        "timings_ms": dict(check.timings_ms),
        "exchanges": [exchange_to_dict(e) for e in check.exchanges],
    }


def idp_verdict_to_dict(verdict: IdpVerdict) -> dict[str, Any]:
    return {
        "idp": verdict.idp,
        "name": verdict.name,
        "verdict": verdict.verdict.value,
        "reasons": list(verdict.reasons),
        "sources": [{"title": title, "url": url} for title, url in verdict.sources],
        "rules": [
            {
                "id": rule.id,
                "description": rule.description,
                "status": rule.status.value,
                "reason": rule.reason,
                "source": rule.source,
                "source_url": rule.source_url,
                "source_kind": rule.source_kind.value,
                "codes": list(rule.codes),
            }
            for rule in verdict.rules
        ],
    }


def root_cause_to_dict(report: Report) -> dict[str, str] | None:
    """`summary.root_cause`: the check and code to fix first (Report.root_cause)."""
    found = report.root_cause()
    return {"check": found[0], "code": found[1].code} if found else None


def report_to_dict(report: Report) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "scim-doctor", "version": report.tool_version},
        "target": {
            "base_url": report.target.base_url,
            "host": report.target.host,
            "port": report.target.port,
        },
        "started_at": report.started_at,
        "duration_ms": report.duration_ms,
        "environment": dict(report.environment),
        "summary": {
            "status": report.status.value,
            "counts": report.counts,
            "problems": [f.code for f in report.problems(at_least=Severity.WARN)],
            "root_cause": root_cause_to_dict(report),
        },
        "checks": [check_to_dict(c) for c in report.checks],
        "idp_verdicts": [idp_verdict_to_dict(v) for v in report.idp_verdicts],
    }


def render(report: Report) -> str:
    return indented(report_to_dict(report), default=str) + "\n"
