"""Group cards edited from the database at a paced rate (the sign-in card, the meeting notice).

A card is edited at most once every card_edit_interval seconds (bot/pacing.py) however fast
people tap: taps only write the database and ask for a refresh, which a JobQueue job renders from
the database. Each kind of card names how its view is read; the throttle is shared code.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import msgspec
from telegram.error import BadRequest, Forbidden, RetryAfter

from bot.application import BotApplication, BotContext, app_of
from bot.delivery import _retry_seconds
from bot.handlers.common import Buttons, keyboard

_LOGGER = logging.getLogger(__name__)


class CardView(msgspec.Struct, frozen=True):
    """Where a card is and what it should show; `final`: no more edits will follow."""

    chat_id: int
    message_id: int
    text: str
    rows: Buttons
    final: bool


View = Callable[[BotApplication, int], Awaitable[CardView | None]]


class _Edits(msgspec.Struct):
    """Per card: when it was last edited, the text shown, whether a refresh is scheduled."""

    edited_at: dict[int, float] = msgspec.field(default_factory=dict)
    shown: dict[int, str] = msgspec.field(default_factory=dict)
    pending: set[int] = msgspec.field(default_factory=set)
    locks: dict[int, asyncio.Lock] = msgspec.field(default_factory=dict)


class PacedCards(msgspec.Struct, frozen=True):
    """One kind of card: its name (jobs, bot_data) and how its view is read (None: gone)."""

    name: str
    view: View

    def edits(self, application: BotApplication) -> _Edits:
        """The throttle's state (bot_data is not persisted: a restart edits at once)."""
        key = f"paced_cards_{self.name}"
        found = application.bot_data.get(key)
        if found is None:
            found = application.bot_data[key] = _Edits()
        return found

    def posted(self, application: BotApplication, card_id: int, text: str) -> None:
        """The card was just sent with this text: the next edit waits its interval."""
        edits = self.edits(application)
        edits.shown[card_id] = text
        edits.edited_at[card_id] = application.config.pacing.now()

    def request(self, application: BotApplication, card_id: int) -> None:
        """Ask for the card to show the database's state: at once, or when the interval is
        over."""
        edits = self.edits(application)
        if card_id in edits.pending:
            return
        job_queue = application.job_queue
        if job_queue is None:
            application.create_task(self.refresh(application, card_id))
            return
        edits.pending.add(card_id)
        clock = application.config.pacing
        last = edits.edited_at.get(card_id)
        delay = 0.0 if last is None else last + clock.card_edit_interval - clock.now()
        job_queue.run_once(
            self._job, when=clock.real(delay), data=card_id, name=f"{self.name}-card-{card_id}"
        )

    def stop(self, application: BotApplication, card_id: int) -> None:
        """Drop a scheduled refresh (the caller refreshes at once, e.g. on closing)."""
        if job_queue := application.job_queue:
            for job in job_queue.get_jobs_by_name(f"{self.name}-card-{card_id}"):
                job.schedule_removal()
        self.edits(application).pending.discard(card_id)

    async def _job(self, context: BotContext) -> None:
        job = context.job
        assert job is not None and isinstance(job.data, int)
        application = app_of(context)
        self.edits(application).pending.discard(job.data)
        await self.refresh(application, job.data)

    async def refresh(self, application: BotApplication, card_id: int) -> None:
        """Edit the card to the database's state (skipped if unchanged; 429 retried later)."""
        edits = self.edits(application)
        lock = edits.locks.setdefault(card_id, asyncio.Lock())
        async with lock:
            view = await self.view(application, card_id)
            if view is None:
                return
            if edits.shown.get(card_id) == view.text:
                return
            clock = application.config.pacing
            edits.edited_at[card_id] = clock.now()
            try:
                await application.bot.edit_message_text(
                    view.text,
                    chat_id=view.chat_id,
                    message_id=view.message_id,
                    reply_markup=keyboard(view.rows),
                )
            except RetryAfter as exc:
                wait = _retry_seconds(exc)
                _LOGGER.info("%s %d: edit refused for %.0f s, retrying", self.name, card_id, wait)
                edits.edited_at[card_id] = clock.now() + wait - clock.card_edit_interval
                self.request(application, card_id)
                return
            except BadRequest as exc:
                if "not modified" not in exc.message.lower():
                    _LOGGER.warning("%s %d cannot be edited: %s", self.name, card_id, exc.message)
                    return
            except Forbidden:
                _LOGGER.warning("%s %d: the bot left group %d", self.name, card_id, view.chat_id)
                return
            if view.final:
                # Closed for good: nothing left to throttle.
                edits.shown.pop(card_id, None)
                edits.edited_at.pop(card_id, None)
                edits.locks.pop(card_id, None)
            else:
                edits.shown[card_id] = view.text
