"""Every node behind the name, for the `tls` check: the same handshake with each other address.

A name with several A/AAAA records (DNS round robin, a load balancer's nodes, or `--resolve
HOST:PORT:ADDR,ADDR`) is judged by the first address that connects; a client picks any of them,
so one node with an expired certificate or a broken TLS setup fails a share of the identity
provider's calls. The addresses the `connect` check reached are handshaken at once (bounded),
with the run's trust store and the target's name, and compared with the main handshake:
certificate (SHA-256), protocol, and whether it verifies. No token is sent here.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from scim_doctor.checks.base import Outcome
from scim_doctor.checks.tls_handshake import Endpoint, Session, handshake
from scim_doctor.core import findings
from scim_doctor.net import certinfo
from scim_doctor.net.context import ProbeContext

NODE_CONCURRENCY = 8


def _leaf_facts(session: Session) -> dict[str, Any]:
    facts: dict[str, Any] = {"protocol": session.protocol}
    if session.chain:
        try:
            leaf = certinfo.load(session.chain[0])
        except ValueError:
            return facts
        facts.update(
            sha256=certinfo.fingerprint_sha256(leaf),
            not_after=certinfo.iso(certinfo.not_after(leaf)),
            subject=leaf.subject.rfc4514_string(),
        )
    return facts


async def _node(ctx: ProbeContext, address: str, gate: asyncio.Semaphore) -> dict[str, Any]:
    endpoint = Endpoint(address=address, port=ctx.target.port, server_hostname=ctx.target.host)
    async with gate:
        try:
            session = await handshake(endpoint, ctx.trust.context, ctx.step_timeout())
        except ssl.SSLCertVerificationError as exc:
            return {
                "address": address,
                "verified": False,
                "error": exc.verify_message or exc.reason or str(exc),
            }
        except ssl.SSLError as exc:
            return {"address": address, "verified": False, "error": str(exc.reason or exc)}
        except (OSError, asyncio.TimeoutError) as exc:
            why = "no handshake in time" if isinstance(exc, asyncio.TimeoutError) else str(exc)
            return {"address": address, "verified": False, "error": why}
    return {"address": address, "verified": True, **_leaf_facts(session)}


async def compare(ctx: ProbeContext, main: Session, address: str, outcome: Outcome) -> None:
    """Handshake with every other node `connect` reached; a failing one is tls.node_differs."""
    others = [a for a in ctx.shared.extra.get("nodes", []) if a != address]
    if not others:
        return
    gate = asyncio.Semaphore(NODE_CONCURRENCY)
    nodes = list(await asyncio.gather(*(_node(ctx, a, gate) for a in others)))
    reference = {"address": address, "verified": True, **_leaf_facts(main)}
    outcome.facts["nodes"] = [reference, *nodes]
    broken = [n for n in nodes if not n["verified"]]
    if not broken:
        return
    where = ", ".join(f"{n['address']} ({n['error']})" for n in broken)
    outcome.add(
        findings.make(
            "tls.node_differs",
            f"{len(broken)} of {len(nodes) + 1} addresses of {ctx.target.host} fail the TLS "
            f"handshake that {address} completes ({reference.get('protocol')}, certificate "
            f"SHA-256 {reference.get('sha256')}, valid until {reference.get('not_after')}): "
            f"{where}. A client picks one address per connection, so a share of the identity "
            "provider's calls fail",
        )
    )
    outcome.summary += f"; {len(broken)} other node(s) fail: {where}"
