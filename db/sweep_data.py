"""Everything the daily sweep needs about every branch, read in a handful of queries."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from db.database import Database, among
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


async def branch_ids(db: Database) -> list[int]:
    """Every branch's id, in order: the sweep reads and decides a batch of them at a time."""
    return [row[0] for row in await db.fetchall("SELECT id FROM branches ORDER BY id")]


async def load(
    db: Database, today: date, *, branch_ids: Iterable[int] | None = None
) -> SweepFacts:
    """Read the facts of the given branches (every branch for None); records from the start of
    last year on (enough for every period). Every query reads only those branches' rows,
    through an index: a batch of the sweep, or one branch for /status, costs the same in a
    city as in a town."""
    wanted = None if branch_ids is None else tuple(sorted(set(branch_ids)))
    where, ids = among(wanted)
    branches = [
        branch_from_row(row)
        for row in await db.fetchall(
            f"SELECT * FROM branches WHERE {among(wanted, 'id')[0]} ORDER BY id", ids
        )
    ]
    since = date(today.year - 1, 1, 1).isoformat()
    records: dict[int, list[tuple[str, date]]] = defaultdict(list)
    talks: dict[int, list[tuple[date, str]]] = defaultdict(list)
    rows = await db.fetchall(
        "SELECT branch_id, kind, held_on, also_counts_as, counterpart FROM meetings "
        f"WHERE deleted_at IS NULL AND held_on >= ? AND {where}",
        (since, *ids),
    )
    for number, (branch_id, kind, held_on, also, counterpart) in enumerate(rows):
        # A year of records of thousands of branches: let other updates run now and then.
        if number % 2000 == 1999:
            await asyncio.sleep(0)
        day = date.fromisoformat(held_on)
        if kind == "heart_to_heart_talk":
            talks[branch_id].append((day, counterpart))
        for code in (kind, *(json.loads(also) if also != "[]" else ())):
            records[branch_id].append((code, day))
    for branch_id, code, period_start in await marks(db, wanted, since=since):
        records[branch_id].append((code, period_start))
    planned: dict[int, dict[date, date]] = defaultdict(dict)
    for branch_id, month, planned_on in await db.fetchall(
        f"SELECT branch_id, month, planned_on FROM party_day_plans WHERE {where}", ids
    ):
        planned[branch_id][date.fromisoformat(month + "-01")] = date.fromisoformat(planned_on)
    editors: dict[int, list[int]] = defaultdict(list)
    for branch_id, user_id in await db.fetchall(
        "SELECT branch_id, user_id FROM memberships WHERE role IN ('secretary', 'deputy') "
        f"AND {where} ORDER BY role DESC, user_id",
        ids,
    ):
        editors[branch_id].append(user_id)
    blocked = frozenset(
        r["chat_id"] for r in await db.fetchall("SELECT chat_id FROM blocked_chats")
    )
    custom: dict[int, list[CustomReminder]] = defaultdict(list)
    for row in await db.fetchall(f"SELECT * FROM custom_reminders WHERE {where} ORDER BY id", ids):
        custom[row["branch_id"]].append(custom_reminder(row))
    return SweepFacts(
        branches=branches,
        settings=await all_settings(db, wanted),
        records=dict(records),
        planned=dict(planned),
        snoozes=await snoozes(db, wanted),
        editors=dict(editors),
        blocked=blocked,
        custom=dict(custom),
        roster=await all_members(db, wanted),
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
