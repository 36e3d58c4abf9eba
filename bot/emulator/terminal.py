"""The terminal chat of `make demo`: the bot's messages with numbered buttons, typed replies."""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import struct
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.emulator.core import FakeTelegram
from bot.emulator.html import html_to_terminal
from bot.texts import labels

IDLE_TIMEOUT = 10.0  # seconds to wait for the bot's answer before reading the next line
QUIET = 0.2  # no new bot message for this long: the bot is done answering

# The demo's own words live with every other text, in bot/templates/labels.j2.
_WORDS = labels()
_UPDATED = _WORDS.DEMO_UPDATED
_DELETED = _WORDS.DEMO_DELETED
_NO_SUCH_FILE = _WORDS.DEMO_NO_FILE
_PHOTO = _WORDS.DEMO_PHOTO
_FILE = _WORDS.DEMO_FILE
_LINK = _WORDS.DEMO_LINK
_TOAST = _WORDS.DEMO_TOAST
_ALERT = _WORDS.DEMO_ALERT
_HELP = _WORDS.DEMO_HELP


def demo_png(size: int = 16) -> bytes:
    """A small solid red PNG, generated so that no binary file has to ship."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    rows = b"".join(b"\x00" + b"\xcc\x22\x22" * size for _ in range(size))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _keyboard(message: dict[str, Any]) -> list[list[dict[str, Any]]]:
    markup = message.get("reply_markup") or {}
    return markup.get("inline_keyboard") or []


def render_message(message: dict[str, Any], *, ansi: bool) -> str:
    """A bot message as terminal text: its text, attachments, then numbered button rows."""
    text = message.get("text") or message.get("caption") or ""
    if message.get("parse_mode") == "HTML":
        text = html_to_terminal(text, ansi=ansi)
    lines = [text] if text else []
    if message.get("document"):
        lines.append(_FILE.format(name=message["document"].get("file_name", "")))
    if message.get("photo"):
        lines.append(_PHOTO)
    number = 1
    for row in _keyboard(message):
        labels = []
        for button in row:
            labels.append(f"[{number}] {button.get('text', '')}")
            number += 1
        lines.append("  ".join(labels))
    return "\n".join(lines)


async def run_terminal(
    fake: FakeTelegram,
    *,
    user_id: int,
    read_line: Callable[[], Awaitable[str | None]],
    write: Callable[[str], None],
    ansi: bool,
    banner: str,
    wait_idle: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Chat in the user's private chat until :quit or end of input."""
    write(banner)
    shown: dict[int, str] = {}
    changes = 0

    def show(event: str, message: dict[str, Any]) -> None:
        nonlocal changes
        if message["chat"]["id"] != user_id:
            return
        changes += 1
        if event == "delete":
            write(_DELETED)
            return
        text = message.get("text") or message.get("caption") or ""
        if event == "edit" and shown.get(message["message_id"]) == text and not _keyboard(message):
            return  # only the buttons were taken away after a tap: nothing new to read
        shown[message["message_id"]] = text
        prefix = f"{_UPDATED}\n" if event == "edit" else ""
        write(f"\n{prefix}{render_message(message, ansi=ansi)}")

    async def wait_quietly() -> None:
        """Until no update is pending and the bot has been quiet for a moment."""
        loop = asyncio.get_running_loop()
        seen, quiet_since = changes, loop.time()
        while True:
            await asyncio.sleep(0.05)
            if changes != seen:
                seen, quiet_since = changes, loop.time()
            if fake.pending_updates() == 0 and loop.time() - quiet_since >= QUIET:
                return

    async def settle() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for((wait_idle or wait_quietly)(), IDLE_TIMEOUT)

    fake.subscribe(show)
    try:
        while True:
            line = await read_line()
            if line is None:
                return
            answers = len(fake.callback_answers)
            outcome = _handle(fake, user_id, line.rstrip("\r\n"))
            if outcome == "quit":
                return
            if outcome == "sent":
                await settle()
            elif outcome:
                write(outcome)
            for answered in fake.callback_answers[answers:]:
                if answered.get("text") and answered.get("user_id") == user_id:
                    form = _ALERT if answered.get("show_alert") else _TOAST
                    write(form.format(text=answered["text"]))
    finally:
        fake.unsubscribe(show)


def _handle(fake: FakeTelegram, user_id: int, line: str) -> str:
    """Act on one typed line; returns "sent", "quit" or a notice to show (may be empty)."""
    stripped = line.strip()
    if line.startswith("="):
        # "=" sends the rest as it is, so that a number can be sent as text.
        if not line[1:].strip():
            return ""
        fake.send_text(user_id, line[1:])
        return "sent"
    if not stripped:
        return ""
    if stripped == ":quit":
        return "quit"
    if stripped == ":help":
        return _HELP
    if stripped == ":photo":
        fake.send_photo(user_id, demo_png())
        return "sent"
    if stripped.startswith(":file"):
        path = Path(stripped[len(":file") :].strip()).expanduser()
        if not path.is_file():
            return _NO_SUCH_FILE.format(path=path)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        fake.send_document(user_id, path.name, path.read_bytes(), mime_type=mime)
        return "sent"
    if stripped.startswith(":") and stripped[1:2].isalpha():
        return _HELP
    if stripped.isdigit():
        tapped = _tap_number(fake, user_id, int(stripped))
        if tapped is not None:
            return tapped
    fake.send_text(user_id, line)
    return "sent"


def _tap_number(fake: FakeTelegram, user_id: int, number: int) -> str | None:
    """Tap button `number` of the latest keyboard; None when there is no such button."""
    keyboard = next((m for m in reversed(fake.bot_messages(user_id)) if _keyboard(m)), None)
    if keyboard is None:
        return None
    buttons = [b for row in _keyboard(keyboard) for b in row]
    if not 1 <= number <= len(buttons):
        return None
    button = buttons[number - 1]
    if "callback_data" not in button:
        return _LINK.format(url=button.get("url", ""))
    fake.tap(user_id, keyboard["message_id"], button["callback_data"])
    return "sent"
