"""/members add and edit on the form engine, end to end: exact questions and stored rows, the
happy paths' tap counts, back, cancel, a rule question typed at a question, bad input with a
second chance, and old or forged buttons."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from db import members
from db.models import MemberInfo
from tests.conftest import SECRETARY, Harness

# The question index is built once per test process, when first asked: the tests that ask
# run in one process (make test: --dist loadgroup), so only it builds the index.
pytestmark = pytest.mark.xdist_group("knowledge")

NOW = "2026-11-23 10:00 +08:00"
ADD_HEADING = "➕ 添加到花名册（第 {} 步）\n"
CANCEL_LINE = "发送 /cancel 可随时取消。"
CANCELLED = "已取消，没有保存未完成的内容。发送 /menu 回到主菜单。"
NAME_QUESTION = (
    "➕ 添加到花名册（第 1 步）\n"
    "请输入姓名（最多 20 字）。同一支部不能重名，重名时请加区分，如 王伟（大）。\n"
    "发送 /cancel 可随时取消。"
)


async def _roster(h: Harness, branch_id: int) -> list[MemberInfo]:
    assert h.app is not None
    return [m.info for m in await members.list_for(h.app.database, branch_id)]


def _draft(h: Harness) -> dict:
    assert h.app is not None
    found = h.app.forms.peek(SECRETARY)
    assert found is not None
    return found[1]


@time_machine.travel(NOW, tick=True)
async def test_add_and_edit_happy_paths(harness: Harness) -> None:
    branch = await harness.register()  # no party groups
    await harness.send("/members")
    taps = [await harness.tap("➕ 添加")]
    assert taps[-1][-1] == NAME_QUESTION
    assert harness.buttons() == ["✖️ 取消"]
    taps.append(await harness.send("王伟"))
    assert taps[-1][-1] == f"{ADD_HEADING.format(2)}王伟 的身份？请点选。\n{CANCEL_LINE}"
    assert harness.buttons() == ["正式党员", "预备党员", "发展对象", "入党积极分子", "入党申请人",
                                 "❓ 这一项怎么填", "⬅️ 上一步", "✖️ 取消"]  # fmt: skip
    taps.append(await harness.tap("正式党员"))
    assert harness.buttons() == ["🤷 不记得了", "❓ 这一项怎么填", "⬅️ 上一步", "✖️ 取消"]
    taps.append(await harness.send("2016年7月1日"))
    assert taps[-1][-1] == (
        "➕ 添加到花名册（第 4 步）\n在支委会中的职务？请点选。\n发送 /cancel 可随时取消。"
    )
    taps.append(await harness.tap("组织委员"))
    taps.append(await harness.tap("否"))
    assert taps[-1] == [
        "✅ 已添加到花名册。\n王伟\n身份：正式党员\n入党日期：2016-07-01\n支委职务：组织委员\n"
        "流动党员：否"
    ]
    assert len(taps) == 6  # ➕ 添加 and five answers, as before the form engine
    assert harness.buttons() == ["✏️ 姓名", "✏️ 身份", "✏️ 入党日期", "✏️ 支委职务",
                                 "✏️ 流动党员", "🗑 删除", "➕ 继续添加",
                                 "⬅️ 返回花名册"]  # fmt: skip
    assert await _roster(harness, branch.id) == [
        MemberInfo("王伟", "formal", date(2016, 7, 1), committee_role="organization")
    ]
    assert harness.app is not None and harness.app.forms.active(SECRETARY) is None

    # Edit one field: two taps and an answer; the saved value is offered to keep.
    replies = await harness.tap("✏️ 身份")
    assert replies[-1] == "✏️ 修改 王伟\n王伟 的身份？请点选。\n发送 /cancel 可随时取消。"
    assert "⬅️ 上一步" not in harness.buttons()
    replies = await harness.tap("预备党员")
    assert replies[-1] == (
        "✏️ 修改 王伟\n接收为预备党员日期？例如 2024-05-01 或 2024年5月1日。"
        '不记得可点"🤷 不记得了"（之后可以补上；没有日期就不计算党龄和预备期满转正的时间，'
        "也不会提醒转正）。\n发送 /cancel 可随时取消。"
    )
    assert harness.buttons() == [
        "🤷 不记得了",
        "保留：2016-07-01",
        "❓ 这一项怎么填",
        "⬅️ 上一步",
        "✖️ 取消",
    ]
    replies = await harness.send("2025-06-01")
    assert replies == [
        "✅ 已修改。\n王伟\n身份：预备党员\n接收为预备党员日期：2025-06-01\n流动党员：否"
    ]
    assert await _roster(harness, branch.id) == [
        MemberInfo("王伟", "probationary", date(2025, 6, 1))  # no committee role any more
    ]
    # Nothing changed: said so.
    await harness.tap("✏️ 接收为预备党员日期")
    assert (await harness.send("2025-06-01"))[0].startswith("没有改动。\n王伟")


@time_machine.travel(NOW, tick=True)
async def test_back_asks_the_following_questions_again(harness: Harness) -> None:
    branch = await harness.register(has_party_groups=True)
    await harness.send("/members")
    await harness.tap("➕ 添加")
    await harness.send("李四")
    await harness.tap("正式党员")
    await harness.send("2020-07-01")
    replies = await harness.tap("⬅️ 上一步")
    assert replies[-1] == (
        "➕ 添加到花名册（第 3 步）\n入党日期？例如 2024-05-01 或 2024年5月1日。"
        '不记得可点"🤷 不记得了"（之后可以补上；没有日期就不计算党龄）。\n'
        '发送 /cancel 可随时取消。\n当前：2020-07-01（不改就点"↪️ 保持原样"）'
    )
    replies = await harness.tap("⬅️ 上一步")
    assert replies[-1].endswith('当前：正式党员（不改就点"↪️ 保持原样"）')
    # A new status: its date is asked again (showing the earlier answer), then the rest in order.
    replies = await harness.tap("入党积极分子")
    assert replies[-1].startswith("➕ 添加到花名册（第 3 步）\n确定为积极分子日期？")
    assert "↪️ 保持原样" in harness.buttons()
    replies = await harness.tap("↪️ 保持原样")
    assert replies[-1].startswith("➕ 添加到花名册（第 4 步）\n所在党小组？")
    card = (await harness.tap("跳过"))[0]
    assert card.startswith("✅ 已添加到花名册。\n李四\n身份：入党积极分子")
    assert await _roster(harness, branch.id) == [MemberInfo("李四", "activist", date(2020, 7, 1))]


@time_machine.travel(NOW, tick=True)
async def test_cancel_asks_only_when_something_was_typed(harness: Harness) -> None:
    branch = await harness.register()
    assert harness.app is not None
    await members.add(harness.app.database, user_id=SECRETARY, branch_id=branch.id,
                      info=MemberInfo("王伟", "formal", date(2016, 7, 1)))  # fmt: skip
    await harness.send("/members")
    await harness.tap("➕ 添加")
    assert (await harness.tap("✖️ 取消")) == [CANCELLED]
    # Editing: nothing typed yet cancels at once too.
    await harness.send("/members")
    await harness.tap("王伟")
    await harness.tap("✏️ 姓名")
    assert (await harness.send("/cancel"))[-1].startswith("已取消")
    # Typed: asked first; 继续填写 keeps the answer, 放弃 throws it away.
    await harness.tap_data(f"mb:add:{branch.id}")
    await harness.send("张三")
    assert (await harness.send("/cancel"))[-1] == "放弃这次花名册录入吗？已经填写的内容不会保存。"
    replies = await harness.tap("↩️ 继续填写")
    assert replies[-1] == f"{ADD_HEADING.format(2)}张三 的身份？请点选。\n{CANCEL_LINE}"
    await harness.tap("✖️ 取消")
    assert (await harness.tap("🗑 放弃，不保存"))[-1].startswith("已取消")
    assert harness.app.forms.active(SECRETARY) is None
    assert await _roster(harness, branch.id) == [MemberInfo("王伟", "formal", date(2016, 7, 1))]


@time_machine.travel(NOW, tick=True)
async def test_a_question_typed_at_the_name_is_answered_not_stored(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/members")
    await harness.tap("➕ 添加")
    replies = await harness.send("预备党员能算进应到吗？")
    # Answered as /ask answers it, then the name is asked again; nothing is stored.
    assert len(replies) == 2 and replies[-1] == NAME_QUESTION
    assert "✍️ 用作答案" not in harness.buttons()  # "？" cannot be in a name
    assert _draft(harness)["values"]["name"] is None and _draft(harness)["done"] == []
    assert (await harness.send("/ask 预备党员能算进应到吗？")) == replies[:1]
    # A name that reads like a question: answered too, and "用作答案" keeps it.
    await harness.send("/members")
    replies = await harness.send("陈一呢")
    assert len(replies) == 2 and replies[-1] == NAME_QUESTION
    assert harness.buttons()[0] == "✍️ 用作答案"
    assert _draft(harness)["values"]["name"] is None
    replies = await harness.tap("✍️ 用作答案")
    assert replies[-1].startswith("➕ 添加到花名册（第 2 步）\n陈一呢 的身份？")
    await harness.tap("入党申请人")
    await harness.tap("🤷 不记得了")
    assert await _roster(harness, branch.id) == [MemberInfo("陈一呢", "applicant")]


@time_machine.travel(NOW, tick=True)
async def test_bad_input_gets_a_reason_and_a_second_chance(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/members")
    await harness.tap("➕ 添加")
    for bad, reason in [
        (" ", "这一项不能为空"),
        ("王" * 3000, "太长了（3000 个字），最多 20 个字"),
        ("<b>&", "姓名里不能有这些符号：<>&"),
        ("王😀", "姓名里不能有这些符号：😀"),
        ("12345", "姓名里要有文字，不能只是数字或符号"),
    ]:
        assert (await harness.send(bad)) == [f"⚠️ {reason}。\n\n{NAME_QUESTION}"], bad
        assert _draft(harness)["values"]["name"] is None
    await harness.send("王伟")
    await harness.tap("正式党员")
    for bad, reason in [
        ("2月30日", "没有这一天（例如2月没有30日），请核对"),
        ("2026-12-01", "这个日期还没到，不能晚于今天"),
        ("1900-01-01", "日期太早了，请核对年份"),
        ("<b>", "没看懂这个日期，可以写 2024-05-01、2024/5/1 或 2024年5月1日"),
    ]:
        replies = await harness.send(bad)
        assert replies[-1].startswith(f"⚠️ {reason}。\n\n{ADD_HEADING.format(3)}入党日期？"), bad
        assert _draft(harness)["values"]["joined_on"] is None
    assert (await harness.send("群众"))[-1].startswith("⚠️ 没看懂这个日期")
    await harness.send("不记得了")  # typed instead of tapped
    replies = await harness.send("队长")
    assert replies[-1].startswith("⚠️ 支委职务请写 书记、副书记")
    await harness.send("无")
    await harness.send("是")
    assert (await harness.send("x" * 41))[-1].startswith("⚠️ 太长了（41 个字），最多 40 个字。")
    await harness.send("深圳")
    await harness.send("2025-03-01")
    await harness.send("2025-01-01")  # a report before leaving
    assert harness.last_message()["text"].startswith("⚠️ 最近报告日期不能早于外出日期。")
    await harness.tap("跳过")
    assert await _roster(harness, branch.id) == [
        MemberInfo("王伟", "formal", None, mobile=True, destination="深圳",
                   left_on=date(2025, 3, 1))
    ]  # fmt: skip


@time_machine.travel(NOW, tick=True)
async def test_old_and_forged_buttons_are_refused(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/members")
    await harness.tap("➕ 添加")
    await harness.send("王伟")
    asked = harness.last_message()
    await harness.tap("正式党员")
    expired = "这个按钮已过期，请按最新的消息操作。"
    data = asked["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    rev = int(data.split(":")[1]) + 1
    for forged in (
        data,  # the answered question's button
        data.replace("formal", "probationary"),
        f"mba:{rev}:a:joined_on:2020-01-01",  # no such choice
        f"mba:{rev}:a:status:formal",  # not the question on screen
        f"mba:{rev}:k:joined_on",  # nothing to keep
        f"mba:{rev + 5}:a:joined_on:skip",  # a revision never sent
        "mba:" + "9" * 30 + ":a:joined_on:skip",
        f"mbe:{rev}:a:joined_on:skip",  # another form
        f"mba:{rev}:a:joined_on",
    ):
        before = len(harness.callback_answers())
        await harness.tap_data(forged, asked["message_id"])
        assert harness.callback_answers()[before:] == [expired], forged
    assert _draft(harness)["values"]["status"] == "formal"
    assert _draft(harness)["values"]["joined_on"] is None
    # The question on screen still works.
    await harness.tap("🤷 不记得了")
    await harness.tap("无")
    await harness.tap("否")
    assert await _roster(harness, branch.id) == [MemberInfo("王伟", "formal")]


@time_machine.travel(NOW, tick=True)
async def test_import_waits_for_the_file_as_a_form(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/members")
    asked = (await harness.tap("📥 导入"))[-1]
    assert asked.startswith("📥 导入花名册\n请发送填好的 .xlsx 或 .csv 文件")
    assert harness.buttons() == ["✖️ 取消"]
    assert (await harness.send("你好")) == [f"⚠️ 这一步请发送 .xlsx 或 .csv 文件。\n\n{asked}"]
    # Nothing typed counts as an answer here: ✖️ 取消 ends it at once.
    assert (await harness.tap("✖️ 取消")) == [CANCELLED]
    await harness.send("/members")
    await harness.tap("📥 导入")
    harness.fake.send_document(SECRETARY, "名单.csv", "姓名,身份\n王伟,正式党员\n".encode())
    await harness._settle()
    assert harness.last_message()["text"].startswith(
        "📋 《名单.csv》检查无误，共 1 人：正式党员 1。"
    )
    assert harness.app is not None and harness.app.forms.active(SECRETARY) is None
    await harness.tap("✅ 确认导入")
    assert await _roster(harness, branch.id) == [MemberInfo("王伟", "formal")]


@time_machine.travel(NOW, tick=True)
async def test_a_card_that_never_arrived_is_not_saved_twice(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/members")
    await harness.tap("➕ 添加")
    await harness.send("王伟")
    await harness.tap("入党申请人")
    # The entry is saved but Telegram loses the card: the form stays open.
    harness.fake.fail_next("sendMessage", error_code=0, description="network down")
    await harness.tap("🤷 不记得了")
    assert await _roster(harness, branch.id) == [MemberInfo("王伟", "applicant")]
    assert harness.app is not None and harness.app.forms.active(SECRETARY) == "mba"
    # Asked again and answered again: the entry is there already, so the card says so instead
    # of refusing a duplicate name.
    assert (await harness.send("/members"))[-1].startswith("➕ 添加到花名册（第 3 步）")
    replies = await harness.tap("🤷 不记得了")
    assert replies[0].startswith("✅ 已添加到花名册。\n王伟\n身份：入党申请人")
    assert await _roster(harness, branch.id) == [MemberInfo("王伟", "applicant")]
    assert harness.app.forms.active(SECRETARY) is None
