"""Demo faults for the `discovery` check: the discovery endpoints as servers get them wrong."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scim_doctor.demo.fault_kit import Fault, map_response, on_route
from scim_doctor.demo.scim_wire import USER, Handler, Request, Response, error_response


def _not_found(request: Request, call_next: Handler) -> Response:
    return error_response(404, f"No SCIM endpoint at {request.path}")


def _by_id_not_found_page(request: Request, call_next: Handler) -> Response:
    """A router with no route for one schema or resource type by id: its own HTML 404 page."""
    path = request.scim_path or ""
    if request.method.upper() != "GET" or not path.startswith(("/Schemas/", "/ResourceTypes/")):
        return call_next(request)
    page = b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>"
    page += b"<h1>Not Found</h1><p>The requested URL was not found on this server.</p>"
    headers = (("Content-Type", "text/html; charset=utf-8"),)
    return Response(404, headers, page + b"</body></html>")


def _only_if_ok(change: Callable[[Any], Any]) -> Callable[[Request, Response], Response]:
    """Rewrite the JSON of a successful answer; errors pass through untouched."""

    def transform(request: Request, response: Response) -> Response:
        return response.with_json(change(response.json())) if response.status == 200 else response

    return transform


def _spc_invalid(config: dict[str, Any]) -> dict[str, Any]:
    """bulk dropped and 'supported' as a string, without maxResults: hand-written JSON."""
    config.pop("bulk", None)
    config["filter"] = {"supported": "true"}
    return config


def _bare_array(listing: dict[str, Any]) -> Any:
    return listing["Resources"]


def _without_user(listing: dict[str, Any]) -> dict[str, Any]:
    kept = [schema for schema in listing["Resources"] if schema.get("id") != USER]
    return {**listing, "totalResults": len(kept), "itemsPerPage": len(kept), "Resources": kept}


def _page_size_as_items_per_page(request: Request, call_next: Handler) -> Response:
    """SCIMMY's ListResponse: itemsPerPage is the page size (the requested count, 20 when none
    is asked for, as discovery never does), whatever the page holds."""
    response = call_next(request)
    if request.scim_path not in ("/ResourceTypes", "/Schemas") or response.status != 200:
        return response
    return response.with_json({**response.json(), "itemsPerPage": 20})


FAULTS: tuple[Fault, ...] = (
    Fault(
        "spc_missing",
        "GET /ServiceProviderConfig answers 404: the discovery endpoint is not implemented.",
        "http",
        ("discovery.service_provider_config_missing",),
        middleware=on_route("GET", "/ServiceProviderConfig", _not_found),
    ),
    Fault(
        "spc_invalid",
        "/ServiceProviderConfig lacks 'bulk' and sends filter.supported as the string "
        '"true" (without maxResults).',
        "http",
        ("discovery.service_provider_config_invalid",),
        middleware=on_route(
            "GET", "/ServiceProviderConfig", map_response(_only_if_ok(_spc_invalid))
        ),
    ),
    Fault(
        "resource_types_bare_array",
        "/ResourceTypes answers a bare JSON array instead of a ListResponse.",
        "http",
        ("discovery.resource_types_invalid",),
        middleware=on_route("GET", "/ResourceTypes", map_response(_only_if_ok(_bare_array))),
    ),
    Fault(
        "schemas_without_user",
        "/Schemas leaves out the core User schema.",
        "http",
        ("discovery.schemas_invalid",),
        middleware=on_route("GET", "/Schemas", map_response(_only_if_ok(_without_user))),
    ),
    Fault(
        "discovery_by_id_html_404",
        "/Schemas/{urn} and /ResourceTypes/User answer the router's HTML 404 page, while the "
        "lists name both.",
        "http",
        ("discovery.by_id_unavailable",),
        middleware=_by_id_not_found_page,
    ),
    Fault(
        "discovery_items_per_page",
        "/ResourceTypes and /Schemas say itemsPerPage 20 (their page size, as SCIMMY does) "
        "while they return 2 and 3 entries.",
        "http",
        ("discovery.resource_types_invalid", "discovery.schemas_invalid"),
        middleware=on_route("GET", "*", _page_size_as_items_per_page),
    ),
)
