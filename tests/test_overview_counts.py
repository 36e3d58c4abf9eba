"""/overview counted in SQL shows exactly what the full read showed: 300 generated branches of
every kind (profiles, 主题党日 rules, registration days, frequencies, roles, rosters, records
of two years with combined, deleted and future sittings, marks and plans), on days across the
year, compared row by row and figure by figure with the overview computed from every record and
every member (the sweep's full read)."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import threading
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.branch_profile import FORMATION_MODES, ORGANIZATION_TYPES
from bot.obligations import DEFAULT_FREQUENCY
from bot.overview import compute
from db import Database, overview_data, sweep_data
from db.overview_data import OverviewFacts

TZ = ZoneInfo("Asia/Shanghai")
# In one test process: each process that runs one of these tests generates the branches
# first (1–2 s), and pytest-xdist spread them over every process.
pytestmark = pytest.mark.xdist_group("overview_city")
BRANCHES = 300
CODES = list(DEFAULT_FREQUENCY)
KINDS = [code for code in CODES if code != "party_dues"] + ["heart_to_heart_talk"]
STAMP = "T02:00:00+00:00"
DAYS = (
    date(2026, 1, 1),
    date(2026, 2, 15),
    date(2026, 3, 31),
    date(2026, 4, 1),
    date(2026, 5, 31),
    date(2026, 8, 20),
    date(2026, 11, 20),
    date(2026, 12, 31),
    date(2027, 1, 10),
)


def _rows(rng: random.Random) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows for BRANCHES varied branches."""
    rows: dict[str, list[tuple[Any, ...]]] = {
        name: []
        for name in ("users", "branches", "memberships", "settings", "members", "meetings")
    }
    rows |= {"marks": [], "plans": [], "blocked": []}
    for b in range(1, BRANCHES + 1):
        # Registered long ago, last year, or during this year (some at 00:30 Beijing time).
        created = rng.choice(
            [
                "2024-03-01T00:00:00+00:00",
                f"{date(2025, 1, 1) + timedelta(days=rng.randrange(365))}{STAMP}",
                f"{date(2026, 1, 1) + timedelta(days=rng.randrange(365))}T16:30:00+00:00",
            ]
        )
        week = rng.choice([0, 0, 1, 2, 4, -1])
        rows["branches"].append(
            (b, f"支部{b}", f"协会{b}", rng.choice(ORGANIZATION_TYPES),
             rng.choice(FORMATION_MODES), rng.randrange(6), rng.randrange(3),
             rng.randrange(2), rng.randrange(2), rng.randrange(1, 32), 10 * b, f"k{b}", created,
             created, rng.randrange(2), week, rng.randrange(7) if week else 0)
        )  # fmt: skip
        for n, role in enumerate(rng.sample(["secretary", "deputy", "deputy", "committee"], 2)):
            rows["users"].append((10 * b + n,))
            rows["memberships"].append((10 * b + n, b, role))
        if rng.random() < 0.05:
            rows["blocked"].append((10 * b,))
        frequencies = {
            code: rng.choice(["monthly", "quarterly", "yearly", "off"])
            for code in rng.sample(CODES, rng.randrange(3))
        }
        group = -100_000 - b if rng.random() < 0.4 else None
        rows["settings"].append((b, json.dumps(frequencies), group))
        for k in range(rng.choice([0, 0, 1, 5, 12])):
            status = rng.choice(["formal", "probationary", "applicant"])
            rows["members"].append((b, f"成员{k}", status))
        for n in range(rng.randrange(0, 60)):
            held = date(2025, 1, 1) + timedelta(days=rng.randrange(800))
            also = rng.sample(CODES, rng.choice([0, 0, 0, 1, 2]))
            deleted = f"{held}{STAMP}" if rng.random() < 0.1 else None
            rows["meetings"].append(
                (b, rng.choice(KINDS), str(held), json.dumps(also), 10 * b, f"m{b}-{n}",
                 f"{held}{STAMP}", f"{held}{STAMP}", deleted)
            )  # fmt: skip
        for month in rng.sample(range(24), rng.randrange(12)):
            start = date(2025 + month // 12, month % 12 + 1, 1)
            rows["marks"].append((b, rng.choice(["party_dues", "party_lecture"]), str(start)))
        for month in rng.sample(range(25), rng.randrange(10)):
            start = date(2025 + month // 12, month % 12 + 1, 1)
            planned = start + timedelta(days=rng.randrange(35))  # some outside their month
            rows["plans"].append((b, start.strftime("%Y-%m"), str(planned), f"p{b}-{month}"))
    return rows


@pytest.fixture(scope="module")
def city_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database of BRANCHES generated branches (the same every run), made once per test
    process (in a thread: a test's event loop may be running) and only read by the tests."""
    path = tmp_path_factory.mktemp("city") / "city.sqlite3"
    thread = threading.Thread(target=asyncio.run, args=(_generate(path),))
    thread.start()
    thread.join()
    return path


@pytest.fixture
async def city(city_file: Path) -> AsyncIterator[Database]:
    database = Database(city_file)
    await database.open()
    yield database
    await database.close()


async def _generate(path: Path) -> None:
    database = Database(path)
    await database.open()
    rows = _rows(random.Random(16))
    now = "2024-01-01T00:00:00+00:00"
    async with database.transaction() as conn:
        await conn.executemany(
            "INSERT INTO users (id, created_at, updated_at) VALUES (?, ?, ?)",
            [(user, now, now) for (user,) in rows["users"]],
        )
        await conn.executemany(
            "INSERT INTO branches (id, name, organization_name, organization_type, formation_mode,"
            " formal_members, probationary_members, has_committee, has_party_groups, party_day,"
            " created_by, draft_key, created_at, updated_at, roster_complete, party_week,"
            " party_weekday) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows["branches"],
        )
        await conn.executemany(
            "INSERT INTO memberships (user_id, branch_id, role, created_at) VALUES (?, ?, ?, ?)",
            [(*row, now) for row in rows["memberships"]],
        )
        await conn.executemany(
            "INSERT INTO branch_settings (branch_id, frequencies, group_chat_id, updated_at) "
            "VALUES (?, ?, ?, ?)",
            [(*row, now) for row in rows["settings"]],
        )
        await conn.executemany(
            "INSERT INTO members (branch_id, name, status, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [(*row, now, now) for row in rows["members"]],
        )
        await conn.executemany(
            "INSERT INTO meetings (branch_id, kind, held_on, also_counts_as, created_by, "
            "draft_key, created_at, updated_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows["meetings"],
        )
        await conn.executemany(
            "INSERT OR IGNORE INTO obligation_marks (branch_id, code, period_start, marked_by, "
            "marked_at) VALUES (?, ?, ?, 1, ?)",
            [(*row, now) for row in rows["marks"]],
        )
        await conn.executemany(
            "INSERT INTO party_day_plans (branch_id, month, planned_on, theme, activity_form, "
            "created_by, created_at, updated_at) VALUES (?, ?, ?, ?, '集中学习', 1, ?, ?)",
            [(*row, now, now) for row in rows["plans"]],
        )
        await conn.executemany(
            "INSERT INTO blocked_chats (chat_id, blocked_at) VALUES (?, ?)",
            [(*row, now) for row in rows["blocked"]],
        )
    await database.close()


async def _read_in_full(database: Database, today: date) -> OverviewFacts:
    """The facts as the overview read them before: every record from the start of last year,
    every member, by the sweep's full read."""
    full = await sweep_data.load(database, today)
    secretaries = await database.fetchall(
        "SELECT branch_id FROM memberships WHERE role = 'secretary'"
    )
    return OverviewFacts(
        branches=full.branches,
        settings=full.settings,
        records=full.records,
        planned=full.planned,
        editors=full.editors,
        blocked=full.blocked,
        secretaries=frozenset(row[0] for row in secretaries),
        rosters={branch_id: len(roster) for branch_id, roster in full.roster.items()},
    )


@pytest.mark.parametrize("today", DAYS, ids=str)
async def test_counted_in_sql_equals_the_full_read(city: Database, today: date) -> None:
    counted = compute(await overview_data.load(city, today), today, TZ)
    full = compute(await _read_in_full(city, today), today, TZ)
    assert len(counted.rows) == len(full.rows) == BRANCHES
    for row, expected in zip(counted.rows, full.rows, strict=True):
        assert row == expected, (today, row.id)
    assert counted.standing == full.standing
    assert counted.per_obligation == full.per_obligation
    assert [r.id for r in counted.overdue] == [r.id for r in full.overdue]
    assert counted.coverage == full.coverage
    assert counted == full
    # The generated branches do differ: every state, and every standing, is represented.
    states = Counter(state for row in full.rows for state in row.states.values())
    expected = {"done", "due", "overdue", "not_applicable"}
    # On a quarter's first day nothing of it can be overdue yet.
    assert set(states) == (expected - {"overdue"} if today.day == 1 else expected), states
    assert sum(1 for n in full.standing.values() if n) >= 2, full.standing


# Each branch's months done per obligation and year, worked out from every record (the query
# /overview ran before the done_months table kept them).
_FROM_RECORDS = """
SELECT year, branch_id, code, SUM(DISTINCT 1 << month) FROM (
    SELECT CAST(substr(held_on, 1, 4) AS INTEGER) AS year, branch_id, kind AS code,
           CAST(substr(held_on, 6, 2) AS INTEGER) AS month FROM meetings WHERE deleted_at IS NULL
    UNION ALL
    SELECT CAST(substr(meetings.held_on, 1, 4) AS INTEGER), meetings.branch_id, counted.value,
           CAST(substr(meetings.held_on, 6, 2) AS INTEGER)
      FROM meetings, json_each(meetings.also_counts_as) AS counted
     WHERE meetings.deleted_at IS NULL
    UNION ALL
    SELECT CAST(substr(period_start, 1, 4) AS INTEGER), branch_id, code,
           CAST(substr(period_start, 6, 2) AS INTEGER) FROM obligation_marks
) GROUP BY year, branch_id, code
"""


async def _done_months(database: Database) -> set[tuple[Any, ...]]:
    return {tuple(row) for row in await database.fetchall("SELECT * FROM done_months")}


@pytest.mark.long
async def test_the_months_done_follow_every_change(city_file: Path, tmp_path: Path) -> None:
    """done_months, kept by triggers, stays what every record says through records deleted,
    hidden, restored, moved to another month and year, changed in kind, and marks undone; and
    /overview still equals the full read."""
    path = tmp_path / "city.sqlite3"
    await asyncio.to_thread(shutil.copyfile, city_file, path)
    database = Database(path)
    await database.open()
    try:
        assert await _done_months(database) == {
            tuple(row) for row in await database.fetchall(_FROM_RECORDS)
        }
        async with database.transaction() as conn:
            await conn.execute("DELETE FROM meetings WHERE id % 7 = 0")
            await conn.execute(
                "UPDATE meetings SET deleted_at = '2026-05-01T00:00:00+00:00' WHERE id % 7 = 1"
            )
            await conn.execute("UPDATE meetings SET deleted_at = NULL WHERE id % 11 = 2")
            await conn.execute(
                "UPDATE meetings SET held_on = '2025-12-31' WHERE id % 7 = 3 AND held_on > '2026'"
            )
            await conn.execute("UPDATE meetings SET held_on = '2026-02-14' WHERE id % 7 = 4")
            await conn.execute("UPDATE meetings SET kind = 'party_lecture' WHERE id % 7 = 5")
            await conn.execute(
                "UPDATE meetings SET also_counts_as = '[\"party_dues\"]' WHERE id % 13 = 6"
            )
            await conn.execute("DELETE FROM obligation_marks WHERE branch_id % 3 = 0")
            await conn.execute(
                "UPDATE OR IGNORE obligation_marks SET period_start = '2026-06-01' "
                "WHERE branch_id % 3 = 1"
            )
        assert await _done_months(database) == {
            tuple(row) for row in await database.fetchall(_FROM_RECORDS)
        }
        today = date(2026, 5, 31)
        counted = compute(await overview_data.load(database, today), today, TZ)
        assert counted == compute(await _read_in_full(database, today), today, TZ)
    finally:
        await database.close()
