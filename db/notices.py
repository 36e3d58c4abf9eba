"""The admins' notices to branches: one row per notice, one target row per branch it went to.

A notice is created once per draft (its key is unique), so a repeated "发送" or a restart in the
middle of sending returns the notice already stored. A target is read once: the first member who
taps 已阅 is kept, later taps change nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import msgspec

from db.database import Database, utcnow
from db.repo import write_audit


class Notice(msgspec.Struct, frozen=True):
    """A sent notice with its read count."""

    id: int
    sent_by: int
    text: str
    audience: dict[str, Any]
    created_at: str
    targets: int
    read: int


class Target(msgspec.Struct, frozen=True):
    """One branch a notice went to, and whether it was read."""

    branch_id: int
    branch_name: str
    read_by: int | None
    read_at: str | None


_SUMMARY = (
    "SELECT n.*, COUNT(t.branch_id) AS targets, COUNT(t.read_at) AS read "
    "FROM notices n LEFT JOIN notice_targets t ON t.notice_id = n.id "
)


def _notice(row: Any) -> Notice:
    return Notice(
        id=row["id"],
        sent_by=row["sent_by"],
        text=row["text"],
        audience=json.loads(row["audience"]),
        created_at=row["created_at"],
        targets=row["targets"],
        read=row["read"],
    )


async def create(
    db: Database,
    *,
    sent_by: int,
    text: str,
    audience: dict[str, Any],
    branch_ids: Iterable[int],
    draft_key: str,
) -> tuple[Notice, bool]:
    """Store a notice and its target branches in one transaction (audited).

    The same draft stored again returns the first notice; returns the notice and whether it was
    created now.
    """
    targets = sorted(set(branch_ids))
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT id FROM notices WHERE draft_key = ?", (draft_key,)
        ) as cursor:
            existing = await cursor.fetchone()
        created = existing is None
        if existing is None:
            cursor = await conn.execute(
                "INSERT INTO notices (sent_by, text, audience, draft_key, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (sent_by, text, json.dumps(audience, ensure_ascii=False), draft_key, utcnow()),
            )
            notice_id = cursor.lastrowid
            assert notice_id is not None
            await conn.executemany(
                "INSERT INTO notice_targets (notice_id, branch_id) VALUES (?, ?)",
                [(notice_id, branch_id) for branch_id in targets],
            )
            await write_audit(
                conn,
                user_id=sent_by,
                branch_id=None,
                action="create",
                entity="notice",
                entity_id=notice_id,
                changes={"audience": [None, audience], "branches": [None, len(targets)]},
            )
        else:
            notice_id = existing["id"]
        async with conn.execute(_SUMMARY + "WHERE n.id = ? GROUP BY n.id", (notice_id,)) as cursor:
            row = await cursor.fetchone()
    assert row is not None
    return _notice(row), created


async def get(db: Database, notice_id: int) -> Notice | None:
    """One notice with its read count, or None."""
    row = await db.fetchone(_SUMMARY + "WHERE n.id = ? GROUP BY n.id", (notice_id,))
    return _notice(row) if row else None


async def recent(db: Database, *, limit: int, offset: int = 0) -> tuple[list[Notice], int]:
    """The newest notices first (a page of them), and how many there are in all."""
    rows = await db.fetchall(
        _SUMMARY + "GROUP BY n.id ORDER BY n.id DESC LIMIT ? OFFSET ?", (limit, offset)
    )
    total = await db.fetchone("SELECT COUNT(*) AS n FROM notices")
    return [_notice(row) for row in rows], int(total["n"]) if total else 0


async def targets(db: Database, notice_id: int) -> list[Target]:
    """The branches a notice went to, unread first, then by branch id."""
    rows = await db.fetchall(
        "SELECT t.branch_id, b.name, t.read_by, t.read_at FROM notice_targets t "
        "JOIN branches b ON b.id = t.branch_id WHERE t.notice_id = ? "
        "ORDER BY t.read_at IS NOT NULL, t.branch_id",
        (notice_id,),
    )
    return [Target(r["branch_id"], r["name"], r["read_by"], r["read_at"]) for r in rows]


async def target(db: Database, notice_id: int, branch_id: int) -> Target | None:
    """Whether this branch is one the notice went to (None: it is not)."""
    row = await db.fetchone(
        "SELECT t.branch_id, b.name, t.read_by, t.read_at FROM notice_targets t "
        "JOIN branches b ON b.id = t.branch_id WHERE t.notice_id = ? AND t.branch_id = ?",
        (notice_id, branch_id),
    )
    return Target(row["branch_id"], row["name"], row["read_by"], row["read_at"]) if row else None


async def mark_read(db: Database, notice_id: int, branch_id: int, user_id: int) -> bool:
    """Note that the branch read the notice; False if it was already read (nothing changes)."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE notice_targets SET read_by = ?, read_at = ? "
            "WHERE notice_id = ? AND branch_id = ? AND read_at IS NULL",
            (user_id, utcnow(), notice_id, branch_id),
        )
        return cursor.rowcount == 1
