"""The emulator refuses what Telegram refuses, so the bot's mistakes show up in tests."""

from __future__ import annotations

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter

from bot.emulator.core import FakeTelegram
from bot.emulator.html import HtmlError, html_to_terminal, parse_html
from bot.emulator.request import EmulatorRequest
from bot.emulator.server import EmulatorServer

TOKEN = "123456:EMULATOR"
USER = 77


@pytest.mark.parametrize(
    ("text", "visible"),
    [
        ("<b>粗</b><i>斜</i>", "粗斜"),
        ("<b>a<i>b</i></b>", "ab"),
        ("&lt;b&gt;A&amp;B&lt;/b&gt;", "<b>A&B</b>"),
        ('<a href="https://example.org">链接</a>', "链接"),
        ("&#128512;&#x4E2D;", "😀中"),
        ("1 > 0", "1 > 0"),
    ],
)
def test_valid_html(text: str, visible: str) -> None:
    assert parse_html(text) == visible


@pytest.mark.parametrize(
    "text",
    ["<b>A&B</b>", "<div>x</div>", "<b>open", "close</b>", "<b><i>x</b></i>", "a < b",
     "&nbsp;", "<a>no href</a>"],
)  # fmt: skip
def test_invalid_html(text: str) -> None:
    with pytest.raises(HtmlError, match=r"(?i)can't parse entities"):
        parse_html(text)


def test_terminal_rendering() -> None:
    assert html_to_terminal("<b>粗</b> &amp;", ansi=False) == "粗 &"
    assert "\x1b[1m" in html_to_terminal("<b>粗</b>", ansi=True)


@pytest.fixture
def fake() -> FakeTelegram:
    emulator = FakeTelegram(token=TOKEN)
    emulator.add_user(USER)
    return emulator


@pytest.fixture
async def bot(fake: FakeTelegram) -> Bot:
    b = Bot(TOKEN, request=EmulatorRequest(fake), get_updates_request=EmulatorRequest(fake))
    await b.initialize()
    yield b
    await b.shutdown()


async def test_limits(bot: Bot) -> None:
    await bot.send_message(USER, "好" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(USER, "好" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)text is empty"):
        await bot.send_message(USER, "  ")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, "<b>A&B</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999, "x")


async def test_callback_data_is_counted_in_bytes(bot: Bot) -> None:
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="支" * 21 + "a")]])
    await bot.send_message(USER, "64 bytes", reply_markup=ok)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="支" * 22)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(USER, "66 bytes", reply_markup=too_long)


async def test_edits(bot: Bot, fake: FakeTelegram) -> None:
    message = await bot.send_message(USER, "原文")
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text("原文", chat_id=USER, message_id=message.message_id)
    await bot.edit_message_text("新文", chat_id=USER, message_id=message.message_id)
    assert fake.last_bot_message(USER)["text"] == "新文"
    await bot.delete_message(USER, message.message_id)
    with pytest.raises(BadRequest, match=r"(?i)not found"):
        await bot.edit_message_text("再改", chat_id=USER, message_id=message.message_id)


async def test_blocked_flood_and_callback_answers(bot: Bot, fake: FakeTelegram) -> None:
    fake.fail_next("sendMessage", error_code=429, description="Too Many Requests", retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "x")
    assert "3" in str(caught.value)
    fake.block(USER)
    with pytest.raises(Forbidden, match=r"(?i)blocked"):
        await bot.send_message(USER, "x")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query("nope")


async def test_wrong_token_is_refused() -> None:
    fake = FakeTelegram(token=TOKEN)
    b = Bot("1:WRONG", request=EmulatorRequest(fake))
    with pytest.raises(InvalidToken):
        await b.initialize()


async def test_files_round_trip(bot: Bot, fake: FakeTelegram) -> None:
    sent = await bot.send_document(USER, b"hello", filename="a.txt", caption="<b>台账</b>")
    assert sent.document is not None
    file = await bot.get_file(sent.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"hello"
    update = fake.send_photo(USER, b"\x89PNG")
    photo_id = update["message"]["photo"][-1]["file_id"]
    photo = await bot.get_file(photo_id)
    assert bytes(await photo.download_as_bytearray()) == b"\x89PNG"


async def test_updates_and_taps(bot: Bot, fake: FakeTelegram) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("是", callback_data="yes")]])
    await bot.send_message(USER, "问题", reply_markup=keyboard)
    fake.send_text(USER, "/start")
    fake.tap_button(USER, "是")
    updates = await bot.get_updates(timeout=1)
    assert updates[0].message is not None and updates[0].message.text == "/start"
    assert updates[0].message.entities[0].type == "bot_command"
    query = updates[1].callback_query
    assert query is not None and query.data == "yes"
    await query.answer("好")
    assert fake.callback_answers[-1]["text"] == "好"
    await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert fake.pending_updates() == 0
    with pytest.raises(LookupError):
        fake.tap_button(USER, "否")


async def test_http_server_round_trip() -> None:
    fake = FakeTelegram(token=TOKEN)
    fake.add_user(USER)
    server = EmulatorServer(fake)
    await server.start()
    try:
        b = Bot(TOKEN, base_url=server.api_base_url, base_file_url=server.file_base_url)
        async with b:
            fake.send_text(USER, "123")
            updates = await b.get_updates(timeout=1)
            assert updates[0].message is not None and updates[0].message.text == "123"
            await b.send_message(USER, "<b>回</b>", parse_mode="HTML")
            sent = await b.send_document(USER, "中文内容".encode(), filename="台账.txt")
            assert sent.document is not None
            file = await b.get_file(sent.document.file_id)
            assert (await file.download_as_bytearray()).decode() == "中文内容"
            with pytest.raises(BadRequest, match=r"(?i)can't parse"):
                await b.send_message(USER, "<b>A&B", parse_mode="HTML")
        assert fake.bot_messages(USER)[0]["text"] == "<b>回</b>"
    finally:
        await server.stop()
