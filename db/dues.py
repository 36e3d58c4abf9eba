"""党费 ledger storage: each party member's monthly amount, and each month's payment (in fen).

A payment written or withdrawn and the month's 党费已收齐 mark (obligation_marks) change in one
transaction, so /status, the reminders and the annual report read the same answer as /dues.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import aiosqlite
import msgspec

from db.database import Database, among, utcnow
from db.repo import write_audit

BASES = ("base", "retired", "fixed", "student", "farmer", "unemployed", "low_income")
CODE = "party_dues"


class Rate(msgspec.Struct, frozen=True):
    """A member's monthly amount, how it was decided, and whether they pay by quarter."""

    member_id: int
    amount_fen: int
    basis: str
    quarterly: bool
    since: date  # the first of the month the amount was first set


class Payment(msgspec.Struct, frozen=True):
    """One month paid by one member (member_id None: the member has left the roster)."""

    member_id: int | None
    name: str
    month: date  # the first of the month paid for
    due_fen: int
    paid_fen: int
    paid_on: date


def _month(text: str) -> date:
    return date.fromisoformat(f"{text}-01")


def _text(month: date) -> str:
    return month.strftime("%Y-%m")


async def rates(db: Database, branch_ids: Iterable[int] | None) -> dict[int, dict[int, Rate]]:
    """The amounts set in the given branches: branch → member → rate."""
    where, params = among(branch_ids)
    rows = await db.fetchall(
        "SELECT branch_id, member_id, amount_fen, basis, quarterly, since FROM dues_rates "
        f"WHERE {where}",
        params,
    )
    found: dict[int, dict[int, Rate]] = {}
    for r in rows:
        found.setdefault(r["branch_id"], {})[r["member_id"]] = Rate(
            r["member_id"], r["amount_fen"], r["basis"], bool(r["quarterly"]), _month(r["since"])
        )
    return found


async def payments(
    db: Database, branch_ids: Iterable[int] | None, *, since: date | None = None
) -> dict[int, list[Payment]]:
    """The payments of the given branches (from the month `since` on), by branch, by month."""
    where, params = among(branch_ids)
    rows = await db.fetchall(
        "SELECT branch_id, member_id, name, month, due_fen, paid_fen, paid_on "
        f"FROM dues_payments WHERE {where} AND month >= ? ORDER BY month, id",
        (*params, _text(since) if since else ""),
    )
    found: dict[int, list[Payment]] = {}
    for r in rows:
        found.setdefault(r["branch_id"], []).append(
            Payment(
                r["member_id"],
                r["name"],
                _month(r["month"]),
                r["due_fen"],
                r["paid_fen"],
                date.fromisoformat(r["paid_on"]),
            )
        )
    return found


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


async def set_rate(
    db: Database,
    *,
    user_id: int,
    branch_id: int,
    member_id: int,
    amount_fen: int,
    basis: str,
    quarterly: bool,
    month: date,
) -> date:
    """Set a member's monthly amount (audited without the amount's base, which is not kept);
    the month a new amount is owed from.

    A new amount is owed from `month`, unless `month` is already marked 党费已收齐 and the
    member has not paid it: the secretary said the month is collected, so the amount is owed
    from the next month on (the mark and the ledger keep agreeing, and neither is changed)."""
    if basis not in BASES or amount_fen <= 0:
        raise ValueError((basis, amount_fen))
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT amount_fen, quarterly, since FROM dues_rates WHERE member_id = ?",
            (member_id,),
        ) as cursor:
            old = await cursor.fetchone()
        if old is None:
            async with conn.execute(
                "SELECT 1 FROM obligation_marks WHERE branch_id = ? AND code = ? "
                "AND period_start = ? AND NOT EXISTS (SELECT 1 FROM dues_payments "
                "WHERE member_id = ? AND month = ?)",
                (branch_id, CODE, month.isoformat(), member_id, _text(month)),
            ) as cursor:
                if await cursor.fetchone() is not None:
                    month = _next_month(month)
        await conn.execute(
            "INSERT INTO dues_rates (member_id, branch_id, amount_fen, basis, quarterly, since, "
            "set_by, set_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (member_id) DO UPDATE "
            "SET amount_fen = excluded.amount_fen, basis = excluded.basis, "
            "quarterly = excluded.quarterly, set_by = excluded.set_by, set_at = excluded.set_at",
            (
                member_id,
                branch_id,
                amount_fen,
                basis,
                int(quarterly),
                _text(month),
                user_id,
                utcnow(),
            ),
        )
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=branch_id,
            action="dues_rate",
            entity="member",
            entity_id=member_id,
            changes={
                "amount_fen": [old["amount_fen"] if old else None, amount_fen],
                "quarterly": [bool(old["quarterly"]) if old else None, quarterly],
            },
        )
    return month if old is None else date.fromisoformat(f"{old['since']}-01")


async def record(
    db: Database,
    *,
    user_id: int,
    branch_id: int,
    paid: Sequence[Payment],
    complete: Mapping[date, bool],
) -> int:
    """Write payments (a month already paid by that member is left as it is) and set or clear
    each month's 党费已收齐 mark as `complete` says; returns how many payments were new."""
    added = 0
    async with db.transaction() as conn:
        for item in paid:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO dues_payments (branch_id, member_id, name, month, due_fen, "
                "paid_fen, paid_on, recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    branch_id,
                    item.member_id,
                    item.name,
                    _text(item.month),
                    item.due_fen,
                    item.paid_fen,
                    item.paid_on.isoformat(),
                    user_id,
                    utcnow(),
                ),
            )
            added += cursor.rowcount
        if added:
            await write_audit(
                conn,
                user_id=user_id,
                branch_id=branch_id,
                action="dues_paid",
                entity="branch",
                entity_id=branch_id,
                changes={
                    "payments": [None, added],
                    "months": [None, sorted({_text(p.month) for p in paid})],
                },
            )
        await _marks(conn, user_id, branch_id, complete)
    return added


async def withdraw(
    db: Database,
    *,
    user_id: int,
    branch_id: int,
    member_id: int,
    months: Sequence[date],
    complete: Mapping[date, bool],
) -> int:
    """Take back a member's payments for these months (a mistaken tap); returns how many."""
    removed = 0
    async with db.transaction() as conn:
        for month in months:
            cursor = await conn.execute(
                "DELETE FROM dues_payments WHERE branch_id = ? AND member_id = ? AND month = ?",
                (branch_id, member_id, _text(month)),
            )
            removed += cursor.rowcount
        if removed:
            await write_audit(
                conn,
                user_id=user_id,
                branch_id=branch_id,
                action="dues_withdrawn",
                entity="member",
                entity_id=member_id,
                changes={"months": [[_text(m) for m in months], None]},
            )
        await _marks(conn, user_id, branch_id, complete)
    return removed


async def settle(
    db: Database, *, user_id: int, branch_id: int, complete: Mapping[date, bool]
) -> None:
    """Set or clear months' 党费已收齐 marks (the ledger decided them again), in one write."""
    async with db.transaction() as conn:
        await _marks(conn, user_id, branch_id, complete)


async def _marks(
    conn: aiosqlite.Connection, user_id: int, branch_id: int, complete: Mapping[date, bool]
) -> None:
    for month, done in complete.items():
        if done:
            await conn.execute(
                "INSERT OR IGNORE INTO obligation_marks (branch_id, code, period_start, "
                "marked_by, marked_at) VALUES (?, ?, ?, ?, ?)",
                (branch_id, CODE, month.isoformat(), user_id, utcnow()),
            )
        else:
            await conn.execute(
                "DELETE FROM obligation_marks WHERE branch_id = ? AND code = ? "
                "AND period_start = ?",
                (branch_id, CODE, month.isoformat()),
            )


async def secretaries(db: Database, branch_ids: Iterable[int]) -> dict[int, int]:
    """The secretary's user id of each given branch."""
    where, params = among(branch_ids)
    rows = await db.fetchall(
        f"SELECT branch_id, user_id FROM memberships WHERE {where} AND role = 'secretary'", params
    )
    return {r["branch_id"]: r["user_id"] for r in rows}
