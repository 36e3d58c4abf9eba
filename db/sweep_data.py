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
from db.recruitment import StepRow, all_steps
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
    # 发展党员 steps: branch id → member id → steps (db.recruitment).
    recruitment: dict[int, dict[int, list[StepRow]]] = field(default_factory=dict)


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
    since = date(today.year - 1, 1, 1).isoformat()
    # Every read at once: the connection's thread runs them back to back, and the screen waits
    # for that thread once instead of once per table.
    (
        branch_rows,
        meeting_rows,
        marked,
        plan_rows,
        editor_rows,
        blocked_rows,
        custom_rows,
        settings,
        snoozed,
        roster,
        steps,
    ) = await asyncio.gather(
        db.fetchall(f"SELECT * FROM branches WHERE {among(wanted, 'id')[0]} ORDER BY id", ids),
        db.fetchall(
            "SELECT branch_id, kind, held_on, also_counts_as, counterpart FROM meetings "
            f"WHERE deleted_at IS NULL AND held_on >= ? AND {where}",
            (since, *ids),
        ),
        marks(db, wanted, since=since),
        db.fetchall(
            f"SELECT branch_id, month, planned_on FROM party_day_plans WHERE {where}", ids
        ),
        db.fetchall(
            "SELECT branch_id, user_id FROM memberships WHERE role IN ('secretary', 'deputy') "
            f"AND {where} ORDER BY role DESC, user_id",
            ids,
        ),
        _blocked(db, wanted),
        db.fetchall(f"SELECT * FROM custom_reminders WHERE {where} ORDER BY id", ids),
        all_settings(db, wanted),
        snoozes(db, wanted),
        all_members(db, wanted),
        all_steps(db, wanted),
    )
    records: dict[int, list[tuple[str, date]]] = defaultdict(list)
    talks: dict[int, list[tuple[date, str]]] = defaultdict(list)
    for number, (branch_id, kind, held_on, also, counterpart) in enumerate(meeting_rows):
        # A year of records of thousands of branches: let other updates run now and then.
        if number % 2000 == 1999:
            await asyncio.sleep(0)
        day = date.fromisoformat(held_on)
        if kind == "heart_to_heart_talk":
            talks[branch_id].append((day, counterpart))
        for code in (kind, *(json.loads(also) if also != "[]" else ())):
            records[branch_id].append((code, day))
    for branch_id, code, period_start in marked:
        records[branch_id].append((code, period_start))
    planned: dict[int, dict[date, date]] = defaultdict(dict)
    for branch_id, month, planned_on in plan_rows:
        planned[branch_id][date.fromisoformat(month + "-01")] = date.fromisoformat(planned_on)
    editors: dict[int, list[int]] = defaultdict(list)
    for branch_id, user_id in editor_rows:
        editors[branch_id].append(user_id)
    custom: dict[int, list[CustomReminder]] = defaultdict(list)
    for row in custom_rows:
        custom[row["branch_id"]].append(custom_reminder(row))
    return SweepFacts(
        branches=[branch_from_row(row) for row in branch_rows],
        settings=settings,
        records=dict(records),
        planned=dict(planned),
        snoozes=snoozed,
        editors=dict(editors),
        blocked=frozenset(row["chat_id"] for row in blocked_rows),
        custom=dict(custom),
        roster=roster,
        talks=dict(talks),
        recruitment=steps,
    )


async def _blocked(db: Database, wanted: tuple[int, ...] | None) -> Iterable[Any]:
    """The chats that blocked the bot: all of them, or those these branches would write to
    (their secretaries and deputies, their bound groups)."""
    if wanted is None:
        return await db.fetchall("SELECT chat_id FROM blocked_chats")
    where, ids = among(wanted)
    return await db.fetchall(
        "SELECT chat_id FROM blocked_chats WHERE chat_id IN ("
        f"SELECT user_id FROM memberships WHERE role IN ('secretary', 'deputy') AND {where} "
        f"UNION SELECT group_chat_id FROM branch_settings WHERE {where})",
        (*ids, *ids),
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
