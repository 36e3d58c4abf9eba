"""Custom reminder rules: dates over month ends, weeks and quarters; reading them in Chinese."""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.recurrence import (
    RULES,
    Rule,
    RuleError,
    next_occurrence,
    occurrences,
    parse_rule,
    validate,
)

TODAY = date(2026, 11, 22)  # a Sunday
NINE = time(9, 0)


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _monthly(day: int, at: time = NINE) -> Rule:
    return Rule(kind="monthly", at=at, day_of_month=day)


def _quarterly(day: int, quarter_month: int = 1, at: time = NINE) -> Rule:
    return Rule(kind="quarterly", at=at, day_of_month=day, quarter_month=quarter_month)


def _weekly(weekday: int, at: time = NINE) -> Rule:
    return Rule(kind="weekly", at=at, weekday=weekday)


def _once(day: date, at: time = NINE) -> Rule:
    return Rule(kind="once", at=at, on_date=day)


# -- validate --------------------------------------------------------------------------------


def test_rules() -> None:
    assert RULES == ("once", "daily", "workday", "weekly", "monthly", "quarterly")


@pytest.mark.parametrize(
    "rule",
    [
        _once(date(2026, 12, 5)),
        _weekly(0),
        _weekly(6),
        _monthly(1),
        _monthly(31),
        _quarterly(31, 3),
        _quarterly(10, 2),
    ],
)
def test_validate_accepts(rule: Rule) -> None:
    validate(rule)


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        (Rule(kind="hourly", at=NINE), "bad_kind"),
        (Rule(kind="once", at="09:00", on_date=date(2026, 12, 5)), "bad_time"),  # type: ignore[arg-type]
        (Rule(kind="once", at=NINE), "bad_date"),
        (Rule(kind="once", at=NINE, on_date=datetime(2026, 12, 5, 9, 0)), "bad_date"),
        (Rule(kind="weekly", at=NINE), "bad_weekday"),
        (_weekly(7), "bad_weekday"),
        (_weekly(-1), "bad_weekday"),
        (Rule(kind="weekly", at=NINE, weekday=True), "bad_weekday"),
        (Rule(kind="monthly", at=NINE), "bad_day"),
        (_monthly(0), "bad_day"),
        (_monthly(32), "bad_day"),
        (_quarterly(10, 0), "bad_quarter_month"),
        (_quarterly(10, 4), "bad_quarter_month"),
        (Rule(kind="weekly", at=NINE, weekday=1, day_of_month=5), "extra_field"),
        (Rule(kind="once", at=NINE, on_date=date(2026, 12, 5), weekday=1), "extra_field"),
        (Rule(kind="monthly", at=NINE, day_of_month=5, quarter_month=2), "extra_field"),
        (Rule(kind="monthly", at=NINE, day_of_month=5, on_date=date(2026, 12, 5)), "extra_field"),
        (Rule(kind="monthly", at=NINE, day_of_month=5, weekday=4, week=2), "extra_field"),
        (Rule(kind="monthly", at=NINE, weekday=4, week=5), "bad_week"),
        (Rule(kind="monthly", at=NINE, weekday=4, week=0), "bad_week"),
        (Rule(kind="monthly", at=NINE, weekday=7, week=1), "bad_weekday"),
        (Rule(kind="monthly", at=NINE, week=1), "bad_weekday"),
        (Rule(kind="weekly", at=NINE, weekday=4, week=1), "extra_field"),
    ],
)
def test_validate_refuses(rule: Rule, code: str) -> None:
    with pytest.raises(RuleError) as caught:
        validate(rule)
    assert caught.value.code == code
    assert isinstance(caught.value, ValueError)


def test_validate_refuses_an_aware_time() -> None:
    with pytest.raises(RuleError, match="bad_time"):
        validate(_weekly(0, at=time(9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))))


def test_occurrences_validates() -> None:
    with pytest.raises(RuleError):
        occurrences(_monthly(0), date(2026, 1, 1), date(2026, 12, 31))
    with pytest.raises(RuleError):
        next_occurrence(_weekly(9), date(2026, 1, 1))


# -- month ends ------------------------------------------------------------------------------


@pytest.mark.parametrize("year", [2026, 2028])  # common, leap
@pytest.mark.parametrize("day", range(1, 32))
def test_monthly_every_day_over_a_year(year: int, day: int) -> None:
    got = occurrences(_monthly(day), date(year, 1, 1), date(year, 12, 31))
    expected = [date(year, m, min(day, _last_day(year, m))) for m in range(1, 13)]
    assert got == expected


@pytest.mark.parametrize(
    ("year", "ends"),
    [
        (2026, [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]),
        (2028, [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]),
        (2100, [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]),  # not a leap year
        (2000, [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]),
    ],
)
def test_the_31st_is_the_last_day_of_every_month(year: int, ends: list[int]) -> None:
    got = occurrences(_monthly(31), date(year, 1, 1), date(year, 12, 31))
    assert got == [date(year, month, end) for month, end in enumerate(ends, start=1)]


def test_monthly_30th_in_february() -> None:
    assert occurrences(_monthly(30), date(2028, 2, 1), date(2028, 3, 31)) == [
        date(2028, 2, 29),
        date(2028, 3, 30),
    ]
    assert occurrences(_monthly(29), date(2026, 2, 1), date(2026, 3, 31)) == [
        date(2026, 2, 28),
        date(2026, 3, 29),
    ]


def test_monthly_bounds_are_inclusive() -> None:
    assert occurrences(_monthly(5), date(2026, 3, 5), date(2026, 5, 5)) == [
        date(2026, 3, 5),
        date(2026, 4, 5),
        date(2026, 5, 5),
    ]
    assert occurrences(_monthly(5), date(2026, 3, 6), date(2026, 5, 4)) == [date(2026, 4, 5)]
    assert occurrences(_monthly(5), date(2026, 3, 6), date(2026, 3, 31)) == []
    assert occurrences(_monthly(5), date(2026, 5, 1), date(2026, 4, 1)) == []
    assert occurrences(_monthly(31), date(2026, 12, 1), date(2027, 2, 28)) == [
        date(2026, 12, 31),
        date(2027, 1, 31),
        date(2027, 2, 28),
    ]


# -- weekly ----------------------------------------------------------------------------------


def test_weekly_across_the_year_boundary() -> None:
    fridays = occurrences(_weekly(4), date(2026, 12, 20), date(2027, 1, 20))
    assert fridays == [
        date(2026, 12, 25),
        date(2027, 1, 1),
        date(2027, 1, 8),
        date(2027, 1, 15),
    ]
    assert all(day.weekday() == 4 for day in fridays)


@pytest.mark.parametrize("weekday", range(7))
def test_weekly_every_weekday_over_two_years(weekday: int) -> None:
    start, end = date(2027, 1, 1), date(2028, 12, 31)
    got = occurrences(_weekly(weekday), start, end)
    expected = [
        start + timedelta(days=n)
        for n in range((end - start).days + 1)
        if (start + timedelta(days=n)).weekday() == weekday
    ]
    assert got == expected


def test_weekly_bounds() -> None:
    assert occurrences(_weekly(0), date(2026, 11, 23), date(2026, 11, 23)) == [date(2026, 11, 23)]
    assert occurrences(_weekly(0), date(2026, 11, 24), date(2026, 11, 29)) == []


# -- quarterly -------------------------------------------------------------------------------


def test_quarterly_first_month() -> None:
    got = occurrences(_quarterly(10), date(2026, 1, 1), date(2026, 12, 31))
    assert got == [date(2026, 1, 10), date(2026, 4, 10), date(2026, 7, 10), date(2026, 10, 10)]


def test_quarterly_last_day_of_the_quarter() -> None:
    got = occurrences(_quarterly(31, 3), date(2026, 1, 1), date(2026, 12, 31))
    assert got == [date(2026, 3, 31), date(2026, 6, 30), date(2026, 9, 30), date(2026, 12, 31)]


def test_quarterly_second_month_end_over_a_leap_year() -> None:
    got = occurrences(_quarterly(31, 2), date(2028, 1, 1), date(2028, 12, 31))
    assert got == [date(2028, 2, 29), date(2028, 5, 31), date(2028, 8, 31), date(2028, 11, 30)]


@pytest.mark.parametrize("year", [2026, 2028])
@pytest.mark.parametrize("quarter_month", [1, 2, 3])
@pytest.mark.parametrize("day", [1, 15, 28, 29, 30, 31])
def test_quarterly_exhaustive(year: int, quarter_month: int, day: int) -> None:
    got = occurrences(_quarterly(day, quarter_month), date(year, 1, 1), date(year, 12, 31))
    months = [q * 3 + quarter_month for q in range(4)]
    assert got == [date(year, m, min(day, _last_day(year, m))) for m in months]


# -- once ------------------------------------------------------------------------------------


def test_once() -> None:
    rule = _once(date(2026, 12, 5))
    assert occurrences(rule, date(2026, 12, 1), date(2026, 12, 31)) == [date(2026, 12, 5)]
    assert occurrences(rule, date(2026, 12, 5), date(2026, 12, 5)) == [date(2026, 12, 5)]
    assert occurrences(rule, date(2026, 12, 6), date(2026, 12, 31)) == []
    assert occurrences(rule, date(2026, 11, 1), date(2026, 12, 4)) == []


# -- next_occurrence -------------------------------------------------------------------------


def test_a_weekday_of_the_month() -> None:
    second_friday = Rule(kind="monthly", at=NINE, weekday=4, week=2)
    assert occurrences(second_friday, date(2026, 12, 1), date(2027, 3, 31)) == [
        date(2026, 12, 11), date(2027, 1, 8), date(2027, 2, 12), date(2027, 3, 12)
    ]  # fmt: skip
    last_monday = Rule(kind="monthly", at=NINE, weekday=0, week=-1)
    assert occurrences(last_monday, date(2026, 12, 1), date(2027, 3, 31)) == [
        date(2026, 12, 28), date(2027, 1, 25), date(2027, 2, 22), date(2027, 3, 29)
    ]  # fmt: skip
    assert next_occurrence(second_friday, date(2026, 12, 12)) == date(2027, 1, 8)


def test_next_occurrence_examples() -> None:
    assert next_occurrence(_once(date(2026, 12, 5)), date(2026, 12, 5)) == date(2026, 12, 5)
    assert next_occurrence(_once(date(2026, 12, 5)), date(2026, 12, 6)) is None
    assert next_occurrence(_weekly(4), date(2026, 12, 26)) == date(2027, 1, 1)
    assert next_occurrence(_weekly(6), date(2026, 11, 22)) == date(2026, 11, 22)
    assert next_occurrence(_monthly(31), date(2026, 2, 1)) == date(2026, 2, 28)
    assert next_occurrence(_monthly(31), date(2028, 2, 1)) == date(2028, 2, 29)
    assert next_occurrence(_monthly(5), date(2026, 12, 6)) == date(2027, 1, 5)
    assert next_occurrence(_quarterly(10), date(2026, 10, 11)) == date(2027, 1, 10)
    assert next_occurrence(_quarterly(31, 3), date(2026, 7, 1)) == date(2026, 9, 30)
    assert next_occurrence(_monthly(31), date(9999, 12, 31)) == date(9999, 12, 31)


@pytest.mark.parametrize(
    "rule",
    [_weekly(2), _monthly(31), _monthly(30), _monthly(1), _quarterly(31, 3), _quarterly(15, 2),
     Rule(kind="monthly", at=NINE, weekday=4, week=2),
     Rule(kind="monthly", at=NINE, weekday=0, week=-1)],
)  # fmt: skip
def test_next_occurrence_matches_occurrences(rule: Rule) -> None:
    after = date(2027, 12, 1)
    while after < date(2029, 2, 1):
        expected = occurrences(rule, after, after + timedelta(days=100))[0]
        assert next_occurrence(rule, after) == expected, after
        after += timedelta(days=1)


# -- parse_rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # once
        ("12月5日 9:00", _once(date(2026, 12, 5))),
        ("12月5日", _once(date(2026, 12, 5))),
        ("12月5号 15:30", _once(date(2026, 12, 5), time(15, 30))),
        ("12月5日9点", _once(date(2026, 12, 5))),
        ("十二月五日十点", _once(date(2026, 12, 5), time(10, 0))),
        ("2026-12-05 15:30", _once(date(2026, 12, 5), time(15, 30))),
        ("2026年12月5日 15:30", _once(date(2026, 12, 5), time(15, 30))),
        ("２０２６－１２－０５　１５：３０", _once(date(2026, 12, 5), time(15, 30))),
        ("明天 9点", _once(date(2026, 11, 23))),
        ("明天9点", _once(date(2026, 11, 23))),
        ("明天", _once(date(2026, 11, 23))),
        ("后天 8点半", _once(date(2026, 11, 24), time(8, 30))),
        ("後天 8點半", _once(date(2026, 11, 24), time(8, 30))),
        ("今天 晚上8点", _once(date(2026, 11, 22), time(20, 0))),
        ("下周三 14:00", _once(date(2026, 11, 25), time(14, 0))),
        ("下週三 14:00", _once(date(2026, 11, 25), time(14, 0))),
        ("下周三十四点", _once(date(2026, 11, 25), time(14, 0))),
        ("明天下午3点", _once(date(2026, 11, 23), time(15, 0))),
        ("明天 下午 3 点", _once(date(2026, 11, 23), time(15, 0))),
        ("明天上午10点", _once(date(2026, 11, 23), time(10, 0))),
        ("明天早上7点", _once(date(2026, 11, 23), time(7, 0))),
        ("明天中午12点", _once(date(2026, 11, 23), time(12, 0))),
        ("明天中午1点", _once(date(2026, 11, 23), time(13, 0))),
        ("明天下午12点", _once(date(2026, 11, 23), time(12, 0))),
        ("明天下午15点", _once(date(2026, 11, 23), time(15, 0))),
        ("明天凌晨2点", _once(date(2026, 11, 23), time(2, 0))),
        ("明天 9点05分", _once(date(2026, 11, 23), time(9, 5))),
        ("明天 9点5分", _once(date(2026, 11, 23), time(9, 5))),
        ("明天 九点十五分", _once(date(2026, 11, 23), time(9, 15))),
        ("明天 八点一刻", _once(date(2026, 11, 23), time(8, 15))),
        ("明天 8点三刻", _once(date(2026, 11, 23), time(8, 45))),
        ("明天 9点整", _once(date(2026, 11, 23))),
        ("明天 9点钟", _once(date(2026, 11, 23))),
        ("明天 9時", _once(date(2026, 11, 23))),
        ("明天 0:00", _once(date(2026, 11, 23), time(0, 0))),
        ("明天 23:59。", _once(date(2026, 11, 23), time(23, 59))),
        # once, rolled forward when no year / month / week is named
        ("1月5日 9:00", _once(date(2027, 1, 5))),
        ("11月22日", _once(date(2026, 11, 22))),
        ("11月21日", _once(date(2027, 11, 21))),
        ("5号", _once(date(2026, 12, 5))),
        ("22号", _once(date(2026, 11, 22))),
        ("周一 10:00", _once(date(2026, 11, 23), time(10, 0))),
        ("周五十点", _once(date(2026, 11, 27), time(10, 0))),
        ("周日", _once(date(2026, 11, 22))),
        # weekly
        ("每周五 9:00", _weekly(4)),
        ("每周五", _weekly(4)),
        ("每周五九点", _weekly(4)),
        ("每週五 下午3點", _weekly(4, time(15, 0))),
        ("每星期一 8点半", _weekly(0, time(8, 30))),
        ("每个礼拜三 10:00", _weekly(2, time(10, 0))),
        ("每禮拜日", _weekly(6)),
        ("每周天", _weekly(6)),
        ("每周7", _weekly(6)),
        ("每周二十点", _weekly(1, time(10, 0))),
        # monthly
        ("每月5日 9:00", _monthly(5)),
        ("每月5号", _monthly(5)),
        ("每月5號", _monthly(5)),
        ("每月５日 ９：００", _monthly(5)),
        ("每月十五日 下午两点", _monthly(15, time(14, 0))),
        ("每个月的15号 上午10点", _monthly(15, time(10, 0))),
        ("每月最后一天 17:00", _monthly(31, time(17, 0))),
        ("每月底", _monthly(31)),
        ("每月末 16:00", _monthly(31, time(16, 0))),
        ("每月31号 10:00", _monthly(31, time(10, 0))),
        ("每月三十一日", _monthly(31)),
        ("每月第一天", _monthly(1)),
        # monthly on a weekday of the month, as a 主题党日 may be
        ("每月第二个星期五 下午3点", Rule(kind="monthly", at=time(15, 0), weekday=4, week=2)),
        ("每月第2个周日", Rule(kind="monthly", at=NINE, weekday=6, week=2)),
        ("每個月第一個禮拜三 9點", Rule(kind="monthly", at=NINE, weekday=2, week=1)),
        ("每月最后一个周一 17:00", Rule(kind="monthly", at=time(17, 0), weekday=0, week=-1)),
        ("每月最后周五", Rule(kind="monthly", at=NINE, weekday=4, week=-1)),
        # quarterly
        ("每季度第一个月10日 9:00", _quarterly(10)),
        ("每季度 10日 9:00", _quarterly(10)),
        ("每季度10号", _quarterly(10)),
        ("每个季度的第二个月5号 14:00", _quarterly(5, 2, time(14, 0))),
        ("每季度第3个月1日", _quarterly(1, 3)),
        ("每季度首月15日", _quarterly(15, 1)),
        ("每季度最后一个月20日", _quarterly(20, 3)),
        ("每季度最后一天", _quarterly(31, 3)),
        ("每季度末 17:00", _quarterly(31, 3, time(17, 0))),
        ("每季度第一个月最后一天", _quarterly(31, 1)),
        ("每季第一天", _quarterly(1, 1)),
    ],
)
def test_parse_rule(text: str, expected: Rule) -> None:
    rule = parse_rule(text, TODAY)
    assert rule == expected
    validate(rule)


def test_parse_rule_leap_day() -> None:
    assert parse_rule("2月29日", date(2028, 1, 10)) == _once(date(2028, 2, 29))
    assert parse_rule("2028-02-29 9:00", TODAY) == _once(date(2028, 2, 29))


def test_parse_rule_day_only_skips_short_months() -> None:
    # Typed on 2026-01-31: 30号 is past this month and February has no 30th.
    assert parse_rule("30号", date(2026, 1, 31)) == _once(date(2026, 3, 30))
    assert parse_rule("31号", date(2026, 4, 5)) == _once(date(2026, 5, 31))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # past: an explicit date before today
        ("昨天 9:00", "past"),
        ("前天", "past"),
        ("2025-12-05 9:00", "past"),
        ("2026年11月21日", "past"),
        ("本周一 9点", "past"),
        ("上周五", "past"),
        ("1999-12-05", "past"),
        # no_such_date
        ("2月30日", "no_such_date"),
        ("2月30日 9:00", "no_such_date"),
        ("2026-02-29", "no_such_date"),
        ("2月29日", "no_such_date"),  # none in 2026 or 2027
        ("13月1日", "no_such_date"),
        ("每月32日", "no_such_date"),
        ("每月0号", "no_such_date"),
        ("每季度第一个月40日", "no_such_date"),
        # bad_time
        ("12月5日 25:00", "bad_time"),
        ("明天 24:00", "bad_time"),
        ("明天 9:60", "bad_time"),
        ("明天 100:00", "bad_time"),
        ("每周五 25点", "bad_time"),
        ("每月5日 9点75分", "bad_time"),
        ("明天 上午15点", "bad_time"),
        ("明天 晚上12点", "bad_time"),
        # unknown
        ("", "unknown"),
        ("   ", "unknown"),
        ("9:00", "unknown"),
        ("下午3点", "unknown"),
        ("每小时", "unknown"),
        ("每年12月5日", "unknown"),
        ("每周八", "unknown"),
        ("每月", "unknown"),
        ("每季度第四个月5日", "unknown"),
        ("明天下午", "unknown"),
        ("开会", "unknown"),
        ("明天 9.30", "unknown"),
    ],
)
def test_parse_rule_refuses(text: str, code: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule(text, TODAY)
    assert caught.value.code == code
