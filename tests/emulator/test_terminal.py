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
