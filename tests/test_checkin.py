"""Group binding and the group sign-in card end to end through the emulator: binding and
unbinding, permissions, taps, 30 quick taps under Telegram's flood limits (throttled, coalesced
edits), first-time linking in private, 请假, forged taps, closing (补学, the private summary,
去记录 into /log) and restarts in the middle."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.emulator.html import parse_html
from bot.handlers.checkin import card
from bot.texts import render
from db import checkins, meetings, members, repo, settings
from db.checkins import Tally
from db.models import Meeting, MemberInfo
from tests.conftest import OTHER, SECRETARY, Harness

GROUP = -100
FIRST_USER = 5000
CARD_IN, CARD_LEAVE, CARD_END = "✅ 签到", "🙋 请假", "⏹ 结束签到"


async def settle(harness: Harness, count: int = 1) -> None:
    """Wait until `count` more injected updates are handled."""
    for _ in range(count):
        await harness._settle()


async def setup_branch(
    harness: Harness, party: int = 3, *, linked: int | None = None, extra: int = 0
) -> tuple[int, list[int], list[int]]:
    """A branch bound to GROUP with `party` formal members (党员01…) and `extra` activists;
    users FIRST_USER+i are in the group, the first `linked` of them linked to 党员01…"""
    assert harness.app is not None
    database = harness.app.database
    branch = await harness.register(name="第一支部")
    infos = [MemberInfo(name=f"党员{i + 1:02d}", status="formal") for i in range(party)]
    infos += [MemberInfo(name=f"积极分子{i + 1}", status="activist") for i in range(extra)]
    await members.add_many(database, user_id=SECRETARY, branch_id=branch.id, infos=infos)
    roster = {m.name: m.id for m in await members.list_for(database, branch.id)}
    member_ids = [roster[f"党员{i + 1:02d}"] for i in range(party)]
    harness.fake.add_group(GROUP, "支部群")
    harness.fake.set_member(GROUP, SECRETARY, "creator")
    await settings.update_settings(
        database, user_id=SECRETARY, branch_id=branch.id, group_chat_id=GROUP
    )
    users = []
    for i in range(party):
        user = FIRST_USER + i
        harness.fake.add_user(user, first_name=f"用户{i}")
        harness.fake.set_member(GROUP, user, "member")
        users.append(user)
        if linked is None or i < linked:
            assert await members.link_user(database, branch.id, member_ids[i], user)
    return branch.id, member_ids, users


async def open_card(harness: Harness, text: str = "/checkin", user: int = SECRETARY) -> int:
    """Post a card; returns the card's id (from its buttons)."""
    await harness.send(text, user=user, chat_id=GROUP)
    data = card_message(harness)["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    return int(data.split(":")[2])


def card_message(harness: Harness) -> dict[str, Any]:
    for message in reversed(harness.fake.bot_messages(GROUP)):
        markup = message.get("reply_markup") or {}
        rows = markup.get("inline_keyboard") or []
        if rows and rows[0][0]["callback_data"].startswith("ck:in:"):
            return message
    raise LookupError("no open card")


def card_text(harness: Harness, message_id: int) -> str:
    [message] = [m for m in harness.fake.bot_messages(GROUP) if m["message_id"] == message_id]
    return parse_html(message["text"])


async def tap_card(harness: Harness, user: int, data: str, message_id: int) -> str:
    """A tap on the card in the group; returns the toast or alert shown."""
    harness.fake.tap(user, message_id, data, chat_id=GROUP)
    await settle(harness)
    return harness.callback_answers()[-1]


async def until(predicate: Any, timeout: float = 15) -> None:
    """Poll until the predicate holds (card edits run in the job queue, after the tap)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_who_may_open_a_card(harness: Harness) -> None:
    assert harness.app is not None
    database = harness.app.database
    assert "在支部群里" in (await harness.send("/checkin"))[-1]
    # An unbound group.
    assert "/bind" in (await harness.send("/checkin", chat_id=-999))[-1]
    branch_id, _, users = await setup_branch(harness, party=0)
    # No party member on the roster yet.
    assert "名册里还没有党员" in (await harness.send("/checkin", chat_id=GROUP))[-1]
    await members.add(
        database,
        user_id=SECRETARY,
        branch_id=branch_id,
        info=MemberInfo(name="<b>张&三</b>", status="probationary"),
    )
    # An outsider and a viewer: a short refusal; a committee member may.
    refusal = "只有本支部的书记、副书记和支委"
    assert refusal in (await harness.send("/checkin", user=OTHER, chat_id=GROUP))[-1]
    await repo.add_membership(
        database, actor_id=SECRETARY, user_id=OTHER, branch_id=branch_id, role="viewer"
    )
    assert refusal in (await harness.send("/checkin", user=OTHER, chat_id=GROUP))[-1]
    await repo.add_membership(
        database, actor_id=SECRETARY, user_id=OTHER, branch_id=branch_id, role="committee"
    )
    # A kind in traditional script.
    card_id = await open_card(harness, "/checkin 黨課", user=OTHER)
    text = parse_html(card_message(harness)["text"])
    assert text.startswith("📋 党课签到")
    assert "应到 1 人 · 实到 0 人 · 请假 0 人 · 未到 1 人" in text
    assert harness.buttons(GROUP) == [CARD_IN, CARD_LEAVE, CARD_END]
    # A second card points to the open one.
    card = card_message(harness)
    replies = await harness.send("/checkin", chat_id=GROUP)
    assert "已有一张进行中的签到卡" in replies[-1]
    assert harness.last_message(GROUP)["reply_to_message"]["message_id"] == card["message_id"]
    assert (await checkins.get(database, card_id)) is not None
    # Close it; an unknown kind offers buttons, re-checked on tap.
    await tap_card(harness, SECRETARY, f"ck:end:{card_id}", card["message_id"])
    replies = await harness.send("/checkin 支委会 <b>", chat_id=GROUP)
    assert "没看懂会议类型" in replies[-1]
    assert harness.buttons(GROUP)[:2] == ["党员大会", "党课"]
    await harness.tap("党员大会", user=users[0] if users else FIRST_USER + 99, chat_id=GROUP)
    assert refusal in harness.callback_answers()[-1]
    await harness.tap("主题党日", chat_id=GROUP)
    assert parse_html(card_message(harness)["text"]).startswith("📋 主题党日签到")


async def test_refused_edit_is_retried_later(harness: Harness) -> None:
    _, _, users = await setup_branch(harness, party=2)
    card_id = await open_card(harness)
    message_id = card_message(harness)["message_id"]
    harness.fake.fail_next(
        "editMessageText",
        error_code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
    )
    await tap_card(harness, users[0], f"ck:in:{card_id}", message_id)
    await until(lambda: "实到 1 人" in card_text(harness, message_id))
    # The message-not-modified answer of a no-op edit is harmless.
    assert harness.app is not None
    card.CARDS.edits(harness.app).shown.pop(card_id)
    await card.refresh_card(harness.app, card_id)
    assert "实到 1 人" in card_text(harness, message_id)


async def test_first_sign_in_picks_a_name_in_private(harness: Harness) -> None:
    branch_id, member_ids, users = await setup_branch(harness, party=3, linked=0, extra=1)
    card_id = await open_card(harness)
    message_id = card_message(harness)["message_id"]
    first, second, third = users
    alert = await tap_card(harness, first, f"ck:in:{card_id}", message_id)
    assert "请到与我的私聊中点选" in alert
    # The names are only in the private chat, party members only.
    assert harness.buttons(first) == ["党员01", "党员02", "党员03", "名单里没有我"]
    assert "党员01" not in card_text(harness, message_id)
    replies = await harness.tap("党员02", user=first)
    assert "已确认你是 党员02，签到成功" in replies[-1]
    assert harness.app is not None
    database = harness.app.database
    linked = await members.by_user(database, branch_id, first)
    assert linked is not None and linked.id == member_ids[1]
    assert "你已签到" in await tap_card(harness, first, f"ck:in:{card_id}", message_id)
    # The next one no longer sees 党员02; a forged pick of it is refused.
    await tap_card(harness, second, f"ck:in:{card_id}", message_id)
    assert harness.buttons(second) == ["党员01", "党员03", "名单里没有我"]
    await harness.tap_data(f"ck:me:{card_id}:{member_ids[1]}", user=second)
    assert "已被别人确认" in harness.callback_answers()[-1]
    replies = await harness.tap("名单里没有我", user=second)
    assert "你不在本支部名册中，请联系书记" in replies[-1]
    # A pick without having tapped the card (forged) is refused.
    await harness.send("/help", user=OTHER)
    await harness.tap_data(f"ck:me:{card_id}:{member_ids[0]}", user=OTHER)
    assert "过期" in harness.callback_answers()[-1]
    assert (await members.by_user(database, branch_id, OTHER)) is None
    # Someone the bot cannot write to (never started it): an alert with the deep link.
    harness.fake.block(third)
    alert = await tap_card(harness, third, f"ck:in:{card_id}", message_id)
    link = f"https://t.me/zhishu_demo_bot?start=checkin_{card_id}"
    assert link in alert
    assert harness.fake.callback_answers[-1]["url"] == link
    harness.fake.unblock(third)
    replies = await harness.send(f"/start checkin_{card_id}", user=third)
    assert "第一次签到请点选你的名字" in replies[-1]
    await harness.tap("党员03", user=third)
    # Someone not in the group cannot use the link; a bad link is refused.
    harness.fake.set_member(GROUP, OTHER, "left")
    assert "不在这次签到的群里" in (await harness.send(f"/start checkin_{card_id}", OTHER))[-1]
    assert "已失效" in (await harness.send("/start checkin_99999", user=OTHER))[-1]
    # Everybody is linked now: a newcomer is told at once.
    harness.fake.set_member(GROUP, OTHER, "member")
    await tap_card(harness, SECRETARY, f"ck:in:{card_id}", message_id)
    assert "党员01" in harness.buttons(SECRETARY)
    await harness.tap("党员01")
    assert "你不在本支部名册中" in await tap_card(harness, OTHER, f"ck:in:{card_id}", message_id)
    await until(lambda: "实到 3 人" in card_text(harness, message_id))


async def test_leave_with_a_reason(harness: Harness) -> None:
    _, member_ids, users = await setup_branch(harness, party=3)
    card_id = await open_card(harness)
    message_id = card_message(harness)["message_id"]
    first, second, _ = users
    alert = await tap_card(harness, first, f"ck:lv:{card_id}", message_id)
    assert "请到与我的私聊中写请假原因" in alert
    assert "请写一句请假原因" in parse_html(harness.last_message(first)["text"])
    for text, error in (("   ", "没有收到内容"), ("长" * 101, "最多 100 个字")):
        assert error in (await harness.send(text, user=first))[-1]
    replies = await harness.send("<b>出差&amp;</b> 🚄 臺北", user=first)
    assert "已登记请假，原因：<b>出差&amp;</b> 🚄 臺北" in replies[-1]
    assert "<b>出差" in harness.last_message(first)["text"].replace("&lt;b&gt;", "<b>")
    assert harness.app is not None
    database = harness.app.database
    assert await checkins.state_of(database, card_id, member_ids[0]) == "leave"
    await until(lambda: "请假 1 人" in card_text(harness, message_id))
    assert "出差" not in card_text(harness, message_id)
    # Came after all: 签到 replaces the leave; then 请假 is refused.
    assert "签到成功" in await tap_card(harness, first, f"ck:in:{card_id}", message_id)
    assert "不能再请假" in await tap_card(harness, first, f"ck:lv:{card_id}", message_id)
    # /cancel while the reason is asked saves nothing.
    await tap_card(harness, second, f"ck:lv:{card_id}", message_id)
    assert "已取消" in (await harness.send("/cancel", user=second))[-1]
    assert await checkins.state_of(database, card_id, member_ids[1]) is None
    await harness.send("你好", user=second)
    assert await checkins.state_of(database, card_id, member_ids[1]) is None


async def test_close_makes_makeups_and_sends_the_summary(harness: Harness) -> None:
    branch_id, member_ids, users = await setup_branch(harness, party=4, extra=1)
    assert harness.app is not None
    database = harness.app.database
    card_id = await open_card(harness)
    message_id = card_message(harness)["message_id"]
    await tap_card(harness, users[0], f"ck:in:{card_id}", message_id)
    await tap_card(harness, users[1], f"ck:lv:{card_id}", message_id)
    await harness.send("家中有事", user=users[1])
    # Only the secretary, deputy or committee may close.
    assert "权限" in await tap_card(harness, users[2], f"ck:end:{card_id}", message_id)
    toast = await tap_card(harness, SECRETARY, f"ck:end:{card_id}", message_id)
    assert "出勤汇总已私发给你" in toast
    final = card_text(harness, message_id)
    assert "应到 4 人 · 实到 1 人 · 请假 1 人 · 未到 2 人" in final
    assert "已签到：党员01" in final and "补学" in final
    closed = next(m for m in harness.fake.bot_messages(GROUP) if m["message_id"] == message_id)
    assert closed.get("reply_markup") is None
    summary = harness.last_message(SECRETARY)
    assert "党员02（请假：家中有事）" in parse_html(summary["text"])
    assert "党员03（缺席）" in parse_html(summary["text"])
    assert summary["reply_markup"]["inline_keyboard"] == [
        [{"text": "📝 去记录", "callback_data": f"log:ck:{card_id}"}]
    ]
    assert await checkins.attendance(database, card_id) == {
        "branch_id": branch_id,
        "held_on": (await checkins.get(database, card_id)).held_on,  # type: ignore[union-attr]
        "kind": "member_meeting",
        "expected": 4,
        "present": 1,
        "on_leave": 1,
        "absentees": [["党员02", "请假：家中有事"], ["党员03", ""], ["党员04", ""]],
    }
    # Taps after closing; closing twice.
    assert "已结束" in await tap_card(harness, users[2], f"ck:in:{card_id}", message_id)
    assert "已经结束" in await tap_card(harness, SECRETARY, f"ck:end:{card_id}", message_id)
    # The roster changes later: the closed card still says who was there.
    await members.remove(database, user_id=SECRETARY, branch_id=branch_id, member_id=member_ids[3])
    found = await checkins.attendance(database, card_id)
    assert found is not None and found["expected"] == 3
    # 补学: leave and absent both, ticked off one by one.
    items = await checkins.open_makeups(database, branch_id)
    assert [i.name for i in items] == ["党员02", "党员03"]
    replies = await harness.send("/makeups")
    assert "共 2 项待补学" in replies[-1]
    assert harness.buttons() == [
        f"✅ 党员02 · {items[0].held_on.month}月{items[0].held_on.day}日党员大会",
        f"✅ 党员03 · {items[0].held_on.month}月{items[0].held_on.day}日党员大会",
    ]
    await harness.tap(0)
    assert harness.callback_answers()[-1] == "已勾掉 ✅"
    assert len(harness.buttons()) == 1
    await harness.tap_data(f"mk:done:{items[0].id}")
    assert harness.callback_answers()[-1] == "这一项已经勾掉了。"
    await harness.send("/help", user=OTHER)
    await harness.tap_data(f"mk:done:{items[1].id}", user=OTHER)
    assert "权限" in harness.callback_answers()[-1]
    await repo.add_membership(
        database, actor_id=SECRETARY, user_id=OTHER, branch_id=branch_id, role="viewer"
    )
    assert "权限" in (await harness.send("/makeups", user=OTHER))[-1]
    await harness.tap_data("mk:done:abc")
    assert "过期" in harness.callback_answers()[-1]
    assert [i.name for i in await checkins.open_makeups(database, branch_id)] == ["党员03"]
    # The logging flow links the record it saves from the card.
    meeting, _ = await meetings.create_meeting(
        database,
        user_id=SECRETARY,
        branch_id=branch_id,
        meeting=Meeting(kind="member_meeting", held_on=date(2026, 1, 5), expected=4, present=1),
        draft_key="ck",
    )
    assert meeting.id is not None
    await checkins.set_meeting(database, card_id, meeting.id)
    card = await checkins.get(database, card_id)
    assert card is not None and card.meeting_id == meeting.id
    # 去记录 opens /log with the card's kind and attendance (bot/handlers/meeting_log.py).
    replies = await harness.tap_data(f"log:ck:{card_id}", message_id=summary["message_id"])
    assert "党员大会" in replies[0]


async def test_forged_buttons_of_another_branch(harness: Harness) -> None:
    _, _, users = await setup_branch(harness, party=2)
    card_id = await open_card(harness)
    message_id = card_message(harness)["message_id"]
    assert harness.app is not None
    other = await harness.register(user=OTHER, name="别的支部", key="other")
    await members.add(
        harness.app.database,
        user_id=OTHER,
        branch_id=other.id,
        info=MemberInfo(name="外人", status="formal"),
    )
    harness.fake.add_group(-200, "别的群")
    await settings.update_settings(
        harness.app.database, user_id=OTHER, branch_id=other.id, group_chat_id=-200
    )
    await harness.send("/checkin", user=OTHER, chat_id=-200)
    # The other branch's secretary forges taps on our card from their group: refused, and
    # our roster names are never sent to them.
    harness.fake.tap(OTHER, 1, f"ck:in:{card_id}", chat_id=-200)
    await settle(harness)
    assert "过期" in harness.callback_answers()[-1]
    assert all("党员" not in (m.get("text") or "") for m in harness.fake.bot_messages(OTHER))
    harness.fake.tap(OTHER, 1, f"ck:end:{card_id}", chat_id=-200)
    await settle(harness)
    assert "权限" in harness.callback_answers()[-1]
    await tap_card(harness, OTHER, "ck:in:abc", message_id)
    assert "过期" in harness.callback_answers()[-1]
    card = await checkins.get(harness.app.database, card_id)
    assert card is not None and card.is_open
    assert "签到成功" in await tap_card(harness, users[0], f"ck:in:{card_id}", message_id)


async def test_restart_in_the_middle_keeps_the_marks(tmp_path: Path) -> None:
    first = Harness(tmp_path / "bot.sqlite3")
    await first.start()
    _, _, users = await setup_branch(first, party=4)
    card_id = await open_card(first)
    message_id = card_message(first)["message_id"]
    await tap_card(first, users[0], f"ck:in:{card_id}", message_id)
    await tap_card(first, users[1], f"ck:lv:{card_id}", message_id)
    await first.stop()
    second = Harness(tmp_path / "bot.sqlite3", fake=first.fake)
    await second.start()
    try:
        # The reason asked before the restart is still awaited.
        assert "已登记请假" in (await second.send("在外地", user=users[1]))[-1]
        await tap_card(second, users[2], f"ck:in:{card_id}", message_id)
        assert "你已签到" in await tap_card(second, users[0], f"ck:in:{card_id}", message_id)
        await tap_card(second, SECRETARY, f"ck:end:{card_id}", message_id)
        assert "应到 4 人 · 实到 2 人 · 请假 1 人 · 未到 1 人" in card_text(second, message_id)
    finally:
        await second.stop()


async def test_a_name_pick_and_a_leave_survive_a_restart(tmp_path: Path) -> None:
    first = Harness(tmp_path / "bot.sqlite3")
    await first.start()
    branch_id, member_ids, users = await setup_branch(first, party=3, linked=0, extra=1)
    card_id = await open_card(first)
    message_id = card_message(first)["message_id"]
    signer, leaver = users[0], users[1]
    assert "请到与我的私聊中点选" in await tap_card(first, signer, f"ck:in:{card_id}", message_id)
    await tap_card(first, leaver, f"ck:lv:{card_id}", message_id)
    assert first.buttons(leaver) == ["党员01", "党员02", "党员03", "名单里没有我"]
    await first.stop()
    second = Harness(tmp_path / "bot.sqlite3", fake=first.fake)
    await second.start()
    try:
        # The lists sent before the restart still work, each with what was tapped.
        replies = await second.tap("党员02", user=signer)
        assert "已确认你是 党员02，签到成功" in replies[-1]
        replies = await second.tap("党员03", user=leaver)
        assert replies[0] == "已确认你是 党员03。" and "请写一句请假原因" in replies[-1]
        assert "已登记请假" in (await second.send("出差", user=leaver))[-1]
        assert second.app is not None
        database = second.app.database
        linked = await members.by_user(database, branch_id, signer)
        assert linked is not None and linked.id == member_ids[1]
        assert await checkins.state_of(database, card_id, member_ids[2]) == "leave"
        # The picks are done: nothing is left waiting.
        assert await database.fetchall("SELECT * FROM user_state") == []
    finally:
        await second.stop()


def test_templates_render_with_their_context() -> None:
    name = "<b>A&B</b>"
    tally = Tally(3, [name], [(name, "<i>")], [name])
    for is_open in (True, False):
        text = render("checkin_card", kind="党员大会", held_on=date(2026, 2, 28), tally=tally,
                      is_open=is_open)  # fmt: skip
        assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in text
        parse_html(text)
    many = Tally(60, [f"党员{i}" for i in range(60)], [], [])
    assert "等60人" in parse_html(render("checkin_card", kind="党课", held_on=date(2026, 1, 1),
                                          tally=many, is_open=True))  # fmt: skip
    for what in ("in_group", "not_allowed", "no_roster", "already_open", "kinds", "signed",
                 "already_signed", "closed", "party_only", "not_on_roster", "pick_sent",
                 "open_private", "pick", "taken", "linked", "linked_signed", "leave_ask",
                 "leave_sent", "leave_saved", "leave_signed", "ended", "ended_no_dm",
                 "already_ended", "link_expired", "not_in_group"):  # fmt: skip
        text = render("checkin_note", what=what, link="https://t.me/x?start=checkin_1",
                      name=name, reason=name, kind="党课", held_on=date(2026, 1, 1), page=0,
                      pages=2, error=None)  # fmt: skip
        assert text, what
        if what not in ("pick", "leave_ask"):
            assert len(parse_html(text)) < 200, what
        assert "<b>A" not in text
    for what in ("private", "no_right", "bound", "already", "elsewhere", "choose",
                 "confirm_move", "moved", "kept", "unbound"):  # fmt: skip
        text = render("group_bind", what=what, branch=name)
        assert text and "<b>A" not in text
        parse_html(text)
    attendance = {"held_on": date(2026, 1, 1), "expected": 3, "present": 1, "on_leave": 1,
                  "absentees": [[name, "请假：<x>"], [name, ""]]}  # fmt: skip
    text = render("checkin_summary", kind="党课", attendance=attendance)
    assert "&lt;x&gt;" in text and "缺席 1 人" in text
    parse_html(text)
    for total in (0, 1, 30):
        parse_html(render("makeup_list", branch=name, total=total, shown=20))
    assert render("makeup_done", done=True) != render("makeup_done", done=False)


# ---- the group bound through the bot's own 绑定 button ------------------------------------

STRANGE_GROUP = -300
VIEWER = 3003
BOUND_FIRST_USER = 6000
BIND = "🔗 把本群绑定为支部群"
REFUSED_BIND = "只有支部书记、副书记"


async def bound_group(harness: Harness, branch_id: int) -> int | None:
    assert harness.app is not None
    return (await settings.get_settings(harness.app.database, branch_id)).group_chat_id


async def add_viewer(harness: Harness, branch_id: int) -> None:
    assert harness.app is not None
    harness.fake.add_user(VIEWER, first_name="只读")
    await repo.add_membership(
        harness.app.database,
        actor_id=SECRETARY,
        user_id=VIEWER,
        branch_id=branch_id,
        role="viewer",
    )


async def roster_branch(
    harness: Harness, size: int, linked: int
) -> tuple[int, list[int], list[int]]:
    """A branch bound to GROUP with `size` formal members 党员01…; `size` users in the group,
    the first `linked` of them linked to 党员01… (the rest are not linked yet)."""
    assert harness.app is not None
    database = harness.app.database
    branch = await harness.register(name="第一支部")
    infos = [MemberInfo(name=f"党员{i + 1:02d}", status="formal") for i in range(size)]
    await members.add_many(database, user_id=SECRETARY, branch_id=branch.id, infos=infos)
    by_name = {m.name: m.id for m in await members.list_for(database, branch.id)}
    member_ids = [by_name[f"党员{i + 1:02d}"] for i in range(size)]
    harness.fake.add_group(GROUP, "支部群")
    harness.fake.set_member(GROUP, SECRETARY, "creator")
    harness.fake.bot_added_to_group(SECRETARY, GROUP, "支部群")
    await harness._settle()
    await harness._settle()
    await harness.tap(BIND, chat_id=GROUP)
    assert await bound_group(harness, branch.id) == GROUP
    users = []
    for i in range(size):
        user = BOUND_FIRST_USER + i
        harness.fake.add_user(user, first_name=f"用户{i}")
        harness.fake.set_member(GROUP, user, "member")
        users.append(user)
        if i < linked:
            assert await members.link_user(database, branch.id, member_ids[i], user)
    return branch.id, member_ids, users


async def post_card(harness: Harness) -> tuple[int, int]:
    """/checkin in the group by the secretary; returns (card id, card message id)."""
    await harness.send("/checkin", chat_id=GROUP)
    card = harness.last_message(GROUP)
    data = card["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert data.startswith("ck:in:")
    return int(data.split(":")[2]), card["message_id"]


def card_by_id(harness: Harness, message_id: int) -> dict[str, Any]:
    [found] = [m for m in harness.fake.bot_messages(GROUP) if m["message_id"] == message_id]
    return found


async def tap_label(harness: Harness, user: int, label: str, message_id: int) -> str:
    """A tap on the card's button in the group; returns the toast or alert shown."""
    harness.fake.tap_button(user, label, chat_id=GROUP, message_id=message_id)
    await harness._settle()
    return harness.callback_answers()[-1]


def all_texts_to(harness: Harness, chat_id: int) -> str:
    return "\n".join(m.get("text") or "" for m in harness.fake.bot_messages(chat_id))


# ---- binding --------------------------------------------------------------------------


async def test_binding_refusals_status_and_removal(harness: Harness) -> None:
    branch = await harness.register(name="第一支部", key="mine")
    await add_viewer(harness, branch.id)
    harness.fake.bot_added_to_group(SECRETARY, GROUP, "支部群")
    await harness._settle()
    await harness._settle()
    assert "把本群绑定为支部群" in parse_html(harness.last_message(GROUP)["text"])
    assert harness.buttons(GROUP) == [BIND]
    # An outsider and a viewer tap the bind card: refused, nothing bound.
    for user in (OTHER, VIEWER):
        await harness.tap(BIND, user=user, chat_id=GROUP)
        assert REFUSED_BIND in harness.callback_answers()[-1]
    assert await bound_group(harness, branch.id) is None
    # The secretary taps: bound; /status in the group shows the branch's card.
    replies = await harness.tap(BIND, chat_id=GROUP)
    assert "本群已绑定为「第一支部」的支部群" in replies[-1]
    assert await bound_group(harness, branch.id) == GROUP
    assert harness.app is not None
    found = await settings.branch_of_group(harness.app.database, GROUP)
    assert found is not None
    assert "本期任务" in (await harness.send("/status", chat_id=GROUP))[-1]
    # Another branch's secretary cannot take the group over.
    theirs = await harness.register(user=OTHER, name="别的支部", key="theirs")
    replies = await harness.send("/bind", user=OTHER, chat_id=GROUP)
    assert "本群已绑定为另一个支部的支部群" in replies[-1]
    assert await bound_group(harness, theirs.id) is None
    assert await bound_group(harness, branch.id) == GROUP
    # The bot is removed from the group: unbound.
    harness.fake.bot_removed_from_group(SECRETARY, GROUP)
    await harness._settle()
    assert await bound_group(harness, branch.id) is None
    assert await settings.branch_of_group(harness.app.database, GROUP) is None


# ---- thirty quick taps (merged from both former files) ------------------------------------


@pytest.mark.long
async def test_thirty_quick_taps_under_flood_limits(real_clock_harness: Harness) -> None:
    # On the real clock: the production 4-second edit interval under Telegram's limits.
    harness = real_clock_harness
    assert harness.app is not None
    database = harness.app.database
    # 31 on the roster: 30 linked users tap at once, the 31st links itself in private.
    branch_id, member_ids, users = await roster_branch(harness, size=31, linked=30)
    harness.fake.set_flood_limit()  # 30/s for the bot, 1/s per chat (burst 3), 20/min a group
    card_id, message_id = await post_card(harness)
    assert harness.buttons(GROUP) == [CARD_IN, CARD_LEAVE, CARD_END]
    edit_times: list[float] = []

    def watch(event: str, message: dict[str, Any]) -> None:
        if event == "edit" and message["message_id"] == message_id:
            edit_times.append(time.monotonic())

    harness.fake.subscribe(watch)
    calls_before = len(harness.fake.calls)
    interval = harness.config.pacing.card_edit_interval
    started = time.monotonic()
    linked_users = users[:30]
    for user in linked_users:
        harness.fake.tap_button(user, CARD_IN, chat_id=GROUP, message_id=message_id)
    for user in linked_users[:5]:  # a second tap by some of them is not counted twice
        harness.fake.tap_button(user, CARD_IN, chat_id=GROUP, message_id=message_id)
    await settle(harness, 35)
    # All 35 taps were answered within one edit interval: none waited for the card.
    assert time.monotonic() - started < interval
    answers = harness.callback_answers()[-35:]
    assert answers.count("✅ 签到成功") == 30
    assert answers.count("你已签到，不用重复点。") == 5
    card_row = await checkins.get(database, card_id)
    assert card_row is not None
    tally = await checkins.tally(database, card_row)
    assert (tally.expected, len(tally.present), len(tally.absent)) == (31, 30, 1)
    await until(lambda: "实到 30 人" in card_text(harness, message_id))
    assert "应到 31 人 · 实到 30 人 · 请假 0 人 · 未到 1 人" in card_text(harness, message_id)
    assert 1 <= len(edit_times) <= 3, "the 35 taps' edits were coalesced"
    # First-time sign-in: the names are offered in private only, the pick links the user.
    newcomer = users[30]
    alert = await tap_label(harness, newcomer, CARD_IN, message_id)
    assert "请到与我的私聊中点选" in alert
    assert harness.buttons(newcomer) == ["党员31", "名单里没有我"]
    assert "党员31" not in card_text(harness, message_id)
    replies = await harness.tap("党员31", user=newcomer)
    assert "已确认你是 党员31，签到成功" in replies[-1]
    linked = await members.by_user(database, branch_id, newcomer)
    assert linked is not None and linked.id == member_ids[30]
    await until(lambda: "实到 31 人" in card_text(harness, message_id))
    # Close: the exact final counts, no buttons left.
    assert "出勤汇总已私发给你" in await tap_label(harness, SECRETARY, CARD_END, message_id)
    final = card_by_id(harness, message_id)
    assert "应到 31 人 · 实到 31 人 · 请假 0 人 · 未到 0 人" in parse_html(final["text"])
    assert "签到已结束" in parse_html(final["text"])
    assert final.get("reply_markup") is None
    assert harness.buttons(GROUP) == []
    # No 429 anywhere (edits included); the edits were coalesced and spaced.
    harness.fake.unsubscribe(watch)
    edits = [
        params
        for method, params in harness.fake.calls[calls_before:]
        if method.lower() == "editmessagetext" and params.get("message_id") == message_id
    ]
    assert harness.fake.flood_refusals == 0
    assert 2 <= len(edits) <= 6, len(edits)  # 35 taps that changed or touched the card
    assert len(edit_times) == len(edits)
    assert all(b - a >= interval - 0.1 for a, b in itertools.pairwise(edit_times[:-1]))
    assert await checkins.open_makeups(database, branch_id) == []


# ---- leave, refusals, forged taps; closing, 补学, 去记录 -------------------------------


async def test_leave_forgery_close_makeups_and_log(harness: Harness) -> None:
    assert harness.app is not None
    database = harness.app.database
    branch_id, member_ids, users = await roster_branch(harness, size=4, linked=4)
    await add_viewer(harness, branch_id)
    harness.fake.set_member(GROUP, VIEWER, "member")
    # A viewer may not open a card.
    replies = await harness.send("/checkin", user=VIEWER, chat_id=GROUP)
    assert "只有本支部的书记、副书记和支委" in replies[-1]
    assert harness.buttons(GROUP) == []
    card_id, message_id = await post_card(harness)
    first, second = users[0], users[1]
    assert "签到成功" in await tap_label(harness, first, CARD_IN, message_id)
    # 请假: the reason is asked in private; bad input gets a second chance.
    assert "请到与我的私聊中写请假原因" in await tap_label(harness, second, CARD_LEAVE, message_id)
    assert "请写一句请假原因" in parse_html(harness.last_message(second)["text"])
    assert "没有收到内容" in (await harness.send("  ", user=second))[-1]
    replies = await harness.send("出差 <b>&", user=second)
    assert "已登记请假，原因：出差 <b>&" in replies[-1]
    assert await checkins.state_of(database, card_id, member_ids[1]) == "leave"
    await until(lambda: "请假 1 人" in card_text(harness, message_id))
    assert "出差" not in card_text(harness, message_id)
    # Forged taps: from a private chat and from another group, by an outsider.
    harness.fake.add_group(STRANGE_GROUP, "别的群")
    harness.fake.set_member(STRANGE_GROUP, OTHER, "member")
    for data in (f"ck:in:{card_id}", f"ck:lv:{card_id}"):
        harness.fake.tap(OTHER, message_id, data)
        await harness._settle()
        assert "过期" in harness.callback_answers()[-1]
        harness.fake.tap(OTHER, 1, data, chat_id=STRANGE_GROUP)
        await harness._settle()
        assert "过期" in harness.callback_answers()[-1]
    harness.fake.tap(OTHER, message_id, f"ck:end:{card_id}")
    await harness._settle()
    assert "权限" in harness.callback_answers()[-1]
    assert "党员" not in all_texts_to(harness, OTHER) + all_texts_to(harness, STRANGE_GROUP)
    assert (await members.by_user(database, branch_id, OTHER)) is None
    found = await checkins.get(database, card_id)
    assert found is not None and found.is_open
    # Closing: the secretary gets the summary with 去记录.
    assert "出勤汇总已私发给你" in await tap_label(harness, SECRETARY, CARD_END, message_id)
    final = card_by_id(harness, message_id)
    assert "应到 4 人 · 实到 1 人 · 请假 1 人 · 未到 2 人" in parse_html(final["text"])
    assert final.get("reply_markup") is None
    summary = harness.last_message(SECRETARY)
    assert "党员02（请假：出差 <b>&）" in parse_html(summary["text"])
    assert summary["reply_markup"]["inline_keyboard"] == [
        [{"text": "📝 去记录", "callback_data": f"log:ck:{card_id}"}]
    ]
    # A tap after closing is refused politely (the old card message still has no buttons,
    # so an old client's tap is forged here).
    harness.fake.tap(users[2], message_id, f"ck:in:{card_id}", chat_id=GROUP)
    await harness._settle()
    assert "已结束" in harness.callback_answers()[-1]
    assert await checkins.state_of(database, card_id, member_ids[2]) is None
    # 补学 for the person on leave and the absentees; counted in the private /status.
    items = await checkins.open_makeups(database, branch_id)
    assert [i.name for i in items] == ["党员02", "党员03", "党员04"]
    assert "补学：3 人次未完成" in (await harness.send("/status"))[-1]
    replies = await harness.send("/makeups")
    assert "共 3 项待补学" in replies[-1]
    assert len(harness.buttons()) == 3
    list_message = harness.last_message(SECRETARY)["message_id"]
    await harness.tap_data(f"mk:done:{items[0].id}", message_id=list_message)
    assert harness.callback_answers()[-1] == "已勾掉 ✅"
    await harness.tap_data(f"mk:done:{items[0].id}", message_id=list_message)
    assert harness.callback_answers()[-1] == "这一项已经勾掉了。"
    assert [i.name for i in await checkins.open_makeups(database, branch_id)] == [
        "党员03",
        "党员04",
    ]
    assert "补学：2 人次未完成" in (await harness.send("/status"))[-1]
    # 去记录: /log preset with the card's date and attendance; the next question is asked.
    replies = await harness.tap_data(f"log:ck:{card_id}", message_id=summary["message_id"])
    asked = "\n".join(replies)
    assert "几点开始、在哪里" in asked
    assert "哪一天开的" not in asked and "记录哪一种" not in asked


# ---- a restart after a leave ----------------------------------------------------------


async def test_restart_after_a_leave_keeps_marks_and_makeups(tmp_path: Path) -> None:
    first = Harness(tmp_path / "bot.sqlite3")
    await first.start()
    try:
        branch_id, member_ids, users = await roster_branch(first, size=3, linked=3)
        card_id, message_id = await post_card(first)
        await tap_label(first, users[0], CARD_IN, message_id)
        await tap_label(first, users[1], CARD_LEAVE, message_id)
        await first.send("家里有事", user=users[1])
    finally:
        await first.stop()
    second = Harness(tmp_path / "bot.sqlite3", fake=first.fake)
    await second.start()
    try:
        assert second.app is not None
        database = second.app.database
        assert await checkins.state_of(database, card_id, member_ids[0]) == "present"
        assert await checkins.state_of(database, card_id, member_ids[1]) == "leave"
        # A repeated tap after the restart is not counted twice; a new one is counted.
        assert "你已签到" in await tap_label(second, users[0], CARD_IN, message_id)
        assert "签到成功" in await tap_label(second, users[2], CARD_IN, message_id)
        await tap_label(second, SECRETARY, CARD_END, message_id)
        assert "应到 3 人 · 实到 2 人 · 请假 1 人 · 未到 0 人" in card_text(second, message_id)
        assert [i.name for i in await checkins.open_makeups(database, branch_id)] == ["党员02"]
    finally:
        await second.stop()
