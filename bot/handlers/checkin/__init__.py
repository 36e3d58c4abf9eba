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
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    filters,
)

from bot.handlers.checkin import binding, card, leave_reason, linking, makeups


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Binding, the sign-in card, 请假 (its reason is a form: leave_reason.FORM) and 补学.

    /start checkin_<id> comes before the registration's /start.
    """
    return [
        CallbackQueryHandler(leave_reason.leave_tapped, pattern=r"^ck:lv:\d+$"),
        CallbackQueryHandler(leave_reason.name_picked, pattern=r"^ck:me:\d+:\d+$"),
        CommandHandler(
            "start", leave_reason.start_link, filters=filters.Regex(r"^/start checkin_")
        ),
        ChatMemberHandler(binding.bot_membership, ChatMemberHandler.MY_CHAT_MEMBER),
        CommandHandler("bind", binding.bind),
        CallbackQueryHandler(binding.bind, pattern=r"^gb:bind$"),
        CallbackQueryHandler(binding.bind_to, pattern=r"^gb:to:"),
        CallbackQueryHandler(binding.move, pattern=r"^gb:move:"),
        CallbackQueryHandler(binding.keep, pattern=r"^gb:keep$"),
        CommandHandler("unbind", binding.unbind),
        CommandHandler("checkin", card.start_checkin),
        CallbackQueryHandler(card.new_card_tapped, pattern=r"^ck:new:"),
        CallbackQueryHandler(card.sign_in_tapped, pattern=r"^ck:in:"),
        CallbackQueryHandler(linking.page_tapped, pattern=r"^ck:pk:"),
        CallbackQueryHandler(linking.not_listed, pattern=r"^ck:nf:"),
        CallbackQueryHandler(card.end_tapped, pattern=r"^ck:end:"),
        CommandHandler("makeups", makeups.show_makeups),
        CallbackQueryHandler(makeups.makeup_tapped, pattern=r"^mk:done:"),
    ]
