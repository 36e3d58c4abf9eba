"""/partyday end to end: the month card, planning from suggestions or typed, logging the plan."""

from __future__ import annotations

import time_machine

from db import meetings, repo
from tests.conftest import OTHER, SECRETARY, Harness


@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_plan_from_a_suggestion_then_log_it(harness: Harness) -> None:
    branch = await harness.register(party_day=30)
    replies = await harness.send("/partyday")
    card = replies[-1]
    assert "11月" in card and "12月" in card and "还没有安排" in card
    assert "11月可以考虑" in card
    # The fixed day (30th) is still ahead this month: planning offers it.
    replies = await harness.tap("🗓 安排12月主题党日")
    assert "12月的主题党日定在哪一天" in replies[-1]
    assert "按固定日：12月30日" in harness.buttons()
    for text, message in [("2月30日", "没有这一天"), ("11月25日", "12 月里"), ("<b>", "没看懂")]:
        assert message in (await harness.send(text))[-1], text
    await harness.send("12月18日")
    theme = harness.buttons()[0]
    replies = await harness.tap(theme)
    assert "已安排 2026年12月18日（周五）" in replies[0]
    assert harness.app is not None
    plan = await meetings.get_plan(harness.app.database, branch.id, "2026-12")
    assert plan is not None and plan.theme.startswith(theme[:10])
    # Typed theme: then the activity form is asked.
    await harness.send("/partyday")
    await harness.tap("🗓 安排11月主题党日")
    await harness.tap("按固定日：11月30日")
    replies = await harness.send("学习 <b>四中全会</b> 🚩")
    assert "活动形式" in replies[-1]
    await harness.tap("集中学习")
    card = (await harness.send("/partyday"))[-1]
    assert "《学习 <b>四中全会</b> 🚩》，集中学习" in card
    # Logging it: the kind, theme and form come from the plan.
    replies = await harness.tap("📝 记录本月主题党日")
    assert "记录主题党日" in replies[0] and "哪一天开的" in replies[-1]
    assert "⬅️ 上一步" not in harness.buttons()
    await harness.tap("今天")
    replies = await harness.send("党员之家")
    assert "主持人和记录人" in replies[-1]
    await harness.send("张三")
    await harness.send("6 6")
    await harness.send("学习")
    await harness.send("内容")
    await harness.tap("跳过（没有决议）")
    card = (await harness.tap("没有照片，完成"))[-1]
    assert "主题：学习 <b>四中全会</b> 🚩" in card and "形式：集中学习" in card
    await harness.tap("✅ 保存记录")
    [record], _ = await meetings.list_meetings(harness.app.database, branch.id)
    assert record.kind == "theme_party_day" and record.plan_id is not None
    card = (await harness.send("/partyday"))[-1]
    assert "✅ 已开展：11月23日" in card
    assert "📝 记录本月主题党日" not in harness.buttons()


@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_plan_buttons_are_checked(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/partyday")
    # Someone outside the branch replays the buttons.
    await harness.send("/help", user=OTHER)
    await harness.tap_data(f"pd:plan:{branch.id}:2026-12", user=OTHER)
    assert "权限" in harness.callback_answers()[-1]
    await harness.tap_data("pd:plan:x:2026-13")
    assert "过期" in harness.callback_answers()[-1]
    assert harness.app is not None
    await repo.add_membership(
        harness.app.database, actor_id=SECRETARY, user_id=OTHER, branch_id=branch.id, role="viewer"
    )
    card = (await harness.send("/partyday", user=OTHER))[-1]
    assert "还没有安排" in card
    assert all("安排" not in b for b in harness.buttons(OTHER))
    await harness.tap_data(f"pd:log:{branch.id}:2026-11", user=OTHER)
    assert "权限" in (harness.last_message(OTHER)["text"] or "")
    await harness.tap_data("pd:plan:" + str(branch.id) + ":2026-12")
    await harness.send("/cancel")
    assert await meetings.get_plan(harness.app.database, branch.id, "2026-12") is None
