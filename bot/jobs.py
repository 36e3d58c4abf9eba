"""The scheduled work: the daily reminder sweep and the outbox delivery, rebuilt at every start.

Nothing about a reminder lives only in the job queue: the sweep decides from the database and
writes to the outbox under unique keys, so it is simply run again at start-up (a sweep missed
while the bot was down runs the same day) and every night after midnight. Whether today's sweep
has run is read from the database (sweep_runs), checked every few minutes, so a job the
scheduler dropped or ran late is made up for.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import UTC, datetime, time, timedelta
from functools import partial
from pathlib import Path

from telegram.ext import Application, ContextTypes

from bot.application import REPLAY_WITHIN, BotApplication
from bot.delivery import Deliverer
from bot.reminders import sweep
from bot.updates import HEARTBEAT_EVERY, InboxBot
from db import DatabaseError, inbox, outbox
from db.backup import backup, keep_latest

_LOGGER = logging.getLogger(__name__)
SWEEP_AT = time(0, 5)
BACKUP_AT = time(3, 30)
DELIVERER = "deliverer"
# Reminders sent (or missed, cancelled, failed) are kept this long, a year and a month, then
# deleted: the outbox stops growing (a city's five years held 590,000 sent rows).
OUTBOX_KEEP = timedelta(days=400)
# How often the database is asked whether today's sweep has run (seconds).
CATCH_UP_EVERY = 600
# APScheduler drops a job that starts more than its grace time late (1 s by default), which a
# busy event loop or a loaded machine easily is: these jobs run however late, and runs missed
# meanwhile are coalesced into one.
NEVER_SKIP = {"misfire_grace_time": None, "coalesce": True}


def deliverer(application: Application) -> Deliverer | None:
    """The running deliverer, if reminders are on."""
    return application.bot_data.get(DELIVERER)


async def run_sweep(application: BotApplication, branch_ids: list[int] | None = None) -> None:
    """Decide today's reminders (all branches, or some after their settings changed)."""
    tz = application.config.bot.tzinfo
    await sweep(application.database, datetime.now(tz).date(), tz, branch_ids=branch_ids)
    found = deliverer(application)
    if found is not None:
        await found.wake()


async def _sweep_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    application = context.application
    assert isinstance(application, BotApplication)
    await run_sweep(application)


async def sweep_if_due(application: BotApplication) -> bool:
    """Run today's sweep unless the database says it has run; True if it ran now."""
    from db.settings import last_sweep

    tz = application.config.bot.tzinfo
    now = datetime.now(tz)
    if now.time() < SWEEP_AT or await last_sweep(application.database) == now.date():
        return False
    await run_sweep(application)
    return True


async def _catch_up_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    application = context.application
    assert isinstance(application, BotApplication)
    await sweep_if_due(application)


async def run_backup(application: BotApplication) -> Path:
    """Back up the database into backup_dir (a worker thread) and keep the newest few."""
    storage = application.config.storage
    folder = Path(storage.backup_dir)
    written = await asyncio.to_thread(
        partial(backup, application.config.database_path, folder, folder=True)
    )
    removed = await asyncio.to_thread(keep_latest, folder, storage.backups)
    _LOGGER.info("Backup written to %s (%d old ones removed)", written, len(removed))
    return written


async def _backup_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    application = context.application
    assert isinstance(application, BotApplication)
    try:
        await run_backup(application)
    except (OSError, DatabaseError, sqlite3.Error) as exc:
        _LOGGER.error("Backup failed: %s: %s", type(exc).__name__, exc)


async def _webhook_heartbeat(context: ContextTypes.DEFAULT_TYPE) -> None:
    bot = context.application.bot
    assert isinstance(bot, InboxBot)
    await bot.check_webhook()


async def _prune_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    application = context.application
    assert isinstance(application, BotApplication)
    await prune(application)


async def prune(application: BotApplication) -> None:
    """Delete the inbox's handled updates older than REPLAY_WITHIN and the outbox's rows done
    more than OUTBOX_KEEP ago (a failure is logged; the next day's run tries again)."""
    database = application.database
    try:
        updates = await inbox.prune(database, REPLAY_WITHIN)
        reminders = await outbox.prune(database, datetime.now(UTC) - OUTBOX_KEEP)
    except (DatabaseError, sqlite3.Error) as exc:
        _LOGGER.error("Inbox or outbox not pruned: %s: %s", type(exc).__name__, exc)
        return
    _LOGGER.info("Pruned %d handled updates and %d old reminders", updates, reminders)


def schedule(application: BotApplication) -> None:
    """Register the sweep (now, daily, and a check that it ran), the delivery and backups."""
    job_queue = application.job_queue
    if job_queue is None:
        return
    tz = application.config.bot.tzinfo
    if application.config.telegram.webhook_url and isinstance(application.bot, InboxBot):
        # An interval job's first run "now" would become one interval later once the scheduler
        # starts: the first check is a job of its own.
        job_queue.run_once(_webhook_heartbeat, when=0, job_kwargs=NEVER_SKIP)
        job_queue.run_repeating(
            _webhook_heartbeat,
            interval=HEARTBEAT_EVERY,
            first=HEARTBEAT_EVERY,
            name="webhook-heartbeat",
            job_kwargs=NEVER_SKIP,
        )
    job_queue.run_daily(
        _prune_job, time=BACKUP_AT.replace(tzinfo=tz), name="prune", job_kwargs=NEVER_SKIP
    )
    if application.config.storage.backups > 0:
        job_queue.run_daily(
            _backup_job, time=BACKUP_AT.replace(tzinfo=tz), name="backup", job_kwargs=NEVER_SKIP
        )
    if not application.config.bot.reminders:
        return
    job_queue.run_once(_sweep_job, when=0, name="sweep-at-start", job_kwargs=NEVER_SKIP)
    job_queue.run_daily(
        _sweep_job, time=SWEEP_AT.replace(tzinfo=tz), name="sweep", job_kwargs=NEVER_SKIP
    )
    job_queue.run_repeating(
        _catch_up_job,
        interval=CATCH_UP_EVERY,
        first=CATCH_UP_EVERY,
        name="sweep-catch-up",
        job_kwargs=NEVER_SKIP,
    )
    found = Deliverer(application)
    application.bot_data[DELIVERER] = found
    found.start(job_queue)
    _LOGGER.info("Reminders scheduled: sweep daily at %s and now; delivery running", SWEEP_AT)
