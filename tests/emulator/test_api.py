"""The emulator refuses what Telegram refuses, through a real telegram.Bot in the same process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)

from bot.emulator.core import NETWORK_ERROR, ApiError, FakeTelegram
from bot.emulator.request import EmulatorRequest

TOKEN = "123456:EMULATOR"
USER = 77
GROUP = -100500


@pytest.fixture
def fake() -> FakeTelegram:
    emulator = FakeTelegram(token=TOKEN)
    emulator.add_user(USER)
    return emulator


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(
        TOKEN, request=EmulatorRequest(fake), get_updates_request=EmulatorRequest(fake)
    ) as b:
        yield b


def _keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(d[:5] or "x", callback_data=d)] for d in data]
    )


@pytest.mark.asyncio
async def test_get_me_and_unknown_method(bot: Bot, fake: FakeTelegram) -> None:
    assert bot.username == "zhishu_demo_bot"
    assert bot.first_name == "支书助手"
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    assert fake.calls[-1][0] == "noSuchMethod"


@pytest.mark.asyncio
async def test_text_limits(bot: Bot) -> None:
    await bot.send_message(USER, "好" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(USER, "好" * 4097)
    # Emoji count twice (UTF-16), and the limit applies after the HTML is parsed.
    await bot.send_message(USER, "<b>" + "😀" * 2048 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(USER, "😀" * 2048 + "a")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER, "  \n")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER, "<b></b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999, "x")


@pytest.mark.asyncio
async def test_html_is_refused_unless_escaped(bot: Bot, fake: FakeTelegram) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, "<b>A&B</b>", parse_mode="HTML")
    sent = await bot.send_message(USER, "&lt;b&gt;A&amp;B&lt;/b&gt;", parse_mode="HTML")
    assert sent.text == "<b>A&B</b>"
    # What the bot gets back is Telegram's shape: visible text plus entities.
    sent = await bot.send_message(USER, "  <b>粗</b>体\n", parse_mode="HTML")
    assert sent.text == "粗体"
    assert sent.entities == (MessageEntity("bold", 0, 1),)
    assert sent.text_html == "<b>粗</b>体"
    # The observation helpers show what the bot sent.
    assert fake.last_bot_message(USER)["text"] == "  <b>粗</b>体\n"
    assert fake.last_bot_message(USER)["parse_mode"] == "HTML"


@pytest.mark.asyncio
async def test_caption_limit(bot: Bot) -> None:
    await bot.send_document(USER, b"x", filename="a.txt", caption="字" * 1024)
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_document(USER, b"x", filename="a.txt", caption="字" * 1025)


@pytest.mark.asyncio
async def test_callback_data_is_counted_in_bytes(bot: Bot) -> None:
    # 21 Chinese characters are 63 bytes in UTF-8: one ASCII more is exactly 64.
    await bot.send_message(USER, "64 bytes", reply_markup=_keyboard("支" * 21 + "a"))
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "65 bytes", reply_markup=_keyboard("支" * 21 + "ab"))
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "22 chars", reply_markup=_keyboard("支" * 22))


@pytest.mark.asyncio
async def test_buttons_need_an_action(fake: FakeTelegram) -> None:
    def keyboard(*buttons: dict[str, str]) -> dict[str, Any]:
        return {"chat_id": USER, "text": "x", "reply_markup": {"inline_keyboard": [buttons]}}

    with pytest.raises(ApiError, match="Text buttons are unallowed") as caught:
        await fake.call("sendMessage", keyboard({"text": "a"}))
    assert caught.value.error_code == 400
    with pytest.raises(ApiError, match="inline keyboard button"):
        await fake.call(
            "sendMessage", keyboard({"text": "a", "callback_data": "a", "url": "https://x.org"})
        )
    with pytest.raises(ApiError, match="BUTTON_TEXT_INVALID"):
        await fake.call("sendMessage", keyboard({"text": "", "callback_data": "a"}))
    with pytest.raises(ApiError, match="BUTTON_DATA_INVALID"):
        await fake.call("sendMessage", keyboard({"text": "a", "callback_data": ""}))
    await fake.call("SENDMESSAGE", keyboard({"text": "a", "url": "https://x.org"}))


@pytest.mark.asyncio
async def test_edits(bot: Bot, fake: FakeTelegram) -> None:
    message = await bot.send_message(
        USER, "<b>原文</b>", parse_mode="HTML", reply_markup=_keyboard("a")
    )
    with pytest.raises(BadRequest, match=r"(?i)message is not modified: specified new message"):
        await bot.edit_message_text(
            "<b>原文</b>", USER, message.message_id, parse_mode="HTML", reply_markup=_keyboard("a")
        )
    # Same visible text and entities written differently is still "not modified".
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text(
            "<strong>原文</strong> ",
            USER,
            message.message_id,
            parse_mode="HTML",
            reply_markup=_keyboard("a"),
        )
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_reply_markup(USER, message.message_id, reply_markup=_keyboard("a"))
    # An edit without reply_markup takes the keyboard away.
    await bot.edit_message_text("新文", USER, message.message_id)
    shown = fake.last_bot_message(USER)
    assert shown is not None and shown["text"] == "新文" and "reply_markup" not in shown
    await bot.delete_message(USER, message.message_id)
    assert fake.bot_messages(USER) == []
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("再改", USER, message.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER, message.message_id)


@pytest.mark.asyncio
async def test_blocked_user_gets_403(bot: Bot, fake: FakeTelegram) -> None:
    await bot.send_message(USER, "在吗")
    fake.block(USER)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(USER, "x")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(USER, "typing")
    fake.unblock(USER)
    await bot.send_message(USER, "又在了")


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_limit_raises_retry_after(bot: Bot, fake: FakeTelegram) -> None:
    fake.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 3",
        retry_after=3,
        times=2,
    )
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(USER, "x")
        assert caught.value.message == "Flood control exceeded. Retry in 3 seconds"
    await bot.send_message(USER, "x")
    assert [c[0] for c in fake.calls].count("sendMessage") == 3
    assert len(fake.bot_messages(USER)) == 1


@pytest.mark.asyncio
async def test_server_errors_and_broken_connections(bot: Bot, fake: FakeTelegram) -> None:
    fake.fail_next("sendMessage", error_code=502, description="Bad Gateway")
    with pytest.raises(NetworkError, match=r"(?i)Bad Gateway"):
        await bot.send_message(USER, "x")
    fake.fail_next("sendMessage", error_code=NETWORK_ERROR, description="connection reset")
    with pytest.raises(NetworkError, match=r"(?i)connection reset"):
        await bot.send_message(USER, "x")
    assert fake.bot_messages(USER) == []


@pytest.mark.asyncio
async def test_wrong_token_is_refused(fake: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("1:WRONG", request=EmulatorRequest(fake)):
            pass


@pytest.mark.asyncio
async def test_files_round_trip(bot: Bot, fake: FakeTelegram) -> None:
    sent = await bot.send_document(
        USER, "台账内容".encode(), filename="台账.txt", caption="<b>台账</b>", parse_mode="HTML"
    )
    assert sent.document is not None and sent.document.file_name == "台账.txt"
    assert sent.caption == "台账"
    file = await bot.get_file(sent.document.file_id)
    assert (await file.download_as_bytearray()).decode() == "台账内容"
    assert fake.sent_files[-1]["data"] == "台账内容".encode()
    # What a user sends can be downloaded too.
    update = fake.send_document(USER, "名单.csv", b"a,b\n", mime_type="text/csv")
    document = update["message"]["document"]
    assert document["file_name"] == "名单.csv" and document["mime_type"] == "text/csv"
    assert bytes(await (await bot.get_file(document["file_id"])).download_as_bytearray()) == (
        b"a,b\n"
    )
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("nope")


@pytest.mark.asyncio
async def test_files_kept_on_disk_outlive_the_emulator(tmp_path: Path) -> None:
    """The demo's emulator keeps its files: a photo a meeting record refers to is the same photo
    after a restart, and the next run's files get ids of their own (they restarted at 1, and a
    saved photo showed the next run's first Excel file)."""
    folder = tmp_path / "kept"
    first = FakeTelegram(token=TOKEN)
    first.add_user(USER)
    first.keep_files_in(folder)
    photo = first.send_photo(USER, b"photo-bytes")["message"]["photo"][-1]["file_id"]
    second = FakeTelegram(token=TOKEN)
    second.add_user(USER)
    second.keep_files_in(folder)
    async with Bot(TOKEN, request=EmulatorRequest(second)) as bot:
        sent = await bot.send_document(USER, b"xlsx-bytes", filename="台账.xlsx")
        assert sent.document is not None and sent.document.file_id != photo
        again = await (await bot.get_file(photo)).download_as_bytearray()
        assert bytes(again) == b"photo-bytes"
        ledger = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
        assert bytes(ledger) == b"xlsx-bytes"


@pytest.mark.asyncio
async def test_updates_taps_and_answers(bot: Bot, fake: FakeTelegram) -> None:
    await bot.send_message(USER, "问题", reply_markup=_keyboard("是", "否"))
    fake.send_text(USER, "/start@zhishu_demo_bot 参数")
    fake.tap_button(USER, "否")
    fake.tap_button(USER, 0)
    fake.send_photo(USER, b"\x89PNG", caption="照片")
    updates = await bot.get_updates(timeout=1)
    assert [u.update_id for u in updates] == [1, 2, 3, 4]
    command = updates[0].message
    assert command is not None and command.text == "/start@zhishu_demo_bot 参数"
    assert command.entities[0].type == "bot_command" and command.entities[0].length == 22
    no, yes = updates[1].callback_query, updates[2].callback_query
    assert no is not None and no.data == "否" and no.message is not None
    assert no.message.text == "问题" and no.from_user.id == USER
    assert yes is not None and yes.data == "是"
    photo = updates[3].message
    assert photo is not None and photo.photo[-1].file_size == 4 and photo.caption == "照片"
    await no.answer("好")
    assert fake.callback_answers[-1]["text"] == "好"
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await no.answer("again")
    with pytest.raises(BadRequest, match=r"(?i)MESSAGE_TOO_LONG"):
        await yes.answer("长" * 201)
    await yes.answer("长" * 200)
    with pytest.raises(BadRequest, match=r"(?i)query ID is invalid"):
        await bot.answer_callback_query("nope")
    with pytest.raises(LookupError):
        fake.tap_button(USER, "也许")
    with pytest.raises(LookupError):
        fake.tap_button(USER, 5)
    assert fake.pending_updates() == 4
    await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert fake.pending_updates() == 0


@pytest.mark.asyncio
async def test_forged_tap_on_unknown_message(bot: Bot, fake: FakeTelegram) -> None:
    fake.tap(USER, 999, "forged:data")
    (update,) = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.data == "forged:data"
    assert query.message is not None and query.message.message_id == 999


@pytest.mark.asyncio
async def test_long_poll_waits_and_wakes(bot: Bot, fake: FakeTelegram) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bot.get_updates(timeout=0.2) == ()
    assert loop.time() - started >= 0.19
    loop.call_later(0.05, fake.send_text, USER, "来了")
    started = loop.time()
    updates = await bot.get_updates(timeout=5)
    assert len(updates) == 1 and loop.time() - started < 1


@pytest.mark.asyncio
async def test_second_poller_terminates_the_first(bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.01)
    assert await bot.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates request"):
        await first


@pytest.mark.asyncio
async def test_groups_and_commands(bot: Bot, fake: FakeTelegram) -> None:
    fake.bot_added_to_group(USER, GROUP, "支部群")
    fake.send_text(USER, "/help", chat_id=GROUP)
    updates = await bot.get_updates()
    member = updates[0].my_chat_member
    assert member is not None and member.new_chat_member.status == "member"
    joined = updates[1].message
    assert joined is not None and joined.new_chat_members[0].id == bot.id
    said = updates[2].message
    assert said is not None and said.chat.type == "group" and said.message_id == 2
    await bot.send_message(GROUP, "大家好")
    admins = await bot.get_chat_administrators(GROUP)
    assert [a.user.id for a in admins] == [USER]
    assert (await bot.get_chat(GROUP)).title == "支部群"
    await bot.leave_chat(GROUP)
    with pytest.raises(Forbidden, match=r"(?i)not a member"):
        await bot.send_message(GROUP, "还在吗")
    await bot.set_my_commands([("start", "开始"), ("cancel", "取消当前操作")])
    await bot.set_my_commands([("start", "Start")], language_code="en")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "cancel"]
    assert fake.commands["default/en"] == [{"command": "start", "description": "Start"}]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Start", "大写不行")])
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


@pytest.mark.asyncio
async def test_subscribers_see_bot_messages(bot: Bot, fake: FakeTelegram) -> None:
    seen: list[tuple[str, Any]] = []
    fake.subscribe(lambda event, message: seen.append((event, message.get("text"))))
    sent = await bot.send_message(USER, "<i>一</i>", parse_mode="HTML")
    await bot.edit_message_text("二", USER, sent.message_id)
    await bot.delete_message(USER, sent.message_id)
    fake.send_text(USER, "用户的话不算")
    assert seen == [("new", "<i>一</i>"), ("edit", "二"), ("delete", "二")]
    assert [m["text"] for m in fake.messages(USER)] == ["用户的话不算"]
