"""The `lifecycle` check (not implemented yet: reported as skipped, never as passed)."""

from __future__ import annotations

from scim_doctor.context import ProbeContext
from scim_doctor.probes.base import Outcome


async def run(ctx: ProbeContext) -> Outcome:
    if not ctx.options.allow_writes:
        return Outcome(skip_reason="read-only run: writes need --allow-writes")
    return Outcome(skip_reason="not implemented in this version of scim-doctor")
