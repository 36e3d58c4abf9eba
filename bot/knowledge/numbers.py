"""Questions that carry numbers, answered for those numbers (pure functions).

- 党费: "月工资4500交多少党费" → 45.00 元/月 with its bracket (《关于中国共产党党费收缴、使用和
  管理的规定》: 3000 元以下（含）0.5%，3000–5000 元（含）1%，5000–10000 元（含）1.5%，10000 元以上
  2%；离退休 5000 元以下（含）0.5%，以上 1%). Amounts as people type them: 1万2 = 12000,
  3千5 = 3500, 1.2万; 年薪 / 年收入 are divided by 12; "没退休" is not retired; a range across two
  brackets is asked back; 返聘 is not computed (the superior organization decides the base).
- 转正: "预备期从去年3月1日开始什么时候转正" → the day the one-year probation ends (党章第七条),
  later by the extension when the question says the probation was extended (延长半年 / 一年).
- 人数: "只有2名正式党员" / "我们有12个党员" → counts for the formation advisor; "3名党员，其中
  1名预备党员" is 2 formal members (the total less the probationary ones).
- 到会: "应到12人来了5个能表决吗" → whether more than half attend, and votes needed;
  "13个正式党员2个预备党员，党员大会至少要到多少人" → how many must attend (the formal members
  only count) and how many votes pass a motion. Not for an election: its rule (FACTS.md 48) is
  not confirmed, so such a question goes to the knowledge base. "支委会5个委员来了3个能开吗" →
  whether more than half the committee attends (第十二条).
Text passed in is already normalized (simplified, half-width, numerals as digits).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import msgspec

from bot.meetings import majority
from bot.textnorm import chinese_to_int

# (upper bound included, rate in percent); None: no upper bound.
SALARY_BRACKETS = ((Decimal(3000), Decimal("0.5")), (Decimal(5000), Decimal(1)),
                   (Decimal(10000), Decimal("1.5")), (None, Decimal(2)))  # fmt: skip
RETIRED_BRACKETS = ((Decimal(5000), Decimal("0.5")), (None, Decimal(1)))
MAX_INCOME = Decimal(10_000_000)

# A typed amount: 4500, 1.2万, 1万2 (= 12000), 3千5 (= 3500), 8k; the unit may follow.
_AMOUNT = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:(万|千|k)\s*(?:(\d)(?![\d.])\s*(千)?)?)?\s*(元|块)?", re.IGNORECASE
)
_CHINESE_AMOUNT = re.compile(r"[一二两三四五六七八九十][零一二两三四五六七八九十百千万]*")
_RANGE = re.compile(r"(\d+(?:\.\d+)?)\s*(万|千|k)?\s*(?:-|~|到|至)\s*(\d+(?:\.\d+)?)\s*(万|千|k)?")
_INCOME_WORDS = (
    "工资",
    "收入",
    "月薪",
    "薪",
    "退休",
    "养老金",
    "挣",
    "到手",
    "税后",
    "拿",
    "月入",
)
_ANNUAL_WORDS = ("年薪", "年收入", "年工资", "一年收入", "全年收入", "年入", "一年挣", "一年拿")
_MONTHLY_WORDS = ("月", "每个月")
# A monthly income this high is more likely a yearly one typed without saying so: asked back.
UNCLEAR_INCOME = Decimal(50000)
_NOT_RETIRED = re.compile(r"(没|没有|未|还没|还没有|不是|尚未|非)\s*(离退休|退休|离休)")
_RETIRED_WORDS = ("退休", "离休", "养老金")
_FULL_DATE = re.compile(r"(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})\s*[日号]?")
_RELATIVE_YEAR = re.compile(r"(前年|去年|今年)\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
_FORMAL = re.compile(r"(\d{1,4})\s*(?:个|名|位|人)?\s*正式党员")
_PROBATIONARY = re.compile(r"(\d{1,4})\s*(?:个|名|位|人)?\s*预备党员")
_MEMBERS = re.compile(r"(\d{1,4})\s*(?:个|名|位|人)?\s*(?:党员|黨員)")
_EXPECTED = re.compile(r"应到(?:会)?\s*(\d{1,4})")
_PRESENT = re.compile(r"(?:实到|来了|到了|到会|只来|来)\s*(\d{1,4})")
_COMMITTEE = re.compile(
    r"支委(?:会)?(?:委员)?\s*(?:有|共|一共)?\s*(\d{1,2})\s*(?:个|名|位)?\s*(?:人|委员)?"
)
# "至少要到多少人", "几个人到会才有效", "过半数是几个", "多少票通过": how many must attend or vote.
_HOW_MANY = r"(?:多少|几)\s*(?:个|名|位)?\s*人?"
_ASK_ATTENDANCE = re.compile(
    rf"{_HOW_MANY}\s*(?:到会|到场|参加|出席|参会|才能开|才有效|才算|才能表决)"
    rf"|(?:到会|到场|出席|参加|参会|来|到)\s*{_HOW_MANY}"
    rf"|过半数?\s*(?:是|要|得)?\s*{_HOW_MANY}|(?:多少|几)\s*票"
    r"|(?:来|到|到会|到场|出席|参加)\s*(?:的人)?\s*(?:要|得|须|必须)?\s*(?:一半|半数|过半)"
)
# An election's rule is not confirmed (FACTS.md 48); the other meetings have no vote rule.
_NOT_QUORUM_WORDS = (
    "选举",
    "换届",
    "改选",
    "补选",
    "选支委",
    "选书记",
    "选委员",
    "党小组",
    "支委会",
    "委员会会议",
    "党课",
    "主题党日",
    "组织生活会",
    "谈心",
)


class Dues(msgspec.Struct, frozen=True):
    income: Decimal
    retired: bool
    rate: Decimal  # percent
    low: Decimal | None  # the bracket: (low, high]
    high: Decimal | None
    monthly: Decimal
    annual: Decimal | None = None  # the yearly income typed, when the income is that ÷ 12


def dues_for(income: Decimal, *, retired: bool = False, annual: Decimal | None = None) -> Dues:
    """The monthly dues for a monthly income (after tax) under the brackets above."""
    brackets = RETIRED_BRACKETS if retired else SALARY_BRACKETS
    low: Decimal | None = None
    for high, rate in brackets:
        if high is None or income <= high:
            monthly = (income * rate / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            return Dues(income, retired, rate, low, high, monthly, annual)
        low = high
    raise AssertionError("the last bracket has no upper bound")


class DuesUnclear(msgspec.Struct, frozen=True):
    """An income that may be monthly or yearly (10万 with neither 月 nor 年 said): asked back."""

    income: Decimal
    monthly: Dues
    yearly: Dues


class DuesRange(msgspec.Struct, frozen=True):
    """An income typed as a range: one answer when both ends share a bracket, else asked back."""

    low: Dues
    high: Dues

    @property
    def same_bracket(self) -> bool:
        return self.low.rate == self.high.rate


def colloquial_number(text: str) -> Decimal | None:
    """一万二 = 12000, 三千五 = 3500, 六千 = 6000, 4500 (a trailing digit after 万/千/百 is the
    next lower unit, as people say it)."""
    if text.replace(".", "", 1).isdigit():
        return Decimal(text)
    match = re.fullmatch(r"(.+?)([万千百])([一二两三四五六七八九])", text)
    if match and "零" not in text:
        head = chinese_to_int(match.group(1) + match.group(2))
        digit = chinese_to_int(match.group(3))
        if head is not None and digit is not None:
            step = {"万": 1000, "千": 100, "百": 10}[match.group(2)]
            return Decimal(head + digit * step)
    value = chinese_to_int(text)
    return Decimal(value) if value is not None else None


def _value(match: re.Match[str]) -> Decimal:
    """The amount an _AMOUNT match reads: 1.2万 = 12000, 1万2 = 1万2千 = 12000, 3千5 = 3500."""
    value = Decimal(match.group(1))
    unit = (match.group(2) or "").lower()
    if unit:
        scale = {"万": 10000, "千": 1000, "k": 1000}[unit]
        value *= scale
        if match.group(3):
            lower = Decimal(1000) if match.group(4) else Decimal(scale // 10)
            value += Decimal(match.group(3)) * lower
    return value


def typed_amount(text: str) -> Decimal | None:
    """The one amount `text` is, and nothing else: 4500, 1.2万, 1万2, 3千5, 8k, 12元."""
    match = _AMOUNT.fullmatch(text)
    return _value(match) if match else None


def _amounts(text: str) -> list[tuple[Decimal, int, int, bool]]:
    """(value, start, end, had a unit) of every amount in the text, in order."""
    found = []
    for match in _AMOUNT.finditer(text):
        had_unit = bool(match.group(2) or match.group(5))
        found.append((_value(match), match.start(), match.end(), had_unit))
    for match in _CHINESE_AMOUNT.finditer(text):
        if not any(ch in match.group() for ch in "十百千万") or len(match.group()) < 2:
            continue
        value = colloquial_number(match.group())
        if value is not None and value >= 100:
            found.append((value, match.start(), match.end(), True))
    return sorted(found, key=lambda item: item[1])


def _income(text: str) -> tuple[Decimal, int] | None:
    """The first amount that reads as an income, and where it starts."""
    for value, start, end, unit in _amounts(text):
        after = text[end : end + 1]
        if after in ("%", "年", "月", "日", "号", "个", "名", "人", "岁") and not unit:
            continue
        near = text[max(0, start - 8) : start]
        if value < 100 and not any(w in near for w in _INCOME_WORDS):
            continue
        if value <= 0 or value > MAX_INCOME:
            continue
        return value, start
    return None


def _scaled(number: str, unit: str | None) -> Decimal:
    return Decimal(number) * {"万": 10000, "千": 1000, "k": 1000}.get((unit or "").lower(), 1)


def is_retired(text: str) -> bool:
    """Retired, unless the question says the member is not (还没退休, 不是退休党员)."""
    return any(w in text for w in _RETIRED_WORDS) and not _NOT_RETIRED.search(text)


def dues_question(text: str) -> Dues | DuesRange | DuesUnclear | str | None:
    """A dues question with an income in it: the dues, a range, an income that may be yearly,
    "rehired"
    (返聘: the superior organization sets the base, answered with the entry), or None."""
    if "党费" not in text:
        return None
    retired = is_retired(text)
    if retired and "返聘" in text:
        return "rehired"
    annual = any(w in text for w in _ANNUAL_WORDS)
    if match := _RANGE.search(text):
        low_unit, high_unit = match.group(2) or match.group(4), match.group(4)
        low, high = _scaled(match.group(1), low_unit), _scaled(match.group(3), high_unit)
        if annual:
            low, high = low / 12, high / 12
        if Decimal(100) <= low < high <= MAX_INCOME:
            places = Decimal("0.01")
            low, high = low.quantize(places), high.quantize(places)
            return DuesRange(dues_for(low, retired=retired), dues_for(high, retired=retired))
    found = _income(text)
    if found is None:
        return None
    value = found[0]
    if not annual and value >= UNCLEAR_INCOME and not any(w in text for w in _MONTHLY_WORDS):
        as_year = (value / 12).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return DuesUnclear(
            value,
            dues_for(value, retired=retired),
            dues_for(as_year, retired=retired, annual=value),
        )
    if annual:
        monthly = (value / 12).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return dues_for(monthly, retired=retired, annual=value)
    return dues_for(value, retired=retired)


class Probation(msgspec.Struct, frozen=True):
    start: date
    end: date
    extension_months: int = 0  # the probation was extended by this many months (6 to 12)


_EXTENSION = re.compile(r"延长(?:了)?(?:预备期)?\s*(半年|一年|1年|(\d{1,2})\s*个?月)")


def add_year(day: date) -> date:
    """The same day a year later (29 February → 28 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


class NoSuchDate(ValueError):
    """A date like 2月30日 in the question."""


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the last day of a shorter month where it has none)."""
    year, month = divmod(day.month - 1 + months, 12)
    target_year, target_month = day.year + year, month + 1
    for last in (day.day, 30, 29, 28):
        try:
            return date(target_year, target_month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("every month has 28 days")


def probation_question(text: str, today: date) -> Probation | None:
    """A question about when a probationary member's year ends, with the start date in it;
    an extension named in the question (延长预备期半年) moves the end by that much."""
    if not any(w in text for w in ("预备", "转正")):
        return None
    found = _date_in(text, today)
    if not found:
        return None
    months = 0
    if match := _EXTENSION.search(text):
        word = match.group(1)
        months = 6 if word == "半年" else 12 if word in ("一年", "1年") else int(match.group(2))
        if not 6 <= months <= 12:  # 党章第七条: extended by at most a year (细则: at least half)
            months = 0
    end = add_year(found)
    return Probation(found, add_months(end, months) if months else end, months)


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


class Counts(msgspec.Struct, frozen=True):
    formal: int
    probationary: int


def member_counts(text: str) -> Counts | None:
    """Member numbers in a question about setting up a branch ("只有2名正式党员"). A total
    with probationary ones among it ("3名党员，其中1名预备党员") counts the rest as formal."""
    formal = _FORMAL.search(text)
    probationary = _PROBATIONARY.search(text)
    members = _MEMBERS.search(text)
    extra = int(probationary.group(1)) if probationary else 0
    if formal:
        count = int(formal.group(1))
    elif members and not (probationary and probationary.start() == members.start()):
        count = int(members.group(1))
        if probationary and extra <= count:  # the total includes them
            count -= extra
    else:
        return None
    if count > 10000 or extra > 10000:
        return None
    return Counts(count, extra)


class Quorum(msgspec.Struct, frozen=True):
    expected: int
    present: int

    @property
    def needed(self) -> int:
        """At least this many must attend (more than half of those expected)."""
        return majority(self.expected)

    @property
    def enough(self) -> bool:
        return self.present >= self.needed

    @property
    def votes_needed(self) -> int:
        """Votes in favour to pass: more than half of those expected to attend."""
        return majority(self.expected)


class QuorumNeeded(msgspec.Struct, frozen=True):
    """How many of `expected` voting members must attend. `basis`: what the number was in the
    question: "expected" (应到), "formal" (正式党员), or "members" (党员, taken as all formal:
    the answer says so); `probationary`: the ones it named, left out of the count."""

    expected: int
    basis: str = "formal"
    probationary: int = 0

    @property
    def needed(self) -> int:
        return majority(self.expected)

    @property
    def votes_needed(self) -> int:
        return majority(self.expected)


def asks_attendance(text: str) -> bool:
    """Whether the question asks how many must attend or vote."""
    return _ASK_ATTENDANCE.search(text) is not None


def quorum_needed(text: str) -> QuorumNeeded | None:
    """ "13个正式党员2个预备党员，至少要到多少人": the members who vote, when the question asks
    how many must attend or vote at a 党员大会 (not in an election: see the module's note; not at
    a meeting without a vote rule, such as a 党小组会)."""
    if not asks_attendance(text) or any(word in text for word in _NOT_QUORUM_WORDS):
        return None
    if (expected := _EXPECTED.search(text)) is not None:
        found = QuorumNeeded(int(expected.group(1)), "expected")
    elif (counts := member_counts(text)) is not None:
        basis = "formal" if _FORMAL.search(text) or counts.probationary else "members"
        found = QuorumNeeded(counts.formal, basis, counts.probationary)
    else:
        return None
    return found if 0 < found.expected <= 10000 else None


def committee_quorum(text: str) -> Quorum | None:
    """ "支委会5个委员来了3个能开吗": the committee's members and those present."""
    return _attendance(_COMMITTEE, text)


def quorum_question(text: str) -> Quorum | None:
    """ "应到12人来了5个能表决吗": the numbers expected and present."""
    return _attendance(_EXPECTED, text)


def _attendance(expected_pattern: re.Pattern[str], text: str) -> Quorum | None:
    """The number expected (as `expected_pattern` finds it) and the number present after it."""
    expected = expected_pattern.search(text)
    present = _PRESENT.search(text, expected.end()) if expected else None
    if not expected or not present:
        return None
    result = Quorum(int(expected.group(1)), int(present.group(1)))
    if result.expected == 0 or result.present > result.expected:
        return None
    return result
