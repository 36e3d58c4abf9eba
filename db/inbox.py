"""The inbox of updates (stored before they are acknowledged) and the bot's runtime facts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import aiosqlite
import msgspec

from db.database import Database, utcnow


class Incoming(msgspec.Struct, frozen=True):
    """One update as stored: its id, its JSON, and who sent it to which chat."""

    update_id: int
    data: str
    user_id: int | None = None
    chat_id: int | None = None


async def store(db: Database, updates: Sequence[Incoming]) -> set[int]:
    """Store a batch in one transaction; returns the ids that were new."""
    if not updates:
        return set()
    now = utcnow()
    # One statement: the rows that were new come back (a batch is stored before any of it is
    # handled, so its trips to the database thread are on every update's path).
    values = ", ".join(["(?, ?, ?, ?, ?)"] * len(updates))
    params = [
        value
        for update in updates
        for value in (update.update_id, update.data, update.user_id, update.chat_id, now)
    ]
    rows = await db.write(
        "INSERT INTO inbox (update_id, data, user_id, chat_id, received_at) "
        f"VALUES {values} ON CONFLICT(update_id) DO NOTHING RETURNING update_id",
        params,
    )
    return {row[0] for row in rows}


async def highest_update_id(db: Database) -> int:
    """The highest update id kept in the inbox (0 if none)."""
    row = await db.fetchone("SELECT MAX(update_id) AS top FROM inbox")
    return int(row["top"] or 0) if row else 0


async def mark_handled(conn: aiosqlite.Connection, update_ids: Iterable[int]) -> None:
    """Mark updates handled, inside the caller's transaction."""
    now = utcnow()
    await conn.executemany(
        "UPDATE inbox SET handled_at = ?, data = '', user_id = NULL, chat_id = NULL "
        "WHERE update_id = ? AND handled_at IS NULL",
        [(now, update_id) for update_id in update_ids],
    )


async def unhandled(db: Database) -> list[tuple[int, str, str]]:
    """Updates stored but not handled, oldest first, as (update_id, JSON, received_at)."""
    rows = await db.fetchall(
        "SELECT update_id, data, received_at FROM inbox WHERE handled_at IS NULL "
        "ORDER BY update_id"
    )
    return [(row["update_id"], row["data"], row["received_at"]) for row in rows]


async def drop(db: Database, update_ids: Iterable[int]) -> None:
    """Forget updates that will not be handled (too old to answer)."""
    async with db.transaction() as conn:
        await conn.executemany("DELETE FROM inbox WHERE update_id = ?", [(i,) for i in update_ids])


async def prune(db: Database, keep: timedelta = timedelta(days=1)) -> int:
    """Delete handled updates older than `keep` (a day covers Telegram's own redelivery)."""
    before = (datetime.now(UTC) - keep).isoformat(timespec="seconds")
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "DELETE FROM inbox WHERE handled_at IS NOT NULL AND handled_at < ?", (before,)
        )
        return cursor.rowcount


async def forget_sender(conn: aiosqlite.Connection, user_id: int) -> None:
    """Delete what a user sent that is not handled yet, inside the caller's transaction."""
    await conn.execute("DELETE FROM inbox WHERE user_id = ? OR chat_id = ?", (user_id, user_id))


async def get_state(db: Database, key: str) -> str | None:
    """A runtime fact, or None."""
    row = await db.fetchone("SELECT value FROM runtime_state WHERE key = ?", (key,))
    return row["value"] if row else None


async def set_state(db: Database, key: str, value: str) -> None:
    """Record a runtime fact."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO runtime_state (key, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            (key, value, utcnow()),
        )
