"""The exporter's own metrics, on /metrics: how many probes ran, passed and failed per target,
how many requests were answered from the cache and how many were refused, and the process's
resources (prometheus-client's process and platform collectors).

Kept apart from the probe's metrics (/probe), as blackbox_exporter does: these describe the
exporter and are scraped as one ordinary target.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import CollectorRegistry

from scim_doctor import __version__
from scim_doctor.runs.probe_cache import Answer

ADHOC = "(any)"
"""The `target` label of every `--allow-any-target` URL: one label value for all of them, so
a scraper choosing URLs cannot grow the exporter's series without bound."""


class Counters:
    """Counters by target (a configured name, or ADHOC) and refusals by reason."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        info = Gauge(
            "scim_doctor_exporter_build_info",
            "1, labelled with the version of scim-doctor serving.",
            ["version"],
            registry=self.registry,
        )
        info.labels(__version__).set(1)
        self.probes = Counter(
            "scim_doctor_exporter_probes",
            "Probes run (answers served from the cache not counted).",
            ["target"],
            registry=self.registry,
        )
        self.successes = Counter(
            "scim_doctor_exporter_probe_successes",
            "Probes run whose probe_success was 1.",
            ["target"],
            registry=self.registry,
        )
        self.failures = Counter(
            "scim_doctor_exporter_probe_failures",
            "Probes run whose probe_success was 0.",
            ["target"],
            registry=self.registry,
        )
        self.cache_hits = Counter(
            "scim_doctor_exporter_cache_hits",
            "Requests answered with an earlier result (younger than --min-interval) or with a "
            "run another request had started.",
            ["target"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "scim_doctor_exporter_refused_requests",
            "/probe requests refused, by reason (url_not_allowed, unknown_target, bad_url, "
            "bad_parameter).",
            ["reason"],
            registry=self.registry,
        )

    def expect(self, targets: Iterable[str]) -> None:
        """Start every configured target's counters at 0, so `rate()` and `increase()` see a
        target's first failure as an increase rather than as a new series."""
        for target in targets:
            for counter in (self.probes, self.successes, self.failures, self.cache_hits):
                counter.labels(target)

    def answered(self, target: str, answer: Answer) -> None:
        if answer.cached or answer.shared:
            self.cache_hits.labels(target).inc()
            return
        self.probes.labels(target).inc()
        outcome = answer.probed.outcome
        status = outcome.status
        (self.successes if status in ("pass", "warn") else self.failures).labels(target).inc()

    def refused(self, reason: str) -> None:
        self.refusals.labels(reason).inc()
