"""发展党员 end to end: /recruit and the timeline card, 记录下一步 with its second chances (a day
that does not exist, a date ahead, a date before the previous step, too early by a rule whose
wording was seen), the confirmation a second-hand rule asks for, the roster following each step
in the same transaction, introducers picked from the formal members, the reminders through the
outbox and /status, the register read back, and roles."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import openpyxl
import time_machine

from bot import jobs
from bot.reminders import sweep
from db import members, outbox, recruitment, repo
from db.models import MemberInfo
from tests.conftest import OTHER, SECRETARY, Harness

NOW = "2026-06-15 10:00 +08:00"
TZ = ZoneInfo("Asia/Shanghai")
VIEWER = 3003
EXPIRED = "这个按钮已过期，请按最新的消息操作。"
ASK_TALK = (
    "第 2/2 步 · 赵六\n赵六 · 谈话：日期？例如 2026-05-01、5月1日、昨天。期限：2025-12-01 前。"
)
RULE_ACTIVIST = (
    "依据：一般做法：递交入党申请书6个月以上方可确定为入党积极分子，请以上级党组织要求为准"
)


async def _world(h: Harness) -> tuple[int, dict[str, int]]:
    branch = await h.register(has_committee=True, formal_members=3, probationary_members=1)
    assert h.app is not None
    ids = {}
    people = (("张三", "formal", date(2010, 7, 1)), ("李四", "formal", date(2012, 7, 1)),
              ("王五", "formal", date(2015, 7, 1)), ("赵六", "applicant", date(2025, 11, 1)),
              ("孙七", "activist", date(2025, 5, 1)), ("周八", "candidate", date(2026, 1, 10)),
              ("吴九", "probationary", date(2025, 6, 10)))  # fmt: skip
    for name, status, joined in people:
        member = await members.add(
            h.app.database, user_id=SECRETARY, branch_id=branch.id,
            info=MemberInfo(name, status, joined),
        )  # fmt: skip
        ids[name] = member.id
    # Entered here long before: every deadline of these dates passed while the bot knew them
    # (test_a_person_entered_after_their_deadlines_is_asked_not_told_overdue is the other case).
    async with h.app.database.transaction() as conn:
        await conn.execute(
            "UPDATE members SET created_at = ? WHERE branch_id = ?",
            ("2025-01-01T00:00:00+00:00", branch.id),
        )
    return branch.id, ids


async def _steps(h: Harness, branch_id: int, member_id: int) -> list[tuple[object, ...]]:
    assert h.app is not None
    found = (await recruitment.steps_of(h.app.database, branch_id)).get(member_id, [])
    return [(s.step, s.done_on, s.amount, s.unit, s.introducers) for s in found]


@time_machine.travel(NOW, tick=True)
async def test_an_applicant_is_talked_to_and_becomes_an_activist(harness: Harness) -> None:
    branch_id, ids = await _world(harness)
    assert (await harness.send("/recruit"))[-1] == (
        "发展党员 · 测试支部\n"
        "1. 吴九（预备党员）📌 转正：2026-06-10 起，现在可以办\n"
        "2. 周八（发展对象）📌 确定入党介绍人：待办\n"
        "3. 孙七（入党积极分子）❗ 考察：应在 2025-11-01 前，已超期 226 天\n"
        "4. 赵六（入党申请人）❗ 谈话：应在 2025-12-01 前，已超期 196 天\n"
        "点名字查看每一步的日期和下一步。"
    )
    assert harness.buttons() == [
        "吴九（预备党员）", "周八（发展对象）", "孙七（入党积极分子）", "赵六（入党申请人）",
        "📤 导出发展党员台账", "🏠 主菜单",
    ]  # fmt: skip
    assert (await harness.tap("赵六（入党申请人）"))[-1] == (
        "发展党员 · 赵六（入党申请人）\n"
        "✅ 递交入党申请书：2025-11-01（花名册日期）\n\n"
        "下一步\n"
        "❗ 谈话：应在 2025-12-01 前，已超期 196 天\n"
        "依据：《中国共产党发展党员工作细则》：党组织收到入党申请书后，一个月内派人同入党申请人谈话\n"
        "📌 确定为入党积极分子：2026-05-01 起，现在可以办\n" + RULE_ACTIVIST
    )
    assert harness.buttons() == ["📝 记录下一步", "👤 花名册信息", "📈 发展党员名单"]
    assert (await harness.tap("📝 记录下一步"))[-1] == "第 1/2 步 · 赵六\n赵六：记录哪一步？"
    assert harness.buttons() == ["谈话", "确定为入党积极分子", "✖️ 取消"]
    assert (await harness.tap("谈话"))[-1] == ASK_TALK
    # Three bad dates, each with its reason and the same question again.
    for typed, reason in (
        ("2月30日", "⚠️ 没有这一天（例如2月没有30日），请核对后再输入。"),
        ("明天", "⚠️ 这个日期还没到。请记已经办完的步骤，输入今天或以前的日期。"),
        ("2025-10-01", '⚠️ 这个日期早于上一步"递交入党申请书"（2025-11-01），请核对。'),
    ):
        assert (await harness.send(typed))[-1] == reason + "\n\n" + ASK_TALK
    replies = await harness.send("2025年11月20日")
    assert replies[0] == "✅ 已记录：赵六 谈话（2025-11-20）。"
    assert await _steps(harness, branch_id, ids["赵六"]) == [
        ("talked", date(2025, 11, 20), None, "", ())
    ]
    # Activist before six months: a second-hand rule, so asked to confirm, never refused.
    # The one step left is asked at once.
    assert (await harness.tap("📝 记录下一步"))[-1] == (
        "赵六 · 确定为入党积极分子：日期？例如 2026-05-01、5月1日、昨天。"
    )
    assert (await harness.send("2026-03-01"))[-1] == (
        "第 2/2 步 · 赵六\n请确认：\n"
        "· 递交申请书还不满6个月（一般 2026-05-01 起才确定为入党积极分子，这是一般做法，"
        "请以上级党组织要求为准）。\n"
        '确实如此就点"✅ 确认，仍然记录"；日期记错了就点"上一步"改。'
    )
    assert harness.buttons() == ["✅ 确认，仍然记录", "⬅️ 上一步", "✖️ 取消"]
    replies = await harness.tap("✅ 确认，仍然记录")
    assert replies[0] == (
        "✅ 已记录：赵六 确定为入党积极分子（2026-03-01）。花名册身份已改为入党积极分子。"
    )
    assert replies[-1].startswith(
        "发展党员 · 赵六（入党积极分子）\n"
        "✅ 递交入党申请书：2025-11-01\n✅ 谈话：2025-11-20\n✅ 确定为入党积极分子：2026-03-01\n\n"
        "下一步\n📌 考察：2026-09-01 前（还有 78 天）\n"
        "依据：《中国共产党发展党员工作细则》：每半年对入党积极分子考察一次\n"
        "⏳ 列为发展对象：2027-03-01 起（还要 259 天）\n"
    )
    # The roster moved in the same transaction; the application date the roster held is kept.
    assert harness.app is not None
    member = await members.get(harness.app.database, branch_id, ids["赵六"])
    assert member is not None
    assert (member.info.status, member.info.joined_on) == ("activist", date(2026, 3, 1))
    assert await _steps(harness, branch_id, ids["赵六"]) == [
        ("applied", date(2025, 11, 1), None, "", ()),
        ("talked", date(2025, 11, 20), None, "", ()),
        ("activist", date(2026, 3, 1), None, "", ()),
    ]
    entries = await repo.audit_entries(harness.app.database, branch_id)
    assert {"step": [None, "activist"], "done_on": [None, "2026-03-01"]} in [
        e.changes for e in entries
    ]
    assert {"status": ["applicant", "activist"], "joined_on": ["2025-11-01", "2026-03-01"]} in [
        e.changes for e in entries
    ]


@time_machine.travel(NOW, tick=True)
async def test_a_candidate_is_admitted_with_two_introducers_after_the_notice(
    harness: Harness,
) -> None:
    branch_id, ids = await _world(harness)
    await harness.send("/members")
    await harness.tap("周八")
    card = await harness.tap("📈 发展党员进程")
    assert card[-1].startswith(
        "发展党员 · 周八（发展对象）\n✅ 列为发展对象：2026-01-10（花名册日期）"
    )
    await harness.tap("📝 记录下一步")
    assert harness.buttons() == ["确定入党介绍人", "政治审查", "短期集中培训", "公示",
                                 "支部大会讨论接收", "✖️ 取消"]  # fmt: skip
    # The 支部大会 needs two introducers first (a rule whose wording was seen: refused).
    assert (await harness.tap("支部大会讨论接收"))[0].startswith(
        "⚠️ 还没有记录两名入党介绍人（《中国共产党发展党员工作细则》：发展对象应当有两名正式党员作"
        '入党介绍人），请先记录"确定入党介绍人"。'
    )
    await harness.tap("确定入党介绍人")
    await harness.send("2026-06-01")
    assert harness.buttons() == ["张三", "李四", "王五", "⬅️ 上一步", "✖️ 取消"]
    assert (await harness.tap("张三"))[-1] == "第 4/4 步 · 周八\n第二位入党介绍人（正式党员）："
    assert harness.buttons() == ["李四", "王五", "⬅️ 上一步", "✖️ 取消"]
    replies = await harness.tap("李四")
    assert replies[0] == "✅ 已记录：周八 确定入党介绍人（2026-06-01）。"
    assert "✅ 确定入党介绍人：2026-06-01，张三、李四" in replies[-1]
    await harness.tap("📝 记录下一步")
    await harness.tap("公示")
    replies = await harness.send("2026-06-08")
    assert "✅ 公示：2026-06-08，至 2026-06-12（5个工作日）" in replies[-1]
    assert "📌 支部大会讨论接收：2026-06-13 起，现在可以办" in replies[-1]
    await harness.tap("📝 记录下一步")
    await harness.tap("支部大会讨论接收")
    assert (await harness.send("6月12日"))[-1] == (
        "第 3/3 步 · 周八\n请确认：\n"
        "· 公示到 2026-06-12 才满5个工作日（一般做法，请以上级党组织要求为准）。\n"
        "· 还没有记录政治审查、短期集中培训。\n"
        '确实如此就点"✅ 确认，仍然记录"；日期记错了就点"上一步"改。'
    )
    # Back to the date: a later one leaves only the missing steps to confirm.
    await harness.tap("⬅️ 上一步")
    assert (await harness.send("6月13日"))[-1] == (
        "第 3/3 步 · 周八\n请确认：\n· 还没有记录政治审查、短期集中培训。\n"
        '确实如此就点"✅ 确认，仍然记录"；日期记错了就点"上一步"改。'
    )
    replies = await harness.tap("✅ 确认，仍然记录")
    assert replies[0] == (
        "✅ 已记录：周八 支部大会讨论接收（2026-06-13）。花名册身份已改为预备党员。"
    )
    assert replies[-1].endswith(
        "下一步\n⏳ 转正：2027-06-13 起（还要 363 天）\n"
        "依据：《中国共产党章程》第七条：预备期为一年，从支部大会通过之日算起"
    )
    assert harness.app is not None
    member = await members.get(harness.app.database, branch_id, ids["周八"])
    assert member is not None
    assert (member.info.status, member.info.joined_on) == ("probationary", date(2026, 6, 13))
    assert await _steps(harness, branch_id, ids["周八"]) == [
        ("candidate", date(2026, 1, 10), None, "", ()),
        ("introducers", date(2026, 6, 1), None, "", ("张三", "李四")),
        ("notice", date(2026, 6, 8), None, "", ()),
        ("admitted", date(2026, 6, 13), None, "", ()),
    ]


@time_machine.travel(NOW, tick=True)
async def test_steps_too_early_are_refused_and_asked_again(harness: Harness) -> None:
    branch_id, ids = await _world(harness)
    await harness.send("/recruit")
    await harness.tap("孙七（入党积极分子）")
    await harness.tap("📝 记录下一步")
    await harness.tap("列为发展对象")
    assert (await harness.send("2026-04-30"))[0] == (
        "⚠️ 确定为入党积极分子还不满一年：2026-05-01 起才能列为发展对象"
        "（《中国共产党发展党员工作细则》：经过一年以上培养考察）。请核对日期。\n\n"
        "第 2/2 步 · 孙七\n孙七 · 列为发展对象：日期？例如 2026-05-01、5月1日、昨天。"
    )
    assert (await harness.send("2026-05-01"))[0] == (
        "✅ 已记录：孙七 列为发展对象（2026-05-01）。花名册身份已改为发展对象。"
    )
    # 预备期: 转正 before it ends is refused; one extension of 6–12 months; then its new end.
    await harness.send("/recruit")
    await harness.tap("吴九（预备党员）")
    await harness.tap("📝 记录下一步")
    await harness.tap("延长预备期")
    await harness.tap("今天")
    assert harness.buttons() == ["6个月", "12个月", "⬅️ 上一步", "✖️ 取消"]
    assert (await harness.send("18个月"))[0] == (
        "⚠️ 延长预备期不少于 6 个月、不超过 12 个月（《中国共产党发展党员工作细则》），"
        "请输入 6 到 12 之间的数字。\n\n"
        "第 3/3 步 · 吴九\n延长预备期几个月？6 到 12 个月，例如 6 或 12。"
    )
    assert (await harness.send("6"))[0] == "✅ 已记录：吴九 延长预备期（2026-06-15）。"
    await harness.tap("📝 记录下一步")  # one extension only: 转正 is the one step left
    assert (await harness.send("今天"))[0] == (
        "⚠️ 预备期到 2026-12-10 才满（《中国共产党章程》第七条：预备期为一年；"
        "延长的，按延长后的期限），期满后才能讨论转正。请核对日期。\n\n"
        "吴九 · 转正：日期？例如 2026-05-01、5月1日、昨天。时间：2026-12-10 起。"
    )
    await harness.send("/cancel")
    assert await _steps(harness, branch_id, ids["吴九"]) == [
        ("extended", date(2026, 6, 15), 6, "months", ())
    ]


@time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=TZ), tick=True)
async def test_reminders_status_and_the_register(tmp_path) -> None:  # type: ignore[no-untyped-def]
    h = Harness(tmp_path / "bot.sqlite3", reminders=True)
    await h.start()
    branch = await h.register()
    assert h.app is not None
    database = h.app.database
    applicant = await members.add(
        database, user_id=SECRETARY, branch_id=branch.id,
        info=MemberInfo("赵六", "applicant", date(2026, 10, 30)),
    )  # fmt: skip
    await members.add(
        database, user_id=SECRETARY, branch_id=branch.id,
        info=MemberInfo("张三", "formal", date(2010, 7, 1)),
    )  # fmt: skip
    card = (await h.send("/status"))[-1]
    assert "📈 赵六 谈话应在 2026-11-30 前\n" in card
    before = len(h.fake.bot_messages(SECRETARY))
    # A week before the deadline (the default lead days 7 and 2): the sweep queues it once.
    await sweep(database, date(2026, 11, 23), TZ)
    await sweep(database, date(2026, 11, 23), TZ)
    key = f"ob:{branch.id}:recruitment.{applicant.id}:2026-10-30:lead7:{SECRETARY}"
    assert (await outbox.by_key(database, key)) is not None
    queued = await database.fetchall(
        "SELECT key FROM outbox WHERE key LIKE ?", (f"ob:{branch.id}:recruitment.%",)
    )
    assert [r["key"] for r in queued] == [key]  # two sweeps, one reminder
    found = jobs.deliverer(h.app)
    assert found is not None
    texts: list[str] = []
    for _ in range(400):
        await found.run_once()
        later = h.fake.bot_messages(SECRETARY)[before:]
        texts = [m.get("text") or "" for m in later if "赵六" in (m.get("text") or "")]
        if texts:
            break
        await asyncio.sleep(0.05)
    assert texts == [
        "<b>🔔 测试支部</b>\n📈 赵六 的谈话请在 11月30日前完成（还有 7 天）。\n"
        "<i>依据：《中国共产党发展党员工作细则》：党组织收到入党申请书后，一个月内派人同入党申请人谈话</i>\n"
        '办完后在 /recruit 里点名字，"📝 记录下一步"。'
    ]
    # Recorded: no 谈话 reminder is left in /status.
    await h.send("/recruit")
    await h.tap("赵六（入党申请人）")
    await h.tap("📝 记录下一步")
    await h.tap("谈话")
    await h.tap("今天")
    assert "赵六" not in (await h.send("/status"))[-1]
    # The register: one row per person on the way in, a column per step, the next step due.
    await h.send("/recruit")
    replies = await h.tap("📤 导出发展党员台账")
    assert replies[-1] == "📤 发展党员台账：1 人，每人一行，各步骤日期和下一步。只有姓名和日期。"
    sent = h.fake.sent_files[-1]
    assert sent["file_name"] == "测试支部_发展党员台账_2026-11-23.xlsx"
    sheet = openpyxl.load_workbook(BytesIO(sent["data"])).active
    assert sheet is not None
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=1, max_row=3)]
    assert rows[0][0] == "测试支部 发展党员工作台账（2026-11-23）"
    assert rows[1] == [
        "序号", "姓名", "身份", "递交入党申请书", "谈话", "确定为入党积极分子", "考察",
        "列为发展对象", "入党介绍人", "政治审查", "短期集中培训", "公示开始", "公示结束",
        "支部大会讨论接收", "延长预备期", "转正", "下一步", "下一步日期",
    ]  # fmt: skip
    assert rows[2] == [1, "赵六", "入党申请人", datetime(2026, 10, 30), datetime(2026, 11, 23),
                       None, None, None, None, None, None, None, None, None, None, None,
                       "确定为入党积极分子", datetime(2027, 4, 30)]  # fmt: skip
    await h.stop()


@time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=TZ), tick=True)
async def test_a_person_entered_after_their_deadlines_is_asked_not_told_overdue(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    # A new secretary enters today an applicant of a year ago and an activist of 2024: the bot
    # cannot know the 谈话 or the 考察 held before, so nothing is overdue, nothing is reminded
    # of, and the 谈话's date is asked for.
    h = Harness(tmp_path / "bot.sqlite3", reminders=True)
    await h.start()
    branch = await h.register()
    assert h.app is not None
    database = h.app.database
    for name, status, joined in (("赵六", "applicant", date(2025, 11, 1)),
                                 ("孙七", "activist", date(2024, 3, 1))):  # fmt: skip
        await members.add(
            database, user_id=SECRETARY, branch_id=branch.id, info=MemberInfo(name, status, joined)
        )
    assert (await h.send("/recruit"))[-1] == (
        "发展党员 · 测试支部\n"
        "1. 孙七（入党积极分子）📌 考察：2027-03-01 前（还有 91 天）；录入本助手前的考察可以补记\n"
        "2. 赵六（入党申请人）📝 谈话：期限在录入本助手之前，请补记日期\n"
        "点名字查看每一步的日期和下一步。"
    )
    assert (await h.tap("赵六（入党申请人）"))[-1].startswith(
        "发展党员 · 赵六（入党申请人）\n"
        "✅ 递交入党申请书：2025-11-01（花名册日期）\n\n"
        "下一步\n"
        "📝 谈话：期限在录入本助手之前，请补记日期\n"
    )
    await h.tap("📝 记录下一步")
    await h.tap("谈话")
    assert (await h.send("2025-11-20"))[0] == "✅ 已记录：赵六 谈话（2025-11-20）。"
    card = (await h.send("/status"))[-1]
    assert "赵六" not in card and "孙七" not in card and "超期" not in card
    await sweep(database, date(2026, 11, 30), TZ)
    queued = await database.fetchall(
        "SELECT key FROM outbox WHERE key LIKE ?", (f"ob:{branch.id}:recruitment.%",)
    )
    assert queued == []
    await h.stop()


@time_machine.travel(NOW, tick=True)
async def test_viewers_read_other_branches_see_nothing_forged_buttons_expire(
    harness: Harness,
) -> None:
    branch_id, ids = await _world(harness)
    assert harness.app is not None
    database = harness.app.database
    # A viewer sees the card without the button; 记录下一步 forged is refused.
    harness.fake.add_user(VIEWER, first_name="看")
    await repo.add_membership(
        database, actor_id=SECRETARY, user_id=VIEWER, branch_id=branch_id, role="viewer"
    )
    await repo.set_current_branch(database, VIEWER, branch_id)
    await harness.send("/recruit", user=VIEWER)
    await harness.tap("赵六（入党申请人）", user=VIEWER)
    assert harness.buttons(VIEWER) == ["👤 花名册信息", "📈 发展党员名单"]
    await harness.tap_data(f"rc:n:{branch_id}:{ids['赵六']}", user=VIEWER)
    assert "权限" in harness.callback_answers()[-1]
    # Another branch's secretary: nothing of this branch.
    await harness.register(user=OTHER, key="other")
    await harness.send("/help", user=OTHER)
    for data in (f"rc:o:{branch_id}:{ids['赵六']}", f"rc:x:{branch_id}", f"rc:l:{branch_id}",
                 f"rc:n:{branch_id}:{ids['赵六']}"):  # fmt: skip
        await harness.tap_data(data, user=OTHER)
        assert "权限" in harness.callback_answers()[-1]
    # Forged: a member of another branch or none, a formal member, junk in the data.
    await harness.send("/help")
    for data in (f"rc:o:{branch_id}:999999", f"rc:n:{branch_id}:{ids['张三']}",
                 f"rc:n:{branch_id}:x", "rc:o:1:2:3", f"rc:x:{branch_id}0000000000"):  # fmt: skip
        answers = len(harness.callback_answers())
        await harness.tap_data(data)
        assert harness.callback_answers()[answers:] == [EXPIRED]
    # The person's status changed while the form was open: the form ends, nothing is recorded.
    await harness.send("/recruit")
    await harness.tap("赵六（入党申请人）")
    await harness.tap("📝 记录下一步")
    await harness.tap("谈话")
    await members.update(
        database, user_id=SECRETARY, branch_id=branch_id, member_id=ids["赵六"],
        info=MemberInfo("赵六", "activist", date(2026, 1, 1)),
    )  # fmt: skip
    assert (await harness.send("2025-11-20"))[-1] == (
        "赵六 的情况刚刚有了变化（从花名册删除了、身份改了，或这一步已被别人记录），"
        "这次没有记录。请重新打开发展党员进程再记。"
    )
    # No 谈话; the application date the roster edit replaced is kept.
    assert await _steps(harness, branch_id, ids["赵六"]) == [
        ("applied", date(2025, 11, 1), None, "", ())
    ]
    # A member deleted while the form is open: the same, and nothing is left of them.
    await harness.send("/recruit")
    await harness.tap("周八（发展对象）")
    await harness.tap("📝 记录下一步")
    await harness.tap("政治审查")
    await members.remove(database, user_id=SECRETARY, branch_id=branch_id, member_id=ids["周八"])
    assert (await harness.send("今天"))[-1] == (
        "周八 的情况刚刚有了变化（从花名册删除了、身份改了，或这一步已被别人记录），"
        "这次没有记录。请重新打开发展党员进程再记。"
    )
    assert await _steps(harness, branch_id, ids["周八"]) == []


@time_machine.travel(NOW, tick=True)
async def test_training_length_and_too_few_formal_members(harness: Harness) -> None:
    branch = await harness.register()
    assert harness.app is not None
    database = harness.app.database
    found = {}
    for name, status in (("张三", "formal"), ("周八", "candidate")):
        info = MemberInfo(name, status, date(2026, 1, 10))
        found[name] = await members.add(
            database, user_id=SECRETARY, branch_id=branch.id, info=info
        )
    await harness.send("/recruit")
    await harness.tap("周八（发展对象）")
    await harness.tap("📝 记录下一步")
    await harness.tap("短期集中培训")
    await harness.send("2026-06-10")
    assert harness.buttons() == ["3天", "24学时", "⬅️ 上一步", "✖️ 取消"]
    ask = "第 3/3 步 · 周八\n短期集中培训多长时间？例如 3天 或 24学时。"
    assert (await harness.send("三天半"))[-1] == (
        "⚠️ 没看懂培训时长，请这样写：3天、5天、24学时、32学时。\n\n" + ask
    )
    # Two days is under the usual three: asked to confirm (FACTS: "一般不少于").
    assert (await harness.send("2天"))[-1] == (
        "第 4/4 步 · 周八\n请确认：\n· 培训 2天，少于一般要求的3天（或24学时）。\n"
        '确实如此就点"✅ 确认，仍然记录"；日期记错了就点"上一步"改。'
    )
    await harness.tap("⬅️ 上一步")
    replies = await harness.send("24学时")
    assert replies[0] == "✅ 已记录：周八 短期集中培训（2026-06-10）。"
    assert "✅ 短期集中培训：2026-06-10，24学时" in replies[-1]
    assert await _steps(harness, branch.id, found["周八"].id) == [
        ("training", date(2026, 6, 10), 24, "hours", ())
    ]
    # One formal member besides the person: two introducers cannot be named.
    await harness.tap("📝 记录下一步")
    await harness.tap("确定入党介绍人")
    replies = await harness.tap("今天")
    assert replies[-1] == (
        "第 3/4 步 · 周八\n花名册上（除本人外）只有 1 名正式党员，选不了两名入党介绍人："
        '请先在 /members 里添加，或点"取消"。'
    )
    assert harness.buttons() == ["⬅️ 上一步", "✖️ 取消"]


@time_machine.travel(NOW, tick=True)
async def test_a_status_changed_on_the_roster_keeps_the_date_it_replaces(harness: Harness) -> None:
    branch_id, ids = await _world(harness)
    assert harness.app is not None
    database = harness.app.database
    # Forward (applicant → activist): the application date held by joined_on becomes a step.
    await members.update(
        database, user_id=SECRETARY, branch_id=branch_id, member_id=ids["赵六"],
        info=MemberInfo("赵六", "activist", date(2026, 5, 10)),
    )  # fmt: skip
    assert await _steps(harness, branch_id, ids["赵六"]) == [
        ("applied", date(2025, 11, 1), None, "", ())
    ]
    await harness.send("/recruit")
    card = (await harness.tap("赵六（入党积极分子）"))[-1]
    assert "✅ 递交入党申请书：2025-11-01\n✅ 确定为入党积极分子：2026-05-10（花名册日期）" in card
    # Back (a correction): nothing is added.
    await members.update(
        database, user_id=SECRETARY, branch_id=branch_id, member_id=ids["孙七"],
        info=MemberInfo("孙七", "applicant", date(2025, 4, 1)),
    )  # fmt: skip
    assert await _steps(harness, branch_id, ids["孙七"]) == []
