"""请假 and the conversation that asks its reason in private (checkin_leave); the picked name that
links a user and goes on with what they tapped; the /start checkin_<card> deep link.
"""

from __future__ import annotations

import logging
from enum import IntEnum

from telegram import Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import ConversationHandler

from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.handlers.checkin.card import request_refresh, send_summary, sign_in
from bot.handlers.checkin.common import (
    FLOW,
    IN_CHAT,
    LEAVE,
    PICK,
    cannot_write,
    card_of_tap,
    kind_name,
    write_privately,
)
from bot.handlers.checkin.linking import offer_names
from bot.handlers.common import (
    active_flow,
    answer,
    callback_parts,
    close_keyboard,
    is_private,
    reply_template,
    set_flow,
    user_data,
)
from bot.textnorm import clean_line
from bot.texts import labels, render
from db import checkins, members, repo
from db.checkins import Checkin
from db.models import Member

_LOGGER = logging.getLogger(__name__)
REASON_LIMIT = 100


class State(IntEnum):
    """Where the leave conversation is."""

    REASON = 1


async def leave_tapped(update: Update, context: BotContext) -> int:
    """ck:lv:<card>: 请假 — the reason is asked in private."""
    user = update.effective_user
    assert user is not None
    card = await card_of_tap(update, context, on_card=True)
    if card is None:
        return ConversationHandler.END
    if active_flow(context) not in (None, FLOW):
        await answer(update, render("finish_flow_first"), alert=True)
        return ConversationHandler.END
    database = app_of(context).database
    member = await members.by_user(database, card.branch_id, user.id)
    if member is None:
        await offer_names(update, context, card, "lv")
        return ConversationHandler.END
    if not member.is_party_member:
        await answer(update, render("checkin_note", what="party_only"), alert=True)
        return ConversationHandler.END
    if await checkins.state_of(database, card.id, member.id) == "present":
        await answer(update, render("checkin_note", what="leave_signed"), alert=True)
        return ConversationHandler.END
    return await _ask_reason(update, context, card, member)


async def _ask_reason(
    update: Update,
    context: BotContext,
    card: Checkin,
    member: Member,
    error: InvalidAnswer | None = None,
) -> int:
    text = render(
        "checkin_note",
        what="leave_ask",
        kind=kind_name(card.kind),
        held_on=card.held_on,
        error=error,
    )
    sent = await write_privately(update, context, text, [[(labels().CANCEL, "ck:lvx")]])
    if sent is None:
        user_data(context)[PICK] = {"id": card.id, "intent": "lv"}
        await _end_leave(context)
        await cannot_write(update, context, card)
        return ConversationHandler.END
    if update.callback_query and not is_private(update):
        await answer(update, render("checkin_note", what="leave_sent"), alert=True)
    else:
        await answer(update)
    user_data(context)[LEAVE] = {"id": card.id, "member_id": member.id}
    set_flow(context, FLOW)
    return State.REASON


def _read_reason(text: str) -> str:
    value = clean_line(text.replace("\n", " "))
    if not value:
        raise InvalidAnswer("empty")
    if len(value) > REASON_LIMIT:
        raise InvalidAnswer("too_long", limit=REASON_LIMIT, length=len(value))
    return value


async def reason_typed(update: Update, context: BotContext) -> int:
    """The leave reason, typed in private."""
    draft = user_data(context).get(LEAVE)
    if draft is None:
        return await _end_leave(context)
    application = app_of(context)
    card = await checkins.get(application.database, draft["id"])
    if card is None or not card.is_open:
        await _end_leave(context)
        await reply_template(update, "checkin_note", what="closed")
        return ConversationHandler.END
    member = await members.get(application.database, card.branch_id, draft["member_id"])
    if member is None:
        await _end_leave(context)
        await reply_template(update, "checkin_note", what="not_on_roster")
        return ConversationHandler.END
    assert update.message is not None
    try:
        reason = _read_reason(update.message.text or "")
    except InvalidAnswer as error:
        return await _ask_reason(update, context, card, member, error)
    result = await checkins.mark(
        application.database,
        checkin_id=card.id,
        member_id=member.id,
        state="leave",
        reason=reason,
    )
    await _end_leave(context)
    what = {"closed": "closed", "signed": "leave_signed"}.get(result, "leave_saved")
    if what == "leave_saved":
        request_refresh(application, card.id)
    await reply_template(update, "checkin_note", what=what, reason=reason)
    return ConversationHandler.END


async def _end_leave(context: BotContext) -> int:
    user_data(context).pop(LEAVE, None)
    if active_flow(context) == FLOW:
        set_flow(context, None)
    return ConversationHandler.END


async def leave_cancelled(update: Update, context: BotContext) -> int:
    """/cancel or the 取消 button while the reason is asked."""
    await answer(update)
    await close_keyboard(update)
    await _end_leave(context)
    await reply_template(update, "cancelled")
    return ConversationHandler.END


async def name_picked(update: Update, context: BotContext) -> int:
    """ck:me:<card>:<member>: the user says they are this roster entry; link, then go on."""
    user = update.effective_user
    assert user is not None
    parts = callback_parts(update)
    pick = user_data(context).get(PICK)
    card = await card_of_tap(update, context)
    if card is None:
        await close_keyboard(update)
        return ConversationHandler.END
    database = app_of(context).database
    member = None
    if pick and pick["id"] == card.id and len(parts) == 4 and parts[3].isdigit():
        member = await members.get(database, card.branch_id, int(parts[3]))
    if member is None or not member.is_party_member:
        await answer(update, render("button_expired"), alert=True)
        return ConversationHandler.END
    linked = await members.by_user(database, card.branch_id, user.id)
    if linked is None:
        if not await members.link_user(database, card.branch_id, member.id, user.id):
            await answer(update, render("checkin_note", what="taken"), alert=True)
            return ConversationHandler.END
        _LOGGER.info("User %d linked to member %d", user.id, member.id)
        linked = member
    user_data(context).pop(PICK, None)
    await close_keyboard(update)
    if pick["intent"] == "lv":
        await answer(update)
        await reply_template(update, "checkin_note", what="linked", name=linked.name)
        return await _ask_reason(update, context, card, linked)
    await sign_in(update, context, card, linked, note="linked_signed")
    return ConversationHandler.END


async def _in_group(context: BotContext, chat_id: int, user_id: int) -> bool:
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError:
        return False
    return member.status in IN_CHAT or (
        member.status == ChatMemberStatus.RESTRICTED and bool(getattr(member, "is_member", False))
    )


async def start_link(update: Update, context: BotContext) -> int:
    """/start checkin_<card>: opened from the alert of a user the bot could not write to."""
    user = update.effective_user
    assert user is not None
    if not is_private(update):
        await reply_template(update, "private_only")
        return ConversationHandler.END
    payload = (context.args or [""])[0].removeprefix("checkin_")
    database = app_of(context).database
    card = await checkins.get(database, int(payload)) if payload.isdigit() else None
    if card is None:
        await reply_template(update, "checkin_note", what="link_expired")
        return ConversationHandler.END
    if not card.is_open:
        membership = await repo.get_membership(database, user.id, card.branch_id)
        if membership is not None and membership.can_record:
            await send_summary(update, context, card)
        else:
            await reply_template(update, "checkin_note", what="closed")
        return ConversationHandler.END
    if not await _in_group(context, card.chat_id, user.id):
        await reply_template(update, "checkin_note", what="not_in_group")
        return ConversationHandler.END
    pick = user_data(context).get(PICK)
    intent = pick["intent"] if pick and pick.get("id") == card.id else "in"
    member = await members.by_user(database, card.branch_id, user.id)
    if member is None:
        await offer_names(update, context, card, intent)
        return ConversationHandler.END
    user_data(context).pop(PICK, None)
    if not member.is_party_member:
        await reply_template(update, "checkin_note", what="party_only")
        return ConversationHandler.END
    if intent == "lv":
        if active_flow(context) not in (None, FLOW):
            await reply_template(update, "finish_flow_first")
            return ConversationHandler.END
        return await _ask_reason(update, context, card, member)
    await sign_in(update, context, card, member)
    return ConversationHandler.END
