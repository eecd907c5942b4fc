"""`scim-doctor merge`: the fleet reports of N CI shards joined into the report one runner would
have written, so the matrix still ends in one summary, one JUnit file, one verdict.

Targets come back in config order (their `source`, FILE:LINE, when every target has one: the
shards of one config file), else in the order the files were given. A target in two files means
the files are not shards of one run — refused, as are files of different schema versions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from scim_doctor.core.echo import shown
from scim_doctor.core.errors import InputError
from scim_doctor.core.fleet import FleetReport, TargetOutcome


def _instant(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _source_key(outcome: TargetOutcome) -> tuple[str, int]:
    file, _, line = (outcome.source or "").rpartition(":")
    return (file, int(line)) if line.isdigit() else (outcome.source or "", 0)


def merge(reports: Sequence[tuple[str, str, FleetReport]]) -> FleetReport:
    """Join (file name, schema version, report) triples into one fleet report."""
    if not reports:
        raise InputError("merge needs at least one JSON report")
    versions = {version for _, version, _ in reports}
    if len(versions) > 1:
        listed = ", ".join(f"{shown(name, path=True)} is {version}" for name, version, _ in reports)
        raise InputError(f"the reports have different schema versions ({listed}): merge one kind")
    seen: dict[str, str] = {}
    targets: list[TargetOutcome] = []
    for name, _, fleet in reports:
        for outcome in fleet.targets:
            if outcome.name in seen:
                raise InputError(
                    f"target {shown(outcome.name, quote=True)} is in both "
                    f"{shown(seen[outcome.name], path=True)} and {shown(name, path=True)}: "
                    "merge joins the shards of one run, each target once"
                )
            seen[outcome.name] = name
            targets.append(outcome)
    if all(t.source and re.search(r":\d+$", t.source) for t in targets):
        targets.sort(key=_source_key)
    starts = [_instant(fleet.started_at) for _, _, fleet in reports]
    ends = [
        _instant(fleet.started_at) + dt.timedelta(milliseconds=fleet.duration_ms)
        for _, _, fleet in reports
    ]
    first = reports[0][2]
    environment = {k: v for k, v in first.environment.items() if k != "shard"}
    environment["merged_from"] = len(reports)
    return FleetReport(
        tool_version=first.tool_version,
        started_at=min(f.started_at for _, _, f in reports),
        duration_ms=round((max(ends) - min(starts)).total_seconds() * 1000, 1),
        targets=tuple(targets),
        concurrency=first.concurrency,
        environment=environment,
    )
