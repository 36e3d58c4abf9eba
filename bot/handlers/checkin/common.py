"""The pieces the sign-in modules share: the name being picked, the kind's name, short answers,
writing to a user in private (or the deep link when the bot may not), the card a tap is on.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from telegram import Message, Update
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, Forbidden

from bot.application import BotContext, app_of
from bot.handlers.common import (
    Buttons,
    answer,
    is_private,
    keyboard,
    reply,
)
from bot.texts import labels, render
from db import checkins, user_state
from db.checkins import Checkin


class Occasion(Protocol):
    """What a name is picked for: a sign-in card (db.checkins) or a meeting notice."""

    @property
    def id(self) -> int: ...
    @property
    def branch_id(self) -> int: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def held_on(self) -> date: ...


IN_CHAT = frozenset(
    {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}
)


async def pick_of(context: BotContext, user_id: int) -> dict[str, Any] | None:
    """The card whose name the user is picking: {"id", "branch_id", "intent"}."""
    return await user_state.get(app_of(context).database, user_id, user_state.CHECKIN_PICK)


async def set_pick(context: BotContext, user_id: int, card: Occasion, intent: str) -> None:
    """Remember the card (committed before the list of names or the link goes out); the intent
    also tells a sign-in card's ids ("in", "lv") from a notice's ("na", "nl")."""
    value = {"id": card.id, "branch_id": card.branch_id, "intent": intent}
    await user_state.put(app_of(context).database, user_id, user_state.CHECKIN_PICK, value)


async def drop_pick(context: BotContext, user_id: int) -> None:
    """The name is picked, or will not be."""
    await user_state.delete(app_of(context).database, user_id, user_state.CHECKIN_PICK)


async def say(update: Update, text: str, *, alert: bool = True) -> None:
    """A short answer: an alert for a button, a message for a command."""
    if update.callback_query:
        await answer(update, text, alert=alert)
    else:
        await reply(update, text)


def kind_name(kind: str) -> str:
    return str(labels().KINDS.get(kind, kind))


def deep_link(context: BotContext, checkin_id: int, start: str = "checkin") -> str:
    """The link that opens the bot on a card (`start`: checkin, or notify for a notice)."""
    return f"https://t.me/{context.bot.username}?start={start}_{checkin_id}"


async def write_privately(
    update: Update, context: BotContext, text: str, rows: Buttons = ()
) -> Message | None:
    """Write to the user in private; None if the bot may not (they never started it)."""
    user = update.effective_user
    assert user is not None
    if is_private(update):
        return await reply(update, text, rows)
    try:
        return await context.bot.send_message(user.id, text, reply_markup=keyboard(rows))
    except Forbidden:
        return None
    except BadRequest as exc:
        if "chat not found" in exc.message.lower():
            return None
        raise


async def cannot_write(
    update: Update, context: BotContext, card: Occasion, start: str = "checkin"
) -> None:
    """Tell the user (alert) to open the bot first; the button opens it too."""
    link = deep_link(context, card.id, start)
    query = update.callback_query
    if query is None:
        return
    text = render("checkin_note", what="open_private", link=link)
    try:
        await query.answer(text, show_alert=True, url=link)
    except BadRequest:
        await answer(update, text, alert=True)


async def card_of_tap(
    update: Update, context: BotContext, checkin_id: int, *, on_card: bool = False
) -> Checkin | None:
    """The card a button belongs to, if still open (else answered).

    With on_card, the tap must come from the card itself in its group: a forged ck:in/ck:lv
    sent from anywhere else would otherwise list another branch's roster names.
    """
    card = await checkins.get(app_of(context).database, checkin_id)
    if card is not None and on_card:
        query = update.callback_query
        message = query.message if query else None
        if (
            message is None
            or message.chat.id != card.chat_id
            or (card.message_id is not None and message.message_id != card.message_id)
        ):
            card = None
    if card is None:
        await answer(update, render("button_expired"), alert=True)
        return None
    if not card.is_open:
        await answer(update, render("checkin_note", what="closed"), alert=True)
        return None
    return card
