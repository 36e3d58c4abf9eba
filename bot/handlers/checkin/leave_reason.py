"""请假 and the form that asks its reason in private (ckl, on the form engine: 请假 is tapped in
the group, the question goes to the private chat); the picked name that links a user and goes on
with what they tapped; the /start checkin_<card> deep link.
"""

from __future__ import annotations

import logging
from datetime import date

import msgspec
from telegram import Update
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.forms import Form, Outcome, Refused, Step, Turn
from bot.handlers import notify_view
from bot.handlers.checkin.card import request_refresh, send_summary, sign_in
from bot.handlers.checkin.common import (
    IN_CHAT,
    Occasion,
    cannot_write,
    card_of_tap,
    drop_pick,
    kind_name,
    pick_of,
    say,
    set_pick,
)
from bot.handlers.checkin.linking import link_picked, offer_names
from bot.handlers.common import (
    active_flow,
    answer,
    close_keyboard,
    is_private,
    reply_template,
)
from bot.textnorm import clean_line
from bot.texts import render
from db import checkins, meeting_notices, members, repo
from db.models import Member

_LOGGER = logging.getLogger(__name__)
NAME = "ckl"
REASON_LIMIT = 100


class LeaveDraft(msgspec.Struct):
    """A leave being asked for: the sign-in card or the meeting notice, the member, and the
    reason once typed."""

    branch_id: int
    member_id: int
    kind: str
    held_on: str
    checkin_id: int | None = None
    notice_id: int | None = None
    reason: str | None = None


async def leave_tapped(update: Update, context: BotContext, checkin_id: int) -> None:
    """请假 — the reason is asked in private."""
    user = update.effective_user
    assert user is not None
    card = await card_of_tap(update, context, checkin_id, on_card=True)
    if card is None:
        return
    if _busy(context):
        await answer(update, render("finish_flow_first"), alert=True)
        return
    database = app_of(context).database
    member = await members.by_user(database, card.branch_id, user.id)
    if member is None:
        await offer_names(update, context, card, "lv")
        return
    if not member.is_party_member:
        await answer(update, render("checkin_note", what="party_only"), alert=True)
        return
    if await checkins.state_of(database, card.id, member.id) == "present":
        await answer(update, render("checkin_note", what="leave_signed"), alert=True)
        return
    await ask_reason(update, context, card, member)


def _busy(context: BotContext) -> bool:
    """Whether the user is in another guided flow than a leave reason."""
    return active_flow(context) not in (None, NAME)


async def ask_reason(
    update: Update, context: BotContext, card: Occasion, member: Member, *, notice: bool = False
) -> None:
    """Open the leave form in the user's private chat (the tap may come from the group), for a
    sign-in card or (`notice`) a meeting notice."""
    user = update.effective_user
    assert user is not None
    forms = app_of(context).forms
    private = is_private(update)
    open_form = forms.peek(user.id)
    if open_form is not None:
        # 请假 again while its reason is asked: the question already waits in private (a new
        # form would give the old question's buttons the new one's revisions).
        if open_form[1].get("notice_id" if notice else "checkin_id") != card.id:
            await say(update, render("finish_flow_first"))
        elif private:
            await forms.resume(update, context)
        else:
            await answer(update, render("checkin_note", what="leave_sent"), alert=True)
        return
    draft = LeaveDraft(
        branch_id=card.branch_id,
        member_id=member.id,
        kind=card.kind or "",
        held_on=card.held_on.isoformat(),
        checkin_id=None if notice else card.id,
        notice_id=card.id if notice else None,
    )
    try:
        await forms.start(update, context, NAME, draft, chat_id=None if private else user.id)
    except (Forbidden, BadRequest) as error:
        if isinstance(error, BadRequest) and "chat not found" not in error.message.lower():
            raise
        await set_pick(context, user.id, card, "nl" if notice else "lv")
        await cannot_write(update, context, card, "notify" if notice else "checkin")
        return
    if not private:
        await answer(update, render("checkin_note", what="leave_sent"), alert=True)


def _ask(turn: Turn[LeaveDraft]) -> str:
    draft = turn.draft
    held_on = date.fromisoformat(draft.held_on)
    return render(
        "checkin_note", what="leave_ask", kind=kind_name(draft.kind), held_on=held_on, error=None
    )


def _read_reason(turn: Turn[LeaveDraft], text: str) -> None:
    value = clean_line(text.replace("\n", " "))
    if not value:
        raise InvalidAnswer("empty")
    if len(value) > REASON_LIMIT:
        raise InvalidAnswer("too_long", limit=REASON_LIMIT, length=len(value))
    turn.draft.reason = value


async def _load(turn: Turn[LeaveDraft]) -> Occasion:
    """The card (or notice), while it is open and the member still on its branch's roster."""
    database = turn.database
    card: Occasion | None
    if turn.draft.notice_id is not None:
        card = await meeting_notices.get(database, turn.draft.notice_id)
        if card is None or not card.is_open(turn.today):
            raise Refused("notify_note", what="closed")
    else:
        card = await checkins.get(database, turn.draft.checkin_id or 0)
        if card is None or not card.is_open:
            raise Refused("checkin_note", what="closed")
    if await members.get(database, card.branch_id, turn.draft.member_id) is None:
        raise Refused("checkin_note", what="not_on_roster")
    return card


async def _save(turn: Turn[LeaveDraft], key: str) -> Outcome:
    """The leave is marked (a sign-in since, or a closed card, wins) and the card refreshed."""
    draft = turn.draft
    assert draft.reason is not None
    application = app_of(turn.context)
    if draft.notice_id is not None:
        answered = await meeting_notices.answer(
            turn.database,
            notice_id=draft.notice_id,
            member_id=draft.member_id,
            state="leave",
            reason=draft.reason,
            today=turn.today,
        )
        if answered == "closed":
            return Outcome(render("notify_note", what="closed"))
        await notify_view.answered(application, draft.notice_id, draft.member_id)
        return Outcome(render("notify_note", what="leave_saved", reason=draft.reason))
    assert draft.checkin_id is not None
    result = await checkins.mark(
        turn.database,
        checkin_id=draft.checkin_id,
        member_id=draft.member_id,
        state="leave",
        reason=draft.reason,
    )
    what = {"closed": "closed", "signed": "leave_signed"}.get(result, "leave_saved")
    if what == "leave_saved":
        request_refresh(application, draft.checkin_id)
    return Outcome(render("checkin_note", what=what, reason=draft.reason))


FORM: Form[LeaveDraft] = Form(
    name=NAME,
    draft=LeaveDraft,
    steps=lambda draft: [
        Step(
            name="reason",
            question=_ask,
            answered=lambda d: d.reason is not None,
            read=_read_reason,
        )
    ],
    load=_load,
    save=_save,
)


async def name_picked(
    update: Update, context: BotContext, checkin_id: int, member_id: int
) -> None:
    """The user says they are this roster entry; link, then go on."""
    user = update.effective_user
    assert user is not None
    pick = await pick_of(context, user.id)
    card = await card_of_tap(update, context, checkin_id)
    if card is None:
        await close_keyboard(update)
        return
    linked = await link_picked(update, context, card, member_id, pick, ("in", "lv"))
    if linked is None or pick is None:
        return
    if pick["intent"] == "lv":
        await answer(update)
        await reply_template(update, "checkin_note", what="linked", name=linked.name)
        if _busy(context):
            await reply_template(update, "finish_flow_first")
            return
        await ask_reason(update, context, card, linked)
        return
    await sign_in(update, context, card, linked, note="linked_signed")


async def _in_group(context: BotContext, chat_id: int, user_id: int) -> bool:
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError:
        return False
    return member.status in IN_CHAT or (
        member.status == ChatMemberStatus.RESTRICTED and bool(getattr(member, "is_member", False))
    )


async def start_link(update: Update, context: BotContext) -> None:
    """/start checkin_<card>: opened from the alert of a user the bot could not write to."""
    user = update.effective_user
    assert user is not None
    if not is_private(update):
        await reply_template(update, "private_only")
        return
    payload = (context.args or [""])[0].removeprefix("checkin_")
    database = app_of(context).database
    card = await checkins.get(database, int(payload)) if payload.isdigit() else None
    if card is None:
        await reply_template(update, "checkin_note", what="link_expired")
        return
    if not card.is_open:
        membership = await repo.get_membership(database, user.id, card.branch_id)
        if membership is not None and membership.can_record:
            await send_summary(update, context, card)
        else:
            await reply_template(update, "checkin_note", what="closed")
        return
    if not await _in_group(context, card.chat_id, user.id):
        await reply_template(update, "checkin_note", what="not_in_group")
        return
    pick = await pick_of(context, user.id)
    mine = pick and pick.get("id") == card.id and pick.get("intent") in ("in", "lv")
    intent = pick["intent"] if pick and mine else "in"
    member = await members.by_user(database, card.branch_id, user.id)
    if member is None:
        await offer_names(update, context, card, intent)
        return
    await drop_pick(context, user.id)
    if not member.is_party_member:
        await reply_template(update, "checkin_note", what="party_only")
        return
    if intent == "lv":
        if _busy(context):
            await reply_template(update, "finish_flow_first")
            return
        await ask_reason(update, context, card, member)
        return
    await sign_in(update, context, card, member)
