"""The form engine's semantics, the same in every conversation: back means back, edit from the
review card returns to it, a question the user never saw is asked again before an answer is
taken, and old or forged buttons are refused."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from pathlib import Path

import pytest
import time_machine
from msgspec.structs import replace

from bot.emulator.html import parse_html
from bot.knowledge import entries
from db import meetings, members, repo
from db.models import MemberInfo
from tests.conftest import OTHER, SECRETARY, Harness, replay

# The question index is built once per test process, when first asked: the tests that ask
# run in one process (make test: --dist loadgroup), so only it builds the index.
pytestmark = pytest.mark.xdist_group("knowledge")

NOW = "2026-11-23 10:00 +08:00"  # a Monday


async def _fill_registration(h: Harness, upto: int) -> list[str]:
    answers = [
        ("send", "测试党支部"),
        ("send", "测试协会"),
        ("tap", "基金会"),
        ("tap", "单独组建"),
        ("send", "5"),
        ("send", "1"),
        ("tap", "没有"),
        ("tap", "没有"),
        ("send", "15"),
    ]
    replies = await h.send("/start")
    for how, value in answers[:upto]:
        replies = await (h.send(value) if how == "send" else h.tap(value))
    return replies


async def test_back_in_registration_asks_the_following_steps_again(harness: Harness) -> None:
    await _fill_registration(harness, 5)  # up to 正式党员
    replies = await harness.tap("⬅️ 上一步")
    assert replies[-1].startswith("第 5/9 项\n现有正式党员几人？")
    replies = await harness.tap("⬅️ 上一步")
    assert replies[-1] == (
        "第 4/9 项\n支部是怎样组建的？请点选：\n"
        "单独组建：本单位有3名以上正式党员；联合组建：与邻近、同行业单位一起建；挂靠组建：挂靠业务"
        "主管单位等的党组织；行业组建、区域组建：按行业或商务楼宇、园区等区域建。\n"
        '当前：单独组建（不改就点"↪️ 保持原样"）'
    )
    # Changing it goes on to the next step in order, which shows its earlier answer.
    replies = await harness.tap("联合组建")
    assert replies[-1] == (
        '第 5/9 项\n现有正式党员几人？请输入数字，例如 5。\n当前：5 人（不改就点"↪️ 保持原样"）'
    )
    assert "↪️ 保持原样" in harness.buttons()
    replies = await harness.tap("↪️ 保持原样")
    assert replies[-1].startswith("第 6/9 项\n现有预备党员几人？")
    # The step was never answered before: no "保持原样" there.
    assert "↪️ 保持原样" not in harness.buttons()
    await harness.send("1")
    for _ in range(3):
        await harness.tap("没有") if "没有" in harness.buttons() else await harness.send("15")
    replies = await harness.send("15")
    assert "请核对支部信息" in replies[-1] and "组建方式：联合组建" in replies[-1]


async def test_edit_from_the_review_card_returns_to_it(harness: Harness) -> None:
    replies = await _fill_registration(harness, 9)
    assert "请核对支部信息" in replies[-1]
    replies = await harness.tap("✏️ 正式党员")
    assert replies[-1] == (
        '现有正式党员几人？请输入数字，例如 5。\n当前：5 人（不改就点"↪️ 保持原样"）'
    )
    assert harness.buttons() == ["↪️ 保持原样", "❓ 这一项怎么填", "↩️ 回到确认页", "✖️ 取消"]
    replies = await harness.send("7")
    assert "请核对支部信息" in replies[-1] and "正式党员：7 人" in replies[-1]
    await harness.tap("✅ 确认登记")
    assert harness.app is not None
    [(_, branch)] = await repo.list_memberships(harness.app.database, SECRETARY)
    assert branch.profile.formal_members == 7 and branch.profile.probationary_members == 1


async def test_a_typed_answer_to_a_question_never_shown_is_not_taken(harness: Harness) -> None:
    await harness.send("/start")
    # Telegram refuses the next question: the user still sees the first one.
    harness.fake.fail_next("sendMessage", error_code=0, description="network down")
    await harness.send("测试党支部")
    assert harness.app is not None
    assert harness.app.forms.peek(SECRETARY)[1]["name"] == "测试党支部"
    # What they type next was meant for the question on their screen, not the unseen one.
    replies = await harness.send("另一个名字")
    assert replies[-1].startswith("第 2/9 项\n支部所在单位（社会组织）的名称？")
    assert harness.app.forms.peek(SECRETARY)[1]["organization_name"] is None
    await harness.send("测试协会")
    assert harness.app.forms.peek(SECRETARY)[1]["organization_name"] == "测试协会"


async def test_a_command_replayed_before_its_first_question_went_out_asks_it(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path / "bot.sqlite3")
    await h.start()
    # Killed after /start opened the form, before its first question went out (the send fails
    # here; the replay below hands the same update to the restarted bot).
    h.fake.fail_next("sendMessage", error_code=0, description="network down")
    command = h.fake.send_text(SECRETARY, "/start")
    await h._settle()
    assert h.app is not None and h.app.forms.active(SECRETARY) == "reg"
    h = await replay(h, command)
    first = "第 1/9 项\n支部的全称是什么？"
    assert parse_html(h.last_message()["text"]).startswith(first)
    # That copy is not noted as seen: a text that may have been typed before it arrived is not
    # taken; the question is asked again, then the answer is taken.
    assert (await h.send("测试党支部"))[-1].startswith(first)
    assert h.app is not None and h.app.forms.peek(SECRETARY)[1]["name"] is None
    assert (await h.send("测试党支部"))[-1].startswith("第 2/9 项\n")
    assert h.app.forms.peek(SECRETARY)[1]["name"] == "测试党支部"
    await h.stop()


def _button_data(h: Harness, label: str) -> str:
    """The data of a button of the latest keyboard, by its label."""
    for message in reversed(h.fake.bot_messages(SECRETARY)):
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if button["text"] == label:
                    return str(button["callback_data"])
    raise AssertionError(label)


async def test_old_and_forged_form_buttons_are_refused(harness: Harness) -> None:
    await harness.send("/start")
    await harness.send("测试党支部")
    await harness.send("测试协会")
    old = harness.last_message()["message_id"]
    answered = _button_data(harness, "基金会")
    await harness.tap("基金会")
    rev = _button_data(harness, "单独组建").split(":")[1]
    for data in (
        answered,  # an answered question's button
        "reg:999999999999999999999999999999:a:formation_mode:joint",  # a 30-digit revision
        f"reg:{rev}:a:formation_mode:nonsense",  # no such option
        f"reg:{rev}:e:formation_mode",  # not on the review card
        f"lg:{rev}:v",  # another form
    ):
        before = len(harness.callback_answers())
        await harness.tap_data(data, old)
        assert harness.callback_answers()[before:] == ["这个按钮已过期，请按最新的消息操作。"]
    assert harness.app is not None
    assert harness.app.forms.peek(SECRETARY)[1]["formation_mode"] is None


@time_machine.travel(NOW, tick=True)
async def test_a_save_that_refuses_an_answer_asks_that_step_again(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/members")
    await harness.tap("➕ 添加")
    await harness.send("张三")
    await harness.tap("正式党员")
    await harness.send("2020-07-01")
    await harness.tap("无")
    # Meanwhile someone else adds a 张三: the save refuses the name, which alone is asked again.
    assert harness.app is not None
    database = harness.app.database
    await members.add(database, user_id=SECRETARY, branch_id=branch.id,
                      info=MemberInfo("张三", "applicant"))  # fmt: skip
    replies = await harness.tap("否")
    assert replies[-1] == (
        "⚠️ 花名册里已有同名的人；确是两个人的，请加区分，如 王伟（大）。\n\n"
        "➕ 添加到花名册（第 1 步）\n请输入姓名（最多 20 字）。同一支部不能重名，重名时请加区分，"
        "如 王伟（大）。\n发送 /cancel 可随时取消。"
    )
    assert harness.buttons() == ["✖️ 取消"]  # no way back from a question the save asks
    replies = await harness.send("张三（二）")
    assert replies[0].startswith("✅ 已添加到花名册。\n张三（二）\n身份：正式党员")
    saved = [m.info for m in await members.list_for(database, branch.id)]
    assert saved == [
        MemberInfo("张三（二）", "formal", date(2020, 7, 1)),
        MemberInfo("张三", "applicant"),
    ]


async def test_a_button_of_an_earlier_run_of_the_same_form_is_refused(harness: Harness) -> None:
    """Revisions never start again at 1: the 基金会 button of a registration that was given up
    does not answer the same question of the next one, even a restart later."""
    await harness.send("/start")
    await harness.send("测试党支部")
    await harness.send("测试协会")
    old_message = harness.last_message()["message_id"]
    old = _button_data(harness, "基金会")
    await harness.send("/cancel")
    await harness.tap("🗑 放弃，不保存")
    await harness.stop()
    # A restart takes a second or more; in-process it can take less than the tenth of a second
    # the revisions count in (bot.forms.engine._first_rev), so the clock is moved on by one.
    with time_machine.travel(time.time() + 1, tick=True):
        await harness.start()
        await harness.send("/start")
        await harness.send("另一个党支部")
        await harness.send("另一个协会")
        assert _button_data(harness, "基金会") != old
        before = len(harness.callback_answers())
        await harness.tap_data(old, old_message)
        assert harness.callback_answers()[before:] == ["这个按钮已过期，请按最新的消息操作。"]
        assert harness.app is not None
        assert harness.app.forms.peek(SECRETARY)[1]["organization_type"] is None
        await harness.stop()


@time_machine.travel(NOW, tick=True)
async def test_text_after_another_command_is_not_taken_by_the_open_form(
    harness: Harness,
) -> None:
    branch = await harness.register(formal_members=9, probationary_members=1)
    await harness.send("/log")
    await harness.tap("党员大会")
    place = (await harness.tap("昨天"))[-1]
    assert place.startswith("第 3/9 步 · 党员大会\n几点开始、在哪里？")
    # The secretary looks something up; /find without words asks for them, and the words typed
    # next are not the meeting's place.
    await harness.send("/status")
    asked = (await harness.send("/find"))[-1]
    replies = await harness.send("党费")
    assert replies == [
        "您有一份没填完的会议记录，接着填吧（发送 /cancel 可以放弃）。\n\n" + place
    ], asked
    assert harness.app is not None
    assert harness.app.forms.peek(SECRETARY)[1]["place"] is None
    # Answered now, with the question the last thing on screen, it is taken.
    replies = await harness.send("14:30 三楼会议室")
    assert replies[-1].startswith("第 4/9 步 · 党员大会\n")
    assert harness.app.forms.peek(SECRETARY)[1]["place"] == "三楼会议室"
    # A tap on the form's own button needs no such care: it says which question it answers.
    await harness.send("/help")
    replies = await harness.tap("⬅️ 上一步")
    assert replies[-1].startswith("第 3/9 步 · 党员大会\n几点开始、在哪里？")
    # /cancel after another command is taken as it is: it answers no question.
    await harness.send("/status")
    assert (await harness.send("/cancel")) == ["放弃这次会议记录吗？已经填写的内容不会保存。"]
    assert await meetings.list_meetings(harness.app.database, branch.id, limit=5) == ([], 0)


@time_machine.travel(NOW, tick=True)
async def test_back_in_the_meeting_log_keeps_the_order(harness: Harness) -> None:
    branch = await harness.register(formal_members=9, probationary_members=1)
    await harness.send("/log")
    await harness.tap("党员大会")
    await harness.tap("昨天")
    await harness.send("14:30 会议室")
    await harness.send("张三 李四")
    # Back to the date: change it, then the place and the people are asked again, in order.
    await harness.tap("⬅️ 上一步")
    await harness.tap("⬅️ 上一步")
    replies = await harness.tap("⬅️ 上一步")
    assert replies[-1].startswith("第 2/9 步 · 党员大会\n哪一天开的？")
    assert '当前：2026年11月22日（周日）（不改就点"↪️ 保持原样"）' in replies[-1]
    replies = await harness.send("11月20日")
    assert replies[-1].startswith("第 3/9 步 · 党员大会\n几点开始、在哪里？")
    assert "当前：14:30 会议室" in replies[-1]
    # Kept as it was, the people come next (not the step after the last one filled).
    replies = await harness.tap("↪️ 保持原样")
    assert replies[-1].startswith("第 4/9 步 · 党员大会\n主持人和记录人？")
    await harness.tap("↪️ 保持原样")
    await harness.send("10 10")
    await harness.send("学习")
    await harness.send("内容")
    await harness.tap("跳过（没有决议）")
    card = (await harness.tap("没有照片，完成"))[-1]
    assert "2026年11月20日（周五） 14:30" in card and "主持人：张三" in card
    await harness.tap("✅ 保存记录")
    assert harness.app is not None
    [record], _ = await meetings.list_meetings(harness.app.database, branch.id, limit=10)
    assert (record.place, record.host, record.recorder) == ("会议室", "张三", "李四")


@time_machine.travel(NOW, tick=True)
async def test_back_in_party_day_planning(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/partyday")
    await harness.tap_data(f"pd:plan:{branch.id}:2026-12")
    await harness.send("12月10日")
    # Typed HTML is shown as typed when the answer is shown again (it once broke the message).
    await harness.send("学习<b>新党章 & 二")
    replies = await harness.tap("⬅️ 上一步")
    assert '当前：学习<b>新党章 & 二（不改就点"↪️ 保持原样"）' in replies[-1]
    await harness.tap("↪️ 保持原样")
    replies = await harness.tap("志愿服务")
    assert replies[0].startswith(
        "✅ 已安排 2026年12月10日（周四） 的主题党日：《学习<b>新党章 & 二》，志愿服务。"
    )
    assert harness.app is not None
    plan = await meetings.get_plan(harness.app.database, branch.id, "2026-12")
    assert plan is not None
    assert (plan.theme, plan.activity_form) == ("学习<b>新党章 & 二", "volunteer")


@time_machine.travel("2026-11-30 20:00 +08:00", tick=True)
async def test_a_date_without_a_year_is_never_moved_to_another_year_silently(
    harness: Harness,
) -> None:
    branch = await harness.register()
    await harness.send("/log")
    await harness.tap("支委会")
    replies = await harness.send("12月25日")
    assert replies[-1].startswith(
        "⚠️ 12月25日还没到。如果是去年的12月25日，请点下面的按钮；否则请输入正确的日期。"
    )
    assert harness.buttons()[0] == "✅ 是2025年12月25日"
    # More than half a year back: confirmed with the year shown, not taken as typed.
    replies = await harness.send("3月5日")
    assert replies[-1].startswith("⚠️ 是 2026年3月5日 吗？那是半年多以前了。")
    assert harness.buttons()[0] == "✅ 是2026年3月5日"
    replies = await harness.tap("✅ 是2026年3月5日")
    assert replies[-1].startswith("第 3/9 步 · 支委会\n几点开始、在哪里？")
    await harness.tap("⬅️ 上一步")
    # A recent date, and one with its year, are taken at once.
    replies = await harness.send("11月20日")
    assert replies[-1].startswith("第 3/9 步")
    await harness.tap("⬅️ 上一步")
    replies = await harness.send("2025-12-25")
    assert replies[-1].startswith("第 3/9 步")
    assert harness.app is not None
    assert harness.app.forms.peek(SECRETARY)[1]["held_on"] == "2025-12-25"
    # A forged offer (a day still ahead) is refused.
    await harness.tap("⬅️ 上一步")
    await harness.send("12月25日")
    await harness.tap_data(
        harness.fake.bot_messages(SECRETARY)[-1]["reply_markup"]["inline_keyboard"][0][0][
            "callback_data"
        ].replace("2025-12-25", "2026-12-25")
    )
    assert harness.callback_answers()[-1] == "这个按钮已过期，请按最新的消息操作。"
    assert harness.app.forms.peek(SECRETARY)[1]["held_on"] == "2025-12-25"
    assert await meetings.list_meetings(harness.app.database, branch.id, limit=5) == ([], 0)


async def test_a_question_typed_in_a_form_is_answered_not_stored(harness: Harness) -> None:
    await harness.send("/start")
    replies = await harness.send("只有两个党员能建支部吗")
    # The question is answered as /ask answers it, then the same question is asked again.
    assert len(replies) == 2
    assert replies[-1].startswith("第 1/9 项\n支部的全称是什么？")
    assert harness.buttons()[0] == "✍️ 用作答案"
    assert (await harness.send("/ask 只有两个党员能建支部吗")) == replies[:1]
    assert harness.app is not None
    assert harness.app.forms.peek(SECRETARY)[1]["name"] is None
    # After a command's answer the form's question is no longer the last thing on screen: the
    # next text is not taken; the question is asked again, with a word that the form is open.
    again = (await harness.send("测试党支部"))[-1]
    resume = "您有一份没填完的支部登记，接着填吧（发送 /cancel 可以放弃）。"
    assert again == f"{resume}\n\n{replies[-1]}"
    assert harness.app.forms.peek(SECRETARY)[1]["name"] is None
    # A real answer goes on as usual.
    await harness.send("测试党支部")
    assert harness.app.forms.peek(SECRETARY)[1]["name"] == "测试党支部"
    await harness.send("测试协会")
    await harness.tap("基金会")
    await harness.tap("单独组建")
    await harness.send("5")
    await harness.send("0")
    # At a yes/no step a question is answered too; nothing is stored, the step is asked again.
    replies = await harness.send("要不要设支委会？")
    assert replies[-1].startswith("第 7/9 项\n是否设立了支部委员会（支委会）？")
    assert "✍️ 用作答案" not in harness.buttons()
    assert harness.app.forms.peek(SECRETARY)[1]["has_committee"] is None


async def test_use_as_answer_keeps_a_name_that_reads_like_a_question(harness: Harness) -> None:
    await harness.send("/start")
    await harness.send("为什么不呢党支部吗")
    replies = await harness.tap("✍️ 用作答案")
    assert replies[-1].startswith("第 2/9 项")
    assert harness.app is not None
    assert harness.app.forms.peek(SECRETARY)[1]["name"] == "为什么不呢党支部吗"


@time_machine.travel(NOW, tick=True)
async def test_a_question_at_a_free_text_step_of_the_meeting_log(harness: Harness) -> None:
    await harness.register()
    await harness.send("/log")
    await harness.tap("党员大会")
    await harness.tap("今天")
    replies = await harness.send("主持人可以是副书记吗？")
    assert replies[-1].startswith("第 3/9 步 · 党员大会\n几点开始、在哪里？")
    assert harness.buttons()[0] == "✍️ 用作答案"
    assert harness.app is not None
    assert harness.app.forms.peek(SECRETARY)[1]["place"] is None
    replies = await harness.send("14:30 会议室")
    assert replies[-1].startswith("第 4/9 步")
    assert harness.app.forms.peek(SECRETARY)[1]["place"] == "会议室"


async def test_step_help_explains_the_rule_and_asks_the_step_again(harness: Harness) -> None:
    replies = await _fill_registration(harness, 4)
    assert replies[-1].startswith("第 5/9 项\n现有正式党员几人？")
    assert "❓ 这一项怎么填" in harness.buttons()
    step_message = harness.last_message()["message_id"]
    replies = await harness.tap("❓ 这一项怎么填")
    # The rule with its source, then the same step again; nothing is stored.
    assert len(replies) == 2
    assert replies[0].startswith("有正式党员3人以上，就应当成立党支部。\n1. 算的是正式党员")
    assert "📖 依据：《中国共产党支部工作条例（试行）》第四条" in replies[0]
    assert replies[1].startswith("第 5/9 项\n现有正式党员几人？")
    assert harness.app is not None
    assert harness.app.forms.peek(SECRETARY)[1]["formal_members"] is None
    # The step asked again answers as usual: the happy path needs no extra tap.
    replies = await harness.send("5")
    assert replies[-1].startswith("第 6/9 项")
    # A help button from a step already answered is expired.
    await harness.tap_data("reg:1:h:formal_members", step_message)
    assert harness.callback_answers()[-1] == "这个按钮已过期，请按最新的消息操作。"
    # Names have no rule to explain: no help button.
    await harness.send("/cancel")
    await harness.tap("🗑 放弃，不保存")
    await harness.send("/start")
    assert "❓ 这一项怎么填" not in harness.buttons()


@time_machine.travel(NOW, tick=True)
async def test_step_help_in_the_meeting_log_follows_the_kind(harness: Harness) -> None:
    await harness.register()
    await harness.send("/log")
    await harness.tap("党员大会")
    await harness.tap("今天")
    await harness.send("14:30 会议室")
    await harness.send("张三 李四")
    replies = await harness.tap("❓ 这一项怎么填")
    assert replies[0].startswith("先算“应到会有表决权的党员”（正式党员，预备党员不算）")
    assert "应到" in replies[-1] and replies[-1].startswith("第 5/9 步 · 党员大会")


def test_every_step_help_names_a_knowledge_entry() -> None:
    from bot import catalog
    from bot.handlers import members_form, profile_form

    known = set(entries())
    assert set(profile_form.FIELD_HELP.values()) <= known
    assert set(catalog.STEP_HELP.values()) <= known
    assert set(members_form._STEP_HELP.values()) <= known


async def test_a_photo_at_a_form_without_photos_is_not_sent_to_a_later_step(
    harness: Harness,
) -> None:
    await harness.send("/start")
    harness.fake.send_photo(SECRETARY, b"\x89PNG")
    await harness._settle()
    text = harness.fake.bot_messages(SECRETARY)[-1].get("text") or ""
    assert text.startswith("⚠️ 这一步请直接发送文字（不支持图片、文件）。\n\n")
    assert "支部的全称是什么？" in text


async def _polled_past(h: Harness, update_id: int) -> None:
    """Wait until the bot's long poll for the updates after `update_id` is waiting."""
    async with asyncio.timeout(10):
        while not (
            h.fake._waiters
            and any(
                method == "getUpdates" and int(params.get("offset") or 0) > update_id
                for method, params in h.fake.calls
            )
        ):
            await asyncio.sleep(0.01)


async def test_a_fresh_update_numbering_after_a_quiet_week_is_not_taken_for_replays(
    harness: Harness,
) -> None:
    # Telegram picks a random next update_id after a week without updates: an open form must
    # not ignore every answer because the new ids are lower than the last one it applied.
    harness.fake.continue_updates_after(1_000_000)
    with time_machine.travel("2026-11-23 10:00 +08:00", tick=True):
        await harness.send("/start")
        await harness.send("测试党支部")
    assert harness.app is not None
    # The same day, a lower id is a replay after a crash: ignored, nothing stored.
    harness.fake.continue_updates_after(900)
    with time_machine.travel("2026-11-23 10:05 +08:00", tick=True):
        assert await harness.send("测试协会") == []
    assert harness.app.forms.peek(SECRETARY)[1]["organization_name"] is None
    # Eight days later the numbering started afresh: the answer is taken. (The emulator drops
    # what is below the offset it is polled with: the bot's next poll must be waiting first,
    # as it is after a quiet week.)
    await _polled_past(harness, 901)
    harness.fake.continue_updates_after(500)
    with time_machine.travel("2026-12-01 10:00 +08:00", tick=True):
        replies = await harness.send("测试协会")
    assert replies[-1].startswith("第 3/9 项\n单位属于哪一类？")
    assert harness.app.forms.peek(SECRETARY)[1]["organization_name"] == "测试协会"


@time_machine.travel(NOW, tick=True)
async def test_engine_additions_for_the_notice_form(tmp_path: Path) -> None:
    """Back is honoured in edit mode while a step is missing; a valid but empty choice (NotNow)
    asks again with its reason instead of calling the button expired; a photo in a form without
    a photo step asks for text. (Forms opened in private from a group tap, Refused with
    parameters and a form's own cancel text: tests/test_leave_reason.py, test_leave.py.)"""
    h = Harness(tmp_path / "bot.sqlite3")
    h.config = replace(h.config, bot=replace(h.config.bot, admin_ids=(SECRETARY,)))
    await h.start()
    try:
        await h.register(user=OTHER, key="a", name="甲支部", formation_mode="joint")
        await h.send("/notice")
        replies = await h.send_photo()
        assert replies[-1].startswith("⚠️ 这一步请直接发送文字（不支持图片、文件）。")
        await h.send("通知")
        await h.tap("全部支部")
        await h.tap("⬅️ 重选范围")  # edit mode from the review card
        await h.tap("按组建方式")  # now a formation mode is missing
        replies = await h.tap("单独组建（0）")
        assert replies[-1].startswith("⚠️ 这个范围里没有支部，请换一个。")
        assert "⬅️ 上一步" in h.buttons()
        replies = await h.tap("⬅️ 上一步")
        assert replies[-1].startswith("📢 发通知 · 第2步/共3步\n发给哪些支部？")
        replies = await h.tap("全部支部")
        assert "发送范围：全部支部，共 1 个支部" in replies[-1]
        assert h.app is not None
        assert h.app.forms.peek(SECRETARY)[1] == {"text": "通知", "kind": "all", "value": None}
    finally:
        await h.stop()


async def test_a_question_typed_when_editing_the_branch_is_answered_not_stored(
    harness: Harness,
) -> None:
    branch = await harness.register()
    await harness.send("/branch")
    await harness.tap("✏️ 支部名称")
    replies = await harness.send("支部名称要不要写中共两个字？")
    assert len(replies) == 2 and replies[-1].startswith("修改支部名称：\n支部的全称是什么？")
    assert harness.buttons()[0] == "✍️ 用作答案"
    assert harness.app is not None
    saved = await repo.get_branch(harness.app.database, branch.id)
    assert saved is not None and saved.profile.name == "测试支部"
    replies = await harness.tap("✍️ 用作答案")
    assert "已修改支部名称" in replies[0]
    saved = await repo.get_branch(harness.app.database, branch.id)
    assert saved is not None and saved.profile.name == "支部名称要不要写中共两个字？"


@time_machine.travel(NOW, tick=True)
async def test_a_question_typed_at_the_party_day_theme_is_answered_not_stored(
    harness: Harness,
) -> None:
    branch = await harness.register()
    await harness.send("/partyday")
    await harness.tap_data(f"pd:plan:{branch.id}:2026-12")
    await harness.send("12月10日")
    replies = await harness.send("主题党日能和党课一起开吗？")
    assert len(replies) == 2 and replies[-1].startswith("第 2/3 步\n主题是什么？")
    assert harness.app is not None
    assert harness.app.forms.peek(SECRETARY)[1]["theme"] is None
    await harness.tap("✍️ 用作答案")
    assert harness.app.forms.peek(SECRETARY)[1]["theme"] == "主题党日能和党课一起开吗？"


def test_every_form_has_a_title_in_the_labels() -> None:
    from bot.app import build_forms
    from bot.texts import labels

    assert set(build_forms().forms) <= set(labels().FORM_TITLES)


async def test_a_tapped_question_loses_its_buttons_and_keeps_its_text(harness: Harness) -> None:
    await _fill_registration(harness, 2)
    asked = harness.fake.last_bot_message(SECRETARY)
    assert asked is not None and asked.get("reply_markup")
    text = asked["text"]
    await harness.tap("基金会")
    tapped = next(
        m for m in harness.fake.bot_messages(SECRETARY) if m["message_id"] == asked["message_id"]
    )
    assert tapped["text"] == text
    assert not tapped.get("reply_markup")  # taken off: it cannot be tapped again
    assert harness.fake.last_bot_message(SECRETARY)["reply_markup"]  # the next question's
