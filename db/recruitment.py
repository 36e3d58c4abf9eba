"""发展党员 steps: each person's recorded steps, and recording one with the roster following it in
the same transaction (a step into a new stage sets the member's status and its date)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import aiosqlite
import msgspec

from db import members, outbox
from db.database import Database, among, utcnow
from db.models import ENTRY_STEPS, MEMBER_STATUSES
from db.repo import write_audit

UNITS = ("", "days", "hours", "months")


class StepRow(msgspec.Struct, frozen=True):
    """One recorded step of one member."""

    member_id: int
    step: str
    done_on: date
    amount: int | None = None
    unit: str = ""
    introducers: tuple[str, ...] = ()


class AlreadyRecorded(Exception):
    """The step was recorded meanwhile (it is taken once)."""


def _row(row: aiosqlite.Row) -> StepRow:
    names = tuple(n for n in (row["introducer_a"], row["introducer_b"]) if n)
    return StepRow(
        member_id=row["member_id"],
        step=row["step"],
        done_on=date.fromisoformat(row["done_on"]),
        amount=row["amount"],
        unit=row["unit"],
        introducers=names,
    )


async def steps_of(db: Database, branch_id: int) -> dict[int, list[StepRow]]:
    """The branch's recorded steps by member id, oldest first."""
    return (await all_steps(db, [branch_id])).get(branch_id, {})


async def all_steps(
    db: Database, branch_ids: Sequence[int] | None = None
) -> dict[int, dict[int, list[StepRow]]]:
    """Every (or the given) branch's steps: branch id → member id → steps, oldest first."""
    where, ids = among(branch_ids)
    rows = await db.fetchall(
        f"SELECT * FROM recruitment_steps WHERE {where} "
        "ORDER BY branch_id, member_id, done_on, id",
        ids,
    )
    found: dict[int, dict[int, list[StepRow]]] = {}
    for row in rows:
        found.setdefault(row["branch_id"], {}).setdefault(row["member_id"], []).append(_row(row))
    return found


async def record(
    db: Database,
    *,
    user_id: int,
    branch_id: int,
    step: StepRow,
    status: str | None,
    joined_on: date | None,
    draft_key: str,
    implied: Sequence[StepRow] = (),
) -> bool:
    """Record a step (audited) and, when `status` is given, move the member to it with
    `joined_on`; one transaction. `implied` are steps known only from the roster's date, kept
    before the date is overwritten (the application date of an applicant who becomes an
    activist). False if this form's step was recorded already (saved twice);
    AlreadyRecorded if another one recorded the same once-only step meanwhile. The member's
    queued 发展党员 reminders are cancelled after the commit: the sweep decides anew."""
    names = (*step.introducers, "", "")[:2]
    async with db.transaction() as conn:
        try:
            cursor = await conn.execute(
                "INSERT INTO recruitment_steps (branch_id, member_id, step, done_on, amount, "
                "unit, introducer_a, introducer_b, draft_key, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (draft_key) DO NOTHING",
                (branch_id, step.member_id, step.step, step.done_on.isoformat(), step.amount,
                 step.unit, *names, draft_key, user_id, utcnow()),
            )  # fmt: skip
        except aiosqlite.IntegrityError as exc:
            raise AlreadyRecorded(step.step) from exc
        if cursor.rowcount == 0:
            return False
        for known in implied:
            await conn.execute(
                "INSERT INTO recruitment_steps (branch_id, member_id, step, done_on, created_by, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (branch_id, known.member_id, known.step, known.done_on.isoformat(), user_id,
                 utcnow()),
            )  # fmt: skip
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=branch_id,
            action="recruitment_step",
            entity="member",
            entity_id=step.member_id,
            changes={"step": [None, step.step], "done_on": [None, step.done_on.isoformat()]},
        )
        if status is not None:
            await members.set_status_in(
                conn,
                user_id=user_id,
                branch_id=branch_id,
                member_id=step.member_id,
                status=status,
                joined_on=joined_on,
            )
    await outbox.cancel(db, f"ob:{branch_id}:recruitment.{step.member_id}:")
    if step.step == "extended" or (status is not None and status != "probationary"):
        await outbox.cancel(db, f"ob:{branch_id}:probation.{step.member_id}:")
    return True


async def keep_entry_in(
    conn: aiosqlite.Connection,
    *,
    user_id: int,
    branch_id: int,
    member_id: int,
    old_status: str,
    old_date: date | None,
    new_status: str,
) -> None:
    """A member moved on by editing the roster (not by recording a step): the date of the stage
    left, held only in joined_on, is kept as its step before it is overwritten. Nothing for a
    move back (a correction) or an unknown date."""
    order = MEMBER_STATUSES[::-1]  # applicant … formal
    if old_date is None or order.index(new_status) <= order.index(old_status):
        return
    await conn.execute(
        "INSERT INTO recruitment_steps (branch_id, member_id, step, done_on, created_by, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (branch_id, member_id, ENTRY_STEPS[old_status], old_date.isoformat(), user_id, utcnow()),
    )
