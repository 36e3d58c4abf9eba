"""The Application subclass: owns the database and commits persistence after every update."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram.ext import Application, ContextTypes

from bot.config import Config
from bot.persistence import SQLitePersistence
from db import Database


class BotApplication(Application):  # type: ignore[misc]
    """An Application that owns the database and saves its persistence after every update.

    python-telegram-bot saves persistence on a timer; saving right after each update means a
    crash (kill -9) can never lose a step of a conversation that the user already saw answered.
    """

    def __init__(self, *, config: Config, database: Database, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.database = database
        self.updates_done = 0
        # Chats that blocked the bot (403); one who writes again is unblocked (bot.handlers.chats).
        self.blocked_chats: set[int] = set()
        self._progress = asyncio.Condition()
        # The guided conversations' engine (bot.forms), set by the factory in bot.app.
        self.forms: Any = None

    async def initialize(self) -> None:
        """Open the database (and apply migrations) before persistence is loaded from it."""
        await self.database.open()
        from db.outbox import blocked_chat_ids

        self.blocked_chats = await blocked_chat_ids(self.database)
        if self.forms is not None:
            await self.forms.load(self.database)
        await super().initialize()

    async def shutdown(self) -> None:
        """Close the database after everything else has stopped."""
        await super().shutdown()
        await self.database.close()

    async def process_update(self, update: object) -> None:
        """Handle the update, then commit the persistence it changed."""
        try:
            await super().process_update(update)
            await self.update_persistence()
        finally:
            async with self._progress:
                self.updates_done += 1
                self._progress.notify_all()

    async def update_persistence(self) -> None:
        """Stage every change (python-telegram-bot) and write them in one transaction."""
        await super().update_persistence()
        if isinstance(self.persistence, SQLitePersistence):
            await self.persistence.write_pending()

    async def wait_for_updates(self, count: int, timeout: float = 10) -> None:
        """Wait until `count` updates in all have been fully handled (tests, demo, bench)."""
        async with asyncio.timeout(timeout), self._progress:
            await self._progress.wait_for(lambda: self.updates_done >= count)


BotContext = ContextTypes.DEFAULT_TYPE


def app_of(context: BotContext) -> BotApplication:
    """The running BotApplication, from a handler's context."""
    application = context.application
    assert isinstance(application, BotApplication)
    return application
