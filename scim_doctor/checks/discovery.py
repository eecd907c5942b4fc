"""The `discovery` check: /ServiceProviderConfig, /ResourceTypes and /Schemas (RFC 7644 §4), and
the User schema and resource type by id (/Schemas/<urn>, /ResourceTypes/User).

Entra ID and Okta's standard provisioning never read these endpoints, while SailPoint's SCIM 2.0
connector and Okta Identity Governance cannot work without them; so their problems are warnings,
never failures (see the catalogue). What the server declares (filter and maxResults, PATCH,
ETag, resource types) is left in `ctx.shared.extra["discovery"]` for checks that run later.
The `users` check runs concurrently with this one and must not wait for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final, Generic, Literal, Protocol, TypeVar

from msgspec import Struct

from scim_doctor.checks.base import Outcome
from scim_doctor.core import findings
from scim_doctor.core.secrets import redact
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.http import HttpClient, HttpResult, common_findings
from scim_doctor.scim.discovery import (
    LIST_RESPONSE,
    USER,
    ListCheck,
    check_resource_types,
    check_schemas,
    check_service_provider_config,
    declaration,
    summarize,
)
from scim_doctor.scim.validators import get_ci, has_schema

SERVICE_PROVIDER_CONFIG = "/ServiceProviderConfig"
RESOURCE_TYPES = "/ResourceTypes"
SCHEMAS = "/Schemas"
PATHS = (SERVICE_PROVIDER_CONFIG, RESOURCE_TYPES, SCHEMAS)
SCHEMA_BY_ID = f"{SCHEMAS}/{USER}"
RESOURCE_TYPE_BY_ID = f"{RESOURCE_TYPES}/User"

State = Literal["ok", "missing", "unusable", "unavailable"]
C = TypeVar("C", bound=ListCheck)
C_co = TypeVar("C_co", bound=ListCheck, covariant=True)


class _Read(Struct, frozen=True):
    """One discovery response, reduced to a document or the reason there is none."""

    state: State
    """ok: a JSON document; missing: 404; unusable: wrong status or not JSON; unavailable:
    no usable answer at the HTTP level (timeouts, 5xx, 429: reported as http.*)."""
    document: Any = None
    problem: str = ""


def _excerpt(result: HttpResult) -> str:
    start = " ".join(result.exchange.body_excerpt[:120].split())
    return f"; the body starts: {start!r}" if start else "; the body is empty"


def _read(result: HttpResult) -> _Read:
    status = result.status
    if not result.ok or status is None or status >= 500 or status == 429:
        return _Read("unavailable")
    if status == 404:
        return _Read("missing", problem=f"answered 404 {result.reason}".rstrip())
    if status != 200:
        location = result.headers.get("location")
        where = f" (Location: {redact(location)})" if location else ""
        return _Read(
            "unusable",
            problem=f"answered {status} {result.reason}{where}, expected 200{_excerpt(result)}",
        )
    parsed = result.json()
    if not parsed.ok:
        kind = result.content_type or "no Content-Type"
        what = "an HTML page" if result.is_html else "not JSON"
        return _Read(
            "unusable",
            problem=f"answered 200 with {what} ({kind}): {parsed.error}{_excerpt(result)}",
        )
    return _Read("ok", parsed.value)


def _endpoint_fact(result: HttpResult) -> dict[str, Any]:
    return {"url": result.url, "status": result.status, "content_type": result.content_type}


async def run(ctx: ProbeContext) -> Outcome:
    if ctx.token is None:
        return Outcome(skip_reason="no token given (--no-token)")
    client = HttpClient.for_context(ctx)
    spc, types, schemas = await asyncio.gather(*(client.request("GET", p) for p in PATHS))
    results = [spc, types, schemas]
    outcome = Outcome(exchanges=[r.exchange for r in results])
    declared: dict[str, Any] = {"service_provider_config": "unavailable", **declaration(None)}
    declared.update(resource_types=None, endpoints={}, schemas=None)
    facts = {path: _endpoint_fact(r) for path, r in zip(PATHS, results, strict=True)}
    strict = ctx.options.strict
    summary = [
        _judge_service_provider_config(spc, outcome, declared, strict=strict),
        _judge_list(
            _RESOURCE_TYPES, types, outcome, declared, facts[RESOURCE_TYPES], strict=strict
        ),
        _judge_list(_SCHEMAS, schemas, outcome, declared, facts[SCHEMAS], strict=strict),
    ]
    by_id = await _read_by_id(client, declared)
    results += by_id.values()
    outcome.exchanges += [r.exchange for r in by_id.values()]
    facts.update({path: _endpoint_fact(r) for path, r in by_id.items()})
    summary.append(_judge_by_id(by_id, outcome))
    for finding in findings.merge_by_code([f for r in results for f in common_findings(r)]):
        outcome.add(finding)
    ctx.shared.extra["discovery"] = declared
    outcome.facts = {"endpoints": facts, "declared": declared}
    outcome.summary = "; ".join(part for part in summary if part)
    return outcome


def _judge_service_provider_config(
    result: HttpResult, outcome: Outcome, declared: dict[str, Any], *, strict: bool
) -> str:
    read = _read(result)
    what = f"GET {result.url}"
    if read.state == "unavailable":
        return "/ServiceProviderConfig: no usable answer"
    if read.state == "missing":
        declared["service_provider_config"] = "missing"
        outcome.add(
            findings.make(
                "discovery.service_provider_config_missing",
                f"{what} {read.problem}: the server publishes no service provider configuration",
            )
        )
        return "/ServiceProviderConfig missing (404)"
    if read.state == "unusable":
        declared["service_provider_config"] = "invalid"
        outcome.add(
            findings.make("discovery.service_provider_config_invalid", f"{what} {read.problem}")
        )
        return "/ServiceProviderConfig unusable"
    checked = check_service_provider_config(read.document, strict=strict)
    declared.update(checked.declared)
    declared["service_provider_config"] = "invalid" if checked.problems else "valid"
    if checked.problems:
        outcome.add(
            findings.make(
                "discovery.service_provider_config_invalid",
                f"{what}: {summarize(checked.problems)}",
            )
        )
    return _capabilities(declared) + (" (malformed)" if checked.problems else "")


class _Check(Protocol[C_co]):
    def __call__(self, document: Any, *, strict: bool = ...) -> C_co: ...


class _ListEndpoint(Struct, Generic[C], frozen=True):
    """What /ResourceTypes and /Schemas differ in; `_judge_list` does the rest for both."""

    path: str
    code: str
    """The finding for a missing, unusable or malformed answer."""
    check: _Check[C]
    declare: Callable[[C], dict[str, Any]]
    """What the document declares, for `ctx.shared.extra["discovery"]`."""
    describe: Callable[[C], str]
    """The summary's words for what was found."""


_RESOURCE_TYPES: Final = _ListEndpoint(
    RESOURCE_TYPES,
    "discovery.resource_types_invalid",
    check_resource_types,
    declare=lambda c: {"resource_types": list(c.names), "endpoints": c.endpoints},
    describe=lambda c: "resource types: " + (", ".join(c.names) or "none usable"),
)
_SCHEMAS: Final = _ListEndpoint(
    SCHEMAS,
    "discovery.schemas_invalid",
    check_schemas,
    declare=lambda c: {"schemas": list(c.ids)},
    describe=lambda c: f"{len(c.ids)} schemas",
)


def _judge_list(
    endpoint: _ListEndpoint[C],
    result: HttpResult,
    outcome: Outcome,
    declared: dict[str, Any],
    fact: dict[str, Any],
    *,
    strict: bool,
) -> str:
    read = _read(result)
    what = f"GET {result.url}"
    if read.state == "unavailable":
        return f"{endpoint.path}: no usable answer"
    if read.state != "ok":
        outcome.add(findings.make(endpoint.code, f"{what} {read.problem}"))
        return f"{endpoint.path} {'missing (404)' if read.state == 'missing' else 'unusable'}"
    checked = endpoint.check(read.document, strict=strict)
    declared.update(endpoint.declare(checked))
    fact["shape"] = checked.shape
    found = endpoint.describe(checked)
    mismatch = checked.only_items_per_page
    if mismatch is not None:
        message = f"{what}: {mismatch.explanation()}"
        outcome.add(findings.make(endpoint.code, message, remediation=mismatch.fix()))
        said, returned = mismatch.items_per_page, mismatch.returned
        return f"{found} ({checked.shape}, itemsPerPage {said} for {returned})"
    if checked.problems:
        outcome.add(findings.make(endpoint.code, f"{what}: {summarize(checked.problems)}"))
        return f"{found} ({checked.shape}, malformed)"
    return found


def _by_id_problem(result: HttpResult, wanted: str, key: str) -> str | None:
    """Why `result` is not the one resource whose `key` (id or name) is `wanted`, or None."""
    read = _read(result)
    if read.state == "unavailable":
        return None  # reported as http.*
    what = f"GET {result.url}"
    if read.state == "missing" and result.is_html:
        return f"{what} {read.problem} with an HTML page{_excerpt(result)}"
    if read.state != "ok":
        return f"{what} {read.problem}"
    document = read.document
    if has_schema(document, LIST_RESPONSE) or get_ci(document, "Resources") is not None:
        return f"{what} answered the whole list (a ListResponse), not the one resource"
    found = get_ci(document, key)
    if not isinstance(found, str) or found.lower() != wanted.lower():
        return f"{what} answered 200 with {key} {found!r}, expected {wanted!r}"
    return None


async def _read_by_id(client: HttpClient, declared: dict[str, Any]) -> dict[str, HttpResult]:
    """GET the User schema and resource type by id, those the lists name (a list that is
    missing or unusable is reported already: one cause, one finding)."""
    wanted = []
    if any(urn.lower() == USER.lower() for urn in declared.get("schemas") or []):
        wanted.append(SCHEMA_BY_ID)
    if "User" in (declared.get("resource_types") or []):
        wanted.append(RESOURCE_TYPE_BY_ID)
    answers = await asyncio.gather(*(client.request("GET", path) for path in wanted))
    return dict(zip(wanted, answers, strict=True))


def _judge_by_id(by_id: dict[str, HttpResult], outcome: Outcome) -> str:
    """/Schemas/<User urn> must be that schema, /ResourceTypes/User that resource type."""
    problems = []
    if SCHEMA_BY_ID in by_id:
        problems.append(_by_id_problem(by_id[SCHEMA_BY_ID], USER, "id"))
    if RESOURCE_TYPE_BY_ID in by_id:
        problems.append(_by_id_problem(by_id[RESOURCE_TYPE_BY_ID], "User", "name"))
    shown = [p for p in problems if p is not None]
    if shown:
        outcome.add(findings.make("discovery.by_id_unavailable", "; ".join(shown)))
        return "User schema or resource type not readable by id"
    return ""


def _capabilities(declared: dict[str, Any]) -> str:
    def says(key: str) -> str:
        value = declared.get(key)
        return "?" if value is None else ("yes" if value else "no")

    max_results = declared.get("max_results")
    limit = f", maxResults {max_results}" if max_results is not None else ""
    return (
        f"filter {says('filter_supported')}{limit}, PATCH {says('patch_supported')}, "
        f"ETag {says('etag_supported')}, bulk {says('bulk_supported')}"
    )
