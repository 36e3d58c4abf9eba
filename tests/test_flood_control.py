"""Flood control end to end: the excess of a flooding user or group is dropped before any handler,
the flooder is told once per episode, everyone else is served; the clock is the test's."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from bot.emulator.html import parse_html
from bot.flood import ADMIN, GROUP_CHAT, NOTICE_GAP, USER
from bot.texts import render
from db import Database, admins, inbox
from tests.conftest import OTHER, SECRETARY, Harness

NOTICE = "⏳ 操作太快了，请稍等。刚才多发的消息没有处理，过一会儿请重新发送。"
HELP = parse_html(render("help", topic="home"))
FIRST_QUESTION = "支部的全称是什么？"
GROUP = -100700
MEMBER = 3000


async def _conversations(harness: Harness, user_id: int) -> list[str]:
    """The open forms of the user (what a processed /start would leave)."""
    assert harness.app is not None
    rows = await harness.app.database.fetchall(
        "SELECT form FROM form_state WHERE user_id = ?", (user_id,)
    )
    return [row["form"] for row in rows]


async def _use_up(harness: Harness, count: float, user: int = SECRETARY) -> None:
    """Send `count` /help at one instant; every one of them is answered."""
    for _ in range(int(count)):
        assert await harness.send("/help", user=user) == [HELP]


async def test_flooder_is_told_once_and_the_excess_never_reaches_a_handler(
    harness: Harness,
) -> None:
    harness.clock.step = 0
    await _use_up(harness, USER.burst)
    # Dropped without a word right after the last reply (the chat has had its burst) ...
    assert await harness.send("/help") == []
    # ... and without any effect: no registration began.
    assert await harness.send("/start") == []
    assert await _conversations(harness, SECRETARY) == []
    # Someone else is served at once, at the same instant.
    assert await harness.send("/help", user=OTHER) == [HELP]
    # A second later the flooder is told, once.
    harness.clock.advance(NOTICE_GAP)
    assert await harness.send("/help") == [NOTICE]
    assert await harness.send("/help") == []
    # The notice took a token too: 3 s at 30 a minute refill it and one update, which is
    # handled; the next is dropped in silence.
    harness.clock.advance(3)
    assert FIRST_QUESTION in (await harness.send("/start"))[-1]
    assert await _conversations(harness, SECRETARY) == ["reg"]
    assert await harness.send("/help") == []
    # Once the bucket is full again the episode is over: a new flood gets a new notice.
    harness.clock.advance(60)
    await _use_up(harness, USER.burst)
    harness.clock.advance(NOTICE_GAP)
    assert await harness.send("/help") == [NOTICE]


async def test_a_tap_in_a_flood_gets_the_notice_as_a_toast(harness: Harness) -> None:
    harness.clock.step = 0
    await harness.register()
    await harness.send("/menu")
    assert harness.buttons()
    await _use_up(harness, USER.burst - 1)
    harness.clock.advance(NOTICE_GAP)
    assert await harness.tap(0) == []
    assert harness.callback_answers()[-1] == NOTICE


async def test_admins_have_a_higher_limit_but_are_not_exempt(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "bot.sqlite3")
    bot = msgspec.structs.replace(harness.config.bot, admin_ids=(SECRETARY,))
    harness.config = msgspec.structs.replace(harness.config, bot=bot)
    harness.fake.add_user(MEMBER)
    await harness.start()
    try:
        assert harness.app is not None
        await admins.add(harness.app.database, OTHER, invited_by=SECRETARY)
        harness.clock.step = 0
        everyone = (SECRETARY, OTHER, MEMBER)  # a config admin, an invited admin, a member
        for user in everyone:
            await _use_up(harness, USER.burst, user=user)
        harness.clock.advance(NOTICE_GAP)
        for user in everyone:
            assert await harness.send("/help", user=user) == [NOTICE]
            assert await harness.send("/help", user=user) == []
        # Two seconds later the admins' faster refill lets them through; the member waits.
        assert ADMIN.per_minute * 2 / 60 >= 1.5 > USER.per_minute * 2 / 60
        harness.clock.advance(2)
        assert await harness.send("/help", user=MEMBER) == []
        assert await harness.send("/help", user=SECRETARY) == [HELP]
        assert await harness.send("/help", user=OTHER) == [HELP]
    finally:
        await harness.stop()


async def test_a_group_has_its_own_limit_for_the_messages_of_all_its_members(
    harness: Harness,
) -> None:
    members = list(range(3001, 3001 + int(GROUP_CHAT.burst)))
    for member in members:
        harness.fake.add_user(member)
    harness.fake.add_group(GROUP, "支部群")
    harness.clock.step = 0
    for member in members:
        assert await harness.send("/help", user=member, chat_id=GROUP) == [HELP]
    assert await harness.send("/help", user=SECRETARY, chat_id=GROUP) == []
    harness.clock.advance(NOTICE_GAP)
    assert await harness.send("/help", user=SECRETARY, chat_id=GROUP) == [NOTICE]
    assert await harness.send("/help", user=OTHER, chat_id=GROUP) == []
    # Each member still has their own bucket for their private chat.
    assert await harness.send("/help", user=members[0]) == [HELP]


async def test_an_album_counts_once(harness: Harness) -> None:
    harness.clock.step = 0
    hint = parse_html(render("no_flow_hint"))
    for number in range(5):
        update = harness.fake.send_photo(SECRETARY, f"photo {number}".encode())
        update["message"]["media_group_id"] = "album-1"
        await harness._settle()
    assert [parse_html(m["text"]) for m in harness.fake.bot_messages(SECRETARY)] == [hint] * 5
    # Separate photos are separate updates: two more fit in the burst, the third does not.
    assert await harness.send_photo(b"one") == [hint]
    assert await harness.send_photo(b"two") == [hint]
    assert await harness.send_photo(b"three") == []


async def test_a_restart_forgets_the_counts(harness: Harness) -> None:
    harness.clock.step = 0
    await _use_up(harness, USER.burst)
    harness.clock.advance(NOTICE_GAP)
    assert await harness.send("/help") == [NOTICE]
    await harness.stop()
    await harness.start()
    assert await harness.send("/help") == [HELP]


async def test_updates_replayed_after_a_restart_do_not_use_up_the_bucket(tmp_path: Path) -> None:
    # A previous run stored a burst of /help and died before handling them (kill -9).
    h = Harness(tmp_path / "bot.sqlite3")
    h.clock.step = 0
    database = Database(tmp_path / "bot.sqlite3")
    await database.open()
    stored = [h.fake.send_text(SECRETARY, "/help") for _ in range(int(USER.burst))]
    await inbox.store(database, [inbox.Incoming(u["update_id"], json.dumps(u)) for u in stored])
    await database.close()
    await h.start()
    try:
        # They passed the guard when they came: the user still has the whole burst.
        await _use_up(h, USER.burst)
        assert await h.send("/help") == []
    finally:
        await h.stop()
