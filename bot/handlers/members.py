"""/members: the branch's roster (花名册): the list, a member's card, deleting, and the ways into
adding, editing (bot/handlers/members_form.py) and files (bot/handlers/members_files.py).

Buttons carry the branch id (and the member id) and are checked again on every tap.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot import buttons as bt
from bot.access import Need
from bot.application import BotContext, app_of
from bot.callbacks import on
from bot.handlers import dues, members_files, members_form
from bot.handlers.common import (
    allowed,
    answer,
    close_keyboard,
    local_today,
    reply,
    reply_template,
)
from bot.handlers.members_view import (
    card_view,
    current,
    member_of,
    roster_view,
)
from bot.texts import labels, render
from db import members
from db.models import Membership

_LOGGER = logging.getLogger(__name__)
# The forms of the roster: /members while one is open goes back to it.
FORMS = (members_form.ADD, members_form.EDIT, members_files.IMPORT)


async def _roster(update: Update, context: BotContext, membership: Membership, page: int) -> None:
    await reply(update, *await roster_view(app_of(context).database, membership, page))


async def show_roster(update: Update, context: BotContext) -> None:
    """/members or 花名册 in the menu."""
    user = update.effective_user
    assert user is not None
    forms = app_of(context).forms
    if forms.active(user.id) in FORMS:
        # Adding, editing or importing: the open question again.
        await forms.resume(update, context)
        return
    found = await current(update, context)
    await answer(update)
    if found is not None:
        await close_keyboard(update)
        await _roster(update, context, found[0], 0)


async def roster_page(update: Update, context: BotContext, branch_id: int, page: int) -> None:
    """A page of the roster."""
    found = await allowed(update, context, branch_id, Need.READ)
    if found is None:
        return
    await answer(update)
    await close_keyboard(update)
    await _roster(update, context, found[0], page)


async def confirm_complete(update: Update, context: BotContext, branch_id: int) -> None:
    """The roster lists everyone; from now on the counts come from it."""
    found = await allowed(update, context, branch_id, Need.EDIT)
    if found is None:
        return
    membership = found[0]
    changed = await members.confirm_complete(
        app_of(context).database, user_id=membership.user_id, branch_id=branch_id
    )
    if changed:
        await dues.settle_marks(
            app_of(context).database, branch_id, membership.user_id, local_today(context)
        )
    await answer(update, render("roster_complete", changed=changed))
    await close_keyboard(update)
    await _roster(update, context, membership, 0)


async def open_member(update: Update, context: BotContext, branch_id: int, member_id: int) -> None:
    """mb:o:<branch>:<member>: the member's card."""
    found = await member_of(update, context, Need.READ, branch_id, member_id)
    if found is None:
        return
    await answer(update)
    await close_keyboard(update)
    await reply(update, *card_view(*found))


async def ask_delete(update: Update, context: BotContext, branch_id: int, member_id: int) -> None:
    """mb:d:<branch>:<member>: ask before deleting."""
    found = await member_of(update, context, Need.EDIT, branch_id, member_id)
    if found is None:
        return
    _, branch, member = found
    await answer(update)
    await close_keyboard(update)
    lab = labels()
    rows = [
        [(lab.ROSTER_CONFIRM_DELETE, bt.MEMBER_DELETE_SURE(branch.id, member.id)),
         (lab.ROSTER_KEEP_PERSON, bt.MEMBER(branch.id, member.id))]
    ]  # fmt: skip
    m = {"name": member.name}
    await reply_template(update, "roster_card", rows, view="confirm_delete", m=m)


async def delete(update: Update, context: BotContext, branch_id: int, member_id: int) -> None:
    """mb:dd:<branch>:<member>: delete for good (a second tap finds no one)."""
    found = await member_of(update, context, Need.EDIT, branch_id, member_id)
    if found is None:
        return
    membership, branch, member = found
    await members.remove(
        app_of(context).database,
        user_id=membership.user_id,
        branch_id=branch.id,
        member_id=member.id,
    )
    _LOGGER.info("Member %d deleted from branch %d", member.id, branch.id)
    await dues.settle_marks(
        app_of(context).database, branch.id, membership.user_id, local_today(context)
    )
    await answer(update)
    await close_keyboard(update)
    await reply_template(update, "roster_card", view="deleted", m={"name": member.name})
    await _roster(update, context, membership, 0)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/members, its buttons, the ways into its forms, and uploaded roster files."""
    roster_file = filters.ChatType.PRIVATE & filters.Document.ALL & ~filters.Document.IMAGE
    return [
        on(bt.MEMBER_ADD, members_form.begin_add),
        on(bt.MEMBER_EDIT, members_form.begin_edit),
        on(bt.ROSTER_IMPORT, members_files.begin_import),
        CommandHandler("members", show_roster),
        on(bt.MENU_MEMBERS, show_roster),
        on(bt.ROSTER, roster_page),
        on(bt.MEMBER, open_member),
        on(bt.ROSTER_DONE, confirm_complete),
        on(bt.MEMBER_DELETE, ask_delete),
        on(bt.MEMBER_DELETE_SURE, delete),
        on(bt.ROSTER_EXPORT, members_files.export),
        on(bt.ROSTER_TEMPLATE, members_files.template),
        on(bt.IMPORT_OK, members_files.confirm_import),
        on(bt.IMPORT_NO, members_files.cancel_import),
        MessageHandler(roster_file, members_files.file_sent),
    ]
