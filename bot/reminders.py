"""The daily sweep: what each branch should be reminded of today, written to the outbox.

Deciding is pure (`notices_for`); the sweep loads every branch's facts in a few queries,
decides, renders and enqueues under unique keys, so running it twice the same day (at start-up
after a crash, after a settings change) never enqueues anything twice. Sending is the delivery's
job (bot/delivery.py); a row missed by more than its grace period is reported, not sent late.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import escape

from bot import buttons as bt
from bot import catalog
from bot.member_counts import counted_total, member_counts
from bot.obligations import (
    PROBATION_LEAD_MONTHS,
    Obligation,
    election,
    last_day,
    months_before,
    obligations,
    registered_on,
    roster_duties,
)
from bot.recurrence import Rule, occurrences
from bot.texts import labels, render
from bot.workdays import is_workday, previous_workday, reminder_moment
from db import outbox, sweep_data
from db.database import Database
from db.models import Branch, BranchProfile, CustomReminder, Member
from db.settings import BranchSettings

_LOGGER = logging.getLogger(__name__)
# The sweep pauses this often, this long (seconds): an update's steps (each database call, each
# send) run only in a pause, and a pause that just yields once would give each step 10 ms.
YIELD_EVERY = 0.01
PAUSE = 0.002
# Branches read and decided at a time: a batch's rows are turned into facts between two pauses.
BATCH = 50
GRACE = timedelta(hours=6)
# Obligations a reminder button can open the logging flow for.
LOGGABLE = frozenset(kind.code for kind in catalog.KINDS)
ELECTION_LEAD_MONTHS = (6, 1)
SNOOZE_DAYS = (1, 3)


@dataclass(frozen=True)
class Notice:
    """One reminder decided for a branch today."""

    branch_id: int
    code: str
    period_start: date
    deadline: date
    stage: str  # lead7 / lead2 / overdue / snooze2026-11-24 / term6 / term1 / month1
    days_left: int
    subject: str = ""  # the member a per-member duty is about
    progress: tuple[int, int] | None = None

    @property
    def base(self) -> str:
        """The kind of duty without the member id."""
        return self.code.split(".", 1)[0]


def next_workday(day: date) -> date:
    """The day itself if a workday, else the next workday."""
    while not is_workday(day):
        day += timedelta(days=1)
    return day


def _stages(ob: Obligation, lead_days: Iterable[int]) -> list[tuple[str, date]]:
    """(stage, the workday it is sent) for one obligation."""
    return _stage_days(ob.base, ob.deadline, tuple(lead_days))


@lru_cache(maxsize=4096)
def _stage_days(base: str, deadline: date, lead_days: tuple[int, ...]) -> list[tuple[str, date]]:
    # Thousands of branches share the same deadlines: the workday arithmetic is done once each.
    if base == "election":
        stages = [
            (f"term{m}", previous_workday(months_before(deadline, m)))
            for m in ELECTION_LEAD_MONTHS
        ]
    elif base == "probation":
        month = PROBATION_LEAD_MONTHS
        stages = [(f"month{month}", previous_workday(months_before(deadline, month)))]
    else:
        stages = [(f"lead{n}", previous_workday(deadline - timedelta(days=n))) for n in lead_days]
    stages.append(("overdue", next_workday(deadline + timedelta(days=1))))
    return stages


def pace_target(total: int, quarter: int) -> int:
    """How many of `total` people a yearly 谈心谈话 round should have reached by the end of the
    quarter, at an even pace (rounded up)."""
    return -(-total * quarter // 4)


def _pace(ob: Obligation, lead_days: Iterable[int], today: date) -> str | None:
    """The 谈心谈话 pace reminder due today, if any: a talk with every party member a year is too
    many for the last week of December, so before the end of each of the first three quarters,
    a branch behind an even pace is told how many talks it should have had by then
    ("pace3", "pace6", "pace9": the quarter's last month)."""
    if ob.base != "heart_to_heart_talk" or ob.progress is None:
        return None
    talked, total = ob.progress
    lead = max([*lead_days, 0])
    for quarter in (1, 2, 3):
        end = last_day(ob.period.start.year, quarter * 3)
        if previous_workday(end - timedelta(days=lead)) == today:
            return f"pace{quarter * 3}" if talked < pace_target(total, quarter) else None
    return None


def notices_for(
    branch_id: int,
    owed: Iterable[Obligation],
    settings: BranchSettings,
    today: date,
    snoozed: Mapping[tuple[str, date], date] | None = None,
) -> list[Notice]:
    """What to remind a branch of today: N days before each deadline (moved to the previous
    workday), the overdue notice on the first workday after it, a snoozed item on its day;
    nothing for what is done, not applicable or muted."""
    result: list[Notice] = []
    seen: set[tuple[str, date]] = set()
    for ob in owed:
        key = (ob.code, ob.period.start)
        if key in seen or ob.state in {"done", "not_applicable"} or ob.base in settings.muted:
            continue
        seen.add(key)
        days_left = (ob.deadline - today).days

        def notice(stage: str, ob: Obligation = ob, days_left: int = days_left) -> Notice:
            return Notice(
                branch_id,
                ob.code,
                ob.period.start,
                ob.deadline,
                stage,
                days_left,
                ob.subject,
                ob.progress,
            )

        until = (snoozed or {}).get(key)
        if until is not None and until >= today:
            if until == today:
                result.append(notice(f"snooze{until}"))
            continue
        pace = _pace(ob, settings.lead_days, today)
        if pace is not None:
            result.append(notice(pace))
        for stage, day in _stages(ob, settings.lead_days):
            # A lead notice is only useful before the deadline, an overdue one only after.
            if day == today and (stage == "overdue") == (today > ob.deadline):
                result.append(notice(stage))
    return result


def owed_for(
    profile: BranchProfile,
    settings: BranchSettings,
    records: Iterable[tuple[str, date]],
    today: date,
    *,
    created_on: date | None,
    planned_days: Mapping[date, date] | None = None,
    roster: Sequence[Member] = (),
    talks: Iterable[tuple[date, str]] = (),
    party_total: int | None = None,
    steps: Mapping[int, Sequence[Any]] | None = None,
) -> list[Obligation]:
    """The obligations a reminder may be about: this period's, and the next period's when its
    deadline is within the lead time (e.g. the 2nd's 主题党日 seen from the 26th); plus the
    roster's duties (谈心谈话, 转正, 流动党员汇报)."""
    records = list(records)
    horizon = max([*settings.lead_days, 0]) + 1
    ahead = today + timedelta(days=horizon)
    # Within the same month the future view adds nothing new: one pass is enough.
    days = (today,) if ahead.month == today.month else (today, ahead)
    result: list[Obligation] = []
    for day in days:
        result += obligations(
            profile,
            records,
            day,
            frequencies=settings.frequencies,
            created_on=created_on,
            planned_days=planned_days,
        )
    # Seen from the future, an obligation's state must still be judged today.
    result = [
        ob if ob.state == "done" or ob.state == "not_applicable" else _judge(ob, today)
        for ob in result
    ]
    term = election(settings.elected_on, settings.term_years, today)
    if term is not None:
        result.append(term)
    if roster:
        off = [code for code, freq in settings.frequencies.items() if freq == "off"]
        result += roster_duties(
            roster, talks, today, off=off, party_total=party_total, steps=steps
        )
    return result


def _judge(ob: Obligation, today: date) -> Obligation:
    state = "overdue" if today > ob.deadline else "due"
    return ob if ob.state == state else Obligation(ob.code, ob.period, ob.deadline, state)


def keys_prefix(branch_id: int, code: str, period_start: date) -> str:
    """The outbox key prefix of one obligation's period (cancelled when it is logged)."""
    return f"ob:{branch_id}:{code}:{period_start.isoformat()}:"


def _buttons(notice: Notice) -> tuple[tuple[tuple[str, str], ...], ...]:
    lab = labels()
    rows: list[tuple[tuple[str, str], ...]] = []
    start = notice.period_start
    if notice.code in LOGGABLE:
        rows.append(((lab.GO_LOG, bt.LOG_KIND(notice.code)),))
    snooze = tuple(
        (lab.SNOOZE[days], bt.SNOOZE(notice.branch_id, notice.code, start, days))
        for days in SNOOZE_DAYS
    )
    rows.append(snooze)
    if notice.code in LOGGABLE:
        rows.append(((lab.DONE_THIS_PERIOD, bt.LOG_KIND(notice.code)),))
    elif notice.code == "party_dues":
        rows.append(((lab.DUES_COLLECTED, bt.DUES_DONE(notice.branch_id, "party_dues", start)),))
    elif notice.base == "mobile_report":
        member_id = int(notice.code.split(".", 1)[1])
        rows.append(((lab.REPORT_RECEIVED, bt.REPORT_RECEIVED(notice.branch_id, member_id)),))
    return tuple(rows)


_NAME = "\x00branch\x00"


@lru_cache(maxsize=1024)
def _text(
    code: str,
    period_start: date,
    deadline: date,
    stage: str,
    days_left: int,
    subject: str = "",
    progress: tuple[int, int] | None = None,
) -> str:
    """A reminder's text with a marker for the branch name (rendered once per kind of notice:
    the sweep sends the same notice to thousands of branches)."""
    notice = Notice(0, code, period_start, deadline, stage, days_left, subject, progress)
    target = None
    if stage.startswith("pace") and progress is not None:
        target = pace_target(progress[1], int(stage[4:]) // 3)
    return render("reminder", n=notice, branch_name=_NAME, target=target)


def messages_for(
    branch: Branch,
    notices: Iterable[Notice],
    chats: Iterable[int],
    moment: datetime,
) -> list[outbox.OutboxMessage]:
    """The outbox rows for a branch's notices: one per notice and chat."""
    chats = list(chats)
    result = []
    for notice in notices:
        if notice.subject:  # per-member: not worth caching
            template = _text.__wrapped__(
                notice.code,
                notice.period_start,
                notice.deadline,
                notice.stage,
                notice.days_left,
                notice.subject,
            )
        else:
            template = _text(
                notice.code,
                notice.period_start,
                notice.deadline,
                notice.stage,
                notice.days_left,
                "",
                notice.progress,
            )
        text = template.replace(_NAME, str(escape(branch.profile.name)))
        buttons = _buttons(notice)
        prefix = keys_prefix(branch.id, notice.code, notice.period_start)
        for chat in chats:
            result.append(
                outbox.OutboxMessage(
                    key=f"{prefix}{notice.stage}:{chat}",
                    branch_id=branch.id,
                    chat_id=chat,
                    text=text,
                    buttons=buttons,
                    not_before=moment.astimezone(ZoneInfo("UTC")),
                    expires_at=(moment + GRACE).astimezone(ZoneInfo("UTC")),
                )
            )
    return result


def recipients(
    settings: BranchSettings, editors: Iterable[int], blocked: frozenset[int] = frozenset()
) -> list[int]:
    """The chats a branch's reminders go to: secretary and deputy in private, the bound group."""
    chats = list(dict.fromkeys(editors)) if settings.to_private else []
    if settings.to_group and settings.group_chat_id is not None:
        chats.append(settings.group_chat_id)
    return [c for c in chats if c not in blocked]


def moment_for(settings: BranchSettings, today: date, tz: ZoneInfo) -> datetime:
    """When today's reminders of a branch go out (its time of day, outside quiet hours)."""
    hour, minute = (int(x) for x in settings.reminder_time.split(":"))
    return (
        reminder_moment(today, time(hour, minute), tz)
        if is_workday(today)
        else (datetime.combine(today, time(hour, minute), tz))
    )


@dataclass(frozen=True)
class SweepStats:
    """What one sweep decided."""

    branches: int
    notices: int
    enqueued: int
    seconds: float
    decide_seconds: float = 0.0


async def sweep(
    db: Database,
    today: date,
    tz: ZoneInfo,
    *,
    branch_ids: Iterable[int] | None = None,
) -> SweepStats:
    """Decide today's reminders for every branch (or the given ones) and enqueue them.

    BATCH branches at a time are read (on a connection of the sweep's own), decided and
    enqueued, and the event loop is let go every few milliseconds throughout, so a city's sweep
    never holds up another chat's update. Each batch's rows are enqueued under their unique keys
    before the next batch is read: a sweep cut short is completed by the next run (the day is
    recorded only once every batch is in), and nothing is enqueued twice.
    """
    from bot import dues_sweep

    started = monotonic()
    decided = 0.0
    branches = notices_total = enqueued = 0
    pause = _Pause()
    async with db.scan() as view:
        ids = await sweep_data.branch_ids(view) if branch_ids is None else sorted(set(branch_ids))
        for first in range(0, len(ids), BATCH):
            batch_started = monotonic()
            facts = await sweep_data.load(view, today, branch_ids=ids[first : first + BATCH])
            rows, notices = await _decide(facts, today, tz, pause)
            rows += await dues_sweep.reminders(view, facts, today, tz)  # 党费: month end
            decided += monotonic() - batch_started
            branches += len(facts.branches)
            notices_total += notices
            enqueued += await outbox.enqueue(db, rows)
    from db.settings import record_sweep

    if branch_ids is None:
        await record_sweep(db, today)
    seconds = monotonic() - started
    _LOGGER.info(
        "Sweep for %s: %d branches, %d notices, %d new outbox rows in %.2f s",
        today,
        branches,
        notices_total,
        enqueued,
        seconds,
    )
    return SweepStats(branches, notices_total, enqueued, seconds, decided)


class _Pause:
    """Lets other updates run every YIELD_EVERY seconds of the sweep's own work."""

    def __init__(self) -> None:
        self.last = monotonic()

    async def now_and_then(self) -> None:
        """Pause for PAUSE if the sweep has worked YIELD_EVERY since the last pause."""
        if monotonic() - self.last > YIELD_EVERY:
            await asyncio.sleep(PAUSE)
            self.last = monotonic()


async def _decide(
    facts: sweep_data.SweepFacts, today: date, tz: ZoneInfo, pause: _Pause
) -> tuple[list[outbox.OutboxMessage], int]:
    """The outbox rows of the facts' branches, and how many notices they carry."""
    rows: list[outbox.OutboxMessage] = []
    notices_total = 0
    snoozed: dict[int, dict[tuple[str, date], date]] = defaultdict(dict)
    for (branch_id, code, start), until in facts.snoozes.items():
        snoozed[branch_id][(code, start)] = until
    for branch in facts.branches:
        await pause.now_and_then()
        settings = facts.settings.get(branch.id) or BranchSettings(branch.id)
        roster = facts.roster.get(branch.id, ())
        owed = owed_for(
            branch.profile,
            settings,
            facts.records.get(branch.id, []),
            today,
            created_on=registered_on(branch.created_at, tz),
            planned_days=facts.planned.get(branch.id),
            roster=roster,
            talks=facts.talks.get(branch.id, ()),
            party_total=counted_total(member_counts(branch, roster)),
            steps=facts.recruitment.get(branch.id),
        )
        notices = notices_for(branch.id, owed, settings, today, snoozed.get(branch.id))
        notices_total += len(notices)
        chats = recipients(settings, facts.editors.get(branch.id, []), facts.blocked)
        if notices and chats:
            rows += messages_for(branch, notices, chats, moment_for(settings, today, tz))
        for reminder in facts.custom.get(branch.id, []):
            rows += custom_messages(branch, reminder, chats, today, tz)
    return rows, notices_total


def custom_messages(
    branch: Branch, reminder: CustomReminder, chats: Iterable[int], today: date, tz: ZoneInfo
) -> list[outbox.OutboxMessage]:
    """Today's occurrence of a custom reminder, if it has one."""
    rule = rule_of(reminder)
    if reminder.paused or not occurrences(rule, today, today):
        return []
    moment = datetime.combine(today, rule.at, tz)
    if reminder.since is not None and moment <= reminder.since:
        return []  # set up after today's time had passed: the first one is the next
    text = render("custom_reminder", text=reminder.text, branch_name=branch.profile.name)
    lab = labels()
    buttons = ((((lab.MY_REMINDERS, bt.MENU_REMIND()),)),)
    return [
        outbox.OutboxMessage(
            key=f"cr:{reminder.id}:{today.isoformat()}:{chat}",
            branch_id=branch.id,
            chat_id=chat,
            text=text,
            buttons=buttons,
            not_before=moment.astimezone(ZoneInfo("UTC")),
            expires_at=(moment + GRACE).astimezone(ZoneInfo("UTC")),
        )
        for chat in chats
    ]


def rule_of(reminder: CustomReminder) -> Rule:
    """The recurrence rule of a stored custom reminder."""
    hour, minute = (int(x) for x in reminder.at_time.split(":"))
    return Rule(
        kind=reminder.rule,
        at=time(hour, minute),
        on_date=reminder.on_date,
        weekday=reminder.weekday,
        day_of_month=reminder.day_of_month,
        quarter_month=reminder.quarter_month,
    )
