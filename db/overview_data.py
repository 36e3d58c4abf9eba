"""Everything the superior organization's overview needs about every branch, in a few queries.

The obligations part is the daily sweep's own bulk read (db/sweep_data.py); the overview adds
who has a secretary and how big each roster is, one query each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from db import sweep_data
from db.database import Database
from db.models import Branch
from db.settings import BranchSettings


@dataclass(frozen=True)
class OverviewFacts:
    """The facts of every branch, by branch id."""

    branches: list[Branch]
    settings: dict[int, BranchSettings]
    records: dict[int, list[tuple[str, date]]]
    planned: dict[int, dict[date, date]]
    editors: dict[int, list[int]]  # secretary and deputies' user ids (their private chats)
    blocked: frozenset[int]
    secretaries: frozenset[int]  # branches with a member whose role is secretary
    rosters: dict[int, int]  # branch id -> people on its roster (absent: no roster)


async def load(db: Database, today: date) -> OverviewFacts:
    """Read the facts of every branch (records from the start of last year on)."""
    facts = await sweep_data.load(db, today)
    secretaries = frozenset(
        row["branch_id"]
        for row in await db.fetchall(
            "SELECT DISTINCT branch_id FROM memberships WHERE role = 'secretary'"
        )
    )
    rosters = {
        row["branch_id"]: row["n"]
        for row in await db.fetchall(
            "SELECT branch_id, COUNT(*) AS n FROM members GROUP BY branch_id"
        )
    }
    return OverviewFacts(
        branches=facts.branches,
        settings=facts.settings,
        records=facts.records,
        planned=facts.planned,
        editors=facts.editors,
        blocked=facts.blocked,
        secretaries=secretaries,
        rosters=rosters,
    )
