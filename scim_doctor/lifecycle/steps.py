"""The steps of the lifecycle check: what an identity provider's validator does to a SCIM server,
one request at a time, each answer judged as it comes back.

Create a user (201, Location, id, meta, ETag when declared), create it again (409 uniqueness),
read it by id and by userName filter, replace it with PUT, PATCH it in Entra ID's dialect, in the
RFC 7644 form and in Okta's, create a group, add and remove the user as a member, delete both
(204) and read them again (404). A step that cannot run because an earlier one failed is left
out; a group is tried even when the user could not be created.

Every create is entered in the ledger before its POST leaves, so the clean-up knows about it
whatever happens next (a timeout, the deadline, Ctrl-C). Each PATCH flips `active` from what the
server last showed, so "accepted" always means "accepted and applied".
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from scim_doctor.lifecycle.cleanup import Written, answer, resource_path
from scim_doctor.lifecycle.session import (
    DIALECT_TEXT,
    DIALECTS,
    FIRST_TARGET,
    Dialect,
    Session,
    created_id,
    member_ids,
    object_of,
    string_id,
    success,
    user_body,
    what_came,
)
from scim_doctor.scim.discovery import declaration
from scim_doctor.scim.validators import GROUP, PATCH_OP, describe, get_ci

# --- the steps -------------------------------------------------------------------------------

PUT_FIX = (
    "Support PUT /Users/<id> with the full representation: apply every attribute the server "
    "defines and answer 200 with the updated resource."
)
"""The fix for a PUT the server answered but did not apply: the WebDAV advice of the catalogue
fits a 405 only."""


async def run_steps(session: Session) -> None:
    await read_declaration(session)
    user_ok = await create_user(session)
    if user_ok:
        await duplicate_user(session)
        await read_user(session)
        await filter_user(session)
        await replace_user(session)
        await patch_user(session)
    group_ok = await create_group(session)
    if group_ok and user_ok:
        await group_members(session)
    if group_ok and session.group is not None:
        await delete_step(session, session.group, "delete_group")
    if user_ok and session.user is not None:
        await delete_step(session, session.user, "delete_user")


async def read_declaration(session: Session) -> None:
    """Whether the server declares ETags (the `discovery` check judges the document itself)."""
    result = await session.send(
        "service_provider_config", "GET", "/ServiceProviderConfig", judged=False
    )
    document = object_of(result)
    if result.status == 200 and document is not None:
        session.etag_declared = declaration(document)["etag_supported"]


async def create_user(session: Session) -> bool:
    entry = session.ledger.add("User", session.user_name, "create_user")
    session.user = entry
    result = await session.send("create_user", "POST", "/Users", json=user_body(session))
    if not result.ok or result.status is None:
        return False  # pending: the clean-up looks it up by name
    what, status = f"POST {result.url}", result.status
    if not success(result):
        if status < 500:
            entry.state = "not_created"
        session.problem(
            "lifecycle.create_failed",
            f"{what} answered {answer(result)}; the test user {session.user_name} was not "
            "created, so the user steps did not run",
        )
        return False
    document = object_of(result)
    body_id, resource_id = created_id(result, "Users")
    if body_id is None:
        went_on = (
            f"; scim-doctor went on with the id in the Location header ({resource_id})"
            if resource_id
            else ""
        )
        session.problem(
            "lifecycle.create_no_id",
            f"{what} answered {status} with {what_came(document, result)}{went_on}",
        )
    if resource_id is None:
        return False
    entry.id, entry.state = resource_id, "created"
    if status != 201:
        session.problem(
            "lifecycle.create_not_201",
            f"{what} answered {status} {result.reason}, not 201 Created; the user was created "
            f"(id {resource_id})",
        )
    if not result.headers.get("location"):
        session.problem(
            "lifecycle.create_no_location",
            f"{what} answered {status} without a Location header (expected "
            f"{session.ctx.target.base_url}/Users/{resource_id})",
        )
    if body_id is not None:
        _judge_meta(session, what, status, document)
    if session.etag_declared is True and not result.headers.get("etag"):
        version = get_ci(get_ci(document, "meta"), "version")
        seen = f" (the body's meta.version is {version!r})" if isinstance(version, str) else ""
        session.problem(
            "lifecycle.create_no_etag",
            f"/ServiceProviderConfig declares etag.supported: true, but {what} answered "
            f"{status} without an ETag header{seen}",
        )
    session.note_active(document)
    if session.active is None:
        session.active = True
    return True


def _judge_meta(session: Session, what: str, status: int, document: Any) -> None:
    meta = get_ci(document, "meta")
    if not isinstance(meta, dict):
        gap = "has no meta" if meta is None else f"has meta as {describe(meta)}"
    else:
        missing = [name for name in ("resourceType", "location") if not get_ci(meta, name)]
        if not missing:
            return
        gap = f"has meta without {' and '.join(missing)}"
    session.problem("lifecycle.create_no_meta", f"{what} answered {status}; the created user {gap}")


async def duplicate_user(session: Session) -> None:
    entry = session.ledger.add("User", session.user_name, "duplicate_user")
    result = await session.send("duplicate_user", "POST", "/Users", json=user_body(session))
    if not result.ok or result.status is None:
        return  # pending: a second copy, if any, is found by name
    what, status = f"POST {result.url} with the userName of the user just created", result.status
    if status == 409:
        entry.state = "not_created"
        parsed = result.json()
        scim_type = get_ci(parsed.value, "scimType") if parsed.ok else None
        if scim_type != "uniqueness":
            shown = "missing" if scim_type is None else describe(scim_type)
            session.problem(
                "lifecycle.duplicate_no_uniqueness",
                f'{what} answered 409, but scimType is {shown}, expected "uniqueness"',
            )
        return
    if success(result):
        _, other = created_id(result, "Users")
        existing = session.user.id if session.user else None
        if other is not None and other == existing:
            entry.state = "not_created"
            how = f"it returned the existing user (same id {other}) as if it had created it"
        elif other is not None:
            entry.id, entry.state = other, "created"
            how = f"it created a second user with the same userName (id {other})"
        else:
            how = "it gave no id (the clean-up looks for a second copy by name)"
        session.problem(
            "lifecycle.duplicate_accepted",
            f"{what} answered {status} {result.reason}, expected 409 uniqueness: {how}",
        )
        return
    if status < 500:
        entry.state = "not_created"
    session.problem(
        "lifecycle.duplicate_not_409",
        f"{what} answered {answer(result)}, expected 409 with scimType uniqueness",
    )


def _user_id(session: Session) -> str:
    assert session.user is not None and session.user.id is not None  # noqa: S101 - step order
    return session.user.id


async def read_user(session: Session) -> None:
    user_id = _user_id(session)
    result = await session.send("read_user", "GET", resource_path("User", user_id))
    if not result.ok:
        return
    document = object_of(result)
    if result.status == 200 and string_id(document) == user_id:
        return
    if result.status == 200:
        said = f"answered 200 with {what_came(document, result)}"
    else:
        said = f"answered {answer(result)}"
    session.problem(
        "lifecycle.get_failed",
        f"GET {result.url} {said}, right after the create returned the user with id {user_id}",
    )


async def filter_user(session: Session) -> None:
    user_id = _user_id(session)
    expression = f"userName eq {json.dumps(session.user_name)}"
    query = urllib.parse.quote(expression, safe="")
    result = await session.send("filter_user", "GET", f"/Users?filter={query}")
    if not result.ok:
        return
    document = object_of(result)
    resources = get_ci(document, "Resources")
    ids = {string_id(r) for r in resources} if isinstance(resources, list) else set()
    if result.status == 200 and user_id in ids:
        return
    if result.status == 200 and document is not None:
        total = get_ci(document, "totalResults")
        said = (
            f"returned totalResults {total!r} and {len(ids)} resource(s), without the "
            f"user created moments before (id {user_id})"
        )
    else:
        said = f"answered {answer(result)}"
    session.problem("lifecycle.filter_not_found", f"GET {result.url} (filter {expression}) {said}")


async def replace_user(session: Session) -> None:
    user_id = _user_id(session)
    display = f"{session.display}-put"
    body = {**user_body(session), "id": user_id, "displayName": display}
    result = await session.send("put_user", "PUT", resource_path("User", user_id), json=body)
    if not result.ok:
        return
    what = f"PUT {result.url}"
    if result.status == 405:
        allow = result.headers.get("allow")
        session.problem(
            "lifecycle.put_failed",
            f"{what} answered 405 Method Not Allowed"
            + (f" (Allow: {allow})" if allow else "")
            + ": the server, or IIS WebDAV or a proxy in front of it, refuses PUT",
        )
        return
    if not success(result):
        session.problem("lifecycle.put_failed", f"{what} answered {answer(result)}", PUT_FIX)
        return
    state = await session.observe("put_user", result, "User", user_id)
    session.note_active(state)
    shown = get_ci(state, "displayName")
    if state is not None and shown != display:
        session.problem(
            "lifecycle.put_failed",
            f"{what} answered {result.status} {result.reason}, but the replacement was not "
            f"applied: displayName is {describe(shown)}, expected {display!r}",
            PUT_FIX,
        )


def patch_operations(dialect: Dialect, display: str, active: bool) -> list[dict[str, Any]]:
    """The PatchOp operations each identity provider really sends."""
    if dialect == "entra":
        return [
            {"op": "Replace", "path": "displayName", "value": display},
            {"op": "Replace", "path": "active", "value": "True" if active else "False"},
        ]
    if dialect == "rfc":
        return [
            {"op": "replace", "path": "displayName", "value": display},
            {"op": "replace", "path": "active", "value": active},
        ]
    return [{"op": "replace", "value": {"active": active}}]


async def patch_user(session: Session) -> None:
    user_id = _user_id(session)
    path = resource_path("User", user_id)
    for dialect in DIALECTS:
        step = f"patch_{dialect}"
        target = (not session.active) if session.active is not None else FIRST_TARGET[dialect]
        display = f"{session.display}-{dialect}"
        body = {"schemas": [PATCH_OP], "Operations": patch_operations(dialect, display, target)}
        result = await session.send(step, "PATCH", path, json=body)
        if not result.ok:
            continue
        if result.status == 405:
            session.dialects[dialect] = False
            session.not_allowed.append(result)
            session.steps[step]["ok"] = False
            continue
        what = f"PATCH {result.url} in {DIALECT_TEXT[dialect]}"
        if not success(result):
            session.dialects[dialect] = False
            session.problem(
                f"lifecycle.patch_{dialect}_rejected", f"{what} answered {answer(result)}"
            )
            continue
        state = await session.observe(step, result, "User", user_id)
        session.dialects[dialect] = True
        if state is None:
            continue  # accepted; nothing to compare with (read_user reports the reads)
        gaps = []
        active = get_ci(state, "active")
        if active is not target:
            gaps.append(f"active is {describe(active)}, expected {str(target).lower()}")
        shown = get_ci(state, "displayName")
        if dialect != "okta" and shown != display:
            gaps.append(f"displayName is {describe(shown)}, expected {display!r}")
        session.note_active(state)
        if gaps:
            session.dialects[dialect] = False
            session.problem(
                "lifecycle.patch_not_applied",
                f"{what} answered {result.status} {result.reason}, but {'; '.join(gaps)}",
            )


async def create_group(session: Session) -> bool:
    entry = session.ledger.add("Group", session.group_name, "create_group")
    session.group = entry
    body = {
        "schemas": [GROUP],
        "displayName": session.group_name,
        "externalId": session.group_name,
        "members": [],
    }
    result = await session.send("create_group", "POST", "/Groups", json=body)
    if not result.ok or result.status is None:
        return False
    what = f"POST {result.url}"
    if not success(result):
        if result.status < 500:
            entry.state = "not_created"
        session.problem(
            "lifecycle.group_create_failed",
            f"{what} answered {answer(result)}; the test group {session.group_name} was not "
            "created, so the group steps did not run",
        )
        return False
    _, group_id = created_id(result, "Groups")
    if group_id is None:
        session.problem(
            "lifecycle.group_create_failed",
            f"{what} answered {result.status} with {what_came(object_of(result), result)} and no "
            "Location header: the group's id is unknown",
        )
        return False
    entry.id, entry.state = group_id, "created"
    return True


async def group_members(session: Session) -> None:
    user_id = _user_id(session)
    add = [{"op": "add", "path": "members", "value": [{"value": user_id}]}]
    if await _member_change(session, "group_add_member", add, member=True):
        remove = [{"op": "remove", "path": f"members[value eq {json.dumps(user_id)}]"}]
        await _member_change(session, "group_remove_member", remove, member=False)


async def _member_change(
    session: Session, step: str, operations: list[dict[str, Any]], *, member: bool
) -> bool:
    assert session.group is not None and session.group.id is not None  # noqa: S101
    group_id = session.group.id
    body = {"schemas": [PATCH_OP], "Operations": operations}
    result = await session.send(step, "PATCH", resource_path("Group", group_id), json=body)
    if not result.ok:
        return False
    if result.status == 405:
        session.not_allowed.append(result)
        session.steps[step]["ok"] = False
        return False
    verb = "adding the test user to" if member else "removing the test user from"
    what = f"PATCH {result.url} {verb} the test group"
    if not success(result):
        session.problem("lifecycle.group_member_failed", f"{what} answered {answer(result)}")
        return False
    state = await session.observe(step, result, "Group", group_id)
    if state is None:
        session.problem(
            "lifecycle.group_member_failed",
            f"{what} answered {result.status}, but the group could not be read back to check",
        )
        return False
    if (_user_id(session) in member_ids(state)) != member:
        now = "do not include" if member else "still include"
        session.problem(
            "lifecycle.group_member_failed",
            f"{what} answered {result.status} {result.reason}, but the group's members {now} "
            f"the user (id {_user_id(session)})",
        )
        return False
    return True


async def delete_step(session: Session, entry: Written, step: str) -> None:
    assert entry.id is not None  # noqa: S101 - only created resources are deleted
    path = resource_path(entry.kind, entry.id)
    kind = entry.kind.lower()
    result = await session.send(step, "DELETE", path)
    if not result.ok or result.status is None:
        return  # still "created": the clean-up tries again
    what = f"DELETE {result.url}"
    if not success(result):
        session.problem(
            "lifecycle.delete_failed",
            f"{what} answered {answer(result)}; the test {kind} is still there",
        )
        return
    if result.status != 204:
        session.problem(
            "lifecycle.delete_not_204", f"{what} answered {result.status} {result.reason}, not 204"
        )
    check = await session.send(step, "GET", path, judged=False)
    if check.status == 404 or not check.ok:
        entry.state = "deleted"
        after = "then GET 404" if check.status == 404 else "GET afterwards gave no answer"
        entry.removed_by = f"lifecycle step: DELETE {result.status}, {after}"
        return
    entry.state = "still_readable"
    entry.problem = f"DELETE answered {result.status}, but GET still answers {check.status}"
    session.problem(
        "lifecycle.deleted_still_found",
        f"{what} answered {result.status}, but GET {check.url} afterwards answered "
        f"{answer(check)}, expected 404",
    )
