"""The daily sweep deciding for 5,000 branches (each with a year of records) at once."""

from __future__ import annotations

import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.reminders import sweep
from db import Database, outbox
from db.database import utcnow
from tests.factories import make_profile

BRANCHES = int(os.environ.get("SWEEP_BRANCHES", "5000"))
DAY = date(2026, 12, 24)  # 7 days before the quarter's and the year's end: many notices due


async def _fill(db: Database) -> None:
    """Branches, secretaries and 24 records a year each, written in bulk."""
    profile = make_profile(has_committee=True)
    now = utcnow()
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO users (id, current_branch_id, created_at, updated_at) "
            "VALUES (?, NULL, ?, ?)",
            [(i, now, now) for i in range(1, BRANCHES + 1)],
        )
        await conn.executemany(
            "INSERT INTO branches (id, name, organization_name, organization_type, formation_mode,"
            " formal_members, probationary_members, has_committee, has_party_groups, party_day,"
            " created_by, draft_key, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    i,
                    f"第{i}支部",
                    profile.organization_name,
                    profile.organization_type,
                    profile.formation_mode,
                    7,
                    1,
                    1,
                    0,
                    1 + i % 28,
                    i,
                    f"k{i}",
                    "2025-01-01T00:00:00+00:00",
                    now,
                )
                for i in range(1, BRANCHES + 1)
            ],
        )
        await conn.executemany(
            "INSERT INTO memberships (user_id, branch_id, role, created_at) "
            "VALUES (?, ?, 'secretary', ?)",
            [(i, i, now) for i in range(1, BRANCHES + 1)],
        )
        rows = []
        for i in range(1, BRANCHES + 1):
            for n in range(24):
                kind = ("committee_meeting", "theme_party_day")[n % 2]
                held = date(2026, 1, 3) + timedelta(days=n * 14 + i % 7)
                rows.append((i, kind, held.isoformat(), i, f"r{i}-{n}", now, now))
        await conn.executemany(
            "INSERT INTO meetings (branch_id, kind, held_on, created_by, draft_key, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


async def run() -> None:
    """Print the sweep's time."""
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "sweep.sqlite3")
        await db.open()
        await _fill(db)
        tz = ZoneInfo("Asia/Shanghai")
        started = time.perf_counter()
        stats = await sweep(db, DAY, tz)
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = await sweep(db, DAY, tz)
        second = time.perf_counter() - started
        counts = await outbox.counts(db)
        await db.close()
    print(f"\nDaily sweep: {BRANCHES} branches with 24 records each, deciding for {DAY}")
    print(
        f"  first run         : {first:.2f} s, {stats.notices} notices, "
        f"{stats.enqueued} outbox rows written"
    )
    print(f"  of which deciding : {stats.decide_seconds:.2f} s (read + decide + render; "
          f"target < 2 s), writing the outbox {first - stats.decide_seconds:.2f} s")  # fmt: skip
    print(f"  second run        : {second:.2f} s, {again.enqueued} new rows (idempotent)")
    print(f"  outbox by state   : {counts}")
