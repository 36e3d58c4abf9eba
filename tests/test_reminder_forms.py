"""/reminders and /remind typed input on the form engine: exact questions and refusals with a
second chance, back and cancel, a question typed at a free-text step answered (and kept aside
until "✍️ 用作答案"), stale and forged buttons, switches that set a value (a double tap or a
replayed update changes nothing more), and reminders created once per form or message."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import time_machine

from db import custom_reminders, repo, settings
from db.models import CustomReminder
from tests.conftest import SECRETARY, Harness, replay

# The question index is built once per test process, when first asked: the tests that ask
# run in one process (make test: --dist loadgroup), so only it builds the index.
pytestmark = pytest.mark.xdist_group("knowledge")

NOW = "2026-12-24 07:00 +08:00"  # a Thursday
EXPIRED = "这个按钮已过期，请按最新的消息操作。"
CANCELLED = "已取消，没有保存未完成的内容。发送 /menu 回到主菜单。"
ASK_TIME = "每天几点提醒？点选或输入，例如 9:00、下午2点（08:00–21:00 之间）。"
ASK_RULE = (
    "第 1/2 步\n什么时候提醒？点选例子或自己写，例如：\n"
    "每周五 9:00 · 每月5日 · 每月最后一天 17:00 · 每季度第一个月10日 · 12月5日 15:00 · 明天 9点\n"
    '（不写时间就是 9:00；"每月31日"在小月落在月底。）'
)
ASK_TEXT = "第 2/2 步\n提醒什么？写一句话（最多 200 个字），例如：收缴本月党费。"
OFF_TOPIC = (
    "我能回答党支部工作方面的问题，例如：\n· 只有两名党员能建支部吗\n· 月工资4500交多少党费\n"
    "· 组织生活会怎么开\n· 预备期从去年3月1日开始什么时候转正\n· 支委会多久开一次\n"
    "也可以点下面的按钮：看操作指引、评估怎么建支部、做一次支部自查。"
)
EXAMPLES = ["每周五 9:00", "每月最后一天 17:00", "每季度第一个月10日 9:00"]


async def _reminders(h: Harness, branch_id: int) -> list[tuple[str, str, str]]:
    assert h.app is not None
    found = await custom_reminders.list_for(h.app.database, branch_id)
    return [(r.rule, r.at_time, r.text) for r in found]


def _draft(h: Harness) -> dict[str, Any]:
    assert h.app is not None
    found = h.app.forms.peek(SECRETARY)
    assert found is not None
    return found[1]


@time_machine.travel(NOW, tick=True)
async def test_reminder_time_refuses_bad_input_and_answers_a_question(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/reminders")
    assert await harness.tap("🕘 提醒时间") == [ASK_TIME]
    assert harness.buttons() == ["08:30", "09:00", "14:00", "18:00", "✖️ 取消"]
    unknown = "⚠️ 没看懂这个时间，可以这样写：9:00、9点半、下午3点。"
    for bad, error in (
        (" ", unknown),
        ("<b>&", unknown),
        ("🚩", unknown),
        ("九" * 4000, unknown),
        ("25:00", "⚠️ 时间不对（小时 0–23，分钟 0–59），例如 9:00 或 下午3点。"),
        ("23:00", "⚠️ 晚上9点到早上8点不打扰，请选 08:00 到 21:00 之间的时间。"),
    ):
        assert await harness.send(bad) == [f"{error}\n\n{ASK_TIME}"], bad
    # A question is answered, then the same step is asked again; it is no time: no "用作答案".
    assert await harness.send("几点提醒比较好？") == [OFF_TOPIC, ASK_TIME]
    assert "✍️ 用作答案" not in harness.buttons()
    assert harness.app is not None
    assert (await settings.get_settings(harness.app.database, branch.id)).reminder_time == "09:00"
    # Two taps, as before the engine.
    replies = await harness.tap("08:30")
    assert replies[0] == "✅ 已保存。" and "提醒时间：每天 08:30（" in replies[1]
    assert (await settings.get_settings(harness.app.database, branch.id)).reminder_time == "08:30"
    assert harness.app.forms.active(SECRETARY) is None


@time_machine.travel(NOW, tick=True)
async def test_lead_days_typed_and_tapped(harness: Harness) -> None:
    branch = await harness.register()
    assert harness.app is not None
    database = harness.app.database
    await harness.send("/reminders")
    await harness.tap("⏳ 提前天数")
    assert harness.buttons() == [
        "提前7天和2天", "提前3天和1天", "提前1天", "不提前，只在到期日", "✖️ 取消",
    ]  # fmt: skip
    replies = await harness.send("31")
    assert replies == [
        "⚠️ 请写到期前几天提醒，1 到 30 之间的数字，最多3个，例如：7 2。\n\n"
        "到期前几天提醒？点选或输入天数，例如：7 2（表示提前7天和2天各提醒一次）。"
    ]
    replies = await harness.send("10、3天")
    assert replies[0] == "✅ 已保存。" and "到期前 10、3 天" in replies[1]
    assert (await settings.get_settings(database, branch.id)).lead_days == (10, 3)
    await harness.tap("⏳ 提前天数")
    await harness.tap("提前1天")
    assert (await settings.get_settings(database, branch.id)).lead_days == (1,)


@time_machine.travel(NOW, tick=True)
async def test_term_back_keep_and_clear(harness: Harness) -> None:
    branch = await harness.register()
    assert harness.app is not None
    database = harness.app.database
    await harness.send("/reminders")
    replies = await harness.tap("🗳 换届信息")
    ask_day = (
        "上次支部换届选举是哪一天？例如 2024-03-15 或 2024年3月15日；记不清哪天，写月份也行，"
        "例如 2024年3月。"
    )
    assert replies == [f"第 1/2 步\n{ask_day}"]
    assert harness.buttons() == ["✖️ 取消"]  # nothing to clear yet
    assert await harness.send("2月30日") == [
        f"⚠️ 没有这一天（例如2月没有30日），请核对后再输入。\n\n第 1/2 步\n{ask_day}"
    ]
    ask_years = (
        "第 2/2 步\n这一届任期几年？社会组织党支部一般为3年"
        "（《中国共产党支部工作条例（试行）》）。点选或输入。"
    )
    assert await harness.send("2024年3月15日") == [ask_years]
    # Back: the date again, with its answer kept by one tap; then the term is asked again.
    assert await harness.tap("⬅️ 上一步") == [
        f'第 1/2 步\n{ask_day}\n当前：2024年3月15日（周五）（不改就点"↪️ 保持原样"）'
    ]
    assert await harness.tap("↪️ 保持原样") == [ask_years]
    assert (await harness.send("5"))[0] == "✅ 已保存。"
    saved = await settings.get_settings(database, branch.id)
    assert (saved.elected_on, saved.term_years) == (date(2024, 3, 15), 5)
    # Clearing is one tap on the first step.
    await harness.tap("🗳 换届信息")
    assert harness.buttons() == ["🗑 清除换届信息", "✖️ 取消"]
    replies = await harness.tap("🗑 清除换届信息")
    assert replies[0] == "✅ 已保存。" and "换届：未填写上次选举日期" in replies[1]
    assert (await settings.get_settings(database, branch.id)).elected_on is None


@time_machine.travel(NOW, tick=True)
async def test_new_reminder_back_bad_input_and_use_as_answer(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/remind")
    assert await harness.tap("➕ 新建提醒") == [ASK_RULE]
    assert harness.buttons() == [*EXAMPLES, "✖️ 取消"]
    for bad, error in (
        (" ", "⚠️ 没看懂什么时候提醒。"),
        ("<b>&", "⚠️ 没看懂什么时候提醒。"),
        ("🚩", "⚠️ 没看懂什么时候提醒。"),
        ("每月5日 25:00", "⚠️ 时间不对（小时 0–23，分钟 0–59），例如 9:00 或 下午3点。"),
        ("2月30日", "⚠️ 没有这一天（例如2月没有30日），请核对后再写。"),
        ("今天 6:00", "⚠️ 晚上9点到早上8点不打扰，请选 08:00 到 21:00 之间的时间。"),
        ("昨天 9点", "⚠️ 这个时间已经过了，请写以后的时间。"),
    ):
        [reply] = await harness.send(bad)
        assert reply.startswith(error) and reply.endswith(f"\n\n{ASK_RULE}"), bad
    # A question where the rule is asked: answered, nothing stored.
    assert await harness.send("每周五能提醒吗？") == [OFF_TOPIC, ASK_RULE]
    assert _draft(harness)["rule"] is None
    assert await harness.send("每周五 9:00") == [ASK_TEXT]
    # Back: the rule again with its answer, kept by one tap.
    assert await harness.tap("⬅️ 上一步") == [
        f'{ASK_RULE}\n当前：每周五 09:00（不改就点"↪️ 保持原样"）'
    ]
    assert await harness.tap("↪️ 保持原样") == [ASK_TEXT]
    for bad, error in (
        (" ", "⚠️ 没有收到内容，请再输入一次。"),
        ("党" * 201, "⚠️ 太长了（201 个字），最多 200 个字，请精简后再输入。"),
    ):
        assert await harness.send(bad) == [f"{error}\n\n{ASK_TEXT}"], bad
    # A question typed as the text: answered, the step asked again, nothing stored...
    assert await harness.send("提醒能发到群里吗？") == [OFF_TOPIC, ASK_TEXT]
    assert harness.buttons() == ["✍️ 用作答案", "⬅️ 上一步", "✖️ 取消"]
    assert _draft(harness)["text"] is None
    assert await _reminders(harness, branch.id) == []
    # ...unless it really is the text.
    replies = await harness.tap("✍️ 用作答案")
    assert replies == [
        "✅ 提醒已保存：每周五 09:00\n提醒能发到群里吗？\n下一次：2026年12月25日 09:00"
    ]
    assert await _reminders(harness, branch.id) == [("weekly", "09:00", "提醒能发到群里吗？")]
    # Markup and emoji are kept as typed and shown escaped; three taps and a text, as before.
    await harness.tap("➕ 新建提醒")
    await harness.tap("每月最后一天 17:00")
    replies = await harness.send("<b>收党费</b> & 🚩")
    assert replies == [
        "✅ 提醒已保存：每月最后一天 17:00\n<b>收党费</b> & 🚩\n下一次：2026年12月31日 17:00"
    ]
    assert (await _reminders(harness, branch.id))[-1] == ("monthly", "17:00", "<b>收党费</b> & 🚩")


@time_machine.travel(NOW, tick=True)
async def test_cancel_stale_and_forged_buttons(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/remind")
    await harness.tap("➕ 新建提醒")
    # Nothing typed yet: /cancel ends it at once.
    assert await harness.send("/cancel") == [CANCELLED]
    await harness.tap_data(f"cm:new:{branch.id}")
    first = harness.last_message()["message_id"]
    await harness.send("每周五 9:00")
    # The rule's buttons are stale now; forged revisions, steps and examples are refused.
    data = harness.last_message()["reply_markup"]["inline_keyboard"][-1][-1]["callback_data"]
    rev = int(data.split(":")[1])
    for forged in (
        f"rmd:{rev - 1}:a:rule:0",
        f"rmd:{rev}:a:rule:0",  # not the step on screen
        f"rmd:{rev}:a:text:0",  # the text step has no choices
        f"rmd:{rev}:u:text",  # nothing kept aside to use as the answer
        f"rmd:{'9' * 30}:x",
        f"rst:{rev}:a:time:0830",  # another form
    ):
        before = len(harness.callback_answers())
        await harness.tap_data(forged, first)
        assert harness.callback_answers()[before:] == [EXPIRED], forged
    assert _draft(harness)["text"] is None
    # Cancelling after an answer asks first; the draft is dropped, nothing stored.
    assert await harness.tap("✖️ 取消") == ["放弃这次自定义提醒吗？已经填写的内容不会保存。"]
    assert await harness.tap("🗑 放弃，不保存") == [CANCELLED]
    assert harness.app is not None and harness.app.forms.active(SECRETARY) is None
    assert await _reminders(harness, branch.id) == []


@time_machine.travel(NOW, tick=True)
async def test_changing_a_reminder_and_one_deleted_meanwhile(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/remind 每周五 9:00 交党费")
    await harness.send("/remind")
    await harness.tap("1")
    await harness.tap("🕘 改时间")
    replies = await harness.send("每月5日 25:00")
    assert replies[0].startswith("⚠️ 时间不对") and "第 1/" not in replies[0]
    replies = await harness.send("每月5日 10:00")
    assert replies[0] == "✅ 已保存。" and replies[1].startswith("⏰ 每月5日 10:00\n交党费\n")
    await harness.tap("✏️ 改内容")
    replies = await harness.send("收党费")
    assert replies[1].startswith("⏰ 每月5日 10:00\n收党费\n")
    assert await _reminders(harness, branch.id) == [("monthly", "10:00", "收党费")]
    # Deleted by someone else while it is being changed: said so, the form ends.
    await harness.tap("✏️ 改内容")
    assert harness.app is not None
    [reminder] = await custom_reminders.list_for(harness.app.database, branch.id)
    await custom_reminders.delete(harness.app.database, user_id=SECRETARY, reminder_id=reminder.id)
    assert await harness.send("新的内容") == ["这条记录已不存在（可能已被删除）。"]
    assert harness.app.forms.active(SECRETARY) is None


@time_machine.travel(NOW, tick=True)
async def test_commands_resume_the_open_form_and_roles_are_checked_on_every_answer(
    harness: Harness,
) -> None:
    branch = await harness.register()
    await harness.send("/remind")
    await harness.tap("➕ 新建提醒")
    await harness.send("每周五 9:00")
    resumed = ["您有一份没填完的自定义提醒，接着填吧（发送 /cancel 可以放弃）。", ASK_TEXT]
    assert await harness.send("/remind") == resumed
    assert await harness.send("/reminders") == resumed
    assert await harness.tap("⬅️ 上一步") == [
        f'{ASK_RULE}\n当前：每周五 09:00（不改就点"↪️ 保持原样"）'
    ]
    await harness.tap("↪️ 保持原样")
    # Made a viewer meanwhile: the answer is refused and the form ends; nothing is stored.
    assert harness.app is not None
    await repo.add_membership(
        harness.app.database,
        actor_id=SECRETARY,
        user_id=SECRETARY,
        branch_id=branch.id,
        role="viewer",
    )
    assert await harness.send("交党费") == ["您没有这个支部的操作权限。"]
    assert harness.app.forms.active(SECRETARY) is None
    assert await _reminders(harness, branch.id) == []


@time_machine.travel(NOW, tick=True)
async def test_a_full_branch_is_told_so_and_a_repeated_save_still_finds_its_reminder(
    harness: Harness,
) -> None:
    branch = await harness.register()
    assert harness.app is not None
    for i in range(custom_reminders.MAX_PER_BRANCH - 1):
        await custom_reminders.create(
            harness.app.database,
            user_id=SECRETARY,
            reminder=CustomReminder(0, branch.id, f"第{i}条", "weekly", "09:00", weekday=4),
        )
    await harness.send("/remind")
    await harness.tap("➕ 新建提醒")
    await harness.tap("每周五 9:00")
    # The 50th is saved; the confirmation is lost, and the same answer again finds it, although
    # the branch is full now.
    harness.fake.fail_next("sendMessage", error_code=500, description="Internal Server Error")
    await harness.send("交党费")
    replies = await harness.send("交党费")
    assert replies[0].startswith("✅ 提醒已保存：每周五 09:00\n交党费\n")
    full = "⚠️ 本支部已有 50 条自定义提醒，请先删掉不用的。"
    assert await harness.tap("➕ 新建提醒") == [full]
    assert harness.app.forms.active(SECRETARY) is None
    assert await harness.send("/remind 每天 9:00 看群") == [full]
    assert len(await _reminders(harness, branch.id)) == custom_reminders.MAX_PER_BRANCH


async def test_switches_set_a_value_so_a_double_tap_or_a_replay_changes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.sqlite3"
    with time_machine.travel(NOW, tick=True):
        h = Harness(path)
        await h.start()
        branch = await h.register()
        assert h.app is not None
        await h.send("/reminders")
        card = h.last_message()["message_id"]
        await h.tap("✅ 私聊提醒书记、副书记")
        assert "⬜ 私聊提醒书记、副书记" in h.buttons()
        # The old card's button tapped again: still off (a flip would turn it back on).
        await h.tap_data(f"rs:priv:{branch.id}:0", card)
        assert not (await settings.get_settings(h.app.database, branch.id)).to_private
        # Muting twice, pausing twice: each stays as chosen.
        for _ in range(2):
            await h.tap_data(f"rs:om:{branch.id}:party_dues:1", card)
        assert (await settings.get_settings(h.app.database, branch.id)).muted == ("party_dues",)
        await h.send("/remind 每周五 9:00 交党费")
        [reminder] = await custom_reminders.list_for(h.app.database, branch.id)
        await h.send("/remind")
        await h.tap("1")
        opened = h.last_message()["message_id"]
        await h.tap("⏸ 暂停")
        await h.tap_data(f"cm:p:{branch.id}:{reminder.id}:1", opened)
        changed = await custom_reminders.get(h.app.database, reminder.id)
        assert changed is not None and changed.paused
        # A button of the old kind, without the value it sets, is refused as expired.
        await h.tap_data(f"rs:priv:{branch.id}", card)
        assert h.callback_answers()[-1] == EXPIRED
        # A switch replayed after a crash (same update id): the setting stays as chosen.
        await h.send("/reminders")
        tap = h.fake.tap_button(SECRETARY, "⬜ 私聊提醒书记、副书记")
        await h._settle()
        assert (await settings.get_settings(h.app.database, branch.id)).to_private
        h = await replay(h, tap)
        assert h.app is not None
        assert (await settings.get_settings(h.app.database, branch.id)).to_private
        await h.stop()


async def test_a_reminder_is_created_once_per_form_and_per_message(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with time_machine.travel(NOW, tick=True):
        h = Harness(path)
        await h.start()
        branch = await h.register()
        await h.send("/remind")
        await h.tap("➕ 新建提醒")
        await h.tap("每周五 9:00")
        # Saved, but Telegram fails on the confirmation: the form stays open on the text.
        h.fake.fail_next("sendMessage", error_code=500, description="Internal Server Error")
        await h.send("交党费")
        assert await _reminders(h, branch.id) == [("weekly", "09:00", "交党费")]
        # Answered again (as after a crash before the form was closed): the same reminder.
        replies = await h.send("交党费")
        assert replies == ["✅ 提醒已保存：每周五 09:00\n交党费\n下一次：2026年12月25日 09:00"]
        assert await _reminders(h, branch.id) == [("weekly", "09:00", "交党费")]
        # The one-line form, replayed after a crash: one reminder, the same answer again.
        command = h.fake.send_text(SECRETARY, "/remind 每天 9:00 看一眼群消息")
        await h._settle()
        assert len(await _reminders(h, branch.id)) == 2
        h = await replay(h, command)
        assert h.app is not None
        assert await _reminders(h, branch.id) == [
            ("weekly", "09:00", "交党费"),
            ("daily", "09:00", "看一眼群消息"),
        ]
        last = h.last_message()["text"]
        assert last.startswith("✅ 提醒已保存：每天 09:00")
        # The keys name no user (/forgetme leaves nothing that points back to them).
        keys = await h.app.database.fetchall("SELECT draft_key FROM custom_reminders")
        assert all(row["draft_key"] and str(SECRETARY) not in row["draft_key"] for row in keys)
        await h.stop()
