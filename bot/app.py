"""The one factory that builds the Application, used by `run`, `demo`, the tests and the bench."""

from __future__ import annotations

import asyncio
import logging

from telegram import BotCommand
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, CommandHandler, Defaults
from telegram.request import BaseRequest, HTTPXRequest

from bot import flood
from bot.application import BotApplication
from bot.config import Config
from bot.forms import FormEngine
from bot.handlers import (
    appraisal,
    appraisal_poll,
    branch,
    chats,
    checkin,
    dues,
    dues_form,
    find,
    guidance,
    leave,
    meeting_log,
    members,
    members_files,
    members_form,
    notice,
    notify,
    notify_answers,
    overview,
    partyday,
    records,
    recruitment,
    registration,
    remind,
    reminder_settings,
    report,
    start,
    status,
    team,
)
from bot.handlers.checkin import leave_reason
from bot.texts import labels
from bot.tls import context as tls_context
from bot.updates import DatabaseHealth, InboxBot, InboxQueue, PerUserProcessor
from db import Database

_LOGGER = logging.getLogger(__name__)
# The emulator accepts any token of this shape; the demo and the tests use it.
OFFLINE_TOKEN = "123456:EMULATOR"
# Updates of different users handled at once (one user's always in order).
CONCURRENT_UPDATES = 64


async def post_init(application: Application) -> None:
    """Set the command menu shown beside the text field (in Chinese), and schedule the jobs."""
    commands = [BotCommand(name, description) for name, description in labels().COMMANDS]
    # Sent beside the first poll, not before it: a round trip to Telegram less before the bot
    # answers, and a refused or timed-out call (Telegram keeps the menu it had) no longer stops
    # the start.
    if isinstance(application, BotApplication):
        application.in_background(_set_commands(application, commands))
    else:
        await _set_commands(application, commands)
    # The question index is not built here: a build beside the event loop holds the GIL for
    # seconds and slowed every reply after a start; the first question builds it in a worker
    # thread (bot.handlers.guidance.answer_question).
    if isinstance(application, BotApplication):
        from bot import jobs

        jobs.schedule(application)


async def _set_commands(application: Application, commands: list[BotCommand]) -> None:
    try:
        await application.bot.set_my_commands(commands)
    except TelegramError as exc:
        _LOGGER.warning(
            "The command menu was not updated (%s); Telegram keeps the last one",
            type(exc).__name__,
        )


def build_application(
    config: Config,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
) -> BotApplication:
    """Build the bot from its configuration; `request` replaces the network (emulator)."""
    database = Database(config.database_path, write_patience=config.storage.write_patience)
    health = DatabaseHealth(config.storage.unusable_exit_after)
    if request is None:
        proxy = config.telegram.proxy
        # As python-telegram-bot's builder would: a pool for concurrent sends, one for polling;
        # they share one TLS context (reading the CA bundle took ~20 ms of the start, per pool),
        # read beside the imports when started as `python -m bot`.
        tls = {"verify": tls_context()}
        request = HTTPXRequest(connection_pool_size=256, proxy=proxy, httpx_kwargs=tls)
        get_updates_request = HTTPXRequest(proxy=proxy, httpx_kwargs=tls)
    bot = InboxBot(
        token=config.telegram.token or OFFLINE_TOKEN,
        base_url=config.telegram.api_base_url,
        base_file_url=config.telegram.api_base_file_url,
        # No link previews: InboxBot turns them off in each text it sends (as a Default they
        # were serialised anew for every message).
        defaults=Defaults(parse_mode=ParseMode.HTML, tzinfo=config.bot.tzinfo),
        request=request,
        get_updates_request=get_updates_request or request,
        rate_limiter=AIORateLimiter(max_retries=3) if config.telegram.rate_limit else None,
        database=database,
        health=health,
    )
    builder = (
        ApplicationBuilder()
        .application_class(
            BotApplication, kwargs={"config": config, "database": database, "health": health}
        )
        .bot(bot)
        .concurrent_updates(PerUserProcessor(CONCURRENT_UPDATES))
        .update_queue(
            # Webhook mode acknowledges on `put`, so the queue stores first (polling: get_updates).
            InboxQueue(database, health) if config.telegram.webhook_url else asyncio.Queue()
        )
        .post_init(post_init)
    )
    application = builder.build()
    application.forms = build_forms()
    register_handlers(application)
    return application


def build_forms() -> FormEngine:
    """Every guided conversation, declared once."""
    engine = FormEngine()
    engine.on_question = guidance.answer_question
    engine.on_help = guidance.explain_entry
    for form in (
        registration.FORM,
        branch.EDIT_FORM,
        meeting_log.FORM,
        partyday.FORM,
        reminder_settings.FORM,
        remind.FORM,
        notice.FORM,
        leave.DELETE_FORM,
        leave_reason.FORM,
        appraisal.FORM,
        dues_form.FORM,
        notify.FORM,
        recruitment.FORM,
    ):
        engine.add(form)
    # The roster's: adding, editing, and waiting for a file to import.
    for form in (*members_form.FORMS, members_files.IMPORT_FORM):
        engine.add(form)
    return engine


def register_handlers(application: BotApplication) -> None:
    """Add every capability's handlers, in the order they must be tried."""
    flood.register(application)
    if not application.config.bot.flood_control:
        flood.unlimited(application)
    # Chat-level events first, in their own group: they never stop the update.
    for handler, group in zip(chats.handlers(), chats.GROUPS, strict=True):
        application.add_handler(handler, group=group)
    # /help never takes part in a flow: matched first, it skips the flows' checks.
    application.add_handler(CommandHandler("help", start.help_command))
    application.add_handler(CommandHandler(start.HELP_COMMANDS, start.help_topic))
    # The open form takes typed answers, its buttons and /cancel before anything else.
    application.add_handlers(application.forms.handlers())
    # Invitation and sign-in links (/start join_…, /start checkin_…) before the registration's
    # own /start.
    application.add_handlers(team.handlers())
    application.add_handlers(checkin.handlers())
    application.add_handlers(notify_answers.handlers())
    # The flows come first so that /cancel and typed answers reach the flow that is active.
    application.add_handlers(registration.handlers())
    application.add_handlers(branch.handlers())
    application.add_handlers(meeting_log.handlers())
    application.add_handlers(partyday.handlers())
    application.add_handlers(records.handlers())
    application.add_handlers(find.handlers())
    application.add_handlers(report.handlers())
    application.add_handlers(appraisal.handlers())
    application.add_handlers(dues.handlers())
    application.add_handlers(dues_form.handlers())
    application.add_handlers(appraisal_poll.handlers())
    application.add_handlers(recruitment.handlers())
    application.add_handlers(status.handlers())
    application.add_handlers(reminder_settings.handlers())
    application.add_handlers(remind.handlers())
    application.add_handlers(members.handlers())
    application.add_handlers(overview.handlers())
    application.add_handlers(notice.handlers())
    application.add_handlers(notify.handlers())
    application.add_handlers(leave.handlers())
    application.add_handlers(guidance.handlers())
    application.add_handlers(start.handlers())
    # After whatever answered the update: an open form's question is no longer on screen.
    application.add_handler(application.forms.late_handler(), group=1)
    application.add_error_handler(start.on_error)
