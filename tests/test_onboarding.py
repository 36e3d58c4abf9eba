"""Registering a branch end to end: the real Application on the emulator, as a phone would."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from msgspec.structs import replace

from db import Database, repo
from tests.conftest import OTHER, SECRETARY, Harness

ANSWERS: list[tuple[str, str]] = [
    ("send", "中共测试行业协会支部委员会"),
    ("send", "测试行业协会"),
    ("tap", "行业协会商会"),
    ("tap", "单独组建"),
    ("send", "5"),
    ("send", "1"),
    ("tap", "没有"),
    ("tap", "没有"),
    ("tap", "15日"),
]
QUESTIONS = ["支部的全称", "单位（社会组织）的名称", "单位属于哪一类", "支部是怎样组建的",
             "正式党员几人", "预备党员几人", "支部委员会", "党小组", "主题党日"]  # fmt: skip


async def give(h: Harness, kind: str, value: str, user: int = SECRETARY) -> list[str]:
    return await (h.send(value, user) if kind == "send" else h.tap(value, user))


async def fill(h: Harness, upto: int = len(ANSWERS), user: int = SECRETARY) -> list[str]:
    """/start and answer the first `upto` questions; returns the last replies."""
    replies = await h.send("/start", user)
    for kind, value in ANSWERS[:upto]:
        replies = await give(h, kind, value, user)
    return replies


async def branches(h: Harness, user: int = SECRETARY) -> list[str]:
    assert h.app is not None
    return [b.profile.name for _, b in await repo.list_memberships(h.app.database, user)]


async def test_happy_path(harness: Harness) -> None:
    replies = await harness.send("/start")
    assert "支书助手" in replies[0]
    assert "支部的全称" in replies[-1]
    for (kind, value), question in zip(ANSWERS, [*QUESTIONS[1:], "请核对"], strict=True):
        replies = await give(harness, kind, value)
        assert question in replies[-1], (value, replies)
    review = replies[-1]
    assert "中共测试行业协会支部委员会" in review
    assert "每月15日" in review
    assert "没有冲突" in review
    replies = await harness.tap("✅ 确认登记")
    assert "已登记" in replies[0]
    assert "书记" in replies[-1]
    assert await branches(harness) == ["中共测试行业协会支部委员会"]
    # A registered user's /start is the main menu, not a new registration.
    replies = await harness.send("/start")
    assert len(replies) == 1 and "请选择要做的事" in replies[0]
    assert "📋 支部信息" in harness.buttons()
    assert await branches(harness) == ["中共测试行业协会支部委员会"]


async def test_command_menu_is_set_in_chinese(harness: Harness) -> None:
    commands = harness.fake.commands
    text = str(commands)
    assert "start" in text and "取消当前操作" in text


async def test_tapped_answers_close_their_keyboard(harness: Harness) -> None:
    await fill(harness, upto=2)
    question = harness.last_message()
    await harness.tap("基金会")
    updated = [
        m
        for m in harness.fake.bot_messages(SECRETARY)
        if m["message_id"] == question["message_id"]
    ]
    assert not updated[0].get("reply_markup")


@pytest.mark.parametrize(
    ("text", "expect"),
    [("abc", "请输入一个数字"), ("-1", "不能是负数"), ("10000", "超过 1000"),
     ("3.5", "整数"), ("🙂", "请输入一个数字"), ("<b>&", "请输入一个数字")],
)  # fmt: skip
async def test_bad_counts_get_a_second_chance(harness: Harness, text: str, expect: str) -> None:
    await fill(harness, upto=4)
    replies = await harness.send(text)
    assert expect in replies[-1]
    assert "正式党员几人" in replies[-1]
    replies = await harness.send("十二")
    assert "预备党员几人" in replies[-1]


@pytest.mark.parametrize(
    ("text", "expect"),
    [("   ", "没有收到内容"), ("支" * 300, "最多 60 个字"), ("甲", "至少 2 个字")],
)
async def test_bad_names_get_a_second_chance(harness: Harness, text: str, expect: str) -> None:
    await harness.send("/start")
    replies = await harness.send(text)
    assert expect in replies[-1]
    assert "支部的全称" in replies[-1]


async def test_html_emoji_and_traditional_names_are_shown_literally(harness: Harness) -> None:
    await harness.send("/start")
    await harness.send("<b>A&B</b> 🚩黨支部")
    await harness.send("臺灣商會 & <i>")
    for kind, value in ANSWERS[2:]:
        replies = await give(harness, kind, value)
    assert "<b>A&B</b> 🚩黨支部" in replies[-1]
    assert "臺灣商會 & <i>" in replies[-1]
    await harness.tap("✅ 确认登记")
    assert await branches(harness) == ["<b>A&B</b> 🚩黨支部"]


async def test_typed_choice_and_yes_no(harness: Harness) -> None:
    await fill(harness, upto=2)
    replies = await harness.send("基金")
    assert "支部是怎样组建的" in replies[-1]
    replies = await harness.send("随便")
    assert "请点选下面的一个选项" in replies[-1]
    await harness.send("联合组建")
    await harness.send("2")
    await harness.send("0")
    replies = await harness.send("也许")
    assert "是 / 否" in replies[-1]
    replies = await harness.send("否")
    assert "党小组" in replies[-1]


async def test_rule_warnings(harness: Harness) -> None:
    await harness.send("/start")
    for kind, value in ANSWERS[:4]:
        await give(harness, kind, value)
    await harness.send("2")
    await harness.send("0")
    await harness.tap("没有")
    await harness.tap("没有")
    replies = await harness.tap("15日")
    assert "不足3人，不能单独组建" in replies[-1]
    assert "第四条" in replies[-1]
    replies = await harness.tap("✏️ 正式党员")
    assert "当前：2 人" in replies[-1]
    replies = await harness.send("8")
    assert "7人以上" in replies[-1] and "应设立支部委员会" in replies[-1]
    assert "不能单独组建" not in replies[-1]
    # Warnings are advice: the branch can still be saved.
    replies = await harness.tap("✅ 确认登记")
    assert "已登记" in replies[0]


@pytest.mark.parametrize("step", range(len(ANSWERS) + 1))
async def test_cancel_from_every_step(harness: Harness, step: int) -> None:
    await fill(harness, upto=step)
    replies = await harness.send("/cancel")
    if step:
        # Something was typed: the bot asks before throwing it away.
        assert replies[-1] == "放弃这次支部登记吗？已经填写的内容不会保存。"
        assert harness.buttons() == ["🗑 放弃，不保存", "↩️ 继续填写"]
        replies = await harness.tap("🗑 放弃，不保存")
    assert replies[-1] == "已取消，没有保存未完成的内容。发送 /menu 回到主菜单。"
    replies = await harness.send("5")
    assert "没有进行中的操作" in replies[-1]
    assert await branches(harness) == []


async def test_back_button(harness: Harness) -> None:
    await fill(harness, upto=3)
    replies = await harness.tap("⬅️ 上一步")
    assert "单位属于哪一类" in replies[-1]
    replies = await harness.tap("其他")
    assert "支部是怎样组建的" in replies[-1]


async def test_stale_and_forged_buttons(harness: Harness) -> None:
    await fill(harness, upto=2)
    old_question = harness.last_message()["message_id"]
    await harness.tap("社会团体")
    # The organization-type keyboard was replaced; a tap on it now is refused.
    replies = await harness.tap_data("reg:set:organization_type:foundation", old_question)
    assert replies == []
    assert "已过期" in harness.callback_answers()[-1]
    replies = await harness.tap_data("reg:set:formation_mode:hacker")
    assert "已过期" in harness.callback_answers()[-1]
    await harness.tap_data("nonsense")
    assert "已过期" in harness.callback_answers()[-1]
    await harness.tap_data("reg:save")
    assert "已过期" in harness.callback_answers()[-1]
    # The flow is still at the same question.
    replies = await harness.tap("单独组建")
    assert "正式党员几人" in replies[-1]


async def test_save_twice_creates_one_branch(harness: Harness) -> None:
    await fill(harness)
    card = harness.last_message()["message_id"]
    await harness.tap("✅ 确认登记")
    await harness.tap_data("reg:save", card)
    assert "已过期" in harness.callback_answers()[-1]
    assert len(await branches(harness)) == 1


async def test_restart_mid_flow_resumes(tmp_path: Path) -> None:
    h = Harness(tmp_path / "bot.sqlite3")
    await h.start()
    await fill(h, upto=5)
    await h.stop()
    h2 = Harness(tmp_path / "bot.sqlite3", fake=h.fake)
    await h2.start()
    replies = await h2.send("1")
    assert "支部委员会" in replies[-1]
    for kind, value in ANSWERS[6:]:
        replies = await give(h2, kind, value)
    assert "测试行业协会" in replies[-1]
    await h2.tap("✅ 确认登记")
    assert await branches(h2) == ["中共测试行业协会支部委员会"]
    await h2.stop()


async def test_start_during_flow_resumes_the_step(harness: Harness) -> None:
    await fill(harness, upto=4)
    replies = await harness.send("/start")
    assert "接着填" in replies[0]
    assert "正式党员几人" in replies[-1]


async def test_help_and_unknown(harness: Harness) -> None:
    replies = await harness.send("/help")
    assert "/status" in replies[0] and "/cancel" in replies[0]
    assert "👥 名册与分工 /help_people" in replies[0]
    topic = await harness.send("/help_people")
    assert "/branch" in topic[0] and "/members" in topic[0] and "/forgetme" in topic[0]
    assert "全部功能：/help" in topic[0]
    replies = await harness.send("/nosuch")
    assert "没有这个命令" in replies[0]
    replies = await harness.send("/cancel")
    assert "没有进行中的操作" in replies[0]
    replies = await harness.send("你好")
    assert replies == [
        "您好！我是支书助手：帮您记会议、按时提醒，也能回答党支部工作的问题。",
        "您还没有登记支部。发送 /start 开始登记。",
    ]


async def test_group_chat_points_to_private(harness: Harness) -> None:
    harness.fake.add_group(-100, "支部群")
    replies = await harness.send("/start", chat_id=-100)
    assert "私聊" in replies[0]


async def test_profile_edit_is_audited(harness: Harness) -> None:
    await fill(harness)
    await harness.tap("✅ 确认登记")
    replies = await harness.send("/branch")
    assert "支部信息" in replies[0]
    replies = await harness.tap("✏️ 正式党员")
    assert "当前：5 人" in replies[-1]
    replies = await harness.send("八")
    assert "已修改正式党员" in replies[0]
    assert "应设立支部委员会" in replies[-1]
    await harness.tap("✏️ 支部委员会")
    replies = await harness.tap("有")
    assert "已修改支部委员会" in replies[0]
    assert "应设立支部委员会" not in replies[-1]
    assert harness.app is not None
    branch_id = (await repo.list_memberships(harness.app.database, SECRETARY))[0][1].id
    entries = await repo.audit_entries(harness.app.database, branch_id)
    assert [e.changes for e in entries[:2]] == [
        {"has_committee": [False, True]},
        {"formal_members": [5, 8]},
    ]
    assert all(e.user_id == SECRETARY for e in entries)


async def test_other_users_cannot_touch_a_branch(harness: Harness) -> None:
    await fill(harness)
    await harness.tap("✅ 确认登记")
    assert harness.app is not None
    database: Database = harness.app.database
    branch_id = (await repo.list_memberships(database, SECRETARY))[0][1].id
    # A stranger forging the edit and switch buttons.
    harness.fake.send_text(OTHER, "/help")
    await harness._settle()
    replies = await harness.tap_data(f"br:edit:{branch_id}:name", user=OTHER)
    assert "没有这个支部的操作权限" in harness.callback_answers()[-1]
    await harness.tap_data(f"br:sw:{branch_id}", user=OTHER)
    assert "没有这个支部的操作权限" in harness.callback_answers()[-1]
    assert await repo.current_membership(database, OTHER) is None
    # A viewer sees the card without edit buttons and cannot edit by forging one.
    await repo.add_membership(
        database, actor_id=SECRETARY, user_id=OTHER, branch_id=branch_id, role="viewer"
    )
    replies = await harness.send("/branch", user=OTHER)
    assert "查看者" in replies[0]
    assert not any(label.startswith("✏️") for label in harness.buttons(OTHER))
    await harness.tap_data(f"br:edit:{branch_id}:name", user=OTHER)
    assert "没有这个支部的操作权限" in harness.callback_answers()[-1]
    branch = await repo.get_branch(database, branch_id)
    assert branch is not None and branch.profile.name == "中共测试行业协会支部委员会"


async def test_two_branches_and_switching(harness: Harness) -> None:
    await fill(harness)
    await harness.tap("✅ 确认登记")
    replies = await harness.send("/register")
    assert "支部的全称" in replies[-1]
    await harness.send("第二支部")
    for kind, value in ANSWERS[1:]:
        await give(harness, kind, value)
    await harness.tap("✅ 确认登记")
    assert len(await branches(harness)) == 2
    replies = await harness.send("/switch")
    assert "共 2 个" in replies[0]
    replies = await harness.tap("中共测试行业协会支部委员会")
    assert "已切换到" in replies[0]
    assert "中共测试行业协会支部委员会" in replies[-1]


async def test_errors_are_reported_politely_without_texts_in_logs(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.send("/start")
    harness.fake.fail_next(
        "sendMessage", error_code=400, description="Bad Request: something broke"
    )
    with caplog.at_level(logging.INFO):
        replies = await harness.send("机密的支部名称")
    assert any("系统出错" in r for r in replies)
    assert "机密的支部名称" not in caplog.text
    # Nothing was lost: the answer was taken and the next question is asked again on retry.
    replies = await harness.send("/start")
    assert "接着填" in replies[0]


async def test_flood_limit_is_waited_out_and_sent_once(tmp_path: Path) -> None:
    h = Harness(tmp_path / "bot.sqlite3")
    h.config = replace(h.config, telegram=replace(h.config.telegram, rate_limit=True))
    await h.start()
    try:
        h.fake.fail_next(
            "sendMessage", error_code=429, description="Too Many Requests", retry_after=1
        )
        replies = await h.send("/help")
        assert len(replies) == 1 and "/status" in replies[0]
        sends = [name for name, _ in h.fake.calls if name == "sendMessage"]
        assert len(sends) == 2, "one refused with 429, then exactly one delivered"
    finally:
        await h.stop()


async def test_telegram_failure_on_save_neither_loses_nor_doubles(harness: Harness) -> None:
    await fill(harness)
    harness.fake.fail_next("sendMessage", error_code=500, description="Internal Server Error")
    replies = await harness.tap("✅ 确认登记")
    assert any("系统出错" in r for r in replies)
    assert len(await branches(harness)) == 1
    # Still on the review card: a typed message shows it again, saving again does not double.
    await harness.send("好了吗")
    replies = await harness.tap("✅ 确认登记")
    assert "已经保存过了" in replies[0]
    assert len(await branches(harness)) == 1
    replies = await harness.send("/start")
    assert "请选择要做的事" in replies[-1]
