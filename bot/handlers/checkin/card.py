"""The sign-in card: /checkin posts it, 签到 taps mark people present, 结束签到 closes it (补学
items, the private summary with a button into /log).

The card is edited at most once every card_edit_interval seconds (bot/pacing.py) however fast
people tap: taps only write the database and ask for a refresh, which a JobQueue job renders
from the database.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot import buttons as bt
from bot import catalog
from bot.application import BotApplication, BotContext, app_of
from bot.handlers.checkin.common import card_of_tap, deep_link, kind_name, say, write_privately
from bot.handlers.checkin.linking import offer_names
from bot.handlers.common import (
    Buttons,
    answer,
    close_keyboard,
    forbidden,
    in_rows,
    is_private,
    keyboard,
    local_today,
    reply,
    reply_template,
)
from bot.paced_cards import CardView, PacedCards
from bot.textnorm import clean_line, to_simplified
from bot.texts import labels, render
from db import checkins, members, repo, settings
from db.checkins import Checkin
from db.models import Branch, Member, Membership

_LOGGER = logging.getLogger(__name__)
DEFAULT_KIND = "member_meeting"
SIGN_IN_KINDS = tuple(kind.code for kind in catalog.KINDS if kind.sign_in)


async def _render(application: BotApplication, card: Checkin) -> tuple[str, Buttons]:
    """The card's text and buttons, from the database."""
    tally = await checkins.tally(application.database, card)
    text = render(
        "checkin_card",
        kind=kind_name(card.kind),
        held_on=card.held_on,
        tally=tally,
        is_open=card.is_open,
    )
    if not card.is_open:
        return text, []
    lab = labels()
    rows = [
        [(lab.CHECKIN_IN, bt.SIGN_IN(card.id)), (lab.CHECKIN_LEAVE, bt.SIGN_LEAVE(card.id))],
        [(lab.CHECKIN_END, bt.SIGN_END(card.id))],
    ]
    return text, rows


async def _card_view(application: BotApplication, checkin_id: int) -> CardView | None:
    """The posted card as the database has it (None: no card to edit)."""
    card = await checkins.get(application.database, checkin_id)
    if card is None or card.message_id is None:
        return None
    text, rows = await _render(application, card)
    return CardView(card.chat_id, card.message_id, text, rows, final=not card.is_open)


CARDS = PacedCards("checkin", _card_view)


def request_refresh(application: BotApplication, checkin_id: int) -> None:
    """Ask for the card to show the database's state: at once, or when the interval is over."""
    CARDS.request(application, checkin_id)


async def refresh_card(application: BotApplication, checkin_id: int) -> None:
    """Edit the card to the database's state now (skipped if unchanged; 429 retried later)."""
    await CARDS.refresh(application, checkin_id)


def _kind_of(text: str) -> str | None:
    """The sign-in kind typed after /checkin (name or code, traditional script accepted)."""
    value = to_simplified(clean_line(text)).removesuffix("签到")
    names = labels().KINDS
    for kind in SIGN_IN_KINDS:
        if value in (kind, names[kind]):
            return kind
    return None


async def _recorder_of_group(
    update: Update, context: BotContext
) -> tuple[Membership, Branch] | None:
    """The user's role in the group's branch if they may run sign-ins (else answered)."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    database = app_of(context).database
    branch_id = await settings.branch_of_group(database, chat.id)
    branch = await repo.get_branch(database, branch_id) if branch_id else None
    if branch is None:
        await answer(update)
        await reply_template(update, "group_not_bound")
        return None
    membership = await repo.get_membership(database, user.id, branch.id)
    if membership is None or not membership.can_record:
        await say(update, render("checkin_note", what="not_allowed"))
        return None
    return membership, branch


async def start_checkin(update: Update, context: BotContext) -> None:
    """/checkin [kind] in a bound group: post the sign-in card."""
    if is_private(update):
        await reply_template(update, "checkin_note", what="in_group")
        return
    found = await _recorder_of_group(update, context)
    if found is None:
        return
    kind = DEFAULT_KIND
    if context.args:
        typed = _kind_of(" ".join(context.args))
        if typed is None:
            names = labels().KINDS
            buttons = [(names[k], bt.SIGN_NEW(k)) for k in SIGN_IN_KINDS]
            await reply_template(update, "checkin_note", in_rows(buttons, 2), what="kinds")
            return
        kind = typed
    await _post_card(update, context, found[0], found[1], kind)


async def new_card_tapped(update: Update, context: BotContext, kind: str) -> None:
    """The kind chosen after an unknown /checkin argument."""
    if kind not in SIGN_IN_KINDS or is_private(update):
        await answer(update, render("button_expired"), alert=True)
        return
    found = await _recorder_of_group(update, context)
    if found is None:
        return
    await answer(update)
    await close_keyboard(update)
    await _post_card(update, context, found[0], found[1], kind)


async def _post_card(
    update: Update, context: BotContext, membership: Membership, branch: Branch, kind: str
) -> None:
    chat = update.effective_chat
    assert chat is not None
    application = app_of(context)
    database = application.database
    roster = await members.list_for(database, branch.id)
    if not any(m.is_party_member for m in roster):
        await reply_template(update, "checkin_note", what="no_roster")
        return
    card, created = await checkins.open_card(
        database,
        branch_id=branch.id,
        chat_id=chat.id,
        held_on=local_today(context),
        kind=kind,
        user_id=membership.user_id,
    )
    if not created:
        await chat.send_message(
            render("checkin_note", what="already_open"),
            reply_to_message_id=card.message_id,
            allow_sending_without_reply=True,
        )
        return
    text, rows = await _render(application, card)
    try:
        message = await chat.send_message(text, reply_markup=keyboard(rows))
    except TelegramError:
        await checkins.discard(database, card.id)
        raise
    await checkins.set_message(database, card.id, message.message_id)
    CARDS.posted(application, card.id, text)
    _LOGGER.info("Card %d opened in group %d for branch %d", card.id, chat.id, branch.id)


async def sign_in(
    update: Update, context: BotContext, card: Checkin, member: Member, note: str = "signed"
) -> None:
    """Mark the member present and say so (a toast for a tap, a message otherwise)."""
    application = app_of(context)
    result = await checkins.mark(
        application.database, checkin_id=card.id, member_id=member.id, state="present"
    )
    if result == "closed":
        what = "closed"
    elif result == "signed":
        what = "already_signed"
    else:
        what = note
        request_refresh(application, card.id)
    text = render("checkin_note", what=what, name=member.name)
    if update.callback_query and not is_private(update):
        await answer(update, text)
    else:
        await answer(update)
        await reply(update, text)


async def sign_in_tapped(update: Update, context: BotContext, checkin_id: int) -> None:
    """签到."""
    user = update.effective_user
    assert user is not None
    card = await card_of_tap(update, context, checkin_id, on_card=True)
    if card is None:
        return
    member = await members.by_user(app_of(context).database, card.branch_id, user.id)
    if member is None:
        await offer_names(update, context, card, "in")
    elif not member.is_party_member:
        await answer(update, render("checkin_note", what="party_only"), alert=True)
    else:
        await sign_in(update, context, card, member)


async def send_summary(update: Update, context: BotContext, card: Checkin) -> bool:
    """The attendance summary with 去记录, in private to the user; False if the bot may not."""
    found = await checkins.attendance(app_of(context).database, card.id)
    assert found is not None
    text = render("checkin_summary", kind=kind_name(card.kind), attendance=found)
    return (
        await write_privately(
            update, context, text, [[(labels().GO_LOG, bt.LOG_CHECKIN(card.id))]]
        )
        is not None
    )


async def end_tapped(update: Update, context: BotContext, checkin_id: int) -> None:
    """结束签到 (书记, 副书记, 支委): final card, 补学 items, summary in private."""
    user = update.effective_user
    assert user is not None
    application = app_of(context)
    database = application.database
    card = await checkins.get(database, checkin_id)
    if card is None:
        await answer(update, render("button_expired"), alert=True)
        return
    membership = await repo.get_membership(database, user.id, card.branch_id)
    if membership is None or not membership.can_record:
        await forbidden(update)
        return
    closed = await checkins.close(database, checkin_id=card.id, user_id=user.id)
    CARDS.stop(application, card.id)
    await refresh_card(application, card.id)
    if not closed:
        await answer(update, render("checkin_note", what="already_ended"), alert=True)
        return
    _LOGGER.info("Card %d closed by user %d", card.id, user.id)
    closed_card = await checkins.get(database, card.id)
    assert closed_card is not None
    if await send_summary(update, context, closed_card):
        await answer(update, render("checkin_note", what="ended"))
    else:
        link = deep_link(context, card.id)
        await answer(update, render("checkin_note", what="ended_no_dm", link=link), alert=True)
