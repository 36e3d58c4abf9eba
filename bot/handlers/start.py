"""The basics: main menu, /help, /cancel outside a flow, stale buttons and the error handler."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import buttons as bt
from bot.application import BotContext, app_of
from bot.callbacks import on
from bot.handlers.common import (
    answer,
    close_keyboard,
    is_private,
    reply,
    reply_template,
    stale,
)
from bot.texts import labels, render, render_fixed
from db import admins, repo
from db.database import is_transient

_LOGGER = logging.getLogger(__name__)


async def menu_view(
    database: Any, config: Any, user_id: int
) -> tuple[str, list[list[tuple[str, str]]]] | None:
    """The main menu of the user's current branch as (text, buttons); None if unregistered."""
    current = await repo.current_membership(database, user_id)
    if current is None:
        return None
    membership, branch = current
    lab = labels()
    rows = [
        [(lab.MENU_STATUS, bt.MENU_STATUS()), (lab.MENU_REMINDERS, bt.MENU_REMINDERS())],
        [(lab.MENU_LOG, bt.MENU_LOG()), (lab.MENU_HISTORY, bt.MENU_HISTORY())],
        [(lab.MENU_PARTYDAY, bt.MENU_PARTYDAY()), (lab.MENU_EXPORT, bt.MENU_EXPORT())],
        [(lab.MENU_ASK, bt.MENU_ASK()), (lab.MENU_GUIDES, bt.MENU_GUIDES())],
        [(lab.MENU_SELFCHECK, bt.MENU_SELFCHECK()), (lab.MENU_BRANCH, bt.MENU_BRANCH())],
        [(lab.ROSTER_MENU, bt.MENU_MEMBERS()), (lab.TEAM_MENU, bt.MENU_TEAM())],
    ]
    if await admins.is_admin(database, user_id, config.bot.admin_ids):
        rows.append([(lab.MENU_OVERVIEW, bt.OVERVIEW())])
    if len(await repo.list_memberships(database, user_id)) > 1:
        rows.append([(lab.MENU_SWITCH, bt.MENU_SWITCH())])
    rows.append([(lab.MENU_NEW, bt.MENU_NEW()), (lab.MENU_HELP, bt.HELP())])
    text = render("main_menu", branch_name=branch.profile.name, role=lab.ROLES[membership.role])
    return text, rows


async def send_menu(update: Update, context: BotContext) -> None:
    """The main menu of the user's current branch (or the way to register one)."""
    user = update.effective_user
    assert user is not None
    application = app_of(context)
    view = await menu_view(application.database, application.config, user.id)
    if view is None:
        await reply_template(update, "not_registered")
        return
    await reply(update, *view)


async def menu(update: Update, context: BotContext) -> None:
    """/menu or the 主菜单 button."""
    await answer(update)
    await close_keyboard(update)
    if not is_private(update):
        await reply_template(update, "private_only")
        return
    await send_menu(update, context)


HELP_TOPICS = ("records", "reminders", "people", "rules", "admin")
HELP_COMMANDS = tuple(f"help_{topic}" for topic in HELP_TOPICS)


async def help_command(update: Update, context: BotContext) -> None:
    """/help: a short page; each topic is a command the user taps (a phone screen, not a
    manual; no keyboard, so /help stays cheap)."""
    await answer(update)
    await reply(update, render_fixed("help", topic="home"))


async def help_topic(update: Update, context: BotContext) -> None:
    """/help_<topic>: the commands of one topic."""
    text = update.effective_message.text if update.effective_message else ""
    topic = (text or "").split()[0].split("@")[0].removeprefix("/help_")
    await reply(update, render_fixed("help", topic=topic if topic in HELP_TOPICS else "home"))


async def cancel(update: Update, context: BotContext) -> None:
    """/cancel when no flow is active."""
    await reply_template(update, "nothing_to_cancel")


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not have."""
    if is_private(update):
        await reply_template(update, "unknown_command")


async def on_error(update: object, context: BotContext) -> None:
    """Log the failure (never the message text) and tell the user politely."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    # A locked or failing database is expected now and then: its cause, not a traceback.
    transient = error is not None and is_transient(error)
    if transient:
        _LOGGER.error("Update %s not saved: %s: %s", update_id, type(error).__name__, error)
    else:
        _LOGGER.error("Update %s failed: %s", update_id, type(error).__name__, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        if update.callback_query:
            await answer(update)
        await update.effective_chat.send_message(render("save_failed" if transient else "error"))
    except TelegramError as exc:
        _LOGGER.warning("Could not tell the user about the failure: %s", type(exc).__name__)


async def no_flow(update: Update, context: BotContext) -> None:
    """A message in a private chat while no flow waits for one: point to the menu."""
    await reply_template(update, "no_flow_hint")


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Menu, help, cancel, and the catch-alls that must come after every flow."""
    return [
        CommandHandler("menu", menu),
        on(bt.HOME, menu),
        on(bt.HELP, help_command),
        CommandHandler("cancel", cancel),
        MessageHandler(filters.COMMAND, unknown_command),
        MessageHandler(filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL, no_flow),
        CallbackQueryHandler(stale),
    ]
