"""The outbox: every reminder is written here before anything is sent, under a unique key.

A decision is enqueued once (a repeated sweep adds nothing), sent by the delivery (bot/delivery.py)
and marked sent only after Telegram confirmed it. A row's life: pending → sent, or → missed (its
deadline passed first: never sent late), cancelled (no longer wanted), failed (Telegram refused it
for good) or blocked (its chat blocked the bot: kept, and pending again when the user returns).

Within one chat rows go out in (not_before, id) order; a retry keeps that order (see mark_retry).
Times are stored as UTC ISO strings with microseconds, so that they compare as text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosqlite
import msgspec

from db.database import Database, utcnow

Buttons = tuple[tuple[tuple[str, str], ...], ...]
STATES = ("pending", "sent", "missed", "blocked", "cancelled", "failed")
# A failed row's later rows in the same chat are moved behind it by this much each.
_ORDER_STEP = timedelta(microseconds=1)


class OutboxMessage(msgspec.Struct, frozen=True):
    """A reminder the sweep decided to send (construct with keywords)."""

    key: str  # unique decision key, e.g. "ob:12:member_meeting:2026-10-01:lead7:12345"
    branch_id: int | None
    chat_id: int
    text: str  # rendered Telegram HTML
    not_before: datetime  # aware; not sent earlier
    buttons: Buttons = ()  # rows of (label, callback_data)
    expires_at: datetime | None = None  # aware; later it is reported missed instead of sent


class OutboxRow(msgspec.Struct, frozen=True):
    """A stored outbox row (times are aware UTC datetimes)."""

    id: int
    key: str
    branch_id: int | None
    chat_id: int
    text: str
    buttons: Buttons
    not_before: datetime
    expires_at: datetime | None
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    message_id: int | None


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("outbox times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


def _row(row: aiosqlite.Row) -> OutboxRow:
    not_before = _time(row["not_before"])
    created_at = _time(row["created_at"])
    assert not_before is not None and created_at is not None
    return OutboxRow(
        id=row["id"],
        key=row["key"],
        branch_id=row["branch_id"],
        chat_id=row["chat_id"],
        text=row["text"],
        buttons=tuple(
            tuple((str(label), str(data)) for label, data in line)
            for line in json.loads(row["buttons"])
        ),
        not_before=not_before,
        expires_at=_time(row["expires_at"]),
        state=row["state"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        created_at=created_at,
        sent_at=_time(row["sent_at"]),
        message_id=row["message_id"],
    )


def _values(message: OutboxMessage, created_at: str) -> tuple[Any, ...]:
    buttons = json.dumps([[list(b) for b in line] for line in message.buttons], ensure_ascii=False)
    return (
        message.key,
        message.branch_id,
        message.chat_id,
        message.text,
        buttons,
        _iso(message.not_before),
        None if message.expires_at is None else _iso(message.expires_at),
        created_at,
    )


# Rows written per transaction by enqueue (a few milliseconds of holding the write lock).
ENQUEUE_CHUNK = 100


async def enqueue(db: Database, messages: Sequence[OutboxMessage]) -> int:
    """Store the decisions, ENQUEUE_CHUNK rows a transaction; returns how many were new.

    A key already in the outbox (in any state) is left as it is, so running a sweep again never
    sends anything twice; so a sweep cut short between two chunks is completed by the next run.
    Short transactions let the updates' own writes (the inbox) in between.
    """
    if not messages:
        return 0
    now = utcnow()
    rows = [_values(message, now) for message in messages]
    new = 0
    for start in range(0, len(rows), ENQUEUE_CHUNK):
        async with db.transaction() as conn:
            cursor = await conn.executemany(
                "INSERT OR IGNORE INTO outbox "
                "(key, branch_id, chat_id, text, buttons, not_before, expires_at, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows[start : start + ENQUEUE_CHUNK],
            )
            new += max(cursor.rowcount, 0)
    return new


def _after_prefix(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with `prefix` (None: none)."""
    last = ord(prefix[-1])
    if last >= 0x10FFFF or 0xD7FF <= last <= 0xDFFF:
        return None
    return prefix[:-1] + chr(last + 1)


async def cancel(db: Database, key_prefix: str) -> int:
    """Cancel the unsent rows whose key starts with the prefix; returns how many.

    Pending rows and rows held for a blocked chat are cancelled, e.g. a meeting was logged after
    its reminder was queued. The prefix is matched exactly (not
    with LIKE, whose `_` and `%` occur in keys and which ignores ASCII case), through the key's
    index.
    """
    if not key_prefix:
        raise ValueError("an empty prefix would cancel every reminder")
    upper = _after_prefix(key_prefix)
    bound = "" if upper is None else " AND key < ?"
    params: list[Any] = [key_prefix, *([] if upper is None else [upper])]
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE outbox SET state = 'cancelled' WHERE state IN ('pending', 'blocked') "
            f"AND key >= ?{bound} AND substr(key, 1, ?) = ?",
            (*params, len(key_prefix), key_prefix),
        )
        return cursor.rowcount


async def drop_pending(db: Database, key_prefix: str) -> int:
    """Delete the rows not yet sent whose key starts with the prefix; returns how many.

    Used when settings or a custom reminder change: the next sweep decides them afresh under the
    same keys (cancelled rows would keep their keys taken). Sent and missed rows stay.
    """
    if not key_prefix:
        raise ValueError("an empty prefix would drop every reminder")
    upper = _after_prefix(key_prefix)
    bound = "" if upper is None else " AND key < ?"
    params: list[Any] = [key_prefix, *([] if upper is None else [upper])]
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "DELETE FROM outbox WHERE state IN ('pending', 'blocked', 'cancelled') "
            f"AND key >= ?{bound} AND substr(key, 1, ?) = ?",
            (*params, len(key_prefix), key_prefix),
        )
        return cursor.rowcount


async def due(db: Database, now: datetime, limit: int) -> list[OutboxRow]:
    """Pending rows whose time has come, not expired, to chats not blocked; oldest first."""
    moment = _iso(now)
    rows = await db.fetchall(
        "SELECT * FROM outbox WHERE state = 'pending' AND not_before <= ? "
        "AND (expires_at IS NULL OR expires_at > ?) "
        "AND chat_id NOT IN (SELECT chat_id FROM blocked_chats) "
        "ORDER BY not_before, id LIMIT ?",
        (moment, moment, limit),
    )
    return [_row(row) for row in rows]


async def by_key(db: Database, key: str) -> OutboxRow | None:
    """One row by its decision key."""
    row = await db.fetchone("SELECT * FROM outbox WHERE key = ?", (key,))
    return None if row is None else _row(row)


async def mark_sent(db: Database, row_id: int, message_id: int, now: datetime) -> None:
    """Telegram confirmed the message: committed at once, so it is never sent again."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?, message_id = ?, last_error = NULL "
            "WHERE id = ?",
            (_iso(now), message_id, row_id),
        )


async def mark_retry(
    db: Database, row_id: int, error: str, not_before: datetime, *, attempt: bool = True
) -> None:
    """Try the row again from `not_before` (attempts + 1 unless `attempt` is False).

    The chat's later pending rows that would now come first are moved just behind it, in their
    order, so that a chat's messages never overtake each other.
    """
    moment = _iso(not_before)
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT chat_id, not_before FROM outbox WHERE id = ?", (row_id,)
        ) as cursor:
            found = await cursor.fetchone()
        if found is None:
            return
        await conn.execute(
            "UPDATE outbox SET not_before = ?, attempts = attempts + ?, last_error = ? "
            "WHERE id = ?",
            (moment, int(attempt), error, row_id),
        )
        async with conn.execute(
            "SELECT id FROM outbox WHERE chat_id = ? AND state = 'pending' AND id != ? "
            "AND (not_before > ? OR (not_before = ? AND id > ?)) AND not_before <= ? "
            "ORDER BY not_before, id",
            (found["chat_id"], row_id, found["not_before"], found["not_before"], row_id, moment),
        ) as cursor:
            behind = [row["id"] async for row in cursor]
        await conn.executemany(
            "UPDATE outbox SET not_before = ? WHERE id = ?",
            [
                (_iso(not_before + _ORDER_STEP * (position + 1)), later)
                for position, later in enumerate(behind)
            ],
        )


async def mark_failed(db: Database, row_id: int, error: str) -> None:
    """Telegram refused the row for good (or it ran out of attempts): it is not sent."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ? "
            "WHERE id = ?",
            (error, row_id),
        )


async def mark_blocked(db: Database, chat_id: int, now: datetime) -> int:
    """The chat blocked the bot (or removed it): hold its unsent rows; returns how many."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO blocked_chats (chat_id, blocked_at) VALUES (?, ?) "
            "ON CONFLICT(chat_id) DO NOTHING",
            (chat_id, _iso(now)),
        )
        cursor = await conn.execute(
            "UPDATE outbox SET state = 'blocked' WHERE chat_id = ? AND state = 'pending'",
            (chat_id,),
        )
        return cursor.rowcount


async def unblock(db: Database, chat_id: int) -> int:
    """The user wrote to the bot again: its held rows are pending again; returns how many.

    Rows whose deadline passed meanwhile are reported missed by the next `expire`, not sent.
    """
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM blocked_chats WHERE chat_id = ?", (chat_id,))
        cursor = await conn.execute(
            "UPDATE outbox SET state = 'pending' WHERE chat_id = ? AND state = 'blocked'",
            (chat_id,),
        )
        return cursor.rowcount


async def move_chat(db: Database, old_chat_id: int, new_chat_id: int) -> int:
    """A group became a supergroup: its unsent rows go to the new chat id; returns how many."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE outbox SET chat_id = ? WHERE chat_id = ? AND state IN ('pending', 'blocked')",
            (new_chat_id, old_chat_id),
        )
        return cursor.rowcount


async def blocked_chat_ids(db: Database) -> set[int]:
    """Every chat known to have blocked the bot."""
    return {row["chat_id"] for row in await db.fetchall("SELECT chat_id FROM blocked_chats")}


async def is_blocked(db: Database, chat_id: int) -> bool:
    """Whether the chat is known to have blocked the bot."""
    row = await db.fetchone("SELECT 1 FROM blocked_chats WHERE chat_id = ?", (chat_id,))
    return row is not None


async def expire(db: Database, now: datetime) -> int:
    """Pending rows past their deadline become 'missed' (never sent late); returns how many."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE outbox SET state = 'missed' "
            "WHERE state = 'pending' AND expires_at IS NOT NULL AND expires_at <= ?",
            (_iso(now),),
        )
        return cursor.rowcount


async def missed(db: Database, branch_id: int, since: datetime) -> list[OutboxRow]:
    """A branch's reminders missed (deadline passed unsent) since then, oldest first."""
    rows = await db.fetchall(
        "SELECT * FROM outbox WHERE branch_id = ? AND state = 'missed' AND expires_at >= ? "
        "ORDER BY not_before, id",
        (branch_id, _iso(since)),
    )
    return [_row(row) for row in rows]


# The states a row never leaves (blocked rows wait for their chat, and are kept).
DONE_STATES = ("sent", "missed", "cancelled", "failed")
PRUNE_CHUNK = 500  # about 0.1 s of writing each: others' writes wait no longer


async def prune(db: Database, before: datetime) -> int:
    """Delete the rows that are done (sent, missed, cancelled, failed) and were due before
    `before`; returns how many. A row's key is only ever decided again on its own stage day
    (bot.reminders), so a row older than any catch-up cannot come back as a new one. Deleted
    PRUNE_CHUNK at a time, so the updates' own writes get in between."""
    pruned = 0
    for state in DONE_STATES:
        while True:
            async with db.transaction() as conn:
                cursor = await conn.execute(
                    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox "
                    "WHERE state = ? AND not_before < ? LIMIT ?)",
                    (state, _iso(before), PRUNE_CHUNK),
                )
            pruned += max(cursor.rowcount, 0)
            if cursor.rowcount < PRUNE_CHUNK:
                break
    return pruned


async def counts(db: Database) -> dict[str, int]:
    """How many rows are in each state (every state listed, zeros included)."""
    rows = await db.fetchall("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
    result = dict.fromkeys(STATES, 0)
    result.update({row["state"]: row["n"] for row in rows})
    return result
