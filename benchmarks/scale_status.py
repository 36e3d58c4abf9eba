"""/status (and /history, /partyday) of one branch on a small and on a city database.

The screens about one branch must cost the same whatever the number of other branches: each
is timed through the real bot polling the in-process emulator (from the message to the reply
reaching the emulator) on the generated databases of benchmarks.datagen, the small one and the
city, both bots running at once and asked in turn, so that the machine's load falls on both.
/help is timed beside them: the bot's cost of any command, the floor under every screen.

The first /status after start (cold: a new process, new connections, SQLite's page cache
empty; the OS file cache may be warm) and the process's resident memory are measured in a
process of their own per database. Also printed: the database size per branch-year.

BENCH_BRANCHES shrinks the city (bench-quick): then only the small database is measured.
BENCH_PROVINCE=1 adds the province (20,000 branches × 3 years; about ten minutes to generate
the first time, 3.6 GB).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from benchmarks import datagen
from bot import flood
from bot.app import OFFLINE_TOKEN, build_application, post_init
from bot.config import BotConfig, Config, StorageConfig, TelegramConfig
from bot.emulator.clock import ManualClock
from bot.emulator.core import FakeTelegram
from bot.emulator.request import EmulatorRequest
from bot.reminders import sweep
from db import Database, inbox

ROUNDS = 21
TARGET = 0.030  # seconds, /status warm
COLD_TARGET = 2.0  # seconds, the first /status after start ("well under" this)
SMALL = datagen.Scale("small", 200, 5)
# (command, a text its reply contains); /help is the bot's cost of any command, for comparison.
SCREENS = (("/status", "本期任务"), ("/history", "共"), ("/partyday", "主题党日"), ("/help", ""))


def _rss() -> int:
    """The process's resident memory now, in bytes (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _branch(scale: datagen.Scale) -> int:
    """A branch in the middle of the file with a committee, a bound group and a roster."""
    branch = scale.branches // 2 - (scale.branches // 2) % 6
    return branch if branch % 5 else branch - 6


class _Bot:
    """A bot on one database, and the next reply of it to the branch's secretary."""

    def __init__(self, fake: FakeTelegram, user: int) -> None:
        self.fake = fake
        self.user = user
        self.wanted = ""
        self.arrived = asyncio.Event()
        fake.subscribe(self._seen)

    def _seen(self, event: str, message: dict[str, Any]) -> None:
        text = str(message.get("text") or "")
        if event == "new" and message["chat"]["id"] == self.user and self.wanted in text:
            self.arrived.set()

    async def time(self, text: str, wanted: str) -> float:
        """Seconds from sending text to the reply."""
        self.wanted = wanted
        self.arrived.clear()
        started = time.perf_counter()
        self.fake.send_text(self.user, text)
        await asyncio.wait_for(self.arrived.wait(), 120)
        return time.perf_counter() - started


@asynccontextmanager
async def _running(scale: datagen.Scale, path: Path) -> AsyncIterator[_Bot]:
    """The bot polling its emulator on the database, as `run` starts it."""
    user = 10 * _branch(scale)  # the generator's numbering: the branch's secretary
    fake = FakeTelegram(token=OFFLINE_TOKEN)
    fake.add_user(user, first_name="书记")
    config = Config(
        telegram=TelegramConfig(token=OFFLINE_TOKEN, rate_limit=False),
        storage=StorageConfig(database=str(path)),
        # Reminders off: the start-up sweep of every branch would run beside the screens.
        bot=BotConfig(reminders=False),
    )
    application = build_application(
        config, request=EmulatorRequest(fake), get_updates_request=EmulatorRequest(fake)
    )
    # One person tapping through the screens faster than anyone reads: not flooding here
    # (benchmarks/flood_path.py measures the flood control itself).
    flood.limiter_of(application).clock = ManualClock(step=60)
    async with application:
        await post_init(application)
        # The cached file is reused run after run: a new emulator numbers updates from 1 again.
        fake.continue_updates_after(await inbox.highest_update_id(application.database))
        assert application.updater is not None
        await application.start()
        await application.updater.start_polling(allowed_updates=Update.ALL_TYPES, timeout=1)
        try:
            yield _Bot(fake, user)
        finally:
            await application.updater.stop()
            await application.stop()


async def _cold(name: str, branches: int, years: int, path: Path) -> None:
    """In a process of its own: the first /status after start, and the memory after a few."""
    scale = datagen.Scale(name, branches, years)
    async with _running(scale, path) as bot:
        building = any(thread.name == "knowledge-index" for thread in threading.enumerate())
        first = await bot.time(*SCREENS[0])
        for text, wanted in SCREENS * 3:
            await bot.time(text, wanted)
        print(json.dumps({"cold": first, "rss": _rss(), "index": building}))


def _cold_in_process(scale: datagen.Scale, path: Path) -> dict[str, float]:
    found = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale_status", "--cold", scale.name,
         str(scale.branches), str(scale.years), str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(found.stdout.strip().splitlines()[-1])


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await update.message.reply_text(update.message.text or "")


async def _echo_round_trip() -> float:
    """Median seconds of one message through a bare python-telegram-bot echo app."""
    fake = FakeTelegram(token=OFFLINE_TOKEN)
    fake.add_user(1)
    application: Application = (
        ApplicationBuilder()
        .token(OFFLINE_TOKEN)
        .request(EmulatorRequest(fake))
        .get_updates_request(EmulatorRequest(fake))
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, _echo))
    times = []
    async with application:
        assert application.updater is not None
        await application.start()
        await application.updater.start_polling(timeout=1)
        bot = _Bot(fake, 1)
        for n in range(ROUNDS):
            times.append(await bot.time(f"echo {n}", f"echo {n}"))
        await application.updater.stop()
        await application.stop()
    return statistics.median(times)


async def _warm(found: list[tuple[datagen.Scale, Path]]) -> list[dict[str, list[float]]]:
    """Seconds of each screen on each database, asked in turn, ROUNDS times."""
    times: list[dict[str, list[float]]] = [{text: [] for text, _ in SCREENS} for _ in found]
    async with AsyncExitStack() as stack:
        bots = [await stack.enter_async_context(_running(scale, path)) for scale, path in found]
        for bot in bots:  # the first of each is the cold one, measured apart
            await bot.time(*SCREENS[0])
        # The question index is built in a thread at start, seconds of CPU that would fall on
        # the first rounds of one database and not the other's.
        for thread in threading.enumerate():
            if thread.name == "knowledge-index":
                await asyncio.to_thread(thread.join)
        pairs = list(zip(bots, times, strict=True))
        for round_no in range(ROUNDS):
            # Each round starts with another database: none is always first after a pause.
            shift = round_no % len(pairs)
            for bot, measured in pairs[shift:] + pairs[:shift]:
                for text, wanted in SCREENS:
                    measured[text].append(await bot.time(text, wanted))
    return times


async def _decide(scale: datagen.Scale, path: Path) -> float:
    """Median seconds of one branch's reminder decision (what saving its settings runs)."""
    database = Database(path)
    await database.open()
    tz = BotConfig().tzinfo
    today = datetime.now(tz).date()
    times = []
    try:
        for _ in range(ROUNDS + 1):
            started = time.perf_counter()
            await sweep(database, today, tz, branch_ids=[_branch(scale)])
            times.append(time.perf_counter() - started)
    finally:
        await database.close()
    return statistics.median(times[1:])


async def run() -> None:
    """Print the one-branch screens' figures on the small and the city database."""
    city = datagen.scale_of("city")
    scales = [SMALL] if city.branches <= SMALL.branches else [SMALL, city]
    if os.environ.get("BENCH_PROVINCE"):
        scales.append(datagen.scale_of("province"))
    found = []
    made = []
    for scale in scales:
        started = time.perf_counter()
        found.append((scale, datagen.ensure(scale)))
        made.append(time.perf_counter() - started)
    colds = [_cold_in_process(scale, path) for scale, path in found]
    echo = await _echo_round_trip()
    warm = await _warm(found)
    decide = [await _decide(scale, path) for scale, path in found]
    print(f"\nOne branch's screens vs the size of the database (through the bot, median of "
          f"{ROUNDS}, both databases asked in turn)")  # fmt: skip
    print(f"  bare PTB echo, one message : {echo * 1000:.1f} ms")
    for (scale, path), seconds, cold, times, decided in zip(
        found, made, colds, warm, decide, strict=True
    ):
        size = path.stat().st_size
        status = statistics.median(times["/status"])
        others = ", ".join(
            f"{text} {statistics.median(times[text]) * 1000:.0f} ms" for text, _ in SCREENS[1:]
        )
        origin = f"generated in {seconds:.0f} s" if seconds > 1 else "cached"
        print(
            f"  {scale.name} ({scale.branches:,} branches × {scale.years} years, "
            f"{size / 2**20:,.0f} MiB, {origin}):"
        )
        print(
            f"    /status : {status * 1000:.1f} ms (target ≤ {TARGET * 1000:.0f} ms; "
            f"{status / echo:.1f}× echo); first after start {cold['cold']:.2f} s "
            f"(target well under {COLD_TARGET:.0f} s"
            f"{'; the question index was being built meanwhile' if cold['index'] else ''})"
        )
        print(f"    also    : {others}; one branch's reminder decision {decided * 1000:.0f} ms")
        print(
            f"    size    : {size / (scale.branches * scale.years) / 2**10:.0f} KiB per "
            f"branch-year; a fresh process after 13 screens: RSS {cold['rss'] / 2**20:.0f} MiB"
        )
    small = statistics.median(warm[0]["/status"])
    for (scale, _), times in list(zip(found, warm, strict=True))[1:]:
        print(
            f"  /status {scale.name} vs small: {statistics.median(times['/status']) / small:.2f}× "
            f"(target ≈ 1×: independent of the other branches)"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--cold"]:
        name, branches, years, path = sys.argv[2:6]
        asyncio.run(_cold(name, int(branches), int(years), Path(path)))
    else:
        asyncio.run(run())
