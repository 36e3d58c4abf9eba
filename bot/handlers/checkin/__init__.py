"""Group chats and the sign-in card, in modules with one job each.

Binding: when the bot is added to a group it offers to bind the group to a branch (书记 or
副书记 taps, or types /bind); one group per branch and one branch per group; /unbind or removing
the bot drops the binding.

Sign-in (/checkin in a bound group): a card with 签到, 请假 and 结束签到. A member signs in with
one tap once their Telegram user is linked to their roster entry; the first time, they pick their
name in a private chat (never as a list in the group). 请假 asks the reason in private. The card
is edited at most once every card_edit_interval seconds (bot/pacing.py) however fast people
tap: taps only write the database and ask for a refresh, which a JobQueue job renders from the
database. Closing creates
the 补学 items and sends the closer the attendance summary with a button into /log.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import (
    BaseHandler,
    ChatMemberHandler,
    CommandHandler,
    filters,
)

from bot import buttons as bt
from bot.callbacks import on
from bot.handlers.checkin import binding, card, leave_reason, linking, makeups


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Binding, the sign-in card, 请假 (its reason is a form: leave_reason.FORM) and 补学.

    /start checkin_<id> comes before the registration's /start.
    """
    return [
        on(bt.SIGN_LEAVE, leave_reason.leave_tapped),
        on(bt.SIGN_NAME, leave_reason.name_picked),
        CommandHandler(
            "start", leave_reason.start_link, filters=filters.Regex(r"^/start checkin_")
        ),
        ChatMemberHandler(binding.bot_membership, ChatMemberHandler.MY_CHAT_MEMBER),
        CommandHandler("bind", binding.bind),
        on(bt.BIND, binding.bind),
        on(bt.BIND_TO, binding.bind_to),
        on(bt.BIND_MOVE, binding.move),
        on(bt.BIND_KEEP, binding.keep),
        CommandHandler("unbind", binding.unbind),
        CommandHandler("checkin", card.start_checkin),
        on(bt.SIGN_NEW, card.new_card_tapped),
        on(bt.SIGN_IN, card.sign_in_tapped),
        on(bt.SIGN_NAMES, linking.page_tapped),
        on(bt.SIGN_NOT_LISTED, linking.not_listed),
        on(bt.SIGN_END, card.end_tapped),
        CommandHandler("makeups", makeups.show_makeups),
        on(bt.MAKEUP_DONE, makeups.makeup_tapped),
    ]
