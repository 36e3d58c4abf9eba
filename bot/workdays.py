"""Chinese working days, and the moment to send a reminder (pure functions).

Public holidays and 调休 come from the ``chinesecalendar`` package: a Saturday or Sunday made a
working day (调休上班) counts as a workday, a holiday on a weekday does not. The package only knows
the years the State Council has already published (1.11.0: 2004 to 2026); for any other year
(``covered(year)`` is False) every Monday to Friday is a workday and nothing else is.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

QUIET_START = time(21, 0)
QUIET_END = time(8, 0)


@cache
def covered(year: int) -> bool:
    """Whether chinesecalendar has the holidays and 调休 of `year` (else: plain Monday–Friday)."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def is_workday(day: date) -> bool:
    """Whether people in China work on `day`.

    Holidays and 调休 from chinesecalendar; for a year it does not cover, Monday to Friday.
    """
    if isinstance(day, datetime):
        day = day.date()
    return _is_workday(day)


@lru_cache(maxsize=4096)
def _is_workday(day: date) -> bool:
    # chinesecalendar scans its whole table on every call: the sweep asks for the same few
    # dozen days thousands of times.
    if covered(day.year):
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5


def previous_workday(day: date) -> date:
    """`day` itself if it is a workday, else the nearest workday before it."""
    if isinstance(day, datetime):
        day = day.date()
    while not is_workday(day):
        day -= timedelta(days=1)
    return day


def in_quiet_hours(at: time, quiet_start: time = QUIET_START, quiet_end: time = QUIET_END) -> bool:
    """Whether the local time `at` lies in [quiet_start, quiet_end), which may wrap midnight.

    Equal bounds mean no quiet hours at all.
    """
    at, start, end = (value.replace(tzinfo=None) for value in (at, quiet_start, quiet_end))
    if start == end:
        return False
    if start < end:
        return start <= at < end
    return at >= start or at < end


def reminder_moment(
    day: date,
    at: time,
    tz: ZoneInfo,
    *,
    quiet_start: time = QUIET_START,
    quiet_end: time = QUIET_END,
) -> datetime:
    """The aware datetime in `tz` at which to send a reminder planned for `day` at `at`.

    The day moves to the previous workday (a Saturday reminder goes out on Friday, one on the
    first day of a holiday on the last workday before it). A time in quiet hours (by default
    21:00 up to but excluding 08:00) moves to `quiet_end` on that same day, never to the next
    one: a reminder is better a little early than late, so 23:30 becomes 08:00 the same morning.
    `at` is read as wall-clock time in `tz` (any tzinfo on it is ignored).
    """
    send_day = previous_workday(day)
    local = at.replace(tzinfo=None)
    if in_quiet_hours(local, quiet_start, quiet_end):
        local = quiet_end.replace(tzinfo=None)
    return datetime.combine(send_day, local, tzinfo=tz)
