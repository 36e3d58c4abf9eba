"""/overview, /notice and /notices: the superior organization (社会组织党委) looking at every
branch this quarter, exporting it to Excel, and sending notices that branches mark 已阅.

Only admins may do this (the config's admin_ids and invited admins): every command and every
button checks it again, so a forged or old button of someone else gets no_permission. Reading
a notice (已阅) is for the members of the branch it was sent to.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any
from uuid import uuid4

from telegram import InputFile, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import jobs
from bot.application import BotContext, app_of
from bot.branch_profile import FORMATION_MODES, ORGANIZATION_TYPES, InvalidAnswer
from bot.handlers.common import (
    active_flow,
    answer,
    callback_parts,
    close_keyboard,
    conversation,
    forbidden,
    in_rows,
    is_private,
    local_today,
    reply,
    reply_template,
    set_flow,
    user_data,
)
from bot.overview import (
    NOTICE_LIMIT,
    PAGE_SIZE,
    BranchRow,
    Overview,
    audience,
    compute,
    notice_chats,
    notice_messages,
    notice_text,
    workbook,
)
from bot.texts import labels, render
from db import admins, notices, outbox, overview_data, repo

_LOGGER = logging.getLogger(__name__)
FLOW = "notice"
DRAFT = "notice_draft"
LIST_PAGE = 10
UNREAD_SHOWN = 30
MAX_PAGE = 10_000


class State(IntEnum):
    """The steps of writing a notice."""

    TEXT = 1
    AUDIENCE = 2
    PREVIEW = 3


# -- shared --------------------------------------------------------------------------------------


async def _admin(update: Update, context: BotContext) -> bool:
    """Whether the user is an admin; if not, they are told so."""
    user = update.effective_user
    application = app_of(context)
    if user is not None and await admins.is_admin(
        application.database, user.id, application.config.bot.admin_ids
    ):
        return True
    # Not "no permission": say who this is for and how one becomes an admin.
    if update.callback_query:
        await answer(update, render("no_permission"), alert=True)
    else:
        await reply_template(update, "admin_only", user_id=user.id if user else None)
    return False


async def _admin_here(update: Update, context: BotContext) -> bool:
    """An admin in a private chat (the overview is not for group chats)."""
    if not await _admin(update, context):
        return False
    if not is_private(update):
        await answer(update)
        await reply_template(update, "private_only")
        return False
    return True


async def _overview(context: BotContext) -> tuple[Overview, frozenset[int]]:
    """Every branch this quarter (bulk read, then pure computation), and the blocked chats."""
    started = time.perf_counter()
    today = local_today(context)
    facts = await overview_data.load(app_of(context).database, today)
    result = compute(facts, today, app_of(context).config.bot.tzinfo)
    _LOGGER.info(
        "Overview of %d branches in %.2f s", len(result.rows), time.perf_counter() - started
    )
    return result, facts.blocked


def _page_of(update: Update) -> int | None:
    """The page number a ...:<page> button carries (None: malformed)."""
    parts = callback_parts(update)
    if len(parts) != 3 or not parts[2].isdigit() or int(parts[2]) > MAX_PAGE:
        return None
    return int(parts[2])


async def _expired(update: Update) -> None:
    await answer(update, render("button_expired"), alert=True)


# -- /overview -----------------------------------------------------------------------------------


async def show(update: Update, context: BotContext) -> None:
    """/overview or 返回总览 (ov:home): the quarter of every branch on one screen."""
    if not await _admin_here(update, context):
        return
    await answer(update)
    await close_keyboard(update)
    ov, _ = await _overview(context)
    lab = labels()
    rows: list[list[tuple[str, str]]] = []
    if ov.pages > 1:
        rows.append([(lab.OVERVIEW_MORE, "ov:p:1")])
    if ov.rows:
        rows.append([(lab.OVERVIEW_EXPORT, "ov:x")])
    rows.append([(lab.OVERVIEW_NOTICE, "nt:new"), (lab.OVERVIEW_NOTICES, "nt:l:0")])
    await reply_template(update, "overview", rows, ov=ov, shown=ov.overdue_page(0))


async def overdue_page(update: Update, context: BotContext) -> None:
    """A page of the overdue list: ov:p:<page> (0 is the first)."""
    if not await _admin_here(update, context):
        return
    page = _page_of(update)
    if page is None:
        await _expired(update)
        return
    await answer(update)
    await close_keyboard(update)
    ov, _ = await _overview(context)
    page = min(page, ov.pages - 1)
    lab = labels()
    nav = []
    if page > 0:
        nav.append((lab.OVERVIEW_PREV, f"ov:p:{page - 1}"))
    if page + 1 < ov.pages:
        nav.append((lab.OVERVIEW_MORE, f"ov:p:{page + 1}"))
    rows = [nav] if nav else []
    rows.append([(lab.OVERVIEW_BACK, "ov:home")])
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
    if not await _admin_here(update, context):
        return
    await answer(update, render("preparing_file"))
    ov, _ = await _overview(context)
    data = await asyncio.to_thread(workbook, ov)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(
        InputFile(io.BytesIO(data), filename=render("overview_file_name", ov=ov)),
        caption=render("overview_caption", ov=ov),
    )


# -- /notice: writing and sending a notice --------------------------------------------------------


def _draft(context: BotContext) -> dict[str, Any]:
    draft = user_data(context).get(DRAFT)
    assert draft is not None, "the notice conversation has no draft"
    return draft


def _targets(ov: Overview, draft: dict[str, Any]) -> list[BranchRow]:
    chosen = draft["audience"]
    return audience(ov, chosen["kind"], chosen.get("value", ""))


async def _ask(update: Update, context: BotContext, error: InvalidAnswer | None = None) -> int:
    """Ask for the draft's current step (again, with the error, after a bad answer)."""
    draft = _draft(context)
    step = draft["step"]
    lab = labels()
    rows: list[list[tuple[str, str]]] = []
    values: dict[str, Any] = {}
    state = State.TEXT
    if step == "audience":
        rows = [[(name, f"nt:a:{kind}")] for kind, name in lab.NOTICE_AUDIENCES.items()]
        state = State.AUDIENCE
    elif step in ("mode", "type"):
        ov, _ = await _overview(context)
        prefix, options, names = (
            ("nt:m", FORMATION_MODES, lab.FORMATION_MODES)
            if step == "mode"
            else ("nt:t", ORGANIZATION_TYPES, lab.ORGANIZATION_TYPES)
        )
        buttons = [
            (
                lab.NOTICE_CHOICE.format(name=names[o], n=len(audience(ov, step, o))),
                f"{prefix}:{o}",
            )
            for o in options
        ]
        rows = [*in_rows(buttons, 2), [(lab.NOTICE_BACK, "nt:back")]]
        state = State.AUDIENCE
    elif step == "preview":
        ov, blocked = await _overview(context)
        targets = _targets(ov, draft)
        chats = [notice_chats(row, blocked) for row in targets]
        values = {
            "text": draft["text"],
            "audience": draft["audience"],
            "count": len(targets),
            "chats": sum(len(c) for c in chats),
            "unreachable": sum(1 for c in chats if not c),
        }
        rows = [[(lab.NOTICE_SEND, "nt:send")], [(lab.NOTICE_BACK, "nt:back")]]
        state = State.PREVIEW
    rows.append([(lab.NOTICE_CANCEL, "nt:cancel")])
    text = render("notice_ask", step=step, error=error, limit=NOTICE_LIMIT, **values)
    await reply(update, text, rows)
    return state


async def _end(context: BotContext) -> int:
    user_data(context).pop(DRAFT, None)
    set_flow(context, None)
    return ConversationHandler.END


async def begin(update: Update, context: BotContext) -> int:
    """/notice or 发通知 (nt:new): start writing a notice."""
    if not await _admin_here(update, context):
        return ConversationHandler.END
    if active_flow(context) and active_flow(context) != FLOW:
        if update.callback_query:
            await answer(update, render("finish_flow_first"), alert=True)
        else:
            await reply_template(update, "finish_flow_first")
        return ConversationHandler.END
    await answer(update)
    await close_keyboard(update)
    user_data(context)[DRAFT] = {"key": uuid4().hex, "step": "text"}
    set_flow(context, FLOW)
    return await _ask(update, context)


async def typed_text(update: Update, context: BotContext) -> int:
    """The notice's text, typed."""
    if not await _admin(update, context):
        return await _end(context)
    assert update.message is not None
    try:
        text = notice_text(update.message.text or "")
    except InvalidAnswer as error:
        return await _ask(update, context, error)
    draft = _draft(context)
    draft.update(text=text, step="audience")
    return await _ask(update, context)


async def not_text(update: Update, context: BotContext) -> int:
    """A photo, file or sticker where the notice's text was asked for."""
    return await _ask(update, context, InvalidAnswer("need_text"))


async def need_button(update: Update, context: BotContext) -> int:
    """Typing where a button is expected."""
    return await _ask(update, context, InvalidAnswer("need_button"))


async def chosen(update: Update, context: BotContext) -> int:
    """The audience: nt:a:<all|overdue|mode|type>, nt:m:<formation mode>, nt:t:<type>."""
    if not await _admin(update, context):
        return await _end(context)
    parts = callback_parts(update)
    draft = _draft(context)
    choice: dict[str, str] | None = None
    if len(parts) == 3 and parts[1] == "a" and parts[2] in ("all", "overdue"):
        choice = {"kind": parts[2]}
    elif len(parts) == 3 and parts[1] == "a" and parts[2] in ("mode", "type"):
        await answer(update)
        await close_keyboard(update)
        draft["step"] = parts[2]
        return await _ask(update, context)
    elif len(parts) == 3 and parts[1] == "m" and parts[2] in FORMATION_MODES:
        choice = {"kind": "mode", "value": parts[2]}
    elif len(parts) == 3 and parts[1] == "t" and parts[2] in ORGANIZATION_TYPES:
        choice = {"kind": "type", "value": parts[2]}
    if choice is None or "text" not in draft:
        await _expired(update)
        return State.AUDIENCE
    await answer(update)
    await close_keyboard(update)
    ov, _ = await _overview(context)
    if not audience(ov, choice["kind"], choice.get("value", "")):
        draft["step"] = "audience"
        return await _ask(update, context, InvalidAnswer("nobody"))
    draft.update(audience=choice, step="preview")
    return await _ask(update, context)


async def back(update: Update, context: BotContext) -> int:
    """重选范围 (nt:back): choose the audience again."""
    if not await _admin(update, context):
        return await _end(context)
    await answer(update)
    await close_keyboard(update)
    _draft(context)["step"] = "audience"
    return await _ask(update, context)


async def send(update: Update, context: BotContext) -> int:
    """发送 (nt:send): store the notice once, queue it to every target branch, wake delivery."""
    if not await _admin(update, context):
        return await _end(context)
    user = update.effective_user
    assert user is not None
    draft = _draft(context)
    await answer(update)
    await close_keyboard(update)
    application = app_of(context)
    database = application.database
    ov, blocked = await _overview(context)
    targets = _targets(ov, draft)
    if not targets:
        draft["step"] = "audience"
        return await _ask(update, context, InvalidAnswer("nobody"))
    notice, created = await notices.create(
        database,
        sent_by=user.id,
        text=draft["text"],
        audience=draft["audience"],
        branch_ids=[row.id for row in targets],
        draft_key=draft["key"],
    )
    if not created:
        # Sent before a restart: the stored targets count, not today's filter.
        stored = {t.branch_id for t in await notices.targets(database, notice.id)}
        targets = [row for row in ov.rows if row.id in stored]
    messages = notice_messages(notice.id, notice.text, targets, blocked, datetime.now(UTC))
    enqueued = await outbox.enqueue(database, messages)
    found = jobs.deliverer(application)
    if found is not None:
        await found.wake()
    _LOGGER.info(
        "Notice %d to %d branches: %d messages, %d newly queued",
        notice.id,
        len(targets),
        len(messages),
        enqueued,
    )
    await _end(context)
    rows = [[(labels().NOTICE_LIST, "nt:l:0"), (labels().OVERVIEW_BACK, "ov:home")]]
    await reply_template(
        update,
        "notice_sent",
        rows,
        count=notice.targets,
        messages=len(messages),
        created=created,
    )
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    """/cancel or 取消 (nt:cancel): nothing is sent."""
    await answer(update)
    await close_keyboard(update)
    await _end(context)
    await reply_template(update, "cancelled")
    return ConversationHandler.END


async def resume(update: Update, context: BotContext) -> int:
    """/notice while writing one: ask the current step again."""
    await answer(update)
    return await _ask(update, context)


# -- /notices and 已阅 ---------------------------------------------------------------------------


def _local(context: BotContext, stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).astimezone(app_of(context).config.bot.tzinfo)


async def list_notices(update: Update, context: BotContext) -> None:
    """/notices or nt:l:<page>: the notices sent, newest first, with 已阅 x/y."""
    if not await _admin_here(update, context):
        return
    page = 0 if update.callback_query is None else _page_of(update)
    if page is None:
        await _expired(update)
        return
    await answer(update)
    await close_keyboard(update)
    found, total = await notices.recent(
        app_of(context).database, limit=LIST_PAGE, offset=page * LIST_PAGE
    )
    pages = max(1, -(-total // LIST_PAGE))
    lab = labels()
    first = page * LIST_PAGE + 1
    rows = in_rows([(f"{first + i}", f"nt:o:{n.id}") for i, n in enumerate(found)], 5)
    nav = []
    if page > 0:
        nav.append((lab.OVERVIEW_PREV, f"nt:l:{page - 1}"))
    if page + 1 < pages:
        nav.append((lab.OVERVIEW_MORE, f"nt:l:{page + 1}"))
    if nav:
        rows.append(nav)
    rows.append([(lab.NOTICE_NEW, "nt:new"), (lab.OVERVIEW_BACK, "ov:home")])
    items = [(n, _local(context, n.created_at)) for n in found]
    await reply_template(
        update, "notice_list", rows, items=items, total=total, first=first, page=page, pages=pages
    )


async def open_notice(update: Update, context: BotContext) -> None:
    """nt:o:<notice>: one notice, its 已阅 count and the branches that have not read it."""
    if not await _admin_here(update, context):
        return
    parts = callback_parts(update)
    database = app_of(context).database
    found = None
    if len(parts) == 3 and parts[2].isdigit():
        found = await notices.get(database, int(parts[2]))
    if found is None:
        await _expired(update)
        return
    await answer(update)
    await close_keyboard(update)
    unread = [t for t in await notices.targets(database, found.id) if t.read_at is None]
    lab = labels()
    rows = [[(lab.NOTICE_LIST, "nt:l:0"), (lab.OVERVIEW_BACK, "ov:home")]]
    await reply_template(
        update,
        "notice_detail",
        rows,
        n=found,
        at=_local(context, found.created_at),
        unread=unread[:UNREAD_SHOWN],
        more=max(0, len(unread) - UNREAD_SHOWN),
    )


async def read(update: Update, context: BotContext) -> None:
    """已阅 (nt:read:<notice>:<branch>): a member of that branch notes the notice as read."""
    parts = callback_parts(update)
    if len(parts) != 4 or not parts[2].isdigit() or not parts[3].isdigit():
        await _expired(update)
        return
    notice_id, branch_id = int(parts[2]), int(parts[3])
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    if await repo.get_membership(database, user.id, branch_id) is None:
        await forbidden(update)
        return
    if await notices.target(database, notice_id, branch_id) is None:
        await _expired(update)
        return
    marked = await notices.mark_read(database, notice_id, branch_id, user.id)
    _LOGGER.info("Notice %d read by branch %d (new: %s)", notice_id, branch_id, marked)
    await answer(update, render("notice_read", marked=marked))
    await close_keyboard(update)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/overview, /notice, /notices and their buttons."""
    text = filters.TEXT & ~filters.COMMAND
    return [
        conversation(
            name="notice",
            entry_points=[
                CommandHandler("notice", begin),
                CallbackQueryHandler(begin, pattern=r"^nt:new$"),
            ],
            states={
                State.TEXT: [
                    MessageHandler(text, typed_text),
                    MessageHandler(~filters.COMMAND & ~filters.StatusUpdate.ALL, not_text),
                ],
                State.AUDIENCE: [
                    CallbackQueryHandler(back, pattern=r"^nt:back$"),
                    CallbackQueryHandler(chosen, pattern=r"^nt:[amt]:"),
                    MessageHandler(text, need_button),
                ],
                State.PREVIEW: [
                    CallbackQueryHandler(send, pattern=r"^nt:send$"),
                    CallbackQueryHandler(back, pattern=r"^nt:back$"),
                    MessageHandler(text, need_button),
                ],
            },
            fallbacks=[
                CommandHandler("cancel", cancel),
                CallbackQueryHandler(cancel, pattern=r"^nt:cancel$"),
                CommandHandler("notice", resume),
                CallbackQueryHandler(resume, pattern=r"^nt:new$"),
            ],
        ),
        CommandHandler("overview", show),
        CallbackQueryHandler(show, pattern=r"^ov:home$"),
        CallbackQueryHandler(overdue_page, pattern=r"^ov:p:"),
        CallbackQueryHandler(export, pattern=r"^ov:x$"),
        CommandHandler("notices", list_notices),
        CallbackQueryHandler(list_notices, pattern=r"^nt:l:"),
        CallbackQueryHandler(open_notice, pattern=r"^nt:o:"),
        CallbackQueryHandler(read, pattern=r"^nt:read:"),
    ]
