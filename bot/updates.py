"""The update path: inbox before acknowledgement, order per user, quiet outages, health.

python-telegram-bot confirms a batch of updates to Telegram on its next getUpdates, before the
batch is handled; a crash in between would lose it. So the bot's get_updates stores the batch in
the inbox (one transaction) before returning it: what Telegram forgets is already on disk.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
from telegram import Bot, Chat, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor, ExtBot

from db import Database, inbox
from db.database import is_transient, utcnow

_LOGGER = logging.getLogger(__name__)
HEARTBEAT = "polled_at"
# The heartbeat is written at most this often (seconds): `check` asks for "recently".
HEARTBEAT_EVERY = 60.0
# The Bot API methods that send or edit a text with its link preview options.
_TEXT_ENDPOINTS = frozenset({"sendMessage", "editMessageText"})
_NO_PREVIEW = {"is_disabled": True}
_encode = msgspec.json.Encoder().encode


def clean_text(text: str) -> str:
    """Replace lone surrogates (unencodable in UTF-8) by U+FFFD; valid pairs are joined."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def clean_json(value: Any) -> Any:
    """Every string in a decoded JSON value cleaned by clean_text."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_json(item) for item in value]
    if isinstance(value, dict):
        return {clean_text(str(key)): clean_json(item) for key, item in value.items()}
    return value


def _cleaned(update: Update, bot: Bot, raw: dict[str, Any] | None = None) -> tuple[Update, str]:
    """The update (rebuilt only if its text had to be cleaned) and its JSON for the inbox.

    `raw` is the update as Telegram sent it, when at hand: turning the object back into JSON
    costs more than handling a /help.
    """
    data = raw if raw is not None else update.to_dict()
    try:
        # msgspec writes UTF-8 and refuses a lone surrogate (which SQLite could not store).
        text = _encode(data).decode()
    except (msgspec.EncodeError, UnicodeEncodeError):
        data = clean_json(data)
        return Update.de_json(data, bot), json.dumps(data, ensure_ascii=False)
    return update, text


async def store_updates(
    database: Database,
    health: DatabaseHealth,
    updates: Sequence[Update],
    bot: Bot,
    raw: dict[int, dict[str, Any]] | None = None,
) -> tuple[Update, ...]:
    """Clean the updates' text and store them in one transaction; returns the new ones.

    An update already in the inbox (sent again by Telegram, or replayed at start) is left out.
    """
    raw = raw or {}
    cleaned = [_cleaned(update, bot, raw.get(update.update_id)) for update in updates]
    rows = [
        inbox.Incoming(
            update.update_id,
            text,
            update.effective_user.id if update.effective_user else None,
            update.effective_chat.id if update.effective_chat else None,
        )
        for update, text in cleaned
    ]
    new = await inbox.store(database, rows)
    health.ok()
    return tuple(update for update, _ in cleaned if update.update_id in new)


class InboxQueue(asyncio.Queue[object]):
    """The update queue in webhook mode: an update is in the inbox before Telegram gets 200.

    python-telegram-bot's webhook answers Telegram once `put` returns; if storing fails, the
    request fails and Telegram delivers the update again later.
    """

    def __init__(self, database: Database, health: DatabaseHealth) -> None:
        super().__init__()
        self._database = database
        self._health = health

    async def put(self, item: object) -> None:
        """Store an update first (a known one is dropped), then queue it."""
        if isinstance(item, Update) and item.get_bot() is not None:
            try:
                stored = await store_updates(self._database, self._health, [item], item.get_bot())
            except Exception as exc:
                if is_transient(exc):
                    self._health.failed(exc)
                raise
            if not stored:
                return
            item = stored[0]
        await super().put(item)


# Seconds without a failed write before the database counts as usable again.
QUIET_AFTER_FAILURE = 30.0


class DatabaseHealth:
    """Tracks how long the database has been failing; past the limit, the bot must exit.

    A supervisor (systemd's Restart=always) can only help a process that ends; one that stays
    alive with an unusable database would answer nobody for ever.
    """

    def __init__(self, limit: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self.failing_since: float | None = None
        self.last_failure = 0.0
        self.on_give_up: Callable[[str], None] | None = None

    def ok(self) -> None:
        """A write succeeded. On a full disk a small write may still fit between failing ones:
        the database counts as usable again only once no write failed for a while."""
        if self.failing_since is None:
            return
        now = self._clock()
        if now - self.last_failure < min(self.limit, QUIET_AFTER_FAILURE):
            return
        _LOGGER.info("Database usable again after %.0f s", now - self.failing_since)
        self.failing_since = None

    def failed(self, exc: BaseException) -> None:
        """A write failed; after `limit` seconds of failures only, give up."""
        now = self._clock()
        if self.failing_since is not None and now - self.last_failure >= QUIET_AFTER_FAILURE:
            self.failing_since = None  # the last failure was long ago: a new episode
        self.last_failure = now
        if self.failing_since is None:
            self.failing_since = now
            _LOGGER.error("Database write failed: %s: %s", type(exc).__name__, exc)
            return
        if now - self.failing_since >= self.limit and self.on_give_up is not None:
            reason = (
                f"Database unusable for {now - self.failing_since:.0f} s "
                f"({type(exc).__name__}: {exc}); exiting so that the supervisor restarts the bot"
            )
            callback, self.on_give_up = self.on_give_up, None
            callback(reason)


class NetworkWatch:
    """One WARNING when Telegram becomes unreachable, one INFO when it is back."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.down_since: float | None = None

    def failed(self, exc: TelegramError) -> None:
        """The error callback of polling: expected network errors, no traceback."""
        if self.down_since is None:
            self.down_since = self._clock()
            _LOGGER.warning(
                "Telegram unreachable (%s); retrying quietly until it answers", type(exc).__name__
            )

    def succeeded(self) -> None:
        """A getUpdates call came back."""
        if self.down_since is not None:
            _LOGGER.info(
                "Telegram reachable again after an outage of %.0f s",
                self._clock() - self.down_since,
            )
            self.down_since = None


class InboxBot(ExtBot[Any]):
    """An ExtBot whose get_updates stores each batch in the inbox before returning it."""

    def __init__(
        self, *args: Any, database: Database, health: DatabaseHealth, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # python-telegram-bot freezes its objects after __init__.
        with self._unfrozen():
            self._database = database
            self._health = health
            self.network = NetworkWatch()
            # Offsets are confirmed here too: a batch that was all in the inbox already comes
            # back empty, and python-telegram-bot would not advance past it.
            self._next_offset = 0
            self._raw: list[Any] = []
            self._last_heartbeat = 0.0
            self._heartbeat_task: asyncio.Task[None] | None = None

    async def get_updates(  # type: ignore[override]
        self, offset: int | None = None, *args: Any, **kwargs: Any
    ) -> tuple[Update, ...]:
        """Fetch a batch, clean its text, store it in the inbox, return the new updates."""
        offset = max(offset or 0, self._next_offset) or None
        updates = await super().get_updates(offset, *args, **kwargs)
        self.network.succeeded()
        self._beat()
        if not updates:
            return updates
        with self._unfrozen():
            self._next_offset = updates[-1].update_id + 1
        raw = {item["update_id"]: item for item in self._raw if isinstance(item, dict)}
        try:
            return await store_updates(self._database, self._health, updates, self, raw)
        except Exception as exc:
            if not is_transient(exc):
                raise
            return self._unstored(updates, exc)

    async def _post(self, endpoint: str, *args: Any, **kwargs: Any) -> Any:
        """Keep getUpdates' JSON as Telegram sent it, for the inbox. A message the bot sent or
        edited comes back without its keyboard and formatting entities: Telegram returns the
        ones the bot just sent, nothing here reads them from the returned Message, and turning
        them into python-telegram-bot objects was a tenth of a /log step's time (measured).

        A text the bot sends or edits never shows a link preview (an invitation link would
        otherwise fill the chat with a card), unless the call asks for one.
        """
        if endpoint in _TEXT_ENDPOINTS:
            data = args[0] if args else kwargs.get("data")
            if data is not None and not isinstance(
                data.get("link_preview_options"), LinkPreviewOptions
            ):
                data["link_preview_options"] = _NO_PREVIEW
        result = await super()._post(endpoint, *args, **kwargs)
        if endpoint == "getUpdates" and isinstance(result, list):
            with self._unfrozen():
                self._raw = result
        elif isinstance(result, dict) and endpoint.startswith(("send", "edit")):
            result.pop("reply_markup", None)
            result.pop("entities", None)
            result.pop("link_preview_options", None)
        return result

    async def send_text(
        self, chat_id: int, text: str, reply_markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """Send a text (HTML, as every text the bot sends) whose sent Message nothing reads.

        Telegram's answer is not turned into a python-telegram-bot Message: that was a fifth of
        a /help reply's time (measured). The rate limiter, link previews and errors are as for
        `send_message`.
        """
        data = {"chat_id": chat_id, "text": text, "parse_mode": ParseMode.HTML}
        if reply_markup is not None:
            data["reply_markup"] = reply_markup
        await self._post("sendMessage", data)

    async def remove_keyboard(self, chat_id: int, message_id: int) -> None:
        """Take the buttons off a message. Nothing reads the edited message back, so Telegram's
        answer is not turned into a python-telegram-bot Message (a third of what taking the
        buttons off cost a tap, measured); the rate limiter and errors are as for any call.
        """
        await self._post("editMessageReplyMarkup", {"chat_id": chat_id, "message_id": message_id})

    def _unstored(self, updates: tuple[Update, ...], exc: BaseException) -> tuple[Update, ...]:
        """The database refused the batch even after waiting: handle it anyway.

        Its handlers fail to save too, and each user is told to try again later, which is
        better than silence; the failure counts towards giving up on the database.
        """
        self._health.failed(exc)
        return tuple(_cleaned(update, self)[0] for update in updates)

    async def check_webhook(self) -> None:
        """Webhook mode's heartbeat: Telegram answers getWebhookInfo (no polling to show it)."""
        try:
            await self.get_webhook_info()
        except TelegramError as exc:
            self.network.failed(exc)
            return
        self.network.succeeded()
        self._beat()

    def _beat(self) -> None:
        """Record that polling works, at most once a minute, without waiting for it."""
        now = time.monotonic()
        if now - self._last_heartbeat < HEARTBEAT_EVERY:
            return
        if self._heartbeat_task is not None and not self._heartbeat_task.done():
            return
        with self._unfrozen():
            self._last_heartbeat = now
            self._heartbeat_task = asyncio.create_task(self._write_heartbeat())

    async def _write_heartbeat(self) -> None:
        try:
            await inbox.set_state(self._database, HEARTBEAT, utcnow())
        except Exception as exc:  # a heartbeat is not worth an error: the next one retries
            _LOGGER.debug("Heartbeat not written: %s", type(exc).__name__)
            with self._unfrozen():
                self._last_heartbeat = 0.0


def update_keys(update: object) -> list[tuple[str, int]]:
    """The locks an update takes: its user and its chat (sorted, so always in one order)."""
    if not isinstance(update, Update):
        return []
    user, chat = update.effective_user, update.effective_chat
    if chat is not None and chat.type == Chat.PRIVATE and (user is None or user.id == chat.id):
        return [("user", chat.id)]  # a private chat: its user's lock is the chat's
    keys: set[tuple[str, int]] = set()
    if user is not None:
        keys.add(("user", user.id))
    if chat is not None:
        keys.add(("chat", chat.id))
    return sorted(keys)


class PerUserProcessor(BaseUpdateProcessor):
    """Updates of different users and chats run concurrently; one user's or chat's in order.

    python-telegram-bot starts the updates' tasks in the order they arrived; its semaphore and
    asyncio.Lock are both first come, first served, so one user's updates run in order.
    Locks are taken in sorted order, so two updates sharing a user and a chat cannot deadlock.
    """

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}
        self._waiting: dict[tuple[str, int], int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update's handlers once it holds its user's and its chat's locks."""
        keys = update_keys(update)
        for key in keys:
            self._waiting[key] = self._waiting.get(key, 0) + 1
        locks = [self._locks.setdefault(key, asyncio.Lock()) for key in keys]
        acquired: list[asyncio.Lock] = []
        try:
            for lock in locks:
                await lock.acquire()
                acquired.append(lock)
            await coroutine
        finally:
            for lock in reversed(acquired):
                lock.release()
            for key in keys:
                self._waiting[key] -= 1
                if not self._waiting[key]:
                    del self._waiting[key]
                    del self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
