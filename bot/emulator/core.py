"""An in-memory stand-in for the Telegram Bot API: what the bot calls, and what phones send.

Messages are kept exactly as Telegram returns them (visible text plus entities), so the bot sees
what it would see live. The observation helpers (`messages`, `bot_messages`, subscribers) show
the bot's messages with the text as the bot sent it (HTML source) plus its `parse_mode`.

Not thread-safe: use one FakeTelegram from one event loop (injection may happen outside it).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import math
import re
import struct
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from bot.emulator.html import HtmlError, parse_html_entities, utf16_len
from bot.emulator.polls import PollsMixin

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_ANSWER_TEXT = 200
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile refuses bigger files
MAX_UPLOAD = 50 * 1024 * 1024
# fail_next error codes that are not HTTP answers but a broken connection.
NETWORK_ERROR = 0
TIMED_OUT = -1
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
# Telegram leaves these out unless allowed_updates asks for them.
_NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)  # fmt: skip
_SEND_METHODS = frozenset(
    {"sendmessage", "senddocument", "sendphoto", "sendchataction", "editmessagetext",
     "editmessagereplymarkup", "editmessagecaption", "deletemessage", "pinchatmessage",
     "sendpoll", "stoppoll"}
)  # fmt: skip
# The sends that Telegram's flood limits count (see FakeTelegram.set_flood_limit).
_FLOOD_METHODS = frozenset({"sendmessage", "senddocument", "sendphoto", "sendpoll"})
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
Subscriber = Callable[[str, dict[str, Any]], None]
Files = dict[str, tuple[str, bytes, str]]


class ApiError(Exception):
    """An error answer of the Bot API (error_code <= 0: the connection broke instead)."""

    def __init__(
        self,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id


class _Failure(msgspec.Struct):
    error_code: int
    description: str
    retry_after: int | None
    times: int


class _Bucket:
    """A leaky bucket: up to `capacity` sends at once, room coming back at `rate` per second.

    The model python-telegram-bot's AIORateLimiter paces by (aiolimiter), on a monotonic clock.
    """

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.level = 0.0
        self.checked = now

    def _leak(self, now: float) -> None:
        self.level = max(self.level - (now - self.checked) * self.rate, 0.0)
        self.checked = now

    def wait(self, now: float) -> float:
        """Seconds until one more send fits (0: it fits now)."""
        self._leak(now)
        return max(self.level + 1 - self.capacity, 0.0) / self.rate

    def add(self, now: float) -> None:
        """Count one send."""
        self._leak(now)
        self.level += 1


class _FloodLimit(msgspec.Struct, frozen=True):
    per_second: float | None
    per_chat_per_second: float | None
    per_chat_burst: int
    per_group_per_minute: float | None


class _Source(msgspec.Struct):
    """What the bot sent for a message's text or caption, before Telegram parsed it."""

    field: str
    text: str
    parse_mode: str | None


class _StoredFile(msgspec.Struct):
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    return None


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Strip surrounding whitespace as Telegram does, moving the entities along."""
    start = 0
    while start < len(text) and ord(text[start]) <= 32:
        start += 1
    end = len(text)
    while end > start and ord(text[end - 1]) <= 32:
        end -= 1
    if start == 0 and end == len(text):
        return text, entities
    kept = text[start:end]
    size = utf16_len(kept)
    moved = []
    for entity in entities:
        begin = max(entity["offset"] - start, 0)
        stop = min(entity["offset"] + entity["length"] - start, size)
        if stop > begin:
            moved.append({**entity, "offset": begin, "length": stop - begin})
    return kept, moved


def _int(value: Any, error: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: {error}") from None


def _json_param(value: Any, what: str) -> Any:
    """Objects may arrive JSON encoded (form bodies) or decoded (JSON bodies, in process)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: can't parse {what} JSON object") from None
    return value


class FakeTelegram(PollsMixin):
    """The Bot API's state for one bot: chats, messages, files and the update queue (polls:
    bot.emulator.polls)."""

    def __init__(
        self,
        *,
        token: str = "123456:EMULATOR",
        bot_id: int = 123456,
        bot_username: str = "zhishu_demo_bot",
        bot_first_name: str = "支书助手",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        # The flood limits count on this clock: the tests run it as fast as the bot's (Pacing).
        self.clock = clock
        # Messages carry the short user object; getMe adds the bot's capabilities.
        self.bot = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.users: dict[int, dict[str, Any]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self.members: dict[tuple[int, int], str] = {}  # (chat, user) -> status, groups only
        self._messages: dict[int, list[dict[str, Any]]] = {}
        self._sources: dict[tuple[int, int], _Source] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._updates: deque[dict[str, Any]] = deque()
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1000)
        self._file_numbers = itertools.count(1)
        self._open_queries: dict[str, int] = {}
        self._files: dict[str, _StoredFile] = {}
        self._paths: dict[str, _StoredFile] = {}
        self._file_folder: Path | None = None
        self._failures: dict[str, deque[_Failure]] = {}
        self._blocked: set[int] = set()
        self._left: dict[int, str] = {}  # group -> why the bot cannot post there
        self._migrated: dict[int, int] = {}  # old group id -> its supergroup id
        self._waiters: list[asyncio.Future[None]] = []
        self._poller: object | None = None
        self._allowed_updates: list[str] = []
        self._subscribers: list[Subscriber] = []
        self.update_count = 0
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.callback_answers: list[dict[str, Any]] = []
        # setMyCommands by scope and language, e.g. "default", "all_private_chats/en".
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.menu_buttons: dict[str, Any] = {}
        self.pinned: dict[int, int] = {}
        self.sent_files: list[dict[str, Any]] = []
        self._flood: _FloodLimit | None = None
        self._flood_buckets: dict[object, _Bucket] = {}
        self.flood_refusals = 0  # sends answered 429 by the flood limit
        # A realistic Bot API round trip for every call but getUpdates (seconds; the bench).
        self.latency = 0.0
        # Sends to these chats wait until their event is set (a test holds one user's replies).
        self.holds: dict[int, asyncio.Event] = {}
        self.webhook: dict[str, Any] = {}  # the last setWebhook (a webhook bot's test reads it)

    # ---- what phones do -------------------------------------------------------------------

    def keep_files_in(self, folder: Path) -> None:
        """Keep every file on disk in `folder`, and take back those kept there before: the demo's
        photos and files outlive a restart, as Telegram's file ids do (a photo saved with a
        meeting in one run would otherwise be some other file of the next run)."""
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._file_folder = folder
        index = folder / "index.json"
        kept = json.loads(index.read_text("utf-8")) if index.exists() else []
        for entry in kept:
            data = (folder / str(entry["number"])).read_bytes()
            stored = _StoredFile(entry["file_id"], entry["file_unique_id"], entry["path"], data)
            self._files[stored.file_id] = stored
            self._paths[stored.file_path] = stored
        self._file_numbers = itertools.count(max((e["number"] for e in kept), default=0) + 1)

    def _keep_file(self, number: int, stored: _StoredFile) -> None:
        folder = self._file_folder
        if folder is None:
            return
        (folder / str(number)).write_bytes(stored.data)
        index = folder / "index.json"
        kept = json.loads(index.read_text("utf-8")) if index.exists() else []
        entry = {"number": number, "file_id": stored.file_id, "path": stored.file_path}
        kept.append({**entry, "file_unique_id": stored.file_unique_id})
        # Replaced whole, never half written: a demo stopped here still starts next time.
        fresh = index.with_suffix(".tmp")
        fresh.write_text(json.dumps(kept), "utf-8")
        fresh.replace(index)

    def continue_updates_after(self, update_id: int) -> None:
        """Number the next updates from update_id + 1: the demo goes on after the updates its
        database has seen, and tests can play Telegram's fresh numbering after a quiet week."""
        self._update_ids = itertools.count(update_id + 1)

    def add_user(
        self,
        user_id: int,
        first_name: str = "测试",
        username: str | None = None,
        language_code: str = "zh-hans",
    ) -> dict[str, Any]:
        """A Telegram user with a private chat with the bot."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": first_name}
        if username:
            user["username"] = chat["username"] = username
        user["language_code"] = language_code
        self.users[user_id] = user
        self.chats[user_id] = chat
        return user

    def add_group(self, chat_id: int, title: str) -> dict[str, Any]:
        """A group chat the bot is in (ids below -10**12 are supergroups, as on Telegram)."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        kind = "supergroup" if chat_id < -(10**12) else "group"
        chat = {"id": chat_id, "type": kind, "title": title}
        self.chats[chat_id] = chat
        self._left.pop(chat_id, None)
        return chat

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """A user's status in a group: creator, administrator, member, left or kicked."""
        self.members[(chat_id, user_id)] = status

    def block(self, user_id: int) -> None:
        """The user blocked the bot: sends to their chat fail with 403."""
        self._blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        """The user unblocked the bot."""
        self._blocked.discard(user_id)

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of a method fail (error_code 0: connection lost).

        A 429 with retry_after makes PTB raise RetryAfter; 5xx give NetworkError;
        NETWORK_ERROR (0) and TIMED_OUT (-1) break the connection instead of answering.
        """
        queue = self._failures.setdefault(method.lower(), deque())
        queue.append(_Failure(error_code, description, retry_after, times))

    def set_flood_limit(
        self,
        per_second: float | None = 30,
        per_chat_per_second: float | None = 1,
        per_group_per_minute: float | None = 20,
        *,
        per_chat_burst: int = 3,
    ) -> None:
        """Answer sends above Telegram's rates with 429 "retry after N", as Telegram does.

        Off until called. Each limit is a leaky bucket (None: not enforced): `per_second`
        messages at once and that many per second for the whole bot; in one chat
        `per_chat_burst` at once, then `per_chat_per_second` ("short bursts" are tolerated); in
        a group `per_group_per_minute` at once and per minute. Only sends that succeeded count.
        `set_flood_limit(None, None, None)` turns it off again.
        """
        limits = (per_second, per_chat_per_second, per_group_per_minute)
        if any(limit is not None and limit <= 0 for limit in limits) or per_chat_burst < 1:
            raise ValueError("flood limits must be positive")
        self._flood_buckets.clear()
        if all(limit is None for limit in limits):
            self._flood = None
            return
        self._flood = _FloodLimit(
            per_second, per_chat_per_second, per_chat_burst, per_group_per_minute
        )

    def send_text(self, user_id: int, text: str, *, chat_id: int | None = None) -> dict[str, Any]:
        """The user sends a text (a leading /command gets its entity, as Telegram does)."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/") and len(text) > 1:
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        return self._push({"message": self._user_message(user_id, chat_id, content)})

    def tap(
        self, user_id: int, message_id: int, callback_data: str, *, chat_id: int | None = None
    ) -> dict[str, Any]:
        """The user taps a button with this data on that message (any data: tests forge)."""
        chat = self._chat_for(user_id, chat_id)
        found = self._find(chat["id"], message_id)
        # A message the bot can no longer see arrives as an InaccessibleMessage (date 0).
        message = (
            copy.deepcopy(found)
            if found is not None
            else {"chat": chat, "message_id": message_id, "date": 0}
        )
        query_id = str(next(self._query_ids))
        self._open_queries[query_id] = user_id
        query = {
            "id": query_id,
            "from": self._user(user_id),
            "message": message,
            "chat_instance": str(-abs(chat["id"]) * 7919),
            "data": callback_data,
        }
        return self._push({"callback_query": query})

    def tap_button(
        self,
        user_id: int,
        label_or_index: str | int,
        *,
        chat_id: int | None = None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        """Tap a button of the latest keyboard in the chat, by exact label or flat index."""
        chat = chat_id if chat_id is not None else user_id
        candidates = [
            m
            for m in self._messages.get(chat, [])
            if m["from"]["id"] == self.bot["id"] and self._inline_buttons(m)
        ]
        if message_id is not None:
            candidates = [m for m in candidates if m["message_id"] == message_id]
        if not candidates:
            raise LookupError(f"no bot message with buttons in chat {chat}")
        message = candidates[-1]
        buttons = self._inline_buttons(message)
        if isinstance(label_or_index, int):
            if not 0 <= label_or_index < len(buttons):
                raise LookupError(f"no button #{label_or_index}; there are {len(buttons)}")
            button = buttons[label_or_index]
        else:
            matching = [b for b in buttons if b.get("text") == label_or_index]
            if not matching:
                labels = [b.get("text") for b in buttons]
                raise LookupError(f"no button {label_or_index!r} in {labels}")
            button = matching[0]
        if "callback_data" not in button:
            raise LookupError(f"button {button.get('text')!r} has no callback_data")
        return self.tap(user_id, message["message_id"], button["callback_data"], chat_id=chat_id)

    def send_photo(
        self, user_id: int, data: bytes, *, caption: str | None = None, chat_id: int | None = None
    ) -> dict[str, Any]:
        """The user sends a photo."""
        content: dict[str, Any] = {"photo": self._photo_sizes(data)}
        if caption:
            content["caption"] = caption
        return self._push({"message": self._user_message(user_id, chat_id, content)})

    def send_document(
        self,
        user_id: int,
        filename: str,
        data: bytes,
        *,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        """The user sends a file."""
        stored = self._store_file("documents", filename, data)
        document = {"file_name": filename, "mime_type": mime_type, **self._file_info(stored)}
        content: dict[str, Any] = {"document": document}
        if caption:
            content["caption"] = caption
        return self._push({"message": self._user_message(user_id, chat_id, content)})

    def bot_added_to_group(self, user_id: int, chat_id: int, title: str) -> dict[str, Any]:
        """A user adds the bot to a group: my_chat_member, then the service message."""
        chat = self.add_group(chat_id, title)
        self.members.setdefault((chat_id, user_id), "creator")
        self._push(self._member_update(user_id, chat, "left", "member"))
        return self._push(
            {"message": self._user_message(user_id, chat_id, {"new_chat_members": [self.bot]})}
        )

    def group_migrated(self, user_id: int, chat_id: int, new_chat_id: int) -> dict[str, Any]:
        """The group becomes a supergroup: sends to the old id fail with 400 migrate_to_chat_id;
        the service messages go to both chats (migrate_to in the old, migrate_from in the new)."""
        self.add_group(new_chat_id, self.chats[chat_id].get("title", ""))
        self._migrated[chat_id] = new_chat_id
        self._push(
            {"message": self._user_message(user_id, chat_id, {"migrate_to_chat_id": new_chat_id})}
        )
        return self._push(
            {
                "message": self._user_message(
                    user_id, new_chat_id, {"migrate_from_chat_id": chat_id}
                )
            }
        )

    def bot_removed_from_group(self, user_id: int, chat_id: int) -> dict[str, Any]:
        """A user removes the bot from a group: sends there fail with 403 afterwards."""
        chat = self.chats[chat_id]
        self._left[chat_id] = f"Forbidden: bot was kicked from the {chat['type']} chat"
        return self._push(self._member_update(user_id, chat, "member", "kicked"))

    # ---- what tests look at ---------------------------------------------------------------

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Every message now shown in the chat (edits applied, deleted ones gone)."""
        return [self._view(m) for m in self._messages.get(chat_id, [])]

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages now shown in the chat, text as the bot sent it (HTML source)."""
        return [
            self._view(m)
            for m in self._messages.get(chat_id, [])
            if m["from"]["id"] == self.bot["id"]
        ]

    def last_bot_message(self, chat_id: int) -> dict[str, Any] | None:
        """The bot's latest message in the chat."""
        for message in reversed(self._messages.get(chat_id, [])):
            if message["from"]["id"] == self.bot["id"]:
                return self._view(message)
        return None

    def pending_updates(self) -> int:
        """Updates the bot has not confirmed with an offset yet."""
        return len(self._updates)

    def subscribe(self, callback: Subscriber) -> None:
        """Call back with ("new" | "edit" | "delete", message) on every bot message change."""
        self._subscribers.append(callback)

    def unsubscribe(self, callback: Subscriber) -> None:
        """Stop calling back."""
        self._subscribers.remove(callback)

    def file_bytes(self, file_path: str) -> bytes:
        """The content of a file by its getFile path."""
        stored = self._paths.get(file_path)
        if stored is None:
            raise ApiError(404, "Not Found")
        return stored.data

    # ---- the Bot API ----------------------------------------------------------------------

    async def call(self, method: str, params: dict[str, Any], files: Files | None = None) -> Any:
        """Answer one Bot API call (result is read-only), or raise ApiError as Telegram would."""
        name = method.lower()
        self.calls.append((method, params))
        queue = self._failures.get(name)
        if queue:
            failure = queue[0]
            failure.times -= 1
            if failure.times <= 0:
                queue.popleft()
            raise ApiError(failure.error_code, failure.description, failure.retry_after)
        handler = getattr(self, f"_m_{name}", None)
        if handler is None:
            raise ApiError(404, "Not Found")
        if self.latency and name != "getupdates":
            await asyncio.sleep(self.latency)
        if name in _SEND_METHODS:
            self._check_reachable(params)
            hold = self.holds.get(params.get("chat_id"))  # type: ignore[arg-type]
            if hold is not None:
                await hold.wait()
        buckets = self._flood_check(params) if self._flood and name in _FLOOD_METHODS else []
        # The result may share dicts with the fake's state: the transports serialize it at once
        # (copying here would cost the benchmarks about a tenth of their time).
        result = await handler(params, files or {})
        if buckets:
            now = self.clock()
            for bucket in buckets:
                bucket.add(now)
        return result

    # ---- internals ------------------------------------------------------------------------

    def _bucket(self, key: object, capacity: float, rate: float) -> _Bucket:
        bucket = self._flood_buckets.get(key)
        if bucket is None:
            bucket = self._flood_buckets[key] = _Bucket(capacity, rate, self.clock())
        return bucket

    def _flood_check(self, params: dict[str, Any]) -> list[_Bucket]:
        """The buckets a send to this chat counts in; 429 if one of them is full."""
        limit = self._flood
        if limit is None or params.get("chat_id") is None:
            return []
        chat_id = self._chat(params)["id"]
        buckets = []
        if limit.per_second is not None:
            buckets.append(self._bucket("bot", limit.per_second, limit.per_second))
        if limit.per_chat_per_second is not None:
            rate = limit.per_chat_per_second
            buckets.append(self._bucket(("chat", chat_id), limit.per_chat_burst, rate))
        if limit.per_group_per_minute is not None and chat_id < 0:
            per_minute = limit.per_group_per_minute
            buckets.append(self._bucket(("group", chat_id), per_minute, per_minute / 60))
        now = self.clock()
        wait = max((bucket.wait(now) for bucket in buckets), default=0.0)
        if wait > 1e-9:  # not float noise
            self.flood_refusals += 1
            # Telegram answers whole seconds, at least one.
            seconds = max(math.ceil(wait), 1)
            raise ApiError(429, f"Too Many Requests: retry after {seconds}", seconds)
        return buckets

    def _user(self, user_id: int) -> dict[str, Any]:
        return self.users.get(user_id) or self.add_user(user_id)

    def _chat_for(self, user_id: int, chat_id: int | None) -> dict[str, Any]:
        self._user(user_id)
        if chat_id is None or chat_id == user_id:
            return self.chats[user_id]
        if chat_id > 0:
            raise ValueError("a user can only write in their own private chat or in a group")
        return self.chats.get(chat_id) or self.add_group(chat_id, f"群组 {chat_id}")

    def _push(self, update: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        self.update_count += 1
        self._wake()
        return update

    def _wake(self) -> None:
        """Wake the long polls (possibly from outside their event loop)."""
        for waiter in self._waiters:
            loop = waiter.get_loop()
            if loop.is_closed():
                continue
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                loop.call_soon_threadsafe(
                    lambda w=waiter: None if w.done() else w.set_result(None)
                )

    def _member_update(
        self, user_id: int, chat: dict[str, Any], old: str, new: str
    ) -> dict[str, Any]:
        member = {
            "chat": chat,
            "from": self._user(user_id),
            "date": int(time.time()),
            "old_chat_member": self._member_json(self.bot, old),
            "new_chat_member": self._member_json(self.bot, new),
        }
        return {"my_chat_member": member}

    def _user_message(
        self, user_id: int, chat_id: int | None, content: dict[str, Any]
    ) -> dict[str, Any]:
        user = self._user(user_id)
        chat = self._chat_for(user_id, chat_id)
        message = {
            "message_id": self._next_message_id(chat["id"]),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        self._messages.setdefault(chat["id"], []).append(message)
        return copy.deepcopy(message)

    def _view(self, message: dict[str, Any]) -> dict[str, Any]:
        view = dict(message)
        source = self._sources.get((message["chat"]["id"], message["message_id"]))
        if source is not None:
            view[source.field] = source.text
            view["parse_mode"] = source.parse_mode
        return view

    def _notify(self, event: str, message: dict[str, Any]) -> None:
        view = self._view(message)
        for callback in list(self._subscribers):
            callback(event, view)

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _store_file(self, folder: str, name: str, data: bytes) -> _StoredFile:
        number = next(self._file_numbers)
        suffix = name.rsplit(".", 1)[-1] if "." in name else ""
        path = f"{folder}/file_{number}" + (f".{suffix}" if suffix else "")
        stored = _StoredFile(
            file_id=f"BQACAgUAAxkBAAI{number:06d}",
            file_unique_id=f"AgAD{number:06d}",
            file_path=path,
            data=data,
        )
        self._files[stored.file_id] = stored
        self._paths[path] = stored
        self._keep_file(number, stored)
        return stored

    @staticmethod
    def _file_info(stored: _StoredFile) -> dict[str, Any]:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }

    def _photo_sizes(self, data: bytes) -> list[dict[str, Any]]:
        width, height = _png_size(data) or (1280, 960)
        stored = self._store_file("photos", "photo.jpg", data)
        return [{**self._file_info(stored), "width": width, "height": height}]

    @staticmethod
    def _member_json(user: dict[str, Any], status: str) -> dict[str, Any]:
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            rights = (
                "can_manage_chat",
                "can_delete_messages",
                "can_manage_video_chats",
                "can_restrict_members",
                "can_promote_members",
                "can_change_info",
                "can_invite_users",
                "can_post_stories",
                "can_edit_stories",
                "can_delete_stories",
            )
            member.update({"can_be_edited": False, "is_anonymous": False})
            member.update(dict.fromkeys(rights, True))
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for chat in self.chats.values():
                if f"@{chat.get('username', '')}".lower() == chat_id.lower():
                    return chat
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat = self.chats.get(_int(chat_id, "chat not found"))
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _check_reachable(self, params: dict[str, Any]) -> None:
        """403 for a chat that blocked the bot or that the bot has left."""
        if params.get("chat_id") is None:
            return
        chat = self._chat(params)
        if chat["id"] in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat["id"] in self._migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=self._migrated[chat["id"]],
            )
        if chat["id"] in self._left:
            raise ApiError(403, self._left[chat["id"]])

    def _find(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        for message in self._messages.get(chat_id, []):
            if message["message_id"] == message_id:
                return message
        return None

    def _target(self, params: dict[str, Any], missing: str) -> dict[str, Any]:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat = self._chat(params)
        message = self._find(chat["id"], _int(params.get("message_id"), "message_id is empty"))
        if message is None:
            raise ApiError(400, f"Bad Request: {missing}")
        return message

    def _editable(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._target(params, "message to edit not found")
        if message["from"]["id"] != self.bot["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    @staticmethod
    def _format(
        text: Any, parse_mode: Any, entities: Any, *, limit: int, what: str
    ) -> tuple[str, list[dict[str, Any]]]:
        """Visible text and entities, validated as Telegram does."""
        text = "" if text is None else str(text)
        mode = str(parse_mode or "").lower()
        if mode == "html":
            try:
                plain, found = parse_html_entities(text)
            except HtmlError as exc:
                raise ApiError(400, str(exc)) from None
        elif mode in ("markdown", "markdownv2"):
            plain, found = text, []  # not validated: the bot uses HTML
        elif mode:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode}")
        else:
            plain, found = text, list(_json_param(entities, "entities") or [])
        plain, found = _trim(plain, found)
        if what == "text" and not plain:
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(plain) > limit:
            detail = "message is too long" if what == "text" else "message caption is too long"
            raise ApiError(400, f"Bad Request: {detail}")
        return plain, found

    @staticmethod
    def _inline_buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
        markup = message.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard") or [] for b in row]

    @staticmethod
    def _markup(value: Any) -> dict[str, Any] | None:
        """The inline keyboard to show (other keyboards are not part of the message)."""
        if not value:
            return None
        markup = _json_param(value, "reply keyboard markup")
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            if "keyboard" in markup:
                for row in markup["keyboard"]:
                    for button in row:
                        text = button if isinstance(button, str) else button.get("text")
                        if not text:
                            raise ApiError(400, "Bad Request: keyboard button text is empty")
            return None
        if not isinstance(rows, list | tuple) or not all(
            isinstance(r, list | tuple) for r in rows
        ):
            raise ApiError(400, "Bad Request: can't parse inline keyboard markup JSON object")
        for row in rows:
            for button in row:
                FakeTelegram._check_button(button)
        return {"inline_keyboard": [list(row) for row in rows]}

    @staticmethod
    def _check_button(button: Any) -> None:
        prefix = "Bad Request: can't parse inline keyboard button: "
        if not isinstance(button, dict) or "text" not in button:
            raise ApiError(400, prefix + 'Can\'t find field "text"')
        if not str(button["text"]).strip():
            raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
        actions = [key for key in _BUTTON_ACTIONS if key in button]
        if not actions:
            raise ApiError(400, prefix + "Text buttons are unallowed in the inline keyboard")
        if len(actions) > 1:
            raise ApiError(400, prefix + "only one of the optional fields can be used")
        data = button.get("callback_data")
        if "callback_data" in button and not (
            isinstance(data, str) and 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA
        ):
            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        url = button.get("url")
        if "url" in button and not (
            isinstance(url, str) and url.startswith(("http://", "https://", "tg://"))
        ):
            raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")

    def _bot_says(
        self, chat: dict[str, Any], params: dict[str, Any], content: dict[str, Any], field: str
    ) -> dict[str, Any]:
        """Store a new bot message (`field`: "text" or "caption", as the bot sent it)."""
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "from": self.bot,
            "chat": chat,
            "date": int(time.time()),
        }
        reply = self._reply_target(chat, params)
        if reply is not None:
            message["reply_to_message"] = reply
        message.update({k: v for k, v in content.items() if v not in (None, [], "")})
        self._messages.setdefault(chat["id"], []).append(message)
        if params.get(field) is not None:
            self._remember_source(message, field, params[field], params.get("parse_mode"))
        self._notify("new", message)
        return message

    def _reply_target(self, chat: dict[str, Any], params: dict[str, Any]) -> dict[str, Any] | None:
        reply = _json_param(params.get("reply_parameters"), "reply parameters") or {}
        message_id = reply.get("message_id") or params.get("reply_to_message_id")
        if not message_id:
            return None
        target = self._find(
            _int(reply.get("chat_id", chat["id"]), "chat not found"),
            _int(message_id, "message_id is invalid"),
        )
        if target is None:
            if reply.get("allow_sending_without_reply") or params.get(
                "allow_sending_without_reply"
            ):
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        # Telegram does not nest replies further than one level.
        return {k: copy.deepcopy(v) for k, v in target.items() if k != "reply_to_message"}

    def _remember_source(
        self, message: dict[str, Any], field: str, text: Any, parse_mode: Any
    ) -> None:
        key = (message["chat"]["id"], message["message_id"])
        if text is None:
            self._sources.pop(key, None)
        else:
            mode = str(parse_mode) if parse_mode else None
            self._sources[key] = _Source(field, str(text), mode)

    def _set_text(
        self, message: dict[str, Any], field: str, plain: str, entities: list[dict[str, Any]]
    ) -> None:
        entity_field = "entities" if field == "text" else "caption_entities"
        message.pop(field, None)
        message.pop(entity_field, None)
        if plain:
            message[field] = plain
        if entities:
            message[entity_field] = entities

    def _set_markup(self, message: dict[str, Any], markup: dict[str, Any] | None) -> None:
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup

    def _upload(self, params: dict[str, Any], files: Files, field: str) -> tuple[str, bytes, str]:
        """The file sent in `field`: uploaded, attach://, or an earlier file_id."""
        value = params.get(field)
        if isinstance(value, str) and value.startswith("attach://"):
            value = value[len("attach://") :]
        for key in (value, field):
            if isinstance(key, str) and key in files:
                return files[key]
        if isinstance(value, str) and value in self._files:
            stored = self._files[value]
            return stored.file_path.rsplit("/", 1)[-1], stored.data, "application/octet-stream"
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: failed to get HTTP URL content")
        if isinstance(value, str) and value:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        raise ApiError(400, f"Bad Request: there is no {field} in the request")

    # ---- methods: updates and bot settings ------------------------------------------------

    async def _m_getme(self, params: dict[str, Any], files: Files) -> Any:
        return {
            **self.bot,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
        elif offset < 0:
            # A negative offset keeps only the last -offset updates.
            while len(self._updates) > -offset:
                self._updates.popleft()

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        allowed = set(self._allowed_updates)
        kept: deque[dict[str, Any]] = deque()
        for update in self._updates:
            kind = next(k for k in update if k != "update_id")
            if (kind in allowed) if allowed else (kind not in _NOT_BY_DEFAULT):
                kept.append(update)
        self._updates = kept  # updates of types the bot does not want are dropped, as live
        return list(itertools.islice(kept, limit))

    async def _m_getupdates(self, params: dict[str, Any], files: Files) -> Any:
        offset = _int(params.get("offset") or 0, "offset is invalid")
        limit = min(max(_int(params.get("limit") or 100, "limit is invalid"), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = _json_param(params.get("allowed_updates"), "allowed updates")
        if allowed is not None:
            self._allowed_updates = list(allowed)
        self._confirm(offset)
        # The newest getUpdates wins; an older one still waiting gets 409, as live.
        me = object()
        self._poller = me
        self._wake()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = self._deliverable(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0:
                return batch
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                pass
            finally:
                self._waiters.remove(waiter)
            if self._poller is not me:
                raise ApiError(409, CONFLICT)

    async def _m_setwebhook(self, params: dict[str, Any], files: Files) -> Any:
        self.webhook = {"url": params.get("url", ""), "secret_token": params.get("secret_token")}
        return True

    async def _m_deletewebhook(self, params: dict[str, Any], files: Files) -> Any:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _m_getwebhookinfo(self, params: dict[str, Any], files: Files) -> Any:
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _scope_key(params: dict[str, Any]) -> str:
        scope = _json_param(params.get("scope"), "bot command scope") or {"type": "default"}
        key = str(scope.get("type", "default"))
        for part in ("chat_id", "user_id"):
            if part in scope:
                key += f":{scope[part]}"
        language = params.get("language_code")
        return f"{key}/{language}" if language else key

    async def _m_setmycommands(self, params: dict[str, Any], files: Files) -> Any:
        commands = _json_param(params.get("commands"), "commands") or []
        for command in commands:
            if not _COMMAND.fullmatch(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description must be non-empty")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands")
        key = self._scope_key(params)
        if commands:
            self.commands[key] = [dict(c) for c in commands]
        else:
            self.commands.pop(key, None)
        return True

    async def _m_getmycommands(self, params: dict[str, Any], files: Files) -> Any:
        return self.commands.get(self._scope_key(params), [])

    async def _m_deletemycommands(self, params: dict[str, Any], files: Files) -> Any:
        self.commands.pop(self._scope_key(params), None)
        return True

    async def _m_setchatmenubutton(self, params: dict[str, Any], files: Files) -> Any:
        button = _json_param(params.get("menu_button"), "menu button") or {"type": "default"}
        self.menu_buttons[str(params.get("chat_id", "default"))] = button
        return True

    async def _m_close(self, params: dict[str, Any], files: Files) -> Any:
        return True

    async def _m_logout(self, params: dict[str, Any], files: Files) -> Any:
        return True

    # ---- methods: messages ----------------------------------------------------------------

    async def _m_sendmessage(self, params: dict[str, Any], files: Files) -> Any:
        chat = self._chat(params)
        text, entities = self._format(
            params.get("text"),
            params.get("parse_mode"),
            params.get("entities"),
            limit=MAX_TEXT,
            what="text",
        )
        markup = self._markup(params.get("reply_markup"))
        content = {
            "text": text,
            "entities": entities,
            "reply_markup": markup,
            # Telegram returns the options a message was sent with (a preview turned off).
            "link_preview_options": _json_param(
                params.get("link_preview_options"), "link preview options"
            ),
        }
        return self._bot_says(chat, params, content, "text")

    def _edit_text(self, message: dict[str, Any], params: dict[str, Any], field: str) -> Any:
        """editMessageText / editMessageCaption: refuse a no-op edit, as Telegram does."""
        entities_key = "entities" if field == "text" else "caption_entities"
        value, entities = self._format(
            params.get(field),
            params.get("parse_mode"),
            params.get(entities_key),
            limit=MAX_TEXT if field == "text" else MAX_CAPTION,
            what=field,
        )
        # No reply_markup in an edit removes the inline keyboard, as on Telegram.
        markup = self._markup(params.get("reply_markup"))
        same = (
            message.get(field, ""),
            message.get(entities_key, []),
            message.get("reply_markup"),
        )
        if same == (value, entities, markup):
            raise ApiError(400, NOT_MODIFIED)
        self._set_text(message, field, value, entities)
        self._set_markup(message, markup)
        preview = _json_param(params.get("link_preview_options"), "link preview options")
        if preview:
            message["link_preview_options"] = preview
        else:
            message.pop("link_preview_options", None)
        message["edit_date"] = int(time.time())
        self._remember_source(message, field, params.get(field), params.get("parse_mode"))
        self._notify("edit", message)
        return message

    async def _m_editmessagetext(self, params: dict[str, Any], files: Files) -> Any:
        message = self._editable(params)
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        return self._edit_text(message, params, "text")

    async def _m_editmessagecaption(self, params: dict[str, Any], files: Files) -> Any:
        message = self._editable(params)
        if not any(k in message for k in ("document", "photo", "video", "audio", "animation")):
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        return self._edit_text(message, params, "caption")

    async def _m_editmessagereplymarkup(self, params: dict[str, Any], files: Files) -> Any:
        message = self._editable(params)
        markup = self._markup(params.get("reply_markup"))
        if message.get("reply_markup") == markup:
            raise ApiError(400, NOT_MODIFIED)
        self._set_markup(message, markup)
        message["edit_date"] = int(time.time())
        self._notify("edit", message)
        return message

    async def _m_deletemessage(self, params: dict[str, Any], files: Files) -> Any:
        message = self._target(params, "message to delete not found")
        is_bot = message["from"]["id"] == self.bot["id"]
        if not is_bot and message["chat"]["type"] != "private":
            raise ApiError(400, "Bad Request: message can't be deleted")
        self._messages[message["chat"]["id"]].remove(message)
        if is_bot:
            self._notify("delete", message)
        self._sources.pop((message["chat"]["id"], message["message_id"]), None)
        return True

    async def _m_answercallbackquery(self, params: dict[str, Any], files: Files) -> Any:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._open_queries:
            raise ApiError(400, QUERY_TOO_OLD)
        if len(str(params.get("text") or "")) > MAX_ANSWER_TEXT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        user_id = self._open_queries.pop(query_id)
        self.callback_answers.append({"user_id": user_id, **params})
        return True

    async def _m_sendchataction(self, params: dict[str, Any], files: Files) -> Any:
        self._chat(params)
        return True

    async def _m_pinchatmessage(self, params: dict[str, Any], files: Files) -> Any:
        message = self._target(params, "message to pin not found")
        self.pinned[message["chat"]["id"]] = message["message_id"]
        return True

    # ---- methods: files -------------------------------------------------------------------

    async def _send_file(self, params: dict[str, Any], files: Files, field: str) -> Any:
        chat = self._chat(params)
        name, data, mime = self._upload(params, files, field)
        if len(data) > MAX_UPLOAD:
            raise ApiError(413, "Request Entity Too Large")
        caption, entities = self._format(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            limit=MAX_CAPTION,
            what="caption",
        )
        markup = self._markup(params.get("reply_markup"))
        if field == "photo":
            media: Any = self._photo_sizes(data)
            file_id = media[-1]["file_id"]
        else:
            stored = self._store_file("documents", name, data)
            media = {"file_name": name, "mime_type": mime, **self._file_info(stored)}
            file_id = stored.file_id
        content = {
            field: media,
            "caption": caption,
            "caption_entities": entities,
            "reply_markup": markup,
        }
        message = self._bot_says(chat, params, content, "caption")
        self.sent_files.append(
            {
                "chat_id": chat["id"],
                "message_id": message["message_id"],
                "kind": field,
                "file_name": name,
                "mime_type": mime,
                "data": data,
                "file_id": file_id,
                "caption": caption,
            }
        )
        return message

    async def _m_senddocument(self, params: dict[str, Any], files: Files) -> Any:
        return await self._send_file(params, files, "document")

    async def _m_sendphoto(self, params: dict[str, Any], files: Files) -> Any:
        return await self._send_file(params, files, "photo")

    async def _m_getfile(self, params: dict[str, Any], files: Files) -> Any:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return {**self._file_info(stored), "file_path": stored.file_path}

    # ---- methods: chats -------------------------------------------------------------------

    async def _m_getchat(self, params: dict[str, Any], files: Files) -> Any:
        chat = self._chat(params)
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11}

    async def _m_getchatmember(self, params: dict[str, Any], files: Files) -> Any:
        chat = self._chat(params)
        user_id = _int(params.get("user_id"), "user not found")
        if user_id == self.bot["id"]:
            status = "left" if chat["id"] in self._left else "member"
            return self._member_json(self.bot, status)
        user = self.users.get(user_id)
        if user is None:
            raise ApiError(400, "Bad Request: user not found")
        if chat["type"] == "private":
            status = "member" if chat["id"] == user_id else "left"
        else:
            status = self.members.get((chat["id"], user_id), "member")
        return self._member_json(user, status)

    async def _m_getchatadministrators(self, params: dict[str, Any], files: Files) -> Any:
        chat = self._chat(params)
        if chat["type"] == "private":
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        return [
            self._member_json(self.users[user_id], status)
            for (chat_id, user_id), status in self.members.items()
            if chat_id == chat["id"] and status in ("creator", "administrator")
        ]

    async def _m_leavechat(self, params: dict[str, Any], files: Files) -> Any:
        chat = self._chat(params)
        if chat["type"] == "private":
            raise ApiError(
                400, "Bad Request: chat member status can't be changed in private chats"
            )
        self._left[chat["id"]] = f"Forbidden: bot is not a member of the {chat['type']} chat"
        return True
