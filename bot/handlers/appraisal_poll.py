"""民主测评 in the bound group: from a 民主评议 record's grades card the secretary (or deputy)
sends one anonymous native poll per party member (优秀 / 合格 / 基本合格 / 不合格), and ends
them with stopPoll; the tally is kept from Telegram's Poll updates and the final stopPoll result,
and shown on the grades card beside each member's grade.

Per member rather than a few general questions: it is what the 民主评议 测评表 asks, and for a
branch of up to 30 members it is 30 short polls a member answers in a minute. Each poll's row is
committed before it is sent and its poll id stored as soon as Telegram confirms, so a repeated
tap (or a restart) sends only what was not sent. A poll whose record was deleted, or that is
closed already, is left alone when its updates arrive.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import BaseHandler, PollHandler

from bot import buttons as bt
from bot.access import Need
from bot.application import BotContext, app_of
from bot.callbacks import on
from bot.handlers.appraisal import KIND, card_view, party_members
from bot.handlers.common import allowed, answer, close_keyboard, reply
from bot.texts import labels, render
from db import appraisal_polls, meetings, members, settings
from db.appraisals import GRADES
from db.models import Meeting, Membership

_LOGGER = logging.getLogger(__name__)
SAY_FIRST = 5  # more polls than this: say they are on their way before sending them


async def _record(
    update: Update, context: BotContext, record_id: int
) -> tuple[Meeting, Membership] | None:
    """The 民主评议 record, while the user is its branch's secretary or deputy (else answered)."""
    record = await meetings.get_meeting(app_of(context).database, record_id)
    if record is None or record.branch_id is None:
        await answer(update, render("record_gone"), alert=True)
        return None
    found = await allowed(update, context, record.branch_id, Need.EDIT)
    if found is None:
        return None
    if KIND not in record.counts_as:
        await answer(update, render("appraisal", view="not_appraisal"), alert=True)
        return None
    return record, found[0]


async def _show_card(
    update: Update, context: BotContext, record: Meeting, who: Membership
) -> None:
    await reply(update, *await card_view(app_of(context).database, record, who))


async def start_polls(update: Update, context: BotContext, record_id: int) -> None:
    """📊 群内匿名测评: a poll per party member to the bound group (those not sent yet)."""
    found = await _record(update, context, record_id)
    if found is None:
        return
    record, membership = found
    assert record.id is not None and record.branch_id is not None
    database = app_of(context).database
    group = (await settings.get_settings(database, record.branch_id)).group_chat_id
    if group is None:
        await answer(update, render("appraisal_poll", what="no_group"), alert=True)
        return
    people = party_members(await members.list_for(database, record.branch_id))
    if not people:
        await answer(update, render("appraisal", view="no_members"), alert=True)
        return
    if any(p.closed for p in await appraisal_polls.of_meeting(database, record.id)):
        await answer(update, render("appraisal_poll", what="already_closed"), alert=True)
        return
    await answer(update)
    await close_keyboard(update)
    await appraisal_polls.start(
        database,
        user_id=membership.user_id,
        branch_id=record.branch_id,
        meeting_id=record.id,
        member_ids=[p.id for p in people],
        chat_id=group,
    )
    names = {p.id: p.name for p in people}
    lab = labels()
    options = [str(lab.GRADES[g]) for g in GRADES]
    rows = [
        r
        for r in await appraisal_polls.of_meeting(database, record.id)
        if r.poll_id is None and r.member_id in names
    ]
    if len(rows) > SAY_FIRST:
        # A group takes about 20 messages a minute: 30 polls take a minute and a half.
        await reply(update, render("appraisal_poll", what="sending", n=len(rows)))
    sent = 0
    for row in rows:
        question = render(
            "appraisal_poll", what="question", name=names[row.member_id], year=record.held_on.year
        )
        try:
            message = await context.bot.send_poll(
                row.chat_id, question, options, is_anonymous=True
            )
        except (Forbidden, BadRequest) as error:
            _LOGGER.warning("Poll for record %d not sent: %s", record.id, type(error).__name__)
            await reply(update, render("appraisal_poll", what="send_failed"))
            return
        assert message.poll is not None
        await appraisal_polls.sent(database, row.id, message.message_id, message.poll.id)
        sent += 1
    _LOGGER.info("Record %d: %d polls sent to group %d", record.id, sent, group)
    await reply(update, render("appraisal_poll", what="sent", n=sent))
    await _show_card(update, context, record, membership)


async def stop_polls(update: Update, context: BotContext, record_id: int) -> None:
    """⏹ 结束测评: stopPoll on each open poll; the final tallies are kept."""
    found = await _record(update, context, record_id)
    if found is None:
        return
    record, membership = found
    assert record.id is not None
    database = app_of(context).database
    open_polls = [p for p in await appraisal_polls.of_meeting(database, record.id) if not p.closed]
    if not open_polls:
        await answer(update, render("appraisal_poll", what="already_closed"), alert=True)
        return
    await answer(update)
    await close_keyboard(update)
    for row in open_polls:
        if row.poll_id is None or row.message_id is None:
            continue
        try:
            poll = await context.bot.stop_poll(row.chat_id, row.message_id)
        except TelegramError as error:
            # Closed already (by hand in the group) or deleted there: the last tally stands.
            _LOGGER.info("Poll %d could not be stopped: %s", row.id, type(error).__name__)
            await appraisal_polls.tally(database, row.poll_id, row.counts, row.voters, final=True)
            continue
        counts = [o.voter_count for o in poll.options]
        await appraisal_polls.tally(database, poll.id, counts, poll.total_voter_count, final=True)
    await reply(update, render("appraisal_poll", what="stopped"))
    await _show_card(update, context, record, membership)


async def poll_changed(update: Update, context: BotContext) -> None:
    """A Poll update (a vote, a poll closed): the tally of a poll that is still open here."""
    poll = update.poll
    if poll is None:
        return
    counts = [o.voter_count for o in poll.options]
    kept = await appraisal_polls.tally(
        app_of(context).database, poll.id, counts, poll.total_voter_count, final=poll.is_closed
    )
    if not kept:
        _LOGGER.debug("Poll update for a poll not open here")


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The 民主测评 buttons and the Poll updates."""
    return [
        on(bt.AP_POLL, start_polls),
        on(bt.AP_POLL_STOP, stop_polls),
        PollHandler(poll_changed),
    ]
