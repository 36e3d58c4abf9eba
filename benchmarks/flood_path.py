"""One flooder against everyone else: the others' reply times with and without the flooder.

`python -m benchmarks.flood_path` (FLOOD_SECONDS=10 per run). 30 users each send /help every 2 s
(15 a second in all) while, in the flooded runs, one more user sends /help 20 times a second.
The bot runs as deployed: python-telegram-bot's AIORateLimiter against the emulator enforcing
Telegram's limits (30 messages a second per bot, about one a second per chat, 429 above them),
so every reply the flooder got would come out of the others' budget. The runs alternate
(without, with) so that machine noise falls on both; the figure is the others' p99 reply time
with the flooder against without, over all rounds' replies (target: within 20%). For scale: the
same load on the bare python-telegram-bot echo (rate limited the same way), and the bot with
flood control switched off, where the flooder's replies draw 429s that pause every send.
"""

from __future__ import annotations

import asyncio
import math
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, MessageHandler, filters

from benchmarks.help_path import _echo
from bot import flood
from bot.app import OFFLINE_TOKEN, build_application, post_init
from bot.config import BotConfig, Config, StorageConfig, TelegramConfig
from bot.emulator.core import FakeTelegram
from bot.emulator.request import EmulatorRequest
from bot.knowledge import search

DURATION = float(os.environ.get("FLOOD_SECONDS", "10"))
USERS = 30
EVERY = 2.0  # seconds between one user's messages
FLOODER = 999
FLOOD_RATE = 20  # messages a second
ROUNDS = 3
TARGET = 1.20
GIVE_UP = 10.0  # seconds without a reply count as no reply (only with flood control off)
PER_SECOND = 30  # Telegram's limit for one bot


def _fake() -> FakeTelegram:
    fake = FakeTelegram(token=OFFLINE_TOKEN)
    for user_id in (*range(1, USERS + 1), FLOODER):
        fake.add_user(user_id)
    fake.set_flood_limit(per_second=PER_SECOND)
    return fake


def _bot(fake: FakeTelegram, database: Path, *, flood_control: bool = True) -> Application:
    config = Config(
        telegram=TelegramConfig(token=OFFLINE_TOKEN, rate_limit=True),
        storage=StorageConfig(database=str(database)),
        bot=BotConfig(reminders=False),
    )
    application = build_application(
        config, request=EmulatorRequest(fake), get_updates_request=EmulatorRequest(fake)
    )
    if not flood_control:
        flood.unlimited(application)
    return application


def _echo_app(fake: FakeTelegram) -> Application:
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


async def _user(fake: FakeTelegram, user_id: int, replies: dict[int, asyncio.Queue[float]],
                offset: float, deadline: float) -> list[float]:  # fmt: skip
    """Send /help every EVERY seconds (waiting for each reply); the reply times."""
    loop = asyncio.get_running_loop()
    times: list[float] = []
    await asyncio.sleep(offset)
    while loop.time() < deadline:
        sent = loop.time()
        fake.send_text(user_id, "/help")
        try:
            arrived = await asyncio.wait_for(replies[user_id].get(), GIVE_UP)
        except TimeoutError:
            arrived = math.inf
        times.append(arrived - sent)
        await asyncio.sleep(max(0.0, sent + EVERY - loop.time()))
    return times


async def _flooder(fake: FakeTelegram, deadline: float) -> int:
    loop = asyncio.get_running_loop()
    sent = 0
    started = loop.time()
    while loop.time() < deadline:
        fake.send_text(FLOODER, "/help")
        sent += 1
        await asyncio.sleep(max(0.0, started + sent / FLOOD_RATE - loop.time()))
    return sent


async def _run(application: Application, fake: FakeTelegram, *, ours: bool, flooding: bool,
               duration: float = DURATION) -> tuple[list[float], int, int]:  # fmt: skip
    """The others' reply times (seconds); the flooder's messages and the replies it got."""
    loop = asyncio.get_running_loop()
    replies: dict[int, asyncio.Queue[float]] = {u: asyncio.Queue() for u in range(1, USERS + 1)}
    flooder_replies = 0

    def on_message(event: str, message: dict[str, Any]) -> None:
        nonlocal flooder_replies
        chat = message["chat"]["id"]
        if event != "new":
            return
        if chat == FLOODER:
            flooder_replies += 1
        elif chat in replies:
            replies[chat].put_nowait(loop.time())

    async with application:
        if ours:
            await post_init(application)
        assert application.updater is not None
        await application.start()
        await application.updater.start_polling(timeout=1)
        fake.subscribe(on_message)
        deadline = loop.time() + duration
        users = [
            _user(fake, u, replies, offset=EVERY * u / USERS, deadline=deadline)
            for u in range(1, USERS + 1)
        ]
        flooder = asyncio.create_task(_flooder(fake, deadline)) if flooding else None
        per_user = await asyncio.gather(*users)
        sent = await flooder if flooder is not None else 0
        fake.unsubscribe(on_message)
        await application.updater.stop()
        await application.stop()
    times = [t for user_times in per_user for t in user_times]
    return times, sent, flooder_replies


def p99(times: list[float]) -> float:
    """The 99th percentile."""
    return statistics.quantiles(times, n=100)[98]


async def run() -> None:
    """Print the flood figures."""
    without: list[float] = []
    with_flooder: list[float] = []
    refusals = 0
    flood_sent = flood_answered = 0
    # The question index is built once per process; not inside the first measured round.
    search.warm_up()
    with tempfile.TemporaryDirectory() as folder:
        for round_no in range(ROUNDS):
            fake = _fake()
            app = _bot(fake, Path(folder) / f"calm{round_no}.sqlite3")
            times, _, _ = await _run(app, fake, ours=True, flooding=False)
            without.extend(times)
            fake = _fake()
            app = _bot(fake, Path(folder) / f"flood{round_no}.sqlite3")
            times, flood_sent, flood_answered = await _run(app, fake, ours=True, flooding=True)
            with_flooder.extend(times)
            refusals += fake.flood_refusals
        fake = _fake()
        echo_times, _, _ = await _run(_echo_app(fake), fake, ours=False, flooding=False)
        fake = _fake()
        app = _bot(fake, Path(folder) / "off.sqlite3", flood_control=False)
        # A shorter run: it only shows the stalls, which last long enough anyway.
        off_times, _, off_answered = await _run(
            app, fake, ours=True, flooding=True, duration=DURATION / 3
        )
    calm, flooded = p99(without), p99(with_flooder)
    print(
        f"\nFlood control: {USERS} users each sending /help every {EVERY:.0f} s for "
        f"{DURATION:.0f} s, Telegram's limits enforced; {ROUNDS} rounds of each, pooled"
    )
    print(f"  bare PTB echo, no flooder      : p99 {p99(echo_times) * 1000:7.1f} ms")
    print(
        f"  others' p99 without flooder    : {calm * 1000:7.1f} ms  "
        f"(median {statistics.median(without) * 1000:.1f} ms, {len(without)} replies)"
    )
    print(
        f"  others' p99 with the flooder   : {flooded * 1000:7.1f} ms  "
        f"(median {statistics.median(with_flooder) * 1000:.1f} ms; "
        f"flooder sent {flood_sent} at {FLOOD_RATE}/s, got {flood_answered} replies; "
        f"{refusals} answers 429)"
    )
    print(f"  ratio with / without           : {flooded / calm:.2f}x   (target <= {TARGET:.2f}x)")
    lost = sum(1 for t in off_times if math.isinf(t))
    print(f"  difference                     : {(flooded - calm) * 1000:+.1f} ms")
    shown = f"{p99(off_times) * 1000:7.1f} ms" if not lost else f"> {GIVE_UP:.0f} s"
    print(
        f"  flood control off, with flooder: p99 {shown}  "
        f"(flooder got {off_answered} replies; {lost} of the others' unanswered "
        f"in {GIVE_UP:.0f} s)"
    )


if __name__ == "__main__":
    started = time.perf_counter()
    asyncio.run(run())
    print(f"  ({time.perf_counter() - started:.0f} s)")
