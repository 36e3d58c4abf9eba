"""民主评议党员 grades end to end: from the record card, each party member graded in a tap or two,
基本合格 and 不合格 with a reason (a one-step form with its second chances), the 1/3 guide for
优秀, the rest set 合格 at once, the sheet read back, and every forged or stale button refused."""

from __future__ import annotations

from datetime import date
from io import BytesIO

import openpyxl
import time_machine

from db import appraisals, meetings, members, repo
from db.models import Meeting, MemberInfo
from tests.conftest import OTHER, SECRETARY, Harness

NOW = "2026-12-20 10:00 +08:00"
THIRD = 3003
EXPIRED = "这个按钮已过期，请按最新的消息操作。"


async def _world(h: Harness) -> tuple[int, int, dict[str, int]]:
    branch = await h.register(has_committee=True, formal_members=4, probationary_members=1)
    assert h.app is not None
    database = h.app.database
    ids = {}
    people = (("张三", "formal"), ("李四", "formal"), ("王五", "formal"), ("赵六", "formal"),
              ("钱七", "probationary"), ("孙八", "applicant"))  # fmt: skip
    for name, status in people:
        member = await members.add(
            database, user_id=SECRETARY, branch_id=branch.id,
            info=MemberInfo(name, status, date(2020, 7, 1)),
        )  # fmt: skip
        ids[name] = member.id
    record, _ = await meetings.create_meeting(
        database,
        user_id=SECRETARY,
        branch_id=branch.id,
        meeting=Meeting(kind="member_appraisal", held_on=date(2026, 12, 18), host="张三"),
        draft_key="appraisal",
    )
    assert record.id is not None
    return branch.id, record.id, ids


@time_machine.travel(NOW, tick=True)
async def test_grading_a_branch_in_a_few_taps(harness: Harness) -> None:
    _, record_id, ids = await _world(harness)
    await harness.send("/history")
    await harness.tap("1")
    assert "📋 评议等次" in harness.buttons()
    card = (await harness.tap("📋 评议等次"))[-1]
    assert card == (
        "民主评议党员 · 2026年12月18日\n"
        "参评党员 5 人：优秀 0，合格 0，基本合格 0，不合格 0，未评 5。\n"
        "1. 张三（正式党员）：未评\n2. 李四（正式党员）：未评\n3. 王五（正式党员）：未评\n"
        "4. 赵六（正式党员）：未评\n5. 钱七（预备党员）：未评\n"
        "点名字评定等次；基本合格、不合格要写明原因。"
    )
    assert harness.buttons() == ["张三：未评", "李四：未评", "王五：未评", "赵六：未评",
                                 "钱七：未评", "其余 5 人设为合格", "📊 群内匿名测评",
                                 "📤 导出评议表", "⬅️ 返回记录"]  # fmt: skip
    # 优秀 in two taps each; two of five is over a third: the guide is shown, not enforced.
    assert (await harness.tap("张三：未评"))[-1] == "张三 的评议等次？"
    card = (await harness.tap("优秀"))[-1]
    assert "1. 张三（正式党员）：优秀" in card and "⚠️" not in card
    await harness.tap("李四：未评")
    card = (await harness.tap("优秀"))[-1]
    assert "⚠️ 优秀 2 人，超过参评党员的三分之一" in card
    # 不合格 asks the reason; a too long one gets a second chance; HTML stays text.
    await harness.tap("王五：未评")
    reply = (await harness.tap("不合格"))[-1]
    assert "王五 评为不合格：请写明原因（一两句话，最多 100 字）。" in reply
    reply = (await harness.send("无" * 101))[-1]
    assert "100" in reply and "101" in reply
    replies = await harness.send("全年 <b>3次</b> 无故不参加组织生活 & 不交党费")
    assert (
        replies[0] == "✅ 已评定：王五 不合格（全年 <b>3次</b> 无故不参加组织生活 & 不交党费）。"
    )
    assert (
        "3. 王五（正式党员）：不合格（全年 <b>3次</b> 无故不参加组织生活 & 不交党费）"
        in replies[-1]
    )
    # The rest are 合格 in one tap.
    card = (await harness.tap("其余 2 人设为合格"))[-1]
    assert "参评党员 5 人：优秀 2，合格 2，基本合格 0，不合格 1。" in card
    assert "其余" not in " ".join(harness.buttons())
    # A change of mind: 不合格 → 合格 drops the reason.
    await harness.tap("王五：不合格")
    card = (await harness.tap("合格"))[-1]
    assert "3. 王五（正式党员）：合格\n" in card
    assert harness.app is not None
    stored = await appraisals.grades(harness.app.database, record_id)
    assert {m: (g.grade, g.reason) for m, g in stored.items()} == {
        ids["张三"]: ("excellent", ""), ids["李四"]: ("excellent", ""),
        ids["王五"]: ("qualified", ""), ids["赵六"]: ("qualified", ""),
        ids["钱七"]: ("qualified", ""),
    }  # fmt: skip
    # The sheet.
    replies = await harness.tap("📤 导出评议表")
    assert replies[-1] == "📤 民主评议党员情况表：参评党员 5 人。可用 Excel 或 WPS 打开、打印。"
    sent = harness.fake.sent_files[-1]
    assert sent["file_name"] == "测试支部_民主评议党员_2026-12-18.xlsx"
    sheet = openpyxl.load_workbook(BytesIO(sent["data"])).active
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2, max_row=8)]
    assert rows[0] == ["序号", "姓名", "身份", "评议等次", "原因（基本合格、不合格）"]
    assert rows[1] == [1, "张三", "正式党员", "优秀", None]
    assert rows[5] == [5, "钱七", "预备党员", "合格", None]
    assert rows[6][0] == "参评党员 5 人：优秀 2，合格 3，基本合格 0，不合格 0"


@time_machine.travel(NOW, tick=True)
async def test_forged_stale_and_other_peoples_buttons(harness: Harness) -> None:
    branch_id, record_id, ids = await _world(harness)
    assert harness.app is not None
    database = harness.app.database
    await harness.send("/help")
    # Not a party member, not this branch's member, a member deleted since: expired.
    for member_id in (ids["孙八"], 999_999):
        answers = len(harness.callback_answers())
        await harness.tap_data(f"ap:s:{record_id}:{member_id}:excellent")
        assert harness.callback_answers()[answers:] == [EXPIRED]
    await harness.tap_data(f"ap:c:{record_id}")
    await harness.tap("赵六：未评")
    await members.remove(database, user_id=SECRETARY, branch_id=branch_id, member_id=ids["赵六"])
    await harness.tap("优秀")
    assert harness.callback_answers()[-1] == EXPIRED
    assert await appraisals.grades(database, record_id) == {}
    # A record that is no 民主评议.
    other_record, _ = await meetings.create_meeting(
        database, user_id=SECRETARY, branch_id=branch_id,
        meeting=Meeting(kind="committee_meeting", held_on=date(2026, 12, 1)), draft_key="c",
    )  # fmt: skip
    await harness.tap_data(f"ap:c:{other_record.id}")
    assert harness.callback_answers()[-1] == "这条记录不是民主评议党员，没有评议等次。"
    # Another branch's secretary: no permission; a viewer sees the grades but cannot give one.
    await harness.register(user=OTHER, key="other")
    await harness.send("/help", user=OTHER)
    await harness.tap_data(f"ap:s:{record_id}:{ids['张三']}:excellent", user=OTHER)
    assert "权限" in harness.callback_answers()[-1]
    harness.fake.add_user(THIRD, first_name="查看")
    await repo.add_membership(
        database, actor_id=SECRETARY, user_id=THIRD, branch_id=branch_id, role="viewer"
    )
    await harness.send("/help", user=THIRD)
    card = (await harness.tap_data(f"ap:c:{record_id}", user=THIRD))[-1]
    assert "参评党员 4 人" in card and "点名字评定等次" not in card
    assert (
        "⚠️ 支部有党员 5 名，花名册上只有 4 名：没在花名册上的评不了，请先在 /members 里补全。"
        in card
    )
    assert harness.buttons(THIRD) == ["📤 导出评议表", "⬅️ 返回记录"]
    await harness.tap_data(f"ap:m:{record_id}:{ids['张三']}", user=THIRD)
    assert "权限" in harness.callback_answers()[-1]
    assert await appraisals.grades(database, record_id) == {}
    # A reason form whose member left meanwhile is closed, nothing stored.
    await harness.tap_data(f"ap:c:{record_id}")
    await harness.tap("王五：未评")
    await harness.tap("基本合格")
    await members.remove(database, user_id=SECRETARY, branch_id=branch_id, member_id=ids["王五"])
    await harness.send("学习不够")
    assert await appraisals.grades(database, record_id) == {}


@time_machine.travel(NOW, tick=True)
async def test_a_logged_appraisal_offers_its_grades_at_once(harness: Harness) -> None:
    await _world(harness)
    await harness.send("/log")
    await harness.tap("民主评议党员")
    await harness.tap("今天")
    await harness.send("会议室")
    await harness.send("张三 李四")
    await harness.tap(next(b for b in harness.buttons() if b.startswith("✅ 全部到会")))
    await harness.send("个人自评 党员互评 民主测评")
    await harness.send("每人对照党员标准发言")
    await harness.tap("跳过（没有决议）")
    await harness.tap("没有照片，完成")
    replies = await harness.tap("✅ 保存记录")
    assert replies[-1].startswith("✅ 已保存：民主评议党员，12月20日。")
    assert "📋 评议等次" in harness.buttons()
    card = (await harness.tap("📋 评议等次"))[-1]
    assert card.startswith("民主评议党员 · 2026年12月20日\n参评党员 5 人")
