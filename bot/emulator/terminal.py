"""The terminal chat of `make demo`: the bot's messages with numbered buttons, typed replies."""

from __future__ import annotations

import asyncio
import contextlib
import json
import mimetypes
import re
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
_SAVED = _WORDS.DEMO_SAVED
_WHERE_YOU_WERE = _WORDS.DEMO_WHERE_YOU_WERE
PASTE_START = ":paste"
PASTE_END = ":end"
_UNSAFE = re.compile(r"[^\w.\-（）()]+")


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


def save_sent_file(fake: FakeTelegram, message: dict[str, Any], folder: Path) -> Path | None:
    """Save a file or photo the bot sent in `message` under `folder`; its path (else None)."""
    for sent in reversed(fake.sent_files):
        if (
            sent["message_id"] == message["message_id"]
            and sent["chat_id"] == message["chat"]["id"]
        ):
            name = sent.get("file_name") or f"photo-{message['message_id']}.jpg"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{message['message_id']}-{_UNSAFE.sub('_', name)}"
            path.write_bytes(sent["data"])
            return path
    return None


async def read_message(read_line: Callable[[], Awaitable[str | None]]) -> str | None:
    """One message typed in the terminal: a line ending in \\ goes on on the next line, and
    between :paste and :end everything is one message (None at end of input)."""
    line = await read_line()
    if line is None:
        return None
    line = line.rstrip("\r\n")
    if line.strip() == PASTE_START:
        lines = []
        while (more := await read_line()) is not None and more.rstrip("\r\n") != PASTE_END:
            lines.append(more.rstrip("\r\n"))
        return "\n".join(lines) if lines else ""
    parts = []
    while line.endswith("\\"):
        parts.append(line[:-1])
        more = await read_line()
        if more is None:
            break
        line = more.rstrip("\r\n")
    else:
        parts.append(line)
    return "\n".join(parts)


async def restore_last(fake: FakeTelegram, user_id: int, state: Path) -> bool:
    """Show again the bot's last message of the previous run (with its buttons, which still
    work: the conversation was saved in the database). False if there is none."""
    try:
        last = json.loads(await asyncio.to_thread(state.read_text, encoding="utf-8"))
    except (OSError, ValueError):
        return False
    params: dict[str, Any] = {"chat_id": user_id, "text": last["text"]}
    if last.get("parse_mode"):
        params["parse_mode"] = last["parse_mode"]
    if last.get("reply_markup"):
        params["reply_markup"] = last["reply_markup"]
    try:
        await fake.call("sendMessage", params)
    except Exception:  # an old or damaged file: start afresh rather than fail
        return False
    return True


def remember_last(message: dict[str, Any], state: Path) -> None:
    """Keep the bot's latest text message so that the next run can show it again."""
    if not message.get("text"):
        return
    kept = {k: message.get(k) for k in ("text", "parse_mode", "reply_markup")}
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")


async def run_terminal(
    fake: FakeTelegram,
    *,
    user_id: int,
    read_line: Callable[[], Awaitable[str | None]],
    write: Callable[[str], None],
    ansi: bool,
    banner: str,
    wait_idle: Callable[[], Awaitable[None]] | None = None,
    files: Path | None = None,
    state: Path | None = None,
) -> None:
    """Chat in the user's private chat until :quit or end of input.

    Files the bot sends are saved under `files`; the bot's last message is kept in `state` and
    shown again (buttons working) when the next run starts.
    """
    write(banner)
    shown: dict[int, str] = {}
    changes = 0
    arrived: list[dict[str, Any]] = []

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
        if event == "new" and (message.get("document") or message.get("photo")):
            arrived.append(message)  # its bytes are recorded just after this notice
        if state is not None:
            remember_last(message, state)

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
        if state is not None and await restore_last(fake, user_id, state):
            write(_WHERE_YOU_WERE)
        while True:
            line = await read_message(read_line)
            if line is None:
                return
            answers = len(fake.callback_answers)
            outcome = _handle(fake, user_id, line)
            if outcome == "quit":
                return
            if outcome == "sent":
                await settle()
            elif outcome:
                write(outcome)
            while arrived:
                path = save_sent_file(fake, arrived.pop(0), files) if files else None
                if path is not None:
                    write(_SAVED.format(path=path))
            for answered in fake.callback_answers[answers:]:
                if answered.get("text") and answered.get("user_id") == user_id:
                    form = _ALERT if answered.get("show_alert") else _TOAST
                    write(form.format(text=answered["text"]))
    finally:
        fake.unsubscribe(show)


def _handle(fake: FakeTelegram, user_id: int, line: str) -> str:
    """Act on one typed line; returns "sent", "quit" or a notice to show (may be empty)."""
    stripped = line.strip()
    if "\n" in line:  # several lines: always a text
        fake.send_text(user_id, line)
        return "sent"
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
