"""Reading typed answers and checking a profile against the formation rules (pure functions)."""

from __future__ import annotations

import pytest

from bot.branch_profile import (
    InvalidAnswer,
    PartyDay,
    check_profile,
    match_choice,
    parse_count,
    parse_party_day,
    parse_text,
    parse_yes_no,
)
from bot.textnorm import chinese_to_int, parse_int
from db.models import BranchProfile
from tests.factories import make_profile


def profile(**changes: object) -> BranchProfile:
    return make_profile(**changes)


@pytest.mark.parametrize(
    ("text", "number"),
    [("十", 10), ("十二", 12), ("二十三", 23), ("一百零五", 105), ("两千", 2000), ("三万", 30000),
     ("一二", 12), ("零", 0)],
)  # fmt: skip
def test_chinese_numerals(text: str, number: int) -> None:
    assert chinese_to_int(text) == number


@pytest.mark.parametrize(
    ("text", "number"),
    [("12", 12), ("１２", 12), (" 7 人", 7), ("十二名", 12), ("-3", -3), ("1,000", 1000)],
)
def test_parse_int(text: str, number: int) -> None:
    assert parse_int(text) == number


@pytest.mark.parametrize(
    ("text", "code"),
    [("", "empty"), ("   ", "empty"), ("abc", "not_number"), ("3.5", "not_whole"),
     ("-1", "negative"), ("10000", "too_many"), ("🙂", "not_number"), ("<b>&", "not_number")],
)  # fmt: skip
def test_bad_counts(text: str, code: str) -> None:
    with pytest.raises(InvalidAnswer) as caught:
        parse_count(text)
    assert caught.value.code == code


def test_counts_at_the_limits() -> None:
    assert parse_count("0") == 0
    assert parse_count("1000") == 1000


@pytest.mark.parametrize(
    ("text", "code"),
    [("", "empty"), ("甲", "too_short"), ("支" * 61, "too_long"), ("第一行\n第二行", "multiline")],
)
def test_bad_names(text: str, code: str) -> None:
    with pytest.raises(InvalidAnswer) as caught:
        parse_text("name", text)
    assert caught.value.code == code


@pytest.mark.parametrize("text", ["<b>A&B</b>", "🚩先锋支部", "臺灣商會黨支部", "  多  空格  "])
def test_names_kept_literally(text: str) -> None:
    assert parse_text("name", text) == " ".join(text.split())


def test_yes_no() -> None:
    assert parse_yes_no("有") is True
    assert parse_yes_no("没有") is False
    assert parse_yes_no("是！") is True
    with pytest.raises(InvalidAnswer):
        parse_yes_no("也许")


@pytest.mark.parametrize(
    ("text", "day"), [("15", 15), ("15号", 15), ("每月15日", 15), ("十五", 15), ("月末", 31)]
)
def test_party_day(text: str, day: int) -> None:
    assert parse_party_day(text) == PartyDay(day)


@pytest.mark.parametrize(
    ("text", "week", "weekday"),
    [
        ("每月第二个星期五", 2, 4),
        ("第2个周五", 2, 4),
        ("每个月的第一个礼拜一", 1, 0),
        ("第三周周三", 3, 2),
        ("第四个星期天", 4, 6),
        ("每月最后一个周五", -1, 4),
        ("最后一个星期日", -1, 6),
        ("每月 第二个 星期五", 2, 4),
    ],
)
def test_party_day_by_weekday(text: str, week: int, weekday: int) -> None:
    assert parse_party_day(text) == PartyDay(1, week, weekday)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("0", "day_range"),
        ("32", "day_range"),
        ("abc", "not_day"),
        ("", "empty"),
        ("第五个星期五", "no_fifth_weekday"),
        ("每周五", "party_day_weekly"),
        ("第二个星期八", "not_day"),
    ],
)
def test_bad_party_day(text: str, code: str) -> None:
    with pytest.raises(InvalidAnswer) as raised:
        parse_party_day(text)
    assert raised.value.code == code


def test_choice_typed() -> None:
    names = {"standalone": "单独组建", "joint": "联合组建", "affiliated": "挂靠组建",
             "industry": "行业组建", "area": "区域组建"}  # fmt: skip
    assert match_choice("formation_mode", "联合组建", names) == "joint"
    assert match_choice("formation_mode", "挂靠", names) == "affiliated"
    with pytest.raises(InvalidAnswer):
        match_choice("formation_mode", "组建", names)


def codes(p: BranchProfile) -> list[str]:
    return [w.code for w in check_profile(p)]


def test_consistent_profile_has_no_warnings() -> None:
    assert codes(profile()) == []
    assert codes(profile(formal_members=9, has_committee=True)) == []
    assert codes(profile(formal_members=2, formation_mode="joint")) == []


def test_two_members_cannot_stand_alone() -> None:
    assert codes(profile(formal_members=2)) == ["standalone_needs_three"]


def test_eight_members_need_a_committee() -> None:
    assert codes(profile(formal_members=8)) == ["committee_required"]
    assert codes(profile(formal_members=7)) == ["committee_required"]


def test_small_branch_with_committee() -> None:
    assert codes(profile(formal_members=6, has_committee=True)) == ["committee_not_needed"]


def test_no_formal_members() -> None:
    assert codes(profile(formal_members=0)) == ["no_formal_members"]


def test_three_members_joint_should_stand_alone() -> None:
    assert codes(profile(formal_members=3, formation_mode="joint")) == ["should_stand_alone"]


def test_more_than_fifty() -> None:
    result = codes(profile(formal_members=45, probationary_members=6, has_committee=True))
    assert result == ["too_many_members"]
    assert codes(profile(formal_members=45, probationary_members=5, has_committee=True)) == []
