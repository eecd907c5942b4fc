"""A report as Prometheus metrics: what `scim-doctor serve` answers on /probe, and what
`--format openmetrics` writes for node_exporter's textfile collector or a Pushgateway.

Built with prometheus-client's metric families and written by its own exposition code, so the
escaping and the format rules are the library's, not ours. The metric names and labels are a
public interface (docs/prometheus.md): add metrics freely, never rename one or change its labels.

What blackbox_exporter cannot say, this does: the reason a probe failed, as the report's root
cause (check and finding code) in `scim_doctor_probe_failure_info`. Every value comes from the
report; nothing is re-judged here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from msgspec import Struct, field
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest
from prometheus_client.registry import Collector, CollectorRegistry

from scim_doctor.core.fleet import FleetReport
from scim_doctor.core.model import CheckResult, Report, Severity, Status, Verdict

PREFIX = "scim_doctor_"
PROBE_STATUSES = ("pass", "warn", "fail", "error")
"""The summary's status, as `scim_doctor_probe_status{status}` lists it (error: scim-doctor
itself broke on a check, or could not produce a report)."""
CHECK_STATUSES = tuple(status.value for status in Status)
VERDICTS = tuple(verdict.value for verdict in Verdict)
USERS_LISTING = "/Users?startIndex=1&count="
"""The label the users check gives its first GET /Users (the request an IdP makes first)."""

_FAMILIES: dict[str, tuple[str, str]] = {
    # name (without prefix) -> (kind, help)
    "probe_success": (
        "gauge",
        "1 when no identity provider in scope will fail and the run could judge the endpoint "
        "(status pass or warn), else 0.",
    ),
    "probe_status": (
        "gauge",
        "1 for the run's status (pass, warn, fail, error), 0 for the others.",
    ),
    "probe_duration_seconds": ("gauge", "How long the whole run took."),
    "probe_timestamp_seconds": ("gauge", "When the run started (Unix time)."),
    "check_success": (
        "gauge",
        "1 when the check passed or warned, 0 when it failed or broke; no sample when skipped.",
    ),
    "check_status": ("gauge", "1 for the check's status, 0 for the others."),
    "check_duration_seconds": ("gauge", "How long the check took; no sample when skipped."),
    "check_phase_duration_seconds": (
        "gauge",
        "Time of one phase of a check (dns, connect, tls, first_byte, ...).",
    ),
    "findings": ("gauge", "How many findings with this code the check reported."),
    "tls_cert_expiry_timestamp_seconds": (
        "gauge",
        "The earliest notAfter of the certificate chain the server sent (Unix time).",
    ),
    "users_http_status_code": (
        "gauge",
        "HTTP status of the first GET /Users (the listing identity providers make), 0 when no "
        "response arrived.",
    ),
    "idp_verdict": (
        "gauge",
        "1 for the identity provider's verdict (will_work, will_fail, unknown, "
        "not_judged_here), 0 for the others.",
    ),
    "probe_cached": (
        "gauge",
        "1 when this answer is an earlier run's result (younger than serve --min-interval), "
        "0 when the probe ran for it (serve only).",
    ),
    "probe_failure": (
        "info",
        "Why the probe is not clean: the report's root cause (what to fix first), at warn or fail.",
    ),
}


class Families(Struct):
    """Metric families filled from one report or many (a fleet, each with its own labels)."""

    label_names: tuple[str, ...] = ()
    """Labels every sample carries (`target` for a fleet); none for one /probe answer."""
    metrics: dict[str, Metric] = field(default_factory=dict)

    def family(self, name: str, labels: Sequence[str]) -> Metric:
        if name not in self.metrics:
            kind, help_text = _FAMILIES[name]
            names = [*self.label_names, *labels]
            if kind == "info":
                self.metrics[name] = InfoMetricFamily(PREFIX + name, help_text, labels=names)
            else:
                self.metrics[name] = GaugeMetricFamily(PREFIX + name, help_text, labels=names)
        return self.metrics[name]

    def gauge(self, name: str, value: float, base: Sequence[str], **labels: str) -> None:
        family = self.family(name, list(labels))
        assert isinstance(family, GaugeMetricFamily)  # noqa: S101 - _FAMILIES says so
        family.add_metric([*base, *labels.values()], value)

    def info(self, name: str, base: Sequence[str], **labels: str) -> None:
        family = self.family(name, list(labels))
        assert isinstance(family, InfoMetricFamily)  # noqa: S101 - _FAMILIES says so
        family.add_metric(list(base), labels)

    def collect(self) -> Iterable[Metric]:
        """The families in a fixed order (the order of _FAMILIES), so output is deterministic."""
        return [self.metrics[name] for name in _FAMILIES if name in self.metrics]


def probe_status(report: Report | None) -> str:
    """pass, warn or fail as the report says; error when scim-doctor itself broke."""
    if report is None or any(check.status is Status.ERROR for check in report.checks):
        return "error"
    return str(report.status.value)


def add_report(into: Families, report: Report, base: Sequence[str] = ()) -> None:
    """Every metric of one report, each sample labelled with `base` (into.label_names)."""
    status = probe_status(report)
    add_status(into, status, base)
    into.gauge("probe_duration_seconds", round(report.duration_ms / 1000, 4), base)
    into.gauge("probe_timestamp_seconds", _timestamp(report.started_at), base)
    for check in report.checks:
        _add_check(into, check, base)
    expiry = earliest_expiry(report)
    if expiry is not None:
        into.gauge("tls_cert_expiry_timestamp_seconds", expiry, base)
    users = users_status(report)
    if users is not None:
        into.gauge("users_http_status_code", users, base)
    for verdict in report.idp_verdicts:
        for value in VERDICTS:
            hit = float(verdict.verdict.value == value)
            into.gauge("idp_verdict", hit, base, idp=verdict.idp, verdict=value)
    cause = report.root_cause(at_least=Severity.WARN)
    if cause is not None:
        check_id, finding = cause
        into.info(
            "probe_failure",
            base,
            check=check_id,
            code=finding.code,
            severity=finding.severity.value,
            scope=finding.scope.value,
            affects=",".join(finding.affects),
        )


def add_status(into: Families, status: str, base: Sequence[str] = ()) -> None:
    """probe_success and probe_status: all a target gets when no report could be made."""
    into.gauge("probe_success", float(status in ("pass", "warn")), base)
    for value in PROBE_STATUSES:
        into.gauge("probe_status", float(value == status), base, status=value)


def _add_check(into: Families, check: CheckResult, base: Sequence[str]) -> None:
    if check.status is not Status.SKIP:
        ok = check.status in (Status.PASS, Status.WARN)
        into.gauge("check_success", float(ok), base, check=check.id)
    for value in CHECK_STATUSES:
        into.gauge(
            "check_status", float(check.status.value == value), base, check=check.id, status=value
        )
    if check.status is not Status.SKIP:
        seconds = round(check.duration_ms / 1000, 4)
        into.gauge("check_duration_seconds", seconds, base, check=check.id)
    for phase, ms in check.timings_ms.items():
        into.gauge(
            "check_phase_duration_seconds", round(ms / 1000, 4), base, check=check.id, phase=phase
        )
    counts: dict[tuple[str, str], int] = {}
    for finding in check.findings:  # one sample per code: two equal findings count twice
        key = (finding.code, finding.severity.value)
        counts[key] = counts.get(key, 0) + 1
    for (code, severity), count in counts.items():
        into.gauge("findings", count, base, check=check.id, code=code, severity=severity)


def _timestamp(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def earliest_expiry(report: Report) -> float | None:
    """The earliest notAfter in the chain the tls check saw (as blackbox_exporter's
    probe_ssl_earliest_cert_expiry): an intermediate that expires first breaks the chain too;
    so does the leaf of another node behind the name (the tls check's `nodes`), since a client
    may land on any of them."""
    tls = next((c for c in report.checks if c.id == "tls"), None)
    chain = tls.facts.get("chain") if tls is not None else None
    if not isinstance(chain, list):
        return None
    nodes = tls.facts.get("nodes") if tls is not None else None
    times = []
    for cert in [*chain, *(nodes if isinstance(nodes, list) else [])]:
        not_after = cert.get("not_after") if isinstance(cert, Mapping) else None
        if isinstance(not_after, str):
            try:
                times.append(_timestamp(not_after))
            except ValueError:
                continue
    return min(times) if times else None


def users_status(report: Report) -> int | None:
    """The status of the users check's first GET /Users; 0 when it got no answer, None when the
    check did not get that far."""
    users = next((c for c in report.checks if c.id == "users"), None)
    statuses = users.facts.get("statuses") if users is not None else None
    if not isinstance(statuses, Mapping):
        return None
    for label, status in statuses.items():
        if str(label).startswith(USERS_LISTING):
            return int(status) if isinstance(status, int) else 0
    return None


class _Families(Collector):
    """prometheus-client's registry wants a collector; this one hands over fixed families."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


def registry_of(families: Families) -> CollectorRegistry:
    """A registry holding only these families (none of the process's own metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families.collect()))
    return registry


def _exposition(families: Families) -> str:
    """The OpenMetrics text of `families` (prometheus-client types this function only lately)."""
    text: bytes = openmetrics_latest(registry_of(families))  # type: ignore[no-untyped-call,unused-ignore]
    return text.decode("utf-8")


def render(report: Report) -> str:
    """`--format openmetrics`: one report in the OpenMetrics text format, ending in `# EOF`."""
    families = Families(label_names=("target",))
    add_report(families, report, (report.target.base_url,))
    return _exposition(families)


def render_fleet(fleet: FleetReport) -> str:
    """Every target of a `check --config` run in one exposition, each sample labelled with the
    target's name: a target scim-doctor broke on still gets probe_success 0 and status error."""
    families = Families(label_names=("target",))
    for outcome in fleet.targets:
        if outcome.report is None:
            add_status(families, "error", (outcome.name,))
        else:
            add_report(families, outcome.report, (outcome.name,))
    return _exposition(families)
