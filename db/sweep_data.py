"""Everything the daily sweep needs about every branch, read in a handful of queries."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from db.database import Database
from db.members import all_members
from db.models import Branch, CustomReminder, Member
from db.repo import branch_from_row
from db.settings import BranchSettings, all_settings, marks, snoozes


@dataclass
class SweepFacts:
    """The facts of the branches a sweep decides for."""

    branches: list[Branch]
    settings: dict[int, BranchSettings]
    records: dict[int, list[tuple[str, date]]]
    planned: dict[int, dict[date, date]]
    snoozes: dict[tuple[int, str, date], date]
    editors: dict[int, list[int]]
    blocked: frozenset[int]
    custom: dict[int, list[CustomReminder]] = field(default_factory=dict)
    roster: dict[int, list[Member]] = field(default_factory=dict)
    talks: dict[int, list[tuple[date, str]]] = field(default_factory=dict)


async def load(
    db: Database, today: date, *, branch_ids: Iterable[int] | None = None
) -> SweepFacts:
    """Read the facts; records from the start of last year on (enough for every period)."""
    wanted = set(branch_ids) if branch_ids is not None else None

    def keep(branch_id: int) -> bool:
        return wanted is None or branch_id in wanted

    branches = [
        branch_from_row(row) for row in await db.fetchall("SELECT * FROM branches ORDER BY id")
    ]
    branches = [b for b in branches if keep(b.id)]
    since = date(today.year - 1, 1, 1).isoformat()
    records: dict[int, list[tuple[str, date]]] = defaultdict(list)
    talks: dict[int, list[tuple[date, str]]] = defaultdict(list)
    # One branch (/status): read only its rows; every branch (the sweep): read each table once.
    only = ""
    ids: tuple[int, ...] = ()
    if wanted is not None and len(wanted) <= 100:
        ids = tuple(sorted(wanted))
        only = f" AND branch_id IN ({', '.join('?' * len(ids))})"
    rows = await db.fetchall(
        "SELECT branch_id, kind, held_on, also_counts_as, counterpart FROM meetings "
        "WHERE deleted_at IS NULL AND held_on >= ?" + only,
        (since, *ids),
    )
    for number, row in enumerate(rows):
        # A year of records of thousands of branches: let other updates run now and then.
        if number % 2000 == 1999:
            await asyncio.sleep(0)
        if not keep(row["branch_id"]):
            continue
        day = date.fromisoformat(row["held_on"])
        if row["kind"] == "heart_to_heart_talk":
            talks[row["branch_id"]].append((day, row["counterpart"]))
        also = row["also_counts_as"]
        for kind in (row["kind"], *(json.loads(also) if also != "[]" else ())):
            records[row["branch_id"]].append((kind, day))
    for branch_id, code, period_start in await marks(db):
        if keep(branch_id):
            records[branch_id].append((code, period_start))
    planned: dict[int, dict[date, date]] = defaultdict(dict)
    for row in await db.fetchall("SELECT branch_id, month, planned_on FROM party_day_plans"):
        if keep(row["branch_id"]):
            planned[row["branch_id"]][date.fromisoformat(row["month"] + "-01")] = (
                date.fromisoformat(row["planned_on"])
            )
    editors: dict[int, list[int]] = defaultdict(list)
    rows = await db.fetchall(
        "SELECT branch_id, user_id FROM memberships WHERE role IN ('secretary', 'deputy') "
        "ORDER BY role DESC, user_id"
    )
    for row in rows:
        if keep(row["branch_id"]):
            editors[row["branch_id"]].append(row["user_id"])
    blocked = frozenset(
        r["chat_id"] for r in await db.fetchall("SELECT chat_id FROM blocked_chats")
    )
    custom: dict[int, list[CustomReminder]] = defaultdict(list)
    for row in await db.fetchall("SELECT * FROM custom_reminders ORDER BY id"):
        if keep(row["branch_id"]):
            custom[row["branch_id"]].append(custom_reminder(row))
    settings = {k: v for k, v in (await all_settings(db)).items() if keep(k)}
    return SweepFacts(
        branches=branches,
        settings=settings,
        records=dict(records),
        planned=dict(planned),
        snoozes={k: v for k, v in (await snoozes(db)).items() if keep(k[0])},
        editors=dict(editors),
        blocked=blocked,
        custom=dict(custom),
        roster={k: v for k, v in (await all_members(db, ids or None)).items() if keep(k)},
        talks=dict(talks),
    )


def custom_reminder(row: Any) -> CustomReminder:
    """A custom reminder from its row."""
    return CustomReminder(
        id=row["id"],
        branch_id=row["branch_id"],
        text=row["text"],
        rule=row["rule"],
        at_time=row["at_time"],
        on_date=date.fromisoformat(row["on_date"]) if row["on_date"] else None,
        weekday=row["weekday"],
        day_of_month=row["day_of_month"],
        quarter_month=row["quarter_month"],
        paused=bool(row["paused"]),
        created_by=row["created_by"],
        since=datetime.fromisoformat(row["updated_at"]),
    )
