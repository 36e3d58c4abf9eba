"""bot.notify's pure rules: the day and the time read, the outbox rows of a notice (the
reminder's time, only to the silent and linked), and the attendance its answers give."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot import notify
from bot.branch_profile import InvalidAnswer
from db.meeting_notices import Answers, Notice

ZONE = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 20)


def _notice(held_on: date = date(2026, 11, 25)) -> Notice:
    return Notice(1, 2, "member_meeting", held_on, "14:30", "会议室", "学习", -100, 9, False, None)


@pytest.mark.parametrize(
    ("typed", "code"),
    [("2月30日", "date_no_such_date"), ("昨天", "date_past"), ("11月19日", "date_past"),
     ("2027-03-01", "notify_far"), ("", "date_empty"), ("哪天都行", "date_unknown")],
)  # fmt: skip
def test_bad_days(typed: str, code: str) -> None:
    with pytest.raises(InvalidAnswer) as caught:
        notify.read_day(typed, TODAY)
    assert caught.value.code == code


def test_days_and_times_as_typed() -> None:
    assert notify.read_day("今天", TODAY) == TODAY
    assert notify.read_day("下周三", TODAY) == date(2026, 11, 25)
    assert notify.read_day("12月5日", TODAY) == date(2026, 12, 5)
    # Without a year (or a month), a day gone by means the coming one when that is near.
    assert notify.read_day("1月5日", date(2026, 12, 20)) == date(2027, 1, 5)
    assert notify.read_day("5号", date(2026, 11, 28)) == date(2026, 12, 5)
    with pytest.raises(InvalidAnswer, match="date_past"):
        notify.read_day("2026年1月5日", date(2026, 12, 20))
    assert notify.read_time_place("下午3点 会议室") == ("15:00", "会议室")
    assert notify.read_time_place("14:30 <b>活动室</b>") == ("14:30", "<b>活动室</b>")
    for typed, code in (("会议室", "notify_need_time"), ("25:00 会议室", "bad_time")):
        with pytest.raises(InvalidAnswer) as caught:
            notify.read_time_place(typed)
        assert caught.value.code == code


def test_reminders_only_to_the_silent_and_linked_at_the_reminder_time() -> None:
    found = Answers(4, ["甲"], [("乙", "出差")], [(30, 3000), (40, None)])
    now = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    card, reminder = notify.messages(_notice(), found, "09:00", ZONE, now)
    assert (card.key, card.chat_id, card.not_before) == ("nf:1:card", -100, now)
    assert card.expires_at == datetime(2026, 11, 25, 14, 30, tzinfo=ZONE)
    assert (reminder.key, reminder.chat_id) == ("nf:1:rm:30:3000", 3000)
    assert reminder.not_before == datetime(2026, 11, 24, 9, 0, tzinfo=ZONE)
    # Sent the evening before: the reminder's time has passed, the notice itself is the nudge.
    late = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert [m.key for m in notify.messages(_notice(), found, "09:00", ZONE, late)] == ["nf:1:card"]
    assert notify.reminder_prefix(1, 3) == "nf:1:rm:3:"


def test_attendance_from_the_answers() -> None:
    found = Answers(4, ["甲", "丙"], [("乙", "出差")], [(40, None)])
    assert notify.attendance(found) == {
        "expected": 4, "present": 2, "on_leave": 1, "absentees": [["乙", "请假：出差"]],
    }  # fmt: skip
    signed = {"expected": 4, "present": 2, "on_leave": 0, "absentees": [["乙", ""], ["丁", ""]]}
    assert notify.merge_leaves(signed, found) == {
        "expected": 4, "present": 2, "on_leave": 1,
        "absentees": [["乙", "请假：出差"], ["丁", ""]],
    }  # fmt: skip
    # A reason given at the sign-in wins over the notice's.
    signed["absentees"] = [["乙", "请假：生病"]]
    signed["on_leave"] = 1
    assert notify.merge_leaves(signed, found)["absentees"] == [["乙", "请假：生病"]]
