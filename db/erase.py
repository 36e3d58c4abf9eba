"""Leaving for good: what a branch takes with it (/archive), deleting a branch (/deletebranch)
and forgetting a user (/forgetme).

Deleting is real: the branch row goes and ON DELETE CASCADE takes every table that hangs on it
(memberships, meetings and photos, plans, settings, reminders, the roster, sign-ins, notice
targets, invitations, the outbox). Its audit rows go too (they hold names in their old and new
values); one row stays: the branch id, action delete_branch and counts, no names.

Forgetting a user deletes their rows (user, memberships, admin status, messages queued or sent
to their private chat) and replaces their id everywhere else: nullable columns become NULL,
required ones 0 (records they made belong to the branch and stay). Their audit rows stay with
user_id NULL, so the log still shows what was done, not by whom.
"""

from __future__ import annotations

import json
from typing import Any

import aiosqlite
import msgspec

from db import inbox
from db.database import Database
from db.repo import write_audit

# (table, column, value that replaces a forgotten user's id).
_USER_COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("branches", "created_by", 0),
    ("meetings", "created_by", 0),
    ("meetings", "deleted_by", None),
    ("party_day_plans", "created_by", 0),
    ("custom_reminders", "created_by", 0),
    ("obligation_marks", "marked_by", 0),
    ("selfchecks", "user_id", 0),
    ("members", "user_id", None),
    ("recruitment_steps", "created_by", 0),
    ("invitations", "created_by", 0),
    ("invitations", "used_by", None),
    ("admins", "invited_by", None),
    ("checkins", "opened_by", 0),
    ("makeups", "done_by", None),
    ("notices", "sent_by", 0),
    ("notice_targets", "read_by", None),
    ("audit_log", "user_id", None),
)
# What the confirmation card counts before a branch is deleted.
_COUNTS = {
    "team": "SELECT COUNT(*) FROM memberships WHERE branch_id = ?",
    "meetings": "SELECT COUNT(*) FROM meetings WHERE branch_id = ? AND deleted_at IS NULL",
    "photos": "SELECT COUNT(*) FROM meeting_photos p JOIN meetings m ON m.id = p.meeting_id "
    "WHERE m.branch_id = ? AND m.deleted_at IS NULL",
    "roster": "SELECT COUNT(*) FROM members WHERE branch_id = ?",
    "reminders": "SELECT COUNT(*) FROM custom_reminders WHERE branch_id = ?",
}


class BranchRef(msgspec.Struct, frozen=True):
    """A branch named in a /forgetme card."""

    id: int
    name: str
    role: str


class ForgetPlan(msgspec.Struct, frozen=True):
    """What /forgetme would do: leave `memberships`, delete `sole` (branches where the user is
    the only member), or refuse while `blocked` (secretary of a branch with other members)."""

    memberships: tuple[BranchRef, ...]
    sole: tuple[BranchRef, ...]
    blocked: tuple[BranchRef, ...]


async def branch_counts(db: Database, branch_id: int) -> dict[str, int]:
    """How much a branch holds (for the card that asks to confirm its deletion)."""
    counts = {}
    for name, sql in _COUNTS.items():
        row = await db.fetchone(sql, (branch_id,))
        counts[name] = int(row[0]) if row else 0
    return counts


async def _delete_branch(
    conn: aiosqlite.Connection, branch_id: int, actor_id: int | None
) -> dict[str, int]:
    counts = {}
    for name, sql in _COUNTS.items():
        async with conn.execute(sql, (branch_id,)) as cursor:
            row = await cursor.fetchone()
        counts[name] = int(row[0]) if row else 0
    async with conn.execute(
        "SELECT group_chat_id FROM branch_settings WHERE branch_id = ?", (branch_id,)
    ) as cursor:
        bound = await cursor.fetchone()
    if bound is not None and bound["group_chat_id"] is not None:
        # Unsent rows to the branch's group that no branch claims (the cascade takes the rest).
        await conn.execute(
            "DELETE FROM outbox WHERE chat_id = ? AND branch_id IS NULL "
            "AND state IN ('pending', 'blocked')",
            (bound["group_chat_id"],),
        )
    await conn.execute("DELETE FROM outbox WHERE branch_id = ?", (branch_id,))
    await conn.execute("DELETE FROM audit_log WHERE branch_id = ?", (branch_id,))
    await conn.execute(
        "DELETE FROM form_state WHERE json_extract(data, '$.draft.branch_id') = ?", (branch_id,)
    )
    await conn.execute(
        "DELETE FROM user_state WHERE json_extract(data, '$.branch_id') = ?", (branch_id,)
    )
    await conn.execute("DELETE FROM branches WHERE id = ?", (branch_id,))
    await write_audit(
        conn,
        user_id=actor_id,
        branch_id=branch_id,
        action="delete_branch",
        entity="branch",
        entity_id=branch_id,
        changes={name: [count, 0] for name, count in counts.items()},
    )
    return counts


async def delete_branch(db: Database, *, user_id: int, branch_id: int) -> dict[str, int] | None:
    """Delete the branch and everything of it; only its secretary may. Returns what was
    counted before, or None if refused (not the secretary, or already gone)."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT role FROM memberships WHERE user_id = ? AND branch_id = ?",
            (user_id, branch_id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None or row["role"] != "secretary":
            return None
        return await _delete_branch(conn, branch_id, user_id)


async def _plan(conn: aiosqlite.Connection, user_id: int) -> ForgetPlan:
    async with conn.execute(
        "SELECT b.id, b.name, m.role, (SELECT COUNT(*) FROM memberships o "
        "WHERE o.branch_id = b.id AND o.user_id != m.user_id) AS others "
        "FROM memberships m JOIN branches b ON b.id = m.branch_id "
        "WHERE m.user_id = ? ORDER BY b.id",
        (user_id,),
    ) as cursor:
        rows = list(await cursor.fetchall())
    refs = [(BranchRef(row["id"], row["name"], row["role"]), row["others"]) for row in rows]
    return ForgetPlan(
        memberships=tuple(ref for ref, _ in refs),
        sole=tuple(ref for ref, others in refs if ref.role == "secretary" and not others),
        blocked=tuple(ref for ref, others in refs if ref.role == "secretary" and others),
    )


async def forget_plan(db: Database, user_id: int) -> ForgetPlan:
    """What /forgetme would do for this user now."""
    return await _plan(db.reader, user_id)


async def forget_user(db: Database, user_id: int, *, sole_branches: tuple[int, ...]) -> bool:
    """Delete the user's data and the branches only they belong to, in one transaction.

    `sole_branches` are the branch ids the user confirmed; if the situation changed since (a
    branch gained or lost members), nothing is done and False comes back.
    """
    async with db.transaction() as conn:
        plan = await _plan(conn, user_id)
        if plan.blocked or tuple(ref.id for ref in plan.sole) != sole_branches:
            return False
        for ref in plan.sole:
            await _delete_branch(conn, ref.id, None)
        await conn.execute("DELETE FROM memberships WHERE user_id = ?", (user_id,))
        await conn.execute("DELETE FROM users WHERE id = ?", (user_id,))
        await conn.execute("DELETE FROM admins WHERE user_id = ?", (user_id,))
        # A private chat's id is the user's id.
        await conn.execute("DELETE FROM outbox WHERE chat_id = ?", (user_id,))
        await conn.execute("DELETE FROM blocked_chats WHERE chat_id = ?", (user_id,))
        await conn.execute("DELETE FROM form_state WHERE user_id = ?", (user_id,))
        await conn.execute("DELETE FROM user_state WHERE user_id = ?", (user_id,))
        await inbox.forget_sender(conn, user_id)
        await conn.execute(
            "UPDATE selfchecks SET source_key = 'forgotten:' || id "
            "WHERE substr(source_key, 1, ?) = ?",
            (len(str(user_id)) + 1, f"{user_id}:"),
        )
        await conn.execute(
            "UPDATE audit_log SET entity_id = NULL WHERE entity IN ('membership', 'admin') "
            "AND entity_id = ?",
            (user_id,),
        )
        for table, column, value in _USER_COLUMNS:
            await conn.execute(
                f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (value, user_id)
            )
        await write_audit(
            conn,
            user_id=None,
            branch_id=None,
            action="forget_user",
            entity="user",
            entity_id=None,
            changes={"branches_left": [len(plan.memberships), 0]},
        )
    return True


# -- what /archive takes along -----------------------------------------------------------------


async def photo_rows(db: Database, branch_id: int) -> list[dict[str, Any]]:
    """Every photo of the branch's records: the record's date, kind and id, the file id."""
    rows = await db.fetchall(
        "SELECT m.id AS meeting_id, m.held_on, m.kind, p.position, p.file_id "
        "FROM meeting_photos p JOIN meetings m ON m.id = p.meeting_id "
        "WHERE m.branch_id = ? AND m.deleted_at IS NULL ORDER BY m.held_on, m.id, p.position",
        (branch_id,),
    )
    return [dict(row) for row in rows]


async def audit_rows(db: Database, branch_id: int) -> list[dict[str, Any]]:
    """The branch's whole audit log, oldest first (changes as JSON text)."""
    rows = await db.fetchall(
        "SELECT at, user_id, action, entity, entity_id, changes FROM audit_log "
        "WHERE branch_id = ? ORDER BY id",
        (branch_id,),
    )
    return [dict(row) for row in rows]


async def plan_rows(db: Database, branch_id: int) -> list[dict[str, Any]]:
    """The branch's 主题党日 plans, by month."""
    rows = await db.fetchall(
        "SELECT month, planned_on, theme, activity_form FROM party_day_plans "
        "WHERE branch_id = ? ORDER BY month",
        (branch_id,),
    )
    return [dict(row) for row in rows]


def changes_text(value: str) -> str:
    """An audit row's changes as compact JSON that keeps Chinese readable."""
    return json.dumps(json.loads(value), ensure_ascii=False, separators=(",", ":"))
