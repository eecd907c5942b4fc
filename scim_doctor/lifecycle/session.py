"""One lifecycle run's state and the small readers its steps share.

`Session.send` is the only way a step talks to the server: it stops at the run's deadline
(`DeadlineReached`), records every exchange and each step's status, and turns failures at the HTTP
level into the shared `http.*` findings; `Session.problem` adds a step's own finding and marks
the step as failed. The steps themselves are in `lifecycle.steps` (users) and
`lifecycle.group_steps` (group members).
"""

from __future__ import annotations

import urllib.parse
from typing import Any, Final, Literal

from msgspec import Struct, field

from scim_doctor.core import findings
from scim_doctor.core.findings import CATALOGUE
from scim_doctor.core.model import Exchange, Finding
from scim_doctor.lifecycle.attributes import Plan, default_plan
from scim_doctor.lifecycle.cleanup import Kind, Ledger, Written, resource_path, test_names
from scim_doctor.net.context import ProbeContext
from scim_doctor.net.http import ErrorKind, HttpClient, HttpResult, common_findings
from scim_doctor.scim.validators import USER, describe, get_ci

Dialect = Literal["entra", "rfc", "okta"]
DIALECTS: Final[tuple[Dialect, ...]] = ("entra", "rfc", "okta")
"""In the order sent: a correct server goes active -> false (Entra) -> true (RFC) -> false
(Okta), each the form that IdP really sends."""
DIALECT_TEXT: Final[dict[Dialect, str]] = {
    "entra": 'Entra ID\'s dialect (op "Replace", active as the string "True"/"False")',
    "rfc": 'the RFC 7644 form (op "replace" with a path, active as a JSON boolean)',
    "okta": 'Okta\'s deactivation form (op "replace" without a path, value {"active": ...})',
}
FIRST_TARGET: Final[dict[Dialect, bool]] = {"entra": False, "rfc": True, "okta": False}
"""What each PATCH sets `active` to when the server has not shown its current value."""
GROUP_DIALECTS: Final = ("rfc", "entra", "okta")
"""Group member PATCHes: RFC 7644's add and remove by filter (Okta's and Entra ID's with
aadOptscim062020), Entra ID's default Add/Remove with a value list, Okta's replace of all
members."""

WEBDAV_FIX: Final = (
    "Allow the method for the SCIM routes. On IIS remove the WebDAV module and handler, which "
    "claim PUT, PATCH and DELETE before the application sees them (<modules><remove "
    'name="WebDAVModule"/></modules> and <handlers><remove name="WebDAV"/></handlers> in '
    "web.config)."
)
"""The fix for a 405 from a server whose Server header says IIS, and for nothing else."""


DEADLINE_SLACK_S: Final = 0.05
"""Cancelled or timed out this close to the deadline counts as the deadline (timers may fire a
hair early)."""


class DeadlineReached(Exception):
    """The run's deadline came while the lifecycle was at `step`."""


class Session(Struct):
    """One lifecycle run: the names it uses, what it wrote, and what it found."""

    ctx: ProbeContext
    client: HttpClient
    ledger: Ledger
    tag: str
    found: list[Finding] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per step: the status of its main request and whether it went right."""
    dialects: dict[str, bool | None] = field(default_factory=lambda: dict.fromkeys(DIALECTS))
    """Per PATCH dialect: accepted and applied (True), refused or ignored (False), unknown."""
    not_allowed: list[HttpResult] = field(default_factory=list)
    """PATCH requests answered 405."""
    step: str = "start"
    user: Written | None = None
    group: Written | None = None
    active: bool | None = None
    """`active` as the server last showed it."""
    etag_declared: bool | None = None
    plan: Plan = field(default_factory=lambda: default_plan("/Schemas not read yet"))
    """Which attributes PUT and PATCH change and judge."""
    dropped: list[str] = field(default_factory=list)
    """Mapped attributes the server does not declare and left out of the created user."""
    results: dict[str, dict[str, bool]] = field(default_factory=dict)
    """Per step that changes attributes: attribute -> applied."""
    failures: dict[str, str] = field(default_factory=dict)
    """Per step that went wrong: the code of its first finding (who sends that request decides
    which provider it breaks)."""
    group_dialects: dict[str, bool | None] = field(
        default_factory=lambda: dict.fromkeys(GROUP_DIALECTS)
    )
    """Per group member dialect: accepted and applied (True), refused or ignored (False)."""
    member: Written | None = None
    """The second test user, so a removal can show that only the one member went."""
    not_tried: dict[str, str] = field(default_factory=dict)
    """Step -> why it was not sent (an earlier failure already explains it)."""

    @property
    def user_name(self) -> str:
        return test_names(self.tag)[0]

    @property
    def group_name(self) -> str:
        return test_names(self.tag)[1]

    @property
    def display(self) -> str:
        """The test name without the mail domain (displayName, externalId)."""
        return test_names(self.tag)[1]

    async def send(
        self, step: str, method: str, path: str, *, json: Any = None, judged: bool = True
    ) -> HttpResult:
        """One request of `step`; http.* problems become findings unless `judged` is False."""
        if self.ctx.remaining() <= 0:
            raise DeadlineReached(step)
        self.step = step
        result = await self.client.request(method, path, json=json)
        self.exchanges.append(result.exchange)
        if judged:
            self.steps.setdefault(step, {"status": result.status, "ok": True})
        timed_out = result.error is not None and result.error.kind is ErrorKind.TIMEOUT
        if timed_out and self.ctx.remaining() <= DEADLINE_SLACK_S:
            raise DeadlineReached(step)
        if judged:
            # Statuses (5xx included) are each step's own call, made with the server's answer.
            http = [f for f in common_findings(result) if f.code != "http.server_error"]
            self.found.extend(http)
            if not result.ok:
                self.steps[step]["ok"] = False
        return result

    def problem(self, code: str, message: str, remediation: str | None = None) -> None:
        """A finding of this step; `remediation` when what was seen makes a sharper fix."""
        self.found.append(findings.make(code, message, remediation=remediation))
        self.failures.setdefault(self.step, code)
        if self.step in self.steps:
            self.steps[self.step]["ok"] = False

    def note_active(self, state: Any) -> None:
        active = get_ci(state, "active")
        self.active = active if isinstance(active, bool) else None

    async def observe(self, step: str, result: HttpResult, kind: Kind, resource_id: str) -> Any:
        """The resource as it is now: the answer's body when it is the resource, else a GET."""
        document = object_of(result)
        if document is not None and string_id(document) == resource_id:
            return document
        check = await self.send(step, "GET", resource_path(kind, resource_id), judged=False)
        document = object_of(check)
        return document if check.status == 200 and document is not None else None

    def merged_findings(self) -> list[Finding]:
        """One finding per code, naming every request it concerns, in first-seen order; a fix
        a step chose from what it saw is kept (the catalogue's is the fallback)."""
        if self.not_allowed:
            self._method_not_allowed()
        by_code: dict[str, list[Finding]] = {}
        for finding in self.found:
            by_code.setdefault(finding.code, []).append(finding)
        merged = []
        for code, group in by_code.items():
            messages = list(dict.fromkeys(f.message for f in group))
            chosen = [f.remediation for f in group if f.remediation != CATALOGUE[code].fix]
            fix = next(iter(dict.fromkeys(chosen)), None)
            merged.append(findings.make(code, "; ".join(messages), remediation=fix))
        return merged

    def _method_not_allowed(self) -> None:
        allow = next((r.headers["allow"] for r in self.not_allowed if "allow" in r.headers), "")
        iis = iis_server(self.not_allowed)
        urls = ", ".join(dict.fromkeys(f"PATCH {r.url}" for r in self.not_allowed))
        message = f"{urls} answered 405 Method Not Allowed"
        message += f" (Allow: {allow})" if allow else " (no Allow header)"
        if iis is not None:
            message += f"; the Server header says {iis!r}: IIS's WebDAV module is the usual cause"
        fix = WEBDAV_FIX if iis is not None else None
        self.found.append(
            findings.make("lifecycle.patch_method_not_allowed", message, remediation=fix)
        )


# --- small readers ---------------------------------------------------------------------------


def iis_server(results: list[HttpResult]) -> str | None:
    """The first Server header that names IIS, if any answer carried one."""
    servers = [v for r in results for v in r.headers.get_list("server")]
    return next((v for v in servers if "iis" in v.lower()), None)


def object_of(result: HttpResult) -> dict[str, Any] | None:
    if not result.ok or not result.body.strip():
        return None
    parsed = result.json()
    return parsed.value if parsed.ok and isinstance(parsed.value, dict) else None


def string_id(document: Any) -> str | None:
    value = get_ci(document, "id")
    return value if isinstance(value, str) and value.strip() else None


def id_from_location(result: HttpResult, endpoint: str) -> str | None:
    location = result.headers.get("location")
    if not location:
        return None
    path = urllib.parse.urlsplit(location.strip()).path.rstrip("/")
    parent, _, last = path.rpartition("/")
    if parent.rsplit("/", 1)[-1].lower() != endpoint.lower() or not last:
        return None
    return urllib.parse.unquote(last)


def created_id(result: HttpResult, endpoint: str) -> tuple[str | None, str | None]:
    """(id from the body, id to go on with: the body's, else the Location header's)."""
    body_id = string_id(object_of(result))
    return body_id, body_id or id_from_location(result, endpoint)


def success(result: HttpResult) -> bool:
    return result.status is not None and 200 <= result.status < 300


def member_ids(group: Any) -> set[str]:
    members = get_ci(group, "members")
    items = members if isinstance(members, list) else []
    return {str(get_ci(item, "value")) for item in items if get_ci(item, "value") is not None}


def what_came(document: Any, result: HttpResult) -> str:
    if document is None:
        start = " ".join(result.exchange.body_excerpt[:100].split())
        return f"a body that is not a JSON object ({start!r})" if start else "an empty body"
    found = get_ci(document, "id")
    if found is None:
        return "a JSON object without an 'id'"
    if string_id(document) is None:
        return f"an 'id' that is {describe(found)}, not a non-empty string"
    return f"a resource with id {found!r}"


def user_body(session: Session) -> dict[str, Any]:
    """The test user, as Entra ID and Okta send a new user (no password, nothing personal)."""
    return {
        "schemas": [USER],
        "userName": session.user_name,
        "externalId": session.display,
        "name": {"givenName": session.display, "familyName": session.display},
        "displayName": session.display,
        "emails": [{"value": session.user_name, "type": "work", "primary": True}],
        "active": True,
    }
