"""/members: the branch's roster (花名册): the list, a member's card, deleting, and the ways into
adding, editing (bot/handlers/members_form.py) and files (bot/handlers/members_files.py).

Buttons carry the branch id (and the member id) and are checked again on every tap.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.access import Need
from bot.application import BotContext, app_of
from bot.handlers import members_files, members_form
from bot.handlers.common import (
    allowed,
    answer,
    callback_parts,
    close_keyboard,
    reply,
    reply_template,
)
from bot.handlers.members_view import (
    card_view,
    current,
    expired,
    ids,
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
    """/members, 花名册 in the menu, or mb:l:<branch>:<page>."""
    if update.callback_query and callback_parts(update)[:2] == ["mb", "l"]:
        found_ids = ids(update, 2)
        if found_ids is None:
            await expired(update)
            return
        found = await allowed(update, context, found_ids[0], Need.READ)
        if found is None:
            return
        membership, page = found[0], found_ids[1]
    else:
        user = update.effective_user
        assert user is not None
        forms = app_of(context).forms
        if forms.active(user.id) in FORMS:
            # Adding, editing or importing: the open question again.
            await forms.resume(update, context)
            return
        found = await current(update, context)
        if found is None:
            await answer(update)
            return
        membership, page = found[0], 0
    await answer(update)
    await close_keyboard(update)
    await _roster(update, context, membership, page)


async def confirm_complete(update: Update, context: BotContext) -> None:
    """mb:done:<branch>: the roster lists everyone; from now on the counts come from it."""
    found_ids = ids(update, 1)
    if found_ids is None:
        await expired(update)
        return
    found = await allowed(update, context, found_ids[0], Need.EDIT)
    if found is None:
        return
    membership = found[0]
    changed = await members.confirm_complete(
        app_of(context).database, user_id=membership.user_id, branch_id=found_ids[0]
    )
    await answer(update, render("roster_complete", changed=changed))
    await close_keyboard(update)
    await _roster(update, context, membership, 0)


async def open_member(update: Update, context: BotContext) -> None:
    """mb:o:<branch>:<member>: the member's card."""
    found = await member_of(update, context, Need.READ)
    if found is None:
        return
    await answer(update)
    await close_keyboard(update)
    await reply(update, *card_view(*found))


async def ask_delete(update: Update, context: BotContext) -> None:
    """mb:d:<branch>:<member>: ask before deleting."""
    found = await member_of(update, context, Need.EDIT)
    if found is None:
        return
    _, branch, member = found
    await answer(update)
    await close_keyboard(update)
    lab = labels()
    rows = [
        [(lab.ROSTER_CONFIRM_DELETE, f"mb:dd:{branch.id}:{member.id}"),
         (lab.ROSTER_KEEP_PERSON, f"mb:o:{branch.id}:{member.id}")]
    ]  # fmt: skip
    m = {"name": member.name}
    await reply_template(update, "roster_card", rows, view="confirm_delete", m=m)


async def delete(update: Update, context: BotContext) -> None:
    """mb:dd:<branch>:<member>: delete for good (a second tap finds no one)."""
    found = await member_of(update, context, Need.EDIT)
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
    await answer(update)
    await close_keyboard(update)
    await reply_template(update, "roster_card", view="deleted", m={"name": member.name})
    await _roster(update, context, membership, 0)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/members, its buttons, the ways into its forms, and uploaded roster files."""
    roster_file = filters.ChatType.PRIVATE & filters.Document.ALL & ~filters.Document.IMAGE
    return [
        CallbackQueryHandler(members_form.begin_add, pattern=r"^mb:add:"),
        CallbackQueryHandler(members_form.begin_edit, pattern=r"^mb:e:"),
        CallbackQueryHandler(members_files.begin_import, pattern=r"^mb:imp:"),
        CommandHandler("members", show_roster),
        CallbackQueryHandler(show_roster, pattern=r"^(menu:members|mb:l:)"),
        CallbackQueryHandler(open_member, pattern=r"^mb:o:"),
        CallbackQueryHandler(confirm_complete, pattern=r"^mb:done:"),
        CallbackQueryHandler(ask_delete, pattern=r"^mb:d:"),
        CallbackQueryHandler(delete, pattern=r"^mb:dd:"),
        CallbackQueryHandler(members_files.export, pattern=r"^mb:x:"),
        CallbackQueryHandler(members_files.template, pattern=r"^mb:t:"),
        CallbackQueryHandler(members_files.confirm_import, pattern=r"^mb:ok:"),
        CallbackQueryHandler(members_files.cancel_import, pattern=r"^mb:no:"),
        MessageHandler(roster_file, members_files.file_sent),
    ]
