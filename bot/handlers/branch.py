"""The branch profile: /branch shows it, editors change one field at a time; /switch."""

from __future__ import annotations

import logging
from enum import IntEnum
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.application import BotContext, app_of
from bot.branch_profile import FIELDS, InvalidAnswer, check_profile
from bot.handlers import profile_form
from bot.handlers.common import (
    active_flow,
    answer,
    callback_parts,
    close_keyboard,
    conversation,
    forbidden,
    in_rows,
    is_private,
    reply,
    reply_template,
    set_flow,
    user_data,
)
from bot.handlers.start import send_menu
from bot.member_counts import member_counts
from bot.texts import labels, render
from db import members, repo
from db.models import Branch, Membership

_LOGGER = logging.getLogger(__name__)
FLOW = "branch_edit"
DRAFT = "branch_edit"


class State(IntEnum):
    """Where the edit conversation is."""

    EDITING = 1


async def show_card(
    update: Update, context: BotContext, membership: Membership, branch: Branch
) -> None:
    """The profile card, with edit buttons for those who may edit."""
    lab = labels()
    rows: list[list[tuple[str, str]]] = []
    if membership.can_edit:
        edits = [(lab.EDIT_PREFIX + lab.FIELDS[f], f"br:edit:{branch.id}:{f}") for f in FIELDS]
        rows = in_rows(edits, 3)
    rows.append([(lab.MENU, "menu:home")])
    await reply_template(
        update,
        "branch_card",
        rows,
        p=branch.profile,
        role=lab.ROLES[membership.role],
        can_edit=membership.can_edit,
        warnings=check_profile(branch.profile),
        c=member_counts(branch, await members.list_for(app_of(context).database, branch.id)),
    )


async def show_branch(update: Update, context: BotContext) -> None:
    """/branch or the 支部信息 button: the current branch's profile."""
    await answer(update)
    if not is_private(update):
        await reply_template(update, "private_only")
        return
    user = update.effective_user
    assert user is not None
    current = await repo.current_membership(app_of(context).database, user.id)
    if current is None:
        await reply_template(update, "not_registered")
        return
    await close_keyboard(update)
    await show_card(update, context, *current)


async def list_branches(update: Update, context: BotContext) -> None:
    """/switch: the user's branches as buttons."""
    await answer(update)
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    entries = await repo.list_memberships(database, user.id)
    if not entries:
        await reply_template(update, "not_registered")
        return
    current = await repo.current_membership(database, user.id)
    current_id = current[1].id if current else None
    lab = labels()
    rows = [
        [
            (
                (lab.CURRENT_MARK if branch.id == current_id else "") + branch.profile.name[:40],
                f"br:sw:{branch.id}",
            )
        ]
        for _, branch in entries
    ]
    await reply_template(update, "switch_list", rows, count=len(entries))


async def switch(update: Update, context: BotContext) -> None:
    """Make the tapped branch the current one (only a branch the user belongs to)."""
    parts = callback_parts(update)
    user = update.effective_user
    assert user is not None
    if len(parts) != 3 or not parts[2].isdigit():
        await answer(update, render("button_expired"), alert=True)
        return
    database = app_of(context).database
    if not await repo.set_current_branch(database, user.id, int(parts[2])):
        await forbidden(update)
        return
    await answer(update)
    await close_keyboard(update)
    branch = await repo.get_branch(database, int(parts[2]))
    assert branch is not None
    await reply_template(update, "switched", name=branch.profile.name)
    await send_menu(update, context)


async def _editor(update: Update, context: BotContext, branch_id: int) -> Branch | None:
    """The branch if the user may edit it; otherwise tell them and return None."""
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    membership = await repo.get_membership(database, user.id, branch_id)
    branch = await repo.get_branch(database, branch_id)
    if membership is None or branch is None or not membership.can_edit:
        _LOGGER.warning("User %s refused editing branch %s", user.id, branch_id)
        await forbidden(update)
        return None
    return branch


async def _ask(update: Update, context: BotContext, error: InvalidAnswer | None = None) -> int:
    draft = user_data(context)[DRAFT]
    field = draft["field"]
    text = profile_form.prompt(field, current=draft["current"], error=error, template="branch_ask")
    rows = [*profile_form.option_rows("bre:set", field), [(labels().CANCEL, "bre:cancel")]]
    await reply(update, text, rows)
    return State.EDITING


async def begin_edit(update: Update, context: BotContext) -> int:
    """An edit button on the profile card: ask the new value of that field."""
    parts = callback_parts(update)
    if len(parts) != 4 or not parts[2].isdigit() or parts[3] not in FIELDS:
        await answer(update, render("button_expired"), alert=True)
        return ConversationHandler.END
    if active_flow(context):
        await answer(update, render("finish_flow_first"), alert=True)
        return ConversationHandler.END
    branch = await _editor(update, context, int(parts[2]))
    if branch is None:
        return ConversationHandler.END
    await answer(update)
    await close_keyboard(update)
    field = parts[3]
    user_data(context)[DRAFT] = {
        "branch_id": branch.id,
        "field": field,
        "current": getattr(branch.profile, field),
    }
    set_flow(context, FLOW)
    return await _ask(update, context)


async def _apply(update: Update, context: BotContext, value: Any) -> int:
    draft = user_data(context).pop(DRAFT)
    set_flow(context, None)
    branch = await _editor(update, context, draft["branch_id"])
    if branch is None:
        return ConversationHandler.END
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    if getattr(branch.profile, draft["field"]) == value:
        await reply_template(update, "branch_unchanged")
    else:
        updated = await repo.update_branch(
            database, user_id=user.id, branch_id=branch.id, changes={draft["field"]: value}
        )
        assert updated is not None
        branch = updated
        await reply_template(update, "branch_updated", field=draft["field"])
    membership = await repo.get_membership(database, user.id, branch.id)
    assert membership is not None
    await show_card(update, context, membership, branch)
    return ConversationHandler.END


async def typed(update: Update, context: BotContext) -> int:
    """A typed new value."""
    draft = user_data(context).get(DRAFT)
    assert update.message is not None
    if draft is None:
        return ConversationHandler.END
    try:
        value = profile_form.read_typed(draft["field"], update.message.text or "")
    except InvalidAnswer as error:
        return await _ask(update, context, error)
    return await _apply(update, context, value)


async def tapped(update: Update, context: BotContext) -> int:
    """A tapped new value; buttons of another question are refused."""
    draft = user_data(context).get(DRAFT)
    parts = callback_parts(update)
    if draft is None or len(parts) != 4 or parts[2] != draft["field"]:
        await answer(update, render("button_expired"), alert=True)
        return State.EDITING if draft else ConversationHandler.END
    try:
        value = profile_form.read_tapped(parts[2], parts[3])
    except InvalidAnswer:
        await answer(update, render("button_expired"), alert=True)
        return State.EDITING
    await answer(update)
    await close_keyboard(update)
    return await _apply(update, context, value)


async def cancel(update: Update, context: BotContext) -> int:
    """Leave the edit without changing anything."""
    await answer(update)
    await close_keyboard(update)
    user_data(context).pop(DRAFT, None)
    set_flow(context, None)
    await reply_template(update, "cancelled")
    return ConversationHandler.END


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Profile card, profile editing and switching branches."""
    return [
        conversation(
            name="branch_edit",
            entry_points=[CallbackQueryHandler(begin_edit, pattern=r"^br:edit:")],
            states={
                State.EDITING: [
                    MessageHandler(filters.TEXT & ~filters.COMMAND, typed),
                    CallbackQueryHandler(tapped, pattern=r"^bre:set:"),
                    CallbackQueryHandler(cancel, pattern=r"^bre:cancel$"),
                ]
            },
            fallbacks=[CommandHandler("cancel", cancel)],
        ),
        CommandHandler("branch", show_branch),
        CallbackQueryHandler(show_branch, pattern=r"^menu:branch$"),
        CommandHandler("switch", list_branches),
        CallbackQueryHandler(list_branches, pattern=r"^menu:switch$"),
        CallbackQueryHandler(switch, pattern=r"^br:sw:"),
    ]
