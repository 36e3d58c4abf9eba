"""Dates as people type them on a phone in Chinese, read relative to today (pure functions).

Accepted: 今天 / 昨天 / 前天 / 大前天 (明天 / 后天 when planning); 2026-11-20, 2026/11/20,
2026.11.20, 2026年11月20日;
11月20日, 11月20号, 11.20, 11/20, 11-20; 20号, 20日; 本周三, 这周三, 上周五, 上星期五,
上礼拜五, 周五; 上个月20号, 本月5号; full-width digits, Chinese numerals (十一月二十日) and
traditional script (上週五). Where a meeting's day is asked (parse_held_on), a time of day after
the date (昨天下午, 上周五晚上7点, 11月20日 14:30) is left to the question that asks for the time.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.textnorm import chinese_to_int, clean_line, to_halfwidth

EARLIEST_YEAR = 2000
# Days before today.
_RELATIVE_DAYS = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2, "大前天": 3,
                  "明天": -1, "后天": -2}  # fmt: skip
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_TRADITIONAL = str.maketrans(
    {"週": "周", "禮": "礼", "號": "号", "個": "个", "這": "这", "後": "后"}
)
_NUMBER = r"(\d{1,4}|[零〇一二两三四五六七八九十]{1,5})"
_FULL = re.compile(rf"^{_NUMBER}\s*[-/.年]\s*{_NUMBER}\s*[-/.月]\s*{_NUMBER}\s*[日号]?$")
_MONTH_DAY = re.compile(rf"^{_NUMBER}\s*(?:[-/.]|月)\s*{_NUMBER}\s*[日号]?$")
_DAY = re.compile(rf"^{_NUMBER}\s*[日号]$")
_WEEK = re.compile(r"^(上上|上|本|这|下)?(?:个)?(?:周|星期|礼拜)([一二三四五六日天七1-7])$")
_MONTH_OF = re.compile(rf"^(上个?月|本月|这个?月|下个?月){_NUMBER}\s*[日号]$")
# A time of day typed after the date: 下午, 晚上7点, 7点半, 14:30. It is cut off only where it
# cannot be part of the date: at a word for the time of day, after a space, or right after a
# day's last character (日, 号, 天, a weekday) — "2026-11-209点" is no date, never 11月2日.
_HOUR = r"(?:\d{1,2}|[零一二两三四五六七八九十]{1,3})(?:[:：]\d{2}|点(?:半|钟|\d{1,2}分?)?)"
_PERIOD_OF_DAY = re.compile(r"(?:上午|下午|中午|晚上|早上|早晨|傍晚|凌晨).*$")
_SPACED_TIME = re.compile(rf"\s+{_HOUR}$")
_JOINED_TIME = re.compile(rf"(?<=[日号天一二三四五六七]){_HOUR}$")


# A date typed without a year that lies further back than this is confirmed with its year.
CONFIRM_AFTER_DAYS = 183


class DateError(ValueError):
    """A text that is not a usable date; ``code`` picks the message shown to the user.

    ``offer`` is the date the user probably meant, to confirm with one tap (never taken silently).
    """

    def __init__(self, code: str, offer: date | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.offer = offer


def _number(text: str) -> int:
    if text.isdigit():
        return int(text)
    value = chinese_to_int(text)
    if value is None:
        raise DateError("unknown")
    if len(text) == 4 and all(ch in "零〇一二三四五六七八九" for ch in text):
        return int("".join(str(chinese_to_int(ch) or 0) for ch in text))
    return value


def _make(year: int, month: int, day: int) -> date:
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        raise DateError("no_such_date")
    try:
        return date(year, month, day)
    except ValueError:
        raise DateError("no_such_date") from None


def _weekday(word: str) -> int:
    if word.isdigit():
        return int(word) - 1
    return _WEEKDAYS[word]


def parse_date(text: str, today: date, *, past: bool = True, time_after: bool = False) -> date:
    """The date meant by `text`, seen from `today`.

    With `past` (a meeting already held): a date without a year or month that would lie ahead is
    taken from the previous year or month, and a date still ahead raises DateError("future").
    With `time_after`, a time of day after the date is passed over (where the time is asked for
    next, or not kept); otherwise it makes the text no date (a reminder reads it itself).
    """
    value = _normalized(text, time_after=time_after)
    if not value:
        raise DateError("empty")
    result = _read(value, today, past=past)
    if result.year < EARLIEST_YEAR:
        raise DateError("too_old")
    if past and result > today:
        raise DateError("future")
    return result


def parse_held_on(text: str, today: date) -> date:
    """The day a meeting was held, never guessed into another year without asking.

    A month and day still ahead this year is "还没到" (offering last year's, unless that is
    recent, as 12月30日 typed in January); a date typed without a year that lies more than about
    six months back is offered for confirmation with its year.
    """
    value = _normalized(text, time_after=True)
    if match := _MONTH_DAY.match(value):
        month, day = (_number(g) for g in match.groups())
        if _valid(today.year, month, day) and _make(today.year, month, day) > today:
            last = (
                _make(today.year - 1, month, day) if _valid(today.year - 1, month, day) else None
            )
            if last is None or (today - last).days > CONFIRM_AFTER_DAYS:
                raise DateError("future_this_year", offer=last)
    result = parse_date(text, today, past=True, time_after=True)
    has_year = bool(_FULL.match(value))
    if not has_year and (today - result).days > CONFIRM_AFTER_DAYS:
        raise DateError("confirm_year", offer=result)
    return result


def _normalized(text: str, *, time_after: bool) -> str:
    """The text without spaces or full stops, and with `time_after` without a time of day after
    the date (a time alone stays: it is no date)."""
    value, _ = _split_time(text) if time_after else (_tidy(text), "")
    return value.replace(" ", "")


def time_after_date(text: str) -> str:
    """The time of day typed after a date ("昨天下午3点" -> "下午3点"; "" if none)."""
    return _split_time(text)[1].strip()


def _tidy(text: str) -> str:
    return to_halfwidth(clean_line(text)).translate(_TRADITIONAL).strip().rstrip("。!！")


def _split_time(text: str) -> tuple[str, str]:
    value = _tidy(text)
    for pattern in (_PERIOD_OF_DAY, _SPACED_TIME, _JOINED_TIME):
        match = pattern.search(value)
        if match and match.start() > 0:
            return value[: match.start()], value[match.start() :]
    return value, ""


def _read(value: str, today: date, *, past: bool) -> date:
    if value in _RELATIVE_DAYS:
        return today - timedelta(days=_RELATIVE_DAYS[value])
    if match := _WEEK.match(value):
        which, day = match.groups()
        monday = today - timedelta(days=today.weekday())
        shift = {"上上": -14, "上": -7, "下": 7}.get(which or "", 0)
        result = monday + timedelta(days=shift + _weekday(day))
        if which is None and past and result > today:
            result -= timedelta(days=7)
        return result
    if match := _FULL.match(value):
        year, month, day = (_number(g) for g in match.groups())
        if year < 100:
            year += 2000
        return _make(year, month, day)
    if match := _MONTH_DAY.match(value):
        month, day = (_number(g) for g in match.groups())
        result = _make(today.year, month, day) if _valid(today.year, month, day) else None
        if result is None or (past and result > today):
            # Not this year (e.g. 2月29日 in a common year, or 12月30日 seen in January).
            return _make(today.year - 1, month, day)
        return result
    if match := _MONTH_OF.match(value):
        which, day_text = match.groups()
        shift = -1 if which.startswith("上") else 1 if which.startswith("下") else 0
        index = today.year * 12 + today.month - 1 + shift
        return _make(index // 12, index % 12 + 1, _number(day_text))
    if match := _DAY.match(value):
        day = _number(match.group(1))
        year, month = today.year, today.month
        if _valid(year, month, day) and not (past and day > today.day):
            return _make(year, month, day)
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        return _make(year, month, day)
    raise DateError("unknown")


def _valid(year: int, month: int, day: int) -> bool:
    try:
        _make(year, month, day)
    except DateError:
        return False
    return True
