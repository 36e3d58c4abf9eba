"""Everything the superior organization's overview needs about every branch, counted in SQL.

The overview judges each branch's quarter (bot/overview.py): monthly obligations by the months
of this quarter, quarterly ones by this quarter, yearly ones by this year. So it needs to know
only which months of this year each branch did each obligation in: one month mask per branch,
obligation and year, kept in the done_months table by triggers in the same transaction as
every record's change (migration 0015), and the records handed on are one (obligation, first
day of month) per month of this quarter done and one for the latest month done earlier this
year. No meeting and no member is read one by one.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date
from functools import lru_cache

import msgspec

from db.database import Database
from db.models import Branch
from db.repo import branch_from_row
from db.settings import BranchSettings, all_settings


class OverviewFacts(msgspec.Struct, frozen=True):
    """The facts of every branch, by branch id."""

    branches: list[Branch]
    settings: dict[int, BranchSettings]
    records: dict[int, list[tuple[str, date]]]
    planned: dict[int, dict[date, date]]
    editors: dict[int, list[int]]  # secretary and deputies' user ids (their private chats)
    blocked: frozenset[int]
    secretaries: frozenset[int]  # branches with a member whose role is secretary
    rosters: dict[int, int]  # branch id -> people on its roster (absent: no roster)


@lru_cache(maxsize=8192)
def month_days(year: int, months: int, first: int) -> tuple[date, ...]:
    """The records' days of a month mask: each month from `first` on, and the latest before."""
    days = [date(year, m, 1) for m in range(first, 13) if months >> m & 1]
    earlier = [m for m in range(1, first) if months >> m & 1]
    return (date(year, earlier[-1], 1), *days) if earlier else tuple(days)


async def load(db: Database, today: date) -> OverviewFacts:
    """Read the facts of every branch for this quarter's overview."""
    year = today.year
    first = (today.month - 1) // 3 * 3 + 1  # the quarter's first month
    quarter = (f"{year}-{first:02d}", f"{year}-{first + 2:02d}")
    # Every query is queued at once: the connection's thread runs the next while the rows of
    # the last are turned into facts here (a province: 0.7 s of SQL beside 1.5 s of Python).
    reads = [
        asyncio.ensure_future(read)
        for read in (
            db.fetchall("SELECT * FROM branches ORDER BY id"),
            db.fetchall("SELECT branch_id, code, months FROM done_months WHERE year = ?", (year,)),
            db.fetchall(
                "SELECT branch_id, month, planned_on FROM party_day_plans "
                "WHERE month BETWEEN ? AND ?",
                quarter,
            ),
            db.fetchall(
                "SELECT branch_id, user_id, role FROM memberships "
                "WHERE role IN ('secretary', 'deputy') ORDER BY role DESC, user_id"
            ),
            db.fetchall("SELECT chat_id FROM blocked_chats"),
            db.fetchall("SELECT branch_id, COUNT(*) FROM members GROUP BY branch_id"),
            all_settings(db),
        )
    ]
    try:
        branches = [branch_from_row(row) for row in await reads[0]]
        records: dict[int, list[tuple[str, date]]] = defaultdict(list)
        for branch_id, code, months in await reads[1]:
            records[branch_id] += [(code, day) for day in month_days(year, months, first)]
        planned: dict[int, dict[date, date]] = defaultdict(dict)
        for branch_id, month, planned_on in await reads[2]:
            planned[branch_id][date.fromisoformat(month + "-01")] = date.fromisoformat(planned_on)
        editors: dict[int, list[int]] = defaultdict(list)
        secretaries = set()
        for branch_id, user_id, role in await reads[3]:
            editors[branch_id].append(user_id)
            if role == "secretary":
                secretaries.add(branch_id)
        blocked = frozenset(r[0] for r in await reads[4])
        rosters = {branch_id: n for branch_id, n in await reads[5]}
        settings = await reads[6]
    finally:
        for read in reads:  # a failed read: the others are not left running unawaited
            if not read.done():
                read.cancel()
    return OverviewFacts(
        branches=branches,
        settings=settings,
        records=dict(records),
        planned=dict(planned),
        editors=dict(editors),
        blocked=blocked,
        secretaries=frozenset(secretaries),
        rosters=rosters,
    )
