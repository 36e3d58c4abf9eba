"""The obligations calendar: periods, deadlines and states at the edges (pure functions)."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest

from bot.obligations import Period, obligations, party_day_in, period_of, previous_period
from tests.factories import make_profile

PROFILE = make_profile(
    formal_members=9, has_committee=True, organization_type="social_group", party_day=31
)


def by_code(items: list, code: str) -> list[tuple[str, date, str]]:  # type: ignore[type-arg]
    return [(o.period.frequency, o.period.start, o.state) for o in items if o.code == code]


@pytest.mark.parametrize(
    ("frequency", "day", "start", "end"),
    [
        ("monthly", date(2028, 2, 10), date(2028, 2, 1), date(2028, 2, 29)),
        ("monthly", date(2026, 2, 10), date(2026, 2, 1), date(2026, 2, 28)),
        ("quarterly", date(2026, 3, 31), date(2026, 1, 1), date(2026, 3, 31)),
        ("quarterly", date(2026, 4, 1), date(2026, 4, 1), date(2026, 6, 30)),
        ("quarterly", date(2026, 12, 31), date(2026, 10, 1), date(2026, 12, 31)),
        ("yearly", date(2026, 7, 1), date(2026, 1, 1), date(2026, 12, 31)),
    ],
)
def test_periods(frequency: str, day: date, start: date, end: date) -> None:
    assert period_of(frequency, day) == Period(frequency, start, end)


def test_previous_period_crosses_the_year() -> None:
    q1 = period_of("quarterly", date(2027, 2, 1))
    assert previous_period(q1) == Period("quarterly", date(2026, 10, 1), date(2026, 12, 31))
    assert previous_period(period_of("monthly", date(2027, 1, 5))).start == date(2026, 12, 1)


def test_party_day_falls_on_the_last_day_of_short_months() -> None:
    assert party_day_in(2026, 2, 31) == date(2026, 2, 28)
    assert party_day_in(2028, 2, 30) == date(2028, 2, 29)
    assert party_day_in(2026, 4, 31) == date(2026, 4, 30)
    assert party_day_in(2026, 5, 31) == date(2026, 5, 31)


def test_done_due_overdue_and_not_applicable() -> None:
    today = date(2026, 11, 22)
    records = [("member_meeting", date(2026, 10, 15)), ("committee_meeting", date(2026, 10, 9))]
    items = obligations(PROFILE, records, today, created_on=date(2025, 1, 1))
    assert by_code(items, "member_meeting") == [
        ("quarterly", date(2026, 7, 1), "overdue"),
        ("quarterly", date(2026, 10, 1), "done"),
    ]
    assert by_code(items, "committee_meeting") == [("monthly", date(2026, 11, 1), "due")]
    assert by_code(items, "group_meeting") == [("monthly", date(2026, 11, 1), "not_applicable")]
    # Last quarter's 党课 was missed: it shows as overdue beside this quarter's.
    assert by_code(items, "party_lecture") == [
        ("quarterly", date(2026, 7, 1), "overdue"),
        ("quarterly", date(2026, 10, 1), "due"),
    ]
    done = next(o for o in items if o.code == "member_meeting" and o.state == "done")
    assert done.done_on == date(2026, 10, 15)


def test_theme_party_day_is_overdue_after_the_fixed_day() -> None:
    profile = msgspec.structs.replace(PROFILE, party_day=15)
    items = obligations(profile, [], date(2026, 11, 16), created_on=date(2026, 11, 1))
    [day] = [o for o in items if o.code == "theme_party_day"]
    assert day.deadline == date(2026, 11, 15)
    assert day.state == "overdue"
    assert day.days_left(date(2026, 11, 16)) == -1


def test_branch_created_mid_quarter_owes_no_earlier_period() -> None:
    items = obligations(PROFILE, [], date(2026, 11, 22), created_on=date(2026, 11, 20))
    assert all(o.state != "overdue" for o in items)
    assert by_code(items, "member_meeting") == [("quarterly", date(2026, 10, 1), "due")]


def test_frequency_overrides() -> None:
    items = obligations(
        PROFILE,
        [],
        date(2026, 11, 22),
        frequencies={"party_lecture": "monthly", "party_dues": "off"},
        created_on=date(2026, 11, 1),
    )
    assert by_code(items, "party_lecture") == [("monthly", date(2026, 11, 1), "due")]
    assert by_code(items, "party_dues")[0][2] == "not_applicable"
    with pytest.raises(ValueError):
        obligations(PROFILE, [], date(2026, 11, 22), frequencies={"party_lecture": "daily"})


def test_year_end_and_leap_day() -> None:
    items = obligations(
        PROFILE,
        [("organizational_life_meeting", date(2026, 12, 28))],
        date(2027, 1, 2),
        created_on=date(2025, 1, 1),
    )
    assert by_code(items, "organizational_life_meeting") == [("yearly", date(2027, 1, 1), "due")]
    assert by_code(items, "member_appraisal") == [
        ("yearly", date(2026, 1, 1), "overdue"),
        ("yearly", date(2027, 1, 1), "due"),
    ]
    leap = obligations(PROFILE, [], date(2028, 2, 29), created_on=date(2028, 2, 1))
    [day] = [o for o in leap if o.code == "theme_party_day"]
    assert day.deadline == date(2028, 2, 29) and day.state == "due"
