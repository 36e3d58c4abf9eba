"""Custom reminders: once, daily, workday, weekly, monthly or quarterly rules, and reading them
(pure functions).

A rule gives planned dates only; bot.workdays decides when a reminder actually goes out.

- monthly on day N: a day past the month's end means its last day (每月31号 falls on 2月28/29日,
  4月30日, ...); 每月最后一天 is stored as day 31.
- quarterly on day N of month `quarter_month` (1..3) of every quarter: month 1 is January, April,
  July and October (每季度10日 = 1月10日, 4月10日, 7月10日, 10月10日); 每季度最后一天 is month 3,
  day 31 (3月31日, 6月30日, 9月30日, 12月31日).

Accepted by ``parse_rule`` (time of day optional, 09:00 when left out; 9:00, 9点, 9点半, 9点15分,
八点一刻, 下午3点, 上午, 晚上 ...):
    once:      12月5日 9:00 / 2026-12-05 15:30 / 明天 9点 / 下周三 14:00 (any bot.dates form)
    daily:     每天 9:00 / 每日 8点半 / 天天
    workday:   每个工作日 9:00 / 工作日每天 (Chinese working days: bot.workdays, with 调休)
    weekly:    每周五 9:00 / 每星期一 8点半 / 每个礼拜三
    monthly:   每月5日 9:00 / 每月最后一天 17:00 / 每月31号 10:00 / 每月底;
               每月第二个周五 15:00 / 每月最后一个星期一 (a weekday of the month, as the 主题党日)
    quarterly: 每季度第一个月10日 9:00 / 每季度 10日 / 每季度第二个月5号 / 每季度最后一天
Full-width digits, Chinese numerals and traditional script (每週五, 每月5號) are accepted.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

import msgspec
from msgspec.structs import replace

from bot.dates import DateError, parse_date
from bot.textnorm import chinese_to_int, clean_line, to_halfwidth
from bot.workdays import is_workday

RULES = ("once", "daily", "workday", "weekly", "monthly", "quarterly")
DEFAULT_TIME = time(9, 0)
LAST_DAY = 31

_TRADITIONAL = str.maketrans(
    {"週": "周", "禮": "礼", "號": "号", "個": "个", "這": "这", "後": "后", "點": "点",
     "時": "时", "鐘": "钟", "兩": "两", "裡": "里", "間": "间"}
)  # fmt: skip
_CN = "零〇一二两三四五六七八九十"
_NUMBER = rf"(\d{{1,4}}|[{_CN}]{{1,5}})"
_QUARTER_MONTHS = {"一": 1, "二": 2, "三": 3, "1": 1, "2": 2, "3": 3}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}

_PERIOD = r"(上午|早上|早晨|清晨|凌晨|中午|午后|下午|傍晚|晚上|晚间|夜里|夜间)"
_HOUR = rf"(?:(?<!\d)(\d{{1,3}})|([{_CN}]{{1,3}}))"
_TIME = re.compile(
    rf"\s*(?:{_PERIOD}\s*)?{_HOUR}\s*"
    rf"(?::\s*(\d{{2}})|[点时]\s*(?:(\d{{1,2}}|[{_CN}]{{1,3}})\s*分?|(半)|(一刻)|(三刻)|整)?\s*钟?)"
    r"\s*"
)
_PM = {"午后", "下午", "傍晚", "晚上", "晚间", "夜里", "夜间"}
_AM = {"上午", "早上", "早晨", "清晨", "凌晨"}

_DAY = rf"(?:{_NUMBER}[日号]|(最后一天|最后一日|底|末)|(第一天|第一日))"
_DAILY = re.compile(r"^(?:每一?天|每日|天天)$")
_WORKDAY = re.compile(r"^(?:每一?个?工作日|工作日(?:每天)?)$")
_WEEKLY = re.compile(r"^每个?(?:周|星期|礼拜)([一二三四五六日天七1-7])$")
_MONTHLY = re.compile(rf"^每个?月的?{_DAY}$")
_MONTHLY_WEEKDAY = re.compile(
    r"^每个?月的?(?:第([一二三四1-4])个|(最后(?:一个?)?))(?:周|星期|礼拜)([一二三四五六日天七1-7])$"
)
_QUARTERLY = re.compile(
    rf"^每个?季度?的?(?:(?:第([一二三123])个?月|(首月)|(最后一个?月|末月))的?)?{_DAY}$"
)
# Once forms without an explicit year, month or week: a date already past means the next one.
_BARE_WEEKDAY = re.compile(r"^(?:周|星期|礼拜)[一二三四五六日天七1-7]$")
_MONTH_DAY = re.compile(rf"^{_NUMBER}(?:[-/.]|月){_NUMBER}[日号]?$")
_DAY_ONLY = re.compile(rf"^{_NUMBER}[日号]$")


class RuleError(ValueError):
    """A rule that cannot be used; ``code`` picks the message shown to the user.

    Codes from parse_rule: unknown, past, no_such_date, bad_time. From validate: bad_kind,
    bad_time, bad_date, bad_weekday, bad_week, bad_day, bad_quarter_month, extra_field.
    """

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class Rule(msgspec.Struct, frozen=True):
    """When a custom reminder falls: `kind` is one of RULES, `at` the local time of day."""

    kind: str
    at: time
    on_date: date | None = None  # once
    weekday: int | None = None  # weekly: 0 = Monday
    day_of_month: int | None = None  # monthly / quarterly: 1..31, past the month's end = last day
    quarter_month: int = 1  # quarterly: which month of the quarter, 1..3
    # monthly on a weekday of the month instead of a day: 1–4 the nth `weekday`, -1 the last
    week: int | None = None


def validate(rule: Rule) -> None:
    """Raise RuleError (a ValueError with ``code``) if `rule` is impossible or inconsistent.

    Fields the kind does not use must stay None (quarter_month 1).
    """
    if rule.kind not in RULES:
        raise RuleError("bad_kind")
    if not isinstance(rule.at, time) or rule.at.tzinfo is not None:
        raise RuleError("bad_time")
    used = {
        "once": {"on_date"},
        "daily": set(),
        "workday": set(),
        "weekly": {"weekday"},
        "monthly": {"day_of_month"} if rule.week is None else {"weekday", "week"},
        "quarterly": {"day_of_month", "quarter_month"},
    }[rule.kind]
    for name in ("on_date", "weekday", "day_of_month", "week"):
        if name not in used and getattr(rule, name) is not None:
            raise RuleError("extra_field")
    if "quarter_month" not in used and rule.quarter_month != 1:
        raise RuleError("extra_field")
    if rule.kind == "once" and (
        not isinstance(rule.on_date, date) or isinstance(rule.on_date, datetime)
    ):
        raise RuleError("bad_date")
    if "weekday" in used and not _int_in(rule.weekday, 0, 6):
        raise RuleError("bad_weekday")
    if "week" in used and not (_int_in(rule.week, 1, 4) or rule.week == -1):
        raise RuleError("bad_week")
    if "day_of_month" in used and not _int_in(rule.day_of_month, 1, 31):
        raise RuleError("bad_day")
    if rule.kind == "quarterly" and not _int_in(rule.quarter_month, 1, 3):
        raise RuleError("bad_quarter_month")


def _int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _in_month(year: int, month: int, day_of_month: int) -> date:
    """Day `day_of_month` of the month, or its last day if the month is shorter."""
    return date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))


def _months(year: int, month: int) -> Iterator[tuple[int, int]]:
    """(year, month) from the given month onwards, up to December 9999."""
    while year <= date.max.year:
        yield year, month
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)


def _month_dates(rule: Rule, start: date) -> Iterator[date]:
    """The rule's dates (monthly or quarterly) from the month of `start` on, in order."""
    from bot.obligations import party_day_in  # the one nth-weekday rule, as the 主题党日's

    for year, month in _months(start.year, start.month):
        if rule.kind == "quarterly" and (month - 1) % 3 != rule.quarter_month - 1:
            continue
        if rule.week is not None:
            assert rule.weekday is not None
            yield party_day_in(year, month, 1, rule.week, rule.weekday)
            continue
        assert rule.day_of_month is not None
        yield _in_month(year, month, rule.day_of_month)


def occurrences(rule: Rule, start: date, end: date) -> list[date]:
    """Every date of `rule` in [start, end], both included, in order."""
    validate(rule)
    if start > end:
        return []
    if rule.kind == "once":
        assert rule.on_date is not None
        return [rule.on_date] if start <= rule.on_date <= end else []
    if rule.kind in ("daily", "workday"):
        days = (start + timedelta(days=n) for n in range((end - start).days + 1))
        return [d for d in days if rule.kind == "daily" or is_workday(d)]
    if rule.kind == "weekly":
        assert rule.weekday is not None
        first = start + timedelta(days=(rule.weekday - start.weekday()) % 7)
        return [first + timedelta(days=7 * n) for n in range(0, (end - first).days // 7 + 1)]
    result = []
    for day in _month_dates(rule, start):
        if day > end:
            break
        if day >= start:
            result.append(day)
    return result


def next_occurrence(rule: Rule, after: date) -> date | None:
    """The first date of `rule` on or after `after` (None for a once rule already past)."""
    validate(rule)
    if rule.kind == "once":
        assert rule.on_date is not None
        return rule.on_date if rule.on_date >= after else None
    if rule.kind == "daily":
        return after
    if rule.kind == "workday":
        day = after
        while not is_workday(day):  # at most a Golden Week away
            day += timedelta(days=1)
        return day
    if rule.kind == "weekly":
        assert rule.weekday is not None
        return after + timedelta(days=(rule.weekday - after.weekday()) % 7)
    for day in _month_dates(rule, after):
        if day >= after:
            return day
    return None


def next_time(rule: Rule, after: datetime) -> datetime | None:
    """The first moment of `rule` strictly after `after` (local, naive): a time already past
    today moves to the next occurrence; None for a once rule already past."""
    day = next_occurrence(rule, after.date())
    if day is not None and datetime.combine(day, rule.at) <= after:
        day = next_occurrence(rule, after.date() + timedelta(days=1))
    return datetime.combine(day, rule.at) if day is not None else None


# -- reading rules typed in Chinese -------------------------------------------------------------


def parse_rule(text: str, today: date) -> Rule:
    """The rule meant by `text`, typed on a phone on `today` (see the module docstring).

    A once date that names no year (12月5日), no month (5号) or no week (周三) and is already past
    means the next such date; an explicit one (2025-12-05, 昨天, 本周一) raises RuleError("past").
    Only the date is checked: 今天 8点 typed at 10:00 is the caller's to refuse.
    """
    value = to_halfwidth(clean_line(text)).translate(_TRADITIONAL).rstrip("。!！")
    value = value.replace("：", ":").strip()
    if not value:
        raise RuleError("unknown")
    # Split "date part + time part" at every place where the tail reads as a time, longest time
    # first (下周五九点 tries 五九点, then 九点), after trying the whole text as a date.
    splits: list[tuple[str, re.Match[str] | None]] = [(value, None)]
    for start in range(len(value)):
        if match := _TIME.fullmatch(value, start):
            splits.append((value[:start].strip(), match))
    errors: list[str] = []
    for date_part, match in splits:
        try:
            rule = _read_date_part(date_part, today)
            return replace(rule, at=_read_time(match) if match else DEFAULT_TIME)
        except RuleError as error:
            errors.append(error.code)
    raise RuleError(next((code for code in errors if code != "unknown"), "unknown"))


def parse_time(text: str) -> time:
    """A time of day typed on a phone: 9:00, 9点, 9点半, 下午3点, 八点一刻 (else RuleError)."""
    value = to_halfwidth(clean_line(text)).translate(_TRADITIONAL).replace("：", ":").strip()
    match = _TIME.fullmatch(value.rstrip("。!！"))
    if not match:
        raise RuleError("unknown")
    return _read_time(match)


def _number(text: str) -> int:
    value = int(text) if text.isdigit() else chinese_to_int(text)
    if value is None:
        raise RuleError("unknown")
    return value


def _read_time(match: re.Match[str]) -> time:
    period, digits, chinese, colon, minutes, half, quarter, three_quarters = match.groups()
    hour = _number(digits or chinese)
    minute = 0
    if colon:
        minute = int(colon)
    elif minutes:
        minute = _number(minutes)
    elif half:
        minute = 30
    elif quarter:
        minute = 15
    elif three_quarters:
        minute = 45
    if period in _PM:
        if hour == 12 and period not in ("午后", "下午"):
            raise RuleError("bad_time")  # 晚上12点: midnight, on which day?
        if hour < 12:
            hour += 12
    elif period in _AM and hour > 12:
        raise RuleError("bad_time")  # 上午15点
    elif period == "中午" and 1 <= hour <= 2:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise RuleError("bad_time")
    return time(hour, minute)


def _read_day(number: str | None, last: str | None, first: str | None) -> int:
    if last:
        return LAST_DAY
    if first:
        return 1
    assert number is not None
    day = _number(number)
    if not 1 <= day <= 31:
        raise RuleError("no_such_date")
    return day


def _read_date_part(text: str, today: date) -> Rule:
    """A rule at DEFAULT_TIME from the date part alone (the time is read by the caller)."""
    value = text.replace(" ", "")
    if not value:
        raise RuleError("unknown")
    if _DAILY.match(value):
        return Rule(kind="daily", at=DEFAULT_TIME)
    if _WORKDAY.match(value):
        return Rule(kind="workday", at=DEFAULT_TIME)
    if match := _WEEKLY.match(value):
        word = match.group(1)
        weekday = int(word) - 1 if word.isdigit() else _WEEKDAYS[word]
        return Rule(kind="weekly", at=DEFAULT_TIME, weekday=weekday)
    if match := _MONTHLY.match(value):
        return Rule(kind="monthly", at=DEFAULT_TIME, day_of_month=_read_day(*match.groups()))
    if match := _MONTHLY_WEEKDAY.match(value):
        nth, last, word = match.groups()
        weekday = int(word) - 1 if word.isdigit() else _WEEKDAYS[word]
        week = -1 if last else (int(nth) if nth.isdigit() else _number(nth))
        return Rule(kind="monthly", at=DEFAULT_TIME, weekday=weekday, week=week)
    if match := _QUARTERLY.match(value):
        which, first_month, last_month, *day = match.groups()
        day_of_month = _read_day(*day)
        if which:
            quarter_month = _QUARTER_MONTHS[which]
        elif last_month or (day[1] and not first_month):
            quarter_month = 3  # 每季度最后一天 = the quarter's last day
        else:
            quarter_month = 1
        return Rule(
            kind="quarterly",
            at=DEFAULT_TIME,
            day_of_month=day_of_month,
            quarter_month=quarter_month,
        )
    if value.startswith("每"):
        raise RuleError("unknown")
    return Rule(kind="once", at=DEFAULT_TIME, on_date=_read_once(value, today))


def _read_once(value: str, today: date) -> date:
    try:
        day = parse_date(value, today, past=False)
    except DateError as error:
        code = {"too_old": "past", "no_such_date": "no_such_date"}.get(error.code, "unknown")
        raise RuleError(code) from None
    if day >= today:
        return day
    if _BARE_WEEKDAY.match(value):
        return day + timedelta(days=7 * ((today - day).days // 7 + 1))
    if _MONTH_DAY.match(value):
        for year in (today.year, today.year + 1):
            if calendar.isleap(year) or (day.month, day.day) != (2, 29):
                candidate = date(year, day.month, day.day)
                if candidate >= today:
                    return candidate
        raise RuleError("no_such_date")
    if _DAY_ONLY.match(value):
        for year, month in _months(today.year, today.month):
            if day.day <= calendar.monthrange(year, month)[1]:
                candidate = date(year, month, day.day)
                if candidate >= today:
                    return candidate
    raise RuleError("past")
