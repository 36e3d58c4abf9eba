"""Logging meetings through the whole bot, and exporting a year's ledger.

1. 100 secretaries (100 branches) each log 10 党员大会 through /log as a phone would: kind, date,
   time and place, people, attendance with absentees, two agenda items, content, resolutions,
   two photos, done, save (13 updates a record, /log included): 1,000 records. The same number
   of updates through the bare PTB echo app gives the baseline, in the same run.
2. A year's ledger of 500 records of one branch: read from SQLite and written as Excel, and one
   record as Word.
"""

from __future__ import annotations

import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from benchmarks.help_path import _baseline, _time
from bot import flood
from bot.app import OFFLINE_TOKEN, build_application, post_init
from bot.config import Config, StorageConfig, TelegramConfig
from bot.emulator.clock import ManualClock
from bot.emulator.core import FakeTelegram
from bot.emulator.request import EmulatorRequest
from db import Database, meetings, repo
from db.models import Meeting, Photo
from tests.factories import make_profile

BRANCHES = 100
RECORDS_EACH = 5  # 500 records, 6,500 updates: a steady per-update figure in half the time
LEDGER_RECORDS = 500
TARGET_RATIO = 4.0  # per update against the bare echo (issue 16)
STEPS = [
    ("send", "/log"),
    ("tap", "党员大会"),
    ("tap", "今天"),
    ("send", "14:30 党员活动室"),
    ("send", "张三 李四"),
    ("send", "20 18\n王五 出差\n赵六 病假"),
    ("send", "1. 学习党的二十届四中全会精神\n2. 讨论年度工作计划"),
    ("send", "书记传达了会议精神，党员交流了学习体会。"),
    ("send", "同意年度工作计划（18票赞成）"),
    ("photo", b"one"),
    ("photo", b"two"),
    ("tap", "✅ 完成"),
    ("tap", "✅ 保存记录"),
]
STEPS_COUNT = len(STEPS)


async def _register(path: Path) -> None:
    database = Database(path)
    await database.open()
    for user_id in range(1, BRANCHES + 1):
        await repo.create_branch(
            database,
            user_id=user_id,
            profile=make_profile(
                name=f"第{user_id}支部", formal_members=18, probationary_members=2
            ),
            draft_key=f"bench-{user_id}",
        )
    await database.close()


async def _log_through_the_bot(path: Path) -> tuple[float, int, int]:
    """Seconds to log every record; the number of updates; the records saved."""
    fake = FakeTelegram(token=OFFLINE_TOKEN)
    for user_id in range(1, BRANCHES + 1):
        fake.add_user(user_id)
    config = Config(
        telegram=TelegramConfig(token=OFFLINE_TOKEN, rate_limit=False),
        storage=StorageConfig(database=str(path)),
    )
    application = build_application(
        config, request=EmulatorRequest(fake), get_updates_request=EmulatorRequest(fake)
    )
    # Ten records a secretary in seconds is no person's pace: the flood limit must not count it.
    flood.limiter_of(application).clock = ManualClock(step=60)
    async with application:
        await post_init(application)
        assert application.updater is not None
        await application.start()
        await application.updater.start_polling(timeout=1)
        sent = 0
        started = time.perf_counter()
        for _ in range(RECORDS_EACH):
            for action, value in STEPS:
                # Every secretary takes the same step at once; the next step waits for replies.
                for user_id in range(1, BRANCHES + 1):
                    if action == "send":
                        fake.send_text(user_id, str(value))
                    elif action == "tap":
                        fake.tap_button(user_id, str(value))
                    else:
                        assert isinstance(value, bytes)
                        fake.send_photo(user_id, value + str(user_id).encode())
                    sent += 1
                await application.wait_for_updates(sent, timeout=120)
        elapsed = time.perf_counter() - started
        saved = 0
        for branch_id in range(1, BRANCHES + 1):
            saved += (await meetings.list_meetings(application.database, branch_id, limit=1))[1]
        await application.updater.stop()
        await application.stop()
    return elapsed, sent, saved


async def _ledger(path: Path) -> tuple[float, float, float, int]:
    """Seconds to read and to write a year's Excel ledger of LEDGER_RECORDS, and one Word."""
    from bot import exports

    database = Database(path)
    await database.open()
    branch, _ = await repo.create_branch(
        database, user_id=999, profile=make_profile(has_committee=True), draft_key="ledger"
    )
    kinds = ["committee_meeting", "member_meeting", "party_lecture", "theme_party_day"]
    for i in range(LEDGER_RECORDS):
        meeting = Meeting(
            kind=kinds[i % len(kinds)],
            held_on=date(2026, 1, 1) + timedelta(days=i * 334 // LEDGER_RECORDS),
            start_time="14:30",
            place="党员活动室",
            host="张三",
            recorder="李四",
            speaker="王五",
            title="学习党的二十届四中全会精神",
            activity_form="study",
            expected=20,
            present=18,
            on_leave=1,
            absentees=(("王五", "出差"), ("赵六", "病假")),
            agenda=("学习党的二十届四中全会精神", "讨论年度工作计划"),
            content="书记传达了会议精神，党员交流了学习体会。" * 10,
            resolutions="同意年度工作计划",
            photos=(Photo("a", f"a{i}"), Photo("b", f"b{i}")),
        )
        await meetings.create_meeting(
            database, user_id=999, branch_id=branch.id, meeting=meeting, draft_key=f"l{i}"
        )
    started = time.perf_counter()
    records = await meetings.meetings_of_year(database, branch.id, 2026)
    read = time.perf_counter() - started
    started = time.perf_counter()
    data = exports.ledger_workbook(branch, 2026, records, date(2026, 12, 31))
    write = time.perf_counter() - started
    started = time.perf_counter()
    exports.meeting_document(branch, records[0])
    word = time.perf_counter() - started
    await database.close()
    return read, write, word, len(data)


async def _echo(updates: int) -> float:
    """Seconds for the bare echo app to answer `updates` messages of BRANCHES users."""
    fake = FakeTelegram(token=OFFLINE_TOKEN)
    for user_id in range(1, BRANCHES + 1):
        fake.add_user(user_id)
    return await _time(_baseline(fake), fake, updates, ours=False)


async def run() -> None:
    """Print the logging and export figures."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "meetings.sqlite3"
        await _register(path)
        # The echo runs before and after the bot's minute (the mean): a loaded machine's load
        # drifts, and one side alone would carry the drift.
        before = await _echo(STEPS_COUNT * RECORDS_EACH * BRANCHES)
        elapsed, updates, saved = await _log_through_the_bot(path)
        bare = (before + await _echo(updates)) / 2
        read, write, word, size = await _ledger(Path(folder) / "ledger.sqlite3")
    records = BRANCHES * RECORDS_EACH
    print(
        f"\nLogging: {records} 党员大会 for {BRANCHES} branches through /log ({updates} updates)"
    )
    print(f"  records saved     : {saved} (expected {records})")
    print(f"  total             : {elapsed:.2f} s, {elapsed / records * 1000:.1f} ms per record")
    per_update, per_echo = elapsed / updates * 1000, bare / updates * 1000
    ratio = elapsed / bare
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"  per update        : {per_update:.2f} ms (bare PTB echo {per_echo:.2f} ms, "
          f"ratio {ratio:.2f}x; target <= {TARGET_RATIO:.1f}x: {verdict})")  # fmt: skip
    print(f"Ledger export: {LEDGER_RECORDS} records of one year")
    print(f"  read from SQLite  : {read * 1000:.0f} ms")
    print(f"  Excel written     : {write * 1000:.0f} ms, {size / 1024:.0f} KiB  (target < 2 s)")
    print(f"  one Word record   : {word * 1000:.0f} ms")
