"""Logging meetings end to end through the emulator: /log, each step, checks, review, save."""

from __future__ import annotations

from datetime import date

import time_machine

from db import meetings
from tests.conftest import SECRETARY, Harness

TODAY = date(2026, 11, 23)  # a Monday


async def _records(h: Harness, branch_id: int) -> list:
    assert h.app is not None
    return (await meetings.list_meetings(h.app.database, branch_id, limit=100))[0]


@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_member_meeting_in_twelve_steps(harness: Harness) -> None:
    branch = await harness.register(formal_members=18, probationary_members=2)
    await harness.send("/log")
    steps = [
        harness.tap("党员大会"),
        harness.tap("今天"),
        harness.send("14:30 党员活动室"),
        harness.send("张三 李四"),
        harness.send("20 18\n王五 出差\n赵六 病假"),
        harness.send("1. 学习二十届四中全会精神\n2. 讨论年度工作计划"),
        harness.send("书记传达了会议精神。\n大家交流了学习体会。"),
        harness.send("同意年度工作计划（18票赞成）"),
        harness.send_photo(b"one"),
        harness.send_photo(b"two"),
        harness.tap("✅ 完成"),
    ]
    replies = [await step for step in steps]
    card = replies[-1][-1]
    assert "党员大会" in card and "2026年11月23日（周一） 14:30" in card
    assert "应到 20 人，实到 18 人，请假 1 人" in card
    assert "王五：出差" in card and "1. 学习二十届四中全会精神" in card
    assert "照片 2 张" in card and "⚠️" not in card
    saved = await harness.tap("✅ 保存记录")
    assert "已保存" in saved[0]
    assert len(steps) + 1 == 12
    [record] = await _records(harness, branch.id)
    assert record.held_on == TODAY and record.start_time == "14:30"
    assert record.place == "党员活动室" and (record.host, record.recorder) == ("张三", "李四")
    assert record.absentees == (("王五", "出差"), ("赵六", "病假"))
    assert record.agenda == ("学习二十届四中全会精神", "讨论年度工作计划")
    assert record.content == "书记传达了会议精神。\n大家交流了学习体会。"
    assert len(record.photos) == 2 and record.created_by == SECRETARY
    # Saving again from the same card does not save twice.
    await harness.tap_data("lg:save", harness.fake.bot_messages(SECRETARY)[-3]["message_id"])
    assert len(await _records(harness, branch.id)) == 1
