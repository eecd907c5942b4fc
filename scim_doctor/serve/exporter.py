"""What `scim-doctor serve` answers, apart from HTTP: which target a request means, whether it
may be probed and with what token, the probe's metrics, the exporter's own counters, the page
of recent probes and each target's last HTML report.

The rules that keep a scrapeable endpoint safe live here, in one place:
- a token comes only from the config file's token source of the target it belongs to, read
  when a run starts; nothing in a request can supply one or pick another target's;
- a request may name a configured target only; a URL in `target=` is refused unless the
  exporter was started with `--allow-any-target`, and then it is probed without any token
  (the transport and the unauthenticated checks), so a token never goes to an origin the
  config did not pair it with;
- every run is bounded by the scraper's timeout and shared with concurrent requests, and a
  recent result is served again (runs/probe_cache.py).

The probes run on one asyncio loop in a thread of their own; each HTTP request thread hands
its probe to that loop and waits for the answer.
"""

from __future__ import annotations

import asyncio
import threading
import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout

from msgspec import Struct
from prometheus_client.exposition import choose_encoder

from scim_doctor.core.echo import shown
from scim_doctor.core.errors import InputError
from scim_doctor.core.fleet import TargetOutcome
from scim_doctor.core.secrets import redact
from scim_doctor.reporters import openmetrics
from scim_doctor.runs.config import FleetConfig, TargetConfig
from scim_doctor.runs.fleet import FleetTarget, diagnose_one, prepare
from scim_doctor.runs.probe_cache import Answer, ProbeCache, Probed, ProbeTimeout
from scim_doctor.serve.counters import ADHOC, Counters

SCRAPE_TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"
DEFAULT_MARGIN_S = 0.5
"""Taken off the scraper's timeout, so the answer arrives before the scraper gives up (the
same default offset as blackbox_exporter's)."""
PARAMETERS = ("target",)


class Reply(Struct, frozen=True):
    """An HTTP answer: status, content type and body."""

    status: int
    content_type: str
    body: bytes

    @classmethod
    def text(cls, status: int, message: str) -> Reply:
        return cls(status, "text/plain; charset=utf-8", (message.rstrip("\n") + "\n").encode())


class AdHoc(Struct, frozen=True):
    """How `--allow-any-target` URLs are probed: never with a token."""

    allowed: bool = False
    reach: str = "internet"


class Exporter:
    """The configured targets, their cache of results and the loop that runs their probes."""

    def __init__(
        self,
        config: FleetConfig,
        *,
        min_interval: float = 60.0,
        margin: float = DEFAULT_MARGIN_S,
        adhoc: AdHoc | None = None,
    ) -> None:
        prepare(config.targets)  # every token and CA file readable now, or exit 2 before serving
        self.config = config
        self.targets = {target.name: target for target in config.targets}
        self.margin = margin
        self.adhoc = adhoc or AdHoc()
        self.counters = Counters()
        self.counters.expect(self.targets)
        self._gate: asyncio.Semaphore | None = None
        self.cache = ProbeCache(min_interval, self._gated)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="probes", daemon=True)

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Cancel the runs in progress, stop the loop and join its thread."""
        if self._thread.is_alive():
            done = asyncio.run_coroutine_threadsafe(self.cache.close(), self._loop)
            try:
                done.result(timeout=5.0)
            except FutureTimeout:  # pragma: no cover - a run that ignores cancellation
                pass
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5.0)
        if not self._loop.is_running():
            self._loop.close()

    async def _gated(self, spec: FleetTarget) -> TargetOutcome:
        """At most the config's `concurrency` runs at once, as `check --config` would."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(max(1, self.config.concurrency))
        async with self._gate:
            return await diagnose_one(spec)

    # --- /probe -------------------------------------------------------------------------------

    def budget(self, header: str | None, target_deadline: float) -> float:
        """Seconds the run may take: the scraper's timeout less the margin, when it sends one,
        never more than the target's own deadline."""
        if header:
            try:
                scrape_timeout = float(header)
            except ValueError:
                scrape_timeout = 0.0
            if scrape_timeout > 0:
                return min(target_deadline, scrape_timeout - self.margin)
        return target_deadline

    def probe(self, query: str, scrape_timeout: str | None, accept: str | None) -> Reply:
        """GET /probe?target=NAME: the target's metrics, or why the request is refused."""
        wanted = self._target_parameter(query)
        if isinstance(wanted, Reply):
            return wanted
        config = self.targets.get(wanted)
        if config is not None:
            key, label = f"target:{wanted}", wanted
            budget = self.budget(scrape_timeout, config.deadline)
            answer = self._ask(key, lambda: _configured(config), budget)
        elif "://" in wanted or wanted.lower().startswith(("http:", "https:")):
            if not self.adhoc.allowed:
                self.counters.refused("url_not_allowed")
                return Reply.text(
                    403,
                    "refused: target is a URL, and this exporter probes only the targets of "
                    f"{self.config.path}; add it there (with its token source), or start "
                    "`scim-doctor serve --allow-any-target` to probe any URL without a token",
                )
            try:
                spec = self._adhoc_spec(wanted)
            except InputError as exc:
                self.counters.refused("bad_url")
                return Reply.text(400, f"target: {redact(str(exc))}")
            key, label = f"url:{spec.target.base_url}", ADHOC
            budget = self.budget(scrape_timeout, spec.options.deadline)
            answer = self._ask(key, lambda: spec, budget)
        else:
            self.counters.refused("unknown_target")
            return Reply.text(
                404, f"no target named {shown(wanted, quote=True)} in {self.config.path}"
            )
        if isinstance(answer, Reply):
            return answer
        self.counters.answered(label, answer)
        return self._metrics_reply(answer, accept)

    def _target_parameter(self, query: str) -> str | Reply:
        try:
            pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=False)
        except ValueError:
            pairs = []
        unknown = sorted({name for name, _ in pairs if name not in PARAMETERS})
        if unknown:
            self.counters.refused("bad_parameter")
            names = ", ".join(shown(name, quote=True) for name in unknown)
            return Reply.text(
                400,
                f"unknown parameter {names}: /probe takes only target=NAME (tokens come only "
                "from the config file's token sources, never from a request)",
            )
        values = [value for name, value in pairs if name == "target"]
        if len(values) != 1 or not values[0].strip():
            self.counters.refused("bad_parameter")
            return Reply.text(400, "give exactly one target=NAME (a target of the config file)")
        return values[0].strip()

    def _adhoc_spec(self, url: str) -> FleetTarget:
        from scim_doctor.net.context import Options
        from scim_doctor.net.target import parse_base_url
        from scim_doctor.net.trust import load_trust

        target = parse_base_url(url)
        return FleetTarget(
            name=target.base_url,
            target=target,
            options=Options(reach=self.adhoc.reach),
            token=None,  # never a token for a URL the config does not pair with one
            trust=load_trust(None),
        )

    def _ask(self, key: str, spec: Callable[[], FleetTarget], budget: float) -> Answer | Reply:
        future = asyncio.run_coroutine_threadsafe(self.cache.probe(key, spec, budget), self._loop)
        try:
            return future.result(timeout=budget + 5.0)
        except ProbeTimeout:
            return Reply.text(
                503,
                "a probe of this target started by an earlier request is still running; it "
                "did not end within this request's timeout",
            )
        except (InputError, FutureTimeout) as exc:
            future.cancel()
            return Reply.text(503, f"probe not completed: {redact(str(exc)) or 'timed out'}")

    def _metrics_reply(self, answer: Answer, accept: str | None) -> Reply:
        families = openmetrics.Families()
        report = answer.probed.outcome.report
        if report is None:
            openmetrics.add_status(families, "error")
        else:
            openmetrics.add_report(families, report)
        families.gauge("probe_cached", float(answer.cached), ())
        encoder, content_type = choose_encoder(accept or "")
        return Reply(200, content_type, encoder(openmetrics.registry_of(families)))

    # --- /metrics, /, /report -----------------------------------------------------------------

    def metrics(self, accept: str | None) -> Reply:
        encoder, content_type = choose_encoder(accept or "")
        return Reply(200, content_type, encoder(self.counters.registry))

    def last(self, name: str) -> Probed | None:
        return self.cache.last(f"target:{name}")

    def recent(self) -> Sequence[tuple[TargetConfig, Probed | None]]:
        """Every configured target, in config order, with its last run (None: not probed yet)."""
        return [(target, self.last(target.name)) for target in self.config.targets]


def _configured(config: TargetConfig) -> FleetTarget:
    """The target as the config file describes it, its token read now from its own source."""
    return prepare([config])[0]
