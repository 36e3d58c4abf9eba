"""民主测评 polls: one anonymous poll per party member of a 民主评议 record, sent to the branch's
group. A row is committed before its poll is sent (then its poll id is stored), the tally is
kept from Telegram's Poll updates, and closing stores the final one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import aiosqlite
import msgspec

from db.database import Database, utcnow
from db.repo import write_audit


class PollRow(msgspec.Struct, frozen=True):
    """One member's poll: where it is and its tally (votes per grade, GRADES order)."""

    id: int
    meeting_id: int
    member_id: int
    chat_id: int
    message_id: int | None
    poll_id: str | None
    counts: tuple[int, ...]
    voters: int
    closed: bool


def _row(row: aiosqlite.Row) -> PollRow:
    return PollRow(
        id=row["id"],
        meeting_id=row["meeting_id"],
        member_id=row["member_id"],
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        poll_id=row["poll_id"],
        counts=tuple(json.loads(row["counts"])),
        voters=row["voters"],
        closed=row["closed_at"] is not None,
    )


async def start(
    db: Database,
    *,
    user_id: int,
    branch_id: int,
    meeting_id: int,
    member_ids: Sequence[int],
    chat_id: int,
) -> int:
    """A row per member not polled yet (audited); returns how many are new."""
    now = utcnow()
    async with db.transaction() as conn:
        cursor = await conn.executemany(
            "INSERT OR IGNORE INTO appraisal_polls (meeting_id, member_id, chat_id, created_by, "
            "created_at) VALUES (?, ?, ?, ?, ?)",
            [(meeting_id, m, chat_id, user_id, now) for m in member_ids],
        )
        new = max(cursor.rowcount, 0)
        if new:
            await write_audit(
                conn,
                user_id=user_id,
                branch_id=branch_id,
                action="create",
                entity="appraisal_poll",
                entity_id=meeting_id,
                changes={"polls": [None, new]},
            )
    return new


async def of_meeting(db: Database, meeting_id: int) -> list[PollRow]:
    """A record's polls, in the order they were stored."""
    rows = await db.fetchall(
        "SELECT * FROM appraisal_polls WHERE meeting_id = ? ORDER BY id", (meeting_id,)
    )
    return [_row(r) for r in rows]


async def sent(db: Database, row_id: int, message_id: int, poll_id: str) -> None:
    """Telegram confirmed the poll: committed at once, so it is not sent again."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE appraisal_polls SET message_id = ?, poll_id = ? WHERE id = ?",
            (message_id, poll_id, row_id),
        )


async def tally(
    db: Database, poll_id: str, counts: Sequence[int], voters: int, *, final: bool = False
) -> bool:
    """Keep a poll's tally (`final`: it is closed now); False for a poll not open here (closed
    already, or its record deleted)."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE appraisal_polls SET counts = ?, voters = ?, closed_at = ? "
            "WHERE poll_id = ? AND closed_at IS NULL AND meeting_id IN "
            "(SELECT id FROM meetings WHERE deleted_at IS NULL)",
            (json.dumps(list(counts)), voters, utcnow() if final else None, poll_id),
        )
        return cursor.rowcount > 0
