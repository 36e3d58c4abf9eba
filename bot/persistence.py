"""python-telegram-bot persistence on the bot's own SQLite file.

Data is kept as JSON (never pickle), so dict keys in user/chat data must be strings. Every run
of ``Application.update_persistence`` collects its changes and writes them in one transaction;
the application runs it after every update, so a crash loses no step of a conversation.
Unchanged data is not written again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from db import Database, ptb_store

_LOGGER = logging.getLogger(__name__)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class SQLitePersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Conversation states and user/chat data in the bot's SQLite database.

    bot_data is not persisted: bot-wide state belongs in the database's own tables.
    """

    def __init__(self, db: Database, update_interval: float = 60) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=True, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.db = db
        self._pending = ptb_store.PendingWrites()
        # What is on disk, so that a write is skipped when nothing changed.
        self._stored: dict[tuple[str, Any], str] = {}

    def _changed(self, kind: str, key: Any, value: Any) -> str | None:
        """The value as JSON if it differs from what is stored, else None."""
        text = _dump(value)
        if self._stored.get((kind, key)) == text:
            return None
        self._stored[(kind, key)] = text
        return text

    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        """Load every user's data."""
        data = await ptb_store.load_user_data(self.db)
        self._stored.update({("user", k): _dump(v) for k, v in data.items()})
        return data

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        """Load every chat's data."""
        data = await ptb_store.load_chat_data(self.db)
        self._stored.update({("chat", k): _dump(v) for k, v in data.items()})
        return data

    async def get_bot_data(self) -> dict[Any, Any]:
        """Load the bot-wide data."""
        data = await ptb_store.load_bot_data(self.db)
        self._stored[("bot", 1)] = _dump(data)
        return data

    async def get_callback_data(self) -> None:
        """Arbitrary callback data is not used: buttons carry short strings."""
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        """Load the states of one conversation handler."""
        data = await ptb_store.load_conversations(self.db, name)
        self._stored.update({("conv", (name, _dump(list(k)))): _dump(v) for k, v in data.items()})
        return data

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        """Stage a user's data."""
        if (text := self._changed("user", user_id, data)) is not None:
            self._pending.user_data[user_id] = text

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        """Stage a chat's data."""
        if (text := self._changed("chat", chat_id, data)) is not None:
            self._pending.chat_data[chat_id] = text

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        """Stage the bot-wide data."""
        if (text := self._changed("bot", 1, data)) is not None:
            self._pending.bot_data = text

    async def update_callback_data(self, data: Any) -> None:
        """Arbitrary callback data is not used."""

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        """Stage one conversation's new state (None ends it)."""
        conv_key = (name, _dump(list(key)))
        if new_state is None:
            if ("conv", conv_key) in self._stored or conv_key in self._pending.conversations:
                self._stored.pop(("conv", conv_key), None)
                self._pending.conversations[conv_key] = None
            return
        if (text := self._changed("conv", conv_key, new_state)) is not None:
            self._pending.conversations[conv_key] = text

    async def drop_user_data(self, user_id: int) -> None:
        """Forget a user's data."""
        self._stored.pop(("user", user_id), None)
        self._pending.user_data[user_id] = None

    async def drop_chat_data(self, chat_id: int) -> None:
        """Forget a chat's data."""
        self._stored.pop(("chat", chat_id), None)
        self._pending.chat_data[chat_id] = None

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        """The database is written only by this process: nothing to refresh."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        """The database is written only by this process: nothing to refresh."""

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        """The database is written only by this process: nothing to refresh."""

    @property
    def has_pending(self) -> bool:
        """Whether the last persistence run staged anything to write."""
        return bool(self._pending)

    async def write_pending(self, handled: Sequence[int] = ()) -> None:
        """Write what the last persistence run staged and mark `handled`, in one transaction.

        A failed write keeps the batch for the next run and raises: the caller isolates it to
        its update (the bot keeps polling).
        """
        if not (self._pending or handled) or not self.db.is_open:
            return
        pending, self._pending = self._pending, ptb_store.PendingWrites()
        try:
            await ptb_store.write(self.db, pending, handled)
        except BaseException:
            # Keep the batch (newer changes win) so the next run retries it.
            pending.user_data.update(self._pending.user_data)
            pending.chat_data.update(self._pending.chat_data)
            pending.conversations.update(self._pending.conversations)
            if self._pending.bot_data is not None:
                pending.bot_data = self._pending.bot_data
            self._pending = pending
            raise

    async def flush(self) -> None:
        """Called by the application on shutdown: a failure is logged, the bot still stops."""
        try:
            await self.write_pending()
        except Exception as exc:
            _LOGGER.error("Could not save on shutdown: %s: %s", type(exc).__name__, exc)
