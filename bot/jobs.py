"""The scheduled work: the daily reminder sweep and the outbox delivery, rebuilt at every start.

Nothing about a reminder lives only in the job queue: the sweep decides from the database and
writes to the outbox under unique keys, so it is simply run again at start-up (a sweep missed
while the bot was down runs the same day) and every night after midnight.
"""

from __future__ import annotations

import logging
from datetime import datetime, time

from telegram.ext import Application, ContextTypes

from bot.application import BotApplication
from bot.delivery import Deliverer
from bot.reminders import sweep

_LOGGER = logging.getLogger(__name__)
SWEEP_AT = time(0, 5)
DELIVERER = "deliverer"


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


def schedule(application: BotApplication) -> None:
    """Register the sweep (now and daily) and the delivery with the job queue."""
    job_queue = application.job_queue
    if job_queue is None or not application.config.bot.reminders:
        return
    tz = application.config.bot.tzinfo
    job_queue.run_once(_sweep_job, when=0, name="sweep-at-start")
    job_queue.run_daily(_sweep_job, time=SWEEP_AT.replace(tzinfo=tz), name="sweep")
    found = Deliverer(application)
    application.bot_data[DELIVERER] = found
    found.start(job_queue)
    _LOGGER.info("Reminders scheduled: sweep daily at %s and now; delivery running", SWEEP_AT)
