"""Every node behind the name, for the `auth` check: one authenticated `GET /Users?count=1` each.

The `connect` check reaches every address of the host (several A/AAAA records, or `--resolve
HOST:PORT:ADDR,ADDR`); the run's requests all go to the first. A node that answers the token
differently (a stale deployment, another tenant's configuration, a node without the API) fails
a share of the identity provider's calls. Each other node gets the request Google makes first,
at once (bounded), through a client pinned to that address: the token goes only to addresses the
name resolves to (or that --resolve pins), over https, with the target's name for SNI and Host.
"""

from __future__ import annotations

import asyncio

import msgspec.structs

from scim_doctor.checks.base import Outcome
from scim_doctor.core import findings
from scim_doctor.net.context import ProbeContext, Shared
from scim_doctor.net.http import HttpClient, HttpResult
from scim_doctor.net.target import ResolvePin

PATH = "/Users?count=1"
NODE_CONCURRENCY = 8


async def _ask(ctx: ProbeContext, address: str, gate: asyncio.Semaphore) -> HttpResult:
    pin = ResolvePin(host=ctx.target.host, port=ctx.target.port, address=address)
    options = msgspec.structs.replace(ctx.options, resolve=(pin,))
    pinned = msgspec.structs.replace(ctx, options=options, shared=Shared(), http=None)
    client = HttpClient(pinned)
    try:
        async with gate:
            return await client.request("GET", PATH)
    finally:
        await client.aclose()


async def compare(ctx: ProbeContext, token: HttpResult, outcome: Outcome) -> None:
    """Ask every other node what the token's request asked the first; name one that differs."""
    first = ctx.shared.connected_address
    others = [a for a in ctx.shared.extra.get("nodes", []) if a != first]
    if not others or ctx.token is None or first is None:
        return
    gate = asyncio.Semaphore(NODE_CONCURRENCY)
    results = await asyncio.gather(*(_ask(ctx, a, gate) for a in others))
    outcome.exchanges.extend(r.exchange for r in results)
    outcome.facts["nodes"] = [{"address": first, "status": token.status}] + [
        {"address": a, "status": r.status} for a, r in zip(others, results, strict=True)
    ]
    differ = [(a, r) for a, r in zip(others, results, strict=True) if r.status != token.status]
    if not differ:
        return
    listed = ", ".join(
        f"{a} answered {r.status if r.status is not None else 'nothing'}"
        + (f" {r.reason}" if r.reason else "")
        for a, r in differ
    )
    outcome.add(
        findings.make(
            "auth.node_differs",
            f"GET {PATH} with the token answered {token.status} at {first}, but {listed}. A "
            "client picks one address per connection, so a share of the identity provider's "
            "calls get the other answer",
        )
    )
