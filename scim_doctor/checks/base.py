"""How a probe is declared and what it hands back to the runner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from msgspec import Struct, field

from scim_doctor.core.model import Exchange, Finding, Severity, Status
from scim_doctor.net.context import ProbeContext


class Outcome(Struct):
    """What one probe observed; the runner turns it into a frozen CheckResult."""

    summary: str = ""
    findings: list[Finding] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    exchanges: list[Exchange] = field(default_factory=list)
    skip_reason: str | None = None
    """Set when the probe found it cannot run (e.g. nothing to check); status becomes skip."""
    unblocks_dependents: bool | frozenset[str] | None = None
    """Override whether later checks may run after this one failed: all of them (tls with
    --insecure), or only the ids given (redirect after an http:// base URL, which it walks
    without the token)."""

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    @property
    def status(self) -> Status:
        if self.skip_reason is not None:
            return Status.SKIP
        worst = max((f.severity.rank for f in self.findings), default=-1)
        if worst >= Severity.FAIL.rank:
            return Status.FAIL
        if worst >= Severity.WARN.rank:
            return Status.WARN
        return Status.PASS


ProbeFn = Callable[[ProbeContext], Awaitable[Outcome]]
ConnectionsFn = Callable[[ProbeContext], Sequence[tuple[str, int]]]
"""The connections a check's first requests go out on at once: (a URL of their origin, how
many)."""


def on_base_url(count: int) -> ConnectionsFn:
    """`count` connections to the base URL's origin."""
    return lambda ctx: [(ctx.target.url(), count)]


class Probe(Struct, frozen=True):
    """A check, declared once: the registry in scim_doctor.probes lists them in run order."""

    id: str
    title: str
    requires: tuple[str, ...]
    """Checks that must have passed (or warned) for this one to run."""
    run: ProbeFn
    after: tuple[str, ...] = ()
    """Checks that must have finished first, whatever their result (ordering only)."""
    ahead_of: tuple[str, ...] = ()
    """Prerequisites this check may start before they finish: once one says its dependents may
    start (`ProbeContext.let_dependents_start`), this check sends its requests alongside it;
    its result is reported only if the prerequisite then passes, otherwise it is cancelled and
    skipped with the same reason as if it had waited. Only for read-only checks."""
    connections: ConnectionsFn | None = None
    """The connections this check's first requests need, opened for it ahead of time."""
    warms_pool: bool = False
    """When this check starts, the runner opens every selected check's `connections` alongside
    it (TCP, and the verified TLS handshake the HTTP client would make: nothing is sent), so
    the first requests find them ready instead of paying two round trips after `tls`."""
