"""民主评议党员: each party member's grade in one appraisal record, audited like every change."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from db.database import Database, utcnow
from db.repo import write_audit

GRADES = ("excellent", "qualified", "basic", "unqualified")
WITH_REASON = frozenset({"basic", "unqualified"})  # 基本合格, 不合格: the reason is written down


class Grade(msgspec.Struct, frozen=True):
    """One member's grade in one appraisal."""

    member_id: int
    grade: str
    reason: str = ""


async def grades(db: Database, meeting_id: int) -> dict[int, Grade]:
    """The grades given in an appraisal, by member id."""
    rows = await db.fetchall(
        "SELECT member_id, grade, reason FROM appraisal_grades WHERE meeting_id = ?",
        (meeting_id,),
    )
    return {r["member_id"]: Grade(r["member_id"], r["grade"], r["reason"]) for r in rows}


async def set_grades(
    db: Database,
    *,
    user_id: int,
    branch_id: int,
    meeting_id: int,
    given: Sequence[Grade],
) -> int:
    """Set these members' grades (one transaction, each change audited); returns how many
    changed. A grade that does not need a reason keeps none."""
    changed = 0
    async with db.transaction() as conn:
        for item in given:
            if item.grade not in GRADES:
                raise ValueError(item.grade)
            reason = item.reason if item.grade in WITH_REASON else ""
            async with conn.execute(
                "SELECT grade, reason FROM appraisal_grades "
                "WHERE meeting_id = ? AND member_id = ?",
                (meeting_id, item.member_id),
            ) as cursor:
                old = await cursor.fetchone()
            if old is not None and (old["grade"], old["reason"]) == (item.grade, reason):
                continue
            await conn.execute(
                "INSERT INTO appraisal_grades (meeting_id, member_id, grade, reason, graded_by, "
                "graded_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (meeting_id, member_id) DO "
                "UPDATE SET grade = excluded.grade, reason = excluded.reason, "
                "graded_by = excluded.graded_by, graded_at = excluded.graded_at",
                (meeting_id, item.member_id, item.grade, reason, user_id, utcnow()),
            )
            await write_audit(
                conn,
                user_id=user_id,
                branch_id=branch_id,
                action="grade",
                entity="meeting",
                entity_id=meeting_id,
                changes={
                    "member": [None, item.member_id],
                    "grade": [old["grade"] if old else None, item.grade],
                },
            )
            changed += 1
    return changed
