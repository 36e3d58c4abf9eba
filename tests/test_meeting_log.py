"""Logging meetings end to end through the emulator: /log, each step, checks, review, save."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import time_machine

from db import meetings, repo
from tests.conftest import OTHER, SECRETARY, Harness

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
    # The same counts as the Word record and the ledger (Meeting.leave_count, missing_count).
    assert "👤 应到 20 人，实到 18 人，请假 1 人，缺席 1 人\n" in card
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
    # The record card shows the photos again (sent by their Telegram ids).
    await harness.tap("📄 查看记录")
    assert [f["kind"] for f in harness.fake.sent_files] == ["photo", "photo"]
    assert "照片 2 张" in harness.last_message()["text"]
    # Saving again from the same card does not save twice.
    await harness.tap_data("lg:save", harness.fake.bot_messages(SECRETARY)[-3]["message_id"])
    assert len(await _records(harness, branch.id)) == 1


async def _committee_to_card(h: Harness, day: str, place: str) -> None:
    """A 支委会 of `day` at `place`, every other step answered, up to the review card."""
    await h.send("/log")
    await h.tap("支委会")
    await h.send(day)
    await h.send(place)
    await h.send("张三 李四")
    await h.send("5 5")
    await h.send("研究发展党员")
    await h.send("讨论了发展对象")
    await h.tap("跳过（没有决议）")
    await h.tap("没有照片，完成")


async def _to_attendance(h: Harness, kind: str = "党员大会") -> None:
    await h.send("/log")
    await h.tap(kind)
    await h.tap("昨天")
    await h.send("会议室")
    await h.send("张三")


@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_dates_as_typed_and_refused(harness: Harness) -> None:
    await harness.register()
    await harness.send("/log")
    await harness.tap("支委会")
    for text, message in [
        ("", "没有收到"),
        ("2月30日", "没有这一天"),
        ("明天", "还没到"),
        ("2026-12-01", "还没到"),
        ("下下下周", "没看懂"),
        ("<b>&", "没看懂"),
        ("下午3点", "没看懂"),
    ]:
        replies = await harness.send(text or " ")
        assert message in replies[-1], text
        assert "哪一天开的" in replies[-1]
    # The day typed with its time of day: the day is taken, and the time is offered at the next
    # step, which then asks only for the place.
    replies = await harness.send("上周五下午3点")
    assert replies[-1].startswith(
        "第 3/9 步 · 支委会\n在哪里开的？开始时间记为 15:00（刚才写的）。只写地点就行；"
        "时间不对，就连时间一起写，例如：14:30 党员活动室。"
    )
    found = harness.app.forms.peek(SECRETARY) if harness.app is not None else None
    assert found is not None and found[1]["held_on"] == "2026-11-20"


@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_a_time_typed_with_the_day_is_the_start_time(harness: Harness) -> None:
    branch = await harness.register()

    async def log(day: str, place: str) -> None:
        await _committee_to_card(harness, day, place)
        saved = await harness.tap("✅ 保存记录")
        assert "已保存" in saved[0]

    await log("上周五下午3点", "党员活动室")
    await log("11月20日 9点半", "14:30 三楼")  # the time typed with the place wins
    await log("昨天下午", "会议室")  # a part of the day is no time
    records = sorted(await _records(harness, branch.id), key=lambda m: m.id)
    assert [(m.held_on, m.start_time, m.place) for m in records] == [
        (date(2026, 11, 20), "15:00", "党员活动室"),
        (date(2026, 11, 20), "14:30", "三楼"),
        (date(2026, 11, 22), None, "会议室"),
    ]
    # Going back to the day and typing it without a time: the time is asked for again.
    await harness.send("/log")
    await harness.tap("支委会")
    await harness.send("前天晚上7点")
    await harness.tap("⬅️ 上一步")
    replies = await harness.send("前天")
    assert "几点开始、在哪里？" in replies[-1]
    await harness.send("会议室")
    found = harness.app.forms.peek(SECRETARY) if harness.app is not None else None
    assert found is not None and found[1]["start_time"] is None


@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_a_time_typed_with_a_changed_day_on_the_review_card_is_kept(
    harness: Harness,
) -> None:
    branch = await harness.register(has_committee=True)

    # The card's day changed with a time: both are taken, the card shows them, and the next
    # message is the card again (not a question about the time).
    await _committee_to_card(harness, "昨天", "14:30 三楼")
    await harness.tap("✏️ 日期")
    card = (await harness.send("11月20日下午3点"))[-1]
    assert "2026年11月20日" in card and "15:00" in card and "14:30" not in card
    assert "已保存" in (await harness.tap("✅ 保存记录"))[0]
    # A place given without a time gets the time typed with the changed day.
    await _committee_to_card(harness, "昨天", "会议室")
    await harness.tap("✏️ 日期")
    card = (await harness.send("上周五晚上7点"))[-1]
    assert "19:00" in card
    await harness.tap("✅ 保存记录")
    # A day changed without a time keeps the time it had.
    await _committee_to_card(harness, "昨天", "9:00 会议室")
    await harness.tap("✏️ 日期")
    await harness.send("11月19日")
    await harness.tap("✅ 保存记录")
    records = sorted(await _records(harness, branch.id), key=lambda m: m.id)
    assert [(m.held_on, m.start_time, m.place) for m in records] == [
        (date(2026, 11, 20), "15:00", "三楼"),
        (date(2026, 11, 20), "19:00", "会议室"),
        (date(2026, 11, 19), "09:00", "会议室"),
    ]


@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_bad_answers_get_a_message_and_a_second_chance(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/log")
    replies = await harness.send("随便写")
    assert "请点选" in replies[-1]
    await harness.tap("党员大会")
    await harness.tap("今天")
    for text, message in [
        ("25:00 会议室", "时间不对"),
        ("14:30", "还缺地点"),
        ("会" * 61, "太长了"),
        ("第一行\n第二行", "一行"),
    ]:
        replies = await harness.send(text)
        assert message in replies[-1], text
    replies = await harness.send("下午3点半 <b>党员之家</b> & 🚩")
    assert "主持人和记录人" in replies[-1]
    replies = await harness.send("张三 李四 王五")
    assert "名字太多" in replies[-1]
    replies = await harness.send("張三丰" * 10)
    assert "太长了" in replies[-1]
    await harness.send("張三 李四")
    for text, message in [
        ("5 8", "多于应到"),
        ("0 0", "不能是 0"),
        ("十", "实到"),  # one number: 应到 defaults to the profile's 6
        ("很多人", "第一行请写"),
        ("6 5\n王五 出差\n赵六 病假", "只有 1 人"),
        ("-3 2", "负数"),
    ]:
        replies = await harness.send(text)
        assert message in replies[-1], text
    replies = await harness.send("6 5\n王五")
    assert "议题" in replies[-1]
    replies = await harness.send("议" * 101)
    assert "太长了" in replies[-1]
    replies = await harness.send("\n".join(f"议题{i}" for i in range(11)))
    assert "议题太多" in replies[-1]
    await harness.send("一、学习 🚩\n二、讨论")
    replies = await harness.send("内" * 2001)
    assert "太长了" in replies[-1]
    await harness.send("會議內容 <i>原样</i>")
    await harness.tap("跳过（没有决议）")
    replies = await harness.send("文字")
    assert "请发送照片" in replies[-1]
    replies = await harness.tap("没有照片，完成")
    card = replies[-1]
    assert "15:30" in card and "<b>党员之家</b> & 🚩" in card and "張三" in card
    assert "會議內容 <i>原样</i>" in card and "1. 学习 🚩" in card
    assert "有 1 人没到会，没有写原因" in card
    replies = await harness.send("保存")
    assert "请点选上面的按钮" in replies[0]
    await harness.tap("✅ 保存记录")
    [record] = await _records(harness, branch.id)
    assert record.place == "<b>党员之家</b> & 🚩" and record.content == "會議內容 <i>原样</i>"
    assert record.absentees == (("王五", ""),)
    assert record.accepted_warnings == ("absence_without_reason",)


@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_warnings_cite_the_rules(harness: Harness) -> None:
    branch = await harness.register(formal_members=10)
    assert harness.app is not None
    await meetings.create_meeting(
        harness.app.database,
        user_id=SECRETARY,
        branch_id=branch.id,
        meeting=meetings.Meeting(kind="member_meeting", held_on=date(2026, 11, 22)),
        draft_key="earlier",
    )
    await _to_attendance(harness)
    await harness.send("11 5\n王五 出差")
    await harness.send("选举")
    await harness.send("内容")
    await harness.send("通过决议")
    card = (await harness.tap("没有照片，完成"))[-1]
    assert "未超过应到 11 人的半数" in card and "决定无效" in card
    assert "不能进行表决" in card and "第十一条" in card
    assert "已经记录过一次党员大会" in card
    assert "有 5 人没到会" in card
    # Editing the attendance from the card clears the quorum warnings.
    await harness.tap("✏️ 出席")
    card = (await harness.send("11 11"))[-1]
    assert "半数" not in card and "已经记录过一次党员大会" in card


@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_committee_meeting_quorum_and_appraisal_season(harness: Harness) -> None:
    await harness.register(has_committee=True, formal_members=9)
    await _to_attendance(harness, "支委会")
    replies = await harness.send("5")
    assert "第一行请写" in replies[-1]  # no default 应到 for a committee
    await harness.send("5 2")
    await harness.send("议题")
    await harness.send("内容")
    await harness.tap("跳过（没有决议）")
    card = (await harness.tap("没有照片，完成"))[-1]
    assert "支委会实到 2 人" in card and "第十二条" in card
    replies = await harness.tap("🗑 放弃这条记录")
    assert replies == ["放弃这次会议记录吗？已经填写的内容不会保存。"]
    await harness.tap("🗑 放弃，不保存")
    with time_machine.travel("2026-06-10 10:00 +08:00"):
        await _to_attendance(harness, "民主评议党员")
        await harness.tap("✅ 全部到会（应到10人）")
        await harness.send("议题")
        await harness.send("内容")
        await harness.tap("跳过（没有决议）")
        card = (await harness.tap("没有照片，完成"))[-1]
    assert "这次是 6 月" in card


@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_combined_member_meeting_and_lecture(harness: Harness) -> None:
    branch = await harness.register()
    await _to_attendance(harness)
    await harness.tap("✅ 全部到会（应到6人）")
    await harness.send("学习")
    await harness.send("内容")
    await harness.tap("跳过（没有决议）")
    await harness.tap("没有照片，完成")
    replies = await harness.tap("➕ 同时计为党课")
    assert "主讲人是谁" in replies[-1]
    replies = await harness.send("王书记")
    assert "党课的题目" in replies[-1]
    card = (await harness.send("党的创新理论"))[-1]
    assert "党员大会 + 党课" in card and "主讲人：王书记" in card
    saved = await harness.tap("✅ 保存记录")
    assert "同时计入党课" in saved[0]
    assert harness.app is not None
    lectures, n = await meetings.list_meetings(
        harness.app.database, branch.id, kind="party_lecture"
    )
    assert n == 1 and lectures[0].counts_as == ("member_meeting", "party_lecture")


@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_lecture_and_talk_ask_their_own_people(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/log")
    await harness.tap("谈心谈话")
    await harness.tap("今天")
    replies = await harness.send("办公室")
    assert "谈话双方" in replies[-1]
    replies = await harness.send("张三")
    assert "谈话双方的名字" in replies[-1]
    replies = await harness.send("张三、李四")
    assert "谈了哪些方面" in replies[-1]
    await harness.send("思想状况\n工作困难")
    await harness.send("谈了近期思想和工作。")
    card = (await harness.tap("没有照片，完成"))[-1]
    assert "谈话人：张三；谈话对象：李四" in card and "应到" not in card
    await harness.tap("✅ 保存记录")
    await harness.send("/log")
    await harness.tap("党课")
    await harness.tap("前天")
    await harness.send("会议室")
    replies = await harness.send("王老师")
    assert "党课的题目" in replies[-1]
    await harness.send("学习新修订的条例")
    await harness.tap("✅ 全部到会（应到6人）")
    await harness.send("要点一")
    await harness.send("内容")
    card = (await harness.tap("没有照片，完成"))[-1]
    assert "主讲人：王老师" in card and "题目：学习新修订的条例" in card
    assert "主讲人" in card and "⚠️" not in card
    await harness.tap("✅ 保存记录")
    records = await _records(harness, branch.id)
    assert [r.kind for r in records] == ["heart_to_heart_talk", "party_lecture"]
    assert records[1].speaker == "王老师" and records[1].recorder == "王老师"


@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_back_cancel_and_stale_buttons(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/log")
    kind_message = harness.last_message()["message_id"]
    await harness.tap("党员大会")
    replies = await harness.tap("⬅️ 上一步")
    assert "记录哪一种" in replies[-1]
    await harness.tap("主题党日")
    await harness.tap("今天")
    replies = await harness.send("活动室")
    assert "主题" in replies[-1]
    # An old button from the kind question is refused, the step stays.
    await harness.tap_data("lg:kind:committee_meeting", kind_message)
    assert "过期" in harness.callback_answers()[-1]
    # Forged data is refused too.
    await harness.tap_data("lg:form:nonsense")
    await harness.tap_data("lg:hint:title:9")
    assert harness.callback_answers()[-1] == harness.callback_answers()[-2]
    replies = await harness.send("学雷锋")
    assert "活动形式" in replies[-1]
    replies = await harness.send("/cancel")
    assert replies == ["放弃这次会议记录吗？已经填写的内容不会保存。"]
    replies = await harness.tap("🗑 放弃，不保存")
    assert "已取消" in replies[0]
    assert await _records(harness, branch.id) == []
    await harness.tap_data("lg:save", kind_message)
    assert "过期" in harness.callback_answers()[-1]


async def test_log_needs_a_branch_and_a_role(harness: Harness) -> None:
    replies = await harness.send("/log", user=OTHER)
    assert "还没有登记" in replies[0] or "/start" in replies[0]
    branch = await harness.register()
    assert harness.app is not None
    await repo.add_membership(
        harness.app.database, actor_id=SECRETARY, user_id=OTHER, branch_id=branch.id, role="viewer"
    )
    replies = await harness.send("/log", user=OTHER)
    assert "权限" in replies[0]
    group = harness.fake.add_group(-500, "支部群")
    harness.fake.set_member(group["id"], SECRETARY, "member")
    replies = await harness.send("/log", chat_id=group["id"])
    assert "私聊" in replies[0]


@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_restart_in_the_middle_resumes_the_step(tmp_path: Path) -> None:
    h = Harness(tmp_path / "bot.sqlite3")
    await h.start()
    branch = await h.register()
    await _to_attendance(h)
    await h.send("6 6")
    await h.stop()
    h2 = Harness(tmp_path / "bot.sqlite3", fake=h.fake)
    await h2.start()
    replies = await h2.send("议题一")
    assert "主要内容" in replies[-1]
    await h2.send("内容")
    await h2.tap("跳过（没有决议）")
    await h2.send_photo(b"p")
    await h2.tap("✅ 完成")
    await h2.tap("✅ 保存记录")
    [record] = await _records(h2, branch.id)
    assert record.agenda == ("议题一",) and len(record.photos) == 1
    await h2.stop()


@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_quick_answers_from_the_last_record(harness: Harness) -> None:
    await harness.register()
    await _to_attendance(harness)
    await harness.tap("✅ 全部到会（应到6人）")
    await harness.send("议题")
    await harness.send("内容")
    await harness.tap("跳过（没有决议）")
    await harness.tap("没有照片，完成")
    await harness.tap("✅ 保存记录")
    await harness.send("/log")
    await harness.tap("支委会")
    await harness.tap("今天")
    assert "会议室" in harness.buttons()
    replies = await harness.tap("会议室")
    assert "主持人和记录人" in replies[-1]
    assert "张三" in harness.buttons()


@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_attendance_in_one_line_as_people_write_it(harness: Harness) -> None:
    branch = await harness.register(formal_members=9, probationary_members=2)
    await _to_attendance(harness)
    await harness.send("应到9人，实到7人，王建华出差，李明病假")
    await harness.send("学习")
    await harness.send("内容")
    await harness.tap("跳过（没有决议）")
    card = (await harness.tap("没有照片，完成"))[-1]
    assert "👤 应到 9 人，实到 7 人，请假 1 人，缺席 1 人\n" in card
    assert "王建华：出差" in card and "李明：病假" in card
    await harness.tap("✅ 保存记录")
    [record] = await _records(harness, branch.id)
    assert record.absentees == (("王建华", "出差"), ("李明", "病假"))
