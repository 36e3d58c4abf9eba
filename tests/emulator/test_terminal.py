"""The terminal demo chat: numbered buttons, "=" for texts that look like numbers, files."""

# ruff: noqa: RUF001, RUF100

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.emulator.core import FakeTelegram
from bot.emulator.request import EmulatorRequest
from bot.emulator.terminal import demo_png, render_message, run_terminal

TOKEN = "123456:EMULATOR"
USER = 77
DAYS = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("今天", callback_data="day:0")],
        [
            InlineKeyboardButton("昨天", callback_data="day:1"),
            InlineKeyboardButton("前天", callback_data="day:2"),
        ],
    ]
)


async def _on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    if message.photo:
        await message.reply_text(f"收到图片 {message.photo[-1].width}x{message.photo[-1].height}")
    elif message.document:
        await message.reply_text(f"收到文件 {message.document.file_name}")
    elif message.text == "日期":
        await message.reply_text("<b>哪一天？</b>", parse_mode="HTML", reply_markup=DAYS)
    else:
        await message.reply_text(f"你说：{message.text}")


async def _on_tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("好的")
    await query.edit_message_text(f"选了 {query.data}")


def _script(lines: list[str]) -> Callable[[], Awaitable[str | None]]:
    pending = list(lines)

    async def read_line() -> str | None:
        return pending.pop(0) if pending else None

    return read_line


@pytest.mark.asyncio
async def test_terminal_chat(tmp_path: Path) -> None:
    fake = FakeTelegram(token=TOKEN)
    fake.add_user(USER)
    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(EmulatorRequest(fake))
        .get_updates_request(EmulatorRequest(fake))
        .build()
    )
    application.add_handler(MessageHandler(filters.ALL, _on_message))
    application.add_handler(CallbackQueryHandler(_on_tap))
    upload = tmp_path / "名单.csv"
    upload.write_text("a,b\n", encoding="utf-8")
    output: list[str] = []
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(timeout=5)
        await application.start()
        try:
            await run_terminal(
                fake,
                user_id=USER,
                read_line=_script(
                    [
                        "日期",
                        "=2",
                        "2",
                        ":photo",
                        f":file {upload}",
                        ":file /no/such",
                        ":quit",
                        "x",
                    ]
                ),
                write=output.append,
                ansi=False,
                banner="欢迎",
            )
        finally:
            await application.updater.stop()
            await application.stop()
    text = "\n".join(output)
    assert output[0] == "欢迎"
    assert "哪一天？\n[1] 今天\n[2] 昨天  [3] 前天" in text
    assert "你说：2" in text  # "=2" is a text, not a tap
    assert "（已更新）\n选了 day:1" in text  # "2" tapped the second button
    assert "（提示：好的）" in text
    assert "收到图片 16x16" in text
    assert "收到文件 名单.csv" in text
    assert "（找不到文件：/no/such）" in text
    assert "x" not in [m["text"] for m in fake.messages(USER) if "text" in m]  # after :quit


def test_render_message() -> None:
    message = {
        "text": '<b>粗</b> <a href="https://x.org">链接</a>',
        "parse_mode": "HTML",
        "reply_markup": {"inline_keyboard": [[{"text": "甲", "callback_data": "a"}]]},
    }
    assert render_message(message, ansi=False) == "粗 链接 (https://x.org)\n[1] 甲"
    assert demo_png().startswith(b"\x89PNG")


async def _echo_files(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers a text with its lines counted, and "文件" with a document."""
    message = update.effective_message
    assert message is not None and message.text is not None
    if message.text == "文件":
        await message.reply_document(b"PK\x03\x04 xlsx", filename="台账 2026.xlsx")
        return
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("好", callback_data="ok")]])
    count = len(message.text.split("\n"))
    await message.reply_text(f"{count} 行：{message.text}", reply_markup=keyboard)


async def _chat(fake: FakeTelegram, lines: list[str], tmp_path: Path) -> str:
    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(EmulatorRequest(fake))
        .get_updates_request(EmulatorRequest(fake))
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, _echo_files))
    application.add_handler(CallbackQueryHandler(_on_tap))
    output: list[str] = []
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(timeout=5)
        await application.start()
        try:
            await run_terminal(
                fake,
                user_id=USER,
                read_line=_script(lines),
                write=output.append,
                ansi=False,
                banner="欢迎",
                files=tmp_path / "demo-files",
                state=tmp_path / "demo-last.json",
            )
        finally:
            await application.updater.stop()
            await application.stop()
    return "\n".join(output)


@pytest.mark.asyncio
async def test_multiline_messages_saved_files_and_where_you_were(tmp_path: Path) -> None:
    fake = FakeTelegram(token=TOKEN)
    fake.add_user(USER)
    script = ["第一行\\", "第二行\\", "第三行", ":paste", "应到9人", "实到7人", ":end", "文件"]
    text = await _chat(fake, [*script, ":quit"], tmp_path)
    assert "3 行：第一行\n第二行\n第三行" in text
    assert "2 行：应到9人\n实到7人" in text
    saved = tmp_path / "demo-files" / "6-台账_2026.xlsx"
    assert f"（已保存到 {saved}）" in text
    assert saved.read_bytes() == b"PK\x03\x04 xlsx"
    # A new run (a new emulator, as after a restart) shows the last message again, and its
    # buttons still work.
    again = FakeTelegram(token=TOKEN)
    again.add_user(USER)
    text = await _chat(again, ["1", ":quit"], tmp_path)
    restored = "2 行：应到9人\n实到7人\n[1] 好\n（以上是上次退出时的最后一条消息，可以接着操作）"
    assert restored in text
    assert "（提示：好的）" in text and "选了 ok" in text
