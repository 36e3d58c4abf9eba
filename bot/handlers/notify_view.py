"""The meeting notice's card in the group, edited from the database at a paced rate
(bot.paced_cards), and what follows an answer: the member's reminder is no longer sent.
"""

from __future__ import annotations

from datetime import date, datetime

from bot import notify
from bot.application import BotApplication
from bot.paced_cards import CardView, PacedCards
from db import meeting_notices, outbox


async def _view(application: BotApplication, notice_id: int) -> CardView | None:
    """The posted card as the database has it (None: gone, or not delivered yet)."""
    database = application.database
    notice = await meeting_notices.get(database, notice_id)
    if notice is None:
        return None
    sent = await outbox.by_key(database, notify.card_key(notice.id))
    if sent is None or sent.message_id is None:
        return None
    today = local_date(application)
    found = await meeting_notices.answers(database, notice)
    text = notify.card_text(notice, found, today)
    is_open = notice.is_open(today)
    rows = notify.answer_buttons(notice.id) if is_open else ()
    return CardView(notice.chat_id, sent.message_id, text, rows, final=not is_open)


CARDS = PacedCards("notice", _view)


def local_date(application: BotApplication) -> date:
    """Today in the bot's time zone (a job has no update to take it from)."""
    return datetime.now(application.config.bot.tzinfo).date()


async def answered(application: BotApplication, notice_id: int, member_id: int) -> None:
    """After an answer: the member's day-before reminder is dropped, the card refreshed."""
    await outbox.cancel(application.database, notify.reminder_prefix(notice_id, member_id))
    CARDS.request(application, notice_id)
