"""The knowledge base: the linter over every entry, retrieval accuracy on the labelled question
sets (the tuning part and the held-out part, reported separately), numbers in questions, and the
formation advisor's rules."""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from bot.emulator.html import parse_html
from bot.knowledge import HERE, KIND_GUIDES, KnowledgeError, entries, load, numbers, search
from bot.knowledge import formation as advisor
from bot.texts import render

QUESTIONS = Path(__file__).parent / "knowledge"
TUNING = ("questions_org.toml", "questions_life.toml")  # read while tuning the ranking
HELD_OUT = ("questions_heldout.toml",)  # written apart from the entries, never tuned against
VISIBLE_LIMIT = 1200


def _questions(names: tuple[str, ...]) -> list[tuple[str, str]]:
    found = []
    for name in names:
        data = tomllib.loads((QUESTIONS / name).read_text("utf-8"))
        found += [(q["text"], q["id"]) for q in data["q"]]
    return found


# -- the linter ----------------------------------------------------------------------------------


def test_every_entry_is_complete_sourced_linked_and_fits_a_phone() -> None:
    found = load()
    assert len(found) >= 80
    for entry in found.values():
        assert entry.title and len(entry.phrasings) >= 3 and entry.keywords and entry.sources
        assert all(rid in found for rid in entry.related), entry.id
        text = render("kb_answer", entry=entry, intro="")
        visible = parse_html(text)  # valid Telegram HTML
        assert len(visible) <= VISIBLE_LIMIT, (entry.id, len(visible))
        assert "依据" in visible
        if entry.practice:
            assert "以上级党组织要求为准" in visible
        assert "{{" not in visible and "<" not in entry.answer.replace("<=", "")
    assert set(KIND_GUIDES.values()) <= set(found)


def test_the_topics_of_the_issue_are_covered() -> None:
    text = " ".join(
        " ".join((e.title, *e.keywords, e.answer)) for e in entries().values()
    )  # fmt: skip
    for topic in ("单独", "联合", "挂靠", "行业", "区域", "依托", "属地", "指导员", "群团", "楼宇",
                  "商圈", "支委会", "任期", "换届", "选举", "党员大会", "党小组会", "党课",
                  "主题党日", "组织生活会", "民主评议", "谈心谈话", "三必谈", "流动党员", "党费",
                  "入党积极分子", "发展对象", "预备期", "三个有利于", "八有", "六有", "三同步",
                  "应建必建", "软弱涣散", "整顿", "五好", "示范岗", "责任区", "融合", "理事会",
                  "经费", "双重", "委托", "年检"):  # fmt: skip
        assert topic in text, topic


def test_figures_are_kept_exact() -> None:
    found = entries()
    assert (
        "3人" in found["formation-threshold"].answer
        or "3名" in found["formation-threshold"].answer
    )
    assert "50" in found["formation-threshold"].answer
    assert "5个" in found["formation-joint"].answer
    assert "1个月" in found["formation-steps"].answer
    for rate in ("0.5%", "1%", "1.5%", "2%"):
        assert rate in found["dues-rate"].answer
    cited = {(s.doc, s.article) for e in found.values() for s in e.sources if s.article}
    assert ("tiaoli", "第十一条") in cited and ("zhangcheng", "第七条") in cited


def test_the_loader_names_every_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text(
        """
[[entry]]
id = "Bad Id"
title = "坏条目"
phrasings = ["一", "二", "三"]
keywords = ["坏"]
related = ["nowhere"]
answer = "好"
sources = [{ doc = "tiaoli", article = "第五条" }, { doc = "nobody" }]

[[entry]]
id = "too-long"
title = "太长"
phrasings = ["一"]
keywords = ["长"]
related = ["Bad Id"]
answer = \"\"\""""
        + "字" * 1001
        + """\"\"\"
sources = [{ doc = "tiaoli" }]

[[entry]]
id = "missing"
title = "缺字段"
""",
        "utf-8",
    )
    (tmp_path / "sources.toml").write_text("", "utf-8")
    with pytest.raises(KnowledgeError) as error:
        load(tmp_path)
    message = str(error.value)
    for problem in ("kebab-case", "not marked ✔", "unknown source", "related 'nowhere'",
                    "at least 3 phrasings", "longer than 1000",
                    "field 'phrasings' missing"):  # fmt: skip
        assert problem in message, problem
    assert (HERE / "sources.toml").exists()


# -- retrieval -----------------------------------------------------------------------------------


def _accuracy(names: tuple[str, ...]) -> float:
    right, total, misses = search.accuracy(_questions(names))
    share = right / total
    print(f"{names}: {right}/{total} = {share:.1%} top-1; misses: {misses[:10]}")
    return share


def test_question_sets_are_large_and_labelled_with_existing_entries() -> None:
    questions = _questions(TUNING + HELD_OUT)
    assert len(questions) >= 200
    assert len(_questions(HELD_OUT)) >= 60
    assert {qid for _, qid in questions} <= set(entries())
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in t) and "黨" in t for t, _ in questions)


def test_top1_accuracy_on_the_tuning_set() -> None:
    assert _accuracy(TUNING) >= 0.9


def test_top1_accuracy_on_the_held_out_set() -> None:
    assert _accuracy(HELD_OUT) >= 0.9


def test_off_topic_and_weak_questions() -> None:
    index = search.index()
    for text in ("今天天气怎么样", "hello", "1+1等于几", "股票怎么买", "🙂🙂", "<b>&", "你是谁"):
        assert index.search(text).off_topic, text
    weak = index.search("支部")
    assert not weak.off_topic and not weak.confident and len(weak.hits) == 3
    sure = index.search("三必谈是哪三种情况")
    assert sure.confident and sure.hits[0].entry.id == "sanbitan"


def test_normalization() -> None:
    index = search.index()
    assert index.normalize("請問一下，黨費怎麼算？謝謝").strip(" ,?").startswith("党费怎么算")
    assert "12个党员" in index.normalize("我们有十二个党员")
    assert "三会一课" in index.normalize("三會一課")  # a name, not a count
    assert "4500" in index.normalize("月工资４５００")


# -- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("income", "retired", "rate", "monthly"),
    [
        ("2000", False, "0.5", "10.00"),
        ("3000", False, "0.5", "15.00"),
        ("3000.01", False, "1", "30.00"),
        ("4500", False, "1", "45.00"),
        ("5000", False, "1", "50.00"),
        ("5001", False, "1.5", "75.02"),
        ("10000", False, "1.5", "150.00"),
        ("10001", False, "2", "200.02"),
        ("5000", True, "0.5", "25.00"),
        ("6000", True, "1", "60.00"),
    ],
)
def test_dues_brackets(income: str, retired: bool, rate: str, monthly: str) -> None:
    dues = numbers.dues_for(Decimal(income), retired=retired)
    assert dues.rate == Decimal(rate) and dues.monthly == Decimal(monthly)


def test_numbers_read_from_questions() -> None:
    index = search.index()

    def norm(text: str) -> str:
        return index.normalize(text)

    dues = numbers.dues_question(norm("月工资4500交多少党费"))
    assert dues is not None and dues.monthly == Decimal("45.00")
    dues = numbers.dues_question(norm("退休金六千党费咋交"))
    assert dues is None or dues.retired  # 六千 is not a count before a unit; typed digits are
    dues = numbers.dues_question(norm("退休金6000，党费多少"))
    assert dues is not None and dues.retired and dues.monthly == Decimal("60.00")
    dues = numbers.dues_question(norm("月薪1.2万党费交多少"))
    assert dues is not None and dues.monthly == Decimal("240.00")
    assert numbers.dues_question(norm("党费比例是多少")) is None
    assert numbers.dues_question(norm("党费每月5号前交吗")) is None
    today = date(2026, 11, 23)
    found = numbers.probation_question(norm("预备期从去年3月1日开始什么时候转正"), today)
    assert found == numbers.Probation(date(2025, 3, 1), date(2026, 3, 1))
    found = numbers.probation_question(norm("2024年2月29日支部大会通过的预备党员"), today)
    assert found is not None and found.end == date(2025, 2, 28)
    with pytest.raises(numbers.NoSuchDate):
        numbers.probation_question(norm("预备党员2月30日通过的"), today)
    assert numbers.member_counts(norm("只有2名正式党员")) == numbers.Counts(2, 0)
    assert numbers.member_counts(norm("我们有十二个党员")) == numbers.Counts(12, 0)
    assert numbers.member_counts(norm("2个正式党员1个预备党员")) == numbers.Counts(2, 1)
    assert numbers.member_counts(norm("3个预备党员")) is None
    quorum = numbers.quorum_question(norm("应到12人来了5个能表决吗"))
    assert quorum is not None and not quorum.enough and quorum.needed == 7
    quorum = numbers.quorum_question(norm("应到十人，实到6人"))
    assert quorum is not None and quorum.enough and quorum.votes_needed == 6


# -- the formation advisor -----------------------------------------------------------------------


def test_formation_rules() -> None:
    advice = advisor.advise("2", "0", "other", "y", "u")
    assert advice.mode == "affiliated" and "joint" in advice.alternatives
    advice = advisor.advise("2", "1", "other", "n", "y")
    assert advice.mode == "joint" and "after_probation" in advice.notes
    advice = advisor.advise("0", "0", "foundation", "n", "n")
    assert advice.mode == "instructor" and "mass_orgs_first" in advice.notes
    advice = advisor.advise("3-6", "2", "trade_association", "u", "u")
    assert advice.mode == "standalone" and not advice.committee and "industry" in advice.notes
    advice = advisor.advise("7-50", "0", "other", "u", "u")
    assert advice.committee and not advice.too_large
    assert advisor.advise("51+", "0", "other", "u", "u").too_large
    assert [advisor.formal_choice(n) for n in (0, 2, 3, 6, 7, 50, 51)] == [
        "0", "2", "3-6", "3-6", "7-50", "7-50", "51+"
    ]  # fmt: skip
    with pytest.raises(ValueError):
        advisor.advise("9", "0", "other", "u", "u")
    for mode_advice in (
        advisor.advise(f, p, t, s, n)
        for f in advisor.FORMAL_CHOICES
        for p in advisor.PROBATIONARY_CHOICES
        for t in advisor.ORG_TYPES[:2]
        for s in advisor.ANSWERS
        for n in advisor.ANSWERS
    ):
        text = parse_html(render("formation", view="advice", a=mode_advice))
        assert "建议" in text and "依据" in text and len(text) <= VISIBLE_LIMIT
