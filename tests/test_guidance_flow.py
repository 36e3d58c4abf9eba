"""Questions, guides, the formation advisor and the self-checks end to end, as a phone sends them:
answers with sources and related buttons, numbers computed, weak and off-topic questions handled,
bad input and stale buttons answered, self-check results saved per branch with their change."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.knowledge import search
from db import repo, selfchecks
from tests.conftest import OTHER, SECRETARY, Harness

# The question index is built once per test process, when first asked: the tests that ask
# run in one process (make test: --dist loadgroup), so only it builds the index.
pytestmark = pytest.mark.xdist_group("knowledge")

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True, scope="module")
def _index_built() -> None:
    # Built once before the bot runs: on a loaded machine a build inside the first reply would
    # eat into the harness's wait for that reply.
    search.index()


THIRD = 3003


@time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=TZ), tick=True)
async def test_questions_before_registering(harness: Harness) -> None:
    reply = (await harness.send("只有两名党员能建支部吗", user=OTHER))[-1]
    assert "建议" in reply and "联合" in reply and "不超过5个" in reply and "依据" in reply
    assert "🧭 详细评估怎么建" in harness.buttons(OTHER)
    reply = (await harness.send("/ask 月工资4500交多少党费", user=OTHER))[-1]
    assert "每月 45.00 元" in reply and "3000–5000 元（含）" in reply and "1%" in reply
    assert "党费规定" in reply or "党费收缴" in reply
    reply = (await harness.send("预备期从去年3月1日开始什么时候转正", user=OTHER))[-1]
    assert "2026年3月1日 期满" in reply and "第七条" in reply
    reply = (await harness.send("預備黨員2月30日通過的，啥時候轉正", user=OTHER))[-1]
    assert "日期不存在" in reply
    reply = (await harness.send("应到12人来了5个能表决吗", user=OTHER))[-1]
    assert "不能表决" in reply and "至少 7 人" in reply
    # How many must come, counted from the members the question names (not a formation card).
    reply = await harness.send(
        "我们支部13个正式党员2个预备党员，党员大会至少要到多少人", user=OTHER
    )
    assert reply[-1] == (
        "🗳 13 名正式党员：至少 7 人到会才能表决\n"
        "· 有表决权的党员到会须超过半数（正好一半不够）：13 人中至少 7 人；\n"
        "· 通过须赞成人数超过应到会有表决权党员的半数："
        "至少 7 票赞成（按应到人数算，不是按实到）。\n"
        "2 名预备党员可以参加、发表意见，但没有表决权，不算进应到人数。\n"
        "选举的到会要求另有规定，见换届选举的说明。\n\n"
        "📖 依据：《中国共产党支部工作条例（试行）》第十一条；《中国共产党发展党员工作细则》。"
    )
    assert harness.buttons(OTHER)[0] == "到会人数和表决规则"
    reply = await harness.send("支委会5个委员来了2个，能开吗", user=OTHER)
    assert reply[-1] == (
        "🗳 支委会 5 名委员，到会 2 人：人数不够，不能开\n"
        "· 支委会须有过半数的委员到会才能召开（正好一半不够）：5 人中至少 3 人到会。\n"
        "建议改期，等到会委员过半再开。\n\n"
        "📖 依据：《中国共产党支部工作条例（试行）》第十二条。"
    )
    # Traditional script and filler; the answer cites its document and offers related entries.
    reply = (await harness.send("請問一下，三必談是哪三種情況？謝謝", user=OTHER))[-1]
    assert reply.startswith("“三必谈”是一些地方社会组织支部的交心谈心制度：遇到下面三种情况")
    assert reply.endswith(
        "📍 地方经验，供参考：《积极推动社会组织党建工作创新》（宜城市）等五篇。"
        "各地做法不同，以上级党组织要求为准。"
    )
    related = harness.buttons(OTHER)
    assert 1 <= len(related) <= 3
    replies = await harness.tap(related[0], user=OTHER)
    assert "依据" in replies[-1]


@time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=TZ), tick=True)
async def test_weak_off_topic_and_bad_input(harness: Harness) -> None:
    reply = (await harness.send("今天天气怎么样"))[-1]
    assert "我能回答党支部工作方面的问题" in reply
    reply = (await harness.send("支部"))[-1]
    assert "没有找到很有把握的答案" in reply and len(harness.buttons()) == 3
    for bad in ("<b>&", "🙂🙂🙂", " ", "党" * 5000, "<script>alert(1)</script>"):
        replies = await harness.send(bad)
        assert replies and "出错" not in replies[-1], bad
    await harness.tap_data("kb:no-such-entry")
    assert "过期" in harness.callback_answers()[-1] or "失效" in harness.callback_answers()[-1]
    # /ask alone explains how to ask.
    assert "直接发问题给我" in (await harness.send("/ask"))[-1]


@time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=TZ), tick=True)
async def test_text_in_a_flow_goes_to_the_flow_and_guides_open_from_it(harness: Harness) -> None:
    await harness.register()
    await harness.send("/log")
    await harness.tap("党员大会")
    assert "📚 这个会怎么开" in harness.buttons()
    replies = await harness.tap("📚 这个会怎么开")
    assert "党员大会" in replies[-1] and "依据" in replies[-1]
    # The flow goes on: a typed date is taken as the meeting's date, not as a question.
    replies = await harness.send("昨天")
    assert "时间" in replies[-1] and "我能回答" not in replies[-1]
    await harness.send("/cancel")
    # Guides from the menu, and 主题党日 ideas by month.
    await harness.send("/guide")
    labels = harness.buttons()
    assert "怎样讲好一堂党课" in labels and "🚩 主题党日点子（按月份）" in labels
    await harness.tap("🚩 主题党日点子（按月份）")
    card = harness.last_message()["text"]
    assert "11月主题党日点子" in card
    await harness.tap("12月 ➡️")
    assert "12月主题党日点子" in harness.last_message()["text"]


@time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=TZ), tick=True)
async def test_formation_advisor_flow(harness: Harness) -> None:
    await harness.send("/formation", user=OTHER)
    assert "正式党员" in harness.last_message(OTHER)["text"]
    await harness.tap("2名", user=OTHER)
    await harness.tap("1名", user=OTHER)
    await harness.tap("行业协会商会", user=OTHER)
    await harness.tap("有", user=OTHER)
    await harness.tap("没有", user=OTHER)
    card = harness.last_message(OTHER)["text"]
    assert "挂靠" in card and "转正后正式党员达到3名" in card
    # Three or more formal members: the last two questions are skipped.
    await harness.tap("🔁 重新评估", user=OTHER)
    await harness.tap("7–50名", user=OTHER)
    await harness.tap("没有", user=OTHER)
    card = harness.last_message(OTHER)["text"]
    assert "单位是哪一类" in card and "（3/3）" in card
    await harness.tap("基金会", user=OTHER)
    card = harness.last_message(OTHER)["text"]
    assert "单独成立党支部" in card and "设支部委员会" in card and "不超过1个月" in card
    for forged in ("fa:t:2:0:9", "fa:f:8", "fa:n:2:0:1:y", "fa:zz"):
        await harness.tap_data(forged, user=OTHER)
        assert "过期" in harness.callback_answers()[-1] or "失效" in harness.callback_answers()[-1]


@time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=TZ), tick=True)
async def test_selfcheck_saved_per_branch_with_change(harness: Harness) -> None:
    # Without a branch the check works but is not saved.
    await harness.send("/selfcheck", user=OTHER)
    assert "结果不保存" in harness.last_message(OTHER)["text"]
    branch = await harness.register()
    assert harness.app is not None
    database = harness.app.database
    await harness.send("/selfcheck")
    await harness.tap("八有标准")
    for answer in "是是否是是否是是":
        await harness.tap("✅ 是" if answer == "是" else "❌ 否")
    card = harness.last_message()["text"]
    assert "八有标准：6/8" in card and "落实阵地" in card and "落实经费" in card
    assert "已保存" in card
    saved = await selfchecks.latest(database, branch.id, "eight")
    assert saved is not None and saved.score == 6 and saved.answers == "yynyynyy"
    # A second run shows the change from the first.
    await harness.tap("🔁 再做一次")
    for _ in range(8):
        await harness.tap("✅ 是")
    card = harness.last_message()["text"]
    assert "8/8" in card and "进步了 2 项" in card
    assert len(await selfchecks.history(database, branch.id, "eight")) == 2
    # 软弱涣散: a "no" is a sign found.
    await harness.send("/selfcheck")
    assert "八有标准：上次" in harness.last_message()["text"]
    await harness.tap("软弱涣散排查")
    for answer in "是否是是是":
        await harness.tap("✅ 是" if answer == "是" else "❌ 否")
    assert "有 1 种软弱涣散的情形" in harness.last_message()["text"]
    # Forged or stale buttons.
    for forged in ("sc:a:eight:yyyyyyyyyy", "sc:a:nine:", "sc:a:six:yx"):
        await harness.tap_data(forged)
        assert "过期" in harness.callback_answers()[-1] or "失效" in harness.callback_answers()[-1]
    # A viewer can run a check, but it is not saved for the branch.
    harness.fake.add_user(THIRD, first_name="查看")
    await repo.add_membership(
        database, actor_id=SECRETARY, user_id=THIRD, branch_id=branch.id, role="viewer"
    )
    await harness.send("/selfcheck", user=THIRD)
    await harness.tap("活动场所“六有”", user=THIRD)
    for _ in range(6):
        await harness.tap("✅ 是", user=THIRD)
    assert "已保存" not in harness.last_message(THIRD)["text"]
    assert await selfchecks.latest(database, branch.id, "six") is None


@time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=TZ), tick=True)
async def test_formation_advice_follows_the_answers(harness: Harness) -> None:
    # Two formal members, a supervising unit without a party organization, no peers nearby:
    # the regional organization, with why; not a joint branch.
    await harness.send("/formation", user=OTHER)
    for label in ("2名", "没有", "社会团体", "没有", "没有"):
        await harness.tap(label, user=OTHER)
    card = harness.last_message(OTHER)["text"]
    assert card.startswith(
        "<b>🧭 建议：参加区域性党组织</b>\n"
        "为什么：正式党员不足3名，附近没有可以一起建的单位，业务主管单位也没有党组织。\n"
    )
    assert "联合" not in card.split("📖")[0]
    # No formal member: an instructor first, whatever the supervising unit has.
    await harness.tap("🔁 重新评估", user=OTHER)
    for label in ("0名", "没有", "基金会", "有", "有"):
        await harness.tap(label, user=OTHER)
    card = harness.last_message(OTHER)["text"]
    assert card.startswith("<b>🧭 建议：先请上级委派党建工作指导员</b>\n")
    assert "党小组" not in card


@time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=TZ), tick=True)
async def test_small_talk_gets_a_friendly_line_and_stray_input_a_hint(harness: Harness) -> None:
    await harness.register()
    replies = await harness.send("你好")
    assert replies[-2] == "您好！我是支书助手：帮您记会议、按时提醒，也能回答党支部工作的问题。"
    assert "请选择要做的事" in replies[-1] and "📖 规则问答" in harness.buttons()
    replies = await harness.send("谢谢！")
    assert replies[-2] == "不客气！有问题随时发给我。"
    replies = await harness.send("2024年3月1日")
    assert replies[-1] == (
        "这像是一个日期或数字，但现在没有进行中的操作。\n"
        "· 记录会议：发送 /log\n"
        "· 问规则：把问题说完整，例如“预备期从2024年3月1日开始什么时候转正”"
        "“月工资4500交多少党费”\n"
        "发送 /menu 打开主菜单。"
    )
    replies = await harness.send("帮我写个年终总结")
    assert replies[-1].startswith("写材料我帮不上忙，但可以告诉您有关规定和要点。\n我能回答")
