"""The monthly 主题党日: /partyday shows this month's and next month's plan; planning is a short
flow (day → theme, from suggestions or typed → activity form); logging it opens /log preset.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any

import msgspec
from markupsafe import escape
from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot import access
from bot import buttons as bt
from bot import meeting_form as form
from bot.access import Need
from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.callbacks import on
from bot.dates import DateError, parse_date
from bot.forms import Choice, Form, Outcome, Step, Turn
from bot.handlers.common import (
    answer,
    close_keyboard,
    current_branch,
    forbidden,
    local_today,
    reply_template,
)
from bot.obligations import held_by_kind, period_of, registered_on, state_in
from bot.partyday import default_party_day, ideas_for
from bot.texts import labels, render
from db import meetings, sweep_data
from db.models import Branch, Membership

_LOGGER = logging.getLogger(__name__)
IDEAS_SHOWN = 4


def _month_after(day: date) -> tuple[int, int]:
    return (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)


async def _month_state(context: BotContext, branch: Branch, year: int, month: int) -> dict:
    """The plan of a month, the 主题党日 records held in it, and its state as /status has it
    (bot.obligations.state_in: a combined sitting counts, a missed deadline is overdue)."""
    database = app_of(context).database
    today = local_today(context)
    facts = await sweep_data.load(database, today, branch_ids=[branch.id])
    branch_settings = facts.settings.get(branch.id)
    state = state_in(
        "theme_party_day",
        period_of("monthly", date(year, month, 1)),
        branch.profile,
        held_by_kind(facts.records.get(branch.id, [])),
        today,
        frequencies=branch_settings.frequencies if branch_settings else None,
        created_on=registered_on(branch.created_at, app_of(context).config.bot.tzinfo),
        planned_days=facts.planned.get(branch.id),
    )
    key = f"{year:04d}-{month:02d}"
    plan = await meetings.get_plan(database, branch.id, key)
    records, _ = await meetings.list_meetings(
        database, branch.id, kind="theme_party_day", year=year, limit=100
    )
    held = [m for m in records if m.held_on.month == month]
    return {
        "key": key,
        "year": year,
        "month": month,
        "plan": plan,
        "held": held,
        "fixed_day": default_party_day(year, month, branch.profile),
        "state": state.state,
        "deadline": state.deadline,
    }


async def show(update: Update, context: BotContext) -> None:
    """/partyday or 主题党日 in the menu."""
    await answer(update)
    current = await current_branch(update, context)
    if current is None:
        return
    await close_keyboard(update)
    membership, branch = current
    today = local_today(context)
    # Both months' reads at once: the database's thread answers them back to back.
    months = await asyncio.gather(
        _month_state(context, branch, today.year, today.month),
        _month_state(context, branch, *_month_after(today)),
    )
    lab = labels()
    rows: list[list[tuple[str, str]]] = []
    if membership.can_record:
        this, following = months
        if not this["held"]:
            rows.append([(lab.LOG_PARTY_DAY, bt.LOG_PLAN(branch.id, this["key"]))])
        for state, label in ((this, lab.PLAN_THIS_MONTH), (following, lab.PLAN_NEXT_MONTH)):
            if not state["held"]:
                text = (lab.REPLAN if state["plan"] else label).format(month=state["month"])
                rows.append([(text, bt.PLAN(branch.id, state["key"]))])
                if state["plan"] and state["plan"].planned_on >= today:
                    notify = lab.NOTIFY_PARTY_DAY.format(month=state["month"])
                    rows.append([(notify, bt.NF_PLAN(branch.id, state["key"]))])
    rows.append([(lab.MENU, bt.HOME())])
    ideas = ideas_for(today.month, branch.profile.organization_type, limit=3)
    await reply_template(update, "party_day_card", rows, months=months, ideas=ideas, today=today)


class PlanDraft(msgspec.Struct):
    """A month's 主题党日 plan being filled in."""

    branch_id: int
    year: int
    month: int
    fixed_day: str
    ideas: list[list[str]] = []
    planned_on: str | None = None
    theme: str | None = None
    activity_form: str | None = None


def _ask(step: str) -> Any:
    def question(turn: Turn[PlanDraft]) -> str:
        return render("party_day_ask", step=step, month=turn.draft.month, error=None)

    return question


def _day_choices(turn: Turn[PlanDraft]) -> list[list[Choice]]:
    fixed = date.fromisoformat(turn.draft.fixed_day)
    return [[Choice("fixed", labels().FIXED_DAY.format(day=f"{fixed.month}月{fixed.day}日"))]]


def _read_day(turn: Turn[PlanDraft], text: str) -> None:
    draft = turn.draft
    try:
        day = parse_date(text, turn.today, past=False)
    except DateError as error:
        raise InvalidAnswer("date_" + error.code) from None
    if (day.year, day.month) != (draft.year, draft.month):
        raise InvalidAnswer("other_month", month=draft.month)
    if day < turn.today:
        raise InvalidAnswer("date_past")
    draft.planned_on = day.isoformat()


def _pick_day(turn: Turn[PlanDraft], code: str) -> None:
    if code != "fixed":
        raise InvalidAnswer("choice")
    fixed = date.fromisoformat(turn.draft.fixed_day)
    turn.draft.planned_on = max(fixed, turn.today).isoformat()


def _idea_choices(turn: Turn[PlanDraft]) -> list[list[Choice]]:
    return [[Choice(str(i), idea[0][:30])] for i, idea in enumerate(turn.draft.ideas)]


def _read_theme(turn: Turn[PlanDraft], text: str) -> None:
    turn.draft.theme = form.read_title(text)["title"]
    turn.draft.activity_form = None


def _pick_idea(turn: Turn[PlanDraft], code: str) -> None:
    if not code.isdigit() or int(code) >= len(turn.draft.ideas):
        raise InvalidAnswer("choice")
    turn.draft.theme, turn.draft.activity_form = turn.draft.ideas[int(code)]


def _form_choices(turn: Turn[PlanDraft]) -> list[list[Choice]]:
    names = labels().ACTIVITY_FORMS
    forms = [Choice(f, names[f]) for f in form.ACTIVITY_FORMS]
    return [forms[i : i + 3] for i in range(0, len(forms), 3)]


def _pick_form(turn: Turn[PlanDraft], code: str) -> None:
    if code not in form.ACTIVITY_FORMS:
        raise InvalidAnswer("choice")
    turn.draft.activity_form = code


_STEPS: list[Step[PlanDraft]] = [
    Step(
        name="day",
        question=_ask("day"),
        help=lambda d: "party-day",
        answered=lambda d: d.planned_on is not None,
        read=_read_day,
        choices=_day_choices,
        pick=_pick_day,
        current=lambda t: _day_text(t.draft.planned_on),
    ),
    Step(
        name="theme",
        question=_ask("theme"),
        help=lambda d: "guide-party-day",
        answered=lambda d: d.theme is not None,
        read=_read_theme,
        choices=_idea_choices,
        pick=_pick_idea,
        current=lambda t: str(escape(t.draft.theme)) if t.draft.theme else None,
    ),
    Step(
        name="form",
        question=_ask("form"),
        help=lambda d: "guide-party-day",
        answered=lambda d: d.activity_form is not None,
        choices=_form_choices,
        pick=_pick_form,
        current=lambda t: labels().ACTIVITY_FORMS[t.draft.activity_form],
    ),
]


def _day_text(value: str | None) -> str | None:
    if value is None:
        return None
    day = date.fromisoformat(value)
    return f"{day.month}月{day.day}日"


async def _load(turn: Turn[PlanDraft]) -> tuple[Membership, Branch]:
    return await turn.authorize(turn.draft.branch_id, Need.RECORD)


async def _save(turn: Turn[PlanDraft], key: str) -> Outcome:
    draft = turn.draft
    assert draft.planned_on and draft.theme and draft.activity_form
    plan = await meetings.save_plan(
        turn.database,
        user_id=turn.user_id,
        branch_id=draft.branch_id,
        planned_on=date.fromisoformat(draft.planned_on),
        theme=draft.theme,
        activity_form=draft.activity_form,
    )
    lab = labels()
    rows = [[(lab.MENU_PARTYDAY, bt.MENU_PARTYDAY()), (lab.MENU, bt.HOME())]]
    return Outcome(render("party_day_planned", plan=plan), rows)


FORM: Form[PlanDraft] = Form(
    name="pds",
    draft=PlanDraft,
    steps=lambda draft: _STEPS,
    load=_load,
    save=_save,
)


async def begin(update: Update, context: BotContext, branch_id: int, key: str) -> None:
    """Plan a month's 主题党日 (key: YYYY-MM)."""
    user = update.effective_user
    assert user is not None
    year, month = (int(x) for x in key.split("-"))
    found = await access.authorize(app_of(context).database, user.id, branch_id, Need.RECORD)
    if found is None:
        await forbidden(update)
        return
    branch = found[1]
    ideas = ideas_for(month, branch.profile.organization_type, limit=IDEAS_SHOWN)
    draft = PlanDraft(
        branch_id=branch_id,
        year=year,
        month=month,
        fixed_day=default_party_day(year, month, branch.profile).isoformat(),
        ideas=[[idea.theme, idea.form] for idea in ideas],
    )
    await app_of(context).forms.start(update, context, FORM.name, draft)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/partyday and the planning conversation."""
    return [
        on(bt.PLAN, begin),
        CommandHandler("partyday", show),
        on(bt.MENU_PARTYDAY, show),
    ]
