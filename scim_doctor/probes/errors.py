"""The `errors` check (not implemented yet: reported as skipped, never as passed)."""

from __future__ import annotations

from scim_doctor.context import ProbeContext
from scim_doctor.probes.base import Outcome


async def run(ctx: ProbeContext) -> Outcome:
    return Outcome(skip_reason="not implemented in this version of scim-doctor")
