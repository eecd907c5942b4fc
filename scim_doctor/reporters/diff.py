"""`scim-doctor diff OLD.json NEW.json`: what changed between two runs, and whether for the worse.

A nightly job keeps yesterday's JSON report and compares: a check that went from pass to fail, a
finding that appeared, a certificate that was replaced, an address that moved, a check that got
much slower. It reads JSON reports (schema version 1), not live results, so it works on reports
from other machines and older scim-doctor versions. docs/diff.md documents the JSON shape.

Direction: pass < warn < fail. A change to or from skip or error is "inconclusive": it says the
check could not tell, not that the endpoint got better or worse; the findings that come with it
still count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from msgspec import Struct
from msgspec.structs import asdict

from scim_doctor.core.errors import InputError
from scim_doctor.core.json_text import indented
from scim_doctor.core.report_load import read_document

DIFF_VERSION = "1"
SUPPORTED_SCHEMA_VERSIONS = frozenset({"1", "1.1", "1.2"})

TIMING_MIN_MS = 100.0
"""A check's duration must change by more than this many milliseconds..."""
TIMING_MIN_RATIO = 0.5
"""...and by more than this fraction of the old duration to count as a shift."""

_RANK = {"pass": 0, "warn": 1, "fail": 2}
_CERT_FIELDS = ("sha256", "not_after", "issuer")


class RunRef(Struct, frozen=True):
    """Which run a side of the diff is."""

    base_url: str
    started_at: str
    tool_version: str
    status: str


class StatusChange(Struct, frozen=True):
    check: str
    title: str
    old: str | None
    """None when the check is not in the old report."""
    new: str | None
    """None when the check is not in the new report."""
    direction: str
    """worse, better or inconclusive (to or from skip/error, or a check added or removed)."""


class FindingChange(Struct, frozen=True):
    check: str
    code: str
    severity: str
    message: str
    """The message of the report the finding is in (the new one for new findings)."""


class FieldChange(Struct, frozen=True):
    field: str
    old: Any
    new: Any


class AddressChange(Struct, frozen=True):
    added: tuple[str, ...]
    removed: tuple[str, ...]


class TimingShift(Struct, frozen=True):
    check: str
    old_ms: float
    new_ms: float

    @property
    def change_pct(self) -> float:
        return round((self.new_ms - self.old_ms) / self.old_ms * 100, 1) if self.old_ms else 0.0


class ReportDiff(Struct, frozen=True):
    """Everything that differs between two reports, in check order."""

    old: RunRef
    new: RunRef
    status_changes: tuple[StatusChange, ...]
    new_findings: tuple[FindingChange, ...]
    resolved_findings: tuple[FindingChange, ...]
    certificate_changes: tuple[FieldChange, ...]
    """Changes of the leaf certificate (tls facts chain[0]): sha256, not_after, issuer."""
    address_changes: AddressChange | None
    """Addresses the dns check found that appeared or went away; None when unchanged."""
    timing_shifts: tuple[TimingShift, ...]

    @property
    def worse(self) -> bool:
        """A status got worse, or a warn/fail finding appeared."""
        return any(c.direction == "worse" for c in self.status_changes) or any(
            f.severity in ("warn", "fail") for f in self.new_findings
        )

    @property
    def empty(self) -> bool:
        return not (
            self.status_changes
            or self.new_findings
            or self.resolved_findings
            or self.certificate_changes
            or self.address_changes
            or self.timing_shifts
        )


# --- loading ------------------------------------------------------------------------------------


def load_report(path: str | Path) -> dict[str, Any]:
    """Read a JSON report, refusing with a one-line InputError anything that is not one."""
    where, document = read_document(path)
    version = document["schema_version"]
    if version in ("2", "2.1", "2.2"):
        raise InputError(
            f"{where}: a multi-target report (schema version {version}, from --config or "
            "--repeat); diff compares single-target reports (schema version 1, 1.1 or 1.2)"
        )
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise InputError(
            f"{where}: report schema version {version!r} is not supported "
            f"(this scim-doctor reads {', '.join(sorted(SUPPORTED_SCHEMA_VERSIONS))})"
        )
    checks = document.get("checks")
    if not isinstance(checks, list) or not all(
        isinstance(c, dict) and isinstance(c.get("id"), str) and isinstance(c.get("status"), str)
        for c in checks
    ):
        raise InputError(f"{where}: malformed report (checks must be objects with id and status)")
    return document


# --- comparing ------------------------------------------------------------------------------------


def _run(report: Mapping[str, Any]) -> RunRef:
    target = report.get("target") or {}
    tool = report.get("tool") or {}
    summary = report.get("summary") or {}
    return RunRef(
        base_url=str(target.get("base_url", "")),
        started_at=str(report.get("started_at", "")),
        tool_version=str(tool.get("version", "")),
        status=str(summary.get("status", "")),
    )


def _checks(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {check["id"]: check for check in report.get("checks", [])}


def _direction(old: str | None, new: str | None) -> str:
    if old in _RANK and new in _RANK:
        return "worse" if _RANK[new] > _RANK[old] else "better"
    return "inconclusive"


def _status_changes(
    old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]
) -> list[StatusChange]:
    changes = []
    for check_id in [*new, *(c for c in old if c not in new)]:
        before = old.get(check_id, {}).get("status")
        after = new.get(check_id, {}).get("status")
        if before == after:
            continue
        title = str((new.get(check_id) or old.get(check_id) or {}).get("title", check_id))
        changes.append(StatusChange(check_id, title, before, after, _direction(before, after)))
    return changes


def _findings(checks: Mapping[str, Mapping[str, Any]]) -> dict[tuple[str, str], FindingChange]:
    """Findings keyed by (check, code): messages carry dates and counts that change every run."""
    found: dict[tuple[str, str], FindingChange] = {}
    for check_id, check in checks.items():
        for finding in check.get("findings") or []:
            if not isinstance(finding, Mapping) or "code" not in finding:
                continue
            key = (check_id, str(finding["code"]))
            found.setdefault(
                key,
                FindingChange(
                    check_id,
                    key[1],
                    str(finding.get("severity", "")),
                    str(finding.get("message", "")),
                ),
            )
    return found


def _leaf(checks: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any]:
    chain = (checks.get("tls", {}).get("facts") or {}).get("chain")
    if isinstance(chain, list) and chain and isinstance(chain[0], Mapping):
        return chain[0]
    return {}


def _certificate_changes(
    old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]
) -> list[FieldChange]:
    before, after = _leaf(old), _leaf(new)
    if not before or not after:  # no certificate seen on one side: nothing to compare
        return []
    return [
        FieldChange(name, before.get(name), after.get(name))
        for name in _CERT_FIELDS
        if before.get(name) != after.get(name)
    ]


def _addresses(checks: Mapping[str, Mapping[str, Any]]) -> list[str] | None:
    addresses = (checks.get("dns", {}).get("facts") or {}).get("addresses")
    if not isinstance(addresses, list) or not addresses:
        return None
    return [str(a) for a in addresses]


def _address_changes(
    old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]
) -> AddressChange | None:
    before, after = _addresses(old), _addresses(new)
    if before is None or after is None:  # a failed lookup is a status change, not a move
        return None
    added = tuple(a for a in after if a not in before)
    removed = tuple(a for a in before if a not in after)
    return AddressChange(added, removed) if added or removed else None


def _timing_shifts(
    old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]
) -> list[TimingShift]:
    shifts = []
    for check_id, after in new.items():
        before = old.get(check_id)
        if before is None or {before.get("status"), after.get("status")} & {"skip", "error"}:
            continue
        old_ms, new_ms = before.get("duration_ms"), after.get("duration_ms")
        if not isinstance(old_ms, (int, float)) or not isinstance(new_ms, (int, float)):
            continue
        delta = abs(new_ms - old_ms)
        if delta > TIMING_MIN_MS and delta > TIMING_MIN_RATIO * old_ms:
            shifts.append(TimingShift(check_id, float(old_ms), float(new_ms)))
    return shifts


def diff_reports(old: Mapping[str, Any], new: Mapping[str, Any]) -> ReportDiff:
    """Compare two loaded JSON reports (see `load_report`)."""
    old_checks, new_checks = _checks(old), _checks(new)
    old_findings, new_findings = _findings(old_checks), _findings(new_checks)
    return ReportDiff(
        old=_run(old),
        new=_run(new),
        status_changes=tuple(_status_changes(old_checks, new_checks)),
        new_findings=tuple(f for k, f in new_findings.items() if k not in old_findings),
        resolved_findings=tuple(f for k, f in old_findings.items() if k not in new_findings),
        certificate_changes=tuple(_certificate_changes(old_checks, new_checks)),
        address_changes=_address_changes(old_checks, new_checks),
        timing_shifts=tuple(_timing_shifts(old_checks, new_checks)),
    )


# --- rendering ------------------------------------------------------------------------------------


def _run_line(label: str, run: RunRef) -> str:
    return f"{label} {run.base_url} at {run.started_at} ({run.status or 'unknown'})"


def _finding_lines(title: str, found: Sequence[FindingChange]) -> list[str]:
    lines = [f"{title}:"]
    for f in found:
        lines.append(f"  [{f.severity}] {f.code} ({f.check})")
        lines.append(f"      {f.message}")
    return lines


def render_text(diff: ReportDiff) -> str:
    lines = [
        "scim-doctor diff",
        _run_line("  old:", diff.old),
        _run_line("  new:", diff.new),
    ]
    if diff.old.base_url != diff.new.base_url:
        lines.append("  note: the two reports are for different base URLs")
    lines.append("")
    if diff.empty:
        return "\n".join([*lines, "No differences."]) + "\n"
    if diff.status_changes:
        width = max(len(c.check) for c in diff.status_changes)
        lines.append("Checks:")
        for c in diff.status_changes:
            move = f"{c.old or 'absent'} -> {c.new or 'absent'}"
            lines.append(f"  {c.check:<{width}}  {move:<17} {c.direction}")
        lines.append("")
    if diff.new_findings:
        lines += [*_finding_lines("New findings", diff.new_findings), ""]
    if diff.resolved_findings:
        lines += [*_finding_lines("Resolved findings", diff.resolved_findings), ""]
    if diff.certificate_changes:
        lines.append("Certificate (leaf):")
        for change in diff.certificate_changes:
            lines.append(f"  {change.field}: {change.old} -> {change.new}")
        lines.append("")
    if diff.address_changes:
        lines.append("Addresses:")
        if diff.address_changes.added:
            lines.append(f"  added:   {', '.join(diff.address_changes.added)}")
        if diff.address_changes.removed:
            lines.append(f"  removed: {', '.join(diff.address_changes.removed)}")
        lines.append("")
    if diff.timing_shifts:
        lines.append(
            f"Timing shifts (more than {TIMING_MIN_RATIO:.0%} and {TIMING_MIN_MS:.0f} ms):"
        )
        for s in diff.timing_shifts:
            lines.append(
                f"  {s.check}: {s.old_ms:.0f} ms -> {s.new_ms:.0f} ms ({s.change_pct:+.0f} %)"
            )
        lines.append("")
    lines.append("Worse: yes." if diff.worse else "Worse: no.")
    return "\n".join(lines) + "\n"


def diff_to_dict(diff: ReportDiff) -> dict[str, Any]:
    """The documented JSON shape (docs/diff.md), version "1"."""
    return {
        "diff_version": DIFF_VERSION,
        "old": asdict(diff.old),
        "new": asdict(diff.new),
        "worse": diff.worse,
        "status_changes": [asdict(c) for c in diff.status_changes],
        "new_findings": [asdict(f) for f in diff.new_findings],
        "resolved_findings": [asdict(f) for f in diff.resolved_findings],
        "certificate_changes": [asdict(c) for c in diff.certificate_changes],
        "address_changes": (
            {
                "added": list(diff.address_changes.added),
                "removed": list(diff.address_changes.removed),
            }
            if diff.address_changes
            else None
        ),
        "timing_shifts": [{**asdict(s), "change_pct": s.change_pct} for s in diff.timing_shifts],
    }


def render_json(diff: ReportDiff) -> str:
    return indented(diff_to_dict(diff), default=str) + "\n"
