"""/archive, /deletebranch and /forgetme: taking a branch's data along, deleting a branch for
good, and deleting one's own data.

- /archive (secretary or deputy): one .zip with 花名册.xlsx, the 台账 of every year with
  records, 照片清单.csv (file ids: the photos stay in Telegram), 设置.json and 操作记录.csv.
- /deletebranch (secretary only): a card that says what goes (and offers the archive), then
  the branch's full name typed as the second, deliberate step (a form of the engine: only a
  typed name that matches deletes; its one button cancels). The delete is real (db/erase.py);
  afterwards no user keeps a draft for the branch and no one stays in a flow for it.
- /forgetme (anyone): two confirmations, then the user's own data is deleted (db/erase.py says
  what that means). Refused while they are the secretary of a branch with other members; a
  branch where they are alone is deleted with them, and the cards say so.

The /forgetme buttons carry the plan's digest: what was shown is what is done.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import logging
from typing import Any

import msgspec
from msgspec.structs import asdict
from telegram import InputFile, Update
from telegram.ext import BaseHandler, CommandHandler

from bot import access
from bot import buttons as bt
from bot.access import Need
from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.callbacks import on
from bot.forms import Form, Outcome, Step, Turn
from bot.handlers.common import (
    active_flow,
    answer,
    close_keyboard,
    forbidden,
    is_private,
    local_today,
    reply_template,
)
from bot.handlers.team import tell
from bot.leaving import ArchiveInput, archive_name, build_archive, same_name
from bot.texts import labels, render
from db import custom_reminders, erase, invitations, meetings, members, repo, settings
from db.models import Branch, Membership

_LOGGER = logging.getLogger(__name__)
DELETE = "lvd"
NAME_TYPED_LIMIT = 500


# -- shared --------------------------------------------------------------------------------


async def _branch(
    update: Update, context: BotContext, need: Need, branch_id: int | None
) -> tuple[Membership, Branch] | None:
    """The branch a button names or the current one for a command, if the user's role there
    meets `need`; otherwise they are told and None comes back."""
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    if branch_id is None:
        if not is_private(update):
            await reply_template(update, "private_only")
            return None
        current = await repo.current_membership(database, user.id)
        if current is None:
            await reply_template(update, "not_registered")
            return None
        branch_id = current[1].id
    found = await access.authorize(database, user.id, branch_id, need)
    if found is None:
        _LOGGER.info("User %s refused a leave action", user.id)
        await forbidden(update)
    return found


# -- /archive ------------------------------------------------------------------------------


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


async def archive(update: Update, context: BotContext, branch_id: int | None = None) -> None:
    """/archive or lv:ar:<branch>: the branch's data as one .zip document."""
    current = await _branch(update, context, Need.EDIT, branch_id)
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


async def ask_delete(update: Update, context: BotContext, branch_id: int | None = None) -> None:
    """/deletebranch or lv:del:<branch>: what would be deleted, and the way on."""
    current = await _branch(update, context, Need.SECRETARY, branch_id)
    if current is None:
        return
    user = update.effective_user
    assert user is not None
    forms = app_of(context).forms
    open_form = forms.active(user.id)
    if open_form is not None:
        await answer(update)
        await forms.resume(update, context, same=open_form == DELETE)
        return
    _, branch = current
    await answer(update)
    await close_keyboard(update)
    counts = await erase.branch_counts(app_of(context).database, branch.id)
    lab = labels()
    b = branch.id
    rows = [
        [(lab.LEAVE_ARCHIVE, bt.ARCHIVE(b))],
        [(lab.LEAVE_CONTINUE, bt.DELETE_BRANCH_TYPE(b)), (lab.KEEP, bt.KEEP_ALL())],
    ]
    await reply_template(
        update,
        "leave_delete",
        rows,
        view="confirm",
        branch_name=branch.profile.name,
        counts=counts,
    )


class DeleteDraft(msgspec.Struct):
    """A branch being deleted: the name to type, and whether it was typed right."""

    branch_id: int
    name: str
    confirmed: bool = False


def _ask_name(turn: Turn[DeleteDraft]) -> str:
    return render("leave_delete", view="ask_name", branch_name=turn.draft.name, error=False)


def _read_name(turn: Turn[DeleteDraft], typed: str) -> None:
    if not same_name(typed[:NAME_TYPED_LIMIT], turn.draft.name):
        raise InvalidAnswer("name_mismatch")
    turn.draft.confirmed = True


async def _load_delete(turn: Turn[DeleteDraft]) -> tuple[Membership, Branch]:
    """The branch, while the user is still its secretary."""
    return await turn.authorize(turn.draft.branch_id, Need.SECRETARY)


async def _delete(turn: Turn[DeleteDraft], key: str) -> Outcome:
    """The name matched: the branch goes, with every draft and flow about it."""
    application = app_of(turn.context)
    database = turn.database
    draft = turn.draft
    others = [p.user_id for p in await invitations.team(database, draft.branch_id)]
    counts = await erase.delete_branch(database, user_id=turn.user_id, branch_id=draft.branch_id)
    if counts is None:
        return Outcome(render("leave_delete", view="secretary_only"))
    # The rows went with the branch (db.erase); the engine forgets its copies of them.
    cleared = await application.forms.close_for_branch(database, draft.branch_id)
    # Updates already handled are marked now, not with the next batch: that empties their
    # stored copies, which may quote the branch (a tapped card, a typed name).
    await application.flush_marks()
    _LOGGER.info(
        "Branch %s deleted by %s (%d drafts dropped)", draft.branch_id, turn.user_id, cleared
    )
    note = render("leave_delete", view="notice_member", branch_name=draft.name)
    for other in others:
        if other != turn.user_id:
            await tell(turn.context, other, note)
    return Outcome(render("leave_delete", view="deleted", branch_name=draft.name))


DELETE_FORM: Form[DeleteDraft] = Form(
    name=DELETE,
    draft=DeleteDraft,
    steps=lambda draft: [
        Step(name="name", question=_ask_name, answered=lambda d: d.confirmed, read=_read_name)
    ],
    load=_load_delete,
    save=_delete,
    cancelled="leave_kept",
)


async def begin_delete(update: Update, context: BotContext, branch_id: int | None = None) -> None:
    """lv:d1:<branch>: the second step, typing the name, begins."""
    current = await _branch(update, context, Need.SECRETARY, branch_id)
    if current is None:
        return
    user = update.effective_user
    assert user is not None
    forms = app_of(context).forms
    _, branch = current
    draft = DeleteDraft(branch_id=branch.id, name=branch.profile.name)
    await forms.start(update, context, DELETE, draft)


async def kept(update: Update, context: BotContext) -> None:
    """lv:no: nothing is deleted."""
    await answer(update)
    await close_keyboard(update)
    await reply_template(update, "leave_kept")


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
    rows = [
        [(lab.LEAVE_FORGET_CONTINUE, bt.FORGET(_digest(user.id, plan))), (lab.KEEP, bt.KEEP_ALL())]
    ]
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


async def forget_step(update: Update, context: BotContext, digest: str, *, sure: bool) -> None:
    """The first tap asks once more; the second deletes. A plan that changed is shown again."""
    user = update.effective_user
    assert user is not None
    if not is_private(update):
        await answer(update, render("button_expired"), alert=True)
        return
    application = app_of(context)
    plan = await erase.forget_plan(application.database, user.id)
    await answer(update)
    await close_keyboard(update)
    if plan.blocked or digest != _digest(user.id, plan):
        await _plan_card(update, context, plan, changed=True)
        return
    if not sure:
        rows = [[(labels().LEAVE_FORGET_CONFIRM, bt.FORGET_SURE(digest))],
                [(labels().KEEP, bt.KEEP_ALL())]]  # fmt: skip
        await reply_template(update, "leave_forget", rows, view="confirm", plan=plan)
        return
    sole = tuple(b.id for b in plan.sole)
    if not await erase.forget_user(application.database, user.id, sole_branches=sole):
        await _plan_card(update, context, await erase.forget_plan(application.database, user.id))
        return
    for branch_id in sole:
        await application.forms.close_for_branch(application.database, branch_id)
    await application.forms.close(application.database, user.id)
    _LOGGER.info("A user's data was deleted (%d branches with it)", len(sole))
    await reply_template(update, "leave_forget", view="done")


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/archive, /deletebranch with its typed confirmation (the form), /forgetme."""
    return [
        on(bt.DELETE_BRANCH_TYPE, begin_delete),
        CommandHandler("archive", archive),
        on(bt.ARCHIVE, archive),
        CommandHandler("deletebranch", ask_delete),
        on(bt.DELETE_BRANCH, ask_delete),
        on(bt.KEEP_ALL, kept),
        CommandHandler("forgetme", forget_me),
        on(bt.FORGET, functools.partial(forget_step, sure=False)),
        on(bt.FORGET_SURE, functools.partial(forget_step, sure=True)),
    ]
