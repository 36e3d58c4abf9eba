"""A real PTB Application polls the emulator: in process, and over HTTP on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.emulator.core import NETWORK_ERROR, FakeTelegram
from bot.emulator.request import EmulatorRequest
from bot.emulator.server import EmulatorServer, parse_body

TOKEN = "123456:EMULATOR"
USER = 77


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    if message.document is not None:
        file = await message.document.get_file()
        content = bytes(await file.download_as_bytearray())
        await message.reply_document(content[::-1], filename="reversed.txt", caption="倒过来")
        return
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("再来", callback_data="again")]])
    await message.reply_text(
        f"<b>回声</b>: {message.text}", parse_mode="HTML", reply_markup=keyboard, do_quote=True
    )


async def _again(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("收到")
    await query.edit_message_text("已再来一次")


def _add_handlers(application: Application) -> Application:
    application.add_handler(MessageHandler(filters.TEXT | filters.Document.ALL, _echo))
    application.add_handler(CallbackQueryHandler(_again))
    return application


@asynccontextmanager
async def _polling(application: Application) -> AsyncIterator[Application]:
    """What run_polling does, without taking over the event loop and signals."""
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(timeout=5, allowed_updates=Update.ALL_TYPES)
        await application.start()
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()


async def _until(condition: Any, timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def _conversation(fake: FakeTelegram) -> None:
    """Text, button and document round trips, checked from the phone's side."""
    fake.send_text(USER, "123")
    await _until(lambda: fake.bot_messages(USER))
    reply = fake.last_bot_message(USER)
    assert reply is not None
    assert reply["text"] == "<b>回声</b>: 123"
    assert reply["reply_to_message"]["text"] == "123"
    fake.tap_button(USER, "再来")
    await _until(lambda: fake.callback_answers)
    await _until(lambda: fake.bot_messages(USER)[-1]["text"] == "已再来一次")
    assert "reply_markup" not in fake.bot_messages(USER)[-1]
    assert fake.callback_answers[-1]["text"] == "收到"
    fake.send_document(USER, "原文.txt", b"abc", mime_type="text/plain")
    await _until(lambda: fake.sent_files)
    assert fake.sent_files[-1]["data"] == b"cba"
    assert fake.sent_files[-1]["file_name"] == "reversed.txt"
    await _until(lambda: fake.pending_updates() == 0)


@pytest.mark.asyncio
async def test_application_in_process() -> None:
    fake = FakeTelegram(token=TOKEN)
    fake.add_user(USER)
    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(EmulatorRequest(fake))
        .get_updates_request(EmulatorRequest(fake))
        .build()
    )
    async with _polling(_add_handlers(application)):
        await _conversation(fake)
        # A dropped connection while polling is retried by PTB, nothing is lost.
        fake.fail_next("getUpdates", error_code=NETWORK_ERROR, description="reset")
        fake.send_text(USER, "断线后")
        await _until(lambda: "断线后" in fake.bot_messages(USER)[-1].get("text", ""))
    assert fake.pending_updates() == 0


@pytest.fixture
async def server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[EmulatorServer]:
    # Loopback must never go through a proxy set in the environment.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    fake = FakeTelegram(token=TOKEN)
    fake.add_user(USER)
    async with EmulatorServer(fake) as running:
        yield running


@pytest.mark.asyncio
async def test_application_over_http(server: EmulatorServer) -> None:
    fake = server.fake
    url = server.api_base_url
    assert url.startswith("http://127.0.0.1:") and url.endswith("/bot")
    application = (
        ApplicationBuilder().token(TOKEN).base_url(url).base_file_url(server.file_base_url).build()
    )
    async with _polling(_add_handlers(application)):
        await _conversation(fake)
        await application.bot.set_my_commands([("start", "开始")])
    assert fake.commands["default"] == [{"command": "start", "description": "开始"}]
    # The bot's own calls arrived typed as Telegram would parse them.
    sends = [params for method, params in fake.calls if method == "sendMessage"]
    assert sends[0]["chat_id"] == USER and sends[0]["text"] == "<b>回声</b>: 123"
    assert sends[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "again"


@pytest.mark.asyncio
async def test_http_errors_and_downloads(server: EmulatorServer) -> None:
    fake = server.fake
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        response = await client.post(
            f"/bot{TOKEN}/sendMessage", data={"chat_id": "1", "text": "x"}
        )
        assert response.status_code == 400
        assert response.json() == {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: chat not found",
        }
        response = await client.post("/bot1:WRONG/getMe")
        assert response.status_code == 401
        fake.fail_next("sendMessage", error_code=429, description="Too Many", retry_after=7)
        response = await client.post(
            f"/bot{TOKEN}/sendMessage", json={"chat_id": USER, "text": "x"}
        )
        assert response.status_code == 429
        assert response.json()["parameters"] == {"retry_after": 7}
        # JSON bodies work as well as forms, on the same kept-alive connection.
        response = await client.post(
            f"/bot{TOKEN}/sendMessage", json={"chat_id": USER, "text": "5"}
        )
        assert response.json()["result"]["text"] == "5"
        update = fake.send_document(USER, "a.bin", b"\x00\x01")
        file_id = update["message"]["document"]["file_id"]
        response = await client.get(f"/bot{TOKEN}/getFile", params={"file_id": file_id})
        path = response.json()["result"]["file_path"]
        response = await client.get(f"/file/bot{TOKEN}/{path}")
        assert response.content == b"\x00\x01"
        response = await client.get(f"/file/bot{TOKEN}/documents/nothing")
        assert response.status_code == 404


def test_form_values_come_back_typed() -> None:
    markup = json.dumps({"inline_keyboard": [[{"text": "a", "callback_data": "1"}]]})
    body = urlencode({"chat_id": "-100", "text": "123", "reply_markup": markup, "timeout": "10"})
    params, files = parse_body("application/x-www-form-urlencoded", body.encode())
    assert params == {
        "chat_id": -100,
        "text": "123",
        "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "1"}]]},
        "timeout": 10,
    }
    assert files == {}
    multipart = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="chat_id"\r\n\r\n77\r\n'
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="caption"\r\n\r\n007\r\n'
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="document"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nhello\r\n"
        b"--XyZ--\r\n"
    )
    params, files = parse_body("multipart/form-data; boundary=XyZ", multipart)
    assert params == {"chat_id": 77, "caption": "007"}
    assert files == {"document": ("a.txt", b"hello", "text/plain")}
