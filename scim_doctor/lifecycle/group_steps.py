"""The lifecycle's group steps: create the test group and change its members the way each identity
provider does, then offer a member id that exists nowhere.

The forms, in the order sent (each one judged by reading the group back):

1. RFC 7644 §3.5.2: `add` with path `members`, then `remove` with path `members[value eq "<id>"]`
   (Okta's documented form; Entra ID's with the aadOptscim062020 flag);
2. Entra ID's default: `Add`, then `Remove` with path `members` and the member in a value list
   (Microsoft's tutorial and its SCIM compliance page);
3. Okta's full push: `replace` with path `members` and the whole list (Okta's SCIM 2.0
   reference, "Update specific Group membership");
4. `add` of a member id no resource has: a client error (400 with a scimType), never a 5xx.

A second test user joins the group first, so a removal must take exactly the member it names:
a server that reads Entra ID's `Remove` the RFC's way removes every member. When the RFC form
already fails, the providers' forms are not tried (one cause, one finding).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Final

from msgspec import Struct, field

from scim_doctor.lifecycle.cleanup import answer, new_tag, resource_path, test_names
from scim_doctor.lifecycle.session import (
    Session,
    created_id,
    member_ids,
    object_of,
    string_id,
    success,
    what_came,
)
from scim_doctor.scim.validators import GROUP, PATCH_OP, USER, get_ci

RFC_FAILED: Final = "the RFC 7644 form of the member change already failed"
ENTRA: Final = "Entra ID's default form (op Add / Remove, the member in a value list)"
OKTA_REPLACE: Final = 'Okta\'s full push ({"op": "replace", "path": "members"})'


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


async def create_member(session: Session) -> str | None:
    """A second test user, the other member of the group; None when the server will not make
    it (the member steps then go on with one member)."""
    name = test_names(new_tag())[0]
    entry = session.ledger.add("User", name, "create_member_user")
    session.member = entry
    body = {"schemas": [USER], "userName": name, "active": True}
    result = await session.send("create_member_user", "POST", "/Users", json=body, judged=False)
    if not result.ok or result.status is None:
        return None  # pending: the clean-up looks it up by name
    if not success(result):
        if result.status < 500:
            entry.state = "not_created"
        return None
    _, member_id = created_id(result, "Users")
    if member_id is not None:
        entry.id, entry.state = member_id, "created"
    return member_id


class Members(Struct):
    """The test group as the member steps see it."""

    session: Session
    group_id: str
    user_id: str
    other_id: str | None
    current: set[str] | None = field(default_factory=set)
    """The test users in the group as last read back; None when unknown."""

    @property
    def everyone(self) -> list[str]:
        return [self.user_id, *([self.other_id] if self.other_id else [])]

    def label(self, member: str) -> str:
        who = "the test user" if member == self.user_id else "the other test user"
        return f"{who} (id {member})"


async def group_members(session: Session) -> None:
    assert session.user is not None and session.user.id is not None  # noqa: S101 - step order
    assert session.group is not None and session.group.id is not None  # noqa: S101
    other = await create_member(session)
    group = Members(session, session.group.id, session.user.id, other)
    session.group_dialects["rfc"] = await _rfc_form(group)
    if not session.group_dialects["rfc"]:
        later = ("group_add_member_entra", "group_replace_members", "group_add_unknown_member")
        session.not_tried.update(dict.fromkeys(later, RFC_FAILED))
        return
    session.group_dialects["entra"] = await _entra_form(group)
    session.group_dialects["okta"] = await _okta_form(group)
    await unknown_member(group)


async def _rfc_form(group: Members) -> bool:
    user = group.user_id
    values = [{"value": member} for member in group.everyone]
    add = [{"op": "add", "path": "members", "value": values}]
    remove = [{"op": "remove", "path": f'members[value eq "{user}"]'}]
    how = "in the RFC 7644 form"
    return await _change(
        group, "group_add_member", add, lambda now: now | set(group.everyone), how
    ) and await _change(group, "group_remove_member", remove, lambda now: now - {user}, how)


async def _entra_form(group: Members) -> bool:
    user, code = group.user_id, "lifecycle.group_member_entra_failed"
    member = [{"$ref": None, "value": user}]
    add = [{"op": "Add", "path": "members", "value": member}]
    remove = [{"op": "Remove", "path": "members", "value": member}]
    how = f"in {ENTRA}"
    return await _change(
        group, "group_add_member_entra", add, lambda now: now | {user}, how, code=code
    ) and await _change(
        group, "group_remove_member_entra", remove, lambda now: now - {user}, how, code=code
    )


async def _okta_form(group: Members) -> bool:
    user = group.user_id
    members = [{"value": user, "display": group.session.user_name}]
    replace = [{"op": "replace", "path": "members", "value": members}]
    return await _change(
        group,
        "group_replace_members",
        replace,
        lambda now: {user},
        f"with {OKTA_REPLACE}",
        code="lifecycle.group_members_replace_failed",
    )


async def _change(
    group: Members,
    step: str,
    operations: list[dict[str, Any]],
    expect: Callable[[set[str]], set[str]],
    how: str,
    *,
    code: str = "lifecycle.group_member_failed",
) -> bool:
    """One member PATCH, judged by the test users the group holds afterwards (`expect` maps the
    members before to those expected after)."""
    session = group.session
    before = group.current if group.current is not None else await _read_members(group, step)
    if before is None:
        session.not_tried[step] = "the group could not be read to know its members"
        return False
    expected: set[str] = expect(before)
    body = {"schemas": [PATCH_OP], "Operations": operations}
    path = resource_path("Group", group.group_id)
    result = await session.send(step, "PATCH", path, json=body)
    group.current = None
    if not result.ok:
        return False
    if result.status == 405:
        session.not_allowed.append(result)
        session.steps[step]["ok"] = False
        return False
    verb = _verb(operations[0])
    what = f"PATCH {result.url} {verb} {how}"
    if not success(result):
        session.problem(code, f"{what} answered {answer(result)}")
        return False
    now = await _read_members(group, step, result)
    said = f"{what} answered {result.status} {result.reason}".rstrip()
    if now is None:
        session.problem(code, f"{said}, but the group could not be read back to check")
        return False
    group.current = now
    missing = _differences(group, expected, now)
    if missing:
        session.problem(code, f"{said}, but {'; '.join(missing)}")
        return False
    return True


def _verb(operation: dict[str, Any]) -> str:
    op = str(operation.get("op", "")).lower()
    return {
        "add": "adding the test user to the test group",
        "remove": "removing the test user from the test group",
        "replace": "replacing the test group's members by the test user alone",
    }.get(op, "changing the test group's members")


def _differences(group: Members, expected: set[str], now: set[str]) -> list[str]:
    found = []
    for member in group.everyone:
        if member in expected and member not in now:
            found.append(f"{group.label(member)} is not a member")
        elif member not in expected and member in now:
            found.append(f"{group.label(member)} is still a member")
    other = group.other_id
    if other is not None and other in expected and other not in now and group.user_id not in now:
        found.append("the request removed every member, not only the one it named")
    if other is not None and other in now and other not in expected:
        found.append("replace added to the members instead of replacing them")
    return found


async def _read_members(group: Members, step: str, result: Any = None) -> set[str] | None:
    """The test users in the group: from the PATCH answer when it is the group with its
    members, else from GET /Groups/<id>."""
    document = object_of(result) if result is not None else None
    mine = set(group.everyone)
    if (
        document is not None
        and string_id(document) == group.group_id
        and get_ci(document, "members") is not None
    ):
        return member_ids(document) & mine
    check = await group.session.send(
        step, "GET", resource_path("Group", group.group_id), judged=False
    )
    read = object_of(check)
    return member_ids(read) & mine if check.status == 200 and read is not None else None


async def unknown_member(group: Members) -> None:
    """`add` of a member id no resource has: 400 with a scimType is right; a 5xx makes
    identity providers retry the whole group update."""
    session, step = group.session, "group_add_unknown_member"
    nobody = str(uuid.uuid4())
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": nobody}]}],
    }
    path = resource_path("Group", group.group_id)
    result = await session.send(step, "PATCH", path, json=body)
    if not result.ok or result.status is None:
        return
    if result.status == 405:
        session.not_allowed.append(result)
        session.steps[step]["ok"] = False
        return
    if result.status >= 500:
        session.problem(
            "lifecycle.unknown_member_server_error",
            f"PATCH {result.url} adding a member id no resource has ({nobody}) answered "
            f"{answer(result)}; expected 400 with a scimType such as invalidValue",
        )
