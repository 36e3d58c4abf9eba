"""Meeting notices (pure): reading the day and the time, the outbox rows a notice sends, and
what its answers put into a meeting record's attendance.

The day-before reminder goes in private to each linked party member who has not answered, and
is cancelled when they answer; the group is never told who stayed silent (the card shows only
counts), which is what a secretary wants: a nudge, not a public list.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import buttons as bt
from bot import catalog, meeting_form
from bot.branch_profile import InvalidAnswer
from bot.dates import DateError, parse_date
from bot.texts import labels, render
from db.meeting_notices import Answers, Notice
from db.outbox import Buttons, OutboxMessage

# Every sitting a group is called to (a 谈心谈话 is between two people).
NOTICE_KINDS = tuple(kind.code for kind in catalog.KINDS if kind.code != "heart_to_heart_talk")
MAX_DAYS_AHEAD = 90  # a date further ahead is more likely a typo (2027 for 2026)
_YEAR = re.compile(r"\d{3,4}|年|[零〇一二三四五六七八九]{4}")
_MONTH = re.compile(r"月|[-/.．]|周|星期|礼拜|天")


def read_day(text: str, today: date) -> date:
    """The meeting's day: a real date, today or later (a notice is for a meeting to come)."""
    try:
        day = _coming(parse_date(text, today, past=False), text, today)
    except DateError as error:
        raise InvalidAnswer("date_" + error.code) from None
    if day < today:
        raise InvalidAnswer("date_past")
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidAnswer("notify_far", days=MAX_DAYS_AHEAD)
    return day


def _coming(day: date, text: str, today: date) -> date:
    """A day typed without its year (or month) that has passed means the coming one when that
    is near: 1月5日 typed in December is next January's, 5号 typed on the 28th next month's.
    A date with its year is taken as typed."""
    if day >= today or _YEAR.search(text):
        return day
    if _MONTH.search(text):
        year, month = day.year + 1, day.month
    else:
        year, month = (day.year, day.month + 1) if day.month < 12 else (day.year + 1, 1)
    try:
        coming = date(year, month, day.day)
    except ValueError:
        return day
    return coming if coming <= today + timedelta(days=MAX_DAYS_AHEAD) else day


def read_time_place(text: str) -> tuple[str, str]:
    """ "14:30 党员活动室": the start time is needed here, then the place (as /log reads it)."""
    found = meeting_form.read_time_place(text)
    if found["start_time"] is None:
        raise InvalidAnswer("notify_need_time")
    return found["start_time"], found["place"]


def starts_at(notice: Notice, zone: ZoneInfo) -> datetime:
    """When the meeting starts (aware)."""
    hour, minute = (int(x) for x in notice.start_time.split(":"))
    return datetime.combine(notice.held_on, time(hour, minute), tzinfo=zone)


def answer_buttons(notice_id: int) -> Buttons:
    """参加 and 请假, on the card and in the reminder."""
    lab = labels()
    return (
        ((lab.NOTIFY_ATTEND, bt.NF_ATTEND(notice_id)), (lab.NOTIFY_LEAVE, bt.NF_LEAVE(notice_id))),
    )


def card_key(notice_id: int) -> str:
    """The outbox key of the card in the group."""
    return f"nf:{notice_id}:card"


def reminder_prefix(notice_id: int, member_id: int | None = None) -> str:
    """The outbox keys of a notice's reminders (of one member)."""
    return f"nf:{notice_id}:rm:" + ("" if member_id is None else f"{member_id}:")


def card_text(notice: Notice, found: Answers, today: date) -> str:
    """The card in the group: the meeting, the counts, and whether it still takes answers."""
    return render(
        "notify_card",
        n=notice,
        kind=labels().KINDS[notice.kind],
        answers=found,
        state="cancelled" if notice.cancelled else "open" if notice.is_open(today) else "over",
    )


def messages(
    notice: Notice, found: Answers, remind_at: str, zone: ZoneInfo, now: datetime
) -> list[OutboxMessage]:
    """The card (at once), and the day-before reminders at the branch's reminder time to linked
    party members who have not answered yet (none if that time has passed: they just got it)."""
    result = [
        OutboxMessage(
            key=card_key(notice.id),
            branch_id=notice.branch_id,
            chat_id=notice.chat_id,
            text=card_text(notice, found, now.astimezone(zone).date()),
            buttons=answer_buttons(notice.id),
            not_before=now,
            expires_at=starts_at(notice, zone),
        )
    ]
    hour, minute = (int(x) for x in remind_at.split(":"))
    moment = datetime.combine(notice.held_on - timedelta(days=1), time(hour, minute), zone)
    if moment <= now:
        return result
    text = render("notify_reminder", n=notice, kind=labels().KINDS[notice.kind])
    result += [
        OutboxMessage(
            key=reminder_prefix(notice.id, member_id) + str(user_id),
            branch_id=notice.branch_id,
            chat_id=user_id,
            text=text,
            buttons=answer_buttons(notice.id),
            not_before=moment,
            expires_at=starts_at(notice, zone),
        )
        for member_id, user_id in found.silent
        if user_id is not None
    ]
    return result


def attendance(found: Answers) -> dict[str, Any]:
    """A record's attendance from the answers: 参加 counted present, 请假 absent with the reason
    (the secretary corrects it on the review card if someone did not come after all)."""
    return {
        "expected": found.expected,
        "present": len(found.attend),
        "on_leave": len(found.leave),
        "absentees": [[name, _leave(reason)] for name, reason in found.leave],
    }


def _leave(reason: str) -> str:
    """An absentee's reason as a 请假 (its wording counts it as leave: meeting_form's rule)."""
    return str(labels().NOTIFY_LEAVE_REASON.format(reason=reason))


def merge_leaves(values: dict[str, Any], found: Answers) -> dict[str, Any]:
    """A closed sign-in's attendance with the notice's leave reasons: an absentee who asked for
    leave on the notice counts as on leave, with the reason given there."""
    reasons = dict(found.leave)
    absentees = []
    on_leave = values["on_leave"]
    for name, reason in values["absentees"]:
        if not reason and name in reasons:
            reason = _leave(reasons[name])
            on_leave += 1
        absentees.append([name, reason])
    return {**values, "on_leave": on_leave, "absentees": absentees}
