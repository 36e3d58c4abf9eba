"""Meeting notices sent to a branch's group (/notify) and each member's answer 参加 / 请假.

A notice is created once per draft (its key is unique), so a repeated 发送 or a restart in the
middle of sending finds the notice already stored. One answer per (notice, member): a later tap
replaces it. A notice takes answers until its meeting's day is over or it is cancelled.
"""

from __future__ import annotations

from datetime import date

import aiosqlite
import msgspec

from db.database import Database, utcnow
from db.models import PARTY_MEMBER_STATUSES
from db.repo import write_audit

_PARTY = tuple(sorted(PARTY_MEMBER_STATUSES))
_IS_PARTY = f"m.status IN ({', '.join('?' * len(_PARTY))})"
STATES = ("attend", "leave")


class Notice(msgspec.Struct, frozen=True):
    """One meeting notice (times local to the branch)."""

    id: int
    branch_id: int
    kind: str
    held_on: date
    start_time: str
    place: str
    agenda: str
    chat_id: int
    created_by: int
    cancelled: bool
    meeting_id: int | None

    def is_open(self, today: date) -> bool:
        """Whether members can still answer it."""
        return not self.cancelled and today <= self.held_on


class Answers(msgspec.Struct, frozen=True):
    """Who answered what: names attending, (name, reason) on leave, party members silent."""

    expected: int
    attend: list[str]
    leave: list[tuple[str, str]]
    silent: list[tuple[int, int | None]]  # (member id, linked user id)


def _notice(row: aiosqlite.Row) -> Notice:
    return Notice(
        id=row["id"],
        branch_id=row["branch_id"],
        kind=row["kind"],
        held_on=date.fromisoformat(row["held_on"]),
        start_time=row["start_time"],
        place=row["place"],
        agenda=row["agenda"],
        chat_id=row["chat_id"],
        created_by=row["created_by"],
        cancelled=row["cancelled_at"] is not None,
        meeting_id=row["meeting_id"],
    )


async def create(
    db: Database,
    *,
    user_id: int,
    branch_id: int,
    kind: str,
    held_on: date,
    start_time: str,
    place: str,
    agenda: str,
    chat_id: int,
    draft_key: str,
) -> tuple[Notice, bool]:
    """Store a notice once per draft; (the notice, whether it is new)."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT * FROM meeting_notices WHERE draft_key = ?", (draft_key,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is not None:
            return _notice(row), False
        async with conn.execute(
            "INSERT INTO meeting_notices (branch_id, kind, held_on, start_time, place, agenda, "
            "chat_id, created_by, created_at, draft_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING *",
            (
                branch_id,
                kind,
                held_on.isoformat(),
                start_time,
                place,
                agenda,
                chat_id,
                user_id,
                utcnow(),
                draft_key,
            ),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=branch_id,
            action="create",
            entity="meeting_notice",
            entity_id=row["id"],
            changes={"kind": [None, kind], "held_on": [None, held_on.isoformat()]},
        )
    return _notice(row), True


async def get(db: Database, notice_id: int) -> Notice | None:
    """A notice by id."""
    row = await db.fetchone("SELECT * FROM meeting_notices WHERE id = ?", (notice_id,))
    return _notice(row) if row else None


async def cancel(db: Database, *, notice_id: int, user_id: int) -> bool:
    """Cancel a notice (audited); False if it was cancelled already or is gone."""
    async with db.transaction() as conn:
        async with conn.execute(
            "UPDATE meeting_notices SET cancelled_at = ? WHERE id = ? AND cancelled_at IS NULL "
            "RETURNING branch_id",
            (utcnow(), notice_id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return False
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=row["branch_id"],
            action="cancel",
            entity="meeting_notice",
            entity_id=notice_id,
            changes={},
        )
    return True


async def answer(
    db: Database, *, notice_id: int, member_id: int, state: str, reason: str, today: date
) -> str:
    """Record a member's answer; what happened, as a word.

    "closed": cancelled or its day is over (nothing written); "same": the same answer again (a
    leave's reason updated); "changed": the other answer before; "new": the first answer.
    """
    if state not in STATES:
        raise ValueError(state)
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT held_on, cancelled_at FROM meeting_notices WHERE id = ?", (notice_id,)
        ) as cursor:
            notice = await cursor.fetchone()
        if (
            notice is None
            or notice["cancelled_at"] is not None
            or date.fromisoformat(notice["held_on"]) < today
        ):
            return "closed"
        async with conn.execute(
            "SELECT state FROM notice_answers WHERE notice_id = ? AND member_id = ?",
            (notice_id, member_id),
        ) as cursor:
            old = await cursor.fetchone()
        await conn.execute(
            "INSERT INTO notice_answers (notice_id, member_id, state, reason, at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(notice_id, member_id) DO UPDATE SET "
            "state = excluded.state, reason = excluded.reason, at = excluded.at",
            (notice_id, member_id, state, reason if state == "leave" else "", utcnow()),
        )
    if old is None:
        return "new"
    return "same" if old["state"] == state else "changed"


async def state_of(db: Database, notice_id: int, member_id: int) -> str | None:
    """The member's answer: attend, leave, or None."""
    row = await db.fetchone(
        "SELECT state FROM notice_answers WHERE notice_id = ? AND member_id = ?",
        (notice_id, member_id),
    )
    return row["state"] if row else None


async def answers(db: Database, notice: Notice) -> Answers:
    """The answers of the branch's party members on the roster now (by name)."""
    rows = await db.fetchall(
        "SELECT m.id, m.name, m.user_id, a.state, a.reason FROM members m "
        "LEFT JOIN notice_answers a ON a.member_id = m.id AND a.notice_id = ? "
        f"WHERE m.branch_id = ? AND {_IS_PARTY} ORDER BY m.name",
        (notice.id, notice.branch_id, *_PARTY),
    )
    return Answers(
        expected=len(rows),
        attend=[r["name"] for r in rows if r["state"] == "attend"],
        leave=[(r["name"], r["reason"]) for r in rows if r["state"] == "leave"],
        silent=[(r["id"], r["user_id"]) for r in rows if r["state"] is None],
    )


async def for_meeting(db: Database, branch_id: int, kind: str, held_on: date) -> Notice | None:
    """The branch's latest notice (not cancelled) of this kind on this day."""
    row = await db.fetchone(
        "SELECT * FROM meeting_notices WHERE branch_id = ? AND held_on = ? AND kind = ? "
        "AND cancelled_at IS NULL ORDER BY id DESC LIMIT 1",
        (branch_id, held_on.isoformat(), kind),
    )
    return _notice(row) if row else None


async def set_meeting(db: Database, notice_id: int, meeting_id: int) -> None:
    """Link a notice to the record of its meeting."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE meeting_notices SET meeting_id = ? WHERE id = ?", (meeting_id, notice_id)
        )
