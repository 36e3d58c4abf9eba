"""Custom reminders set up with /remind: create, read, change, pause and delete (audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec.structs import replace

from db.database import Database, utcnow
from db.models import CustomReminder
from db.repo import write_audit
from db.sweep_data import custom_reminder

MAX_PER_BRANCH = 50
TEXT_LIMIT = 200
_COLUMNS = ("text", "rule", "on_date", "weekday", "day_of_month", "quarter_month",
            "week_of_month", "at_time", "paused")  # fmt: skip


def _values(reminder: CustomReminder) -> dict[str, Any]:
    return {
        "text": reminder.text,
        "rule": reminder.rule,
        "on_date": reminder.on_date.isoformat() if reminder.on_date else None,
        "weekday": reminder.weekday,
        "day_of_month": reminder.day_of_month,
        "quarter_month": reminder.quarter_month,
        "week_of_month": reminder.week_of_month,
        "at_time": reminder.at_time,
        "paused": int(reminder.paused),
    }


async def count(db: Database, branch_id: int) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) AS n FROM custom_reminders WHERE branch_id = ?", (branch_id,)
    )
    return row["n"] if row else 0


async def create(
    db: Database, *, user_id: int, reminder: CustomReminder, draft_key: str | None = None
) -> CustomReminder:
    """Store a new reminder (its id is assigned here); a repeated draft key returns the first."""
    values = _values(reminder)
    now = utcnow()
    async with db.transaction() as conn:
        if draft_key is not None:
            async with conn.execute(
                "SELECT * FROM custom_reminders WHERE draft_key = ?", (draft_key,)
            ) as cursor:
                existing = await cursor.fetchone()
            if existing is not None:
                return custom_reminder(existing)
        cursor = await conn.execute(
            f"INSERT INTO custom_reminders (branch_id, created_by, {', '.join(values)}, "
            f"draft_key, created_at, updated_at) "
            f"VALUES (?, ?, {', '.join('?' * len(values))}, ?, ?, ?)",
            (reminder.branch_id, user_id, *values.values(), draft_key, now, now),
        )
        new_id = cursor.lastrowid
        assert new_id is not None
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=reminder.branch_id,
            action="create",
            entity="custom_reminder",
            entity_id=new_id,
            changes={k: [None, v] for k, v in values.items() if k != "text"},
        )
    return replace(reminder, id=new_id, created_by=user_id, since=datetime.fromisoformat(now))


async def by_key(db: Database, draft_key: str) -> CustomReminder | None:
    """The reminder a draft (or a /remind message) created, if it did."""
    row = await db.fetchone("SELECT * FROM custom_reminders WHERE draft_key = ?", (draft_key,))
    return custom_reminder(row) if row else None


async def get(db: Database, reminder_id: int) -> CustomReminder | None:
    row = await db.fetchone("SELECT * FROM custom_reminders WHERE id = ?", (reminder_id,))
    return custom_reminder(row) if row else None


async def list_for(db: Database, branch_id: int) -> list[CustomReminder]:
    """A branch's reminders, oldest first."""
    rows = await db.fetchall(
        "SELECT * FROM custom_reminders WHERE branch_id = ? ORDER BY id", (branch_id,)
    )
    return [custom_reminder(row) for row in rows]


async def update(
    db: Database, *, user_id: int, reminder_id: int, **changes: Any
) -> CustomReminder | None:
    """Change fields (the rule's fields, text, paused); audited. None if it is gone."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT * FROM custom_reminders WHERE id = ?", (reminder_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        old = custom_reminder(row)
        new = replace(old, **changes)
        before, after = _values(old), _values(new)
        diff = {k: [before[k], after[k]] for k in _COLUMNS if before[k] != after[k]}
        if not diff:
            return old
        await conn.execute(
            f"UPDATE custom_reminders SET {', '.join(f'{k} = ?' for k in diff)}, updated_at = ? "
            "WHERE id = ?",
            (*(after[k] for k in diff), utcnow(), reminder_id),
        )
        if "text" in diff:
            diff["text"] = ["…", "…"]  # the audit notes that the text changed, not the text
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=old.branch_id,
            action="update",
            entity="custom_reminder",
            entity_id=reminder_id,
            changes=diff,
        )
    return new


async def delete(db: Database, *, user_id: int, reminder_id: int) -> bool:
    """Remove a reminder for good (the audit keeps that it existed); False if already gone."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT * FROM custom_reminders WHERE id = ?", (reminder_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return False
        await conn.execute("DELETE FROM custom_reminders WHERE id = ?", (reminder_id,))
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=row["branch_id"],
            action="delete",
            entity="custom_reminder",
            entity_id=reminder_id,
            changes={"rule": [row["rule"], None]},
        )
    return True
