"""/overview: the superior organization (社会组织党委) looking at every branch this quarter, the
overdue list paged, and the whole of it exported to Excel. Notices are in notice.py.

Only admins may do this (bot.access.is_admin: the config's admin_ids and invited admins): every
command and every button checks it again, so a forged or old button of someone else gets
no_permission.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from typing import Any

from telegram import InputFile, Update
from telegram.ext import BaseHandler, CommandHandler

from bot import access
from bot import buttons as bt
from bot.application import BotContext, app_of
from bot.callbacks import on
from bot.handlers.common import (
    answer,
    close_keyboard,
    is_private,
    local_today,
    reply_template,
)
from bot.overview import PAGE_SIZE, Overview, compute, workbook
from bot.texts import labels, render
from db import overview_data

_LOGGER = logging.getLogger(__name__)


# -- shared --------------------------------------------------------------------------------------


async def _admin(update: Update, context: BotContext) -> bool:
    """Whether the user is an admin; if not, they are told so."""
    user = update.effective_user
    application = app_of(context)
    if user is not None and await access.is_admin(
        application.database, user.id, application.config.bot.admin_ids
    ):
        return True
    # Not "no permission": say who this is for and how one becomes an admin.
    if update.callback_query:
        await answer(update, render("no_permission"), alert=True)
    else:
        await reply_template(update, "admin_only", user_id=user.id if user else None)
    return False


async def admin_here(update: Update, context: BotContext) -> bool:
    """An admin in a private chat (the overview is not for group chats)."""
    if not await _admin(update, context):
        return False
    if not is_private(update):
        await answer(update)
        await reply_template(update, "private_only")
        return False
    return True


async def overview_now(context: BotContext) -> tuple[Overview, frozenset[int]]:
    """Every branch this quarter (bulk read, then pure computation), and the blocked chats."""
    started = time.perf_counter()
    today = local_today(context)
    facts = await overview_data.load(app_of(context).database, today)
    result = compute(facts, today, app_of(context).config.bot.tzinfo)
    _LOGGER.info(
        "Overview of %d branches in %.2f s", len(result.rows), time.perf_counter() - started
    )
    return result, facts.blocked


async def expired(update: Update) -> None:
    await answer(update, render("button_expired"), alert=True)


# -- /overview -----------------------------------------------------------------------------------


async def show(update: Update, context: BotContext) -> None:
    """/overview or 返回总览 (ov:home): the quarter of every branch on one screen."""
    if not await admin_here(update, context):
        return
    await answer(update)
    await close_keyboard(update)
    ov, _ = await overview_now(context)
    lab = labels()
    rows: list[list[tuple[str, str]]] = []
    if ov.pages > 1:
        rows.append([(lab.OVERVIEW_MORE, bt.OVERDUE(1))])
    if ov.rows:
        rows.append([(lab.OVERVIEW_EXPORT, bt.OVERVIEW_EXPORT())])
    rows.append([(lab.OVERVIEW_NOTICE, bt.NOTICE_NEW()), (lab.OVERVIEW_NOTICES, bt.NOTICES(0))])
    await reply_template(update, "overview", rows, ov=ov, shown=ov.overdue_page(0))


async def overdue_page(update: Update, context: BotContext, page: int) -> None:
    """A page of the overdue list (0 is the first)."""
    if not await admin_here(update, context):
        return
    await answer(update)
    await close_keyboard(update)
    ov, _ = await overview_now(context)
    page = min(page, ov.pages - 1)
    lab = labels()
    nav = []
    if page > 0:
        nav.append((lab.OVERVIEW_PREV, bt.OVERDUE(page - 1)))
    if page + 1 < ov.pages:
        nav.append((lab.OVERVIEW_MORE, bt.OVERDUE(page + 1)))
    rows = [nav] if nav else []
    rows.append([(lab.OVERVIEW_BACK, bt.OVERVIEW())])
    await reply_template(
        update,
        "overview_overdue",
        rows,
        ov=ov,
        shown=ov.overdue_page(page),
        page=page,
        size=PAGE_SIZE,
    )


async def export(update: Update, context: BotContext) -> None:
    """📤导出Excel (ov:x): the overview as an .xlsx file, one sheet per view."""
    if not await admin_here(update, context):
        return
    await answer(update, render("preparing_file"))
    ov, _ = await overview_now(context)
    data = await asyncio.to_thread(workbook, ov)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(
        InputFile(io.BytesIO(data), filename=render("overview_file_name", ov=ov)),
        caption=render("overview_caption", ov=ov),
    )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/overview and its buttons."""
    return [
        CommandHandler("overview", show),
        on(bt.OVERVIEW, show),
        on(bt.OVERDUE, overdue_page),
        on(bt.OVERVIEW_EXPORT, export),
    ]
