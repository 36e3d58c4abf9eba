"""The outbox and its delivery, through the real Application against the emulator."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.request import RequestData

from bot import jobs
from bot.app import OFFLINE_TOKEN, build_application
from bot.config import Config, StorageConfig, TelegramConfig
from bot.delivery import JOB_NAME, Deliverer
from bot.emulator.core import NETWORK_ERROR, TIMED_OUT, FakeTelegram
from bot.emulator.request import EmulatorRequest
from bot.pacing import Pacing
from db import outbox
from db.outbox import OutboxMessage
from tests.conftest import OTHER, SECRETARY, Harness

# Every RetryAfter that python-telegram-bot 22 builds warns that retry_after becomes a timedelta.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
NOW = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)
TEXT = "<b>提醒</b>：本季度党员大会尚未召开"


def message(
    key: str,
    chat_id: int = SECRETARY,
    *,
    text: str = TEXT,
    at: datetime = NOW,
    expires_at: datetime | None = None,
    branch_id: int | None = None,
    buttons: tuple[tuple[tuple[str, str], ...], ...] = (),
) -> OutboxMessage:
    """An outbox row due at `at`."""
    return OutboxMessage(
        key=key,
        branch_id=branch_id,
        chat_id=chat_id,
        text=text,
        not_before=at,
        buttons=buttons,
        expires_at=expires_at,
    )


def quiet(harness: Harness) -> Harness:
    """Without the app's own reminder jobs: each test drives its own deliverer."""
    config = harness.config
    harness.config = msgspec.structs.replace(
        config, bot=msgspec.structs.replace(config.bot, reminders=False)
    )
    return harness


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Harness]:
    """A started bot (no reminder jobs of its own) on a fresh database."""
    h = quiet(Harness(tmp_path / "bot.sqlite3"))
    await h.start()
    yield h
    if h.app is not None:
        await h.stop()


def deliverer(
    h: Harness, chat_interval: float = 0, per_second: float | None = None, **options: Any
) -> Deliverer:
    """A deliverer for the harness's app (and its clock); no pacing of its own unless asked."""
    assert h.app is not None
    pacing = msgspec.structs.replace(
        h.config.pacing, chat_interval=chat_interval, per_second=per_second
    )
    return Deliverer(h.app, pacing=pacing, **options)


def texts(h: Harness, chat: int) -> list[str]:
    """The bot's messages in a chat, as sent (HTML)."""
    return [m["text"] for m in h.fake.bot_messages(chat)]


async def drain(d: Deliverer, start: datetime = NOW, step: float = 601, runs: int = 30) -> int:
    """Run until nothing is pending, each run `step` seconds later; returns how many runs."""
    for n in range(runs):
        await d.run_once(start + timedelta(seconds=step * n))
        if (await outbox.counts(d.database))["pending"] == 0:
            return n + 1
    raise AssertionError("rows still pending")


async def test_enqueue_twice_keeps_one_row(bot: Harness) -> None:
    assert bot.app is not None
    db = bot.app.database
    rows = [message("k:1"), message("k:2", OTHER), message("k:1")]
    assert await outbox.enqueue(db, rows) == 2
    assert await outbox.enqueue(db, rows) == 0
    assert await outbox.enqueue(db, []) == 0
    assert (await outbox.counts(db))["pending"] == 2
    with pytest.raises(ValueError, match="timezone-aware"):
        await outbox.enqueue(db, [message("k:3", at=datetime(2026, 10, 1, 9))])


async def test_delivered_once_and_marked_sent(bot: Harness) -> None:
    assert bot.app is not None
    db = bot.app.database
    buttons = ((("去登记", "log:new:member_meeting"),), (("3 天后", "rm:sz:1:x:3"), ("7 天", "z")))
    await outbox.enqueue(db, [message("k:1", buttons=buttons)])
    d = deliverer(bot)
    early = await d.run_once(NOW - timedelta(minutes=1))
    assert early.sent == 0
    assert texts(bot, SECRETARY) == []

    stats = await d.run_once(NOW)
    assert (stats.sent, stats.retried, stats.failed, stats.blocked, stats.expired) == (
        1,
        0,
        0,
        0,
        0,
    )
    sent = bot.fake.bot_messages(SECRETARY)
    assert [m["text"] for m in sent] == [TEXT]
    assert sent[0]["parse_mode"] == "HTML"
    keyboard = sent[0]["reply_markup"]["inline_keyboard"]
    assert [[b["callback_data"] for b in row] for row in keyboard] == [
        ["log:new:member_meeting"],
        ["rm:sz:1:x:3", "z"],
    ]
    row = await outbox.by_key(db, "k:1")
    assert row is not None
    assert (row.state, row.message_id, row.sent_at) == ("sent", sent[0]["message_id"], NOW)
    assert row.buttons == buttons

    again = await d.run_once(NOW + timedelta(hours=1))
    assert again.sent == 0
    assert len(texts(bot, SECRETARY)) == 1


async def test_restart_between_enqueue_and_send(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    first = quiet(Harness(path))
    await first.start()
    assert first.app is not None
    await outbox.enqueue(first.app.database, [message("k:1"), message("k:2", OTHER)])
    await first.stop()

    for _ in range(2):  # the second start finds everything sent and sends nothing
        again = quiet(Harness(path, first.fake))
        await again.start()
        await deliverer(again).run_once(NOW)
        await again.stop()
    assert texts(first, SECRETARY) == [TEXT]
    assert texts(first, OTHER) == [TEXT]


@pytest.mark.parametrize("error_code", [NETWORK_ERROR, TIMED_OUT, 502, 500])
async def test_api_down_for_a_while(bot: Harness, error_code: int) -> None:
    assert bot.app is not None
    db = bot.app.database
    chats = [SECRETARY, OTHER, 3003]
    bot.fake.add_user(3003)
    await outbox.enqueue(db, [message(f"k:{chat}", chat) for chat in chats])
    bot.fake.fail_next("sendMessage", error_code=error_code, description="Bad Gateway", times=5)
    d = deliverer(bot)

    first = await d.run_once(NOW)
    assert first.sent == 0, "the first failure stops the run: the API is down for everyone"
    assert first.retried == 1
    row = await outbox.by_key(db, f"k:{SECRETARY}")
    assert row is not None
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.not_before == NOW + timedelta(seconds=2)
    assert row.last_error

    await drain(d)
    for chat in chats:
        assert texts(bot, chat) == [TEXT]
    assert (await outbox.counts(db))["sent"] == 3


async def test_gives_up_after_max_attempts(bot: Harness) -> None:
    assert bot.app is not None
    db = bot.app.database
    await outbox.enqueue(db, [message("k:1")])
    bot.fake.fail_next("sendMessage", error_code=502, description="Bad Gateway", times=10)
    d = deliverer(bot, max_attempts=3)
    await drain(d)
    row = await outbox.by_key(db, "k:1")
    assert row is not None
    assert (row.state, row.attempts) == ("failed", 3)
    assert texts(bot, SECRETARY) == []


async def test_retry_after_is_honoured(bot: Harness) -> None:
    assert bot.app is not None
    db = bot.app.database
    await outbox.enqueue(db, [message("k:1")])
    bot.fake.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
        times=2,
    )
    d = deliverer(bot, waits_in_place=1)
    clock = bot.config.pacing
    started = clock.now()
    first = await d.run_once(NOW)
    # The first 429 is waited out in place (on the bot's clock, which runs fast here), the second
    # puts the row back for a later run.
    assert clock.now() - started >= 1
    assert (first.sent, first.retried) == (0, 2)
    row = await outbox.by_key(db, "k:1")
    assert row is not None
    assert row.attempts == 0, "a 429 is not a failed attempt"
    assert row.not_before == NOW + timedelta(seconds=1)
    assert (await d.run_once(NOW + timedelta(milliseconds=500))).sent == 0

    second = await d.run_once(NOW + timedelta(seconds=1))
    assert second.sent == 1
    assert texts(bot, SECRETARY) == [TEXT]


async def test_429_storm_through_the_rate_limiter(tmp_path: Path) -> None:
    # On the real clock: python-telegram-bot's rate limiter waits out retry_after in real time.
    h = quiet(Harness(tmp_path / "bot.sqlite3", pacing=Pacing()))
    h.config = msgspec.structs.replace(
        h.config, telegram=msgspec.structs.replace(h.config.telegram, rate_limit=True)
    )
    chats = list(range(5001, 5009))
    for chat in chats:
        h.fake.add_user(chat)
    await h.start()
    try:
        assert h.app is not None
        await outbox.enqueue(h.app.database, [message(f"k:{chat}", chat) for chat in chats])
        # Telegram allows far less than the 30 per second the rate limiter aims at.
        h.fake.set_flood_limit(per_second=4)
        stats = await deliverer(h).run_once(NOW)
        assert stats.sent == len(chats)
        assert h.fake.flood_refusals >= 1, "the storm did happen"
        for chat in chats:
            assert texts(h, chat) == [TEXT]
    finally:
        await h.stop()


async def test_blocked_chat_is_held_and_resumed(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    assert bot.app is not None
    db = bot.app.database
    bot.fake.block(OTHER)
    await outbox.enqueue(
        db,
        [
            message("k:o1", OTHER, text="第一条"),
            message("k:s1", SECRETARY),
            message("k:o2", OTHER, text="第二条"),
        ],
    )
    d = deliverer(bot)
    with caplog.at_level(logging.DEBUG):
        stats = await d.run_once(NOW)
    assert (stats.sent, stats.blocked) == (1, 2)
    assert texts(bot, SECRETARY) == [TEXT]
    assert texts(bot, OTHER) == []
    assert await outbox.is_blocked(db, OTHER)
    states = await outbox.counts(db)
    assert (states["blocked"], states["sent"]) == (2, 1)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot"))
    assert "Chat 2002" in ours
    assert "第一条" not in ours and "提醒" not in ours, "no texts in the logs"

    # A row decided later for that chat waits too.
    await outbox.enqueue(db, [message("k:o3", OTHER, text="第三条")])
    assert (await d.run_once(NOW + timedelta(minutes=1))).sent == 0

    bot.fake.unblock(OTHER)
    assert await outbox.unblock(db, OTHER) == 2
    assert not await outbox.is_blocked(db, OTHER)
    assert (await d.run_once(NOW + timedelta(minutes=2))).sent == 3
    assert texts(bot, OTHER) == ["第一条", "第二条", "第三条"]


async def test_chat_not_found_fails_only_that_row(bot: Harness) -> None:
    assert bot.app is not None
    db = bot.app.database
    await outbox.enqueue(db, [message("k:gone", 99999), message("k:ok")])
    stats = await deliverer(bot).run_once(NOW)
    assert (stats.sent, stats.failed) == (1, 1)
    row = await outbox.by_key(db, "k:gone")
    assert row is not None
    assert row.state == "failed"
    assert row.last_error is not None and "chat not found" in row.last_error.lower()


async def test_expired_row_is_missed_never_sent(bot: Harness) -> None:
    assert bot.app is not None
    db = bot.app.database
    branch = await bot.register()
    deadline = NOW + timedelta(hours=2)
    await outbox.enqueue(
        db,
        [
            message("k:late", expires_at=deadline, branch_id=branch.id),
            message("k:other", OTHER, expires_at=deadline + timedelta(days=1)),
        ],
    )
    d = deliverer(bot)
    stats = await d.run_once(deadline)
    assert (stats.expired, stats.sent) == (1, 1)
    assert texts(bot, SECRETARY) == []
    assert texts(bot, OTHER) == [TEXT]
    found = await outbox.missed(db, branch.id, NOW - timedelta(days=1))
    assert [row.key for row in found] == ["k:late"]
    assert found[0].state == "missed"
    assert await outbox.missed(db, branch.id, deadline + timedelta(seconds=1)) == []
    local = deadline.astimezone(bot.config.bot.tzinfo)
    assert [row.key for row in await outbox.missed(db, branch.id, local)] == ["k:late"]
    assert (await d.run_once(deadline + timedelta(days=3))).sent == 0


async def test_cancel_by_prefix(bot: Harness) -> None:
    assert bot.app is not None
    db = bot.app.database
    prefix = "ob:1:member_meeting:2026-10-01:"
    keys = [
        f"{prefix}lead7:{SECRETARY}",
        f"{prefix}lead2:{SECRETARY}",
        "ob:1:memberXmeeting:2026-10-01:lead7:1001",  # `_` is not a wildcard
        "ob:1:MEMBER_MEETING:2026-10-01:lead7:1001",  # nor is case ignored
        "ob:12:member_meeting:2026-10-01:lead7:1001",
        "ob:1:member_meeting:2026-10-01",  # shorter than the prefix
    ]
    await outbox.enqueue(db, [message(key) for key in keys])
    blocked = f"{prefix}lead7:{OTHER}"
    await outbox.enqueue(db, [message(blocked, OTHER)])
    await outbox.mark_blocked(db, OTHER, NOW)
    assert await outbox.cancel(db, prefix) == 3
    assert await outbox.cancel(db, prefix) == 0
    states = {key: (await outbox.by_key(db, key)).state for key in [*keys, blocked]}  # type: ignore[union-attr]
    assert [states[k] for k in keys] == ["cancelled"] * 2 + ["pending"] * 4
    assert states[blocked] == "cancelled", "a held row must not come back after unblocking"
    assert await outbox.cancel(db, "%") == 0
    with pytest.raises(ValueError):
        await outbox.cancel(db, "")
    stats = await deliverer(bot).run_once(NOW)
    assert stats.sent == 4


async def test_rows_done_long_ago_are_pruned_the_rest_kept(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert bot.app is not None
    db = bot.app.database
    monkeypatch.setattr(outbox, "PRUNE_CHUNK", 2)  # several chunks of each state
    old, recent = NOW - jobs.OUTBOX_KEEP - timedelta(days=1), datetime.now(UTC)
    await outbox.enqueue(db, [message(f"old:{n}", SECRETARY, at=old) for n in range(9)])
    await outbox.enqueue(db, [message("old:blocked", OTHER, at=old)])
    await outbox.enqueue(db, [message(f"new:{n}", SECRETARY, at=recent) for n in range(4)])
    # Old: 5 sent, 1 missed, 1 cancelled, 1 failed, 1 left pending (a deliverer's business),
    # and one held for a chat that blocked the bot. New: one of each done state.
    ids = {row["key"]: row["id"] for row in await db.fetchall("SELECT id, key FROM outbox")}
    for key in ("old:0", "old:1", "old:2", "old:3", "old:4", "new:0"):
        await outbox.mark_sent(db, ids[key], 1, NOW)
    for key in ("old:5", "new:1"):
        await outbox.mark_failed(db, ids[key], "chat not found")
    async with db.transaction() as conn:
        await conn.execute("UPDATE outbox SET state = 'missed' WHERE key IN ('old:6', 'new:2')")
    await outbox.cancel(db, "old:7")
    await outbox.cancel(db, "new:3")
    await outbox.mark_blocked(db, OTHER, NOW)
    await jobs.prune(bot.app)
    left = {row["key"]: row["state"] for row in await db.fetchall("SELECT key, state FROM outbox")}
    assert left == {
        "old:8": "pending", "old:blocked": "blocked",
        "new:0": "sent", "new:1": "failed", "new:2": "missed", "new:3": "cancelled",
    }  # fmt: skip
    await jobs.prune(bot.app)  # again: nothing more goes
    assert len(await db.fetchall("SELECT key FROM outbox")) == 6


async def test_order_within_one_chat(bot: Harness) -> None:
    assert bot.app is not None
    db = bot.app.database
    await outbox.enqueue(
        db,
        [
            message("k:c", text="三", at=NOW + timedelta(seconds=1)),
            message("k:a", text="一"),
            message("k:b", text="二"),
            message("k:x", OTHER, text="别的"),
            message("k:d", text="四", at=NOW + timedelta(seconds=1)),
        ],
    )
    # The first send fails: the chat's later rows wait behind it instead of overtaking it.
    bot.fake.fail_next("sendMessage", error_code=502, description="Bad Gateway")
    await drain(bot_deliverer := deliverer(bot, concurrency=4), NOW + timedelta(seconds=1))
    assert texts(bot, SECRETARY) == ["一", "二", "三", "四"]
    assert texts(bot, OTHER) == ["别的"]
    assert (await outbox.counts(bot_deliverer.database))["sent"] == 5


async def test_one_chat_is_paced_others_go_meanwhile(bot: Harness) -> None:
    assert bot.app is not None
    bot.fake.add_user(3003)
    arrivals: list[tuple[int, float]] = []
    clock = bot.config.pacing
    bot.fake.subscribe(
        lambda event, m: (
            arrivals.append((m["chat"]["id"], clock.now())) if event == "new" else None
        )
    )
    rows = [message(f"k:s{n}", text=str(n)) for n in range(3)]
    rows += [message(f"k:o{n}", OTHER, text=str(n)) for n in range(2)]
    rows.append(message("k:t", 3003))
    await outbox.enqueue(bot.app.database, rows)
    # Telegram's one message a second per chat, on the fast clock.
    stats = await deliverer(bot, chat_interval=1.0, concurrency=2).run_once(NOW)
    assert stats.sent == 6
    assert texts(bot, SECRETARY) == ["0", "1", "2"]
    mine = [at for chat, at in arrivals if chat == SECRETARY]
    assert all(b - a >= 0.99 for a, b in itertools.pairwise(mine))
    # The third chat did not wait for the first one's pauses.
    assert next(at for chat, at in arrivals if chat == 3003) < mine[1]


class SteppedPacing(Pacing, frozen=True):
    """A fake clock that moves only when the bot sleeps: spacing is exact whatever the load."""

    elapsed: list[float] = msgspec.field(default_factory=lambda: [0.0])

    def now(self) -> float:
        """The clock seconds slept so far."""
        return self.elapsed[0]

    async def sleep(self, seconds: float) -> None:
        """Move the clock on at once, then let the other tasks run."""
        self.elapsed[0] += max(seconds, 0.0)
        await asyncio.sleep(0)


async def test_sends_are_spaced_evenly(bot: Harness) -> None:
    assert bot.app is not None
    chats = list(range(8001, 8011))
    for chat in chats:
        bot.fake.add_user(chat)
    clock = SteppedPacing(chat_interval=0, per_second=20)
    arrivals: list[float] = []
    bot.fake.subscribe(lambda event, m: arrivals.append(clock.now()))
    await outbox.enqueue(bot.app.database, [message(f"k:{chat}", chat) for chat in chats])
    # One send at a time: the fake clock cannot tell apart tasks that sleep at once.
    d = Deliverer(bot.app, pacing=clock, concurrency=1)
    assert (await d.run_once(NOW)).sent == len(chats)
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) >= 0.045, "no bursts: one send every 1/20 s"
    assert arrivals[-1] - arrivals[0] < 0.45 + 0.2


async def test_job_and_wake(bot: Harness) -> None:
    assert bot.app is not None and bot.app.job_queue is not None
    db = bot.app.database
    now = datetime.now(UTC)
    await outbox.enqueue(db, [message("k:1", at=now)])
    d = deliverer(bot)
    d.start(bot.app.job_queue, interval=60)
    assert [job.name for job in bot.app.job_queue.get_jobs_by_name(JOB_NAME)] == [JOB_NAME]

    async def until_sent(count: int) -> None:
        async with asyncio.timeout(10):
            while (await outbox.counts(db))["sent"] < count:
                await asyncio.sleep(0.01)

    await until_sent(1)
    await outbox.enqueue(db, [message(f"k:w{n}", OTHER, at=now) for n in range(3)])
    for _ in range(3):  # several wakes, one run at a time
        await d.wake()
    await until_sent(4)
    await asyncio.sleep(0.1)
    assert texts(bot, SECRETARY) == [TEXT]
    assert len(texts(bot, OTHER)) == 3


async def test_two_deliverers_never_send_twice(bot: Harness) -> None:
    assert bot.app is not None
    chats = list(range(6001, 6041))
    for chat in chats:
        bot.fake.add_user(chat)
    await outbox.enqueue(bot.app.database, [message(f"k:{chat}", chat) for chat in chats])
    first, second = deliverer(bot), deliverer(bot)
    results = await asyncio.gather(first.run_once(NOW), second.run_once(NOW))
    assert sum(stats.sent for stats in results) == len(chats)
    assert all(len(texts(bot, chat)) == 1 for chat in chats)


class MigratingRequest(EmulatorRequest):
    """Answers sends to one group as Telegram does after it became a supergroup."""

    def __init__(self, fake: FakeTelegram, old: int, new: int) -> None:
        super().__init__(fake)
        self.old, self.new = old, new

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """A 400 with migrate_to_chat_id for the old group."""
        params = request_data.parameters if request_data is not None else {}
        if url.endswith("/sendMessage") and params.get("chat_id") == self.old:
            body = {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: group chat was upgraded to a supergroup chat",
                "parameters": {"migrate_to_chat_id": self.new},
            }
            return 400, json.dumps(body).encode()
        return await super().do_request(url, method, request_data)


async def test_group_upgraded_to_supergroup(tmp_path: Path) -> None:
    old, new = -4001, -1002000004001
    fake = FakeTelegram(token=OFFLINE_TOKEN)
    fake.add_group(old, "支部群")
    fake.add_group(new, "支部群")
    config = Config(
        telegram=TelegramConfig(token=OFFLINE_TOKEN, rate_limit=False),
        storage=StorageConfig(database=str(tmp_path / "bot.sqlite3")),
    )
    application = build_application(config, request=MigratingRequest(fake, old, new))
    async with application:
        db = application.database
        await outbox.enqueue(db, [message("k:1", old, text="一"), message("k:2", old, text="二")])
        stats = await Deliverer(application, pacing=Pacing(chat_interval=0)).run_once(NOW)
        assert stats.sent == 2
    assert [m["text"] for m in fake.bot_messages(new)] == ["一", "二"]
    assert fake.bot_messages(old) == []


async def test_stopping_mid_fan_out_then_resuming(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    chats = list(range(7001, 7061))
    # On the real clock: python-telegram-bot's rate limiter paces in real time too.
    first = quiet(Harness(path, pacing=Pacing()))
    first.config = msgspec.structs.replace(
        first.config, telegram=msgspec.structs.replace(first.config.telegram, rate_limit=True)
    )
    for chat in chats:
        first.fake.add_user(chat)
    await first.start()
    assert first.app is not None and first.app.job_queue is not None
    db = first.app.database
    await outbox.enqueue(db, [message(f"k:{chat}", chat, at=datetime.now(UTC)) for chat in chats])
    deliverer(first, per_second=29).start(first.app.job_queue)
    async with asyncio.timeout(30):  # 29 messages per second: stopped a third of the way
        while sum(1 for chat in chats if texts(first, chat)) < 20:
            await asyncio.sleep(0.01)
    started = time.monotonic()
    await first.stop()  # what SIGTERM does
    assert time.monotonic() - started < 1, "a stop does not wait for the whole fan-out"
    delivered = [chat for chat in chats if texts(first, chat)]
    assert 10 < len(delivered) < len(chats)

    again = quiet(Harness(path, first.fake))
    again.config = first.config
    await again.start()
    try:
        assert again.app is not None
        assert (await outbox.counts(again.app.database))["sent"] == len(delivered)
        await deliverer(again).run_once()
        assert all(texts(again, chat) == [TEXT] for chat in chats)
    finally:
        await again.stop()
