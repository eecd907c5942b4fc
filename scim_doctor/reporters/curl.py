"""The one curl command that replays a recorded exchange, for a support engineer to run on the
customer's machine.

A report says what the server answered; the vendor's engineer wants to see it answer again,
from the same machine, with their own eyes and without scim-doctor. So each exchange of a check
that failed, warned or broke gets the curl command that sends the same request the same way:
the same method, URL and headers that matter, the same `--resolve` pins, CA file, proxy and
`--insecure` the run used (from `report.environment`).

The token is never in it: the exchange recorded only `Bearer [REDACTED]`, and the command says
`"Authorization: Bearer $SCIM_TOKEN"`, double-quoted so the shell fills it in from the
environment. Everything else is single-quoted (`quote`), so nothing else expands. What the
record cannot give back (a credential redacted out of the URL or the proxy, a request body that
was not recorded, an Authorization header that was not the token) is said in a trailing shell
comment, so the command still runs and says why it may not match.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from scim_doctor.core.model import CheckResult, Exchange, Report, Status
from scim_doctor.core.secrets import redact

TOKEN_VARIABLE = "SCIM_TOKEN"  # noqa: S105 - the name of an environment variable, not a value
TOKEN_HEADER = f'-H "Authorization: Bearer ${TOKEN_VARIABLE}"'
"""The one form the token takes in a command: expanded by the shell, never written out."""

REPLAYED_STATUSES = frozenset({Status.FAIL, Status.WARN, Status.ERROR})
"""Checks whose exchanges get a curl command: the ones a support engineer has to look at."""

_SKIPPED_HEADERS = frozenset(
    {"host", "connection", "user-agent", "accept-encoding", "content-length", "authorization"}
)
"""Headers curl sets itself (or that only describe the transport), and Authorization, which
is written as TOKEN_HEADER or not at all."""
_SENSITIVE_HEADERS = frozenset({"proxy-authorization", "cookie", "x-api-key", "api-key"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_REDACTED_MARKS = ("%5BREDACTED%5D", "[REDACTED]")


def quote(word: str) -> str:
    """`word` in single quotes, always (shlex.quote leaves a plain word bare): one look for
    every literal, and nothing in it expands. A single quote inside is closed, escaped, reopened."""
    return "'" + word.replace("'", "'\\''") + "'"


def _header(name: str, value: str) -> str:
    return "-H " + quote(f"{name}: {value}")


def _pin(pin: str) -> str:
    """curl wants an IPv6 address of a `--resolve` pin in brackets (host:port:[::1])."""
    parts = pin.split(":", 2)
    if len(parts) < 3:  # not a pin as the runner writes it (a hand-edited report): as it is
        return pin
    host, port, address = parts
    if ":" in address and not address.startswith("["):
        address = f"[{address}]"
    return f"{host}:{port}:{address}"


def _authorization(exchange: Exchange) -> str | None:
    """The recorded Authorization value, or None when the request went without one."""
    for name, value in exchange.request_headers:
        if name.lower() == "authorization":
            return value
    return None


def _environment_options(environment: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(curl options, caveats) for how the run reached the server."""
    options: list[str] = []
    notes: list[str] = []
    pins = environment.get("resolve")
    for pin in pins if isinstance(pins, list | tuple) else ():  # any JSON a report was read from
        options.append("--resolve " + quote(_pin(str(pin))))
    if environment.get("cacert"):
        options.append("--cacert " + quote(str(environment["cacert"])))
    if environment.get("insecure"):
        options.append("-k")
    proxy = environment.get("proxy")
    if proxy:
        options.append("--proxy " + quote(str(proxy)))
        if any(mark in str(proxy) for mark in _REDACTED_MARKS):
            notes.append("the proxy's credentials are redacted: put them back")
    noproxy = environment.get("noproxy")
    if isinstance(noproxy, str):
        options.append("--noproxy " + quote(noproxy))
    if environment.get("proxy_pac"):
        notes.append(
            f"the run chose its proxy with --proxy-pac {environment['proxy_pac']}, which curl "
            "cannot read: add --proxy with the proxy the report's proxy check names"
        )
    return options, notes


def curl_command(exchange: Exchange, environment: Mapping[str, Any]) -> str:
    """One shell line that sends the exchange's request again, as the run sent it.

    Pure: the same exchange and environment give the same line, so reports stay deterministic.
    """
    method = exchange.method.upper()
    words = ["curl", "-sS", "-I"] if method == "HEAD" else ["curl", "-sS", "-i", "-X", method]
    url = redact(exchange.url)  # recorded redacted; redacted again as every output is
    words.append(quote(url))
    notes: list[str] = []
    if any(mark in url for mark in _REDACTED_MARKS):
        notes.append("the URL's credential is redacted: put it back before running")
    for name, value in exchange.request_headers:
        lowered = name.lower()
        if lowered in _SKIPPED_HEADERS:
            continue
        if lowered in _SENSITIVE_HEADERS:
            notes.append(f"the {name} header is redacted: not sent")
            continue
        words.append(_header(name, redact(value)))
    authorization = _authorization(exchange)
    if authorization is not None:
        words.append(TOKEN_HEADER)
        if not authorization.strip().lower().startswith("bearer "):
            notes.append("the run sent another Authorization value here; this sends the token")
    if method in _BODY_METHODS:
        notes.append("the request body is not recorded: add it with --data")
    options, environment_notes = _environment_options(environment)
    words += options
    notes += environment_notes
    line = " ".join(words)
    return f"{line}  # {'; '.join(notes)}" if notes else line


def replayed(check: CheckResult) -> bool:
    """Whether the check's exchanges get a curl command (it failed, warned or broke)."""
    return check.status in REPLAYED_STATUSES


def commands(report: Report) -> Iterator[tuple[CheckResult, Exchange, str]]:
    """(check, exchange, command) for every exchange of a failing, warning or broken check,
    in report order."""
    for check in report.checks:
        if replayed(check):
            for exchange in check.exchanges:
                yield check, exchange, curl_command(exchange, report.environment)
