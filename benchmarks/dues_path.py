"""党费 for a 50-member branch: the taps a secretary needs to mark a month (everyone paid but
three), and the time /dues takes through the real bot against a bare python-telegram-bot echo
in the same run (both polling the in-process emulator, from the message to the reply).

The path: /dues → 全部已交 → 撤销已交 → the three who did not pay (the next page when one is
on it). The stored rows are checked, so the count is of a path that works.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from benchmarks.running import running_bot, timed
from bot.app import OFFLINE_TOKEN
from bot.emulator.core import FakeTelegram
from bot.emulator.request import EmulatorRequest
from db import Database, dues, members, repo
from db.models import BranchProfile, MemberInfo

MEMBERS = 50
SECRETARY = 1001
UNPAID = (7, 33, 48)  # the members (by roster place) who did not pay this month
TARGET_TAPS = 12  # issue 17
ROUNDS = 30


async def _world(path: Path) -> int:
    """One branch of MEMBERS formal members, each with an amount."""
    database = Database(path)
    await database.open()
    profile = BranchProfile(
        "支部", "协会", "trade_association", "single", MEMBERS, 0, True, False, 15
    )
    branch, _ = await repo.create_branch(
        database, user_id=SECRETARY, profile=profile, draft_key="b"
    )
    month = date.today().replace(day=1)
    for n in range(MEMBERS):
        member = await members.add(
            database,
            user_id=SECRETARY,
            branch_id=branch.id,
            info=MemberInfo(f"党员{n:02d}", "formal", date(2015, 1, 1)),
        )
        await dues.set_rate(
            database, user_id=SECRETARY, branch_id=branch.id, member_id=member.id,
            amount_fen=1000 + 50 * n, basis="fixed", quarterly=False, month=month,
        )  # fmt: skip
    await database.close()
    return branch.id


def _buttons(fake: FakeTelegram) -> list[str]:
    for message in reversed(fake.bot_messages(SECRETARY)):
        markup = message.get("reply_markup")
        if markup:
            return [b["text"] for row in markup["inline_keyboard"] for b in row]
    return []


async def _marking(path: Path, branch_id: int) -> tuple[int, int, float, list[float]]:
    """(taps, typed messages, seconds) to mark the month (the stored rows are checked), then
    the times of /dues on the marked month (one bot: its inbox knows the emulator's ids)."""
    fake = FakeTelegram(token=OFFLINE_TOKEN)
    fake.add_user(SECRETARY)
    taps = 0
    async with running_bot(path, fake) as application:

        async def tap(label: str) -> None:
            nonlocal taps
            done = application.updates_done + 1
            fake.tap_button(SECRETARY, label)
            taps += 1
            await application.wait_for_updates(done, timeout=60)

        started = time.perf_counter()
        await timed(application, fake, SECRETARY, "/dues")
        await tap(next(b for b in _buttons(fake) if b.startswith("✅ 全部已交")))
        await tap(next(b for b in _buttons(fake) if b.startswith("↩️ 撤销已交")))
        for n in UNPAID:
            name = f"党员{n:02d}"
            while not any(b.startswith(f"↩️ {name} ") for b in _buttons(fake)):
                await tap("下一页 ➡️")
            await tap(next(b for b in _buttons(fake) if b.startswith(f"↩️ {name} ")))
        seconds = time.perf_counter() - started
        paid = (await dues.payments(application.database, [branch_id])).get(branch_id, [])
        times = [await timed(application, fake, SECRETARY, "/dues") for _ in range(ROUNDS)]
    names = {p.name for p in paid}
    assert len(paid) == MEMBERS - len(UNPAID), len(paid)
    assert not names & {f"党员{n:02d}" for n in UNPAID}
    return taps, 1, seconds, times


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await update.message.reply_text(update.message.text or "")


async def _echo_times() -> list[float]:
    """The bare echo's round trip, measured the way /dues is (message → reply handled)."""
    fake = FakeTelegram(token=OFFLINE_TOKEN)
    fake.add_user(SECRETARY)
    application = (
        ApplicationBuilder()
        .token(OFFLINE_TOKEN)
        .request(EmulatorRequest(fake))
        .get_updates_request(EmulatorRequest(fake))
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, _echo))
    replied = asyncio.Event()

    def on_reply(event: str, message: dict[str, object]) -> None:
        if event == "new":
            replied.set()

    fake.subscribe(on_reply)
    times = []
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(allowed_updates=Update.ALL_TYPES, timeout=1)
        await application.start()
        for _ in range(ROUNDS):
            replied.clear()
            started = time.perf_counter()
            fake.send_text(SECRETARY, "/dues")
            await asyncio.wait_for(replied.wait(), 60)
            times.append(time.perf_counter() - started)
        await application.updater.stop()
        await application.stop()
    return times


async def run() -> None:
    """Print the taps to mark a 50-member month and /dues' time against the echo."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "dues.sqlite3"
        branch_id = await _world(path)
        taps, typed, seconds, times = await _marking(path, branch_id)
        echo = statistics.median(await _echo_times())
        ours = statistics.median(times)
    verdict = "met" if taps <= TARGET_TAPS else "NOT met"
    print(f"\n党费 /dues: a {MEMBERS}-member month, {len(UNPAID)} did not pay")
    print(f"  taps to mark the month: {taps} (+{typed} typed /dues) in {seconds:.2f} s "
          f"(target <= {TARGET_TAPS} taps: {verdict})")  # fmt: skip
    print(f"  /dues through the bot: median {ours * 1000:.1f} ms; bare PTB echo "
          f"{echo * 1000:.1f} ms; ratio {ours / echo:.2f}x")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(run())
