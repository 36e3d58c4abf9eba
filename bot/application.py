"""The Application subclass: owns the database, the inbox and the isolation of each update."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Update
from telegram.error import NetworkError
from telegram.ext import Application, ContextTypes

from bot.config import Config
from bot.updates import DatabaseHealth, InboxBot
from db import Database, inbox
from db.database import is_transient

_LOGGER = logging.getLogger(__name__)
# An update older than this is not answered after a restart: the user has moved on.
REPLAY_WITHIN = timedelta(days=1)
EXIT_DATABASE = 3
# Marks of handled updates are written together: after this many seconds, or at once when
# this many are waiting.
MARK_DELAY = 0.2
MARK_BATCH = 200


class BotApplication(Application):  # type: ignore[misc]
    """An Application that owns the database and marks each update handled in its inbox.

    It has no python-telegram-bot persistence: every state a user waits on is committed by its
    handler before the answer goes out (bot.forms, db.user_state), so a crash (kill -9) can
    never lose a step that the user already saw answered.
    """

    def __init__(
        self, *, config: Config, database: Database, health: DatabaseHealth, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.database = database
        self.health = health
        health.on_give_up = self._give_up
        # Non-zero when the bot stopped because the database stayed unusable (see `run`).
        self.exit_code = 0
        self.updates_done = 0
        # Chats that blocked the bot (403); one who writes again is unblocked (bot.handlers.chats).
        self.blocked_chats: set[int] = set()
        self._progress = asyncio.Condition()
        # The guided conversations' engine (bot.forms), set by the factory in bot.app.
        self.forms: Any = None
        # Updates whose handlers finished, not yet marked handled in the inbox.
        self._finished: set[int] = set()
        self._commit_lock = asyncio.Lock()
        self._mark_task: asyncio.Task[None] | None = None
        # Set by stop(): the marks waiting for MARK_DELAY are written at once instead.
        self._stopping = asyncio.Event()
        # Update ids replayed from the inbox at start (the flood guard does not count them).
        self.replayed: set[int] = set()
        # Start-up work that need not hold up the first poll (the command menu).
        self._background: set[asyncio.Task[None]] = set()

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` beside the updates; a shutdown cancels it if it is still running."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def initialize(self) -> None:
        """Open the database (and apply migrations), load the open forms, queue the inbox."""
        await self.database.open()
        from db.outbox import blocked_chat_ids

        self.blocked_chats = await blocked_chat_ids(self.database)
        if self.forms is not None:
            await self.forms.load(self.database)
        await super().initialize()
        await self._queue_unhandled()

    async def _queue_unhandled(self) -> None:
        """Put what the inbox holds unhandled (a crash, a kill) first in the queue, in order."""
        rows = await inbox.unhandled(self.database)
        oldest = (datetime.now(UTC) - REPLAY_WITHIN).isoformat(timespec="seconds")
        stale = [update_id for update_id, _, received in rows if received < oldest]
        if stale:
            _LOGGER.warning("Dropping %d unhandled updates older than a day", len(stale))
            await inbox.drop(self.database, stale)
        fresh = [(update_id, data) for update_id, data, received in rows if received >= oldest]
        if fresh:
            _LOGGER.info("Handling %d updates left unhandled by the last run", len(fresh))
        self.replayed.update(update_id for update_id, _ in fresh)
        for _, data in fresh:
            # put_nowait: in webhook mode `put` would store it again (and drop it as known).
            self.update_queue.put_nowait(Update.de_json(json.loads(data), self.bot))
        pruned = await inbox.prune(self.database, REPLAY_WITHIN)
        if pruned:
            _LOGGER.info("Pruned %d handled updates from the inbox", pruned)

    async def start(self) -> None:
        self._stopping.clear()
        await super().start()

    async def stop(self) -> None:
        """Stop without waiting out MARK_DELAY: the waiting marks are written straight away."""
        self._stopping.set()
        await super().stop()

    async def shutdown(self) -> None:
        """Close the database after everything else has stopped and the last marks are in."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        try:
            await super().shutdown()
        finally:
            if self.database.is_open:
                await self.flush_marks()
            # Its threads would keep the process alive (a supervisor waits for the exit).
            await self.database.close()

    async def process_update(self, update: object) -> None:
        """Handle the update, then mark it handled (with others, or at once: see `_commit`).

        Nothing raises out of here: python-telegram-bot's update fetcher would stop, and the
        bot would go deaf while the process stays alive.
        """
        try:
            await super().process_update(update)
            if isinstance(update, Update):
                self._finished.add(update.update_id)
            await self._commit(force=False)
        except Exception as exc:
            _LOGGER.error(
                "Update %s not saved: %s: %s",
                update.update_id if isinstance(update, Update) else None,
                type(exc).__name__,
                exc,
            )
            await self._tell_not_saved(update)
        finally:
            async with self._progress:
                self.updates_done += 1
                self._progress.notify_all()

    async def _commit(self, *, force: bool = True) -> None:
        """Mark handled every update whose handlers finished, in one transaction.

        A handler commits its own effects (a form its step, a repository its rows) before it
        answers, so what is left is the mark. Unless forced, it waits to be written together
        with others: replaying an update whose mark was lost repeats at most a reply, and a
        write per /help would halve the bot's speed.
        """
        async with self._commit_lock:
            handled = sorted(self._finished)
            if not handled:
                return
            if not force and self.running and len(handled) < MARK_BATCH:
                self._mark_later()
                return
            self._finished.difference_update(handled)
            try:
                async with self.database.transaction() as conn:
                    await inbox.mark_handled(conn, handled)
            except Exception as exc:
                # Marked with the next successful commit.
                self._finished.update(handled)
                if is_transient(exc):
                    self.health.failed(exc)
                raise
        self.health.ok()

    def _mark_later(self) -> None:
        """Flush the waiting marks after MARK_DELAY, once (awaited by stop(), like any task)."""
        if self._mark_task is not None and not self._mark_task.done():
            return
        self._mark_task = self.create_task(self._flush_marks_later(), name="inbox-marks")

    async def _flush_marks_later(self) -> None:
        with contextlib.suppress(TimeoutError):  # the delay is over: write them now
            await asyncio.wait_for(self._stopping.wait(), MARK_DELAY)
        await self.flush_marks()

    async def process_error(
        self, update: object | None, error: Exception, *args: Any, **kwargs: Any
    ) -> bool:
        """Count a database failure of a handler towards giving up, then run the error handler.

        Polling errors (update None) are expected network trouble: one warning per outage
        (InboxBot.network), not a traceback for every retry.
        """
        if update is None and isinstance(error, NetworkError) and isinstance(self.bot, InboxBot):
            self.bot.network.failed(error)
            return False
        if is_transient(error):
            self.health.failed(error)
        return await super().process_error(update, error, *args, **kwargs)

    async def flush_marks(self) -> None:
        """Mark handled, now, every update whose handlers finished (a timer, a deleted
        branch's updates, the shutdown). A failure is logged; the marks wait for the next run.
        """
        try:
            await self._commit()
        except Exception as exc:
            _LOGGER.error("Could not mark updates handled: %s: %s", type(exc).__name__, exc)

    async def _tell_not_saved(self, update: object) -> None:
        """Say that the step was not saved, rather than leaving the user guessing."""
        from bot.texts import render

        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None or chat.type != chat.PRIVATE:
            return
        try:
            await self.bot.send_message(chat.id, render("save_failed"))
        except Exception as exc:  # the network may be down as well: nothing more to do
            _LOGGER.warning("Could not tell the user: %s", type(exc).__name__)

    def _give_up(self, reason: str) -> None:
        """The database stayed unusable: stop with a non-zero exit code (see bot.cli.run)."""
        _LOGGER.critical(reason)
        self.exit_code = EXIT_DATABASE
        if self.running:
            self.stop_running()

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
