"""Per-branch reminder settings, snoozes, obligations marked done, and the sweep's runs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from typing import Any

import aiosqlite
import msgspec
from msgspec.structs import replace

from db.database import Database, among, utcnow
from db.repo import write_audit

DEFAULT_TIME = "09:00"
DEFAULT_LEAD_DAYS = (7, 2)


class BranchSettings(msgspec.Struct, frozen=True):
    """How and when a branch is reminded (the defaults until the secretary changes them)."""

    branch_id: int
    reminder_time: str = DEFAULT_TIME
    lead_days: tuple[int, ...] = DEFAULT_LEAD_DAYS
    frequencies: dict[str, str] = msgspec.field(default_factory=dict)
    muted: tuple[str, ...] = ()
    to_private: bool = True
    to_group: bool = True
    group_chat_id: int | None = None
    elected_on: date | None = None
    term_years: int = 3
    elected_month_only: bool = False  # only the month of the last 换届 is known


# Most branches share a handful of these texts ("[7, 2]", "{}", "[]"): each is parsed once (a
# province's overview parsed 60,000 of them). Only immutable values are cached.
@lru_cache(maxsize=1024)
def _json_tuple(text: str) -> tuple[Any, ...]:
    return tuple(json.loads(text))


@lru_cache(maxsize=1024)
def _json_items(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(json.loads(text).items())


def _settings(row: aiosqlite.Row) -> BranchSettings:
    return BranchSettings(
        branch_id=row["branch_id"],
        reminder_time=row["reminder_time"],
        lead_days=_json_tuple(row["lead_days"]),
        frequencies=dict(_json_items(row["frequencies"])),
        muted=_json_tuple(row["muted"]),
        to_private=bool(row["to_private"]),
        to_group=bool(row["to_group"]),
        group_chat_id=row["group_chat_id"],
        elected_on=date.fromisoformat(row["elected_on"]) if row["elected_on"] else None,
        term_years=row["term_years"],
        elected_month_only=bool(row["elected_month_only"]),
    )


def _columns(settings: BranchSettings) -> dict[str, Any]:
    return {
        "reminder_time": settings.reminder_time,
        "lead_days": json.dumps(list(settings.lead_days)),
        "frequencies": json.dumps(settings.frequencies, sort_keys=True),
        "muted": json.dumps(sorted(settings.muted)),
        "to_private": int(settings.to_private),
        "to_group": int(settings.to_group),
        "group_chat_id": settings.group_chat_id,
        "elected_on": settings.elected_on.isoformat() if settings.elected_on else None,
        "term_years": settings.term_years,
        "elected_month_only": int(settings.elected_month_only),
    }


async def get_settings(db: Database, branch_id: int) -> BranchSettings:
    """The branch's settings (defaults if it never changed them)."""
    row = await db.fetchone("SELECT * FROM branch_settings WHERE branch_id = ?", (branch_id,))
    return _settings(row) if row else BranchSettings(branch_id)


async def all_settings(
    db: Database, branch_ids: Iterable[int] | None = None
) -> dict[int, BranchSettings]:
    """Every branch's (or the given branches') changed settings, by branch id."""
    where, params = among(branch_ids)
    rows = await db.fetchall(f"SELECT * FROM branch_settings WHERE {where}", params)
    return {row["branch_id"]: _settings(row) for row in rows}


async def update_settings(
    db: Database, *, user_id: int, branch_id: int, **changes: Any
) -> BranchSettings:
    """Change settings, auditing old and new values."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT * FROM branch_settings WHERE branch_id = ?", (branch_id,)
        ) as cursor:
            row = await cursor.fetchone()
        old = _settings(row) if row else BranchSettings(branch_id)
        new = replace(old, **changes)
        before, after = _columns(old), _columns(new)
        diff = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        if not diff:
            return old
        values = after
        await conn.execute(
            f"INSERT INTO branch_settings (branch_id, {', '.join(values)}, updated_at) "
            f"VALUES (?, {', '.join('?' * len(values))}, ?) ON CONFLICT(branch_id) DO UPDATE SET "
            + ", ".join(f"{k} = excluded.{k}" for k in [*values, "updated_at"]),
            (branch_id, *values.values(), utcnow()),
        )
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=branch_id,
            action="update",
            entity="settings",
            entity_id=branch_id,
            changes=diff,
        )
    return new


async def snooze(db: Database, branch_id: int, code: str, period_start: date, until: date) -> None:
    """Remind about this obligation's period again on `until` (nothing before)."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO snoozes (branch_id, code, period_start, until) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(branch_id, code, period_start) DO UPDATE SET until = excluded.until",
            (branch_id, code, period_start.isoformat(), until.isoformat()),
        )


async def snoozes(
    db: Database, branch_ids: Iterable[int] | None = None
) -> dict[tuple[int, str, date], date]:
    """(branch, obligation, period start) -> the day to remind again (every branch's, or the
    given branches')."""
    where, params = among(branch_ids)
    rows = await db.fetchall(f"SELECT * FROM snoozes WHERE {where}", params)
    return {
        (row["branch_id"], row["code"], date.fromisoformat(row["period_start"])): (
            date.fromisoformat(row["until"])
        )
        for row in rows
    }


async def mark_done(
    db: Database, *, user_id: int, branch_id: int, code: str, period_start: date
) -> bool:
    """Mark an obligation done for a period without a meeting record (e.g. 党费 collected)."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO obligation_marks (branch_id, code, period_start, marked_by, "
            "marked_at) VALUES (?, ?, ?, ?, ?)",
            (branch_id, code, period_start.isoformat(), user_id, utcnow()),
        )
        created = cursor.rowcount > 0
        if created:
            await write_audit(
                conn,
                user_id=user_id,
                branch_id=branch_id,
                action="create",
                entity="obligation_mark",
                entity_id=None,
                changes={code: [None, period_start.isoformat()]},
            )
    return created


async def marks(
    db: Database, branch_ids: Iterable[int] | None = None, *, since: str = ""
) -> list[tuple[int, str, date]]:
    """(branch, obligation, period start) marked done (every branch's, or the given ones'),
    for periods from `since` (YYYY-MM-DD) on."""
    where, params = among(branch_ids)
    rows = await db.fetchall(
        "SELECT branch_id, code, period_start FROM obligation_marks "
        f"WHERE period_start >= ? AND {where}",
        (since, *params),
    )
    return [(r["branch_id"], r["code"], date.fromisoformat(r["period_start"])) for r in rows]


async def record_sweep(db: Database, day: date) -> None:
    """Note that the sweep decided for this local day."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO sweep_runs (day, ran_at) VALUES (?, ?) "
            "ON CONFLICT(day) DO UPDATE SET ran_at = excluded.ran_at",
            (day.isoformat(), utcnow()),
        )


async def last_sweep(db: Database) -> date | None:
    """The latest local day the sweep decided for."""
    row = await db.fetchone("SELECT MAX(day) AS day FROM sweep_runs")
    return date.fromisoformat(row["day"]) if row and row["day"] else None


async def branch_of_group(db: Database, chat_id: int) -> int | None:
    """The branch a group chat is bound to, if any."""
    row = await db.fetchone(
        "SELECT branch_id FROM branch_settings WHERE group_chat_id = ?", (chat_id,)
    )
    return row["branch_id"] if row else None


async def move_group(db: Database, old_chat_id: int, new_chat_id: int) -> int:
    """A bound group became a supergroup (new chat id): the binding and its sign-in cards
    follow it (an open card's message stays in the old chat; closing it still works)."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE branch_settings SET group_chat_id = ?, updated_at = ? WHERE group_chat_id = ?",
            (new_chat_id, utcnow(), old_chat_id),
        )
        await conn.execute(
            "UPDATE checkins SET chat_id = ? WHERE chat_id = ? AND closed_at IS NOT NULL",
            (new_chat_id, old_chat_id),
        )
        return cursor.rowcount
