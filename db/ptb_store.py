"""Storage of python-telegram-bot's persistence data (user/chat/bot data, conversations)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from db import inbox
from db.database import Database


@dataclass
class PendingWrites:
    """Changes collected during one persistence run, written together in one transaction."""

    user_data: dict[int, str | None] = field(default_factory=dict)
    chat_data: dict[int, str | None] = field(default_factory=dict)
    bot_data: str | None = None
    conversations: dict[tuple[str, str], str | None] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(
            self.user_data or self.chat_data or self.bot_data is not None or self.conversations
        )


async def load_user_data(db: Database) -> dict[int, dict[Any, Any]]:
    """Every stored user_data dict by user id."""
    rows = await db.fetchall("SELECT user_id, data FROM ptb_user_data")
    return {row["user_id"]: json.loads(row["data"]) for row in rows}


async def load_chat_data(db: Database) -> dict[int, dict[Any, Any]]:
    """Every stored chat_data dict by chat id."""
    rows = await db.fetchall("SELECT chat_id, data FROM ptb_chat_data")
    return {row["chat_id"]: json.loads(row["data"]) for row in rows}


async def load_bot_data(db: Database) -> dict[Any, Any]:
    """The stored bot_data dict."""
    row = await db.fetchone("SELECT data FROM ptb_bot_data WHERE id = 1")
    return json.loads(row["data"]) if row else {}


async def load_conversations(db: Database, name: str) -> dict[tuple[Any, ...], Any]:
    """The stored states of one named conversation handler."""
    rows = await db.fetchall(
        "SELECT conversation_key, state FROM ptb_conversations WHERE name = ?", (name,)
    )
    return {tuple(json.loads(row["conversation_key"])): json.loads(row["state"]) for row in rows}


async def write(db: Database, pending: PendingWrites, handled: Iterable[int] = ()) -> None:
    """Write a batch of changes atomically (None means delete), marking `handled` updates done.

    Marking in the same transaction means a replayed update finds the state it left behind
    only when it was marked handled too, so it is never applied twice.
    """
    async with db.transaction() as conn:
        await inbox.mark_handled(conn, handled)
        for user_id, data in pending.user_data.items():
            if data is None:
                await conn.execute("DELETE FROM ptb_user_data WHERE user_id = ?", (user_id,))
            else:
                await conn.execute(
                    "INSERT INTO ptb_user_data (user_id, data) VALUES (?, ?) "
                    "ON CONFLICT(user_id) DO UPDATE SET data = excluded.data",
                    (user_id, data),
                )
        for chat_id, data in pending.chat_data.items():
            if data is None:
                await conn.execute("DELETE FROM ptb_chat_data WHERE chat_id = ?", (chat_id,))
            else:
                await conn.execute(
                    "INSERT INTO ptb_chat_data (chat_id, data) VALUES (?, ?) "
                    "ON CONFLICT(chat_id) DO UPDATE SET data = excluded.data",
                    (chat_id, data),
                )
        if pending.bot_data is not None:
            await conn.execute(
                "INSERT INTO ptb_bot_data (id, data) VALUES (1, ?) "
                "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
                (pending.bot_data,),
            )
        for (name, key), state in pending.conversations.items():
            if state is None:
                await conn.execute(
                    "DELETE FROM ptb_conversations WHERE name = ? AND conversation_key = ?",
                    (name, key),
                )
            else:
                await conn.execute(
                    "INSERT INTO ptb_conversations (name, conversation_key, state) "
                    "VALUES (?, ?, ?) ON CONFLICT(name, conversation_key) "
                    "DO UPDATE SET state = excluded.state",
                    (name, key, state),
                )
