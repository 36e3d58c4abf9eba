"""主题党日 suggestions and the fixed day: the idea bank is complete, valid and deterministic."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.partyday import Idea, default_party_day, ideas_for
from bot.texts import environment, labels
from tests.factories import make_profile

# The seed documents ideas may cite (FACTS.md H: cite the document by its file name). CI runs
# on a clean clone without ../shared, so the names are listed here and compared with the
# directory only where it exists.
SEED_FILES = frozenset(
    {
        "000_29c64bd8e6ffb4ec.txt",
        "001_bae7b08bc802c24e.txt",
        "002_822c475600cbcfe5.txt",
        "003_71d95e858391c0a0.txt",
        "004_b7d7d4fd3ba9f974.txt",
    }
)
SEEDS_DIR = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "clean"
COMMON_PRACTICE = "常用做法"
MONTHS = range(1, 13)
TYPES = (
    None,
    "social_group",
    "private_non_enterprise",
    "foundation",
    "trade_association",
    "other",
)
EVERYTHING = 1000


def raw_ideas() -> list[dict]:  # type: ignore[type-arg]
    return list(environment().get_template("party_day_ideas.j2").module.IDEAS)


def all_offered() -> set[Idea]:
    return {
        idea for month in MONTHS for kind in TYPES for idea in ideas_for(month, kind, EVERYTHING)
    }


def themes(month: int, kind: str | None = None) -> str:
    return " ".join(idea.theme for idea in ideas_for(month, kind, EVERYTHING))


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("month", MONTHS)
def test_every_month_has_at_least_three_ideas(month: int, kind: str | None) -> None:
    assert len(ideas_for(month, kind)) >= 3
    own = [idea for idea in ideas_for(month, kind, EVERYTHING) if idea.month == month]
    assert len(own) >= 3


def test_bank_size() -> None:
    ideas = raw_ideas()
    assert len([i for i in ideas if i["month"] != 0]) >= 36
    assert len([i for i in ideas if i["month"] == 0]) >= 8
    assert {i["month"] for i in ideas} == set(range(13))


def test_commemorations_are_in_their_month() -> None:
    assert "学雷锋" in themes(3)
    assert "建党" in themes(7) or "七一" in themes(7)
    assert "国庆" in themes(10)
    assert "重阳" in themes(10)
    assert "清明" in themes(4)
    assert "宪法" in themes(12)
    assert "八一" in themes(8)


def test_forms_are_activity_form_codes() -> None:
    forms = set(labels().ACTIVITY_FORMS)
    assert {i["form"] for i in raw_ideas()} <= forms
    assert {idea.form for idea in all_offered()} <= forms


def test_texts_are_short() -> None:
    for item in raw_ideas():
        assert 0 < len(item["theme"]) <= 20, item["theme"]
        assert 0 < len(item["note"]) <= 40, item["note"]


def test_themes_are_unique() -> None:
    names = [i["theme"] for i in raw_ideas()]
    assert len(names) == len(set(names))


def test_sources_are_common_practice_or_a_seed_file() -> None:
    sources = {i["source"] for i in raw_ideas()}
    assert sources <= SEED_FILES | {COMMON_PRACTICE}
    assert sources & SEED_FILES  # the seeds are actually used


def test_seed_file_list_matches_the_directory() -> None:
    if not SEEDS_DIR.is_dir():
        pytest.skip("seed documents not available (clean clone)")
    assert {p.name for p in SEEDS_DIR.iterdir() if p.is_file()} == SEED_FILES


def test_types_are_organization_types() -> None:
    kinds = set(labels().ORGANIZATION_TYPES)
    assert set(TYPES[1:]) == kinds
    for item in raw_ideas():
        assert set(item.get("types", [])) <= kinds


def test_teachers_day_only_for_private_schools() -> None:
    assert "教师节" in themes(9, "private_non_enterprise")
    assert ideas_for(9, "private_non_enterprise")[0].theme.startswith("教师节")
    for kind in TYPES:
        if kind != "private_non_enterprise":
            assert "教师节" not in themes(9, kind)


def test_tailored_any_month_ideas_come_first_for_their_type() -> None:
    trade = ideas_for(5, "trade_association", EVERYTHING)
    general = ideas_for(5, None, EVERYTHING)
    any_month = [idea.theme for idea in trade if idea.month == 0]
    assert any_month[0] == "走访会员企业解难题"
    assert "走访会员企业解难题" not in {idea.theme for idea in general}
    assert {idea.theme for idea in general} < {idea.theme for idea in trade}


def test_unknown_type_gets_only_general_ideas() -> None:
    assert ideas_for(9, "no_such_type", EVERYTHING) == ideas_for(9, None, EVERYTHING)


def test_month_ideas_come_before_any_month_ones_without_duplicates() -> None:
    for month in MONTHS:
        ideas = ideas_for(month, "trade_association", EVERYTHING)
        months = [idea.month for idea in ideas]
        assert months == sorted(months, key=lambda m: m != month)
        assert set(months) == {month, 0}
        assert len({idea.theme for idea in ideas}) == len(ideas)


def test_limit() -> None:
    assert len(ideas_for(1)) == 4
    assert len(ideas_for(1, limit=2)) == 2
    assert ideas_for(1, limit=0) == []
    assert ideas_for(1, limit=2) == ideas_for(1, limit=4)[:2]
    with pytest.raises(ValueError):
        ideas_for(1, limit=-1)


@pytest.mark.parametrize("month", [0, 13, -1])
def test_month_out_of_range(month: int) -> None:
    with pytest.raises(ValueError):
        ideas_for(month)


def test_deterministic() -> None:
    first = [ideas_for(m, k, EVERYTHING) for m in MONTHS for k in TYPES]
    second = [ideas_for(m, k, EVERYTHING) for m in MONTHS for k in TYPES]
    assert first == second
    assert ideas_for(7) == ideas_for(7, None, 4)
    assert isinstance(ideas_for(7)[0], Idea)


@pytest.mark.parametrize(
    ("year", "month", "party_day", "expected"),
    [
        (2026, 2, 30, date(2026, 2, 28)),
        (2028, 2, 31, date(2028, 2, 29)),
        (2026, 11, 15, date(2026, 11, 15)),
        (2026, 4, 31, date(2026, 4, 30)),
        (2026, 12, 31, date(2026, 12, 31)),
        (2026, 1, 1, date(2026, 1, 1)),
        (2100, 2, 29, date(2100, 2, 28)),
    ],
)
def test_default_party_day_clamps(year: int, month: int, party_day: int, expected: date) -> None:
    assert default_party_day(year, month, make_profile(party_day=party_day)) == expected


@pytest.mark.parametrize(
    ("week", "weekday", "year", "month", "expected"),
    [
        (2, 4, 2026, 11, date(2026, 11, 13)),  # 第二个星期五: Nov 2026 starts on a Sunday
        (1, 6, 2026, 11, date(2026, 11, 1)),  # 第一个星期日 is the 1st itself
        (4, 0, 2026, 2, date(2026, 2, 23)),
        (-1, 4, 2026, 11, date(2026, 11, 27)),  # 最后一个周五
        (-1, 0, 2026, 11, date(2026, 11, 30)),  # 最后一个周一 is the month's last day
        (-1, 6, 2028, 2, date(2028, 2, 27)),
    ],
)
def test_default_party_day_by_weekday(
    week: int, weekday: int, year: int, month: int, expected: date
) -> None:
    profile = make_profile(party_day=1, party_week=week, party_weekday=weekday)
    assert default_party_day(year, month, profile) == expected
    assert expected.weekday() == weekday
