"""The admins' /overview of 3,000 branches, each with about 30 meetings over the last year.

Measured through the real bot polling the in-process emulator (from the /overview message to
the card reaching the emulator), and the pure computation alone (bulk read, then compute).
Memory: the Python heap's peak (tracemalloc) while the handler runs, in a separate round since
tracing slows Python down.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update

from bot.app import OFFLINE_TOKEN, build_application, post_init
from bot.branch_profile import FORMATION_MODES, ORGANIZATION_TYPES
from bot.config import BotConfig, Config, StorageConfig, TelegramConfig
from bot.emulator.core import FakeTelegram
from bot.emulator.request import EmulatorRequest
from bot.overview import compute
from db import Database, inbox, overview_data
from db.database import utcnow

BRANCHES = int(os.environ.get("OVERVIEW_BRANCHES", "3000"))
MEETINGS = 30  # per branch, over the last year
ADMIN = 9_000_000
ROUNDS = 3
TARGET = 3.0
KINDS = (
    "theme_party_day",
    "committee_meeting",
    "member_meeting",
    "party_lecture",
    "group_meeting",
)


def _meeting_rows(i: int, today: date, now: str) -> tuple[list[Any], list[Any]]:
    """MEETINGS meetings over the last year for branch i, and its monthly 党费 marks (most
    months; every seventh branch skips one in three)."""
    meetings: list[Any] = []
    for n in range(MEETINGS):
        held = today - timedelta(days=(n * 365) // MEETINGS + i % 11)
        kind = KINDS[(n + i) % len(KINDS)]
        meetings.append((i, kind, held.isoformat(), i, f"r{i}-{n}", now, now))
    marks: list[Any] = []
    for back in range(12):
        if i % 7 == 0 and back % 3 == 0:
            continue
        month = (today.replace(day=1) - timedelta(days=back * 28)).replace(day=1)
        marks.append((i, "party_dues", month.isoformat(), i, now))
    return meetings, marks


async def _fill(db: Database, today: date) -> int:
    """Branches of every formation mode and type, their secretaries (and some deputies), and
    their meetings and 党费 marks, written in bulk. Returns the number of meetings."""
    now = utcnow()
    users = [(i, now, now) for i in range(1, 2 * BRANCHES + 1)]
    branches = [
        (
            i,
            f"第{i}支部",
            f"第{i}协会",
            ORGANIZATION_TYPES[i % len(ORGANIZATION_TYPES)],
            FORMATION_MODES[i % len(FORMATION_MODES)],
            1 + i % 12,
            i % 3,
            int(i % 3 == 0),
            int(i % 7 == 0),
            1 + i % 28,
            i,
            f"k{i}",
            "2025-01-01T00:00:00+00:00",
            now,
        )
        for i in range(1, BRANCHES + 1)
    ]
    roles = [(i, i, "secretary", now) for i in range(1, BRANCHES + 1) if i % 25]
    roles += [(BRANCHES + i, i, "deputy", now) for i in range(1, BRANCHES + 1, 4)]
    meetings: list[Any] = []
    marks: list[Any] = []
    for i in range(1, BRANCHES + 1):
        more, dues = _meeting_rows(i, today, now)
        meetings += more
        marks += dues
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO users (id, current_branch_id, created_at, updated_at) "
            "VALUES (?, NULL, ?, ?)",
            users,
        )
        await conn.executemany(
            "INSERT INTO branches (id, name, organization_name, organization_type, formation_mode,"
            " formal_members, probationary_members, has_committee, has_party_groups, party_day,"
            " created_by, draft_key, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            branches,
        )
        await conn.executemany(
            "INSERT INTO memberships (user_id, branch_id, role, created_at) VALUES (?, ?, ?, ?)",
            roles,
        )
        await conn.executemany(
            "INSERT INTO meetings (branch_id, kind, held_on, created_by, draft_key, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            meetings,
        )
        await conn.executemany(
            "INSERT OR IGNORE INTO obligation_marks (branch_id, code, period_start, marked_by, "
            "marked_at) VALUES (?, ?, ?, ?, ?)",
            marks,
        )
    return len(meetings)


async def _pure(database: Path, today: date) -> tuple[float, float, int]:
    """Seconds of the bulk read and of the computation alone, and the overdue branches."""
    db = Database(database)
    await db.open()
    started = time.perf_counter()
    facts = await overview_data.load(db, today)
    read = time.perf_counter() - started
    started = time.perf_counter()
    overview = compute(facts, today, ZoneInfo("Asia/Shanghai"))
    computed = time.perf_counter() - started
    await db.close()
    return read, computed, len(overview.overdue)


async def _through_bot(database: Path, rounds: int, *, trace: bool) -> tuple[list[float], int]:
    """Seconds from /overview to the card, per round; and the heap peak if traced."""
    fake = FakeTelegram(token=OFFLINE_TOKEN)
    fake.add_user(ADMIN, first_name="上级")
    config = Config(
        telegram=TelegramConfig(token=OFFLINE_TOKEN, rate_limit=False),
        storage=StorageConfig(database=str(database)),
        # Reminders off: the start-up sweep would run beside the first /overview.
        bot=BotConfig(admin_ids=(ADMIN,), reminders=False),
    )
    application = build_application(
        config, request=EmulatorRequest(fake), get_updates_request=EmulatorRequest(fake)
    )
    times: list[float] = []
    peak = 0
    async with application:
        await post_init(application)
        # A second run on the same database: a new emulator numbers from 1 again, and the inbox
        # would drop those as updates it has handled (Telegram never reuses an id so soon).
        fake.continue_updates_after(await inbox.highest_update_id(application.database))
        assert application.updater is not None
        await application.start()
        await application.updater.start_polling(allowed_updates=Update.ALL_TYPES, timeout=1)
        arrived = asyncio.Event()

        def on_message(event: str, message: dict[str, Any]) -> None:
            text = str(message.get("text") or "")
            if event == "new" and message["chat"]["id"] == ADMIN and "季度情况" in text:
                arrived.set()

        fake.subscribe(on_message)
        for _ in range(rounds):
            arrived.clear()
            if trace:
                tracemalloc.start()
            started = time.perf_counter()
            fake.send_text(ADMIN, "/overview")
            await asyncio.wait_for(arrived.wait(), 300)
            times.append(time.perf_counter() - started)
            if trace:
                peak = max(peak, tracemalloc.get_traced_memory()[1])
                tracemalloc.stop()
        await application.updater.stop()
        await application.stop()
    return times, peak


async def run() -> None:
    """Print the /overview figures."""
    today = datetime.now(BotConfig().tzinfo).date()
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "overview.sqlite3"
        db = Database(database)
        await db.open()
        meetings = await _fill(db, today)
        await db.close()
        read, computed, overdue = await _pure(database, today)
        times, _ = await _through_bot(database, ROUNDS, trace=False)
        traced, peak = await _through_bot(database, 1, trace=True)
    median = statistics.median(times)
    print(
        f"\n/overview: {BRANCHES} branches, {meetings:,} meetings over the last year "
        f"({meetings / BRANCHES:.0f} per branch), {overdue} with something overdue, on {today}"
    )
    print(
        f"  through the bot   : median {median:.2f} s of {ROUNDS} rounds "
        f"(first {times[0]:.2f} s, slowest {max(times):.2f} s; target < {TARGET:.0f} s)"
    )
    print(f"  pure, bulk read   : {read:.2f} s")
    print(f"  pure, computation : {computed:.2f} s (bot.overview.compute alone)")
    print(
        f"  Python heap peak  : {peak / 2**20:.1f} MiB during the handler "
        f"(tracemalloc; {traced[0]:.2f} s with tracing on)"
    )


if __name__ == "__main__":
    asyncio.run(run())
