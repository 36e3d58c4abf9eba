"""Many users writing at once with a realistic Bot API round trip, and /help during a sweep.

The emulator answers every call after LATENCY seconds (a deployer's server talking to
Telegram); the bot runs its default configuration (AIORateLimiter on). A user's reply time is
from the moment the burst is queued to the bot's first message to that user. The bare
python-telegram-bot echo app (sequential, its default) runs the same burst for comparison.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, MessageHandler, filters

from benchmarks.help_path import _echo
from bot import flood, jobs
from bot.app import OFFLINE_TOKEN, build_application, post_init
from bot.application import BotApplication
from bot.config import BotConfig, Config, StorageConfig, TelegramConfig
from bot.emulator.clock import ManualClock
from bot.emulator.core import FakeTelegram
from bot.emulator.request import EmulatorRequest
from bot.knowledge import search

LATENCY = 0.1
BURSTS = (30, 200)
HELP_EVERY = 0.02


def _fake(users: int) -> FakeTelegram:
    fake = FakeTelegram(token=OFFLINE_TOKEN)
    for user_id in range(1, users + 1):
        fake.add_user(user_id)
    return fake


def _config(database: Path, *, reminders: bool = False) -> Config:
    return Config(
        telegram=TelegramConfig(token=OFFLINE_TOKEN),
        storage=StorageConfig(database=str(database), backups=0),
        bot=BotConfig(reminders=reminders),
    )


def _bare(fake: FakeTelegram) -> Application:
    application = (
        ApplicationBuilder()
        .token(OFFLINE_TOKEN)
        .request(EmulatorRequest(fake))
        .get_updates_request(EmulatorRequest(fake))
        .rate_limiter(AIORateLimiter(max_retries=3))
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, _echo))
    return application


async def _burst(
    application: Application, fake: FakeTelegram, users: int, text: str = "/help"
) -> list[float]:
    """Each user's reply time (seconds) for one message each, all sent at once."""
    async with application:
        if isinstance(application, BotApplication):
            await post_init(application)
        await application.start()
        first: dict[int, float] = {}
        done = asyncio.Event()

        def on_message(event: str, message: dict[str, object]) -> None:
            chat = message["chat"]
            assert isinstance(chat, dict)
            if event == "new" and chat["id"] not in first:
                first[chat["id"]] = time.perf_counter()
                if len(first) == users:
                    done.set()

        fake.subscribe(on_message)
        for user in range(1, users + 1):
            fake.send_text(user, text)
        fake.latency = LATENCY
        started = time.perf_counter()
        assert application.updater is not None
        await application.updater.start_polling(timeout=1)
        await asyncio.wait_for(done.wait(), 600)
        await application.updater.stop()
        await application.stop()
    return sorted(at - started for at in first.values())


def _line(name: str, times: list[float]) -> str:
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return (
        f"  {name:<24}: p50 {statistics.median(times):.2f} s, p99 {p99:.2f} s, "
        f"max {times[-1]:.2f} s"
    )


async def _help_during_sweep(folder: Path) -> tuple[list[float], float]:
    """/help reply times while the sweep decides for 5,000 branches; and the sweep's time."""
    from benchmarks.sweep_bench import _fill
    from db import Database

    path = folder / "sweep.sqlite3"
    database = Database(path)
    await database.open()
    await _fill(database)
    await database.close()
    fake = _fake(1)
    application = build_application(
        _config(path), request=EmulatorRequest(fake), get_updates_request=EmulatorRequest(fake)
    )
    # One user asking every 20 ms is no person's pace: the flood limit would mute them after
    # the first few (benchmarks/flood_path.py measures the flood control itself).
    flood.limiter_of(application).clock = ManualClock(step=60)
    latencies: list[float] = []
    async with application:
        await post_init(application)
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=1)
        sent_at: list[float] = []

        def on_message(event: str, message: dict[str, object]) -> None:
            if event == "new" and sent_at:
                latencies.append(time.perf_counter() - sent_at.pop(0))

        fake.subscribe(on_message)
        # Measured once the bot is warm, as a bot that has been up a while: its question index
        # is built (on the first question since start-up, or here).
        await asyncio.to_thread(search.warm_up)
        sent_at.append(time.perf_counter())
        fake.send_text(1, "/help")
        while sent_at:
            await asyncio.sleep(0.01)
        latencies.clear()
        sweep = asyncio.create_task(jobs.run_sweep(application))
        started = time.perf_counter()
        while not sweep.done():
            if not sent_at:
                sent_at.append(time.perf_counter())
                fake.send_text(1, "/help")
            await asyncio.sleep(HELP_EVERY)
        swept = time.perf_counter() - started
        await application.updater.stop()
        await application.stop()
    return latencies, swept


async def run() -> None:
    """Print the burst and the /help-during-sweep figures."""
    print(f"\nBursts: every user writes at once; Bot API round trip {LATENCY * 1000:.0f} ms,")
    print("  AIORateLimiter on (30 messages/s in all); time to each user's first reply")
    with tempfile.TemporaryDirectory() as folder:
        for users in BURSTS:
            target = {30: 1.5, 200: 8.0}[users]
            print(f" {users} users (target p99 ≤ {target} s):")
            fake = _fake(users)
            print(_line("bare PTB echo", await _burst(_bare(fake), fake, users)))
            for text, what in (("/help", "one reply"), ("/start", "welcome + question")):
                fake = _fake(users)
                application = build_application(
                    _config(Path(folder) / f"burst{users}{text[1:]}.sqlite3"),
                    request=EmulatorRequest(fake),
                    get_updates_request=EmulatorRequest(fake),
                )
                times = await _burst(application, fake, users, text)
                print(_line(f"支书助手 {text} ({what})", times))
        latencies, swept = await _help_during_sweep(Path(folder))
    print(f"\n/help while the sweep decides for 5,000 branches ({datetime.now():%H:%M}):")
    print(
        f"  {len(latencies)} /help replies during a {swept:.1f} s sweep: worst "
        f"{max(latencies) * 1000:.0f} ms, median {statistics.median(latencies) * 1000:.0f} ms "
        "(target worst ≤ 150 ms)"
    )
