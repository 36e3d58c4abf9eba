"""The monthly 主题党日: /partyday shows this month's and next month's plan; planning is a short
flow (day → theme, from suggestions or typed → activity form); logging it opens /log preset.
"""

from __future__ import annotations

import logging
from datetime import date
from enum import IntEnum
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import meeting_form as form
from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.dates import DateError, parse_date
from bot.handlers.common import (
    active_flow,
    answer,
    callback_parts,
    close_keyboard,
    conversation,
    forbidden,
    in_rows,
    is_private,
    local_today,
    reply,
    reply_template,
    set_flow,
    user_data,
)
from bot.obligations import held_by_kind, period_of, state_in
from bot.partyday import default_party_day, ideas_for
from bot.texts import labels, render
from db import meetings, repo, sweep_data
from db.models import Branch

_LOGGER = logging.getLogger(__name__)
FLOW = "party_day"
DRAFT = "party_day"
IDEAS_SHOWN = 4


class State(IntEnum):
    """Where the planning conversation is."""

    ASKING = 1


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
        created_on=date.fromisoformat(branch.created_at[:10]),
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
        "fixed_day": default_party_day(year, month, branch.profile.party_day),
        "state": state.state,
        "deadline": state.deadline,
    }


async def show(update: Update, context: BotContext) -> None:
    """/partyday or 主题党日 in the menu."""
    await answer(update)
    user = update.effective_user
    assert user is not None
    if not is_private(update):
        await reply_template(update, "private_only")
        return
    current = await repo.current_membership(app_of(context).database, user.id)
    if current is None:
        await reply_template(update, "not_registered")
        return
    await close_keyboard(update)
    membership, branch = current
    today = local_today(context)
    months = [
        await _month_state(context, branch, today.year, today.month),
        await _month_state(context, branch, *_month_after(today)),
    ]
    lab = labels()
    rows: list[list[tuple[str, str]]] = []
    if membership.can_record:
        this, following = months
        if not this["held"]:
            rows.append([(lab.LOG_PARTY_DAY, f"pd:log:{branch.id}:{this['key']}")])
        for state, label in ((this, lab.PLAN_THIS_MONTH), (following, lab.PLAN_NEXT_MONTH)):
            if not state["held"]:
                text = (lab.REPLAN if state["plan"] else label).format(month=state["month"])
                rows.append([(text, f"pd:plan:{branch.id}:{state['key']}")])
    rows.append([(lab.MENU, "menu:home")])
    ideas = ideas_for(today.month, branch.profile.organization_type, limit=3)
    await reply_template(update, "party_day_card", rows, months=months, ideas=ideas, today=today)


def _draft(context: BotContext) -> dict[str, Any]:
    draft = user_data(context).get(DRAFT)
    assert draft is not None, "the planning conversation has no draft"
    return draft


async def _ask(update: Update, context: BotContext, error: InvalidAnswer | None = None) -> int:
    draft = _draft(context)
    lab = labels()
    step = draft["step"]
    rows: list[list[tuple[str, str]]] = []
    if step == "day":
        fixed = date.fromisoformat(draft["fixed_day"])
        rows.append([(lab.FIXED_DAY.format(day=f"{fixed.month}月{fixed.day}日"), "pds:day")])
    elif step == "theme":
        rows += [[(idea[0][:30], f"pds:idea:{i}")] for i, idea in enumerate(draft["ideas"])]
    elif step == "form":
        names = lab.ACTIVITY_FORMS
        rows += in_rows([(names[f], f"pds:form:{f}") for f in form.ACTIVITY_FORMS], 3)
    rows.append([(lab.CANCEL, "pds:cancel")])
    text = render("party_day_ask", step=step, month=draft["month"], error=error)
    await reply(update, text, rows)
    return State.ASKING


async def begin(update: Update, context: BotContext) -> int:
    """Plan a month's 主题党日: pd:plan:<branch>:<YYYY-MM>."""
    parts = callback_parts(update)
    user = update.effective_user
    assert user is not None
    try:
        branch_id = int(parts[2])
        year, month = (int(x) for x in parts[3].split("-"))
        date(year, month, 1)
    except (IndexError, ValueError):
        await answer(update, render("button_expired"), alert=True)
        return ConversationHandler.END
    database = app_of(context).database
    membership = await repo.get_membership(database, user.id, branch_id)
    branch = await repo.get_branch(database, branch_id)
    if membership is None or branch is None or not membership.can_record:
        await forbidden(update)
        return ConversationHandler.END
    if active_flow(context) and active_flow(context) != FLOW:
        await answer(update, render("finish_flow_first"), alert=True)
        return ConversationHandler.END
    await answer(update)
    await close_keyboard(update)
    ideas = ideas_for(month, branch.profile.organization_type, limit=IDEAS_SHOWN)
    user_data(context)[DRAFT] = {
        "branch_id": branch_id,
        "month": month,
        "year": year,
        "fixed_day": default_party_day(year, month, branch.profile.party_day).isoformat(),
        "ideas": [[idea.theme, idea.form] for idea in ideas],
        "step": "day",
        "values": {},
    }
    set_flow(context, FLOW)
    return await _ask(update, context)


async def typed(update: Update, context: BotContext) -> int:
    """A typed day or theme."""
    draft = _draft(context)
    assert update.message is not None
    text = update.message.text or ""
    try:
        if draft["step"] == "day":
            try:
                day = parse_date(text, local_today(context), past=False)
            except DateError as error:
                raise InvalidAnswer("date_" + error.code) from None
            if (day.year, day.month) != (draft["year"], draft["month"]):
                raise InvalidAnswer("other_month", month=draft["month"])
            if day < local_today(context):
                raise InvalidAnswer("date_past")
            draft["values"]["planned_on"] = day.isoformat()
            draft["step"] = "theme"
        elif draft["step"] == "theme":
            draft["values"]["theme"] = form.read_title(text)["title"]
            draft["step"] = "form"
        else:
            raise InvalidAnswer("choice")
    except InvalidAnswer as error:
        return await _ask(update, context, error)
    return await _ask(update, context)


async def tapped(update: Update, context: BotContext) -> int:
    """The fixed day, a suggested theme, or the activity form."""
    draft = _draft(context)
    parts = callback_parts(update)
    step = draft["step"]
    values = draft["values"]
    if parts[1:2] == ["day"] and step == "day":
        fixed = date.fromisoformat(draft["fixed_day"])
        values["planned_on"] = max(fixed, local_today(context)).isoformat()
        draft["step"] = "theme"
    elif parts[1:2] == ["idea"] and step == "theme" and len(parts) == 3 and parts[2].isdigit():
        index = int(parts[2])
        if index >= len(draft["ideas"]):
            await answer(update, render("button_expired"), alert=True)
            return State.ASKING
        values["theme"], values["activity_form"] = draft["ideas"][index]
        draft["step"] = "done"
    elif (
        parts[1:2] == ["form"]
        and step == "form"
        and parts[2:3]
        and parts[2] in form.ACTIVITY_FORMS
    ):
        values["activity_form"] = parts[2]
        draft["step"] = "done"
    else:
        await answer(update, render("button_expired"), alert=True)
        return State.ASKING
    await answer(update)
    await close_keyboard(update)
    if draft["step"] == "done":
        return await _save(update, context)
    return await _ask(update, context)


async def _save(update: Update, context: BotContext) -> int:
    draft = _draft(context)
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    membership = await repo.get_membership(database, user.id, draft["branch_id"])
    if membership is None or not membership.can_record:
        await forbidden(update)
    else:
        values = draft["values"]
        plan = await meetings.save_plan(
            database,
            user_id=user.id,
            branch_id=draft["branch_id"],
            planned_on=date.fromisoformat(values["planned_on"]),
            theme=values["theme"],
            activity_form=values["activity_form"],
        )
        lab = labels()
        rows = [[(lab.MENU_PARTYDAY, "menu:partyday"), (lab.MENU, "menu:home")]]
        await reply_template(update, "party_day_planned", rows, plan=plan)
    user_data(context).pop(DRAFT, None)
    set_flow(context, None)
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    """Leave planning; the saved plan (if any) stays as it was."""
    await answer(update)
    await close_keyboard(update)
    user_data(context).pop(DRAFT, None)
    set_flow(context, None)
    await reply_template(update, "cancelled")
    return ConversationHandler.END


async def resume(update: Update, context: BotContext) -> int:
    """/partyday while planning: continue the step."""
    await answer(update)
    return await _ask(update, context)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/partyday and the planning conversation."""
    text = filters.TEXT & ~filters.COMMAND
    return [
        conversation(
            name="party_day_plan",
            entry_points=[CallbackQueryHandler(begin, pattern=r"^pd:plan:")],
            states={
                State.ASKING: [
                    MessageHandler(text, typed),
                    CallbackQueryHandler(cancel, pattern=r"^pds:cancel$"),
                    CallbackQueryHandler(tapped, pattern=r"^pds:"),
                ]
            },
            fallbacks=[
                CommandHandler("cancel", cancel),
                CommandHandler("partyday", resume),
                CallbackQueryHandler(resume, pattern=r"^(menu:partyday|pd:plan:.*)$"),
            ],
        ),
        CommandHandler("partyday", show),
        CallbackQueryHandler(show, pattern=r"^menu:partyday$"),
    ]
