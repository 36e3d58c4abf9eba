"""Deciding reminders (pure): lead days moved off weekends and holidays, overdue the next
workday, nothing for what is done or muted, snoozes, the next period's 主题党日, 换届."""

from __future__ import annotations

from datetime import date, timedelta

from bot.obligations import Obligation, Period, months_before, period_of, term_end
from bot.reminders import next_workday, notices_for, owed_for
from db.settings import BranchSettings
from tests.factories import make_profile

SETTINGS = BranchSettings(branch_id=1)


def _stages(day: date, records=(), settings=SETTINGS, created=date(2020, 1, 1), **profile):
    owed = owed_for(make_profile(**profile), settings, list(records), day, created_on=created)
    return sorted((n.code, n.stage) for n in notices_for(1, owed, settings, day))


def _every_day(start: date, end: date, **kwargs) -> dict[date, list]:
    result = {}
    day = start
    while day <= end:
        found = _stages(day, **kwargs)
        if found:
            result[day] = found
        day += timedelta(days=1)
    return result


def test_quarter_end_lead_days_and_overdue() -> None:
    # Q3 2026 ends Wednesday 30 Sep: 7 days before is Wednesday 23, 2 days before Monday 28;
    # the day after is in the 国庆 holiday (1-7 Oct): overdue on the first workday, 8 Oct.
    days = _every_day(date(2026, 9, 15), date(2026, 10, 12))
    member = {d: s for d, stages in days.items() for s in stages if s[0] == "member_meeting"}
    assert member == {
        date(2026, 9, 23): ("member_meeting", "lead7"),
        date(2026, 9, 28): ("member_meeting", "lead2"),
        date(2026, 10, 8): ("member_meeting", "overdue"),
    }
    # The 调休 Saturday 10 Oct is a workday, the Sunday after is not.
    assert next_workday(date(2026, 10, 10)) == date(2026, 10, 10)
    assert next_workday(date(2026, 10, 11)) == date(2026, 10, 12)


def test_national_day_holiday_moves_reminders_earlier() -> None:
    # 主题党日 fixed on the 5th: in October 2026 the 5th is inside the 国庆 holiday; lead 2 days
    # (3 Oct, a holiday) and lead 7 (28 Sep) are moved to the last workday before them.
    days = _every_day(date(2026, 9, 20), date(2026, 10, 12), party_day=5)
    party = sorted(d for d, stages in days.items() if ("theme_party_day", "lead2") in stages)
    assert party == [date(2026, 9, 30)]
    lead7 = [d for d, stages in days.items() if ("theme_party_day", "lead7") in stages]
    assert lead7 == [date(2026, 9, 28)]
    overdue = [d for d, stages in days.items() if ("theme_party_day", "overdue") in stages]
    assert overdue == [date(2026, 10, 8)]


def test_done_muted_and_not_applicable_are_silent() -> None:
    day = date(2026, 12, 24)
    assert ("member_meeting", "lead7") in _stages(day)
    assert ("member_meeting", "lead7") not in _stages(
        day, records=[("member_meeting", date(2026, 11, 2))]
    )
    muted = BranchSettings(branch_id=1, muted=("member_meeting",))
    assert ("member_meeting", "lead7") not in _stages(day, settings=muted)
    off = BranchSettings(branch_id=1, frequencies={"member_meeting": "off"})
    assert ("member_meeting", "lead7") not in _stages(day, settings=off)
    # No committee: no 支委会 reminders; with one, monthly.
    assert not any(c == "committee_meeting" for c, _ in _stages(day))
    assert ("committee_meeting", "lead7") in _stages(day, has_committee=True)


def test_next_months_party_day_seen_ahead() -> None:
    # Fixed on the 2nd: the 7-day notice for 2 Feb 2027 comes on Tuesday 26 Jan.
    assert ("theme_party_day", "lead7") in _stages(date(2027, 1, 26), party_day=2)


def test_branch_created_mid_quarter_owes_nothing_before() -> None:
    created = date(2026, 11, 20)
    days = _every_day(date(2026, 11, 20), date(2026, 11, 30), created=created)
    assert all("overdue" not in stage for stages in days.values() for _, stage in stages)


def test_snooze() -> None:
    day = date(2026, 12, 24)
    owed = owed_for(make_profile(), SETTINGS, [], day, created_on=date(2020, 1, 1))
    start = period_of("quarterly", day).start
    snoozed = {("member_meeting", start): date(2026, 12, 28)}
    assert not any(
        n.code == "member_meeting" for n in notices_for(1, owed, SETTINGS, day, snoozed)
    )
    later = date(2026, 12, 28)
    owed = owed_for(make_profile(), SETTINGS, [], later, created_on=date(2020, 1, 1))
    stages = [
        n.stage
        for n in notices_for(1, owed, SETTINGS, later, snoozed)
        if n.code == "member_meeting"
    ]
    assert stages == ["snooze2026-12-28"]


def test_leap_year_and_term() -> None:
    assert term_end(date(2024, 2, 29), 3) == date(2027, 2, 28)
    assert months_before(date(2027, 8, 31), 6) == date(2027, 2, 28)
    settings = BranchSettings(branch_id=1, elected_on=date(2024, 6, 15), term_years=3)
    days = _every_day(date(2026, 12, 1), date(2027, 7, 1), settings=settings)
    term = [(d, s) for d, stages in days.items() for c, s in stages if c == "election"]
    assert [s for _, s in term] == ["term6", "term1", "overdue"]
    assert term[0][0] == date(2026, 12, 15) and term[1][0] == date(2027, 5, 14)
    assert term[2][0] == date(2027, 6, 16)


def test_done_obligation_is_never_reminded() -> None:
    period = Period("monthly", date(2026, 11, 1), date(2026, 11, 30))
    done = Obligation("committee_meeting", period, period.end, "done", date(2026, 11, 3))
    assert notices_for(1, [done], SETTINGS, date(2026, 11, 23)) == []
