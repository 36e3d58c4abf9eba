"""Flood control: one noisy user (or group) cannot slow everyone else down.

Every reply shares Telegram's budget of about 30 messages a second per bot, so a user or script
sending hundreds of updates a minute would delay every other secretary and the reminders. Each
user, and each group chat as a whole, has a token bucket: a generous burst, refilled at a steady
rate. An update that finds its bucket empty is dropped before any handler sees it; the first
drop of a flood episode gets one polite notice, the rest silence, until the bucket is full again.
Admins (config admin_ids and invited admins) are not exempt but have a larger bucket.

Counts live in memory: a restart forgives everyone, which is harmless for a limit this generous.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.application import BotContext, app_of
from bot.texts import render
from db import admins

_LOGGER = logging.getLogger(__name__)
# Before every other group (the chat events are at -2 and -1): the excess reaches no handler.
GROUP = -100


@dataclass(frozen=True)
class Limit:
    """A bucket of `burst` updates, refilled at `per_minute`."""

    per_minute: float
    burst: float

    def refill(self, tokens: float, seconds: float) -> float:
        """The tokens after `seconds` of refilling, never above the burst."""
        return min(self.burst, tokens + seconds * self.per_minute / 60)


# A person typing and tapping stays far below these; a script does not.
USER = Limit(per_minute=30, burst=30)
ADMIN = Limit(per_minute=120, burst=60)
# All members of one group chat together (a sign-in taps once per member).
GROUP_CHAT = Limit(per_minute=60, burst=60)
# Full buckets carry no information: they are forgotten once this many buckets exist.
_PRUNE_ABOVE = 10_000


class Verdict(enum.Enum):
    """What to do with an update."""

    PASS = "pass"
    DROP = "drop"  # silently: the flooder has already been told
    NOTIFY = "notify"  # drop, and tell the flooder once for this episode
    ASK_ROLE = "ask_role"  # the user's bucket is empty: an admin may have a bigger one


@dataclass
class _Bucket:
    limit: Limit
    tokens: float
    stamp: float
    # The flooder has been told; cleared once the bucket is full again (the episode is over).
    told: bool = False
    role_known: bool = False

    def refill(self, now: float) -> None:
        self.tokens = self.limit.refill(self.tokens, max(0.0, now - self.stamp))
        self.stamp = now
        if self.tokens >= self.limit.burst:
            self.told = False


class FloodLimiter:
    """The token buckets per user and per group chat (pure: time comes from the clock)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        user: Limit = USER,
        admin: Limit = ADMIN,
        group: Limit = GROUP_CHAT,
    ) -> None:
        self.clock = clock
        self.user, self.admin, self.group = user, admin, group
        self._buckets: dict[tuple[str, int], _Bucket] = {}

    def _bucket(self, key: tuple[str, int], limit: Limit, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _PRUNE_ABOVE:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(limit, limit.burst, now)
        bucket.refill(now)
        return bucket

    def _prune(self, now: float) -> None:
        for key, bucket in list(self._buckets.items()):
            bucket.refill(now)
            if bucket.tokens >= bucket.limit.burst:
                del self._buckets[key]

    def take(self, user_id: int | None, group_id: int | None) -> Verdict:
        """Spend one update from the user's and the group's buckets, or say why not."""
        now = self.clock()
        buckets = []
        if group_id is not None:
            buckets.append(self._bucket(("group", group_id), self.group, now))
        user = None
        if user_id is not None:
            user = self._bucket(("user", user_id), self.user, now)
            buckets.append(user)
        empty = next((b for b in buckets if b.tokens < 1), None)
        if empty is None:
            for bucket in buckets:
                bucket.tokens -= 1
            return Verdict.PASS
        if empty is user and not user.role_known:
            return Verdict.ASK_ROLE
        if empty.told:
            return Verdict.DROP
        empty.told = True
        return Verdict.NOTIFY

    def set_admin(self, user_id: int, is_admin: bool) -> None:
        """Record the user's role; an admin's bucket grows to the admin limit."""
        bucket = self._bucket(("user", user_id), self.user, self.clock())
        bucket.role_known = True
        if is_admin and bucket.limit != self.admin:
            bucket.tokens += self.admin.burst - bucket.limit.burst
            bucket.limit = self.admin


def _counted(update: Update) -> bool:
    # Membership changes come from Telegram, not from typing or tapping.
    return update.my_chat_member is None and update.chat_member is None


class FloodGuard(TypeHandler[Update, BotContext, None]):
    """The handler that lets an update through or drops it (ApplicationHandlerStop)."""

    def __init__(self, limiter: FloodLimiter) -> None:
        super().__init__(Update, self._check)
        self.limiter = limiter

    async def _check(self, update: Update, context: BotContext) -> None:
        """Pass the update on, or drop it (telling the flooder once per episode)."""
        if not _counted(update):
            return
        user = update.effective_user
        chat = update.effective_chat
        user_id = user.id if user else None
        group_id = chat.id if chat and chat.type != ChatType.PRIVATE else None
        verdict = self.limiter.take(user_id, group_id)
        if verdict is Verdict.ASK_ROLE and user_id is not None:
            application = app_of(context)
            configured = application.config.bot.admin_ids
            self.limiter.set_admin(
                user_id, await admins.is_admin(application.database, user_id, configured)
            )
            verdict = self.limiter.take(user_id, group_id)
        if verdict is Verdict.PASS:
            return
        if verdict is Verdict.NOTIFY:
            _LOGGER.info("Flood: dropping updates from user %s in chat %s", user_id, group_id)
            await _tell(update)
        raise ApplicationHandlerStop


async def _tell(update: Update) -> None:
    """The one polite notice of a flood episode: a toast for a tap, a message otherwise."""
    text = render("flood_notice")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text)
        elif update.effective_chat is not None:
            await update.effective_chat.send_message(text)
    except TelegramError as exc:
        _LOGGER.warning("Could not send the flood notice: %s", type(exc).__name__)


def register(application: Application, clock: Callable[[], float] = time.monotonic) -> None:
    """Put the flood guard before every other handler."""
    application.add_handler(FloodGuard(FloodLimiter(clock)), group=GROUP)


def limiter_of(application: Application) -> FloodLimiter:
    """The application's flood limiter (tests inject a clock through it)."""
    for handler in application.handlers.get(GROUP, []):
        if isinstance(handler, FloodGuard):
            return handler.limiter
    raise LookupError("the flood guard is not registered")
