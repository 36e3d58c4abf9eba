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


# More ids than this and a filter costs more than reading every row (and SQLite caps the
# parameters of one statement): the rows are read in full and filtered here.
MAX_FILTERED = 5000


async def load(
    db: Database, today: date, *, branch_ids: Iterable[int] | None = None
) -> SweepFacts:
    """Read the facts; records from the start of last year on (enough for every period).

    With branch_ids (a screen about one branch, or a batch of the sweep) every table is read
    through its branch index: the cost follows those branches, not the whole database.
    """
    wanted = set(branch_ids) if branch_ids is not None else None
    ids = tuple(sorted(wanted)) if wanted is not None and len(wanted) <= MAX_FILTERED else None

    def keep(branch_id: int) -> bool:
        return wanted is None or branch_id in wanted

    where, params = among("branch_id", ids)
    by_id = among("id", ids)
    editor_roles = "role IN ('secretary', 'deputy')"
    # Every read at once: the connection's thread runs them back to back, and the screen waits
    # for that thread once instead of once per table.
    (
        branch_rows,
        meeting_rows,
        plan_rows,
        editor_rows,
        custom_rows,
        blocked_rows,
        marked,
        settings,
        snoozed,
        roster,
    ) = await asyncio.gather(
        db.fetchall(f"SELECT * FROM branches WHERE {by_id[0]} ORDER BY id", by_id[1]),
        db.fetchall(
            "SELECT branch_id, kind, held_on, also_counts_as, counterpart FROM meetings "
            f"WHERE {where} AND held_on >= ? AND deleted_at IS NULL",
            (*params, date(today.year - 1, 1, 1).isoformat()),
        ),
        db.fetchall(
            f"SELECT branch_id, month, planned_on FROM party_day_plans WHERE {where}", params
        ),
        db.fetchall(
            f"SELECT branch_id, user_id FROM memberships WHERE {where} AND {editor_roles} "
            "ORDER BY role DESC, user_id",
            params,
        ),
        db.fetchall(f"SELECT * FROM custom_reminders WHERE {where} ORDER BY id", params),
        _blocked(db, ids),
        marks(db, branch_ids=ids),
        all_settings(db, ids),
        snoozes(db, branch_ids=ids),
        all_members(db, ids),
    )
    records: dict[int, list[tuple[str, date]]] = defaultdict(list)
    talks: dict[int, list[tuple[date, str]]] = defaultdict(list)
    for number, row in enumerate(meeting_rows):
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
    for branch_id, code, period_start in marked:
        if keep(branch_id):
            records[branch_id].append((code, period_start))
    planned: dict[int, dict[date, date]] = defaultdict(dict)
    for row in plan_rows:
        if keep(row["branch_id"]):
            planned[row["branch_id"]][date.fromisoformat(row["month"] + "-01")] = (
                date.fromisoformat(row["planned_on"])
            )
    editors: dict[int, list[int]] = defaultdict(list)
    for row in editor_rows:
        if keep(row["branch_id"]):
            editors[row["branch_id"]].append(row["user_id"])
    custom: dict[int, list[CustomReminder]] = defaultdict(list)
    for row in custom_rows:
        if keep(row["branch_id"]):
            custom[row["branch_id"]].append(custom_reminder(row))
    return SweepFacts(
        branches=[branch_from_row(row) for row in branch_rows if keep(row["id"])],
        settings={k: v for k, v in settings.items() if keep(k)},
        records=dict(records),
        planned=dict(planned),
        snoozes={k: v for k, v in snoozed.items() if keep(k[0])},
        editors=dict(editors),
        blocked=frozenset(row["chat_id"] for row in blocked_rows),
        custom=dict(custom),
        roster={k: v for k, v in roster.items() if keep(k)},
        talks=dict(talks),
    )


async def _blocked(db: Database, ids: tuple[int, ...] | None) -> Iterable[Any]:
    """The chats that blocked the bot: all of them, or those these branches would write to
    (their secretaries and deputies, their bound groups)."""
    if ids is None:
        return await db.fetchall("SELECT chat_id FROM blocked_chats")
    where, params = among("branch_id", ids)
    return await db.fetchall(
        "SELECT chat_id FROM blocked_chats WHERE chat_id IN ("
        f"SELECT user_id FROM memberships WHERE {where} AND role IN ('secretary', 'deputy') "
        f"UNION SELECT group_chat_id FROM branch_settings WHERE {where})",
        (*params, *params),
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
