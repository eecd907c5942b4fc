"""Looking for the right base path when `/Users` is not found under the one given (`auth`).

A wrong base path (`/scim` where the API lives at `/scim/v2`, a version or tenant segment too
many or too few) is the most common cause of a 404 on `/Users`. Rather than only saying "copy the
base URL exactly", a bounded set of read-only candidates on the same origin is tried: at most
eight `GET <candidate>/ServiceProviderConfig` without the token, at once, then one with the token
to the first candidate that answered as SCIM. "Did you mean" is said only for a candidate that
answers SCIM. Every candidate is built from the base URL's own scheme, host and port, so the
token only ever goes to that origin (the HTTP layer refuses anything else: net/outgoing.py).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from scim_doctor.core import findings
from scim_doctor.core.model import Finding
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.http import HttpClient, HttpResult

MAX_CANDIDATES = 8
SPC_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
_COMMON = ("/scim/v2", "/api/scim/v2", "/scim", "/api/v2/scim", "/v2")


def candidates(path: str) -> list[str]:
    """Base paths to try instead of `path` (without a trailing slash), most likely first."""
    path = path.rstrip("/")
    found: list[str] = []
    if path.lower().endswith("/v2"):
        found.append(path[:-3])
    else:
        found.append(path + "/v2")
        found.append(path + "/scim/v2")
    found += _COMMON
    if "/" in path.strip("/"):
        found.append(path.rsplit("/", 1)[0])
    unique = [c for c in dict.fromkeys(f or "/" for f in found) if c.rstrip("/") != path]
    return unique[:MAX_CANDIDATES]


def _json(result: HttpResult) -> dict[str, Any] | None:
    try:
        value = json.loads(result.body)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def answers_scim(result: HttpResult) -> bool:
    """A ServiceProviderConfig, or a SCIM Error refusing the anonymous request."""
    body = _json(result)
    if body is None or result.status is None:
        return False
    schemas = body.get("schemas")
    schemas = schemas if isinstance(schemas, list) else []
    if result.status == 200:
        return SPC_URN in schemas or "authenticationSchemes" in body
    return result.status in (401, 403) and ERROR_URN in schemas


async def search(ctx: ProbeContext, client: HttpClient) -> tuple[Finding | None, list[HttpResult]]:
    """Try the candidates: a finding naming the one that answers SCIM (else None), and every
    result, in order (the facts are in `facts(results)`)."""
    target = ctx.target
    origin = f"{target.scheme}://{target.netloc}"
    paths = candidates(target.path)
    urls = [f"{origin}{p.rstrip('/')}/ServiceProviderConfig" for p in paths]
    results = await asyncio.gather(*(client.request("GET", u, auth="none") for u in urls))
    tried = {p: r.status for p, r in zip(paths, results, strict=True)}
    hit = next((p for p, r in zip(paths, results, strict=True) if answers_scim(r)), None)
    if hit is None:
        return None, list(results)
    confirmed: int | None = None
    url = f"{origin}{hit.rstrip('/')}/ServiceProviderConfig"
    if ctx.token is not None:
        with_token = await client.request("GET", url, auth="token")
        confirmed = with_token.status
        results.append(with_token)
    anonymous = tried[hit]
    said = f"GET {url} answered {anonymous} without the token"
    if confirmed is not None:
        said += f" and {confirmed} with it"
    finding = findings.make(
        "auth.base_path_elsewhere",
        f"did you mean {origin}{hit}? {said}, as a SCIM server does; the base URL given "
        f"({target.base_url}) serves no /Users. Candidates tried (status without the token): "
        + ", ".join(f"{p} {s}" for p, s in tried.items()),
        remediation=f"Use {origin}{hit} as the base URL in the identity provider and re-run "
        "scim-doctor with it.",
    )
    return finding, list(results)


def facts(results: list[HttpResult], finding: Finding | None) -> dict[str, Any]:
    """What the report keeps: each URL tried and its status, and the one found."""
    shown: dict[str, Any] = {"tried": [{"url": r.url, "status": r.status} for r in results]}
    if finding is not None:
        shown["found"] = finding.message.split("?", 1)[0].removeprefix("did you mean ")
    return shown
