"""Saved records: /history (list, filter, open, photos, change log, delete) and the exports.

Every button carries the record or branch id and is checked against the user's role in that
branch: a forged or replayed button of another branch gets "no permission", never the data.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
from datetime import datetime
from typing import Any

from telegram import InputFile, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import BaseHandler, CommandHandler

from bot import buttons as bt
from bot.application import BotContext, app_of
from bot.callbacks import on
from bot.dates import EARLIEST_YEAR
from bot.handlers.common import (
    answer,
    close_keyboard,
    current_branch,
    forbidden,
    in_rows,
    local_today,
    reply_template,
)
from bot.meetings import MEETING_KINDS
from bot.texts import labels, render
from db import meetings, repo, sweep_data
from db.models import Branch, Meeting, Membership

_LOGGER = logging.getLogger(__name__)
PAGE_SIZE = 8
SHOWN_PHOTOS = 10


async def _member(
    update: Update, context: BotContext, branch_id: int
) -> tuple[Membership, Branch] | None:
    """The user's role in the branch, or None after telling them they may not."""
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    membership = await repo.get_membership(database, user.id, branch_id)
    branch = await repo.get_branch(database, branch_id) if membership else None
    if membership is None or branch is None:
        await forbidden(update)
        return None
    return membership, branch


async def _record(
    update: Update, context: BotContext, record_id: int
) -> tuple[Meeting, Membership, Branch] | None:
    """The record a button names, if it exists and the user belongs to its branch; otherwise
    the user is told why and None comes back."""
    record = await meetings.get_meeting(app_of(context).database, record_id)
    if record is None or record.branch_id is None:
        await answer(update, render("record_gone"), alert=True)
        return None
    found = await _member(update, context, record.branch_id)
    if found is None:
        return None
    return record, *found


def may_change(membership: Membership, record: Meeting) -> bool:
    """Editors change any record; a committee member the records they logged."""
    own = membership.can_record and record.created_by == membership.user_id
    return membership.can_edit or own


async def history(update: Update, context: BotContext) -> None:
    """/history or 会议记录 in the menu: the newest records of the current branch."""
    await answer(update)
    current = await current_branch(update, context)
    if current is None:
        return
    await close_keyboard(update)
    await _send_list(update, context, current[1], kind=None, year=None, page=0)


async def _send_list(
    update: Update,
    context: BotContext,
    branch: Branch,
    *,
    kind: str | None,
    year: int | None,
    page: int,
) -> None:
    database = app_of(context).database
    records, total = await meetings.list_meetings(
        database, branch.id, kind=kind, year=year, limit=PAGE_SIZE, offset=page * PAGE_SIZE
    )
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    lab = labels()
    b, k, y = branch.id, kind or "all", year or 0
    rows = in_rows(
        [(f"{page * PAGE_SIZE + i + 1}", bt.RECORD(m.id)) for i, m in enumerate(records)], 4
    )
    nav = []
    if page > 0:
        nav.append((lab.PREV_PAGE, bt.RECORDS(b, k, y, page - 1)))
    if page + 1 < pages:
        nav.append((lab.NEXT_PAGE, bt.RECORDS(b, k, y, page + 1)))
    if nav:
        rows.append(nav)
    rows.append(
        [(lab.FILTER_KIND, bt.RECORDS_KIND(b, y)), (lab.FILTER_YEAR, bt.RECORDS_YEAR(b, k))]
    )
    rows.append([(lab.MENU, bt.HOME())])
    await reply_template(
        update,
        "history_list",
        rows,
        records=records,
        total=total,
        page=page,
        pages=pages,
        first=page * PAGE_SIZE + 1,
        kind=kind,
        year=year,
        branch_name=branch.profile.name,
    )


async def list_page(
    update: Update, context: BotContext, branch_id: int, kind: str, year: int, page: int
) -> None:
    """A page of the list, filtered by kind ("all") and year (0: all)."""
    found = await _member(update, context, branch_id)
    if found is None:
        return
    await answer(update)
    await close_keyboard(update)
    kind_or_none = None if kind == "all" else kind
    await _send_list(update, context, found[1], kind=kind_or_none, year=year or None, page=page)


async def filter_kind(update: Update, context: BotContext, branch_id: int, year: int) -> None:
    """Choose the kind to list."""
    if await _member(update, context, branch_id) is None:
        return
    await answer(update)
    await close_keyboard(update)
    lab = labels()
    buttons = [(lab.ALL_KINDS, bt.RECORDS(branch_id, "all", year, 0))]
    buttons += [(lab.KINDS[k], bt.RECORDS(branch_id, k, year, 0)) for k in MEETING_KINDS]
    await reply_template(update, "history_filter", in_rows(buttons, 3), what="kind")


async def filter_year(update: Update, context: BotContext, branch_id: int, kind: str) -> None:
    """Choose the year to list."""
    if await _member(update, context, branch_id) is None:
        return
    await answer(update)
    await close_keyboard(update)
    lab = labels()
    years = await meetings.years_with_meetings(app_of(context).database, branch_id)
    buttons = [(lab.ALL_YEARS, bt.RECORDS(branch_id, kind, 0, 0))]
    buttons += [(f"{y}年", bt.RECORDS(branch_id, kind, y, 0)) for y in years]
    await reply_template(update, "history_filter", in_rows(buttons, 3), what="year")


async def open_record(update: Update, context: BotContext, record_id: int) -> None:
    """The full card of a record, its photos, and what may be done with it."""
    found = await _record(update, context, record_id)
    if found is None:
        return
    record, membership, branch = found
    await answer(update)
    chat = update.effective_chat
    assert chat is not None
    missing = 0
    for photo in record.photos[:SHOWN_PHOTOS]:
        try:
            await chat.send_photo(photo.file_id)
        except BadRequest:
            # Telegram no longer has it (or the id came from another bot token).
            missing += 1
    if missing:
        _LOGGER.warning("Record %s: %d photos could not be sent", record.id, missing)
    lab = labels()
    rows = [[(lab.EXPORT_WORD, bt.WORD(record_id)), (lab.CHANGE_LOG, bt.CHANGES(record_id))]]
    if "member_appraisal" in record.counts_as:
        rows.append([(lab.APPRAISAL_GRADES, bt.AP_CARD(record_id))])
    if may_change(membership, record):
        rows.append([(lab.EDIT_RECORD, bt.EDIT(record_id)), (lab.DELETE, bt.DELETE(record_id))])
    rows.append([(lab.BACK_TO_LIST, bt.RECORDS(branch.id, "all", 0, 0)), (lab.MENU, bt.HOME())])
    await reply_template(
        update,
        "meeting_card",
        rows,
        m=record,
        warnings=[],
        review=False,
        editing=False,
        more_photos=max(len(record.photos) - SHOWN_PHOTOS, 0),
        missing_photos=missing,
    )


async def change_log(update: Update, context: BotContext, record_id: int) -> None:
    """Who changed what and when: hi:a:<id>."""
    found = await _record(update, context, record_id)
    if found is None:
        return
    record, _, branch = found
    await answer(update)
    database = app_of(context).database
    entries = [
        e
        for e in await repo.audit_entries(database, branch.id, limit=500)
        if e.entity == "meeting" and e.entity_id == record.id
    ]
    roles = {}
    for entry in entries:
        if entry.user_id is not None and entry.user_id not in roles:
            membership = await repo.get_membership(database, entry.user_id, branch.id)
            roles[entry.user_id] = membership.role if membership else None
    tz = app_of(context).config.bot.tzinfo
    shown = [
        {
            "at": datetime.fromisoformat(e.at).astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            "action": e.action,
            "role": roles.get(e.user_id) if e.user_id is not None else None,
            "me": e.user_id == (update.effective_user.id if update.effective_user else None),
            "fields": list(e.changes),
        }
        for e in entries[:20]
    ]
    await reply_template(update, "change_log", entries=shown)


async def ask_delete(update: Update, context: BotContext, record_id: int) -> None:
    """Delete a record: first ask to confirm (hi:d:<id>)."""
    found = await _record(update, context, record_id)
    if found is None:
        return
    record, membership, _ = found
    if not may_change(membership, record):
        await forbidden(update)
        return
    await answer(update)
    lab = labels()
    rows = [[(lab.CONFIRM_DELETE, bt.DELETE_SURE(record_id)), (lab.KEEP, bt.RECORD(record_id))]]
    await reply_template(update, "delete_confirm", rows, m=record)


async def delete(update: Update, context: BotContext, record_id: int) -> None:
    """The confirmed delete (hi:dd:<id>): hidden from lists, kept in the audit trail."""
    found = await _record(update, context, record_id)
    if found is None:
        return
    record, membership, branch = found
    if not may_change(membership, record) or record.id is None:
        await forbidden(update)
        return
    user = update.effective_user
    assert user is not None
    await meetings.delete_meeting(app_of(context).database, user_id=user.id, meeting_id=record.id)
    _LOGGER.info("Meeting %s deleted in branch %s", record.id, branch.id)
    await answer(update)
    await close_keyboard(update)
    lab = labels()
    rows = [[(lab.BACK_TO_LIST, bt.RECORDS(branch.id, "all", 0, 0)), (lab.MENU, bt.HOME())]]
    await reply_template(update, "deleted", rows, m=record)


async def _download(context: BotContext, file_id: str) -> bytes | None:
    """A photo's bytes from Telegram (getFile), or None if it cannot be had now."""
    try:
        telegram_file = await context.bot.get_file(file_id)
        return bytes(await telegram_file.download_as_bytearray())
    except TelegramError as exc:
        _LOGGER.warning("A photo could not be downloaded: %s", type(exc).__name__)
        return None


async def word(update: Update, context: BotContext, record_id: int) -> None:
    """The Word meeting record of one record (hi:w:<id>)."""
    found = await _record(update, context, record_id)
    if found is None:
        return
    record, _, branch = found
    await answer(update, render("preparing_file"))
    from bot import exports  # openpyxl and python-docx load on first use, not at start-up

    pictures = [await _download(context, photo.file_id) for photo in record.photos]
    data = await asyncio.to_thread(
        exports.meeting_document, branch, record, [p for p in pictures if p is not None]
    )
    name = render("word_file_name", m=record)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(
        InputFile(io.BytesIO(data), filename=name), caption=render("word_caption", m=record)
    )


async def export_start(update: Update, context: BotContext) -> None:
    """/export or 导出台账: choose the year of the ledger."""
    await answer(update)
    current = await current_branch(update, context)
    if current is None:
        return
    await close_keyboard(update)
    branch = current[1]
    database = app_of(context).database
    this_year = local_today(context).year
    years = sorted({this_year, *await meetings.years_with_meetings(database, branch.id)})[::-1]
    buttons = [(f"{y}年", bt.LEDGER(branch.id, y)) for y in years[:9]]
    dues = [(labels().DUES_EXPORT.format(year=this_year), bt.DU_EXPORT(branch.id, this_year))]
    await reply_template(
        update, "export_choose", [*in_rows(buttons, 3), dues], branch_name=branch.profile.name
    )


async def export_year(update: Update, context: BotContext, branch_id: int, year: int) -> None:
    """The Excel ledger of a year."""
    today = local_today(context)
    if not EARLIEST_YEAR <= year <= today.year + 1:
        await answer(update, render("button_expired"), alert=True)
        return
    found = await _member(update, context, branch_id)
    if found is None:
        return
    branch = found[1]
    await answer(update, render("preparing_file"))
    database = app_of(context).database
    records = await meetings.meetings_of_year(database, branch.id, year)
    from bot import exports  # openpyxl and python-docx load on first use, not at start-up

    # The summary judges each period as /status does: the branch's own frequencies and plans.
    facts = await sweep_data.load(database, today, branch_ids=[branch.id])
    branch_settings = facts.settings.get(branch.id)
    data = await asyncio.to_thread(
        functools.partial(
            exports.ledger_workbook,
            branch,
            year,
            records,
            today,
            frequencies=branch_settings.frequencies if branch_settings else None,
            planned_days=facts.planned.get(branch.id),
        )
    )
    chat = update.effective_chat
    assert chat is not None
    name = render("ledger_file_name", branch_name=branch.profile.name, year=year)
    await chat.send_document(
        InputFile(io.BytesIO(data), filename=name),
        caption=render("ledger_caption", year=year, count=len(records)),
    )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """History, record cards and exports."""
    return [
        CommandHandler("history", history),
        on(bt.MENU_HISTORY, history),
        on(bt.RECORDS, list_page),
        on(bt.RECORDS_KIND, filter_kind),
        on(bt.RECORDS_YEAR, filter_year),
        on(bt.RECORD, open_record),
        on(bt.CHANGES, change_log),
        on(bt.DELETE, ask_delete),
        on(bt.DELETE_SURE, delete),
        on(bt.WORD, word),
        CommandHandler("export", export_start),
        on(bt.MENU_EXPORT, export_start),
        on(bt.LEDGER, export_year),
    ]
