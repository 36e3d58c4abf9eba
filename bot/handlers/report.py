"""/report [年份]: the year's 党建工作总结 as a Word draft, from the branch's own books."""

from __future__ import annotations

import asyncio
import io
import logging
from collections import Counter
from datetime import date
from typing import Any

from telegram import InputFile, Update
from telegram.ext import BaseHandler, CommandHandler

from bot import dues as dues_rules
from bot.application import BotContext, app_of
from bot.handlers import dues
from bot.handlers.common import answer, current_branch, local_today, reply_template
from bot.member_counts import roster_missing
from bot.obligations import registered_on
from bot.texts import environment, render
from db import appraisals, checkins, meetings, members, selfchecks, settings, sweep_data

_LOGGER = logging.getLogger(__name__)


def _year(text: str, this_year: int) -> int | str:
    """The year asked for (this year without one), or why it cannot be."""
    words = text.split()
    if not words:
        return this_year
    digits = words[0].removesuffix("年")
    if len(words) > 1 or not digits.isascii() or not digits.isdigit() or len(digits) != 4:
        return "usage"
    year = int(digits)
    if year > this_year:
        return "future"
    if year < 2000:
        return "too_early"
    return year


async def report(update: Update, context: BotContext) -> None:
    """/report or /report 2025."""
    from bot import exports
    from bot import report as annual

    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    current = await current_branch(update, context)
    if current is None:
        return
    application = app_of(context)
    database = application.database
    branch = current[1]
    today = local_today(context)
    year = _year((message.text or "").partition(" ")[2], today.year)
    if isinstance(year, str):
        await reply_template(update, "report", view=year, this_year=today.year)
        return
    created_on = registered_on(branch.created_at, application.config.bot.tzinfo)
    if year < created_on.year:
        await reply_template(update, "report", view="before", created_on=created_on)
        return
    await answer(update)
    await reply_template(update, "preparing_file")
    facts = await sweep_data.load(database, today, branch_ids=[branch.id])
    branch_settings = facts.settings.get(branch.id)
    checks = environment().get_template("selfcheck_items.j2").module.CHECKS
    changes = []
    for kind in checks:
        done = await selfchecks.history(database, branch.id, kind, 50)
        in_year = [c for c in done if c.checked_on.year == year]
        if in_year:
            before = next((c for c in done if c.id < in_year[0].id), None)
            changes.append(annual.CheckChange(kind, in_year[0], before))
    marks = await settings.marks(database, [branch.id], since=f"{year:04d}-01-01")
    records = await meetings.meetings_of_year(database, branch.id, year)
    appraised = [m for m in records if "member_appraisal" in m.counts_as and m.id is not None]
    appraisal = None
    if appraised:
        last = max(appraised, key=lambda m: (m.held_on, m.id or 0))
        assert last.id is not None
        counts = Counter(g.grade for g in (await appraisals.grades(database, last.id)).values())
        appraisal = (last.held_on, dict(counts)) if counts else None
    roster = await members.list_for(database, branch.id)
    dues_marked = [d for _, code, d in marks if code == "party_dues"]
    # A branch keeping the 党费 ledger: its months paid in full and the amount collected.
    ledger = await dues.ledger_of(database, branch.id)
    collected = None
    if any(p.month.year == year for p in ledger.payments):
        full = dues_rules.complete_months(
            roster, ledger, year, today, missing=roster_missing(branch, roster)
        )
        dues_marked = [date(year, month, 1) for month in full]
        collected = dues_rules.collected_in(ledger, year)
    data = annual.build(
        branch,
        year,
        today,
        records,
        roster,
        dues_marked=dues_marked,
        dues_collected_fen=collected,
        checks=changes,
        open_makeups=len(await checkins.open_makeups(database, branch.id)),
        appraisal=appraisal,
        frequencies=branch_settings.frequencies if branch_settings else None,
        planned_days=facts.planned.get(branch.id),
        created_on=created_on,
        steps=facts.recruitment.get(branch.id),
    )
    text = render(
        "annual_report",
        r=data,
        checks={kind: check["title"] for kind, check in checks.items()},
        status={s.code: exports.status_text(s) for s in data.summaries},
    )
    title = render("report", view="title", branch_name=branch.profile.name, year=year)
    document = await asyncio.to_thread(exports.report_document, text, title)
    _LOGGER.info("Annual report of branch %d for %d", branch.id, year)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(
        InputFile(io.BytesIO(document), filename=render("report", view="file", title=title)),
        caption=render("report", view="caption", year=year, r=data),
    )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/report."""
    return [CommandHandler("report", report)]
