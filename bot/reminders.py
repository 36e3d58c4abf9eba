"""The daily sweep: what each branch should be reminded of today, written to the outbox.

Deciding is pure (`notices_for`); the sweep loads every branch's facts in a few queries,
decides, renders and enqueues under unique keys, so running it twice the same day (at start-up
after a crash, after a settings change) never enqueues anything twice. Sending is the delivery's
job (bot/delivery.py); a row missed by more than its grace period is reported, not sent late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from markupsafe import escape

from bot import buttons as bt
from bot import catalog, recruitment
from bot.member_counts import counted_total, member_counts
from bot.obligations import (
    DEFAULT_FREQUENCY,
    PROBATION_LEAD_MONTHS,
    REPORT_MONTHS,
    Obligation,
    Period,
    add_months,
    applies,
    election,
    frequency_of,
    held_by_kind,
    last_day,
    months_before,
    obligations,
    party_duties,
    period_of,
    previous_period,
    probation_due,
    registered_on,
    roll_of,
    state_in,
)
from bot.recruitment import Person
from bot.recurrence import Rule, next_occurrence, occurrences
from bot.texts import labels, render
from bot.workdays import is_workday, previous_workday, reminder_moment
from db import outbox, sweep_data
from db.database import Database
from db.models import Branch, BranchProfile, CustomReminder, Member, PartyRoll
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


class Notice(msgspec.Struct, frozen=True):
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
    if base == "heart_to_heart_talk":
        # A talk with every party member a year is too many for the last week of December:
        # before the end of each of the first three quarters a branch behind an even pace is
        # told how many talks it should have had by then (notices_for checks the progress).
        lead = max([*lead_days, 0])
        stages += [
            (f"pace{m}", previous_workday(last_day(deadline.year, m) - timedelta(days=lead)))
            for m in (3, 6, 9)
        ]
    stages.append(("overdue", next_workday(deadline + timedelta(days=1))))
    return stages


def pace_target(total: int, quarter: int) -> int:
    """How many of `total` people a yearly 谈心谈话 round should have reached by the end of the
    quarter, at an even pace (rounded up)."""
    return -(-total * quarter // 4)


def _behind(ob: Obligation, stage: str) -> bool:
    """Whether a 谈心谈话 round is behind the even pace a "pace<month>" stage checks."""
    if ob.progress is None:
        return False
    talked, total = ob.progress
    return talked < pace_target(total, int(stage[4:]) // 3)


def notices_for(
    branch_id: int,
    owed: Iterable[Obligation],
    settings: BranchSettings,
    today: date,
    snoozed: Mapping[tuple[str, date], date] | None = None,
    *,
    ledger: bool = False,
) -> list[Notice]:
    """What to remind a branch of today: N days before each deadline (moved to the previous
    workday), the overdue notice on the first workday after it, a snoozed item on its day;
    nothing for what is done, not applicable or muted. A branch keeping a 党费 ledger gets no
    党费 lead notices: the ledger's month-end reminder (bot.dues_sweep) names who has not paid."""
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
        for stage, day in _stages(ob, settings.lead_days):
            # A lead notice is only useful before the deadline, an overdue one only after; a
            # pace notice only when the round is behind.
            if day != today or (stage == "overdue") != (today > ob.deadline):
                continue
            if ledger and ob.base == "party_dues" and stage.startswith("lead"):
                continue
            if not stage.startswith("pace") or _behind(ob, stage):
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
    party: PartyRoll | None = None,
    wanted: Callable[[str, Period, date], bool] | None = None,
    people: Sequence[Person] | None = None,
    held: Mapping[str, Sequence[date]] | None = None,
) -> list[Obligation]:
    """The obligations a reminder may be about: this period's, and the next period's when its
    deadline is within the lead time (e.g. the 2nd's 主题党日 seen from the 26th); plus the
    roster's duties (谈心谈话, 转正, 流动党员汇报, 发展党员), from the `roster` and its 发展党员
    `steps` or, as the sweep reads it, the `party` roll and the `people` in progress
    (bot.recruitment.people_in_progress); `wanted` as in obligations.party_duties: the sweep
    leaves out what cannot be reminded of today (it would be dropped by notices_for anyway);
    `held`: the records by held_by_kind(), when the caller has them."""
    records = list(records)
    if held is None:
        held = held_by_kind(records)
    horizon = max([*settings.lead_days, 0]) + 1
    ahead = today + timedelta(days=horizon)
    # Within the same month the future view adds nothing new: one pass is enough.
    days = (today,) if ahead.month == today.month else (today, ahead)
    codes = tuple(DEFAULT_FREQUENCY)
    if wanted is not None:
        codes = tuple(code for code in codes if _can_remind(code, profile, settings, days, wanted))
    result: list[Obligation] = []
    for day in days if codes else ():
        result += obligations(
            profile,
            records,
            day,
            frequencies=settings.frequencies,
            created_on=created_on,
            planned_days=planned_days,
            codes=codes,
            held=held,
        )
    # Seen from the future, an obligation's state must still be judged today.
    result = [
        ob if ob.state == "done" or ob.state == "not_applicable" else _judge(ob, today)
        for ob in result
    ]
    term = election(settings.elected_on, settings.term_years, today)
    if term is not None:
        result.append(term)
    if party is None:
        party = roll_of(roster)
    if people is None:
        people = recruitment.people_in_progress(roster, steps or {})
    if party.size or people:
        off = [code for code, freq in settings.frequencies.items() if freq == "off"]
        result += party_duties(
            party,
            talks,
            today,
            off=off,
            party_total=party_total,
            wanted=wanted,
            people=people,
        )
    return result


def _can_remind(
    code: str,
    profile: BranchProfile,
    settings: BranchSettings,
    days: tuple[date, ...],
    wanted: Callable[[str, Period, date], bool],
) -> bool:
    """Whether obligations() seen from these days can give a reminder today: a period of it
    there (the previous or the current one) has a stage or a snooze today. The 主题党日's
    deadline depends on the branch's plans: it is always worked out."""
    frequency = frequency_of(code, settings.frequencies)
    if frequency == "off" or not applies(code, profile) or code in settings.muted:
        return False
    if code == "theme_party_day":
        return True
    return any(wanted(code, period, period.end) for period in _seen_periods(frequency, days))


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


# The decision rules' version: bump it with any change to what a branch is reminded of, so a
# branch decided by older rules is decided again.
RULES = "3"


class SweepStats(msgspec.Struct, frozen=True):
    """What one sweep decided."""

    branches: int
    notices: int
    enqueued: int
    seconds: float
    decide_seconds: float = 0.0
    skipped: int = 0  # branches with nothing possibly due today, not read


async def sweep(
    db: Database,
    today: date,
    tz: ZoneInfo,
    *,
    branch_ids: Iterable[int] | None = None,
) -> SweepStats:
    """Decide today's reminders for every branch that can have one (or the given ones) and
    enqueue them.

    A branch decided on an earlier day is skipped until the first day a reminder could fall on
    (sweep_state.next_on), unless its facts changed since (counted by triggers in the same
    transaction as the change) or the rules did. BATCH branches at a time are read (on a
    connection of the sweep's own), decided and enqueued, and the event loop is let go every
    few milliseconds throughout, so a city's sweep never holds up another chat's update. Each
    batch's rows are enqueued under their unique keys before its branches are noted decided:
    a sweep cut short is completed by the next run (the day is recorded only once every batch
    is in), and nothing is enqueued twice.
    """
    from bot import dues_sweep

    started = monotonic()
    decided = 0.0
    branches = notices_total = enqueued = skipped = 0
    pause = _Pause()
    async with db.scan() as view:
        if branch_ids is None:
            ids = await sweep_data.undecided(view, today, RULES)
            skipped = (await sweep_data.branch_count(view)) - len(ids)
        else:
            ids = sorted(set(branch_ids))
        batches = [ids[first : first + BATCH] for first in range(0, len(ids), BATCH)]
        # The next batch is read (on the scan's own connection, in its thread) while this one
        # is decided: the two cores share the work, and neither waits for the other.
        ahead = asyncio.ensure_future(_read(view, batches[0], today)) if batches else None
        try:
            for number in range(len(batches)):
                batch_started = monotonic()
                assert ahead is not None
                counts, facts = await ahead
                if number + 1 < len(batches):
                    ahead = asyncio.ensure_future(_read(view, batches[number + 1], today))
                rows, notices, after = await _decide(facts, today, tz, pause)
                decided += monotonic() - batch_started
                branches += len(facts.branches)
                notices_total += notices
                enqueued += await outbox.enqueue(db, rows)
                await sweep_data.record_decided(
                    db, today, RULES, [(b, counts.get(b, 0), after[b]) for b in after]
                )
        finally:
            # Cut short (a failed write, a shutdown): the read ahead ends before its connection.
            if ahead is not None and not ahead.done():
                ahead.cancel()
                with contextlib.suppress(BaseException):
                    await ahead
        # 党费: the month-end reminder of the branches that keep a ledger, decided on its day
        # alone and for every such branch (it is not among the days next_possible counts).
        enqueued += await outbox.enqueue(
            db, await dues_sweep.reminders(view, today, tz, branch_ids)
        )
    from db.settings import record_sweep

    if branch_ids is None:
        await record_sweep(db, today)
    seconds = monotonic() - started
    _LOGGER.info(
        "Sweep for %s: %d branches (%d skipped), %d notices, %d new outbox rows in %.2f s",
        today,
        branches,
        skipped,
        notices_total,
        enqueued,
        seconds,
    )
    return SweepStats(branches, notices_total, enqueued, seconds, decided, skipped)


async def _read(
    view: Database, batch: list[int], today: date
) -> tuple[dict[int, int], sweep_data.SweepFacts]:
    """A batch's change counts, then its facts."""
    # Read before the facts: a change committed after this read is decided again.
    counts = await sweep_data.changes(view, batch)
    facts = await sweep_data.load(view, today, branch_ids=batch, entries=True)
    await _read_talks(view, facts, today)
    return counts, facts


class _Pause:
    """Lets other updates run every YIELD_EVERY seconds of the sweep's own work."""

    def __init__(self) -> None:
        self.last = monotonic()

    async def now_and_then(self) -> None:
        """Pause for PAUSE if the sweep has worked YIELD_EVERY since the last pause."""
        if monotonic() - self.last > YIELD_EVERY:
            await asyncio.sleep(PAUSE)
            self.last = monotonic()


async def _read_talks(db: Database, facts: sweep_data.SweepFacts, today: date) -> None:
    """Read the names and this year's talks of the branches whose 谈心谈话 can be reminded of
    today (a few days a year), into the facts."""
    year = period_of("yearly", today)
    need = []
    for branch_id, roll in facts.party.items():
        settings = facts.settings.get(branch_id) or BranchSettings(branch_id)
        until = {
            (code, start): day
            for (found, code, start), day in facts.snoozes.items()
            if found == branch_id
        }
        wanted = _Wanted(today, settings.lead_days, until)
        if roll.size and wanted("heart_to_heart_talk", year, year.end):
            need.append(branch_id)
    if not need:
        return
    names, talks = await sweep_data.read_talks(db, need, today)
    for branch_id in need:
        facts.party[branch_id] = facts.party[branch_id]._replace(names=names.get(branch_id, ()))
        facts.talks[branch_id] = talks.get(branch_id, [])


class _Wanted(msgspec.Struct, frozen=True):
    """Whether an obligation can be reminded of today at all (notices_for's days: one of its
    stages, or its snooze), so the sweep need not work out the rest of it."""

    today: date
    lead_days: tuple[int, ...]
    snoozed: Mapping[tuple[str, date], date]

    def __call__(self, code: str, period: Period, deadline: date) -> bool:
        if self.snoozed and self.snoozed.get((code, period.start)) == self.today:
            return True
        return _falls_on(code.split(".", 1)[0], deadline, self.lead_days, self.today)


@lru_cache(maxsize=8192)
def _falls_on(base: str, deadline: date, lead_days: tuple[int, ...], today: date) -> bool:
    return any(day == today for _, day in _stage_days(base, deadline, lead_days))


@lru_cache(maxsize=256)
def _seen_periods(frequency: str, days: tuple[date, ...]) -> tuple[Period, ...]:
    # The periods obligations() looks at from these days: the previous and the current one.
    found: list[Period] = []
    for day in days:
        current = period_of(frequency, day)
        found += [previous_period(current), current]
    return tuple(found)


async def _decide(
    facts: sweep_data.SweepFacts,
    today: date,
    tz: ZoneInfo,
    pause: _Pause,
) -> tuple[list[outbox.OutboxMessage], int, dict[int, date | None]]:
    """The outbox rows of the facts' branches, how many notices they carry, and each branch's
    next day a reminder could fall on."""
    rows: list[outbox.OutboxMessage] = []
    notices_total = 0
    after: dict[int, date | None] = {}
    snoozed: dict[int, dict[tuple[str, date], date]] = defaultdict(dict)
    for (branch_id, code, start), until in facts.snoozes.items():
        snoozed[branch_id][(code, start)] = until
    for branch in facts.branches:
        await pause.now_and_then()
        try:
            found, count, after[branch.id] = _decide_one(
                branch, facts, snoozed.get(branch.id, {}), today, tz
            )
        except Exception:
            # Left out of `after`: the branch stays undecided and is decided at the next sweep.
            _LOGGER.exception("Sweep: branch %d could not be decided", branch.id)
            continue
        rows += found
        notices_total += count
    return rows, notices_total, after


def _decide_one(
    branch: Branch,
    facts: sweep_data.SweepFacts,
    until: Mapping[tuple[str, date], date],
    today: date,
    tz: ZoneInfo,
) -> tuple[list[outbox.OutboxMessage], int, date | None]:
    """One branch's outbox rows, how many notices they carry, and its next possible day."""
    settings = facts.settings.get(branch.id) or BranchSettings(branch.id)
    party = facts.party.get(branch.id, _NOBODY)
    records = facts.records.get(branch.id, [])
    held = held_by_kind(records)
    created_on = registered_on(branch.created_at, tz)
    planned = facts.planned.get(branch.id)
    people = recruitment.people(
        facts.progress.get(branch.id, ()), facts.recruitment.get(branch.id, {})
    )
    owed = owed_for(
        branch.profile,
        settings,
        records,
        today,
        created_on=created_on,
        planned_days=planned,
        talks=facts.talks.get(branch.id, ()),
        # The total a roster duty counts against depends on the profile alone (the roster
        # is the source only once confirmed, and then none is passed).
        party_total=counted_total(member_counts(branch, ())),
        party=party,
        wanted=_Wanted(today, settings.lead_days, until),
        people=people,
        held=held,
    )
    custom = facts.custom.get(branch.id, [])
    days = [
        next_possible(
            branch.profile,
            settings,
            held,
            today,
            created_on=created_on,
            planned_days=planned,
            party=party,
            snoozed=until,
            custom=custom,
            people=people,
        )
    ]
    next_on = min((day for day in days if day is not None), default=None)
    notices = notices_for(
        branch.id, owed, settings, today, until, ledger=branch.id in facts.ledgers
    )
    chats = recipients(settings, facts.editors.get(branch.id, []), facts.blocked)
    rows: list[outbox.OutboxMessage] = []
    if notices and chats:
        rows += messages_for(branch, notices, chats, moment_for(settings, today, tz))
    for reminder in custom:
        rows += custom_messages(branch, reminder, chats, today, tz)
    return rows, len(notices), next_on


_NOBODY = PartyRoll(0, (), ())
# Far enough past a candidate day that no later period's stage can come before it: the longest
# run of days off (Spring Festival, National Day) a previous_workday() may step back over.
_SLACK = timedelta(days=15)


@lru_cache(maxsize=256)
def _firsts_ahead(
    code: str, frequency: str, today: date, lead: tuple[int, ...]
) -> tuple[tuple[Period, date | None], ...]:
    # Every branch walks the same periods from the same day: each period with its first stage
    # after today (for a deadline at the period's end) is worked out once.
    period = period_of(frequency, period_of(frequency, today).start - timedelta(days=1))
    found = []
    while period.start <= today + timedelta(days=400):
        later = [day for _, day in _stage_days(code, period.end, lead) if day > today]
        found.append((period, min(later, default=None)))
        period = period_of(frequency, period.end + timedelta(days=1))
    return tuple(found)


def _firsts_from(
    code: str, frequency: str, today: date, lead: tuple[int, ...]
) -> Iterator[tuple[Period, date | None]]:
    """The periods from the one before today's on, for ever, with their first stage after
    today for a deadline at the period's end."""
    found = _firsts_ahead(code, frequency, today, lead)
    yield from found
    period = found[-1][0]
    while True:
        period = period_of(frequency, period.end + timedelta(days=1))
        later = [day for _, day in _stage_days(code, period.end, lead) if day > today]
        yield period, min(later, default=None)


def _any_within(days: Sequence[date], period: Period) -> bool:
    """Whether any of the sorted days falls in the period."""
    index = bisect_left(days, period.start)
    return index < len(days) and days[index] <= period.end


def next_possible(
    profile: BranchProfile,
    settings: BranchSettings,
    held: Mapping[str, Sequence[date]],
    today: date,
    *,
    created_on: date | None,
    planned_days: Mapping[date, date] | None,
    party: PartyRoll,
    snoozed: Mapping[tuple[str, date], date],
    custom: Sequence[CustomReminder],
    people: Sequence[Person] = (),
) -> date | None:
    """The first day after today that a reminder of the branch could fall on, while its facts
    stay as they are (None: none ever): never later than the real one, so the sweep may skip
    the branch until then. Counted as notices_for() counts, from the same stages: each period's
    stage days (from the previous period on, only periods not done and not exempt), the term's,
    the roster duties', the snoozes' days, the custom reminders' next occurrence."""
    best: date | None = None
    lead = settings.lead_days
    latest_lead = timedelta(days=max([*lead, 0])) + _SLACK

    def consider(base: str, deadline: date) -> None:
        nonlocal best
        for _, day in _stage_days(base, deadline, lead):
            if day > today and (best is None or day < best):
                best = day

    for code in DEFAULT_FREQUENCY:
        frequency = frequency_of(code, settings.frequencies)
        if code in settings.muted or frequency == "off" or not applies(code, profile):
            continue
        days = sorted(held.get(code, ()))
        for period, first in _firsts_from(code, frequency, today, lead):
            if best is not None and period.start - latest_lead > best:
                break
            if first is None:
                continue  # every stage of it is past
            if code == "theme_party_day" and frequency == "monthly":
                deadline = state_in(
                    code,
                    period,
                    profile,
                    held,
                    today,
                    frequencies=settings.frequencies,
                    created_on=created_on,
                    planned_days=planned_days,
                ).deadline
            else:
                deadline = period.end  # state_in's for every other obligation
            # Done or before the branch registered (state_in's rule): nothing to remind of.
            if (created_on is not None and period.end < created_on) or _any_within(days, period):
                continue
            if deadline == period.end:
                best = first if best is None or first < best else best
            else:
                consider(code, deadline)
    term = election(settings.elected_on, settings.term_years, today)
    if term is not None and "election" not in settings.muted:
        consider("election", term.deadline)
    off = {code for code, freq in settings.frequencies.items() if freq == "off"} | set(
        settings.muted
    )
    if party.size and "heart_to_heart_talk" not in off:
        year = today.year
        while best is None or date(year, 1, 1) - latest_lead <= best:
            consider("heart_to_heart_talk", date(year, 12, 31))
            year += 1
    extensions = recruitment.extensions(people)
    for member in party.watched:
        if "probation" not in off and member.status == "probationary" and member.joined_on:
            consider("probation", probation_due(member.joined_on, extensions.get(member.id, 0)))
        since = member.last_report_on or member.left_on
        if "mobile_report" not in off and member.mobile and since is not None:
            consider("mobile_report", add_months(since, REPORT_MONTHS))
    if "recruitment" not in off:
        for duty in recruitment.duties(people, today):
            consider("recruitment", duty.deadline)
    for day in snoozed.values():
        if day > today and (best is None or day < best):
            best = day
    for reminder in custom:
        if not reminder.paused:
            day = next_occurrence(rule_of(reminder), today + timedelta(days=1))
            if day is not None and (best is None or day < best):
                best = day
    return best


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
        week=reminder.week_of_month,
    )
