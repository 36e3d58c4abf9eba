"""Binding a group to a branch: when the bot is added to a group it offers to bind it (书记 or
副书记 taps, or types /bind); one group per branch and one branch per group; /unbind or removing
the bot drops the binding.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot import access
from bot import buttons as bt
from bot.access import Need
from bot.application import BotContext, app_of
from bot.handlers.checkin.common import IN_CHAT, say
from bot.handlers.common import (
    answer,
    close_keyboard,
    is_private,
    keyboard,
    reply_template,
)
from bot.texts import labels, render
from db import repo, settings
from db.models import Branch, Membership

_LOGGER = logging.getLogger(__name__)


async def bot_membership(update: Update, context: BotContext) -> None:
    """The bot was added to or removed from a group: offer binding, or drop it."""
    change = update.my_chat_member
    if change is None or change.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return
    was = change.old_chat_member.status in IN_CHAT
    now = change.new_chat_member.status in IN_CHAT
    chat_id = change.chat.id
    if now and not was:
        try:
            await context.bot.send_message(
                chat_id, render("group_welcome"), reply_markup=keyboard([[_bind_button()]])
            )
        except TelegramError as exc:
            _LOGGER.warning("Could not greet group %d: %s", chat_id, type(exc).__name__)
    elif was and not now:
        database = app_of(context).database
        branch_id = await settings.branch_of_group(database, chat_id)
        if branch_id is not None:
            await settings.update_settings(
                database, user_id=change.from_user.id, branch_id=branch_id, group_chat_id=None
            )
            _LOGGER.info("Bot left group %d: branch %d unbound", chat_id, branch_id)


def _bind_button() -> tuple[str, str]:
    return (labels().GROUP_BIND, bt.BIND())


async def bind(update: Update, context: BotContext) -> None:
    """/bind in a group or the 绑定 button: bind the group to the tapper's branch."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    if is_private(update):
        await answer(update)
        await reply_template(update, "group_bind", what="private", branch="")
        return
    database = app_of(context).database
    editable = [(m, b) for m, b in await repo.list_memberships(database, user.id) if m.can_edit]
    if not editable:
        await say(update, render("group_bind", what="no_right", branch=""))
        return
    bound = await settings.branch_of_group(database, chat.id)
    if bound is not None:
        mine = [b for _, b in editable if b.id == bound]
        what = "already" if mine else "elsewhere"
        name = mine[0].profile.name if mine else ""
        await say(update, render("group_bind", what=what, branch=name), alert=not mine)
        if mine:
            await close_keyboard(update)
        return
    if len(editable) == 1:
        await _bind(update, context, *editable[0])
        return
    await answer(update)
    lab = labels()
    rows = [
        [(lab.GROUP_BRANCH.format(name=b.profile.name[:30]), bt.BIND_TO(b.id))]
        for _, b in editable
    ]
    await reply_template(update, "group_bind", rows, what="choose", branch="")


async def _editor(
    update: Update, context: BotContext, branch_id: int
) -> tuple[Membership, Branch] | None:
    """The tapper's role in the branch the button carries, if they may bind (else answered)."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    # Binding buttons act on the group they are in: a forged one in a private chat would bind
    # the branch's group to that private chat.
    if not access.in_group(chat.type):
        await answer(update, render("button_expired"), alert=True)
        return None
    found = await access.authorize(app_of(context).database, user.id, branch_id, Need.EDIT)
    if found is None:
        await answer(update, render("group_bind", what="no_right", branch=""), alert=True)
        return None
    return found


async def bind_to(update: Update, context: BotContext, branch_id: int) -> None:
    """The branch chosen for this group."""
    found = await _editor(update, context, branch_id)
    if found is None:
        return
    chat = update.effective_chat
    assert chat is not None
    bound = await settings.branch_of_group(app_of(context).database, chat.id)
    if bound is not None and bound != found[1].id:
        await answer(update, render("group_bind", what="elsewhere", branch=""), alert=True)
        return
    await _bind(update, context, *found)


async def _bind(
    update: Update, context: BotContext, membership: Membership, branch: Branch
) -> None:
    """Bind now, or ask first if the branch has another group."""
    chat = update.effective_chat
    assert chat is not None
    database = app_of(context).database
    current = (await settings.get_settings(database, branch.id)).group_chat_id
    await answer(update)
    await close_keyboard(update)
    name = branch.profile.name
    if current == chat.id:
        await reply_template(update, "group_bind", what="already", branch=name)
        return
    if current is not None:
        lab = labels()
        rows = [[(lab.GROUP_MOVE, bt.BIND_MOVE(branch.id)), (lab.GROUP_KEEP, bt.BIND_KEEP())]]
        await reply_template(update, "group_bind", rows, what="confirm_move", branch=name)
        return
    await settings.update_settings(
        database, user_id=membership.user_id, branch_id=branch.id, group_chat_id=chat.id
    )
    _LOGGER.info("Group %d bound to branch %d", chat.id, branch.id)
    await reply_template(update, "group_bind", what="bound", branch=name)


async def move(update: Update, context: BotContext, branch_id: int) -> None:
    """Confirmed: the branch's binding moves to this group."""
    found = await _editor(update, context, branch_id)
    if found is None:
        return
    membership, branch = found
    chat = update.effective_chat
    assert chat is not None
    database = app_of(context).database
    bound = await settings.branch_of_group(database, chat.id)
    if bound is not None and bound != branch.id:
        await answer(update, render("group_bind", what="elsewhere", branch=""), alert=True)
        return
    await answer(update)
    await close_keyboard(update)
    await settings.update_settings(
        database, user_id=membership.user_id, branch_id=branch.id, group_chat_id=chat.id
    )
    _LOGGER.info("Branch %d moved to group %d", branch.id, chat.id)
    await reply_template(update, "group_bind", what="moved", branch=branch.profile.name)


async def keep(update: Update, context: BotContext) -> None:
    """The binding stays where it was."""
    await answer(update, render("group_bind", what="kept", branch=""))
    await close_keyboard(update)


async def unbind(update: Update, context: BotContext) -> None:
    """/unbind in a bound group (书记 or 副书记 of its branch)."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    if is_private(update):
        await reply_template(update, "group_bind", what="private", branch="")
        return
    database = app_of(context).database
    branch_id = await settings.branch_of_group(database, chat.id)
    branch = await repo.get_branch(database, branch_id) if branch_id else None
    if branch is None:
        await reply_template(update, "group_not_bound")
        return
    membership = await repo.get_membership(database, user.id, branch.id)
    if membership is None or not membership.can_edit:
        await reply_template(update, "group_bind", what="no_right", branch="")
        return
    await settings.update_settings(
        database, user_id=user.id, branch_id=branch.id, group_chat_id=None
    )
    _LOGGER.info("Group %d unbound from branch %d", chat.id, branch.id)
    await reply_template(update, "group_bind", what="unbound", branch=branch.profile.name)
