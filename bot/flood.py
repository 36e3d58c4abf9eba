"""Flood control: one noisy user (or group) cannot slow everyone else down.

Every reply shares Telegram's budget of about 30 messages a second per bot, and a chat that gets
more than about one message a second makes Telegram answer 429, on which python-telegram-bot
pauses every send; so a user or script sending hundreds of updates a minute would delay every
other secretary and the reminders. Each user, and the messages of each group chat, have a token
bucket: a burst, refilled at a steady rate. An update that finds its bucket empty is dropped
before any handler sees it; the first drop of a flood episode gets one polite notice, the rest
silence, until the bucket is full again. Admins (config admin_ids and invited admins) are not
exempt but have a larger bucket.

Counts live in memory: a restart forgives everyone, which is harmless (it takes seconds to refill).
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections.abc import Callable

import msgspec
from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop, BaseHandler

from bot.application import BotContext, app_of
from bot.texts import render
from db import admins

_LOGGER = logging.getLogger(__name__)
# Before every other group (the chat events are at -2 and -1): the excess reaches no handler.
GROUP = -100


class Limit(msgspec.Struct, frozen=True):
    """A bucket of `burst` updates, refilled at `per_minute`."""

    per_minute: float
    burst: float

    def refill(self, tokens: float, seconds: float) -> float:
        """The tokens after `seconds` of refilling, never above the burst."""
        return min(self.burst, tokens + seconds * self.per_minute / 60)


# Sized to what one chat can take: Telegram lets a bot send about one message a second to a
# chat, with bursts of about three, and answers more with 429, on which python-telegram-bot
# pauses every send of the bot. So a user gets three updates at once and 30 a minute after
# that: a person reading and tapping stays below it, a script does not, and one flooder's
# replies never cost anyone else a 429.
USER = Limit(per_minute=30, burst=3)
ADMIN = Limit(per_minute=50, burst=3)
# The notice is a message to the chat too: it waits until a second after the last reply (a drop
# before that is silent) and takes a token, so that the chat never gets more than it can take.
NOTICE_GAP = 1.0
# The messages (not taps) in one group chat together: Telegram allows 20 messages a minute in
# a group, which python-telegram-bot waits out; a sign-in's taps are answered by toasts.
GROUP_CHAT = Limit(per_minute=15, burst=10)
# An album arrives as one update per photo; it counts once. Ids of the latest albums kept:
_ALBUMS_KEPT = 1_000
# Full buckets carry no information: they are forgotten once this many buckets exist.
_PRUNE_ABOVE = 10_000


class Verdict(enum.Enum):
    """What to do with an update."""

    PASS = "pass"
    DROP = "drop"  # silently: the flooder has already been told
    NOTIFY = "notify"  # drop, and tell the flooder once for this episode
    ASK_ROLE = "ask_role"  # the user's bucket ran empty: an admin's is bigger


class _Bucket(msgspec.Struct):
    limit: Limit
    tokens: float
    stamp: float
    # The flooder has been told; cleared once the bucket is full again (the episode is over).
    told: bool = False
    last_pass: float = float("-inf")
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
        self._albums: dict[str, None] = {}

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
                bucket.last_pass = now
            return Verdict.PASS
        if empty is user and not user.role_known:
            return Verdict.ASK_ROLE
        if empty.told or now - empty.last_pass < NOTICE_GAP:
            return Verdict.DROP
        empty.told = True
        empty.tokens -= 1
        return Verdict.NOTIFY

    def seen_album(self, media_group_id: str) -> bool:
        """Whether another part of this album has been counted already."""
        if media_group_id in self._albums:
            return True
        self._albums[media_group_id] = None
        if len(self._albums) > _ALBUMS_KEPT:
            del self._albums[next(iter(self._albums))]
        return False

    def set_admin(self, user_id: int, is_admin: bool, group_id: int | None) -> Verdict:
        """Record the user's role (an admin's bucket grows to the admin limit), then take."""
        bucket = self._bucket(("user", user_id), self.user, self.clock())
        bucket.role_known = True
        if is_admin and bucket.limit != self.admin:
            bucket.tokens += self.admin.burst - bucket.limit.burst
            bucket.limit = self.admin
        return self.take(user_id, group_id)


def _counted(update: Update) -> bool:
    # Membership changes come from Telegram, not from typing or tapping.
    return update.my_chat_member is None and update.chat_member is None


class FloodGuard(BaseHandler[Update, BotContext, None]):
    """The handler that lets an update through or drops it (ApplicationHandlerStop)."""

    def __init__(self, limiter: FloodLimiter, replayed: set[int] | None = None) -> None:
        super().__init__(self._decide)
        self.limiter = limiter
        # Updates handled again from the inbox after a restart (BotApplication.replayed): they
        # passed the guard when they came, and must not use up the bucket a second time.
        self.replayed = replayed if replayed is not None else set()
        # The verdicts that need the callback (a notice, a role lookup), by update id.
        self._pending: dict[int, Verdict] = {}

    def check_update(self, update: object) -> bool:
        """False lets the update through; True hands it to the callback to drop.

        A silent drop happens here, before python-telegram-bot builds a context: raised from
        the check, ApplicationHandlerStop also spares building a context and trying the other
        handlers, so a flooder's excess costs next to nothing.
        """
        if not isinstance(update, Update) or not _counted(update):
            return False
        if update.update_id in self.replayed:
            self.replayed.discard(update.update_id)
            return False
        album = update.message.media_group_id if update.message else None
        if album is not None and self.limiter.seen_album(album):
            return False
        verdict = self.limiter.take(*_keys(update))
        if verdict is Verdict.PASS:
            return False
        if verdict is Verdict.DROP:
            raise ApplicationHandlerStop
        self._pending[update.update_id] = verdict
        return True

    async def _decide(self, update: Update, context: BotContext) -> None:
        """Look up whether an empty bucket is an admin's (larger); tell the flooder once."""
        verdict = self._pending.pop(update.update_id, Verdict.DROP)
        user_id, group_id = _keys(update)
        if verdict is Verdict.ASK_ROLE and user_id is not None:
            application = app_of(context)
            configured = application.config.bot.admin_ids
            is_admin = await admins.is_admin(application.database, user_id, configured)
            verdict = self.limiter.set_admin(user_id, is_admin, group_id)
        if verdict is Verdict.PASS:
            return
        if verdict is Verdict.NOTIFY:
            _LOGGER.info("Flood: dropping updates from user %s in chat %s", user_id, group_id)
            await _tell(update)
        raise ApplicationHandlerStop


def _keys(update: Update) -> tuple[int | None, int | None]:
    """The user's id, and the group's for a message in a group (a tap is answered by a toast)."""
    user, chat = update.effective_user, update.effective_chat
    in_group = chat is not None and chat.type != ChatType.PRIVATE
    group_id = chat.id if in_group and update.callback_query is None else None
    return (user.id if user is not None else None), group_id


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
    replayed = getattr(application, "replayed", None)
    application.add_handler(FloodGuard(FloodLimiter(clock), replayed), group=GROUP)


def unlimited(application: Application) -> None:
    """No limit at all: for the offline demo, where the one user types into a local emulator."""
    limiter = limiter_of(application)
    limiter.user = limiter.admin = limiter.group = Limit(per_minute=math.inf, burst=math.inf)


def limiter_of(application: Application) -> FloodLimiter:
    """The application's flood limiter (tests inject a clock through it)."""
    for handler in application.handlers.get(GROUP, []):
        if isinstance(handler, FloodGuard):
            return handler.limiter
    raise LookupError("the flood guard is not registered")
