"""The update path in one process: concurrency per user, the inbox, isolation of failures."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path

import httpx
import msgspec
import pytest
from telegram import LinkPreviewOptions
from telegram.error import NetworkError

from bot.app import build_application, post_init
from bot.config import ConfigError, parse_config
from bot.emulator.html import parse_html
from bot.emulator.request import EmulatorRequest
from bot.texts import labels
from bot.updates import HEARTBEAT
from db import Database, inbox
from tests.conftest import OTHER, SECRETARY, Harness

ASK_NAME = "支部的全称是什么？"
ASK_ORG = "单位（社会组织）的名称"


def texts(h: Harness, chat_id: int) -> list[str]:
    return [parse_html(m.get("text") or "") for m in h.fake.bot_messages(chat_id)]


async def wait_until(condition: object, timeout: float = 10) -> None:
    """Wait (yielding to the bot) until condition() holds."""
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def test_users_run_concurrently_and_each_user_in_order(harness: Harness) -> None:
    app = harness.app
    assert app is not None
    held = asyncio.Event()
    harness.fake.holds[SECRETARY] = held
    # The secretary's reply hangs (a slow send); a second message of theirs must wait for it.
    harness.fake.send_text(SECRETARY, "/start")
    harness.fake.send_text(SECRETARY, "进程测试支部")
    replies = await harness.send("/start", OTHER)
    assert any(ASK_NAME in text for text in replies), "another user is not held up"
    assert texts(harness, SECRETARY) == []
    held.set()
    await app.wait_for_updates(3)
    mine = texts(harness, SECRETARY)
    asked = [i for i, text in enumerate(mine) if ASK_NAME in text]
    then = [i for i, text in enumerate(mine) if ASK_ORG in text]
    assert len(asked) == len(then) == 1
    assert asked[0] < then[0], "the second message was applied after the first"


async def test_unhandled_inbox_rows_are_handled_first_and_once(tmp_path: Path) -> None:
    h = Harness(tmp_path / "bot.sqlite3")
    # A previous run stored this update and died before handling it (kill -9).
    update = h.fake.send_text(SECRETARY, "/start")
    database = Database(tmp_path / "bot.sqlite3")
    await database.open()
    await inbox.store(database, [inbox.Incoming(update["update_id"], json.dumps(update))])
    await database.close()
    # Telegram still has it too (never confirmed): it must not be handled twice.
    await h.start()
    try:
        assert h.app is not None
        await wait_until(lambda: any(ASK_NAME in t for t in texts(h, SECRETARY)))
        reply = await h.send("进程测试支部")
        assert any(ASK_ORG in t for t in reply)
        assert len([t for t in texts(h, SECRETARY) if ASK_NAME in t]) == 1
        # A form commits its own state: the update is marked handled with the next batch.
        await h.app.flush_marks()
        assert await inbox.unhandled(h.app.database) == []
    finally:
        await h.stop()


async def test_the_command_menu_is_sent_beside_the_first_poll(harness: Harness) -> None:
    expected = [{"command": name, "description": text} for name, text in labels().COMMANDS]
    await wait_until(lambda: "default" in harness.fake.commands)
    assert harness.fake.commands["default"] == expected


async def test_a_refused_command_menu_does_not_stop_the_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness(tmp_path / "bot.sqlite3")
    h.fake.fail_next(
        "setMyCommands", error_code=429, description="Too Many Requests", retry_after=5
    )
    caplog.set_level(logging.WARNING, logger="bot.app")
    await h.start()
    try:
        await wait_until(lambda: any(r.name == "bot.app" for r in caplog.records))
        assert [r.getMessage() for r in caplog.records if r.name == "bot.app"] == [
            "The command menu was not updated (RetryAfter); Telegram keeps the last one"
        ]
        assert "default" not in h.fake.commands
        # The bot answers all the same.
        replies = await h.send("/start")
        assert any(ASK_NAME in t for t in replies)
    finally:
        await h.stop()


async def test_texts_are_sent_and_edited_without_a_link_preview(harness: Harness) -> None:
    await harness.send("/start")
    [sent] = harness.fake.bot_messages(SECRETARY)
    assert sent["link_preview_options"] == {"is_disabled": True}
    assert harness.app is not None
    bot = harness.app.bot
    await bot.edit_message_text("https://t.me/x", SECRETARY, sent["message_id"])
    assert sent["link_preview_options"] == {"is_disabled": True}
    # A call that asks for a preview gets one.
    await bot.send_message(
        SECRETARY, "https://t.me/y", link_preview_options=LinkPreviewOptions(is_disabled=False)
    )
    assert harness.fake.bot_messages(SECRETARY)[-1]["link_preview_options"] == {
        "is_disabled": False
    }


async def test_buttons_reach_telegram_as_python_telegram_bot_would_send_them(
    harness: Harness,
) -> None:
    from telegram import InlineKeyboardMarkup

    from bot.handlers.common import keyboard

    rows = [[("党员大会 <b>&", "lg:1:k:a"), ("支委会 😀", "lg:1:k:b")], [("❓ 怎么填", "x")]]
    markup = keyboard(rows)
    assert markup is not None
    assert markup.to_dict() == InlineKeyboardMarkup.to_dict(markup)
    assert [[b.text for b in row] for row in markup.inline_keyboard] == [
        ["党员大会 <b>&", "支委会 😀"],
        ["❓ 怎么填"],
    ]
    assert harness.app is not None
    await harness.app.bot.send_message(SECRETARY, "选一个", reply_markup=markup)
    sent = harness.fake.bot_messages(SECRETARY)[-1]
    assert sent["reply_markup"] == {
        "inline_keyboard": [
            [
                {"text": "党员大会 <b>&", "callback_data": "lg:1:k:a"},
                {"text": "支委会 😀", "callback_data": "lg:1:k:b"},
            ],
            [{"text": "❓ 怎么填", "callback_data": "x"}],
        ]
    }


async def test_a_reply_reaches_telegram_as_send_message_would_send_it(harness: Harness) -> None:
    """`reply` sends without building the sent Message; Telegram sees the same request."""
    from bot.handlers.common import keyboard
    from bot.updates import InboxBot

    assert harness.app is not None and isinstance(harness.app.bot, InboxBot)
    bot = harness.app.bot
    markup = keyboard([[("党员大会 <b>&", "lg:1:k:a")]])
    text = "<b>会议</b> &amp; 😀 https://t.me/x"
    await bot.send_message(SECRETARY, text, reply_markup=markup)
    await bot.send_text(SECRETARY, text, markup)
    await bot.send_text(SECRETARY, text)
    by_ptb, ours, bare = harness.fake.bot_messages(SECRETARY)[-3:]
    for field in ("text", "entities", "parse_mode", "link_preview_options", "reply_markup"):
        assert ours.get(field) == by_ptb.get(field), field
    assert ours["text"] == text and ours["parse_mode"] == "HTML"
    assert ours["link_preview_options"] == {"is_disabled": True}
    assert "reply_markup" not in bare or not bare["reply_markup"]


async def test_a_long_reply_is_split_with_its_buttons_on_the_last_part(harness: Harness) -> None:
    from telegram import Update

    from bot.handlers.common import reply

    assert harness.app is not None
    await harness.send("/help")
    before = len(harness.fake.bot_messages(SECRETARY))
    update = Update.de_json(
        {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "x",
                                     "chat": {"id": SECRETARY, "type": "private"}}},
        harness.app.bot,
    )  # fmt: skip
    long_text = "\n".join(f"第{i}行：学习党的二十届四中全会精神" for i in range(400))
    await reply(update, long_text, [[("好的", "x")]])
    parts = harness.fake.bot_messages(SECRETARY)[before:]
    assert len(parts) > 1 and all(len(p["text"]) <= 4096 for p in parts)
    assert "\n".join(p["text"] for p in parts) == long_text
    assert [bool(p.get("reply_markup")) for p in parts] == [False] * (len(parts) - 1) + [True]


async def test_a_lone_surrogate_is_cleaned_before_it_is_stored(harness: Harness) -> None:
    assert harness.app is not None
    replies = await harness.send("/start")
    assert any(ASK_NAME in t for t in replies)
    replies = await harness.send("坏\ud800支部")
    assert any(ASK_ORG in t for t in replies)
    # The draft holds the cleaned name: it can be stored and searched.
    stored = await harness.app.database.fetchone(
        "SELECT data FROM form_state WHERE user_id = ?", (SECRETARY,)
    )
    assert stored is not None and "坏\ufffd支部" in stored["data"]


async def test_an_outside_write_lock_is_waited_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness(tmp_path / "bot.sqlite3")
    await h.start()
    try:
        assert h.app is not None
        outside = sqlite3.connect(tmp_path / "bot.sqlite3", isolation_level=None)
        outside.execute("BEGIN IMMEDIATE")
        caplog.set_level(logging.WARNING, logger="db.database")
        for user in (SECRETARY, OTHER):
            h.fake.send_text(user, "/start")
        await wait_until(lambda: "Database busy" in caplog.text)
        outside.execute("COMMIT")
        outside.close()
        await h.app.wait_for_updates(2)
        for user in (SECRETARY, OTHER):
            assert ASK_NAME in texts(h, user)[-1]
        await h.app.flush_marks()
        assert await inbox.unhandled(h.app.database) == []
        assert caplog.text.count("Database busy") == 1, "one line per outage, not per retry"
    finally:
        await h.stop()


async def test_a_database_that_stays_locked_gets_a_clear_answer_and_polling_goes_on(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path / "bot.sqlite3")
    h.config = msgspec.structs.replace(
        h.config, storage=msgspec.structs.replace(h.config.storage, write_patience=0.2)
    )
    await h.start()
    try:
        assert h.app is not None
        outside = sqlite3.connect(tmp_path / "bot.sqlite3", isolation_level=None)
        outside.execute("BEGIN IMMEDIATE")
        replies = await h.send("/start")
        assert replies[-1] == "暂时保存不了，请稍后再试。刚才的内容没有保存。"
        outside.execute("ROLLBACK")
        outside.close()
        # Not deaf: the next update is handled and saved.
        replies = await h.send("/start", OTHER)
        assert any(ASK_NAME in t for t in replies)
        assert h.app.exit_code == 0
    finally:
        await h.stop()


async def test_webhook_stores_before_it_acknowledges_and_checks_the_secret(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    h = Harness(tmp_path / "bot.sqlite3")
    secret = "s3cret-token-for-the-test"
    h.config = msgspec.structs.replace(
        h.config,
        telegram=msgspec.structs.replace(
            h.config.telegram,
            webhook_url="https://bot.example.org/tg",
            webhook_secret=secret,
            webhook_port=unused_tcp_port,
        ),
    )
    app = build_application(
        h.config, request=EmulatorRequest(h.fake), get_updates_request=EmulatorRequest(h.fake)
    )
    await app.initialize()
    await post_init(app)
    assert app.updater is not None
    await app.updater.start_webhook(
        listen="127.0.0.1",
        port=unused_tcp_port,
        url_path="tg",
        webhook_url=h.config.telegram.webhook_url,
        secret_token=secret,
    )
    await app.start()
    try:
        assert h.fake.webhook == {"url": "https://bot.example.org/tg", "secret_token": secret}
        update = h.fake.send_text(SECRETARY, "/start")
        url = f"http://127.0.0.1:{unused_tcp_port}/tg"
        async with httpx.AsyncClient() as client:
            forged = await client.post(url, json=update)
            assert forged.status_code == 403
            answered = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
            )
            assert answered.status_code == 200
            # Stored before the 200: a crash right after loses nothing.
            row = await app.database.fetchone(
                "SELECT update_id FROM inbox WHERE update_id = ?", (update["update_id"],)
            )
            assert row is not None
            # Telegram retrying the same update: acknowledged, not handled twice.
            again = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
            )
            assert again.status_code == 200
        await wait_until(lambda: any(ASK_NAME in t for t in texts(h, SECRETARY)))
        await app.wait_for_updates(1)
        assert len([t for t in texts(h, SECRETARY) if ASK_NAME in t]) == 1
        # No polling to show that Telegram is reachable: getWebhookInfo is the heartbeat.
        async with asyncio.timeout(5):
            while await inbox.get_state(app.database, HEARTBEAT) is None:
                await asyncio.sleep(0.01)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


def test_webhook_mode_needs_https_and_a_secret() -> None:
    with pytest.raises(ConfigError, match="webhook_secret"):
        parse_config({"telegram": {"webhook_url": "https://bot.example.org/tg"}}, env={})
    with pytest.raises(ConfigError, match="https://"):
        parse_config({"telegram": {"webhook_url": "http://bot.example.org/tg"}}, env={})
    config = parse_config(
        {"telegram": {"webhook_url": "https://b.example.org/tg", "webhook_secret": "a" * 16}},
        env={},
    )
    assert (config.telegram.webhook_listen, config.telegram.webhook_port) == ("127.0.0.1", 8443)
    assert parse_config({}, env={}).telegram.webhook_url == ""


async def test_an_outage_of_telegram_is_one_warning_and_one_info(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    app = harness.app
    assert app is not None
    caplog.set_level(logging.INFO, logger="bot.updates")
    # What run_polling's error callback hands over for each failed getUpdates.
    for _ in range(3):
        assert await app.process_error(None, NetworkError("Bad Gateway")) is False
    replies = await harness.send("/start")
    assert any(ASK_NAME in t for t in replies)
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "bot.updates"]
    assert lines[0] == (
        "WARNING",
        "Telegram unreachable (NetworkError); retrying quietly until it answers",
    )
    assert lines[1][0] == "INFO" and lines[1][1].startswith(
        "Telegram reachable again after an outage of"
    )
    assert len(lines) == 2
    assert not any(r.exc_info for r in caplog.records)


async def test_unhandled_updates_older_than_a_day_are_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness(tmp_path / "bot.sqlite3")
    update = h.fake.send_text(SECRETARY, "/start")
    database = Database(tmp_path / "bot.sqlite3")
    await database.open()
    await inbox.store(database, [inbox.Incoming(update["update_id"], json.dumps(update))])
    async with database.transaction() as conn:
        await conn.execute("UPDATE inbox SET received_at = '2020-01-01T00:00:00+00:00'")
    await database.close()
    caplog.set_level(logging.WARNING, logger="bot.application")
    await h.start()
    try:
        assert h.app is not None
        assert "Dropping 1 unhandled updates older than a day" in caplog.text
        # Telegram still has it (never confirmed): fetched again and answered, it is marked
        # with the next batch of marks.
        await h.app.wait_for_updates(1)
        await h.app.flush_marks()
        assert await inbox.unhandled(h.app.database) == []
    finally:
        await h.stop()
