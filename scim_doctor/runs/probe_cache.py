"""Probes for a scraper (`scim-doctor serve`): each target diagnosed at most once per
`min_interval`, concurrent requests for one target sharing one run, every run within the
deadline the scraper gives.

Prometheus scrapes every 15 s by default, and several Prometheus servers (an HA pair) scrape
the same exporter: without this, each scrape would send the endpoint a full set of
authenticated requests. A result younger than `min_interval` is answered again; a request that
arrives while its target is being diagnosed waits for that run instead of starting another.

Everything here runs on one asyncio loop, so the bookkeeping needs no locks.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import msgspec.structs
from msgspec import Struct

from scim_doctor.core.fleet import TargetOutcome, now
from scim_doctor.runs.fleet import FleetTarget, diagnose_one

MIN_DEADLINE_S = 0.5
"""A probe gets at least this long, whatever the scraper's timeout leaves."""
MAX_REMEMBERED = 256
"""Results kept at most (configured targets and `--allow-any-target` URLs alike): arbitrary
URLs must not grow the exporter's memory without bound."""

Runner = Callable[[FleetTarget], Awaitable[TargetOutcome]]


class Probed(Struct, frozen=True):
    """One finished run of a target."""

    outcome: TargetOutcome
    finished: float
    """time.monotonic() when it ended: its age decides whether it is served again."""
    finished_at: str
    """ISO 8601 UTC time it ended, for people (the exporter's / page)."""


class Answer(Struct, frozen=True):
    """What one request for a target gets."""

    probed: Probed
    cached: bool
    """True when an earlier run was served (younger than min_interval)."""
    shared: bool = False
    """True when the request waited for a run another request had started."""


class ProbeTimeout(Exception):
    """The run this request waits for did not end within the request's own deadline (it was
    started by a request with a longer one)."""


class ProbeCache:
    """Runs, results and runs in progress, by key (a target's name, or an ad-hoc URL)."""

    def __init__(self, min_interval: float, runner: Runner = diagnose_one) -> None:
        self.min_interval = min_interval
        self._runner = runner
        self._last: OrderedDict[str, Probed] = OrderedDict()
        self._running: dict[str, asyncio.Task[Probed]] = {}
        self.runs = 0
        """How many runs were started (tests and the exporter's counters read it)."""

    def last(self, key: str) -> Probed | None:
        return self._last.get(key)

    def fresh(self, key: str) -> Probed | None:
        """The last result of `key` if it is younger than min_interval."""
        probed = self._last.get(key)
        if probed is not None and time.monotonic() - probed.finished < self.min_interval:
            return probed
        return None

    async def probe(self, key: str, spec: Callable[[], FleetTarget], budget: float) -> Answer:
        """The target's result: a fresh one, the run in progress, or a new run that ends
        within `budget` seconds (the target's own deadline when that is shorter).

        `spec` is called only when a run starts, so a token is read (from its file or
        variable) no more often than the target is probed: a rotated token is picked up."""
        fresh = self.fresh(key)
        if fresh is not None:
            return Answer(fresh, cached=True)
        task = self._running.get(key)
        shared = task is not None
        if task is None:
            task = asyncio.ensure_future(self._run(key, spec(), budget))
            self._running[key] = task
            task.add_done_callback(lambda _: self._running.pop(key, None))
        try:
            # shield: one impatient request giving up must not cancel the run others wait for.
            probed = await asyncio.wait_for(asyncio.shield(task), timeout=budget + 1.0)
        except asyncio.TimeoutError:
            raise ProbeTimeout(key) from None
        return Answer(probed, cached=False, shared=shared)

    async def _run(self, key: str, spec: FleetTarget, budget: float) -> Probed:
        deadline = max(MIN_DEADLINE_S, min(spec.options.deadline, budget))
        options = msgspec.structs.replace(
            spec.options, deadline=deadline, timeout=min(spec.options.timeout, deadline)
        )
        self.runs += 1
        outcome = await self._runner(msgspec.structs.replace(spec, options=options))
        probed = Probed(outcome=outcome, finished=time.monotonic(), finished_at=now())
        self._last[key] = probed
        self._last.move_to_end(key)
        while len(self._last) > MAX_REMEMBERED:
            self._last.popitem(last=False)
        return probed

    async def close(self) -> None:
        """Cancel every run in progress (the exporter is stopping)."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
