"""/history end to end: list, pages, filters, the record card, edits (audited), delete, roles."""

from __future__ import annotations

from datetime import date

import time_machine

from db import meetings, repo
from db.models import Meeting, Photo
from tests.conftest import OTHER, SECRETARY, Harness

THIRD = 3003


async def _seed(h: Harness, branch_id: int, count: int, kind: str = "committee_meeting") -> list:
    assert h.app is not None
    saved = []
    for i in range(count):
        meeting = Meeting(
            kind=kind,
            held_on=date(2026 - i % 2, 1 + i % 12, 1 + i % 28),
            place="会议室",
            host="张三",
            recorder="李四",
            agenda=(f"议题{i}",),
            content="内容",
            photos=(Photo("p1", f"u{i}"),) if i == 0 else (),
        )
        record, _ = await meetings.create_meeting(
            h.app.database,
            user_id=SECRETARY,
            branch_id=branch_id,
            meeting=meeting,
            draft_key=f"{branch_id}-{i}",
        )
        saved.append(record)
    return saved


@time_machine.travel("2026-12-30 10:00 +08:00", tick=True)
async def test_list_pages_filters_and_opens(harness: Harness) -> None:
    branch = await harness.register(has_committee=True)
    await _seed(harness, branch.id, 11)
    await _seed_kind(harness, branch.id)
    replies = await harness.send("/history")
    assert "共 12 条，第 1/2 页" in replies[-1]
    lines = [line for line in replies[-1].split("\n") if line[:2].strip(".").isdigit()]
    assert lines[0].startswith("1. 2026-12-")
    replies = await harness.tap("下一页 ➡️")
    assert "第 2/2 页" in replies[-1] and "9." in replies[-1]
    await harness.tap("🔎 按类型")
    replies = await harness.tap("党员大会")
    assert "共 1 条" in replies[-1] and "党员大会+党课" in replies[-1]
    await harness.tap("📅 按年份")
    assert harness.buttons() == ["全部年份", "2026年", "2025年"]
    replies = await harness.tap("2025年")
    assert "还没有记录" in replies[-1]  # no 党员大会 in 2025
    await harness.tap("🔎 按类型")
    replies = await harness.tap("全部类型")
    assert "2025年" in replies[-1] and "共 5 条" in replies[-1]
    await harness.send("/history")
    replies = await harness.tap("1")
    assert "党员大会 + 党课" in replies[-1] and "主讲人：王老师" in replies[-1]


async def _seed_kind(h: Harness, branch_id: int) -> None:
    assert h.app is not None
    await meetings.create_meeting(
        h.app.database,
        user_id=SECRETARY,
        branch_id=branch_id,
        meeting=Meeting(
            kind="member_meeting",
            held_on=date(2026, 12, 29),
            place="<b>会议室</b>",
            host="张三",
            speaker="王老师",
            also_counts_as=("party_lecture",),
            agenda=("学习",),
            content="内容",
        ),
        draft_key="combined",
    )


@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_open_edit_and_delete_are_audited(harness: Harness) -> None:
    branch = await harness.register(has_committee=True)
    [record] = await _seed(harness, branch.id, 1)
    await harness.send("/history")
    replies = await harness.tap("1")
    # The seeded photo id is unknown to Telegram: the card says so instead of failing.
    assert "照片 1 张（1 张已无法从 Telegram 取回）" in replies[-1]
    await harness.tap("✏️ 修改")
    replies = await harness.tap("✏️ 时间地点")
    assert "当前： 会议室" in replies[-1] or "当前：会议室" in replies[-1].replace("  ", " ")
    card = (await harness.send("9:00 新会议室"))[-1]
    assert "请核对修改后的记录" in card and "新会议室" in card
    replies = await harness.tap("✅ 保存修改")
    assert "修改已保存" in replies[0]
    assert harness.app is not None
    updated = await meetings.get_meeting(harness.app.database, record.id)
    assert updated is not None and updated.place == "新会议室" and updated.start_time == "09:00"
    entry = (await repo.audit_entries(harness.app.database, branch.id))[0]
    assert entry.changes == {"start_time": [None, "09:00"], "place": ["会议室", "新会议室"]}
    await harness.tap("📄 查看记录")
    replies = await harness.tap("🕘 修改记录")
    assert "你修改：开始时间、地点" in replies[-1] and "你登记" in replies[-1]
    # Nothing changed: nothing audited.
    await harness.tap_data(f"hi:edit:{record.id}")
    replies = await harness.tap("✅ 保存修改")
    assert "没有改动" in replies[0]
    await harness.tap_data(f"hi:o:{record.id}")
    replies = await harness.tap("🗑 删除")
    assert "确定删除" in replies[-1]
    await harness.tap("不删了")
    assert await meetings.get_meeting(harness.app.database, record.id) is not None
    await harness.tap("🗑 删除")
    replies = await harness.tap("⚠️ 确认删除")
    assert "已删除" in replies[-1]
    assert await meetings.get_meeting(harness.app.database, record.id) is None
    assert (await repo.audit_entries(harness.app.database, branch.id))[0].action == "delete"
    # The deleted record's old buttons now say it is gone.
    await harness.tap_data(f"hi:o:{record.id}")
    assert "已不存在" in harness.callback_answers()[-1]
    await harness.tap_data(f"hi:edit:{record.id}")
    assert "已不存在" in harness.callback_answers()[-1]


@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_roles_and_other_branches(harness: Harness) -> None:
    harness.fake.add_user(THIRD, first_name="支委")
    branch = await harness.register(has_committee=True)
    other_branch = await harness.register(user=OTHER, key="b")
    [record] = await _seed(harness, branch.id, 1)
    assert harness.app is not None
    database = harness.app.database
    await harness.send("/help", user=OTHER)
    # A user of another branch can neither see nor change nor export this branch's record.
    forged = [f"hi:{action}:{record.id}" for action in ("o", "a", "d", "dd", "w")]
    forged += [f"hi:l:{branch.id}:all:0:0", f"hi:fk:{branch.id}:0", f"hi:fy:{branch.id}:all"]
    for data in [*forged, f"ex:y:{branch.id}:2026"]:
        await harness.tap_data(data, user=OTHER)
        assert "权限" in harness.callback_answers()[-1], data
    await harness.tap_data(f"hi:edit:{record.id}", user=OTHER)
    assert "权限" in (harness.last_message(OTHER)["text"] or "")
    assert await meetings.get_meeting(database, record.id) is not None
    replies = await harness.send("/history", user=OTHER)
    assert "还没有记录" in replies[-1] and other_branch.profile.name in replies[-1]
    # A viewer sees the record but gets no edit or delete buttons, and forged ones are refused.
    await repo.add_membership(
        database, actor_id=SECRETARY, user_id=THIRD, branch_id=branch.id, role="viewer"
    )
    await harness.send("/history", user=THIRD)
    await harness.tap("1", user=THIRD)
    assert "✏️ 修改" not in harness.buttons(THIRD) and "📝 导出Word" in harness.buttons(THIRD)
    await harness.tap_data(f"hi:dd:{record.id}", user=THIRD)
    assert "权限" in harness.callback_answers()[-1]
    # A committee member may log and change what they logged, not the secretary's records.
    await repo.add_membership(
        database, actor_id=SECRETARY, user_id=THIRD, branch_id=branch.id, role="committee"
    )
    await harness.tap_data(f"hi:d:{record.id}", user=THIRD)
    assert "权限" in harness.callback_answers()[-1]
    await harness.send("/log", user=THIRD)
    assert "记录哪一种" in (harness.last_message(THIRD)["text"] or "")
