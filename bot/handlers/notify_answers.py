"""参加 / 请假 on a meeting notice, with the sign-in card's machinery: the first tap of someone not
linked to the roster picks their name in private (checkin.linking), 请假 asks the reason in
private on the leave form (checkin.leave_reason), and the card is edited at a paced rate
(notify_view.CARDS).

The buttons act on the card in the notice's group, or in the private reminder for a member
already linked to the notice's branch; anywhere else (forged, another branch) they are expired.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot import buttons as bt
from bot import notify
from bot.application import BotContext, app_of
from bot.callbacks import on
from bot.handlers.checkin import leave_reason
from bot.handlers.checkin.common import drop_pick, pick_of
from bot.handlers.checkin.leave_reason import ask_reason
from bot.handlers.checkin.linking import (
    PickRoutes,
    link_picked,
    not_listed,
    offer_names,
    turn_page,
)
from bot.handlers.common import active_flow, answer, is_private, local_today, reply, reply_template
from bot.handlers.notify_view import CARDS, answered
from bot.texts import render
from db import meeting_notices, members, outbox
from db.meeting_notices import Notice
from db.models import Member

ROUTES = PickRoutes(bt.NF_NAMES, bt.NF_NAME, bt.NF_NOT_LISTED, "notify")
INTENTS = ("na", "nl")  # 参加, 请假 (a sign-in card's picks are "in" and "lv")


async def _open_notice(update: Update, context: BotContext, notice_id: int) -> Notice | None:
    """The notice while it takes answers (else answered: expired, cancelled or over)."""
    notice = await meeting_notices.get(app_of(context).database, notice_id)
    if notice is None:
        await answer(update, render("button_expired"), alert=True)
        return None
    if not notice.is_open(local_today(context)):
        # The card still shows its buttons after the day (nothing edits it at midnight): the
        # first late tap has it say that the meeting is over.
        CARDS.request(app_of(context), notice.id)
        await answer(update, render("notify_note", what="closed"), alert=True)
        return None
    return notice


async def _on_card(update: Update, context: BotContext, notice: Notice) -> bool:
    """Whether the tap is on the notice's card in its group (not a forged copy elsewhere)."""
    query = update.callback_query
    message = query.message if query else None
    if message is None or message.chat.id != notice.chat_id:
        return False
    sent = await outbox.by_key(app_of(context).database, notify.card_key(notice.id))
    return sent is not None and sent.message_id == message.message_id


async def _tapper(
    update: Update, context: BotContext, notice: Notice, intent: str
) -> Member | None:
    """The roster entry of the user who tapped (else answered, or the names offered)."""
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    member = await members.by_user(database, notice.branch_id, user.id)
    on_card = not is_private(update) and await _on_card(update, context, notice)
    if not on_card and (member is None or not is_private(update)):
        await answer(update, render("button_expired"), alert=True)
        return None
    if member is None:
        await offer_names(update, context, notice, intent, ROUTES)
        return None
    if not member.is_party_member:
        await answer(update, render("notify_note", what="party_only"), alert=True)
        return None
    return member


async def _attend(update: Update, context: BotContext, notice: Notice, member: Member) -> None:
    """Answer 参加 for the member and say so (a toast for a tap, a message otherwise)."""
    application = app_of(context)
    result = await meeting_notices.answer(
        application.database,
        notice_id=notice.id,
        member_id=member.id,
        state="attend",
        reason="",
        today=local_today(context),
    )
    if result != "closed":
        await answered(application, notice.id, member.id)
    text = render("notify_note", what="attend_" + result, name=member.name)
    if update.callback_query and not is_private(update):
        await answer(update, text)
    else:
        await answer(update)
        await reply(update, text)


def _busy(context: BotContext) -> bool:
    """Whether the user is in another guided flow than a leave reason."""
    return active_flow(context) not in (None, leave_reason.NAME)


async def attend_tapped(update: Update, context: BotContext, notice_id: int) -> None:
    """参加."""
    notice = await _open_notice(update, context, notice_id)
    if notice is None:
        return
    member = await _tapper(update, context, notice, "na")
    if member is not None:
        await _attend(update, context, notice, member)


async def leave_tapped(update: Update, context: BotContext, notice_id: int) -> None:
    """请假 — the reason is asked in private, on the sign-in card's leave form."""
    notice = await _open_notice(update, context, notice_id)
    if notice is None:
        return
    if _busy(context):
        await answer(update, render("finish_flow_first"), alert=True)
        return
    member = await _tapper(update, context, notice, "nl")
    if member is not None:
        await ask_reason(update, context, notice, member, notice=True)


async def page_tapped(update: Update, context: BotContext, notice_id: int, page: int) -> None:
    """Another page of names."""
    user = update.effective_user
    assert user is not None
    notice = await _open_notice(update, context, notice_id)
    if notice is not None:
        await turn_page(
            update, context, notice, page, await pick_of(context, user.id), INTENTS, ROUTES
        )


async def name_picked(update: Update, context: BotContext, notice_id: int, member_id: int) -> None:
    """The user says they are this roster entry; link, then go on with what they tapped."""
    user = update.effective_user
    assert user is not None
    pick = await pick_of(context, user.id)
    notice = await _open_notice(update, context, notice_id)
    if notice is None:
        return
    linked = await link_picked(update, context, notice, member_id, pick, INTENTS)
    if linked is None or pick is None:
        return
    if pick["intent"] == "na":
        await _attend(update, context, notice, linked)
        return
    await answer(update)
    await reply_template(update, "checkin_note", what="linked", name=linked.name)
    if _busy(context):
        await reply_template(update, "finish_flow_first")
        return
    await ask_reason(update, context, notice, linked, notice=True)


async def start_link(update: Update, context: BotContext) -> None:
    """/start notify_<notice>: opened from the alert of a user the bot could not write to."""
    user = update.effective_user
    assert user is not None
    if not is_private(update):
        await reply_template(update, "private_only")
        return
    payload = (context.args or [""])[0].removeprefix("notify_")
    database = app_of(context).database
    notice = await meeting_notices.get(database, int(payload)) if payload.isdigit() else None
    if notice is None or not notice.is_open(local_today(context)):
        await reply_template(update, "notify_note", what="closed")
        return
    pick = await pick_of(context, user.id)
    mine = pick and pick.get("id") == notice.id and pick.get("intent") in INTENTS
    intent = pick["intent"] if pick and mine else "na"
    member = await members.by_user(database, notice.branch_id, user.id)
    if member is None:
        await offer_names(update, context, notice, intent, ROUTES)
        return
    await drop_pick(context, user.id)
    if not member.is_party_member:
        await reply_template(update, "notify_note", what="party_only")
    elif intent == "na":
        await _attend(update, context, notice, member)
    elif _busy(context):
        await reply_template(update, "finish_flow_first")
    else:
        await ask_reason(update, context, notice, member, notice=True)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """参加, 请假, the name pick and the deep link (before the registration's /start)."""
    return [
        on(bt.NF_ATTEND, attend_tapped),
        on(bt.NF_LEAVE, leave_tapped),
        on(bt.NF_NAMES, page_tapped),
        on(bt.NF_NAME, name_picked),
        on(bt.NF_NOT_LISTED, not_listed),
        CommandHandler("start", start_link, filters=filters.Regex(r"^/start notify_")),
    ]
