"""Questions that carry numbers, answered for those numbers (pure functions).

- 党费: "月工资4500交多少党费" → 45.00 元/月 with its bracket (《关于中国共产党党费收缴、使用和
  管理的规定》: 3000 元以下（含）0.5%，3000–5000 元（含）1%，5000–10000 元（含）1.5%，10000 元以上
  2%；离退休 5000 元以下（含）0.5%，以上 1%).
- 转正: "预备期从去年3月1日开始什么时候转正" → the day the one-year probation ends (党章第七条).
- 人数: "只有2名正式党员" / "我们有12个党员" → counts for the formation advisor.
- 到会: "应到12人来了5个能表决吗" → whether more than half attend, and votes needed.
Text passed in is already normalized (simplified, half-width, numerals as digits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

# (upper bound included, rate in percent); None: no upper bound.
SALARY_BRACKETS = ((Decimal(3000), Decimal("0.5")), (Decimal(5000), Decimal(1)),
                   (Decimal(10000), Decimal("1.5")), (None, Decimal(2)))  # fmt: skip
RETIRED_BRACKETS = ((Decimal(5000), Decimal("0.5")), (None, Decimal(1)))
MAX_INCOME = Decimal(10_000_000)

_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(万|千|k|元|块)?", re.IGNORECASE)
_INCOME_WORDS = ("工资", "收入", "月薪", "薪", "退休", "养老金", "挣", "到手", "税后", "拿")
_RETIRED_WORDS = ("退休", "离休", "养老金")
_FULL_DATE = re.compile(r"(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})\s*[日号]?")
_RELATIVE_YEAR = re.compile(r"(前年|去年|今年)\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
_FORMAL = re.compile(r"(\d{1,4})\s*(?:个|名|位|人)?\s*正式党员")
_PROBATIONARY = re.compile(r"(\d{1,4})\s*(?:个|名|位|人)?\s*预备党员")
_MEMBERS = re.compile(r"(\d{1,4})\s*(?:个|名|位|人)?\s*(?:党员|黨員)")
_EXPECTED = re.compile(r"应到(?:会)?\s*(\d{1,4})")
_PRESENT = re.compile(r"(?:实到|来了|到了|到会|只来|来)\s*(\d{1,4})")


@dataclass(frozen=True)
class Dues:
    income: Decimal
    retired: bool
    rate: Decimal  # percent
    low: Decimal | None  # the bracket: (low, high]
    high: Decimal | None
    monthly: Decimal


def dues_for(income: Decimal, *, retired: bool = False) -> Dues:
    """The monthly dues for a monthly income (after tax) under the brackets above."""
    brackets = RETIRED_BRACKETS if retired else SALARY_BRACKETS
    low: Decimal | None = None
    for high, rate in brackets:
        if high is None or income <= high:
            monthly = (income * rate / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            return Dues(income, retired, rate, low, high, monthly)
        low = high
    raise AssertionError("the last bracket has no upper bound")


def dues_question(text: str) -> Dues | None:
    """A dues question with an income in it, or None."""
    if "党费" not in text:
        return None
    for match in _AMOUNT.finditer(text):
        value = Decimal(match.group(1))
        unit = (match.group(2) or "").lower()
        value *= {"万": 10000, "千": 1000, "k": 1000}.get(unit, 1)
        after = text[match.end() : match.end() + 1]
        if after in ("%", "年", "月", "日", "号", "个", "名", "人", "岁") and not unit:
            continue
        near = text[max(0, match.start() - 8) : match.start()]
        if value < 100 and not any(w in near for w in _INCOME_WORDS):
            continue
        if value <= 0 or value > MAX_INCOME:
            continue
        return dues_for(value, retired=any(w in text for w in _RETIRED_WORDS))
    return None


@dataclass(frozen=True)
class Probation:
    start: date
    end: date


def add_year(day: date) -> date:
    """The same day a year later (29 February → 28 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


class NoSuchDate(ValueError):
    """A date like 2月30日 in the question."""


def probation_question(text: str, today: date) -> Probation | None:
    """A question about when a probationary member's year ends, with the start date in it."""
    if not any(w in text for w in ("预备", "转正")):
        return None
    found = _date_in(text, today)
    return Probation(found, add_year(found)) if found else None


def _date_in(text: str, today: date) -> date | None:
    year = month = day = None
    if match := _FULL_DATE.search(text):
        year, month, day = (int(x) for x in match.groups())
    elif match := _RELATIVE_YEAR.search(text):
        shift = {"前年": 2, "去年": 1, "今年": 0}[match.group(1)]
        year, month, day = today.year - shift, int(match.group(2)), int(match.group(3))
    elif match := _MONTH_DAY.search(text):
        month, day = int(match.group(1)), int(match.group(2))
        year = today.year
        try:
            if date(year, month, day) > today:
                year -= 1
        except ValueError:
            pass
    if year is None or month is None or day is None:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        raise NoSuchDate(f"{year}-{month}-{day}") from None


@dataclass(frozen=True)
class Counts:
    formal: int
    probationary: int


def member_counts(text: str) -> Counts | None:
    """Member numbers in a question about setting up a branch ("只有2名正式党员")."""
    formal = _FORMAL.search(text)
    probationary = _PROBATIONARY.search(text)
    members = _MEMBERS.search(text)
    if formal:
        count = int(formal.group(1))
    elif members and not (probationary and probationary.start() == members.start()):
        count = int(members.group(1))
    else:
        return None
    extra = int(probationary.group(1)) if probationary else 0
    if count > 10000 or extra > 10000:
        return None
    return Counts(count, extra)


@dataclass(frozen=True)
class Quorum:
    expected: int
    present: int

    @property
    def needed(self) -> int:
        """At least this many must attend (more than half of those expected)."""
        return self.expected // 2 + 1

    @property
    def enough(self) -> bool:
        return self.present >= self.needed

    @property
    def votes_needed(self) -> int:
        """Votes in favour to pass: more than half of those expected to attend."""
        return self.expected // 2 + 1


def quorum_question(text: str) -> Quorum | None:
    """ "应到12人来了5个能表决吗": the numbers expected and present."""
    expected = _EXPECTED.search(text)
    present = _PRESENT.search(text, expected.end()) if expected else None
    if not expected or not present:
        return None
    result = Quorum(int(expected.group(1)), int(present.group(1)))
    if result.expected == 0 or result.present > result.expected:
        return None
    return result
