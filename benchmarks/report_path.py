"""/report for a year of 200 records (and a roster of 50) through the real bot polling the
in-process emulator: from the message to the Word file reaching the emulator."""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
from datetime import date, timedelta
from pathlib import Path

from benchmarks.find_path import SECRETARY, _record
from benchmarks.running import running_bot, timed
from bot.app import OFFLINE_TOKEN
from bot.emulator.core import FakeTelegram
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
        async with running_bot(path, fake) as application:
            times = [await timed(application, fake, SECRETARY, "/report 2026") for _ in range(5)]
        print(f"/report of {RECORDS} records and {ROSTER} members: median "
              f"{statistics.median(times):.2f} s, worst {max(times):.2f} s "
              f"(target < {TARGET_S:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(run())
