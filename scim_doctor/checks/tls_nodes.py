"""Every node behind the name, for the `tls` check: the same handshake with each other address.

A name with several A/AAAA records (DNS round robin, a load balancer's nodes, or `--resolve
HOST:PORT:ADDR,ADDR`) is judged by the first address that connects; a client picks any of them,
so one node with an expired certificate or a broken TLS setup fails a share of the identity
provider's calls. The addresses the `connect` check reached are handshaken at once (bounded),
with the run's trust store and the target's name, and compared with the main handshake:
certificate (SHA-256), protocol version and ALPN, and whether it verifies. A node that refuses
TLS 1.2 and 1.3 is asked once more with TLS 1.0 allowed, to name what it speaks. No token is
sent here.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from scim_doctor.checks.base import Outcome
from scim_doctor.checks.tls_handshake import (
    OLD_PROTOCOLS,
    PROTOCOL_REFUSED,
    Endpoint,
    Session,
    handshake,
    legacy_context,
)
from scim_doctor.core import findings
from scim_doctor.net import certinfo
from scim_doctor.net.context import ProbeContext

NODE_CONCURRENCY = 8


def _leaf_facts(session: Session) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "protocol": session.protocol,
        "cipher": session.cipher,
        "alpn": session.alpn,
    }
    if session.chain:
        try:
            leaf = certinfo.load(session.chain[0])
        except ValueError:
            return facts
        facts.update(
            sha256=certinfo.fingerprint_sha256(leaf),
            not_after=certinfo.iso(certinfo.not_after(leaf)),
            days_left=certinfo.days_left(leaf),
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
            reason = str(exc.reason or exc)
            if reason in PROTOCOL_REFUSED:
                return await _old_protocol(ctx, endpoint, reason)
            return {"address": address, "verified": False, "error": reason}
        except (OSError, asyncio.TimeoutError) as exc:
            why = "no handshake in time" if isinstance(exc, asyncio.TimeoutError) else str(exc)
            return {"address": address, "verified": False, "error": why}
    return {"address": address, "verified": True, **_leaf_facts(session)}


async def _old_protocol(ctx: ProbeContext, endpoint: Endpoint, reason: str) -> dict[str, Any]:
    """A node that shares no version with a TLS 1.2+ client: what it speaks, when older."""
    node: dict[str, Any] = {"address": endpoint.address, "verified": False, "error": reason}
    try:
        old = await handshake(endpoint, legacy_context(), ctx.step_timeout())
    except (OSError, asyncio.TimeoutError):
        return node
    if old.protocol in OLD_PROTOCOLS:
        node.update(
            protocol=old.protocol,
            cipher=old.cipher,
            error=f"refused TLS 1.2 and 1.3 ({reason}); speaks only {old.protocol}",
        )
    return node


async def compare(ctx: ProbeContext, main: Session, address: str, outcome: Outcome) -> None:
    """Handshake with every other node `connect` reached; a failing one is tls.node_differs."""
    others = [a for a in ctx.shared.extra.get("nodes", []) if a != address]
    if not others:
        return
    gate = asyncio.Semaphore(NODE_CONCURRENCY)
    nodes = list(await asyncio.gather(*(_node(ctx, a, gate) for a in others)))
    reference = {"address": address, "verified": True, **_leaf_facts(main)}
    outcome.facts["nodes"] = [reference, *nodes]
    verified = [n for n in nodes if n["verified"] and n.get("sha256")]
    _other_certificates(ctx.target.host, reference, verified, outcome)
    _other_protocols(ctx.target.host, reference, [n for n in nodes if n["verified"]], outcome)
    _earliest_expiry(ctx, reference, verified, outcome)
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


def _served(node: dict[str, Any]) -> str:
    return (
        f"{node['address']} ('{node.get('subject')}', SHA-256 {node.get('sha256')}, valid until "
        f"{node.get('not_after')})"
    )


def _other_certificates(
    host: str, reference: dict[str, Any], verified: list[dict[str, Any]], outcome: Outcome
) -> None:
    """Nodes whose certificate verifies but is not the one `address` serves: hygiene (info);
    what it risks, an earlier expiry, is judged by `_earliest_expiry`."""
    others = [n for n in verified if n["sha256"] != reference.get("sha256")]
    if not others or not reference.get("sha256"):
        return
    outcome.add(
        findings.make(
            "tls.node_cert_differs",
            f"{len(others)} of {len(verified) + 1} addresses of {host} serve another valid "
            f"certificate than {_served(reference)}: "
            + "; ".join(_served(n) for n in others)
            + ". Every one verifies, so no client fails today; the nodes are renewed apart",
        )
    )


def _negotiated(node: dict[str, Any]) -> str:
    alpn = node.get("alpn") or "none"
    return f"{node['address']} ({node.get('protocol')}, {node.get('cipher')}, ALPN {alpn})"


def _other_protocols(
    host: str, reference: dict[str, Any], verified: list[dict[str, Any]], outcome: Outcome
) -> None:
    """Nodes that complete the handshake with another TLS version or ALPN protocol than
    `address`: hygiene (info). Each verified with this run's TLS 1.2+ client, so every
    provider connects to each; a node below TLS 1.2 fails the handshake (tls.node_differs)."""
    shape = (reference.get("protocol"), reference.get("alpn"))
    others = [n for n in verified if (n.get("protocol"), n.get("alpn")) != shape]
    if not others:
        return
    outcome.add(
        findings.make(
            "tls.node_protocol_differs",
            f"{len(others)} of {len(verified) + 1} addresses of {host} negotiate another TLS "
            f"version or ALPN protocol than {_negotiated(reference)}: "
            + "; ".join(_negotiated(n) for n in others)
            + ". Each is TLS 1.2 or later, which every provider speaks, so no call fails "
            "today; the nodes are configured apart",
        )
    )


def _earliest_expiry(
    ctx: ProbeContext, reference: dict[str, Any], verified: list[dict[str, Any]], outcome: Outcome
) -> None:
    """A client may land on any node, so the certificate that expires first decides: its days
    become the check's `days_to_expiry`, and tls.cert_expires_soon names its address when it
    is within the warning threshold (replacing the main node's, which expires later)."""
    main_days = reference.get("days_left")
    soonest = min(verified, key=lambda n: n["days_left"], default=None)
    if soonest is None or main_days is None or soonest["days_left"] >= main_days:
        return
    days = soonest["days_left"]
    outcome.facts.update(days_to_expiry=days, days_to_expiry_address=soonest["address"])
    ctx.shared.tls.update(days_to_expiry=days)
    threshold = ctx.options.expiry_warn_days
    if not 0 <= days < threshold:
        return
    outcome.findings[:] = [f for f in outcome.findings if f.code != "tls.cert_expires_soon"]
    outcome.add(
        findings.make(
            "tls.cert_expires_soon",
            f"the certificate served by {_served(soonest)} expires in {days} day"
            f"{'' if days == 1 else 's'} (warning threshold: {threshold} days), before the one "
            f"{reference['address']} serves (valid until {reference.get('not_after')}): a "
            "client may land on any node, so the earliest expiry behind the name decides",
        )
    )
    outcome.summary += f"; the certificate of {soonest['address']} expires in {days} days"
