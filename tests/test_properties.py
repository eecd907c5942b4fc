"""Properties that must hold for any input: the parts that see text from users and servers.

Example tests show that the URL parser, the token linter, the redaction, the SCIM validators and
the reporters do the right thing for the cases someone thought of; these show that no input,
however hostile, makes them raise, hang or leak. A server controls every string that ends up in
a report, and an admin pastes whatever is in the clipboard.

Hypothesis runs each property 500 times when `CI` is set and 100 times otherwise, so the suite
stays quick on a laptop. Profiles are applied per test, not loaded globally, so other modules'
Hypothesis settings are left as they are.

Every Secret built here is registered with the one process-wide redaction registry; each
example restores the registry afterwards (`isolated_secrets`), so no random string drawn here
is scrubbed from another test's output.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import html
import inspect
import json
import os
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import msgspec.structs
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scim_doctor.checks import CHECK_IDS
from scim_doctor.core import findings, secrets
from scim_doctor.core.errors import InputError
from scim_doctor.core.findings import CATALOGUE
from scim_doctor.core.model import (
    CheckResult,
    Exchange,
    IdpRuleResult,
    IdpVerdict,
    ReferenceKind,
    Report,
    RuleStatus,
    Severity,
    Status,
    TargetInfo,
    Verdict,
)
from scim_doctor.core.secrets import REDACTED, Secret, redact, redact_data, redact_headers
from scim_doctor.net.target import ENDPOINT_SUFFIXES, parse_base_url, parse_resolve
from scim_doctor.reporters import html as html_reporter
from scim_doctor.reporters import json as json_reporter
from scim_doctor.reporters import junit, markdown, nagios, openmetrics, text
from scim_doctor.scim import token_lint
from scim_doctor.scim import validators as scim
from tests.conftest import assert_valid_report
from tests.reporters.sample_reports import failing as failing_report

settings.register_profile(
    "ci", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
PROFILE = settings.get_profile("ci" if os.environ.get("CI") else "dev")


@contextlib.contextmanager
def isolated_secrets() -> Iterator[None]:
    """Let an example register secrets in an empty registry, then put the process-wide one back
    as it was. Empty, not a copy: a redaction compiles one pattern of every form known, and by
    this point of the suite the process knows thousands (every earlier test's tokens), which
    made 500 examples of one property take minutes."""
    with secrets._registry_lock:
        saved = (secrets._registered, secrets._pattern, secrets._registered_forms)
        secrets._registered, secrets._pattern, secrets._registered_forms = set(), None, ()
    try:
        yield
    finally:
        with secrets._registry_lock:
            secrets._registered, secrets._pattern, secrets._registered_forms = saved


# --- strategies shared by several properties ---------------------------------------------------

ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=80)
"""Any code points: control characters, U+FFFE and lone surrogates (from undecodable bytes)."""
HOSTILE = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "]]><x/>",
        "\x00\x1b[31m\x7f",
        "\ufffe\uffff\ud800",
        "| cell | split |",
        "`code` **bold** @here #1",
        "{{ 7*7 }} {% raw %}",
        "line one\r\nline two\n",
        "Authorization: Bearer abcdefgh12345678",
        "https://user:pw@host/p?access_token=abc&x=1",
        '"quoted" \\backslash\\',
        "&amp; &#0; &lt;",
        '<a href="/sso/login?code=4f1d9a">Sign in</a>',
        "set-cookie: session=abc123; Path=/",
        "a" * 300,
    ]
)
SOME_TEXT = ANY_TEXT | HOSTILE
NON_EMPTY = st.text(min_size=1, max_size=80).filter(str.strip) | HOSTILE
TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"
TOKENS = st.text(TOKEN_ALPHABET, min_size=16, max_size=200).filter(
    lambda t: "REDACT" not in t.upper()
)
"""What bearer tokens look like: RFC 6750's b64token characters, 16 characters or more."""


def _finite(max_value: float = 1e7) -> st.SearchStrategy[float]:
    return st.floats(min_value=0.0, max_value=max_value, allow_nan=False, allow_infinity=False)


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | SOME_TEXT
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(SOME_TEXT, children, max_size=3)
    ),
    max_leaves=6,
)
TIMINGS = st.dictionaries(
    st.sampled_from(["dns", "connect", "tls", "first_byte", "total"]) | ANY_TEXT,
    _finite(),
    max_size=3,
)
HEADERS = st.lists(st.tuples(SOME_TEXT, SOME_TEXT), max_size=2).map(tuple)
DURATIONS = _finite()
EXCHANGES = st.builds(
    Exchange,
    method=st.sampled_from(["GET", "POST", "PATCH"]) | SOME_TEXT,
    url=st.just("https://scim.example.com/scim/v2/Users") | SOME_TEXT,
    request_headers=HEADERS,
    status=st.none() | st.integers(100, 599),
    http_version=st.none() | st.just("HTTP/1.1") | SOME_TEXT,
    response_headers=HEADERS,
    body_excerpt=SOME_TEXT,
    body_bytes=st.integers(0, 10**9),
    body_truncated=st.booleans(),
    timings_ms=TIMINGS,
    error=st.none() | SOME_TEXT,
)
FINDINGS = st.builds(
    lambda code, message, remediation: findings.make(code, message, remediation=remediation),
    st.sampled_from(sorted(CATALOGUE)),
    NON_EMPTY,
    st.none() | NON_EMPTY,
)
FACTS = st.dictionaries(SOME_TEXT, JSON_VALUES, max_size=2)


def check_results(check_id: str) -> st.SearchStrategy[CheckResult]:
    """A result as a probe leaves it: a skip always says why, nothing else has a skip reason."""
    return st.builds(
        CheckResult,
        id=st.just(check_id),
        title=SOME_TEXT,
        status=st.sampled_from(Status),
        duration_ms=DURATIONS,
        summary=SOME_TEXT,
        findings=st.lists(FINDINGS, max_size=2).map(tuple),
        facts=FACTS,
        timings_ms=TIMINGS,
        exchanges=st.lists(EXCHANGES, max_size=1).map(tuple),
        skip_reason=NON_EMPTY,
    ).map(lambda c: c if c.status is Status.SKIP else msgspec.structs.replace(c, skip_reason=None))


CHECKS_BY_ID = {check_id: check_results(check_id) for check_id in CHECK_IDS}
HTTPS_URLS = st.just("https://learn.microsoft.com/") | SOME_TEXT.map(lambda t: "https://" + t)
RULES = st.builds(
    IdpRuleResult,
    id=st.from_regex(r"[a-z]{1,8}\.[a-z0-9_]{1,12}", fullmatch=True),
    description=NON_EMPTY,
    status=st.sampled_from(RuleStatus),
    reason=SOME_TEXT,
    source=NON_EMPTY,
    source_url=HTTPS_URLS,
    source_kind=st.sampled_from(ReferenceKind),
)
IDP_VERDICTS = st.builds(
    IdpVerdict,
    idp=st.sampled_from(["entra", "okta", "onelogin", "jumpcloud", "google"]),
    name=NON_EMPTY,
    verdict=st.sampled_from(Verdict),
    reasons=st.lists(NON_EMPTY, min_size=1, max_size=2).map(tuple),
    sources=st.lists(st.tuples(NON_EMPTY, HTTPS_URLS), max_size=2).map(tuple),
    rules=st.lists(RULES, max_size=2).map(tuple),
).map(lambda v: msgspec.structs.replace(v, reasons=()) if v.verdict is Verdict.WILL_WORK else v)
ENVIRONMENTS = st.fixed_dictionaries(
    {},
    optional={
        "python": SOME_TEXT,
        "platform": SOME_TEXT,
        "proxy": st.none() | SOME_TEXT,
        "trust_store": SOME_TEXT,
        "timeout_s": DURATIONS,
        "resolve": st.lists(SOME_TEXT, max_size=2),
    },
)
TIMESTAMPS = st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(9999, 1, 1)).map(
    lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ")
)


@st.composite
def reports(draw: st.DrawFn, min_checks: int = 0, max_checks: int = 4, max_idps: int = 2) -> Report:
    """A report as the runner builds one: known check ids in registry order, any strings."""
    chosen = draw(
        st.lists(st.sampled_from(CHECK_IDS), unique=True, min_size=min_checks, max_size=max_checks)
    )
    checks = tuple(draw(CHECKS_BY_ID[i]) for i in CHECK_IDS if i in chosen)
    environment = {**draw(ENVIRONMENTS), **draw(FACTS)}
    return Report(
        tool_version=draw(st.just("0.1.0") | SOME_TEXT),
        target=TargetInfo(
            base_url=draw(st.sampled_from(["https://", "http://"])) + draw(SOME_TEXT),
            host=draw(NON_EMPTY),
            port=draw(st.integers(1, 65535)),
        ),
        started_at=draw(TIMESTAMPS),
        duration_ms=draw(DURATIONS),
        checks=checks,
        environment=environment,
        idp_verdicts=tuple(draw(st.lists(IDP_VERDICTS, max_size=max_idps))),
    )


# --- the base URL and --resolve ----------------------------------------------------------------

HOSTS = st.one_of(
    st.sampled_from(
        [
            "scim.example.com",
            "SCIM.Example.COM.",
            "my_tenant.example.com",
            "bücher.example",
            "xn--bcher-kva.example",
            "127.0.0.1",
            "[::1]",
            "[fe80::1%25eth0]",
            "[not-ipv6]",
            "a..b",
            "-bad-.example",
            "x" * 64 + ".example",
            ".".join(["a" * 60] * 5),
            "",
        ]
    ),
    st.from_regex(r"[a-zA-Z0-9_-]{1,70}(\.[a-zA-Z0-9_-]{1,70}){0,4}", fullmatch=True),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
    st.text(max_size=30),
)
PORTS = st.one_of(
    st.just(""),
    st.integers(-5, 70000).map(lambda p: f":{p}"),
    st.text("0123456789+- ", max_size=8).map(lambda p: f":{p}"),
    st.just(":"),
)
PATHS = st.one_of(
    st.just(""),
    st.just("/scim/v2"),
    st.sampled_from(ENDPOINT_SUFFIXES).map(lambda s: "/scim/v2" + s + "/"),
    st.lists(st.text(max_size=12), max_size=4).map(lambda parts: "/" + "/".join(parts)),
)
URLS = st.builds(
    lambda scheme, sep, userinfo, host, port, path, query, fragment: (
        f"{scheme}{sep}{userinfo}{host}{port}{path}{query}{fragment}"
    ),
    st.sampled_from(["https", "http", "HTTPS", "hTTp", "ftp", "file", "", "h"])
    | st.text(max_size=6),
    st.sampled_from(["://", "://", "://", ":/", ":", ""]),
    st.sampled_from(["", "", "user@", "user:pw@", ":@", "@"]),
    HOSTS,
    PORTS,
    PATHS,
    st.just("") | st.text(max_size=16).map(lambda q: "?" + q),
    st.just("") | st.text(max_size=8).map(lambda f: "#" + f),
)


def _parse_or_input_error(raw: str) -> Any:
    try:
        return parse_base_url(raw)
    except InputError as exc:
        assert "\n" not in str(exc), "usage errors are one line on stderr"
        return None


@PROFILE
@given(raw=ANY_TEXT)
def test_any_text_as_a_base_url_is_parsed_or_refused_with_an_input_error(raw: str) -> None:
    _parse_or_input_error(raw)


@PROFILE
@given(raw=URLS)
def test_a_url_shaped_base_url_is_parsed_into_something_checkable_or_refused(raw: str) -> None:
    target = _parse_or_input_error(raw)
    if target is None:
        return
    assert target.scheme in ("https", "http")
    assert 1 <= target.port <= 65535
    assert target.host and target.host == target.host.lower() and target.host.isascii()
    assert target.base_url.startswith(f"{target.scheme}://")
    assert not target.path.endswith("/")
    assert all(f.code.startswith("url.") and f.code in CATALOGUE for f in target.lint)
    # What the HTTP layer will be asked to request is a URL httpx accepts, and the normalised
    # URL is itself a base URL the parser accepts.
    httpx.URL(target.url("/Users"))
    assert parse_base_url(target.base_url).host == target.host


@PROFILE
@given(token=TOKENS, key=st.sampled_from(sorted(secrets.SENSITIVE_QUERY_KEYS)), raw=URLS)
def test_a_credential_in_the_base_urls_query_never_shows_once_redacted(
    token: str, key: str, raw: str
) -> None:
    assume(token not in raw)
    url = f"https://scim.example.com/scim/v2?{key}={token}"
    shown = [str(f.message) for f in parse_base_url(url).lint]
    assert all(token not in redact(message) for message in shown)
    try:
        parse_base_url(f"{raw}?{key}={token}")
    except InputError as exc:
        assert token not in str(exc)


@PROFILE
@given(
    spec=ANY_TEXT
    | st.builds(
        lambda host, port, address: f"{host}:{port}:{address}",
        HOSTS,
        st.integers(-5, 70000).map(str) | st.text(max_size=5),
        st.ip_addresses().map(str) | st.ip_addresses(v=6).map(lambda a: f"[{a}]") | ANY_TEXT,
    )
)
def test_any_resolve_pin_is_parsed_or_refused_with_an_input_error(spec: str) -> None:
    with contextlib.suppress(InputError):
        pin = parse_resolve(spec)
        assert 0 < pin.port < 65536


# --- the token linter --------------------------------------------------------------------------


def _jwt_part(value: Any) -> str:
    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


CLAIM_VALUES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.text(max_size=10)
    | st.lists(st.text(max_size=5), max_size=2)
)
JWTS = st.builds(
    lambda header, claims, signature: f"{_jwt_part(header)}.{_jwt_part(claims)}.{signature}",
    st.just({"alg": "RS256", "typ": "JWT"}) | JSON_VALUES,
    st.dictionaries(
        st.sampled_from(["exp", "nbf", "iat", "iss", "aud", "scope", "sub"]), CLAIM_VALUES
    )
    | JSON_VALUES,
    st.text(TOKEN_ALPHABET, max_size=20),
)
CORES = (
    TOKENS
    | JWTS
    | st.text(min_size=1, max_size=120).filter(lambda t: t.strip() and "\x00" not in t)
)
PASTES = st.tuples(
    st.sampled_from(["", "", "Bearer ", "bearer  ", " ", "\t", '"', "'", "“", "Bearer '"]),
    CORES,
    st.sampled_from(["", "", " ", "\n", "\r\n", "\t", '"', "'", "”", "\u200b"]),
)


def _windows(value: str, size: int = 6) -> set[str]:
    return {value[i : i + size] for i in range(len(value) - size + 1)}


LINTER_WORDS = inspect.getsource(token_lint) + " ".join(
    f"{spec.title} {spec.fix}" for code, spec in CATALOGUE.items() if code.startswith("auth.")
)
"""The linter's own wording: a token that happens to contain "identi" is not leaked by a
message saying "identity providers"."""


@PROFILE
@given(
    pasted=PASTES,
    now=st.datetimes(timezones=st.just(dt.timezone.utc)),
)
def test_the_token_linter_never_raises_nor_shows_any_part_of_the_token(
    pasted: tuple[str, str, str], now: dt.datetime
) -> None:
    prefix, core, suffix = pasted
    with isolated_secrets():
        report = token_lint.lint_token(Secret(prefix + core + suffix), now=now)
    assert {f.code for f in report.findings} <= {
        "auth.token_malformed",
        "auth.token_expired",
        "auth.token_not_yet_valid",
    }
    json.dumps(report.facts)  # the facts go into the JSON report as they are
    shown = " ".join(f"{f.message} {f.remediation}" for f in report.findings)
    shown += " " + " ".join(str(report.facts.get(k)) for k in ("length", "sha256_prefix", "jwt"))
    leaked = sorted(w for w in _windows(core) if w in shown and w not in LINTER_WORDS)
    assert not leaked, leaked


# --- redaction ---------------------------------------------------------------------------------

PLANTED = TOKENS | st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=8, max_size=60
).filter(lambda t: not any(t in marker for marker in (REDACTED, "%5BREDACTED%5D")))


@PROFILE
@given(planted=st.lists(PLANTED, max_size=3), value=ANY_TEXT)
def test_redaction_never_raises_and_is_idempotent(planted: list[str], value: str) -> None:
    with isolated_secrets():
        for secret in planted:
            secrets.register_secret(secret)
        once = redact(value)
        assert redact(once) == once
        redact_data({value: [value, {"k": value}], "n": 1})
        redact_headers([(value, value), ("Authorization", value)])


@PROFILE
@given(token=TOKENS, value=st.text(TOKEN_ALPHABET + " \n:=?&/@\"'", max_size=120))
def test_redaction_is_idempotent_on_credential_shaped_text(token: str, value: str) -> None:
    """Text made of the characters credentials, headers and URLs are made of."""
    with isolated_secrets():
        secrets.register_secret(token)
        for sample in (
            value,
            f"Authorization: {value}",
            f"https://h/?token={value}",
            token + value,
        ):
            once = redact(sample)
            assert redact(once) == once, sample


def _contexts(secret: str, before: str, after: str) -> dict[str, tuple[str, str]]:
    """(text to redact, the form of the secret that must not survive) per way it can appear."""
    plain = before + secret + after
    return {
        "raw": (plain, secret),
        "json": (json.dumps({"detail": plain}), json.dumps(secret)[1:-1]),
        "json-unicode": (
            json.dumps([plain], ensure_ascii=False),
            json.dumps(secret, ensure_ascii=False)[1:-1],
        ),
        "url-quoted": (
            "https://h/p?next=" + urllib.parse.quote(plain, safe=""),
            urllib.parse.quote(secret, safe=""),
        ),
        "html": (f"<p>{html.escape(plain)}</p>", html.escape(secret)),
        "base64": (
            "Basic " + base64.b64encode(secret.encode()).decode(),
            base64.b64encode(secret.encode()).decode(),
        ),
        "header-line": (f"> Authorization: Bearer {secret}\n< x: y", secret),
        "bearer": (f"{before} bearer {secret} {after}", secret),
    }


@PROFILE
@given(secret=PLANTED, before=st.text(max_size=40), after=st.text(max_size=40))
def test_a_registered_secret_is_removed_wherever_and_however_it_appears(
    secret: str, before: str, after: str
) -> None:
    with isolated_secrets():
        Secret(secret)
        for where, (value, form) in _contexts(secret, before, after).items():
            cleaned = redact(value)
            assert secret not in cleaned, where
            assert form not in cleaned, where
        for name in ("Authorization", "Cookie", "X-Echo", before or "X"):
            cleaned_headers = redact_headers([(name, f"{before}{secret}{after}")])
            assert all(secret not in value for _, value in cleaned_headers)


@PROFILE
@given(token=TOKENS, key=st.sampled_from(sorted(secrets.SENSITIVE_QUERY_KEYS)), rest=SOME_TEXT)
def test_an_unregistered_credential_in_a_query_string_is_removed(
    token: str, key: str, rest: str
) -> None:
    """A token we were never told about (another client's, a server's echo) in a URL."""
    assume(token not in rest)
    url = f"https://h/p?a=1&{key}={token}"
    with isolated_secrets():
        for sample in (url, f"{rest} {url} {rest}", json.dumps({"url": url})):
            assert token not in redact(sample)


# --- SCIM validators ---------------------------------------------------------------------------

SCIM_NAMES = [
    "schemas", "id", "externalId", "userName", "password", "meta", "location", "resourceType",
    "version", "created", "lastModified", "Resources", "totalResults", "startIndex",
    "itemsPerPage", "status", "scimType", "detail", "filter", "maxResults", "supported", "bulk",
    "maxOperations", "maxPayloadSize", "patch", "sort", "etag", "changePassword",
    "authenticationSchemes", "attributes", "subAttributes", "type", "multiValued", "required",
    "caseExact", "mutability", "returned", "uniqueness", "canonicalValues", "referenceTypes",
    "schemaExtensions", "schema", "endpoint", "emails", "value", "primary", "name", "active",
    "groups", "displayName", "description", scim.ENTERPRISE_USER,
]  # fmt: skip
SCIM_KEYS = st.sampled_from(SCIM_NAMES).flatmap(
    lambda k: st.sampled_from([k, k.upper(), k.lower()])
)
SCIM_SCALARS = JSON_SCALARS | st.sampled_from(
    [
        scim.LIST_RESPONSE, scim.USER, scim.ERROR, scim.SERVICE_PROVIDER_CONFIG,
        scim.RESOURCE_TYPE, scim.SCHEMA, scim.ENTERPRISE_USER, "urn:x", "/Users", "404", "400",
        "complex", "string", "readOnly", "always", "server", "invalidFilter", "INVALIDFILTER",
        "https://scim.example.com/scim/v2/Users/1", "http://scim.example.com/scim/v2/Users/1",
        "2026-11-27T10:00:00Z", "not a date", "-1", "1.0", "true",
    ]
)  # fmt: skip
SCIM_JSON = st.recursive(
    SCIM_SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(SCIM_KEYS | SOME_TEXT, children, max_size=6)
    ),
    max_leaves=30,
)

Check = Callable[[Any, bool, Any], list[scim.Problem]]
CHECKS: dict[str, Check] = {
    "list": lambda d, s, a: scim.validate_list_response(
        d, count=a["count"], strict=s, item_validator=a["items"]
    ),
    "user": lambda d, s, a: scim.validate_user(d, base_url=a["base_url"], strict=s),
    "error": lambda d, s, a: scim.validate_error(d, http_status=a["status"], strict=s),
    "config": lambda d, s, a: scim.validate_service_provider_config(d, strict=s),
    "resource_type": lambda d, s, a: scim.validate_resource_type(d, strict=s),
    "schema": lambda d, s, a: scim.validate_schema(d, strict=s),
}
ITEM_VALIDATORS = st.sampled_from(
    [
        None,
        scim.validate_user,
        scim.validate_resource_type,
        scim.validate_schema,
        lambda item: scim.validate_user(item, base_url="https://scim.example.com/scim/v2"),
    ]
)
ARGUMENTS = st.fixed_dictionaries(
    {
        "count": st.none() | st.integers(-(2**40), 2**40),
        "items": ITEM_VALIDATORS,
        "base_url": st.none() | st.just("https://scim.example.com/scim/v2") | ANY_TEXT,
        "status": st.none() | st.integers(-1000, 10**6),
    }
)
KINDS = {"type", "required", "schemas", "value", "returned", "undeclared", "case"}


@PROFILE
@given(document=SCIM_JSON, strict=st.booleans(), arguments=ARGUMENTS)
def test_no_json_value_makes_a_scim_validator_raise(
    document: Any, strict: bool, arguments: dict[str, Any]
) -> None:
    for name, check in CHECKS.items():
        for problem in check(document, strict, arguments):
            assert problem.path.startswith("$"), name
            assert isinstance(problem.severity, Severity), name
            assert problem.message and problem.reference, name
            assert problem.kind in KINDS, name
            json.dumps(problem._asdict(), default=str)


PERSONAL = st.builds(
    lambda user, domain: f"{user}@{domain}.example",
    st.text("abcdefghijklmnopqrstuvwxyz0123456789._", min_size=6, max_size=16),
    st.text("abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=10),
)


@PROFILE
@given(
    document=st.dictionaries(SCIM_KEYS, SCIM_SCALARS, max_size=4),
    name=PERSONAL,
    password=st.text(TOKEN_ALPHABET, min_size=12, max_size=24),
    strict=st.booleans(),
)
def test_no_validator_message_quotes_a_user_name_or_a_password(
    document: dict[str, Any], name: str, password: str, strict: bool
) -> None:
    """Reports go into support tickets: a user's name or password never appears in one, wherever
    the server put them (as a userName, an email, a display name, an id, a location)."""
    # A password made of letters alone can be a word the validator writes itself
    # ("totalResults"); a real one has a digit, and then it can only come from the document.
    assume(any(ch.isdigit() for ch in password))
    user = {
        **document,
        "userName": name,
        "password": password,
        "emails": [{"value": name}],
        "displayName": name,
        "id": name,
        "meta": {"resourceType": "User", "location": f"https://h.example/Users/{name}"},
    }
    listing = {"schemas": [scim.LIST_RESPONSE], "totalResults": "1", "Resources": [user, name]}
    problems = [
        *scim.validate_user(user, base_url="https://scim.example.com/scim/v2", strict=strict),
        *scim.validate_list_response(listing, item_validator=scim.validate_user, strict=strict),
    ]
    for problem in problems:
        assert name not in problem.message, problem
        assert password not in problem.message, problem


@PROFILE
@given(location=ANY_TEXT, base_url=ANY_TEXT, endpoint=SOME_TEXT | st.just("Users"))
def test_no_location_or_base_url_makes_the_location_check_raise(
    location: str, base_url: str, endpoint: str
) -> None:
    scim.location_problem(location, base_url, endpoint)
    scim.location_problem(location, "https://scim.example.com/scim/v2", "Users")


# --- reporters ---------------------------------------------------------------------------------


def _written(rendered: str) -> str:
    """What the writer puts on stdout or in the file: the rendered text, redacted once more."""
    return redact(rendered)


@PROFILE
@given(
    report=reports(),
    fail_on=st.sampled_from([Severity.WARN, Severity.FAIL]),
    color=st.booleans(),
    verbose=st.booleans(),
)
def test_every_format_renders_any_report_and_json_and_junit_stay_valid_as_written(
    report: Report, fail_on: Severity, color: bool, verbose: bool, report_validator: Any
) -> None:
    """One property for all formats, as building a random report costs more than rendering it."""
    rendered = json_reporter.render(report)
    assert json.loads(rendered) is not None
    parsed = json.loads(_written(rendered))
    assert_valid_report(report_validator, parsed)
    assert [c["id"] for c in parsed["checks"]] == [c.id for c in report.checks]

    for document in (junit.render_with(report, fail_on), _written(junit.render(report))):
        root = ET.fromstring(document)  # noqa: S314 - our own output
        assert len(root.findall("./testsuite/testcase")) == len(report.checks)
        assert root.get("tests") == str(len(report.checks))

    text.render(report, color=color, verbose=verbose)
    assert markdown.render(report).count("\n| ") >= len(report.checks)
    page = html_reporter.render(report)
    assert "<script" not in page.lower(), "a string from the report became markup"


def test_a_login_link_with_a_code_in_a_body_keeps_the_written_json_report_valid(
    report_validator: Any,
) -> None:
    """Found by the property above: the writer's redaction of `?code=...` used to swallow the
    backslash of the JSON escape `\\"` that ends the link, leaving a bare quote."""
    page = '<a href="/sso/login?code=4f1d9a">Sign in</a>'
    sample = failing_report()
    report = _plant(sample, 0, "body", page)

    written = _written(json_reporter.render(report))

    document = json.loads(written)
    assert_valid_report(report_validator, document)
    assert "?code=%5BREDACTED%5D" in written and "4f1d9a" not in written


PLANTING_SPOTS = (
    "summary", "title", "message", "remediation", "fact", "fact-key", "request-header",
    "response-header", "body", "url", "error", "environment",
)  # fmt: skip
BASE_EXCHANGE = Exchange(
    "GET", "https://scim.example.com/scim/v2/Users", (), 200, "HTTP/1.1", (), "", 0, False
)


def _plant(report: Report, index: int, where: str, planted: str) -> Report:
    """`report` with `planted` in one place a server's or a probe's text can end up."""
    if where == "environment":
        return msgspec.structs.replace(report, environment={**report.environment, "proxy": planted})
    checks = list(report.checks)
    check = checks[index]
    exchange = BASE_EXCHANGE
    changes: dict[str, dict[str, Any]] = {
        "summary": {"summary": planted},
        "title": {"title": planted},
        "message": {"findings": (findings.make("tls.handshake_failed", planted),)},
        "remediation": {"findings": (findings.make("auth.rejected", "x", remediation=planted),)},
        "fact": {"facts": {**check.facts, "echo": [planted, {"nested": planted}]}},
        "fact-key": {"facts": {planted: 1}},
        "request-header": {
            "exchanges": (_replace(exchange, request_headers=(("X-Echo", planted),)),)
        },
        "response-header": {
            "exchanges": (_replace(exchange, response_headers=(("Location", planted),)),)
        },
        "body": {"exchanges": (_replace(exchange, body_excerpt=planted),)},
        "url": {"exchanges": (_replace(exchange, url=planted),)},
        "error": {"exchanges": (_replace(exchange, error=planted),)},
    }
    checks[index] = _replace(check, **changes[where])
    return msgspec.structs.replace(report, checks=tuple(checks))


@PROFILE
@given(
    token=TOKENS,
    where=st.sampled_from(PLANTING_SPOTS),
    index=st.integers(0, 100),
    glue=st.sampled_from(["", " ", "\n", "x", "=", "/", '"', "?token="]),
    before=SOME_TEXT,
    after=SOME_TEXT,
    verbose=st.booleans(),
)
def test_a_token_planted_anywhere_in_a_report_is_in_no_format_as_written(
    token: str, where: str, index: int, glue: str, before: str, after: str, verbose: bool
) -> None:
    """Defence in depth: should a probe ever put the token in a message, a fact, a header or a
    body, the reporters and the writer still keep it out of every format."""
    sample = failing_report()
    report = _plant(
        sample, index % len(sample.checks), where, f"{before}{glue}{token}{glue}{after}"
    )
    with isolated_secrets():
        Secret(token)
        outputs = {
            "text": text.render(report, verbose=verbose),
            "json": json_reporter.render(report),
            "markdown": markdown.render(report),
            "junit": junit.render(report),
            "html": html_reporter.render(report),
            "openmetrics": openmetrics.render(report),
            "nagios": nagios.render(report),
        }
        for name, rendered in outputs.items():
            assert token not in _written(rendered), (name, where)


def _replace(obj: Any, **changes: Any) -> Any:
    return msgspec.structs.replace(obj, **changes)


def test_the_registry_is_left_as_it_was_by_these_properties() -> None:
    """The isolation itself: a secret registered inside is not scrubbed outside."""
    marker = "isolation-check-7f3a9c2e51d04b68"
    with isolated_secrets():
        Secret(marker)
        assert redact(marker) == REDACTED
    assert redact(marker) == marker
