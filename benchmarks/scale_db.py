"""A city's (5,000 branches × 5 years) and a province's (20,000 × 3) database for the /overview
and sweep benchmarks, generated once and cached under data/bench/.

A stand-in with the same call as benchmarks/datagen.py (`ensure(scale) -> Path`): the
benchmarks import `ensure` from here until that generator is on main, then from there (one line
each). What it holds is what /overview and the sweep read: branches of every kind with their
secretary and deputies, settings, a roster of 30 (probationary and mobile members among them),
about 30 sittings a year (heart-to-heart talks with their counterparts, some combined, some
deleted), 党费 marks, monthly plans, custom reminders and snoozes. Meeting texts are left out:
neither path reads them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bot.branch_profile import FORMATION_MODES, ORGANIZATION_TYPES
from db import Database
from db.database import migrations

FOLDER = Path(__file__).resolve().parents[1] / "data" / "bench"
SCALES = {"city": (5000, 5), "province": (20_000, 3)}  # branches, years
MEMBERS = 30
STATUSES = (
    ("formal",) * 24 + ("probationary",) * 2 + ("candidate",) * 2 + ("activist", "applicant")
)
# (kind, months, day) of a branch's year; a branch without a committee holds group meetings.
SCHEDULE = (
    ("theme_party_day", range(1, 13), 0),
    ("committee_meeting", (1, 3, 5, 7, 9, 11), 10),
    ("member_meeting", (3, 6, 9, 12), 20),
    ("party_lecture", (4, 8, 12), 15),
    ("heart_to_heart_talk", (2, 6, 10), 12),
    ("organizational_life_meeting", (1,), 25),
    ("member_appraisal", (2,), 22),
)
STAMP = "T02:00:00+00:00"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚文华红玲英兰辉鹏飞宇"


def ensure(scale: str, *, end: date | None = None) -> Path:
    """The database of a scale ("city" or "province"), generated first if not cached."""
    branches, years = SCALES[scale]
    end = end or date.today()
    schema = hashlib.sha256("".join(sql for _, _, sql in migrations()).encode()).hexdigest()
    path = FOLDER / f"own-{scale}-{branches}x{years}-{end}-{schema[:10]}.sqlite3"
    if not path.exists():
        FOLDER.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        _generate(partial, branches, years, end)
        partial.rename(path)
    return path


def _generate(path: Path, branches: int, years: int, end: date) -> None:
    async def migrate() -> None:
        database = Database(path)
        await database.open()
        await database.close()

    # The migrations run on asyncio: a thread of its own works whether or not a loop runs here.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, migrate()).result()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("BEGIN")
    for table, columns, rows in _tables(branches, years, end):
        marks = ", ".join("?" * len(columns))
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()


def _tables(branches: int, years: int, end: date) -> Iterator[tuple[str, tuple[str, ...], Any]]:
    first_year = end.year - years + 1
    ids = range(1, branches + 1)
    yield (
        "users",
        ("id", "created_at", "updated_at"),
        ((10 * b + k, f"{end}{STAMP}", f"{end}{STAMP}") for b in ids for k in range(2)),
    )
    yield "branches", (
        "id", "name", "organization_name", "organization_type", "formation_mode",
        "formal_members", "probationary_members", "has_committee", "has_party_groups",
        "party_day", "created_by", "draft_key", "created_at", "updated_at", "roster_complete",
    ), (
        (b, f"第{b}党支部", f"第{b}协会", ORGANIZATION_TYPES[b % len(ORGANIZATION_TYPES)],
         FORMATION_MODES[b % len(FORMATION_MODES)], 1 + b % 24, b % 3, int(b % 5 != 0),
         int(b % 4 == 0), 1 + b % 28, 10 * b, f"k{b}",
         f"{date(first_year, 1, 1) - timedelta(days=30 + b % 60)}{STAMP}", f"{end}{STAMP}",
         int(b % 2 == 0))
        for b in ids
    )  # fmt: skip
    yield (
        "memberships",
        ("user_id", "branch_id", "role", "created_at"),
        (
            (10 * b + k, b, role, f"{end}{STAMP}")
            for b in ids
            for k, role in enumerate(("secretary", "deputy")[: 1 + b % 2])
            if b % 25 or k  # every 25th branch has no secretary
        ),
    )
    yield "branch_settings", ("branch_id", "frequencies", "group_chat_id", "updated_at"), (
        (b, '{"party_lecture": "off"}' if b % 10 == 0 else "{}",
         -1_000_000_000_000 - b if b % 3 == 0 else None, f"{end}{STAMP}")
        for b in ids
    )  # fmt: skip
    yield "members", (
        "branch_id", "name", "status", "joined_on", "mobile", "left_on", "last_report_on",
        "created_at", "updated_at",
    ), (
        (b, _name(b, k), STATUSES[k],
         str(end - timedelta(days=200 + 40 * k)) if STATUSES[k] == "probationary" else None,
         int(k == 20 and b % 3 == 0), str(end - timedelta(days=400)) if k == 20 else None,
         str(end - timedelta(days=20 + b % 90)) if k == 20 and b % 3 == 0 else None,
         f"{end}{STAMP}", f"{end}{STAMP}")
        for b in ids
        for k in range(MEMBERS)
    )  # fmt: skip
    yield (
        "meetings",
        (
            "branch_id",
            "kind",
            "held_on",
            "counterpart",
            "also_counts_as",
            "created_by",
            "draft_key",
            "created_at",
            "updated_at",
            "deleted_at",
        ),
        _meetings(ids, first_year, end),
    )
    months = [
        date(year, month, 1)
        for year in range(first_year, end.year + 1)
        for month in range(1, 13)
        if date(year, month, 1) <= end
    ]
    yield (
        "obligation_marks",
        ("branch_id", "code", "period_start", "marked_by", "marked_at"),
        (
            (b, "party_dues", str(m), 10 * b, f"{m}{STAMP}")
            for b in ids
            for m in months
            if b % 7 or m.month % 3
        ),
    )
    yield "party_day_plans", (
        "branch_id", "month", "planned_on", "theme", "activity_form", "created_by",
        "created_at", "updated_at",
    ), (
        (b, m.strftime("%Y-%m"), str(m.replace(day=min(1 + b % 28, 28))), "重温入党誓词",
         "集中学习", 10 * b, f"{m}{STAMP}", f"{m}{STAMP}")
        for b in ids
        for m in months
        if m.month % 5
    )  # fmt: skip
    yield "custom_reminders", (
        "branch_id", "created_by", "text", "rule", "day_of_month", "quarter_month", "at_time",
        "created_at", "updated_at", "draft_key",
    ), (
        (b, 10 * b, "每月5日前报送党员学习情况", "monthly", 5, 1, "09:30", f"{end}{STAMP}",
         f"{end}{STAMP}", f"cr-{b}")
        for b in ids
        if b % 2
    )  # fmt: skip
    yield (
        "snoozes",
        ("branch_id", "code", "period_start", "until"),
        (
            (b, "party_dues", str(end.replace(day=1)), str(end + timedelta(days=3)))
            for b in ids
            if b % 6 == 0
        ),
    )


def _name(b: int, k: int) -> str:
    return SURNAMES[(b + k) % len(SURNAMES)] + GIVEN[(b * 7 + k) % len(GIVEN)] + GIVEN[k]


def _meetings(ids: range, first_year: int, end: date) -> Iterator[tuple[Any, ...]]:
    n = 0
    for b in ids:
        for year in range(first_year, end.year + 1):
            for kind, months, day in SCHEDULE:
                if kind == "committee_meeting" and b % 5 == 0:
                    kind = "group_meeting"
                for number, month in enumerate(months):
                    held = date(year, month, day or 1 + b % 28) + timedelta(days=b % 3)
                    if held > end:
                        continue
                    n += 1
                    talk = _name(b, 3 + number * 5) if kind == "heart_to_heart_talk" else ""
                    also = (
                        '["member_meeting"]' if kind == "theme_party_day" and b % 9 == 0 else "[]"
                    )
                    stamp = f"{held}{STAMP}"
                    yield (b, kind, str(held), talk, also, 10 * b, f"m{n}", stamp, stamp,
                           stamp if n % 97 == 0 else None)  # fmt: skip
