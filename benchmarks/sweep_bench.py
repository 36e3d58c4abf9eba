"""The daily sweep deciding for a city (5,000 branches) and a province (20,000), and /help while
it runs.

Each scale's database (from `ensure`, cached) is copied, then swept for yesterday (the first
sweep: every branch decided), then for today and the next two days as the daily job does (only
the branches that can have a reminder that day are decided), then today again (idempotent:
nothing added). The daily deciding time (read + decide + render, batch by batch) is the median
of the three days, against the targets (≤ 1 s and ≤ 4 s); the first sweep's is shown beside
it. Then the real bot runs on the copy and /help is sent every 20 ms while the sweep runs as
its job does (for today, after the later days: every branch decided again), the slowest reply
against ≤ 150 ms.

`_fill` (5,000 light branches: a secretary and 24 records a year each) is the database
benchmarks/burst_path.py sweeps.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.datagen import ensure
from bot import jobs
from bot.app import OFFLINE_TOKEN, build_application, post_init
from bot.config import BotConfig, Config, StorageConfig, TelegramConfig
from bot.emulator.core import FakeTelegram
from bot.emulator.request import EmulatorRequest
from bot.knowledge import search
from bot.reminders import SweepStats, sweep
from db import Database, inbox, outbox
from db.database import utcnow
from tests.factories import make_profile

BRANCHES = int(os.environ.get("SWEEP_BRANCHES", "5000"))
TARGETS = {"city": 1.0, "province": 4.0}  # seconds of deciding
LATENCY_TARGET = 0.150
HELP_EVERY = 0.02
ROUNDS = 3
USERS = range(9_000_001, 9_000_101)


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


async def _sweeps(
    path: Path, day: date
) -> tuple[SweepStats, list[SweepStats], SweepStats, dict[str, int]]:
    """The first sweep (the day before `day`), the daily sweeps of ROUNDS days from `day`, the
    first of those days swept again, and the outbox by state afterwards."""
    db = Database(path)
    await db.open()
    tz = BotConfig().tzinfo
    first = await sweep(db, day - timedelta(days=1), tz)
    daily = [await sweep(db, day + timedelta(days=n), tz) for n in range(ROUNDS)]
    again = await sweep(db, day + timedelta(days=ROUNDS - 1), tz)
    counts = await outbox.counts(db)
    await db.close()
    return first, daily, again, counts


async def _help_during_sweep(path: Path) -> tuple[list[float], float]:
    """/help reply times while the bot's own sweep job runs (each from the next of USERS, so
    flood control lets every one through); and the sweep's time. A /help still unanswered
    when the sweep ends counts with the time it waited until its reply."""
    fake = FakeTelegram(token=OFFLINE_TOKEN)
    for user in USERS:
        fake.add_user(user)
    config = Config(
        telegram=TelegramConfig(token=OFFLINE_TOKEN, rate_limit=False),
        storage=StorageConfig(database=str(path), backups=0),
        bot=BotConfig(reminders=False),
    )
    application = build_application(
        config, request=EmulatorRequest(fake), get_updates_request=EmulatorRequest(fake)
    )
    latencies: list[float] = []
    waiting: dict[int, float] = {}

    def on_message(event: str, message: dict[str, Any]) -> None:
        sent = waiting.pop(message["chat"]["id"], None)
        if event == "new" and sent is not None:
            latencies.append(time.perf_counter() - sent)

    def ask(user: int) -> None:
        waiting[user] = time.perf_counter()
        fake.send_text(user, "/help")

    async with application:
        await post_init(application)
        # The cached database may have been run before: a new emulator numbers from 1 again.
        fake.continue_updates_after(await inbox.highest_update_id(application.database))
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=1)
        fake.subscribe(on_message)
        # Measured once the bot is warm, as a bot that has been up a while: its question index
        # is built (on the first question since start-up, or here).
        await asyncio.to_thread(search.warm_up)
        ask(USERS[0])
        while waiting:
            await asyncio.sleep(0.01)
        latencies.clear()
        job = asyncio.create_task(jobs.run_sweep(application))
        started = time.perf_counter()
        for n in itertools.count(1):
            if job.done():
                break
            if USERS[n % len(USERS)] not in waiting:
                ask(USERS[n % len(USERS)])
            await asyncio.sleep(HELP_EVERY)
        swept = time.perf_counter() - started
        await job
        while waiting:
            await asyncio.sleep(0.01)
        await application.updater.stop()
        await application.stop()
    return latencies, swept


async def _scale(scale: str, target: float, folder: Path) -> None:
    """Print one scale's figures."""
    source = ensure(scale)
    path = folder / f"{scale}.sqlite3"
    shutil.copyfile(source, path)
    day = datetime.now(BotConfig().tzinfo).date()  # the day the bot's own job sweeps for
    first, runs, again, counts = await _sweeps(path, day)
    decided = statistics.median(run.decide_seconds for run in runs)
    verdict = "met" if decided <= target else "NOT met"
    print(f"\nDaily sweep, {scale}: {first.branches:,} branches, deciding for {day} on")
    print(
        f"  daily sweep       : median {decided:.2f} s of {ROUNDS} days "
        f"({', '.join(f'{r.decide_seconds:.2f}' for r in runs)}), deciding "
        f"{', '.join(f'{r.branches:,}' for r in runs)} branches "
        f"({', '.join(f'{r.notices:,}' for r in runs)} notices); "
        f"target ≤ {target:.0f} s: {verdict}"
    )
    verdict = "met" if first.decide_seconds <= target else "NOT met"
    print(
        f"  first sweep       : {first.decide_seconds:.2f} s deciding every branch "
        f"({first.seconds:.2f} s in all, {first.notices:,} notices, {first.enqueued:,} outbox "
        f"rows); the same target: {verdict}"
    )
    print(
        f"  the same day again: {again.branches} branches decided, {again.enqueued} rows "
        "written (idempotent)"
    )
    print(f"  outbox by state   : {counts}")
    latencies, swept = await _help_during_sweep(path)
    latencies.sort()
    worst = max(latencies, default=0.0)
    p99 = latencies[round(0.99 * (len(latencies) - 1))] if latencies else 0.0
    verdict = "met" if latencies and worst <= LATENCY_TARGET else "NOT met"
    print(
        f"  /help during it   : {len(latencies)} replies during a {swept:.1f} s sweep, worst "
        f"{worst * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"median {statistics.median(latencies or [0]) * 1000:.0f} ms; "
        f"target worst ≤ {LATENCY_TARGET * 1000:.0f} ms: {verdict}"
    )


async def run() -> None:
    """Print the sweep's figures for the city and the province."""
    with tempfile.TemporaryDirectory() as folder:
        for scale, target in TARGETS.items():
            if scale == "province" and not os.environ.get("BENCH_PROVINCE"):
                continue  # 20,000 branches: BENCH_PROVINCE=1 (generating it takes 9 minutes)
            await _scale(scale, target, Path(folder))
