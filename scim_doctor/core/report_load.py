"""A JSON report read back into the result model, so a report written by one run (a CI shard,
yesterday's job) can be rendered again in any format or joined with others (`merge`).

The reverse of reporters/json.py and reporters/fleet.py, for the schema versions this version
writes and the ones before it; every field added within a version is optional here. A document
that is not such a report raises InputError naming where it went wrong, never a KeyError.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scim_doctor.core.echo import shown
from scim_doctor.core.errors import InputError
from scim_doctor.core.fleet import FleetReport, TargetOutcome
from scim_doctor.core.model import (
    CheckResult,
    Exchange,
    Finding,
    IdpRuleResult,
    IdpVerdict,
    ReferenceKind,
    Report,
    RuleStatus,
    Scope,
    Severity,
    Status,
    TargetInfo,
    Verdict,
)

FLEET_VERSIONS = frozenset({"2", "2.1", "2.2"})
"""Versions of the several-targets document this version reads."""


def _pairs(items: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(name), str(value)) for name, value in items or ())


def _finding(item: Mapping[str, Any]) -> Finding:
    catalogue = item.get("catalogue_severity")
    return Finding(
        code=item["code"],
        severity=Severity(item["severity"]),
        message=item["message"],
        remediation=item["remediation"],
        reference=item["reference"],
        reference_kind=ReferenceKind(item.get("reference_kind", "rfc")),
        affects=tuple(item.get("affects") or ()),
        caused_by=item.get("caused_by"),
        catalogue_severity=Severity(catalogue) if catalogue else None,
        scope=Scope(item.get("scope") or Scope.ENDPOINT.value),
    )


def _exchange(item: Mapping[str, Any]) -> Exchange:
    return Exchange(
        method=item["method"],
        url=item["url"],
        request_headers=_pairs(item.get("request_headers")),
        status=item.get("status"),
        http_version=item.get("http_version"),
        response_headers=_pairs(item.get("response_headers")),
        body_excerpt=item.get("body_excerpt", ""),
        body_bytes=int(item.get("body_bytes", 0)),
        body_truncated=bool(item.get("body_truncated", False)),
        timings_ms=dict(item.get("timings_ms") or {}),
        error=item.get("error"),
        started_at=item.get("started_at"),
    )


def _check(item: Mapping[str, Any]) -> CheckResult:
    return CheckResult(
        id=item["id"],
        title=item["title"],
        status=Status(item["status"]),
        duration_ms=float(item["duration_ms"]),
        summary=item["summary"],
        skip_reason=item.get("skip_reason"),
        findings=tuple(_finding(f) for f in item.get("findings") or ()),
        facts=dict(item.get("facts") or {}),
        timings_ms=dict(item.get("timings_ms") or {}),
        exchanges=tuple(_exchange(e) for e in item.get("exchanges") or ()),
    )


def _rule(item: Mapping[str, Any]) -> IdpRuleResult:
    return IdpRuleResult(
        id=item["id"],
        description=item["description"],
        status=RuleStatus(item["status"]),
        reason=item["reason"],
        source=item["source"],
        source_url=item["source_url"],
        source_kind=ReferenceKind(item["source_kind"]),
        codes=tuple(item.get("codes") or ()),
    )


def _verdict(item: Mapping[str, Any]) -> IdpVerdict:
    return IdpVerdict(
        idp=item["idp"],
        name=item["name"],
        verdict=Verdict(item["verdict"]),
        reasons=tuple(item.get("reasons") or ()),
        sources=tuple((s["title"], s["url"]) for s in item.get("sources") or ()),
        rules=tuple(_rule(r) for r in item.get("rules") or ()),
    )


def _target_info(base_url: str) -> TargetInfo:
    parts = urlsplit(base_url)
    default = 443 if parts.scheme == "https" else 80
    return TargetInfo(base_url, parts.hostname or "", parts.port or default)


def report_from_entry(entry: Mapping[str, Any], tool_version: str) -> Report:
    """One target's report from a version-2 target entry (or a version-1 document)."""
    target = entry.get("target")
    info = (
        TargetInfo(target["base_url"], target["host"], int(target["port"]))
        if isinstance(target, Mapping)
        else _target_info(entry["base_url"])
    )
    return Report(
        tool_version=tool_version,
        target=info,
        started_at=entry["started_at"],
        duration_ms=float(entry["duration_ms"]),
        checks=tuple(_check(c) for c in entry.get("checks") or ()),
        environment=dict(entry.get("environment") or {}),
        idp_verdicts=tuple(_verdict(v) for v in entry.get("idp_verdicts") or ()),
    )


def _outcome(entry: Mapping[str, Any], tool_version: str) -> TargetOutcome:
    if "repeat" in entry:
        raise InputError("a --repeat series cannot be merged: merge joins --config fleet reports")
    report = None
    if entry.get("started_at") is not None and not entry.get("error"):
        report = report_from_entry(entry, tool_version)
    return TargetOutcome(
        name=entry["name"],
        base_url=entry["base_url"],
        fail_on=Severity(entry.get("fail_on", "fail")),
        tags=tuple(entry.get("tags") or ()),
        idp=entry.get("idp"),
        source=entry.get("source"),
        report=report,
        error=entry.get("error"),
    )


def read_document(path: str | Path) -> tuple[str, dict[str, Any]]:
    """(how to name the file, its JSON object): a file that cannot be read or is no JSON
    object is refused with one line."""
    where = shown(str(path), path=True)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{where}: is a directory, not a JSON report") from None
    except UnicodeDecodeError:
        raise InputError(f"{where}: not a JSON report (not UTF-8 text)") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot read it ({exc.strerror})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{where}: not a JSON report (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(document, dict) or "schema_version" not in document:
        raise InputError(f"{where}: not a scim-doctor JSON report (no schema_version)")
    return where, document


def fleet_version(document: Mapping[str, Any], where: str) -> str:
    """The document's schema version, when it is one of a fleet report this version reads."""
    version = document.get("schema_version")
    if version not in FLEET_VERSIONS:
        raise InputError(
            f"{where}: schema version {version!r} is not a fleet report (this scim-doctor "
            f"merges {', '.join(sorted(FLEET_VERSIONS))}: check --config ... --format json)"
        )
    return str(version)


def fleet_from_dict(document: Mapping[str, Any], where: str) -> FleetReport:
    """A version-2 document (check --config --format json) back as a FleetReport."""
    fleet_version(document, where)
    try:
        tool_version = str(document["tool"]["version"])
        return FleetReport(
            tool_version=tool_version,
            started_at=document["started_at"],
            duration_ms=float(document["duration_ms"]),
            targets=tuple(_outcome(t, tool_version) for t in document["targets"]),
            concurrency=int(document.get("environment", {}).get("concurrency", 1)),
            environment=dict(document.get("environment") or {}),
        )
    except InputError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{where}: malformed fleet report ({type(exc).__name__}: {exc})") from None
