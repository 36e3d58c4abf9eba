"""Repository functions for the roster (members): one row per person, unique name per branch.

Every change is audited in the same transaction. The audit keeps field names and old/new values
of statuses and dates; names are personal data, so the audit refers to members by id only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import aiosqlite
from msgspec.structs import asdict

from db.database import Database, among, utcnow
from db.models import Member, MemberInfo
from db.repo import write_audit

INFO_FIELDS = MemberInfo.__struct_fields__
_DATE_FIELDS = frozenset({"joined_on", "left_on", "last_report_on"})
# Fields whose values are not written to the audit log (personal data): only "changed".
_PRIVATE_FIELDS = frozenset({"name", "destination"})
MAX_MEMBERS = 2000


class DuplicateName(Exception):
    """Another member of the branch already has this name."""


def _to_column(name: str, value: Any) -> Any:
    if name in _DATE_FIELDS:
        return value.isoformat() if value else None
    if name == "mobile":
        return int(value)
    return value


def _from_row(row: aiosqlite.Row) -> Member:
    # Field by field: the sweep turns every member of a city into one of these.
    joined_on, left_on, last_report_on = row["joined_on"], row["left_on"], row["last_report_on"]
    info = MemberInfo(
        name=row["name"],
        status=row["status"],
        joined_on=date.fromisoformat(joined_on) if joined_on else None,
        party_group=row["party_group"],
        committee_role=row["committee_role"],
        mobile=bool(row["mobile"]),
        destination=row["destination"],
        left_on=date.fromisoformat(left_on) if left_on else None,
        last_report_on=date.fromisoformat(last_report_on) if last_report_on else None,
    )
    return Member(
        id=row["id"],
        branch_id=row["branch_id"],
        info=info,
        user_id=row["user_id"],
        created_at=row["created_at"],
    )


async def _sync_counts(conn: aiosqlite.Connection, user_id: int, branch_id: int) -> None:
    """Once the roster is confirmed complete, the profile's member counts follow it (audited);
    before that a partial roster never touches them (bot.member_counts)."""
    async with conn.execute(
        "SELECT roster_complete FROM branches WHERE id = ?", (branch_id,)
    ) as cursor:
        flag = await cursor.fetchone()
    if flag is None or not flag["roster_complete"]:
        return
    async with conn.execute(
        "SELECT COUNT(*) AS total, SUM(status = 'formal') AS formal, "
        "SUM(status = 'probationary') AS probationary FROM members WHERE branch_id = ?",
        (branch_id,),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None or not row["total"]:
        return
    async with conn.execute(
        "SELECT formal_members, probationary_members FROM branches WHERE id = ?", (branch_id,)
    ) as cursor:
        old = await cursor.fetchone()
    new = {
        "formal_members": int(row["formal"] or 0),
        "probationary_members": int(row["probationary"] or 0),
    }
    if old is None:
        return
    changed = {k: [old[k], v] for k, v in new.items() if old[k] != v}
    if not changed:
        return
    await conn.execute(
        "UPDATE branches SET formal_members = ?, probationary_members = ?, updated_at = ? "
        "WHERE id = ?",
        (new["formal_members"], new["probationary_members"], utcnow(), branch_id),
    )
    await write_audit(
        conn,
        user_id=user_id,
        branch_id=branch_id,
        action="roster_counts",
        entity="branch",
        entity_id=branch_id,
        changes=changed,
    )


async def confirm_complete(db: Database, *, user_id: int, branch_id: int) -> bool:
    """The secretary confirmed the roster lists everyone: from now on the counts come from it.
    False if it was confirmed already."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE branches SET roster_complete = 1, updated_at = ? "
            "WHERE id = ? AND roster_complete = 0",
            (utcnow(), branch_id),
        )
        if cursor.rowcount == 0:
            return False
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=branch_id,
            action="roster_complete",
            entity="branch",
            entity_id=branch_id,
            changes={"roster_complete": [0, 1]},
        )
        await _sync_counts(conn, user_id, branch_id)
    return True


def _audit(name: str, value: Any) -> Any:
    if name in _PRIVATE_FIELDS:
        return "…"
    return _to_column(name, value)


async def add(db: Database, *, user_id: int, branch_id: int, info: MemberInfo) -> Member:
    """Add a member; raises DuplicateName if the branch already has one of that name."""
    async with db.transaction() as conn:
        member_id = await _insert(conn, branch_id, info)
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=branch_id,
            action="create",
            entity="member",
            entity_id=member_id,
            changes={n: [None, _audit(n, getattr(info, n))] for n in INFO_FIELDS},
        )
        await _sync_counts(conn, user_id, branch_id)
    return Member(id=member_id, branch_id=branch_id, info=info)


async def _insert(conn: aiosqlite.Connection, branch_id: int, info: MemberInfo) -> int:
    now = utcnow()
    values = asdict(info)
    try:
        cursor = await conn.execute(
            f"INSERT INTO members (branch_id, {', '.join(INFO_FIELDS)}, created_at, updated_at) "
            f"VALUES (?, {', '.join('?' * len(INFO_FIELDS))}, ?, ?)",
            (branch_id, *(_to_column(n, values[n]) for n in INFO_FIELDS), now, now),
        )
    except aiosqlite.IntegrityError as exc:
        if "UNIQUE" in str(exc):
            raise DuplicateName(info.name) from exc
        raise
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def add_many(
    db: Database, *, user_id: int, branch_id: int, infos: Sequence[MemberInfo]
) -> int:
    """Add many members in one transaction: all of them or none (DuplicateName names the first)."""
    async with db.transaction() as conn:
        for info in infos:
            await _insert(conn, branch_id, info)
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=branch_id,
            action="import",
            entity="member",
            entity_id=None,
            changes={"rows": [None, len(infos)]},
        )
        await _sync_counts(conn, user_id, branch_id)
    return len(infos)


async def get(db: Database, branch_id: int, member_id: int) -> Member | None:
    """A member of this branch (None if the id belongs to another branch or is gone)."""
    row = await db.fetchone(
        "SELECT * FROM members WHERE id = ? AND branch_id = ?", (member_id, branch_id)
    )
    return _from_row(row) if row else None


async def list_for(db: Database, branch_id: int) -> list[Member]:
    """The branch's roster, by party status then name."""
    rows = await db.fetchall(
        "SELECT * FROM members WHERE branch_id = ? ORDER BY "
        "CASE status WHEN 'formal' THEN 0 WHEN 'probationary' THEN 1 WHEN 'candidate' THEN 2 "
        "WHEN 'activist' THEN 3 ELSE 4 END, name",
        (branch_id,),
    )
    return [_from_row(row) for row in rows]


async def all_members(
    db: Database, branch_ids: Sequence[int] | None = None
) -> dict[int, list[Member]]:
    """Every branch's roster (or the given branches'), by branch id (sweep, overview, status)."""
    found: dict[int, list[Member]] = {}
    where, params = among(branch_ids)
    rows = await db.fetchall(
        f"SELECT * FROM members WHERE {where} ORDER BY branch_id, name", params
    )
    for row in rows:
        member = _from_row(row)
        found.setdefault(member.branch_id, []).append(member)
    return found


async def with_timelines(
    db: Database, branch_ids: Sequence[int] | None = None
) -> dict[int, list[Member]]:
    """The members whose 发展党员 timeline can owe something (bot.recruitment.duties) or extend
    a 预备期: applicants, activists and candidates, and probationary members with steps
    recorded (one without has a 转正 the party roll already gives). For the sweep's batches."""
    found: dict[int, list[Member]] = {}
    where, params = among(branch_ids)
    rows = await db.fetchall(
        f"SELECT * FROM members WHERE {where} AND (status IN ('applicant', 'activist', "
        "'candidate') OR (status = 'probationary' AND EXISTS (SELECT 1 FROM recruitment_steps "
        "AS s WHERE s.member_id = members.id))) ORDER BY branch_id, name",
        params,
    )
    for row in rows:
        member = _from_row(row)
        found.setdefault(member.branch_id, []).append(member)
    return found


async def count(db: Database, branch_id: int) -> int:
    """How many people are on the branch's roster."""
    row = await db.fetchone("SELECT COUNT(*) AS n FROM members WHERE branch_id = ?", (branch_id,))
    return int(row["n"]) if row else 0


async def by_name(db: Database, branch_id: int, name: str) -> Member | None:
    """The member of this name in the branch."""
    row = await db.fetchone(
        "SELECT * FROM members WHERE branch_id = ? AND name = ?", (branch_id, name)
    )
    return _from_row(row) if row else None


async def by_user(db: Database, branch_id: int, user_id: int) -> Member | None:
    """The roster entry a Telegram user signed in as, in this branch."""
    row = await db.fetchone(
        "SELECT * FROM members WHERE branch_id = ? AND user_id = ?", (branch_id, user_id)
    )
    return _from_row(row) if row else None


async def update(
    db: Database, *, user_id: int, branch_id: int, member_id: int, info: MemberInfo
) -> bool:
    """Change a member's fields (audited); False if the member is not in this branch."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT * FROM members WHERE id = ? AND branch_id = ?", (member_id, branch_id)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return False
        old = _from_row(row).info
        changed = {
            n: [_audit(n, getattr(old, n)), _audit(n, getattr(info, n))]
            for n in INFO_FIELDS
            if getattr(old, n) != getattr(info, n)
        }
        if not changed:
            return True
        assignments = ", ".join(f"{n} = ?" for n in INFO_FIELDS)
        try:
            await conn.execute(
                f"UPDATE members SET {assignments}, updated_at = ? WHERE id = ?",
                (*(_to_column(n, getattr(info, n)) for n in INFO_FIELDS), utcnow(), member_id),
            )
        except aiosqlite.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise DuplicateName(info.name) from exc
            raise
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=branch_id,
            action="update",
            entity="member",
            entity_id=member_id,
            changes=changed,
        )
        if old.status != info.status:
            from db.recruitment import keep_entry_in  # it records steps through this module

            await keep_entry_in(
                conn, user_id=user_id, branch_id=branch_id, member_id=member_id,
                old_status=old.status, old_date=old.joined_on, new_status=info.status,
            )  # fmt: skip
        await _sync_counts(conn, user_id, branch_id)
    await _drop_duty_reminders(db, branch_id, member_id, keep=info)
    return True


async def set_status_in(
    conn: aiosqlite.Connection,
    *,
    user_id: int,
    branch_id: int,
    member_id: int,
    status: str,
    joined_on: date | None,
) -> None:
    """Move a member to another status (and its date) inside the caller's transaction, audited,
    the counts following: a 发展党员 step recorded (db.recruitment) changes the roster with it."""
    async with conn.execute(
        "SELECT status, joined_on FROM members WHERE id = ? AND branch_id = ?",
        (member_id, branch_id),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return
    new = {"status": status, "joined_on": _to_column("joined_on", joined_on)}
    changed = {k: [row[k], v] for k, v in new.items() if row[k] != v}
    if not changed:
        return
    await conn.execute(
        "UPDATE members SET status = ?, joined_on = ?, updated_at = ? WHERE id = ?",
        (status, new["joined_on"], utcnow(), member_id),
    )
    await write_audit(
        conn,
        user_id=user_id,
        branch_id=branch_id,
        action="update",
        entity="member",
        entity_id=member_id,
        changes=changed,
    )
    await _sync_counts(conn, user_id, branch_id)


async def _drop_duty_reminders(
    db: Database, branch_id: int, member_id: int, keep: MemberInfo | None
) -> None:
    """A 转正 or 流动党员 reminder already queued for someone who is no longer probationary,
    no longer away, or gone from the roster is not sent (the outbox keeps it as cancelled)."""
    from db import outbox

    if keep is None or keep.status != "probationary":
        await outbox.cancel(db, f"ob:{branch_id}:probation.{member_id}:")
    if keep is None or not keep.mobile:
        await outbox.cancel(db, f"ob:{branch_id}:mobile_report.{member_id}:")
    if keep is None:
        await outbox.cancel(db, f"ob:{branch_id}:recruitment.{member_id}:")


async def remove(db: Database, *, user_id: int, branch_id: int, member_id: int) -> bool:
    """Delete a member for good (audited, without the name); False if not in this branch."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "DELETE FROM members WHERE id = ? AND branch_id = ?", (member_id, branch_id)
        )
        if cursor.rowcount == 0:
            return False
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=branch_id,
            action="delete",
            entity="member",
            entity_id=member_id,
            changes={},
        )
        await _sync_counts(conn, user_id, branch_id)
    await _drop_duty_reminders(db, branch_id, member_id, keep=None)
    return True


async def link_user(db: Database, branch_id: int, member_id: int, user_id: int) -> bool:
    """Link a Telegram user to a roster entry (first sign-in). False if either is taken."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE members SET user_id = ?, updated_at = ? WHERE id = ? AND branch_id = ? "
            "AND user_id IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM members WHERE branch_id = ? AND user_id = ?)",
            (user_id, utcnow(), member_id, branch_id, branch_id, user_id),
        )
        return cursor.rowcount == 1
