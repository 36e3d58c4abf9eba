"""The admins' /overview of a city (5,000 branches × 5 years) and a province (20,000 × 3).

Measured through the real bot polling the in-process emulator (from the /overview message to
the card reaching the emulator), median of 3, against the targets (≤ 1 s and ≤ 3 s); and the
data path alone (the counting read, then compute). Memory: the Python heap's peak
(tracemalloc) while the handler runs for the city, in a separate round since tracing slows
Python down. The databases come from `ensure` (generated once, cached under data/bench/).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import tracemalloc
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update

from benchmarks.datagen import ensure
from bot.app import OFFLINE_TOKEN, build_application, post_init
from bot.config import BotConfig, Config, StorageConfig, TelegramConfig
from bot.emulator.core import FakeTelegram
from bot.emulator.request import EmulatorRequest
from bot.knowledge import search
from bot.overview import compute
from db import Database, inbox, overview_data

ADMIN = 9_000_000
ROUNDS = 3
TARGETS = {"city": 1.0, "province": 3.0}  # seconds, through the bot


async def _pure(database: Path, today: date) -> tuple[float, float, int]:
    """Seconds of the counting read and of the computation alone, and the overdue branches."""
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
        # Measured once the bot is warm, as a bot that has been up a while: its question index
        # is built (on the first question since start-up, or here).
        await asyncio.to_thread(search.warm_up)
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


async def _scale(scale: str, target: float, *, trace: bool) -> None:
    """Print one scale's figures."""
    database = ensure(scale)
    today = datetime.now(BotConfig().tzinfo).date()
    pure = [await _pure(database, today) for _ in range(ROUNDS)]
    times, _ = await _through_bot(database, ROUNDS, trace=False)
    median = statistics.median(times)
    branches, members, meetings = await _sizes(database)
    print(
        f"\n/overview, {scale}: {branches:,} branches, {members:,} members, {meetings:,} "
        f"meetings; {pure[0][2]:,} with something overdue, on {today}"
    )
    verdict = "met" if median <= target else "NOT met"
    print(
        f"  through the bot   : median {median:.2f} s of {ROUNDS} (slowest {max(times):.2f} s); "
        f"target ≤ {target:.0f} s: {verdict}"
    )
    read = statistics.median(r for r, _, _ in pure)
    computed = statistics.median(c for _, c, _ in pure)
    print(f"  counting read     : {read:.2f} s (median of {ROUNDS})")
    print(f"  computation       : {computed:.2f} s (bot.overview.compute alone)")
    if trace:
        traced, peak = await _through_bot(database, 1, trace=True)
        print(
            f"  Python heap peak  : {peak / 2**20:.1f} MiB during the handler "
            f"(tracemalloc; {traced[0]:.2f} s with tracing on)"
        )


async def _sizes(database: Path) -> tuple[int, int, int]:
    db = Database(database)
    await db.open()
    found = []
    for table in ("branches", "members", "meetings"):
        row = await db.fetchone(f"SELECT COUNT(*) FROM {table}")
        found.append(int(row[0]) if row else 0)
    await db.close()
    return found[0], found[1], found[2]


async def run() -> None:
    """Print the /overview figures of the city and the province."""
    for scale, target in TARGETS.items():
        if scale == "province" and not os.environ.get("BENCH_PROVINCE"):
            continue  # 20,000 branches: BENCH_PROVINCE=1 (generating it takes about 9 minutes)
        await _scale(scale, target, trace=scale == "city")


if __name__ == "__main__":
    asyncio.run(run())
