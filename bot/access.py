"""One access layer: who may do what in a branch. Every role rule lives here.

Roles (db.models.ROLES): secretary 书记, deputy 副书记, committee 支委, viewer 查看者. A need names
what an action requires; `authorize` reads the user's membership and the branch together, so a
handler never decides a role by itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

from db import admins, repo
from db.models import Branch, Membership


class Need(Enum):
    """What an action requires of the user in the branch."""

    READ = "read"  # see the branch's data: every role
    RECORD = "record"  # log meetings, plan, keep the roster duties: not viewers
    EDIT = "edit"  # change the branch's data and anyone's records: secretary and deputy
    SECRETARY = "secretary"  # hand over, delete the branch: the secretary alone


_ALLOWED: dict[Need, frozenset[str]] = {
    Need.READ: frozenset({"secretary", "deputy", "committee", "viewer"}),
    Need.RECORD: frozenset({"secretary", "deputy", "committee"}),
    Need.EDIT: frozenset({"secretary", "deputy"}),
    Need.SECRETARY: frozenset({"secretary"}),
}


def allows(role: str, need: Need) -> bool:
    """Whether a role meets a need (the table every check goes through)."""
    return role in _ALLOWED[need]


async def authorize(
    database: Any, user_id: int, branch_id: int, need: Need
) -> tuple[Membership, Branch] | None:
    """The user's membership and the branch, if the user's role there meets the need."""
    if not 0 < branch_id < 2**63:
        return None
    found = await repo.membership_with_branch(database, user_id, branch_id)
    if found is None or not allows(found[0].role, need):
        return None
    return found


# Which roles each role may invite (and list and revoke the invitations of).
_INVITES: dict[str, tuple[str, ...]] = {
    "secretary": ("deputy", "committee", "viewer"),
    "deputy": ("committee", "viewer"),
}


def invitable_by(role: str) -> tuple[str, ...]:
    """The roles a member of this role may invite (none for committee members and viewers)."""
    return _INVITES.get(role, ())


def in_group(chat_type: str) -> bool:
    """Whether a chat is a group: group bindings and sign-in cards act only there."""
    return chat_type in {"group", "supergroup"}


async def is_admin(database: Any, user_id: int, configured: Iterable[int] = ()) -> bool:
    """An admin of the superior organization (社会组织党委): the config's admin_ids or an
    accepted admin invitation. Admins see every branch (/overview) and send notices; they need
    no role in any branch."""
    return await admins.is_admin(database, user_id, configured)


def may_change_record(membership: Membership, created_by: int | None) -> bool:
    """A record may be changed by an editor, or by the committee member who logged it."""
    return allows(membership.role, Need.EDIT) or (
        allows(membership.role, Need.RECORD) and created_by == membership.user_id
    )
