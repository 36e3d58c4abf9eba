"""The Chinese date parser, exhaustively: every accepted form, edges, and refusals."""

from __future__ import annotations

from datetime import date

import pytest

from bot.dates import DateError, parse_date, parse_held_on

TODAY = date(2026, 11, 22)  # a Sunday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天", date(2026, 11, 22)),
        ("昨天", date(2026, 11, 21)),
        ("前天", date(2026, 11, 20)),
        ("大前天", date(2026, 11, 19)),
        ("2026-11-20", date(2026, 11, 20)),
        ("2026/11/20", date(2026, 11, 20)),
        ("2026.11.20", date(2026, 11, 20)),
        ("2026年11月20日", date(2026, 11, 20)),
        ("２０２６年１１月２０日", date(2026, 11, 20)),
        ("二〇二六年十一月二十日", date(2026, 11, 20)),
        ("26-11-20", date(2026, 11, 20)),
        ("11月20日", date(2026, 11, 20)),
        ("11月20号", date(2026, 11, 20)),
        ("十一月二十日", date(2026, 11, 20)),
        ("11.20", date(2026, 11, 20)),
        ("11/20", date(2026, 11, 20)),
        ("11-20", date(2026, 11, 20)),
        (" 11 月 20 日 ", date(2026, 11, 20)),
        ("20号", date(2026, 11, 20)),
        ("20日", date(2026, 11, 20)),
        ("二十号", date(2026, 11, 20)),
        ("上周五", date(2026, 11, 13)),
        ("上星期五", date(2026, 11, 13)),
        ("上礼拜五", date(2026, 11, 13)),
        ("上週五", date(2026, 11, 13)),
        ("本周三", date(2026, 11, 18)),
        ("这周三", date(2026, 11, 18)),
        ("本周日", date(2026, 11, 22)),
        ("周五", date(2026, 11, 20)),
        ("星期一", date(2026, 11, 16)),
        ("上上周一", date(2026, 11, 2)),
        ("12月30日", date(2025, 12, 30)),
        ("30号", date(2026, 10, 30)),
        ("上个月30号", date(2026, 10, 30)),
        ("上月5日", date(2026, 10, 5)),
        ("本月1号", date(2026, 11, 1)),
        ("这个月二十号", date(2026, 11, 20)),
    ],
)
def test_accepted(text: str, expected: date) -> None:
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("2月30日", "no_such_date"),
        ("2026-02-30", "no_such_date"),
        ("2025-02-29", "no_such_date"),
        ("13月1日", "no_such_date"),
        ("11月32日", "no_such_date"),
        ("2026-13-01", "no_such_date"),
        ("明天", "future"),
        ("下周一", "future"),
        ("2026-11-23", "future"),
        ("2027年1月1日", "future"),
        ("1999-01-01", "too_old"),
        ("hello", "unknown"),
        ("<b>&", "unknown"),
        ("🙂", "unknown"),
        ("1" * 300, "unknown"),
        ("本月31号", "no_such_date"),
        ("昨天下午", "unknown"),  # only where the time is asked next (parse_held_on)
    ],
)
def test_refused(text: str, code: str) -> None:
    with pytest.raises(DateError) as caught:
        parse_date(text, TODAY)
    assert caught.value.code == code


def test_future_allowed_for_planning() -> None:
    assert parse_date("下周一", TODAY, past=False) == date(2026, 11, 23)
    assert parse_date("明天", TODAY, past=False) == date(2026, 11, 23)
    assert parse_date("后天", TODAY, past=False) == date(2026, 11, 24)
    assert parse_date("12月30日", TODAY, past=False) == date(2026, 12, 30)
    assert parse_date("周五", date(2026, 11, 16), past=False) == date(2026, 11, 20)


def test_year_boundary() -> None:
    new_year = date(2027, 1, 2)
    assert parse_date("12月31日", new_year) == date(2026, 12, 31)
    assert parse_date("31号", new_year) == date(2026, 12, 31)
    assert parse_date("上周五", new_year) == date(2026, 12, 25)
    assert parse_date("前天", new_year) == date(2026, 12, 31)


def test_leap_years() -> None:
    assert parse_date("2月29日", date(2028, 3, 1)) == date(2028, 2, 29)
    assert parse_date("2024-02-29", TODAY) == date(2024, 2, 29)
    # 29号 in a March of a common year: February has no 29th.
    with pytest.raises(DateError):
        parse_date("29号", date(2026, 3, 1))
    assert parse_date("29号", date(2028, 3, 1)) == date(2028, 2, 29)


def test_day_without_month_in_a_short_previous_month_is_refused() -> None:
    # 31号 typed on 5 December means last month, and November has no 31st: ask again.
    with pytest.raises(DateError) as caught:
        parse_date("31号", date(2026, 12, 5))
    assert caught.value.code == "no_such_date"
    assert parse_date("5号", date(2026, 12, 5)) == date(2026, 12, 5)


def test_held_on_never_moves_a_date_to_another_year_silently() -> None:
    from bot.dates import parse_held_on

    today = date(2026, 11, 30)
    with pytest.raises(DateError) as ahead:
        parse_held_on("12月25日", today)
    assert (ahead.value.code, ahead.value.offer) == ("future_this_year", date(2025, 12, 25))
    with pytest.raises(DateError) as old:
        parse_held_on("3月5日", today)
    assert (old.value.code, old.value.offer) == ("confirm_year", date(2026, 3, 5))
    assert parse_held_on("11月20日", today) == date(2026, 11, 20)
    assert parse_held_on("2025年12月25日", today) == date(2025, 12, 25)
    # December typed in early January is last month: taken at once.
    assert parse_held_on("12月30日", date(2027, 1, 5)) == date(2026, 12, 30)
    with pytest.raises(DateError) as leap:
        parse_held_on("2月29日", date(2027, 1, 5))
    assert (leap.value.code, leap.value.offer) == ("no_such_date", None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("昨天下午", date(2026, 11, 21)),
        ("上周五晚上7点", date(2026, 11, 13)),
        ("前天 上午十点", date(2026, 11, 20)),
        ("11月20日 14:30", date(2026, 11, 20)),
        ("11月20日14:30", date(2026, 11, 20)),
        ("20号3点半", date(2026, 11, 20)),
        ("2026-11-20 9点", date(2026, 11, 20)),
        ("周五 19：30", date(2026, 11, 20)),
    ],
)
def test_a_meeting_day_with_its_time_of_day(text: str, expected: date) -> None:
    """The meeting's day typed with its time: the day is read, the time is asked next."""
    assert parse_held_on(text, TODAY) == expected


@pytest.mark.parametrize("text", ["下午3点", "14:30", "2026-11-209点", "11.2014:30"])
def test_a_time_is_not_cut_from_a_date_it_runs_into(text: str) -> None:
    """A time alone is no date; a time run into the digits of a date is not cut off from it
    (2026-11-209点 would otherwise read as 11月2日)."""
    with pytest.raises(DateError) as caught:
        parse_held_on(text, TODAY)
    assert caught.value.code == "unknown"
