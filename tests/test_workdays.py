"""Working days in China and reminder moments: holidays, 调休, fallback years, quiet hours."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from bot.workdays import covered, in_quiet_hours, is_workday, previous_workday, reminder_moment

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNCOVERED = 2100  # far beyond any published holiday schedule


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


# -- 2026 National Day (国务院办公厅 2025 notice): 10月1日至7日放假调休, 9月20日(周日)、
# 10月10日(周六)上班; 中秋 9月25日至27日. Checked against chinesecalendar 1.11.0.
NATIONAL_DAY_2026 = {
    date(2026, 9, 20): True,  # Sunday, 调休上班
    date(2026, 9, 25): False,  # Friday, 中秋
    date(2026, 9, 26): False,
    date(2026, 9, 27): False,
    date(2026, 9, 28): True,
    date(2026, 9, 30): True,
    date(2026, 10, 1): False,  # Thursday, 国庆
    date(2026, 10, 2): False,
    date(2026, 10, 3): False,
    date(2026, 10, 4): False,
    date(2026, 10, 5): False,  # Monday
    date(2026, 10, 6): False,
    date(2026, 10, 7): False,  # Wednesday, last day off
    date(2026, 10, 8): True,  # Thursday
    date(2026, 10, 9): True,
    date(2026, 10, 10): True,  # Saturday, 调休上班
    date(2026, 10, 11): False,  # Sunday, an ordinary weekend day
}


@pytest.mark.parametrize(("day", "expected"), sorted(NATIONAL_DAY_2026.items()))
def test_national_day_2026_known_facts(day: date, expected: bool) -> None:
    assert is_workday(day) is expected


def test_national_day_2026_agrees_with_the_package() -> None:
    for day in _days(date(2026, 9, 15), date(2026, 10, 20)):
        assert is_workday(day) is chinese_calendar.is_workday(day), day
    holidays = [d for d in _days(date(2026, 10, 1), date(2026, 10, 8)) if not is_workday(d)]
    assert holidays == _days(date(2026, 10, 1), date(2026, 10, 7))


def test_spring_festival_2026() -> None:
    # 2月15日(周日)至23日(周一)放假调休, 2月14日(周六)、2月28日(周六)上班.
    assert is_workday(date(2026, 2, 13))
    assert is_workday(date(2026, 2, 14))  # Saturday, 调休
    assert not any(is_workday(d) for d in _days(date(2026, 2, 15), date(2026, 2, 23)))
    assert is_workday(date(2026, 2, 24))
    assert is_workday(date(2026, 2, 28))  # Saturday, 调休
    assert not is_workday(date(2026, 3, 1))
    for day in _days(date(2026, 2, 1), date(2026, 3, 8)):
        assert is_workday(day) is chinese_calendar.is_workday(day), day


def test_coverage() -> None:
    assert covered(2004)
    assert covered(2026)
    assert not covered(2003)
    assert not covered(UNCOVERED)


def test_uncovered_year_falls_back_to_weekdays() -> None:
    for day in _days(date(UNCOVERED, 1, 1), date(UNCOVERED, 1, 31)):
        assert is_workday(day) is (day.weekday() < 5), day
    assert is_workday(date(UNCOVERED, 10, 1))  # a Friday: no holiday data, so a workday
    assert not is_workday(date(1999, 10, 2))  # a Saturday before the package's first year


def test_years_the_package_may_cover_agree_with_it() -> None:
    for year in (2027, 2028):
        if covered(year):
            day = date(year, 10, 1)
            assert is_workday(day) is chinese_calendar.is_workday(day)
        else:
            with pytest.raises(NotImplementedError):
                chinese_calendar.is_workday(date(year, 10, 1))


def test_leap_days() -> None:
    assert is_workday(date(2024, 2, 29))  # Thursday, covered
    assert is_workday(date(2028, 2, 29))  # Tuesday; a workday whether 2028 is covered or not
    assert previous_workday(date(2028, 3, 4)) == date(2028, 3, 3)
    assert previous_workday(date(2028, 2, 29)) == date(2028, 2, 29)


def test_accepts_a_datetime() -> None:
    assert not is_workday(datetime(2026, 10, 1, 9, 0))
    assert previous_workday(datetime(2026, 10, 1, 9, 0)) == date(2026, 9, 30)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 20), date(2026, 11, 20)),  # a plain Friday stays
        (date(2026, 11, 21), date(2026, 11, 20)),  # Saturday -> Friday
        (date(2026, 11, 22), date(2026, 11, 20)),  # Sunday -> Friday
        (date(2026, 4, 6), date(2026, 4, 3)),  # 清明 Monday holiday -> previous Friday
        (date(2026, 6, 22), date(2026, 6, 22)),  # Monday after 端午 is a workday
        (date(2026, 6, 19), date(2026, 6, 18)),  # 端午 Friday -> Thursday
        (date(2026, 9, 20), date(2026, 9, 20)),  # 调休 Sunday stays
        (date(2026, 1, 4), date(2026, 1, 4)),  # 调休 Sunday after 元旦 stays
        (date(2026, 10, 10), date(2026, 10, 10)),  # 调休 Saturday stays
        (date(2026, 10, 5), date(2026, 9, 30)),  # inside 国庆 -> before it
        (date(2026, 10, 11), date(2026, 10, 10)),  # Sunday -> the 调休 Saturday
        (date(2026, 2, 22), date(2026, 2, 14)),  # end of 春节 -> the 调休 Saturday
        (date(2026, 1, 1), date(2025, 12, 31)),  # across the year boundary
        (date(UNCOVERED, 1, 2), date(UNCOVERED, 1, 1)),  # Saturday, fallback year
    ],
)
def test_previous_workday(day: date, expected: date) -> None:
    assert previous_workday(day) == expected


@pytest.mark.parametrize(
    ("at", "quiet"),
    [
        (time(7, 59), True),
        (time(8, 0), False),  # quiet hours end at 08:00
        (time(12, 0), False),
        (time(20, 59), False),
        (time(21, 0), True),  # and start at 21:00
        (time(23, 30), True),
        (time(0, 0), True),
    ],
)
def test_quiet_hours_default(at: time, quiet: bool) -> None:
    assert in_quiet_hours(at) is quiet


def test_quiet_hours_not_wrapping_and_empty() -> None:
    assert in_quiet_hours(time(12, 30), time(12, 0), time(14, 0))
    assert not in_quiet_hours(time(14, 0), time(12, 0), time(14, 0))
    assert not in_quiet_hours(time(3, 0), time(8, 0), time(8, 0))


@pytest.mark.parametrize(
    ("day", "at", "expected"),
    [
        (date(2026, 11, 20), time(9, 0), datetime(2026, 11, 20, 9, 0)),
        (date(2026, 11, 20), time(8, 0), datetime(2026, 11, 20, 8, 0)),  # boundary: kept
        (date(2026, 11, 20), time(7, 59), datetime(2026, 11, 20, 8, 0)),
        (date(2026, 11, 20), time(20, 59), datetime(2026, 11, 20, 20, 59)),
        (date(2026, 11, 20), time(21, 0), datetime(2026, 11, 20, 8, 0)),  # boundary: moved
        (date(2026, 11, 20), time(23, 30), datetime(2026, 11, 20, 8, 0)),  # same morning
        (date(2026, 11, 21), time(15, 30), datetime(2026, 11, 20, 15, 30)),  # Saturday
        (date(2026, 10, 1), time(23, 30), datetime(2026, 9, 30, 8, 0)),  # both moves
        (date(2026, 10, 10), time(10, 0), datetime(2026, 10, 10, 10, 0)),  # 调休 Saturday
    ],
)
def test_reminder_moment(day: date, at: time, expected: datetime) -> None:
    moment = reminder_moment(day, at, SHANGHAI)
    assert moment == expected.replace(tzinfo=SHANGHAI)
    assert moment.tzinfo is SHANGHAI
    assert moment.utcoffset() == timedelta(hours=8)


def test_reminder_moment_custom_quiet_hours_and_aware_time() -> None:
    moment = reminder_moment(
        date(2026, 11, 20), time(22, 0), SHANGHAI, quiet_start=time(23, 0), quiet_end=time(7, 0)
    )
    assert moment == datetime(2026, 11, 20, 22, 0, tzinfo=SHANGHAI)
    moment = reminder_moment(
        date(2026, 11, 20), time(6, 0), SHANGHAI, quiet_start=time(23, 0), quiet_end=time(7, 0)
    )
    assert moment == datetime(2026, 11, 20, 7, 0, tzinfo=SHANGHAI)
    # A tzinfo on `at` is ignored: it is wall-clock time in `tz`.
    aware = time(9, 0, tzinfo=ZoneInfo("UTC"))
    assert reminder_moment(date(2026, 11, 20), aware, SHANGHAI) == datetime(
        2026, 11, 20, 9, 0, tzinfo=SHANGHAI
    )


def test_reminder_moment_in_utc() -> None:
    moment = reminder_moment(date(2026, 11, 20), time(9, 0), SHANGHAI)
    assert moment.astimezone(ZoneInfo("UTC")) == datetime(
        2026, 11, 20, 1, 0, tzinfo=ZoneInfo("UTC")
    )
