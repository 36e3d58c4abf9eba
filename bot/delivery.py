"""Delivery of the outbox: every due reminder sent once, in order per chat, within the limits.

A row is marked sent only after Telegram confirmed it, and that mark is committed at once, before
anything else is written. So a crash loses nothing (unconfirmed rows are still pending) and
doubles nothing except in one window that no Bot API client can close: a message Telegram has
already accepted but whose confirmation has not been committed yet. A kill -9 (or a power cut)
in that window sends that message again after the restart; up to `concurrency` messages can be
in flight at once, each in that window for the time of one reply plus one small commit (about a
millisecond on a local Bot API, a round trip on the real one). A send that times out is the same
case: Telegram may have shown it, and it is retried. The Bot API has no idempotency key to ask
"did that message arrive?", so the choice is between this (at least once) and losing reminders.

Rate limits: python-telegram-bot's AIORateLimiter caps the whole bot (30 messages per second,
20 per minute per group, 429 answers retried). Its bucket lets 30 go at once and then keeps
itself full, so during a fan-out every send sits at the edge of Telegram's limit and the smallest
jitter is a 429 that stops all sends for over a second (measured: 164 of them, 12% slower, for
5,000 reminders). The deliverer therefore spaces its own sends evenly at `per_second` (29: a
little room is left for the replies to users who are chatting meanwhile), which measured no 429
at all. It sends to one chat one at a time and at most once per `chat_interval` (Telegram's
per-chat limit), keeps up to `concurrency` sends in flight, and if a 429 still gets through it
pauses every send for retry_after and then sends the same row again. All of these waits are on
the clock of the configuration's `Pacing` (bot/pacing.py), which the tests run faster.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import warnings
import weakref
from collections import Counter, deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import Enum, auto

import msgspec
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ContextTypes, Job, JobQueue
from telegram.warnings import PTBDeprecationWarning

from bot.application import BotApplication
from bot.pacing import Pacing
from db import Database, outbox, settings
from db.outbox import OutboxRow

_LOGGER = logging.getLogger(__name__)
JOB_NAME = "delivery"
# One run per database at a time, even with two deliverers: two runs would send a row twice.
_RUN_LOCKS: weakref.WeakKeyDictionary[Database, asyncio.Lock] = weakref.WeakKeyDictionary()


class DeliveryStats(msgspec.Struct):
    """What one run did: rows sent, retried, held for blocked chats, failed, expired."""

    sent: int = 0
    retried: int = 0
    blocked: int = 0
    failed: int = 0
    expired: int = 0
    seconds: float = 0.0


class _Next(Enum):
    """What a worker does with a chat after one send."""

    CONTINUE = auto()  # the row is done (sent, failed, missed): on with the chat's next row
    AGAIN = auto()  # 429: the same row again after the pause
    HOLD = auto()  # the chat waits for a later run (retry, blocked, moved)


def _retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns that retry_after becomes a timedelta; both forms are handled.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _markup(row: OutboxRow) -> InlineKeyboardMarkup | None:
    if not row.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in line]
            for line in row.buttons
        ]
    )


class _Run:
    """The state of one run: its clock, whether it may go on, the 429 waits of its rows."""

    def __init__(self, fixed_now: datetime | None, keep_going: Callable[[], bool]) -> None:
        self.fixed_now = fixed_now
        self.keep_going = keep_going
        self.halted = False  # the Bot API is unreachable: no new sends in this run
        self.waits: Counter[int] = Counter()
        self.migrated: set[int] = set()

    def now(self) -> datetime:
        return self.fixed_now or datetime.now(UTC)

    def active(self) -> bool:
        return not self.halted and self.keep_going()


class _Chats:
    """The chats of one batch, each with one worker at a time, each sent to in order.

    A chat waits in a heap by the clock time it may be sent to next (its pacing), or is with
    exactly one worker: its sends never overlap. Workers wait while another one is busy, since
    that one may give its chat back.
    """

    def __init__(self, rows: list[OutboxRow], ready_at: Callable[[int], float]) -> None:
        self._rows: dict[int, deque[OutboxRow]] = {}
        for row in rows:
            self._rows.setdefault(row.chat_id, deque()).append(row)
        self._ready_at = ready_at
        self._order = itertools.count()
        self._heap = [(ready_at(chat), next(self._order), chat) for chat in self._rows]
        heapq.heapify(self._heap)
        self._busy = 0
        self._changed = asyncio.Condition()

    @property
    def count(self) -> int:
        """How many chats the batch has."""
        return len(self._rows)

    def head(self, chat: int) -> OutboxRow:
        """The chat's next row."""
        return self._rows[chat][0]

    def _idle(self, run: _Run) -> bool:
        return bool(self._heap) or self._busy == 0 or not run.active()

    async def take(self, run: _Run) -> tuple[float, int] | None:
        """(clock time it may be sent to, chat), or None when the batch is done."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._idle(run))
            if not self._heap or not run.active():
                self._changed.notify_all()
                return None
            at, _, chat = heapq.heappop(self._heap)
            self._busy += 1
            return at, chat

    async def give_back(self, chat: int, then: _Next, resume_at: float) -> None:
        """The worker is done with the chat for now: queue its next row, if it has one."""
        if then is _Next.AGAIN:
            heapq.heappush(self._heap, (resume_at, next(self._order), chat))
        else:
            self._rows[chat].popleft()
            if then is _Next.CONTINUE and self._rows[chat]:
                heapq.heappush(self._heap, (self._ready_at(chat), next(self._order), chat))
        async with self._changed:
            self._busy -= 1
            self._changed.notify_all()


class Deliverer:
    """Sends the outbox's due rows through the application's bot.

    `concurrency` sends (to different chats) wait on the rate limiter at once; rows are read
    `batch` at a time; a row that failed `max_attempts` times (network, 5xx) is marked failed;
    retries wait `backoff` seconds, doubling up to `max_backoff`. `pacing` (default: the
    application's configuration) gives the clock, `chat_interval` (one chat gets at most one
    message in that time) and `per_second` (sends spaced evenly; None: only the application's
    rate limiter paces them).
    """

    def __init__(
        self,
        application: BotApplication,
        *,
        concurrency: int = 8,
        batch: int = 200,
        max_attempts: int = 10,
        backoff: float = 2.0,
        max_backoff: float = 600.0,
        waits_in_place: int = 3,
        pacing: Pacing | None = None,
    ) -> None:
        if concurrency < 1 or batch < 1 or max_attempts < 1:
            raise ValueError("concurrency, batch and max_attempts must be at least 1")
        self.application = application
        self.concurrency = concurrency
        self.batch = batch
        self.max_attempts = max_attempts
        self.pacing = pacing or application.config.pacing
        self.chat_interval = self.pacing.chat_interval
        self.backoff = backoff
        self.max_backoff = max_backoff
        # A 429 that got past the rate limiter is waited out in place this often before the row
        # goes back to the outbox (not counted as a failed attempt).
        self.waits_in_place = waits_in_place
        self.job: Job[ContextTypes.DEFAULT_TYPE] | None = None
        self._again = False
        self.per_second = self.pacing.per_second
        self._next_slot = 0.0  # clock time of the next evenly spaced send
        self._resume_at = 0.0  # clock time before which nothing is sent (a 429 pause)
        self._last_send: dict[int, float] = {}  # chat -> clock time of its last send

    @property
    def database(self) -> Database:
        """The application's database, where the outbox is."""
        return self.application.database

    @property
    def _lock(self) -> asyncio.Lock:
        return _RUN_LOCKS.setdefault(self.database, asyncio.Lock())

    # ---- scheduling -----------------------------------------------------------------------

    def start(
        self, job_queue: JobQueue[ContextTypes.DEFAULT_TYPE], interval: float | None = None
    ) -> Job[ContextTypes.DEFAULT_TYPE]:
        """Run every `interval` clock seconds (default: the pacing's) as the repeating job
        "delivery", and now if the application is running."""
        every = self.pacing.real(self.pacing.delivery_interval if interval is None else interval)
        # APScheduler cannot start an interval job "now": the first run is spawned here instead.
        self.job = job_queue.run_repeating(
            self._tick,
            interval=every,
            name=JOB_NAME,
            job_kwargs={"misfire_grace_time": None, "coalesce": True},
        )
        self._spawn()
        return self.job

    async def _tick(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        # A fan-out can take minutes: it runs as a task, so that the job returns at once and the
        # next tick is not reported as "skipped" by the scheduler.
        self._spawn()

    async def wake(self) -> None:
        """Run soon (new rows were enqueued); a run in progress makes one more pass instead.

        Does nothing while the application is not running: its job runs once it is.
        """
        self._spawn()

    def _spawn(self) -> None:
        if self._lock.locked():
            self._again = True
        elif self.application.running:
            self.application.create_task(self._pass(), name=JOB_NAME)

    async def _pass(self) -> None:
        """Runs until nothing is due, while the application runs (its stop ends this soon)."""
        if self._lock.locked():
            self._again = True
            return
        async with self._lock:
            self._again = True
            while self._again and self.application.running:
                self._again = False
                await self._run(_Run(None, lambda: self.application.running))

    async def run_once(self, now: datetime | None = None) -> DeliveryStats:
        """Expire overdue rows, then send every due row; `now` fixes the clock (tests).

        Waits for a run in progress to end first. Without `now`, each batch is read at the
        current time, so rows whose retry comes due during a long fan-out go out in it too.
        """
        async with self._lock:
            return await self._run(_Run(now, lambda: True))

    # ---- one run --------------------------------------------------------------------------

    async def _run(self, run: _Run) -> DeliveryStats:
        clock = self.pacing
        started = clock.now()
        stats = DeliveryStats()
        self._last_send = {
            chat: at for chat, at in self._last_send.items() if started - at < self.chat_interval
        }
        previous: list[OutboxRow] = []
        while run.active():
            now = run.now()
            stats.expired += await outbox.expire(self.database, now)
            rows = await outbox.due(self.database, now, self.batch)
            if not rows or rows == previous:  # the same rows unchanged: guard against a loop
                break
            previous = rows
            await self._send_batch(rows, run, stats)
        stats.seconds = clock.now() - started
        if stats.sent or stats.retried or stats.blocked or stats.failed or stats.expired:
            _LOGGER.info(
                "Delivery: %d sent, %d retried, %d held (blocked chats), %d failed, %d expired "
                "in %.1f s",
                stats.sent,
                stats.retried,
                stats.blocked,
                stats.failed,
                stats.expired,
                stats.seconds,
            )
        return stats

    async def _send_batch(self, rows: list[OutboxRow], run: _Run, stats: DeliveryStats) -> None:
        """Send a batch: chats concurrently, each chat's rows one at a time and in order."""
        clock = self.pacing
        chats = _Chats(
            rows, lambda chat: self._last_send.get(chat, -math.inf) + self.chat_interval
        )

        async def worker() -> None:
            while (taken := await chats.take(run)) is not None:
                at, chat = taken
                then = _Next.HOLD
                try:
                    delay = max(at, self._resume_at) - clock.now()
                    if delay > 0:
                        await clock.sleep(delay)
                    await self._pace()
                    if run.active():
                        then = await self._deliver(chats.head(chat), run, stats)
                finally:
                    await chats.give_back(chat, then, self._resume_at)

        # A failure (the database) cancels the other workers: no send outlives its run.
        async with asyncio.TaskGroup() as workers:
            for _ in range(min(self.concurrency, chats.count)):
                workers.create_task(worker())

    async def _pace(self) -> None:
        """Wait for this send's slot: sends evenly spaced at `per_second`, never in bursts."""
        if not self.per_second:
            return
        now = self.pacing.now()
        slot = max(self._next_slot, now)
        self._next_slot = slot + 1 / self.per_second
        if slot > now:
            await self.pacing.sleep(slot - now)

    async def _deliver(self, row: OutboxRow, run: _Run, stats: DeliveryStats) -> _Next:
        """Send one row and record the outcome."""
        db = self.database
        now = run.now()
        if row.expires_at is not None and row.expires_at <= now:
            stats.expired += await outbox.expire(db, now)
            return _Next.CONTINUE
        try:
            message = await self.application.bot.send_message(
                row.chat_id, row.text, reply_markup=_markup(row)
            )
        except RetryAfter as error:
            seconds = _retry_seconds(error)
            self._resume_at = max(self._resume_at, self.pacing.now() + seconds)
            stats.retried += 1
            run.waits[row.id] += 1
            _LOGGER.info("Outbox row %d: 429, every send waits %.0f s", row.id, seconds)
            if run.waits[row.id] <= self.waits_in_place:
                return _Next.AGAIN
            later = now + timedelta(seconds=seconds)
            await outbox.mark_retry(db, row.id, str(error), later, attempt=False)
            return _Next.HOLD
        except Forbidden as error:
            held = await outbox.mark_blocked(db, row.chat_id, now)
            self.application.blocked_chats.add(row.chat_id)
            stats.blocked += held
            _LOGGER.info("Chat %d refuses the bot (%s): %d rows held", row.chat_id, error, held)
            return _Next.HOLD
        except ChatMigrated as error:
            if row.id in run.migrated:
                return await self._retry(row, now, error, stats)
            run.migrated.add(row.id)
            moved = await outbox.move_chat(db, row.chat_id, error.new_chat_id)
            await settings.move_group(db, row.chat_id, error.new_chat_id)
            _LOGGER.info(
                "Chat %d moved to %d: %d rows follow", row.chat_id, error.new_chat_id, moved
            )
            return _Next.HOLD
        except BadRequest as error:
            # "chat not found", an invalid text or button: sending it again cannot help.
            await outbox.mark_failed(db, row.id, str(error))
            stats.failed += 1
            _LOGGER.warning("Outbox row %d refused: %s", row.id, error)
            return _Next.CONTINUE
        except NetworkError as error:
            # Timeouts, 5xx, no connection: the API is unreachable for the other chats as well,
            # so this run stops sending and the rows in flight are retried with backoff.
            run.halted = True
            return await self._retry(row, now, error, stats)
        except TelegramError as error:
            return await self._retry(row, now, error, stats)
        except Exception as error:
            _LOGGER.exception("Outbox row %d: unexpected failure", row.id)
            return await self._retry(row, now, error, stats)
        # Committed even if this task is being cancelled: the message is out.
        await asyncio.shield(
            outbox.mark_sent(db, row.id, message.message_id, run.fixed_now or datetime.now(UTC))
        )
        self._last_send[row.chat_id] = self.pacing.now()
        stats.sent += 1
        return _Next.CONTINUE

    async def _retry(
        self, row: OutboxRow, now: datetime, error: Exception, stats: DeliveryStats
    ) -> _Next:
        """Try the row again later (exponential backoff), or give up after max_attempts."""
        reason = f"{type(error).__name__}: {error}"
        if row.attempts + 1 >= self.max_attempts:
            await outbox.mark_failed(self.database, row.id, reason)
            stats.failed += 1
            _LOGGER.warning("Outbox row %d failed after %d attempts", row.id, row.attempts + 1)
            return _Next.CONTINUE
        delay = min(self.backoff * 2**row.attempts, self.max_backoff)
        await outbox.mark_retry(self.database, row.id, reason, now + timedelta(seconds=delay))
        stats.retried += 1
        _LOGGER.info(
            "Outbox row %d: %s, retry %d in %.0f s",
            row.id,
            type(error).__name__,
            row.attempts + 1,
            delay,
        )
        return _Next.HOLD
