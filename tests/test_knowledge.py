"""The knowledge base: the linter over every entry, retrieval accuracy on the labelled question
sets (the tuning part and the held-out part, reported separately), numbers in questions, and the
formation advisor's rules."""

from __future__ import annotations

import functools
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from bot.emulator.html import parse_html
from bot.handlers.guidance import reply_for
from bot.knowledge import HERE, KIND_GUIDES, KnowledgeError, entries, load, numbers, search
from bot.knowledge import formation as advisor
from bot.knowledge.answering import decide
from bot.texts import render

# The question index is built once per test process, when first asked: the tests that ask
# run in one process (make test: --dist loadgroup), so only it builds the index.
pytestmark = pytest.mark.xdist_group("knowledge")

QUESTIONS = Path(__file__).parent / "knowledge"
TUNING = ("questions_org.toml", "questions_life.toml")  # read while tuning the ranking
# Written apart from the entries, never tuned against (the second after issues 15 and 18).
HELD_OUT = ("questions_heldout.toml", "questions_fresh.toml")
VISIBLE_LIMIT = 1200
TODAY = date(2026, 11, 23)


def _questions(names: tuple[str, ...]) -> list[tuple[str, str]]:
    return [pair for name in names for pair in _question_file(name)]


@functools.cache
def _question_file(name: str) -> tuple[tuple[str, str], ...]:
    """One question set's (text, expected id) pairs, read once per test process."""
    data = tomllib.loads((QUESTIONS / name).read_text("utf-8"))
    return tuple((q["text"], q["id"]) for q in data["q"])


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
        assert "依据" in visible or "地方经验，供参考" in visible
        if entry.practice or entry.local:
            assert "以上级党组织要求为准" in visible
        # Rules and local experience are told apart; no internal labels; no document twice.
        assert ("📍 地方经验，供参考" in visible) == bool(entry.experience)
        assert "资料0" not in visible and "seed" not in visible
        names = [s.name for s in (*entry.rules, *entry.experience)]
        assert len(names) == len(set(names)) and all(visible.count(n) == 1 for n in names)
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
    import opencc

    questions = _questions(TUNING + HELD_OUT)
    assert len(questions) >= 800
    assert len(_questions(HELD_OUT)) >= 400
    assert {qid for _, qid in questions} <= set(entries())
    simplified = opencc.OpenCC("t2s")
    assert sum(simplified.convert(text) != text for text, _ in questions) >= 150
    fresh = tomllib.loads((QUESTIONS / "questions_fresh.toml").read_text("utf-8"))["q"]
    assert sum(q["style"] == "colloquial" for q in fresh) >= 150
    # Every entry is asked for in the never-tuned part.
    assert {q["id"] for q in fresh} == set(entries())


# Issue 15's bars: ≥ 97% top-1 on the tuning part, ≥ 95% on the never-tuned part, traditional and
# simplified agreeing on ≥ 99%, the "不太确定" fallback on ≤ 4%. Measured when last run: 98.3%
# tuning, 95.0% never-tuned (94.3% on the first held-out file, 95.5% on the second), 100% parity,
# 3.4% fallback.
TUNING_BAR, HELD_OUT_BAR, PARITY_BAR, FALLBACK_BAR = 0.97, 0.95, 0.99, 0.04


def test_top1_accuracy_on_the_tuning_set() -> None:
    assert _accuracy(TUNING) >= TUNING_BAR


def test_top1_accuracy_on_the_held_out_set() -> None:
    assert _accuracy(HELD_OUT) >= HELD_OUT_BAR


def _key(question: str) -> tuple[str, str]:
    """What the bot does with a question: the kind of answer and which entries (or figures)."""
    decision = decide(question, TODAY)
    value = decision.value
    if decision.kind == "weak":
        return decision.kind, " ".join(hit.entry.id for hit in value.hits)
    return decision.kind, getattr(value, "id", repr(value))


@pytest.mark.long
def test_traditional_script_is_answered_as_simplified_over_the_whole_set() -> None:
    # Every labelled question in simplified script, and written as Taiwan (with its phrases) and
    # Hong Kong users would, must get the same answer.
    import opencc

    questions = [text for text, _ in _questions(TUNING + HELD_OUT)]
    converters = [opencc.OpenCC(config) for config in ("s2t", "s2twp", "s2hk")]
    to_simplified = opencc.OpenCC("t2s")
    agree = total = 0
    for text in questions:
        simplified = _key(to_simplified.convert(text))
        for converter in converters:
            total += 1
            agree += _key(converter.convert(text)) == simplified
    print(f"traditional parity: {agree}/{total} = {agree / total:.1%}")
    assert agree / total >= PARITY_BAR


def test_the_weak_match_fallback_is_rare() -> None:
    questions = _questions(TUNING + HELD_OUT)
    weak = [text for text, _ in questions if decide(text, TODAY).kind == "weak"]
    share = len(weak) / len(questions)
    print(f"fallback: {len(weak)}/{len(questions)} = {share:.1%}: {weak}")
    assert share <= FALLBACK_BAR


def test_off_topic_and_weak_questions() -> None:
    index = search.index()
    for text in ("今天天气怎么样", "hello", "1+1等于几", "股票怎么买", "🙂🙂", "<b>&", "你是谁"):
        assert index.search(text).off_topic, text
    weak = index.search("支部")
    assert not weak.off_topic and not weak.confident and len(weak.hits) == 3
    sure = index.search("三必谈是哪三种情况")
    assert sure.confident and sure.hits[0].entry.id == "sanbitan"


@pytest.mark.parametrize(
    "question",
    ["党员去世了党费怎么处理", "党员病故后组织关系怎么办", "黨員過世了怎麼辦",
     # Too little matches to say which entry it is (only 党员 and 吗).
     "党员受了处分还能评优吗"],
)  # fmt: skip
def test_a_subject_the_sources_do_not_cover_is_not_answered_with_confidence(
    question: str,
) -> None:
    # The nearest entries (失联, 撤销支部, 党费) are offered as "不太确定", none as the answer.
    assert decide(question, TODAY).kind == "weak"


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
    committee = numbers.committee_quorum(norm("支委5个人来了2个，支委会能开不"))
    assert committee == numbers.Quorum(5, 2) and not committee.enough and committee.needed == 3
    assert numbers.committee_quorum(norm("支委会4个委员到了3个能开会吗")) == numbers.Quorum(4, 3)
    assert numbers.committee_quorum(norm("支委会要几个人")) is None
    # How many must attend: the formal members count, the probationary ones named do not.
    needed = numbers.quorum_needed(norm("我们支部13个正式党员2个预备党员，党员大会至少要到多少人"))
    assert needed == numbers.QuorumNeeded(13, "formal", 2) and needed.needed == 7
    assert numbers.quorum_needed(norm("应到12人至少要来几个")) == numbers.QuorumNeeded(
        12, "expected"
    )
    assert numbers.quorum_needed(norm("20名党员，过半数是几个")) == numbers.QuorumNeeded(
        20, "members"
    )
    assert numbers.quorum_needed(norm("9名党员其中2名预备党员，多少票才能通过")) == (
        numbers.QuorumNeeded(7, "formal", 2)
    )
    # Not for an election (its rule is not confirmed), a meeting without a vote rule, or a
    # question that asks nothing about attending.
    for question in ("15个正式党员选举支委会至少到会多少人", "我们有8个党员，党小组会来几个人合适",
                     "7个正式党员要设支委会吗", "3个党员够成立支部吗"):  # fmt: skip
        assert numbers.quorum_needed(norm(question)) is None, question
    assert numbers.quorum_needed(norm("支部有11个党员，开会要来一半以上吗")) == (
        numbers.QuorumNeeded(11, "members")
    )
    today = date(2026, 12, 1)
    assert decide("15个正式党员选举支委会至少到会多少人", today).kind == "entry"
    # "支部" alone is in nearly every question: it does not make one about setting a branch up.
    assert decide("只有5个党员的支部怎么选书记", today).value.id == "election"
    assert decide("7个正式党员要设支委会吗", today).kind == "formation"


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


# -- the calculators: what a domain review found (issue 18) --------------------------------------


@pytest.mark.parametrize(
    ("question", "opening"),
    [
        # 1. The formal count is the total less the probationary ones.
        (
            "我们有3名党员，其中1名预备党员，能建支部吗",
            "🧭 建议：成立联合党支部\n按正式党员 2 名、预备党员 1 名算",
        ),
        (
            "有8名党员，其中2名预备党员，要设支委会吗",
            "🧭 建议：单独成立党支部\n按正式党员 6 名、预备党员 2 名算（预备党员不计入"
            "建支部和设支委会的人数）。\n正式党员已达3名以上，应当单独成立党支部（应建必建）。"
            "\n正式党员不足7人，不设支部委员会，设书记1名，必要时设副书记1名。",
        ),
        # 2. Dues: negation, mixed units, annual pay, 返聘 answered with the entry.
        ("我还没退休，月工资6000，党费交多少", "💰 党费测算：每月 90.00 元\n月工资收入（税后）"),
        ("工资1万2党费多少", "💰 党费测算：每月 240.00 元"),
        ("工资3千5交多少党费", "💰 党费测算：每月 35.00 元"),
        ("工资三千五交多少党费", "💰 党费测算：每月 35.00 元"),
        (
            "年薪30万党费每月交多少",
            "💰 党费测算：每月 500.00 元\n年收入 300000 元，按月算 ÷12 = 25000.00 元/月",
        ),
        ("退休金6000，党费多少", "💰 党费测算：每月 60.00 元\n离退休费 6000 元"),
        ("退休返聘工资8000党费多少", "离退休党员按每月领取的离退休费（养老金）交党费，分两档："),
        ("月工资5000到6000交多少党费", "💰 5000–6000 元跨了两个档次，请告诉我具体数字"),
        ("月工资6000-8000党费", "💰 党费测算：每月 90.00–120.00 元"),
        # An income that may be yearly is asked back, with both readings.
        (
            "工资10万交多少党费",
            "💰 100000 元是月收入还是年收入？\n· 如果是每月税后收入：每月交 2000.00 元（2%）；\n"
            "· 如果是一年的收入：按月 8333.33 元算，每月交 125.00 元（1.5%）。",
        ),
        ("月薪10万党费多少", "💰 党费测算：每月 2000.00 元"),
        # 3. An extended probation ends later by the extension.
        (
            "延长预备期半年，2024年3月1日支部大会通过的，什么时候转正",
            "📅 预备期到 2025年9月1日 期满\n预备期一年，从支部大会通过接收之日"
            "（2024年3月1日）算起，再加延长的半年。",
        ),
        ("2024年3月1日支部大会通过的预备党员什么时候转正", "📅 预备期到 2025年3月1日 期满"),
        # 5. The 50-member guide counts every member.
        (
            "有49名正式党员和5名预备党员，能建一个支部吗",
            "🧭 建议：单独成立党支部\n按正式党员 49 名、预备党员 5 名算（预备党员不计入"
            "建支部和设支委会的人数）。\n正式党员已达3名以上，应当单独成立党支部（应建必建）。"
            "\n支部党员（含预备党员）一般不超过50人",
        ),
    ],
)
def test_calculator_answers(question: str, opening: str) -> None:
    text, _ = reply_for(decide(question, TODAY), TODAY)
    assert parse_html(text).startswith(opening)


def test_formation_follows_the_answers() -> None:
    # 4. Nobody yet: an instructor and mass organizations first, never a group of nobody.
    advice = advisor.advise("0", "0", "social_group", "y", "y")
    assert (advice.mode, advice.reason, advice.alternatives) == ("instructor", "no_formal", ())
    text = parse_html(render("formation", view="advice", a=advice))
    assert text.startswith(
        "🧭 建议：先请上级委派党建工作指导员\n为什么：现在还没有正式党员，暂不具备建党组织的条件。"
    )
    assert "党小组" not in text and "可以先建工会、共青团、妇女组织等群团组织" in text
    # Two formal members and no peers nearby: never a joint branch.
    for supervisor, mode, alternatives in (
        ("y", "affiliated", ("instructor",)),
        ("n", "area", ("instructor",)),
        ("u", "area", ("affiliated", "instructor")),
    ):
        advice = advisor.advise("2", "0", "other", supervisor, "n")
        assert (advice.mode, advice.alternatives) == (mode, alternatives)
        text = parse_html(render("formation", view="advice", a=advice))
        body = text.split("📖")[0]  # the sources line names every mode
        assert "联合" not in body and "为什么：正式党员不足3名" in body
    advice = advisor.advise("2", "0", "other", "n", "y")
    assert advice.mode == "joint" and advice.reason == "peers_nearby"
    assert advisor.advise("7-50", "3+", "other", "u", "u", members_total=54).too_large
    assert not advisor.advise("7-50", "3+", "other", "u", "u", members_total=50).too_large


def test_the_linter_rejects_local_practice_stated_as_a_rule(tmp_path: Path) -> None:
    entry = """
[[entry]]
id = "{id}"
title = "谈心谈话"
phrasings = ["一", "二", "三"]
keywords = ["谈心"]
related = ["partner"]
answer = "{answer}"
sources = [{sources}]
{local}

[[entry]]
id = "partner"
title = "伙伴"
phrasings = ["一", "二", "三"]
keywords = ["伙伴"]
related = ["{id}"]
answer = "好"
sources = [{{ doc = "tiaoli" }}]
"""
    rule_and_seed = '{ doc = "tiaoli" }, { doc = "seed003" }'
    cases = {
        # A seed practice in an entry that also cites rules, without saying whose it is.
        "as-rule": ("每年谈一次；遇到三必谈情形要及时谈。", rule_and_seed, "local = true",
                    "states the practice '三必谈' as a rule"),
        "no-marker": ("有的地方实行三必谈。", rule_and_seed, "",
                      "names the practice '三必谈': mark it local = true"),
        "not-cited": ("有的地方实行三必谈。", '{ doc = "tiaoli" }, { doc = "seed001" }',
                      "local = true", "names the practice '三必谈' of seed003 without citing it"),
        "seed-only": ("每年谈一次。", '{ doc = "seed003" }', "",
                      "cites only seed documents: mark it local = true"),
        # The answer's shape: a first line of at most 40 characters, at most five points.
        "long-lead": ("谈" * 41, '{ doc = "tiaoli" }', "",
                      "first line longer than 40 characters"),
        "six-points": ("每年谈。\\n1. 一\\n2. 二\\n3. 三\\n4. 四\\n5. 五\\n· 六",
                       '{ doc = "tiaoli" }', "", "more than 5 points"),
        "no-seed": ("每年谈一次。", '{ doc = "tiaoli" }', "local = true",
                    "local = true but no seed document among the sources"),
    }  # fmt: skip
    for eid, (answer, sources, local, problem) in cases.items():
        (tmp_path / "x.toml").write_text(
            entry.format(id=eid, answer=answer, sources=sources, local=local), "utf-8"
        )
        with pytest.raises(KnowledgeError) as error:
            load(tmp_path)
        assert str(error.value).startswith(f"x:{eid}: {problem}")
        assert len(str(error.value).splitlines()) == 1
    fine = ("每年谈一次；有的地方还实行三必谈（材料中的做法）。", rule_and_seed)
    (tmp_path / "x.toml").write_text(
        entry.format(id="fine", answer=fine[0], sources=fine[1], local="local = true"), "utf-8"
    )
    assert load(tmp_path)["fine"].experience[0].name.startswith("《积极推动社会组织党建工作创新》")


def test_local_practices_are_found_in_their_seed_documents() -> None:
    seeds = HERE.parents[1].parent / "shared" / "seeds" / "clean"
    if not seeds.is_dir():
        pytest.skip("the seed documents (../shared) are not beside this checkout")
    docs = tomllib.loads((HERE / "sources.toml").read_text("utf-8"))
    for key, doc in docs.items():
        if not doc.get("local"):
            continue
        (path,) = seeds.glob(f"{key.removeprefix('seed')}_*.txt")
        text = path.read_text("utf-8")
        for term in doc["practices"]:
            assert term in text, (key, term)


def test_fast_bm25_scores_are_rank_bm25s_on_every_labelled_question() -> None:
    # The per-term weights built once must give exactly rank-bm25's scores (so the rankings did
    # not change when the per-document loop went away).
    from rank_bm25 import BM25Okapi

    index = search.index()
    questions = [text for text, _ in _questions(TUNING + HELD_OUT)]
    words = {text: index.terms(text) for text in questions}  # segmented once, not per field
    bigrams = {text: index.bigrams_of(text) for text in questions}
    for field, corpus in index.corpora.items():
        reference = BM25Okapi(corpus)
        fast = index.bigrams if field == "bigrams" else index.fields[field]
        for text in questions:
            terms = bigrams[text] if field == "bigrams" else words[text]
            assert np.array_equal(fast.scores(terms), reference.get_scores(terms)), (field, text)


@pytest.mark.parametrize(
    ("question", "entry", "statement"),
    [
        # 6. Without a committee the 党员大会 elects the secretary.
        ("不设支委会的支部书记怎么产生", "election",
         "4. 不设支委会的支部（正式党员不足7人），由党员大会直接选举书记（必要时选副书记），"
         "报上级党组织批准。"),
        # 7. One reading of 半数以上, said plainly, as the calculator counts it.
        ("党员大会到会多少人才能表决", "quorum-vote",
         "1. 一般事项：有表决权的党员到会要过半数（正好一半不够）才能表决"),
        # 8. Postponing or advancing needs approval.
        ("支部换届可以推迟吗", "term-change",
         "2. 特殊情况需要延期或提前换届的，须报上级党组织批准；延期或提前一般不超过1年。"),
        # 9. Under 7: a secretary, and a deputy where needed.
        ("多少党员要设支委会", "committee-size",
         "正式党员7人以上的支部设支部委员会；不足7人的不设委员会，设书记1名，必要时设副书记1名。"),
        # 11. Local experience says whose it is.
        ("谈心谈话有什么要求", "heart-talk", "3. 有的地方还实行“三必谈”（材料中的做法）"),
        ("年检时党建查什么", "annual-inspection", "有的地方把党建和社会组织登记、年检"),
        ("上级怎么考核支部党建", "party-assessment", "有的地方已把社会组织党建列入"),
        ("计划单列是什么意思", "recruitment-plan", "有的地方对社会组织发展党员实行计划单列"),
        ("被列为软弱涣散怎么整顿", "weak-org-rectify", "材料中的做法是集中整顿"),
        ("支部书记从哪里选", "secretary-selection", "4. 有的地方通过培训、提高待遇"),
        ("联合支部最多能联合几个单位", "formation-joint", "由大联合变小联合"),
        ("社会组织党组织归谁管", "management-system", "材料中介绍的做法是“属地为主"),
        ("能不能建流动党员党支部", "formation-mobile-branch", "2. 有的地方对依托党员流出地"),
        # The topics that had no home.
        ("我们支部的上级党组织是谁", "who-supervises", "先看批准成立支部的党组织"),
        ("支部要不要建党员名册", "member-register", "支部应有一份党员名册"),
        ("协会的分支机构要不要单独建支部", "branch-offices", "3名以上正式党员的分支机构"),
        ("支部选举得多少票才能当选", "election-details", "得票超过实到会有选举权人数的一半"),
        ("政治审查是查什么", "recruitment-later-steps", "一般在3个月内审批。"),
        ("入党积极分子由谁来确定", "who-decides-recruitment", "不设支委会的支部，由支部大会"),
        ("什么情况要劝退党员", "member-short", "仍无转变的劝其退党；劝而不退的除名。"),
        ("支部收的党费交给谁", "dues-remitted", "按规定逐级上缴，支部不能自己留用。"),
        ("组织关系转接的流程是什么", "transfer-procedure", "本人申请 → 党组织开介绍信"),
        ("协会注销了党支部怎么办", "branch-closing", "报上级党组织批准，调整或撤销支部"),
        ("一个党员能参加两个支部吗", "member-placement", "每名党员都必须编入一个支部或党小组"),
        ("党员长期在外地工作怎么参加组织生活", "mobile-member", ""),
    ],
)  # fmt: skip
def test_reviewed_entries_answer_right(question: str, entry: str, statement: str) -> None:
    decision = decide(question, TODAY)
    assert decision.kind == "entry" and decision.value.id == entry
    assert statement in decision.value.answer


def test_formation_project_cites_no_unconfirmed_article() -> None:
    # 10. The 6-month project rule is in 第五条 (◐): the 条例 is cited without an article.
    assert [(s.doc, s.article) for s in entries()["formation-project"].sources] == [("tiaoli", "")]


def test_entries_resting_on_practice_facts_say_so() -> None:
    facts = tomllib.loads((HERE / "facts_extra.toml").read_text("utf-8"))["fact"]
    assert {f["confidence"] for f in facts} <= {"✔", "◐", "?"}
    practice = {f["id"] for f in facts if f["confidence"] == "?"}
    raw = [
        e
        for path in HERE.glob("*.toml")
        for e in tomllib.loads(path.read_text("utf-8")).get("entry", [])
    ]
    resting = [e for e in raw if set(e.get("facts", [])) & practice]
    assert len(resting) >= 4 and all(e["practice"] for e in resting)


# -- small talk and off-topic input (issue 15 item 3; 14.17) -------------------------------------


def _off_topic_inputs() -> list[tuple[str, str]]:
    lines = (QUESTIONS / "off_topic.txt").read_text("utf-8").splitlines()
    return [tuple(line.split("\t")) for line in lines if line and not line.startswith("#")]


def test_a_hundred_off_topic_inputs_get_no_rule_card() -> None:
    inputs = _off_topic_inputs()
    assert len(inputs) == 100
    cards = []
    for text, kind in inputs:
        decision = decide(text, TODAY)
        reply, _ = reply_for(decision, TODAY)
        if decision.kind != kind or "📖" in reply or "依据" in reply:
            cards.append((text, decision.kind))
    assert cards == []


def test_questions_that_look_like_small_talk_still_get_answers() -> None:
    for question, entry in (
        ("你好，支委会多久开一次", "meeting-committee"),
        ("会议记录怎么写", "meeting-record"),
        ("谢谢，党费比例是多少", "dues-rate"),
    ):
        decision = decide(question, TODAY)
        assert decision.kind == "entry" and decision.value.id == entry, question


def test_a_non_member_asking_to_be_secretary_is_told_no_first() -> None:
    best = search.index().search("我们协会的会长不是党员，能当书记吗").best
    assert best is not None and best.entry.id == "secretary-party-age"
    first_point = best.entry.answer.splitlines()[1]
    assert first_point == "1. 书记从支部的正式党员中选出：不是党员的（包括单位负责人）不能当书记。"
