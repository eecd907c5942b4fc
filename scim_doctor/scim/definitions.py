"""Validators of the discovery documents: ServiceProviderConfig, ResourceType, Schema (RFC 7643).

They judge one document each, with the same walker and the same lenient/strict grading as the
resource validators; `discovery.py` compares the documents with each other and with what the
server does. Apart from `validators.py` because a server's self-description is read once, by the
discovery check, while resources and lists are read by every check that touches /Users.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from scim_doctor.core.model import Severity
from scim_doctor.scim.scope import Checker, Scope, root_scope
from scim_doctor.scim.urns import (
    REF_RESOURCE_TYPE,
    REF_SCHEMA,
    REF_SPC,
    RESOURCE_TYPE,
    SCHEMA,
    SERVICE_PROVIDER_CONFIG,
)
from scim_doctor.scim.values import (
    FAIL,
    INFO,
    WARN,
    Problem,
    describe,
    get_ci,
    is_json_integer,
    lookup,
)

# --- ServiceProviderConfig (RFC 7643 §5) -------------------------------------------------------

_FEATURES: Final = ("patch", "bulk", "filter", "changePassword", "sort", "etag")
_FEATURE_LIMITS: Final = {"bulk": ("maxOperations", "maxPayloadSize"), "filter": ("maxResults",)}
_AUTH_TYPES: Final = frozenset({"oauth", "oauth2", "oauthbearertoken", "httpbasic", "httpdigest"})


def validate_service_provider_config(document: Any, *, strict: bool = False) -> list[Problem]:
    """Problems of a `/ServiceProviderConfig` document.

    FAIL: not an object, no ServiceProviderConfig URN, a `supported` that is not a JSON boolean
    (`"true"`), a limit (bulk.maxOperations, bulk.maxPayloadSize, filter.maxResults) that is not
    a JSON integer or is negative, `authenticationSchemes` not an array of objects.
    WARN (FAIL in strict mode): a REQUIRED feature (patch, bulk, filter, changePassword, sort,
    etag) or its `supported` missing, a limit of a supported feature missing,
    `authenticationSchemes` missing or a scheme without type/name/description. Paths are
    `$.<feature>.<attribute>`; kinds "required", "type", "value".
    """
    checker = Checker(strict)
    root = root_scope(checker, document, "the document", REF_SPC)
    if root is None:
        return checker.problems
    root.schemas(SERVICE_PROVIDER_CONFIG)
    for feature in _FEATURES:
        node = root.obj(feature, missing=WARN)
        if node is None:
            continue
        supported = node.boolean("supported", missing=WARN)
        for limit in _FEATURE_LIMITS.get(feature, ()):
            value = node.integer(limit, missing=WARN if supported else None)
            if value is not None and value < 0:
                node.add(FAIL, limit, "value", f"{feature}.{limit} is {value}, below 0")
    root.string("documentationUri", wrong=WARN)
    schemes = root.array("authenticationSchemes", missing=WARN)
    for scheme in root.items("authenticationSchemes", schemes):
        kind = scheme.string("type", missing=WARN)
        scheme.string("name", missing=WARN)
        scheme.string("description", missing=WARN)
        scheme.boolean("primary")
        if kind is not None and kind.lower() not in _AUTH_TYPES:
            message = f"type {describe(kind)} is not one of {', '.join(sorted(_AUTH_TYPES))}"
            scheme.graded(None, INFO, "type", "value", message)
    root.unknown(("documentationUri", "authenticationSchemes", *_FEATURES), "the config")
    return checker.problems


def max_results(document: Any) -> int | None:
    """`filter.maxResults` of a ServiceProviderConfig when it is a non-negative JSON integer."""
    value = get_ci(get_ci(document, "filter"), "maxResults")
    return value if is_json_integer(value) and value >= 0 else None


# --- ResourceType (RFC 7643 §6) ----------------------------------------------------------------


def validate_resource_type(document: Any, *, strict: bool = False) -> list[Problem]:
    """Problems of one ResourceType (an item of `/ResourceTypes`).

    FAIL: not an object, no ResourceType URN, `name`, `endpoint` or `schema` missing or not a
    string, `schemaExtensions` not an array of objects, an extension `required` that is not a
    boolean. WARN: `endpoint` not relative to the base ("/Users"), an extension without
    `schema` or `required` (FAIL in strict mode). Strict adds: a `schema` that is not a URN.
    """
    checker = Checker(strict)
    root = root_scope(checker, document, "the resource type", REF_RESOURCE_TYPE)
    if root is None:
        return checker.problems
    root.schemas(RESOURCE_TYPE)
    root.string("id")
    root.string("name", missing=FAIL)
    root.string("description", wrong=WARN)
    endpoint = root.string("endpoint", missing=FAIL)
    if endpoint is not None and not endpoint.startswith("/"):
        message = f'endpoint is {describe(endpoint)}; it is relative to the base URL, like "/Users"'
        root.add(WARN, "endpoint", "value", message)
    schema = root.string("schema", missing=FAIL)
    if schema is not None and not schema.lower().startswith("urn:"):
        root.graded(None, WARN, "schema", "value", f"schema is {describe(schema)}, not a URN")
    extensions = root.array("schemaExtensions")
    for extension in root.items("schemaExtensions", extensions):
        extension.string("schema", missing=WARN)
        extension.boolean("required", missing=WARN)
    root.unknown(("name", "description", "endpoint", "schema", "schemaExtensions"), "a type")
    return checker.problems


# --- Schema (RFC 7643 §7) ----------------------------------------------------------------------

_ATTRIBUTE_TYPES: Final = (
    "string",
    "boolean",
    "decimal",
    "integer",
    "dateTime",
    "binary",
    "reference",
    "complex",
)
_KEYWORDS: Final = {
    "mutability": ("readOnly", "readWrite", "immutable", "writeOnly"),
    "returned": ("always", "never", "default", "request"),
    "uniqueness": ("none", "server", "global"),
}


def validate_schema(document: Any, *, strict: bool = False) -> list[Problem]:
    """Problems of one Schema definition (an item of `/Schemas`).

    FAIL: not an object, no Schema URN, `id` missing or not a string, `attributes` missing or
    not an array, an attribute that is not an object or has no string `name`, a `type` that is
    not one of RFC 7643's data types, a characteristic of the wrong JSON type. WARN: an unknown
    mutability/returned/uniqueness value, sub-attributes below a sub-attribute. Strict adds: an
    `id` that is not a URN, missing `type`/`multiValued`, complex attributes without
    `subAttributes`, case variants of keywords.
    """
    checker = Checker(strict)
    root = root_scope(checker, document, "the schema", REF_SCHEMA)
    if root is None:
        return checker.problems
    root.schemas(SCHEMA)
    urn = root.string("id", missing=FAIL)
    if urn is not None and not urn.lower().startswith("urn:"):
        root.graded(None, WARN, "id", "value", f"id is {describe(urn)}, not a URN")
    root.string("name", wrong=WARN)
    root.string("description", wrong=WARN)
    attributes = root.array("attributes", missing=FAIL)
    # The meta-schema of Schema resources describes `attributes.subAttributes` with the same
    # sub-attributes as `attributes` (RFC 7643 §7): its nesting is its definition, not a fault.
    nesting = 3 if isinstance(urn, str) and urn.lower() == SCHEMA_META_URN else 1
    for attribute in root.items("attributes", attributes):
        _schema_attribute(attribute, depth=1, nesting=nesting)
    return checker.problems


SCHEMA_META_URN = "urn:ietf:params:scim:schemas:core:2.0:schema"
"""(lower case) The schema of Schema resources themselves, which some servers also list."""


def _schema_attribute(attribute: Scope, *, depth: int, nesting: int = 1) -> None:
    name = attribute.string("name", missing=FAIL)
    if name is not None and not re.fullmatch(r"\$ref|[A-Za-z][A-Za-z0-9_-]*", name):
        message = f"name {describe(name)} is not an ATTRNAME (RFC 7643 §2.1)"
        attribute.graded(None, WARN, "name", "value", message)
    kind = _keyword(attribute, "type", _ATTRIBUTE_TYPES, unknown=FAIL)
    if lookup(attribute.node, "type") is None:
        attribute.graded(None, WARN, "type", "required", "type is missing (defaults to string)")
    attribute.boolean("multiValued", missing=None)
    if lookup(attribute.node, "multiValued") is None:
        attribute.graded(None, WARN, "multiValued", "required", "multiValued is missing")
    for flag in ("required", "caseExact"):
        attribute.boolean(flag)
    for characteristic, allowed in _KEYWORDS.items():
        _keyword(attribute, characteristic, allowed, unknown=WARN)
    attribute.string("description", wrong=WARN)
    for listed in ("canonicalValues", "referenceTypes"):
        attribute.array(listed, wrong=WARN)
    if get_ci(attribute.node, "subAttributes") is None:
        if kind == "complex":
            message = "a complex attribute without subAttributes"
            attribute.graded(None, WARN, "subAttributes", "required", message)
        return
    if depth > nesting:
        message = "a sub-attribute has sub-attributes (complex attributes nest one level only)"
        attribute.add(WARN, "subAttributes", "value", message)
        return
    subs = attribute.array("subAttributes")
    for sub in attribute.items("subAttributes", subs):
        _schema_attribute(sub, depth=depth + 1, nesting=nesting)


def _keyword(node: Scope, name: str, allowed: Sequence[str], *, unknown: Severity) -> str | None:
    """A keyword characteristic (type, mutability, ...): its canonical spelling when known."""
    value = node.string(name)
    if value is None or value in allowed:
        return value
    folded = {keyword.lower(): keyword for keyword in allowed}
    if value.lower() in folded:
        spelled = folded[value.lower()]
        node.graded(None, WARN, name, "case", f"{name} {describe(value)} is spelled {spelled!r}")
        return spelled
    message = f"{name} is {describe(value)}, not one of {', '.join(allowed)}"
    node.add(unknown, name, "value", message)
    return None
