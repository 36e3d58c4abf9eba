"""The sign-in's leave reason on the form engine: 请假 tapped on the group's card opens the form in
the member's private chat; a question typed there is answered (nothing stored; "✍️ 用作答案"
keeps it), bad reasons get a second chance, old and forged buttons are refused, a card closed
meanwhile stores nothing, and a member the bot cannot write to gets the deep link instead."""

from __future__ import annotations

import pytest
import time_machine

from tests.conftest import Harness
from tests.test_checkin import (
    GROUP,
    card_message,
    open_card,
    setup_branch,
    tap_card,
)

# The question index is built once per test process, when first asked: the tests that ask
# run in one process (make test: --dist loadgroup), so only it builds the index.
pytestmark = pytest.mark.xdist_group("knowledge")

NOW = "2026-11-23 10:00 +08:00"
ASK = (
    "党员大会请假 · 11月23日\n请写一句请假原因（100字以内），例如：出差在外地。发送 /cancel 取消。"
)
EXPIRED = "这个按钮已过期，请按最新的消息操作。"


async def _reason(harness: Harness, card_id: int, member_id: int) -> tuple[str, str] | None:
    assert harness.app is not None
    row = await harness.app.database.fetchone(
        "SELECT state, reason FROM checkin_marks WHERE checkin_id = ? AND member_id = ?",
        (card_id, member_id),
    )
    return (row["state"], row["reason"]) if row else None


def _data(harness: Harness, user: int, label: str) -> str:
    markup = harness.last_message(user)["reply_markup"]
    return next(b["callback_data"] for row in markup["inline_keyboard"] for b in row
                if b["text"] == label)  # fmt: skip


@time_machine.travel(NOW, tick=True)
async def test_leave_from_the_card_in_two_steps(harness: Harness) -> None:
    _, member_ids, users = await setup_branch(harness, party=2)
    card_id = await open_card(harness)
    card = card_message(harness)
    first = users[0]
    alert = await tap_card(harness, first, f"ck:lv:{card_id}", card["message_id"])
    assert alert == "请到与我的私聊中写请假原因。"
    assert harness.fake.bot_messages(first)[-1]["text"].endswith("发送 /cancel 取消。")
    assert harness.buttons(first) == ["✖️ 取消"]
    # The card keeps its buttons (the tap was not on a form's message).
    assert card_message(harness)["message_id"] == card["message_id"]
    assert (await harness.send("出差", user=first)) == [
        "已登记请假，原因：出差。会后请按要求补学本次会议内容。"
    ]
    assert await _reason(harness, card_id, member_ids[0]) == ("leave", "出差")
    assert harness.app is not None and harness.app.forms.active(first) is None


@time_machine.travel(NOW, tick=True)
async def test_a_question_at_the_reason_is_answered_not_stored(harness: Harness) -> None:
    _, member_ids, users = await setup_branch(harness, party=2)
    card_id = await open_card(harness)
    first = users[0]
    await tap_card(harness, first, f"ck:lv:{card_id}", card_message(harness)["message_id"])
    replies = await harness.send("请假算不算到会？", user=first)
    assert len(replies) == 2 and replies[-1] == ASK
    assert harness.buttons(first) == ["✍️ 用作答案", "✖️ 取消"]
    assert await _reason(harness, card_id, member_ids[0]) is None
    assert (await harness.send("/ask 请假算不算到会？", user=first)) == replies[:1]
    # The question comes back; this time it really is the reason.
    await harness.send("请假算不算到会？", user=first)
    assert (await harness.tap("✍️ 用作答案", user=first)) == [
        "已登记请假，原因：请假算不算到会？。会后请按要求补学本次会议内容。"
    ]
    assert await _reason(harness, card_id, member_ids[0]) == ("leave", "请假算不算到会？")


@time_machine.travel(NOW, tick=True)
async def test_bad_reasons_and_old_buttons(harness: Harness) -> None:
    _, member_ids, users = await setup_branch(harness, party=2)
    card_id = await open_card(harness)
    message_id = card_message(harness)["message_id"]
    first, second = users
    await tap_card(harness, first, f"ck:lv:{card_id}", message_id)
    assert (await harness.send("  ", user=first)) == ["⚠️ 没有收到内容，请再输入一次。\n\n" + ASK]
    assert (await harness.send("长" * 101, user=first)) == [
        "⚠️ 太长了（101 个字），最多 100 个字，请精简后再输入。\n\n" + ASK
    ]
    assert (await harness.send_photo(user=first)) == [
        "⚠️ 这一步请直接发送文字（不支持图片、文件）。\n\n" + ASK
    ]
    cancel = _data(harness, first, "✖️ 取消")
    rev = cancel.split(":")[1]
    for data in (f"ckl:{rev}:u:reason", f"ckl:{rev}:k:reason", f"ckl:{rev}:v", "ck:lvx"):
        before = len(harness.callback_answers())
        await harness.tap_data(data, user=first)
        assert harness.callback_answers()[before:] == [EXPIRED], data
    assert await _reason(harness, card_id, member_ids[0]) is None
    assert (await harness.send("<b>&</b> 🚄", user=first)) == [
        "已登记请假，原因：<b>&</b> 🚄。会后请按要求补学本次会议内容。"
    ]
    assert await _reason(harness, card_id, member_ids[0]) == ("leave", "<b>&</b> 🚄")
    # The old 取消 after the reason was stored cancels nothing.
    await harness.tap_data(cancel, user=first)
    assert harness.callback_answers()[-1] == EXPIRED
    assert await _reason(harness, card_id, member_ids[0]) == ("leave", "<b>&</b> 🚄")
    # 请假 tapped twice: one question (it waits in private). The cancel button: nothing stored.
    await tap_card(harness, second, f"ck:lv:{card_id}", message_id)
    asked = len(harness.fake.bot_messages(second))
    alert = await tap_card(harness, second, f"ck:lv:{card_id}", message_id)
    assert alert == "请到与我的私聊中写请假原因。"
    assert len(harness.fake.bot_messages(second)) == asked
    assert (await harness.tap("✖️ 取消", user=second)) == [
        "已取消，没有保存未完成的内容。发送 /menu 回到主菜单。"
    ]
    assert await _reason(harness, card_id, member_ids[1]) is None


@time_machine.travel(NOW, tick=True)
async def test_a_card_closed_meanwhile_stores_nothing(harness: Harness) -> None:
    _, member_ids, users = await setup_branch(harness, party=2)
    card_id = await open_card(harness)
    message_id = card_message(harness)["message_id"]
    first = users[0]
    await tap_card(harness, first, f"ck:lv:{card_id}", message_id)
    await tap_card(harness, 1001, f"ck:end:{card_id}", message_id)
    assert (await harness.send("出差", user=first)) == ["本次签到已结束。"]
    assert await _reason(harness, card_id, member_ids[0]) is None
    assert harness.app is not None and harness.app.forms.active(first) is None


@time_machine.travel(NOW, tick=True)
async def test_a_member_the_bot_cannot_write_to_gets_the_link(harness: Harness) -> None:
    _, member_ids, users = await setup_branch(harness, party=2)
    card_id = await open_card(harness)
    first = users[0]
    harness.fake.block(first)
    alert = await tap_card(harness, first, f"ck:lv:{card_id}", card_message(harness)["message_id"])
    link = f"https://t.me/zhishu_demo_bot?start=checkin_{card_id}"
    assert alert == f'我还不能私聊你。请先打开 {link} 点"开始"，再回到群里点按钮。'
    assert harness.app is not None and harness.app.forms.active(first) is None
    harness.fake.unblock(first)
    # The link goes on with what was tapped: the reason, asked in private.
    assert (await harness.send(f"/start checkin_{card_id}", user=first)) == [ASK]
    await harness.send("家中有事", user=first)
    assert await _reason(harness, card_id, member_ids[0]) == ("leave", "家中有事")
    assert "家中有事" not in "".join(m.get("text") or "" for m in harness.fake.bot_messages(GROUP))
