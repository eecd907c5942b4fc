"""The `url` check: what the URL lint found when the base URL was parsed.

The lint runs while parsing (scim_doctor.target) because the corrected URL is what every other
check uses; this check only puts its findings in the report.
"""

from __future__ import annotations

from scim_doctor.checks.base import Outcome
from scim_doctor.net.context import ProbeContext
from scim_doctor.scim.idp_requests import first_requests


async def run(ctx: ProbeContext) -> Outcome:
    target = ctx.target
    outcome = Outcome(findings=list(target.lint))
    outcome.facts = {
        "given_url": target.given_url,
        "checked_url": target.base_url,
        "scheme": target.scheme,
        "host": target.host,
        "port": target.port,
        "path": target.path or "/",
        "provider_requests": first_requests(
            target.base_url,
            query=target.query
            if any(f.code == "url.entra_feature_flag" for f in target.lint)
            else "",
            trailing_slash=any(f.code == "url.trailing_slash" for f in target.lint),
        ),
    }
    if target.lint:
        outcome.summary = f"checked {target.base_url} (corrected from what was given)"
    else:
        outcome.summary = f"{target.base_url} is well formed"
    return outcome
