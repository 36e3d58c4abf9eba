"""Repository functions for meeting records and 主题党日 plans.

Every change is written with an audit entry in the same transaction. Deleting a record hides it
(deleted_at) and keeps it for the audit trail; listing and counting never see hidden records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import aiosqlite

from db.database import Database, utcnow
from db.models import Meeting, PartyDayPlan, Photo
from db.repo import write_audit

# Fields stored in their own column; the tuple-valued ones are JSON.
CONTENT_FIELDS = tuple(
    name
    for name in Meeting.__struct_fields__
    if name
    not in {"photos", "id", "branch_id", "created_by", "created_at", "updated_at", "plan_id"}
)
_JSON_FIELDS = frozenset({"absentees", "agenda", "also_counts_as", "accepted_warnings"})
EDITABLE_FIELDS = (*(f for f in CONTENT_FIELDS if f != "accepted_warnings"), "photos")
MAX_PHOTOS = 30


def _to_column(name: str, value: Any) -> Any:
    if name in _JSON_FIELDS:
        return json.dumps(
            [list(v) if isinstance(v, tuple) else v for v in value], ensure_ascii=False
        )
    if name == "held_on":
        return value.isoformat()
    return value


def _from_row(row: aiosqlite.Row, photos: Sequence[Photo] = ()) -> Meeting:
    values: dict[str, Any] = {name: row[name] for name in CONTENT_FIELDS}
    values["held_on"] = date.fromisoformat(row["held_on"])
    values["absentees"] = tuple(tuple(pair) for pair in json.loads(row["absentees"]))
    for name in ("agenda", "also_counts_as", "accepted_warnings"):
        values[name] = tuple(json.loads(row[name]))
    return Meeting(
        **values,
        plan_id=row["plan_id"],
        photos=tuple(photos),
        id=row["id"],
        branch_id=row["branch_id"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _audit_value(name: str, value: Any) -> Any:
    if name == "photos":
        return len(value)
    if name == "held_on":
        return value.isoformat()
    if isinstance(value, tuple):
        return [list(v) if isinstance(v, tuple) else v for v in value]
    return value


async def _photos(
    conn: aiosqlite.Connection, meeting_ids: Sequence[int]
) -> dict[int, list[Photo]]:
    result: dict[int, list[Photo]] = {i: [] for i in meeting_ids}
    if not meeting_ids:
        return result
    marks = ", ".join("?" * len(meeting_ids))
    async with conn.execute(
        f"SELECT meeting_id, file_id, file_unique_id FROM meeting_photos "
        f"WHERE meeting_id IN ({marks}) ORDER BY meeting_id, position",
        tuple(meeting_ids),
    ) as cursor:
        async for row in cursor:
            result[row["meeting_id"]].append(Photo(row["file_id"], row["file_unique_id"]))
    return result


async def _write_photos(
    conn: aiosqlite.Connection, meeting_id: int, photos: Iterable[Photo]
) -> None:
    await conn.execute("DELETE FROM meeting_photos WHERE meeting_id = ?", (meeting_id,))
    seen: set[str] = set()
    position = 0
    for photo in photos:
        if photo.file_unique_id in seen:
            continue
        seen.add(photo.file_unique_id)
        position += 1
        await conn.execute(
            "INSERT INTO meeting_photos (meeting_id, position, file_id, file_unique_id) "
            "VALUES (?, ?, ?, ?)",
            (meeting_id, position, photo.file_id, photo.file_unique_id),
        )


async def _load(
    conn: aiosqlite.Connection, meeting_id: int, deleted: bool = False
) -> Meeting | None:
    sql = "SELECT * FROM meetings WHERE id = ?" + ("" if deleted else " AND deleted_at IS NULL")
    async with conn.execute(sql, (meeting_id,)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    return _from_row(row, (await _photos(conn, [row["id"]]))[row["id"]])


async def create_meeting(
    db: Database, *, user_id: int, branch_id: int, meeting: Meeting, draft_key: str
) -> tuple[Meeting, bool]:
    """Save a record; the same draft saved twice returns the first record.

    Returns the record and whether it was created now.
    """
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT id FROM meetings WHERE draft_key = ?", (draft_key,)
        ) as cursor:
            existing = await cursor.fetchone()
        if existing:
            found = await _load(conn, existing["id"], deleted=True)
            assert found is not None
            return found, False
        now = utcnow()
        columns = [*CONTENT_FIELDS, "plan_id"]
        cursor = await conn.execute(
            f"INSERT INTO meetings (branch_id, {', '.join(columns)}, created_by, draft_key, "
            f"created_at, updated_at) VALUES (?, {', '.join('?' * len(columns))}, ?, ?, ?, ?)",
            (
                branch_id,
                *(_to_column(name, getattr(meeting, name)) for name in CONTENT_FIELDS),
                meeting.plan_id,
                user_id,
                draft_key,
                now,
                now,
            ),
        )
        meeting_id = cursor.lastrowid
        assert meeting_id is not None
        await _write_photos(conn, meeting_id, meeting.photos[:MAX_PHOTOS])
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=branch_id,
            action="create",
            entity="meeting",
            entity_id=meeting_id,
            changes={"kind": [None, meeting.kind], "held_on": [None, meeting.held_on.isoformat()]},
        )
        saved = await _load(conn, meeting_id)
    assert saved is not None
    return saved, True


async def get_meeting(db: Database, meeting_id: int) -> Meeting | None:
    """A record that has not been deleted, with its photos; None otherwise."""
    return await _load(db.reader, meeting_id)


async def update_meeting(
    db: Database, *, user_id: int, meeting_id: int, changes: dict[str, Any]
) -> Meeting | None:
    """Change fields of a record, auditing old and new values; None if it is gone."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    async with db.transaction() as conn:
        old = await _load(conn, meeting_id)
        if old is None:
            return None
        diff = {
            name: [_audit_value(name, getattr(old, name)), _audit_value(name, value)]
            for name, value in changes.items()
            if getattr(old, name) != value
        }
        if not diff:
            return old
        columns = [name for name in diff if name != "photos"]
        if columns:
            await conn.execute(
                f"UPDATE meetings SET {', '.join(f'{c} = ?' for c in columns)}, updated_at = ? "
                "WHERE id = ?",
                (*(_to_column(c, changes[c]) for c in columns), utcnow(), meeting_id),
            )
        if "photos" in diff:
            await _write_photos(conn, meeting_id, changes["photos"][:MAX_PHOTOS])
            await conn.execute(
                "UPDATE meetings SET updated_at = ? WHERE id = ?", (utcnow(), meeting_id)
            )
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=old.branch_id,
            action="update",
            entity="meeting",
            entity_id=meeting_id,
            changes=diff,
        )
        return await _load(conn, meeting_id)


async def delete_meeting(db: Database, *, user_id: int, meeting_id: int) -> bool:
    """Hide a record (kept for the audit trail); False if it was already gone."""
    async with db.transaction() as conn:
        old = await _load(conn, meeting_id)
        if old is None:
            return False
        await conn.execute(
            "UPDATE meetings SET deleted_at = ?, deleted_by = ? WHERE id = ?",
            (utcnow(), user_id, meeting_id),
        )
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=old.branch_id,
            action="delete",
            entity="meeting",
            entity_id=meeting_id,
            changes={"kind": [old.kind, None], "held_on": [old.held_on.isoformat(), None]},
        )
    return True


def _filters(branch_id: int, kind: str | None, year: int | None) -> tuple[str, list[Any]]:
    where = ["branch_id = ?", "deleted_at IS NULL"]
    params: list[Any] = [branch_id]
    if kind:
        # A combined sitting shows under each obligation it met.
        where.append("(kind = ? OR EXISTS (SELECT 1 FROM json_each(also_counts_as) j "
                     "WHERE j.value = ?))")  # fmt: skip
        params += [kind, kind]
    if year:
        where.append("held_on BETWEEN ? AND ?")
        params += [f"{year:04d}-01-01", f"{year:04d}-12-31"]
    return " AND ".join(where), params


async def list_meetings(
    db: Database,
    branch_id: int,
    *,
    kind: str | None = None,
    year: int | None = None,
    limit: int = 10,
    offset: int = 0,
) -> tuple[list[Meeting], int]:
    """A page of records, newest first, and how many match in all."""
    where, params = _filters(branch_id, kind, year)
    total_row = await db.fetchone(f"SELECT COUNT(*) AS n FROM meetings WHERE {where}", params)
    rows = list(
        await db.fetchall(
            f"SELECT * FROM meetings WHERE {where} ORDER BY held_on DESC, id DESC "
            "LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
    )
    photos = await _photos(db.reader, [row["id"] for row in rows])
    total = total_row["n"] if total_row else 0
    return [_from_row(row, photos[row["id"]]) for row in rows], total


SEARCH_TERMS = 5  # at most this many words in one search


# A record's words for /find: what the secretary wrote in it (the form is an option, not words).
_WORDS = (
    "lower(title || char(10) || place || char(10) || host || char(10) || recorder || char(10) "
    "|| speaker || char(10) || counterpart || char(10) || content || char(10) || resolutions "
    "|| char(10) || ifnull((SELECT group_concat(value, char(10)) FROM json_each(agenda)), ''))"
)


async def search_meetings(
    db: Database, branch_id: int, alternatives: Sequence[Sequence[str]], *, limit: int = 10
) -> tuple[list[Meeting], int]:
    """The branch's records whose words contain every term of one of the alternatives (the
    words as typed, and in simplified script), newest first, and how many match in all.

    The branch's own records are read through its index and their text searched for each term
    (letters in any case): no other branch's rows are touched and nothing is stored twice. (An
    FTS5 trigram index was measured first: a phrase's postings span every branch, 100 ms a query
    among 6,300 records; a table of each record's words cost a quarter of a city's file.)
    """
    groups: list[str] = []
    params: list[str] = []
    for terms in alternatives:
        kept = [term.lower() for term in terms[:SEARCH_TERMS] if term]
        if kept:
            groups.append("(" + " AND ".join([f"instr({_WORDS}, ?) > 0"] * len(kept)) + ")")
            params += kept
    if not groups:
        return [], 0
    ids = [
        row["id"]
        for row in await db.fetchall(
            "SELECT id FROM meetings WHERE branch_id = ? AND deleted_at IS NULL "
            f"AND ({' OR '.join(groups)}) ORDER BY held_on DESC, id DESC",
            (branch_id, *params),
        )
    ]
    shown = ids[:limit]
    marks = ", ".join("?" * len(shown))
    rows = {
        row["id"]: row
        for row in await db.fetchall(f"SELECT * FROM meetings WHERE id IN ({marks})", shown)
    }
    photos = await _photos(db.reader, shown)
    return [_from_row(rows[i], photos[i]) for i in shown], len(ids)


async def meetings_of_year(db: Database, branch_id: int, year: int) -> list[Meeting]:
    """Every record of a year, oldest first (for the ledger)."""
    where, params = _filters(branch_id, None, year)
    rows = list(
        await db.fetchall(f"SELECT * FROM meetings WHERE {where} ORDER BY held_on, id", params)
    )
    photos = await _photos(db.reader, [row["id"] for row in rows])
    return [_from_row(row, photos[row["id"]]) for row in rows]


async def years_with_meetings(db: Database, branch_id: int) -> list[int]:
    """The years that have records, newest first."""
    rows = await db.fetchall(
        "SELECT DISTINCT substr(held_on, 1, 4) AS y FROM meetings "
        "WHERE branch_id = ? AND deleted_at IS NULL ORDER BY y DESC",
        (branch_id,),
    )
    return [int(row["y"]) for row in rows]


async def dates_of_kind(
    db: Database, branch_id: int, kind: str, *, exclude_id: int | None = None
) -> list[date]:
    """The dates on which records of that kind were held (for the same-day check)."""
    rows = await db.fetchall(
        "SELECT held_on FROM meetings WHERE branch_id = ? AND kind = ? AND deleted_at IS NULL "
        "AND id IS NOT ?",
        (branch_id, kind, exclude_id),
    )
    return [date.fromisoformat(row["held_on"]) for row in rows]


async def last_meeting(db: Database, branch_id: int) -> Meeting | None:
    """The most recently saved record (for the quick answers: same place, same recorder)."""
    row = await db.fetchone(
        "SELECT * FROM meetings WHERE branch_id = ? AND deleted_at IS NULL "
        "ORDER BY id DESC LIMIT 1",
        (branch_id,),
    )
    return _from_row(row) if row else None


def _plan(row: aiosqlite.Row) -> PartyDayPlan:
    return PartyDayPlan(
        id=row["id"],
        branch_id=row["branch_id"],
        month=row["month"],
        planned_on=date.fromisoformat(row["planned_on"]),
        theme=row["theme"],
        activity_form=row["activity_form"],
    )


async def get_plan(db: Database, branch_id: int, month: str) -> PartyDayPlan | None:
    """The 主题党日 plan of a month (YYYY-MM), or None."""
    row = await db.fetchone(
        "SELECT * FROM party_day_plans WHERE branch_id = ? AND month = ?", (branch_id, month)
    )
    return _plan(row) if row else None


async def save_plan(
    db: Database,
    *,
    user_id: int,
    branch_id: int,
    planned_on: date,
    theme: str,
    activity_form: str,
) -> PartyDayPlan:
    """Create or replace the plan of the month that `planned_on` falls in (audited)."""
    month = planned_on.strftime("%Y-%m")
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT * FROM party_day_plans WHERE branch_id = ? AND month = ?", (branch_id, month)
        ) as cursor:
            old = await cursor.fetchone()
        now = utcnow()
        new = {
            "planned_on": planned_on.isoformat(),
            "theme": theme,
            "activity_form": activity_form,
        }
        if old is None:
            await conn.execute(
                "INSERT INTO party_day_plans (branch_id, month, planned_on, theme, activity_form, "
                "created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (branch_id, month, *new.values(), user_id, now, now),
            )
            changes = {k: [None, v] for k, v in new.items()}
        else:
            await conn.execute(
                "UPDATE party_day_plans SET planned_on = ?, theme = ?, activity_form = ?, "
                "updated_at = ? WHERE id = ?",
                (*new.values(), now, old["id"]),
            )
            changes = {k: [old[k], v] for k, v in new.items() if old[k] != v}
        async with conn.execute(
            "SELECT * FROM party_day_plans WHERE branch_id = ? AND month = ?", (branch_id, month)
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        if changes:
            await write_audit(
                conn,
                user_id=user_id,
                branch_id=branch_id,
                action="create" if old is None else "update",
                entity="party_day_plan",
                entity_id=row["id"],
                changes=changes,
            )
    return _plan(row)
