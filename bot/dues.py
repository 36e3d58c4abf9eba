"""The 党费 ledger's rules (pure): who owes which month, what a member's amount is, what a tap
writes, the 党章第九条 warning and the month-end reminder.

《关于中国共产党党费收缴、使用和管理的规定》(FACTS D.29–33): the amount comes from the monthly
base through the brackets (one function decides it: bot.knowledge.numbers.dues_for); 离退休 by
their own brackets; 学生、下岗失业、低保 0.2 元 and 农民 0.2–1 元 a month; a probationary member
pays from the day the 支部大会 accepted them (their joined_on); 按季度交 with the branch's
consent; 补交 normally not more than 6 months back; never paid ahead (不得垫交). 党章第九条 (FACTS
24): six consecutive months unpaid is treated as leaving the Party, so the committee is warned.
Amounts are whole fen (分).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import msgspec

from bot import buttons as bt
from bot.branch_profile import InvalidAnswer
from bot.textnorm import to_halfwidth
from bot.texts import labels, render
from db.dues import CODE, Payment, Rate
from db.models import Branch, Member
from db.outbox import OutboxMessage
from db.settings import BranchSettings

if TYPE_CHECKING:  # imported when an amount is worked out: the bot starts without it
    from bot.knowledge.numbers import Dues

# 学生、下岗失业、低保: 0.2 元 a month; 农民 0.2–1 元 (FACTS D.31).
CATEGORY_FEN = {"student": 20, "unemployed": 20, "low_income": 20}
FARMER_FEN = (20, 100)
MAX_BASE = Decimal(1_000_000)  # a monthly base above this is a typo
MAX_FIXED = Decimal(10_000)  # a fixed monthly amount above this is a typo
MAKEUP_MONTHS = 6  # 补交 further back than this is warned about (FACTS D.33)
LAPSE_MONTHS = 6  # 党章第九条
REMIND_DAYS_BEFORE = 3  # the month-end reminder, this many days before the last day
REMINDER_GRACE = timedelta(hours=6)  # as the sweep's: a reminder later than this is not sent
PARTY = frozenset({"formal", "probationary"})
# What may stand around an amount (read by bot.knowledge.numbers.typed_amount, as a question's
# are: 6500, 12元, 1.2万, 1万2, 3千5): ¥ before it, /月 after it; a base may be named before
# it (工资8000, 月薪是1万2, 退休费：4500) and an amount paid (每月交50); neither is taken for
# the other.
_AMOUNT = r"[¥￥]?\s*(.+?)\s*(?:/月|每月|一个月)?"
_SAID = r"(?:是|为|有|[:：])?\s*"
_BASE_WORDS = (
    r"(?:每个?月的?|月)?(?:税前|税后|应发|实发)?"
    r"(?:工资|薪水|薪资|月薪|收入|基数|离退休费|退休费|退休金|养老金)"
)
_MONEY = {
    "base": re.compile(rf"(?:{_BASE_WORDS}{_SAID})?{_AMOUNT}"),
    "paid": re.compile(rf"(?:(?:每个?月)?(?:交|缴|党费)+{_SAID})?{_AMOUNT}"),
}


def month_of(day: date) -> date:
    """The first of the day's month."""
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    """The first of the month `count` months after (or before) `month`."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    """Every month from `first` to `last`, both included."""
    found, month = [], month_of(first)
    while month <= last:
        found.append(month)
        month = add_months(month, 1)
    return found


def quarter_end(month: date) -> date:
    """The last month of the month's quarter."""
    return date(month.year, (month.month - 1) // 3 * 3 + 3, 1)


def yuan(fen: int) -> str:
    """Fen as yuan with two decimals: 9750 → "97.50"."""
    return f"{fen // 100}.{fen % 100:02d}"


def to_fen(amount: Decimal) -> int:
    """Yuan (at most two decimals) as whole fen."""
    return int((amount * 100).to_integral_value())


# -- amounts ------------------------------------------------------------------------------------


def read_money(text: str, limit: Decimal, *, base: bool = False) -> Decimal:
    """A typed amount of yuan: 6500, 6,500, ６５００ (full width), ¥12.5, 12元, 1万2; a monthly
    base (`base`) may be named (工资8000), an amount paid may say so (每月交50); InvalidAnswer
    (about="dues") with what is wrong otherwise."""
    value = to_halfwidth(text).strip().replace(",", "").replace("，", "")
    if not value:
        raise InvalidAnswer("dues_empty", about="dues")
    asked = "base" if base else "paid"
    if value.startswith("-") and _amount_in(asked, value[1:].strip()) is not None:
        raise InvalidAnswer("dues_not_positive", about="dues")
    amount = _amount_in(asked, value)
    if amount is None and not base and _amount_in("base", value) is not None:
        raise InvalidAnswer("dues_wage_here", about="dues")
    if amount is None:
        raise InvalidAnswer("dues_not_number", about="dues")
    if amount <= 0:
        raise InvalidAnswer("dues_not_positive", about="dues")
    if amount > limit:
        raise InvalidAnswer("dues_too_big", about="dues", limit=int(limit))
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidAnswer("dues_cents", about="dues")
    return amount


def _amount_in(asked: str, value: str) -> Decimal | None:
    """The amount typed for a base or an amount paid, with the words that may stand around it."""
    from bot.knowledge.numbers import typed_amount

    match = _MONEY[asked].fullmatch(value)
    return typed_amount(match.group(1)) if match else None


def amount_from_base(base: Decimal, *, retired: bool) -> Dues:
    """The month's dues for a base (离退休费 for a retired member): the brackets decide."""
    from bot.knowledge.numbers import dues_for

    found = dues_for(base, retired=retired)
    if found.monthly <= 0:
        raise InvalidAnswer("dues_too_small", about="dues")
    return found


def farmer_amount(amount: Decimal) -> int:
    """A 农民党员's amount, 0.2–1 元 a month."""
    fen = to_fen(amount)
    if not FARMER_FEN[0] <= fen <= FARMER_FEN[1]:
        raise InvalidAnswer("dues_farmer", about="dues")
    return fen


# -- who owes what ------------------------------------------------------------------------------


class Ledger(msgspec.Struct, frozen=True):
    """One branch's amounts and payments (every month the ledger holds)."""

    rates: Mapping[int, Rate] = msgspec.field(default_factory=dict)
    payments: Sequence[Payment] = ()

    @property
    def start(self) -> date | None:
        """The first month the ledger covers: the earliest amount set or month paid."""
        months = [r.since for r in self.rates.values()] + [p.month for p in self.payments]
        return min(months) if months else None

    def starts_after(self, month: date) -> date | None:
        """The ledger's first month when `month` comes before it (nobody owes that month: the
        card says 未记 and the Excel ledger leaves it blank), else None."""
        start = self.start
        return start if start is not None and month < start else None

    @property
    def in_use(self) -> bool:
        """Whether the branch keeps its dues here (else the one-tap 党费已收齐 mark stands)."""
        return self.start is not None

    def paid(self) -> dict[tuple[int, date], Payment]:
        """The payments of members still on the roster, by (member, month)."""
        return {(p.member_id, p.month): p for p in self.payments if p.member_id is not None}


def first_month(member: Member, start: date | None) -> date | None:
    """The first month a party member owes within the ledger (None: not a party member, or the
    ledger is not kept): from the month they were admitted (预备党员: 支部大会通过之日)."""
    if member.info.status not in PARTY or start is None:
        return None
    joined = member.info.joined_on
    return max(start, month_of(joined)) if joined else start


def owes(member: Member, month: date, start: date | None) -> bool:
    """Whether a member owes the month's dues."""
    first = first_month(member, start)
    return first is not None and month >= first


class Line(msgspec.Struct, frozen=True):
    """One member owing a month: their amount (None: not set yet) and payment, if made."""

    member: Member
    due_fen: int | None
    quarterly: bool
    payment: Payment | None


class MonthView(msgspec.Struct, frozen=True):
    """A month of the ledger: who owes it and who has paid."""

    month: date
    lines: list[Line]
    # Party members the branch has by its counts but the roster does not list yet
    # (bot.member_counts.roster_missing): until they are entered the month is never 收齐.
    missing: int = 0

    @property
    def paid(self) -> list[Line]:
        return [line for line in self.lines if line.payment is not None]

    @property
    def unpaid(self) -> list[Line]:
        """Who has not paid, with an amount set (each a one-tap button)."""
        return [line for line in self.lines if line.payment is None and line.due_fen]

    @property
    def unset(self) -> list[Line]:
        """Who has not paid and has no amount set yet."""
        return [line for line in self.lines if line.payment is None and not line.due_fen]

    @property
    def collected_fen(self) -> int:
        return sum(line.payment.paid_fen for line in self.paid if line.payment)

    @property
    def complete(self) -> bool:
        """Everyone who owes the month has paid it (and someone owed it), and nobody who would
        owe it is missing from the roster."""
        return bool(self.lines) and len(self.paid) == len(self.lines) and not self.missing


def month_view(
    roster: Iterable[Member],
    ledger: Ledger,
    month: date,
    *,
    opened: bool = False,
    missing: int = 0,
) -> MonthView:
    """Who owes `month`, in roster order, with what they paid. `opened`: the secretary opened
    the month (/dues, its buttons), so everyone who owed it by their admission is listed even
    before the ledger's first month: a 补交 there starts the ledger earlier. `missing`: the
    party members not on the roster yet (bot.member_counts.roster_missing)."""
    start, paid = ledger.start, ledger.paid()
    if opened:
        start = month if start is None else min(start, month)
    lines = []
    for member in roster:
        if not owes(member, month, start):
            continue
        rate = ledger.rates.get(member.id)
        payment = paid.get((member.id, month))
        due = payment.due_fen if payment else (rate.amount_fen if rate else None)
        lines.append(Line(member, due, bool(rate and rate.quarterly), payment))
    return MonthView(month, lines, missing)


def covered(rate: Rate, month: date) -> list[date]:
    """The months one payment for `month` covers: the month, or for a quarterly payer the rest
    of its quarter (按季度交 is paid at the quarter's start, not ahead of it)."""
    if not rate.quarterly:
        return [month]
    return months_between(month, quarter_end(month))


def payments_for(
    lines: Iterable[Line], rates: Mapping[int, Rate], paid_on: date, month: date, ledger: Ledger
) -> list[Payment]:
    """What marking these members paid for `month` writes (quarterly payers: the quarter)."""
    already = ledger.paid()
    found = []
    for line in lines:
        rate = rates.get(line.member.id)
        if rate is None or line.payment is not None:
            continue
        for each in covered(rate, month):
            if (line.member.id, each) not in already:
                found.append(
                    Payment(
                        line.member.id,
                        line.member.name,
                        each,
                        rate.amount_fen,
                        rate.amount_fen,
                        paid_on,
                    )
                )
    return found


def withdrawn_months(rate: Rate | None, month: date, ledger: Ledger, member_id: int) -> list[date]:
    """The months a mistaken tap for `month` wrote, to take back together."""
    months = covered(rate, month) if rate else [month]
    paid = ledger.paid()
    first = paid.get((member_id, month))
    if first is None:
        return []
    # Only the months written by the same tap (same day) go: an earlier 补交 stays.
    return [m for m in months if (p := paid.get((member_id, m))) and p.paid_on == first.paid_on]


def completeness(
    roster: Sequence[Member], ledger: Ledger, months: Iterable[date], *, missing: int = 0
) -> dict[date, bool]:
    """Whether each month is fully paid (the 党费已收齐 mark follows it)."""
    return {m: month_view(roster, ledger, m, missing=missing).complete for m in set(months)}


def month_problem(month: date, today: date) -> str | None:
    """ "future" (refused: no 垫交), "old" (补交 more than 6 months back: warned) or None."""
    this = month_of(today)
    if month > this:
        return "future"
    if month < add_months(this, -MAKEUP_MONTHS):
        return "old"
    return None


class Lapse(msgspec.Struct, frozen=True):
    """A member who has not paid for LAPSE_MONTHS or more months in a row (党章第九条)."""

    member: Member
    months: int


def lapses(roster: Iterable[Member], ledger: Ledger, today: date) -> list[Lapse]:
    """Members with six or more consecutive unpaid months they owed, counted back from last
    month (the current month is still open)."""
    start, paid = ledger.start, ledger.paid()
    last = add_months(month_of(today), -1)
    found = []
    for member in roster:
        first = first_month(member, start)
        if first is None or first > last:
            continue
        run, month = 0, last
        while month >= first and (member.id, month) not in paid:
            run += 1
            month = add_months(month, -1)
        if run >= LAPSE_MONTHS:
            found.append(Lapse(member, run))
    return found


# -- the year's ledger --------------------------------------------------------------------------


class YearRow(msgspec.Struct, frozen=True):
    """One person's year: each month paid (fen), "due" (owed, unpaid) or None (not owed)."""

    name: str
    cells: list[int | str | None]
    left: bool = False  # no longer on the roster

    @property
    def total_fen(self) -> int:
        return sum(c for c in self.cells if isinstance(c, int))


def year_rows(roster: Sequence[Member], ledger: Ledger, year: int, today: date) -> list[YearRow]:
    """The 党费收缴台账 of a year: every member who owed a month of it (and everyone who paid
    one, even if they have left the roster since), a cell per month."""
    months = [date(year, m, 1) for m in range(1, 13)]
    this = month_of(today)
    start, paid = ledger.start, ledger.paid()
    rows = []
    for member in roster:
        cells: list[int | str | None] = []
        for month in months:
            payment = paid.get((member.id, month))
            if payment is not None:
                cells.append(payment.paid_fen)
            elif month <= this and owes(member, month, start):
                cells.append("due")
            else:
                cells.append(None)
        if any(c is not None for c in cells):
            rows.append(YearRow(member.name, cells))
    departed: dict[str, list[int | str | None]] = {}
    for payment in ledger.payments:
        if payment.member_id is None and payment.month.year == year:
            cells = departed.setdefault(payment.name, [None] * 12)
            cells[payment.month.month - 1] = payment.paid_fen
    rows += [YearRow(name, cells, left=True) for name, cells in departed.items()]
    return rows


def complete_months(
    roster: Sequence[Member], ledger: Ledger, year: int, today: date, *, missing: int = 0
) -> list[int]:
    """The months of a year (begun by today) fully paid, for the annual report."""
    last = min(month_of(today), date(year, 12, 1))
    return [
        m.month
        for m in months_between(date(year, 1, 1), last)
        if month_view(roster, ledger, m, missing=missing).complete
    ]


def collected_in(ledger: Ledger, year: int) -> int:
    """Fen paid for the months of a year (departed members' included)."""
    return sum(p.paid_fen for p in ledger.payments if p.month.year == year)


# -- the month-end reminder ---------------------------------------------------------------------


def reminder_day(today: date) -> bool:
    """Whether today is the month-end reminder's day (3 days before the month's last)."""
    last = add_months(month_of(today), 1) - timedelta(days=1)
    return today == last - timedelta(days=REMIND_DAYS_BEFORE)


def reminder_prefix(branch_id: int, month: date) -> str:
    """The outbox key prefix of a month's reminders (cancelled once the month is paid)."""
    return f"dues:{branch_id}:{month.strftime('%Y-%m')}:"


def reminder_key(branch_id: int, month: date, chat_id: int) -> str:
    """The outbox key of a month's reminder to one chat: sent once however often it is decided."""
    return f"{reminder_prefix(branch_id, month)}{chat_id}"


def month_end_messages(
    branch: Branch,
    roster: Sequence[Member],
    ledger: Ledger,
    settings: BranchSettings,
    secretary: int | None,
    today: date,
    moment: datetime,
) -> list[OutboxMessage]:
    """The month-end reminder of who has not paid, to the secretary alone (in private), on
    the reminder day at the branch's reminder time; nothing if the branch keeps no ledger,
    everyone has paid, 党费 reminders are off or muted, or private reminders are off."""
    if (
        secretary is None
        or not ledger.in_use
        or not reminder_day(today)
        or not settings.to_private
        or CODE in settings.muted
        or settings.frequencies.get(CODE) == "off"
    ):
        return []
    month = month_of(today)
    view = month_view(roster, ledger, month)
    missing = view.unpaid + view.unset
    if not missing:
        return []
    text = render(
        "dues", view="remind", v=view, missing=missing, yuan=yuan, branch_name=branch.profile.name
    )
    buttons = (((labels().DUES_LEDGER, bt.DU_CARD(branch.id, month.strftime("%Y-%m"), 0)),),)
    utc = ZoneInfo("UTC")
    return [
        OutboxMessage(
            key=reminder_key(branch.id, month, secretary),
            branch_id=branch.id,
            chat_id=secretary,
            text=text,
            buttons=buttons,
            not_before=moment.astimezone(utc),
            expires_at=(moment + REMINDER_GRACE).astimezone(utc),
        )
    ]
