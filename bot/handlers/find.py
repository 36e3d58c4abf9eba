"""/find 关键词: search the current branch's records (any role in the branch may; private chats
only, since records carry names)."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot import buttons as bt
from bot.application import BotContext, app_of
from bot.handlers.common import current_branch, in_rows, reply_template
from bot.search import MAX_QUERY, MAX_TERM, QueryError, parse_terms, snippet, variants
from bot.texts import labels
from db import meetings
from db.meetings import SEARCH_TERMS

_LOGGER = logging.getLogger(__name__)
SHOWN = 10


async def find(update: Update, context: BotContext) -> None:
    """/find with the words to look for (without them: how to use it)."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    current = await current_branch(update, context)
    if current is None:
        return
    database = app_of(context).database
    branch = current[1]
    query = (message.text or "").partition(" ")[2]
    if not query.strip():
        await reply_template(update, "find", view="usage")
        return
    try:
        terms = parse_terms(query)
    except QueryError as error:
        limits = {"max_term": MAX_TERM, "max_query": MAX_QUERY, "max_terms": SEARCH_TERMS}
        await reply_template(update, "find", view=error.code, **limits)
        return
    alternatives = variants(terms)
    shown, total = await meetings.search_meetings(database, branch.id, alternatives, limit=SHOWN)
    _LOGGER.info("Search in branch %d: %d terms, %d found", branch.id, len(terms), total)
    shown_query = " ".join(terms)
    if not shown:
        name = branch.profile.name
        await reply_template(update, "find", view="none", query=shown_query, branch_name=name)
        return
    items = [(m, snippet(m, [w for words in alternatives for w in words])) for m in shown]
    rows = in_rows([(str(i), bt.RECORD(m.id)) for i, m in enumerate(shown, 1)], 5)
    rows.append([(labels().MENU, bt.HOME())])
    await reply_template(
        update, "find", rows, view="results", query=shown_query, items=items, total=total
    )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/find."""
    return [CommandHandler("find", find)]
