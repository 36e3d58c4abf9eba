"""The real bot on a database file, polling the in-process emulator, for a benchmark."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from telegram import Update

from bot import flood
from bot.app import OFFLINE_TOKEN, build_application, post_init
from bot.application import BotApplication
from bot.config import Config, StorageConfig, TelegramConfig
from bot.emulator.clock import ManualClock
from bot.emulator.core import FakeTelegram
from bot.emulator.request import EmulatorRequest


@asynccontextmanager
async def running_bot(
    path: Path, fake: FakeTelegram, config: Config | None = None
) -> AsyncIterator[BotApplication]:
    """Started and polling on the database at `path` (or as `config` says); stopped on leaving.
    Messages a bench sends in quick succession are no person's pace: the flood limit sees each
    a minute after the last."""
    config = config or Config(
        telegram=TelegramConfig(token=OFFLINE_TOKEN, rate_limit=False),
        storage=StorageConfig(database=str(path)),
    )
    application = build_application(
        config, request=EmulatorRequest(fake), get_updates_request=EmulatorRequest(fake)
    )
    flood.limiter_of(application).clock = ManualClock(step=60)
    async with application:
        await post_init(application)
        assert application.updater is not None
        await application.updater.start_polling(allowed_updates=Update.ALL_TYPES, timeout=1)
        await application.start()
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()


async def timed(application: BotApplication, fake: FakeTelegram, user: int, text: str) -> float:
    """Seconds from sending `text` to the bot having handled it (its replies sent)."""
    import time

    done = application.updates_done + 1
    started = time.perf_counter()
    fake.send_text(user, text)
    await application.wait_for_updates(done, timeout=60)
    return time.perf_counter() - started
