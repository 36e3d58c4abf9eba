"""/archive, /deletebranch and /forgetme: taking a branch's data along, deleting a branch for
good, and deleting one's own data.

- /archive (secretary or deputy): one .zip with 花名册.xlsx, the 台账 of every year with
  records, 照片清单.csv (file ids: the photos stay in Telegram), 设置.json and 操作记录.csv.
- /deletebranch (secretary only): a card that says what goes (and offers the archive), then
  the branch's full name typed as the second, deliberate step. The delete is real (db/erase.py);
  afterwards no user keeps a draft for the branch and no one stays in a flow for it.
- /forgetme (anyone): two confirmations, then the user's own data is deleted (db/erase.py says
  what that means). Refused while they are the secretary of a branch with other members; a
  branch where they are alone is deleted with them, and the cards say so.

Buttons: lv:ar:<branch>, lv:del:<branch>, lv:d1:<branch> (then the typed name; lv:dc cancels),
lv:f1:<plan>, lv:f2:<plan> (the plan's digest: what was shown is what is done), lv:no.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import logging
import re
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, tzinfo
from enum import IntEnum
from typing import Any

from telegram import InputFile, Update
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.application import BotContext, app_of
from bot.handlers.common import (
    FLOW_KEY,
    active_flow,
    answer,
    callback_parts,
    close_keyboard,
    conversation,
    forbidden,
    is_private,
    local_today,
    reply_template,
    set_flow,
    user_data,
)
from bot.handlers.team import end_conversations, tell
from bot.textnorm import clean_line, to_halfwidth, to_simplified
from bot.texts import labels, render
from db import custom_reminders, erase, invitations, meetings, members, repo, settings
from db.models import Branch, CustomReminder, Meeting, Member, Membership

_LOGGER = logging.getLogger(__name__)
FLOW = "leave_delete"
DRAFT = "leave_delete"
_UNSAFE_FILE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
_QUOTES = "「」『』“”\"'《》"
_FORMULA_START = ("=", "+", "-", "@")


class State(IntEnum):
    """Waiting for the branch's name."""

    NAME = 1


# -- shared --------------------------------------------------------------------------------


def forget_branch_drafts(application: Application, branch_id: int) -> int:
    """Drop every user's drafts for the branch and end the flow they were in; returns how many
    users had one. (Drafts are user_data dicts that carry a "branch_id".)"""
    cleared = 0
    for user_id, data in list(application.user_data.items()):
        stale = [
            key
            for key, value in data.items()
            if isinstance(value, dict) and value.get("branch_id") == branch_id
        ]
        if not stale:
            continue
        flow = data.get(FLOW_KEY)
        for key in stale:
            data.pop(key)
        if flow in stale:
            data.pop(FLOW_KEY, None)
            end_conversations(application, user_id)
        application.mark_data_for_update_persistence(user_ids=[user_id])
        cleared += 1
    return cleared


async def _branch(
    update: Update, context: BotContext, roles: tuple[str, ...]
) -> tuple[Membership, Branch] | None:
    """The branch a button names (lv:<action>:<branch>) or the current one for a command, if
    the user's role there is one of `roles`; otherwise they are told and None comes back."""
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    parts = callback_parts(update)
    if update.callback_query is None:
        if not is_private(update):
            await reply_template(update, "private_only")
            return None
        current = await repo.current_membership(database, user.id)
        if current is None:
            await reply_template(update, "not_registered")
            return None
    elif len(parts) == 3 and parts[2].isdigit():
        membership = await repo.get_membership(database, user.id, int(parts[2]))
        branch = await repo.get_branch(database, int(parts[2]))
        current = (membership, branch) if membership and branch else None
    else:
        await answer(update, render("button_expired"), alert=True)
        return None
    if current is None or current[0].role not in roles:
        _LOGGER.info("User %s refused a leave action", user.id)
        await forbidden(update)
        return None
    return current


# -- /archive ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveInput:
    """Everything the archive holds, read from the database before the work thread starts."""

    branch: Branch
    roster: Sequence[Member]
    records: dict[int, list[Meeting]]
    frequencies: dict[str, str]
    settings: dict[str, Any]
    reminders: Sequence[CustomReminder]
    plans: Sequence[dict[str, Any]]
    photos: Sequence[dict[str, Any]]
    audit: Sequence[dict[str, Any]]
    today: date
    zone: tzinfo


def _text_cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([[_text_cell(v) for v in row] for row in rows])
    # With the BOM, Excel and WPS open the Chinese text correctly.
    return out.getvalue().encode("utf-8-sig")


def roster_workbook(roster: Sequence[Member]) -> bytes:
    """花名册.xlsx: one row per person (no ID or phone numbers are ever kept)."""
    from openpyxl import Workbook

    from bot.exports import clean_text

    lab = labels()
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = lab.LEAVE_ROSTER_SHEET
    sheet.append(list(lab.LEAVE_ROSTER_COLUMNS))
    for member in roster:
        info = member.info
        values = [info.name, lab.LEAVE_MEMBER_STATUSES.get(info.status, info.status),
                  info.joined_on, info.party_group, info.committee_role,
                  lab.YES if info.mobile else lab.NO, info.destination, info.left_on,
                  info.last_report_on]  # fmt: skip
        sheet.append(
            [v.isoformat() if isinstance(v, date) else clean_text(v or "") for v in values]
        )
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":  # user text that looks like a formula stays text
                cell.data_type = "s"
    for column, width in zip("ABCDEFGHI", (12, 14, 12, 12, 12, 10, 16, 12, 14), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _settings_json(data: ArchiveInput) -> bytes:
    def plain(value: object) -> object:
        if isinstance(value, date):
            return value.isoformat()
        raise TypeError(type(value).__name__)

    document = {
        "branch": asdict(data.branch.profile),
        "settings": data.settings,
        "custom_reminders": [asdict(r) for r in data.reminders],
        "party_day_plans": list(data.plans),
        "exported_on": data.today.isoformat(),
    }
    return json.dumps(document, ensure_ascii=False, indent=2, default=plain).encode()


def build_archive(data: ArchiveInput) -> bytes:
    """The branch's archive as the bytes of a .zip (runs in a worker thread)."""
    from bot import exports

    lab = labels()
    files = lab.LEAVE_FILES
    kinds = lab.KINDS
    photos = [
        [p["held_on"], kinds.get(p["kind"], p["kind"]), p["meeting_id"], p["position"] + 1,
         p["file_id"]]
        for p in data.photos
    ]  # fmt: skip
    audit = [
        [datetime.fromisoformat(a["at"]).astimezone(data.zone).strftime("%Y-%m-%d %H:%M:%S"),
         a["user_id"], a["action"], a["entity"], a["entity_id"], erase.changes_text(a["changes"])]
        for a in data.audit
    ]  # fmt: skip
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(files["roster"], roster_workbook(data.roster))
        for year, records in sorted(data.records.items()):
            ledger = exports.ledger_workbook(
                data.branch,
                year,
                records,
                data.today,
                frequencies=data.frequencies,
                zone=data.zone,
            )
            archive.writestr(files["ledger"].format(year=year), ledger)
        archive.writestr(files["photos"], _csv(lab.LEAVE_PHOTO_COLUMNS, photos))
        archive.writestr(files["settings"], _settings_json(data))
        archive.writestr(files["audit"], _csv(lab.LEAVE_AUDIT_COLUMNS, audit))
    return out.getvalue()


async def _archive_input(context: BotContext, branch: Branch) -> ArchiveInput:
    database = app_of(context).database
    today = local_today(context)
    years = sorted({today.year, *await meetings.years_with_meetings(database, branch.id)})
    records = {year: await meetings.meetings_of_year(database, branch.id, year) for year in years}
    found = await settings.get_settings(database, branch.id)
    return ArchiveInput(
        branch=branch,
        roster=await members.list_for(database, branch.id),
        records=records,
        frequencies=found.frequencies,
        settings=asdict(found),
        reminders=await custom_reminders.list_for(database, branch.id),
        plans=await erase.plan_rows(database, branch.id),
        photos=await erase.photo_rows(database, branch.id),
        audit=await erase.audit_rows(database, branch.id),
        today=today,
        zone=app_of(context).config.bot.tzinfo,
    )


def archive_name(branch_name: str, day: date) -> str:
    """The zip's file name: the branch's name made safe for every file system."""
    name = _UNSAFE_FILE_CHARS.sub("_", branch_name).strip(" .")[:40] or "branch"
    return labels().LEAVE_ARCHIVE_NAME.format(name=name, day=day.isoformat())


async def archive(update: Update, context: BotContext) -> None:
    """/archive or lv:ar:<branch>: the branch's data as one .zip document."""
    current = await _branch(update, context, ("secretary", "deputy"))
    if current is None:
        return
    membership, branch = current
    await answer(update, render("preparing_file"))
    if update.callback_query is None:
        await reply_template(update, "preparing_file")
    data = await _archive_input(context, branch)
    content = await asyncio.to_thread(build_archive, data)
    counts = {
        "roster": len(data.roster),
        "meetings": sum(len(r) for r in data.records.values()),
        "photos": len(data.photos),
        "audit": len(data.audit),
    }
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(
        InputFile(io.BytesIO(content), filename=archive_name(branch.profile.name, data.today)),
        caption=render("leave_archive", branch_name=branch.profile.name, counts=counts),
    )
    _LOGGER.info(
        "Archive of branch %s sent to %s (%d bytes)", branch.id, membership.user_id, len(content)
    )


# -- /deletebranch -------------------------------------------------------------------------


def same_name(typed: str, name: str) -> bool:
    """Whether the typed text is the branch's name (spacing, width, quotes and traditional
    script aside)."""

    def plain(text: str) -> str:
        text = clean_line(to_halfwidth(text)).replace(" ", "").strip(_QUOTES)
        return to_simplified(text)

    return bool(plain(typed)) and plain(typed) == plain(name)


async def ask_delete(update: Update, context: BotContext) -> None:
    """/deletebranch or lv:del:<branch>: what would be deleted, and the way on."""
    current = await _branch(update, context, ("secretary",))
    if current is None:
        return
    if active_flow(context):
        await answer(update, render("finish_flow_first"), alert=True)
        if update.callback_query is None:
            await reply_template(update, "finish_flow_first")
        return
    _, branch = current
    await answer(update)
    await close_keyboard(update)
    counts = await erase.branch_counts(app_of(context).database, branch.id)
    lab = labels()
    b = branch.id
    rows = [
        [(lab.LEAVE_ARCHIVE, f"lv:ar:{b}")],
        [(lab.LEAVE_CONTINUE, f"lv:d1:{b}"), (lab.KEEP, "lv:no")],
    ]
    await reply_template(
        update,
        "leave_delete",
        rows,
        view="confirm",
        branch_name=branch.profile.name,
        counts=counts,
    )


async def _ask_name(update: Update, context: BotContext, error: bool = False) -> int:
    draft = user_data(context)[DRAFT]
    rows = [[(labels().CANCEL, "lv:dc")]]
    await reply_template(
        update, "leave_delete", rows, view="ask_name", branch_name=draft["name"], error=error
    )
    return State.NAME


async def begin_delete(update: Update, context: BotContext) -> int:
    """lv:d1:<branch>: the second step, typing the name, begins."""
    current = await _branch(update, context, ("secretary",))
    if current is None:
        return ConversationHandler.END
    if active_flow(context) and active_flow(context) != FLOW:
        await answer(update, render("finish_flow_first"), alert=True)
        return ConversationHandler.END
    _, branch = current
    await answer(update)
    await close_keyboard(update)
    user_data(context)[DRAFT] = {"branch_id": branch.id, "name": branch.profile.name}
    set_flow(context, FLOW)
    return await _ask_name(update, context)


def _end(context: BotContext) -> int:
    user_data(context).pop(DRAFT, None)
    set_flow(context, None)
    return ConversationHandler.END


async def typed_name(update: Update, context: BotContext) -> int:
    """The typed name: the branch is deleted if it matches, asked again if not."""
    assert update.message is not None
    draft = user_data(context)[DRAFT]
    if not same_name((update.message.text or "")[:500], draft["name"]):
        return await _ask_name(update, context, error=True)
    user = update.effective_user
    assert user is not None
    application = app_of(context)
    database = application.database
    branch_id = draft["branch_id"]
    others = [p.user_id for p in await invitations.team(database, branch_id)]
    counts = await erase.delete_branch(database, user_id=user.id, branch_id=branch_id)
    _end(context)
    if counts is None:
        await reply_template(update, "leave_delete", view="secretary_only")
        return ConversationHandler.END
    cleared = forget_branch_drafts(application, branch_id)
    cleared += await application.forms.close_for_branch(application.database, branch_id)
    _LOGGER.info("Branch %s deleted by %s (%d drafts dropped)", branch_id, user.id, cleared)
    await reply_template(update, "leave_delete", view="deleted", branch_name=draft["name"])
    note = render("leave_delete", view="notice_member", branch_name=draft["name"])
    for other in others:
        if other != user.id:
            await tell(context, other, note)
    return ConversationHandler.END


async def cancel_delete(update: Update, context: BotContext) -> int:
    """lv:dc or /cancel while the name is asked."""
    await answer(update)
    await close_keyboard(update)
    _end(context)
    await reply_template(update, "leave_delete", view="kept")
    return ConversationHandler.END


async def resume_delete(update: Update, context: BotContext) -> int:
    """/deletebranch again while the name is asked."""
    await answer(update)
    return await _ask_name(update, context)


async def kept(update: Update, context: BotContext) -> None:
    """lv:no: nothing is deleted."""
    await answer(update)
    await close_keyboard(update)
    await reply_template(update, "leave_delete", view="kept")


# -- /forgetme -----------------------------------------------------------------------------


def _digest(user_id: int, plan: erase.ForgetPlan) -> str:
    shown = f"{user_id}|{[(b.id, b.role) for b in plan.memberships]}|{[b.id for b in plan.sole]}"
    return hashlib.sha256(shown.encode()).hexdigest()[:12]


async def _plan_card(
    update: Update, context: BotContext, plan: erase.ForgetPlan, changed: bool = False
) -> None:
    user = update.effective_user
    assert user is not None
    if plan.blocked:
        await reply_template(update, "leave_forget", view="blocked", plan=plan)
        return
    lab = labels()
    rows = [[(lab.LEAVE_FORGET_CONTINUE, f"lv:f1:{_digest(user.id, plan)}"), (lab.KEEP, "lv:no")]]
    await reply_template(update, "leave_forget", rows, view="plan", plan=plan, changed=changed)


async def forget_me(update: Update, context: BotContext) -> None:
    """/forgetme: what would be deleted, and the first confirmation."""
    user = update.effective_user
    assert user is not None
    if not is_private(update):
        await reply_template(update, "private_only")
        return
    if active_flow(context):
        await reply_template(update, "finish_flow_first")
        return
    plan = await erase.forget_plan(app_of(context).database, user.id)
    await _plan_card(update, context, plan)


async def forget_step(update: Update, context: BotContext) -> None:
    """lv:f1:<plan> asks once more; lv:f2:<plan> deletes. A plan that changed is shown again."""
    user = update.effective_user
    assert user is not None
    parts = callback_parts(update)
    if len(parts) != 3 or not is_private(update):
        await answer(update, render("button_expired"), alert=True)
        return
    application = app_of(context)
    plan = await erase.forget_plan(application.database, user.id)
    await answer(update)
    await close_keyboard(update)
    if plan.blocked or parts[2] != _digest(user.id, plan):
        await _plan_card(update, context, plan, changed=True)
        return
    if parts[1] == "f1":
        rows = [[(labels().LEAVE_FORGET_CONFIRM, f"lv:f2:{parts[2]}")], [(labels().KEEP, "lv:no")]]
        await reply_template(update, "leave_forget", rows, view="confirm", plan=plan)
        return
    sole = tuple(b.id for b in plan.sole)
    if not await erase.forget_user(application.database, user.id, sole_branches=sole):
        await _plan_card(update, context, await erase.forget_plan(application.database, user.id))
        return
    for branch_id in sole:
        forget_branch_drafts(application, branch_id)
        await application.forms.close_for_branch(application.database, branch_id)
    end_conversations(application, user.id)
    await application.forms.close(application.database, user.id)
    application.drop_user_data(user.id)
    application.drop_chat_data(user.id)
    _LOGGER.info("A user's data was deleted (%d branches with it)", len(sole))
    await reply_template(update, "leave_forget", view="done")


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/archive, /deletebranch with its typed confirmation, /forgetme."""
    return [
        conversation(
            name="leave_delete",
            entry_points=[CallbackQueryHandler(begin_delete, pattern=r"^lv:d1:")],
            states={
                State.NAME: [
                    MessageHandler(filters.TEXT & ~filters.COMMAND, typed_name),
                    CallbackQueryHandler(cancel_delete, pattern=r"^lv:dc$"),
                ]
            },
            fallbacks=[
                CommandHandler("cancel", cancel_delete),
                CommandHandler("deletebranch", resume_delete),
            ],
        ),
        CommandHandler("archive", archive),
        CallbackQueryHandler(archive, pattern=r"^lv:ar:"),
        CommandHandler("deletebranch", ask_delete),
        CallbackQueryHandler(ask_delete, pattern=r"^lv:del:"),
        CallbackQueryHandler(kept, pattern=r"^lv:(no|dc)$"),
        CommandHandler("forgetme", forget_me),
        CallbackQueryHandler(forget_step, pattern=r"^lv:f[12]:"),
    ]
