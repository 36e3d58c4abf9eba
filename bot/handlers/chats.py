"""Chat-level events every update may carry: a user who blocked the bot writes again (their held
reminders are released), and a group that became a supergroup (its binding follows the new id).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, MessageHandler, TypeHandler, filters

from bot.application import BotContext, app_of
from db import outbox, settings

_LOGGER = logging.getLogger(__name__)
# Before the other handlers, which still see the update; one group each, since only the first
# matching handler of a group runs.
GROUPS = (-2, -1)


async def returned(update: Update, context: BotContext) -> None:
    """Any update from a chat that had blocked the bot: it is reachable again."""
    chat = update.effective_chat
    application = app_of(context)
    if chat is None or chat.id not in application.blocked_chats:
        return
    application.blocked_chats.discard(chat.id)
    released = await outbox.unblock(application.database, chat.id)
    _LOGGER.info("Chat %d writes again: %d held reminders released", chat.id, released)
    from bot import jobs

    found = jobs.deliverer(application)
    if found is not None:
        await found.wake()


async def migrated(update: Update, context: BotContext) -> None:
    """The group became a supergroup: move the branch binding and the unsent reminders."""
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    database = app_of(context).database
    old, new = message.chat.id, message.migrate_to_chat_id
    moved = await settings.move_group(database, old, new)
    rows = await outbox.move_chat(database, old, new)
    _LOGGER.info("Group %d is now %d: %d bindings, %d reminders moved", old, new, moved, rows)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """One per group of GROUPS, so the update still reaches its own handler afterwards."""
    return [
        TypeHandler(Update, returned),
        MessageHandler(filters.StatusUpdate.MIGRATE, migrated),
    ]
