"""Time to handle /help updates through the bot vs a bare python-telegram-bot echo app.

Both run the same way: polling the in-process emulator, the updates queued before the clock
starts, the clock stopped when the last reply has reached the emulator. The rounds alternate so
that warm-up and machine noise fall on both sides.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot import flood
from bot.app import OFFLINE_TOKEN, build_application, post_init
from bot.config import Config, StorageConfig, TelegramConfig
from bot.emulator.clock import ManualClock
from bot.emulator.core import FakeTelegram
from bot.emulator.request import EmulatorRequest

UPDATES = 1000
USERS = 100
ROUNDS = 5
RATE_LIMITED_UPDATES = 200
TARGET_RATIO = 1.3  # issue 16


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await update.message.reply_text(update.message.text or "")


def _fake() -> FakeTelegram:
    fake = FakeTelegram(token=OFFLINE_TOKEN)
    for user_id in range(1, USERS + 1):
        fake.add_user(user_id)
    return fake


def _baseline(fake: FakeTelegram) -> Application:
    application = (
        ApplicationBuilder()
        .token(OFFLINE_TOKEN)
        .request(EmulatorRequest(fake))
        .get_updates_request(EmulatorRequest(fake))
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, _echo))
    return application


def _bot(fake: FakeTelegram, database: Path, *, rate_limit: bool) -> Application:
    config = Config(
        telegram=TelegramConfig(token=OFFLINE_TOKEN, rate_limit=rate_limit),
        storage=StorageConfig(database=str(database)),
    )
    application = build_application(
        config, request=EmulatorRequest(fake), get_updates_request=EmulatorRequest(fake)
    )
    # Ten messages a user queued at once is no person's pace: the flood limit must not count it
    # (benchmarks/flood_path.py measures the flood control itself).
    flood.limiter_of(application).clock = ManualClock(step=60)
    return application


async def _time(
    application: Application,
    fake: FakeTelegram,
    count: int,
    ours: bool,
    texts: tuple[str, ...] = ("/help",),
) -> float:
    """Seconds from the first queued message (the texts in turn) to the last reply."""
    async with application:
        if ours:
            await post_init(application)
        assert application.updater is not None
        await application.start()
        replies = 0
        done = asyncio.Event()

        def count_reply(event: str, message: dict[str, object]) -> None:
            nonlocal replies
            if event == "new":
                replies += 1
                if replies == count:
                    done.set()

        fake.subscribe(count_reply)
        for i in range(count):
            fake.send_text(i % USERS + 1, texts[i % len(texts)])
        started = time.perf_counter()
        await application.updater.start_polling(timeout=1)
        await asyncio.wait_for(done.wait(), 600)
        elapsed = time.perf_counter() - started
        await application.updater.stop()
        await application.stop()
    return elapsed


async def run() -> None:
    """Print the /help figures."""
    with tempfile.TemporaryDirectory() as folder:
        bare: list[float] = []
        ours: list[float] = []
        for round_no in range(ROUNDS):
            fake = _fake()
            bare.append(await _time(_baseline(fake), fake, UPDATES, ours=False))
            fake = _fake()
            database = Path(folder) / f"bench{round_no}.sqlite3"
            ours.append(await _time(_bot(fake, database, rate_limit=False), fake, UPDATES, True))
        fake = _fake()
        limited = await _time(
            _bot(fake, Path(folder) / "limited.sqlite3", rate_limit=True),
            fake,
            RATE_LIMITED_UPDATES,
            True,
        )
    bare_median, ours_median = statistics.median(bare), statistics.median(ours)
    print(f"\n/help path: {UPDATES} updates from {USERS} users, median of {ROUNDS} rounds")
    print(f"  bare PTB echo app : {bare_median:.3f} s  ({UPDATES / bare_median:,.0f} updates/s)")
    print(f"  支书助手 /help     : {ours_median:.3f} s  ({UPDATES / ours_median:,.0f} updates/s)")
    ratio = ours_median / bare_median
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"  ratio bot / echo  : {ratio:.2f}x   (target <= {TARGET_RATIO:.2f}x: {verdict})")
    print(
        f"  with Telegram's rate limits on: {RATE_LIMITED_UPDATES} replies in {limited:.2f} s "
        f"(capped at 30 messages/s by design)"
    )
