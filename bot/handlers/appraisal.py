"""民主评议党员: each party member's grade on a 民主评议 record — 优秀, 合格, 基本合格 or 不合格
(the last two with a reason, typed in a one-step form), the 1/3 guide for 优秀, and the sheet."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

import msgspec
from telegram import InputFile, Update
from telegram.ext import BaseHandler

from bot import access
from bot import buttons as bt
from bot.access import Need
from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.callbacks import on
from bot.forms import Form, Outcome, Refused, Step, Turn
from bot.handlers.common import allowed, answer, close_keyboard, in_rows, reply
from bot.member_counts import member_counts
from bot.textnorm import clean_line
from bot.texts import labels, render
from db import appraisal_polls, appraisals, meetings, members, repo
from db.appraisal_polls import PollRow
from db.appraisals import GRADES, WITH_REASON, Grade
from db.models import Branch, Meeting, Member, Membership

_LOGGER = logging.getLogger(__name__)
NAME = "apr"
KIND = "member_appraisal"
REASON_LIMIT = 100
PARTY = frozenset({"formal", "probationary"})
Rows = list[list[tuple[str, str]]]


def party_members(roster: list[Member]) -> list[Member]:
    """Who is appraised: the roster's formal and probationary members."""
    return [m for m in roster if m.info.status in PARTY]


async def _appraisal(
    update: Update, context: BotContext, record_id: int, need: Need
) -> tuple[Meeting, Membership, Branch] | None:
    """The 民主评议 record a button names, if the user's role in its branch meets the need."""
    record = await meetings.get_meeting(app_of(context).database, record_id)
    if record is None or record.branch_id is None:
        await answer(update, render("record_gone"), alert=True)
        return None
    found = await allowed(update, context, record.branch_id, need)
    if found is None:
        return None
    if KIND not in record.counts_as:
        await answer(update, render("appraisal", view="not_appraisal"), alert=True)
        return None
    return record, *found


def _poll_part(
    polls: list[PollRow], record: Meeting, membership: Membership
) -> tuple[dict[int, PollRow], Rows]:
    """The 民主测评 tallies by member (bot.handlers.appraisal_poll) and the card's button for
    an editor: send the polls, or end them."""
    assert record.id is not None
    by_member = {p.member_id: p for p in polls}
    if not access.allows(membership.role, Need.EDIT) or (polls and all(p.closed for p in polls)):
        return by_member, []
    lab = labels()
    if not polls:
        return by_member, [[(lab.POLL_START, bt.AP_POLL(record.id))]]
    return by_member, [[(lab.POLL_STOP, bt.AP_POLL_STOP(record.id))]]


async def card_view(database: Any, record: Meeting, membership: Membership) -> tuple[str, Rows]:
    """The grades of every party member, with buttons for those who may grade."""
    assert record.id is not None and record.branch_id is not None
    roster = await members.list_for(database, record.branch_id)
    people = party_members(roster)
    given = await appraisals.grades(database, record.id)
    branch = await repo.get_branch(database, record.branch_id)
    assert branch is not None
    counts_now = member_counts(branch, roster)
    # A roster not yet complete: the grades would cover part of the branch.
    unlisted = max(0, counts_now.total - len(people))
    if not people:
        return render("appraisal", view="no_members"), [
            [(labels().BACK_TO_RECORD, bt.RECORD(record.id))]
        ]
    counts: dict[str, int] = {}
    for person in people:
        if person.id in given:
            counts[given[person.id].grade] = counts.get(given[person.id].grade, 0) + 1
    ungraded = sum(1 for p in people if p.id not in given)
    can_grade = access.allows(membership.role, Need.RECORD)
    lab = labels()
    rows: Rows = []
    if can_grade:
        rows = in_rows(
            [(lab.APPRAISAL_PERSON.format(
                name=p.name,
                grade=lab.GRADES[given[p.id].grade] if p.id in given else lab.APPRAISAL_UNGRADED,
              ),
              bt.AP_PICK(record.id, p.id)) for p in people], 2
        )  # fmt: skip
        if ungraded:
            rows.append([(lab.APPRAISAL_REST.format(n=ungraded), bt.AP_REST(record.id))])
    tallies, poll_rows = _poll_part(
        await appraisal_polls.of_meeting(database, record.id), record, membership
    )
    rows += poll_rows
    rows.append([(lab.APPRAISAL_EXPORT, bt.AP_EXPORT(record.id))])
    rows.append([(lab.BACK_TO_RECORD, bt.RECORD(record.id))])
    text = render(
        "appraisal",
        view="card",
        m=record,
        people=[(p, given.get(p.id)) for p in people],
        grades=GRADES,
        counts=counts,
        ungraded=ungraded,
        too_many=counts.get("excellent", 0) * 3 > len(people),
        can_grade=can_grade,
        unlisted=unlisted,
        total=counts_now.total,
        tallies=tallies,
    )
    return text, rows


async def show(update: Update, context: BotContext, record_id: int) -> None:
    """📋 评议等次 on a 民主评议 record."""
    found = await _appraisal(update, context, record_id, Need.READ)
    if found is None:
        return
    await answer(update)
    await close_keyboard(update)
    await reply(update, *await card_view(app_of(context).database, found[0], found[1]))


async def _member(
    update: Update, context: BotContext, record: Meeting, member_id: int
) -> Member | None:
    """A party member of the record's branch (else the button is answered as expired)."""
    assert record.branch_id is not None
    member = await members.get(app_of(context).database, record.branch_id, member_id)
    if member is None or member.info.status not in PARTY:
        await answer(update, render("button_expired"), alert=True)
        return None
    return member


async def pick(update: Update, context: BotContext, record_id: int, member_id: int) -> None:
    """The four grades for one member."""
    found = await _appraisal(update, context, record_id, Need.RECORD)
    if found is None or (member := await _member(update, context, found[0], member_id)) is None:
        return
    current = (await appraisals.grades(app_of(context).database, record_id)).get(member_id)
    lab = labels()
    rows = [[(lab.GRADES[g], bt.AP_SET(record_id, member_id, g)) for g in GRADES[:2]],
            [(lab.GRADES[g], bt.AP_SET(record_id, member_id, g)) for g in GRADES[2:]],
            [(lab.APPRAISAL_BACK, bt.AP_CARD(record_id))]]  # fmt: skip
    await answer(update)
    await close_keyboard(update)
    text = render("appraisal", view="pick", name=member.name, current=current and current.grade)
    await reply(update, text, rows)


async def grade(
    update: Update, context: BotContext, record_id: int, member_id: int, chosen: str
) -> None:
    """A grade tapped: 优秀 and 合格 are set at once; 基本合格 and 不合格 ask the reason."""
    found = await _appraisal(update, context, record_id, Need.RECORD)
    if found is None or (member := await _member(update, context, found[0], member_id)) is None:
        return
    record, membership, branch = found
    database = app_of(context).database
    if chosen in WITH_REASON:
        draft = ReasonDraft(branch.id, record_id, member_id, member.name, chosen)
        await app_of(context).forms.start(update, context, NAME, draft)
        return
    await appraisals.set_grades(
        database, user_id=membership.user_id, branch_id=branch.id, meeting_id=record_id,
        given=[Grade(member_id, chosen)],
    )  # fmt: skip
    await answer(update, render("appraisal", view="saved", name=member.name, grade=chosen))
    await close_keyboard(update)
    await reply(update, *await card_view(database, record, membership))


async def rest(update: Update, context: BotContext, record_id: int) -> None:
    """其余设为合格: every party member not graded yet is 合格."""
    found = await _appraisal(update, context, record_id, Need.RECORD)
    if found is None:
        return
    record, membership, branch = found
    database = app_of(context).database
    given = await appraisals.grades(database, record_id)
    people = party_members(await members.list_for(database, branch.id))
    new = [Grade(p.id, "qualified") for p in people if p.id not in given]
    await appraisals.set_grades(
        database, user_id=membership.user_id, branch_id=branch.id, meeting_id=record_id,
        given=new,
    )  # fmt: skip
    await answer(update, render("appraisal", view="rest_saved", n=len(new)))
    await close_keyboard(update)
    await reply(update, *await card_view(database, record, membership))


async def export(update: Update, context: BotContext, record_id: int) -> None:
    """The appraisal sheet (.xlsx): every party member, grade and reason, and the counts."""
    from bot import exports

    found = await _appraisal(update, context, record_id, Need.READ)
    if found is None:
        return
    record, _, branch = found
    database = app_of(context).database
    people = party_members(await members.list_for(database, branch.id))
    given = await appraisals.grades(database, record_id)
    await answer(update, render("preparing_file"))
    tallies = {
        p.member_id: p.counts for p in await appraisal_polls.of_meeting(database, record_id)
    }
    data = await asyncio.to_thread(
        exports.appraisal_workbook,
        branch,
        record,
        [(p, given.get(p.id)) for p in people],
        tallies,
    )
    chat = update.effective_chat
    assert chat is not None
    name = render("appraisal_file", view="name", branch_name=branch.profile.name, m=record)
    await chat.send_document(
        InputFile(io.BytesIO(data), filename=name),
        caption=render("appraisal_file", view="caption", m=record, n=len(people)),
    )


# -- the reason for 基本合格 and 不合格: the "apr" form -----------------------------------------


class ReasonDraft(msgspec.Struct):
    """One member's 基本合格 or 不合格, waiting for its reason."""

    branch_id: int
    record_id: int
    member_id: int
    name: str
    grade: str
    reason: str | None = None


def _read_reason(turn: Turn[ReasonDraft], text: str) -> None:
    value = clean_line(text.replace("\n", " "))
    if not value:
        raise InvalidAnswer("empty")
    if len(value) > REASON_LIMIT:
        raise InvalidAnswer("too_long", limit=REASON_LIMIT, length=len(value))
    turn.draft.reason = value


async def _load(turn: Turn[ReasonDraft]) -> tuple[Membership, Branch]:
    """Still a recorder of the branch, the record still there and the member still a party
    member of it."""
    found = await turn.authorize(turn.draft.branch_id, Need.RECORD)
    record = await meetings.get_meeting(turn.database, turn.draft.record_id)
    member = await members.get(turn.database, turn.draft.branch_id, turn.draft.member_id)
    if record is None or member is None or member.info.status not in PARTY:
        raise Refused("record_gone")
    return found


async def _save(turn: Turn[ReasonDraft], key: str) -> Outcome:
    draft = turn.draft
    assert draft.reason is not None
    membership = turn.env[0]
    await appraisals.set_grades(
        turn.database, user_id=membership.user_id, branch_id=draft.branch_id,
        meeting_id=draft.record_id,
        given=[Grade(draft.member_id, draft.grade, draft.reason)],
    )  # fmt: skip
    record = await meetings.get_meeting(turn.database, draft.record_id)
    assert record is not None
    card = await card_view(turn.database, record, membership)
    text = render("appraisal", view="saved", name=draft.name, grade=draft.grade,
                  reason=draft.reason)  # fmt: skip
    return Outcome(text, more=(card,))


def _ask(turn: Turn[ReasonDraft]) -> str:
    draft = turn.draft
    return render(
        "appraisal", view="reason_ask", name=draft.name, grade=draft.grade, limit=REASON_LIMIT
    )


FORM: Form[ReasonDraft] = Form(
    name=NAME,
    draft=ReasonDraft,
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


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The appraisal card and its buttons (the reason form is registered with the others)."""
    return [
        on(bt.AP_CARD, show),
        on(bt.AP_PICK, pick),
        on(bt.AP_SET, grade),
        on(bt.AP_REST, rest),
        on(bt.AP_EXPORT, export),
    ]
