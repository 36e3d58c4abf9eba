"""What a branch owes in each period, and whether it is done (pure functions).

Defaults follow FACTS.md: 支委会 monthly (A6, only with a committee), 党小组会 monthly (A7, only
with party groups), 党员大会 quarterly (A5), 党课 quarterly (A10, common practice), 主题党日
monthly on the fixed day (A11), 组织生活会 yearly (A12), 民主评议党员 yearly (A13), 党费 monthly
(D33). A branch may change a frequency or turn an obligation off: local rules differ.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import msgspec

from bot import catalog
from bot.textnorm import match_key
from db.models import BranchProfile, Member, PartyRoll, RosterEntry

if TYPE_CHECKING:
    from bot.recruitment import Person

FREQUENCIES = ("monthly", "quarterly", "yearly", "off")
DEFAULT_FREQUENCY = catalog.default_frequencies()
STATES = ("done", "due", "overdue", "not_applicable")
# Duties that come from the roster (FACTS.md A14, B22, H/003); "roster" or "off" per branch.
ROSTER_DUTIES = ("heart_to_heart_talk", "probation", "mobile_report", "recruitment")
ROSTER_FREQUENCIES = ("roster", "off")
# Everything /reminders lets a branch change, with its default.
TRACKABLE = {**DEFAULT_FREQUENCY, **dict.fromkeys(ROSTER_DUTIES, "roster")}


class Period(msgspec.Struct, frozen=True):
    """A calendar month, quarter or year (both ends included)."""

    frequency: str
    start: date
    end: date


class Obligation(msgspec.Struct, frozen=True):
    """One thing owed in one period, and where it stands."""

    code: str
    period: Period
    deadline: date
    state: str
    done_on: date | None = None
    subject: str = ""  # the member a per-member duty is about (转正, 流动党员汇报)
    progress: tuple[int, int] | None = None  # (done, total) for 谈心谈话

    @property
    def base(self) -> str:
        """The obligation's kind without the member id ("probation.12" → "probation")."""
        return self.code.split(".", 1)[0]

    def days_left(self, today: date) -> int:
        """Days until the deadline (negative once it has passed)."""
        return (self.deadline - today).days


def last_day(year: int, month: int) -> date:
    """The last day of a month."""
    return date(year, month, calendar.monthrange(year, month)[1])


@lru_cache(maxsize=4096)
def period_of(frequency: str, day: date) -> Period:
    """The month, quarter or year that contains the day."""
    if frequency == "monthly":
        return Period(frequency, day.replace(day=1), last_day(day.year, day.month))
    if frequency == "quarterly":
        first = (day.month - 1) // 3 * 3 + 1
        return Period(frequency, date(day.year, first, 1), last_day(day.year, first + 2))
    if frequency == "yearly":
        return Period(frequency, date(day.year, 1, 1), date(day.year, 12, 31))
    raise ValueError(f"no period for {frequency!r}")


def previous_period(period: Period) -> Period:
    """The period just before."""
    return period_of(period.frequency, period.start - timedelta(days=1))


LAST_WEEK = -1  # party_week for "每月最后一个星期X"


@lru_cache(maxsize=8192)  # asked for every branch's month by the sweep and /overview
def party_day_in(year: int, month: int, fixed_day: int, week: int = 0, weekday: int = 0) -> date:
    """The month's 主题党日, the one rule every screen uses.

    week 0: the fixed day of the month, or the month's last day in shorter months (29–31).
    week 1–4: the month's first to fourth `weekday` (Monday 0 … Sunday 6), e.g. 第二个星期五;
    week -1 (LAST_WEEK): the month's last `weekday`, e.g. 最后一个周五.
    """
    days = calendar.monthrange(year, month)[1]
    if week == 0:
        return date(year, month, min(fixed_day, days))
    if week == LAST_WEEK:
        last = date(year, month, days)
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (week - 1))


def branch_party_day(profile: BranchProfile, year: int, month: int) -> date:
    """The branch's 主题党日 in that month, by its rule (fixed day or nth weekday)."""
    return party_day_in(year, month, profile.party_day, profile.party_week, profile.party_weekday)


def registered_on(created_at: str, zone: tzinfo) -> date:
    """The local day a branch registered: stored in UTC, so a branch registered at 00:14 Beijing
    time on 1 December is 30 November in UTC and would owe November's meetings."""
    moment = datetime.fromisoformat(created_at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()


def applies(code: str, profile: BranchProfile) -> bool:
    """Whether the branch has to do this at all."""
    kind = catalog.BY_CODE.get(code)
    return kind is None or kind.needs is None or bool(getattr(profile, kind.needs))


def held_by_kind(records: Iterable[tuple[str, date]]) -> dict[str, list[date]]:
    """(kind, date) pairs grouped by kind, the form state_in() reads."""
    held: dict[str, list[date]] = {}
    for kind, day in records:
        held.setdefault(kind, []).append(day)
    return held


def frequency_of(code: str, frequencies: Mapping[str, str] | None = None) -> str:
    """How often the branch owes `code` (its own choice, else the default)."""
    # Asked for every obligation of every branch by the sweep and /overview: no merged copy.
    frequency = (frequencies or {}).get(code, DEFAULT_FREQUENCY.get(code))
    if code not in DEFAULT_FREQUENCY or frequency not in FREQUENCIES:
        raise ValueError(f"unknown obligation or frequency: {code}={frequency}")
    return frequency


def state_in(
    code: str,
    period: Period,
    profile: BranchProfile,
    held: Mapping[str, Sequence[date]],
    today: date,
    *,
    frequencies: Mapping[str, str] | None = None,
    created_on: date | None = None,
    planned_days: Mapping[date, date] | None = None,
) -> Obligation:
    """What the branch owes for `code` in `period` and where it stands: the one rule that
    /status, /partyday, the reminders, the Excel summary and /overview all use.

    not_applicable: turned off, or not for this branch (no committee or party groups); done: a
    record in the period (`held`, from held_by_kind), even one logged for a period that ended
    before the branch registered; not_applicable for such a period without a record (nothing
    was owed to the bot then, `created_on`); else due until the deadline (the month's 主题党日
    day, as planned in `planned_days` or the fixed day, otherwise the period's end), overdue
    after it. A period not started yet is "due".
    """
    frequency = frequency_of(code, frequencies)
    deadline = period.end
    if code == "theme_party_day" and period.frequency == "monthly":
        deadline = branch_party_day(profile, period.start.year, period.start.month)
        planned = (planned_days or {}).get(period.start)
        if planned is not None and period.start <= planned <= period.end:
            deadline = planned
    if frequency == "off" or not applies(code, profile):
        return Obligation(code, period, deadline, "not_applicable")
    days = [d for d in held.get(code, ()) if period.start <= d <= period.end]
    if days:
        return Obligation(code, period, deadline, "done", max(days))
    if created_on is not None and period.end < created_on:
        return Obligation(code, period, deadline, "not_applicable")
    return Obligation(code, period, deadline, "overdue" if today > deadline else "due")


def obligations(
    profile: BranchProfile,
    records: Iterable[tuple[str, date]],
    today: date,
    *,
    frequencies: Mapping[str, str] | None = None,
    created_on: date | None = None,
    planned_days: Mapping[date, date] | None = None,
    codes: Iterable[str] = DEFAULT_FREQUENCY,
    held: Mapping[str, Sequence[date]] | None = None,
) -> list[Obligation]:
    """Every obligation of the current periods, plus the previous period's if it was missed
    (each decided by state_in); only those of `codes` (in catalog order) when given.

    `records` are (kind, date) pairs; a combined sitting contributes one pair per obligation it
    counts for. `planned_days` maps a month's first day to the day its 主题党日 is planned for.
    `held` is the records as held_by_kind() gives them, when the caller has them already.
    """
    if held is None:
        held = held_by_kind(records)
    result: list[Obligation] = []
    for code in codes:
        frequency = frequency_of(code, frequencies)
        current = period_of(frequency if frequency != "off" else "monthly", today)
        if frequency != "off":
            missed = state_in(
                code,
                previous_period(current),
                profile,
                held,
                today,
                frequencies=frequencies,
                created_on=created_on,
                planned_days=planned_days,
            )
            if missed.state == "overdue":
                result.append(missed)
        result.append(
            state_in(
                code,
                current,
                profile,
                held,
                today,
                frequencies=frequencies,
                created_on=created_on,
                planned_days=planned_days,
            )
        )
    return result


def term_end(elected_on: date, term_years: int) -> date:
    """When a committee elected on `elected_on` is due for 换届 (29 Feb falls on 28 Feb)."""
    year = elected_on.year + term_years
    return date(
        year, elected_on.month, min(elected_on.day, calendar.monthrange(year, elected_on.month)[1])
    )


def election(elected_on: date | None, term_years: int, today: date) -> Obligation | None:
    """The next 换届 as a dated obligation (FACTS.md A16, A17, G46), if the last one is known."""
    if elected_on is None:
        return None
    due = term_end(elected_on, term_years)
    period = Period("term", elected_on, due)
    return Obligation("election", period, due, "overdue" if today > due else "due")


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier (clamped to the month's end)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


REPORT_MONTHS = 2
PROBATION_LEAD_MONTHS = 1


def add_months(day: date, months: int) -> date:
    """The same day `months` later (clamped to the month's end: 31 Jan + 1 → 28/29 Feb)."""
    return months_before(day, -months)


def probation_due(admitted_on: date, extension_months: int = 0) -> date:
    """When a 预备期 ends: a year after the 支部大会 (FACTS.md B22), plus an extension (E41)."""
    return add_months(admitted_on, 12 + extension_months)


def roster_duties(
    roster: Sequence[Member],
    talks: Iterable[tuple[date, str]],
    today: date,
    *,
    off: Iterable[str] = (),
    party_total: int | None = None,
    steps: Mapping[int, Sequence[Any]] | None = None,
) -> list[Obligation]:
    """What the roster makes the branch owe: 谈心谈话 with every party member this year (one
    line with the progress), each probationary member's 转正 (one year after admission), and a
    report from each 流动党员 every two months (from the last report, or from leaving).

    `party_total` is the branch's party member count when a roster not yet confirmed complete
    is not the source (bot.member_counts): the progress is counted against it. `steps` are the
    发展党员 steps recorded by member id (db.recruitment): an extended 预备期 ends later, and the
    timeline's own reminders (bot.recruitment.duties) come with the others."""
    from bot import recruitment  # built on this module's periods and dates

    people = recruitment.people_in_progress(roster, steps or {})
    return party_duties(
        roll_of(roster), talks, today, off=off, party_total=party_total, people=people
    )


def roll_of(roster: Sequence[Member]) -> PartyRoll:
    """The party roll of a roster."""
    party = [m for m in roster if m.is_party_member]
    watched = tuple(entry_of(m) for m in party if m.info.status == "probationary" or m.info.mobile)
    return PartyRoll(len(party), watched, tuple(m.name for m in party))


def entry_of(member: Member) -> RosterEntry:
    """What the roster duties read of a party member."""
    info = member.info
    return RosterEntry(
        member.id,
        info.name,
        info.status,
        info.joined_on,
        info.mobile,
        info.left_on,
        info.last_report_on,
    )


def party_duties(
    party: PartyRoll,
    talks: Iterable[tuple[date, str]],
    today: date,
    *,
    off: Iterable[str] = (),
    party_total: int | None = None,
    wanted: Callable[[str, Period, date], bool] | None = None,
    people: Sequence[Person] = (),
) -> list[Obligation]:
    """roster_duties() from the party members' roll alone (the sweep reads no more), and the
    发展党员 timelines of the `people` in progress (bot.recruitment.people).

    `wanted(code, period, deadline)` tells whether the caller can use that obligation at all:
    the sweep neither reads the names nor counts this year's talks on the days no 谈心谈话
    reminder can fall on (matching every name of a city costs seconds)."""
    from bot import recruitment  # built on this module's periods and dates

    skipped = set(off)
    extensions = recruitment.extensions(people)
    result: list[Obligation] = []
    year = period_of("yearly", today)
    if (
        party.size
        and "heart_to_heart_talk" not in skipped
        and (wanted is None or wanted("heart_to_heart_talk", year, year.end))
    ):
        # Names are matched in their normalized form (林曉紅 on the roster, 林晓红 in the record).
        counterparts = [match_key(who) for day, who in talks if year.start <= day <= year.end]
        # Each name's key once (the sweep asks this of every member of every branch).
        assert party.names is not None, "the names are read whenever 谈心谈话 is wanted"
        keys = (match_key(name) for name in party.names) if counterparts else ()
        talked = sum(1 for key in keys if any(key in who for who in counterparts))
        days = [day for day, _ in talks if year.start <= day <= year.end]
        total = party.size if party_total is None else max(party_total, party.size)
        if talked >= total:
            state, done_on = "done", max(days) if days else today
        else:
            state, done_on = ("overdue" if today > year.end else "due"), None
        result.append(
            Obligation(
                "heart_to_heart_talk",
                year,
                year.end,
                state,
                done_on,
                progress=(talked, total),
            )
        )
    for member in party.watched:
        if "probation" not in skipped and member.status == "probationary" and member.joined_on:
            extended = extensions.get(member.id, 0)
            due = probation_due(member.joined_on, extended)
            # An extended 预备期 is a new period: its reminders are sent again.
            start = probation_due(member.joined_on) if extended else member.joined_on
            result.append(
                Obligation(
                    f"probation.{member.id}",
                    Period("probation", start, due),
                    due,
                    "overdue" if today > due else "due",
                    subject=member.name,
                )
            )
        if "mobile_report" not in skipped and member.mobile:
            since = member.last_report_on or member.left_on
            if since is None:
                continue
            due = add_months(since, REPORT_MONTHS)
            result.append(
                Obligation(
                    f"mobile_report.{member.id}",
                    Period("report", since, due),
                    due,
                    "overdue" if today > due else "due",
                    subject=member.name,
                )
            )
    if "recruitment" not in skipped:
        result += recruitment.duties(people, today)
    return result
