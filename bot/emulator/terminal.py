"""The terminal chat of `make demo`: the bot's messages with numbered buttons, typed replies."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.emulator.core import FakeTelegram
from bot.emulator.html import html_to_terminal
from bot.texts import labels

# A 1x1 PNG, sent by ":photo".
_PHOTO = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)


def _read_file(path: Path) -> bytes:
    """The bytes of a file the user named (run in a thread: it may be slow)."""
    return path.expanduser().read_bytes()


def _buttons(message: dict[str, Any]) -> list[list[dict[str, Any]]]:
    markup = message.get("reply_markup") or {}
    return markup.get("inline_keyboard") or []


def _render(message: dict[str, Any], *, ansi: bool, first_number: int) -> str:
    text = message.get("text") or message.get("caption") or ""
    lines = [html_to_terminal(text, ansi=ansi)]
    if message.get("document"):
        lines.append(f"📎 {message['document'].get('file_name', '')}")
    if message.get("photo"):
        lines.append("🖼")
    number = first_number
    for row in _buttons(message):
        labels = []
        for button in row:
            labels.append(f"[{number}] {button['text']}")
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
    wait_idle: Callable[[], Awaitable[None]],
) -> None:
    """Chat until :quit or end of input."""
    lab = labels()
    write(banner)
    shown: dict[int, str] = {}

    def show(event: str, message: dict[str, Any]) -> None:
        if message["chat"]["id"] != user_id:
            return
        if event == "delete":
            write(lab.DEMO_DELETED)
            return
        text = message.get("text") or message.get("caption") or ""
        if event == "edit" and shown.get(message["message_id"]) == text and not _buttons(message):
            # Only the buttons were taken away after a tap: nothing new to read.
            return
        shown[message["message_id"]] = text
        prefix = f"{lab.DEMO_UPDATED}\n" if event == "edit" else ""
        write(f"\n{prefix}{_render(message, ansi=ansi, first_number=1)}")

    fake.subscribe(show)
    while True:
        line = await read_line()
        if line is None:
            return
        line = line.rstrip("\n")
        if line.strip() == ":quit":
            return
        keyboard = next((m for m in reversed(fake.bot_messages(user_id)) if _buttons(m)), None)
        buttons = [b for row in _buttons(keyboard) for b in row] if keyboard else []
        stripped = line.strip()
        if stripped.isdigit() and buttons and 1 <= int(stripped) <= len(buttons):
            assert keyboard is not None
            button = buttons[int(stripped) - 1]
            fake.tap(user_id, keyboard["message_id"], button["callback_data"])
        elif stripped == ":photo":
            fake.send_photo(user_id, _PHOTO)
        elif stripped.startswith(":file "):
            path = Path(stripped[len(":file ") :].strip())
            try:
                data = await asyncio.to_thread(_read_file, path)
            except OSError:
                write(f"{lab.DEMO_NO_FILE} {path}")
                continue
            fake.send_document(user_id, path.name, data)
        else:
            fake.send_text(user_id, line[1:] if line.startswith("=") else line)
        await wait_idle()
