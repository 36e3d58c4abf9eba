"""Repository functions for group sign-in cards (签到), their marks and the 补学 items.

A card belongs to one branch and one group chat; at most one card per group is open. A mark is
one row per (card, member), so a repeated tap never counts twice. Closing a card creates one
补学 item per party member on the roster who was not present (absent or on leave), in the same
transaction; a closed card is then read from its marks and 补学 items, so later roster changes do
not rewrite who attended.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import aiosqlite
import msgspec

from db.database import Database, utcnow
from db.models import PARTY_MEMBER_STATUSES
from db.repo import write_audit

_PARTY = tuple(sorted(PARTY_MEMBER_STATUSES))
_IS_PARTY = f"status IN ({', '.join('?' * len(_PARTY))})"


class Checkin(msgspec.Struct, frozen=True):
    """One sign-in card posted in a group."""

    id: int
    branch_id: int
    chat_id: int
    message_id: int | None
    held_on: date
    kind: str
    opened_by: int
    closed_at: str | None
    meeting_id: int | None

    @property
    def is_open(self) -> bool:
        """Whether people can still sign in."""
        return self.closed_at is None


class Tally(msgspec.Struct, frozen=True):
    """Who is where on a card: names of the present, (name, reason) on leave, the absent."""

    expected: int
    present: list[str]
    on_leave: list[tuple[str, str]]
    absent: list[str]


class Makeup(msgspec.Struct, frozen=True):
    """One 补学 item: a party member who missed a meeting must study its content afterwards."""

    id: int
    branch_id: int
    member_id: int
    name: str
    held_on: date
    kind: str
    checkin_id: int
    done_at: str | None = None


def _checkin(row: aiosqlite.Row) -> Checkin:
    return Checkin(
        id=row["id"],
        branch_id=row["branch_id"],
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        held_on=date.fromisoformat(row["held_on"]),
        kind=row["kind"] or "",
        opened_by=row["opened_by"],
        closed_at=row["closed_at"],
        meeting_id=row["meeting_id"],
    )


def _makeup(row: aiosqlite.Row) -> Makeup:
    return Makeup(
        id=row["id"],
        branch_id=row["branch_id"],
        member_id=row["member_id"],
        name=row["name"],
        held_on=date.fromisoformat(row["held_on"]),
        kind=row["kind"] or "",
        checkin_id=row["checkin_id"],
        done_at=row["done_at"],
    )


async def open_card(
    db: Database, *, branch_id: int, chat_id: int, held_on: date, kind: str, user_id: int
) -> tuple[Checkin, bool]:
    """Open a card in a group; if one is open there already, return it instead (created False)."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT * FROM checkins WHERE chat_id = ? AND closed_at IS NULL ORDER BY id LIMIT 1",
            (chat_id,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is not None:
            return _checkin(row), False
        cursor = await conn.execute(
            "INSERT INTO checkins (branch_id, chat_id, held_on, kind, opened_by, opened_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (branch_id, chat_id, held_on.isoformat(), kind, user_id, utcnow()),
        )
        assert cursor.lastrowid is not None
        checkin_id = cursor.lastrowid
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=branch_id,
            action="create",
            entity="checkin",
            entity_id=checkin_id,
            changes={"kind": [None, kind], "held_on": [None, held_on.isoformat()]},
        )
    card = Checkin(checkin_id, branch_id, chat_id, None, held_on, kind, user_id, None, None)
    return card, True


async def set_message(db: Database, checkin_id: int, message_id: int) -> None:
    """Remember the card's message in the group (to edit it)."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE checkins SET message_id = ? WHERE id = ?", (message_id, checkin_id)
        )


async def discard(db: Database, checkin_id: int) -> None:
    """Forget a card that could not be posted (nobody can have signed in on it)."""
    async with db.transaction() as conn:
        await conn.execute(
            "DELETE FROM checkins WHERE id = ? AND message_id IS NULL", (checkin_id,)
        )


async def get(db: Database, checkin_id: int) -> Checkin | None:
    """A card by id."""
    row = await db.fetchone("SELECT * FROM checkins WHERE id = ?", (checkin_id,))
    return _checkin(row) if row else None


async def set_meeting(db: Database, checkin_id: int, meeting_id: int) -> None:
    """Link a card to the meeting record logged from it."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE checkins SET meeting_id = ? WHERE id = ?", (meeting_id, checkin_id)
        )


async def mark(
    db: Database, *, checkin_id: int, member_id: int, state: str, reason: str = ""
) -> str:
    """Record a member as present or on leave; what happened, as a word.

    "closed": the card is closed (nothing written); "signed": already present (a leave is refused
    and a second sign-in changes nothing); "same": the same leave again (reason updated);
    "changed": on leave before, present now; "new": first mark.
    """
    if state not in ("present", "leave"):
        raise ValueError(state)
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT closed_at FROM checkins WHERE id = ?", (checkin_id,)
        ) as cursor:
            card = await cursor.fetchone()
        if card is None or card["closed_at"] is not None:
            return "closed"
        async with conn.execute(
            "SELECT state FROM checkin_marks WHERE checkin_id = ? AND member_id = ?",
            (checkin_id, member_id),
        ) as cursor:
            old = await cursor.fetchone()
        if old is not None and old["state"] == "present":
            return "signed"
        await conn.execute(
            "INSERT INTO checkin_marks (checkin_id, member_id, state, reason, at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(checkin_id, member_id) DO UPDATE SET "
            "state = excluded.state, reason = excluded.reason, at = excluded.at",
            (checkin_id, member_id, state, reason if state == "leave" else "", utcnow()),
        )
    if old is None:
        return "new"
    return "same" if state == "leave" else "changed"


async def state_of(db: Database, checkin_id: int, member_id: int) -> str | None:
    """The member's mark on the card: present, leave, or None."""
    row = await db.fetchone(
        "SELECT state FROM checkin_marks WHERE checkin_id = ? AND member_id = ?",
        (checkin_id, member_id),
    )
    return row["state"] if row else None


async def tally(db: Database, card: Checkin) -> Tally:
    """Who is present, on leave and absent (open: against the roster; closed: as closed)."""
    marks = await db.fetchall(
        "SELECT k.member_id, m.name, k.state, k.reason FROM checkin_marks k "
        "JOIN members m ON m.id = k.member_id WHERE k.checkin_id = ? ORDER BY k.at, m.name",
        (card.id,),
    )
    if card.is_open:
        roster = await db.fetchall(
            f"SELECT id, name FROM members WHERE branch_id = ? AND {_IS_PARTY} ORDER BY name",
            (card.branch_id, *_PARTY),
        )
        party = {row["id"] for row in roster}
        marks = [row for row in marks if row["member_id"] in party]
        marked = {row["member_id"] for row in marks}
        absent = [row["name"] for row in roster if row["id"] not in marked]
    else:
        rows = await db.fetchall(
            "SELECT m.name FROM makeups u JOIN members m ON m.id = u.member_id "
            "WHERE u.checkin_id = ? AND NOT EXISTS (SELECT 1 FROM checkin_marks k "
            "WHERE k.checkin_id = u.checkin_id AND k.member_id = u.member_id) ORDER BY m.name",
            (card.id,),
        )
        absent = [row["name"] for row in rows]
    present = [row["name"] for row in marks if row["state"] == "present"]
    on_leave = [(row["name"], row["reason"]) for row in marks if row["state"] == "leave"]
    return Tally(len(present) + len(on_leave) + len(absent), present, on_leave, absent)


async def close(db: Database, *, checkin_id: int, user_id: int) -> bool:
    """Close an open card and create its 补学 items; False if it was closed already."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT branch_id FROM checkins WHERE id = ? AND closed_at IS NULL", (checkin_id,)
        ) as cursor:
            card = await cursor.fetchone()
        if card is None:
            return False
        now = utcnow()
        await conn.execute("UPDATE checkins SET closed_at = ? WHERE id = ?", (now, checkin_id))
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO makeups (branch_id, member_id, checkin_id, created_at) "
            f"SELECT branch_id, id, ?, ? FROM members WHERE branch_id = ? AND {_IS_PARTY} "
            "AND id NOT IN (SELECT member_id FROM checkin_marks "
            "WHERE checkin_id = ? AND state = 'present')",
            (checkin_id, now, card["branch_id"], *_PARTY, checkin_id),
        )
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=card["branch_id"],
            action="close",
            entity="checkin",
            entity_id=checkin_id,
            changes={"makeups": [None, cursor.rowcount]},
        )
    return True


async def attendance(db: Database, checkin_id: int) -> dict[str, Any] | None:
    """The card's attendance, in the shape of a meeting record's fields (None: no such card).

    Absentees are those on leave (reason "请假：…") and the unexcused (reason "").
    """
    card = await get(db, checkin_id)
    if card is None:
        return None
    found = await tally(db, card)
    absentees = [[name, f"请假：{reason}"] for name, reason in found.on_leave]
    absentees += [[name, ""] for name in found.absent]
    return {
        "branch_id": card.branch_id,
        "held_on": card.held_on,
        "kind": card.kind,
        "expected": found.expected,
        "present": len(found.present),
        "on_leave": len(found.on_leave),
        "absentees": absentees,
    }


_MAKEUP_SELECT = (
    "SELECT u.id, u.branch_id, u.member_id, u.checkin_id, u.done_at, m.name, c.held_on, c.kind "
    "FROM makeups u JOIN members m ON m.id = u.member_id JOIN checkins c ON c.id = u.checkin_id "
)


async def open_makeups(db: Database, branch_id: int) -> list[Makeup]:
    """The branch's 补学 items not done yet, oldest meeting first."""
    rows = await db.fetchall(
        _MAKEUP_SELECT + "WHERE u.branch_id = ? AND u.done_at IS NULL "
        "ORDER BY c.held_on, c.id, m.name",
        (branch_id,),
    )
    return [_makeup(row) for row in rows]


async def get_makeup(db: Database, makeup_id: int) -> Makeup | None:
    """One 补学 item by id."""
    row = await db.fetchone(_MAKEUP_SELECT + "WHERE u.id = ?", (makeup_id,))
    return _makeup(row) if row else None


async def makeup_done(db: Database, *, makeup_id: int, user_id: int) -> bool:
    """Tick a 补学 item off (audited); False if it was done already or is gone."""
    async with db.transaction() as conn:
        now = utcnow()
        cursor = await conn.execute(
            "UPDATE makeups SET done_at = ?, done_by = ? WHERE id = ? AND done_at IS NULL "
            "RETURNING branch_id",
            (now, user_id, makeup_id),
        )
        row = await cursor.fetchone()
        await cursor.close()
        if row is None:
            return False
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=row["branch_id"],
            action="update",
            entity="makeup",
            entity_id=makeup_id,
            changes={"done_at": [None, now]},
        )
    return True
