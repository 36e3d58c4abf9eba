"""Self-check results (/selfcheck), saved per branch with their date."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec

from db.database import Database, utcnow


class SelfCheck(msgspec.Struct, frozen=True):
    id: int
    branch_id: int
    kind: str
    answers: str
    score: int
    total: int
    checked_on: date


def _check(row: Any) -> SelfCheck:
    return SelfCheck(
        id=row["id"],
        branch_id=row["branch_id"],
        kind=row["kind"],
        answers=row["answers"],
        score=row["score"],
        total=row["total"],
        checked_on=date.fromisoformat(row["checked_on"]),
    )


async def save(
    db: Database,
    *,
    user_id: int,
    branch_id: int,
    kind: str,
    answers: str,
    score: int,
    total: int,
    checked_on: date,
    source_key: str,
) -> bool:
    """Store a finished check; False if this card was already saved (a second tap)."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO selfchecks (branch_id, user_id, kind, answers, score, total, "
            "checked_on, source_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (branch_id, user_id, kind, answers, score, total, checked_on.isoformat(), source_key,
             utcnow()),
        )  # fmt: skip
        return cursor.rowcount == 1


async def latest(
    db: Database, branch_id: int, kind: str, before_id: int | None = None
) -> SelfCheck | None:
    """The branch's latest check of this kind (before a given one), or None."""
    row = await db.fetchone(
        "SELECT * FROM selfchecks WHERE branch_id = ? AND kind = ? AND id < ? "
        "ORDER BY id DESC LIMIT 1",
        (branch_id, kind, before_id if before_id is not None else 2**62),
    )
    return _check(row) if row else None


async def history(db: Database, branch_id: int, kind: str, limit: int = 10) -> list[SelfCheck]:
    rows = await db.fetchall(
        "SELECT * FROM selfchecks WHERE branch_id = ? AND kind = ? ORDER BY id DESC LIMIT ?",
        (branch_id, kind, limit),
    )
    return [_check(row) for row in rows]


async def by_source(db: Database, source_key: str) -> SelfCheck | None:
    row = await db.fetchone("SELECT * FROM selfchecks WHERE source_key = ?", (source_key,))
    return _check(row) if row else None
