"""发展党员: /recruit lists the people on the way in; a person's timeline card (from the list or
their roster card) shows the steps taken and what is due; "记录下一步" records one on the "rcs"
form (which step, its date with second chances, the training's length or the extension's months,
two 正式党员 as 入党介绍人, and a confirmation where a second-hand rule is not met); the register
as .xlsx. Recorders record; viewers read; another branch sees nothing."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import msgspec
from telegram import InputFile, Update
from telegram.ext import BaseHandler, CommandHandler

from bot import access, recruitment
from bot import buttons as bt
from bot.access import Need
from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.callbacks import on
from bot.dates import DateError, parse_held_on
from bot.forms import Choice, Form, NotNow, Outcome, Refused, Step, Turn
from bot.handlers import dues
from bot.handlers.common import (
    allowed,
    answer,
    close_keyboard,
    current_branch,
    in_rows,
    local_today,
    reply,
)
from bot.recruitment import Person
from bot.texts import labels, render
from db import members
from db import recruitment as store
from db.models import Branch, Member, Membership

_LOGGER = logging.getLogger(__name__)
NAME = "rcs"
Rows = list[list[tuple[str, str]]]
_AMOUNT = re.compile(r"^(\d{1,3})\s*(天|日|学时|课时|小时|个月|月)?$")
_UNITS = {"天": "days", "日": "days", "学时": "hours", "课时": "hours", "小时": "hours",
          "个月": "months", "月": "months"}  # fmt: skip


async def _person(database: Any, branch_id: int, member: Member) -> Person:
    steps = await store.steps_of(database, branch_id)
    return recruitment.people([member], steps)[0]


async def card_view(
    database: Any, membership: Membership, branch: Branch, member: Member, today: date
) -> tuple[str, Rows]:
    """A person's timeline: the steps taken with their dates, what is due, and the buttons."""
    person = await _person(database, branch.id, member)
    done = [(s, recruitment.records_of(person, s), recruitment.date_of(person, s))
            for s in recruitment.STEPS]  # fmt: skip
    lab = labels()
    rows: Rows = []
    if access.allows(membership.role, Need.RECORD) and recruitment.applicable(person):
        rows.append([(lab.RECRUIT_NEXT, bt.RC_NEXT(branch.id, member.id))])
    rows.append([(lab.RECRUIT_TO_MEMBER, bt.MEMBER(branch.id, member.id)),
                 (lab.RECRUIT_BACK, bt.RC_LIST(branch.id))])  # fmt: skip
    text = render(
        "recruitment",
        view="card",
        p=person,
        done=[(s, records, day) for s, records, day in done if records or day],
        due=recruitment.next_due(person),
        today=today,
        notice_end=recruitment.notice_end,
    )
    return text, rows


async def list_view(
    database: Any, membership: Membership, branch: Branch, today: date
) -> tuple[str, Rows]:
    """Everyone on the way in, each with the next step due."""
    roster = await members.list_for(database, branch.id)
    steps = await store.steps_of(database, branch.id)
    found = recruitment.in_progress(recruitment.people(roster, steps))
    lab = labels()
    rows = in_rows(
        [(lab.RECRUIT_PERSON.format(name=p.name, status=lab.ROSTER_STATUSES[p.status]),
          bt.RC_CARD(branch.id, p.member_id)) for p in found], 2
    )  # fmt: skip
    rows.append([(lab.RECRUIT_EXPORT, bt.RC_EXPORT(branch.id))])
    rows.append([(lab.MENU, bt.HOME())])
    text = render(
        "recruitment",
        view="list",
        branch_name=branch.profile.name,
        people=[(p, recruitment.next_due(p)[:1]) for p in found],
        today=today,
    )
    return text, rows


async def show_list(update: Update, context: BotContext) -> None:
    """/recruit in a private chat: the current branch's people on the way in."""
    found = await current_branch(update, context)
    if found is None:
        return
    database = app_of(context).database
    await reply(update, *await list_view(database, *found, local_today(context)))


async def list_page(update: Update, context: BotContext, branch_id: int) -> None:
    """rc:l:<branch>: the list again."""
    found = await allowed(update, context, branch_id, Need.READ)
    if found is None:
        return
    await answer(update)
    await close_keyboard(update)
    database = app_of(context).database
    await reply(update, *await list_view(database, *found, local_today(context)))


async def _member(
    update: Update, context: BotContext, branch_id: int, member_id: int, need: Need
) -> tuple[Membership, Branch, Member] | None:
    found = await allowed(update, context, branch_id, need)
    if found is None:
        return None
    member = await members.get(app_of(context).database, branch_id, member_id)
    if member is None:
        await answer(update, render("button_expired"), alert=True)
        return None
    return *found, member


async def show_card(update: Update, context: BotContext, branch_id: int, member_id: int) -> None:
    """rc:o:<branch>:<member>: a person's timeline card."""
    found = await _member(update, context, branch_id, member_id, Need.READ)
    if found is None:
        return
    await answer(update)
    await close_keyboard(update)
    database = app_of(context).database
    await reply(update, *await card_view(database, *found, local_today(context)))


async def begin(update: Update, context: BotContext, branch_id: int, member_id: int) -> None:
    """rc:n:<branch>:<member>: 记录下一步 (the form checks the role again on every answer)."""
    found = await _member(update, context, branch_id, member_id, Need.RECORD)
    if found is None:
        return
    member = found[2]
    person = await _person(app_of(context).database, branch_id, member)
    offered = recruitment.applicable(person)
    if not offered:
        await answer(update, render("button_expired"), alert=True)
        return
    draft = StepDraft(branch_id, member.id, member.name, member.info.status, offered,
                      step=offered[0] if len(offered) == 1 else None)  # fmt: skip
    await app_of(context).forms.start(update, context, NAME, draft)


async def export(update: Update, context: BotContext, branch_id: int) -> None:
    """rc:x:<branch>: the 发展党员 register (.xlsx), names and dates only."""
    from bot.recruitment_file import register_workbook

    found = await allowed(update, context, branch_id, Need.READ)
    if found is None:
        return
    branch = found[1]
    database = app_of(context).database
    roster = await members.list_for(database, branch.id)
    found_people = recruitment.people(roster, await store.steps_of(database, branch.id))
    shown = [p for p in found_people if p.status != "formal" or p.records]
    today = local_today(context)
    await answer(update, render("preparing_file"))
    data = await asyncio.to_thread(register_workbook, branch.profile.name, shown, today)
    chat = update.effective_chat
    assert chat is not None
    name = render("recruitment", view="file_name", branch_name=branch.profile.name, today=today)
    _LOGGER.info("Recruitment register of branch %d exported (%d rows)", branch.id, len(shown))
    await chat.send_document(
        InputFile(io.BytesIO(data), filename=name.strip()),
        caption=render("recruitment", view="file_caption", n=len(shown)),
    )


# -- the "rcs" form: one step recorded ---------------------------------------------------------


class StepDraft(msgspec.Struct):
    """One step being recorded for one person."""

    branch_id: int
    member_id: int
    name: str
    status: str  # the status when the form opened: a change meanwhile ends the form
    offered: list[str]
    step: str | None = None
    day: str | None = None
    amount: int | None = None
    unit: str = ""
    first: int | None = None
    second: int | None = None
    introducers: list[str] = []
    to_confirm: list[str] = []
    confirmed: bool = False


def _concerns(turn: Turn[StepDraft]) -> list[recruitment.Concern]:
    draft = turn.draft
    if draft.step is None or draft.day is None:
        return []
    person = turn.env[2]
    return recruitment.check(
        person, draft.step, date.fromisoformat(draft.day), turn.today, amount=draft.amount,
        unit=draft.unit, introducers=draft.introducers if draft.second else (),
    )  # fmt: skip


def _settle(turn: Turn[StepDraft]) -> None:
    """What is left to confirm after an answer (a changed list asks again)."""
    found = [c.code for c in _concerns(turn) if c.level == "confirm"]
    if found != turn.draft.to_confirm:
        turn.draft.to_confirm = found
        turn.draft.confirmed = False


def _pick_step(turn: Turn[StepDraft], code: str) -> None:
    draft = turn.draft
    if code not in draft.offered:
        raise InvalidAnswer("choice")
    person = turn.env[2]
    if code == "admitted" and recruitment.date_of(person, "introducers") is None:
        raise NotNow("recruit_no_introducers")
    if code != draft.step:
        draft.step, draft.day, draft.amount, draft.unit = code, None, None, ""
        draft.first, draft.second, draft.introducers = None, None, []
    _settle(turn)


def _set_day(turn: Turn[StepDraft], day: date) -> None:
    draft = turn.draft
    assert draft.step is not None
    concerns = recruitment.check(turn.env[2], draft.step, day, turn.today)
    for concern in concerns:
        if concern.level == "refuse" and concern.code not in ("two_introducers", "not_now"):
            raise InvalidAnswer("recruit_" + concern.code, **concern.params)
    draft.day = day.isoformat()
    _settle(turn)


def _read_day(turn: Turn[StepDraft], text: str) -> None:
    try:
        day = parse_held_on(text, turn.today)
    except DateError as error:
        if error.offer is None:
            future = error.code in ("future", "future_this_year")
            raise InvalidAnswer("recruit_future" if future else "date_" + error.code) from None
        offer = error.offer
        label = labels().CONFIRM_DAY.format(y=offer.year, m=offer.month, d=offer.day)
        raise InvalidAnswer(
            "date_" + error.code, day=offer, offer=(f"y{offer.isoformat()}", label)
        ) from None
    _set_day(turn, day)


def _pick_day(turn: Turn[StepDraft], code: str) -> None:
    if code == "t":
        _set_day(turn, turn.today)
        return
    try:
        day = date.fromisoformat(code[1:]) if code.startswith("y") and len(code) == 11 else None
    except ValueError:
        day = None
    if day is None or day > turn.today:
        raise InvalidAnswer("choice")
    _set_day(turn, day)


def _set_amount(turn: Turn[StepDraft], amount: int, unit: str) -> None:
    draft = turn.draft
    if draft.step == "extended":
        if unit not in ("", "months"):
            raise InvalidAnswer("recruit_months_only")
        low, high = recruitment.EXTENSION_MONTHS
        if not low <= amount <= high:
            raise InvalidAnswer("recruit_extension_months", low=low, high=high)
        draft.amount, draft.unit = amount, "months"
    else:
        if unit == "months" or amount == 0:
            raise InvalidAnswer("recruit_training_amount")
        draft.amount, draft.unit = amount, unit or "days"
    _settle(turn)


def _read_amount(turn: Turn[StepDraft], text: str) -> None:
    match = _AMOUNT.match(text.strip().replace(" ", ""))
    if match is None:
        extended = turn.draft.step == "extended"
        code = "recruit_extension_months" if extended else "recruit_training_amount"
        low, high = recruitment.EXTENSION_MONTHS
        raise InvalidAnswer(code, low=low, high=high)
    _set_amount(turn, int(match.group(1)), _UNITS.get(match.group(2) or "", ""))


def _pick_amount(turn: Turn[StepDraft], code: str) -> None:
    number, _, unit = code.partition("-")
    if not number.isdigit() or unit not in ("days", "hours", "months"):
        raise InvalidAnswer("choice")
    _set_amount(turn, int(number), unit)


def _amount_choices(turn: Turn[StepDraft]) -> list[list[Choice]]:
    lab = labels()
    if turn.draft.step == "extended":
        return [[Choice(f"{n}-months", lab.RECRUIT_MONTHS.format(n=n)) for n in (6, 12)]]
    return [[Choice("3-days", lab.RECRUIT_DAYS.format(n=3)),
             Choice("24-hours", lab.RECRUIT_HOURS.format(n=24))]]  # fmt: skip


def _formal(turn: Turn[StepDraft]) -> list[Member]:
    return [m for m in turn.env[3] if m.id != turn.draft.member_id]


def _introducer_choices(turn: Turn[StepDraft], *, second: bool) -> list[list[Choice]]:
    people = [m for m in _formal(turn) if not second or m.id != turn.draft.first]
    if len(people) < (1 if second else 2):
        return []
    return [list(row) for row in in_rows([Choice(str(m.id), m.name) for m in people], 3)]


def _pick_introducer(turn: Turn[StepDraft], code: str, *, second: bool) -> None:
    draft = turn.draft
    chosen = next((m for m in _formal(turn) if str(m.id) == code), None)
    if chosen is None or (second and chosen.id == draft.first):
        raise InvalidAnswer("choice")
    if second:
        draft.second = chosen.id
        draft.introducers = [draft.introducers[0], chosen.name]
    else:
        draft.first, draft.second, draft.introducers = chosen.id, None, [chosen.name]
    _settle(turn)


def _confirm(turn: Turn[StepDraft], code: str) -> None:
    if code != "y":
        raise InvalidAnswer("choice")
    turn.draft.confirmed = True


def _ask(view: str) -> Callable[[Turn[StepDraft]], str]:
    """The question of a step: the view of recruitment.j2 with the draft and its window."""

    def question(turn: Turn[StepDraft]) -> str:
        draft = turn.draft
        person = turn.env[2]
        due = {d.step: d for d in recruitment.next_due(person)}
        return render(
            "recruitment", view=view, d=draft, due=due.get(draft.step or ""), today=turn.today,
            concerns=[c for c in _concerns(turn) if c.level == "confirm"],
            formal=len(_formal(turn)),
        )  # fmt: skip

    return question


def _steps(draft: StepDraft) -> list[Step[StepDraft]]:
    lab = labels()
    return [
        Step(
            name="step",
            question=_ask("ask_step"),
            answered=lambda d: d.step is not None,
            applies=lambda d: len(d.offered) > 1,
            choices=lambda t: [[Choice(s, lab.RECRUIT_STEPS[s])] for s in t.draft.offered],
            pick=_pick_step,
        ),
        Step(
            name="day",
            question=_ask("ask_day"),
            answered=lambda d: d.day is not None,
            read=_read_day,
            choices=lambda t: [[Choice("t", lab.RECRUIT_TODAY)]],
            pick=_pick_day,
            current=lambda t: t.draft.day,
        ),
        Step(
            name="amount",
            question=_ask("ask_amount"),
            answered=lambda d: d.amount is not None,
            applies=lambda d: d.step in ("training", "extended"),
            read=_read_amount,
            choices=_amount_choices,
            pick=_pick_amount,
        ),
        Step(
            name="first",
            question=_ask("ask_first"),
            answered=lambda d: d.first is not None,
            applies=lambda d: d.step == "introducers",
            choices=lambda t: _introducer_choices(t, second=False),
            pick=lambda t, code: _pick_introducer(t, code, second=False),
        ),
        Step(
            name="second",
            question=_ask("ask_second"),
            answered=lambda d: d.second is not None,
            applies=lambda d: d.step == "introducers",
            choices=lambda t: _introducer_choices(t, second=True),
            pick=lambda t, code: _pick_introducer(t, code, second=True),
        ),
        Step(
            name="confirm",
            question=_ask("ask_confirm"),
            answered=lambda d: d.confirmed,
            applies=lambda d: bool(d.to_confirm),
            choices=lambda t: [[Choice("y", lab.RECRUIT_CONFIRM)]],
            pick=_confirm,
        ),
    ]


async def _load(turn: Turn[StepDraft]) -> tuple[Membership, Branch, Person, list[Member]]:
    """Still a recorder of the branch, the person still on its roster at the same stage."""
    draft = turn.draft
    membership, branch = await turn.authorize(draft.branch_id, Need.RECORD)
    roster = await members.list_for(turn.database, draft.branch_id)
    member = next((m for m in roster if m.id == draft.member_id), None)
    if member is None or member.info.status != draft.status:
        raise Refused("recruitment", view="changed", name=draft.name)
    person = await _person(turn.database, draft.branch_id, member)
    formal = [m for m in roster if m.info.status == "formal"]
    return membership, branch, person, formal


async def _save(turn: Turn[StepDraft], key: str) -> Outcome:
    draft = turn.draft
    membership, branch, person, _ = turn.env
    assert draft.step is not None and draft.day is not None
    concerns = _concerns(turn)
    if any(c.level == "refuse" for c in concerns) or (
        {c.code for c in concerns} - set(draft.to_confirm if draft.confirmed else ())
    ):
        raise Refused("recruitment", view="changed", name=draft.name)
    day = date.fromisoformat(draft.day)
    status = recruitment.ENTERS.get(draft.step)
    joined_on = person.joined_on if draft.step == "confirmed" else day
    row = store.StepRow(draft.member_id, draft.step, day, draft.amount, draft.unit,
                        tuple(draft.introducers))  # fmt: skip
    entered = recruitment.ENTERED_BY.get(person.status)
    implied = []
    if status and entered and person.joined_on and not recruitment.records_of(person, entered):
        # The roster's date of the stage being left would be overwritten: it is kept as a step.
        implied.append(store.StepRow(draft.member_id, entered, person.joined_on))
    try:
        await store.record(
            turn.database, user_id=membership.user_id, branch_id=branch.id, step=row,
            status=status, joined_on=joined_on if status else None, draft_key=key,
            implied=implied,
        )  # fmt: skip
    except store.AlreadyRecorded:
        raise Refused("recruitment", view="changed", name=draft.name) from None
    _LOGGER.info("Recruitment step %s recorded in branch %d", draft.step, branch.id)
    if status:
        await dues.settle_marks(turn.database, branch.id, membership.user_id, turn.today)
    member = await members.get(turn.database, branch.id, draft.member_id)
    assert member is not None
    card = await card_view(turn.database, membership, branch, member, turn.today)
    moved = status if status and status != person.status else None
    text = render("recruitment", view="saved", d=draft, moved=moved)
    return Outcome(text, more=(card,))


FORM: Form[StepDraft] = Form(
    name=NAME,
    draft=StepDraft,
    steps=_steps,
    load=_load,
    save=_save,
    heading=lambda d: d.name,
)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/recruit, the timeline card, 记录下一步 and the register."""
    return [
        CommandHandler("recruit", show_list),
        on(bt.RC_LIST, list_page),
        on(bt.RC_CARD, show_card),
        on(bt.RC_NEXT, begin),
        on(bt.RC_EXPORT, export),
    ]
