"""The steps of the lifecycle check: what identity providers send to a SCIM server, one request
at a time, each answer judged as it comes back.

Read which User attributes the server declares (/Schemas), create a user (201, Location, id,
meta, ETag when declared), create it again (409 uniqueness), read it by id and by userName
filter, replace it with PUT, PATCH it in Entra ID's dialect, in the RFC 7644 form and in Okta's,
remove an attribute, create a group and change its members in each provider's form
(`group_steps`), delete everything (204) and read it again (404). A step that cannot run because
an earlier one failed is left out (and said so in the facts); a group is tried even when the
user could not be created.

PUT and PATCH change only attributes the server declares writable (`attributes.Plan`), and each
one is judged on its own: a server may drop an attribute it does not define.

Every create is entered in the ledger before its POST leaves, so the clean-up knows about it
whatever happens next (a timeout, the deadline, Ctrl-C). Each PATCH flips `active` from what the
server last showed, so "accepted" always means "accepted and applied".
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from scim_doctor.lifecycle import attributes
from scim_doctor.lifecycle.attributes import WHY_ALLOWED, default_plan, gaps, plan_from
from scim_doctor.lifecycle.cleanup import Written, answer, resource_path
from scim_doctor.lifecycle.group_steps import create_group, group_members
from scim_doctor.lifecycle.session import (
    DIALECT_TEXT,
    DIALECTS,
    FIRST_TARGET,
    WEBDAV_FIX,
    Dialect,
    Session,
    created_id,
    iis_server,
    object_of,
    string_id,
    success,
    user_body,
    what_came,
)
from scim_doctor.scim.discovery import declaration
from scim_doctor.scim.validators import PATCH_OP, describe, get_ci

# --- the steps -------------------------------------------------------------------------------

PUT_FIX = (
    "Support PUT /Users/<id> with the full representation: apply every attribute the server "
    "declares writable and answer 200 with the updated resource."
)
"""The fix for a PUT the server answered but did not apply."""


async def run_steps(session: Session) -> None:
    await read_declaration(session)
    user_ok = await create_user(session)
    if user_ok:
        await duplicate_user(session)
        await read_user(session)
        await filter_user(session)
        await replace_user(session)
        await patch_user(session)
        await remove_attribute(session)
    group_ok = await create_group(session)
    if group_ok and user_ok:
        await group_members(session)
    if group_ok and session.group is not None:
        await delete_step(session, session.group, "delete_group")
    member = session.member
    if member is not None and member.id is not None and member.state == "created":
        await delete_step(session, member, "delete_member_user")
    if user_ok and session.user is not None:
        await delete_step(session, session.user, "delete_user")


async def read_declaration(session: Session) -> None:
    """Whether the server declares ETags, and which User attributes it declares writable (the
    `discovery` check judges the documents themselves)."""
    result = await session.send(
        "service_provider_config", "GET", "/ServiceProviderConfig", judged=False
    )
    document = object_of(result)
    if result.status == 200 and document is not None:
        session.etag_declared = declaration(document)["etag_supported"]
    schemas = await session.send("schemas", "GET", "/Schemas", judged=False)
    parsed = schemas.json() if schemas.status == 200 else None
    if parsed is not None and parsed.ok:
        session.plan = plan_from(parsed.value, "/Schemas")
    else:
        session.plan = default_plan(f"GET /Schemas answered {answer(schemas)}")


def not_declared_note(session: Session) -> str | None:
    """The info finding's text: which mapped attributes were left alone, and why that is fine."""
    left = session.plan.left_out
    if not left:
        return None
    parts = []
    for name, why in left.items():
        dropped = (
            " (the server dropped it from the created user)" if name in session.dropped else ""
        )
        parts.append(f"{name}: {why}{dropped}")
    return (
        f"Left alone by PUT and PATCH, and not judged: {'; '.join(parts)}. Identity providers' "
        f"default mappings send these, but {WHY_ALLOWED}"
    )


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
    if document is not None and body_id is not None:
        left = tuple(session.plan.left_out)
        session.dropped = attributes.dropped(user_body(session), document, left)
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
    values = dict.fromkeys(session.plan.strings, f"{session.display}-put")
    body = attributes.with_values({**user_body(session), "id": user_id}, values)
    if session.active is not None:
        body["active"] = session.active
    result = await session.send("put_user", "PUT", resource_path("User", user_id), json=body)
    if not result.ok:
        return
    what = f"PUT {result.url}"
    if result.status == 405:
        allow = result.headers.get("allow")
        iis = iis_server([result])
        by = f"the Server header says {iis!r}: IIS's WebDAV module" if iis else "the server"
        session.problem(
            "lifecycle.put_failed",
            f"{what} answered 405 Method Not Allowed"
            + (f" (Allow: {allow})" if allow else "")
            + f": {by} or a proxy in front of it refuses PUT",
            WEBDAV_FIX if iis else None,
        )
        return
    if not success(result):
        session.problem("lifecycle.put_failed", f"{what} answered {answer(result)}", PUT_FIX)
        return
    state = await session.observe("put_user", result, "User", user_id)
    session.note_active(state)
    if state is None:
        return
    _judge_each(session, "put_user", state, values)
    missing = gaps(state, values)
    if missing:
        applied = [name for name in values if session.results["put_user"][name]]
        kept = f"; applied: {', '.join(applied)}" if applied else ""
        session.problem(
            "lifecycle.put_failed",
            f"{what} answered {result.status} {result.reason}, but the replacement was not "
            f"applied: {'; '.join(missing)}{kept}",
            PUT_FIX,
        )


def _judge_each(session: Session, step: str, state: Any, expected: dict[str, Any]) -> None:
    """Per attribute, whether the server shows what `step` asked for (for the facts)."""
    session.results[step] = {name: not gaps(state, {name: v}) for name, v in expected.items()}


def patch_operations(dialect: Dialect, values: dict[str, Any]) -> list[dict[str, Any]]:
    """The PatchOp operations each identity provider really sends for `values` (attribute ->
    new value; `active` a boolean)."""
    if dialect == "okta":
        return [{"op": "replace", "value": {"active": values["active"]}}]
    op = "Replace" if dialect == "entra" else "replace"
    operations = []
    for name, value in values.items():
        if name == "active" and dialect == "entra":
            value = "True" if value else "False"
        operations.append({"op": op, "path": name, "value": value})
    return operations


def _dialect_values(session: Session, dialect: Dialect, target: bool) -> dict[str, Any] | None:
    """What one PATCH dialect changes, `active` first; None when it has nothing declared to
    change (Okta's form sets `active` only)."""
    values: dict[str, Any] = {}
    if session.plan.changes("active"):
        values["active"] = target
    if dialect != "okta":
        values.update(dict.fromkeys(session.plan.strings, f"{session.display}-{dialect}"))
    return values or None


async def patch_user(session: Session) -> None:
    user_id = _user_id(session)
    path = resource_path("User", user_id)
    for dialect in DIALECTS:
        step = f"patch_{dialect}"
        target = (not session.active) if session.active is not None else FIRST_TARGET[dialect]
        values = _dialect_values(session, dialect, target)
        if values is None:
            session.not_tried[step] = "the server declares none of the attributes it changes"
            continue
        body = {"schemas": [PATCH_OP], "Operations": patch_operations(dialect, values)}
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
        _judge_each(session, step, state, values)
        missing = gaps(state, values)
        session.note_active(state)
        if missing:
            session.dialects[dialect] = False
            session.problem(
                "lifecycle.patch_not_applied",
                f"{what} answered {result.status} {result.reason}, but {'; '.join(missing)}",
            )


async def remove_attribute(session: Session) -> None:
    """PATCH remove of one declared, optional attribute, in the RFC 7644 form."""
    step, name = "patch_remove", session.plan.removable
    if name is None:
        session.not_tried[step] = "the server declares no optional attribute the lifecycle sets"
        return
    if session.dialects["rfc"] is not True:
        session.not_tried[step] = "the RFC 7644 PATCH of the user already failed"
        return
    user_id = _user_id(session)
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": name}]}
    result = await session.send(step, "PATCH", resource_path("User", user_id), json=body)
    if not result.ok:
        return
    if result.status == 405:
        session.not_allowed.append(result)
        session.steps[step]["ok"] = False
        return
    what = f'PATCH {result.url} with {{"op": "remove", "path": "{name}"}}'
    if not success(result):
        session.problem("lifecycle.attribute_remove_failed", f"{what} answered {answer(result)}")
        return
    state = await session.observe(step, result, "User", user_id)
    if state is None:
        return
    _judge_each(session, step, state, {name: None})
    missing = gaps(state, {name: None})
    if missing:
        session.problem(
            "lifecycle.attribute_remove_failed",
            f"{what} answered {result.status} {result.reason}, but {missing[0]}",
        )


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
