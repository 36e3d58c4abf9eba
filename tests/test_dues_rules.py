"""The 党费 rules (bot.dues) on their own: amounts typed as phones type them, the brackets, who
owes which month, what one tap writes, 补交 and 垫交, 党章第九条 and the month-end day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot import dues as rules
from bot.branch_profile import InvalidAnswer
from db.dues import Payment, Rate
from db.models import Member, MemberInfo


def _member(member_id: int, status: str = "formal", joined: date | None = None) -> Member:
    return Member(member_id, 1, MemberInfo(f"党员{member_id}", status, joined))


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("6500", "6500"), ("６５００", "6500"), ("6,500", "6500"), ("¥12.5", "12.5"),
     ("12元", "12"), (" 0.20 ", "0.20"), ("97.50元/月", "97.50")],
)  # fmt: skip
def test_amounts_as_typed(typed: str, amount: str) -> None:
    assert rules.read_money(typed, rules.MAX_BASE) == Decimal(amount)


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("工资8000", "8000"), ("月薪是1万2", "12000"), ("每月工资：6500元", "6500"),
     ("税后收入 1.2万", "12000"), ("退休费4500", "4500"), ("8千", "8000"), ("3千5", "3500"),
     ("1万2千", "12000"), ("8k", "8000"), ("工资 ６５００ 元/月", "6500")],
)  # fmt: skip
def test_a_base_as_people_type_it(typed: str, amount: str) -> None:
    assert rules.read_money(typed, rules.MAX_BASE, base=True) == Decimal(amount)


@pytest.mark.parametrize(
    ("typed", "base", "code"),
    # A wage where the amount paid is asked, and the other way round, is not taken.
    [("工资8000", False, "dues_wage_here"), ("每月交50", True, "dues_not_number"),
     ("工资", True, "dues_not_number"), ("工资8000 9000", True, "dues_not_number"),
     ("工资-8000", True, "dues_not_number"), ("1万2万", True, "dues_not_number"),
     ("工资0", True, "dues_not_positive"), ("200万", True, "dues_too_big")],
)  # fmt: skip
def test_words_belong_to_their_question(typed: str, base: bool, code: str) -> None:
    with pytest.raises(InvalidAnswer) as refused:
        rules.read_money(typed, rules.MAX_BASE, base=base)
    assert refused.value.code == code
    assert rules.read_money("每月交50", rules.MAX_FIXED) == Decimal(50)


@pytest.mark.parametrize(
    ("typed", "code"),
    [("", "dues_empty"), ("abc", "dues_not_number"), ("<b>&", "dues_not_number"),
     ("🙂", "dues_not_number"), ("0", "dues_not_positive"), ("0.00", "dues_not_positive"),
     ("-5", "dues_not_positive"), ("1000001", "dues_too_big"), ("1.005", "dues_cents"),
     ("1e5", "dues_not_number"), ("NaN", "dues_not_number"), ("6500 6500", "dues_not_number")],
)  # fmt: skip
def test_bad_amounts_say_what_is_wrong(typed: str, code: str) -> None:
    with pytest.raises(InvalidAnswer) as refused:
        rules.read_money(typed, rules.MAX_BASE)
    assert refused.value.code == code
    assert refused.value.params["about"] == "dues"


@pytest.mark.parametrize(
    ("base", "retired", "fen"),
    [("3000", False, 1500), ("3000.01", False, 3000), ("5000", False, 5000),
     ("6500", False, 9750), ("10000", False, 15000), ("12000", False, 24000),
     ("5000", True, 2500), ("6000", True, 6000)],
)  # fmt: skip
def test_the_brackets_decide_the_amount(base: str, retired: bool, fen: int) -> None:
    found = rules.amount_from_base(Decimal(base), retired=retired)
    assert rules.to_fen(found.monthly) == fen
    assert rules.yuan(fen) == f"{fen // 100}.{fen % 100:02d}"


def test_an_income_too_small_for_a_fen_and_the_farmers_range() -> None:
    with pytest.raises(InvalidAnswer):
        rules.amount_from_base(Decimal("0.5"), retired=False)
    assert rules.farmer_amount(Decimal("0.2")) == 20
    assert rules.farmer_amount(Decimal("1")) == 100
    for wrong in ("0.1", "1.01"):
        with pytest.raises(InvalidAnswer):
            rules.farmer_amount(Decimal(wrong))


def test_who_owes_a_month() -> None:
    start = date(2026, 3, 1)
    assert rules.owes(_member(1), date(2026, 3, 1), start)
    assert not rules.owes(_member(1), date(2026, 2, 1), start)  # before the ledger
    assert not rules.owes(_member(1), date(2026, 3, 1), None)  # no ledger kept
    probationary = _member(2, "probationary", date(2026, 6, 30))
    assert not rules.owes(probationary, date(2026, 5, 1), start)
    assert rules.owes(probationary, date(2026, 6, 1), start)  # from the 支部大会's month
    assert not rules.owes(_member(3, "activist"), date(2026, 6, 1), start)


def test_one_tap_for_a_quarterly_payer_covers_the_rest_of_the_quarter() -> None:
    monthly = Rate(1, 1000, "fixed", False, date(2026, 1, 1))
    quarterly = Rate(2, 20, "student", True, date(2026, 1, 1))
    assert rules.covered(monthly, date(2026, 4, 1)) == [date(2026, 4, 1)]
    assert rules.covered(quarterly, date(2026, 4, 1)) == [date(2026, 4, 1), date(2026, 5, 1),
                                                          date(2026, 6, 1)]  # fmt: skip
    assert rules.covered(quarterly, date(2026, 12, 1)) == [date(2026, 12, 1)]
    ledger = rules.Ledger({1: monthly, 2: quarterly}, [
        Payment(2, "党员2", date(2026, 5, 1), 20, 20, date(2026, 4, 1))])  # fmt: skip
    view = rules.month_view([_member(1), _member(2)], ledger, date(2026, 4, 1))
    written = rules.payments_for(view.unpaid, ledger.rates, date(2026, 4, 2), view.month, ledger)
    assert [(p.member_id, p.month) for p in written] == [
        (1, date(2026, 4, 1)), (2, date(2026, 4, 1)), (2, date(2026, 6, 1))]  # fmt: skip


def test_makeup_is_warned_past_six_months_and_paying_ahead_refused() -> None:
    today = date(2026, 12, 20)
    assert rules.month_problem(date(2026, 12, 1), today) is None
    assert rules.month_problem(date(2026, 6, 1), today) is None
    assert rules.month_problem(date(2026, 5, 1), today) == "old"
    assert rules.month_problem(date(2027, 1, 1), today) == "future"
    assert rules.add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert rules.add_months(date(2026, 11, 1), 14) == date(2028, 1, 1)


def test_six_consecutive_unpaid_months_are_counted_back_from_last_month() -> None:
    rate = Rate(1, 100, "fixed", False, date(2026, 1, 1))
    paid = [Payment(1, "党员1", date(2026, 5, 1), 100, 100, date(2026, 5, 3))]
    ledger = rules.Ledger({1: rate}, paid)
    # June to November unpaid: six; December is still open.
    assert [(x.member.id, x.months) for x in rules.lapses([_member(1)], ledger, date(2026, 12, 5))
            ] == [(1, 6)]  # fmt: skip
    assert rules.lapses([_member(1)], ledger, date(2026, 11, 30)) == []  # five
    # A probationary member admitted in September owes only from then.
    late = _member(2, "probationary", date(2026, 9, 10))
    assert rules.lapses([late], ledger, date(2027, 3, 1)) == [rules.Lapse(late, 6)]
    assert rules.lapses([late], ledger, date(2027, 2, 28)) == []


def test_the_reminder_day_is_three_days_before_the_month_ends() -> None:
    assert rules.reminder_day(date(2026, 12, 28))
    assert rules.reminder_day(date(2027, 2, 25))
    assert rules.reminder_day(date(2028, 2, 26))  # a leap year
    assert not rules.reminder_day(date(2026, 12, 31))
    assert rules.reminder_key(7, date(2026, 12, 1), 1001) == "dues:7:2026-12:1001"
