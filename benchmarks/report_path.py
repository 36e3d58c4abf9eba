"""/report for a year of 200 records (and a roster of 50) through the real bot polling the
in-process emulator: from the message to the Word file reaching the emulator."""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from telegram import Update

from benchmarks.find_path import SECRETARY, _record
from bot import flood
from bot.app import OFFLINE_TOKEN, build_application, post_init
from bot.config import Config, StorageConfig, TelegramConfig
from bot.emulator.clock import ManualClock
from bot.emulator.core import FakeTelegram
from bot.emulator.request import EmulatorRequest
from db import Database, meetings, members, repo
from db.models import BranchProfile, MemberInfo

RECORDS = 200
ROSTER = 50
TARGET_S = 2.0


async def _world(path: Path) -> None:
    database = Database(path)
    await database.open()
    rng = random.Random(3)
    profile = BranchProfile(
        "支部", "协会", "trade_association", "standalone", 49, 1, True, False, 15
    )
    branch, _ = await repo.create_branch(
        database, user_id=SECRETARY, profile=profile, draft_key="b"
    )
    for n in range(RECORDS):
        day = date(2026, 1, 1) + timedelta(days=(n * 360) // RECORDS)
        await meetings.create_meeting(
            database, user_id=SECRETARY, branch_id=branch.id,
            meeting=_record(rng, day), draft_key=f"m{n}",
        )  # fmt: skip
    for n in range(ROSTER):
        info = MemberInfo(f"党员{n}", "formal", date(2000 + n % 26, 7, 1))
        await members.add(database, user_id=SECRETARY, branch_id=branch.id, info=info)
    await database.close()


async def run() -> None:
    """Print /report's time through the bot."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.sqlite3"
        await _world(path)
        fake = FakeTelegram(token=OFFLINE_TOKEN)
        fake.add_user(SECRETARY)
        config = Config(
            telegram=TelegramConfig(token=OFFLINE_TOKEN, rate_limit=False),
            storage=StorageConfig(database=str(path)),
        )
        application = build_application(
            config, request=EmulatorRequest(fake), get_updates_request=EmulatorRequest(fake)
        )
        flood.limiter_of(application).clock = ManualClock(step=60)
        times = []
        async with application:
            await post_init(application)
            assert application.updater is not None
            await application.updater.start_polling(allowed_updates=Update.ALL_TYPES, timeout=1)
            await application.start()
            done = application.updates_done
            for _ in range(5):
                started = time.perf_counter()
                fake.send_text(SECRETARY, "/report 2026")
                done += 1
                await application.wait_for_updates(done, timeout=60)
                times.append(time.perf_counter() - started)
            await application.updater.stop()
            await application.stop()
        print(f"/report of {RECORDS} records and {ROSTER} members: median "
              f"{statistics.median(times):.2f} s, worst {max(times):.2f} s "
              f"(target < {TARGET_S:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(run())
