"""Reading what a secretary types into /reminders and /remind (pure functions).

Each reader returns the value to store or raises InvalidAnswer with the code of the message the
user sees (bot/templates/input_error.j2), so every bad answer gets a reason and a second chance.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

import msgspec

from bot.branch_profile import InvalidAnswer
from bot.dates import EARLIEST_YEAR, DateError, parse_date
from bot.recurrence import Rule, RuleError, parse_rule, parse_time
from bot.textnorm import clean_line, to_halfwidth
from bot.workdays import in_quiet_hours

MAX_LEAD = 30
MAX_LEADS = 3
TERM_CHOICES = (3, 5)
# The quick lead-day buttons' codes (labels.QUICK_LEADS) and the days each one stands for.
QUICK_LEADS: dict[str, tuple[int, ...]] = {"7-2": (7, 2), "3-1": (3, 1), "1": (1,), "none": ()}
_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")


class RuleData(msgspec.Struct):
    """A recurrence rule as a draft keeps it (the fields of a stored custom reminder)."""

    kind: str
    at_time: str
    on_date: str | None = None
    weekday: int | None = None
    day_of_month: int | None = None
    quarter_month: int = 1
    week: int | None = None


def rule_data(rule: Rule) -> RuleData:
    """A rule as draft data."""
    return RuleData(
        kind=rule.kind,
        at_time=rule.at.strftime("%H:%M"),
        on_date=rule.on_date.isoformat() if rule.on_date else None,
        weekday=rule.weekday,
        day_of_month=rule.day_of_month,
        quarter_month=rule.quarter_month,
        week=rule.week,
    )


def rule_from(data: RuleData) -> Rule:
    """The rule a draft keeps."""
    hour, minute = (int(x) for x in data.at_time.split(":"))
    return Rule(
        kind=data.kind,
        at=time(hour, minute),
        on_date=date.fromisoformat(data.on_date) if data.on_date else None,
        weekday=data.weekday,
        day_of_month=data.day_of_month,
        quarter_month=data.quarter_month,
        week=data.week,
    )


def read_time(value: str) -> str:
    """The daily reminder time, as HH:MM (never in the quiet hours)."""
    try:
        at = parse_time(value)
    except RuleError as error:
        raise InvalidAnswer(
            "rule_bad_time" if error.code == "bad_time" else "time_unknown"
        ) from None
    if in_quiet_hours(at):
        raise InvalidAnswer("quiet")
    return at.strftime("%H:%M")


def read_lead(value: str) -> tuple[int, ...]:
    """Days before a deadline to remind: up to three numbers 1..30 (none: only on the day)."""
    text = to_halfwidth(clean_line(value))
    if text in ("none", "0", "不提前"):
        return ()
    parts = [p for p in text.replace("、", ",").replace(",", " ").split() if p]
    parts = [p.removesuffix("天") for p in parts]
    if not parts or len(parts) > MAX_LEADS or not all(p.isdigit() for p in parts):
        raise InvalidAnswer("lead_unknown")
    days = sorted({int(p) for p in parts}, reverse=True)
    if not all(1 <= d <= MAX_LEAD for d in days):
        raise InvalidAnswer("lead_unknown")
    return tuple(days)


def read_years(value: str) -> int:
    """The term of office in years, 1..5."""
    text = to_halfwidth(clean_line(value)).removesuffix("年")
    if not text.isdigit() or not 1 <= int(text) <= 5:
        raise InvalidAnswer("term_years")
    return int(text)


def read_election(value: str, today: date) -> tuple[date, bool]:
    """The last 换届: a day, or only a month ("2024年6月", kept as its first day)."""
    if match := _MONTH.match(to_halfwidth(clean_line(value)).rstrip("。")):
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise InvalidAnswer("date_no_such_date")
        if year < EARLIEST_YEAR:
            raise InvalidAnswer("date_too_old")
        if date(year, month, 1) > today:
            raise InvalidAnswer("date_future")
        return date(year, month, 1), True
    try:
        return parse_date(value, today), False
    except DateError as error:
        raise InvalidAnswer("date_" + error.code) from None


def read_rule(value: str, today: date) -> Rule:
    """When a custom reminder goes out (see bot.recurrence.parse_rule)."""
    try:
        return parse_rule(value, today)
    except RuleError as error:
        code = error.code if error.code in ("past", "no_such_date", "bad_time") else "unknown"
        raise InvalidAnswer("rule_" + code) from None


def check_rule(rule: Rule, now: datetime) -> None:
    """Refuse a rule that would go out in the quiet hours, or a single time already past."""
    if in_quiet_hours(rule.at):
        raise InvalidAnswer("rule_quiet")
    local = now.replace(tzinfo=None)
    if rule.kind == "once" and datetime.combine(rule.on_date or local.date(), rule.at) <= local:
        raise InvalidAnswer("rule_past")


def read_text(value: str, limit: int) -> str:
    """What a custom reminder says: one line, at most `limit` characters."""
    text = clean_line(value)
    if not text:
        raise InvalidAnswer("empty")
    if len(text) > limit:
        raise InvalidAnswer("too_long", length=len(text), limit=limit)
    return text


def split_rule(text: str, today: date) -> tuple[Rule, str]:
    """`/remind 每周五 9:00 收党费`: the longest leading words read as a rule, and the rest.

    Raises InvalidAnswer with the most telling reason (2月30日 does not exist, not "没看懂").
    """
    words = clean_line(to_halfwidth(text)).split(" ")
    errors: list[InvalidAnswer] = []
    for cut in range(len(words) - 1, 0, -1):
        try:
            return read_rule(" ".join(words[:cut]), today), " ".join(words[cut:])
        except InvalidAnswer as error:
            errors.append(error)
    raise next((e for e in errors if e.code != "rule_unknown"), InvalidAnswer("rule_unknown"))
