"""/status: what the branch owes this month, quarter and year, with one-tap logging; the
reminder buttons (snooze, 党费已收齐); and /status in the branch's bound group chat.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta
from typing import Any

from msgspec.structs import replace
from telegram import Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CommandHandler

from bot import buttons as bt
from bot.application import BotContext, app_of
from bot.callbacks import on
from bot.handlers import dues
from bot.handlers.common import (
    answer,
    close_keyboard,
    forbidden,
    local_today,
    reply_template,
)
from bot.member_counts import counted_total, member_counts
from bot.obligations import (
    DEFAULT_FREQUENCY,
    ROSTER_DUTIES,
    Obligation,
    election,
    held_by_kind,
    obligations,
    period_of,
    registered_on,
    roster_duties,
    state_in,
)
from bot.reminders import LOGGABLE, SNOOZE_DAYS, keys_prefix, next_workday
from bot.texts import labels, render
from db import checkins, members, outbox, recruitment, repo, settings, sweep_data
from db.models import Branch

_LOGGER = logging.getLogger(__name__)
MISSED_DAYS = 30
GRID_MARKS = {"done": "✅", "overdue": "❗", "due": "⏳", "not_applicable": "－"}


def year_grid(
    branch: Branch,
    frequencies: dict[str, str],
    records: list[tuple[str, date]],
    today: date,
    created_on: date,
    planned: dict[date, date],
) -> list[dict[str, Any]]:
    """The 12-month picture of the year, each period as state_in() decides it: ✅ done,
    ❗ overdue, ⏳ open, · not started, － not owed (before the branch registered)."""
    held = held_by_kind(records)
    rows = []
    for code, frequency in frequencies.items():
        if frequency in {"off"} or code not in DEFAULT_FREQUENCY:
            continue
        cells = []
        starts = {
            "monthly": [date(today.year, m, 1) for m in range(1, 13)],
            "quarterly": [date(today.year, m, 1) for m in (1, 4, 7, 10)],
            "yearly": [date(today.year, 1, 1)],
        }[frequency]
        for start in starts:
            period = period_of(frequency, start)
            state = state_in(
                code,
                period,
                branch.profile,
                held,
                today,
                frequencies=frequencies,
                created_on=created_on,
                planned_days=planned,
            ).state
            if state == "due" and period.start > today:
                cells.append("·")
            else:
                cells.append(GRID_MARKS[state])
        rows.append({"code": code, "frequency": frequency, "cells": cells})
    return rows


async def status_of(context: BotContext, branch: Branch) -> dict[str, Any]:
    """Everything the status card shows for a branch."""
    database = app_of(context).database
    today = local_today(context)
    since = datetime.now(app_of(context).config.bot.tzinfo) - timedelta(days=MISSED_DAYS)
    # Asked at once: the database's thread answers them back to back.
    facts, missed, makeups, steps = await asyncio.gather(
        sweep_data.load(database, today, branch_ids=[branch.id]),
        outbox.missed(database, branch.id, since),
        checkins.open_makeups(database, branch.id),
        recruitment.steps_of(database, branch.id),
    )
    branch_settings = facts.settings.get(branch.id) or settings.BranchSettings(branch.id)
    records = facts.records.get(branch.id, [])
    created_on = registered_on(branch.created_at, app_of(context).config.bot.tzinfo)
    owed = obligations(
        branch.profile,
        records,
        today,
        frequencies=branch_settings.frequencies,
        created_on=created_on,
        planned_days=facts.planned.get(branch.id),
    )
    off = [c for c, f in branch_settings.frequencies.items() if f == "off" and c in ROSTER_DUTIES]
    roster = facts.roster.get(branch.id, [])
    counts = member_counts(branch, roster)
    duties = roster_duties(
        roster,
        facts.talks.get(branch.id, []),
        today,
        off=off,
        party_total=counted_total(counts),
        steps=steps,
    )
    owed += [d for d in duties if d.code == "heart_to_heart_talk"]
    # 转正 within two months, 流动党员汇报 within two weeks, a 发展党员 step within a month, and
    # whatever is overdue.
    soon = {"probation": 60, "mobile_report": 14, "recruitment": 31}
    people = [
        d
        for d in duties
        if d.base in soon and (d.state == "overdue" or d.days_left(today) <= soon[d.base])
    ]
    term = election(branch_settings.elected_on, branch_settings.term_years, today)
    frequencies = {**DEFAULT_FREQUENCY, **branch_settings.frequencies}
    applicable = {
        code: freq
        for code, freq in frequencies.items()
        if any(o.code == code and o.state != "not_applicable" for o in owed)
    }
    month_start = today.replace(day=1)
    return {
        "today": today,
        "owed": [o for o in owed if o.state != "not_applicable"],
        "people": sorted(people, key=lambda d: d.deadline),
        "makeups": makeups,
        "show_names": True,
        "has_roster": bool(facts.roster.get(branch.id)),
        "untracked": [o.code for o in owed if o.state == "not_applicable"] + off,
        "term": term,
        "counts": counts,
        "term_month_only": branch_settings.elected_month_only,
        "grid": year_grid(
            branch, applicable, records, today, created_on, facts.planned.get(branch.id, {})
        ),
        "plan": facts.planned.get(branch.id, {}).get(month_start),
        "missed": len({(m.key.rsplit(":", 1)[0]) for m in missed}),
        "branch_name": branch.profile.name,
    }


def _buttons(
    branch: Branch, owed: list[Obligation], can_record: bool, people: list[Obligation] = ()
) -> list[list[tuple]]:
    lab = labels()
    rows: list[list[tuple[str, str]]] = []
    if can_record:
        kinds = []
        for ob in owed:
            if ob.state in {"due", "overdue"} and ob.code in LOGGABLE and ob.code not in kinds:
                kinds.append(ob.code)
        buttons = [(lab.LOG_KIND.format(kind=lab.KINDS[k]), bt.LOG_KIND(k)) for k in kinds]
        rows += [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        for ob in owed:
            if ob.code == "party_dues" and ob.state in {"due", "overdue"}:
                rows.append(
                    [(lab.DUES_COLLECTED, bt.DUES_DONE(branch.id, "party_dues", ob.period.start))]
                )
                break
        for duty in people:
            if duty.base == "mobile_report":
                member_id = int(duty.code.split(".", 1)[1])
                label = lab.REPORT_RECEIVED_FROM.format(name=duty.subject)
                rows.append([(label, bt.REPORT_RECEIVED(branch.id, member_id))])
    return rows


async def show(update: Update, context: BotContext) -> None:
    """/status (private: the current branch; a bound group: its branch)."""
    await answer(update)
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    database = app_of(context).database
    can_record = False
    if chat.type == ChatType.PRIVATE:
        current = await repo.current_membership(database, user.id)
        if current is None:
            await reply_template(update, "not_registered")
            return
        membership, branch = current
        can_record = membership.can_record
        await close_keyboard(update)
    else:
        branch_id = await settings.branch_of_group(database, chat.id)
        found = await repo.get_branch(database, branch_id) if branch_id else None
        if found is None:
            await reply_template(update, "group_not_bound")
            return
        branch = found
    data = await status_of(context, branch)
    # The 党费 ledger's month (its names only to recorders in private); it replaces the one-tap
    # 党费已收齐 mark for a branch that keeps the ledger.
    data["dues"], ledger = await dues.status_line(
        database, branch, data["today"], names=can_record and chat.type == ChatType.PRIVATE
    )
    owed = [o for o in data["owed"] if not (ledger and o.code == "party_dues")]
    rows = _buttons(branch, owed, can_record, data["people"])
    if ledger and chat.type == ChatType.PRIVATE:
        rows.append([(labels().DUES_LEDGER, bt.DU_CARD(branch.id, f"{data['today']:%Y-%m}", 0))])
    # In a group, people's names stay out of the card (转正, 汇报, 补学 are shown as counts).
    data["show_names"] = chat.type == ChatType.PRIVATE
    if chat.type == ChatType.PRIVATE:
        rows.append([(labels().MENU, bt.HOME())])
    await reply_template(update, "status", rows, **data)


async def mark(
    update: Update, context: BotContext, branch_id: int, code: str, start: date
) -> None:
    """本月党费已收齐."""
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    membership = await repo.get_membership(database, user.id, branch_id)
    if membership is None or not membership.can_record or code != "party_dues":
        await forbidden(update)
        return
    if (await dues.ledger_of(database, branch_id)).in_use:
        await dues.card(update, context, branch_id, f"{start:%Y-%m}", 0)
        return
    created = await settings.mark_done(
        database, user_id=user.id, branch_id=branch_id, code=code, period_start=start
    )
    await outbox.cancel(database, keys_prefix(branch_id, code, start))
    await answer(update, render("marked_done", created=created))
    await close_keyboard(update)


async def snooze(
    update: Update, context: BotContext, branch_id: int, code: str, start: date, days: int
) -> None:
    """明天再提醒 / 3天后再提醒."""
    base = code.split(".", 1)[0]
    if days not in SNOOZE_DAYS or (
        code not in DEFAULT_FREQUENCY and code != "election" and base not in ROSTER_DUTIES
    ):
        await answer(update, render("button_expired"), alert=True)
        return
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    membership = await repo.get_membership(database, user.id, branch_id)
    if membership is None or not membership.can_record:
        await forbidden(update)
        return
    until = next_workday(local_today(context) + timedelta(days=days))
    await settings.snooze(database, branch_id, code, start, until)
    await answer(update, render("snoozed", until=until))
    await close_keyboard(update)


async def report_received(
    update: Update, context: BotContext, branch_id: int, member_id: int
) -> None:
    """已收到汇报 (a 流动党员's report): the member's last report is today."""
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    membership = await repo.get_membership(database, user.id, branch_id)
    if membership is None or not membership.can_record:
        await forbidden(update)
        return
    member = await members.get(database, branch_id, member_id)
    if member is None or not member.info.mobile:
        await answer(update, render("button_expired"), alert=True)
        return
    today = local_today(context)
    if member.info.last_report_on != today:
        info = replace(member.info, last_report_on=today)
        await members.update(
            database, user_id=user.id, branch_id=branch_id, member_id=member_id, info=info
        )
    await outbox.cancel(database, f"ob:{branch_id}:mobile_report.{member_id}:")
    await answer(update, render("report_received", name=member.name, today=today))
    await close_keyboard(update)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/status and the reminder buttons."""
    return [
        CommandHandler("status", show),
        on(bt.MENU_STATUS, show),
        on(bt.DUES_DONE, mark),
        on(bt.SNOOZE, snooze),
        on(bt.REPORT_RECEIVED, report_received),
    ]
