"""Small helpers shared by the handlers: replying, keyboards, stale buttons, the active flow."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest

from bot import access
from bot.access import Need
from bot.application import BotContext, app_of
from bot.texts import render, split_message
from bot.updates import InboxBot
from db import repo
from db.models import Branch, Membership

Buttons = Sequence[Sequence[tuple[str, str]]]


def keyboard(rows: Buttons) -> InlineKeyboardMarkup | None:
    """An inline keyboard from rows of (label, callback data)."""
    if not rows:
        return None
    return _keyboard(tuple(tuple(row) for row in rows))


class _Keyboard(InlineKeyboardMarkup):
    """Buttons of a label and callback data only, serialised straight from those pairs:
    python-telegram-bot's generic to_dict, walking every button's attributes, was a tenth of
    sending the meeting kinds (measured)."""

    __slots__ = ("_rows",)

    def __init__(self, rows: tuple[tuple[tuple[str, str], ...], ...]) -> None:
        super().__init__(
            [
                [InlineKeyboardButton(text, callback_data=data) for text, data in row]
                for row in rows
            ]
        )
        with self._unfrozen():
            self._rows = rows

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        return {
            "inline_keyboard": [
                [{"text": text, "callback_data": data} for text, data in row] for row in self._rows
            ]
        }


# python-telegram-bot's objects are frozen once built, so one keyboard may go out many times
# (building the buttons of every question took 3% of a profiled /log run).
@lru_cache(maxsize=1024)
def _keyboard(rows: tuple[tuple[tuple[str, str], ...], ...]) -> InlineKeyboardMarkup:
    return _Keyboard(rows)


def in_rows(buttons: Sequence[tuple[str, str]], per_row: int) -> list[list[tuple[str, str]]]:
    """Lay buttons out `per_row` to a row."""
    return [list(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


async def reply(update: Update, text: str, rows: Buttons = ()) -> None:
    """Send a text to the chat of the update (split if long; buttons go on the last part)."""
    chat = update.effective_chat
    assert chat is not None
    bot = update.get_bot()
    assert isinstance(bot, InboxBot)
    parts = split_message(text)
    for part in parts[:-1]:
        await bot.send_text(chat.id, part)
    await bot.send_text(chat.id, parts[-1], keyboard(rows))


async def reply_template(
    update: Update, template: str, rows: Buttons = (), **context: Any
) -> None:
    """Render a template and send it."""
    await reply(update, render(template, **context), rows)


async def answer(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    """Answer a button tap so the phone stops its spinner (a too-old query is not an error)."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest as exc:
        if "query is too old" not in exc.message.lower():
            raise


async def close_keyboard(update: Update) -> None:
    """Remove the buttons from the message that was tapped, so it cannot be tapped again."""
    query = update.callback_query
    if query is None or query.message is None or not isinstance(query.message, Message):
        return
    if query.message.reply_markup is None:
        return
    try:
        bot = query.get_bot()
        assert isinstance(bot, InboxBot)
        await bot.remove_keyboard(query.message.chat_id, query.message.message_id)
    except BadRequest as exc:
        # Already edited or deleted: the buttons are gone either way.
        if "not modified" not in exc.message and "not found" not in exc.message:
            raise


async def stale(update: Update, context: BotContext) -> None:
    """Any button nothing else accepts: an old or forged one. Say so and do nothing."""
    await answer(update, render("button_expired"), alert=True)


async def allowed(
    update: Update, context: BotContext, branch_id: int, need: Need
) -> tuple[Membership, Branch] | None:
    """The user's membership and the branch if the user's role meets the need (else told no)."""
    user = update.effective_user
    assert user is not None
    found = await access.authorize(app_of(context).database, user.id, branch_id, need)
    if found is None:
        await forbidden(update)
    return found


async def forbidden(update: Update) -> None:
    """Tell the user they may not do this (button or message)."""
    if update.callback_query:
        await answer(update, render("no_permission"), alert=True)
    else:
        await reply_template(update, "no_permission")


async def current_branch(update: Update, context: BotContext) -> tuple[Membership, Branch] | None:
    """The user's current branch, for a command, a menu tap or a file in a private chat;
    otherwise the user is told why (private chats only, or no branch yet) and None comes back."""
    user = update.effective_user
    assert user is not None
    if not is_private(update):
        await reply_template(update, "private_only")
        return None
    found = await repo.current_membership(app_of(context).database, user.id)
    if found is None:
        await reply_template(update, "not_registered")
    return found


def is_private(update: Update) -> bool:
    """Whether the update comes from a private chat."""
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


def local_today(context: BotContext) -> date:
    """Today in the bot's configured time zone."""
    return datetime.now(app_of(context).config.bot.tzinfo).date()


def active_flow(context: BotContext) -> str | None:
    """The form the user has open, if any."""
    user = getattr(context, "_user_id", None)
    forms = app_of(context).forms
    if user is None or forms is None:
        return None
    return forms.active(user)
