"""Group binding and the group sign-in card, end to end through the emulator: binding and
unbinding, 30 quick taps under Telegram's flood limits, first-time linking in private, 请假,
forged taps, closing (补学, the private summary, 去记录 into /log) and a restart in between."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

from bot.emulator.html import parse_html
from db import checkins, members, repo, settings
from db.models import MemberInfo
from tests.conftest import OTHER, SECRETARY, Harness

GROUP = -100
STRANGE_GROUP = -300
VIEWER = 3003
FIRST_USER = 6000
BIND = "🔗 把本群绑定为支部群"
CARD_IN, CARD_LEAVE, CARD_END = "✅ 签到", "🙋 请假", "⏹ 结束签到"
REFUSED_BIND = "只有支部书记、副书记"


async def until(predicate: Any, timeout: float = 15) -> None:
    """Poll until the predicate holds (card edits run in the job queue, after the tap)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


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
        user = FIRST_USER + i
        harness.fake.add_user(user, first_name=f"用户{i}")
        harness.fake.set_member(GROUP, user, "member")
        users.append(user)
        if i < linked:
            assert await members.link_user(database, branch.id, member_ids[i], user)
    return branch.id, member_ids, users


async def open_card(harness: Harness) -> tuple[int, int]:
    """/checkin in the group by the secretary; returns (card id, card message id)."""
    await harness.send("/checkin", chat_id=GROUP)
    card = harness.last_message(GROUP)
    data = card["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert data.startswith("ck:in:")
    return int(data.split(":")[2]), card["message_id"]


def card(harness: Harness, message_id: int) -> dict[str, Any]:
    [found] = [m for m in harness.fake.bot_messages(GROUP) if m["message_id"] == message_id]
    return found


def card_text(harness: Harness, message_id: int) -> str:
    return parse_html(card(harness, message_id)["text"])


async def tap_card(harness: Harness, user: int, label: str, message_id: int) -> str:
    """A tap on the card's button in the group; returns the toast or alert shown."""
    harness.fake.tap_button(user, label, chat_id=GROUP, message_id=message_id)
    await harness._settle()
    return harness.callback_answers()[-1]


def all_texts_to(harness: Harness, chat_id: int) -> str:
    return "\n".join(m.get("text") or "" for m in harness.fake.bot_messages(chat_id))


# ---- 1. binding --------------------------------------------------------------------------


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


# ---- 2. thirty quick taps ----------------------------------------------------------------


async def test_thirty_taps_under_flood_limits(real_clock_harness: Harness) -> None:
    # On the real clock: the production 4-second edit interval under Telegram's limits.
    harness = real_clock_harness
    assert harness.app is not None
    database = harness.app.database
    # 31 on the roster: 30 linked users tap at once, the 31st links itself in private.
    branch_id, member_ids, users = await roster_branch(harness, size=31, linked=30)
    harness.fake.set_flood_limit()  # 30/s for the bot, 1/s per chat (burst 3), 20/min a group
    card_id, message_id = await open_card(harness)
    assert harness.buttons(GROUP) == [CARD_IN, CARD_LEAVE, CARD_END]
    edit_times: list[float] = []

    def watch(event: str, message: dict[str, Any]) -> None:
        if event == "edit" and message["message_id"] == message_id:
            edit_times.append(time.monotonic())

    harness.fake.subscribe(watch)
    calls_before = len(harness.fake.calls)
    linked_users = users[:30]
    for user in linked_users:
        harness.fake.tap_button(user, CARD_IN, chat_id=GROUP, message_id=message_id)
    for user in linked_users[:4]:  # a repeated tap
        harness.fake.tap_button(user, CARD_IN, chat_id=GROUP, message_id=message_id)
    for _ in range(34):
        await harness._settle()
    answers = harness.callback_answers()[-34:]
    assert answers.count("✅ 签到成功") == 30
    assert answers.count("你已签到，不用重复点。") == 4
    card_row = await checkins.get(database, card_id)
    assert card_row is not None
    tally = await checkins.tally(database, card_row)
    assert (tally.expected, len(tally.present), len(tally.absent)) == (31, 30, 1)
    await until(lambda: "实到 30 人" in card_text(harness, message_id))
    assert "应到 31 人 · 实到 30 人 · 请假 0 人 · 未到 1 人" in card_text(harness, message_id)
    # First-time sign-in: the names are offered in private only, the pick links the user.
    newcomer = users[30]
    alert = await tap_card(harness, newcomer, CARD_IN, message_id)
    assert "请到与我的私聊中点选" in alert
    assert harness.buttons(newcomer) == ["党员31", "名单里没有我"]
    assert "党员31" not in card_text(harness, message_id)
    replies = await harness.tap("党员31", user=newcomer)
    assert "已确认你是 党员31，签到成功" in replies[-1]
    linked = await members.by_user(database, branch_id, newcomer)
    assert linked is not None and linked.id == member_ids[30]
    await until(lambda: "实到 31 人" in card_text(harness, message_id))
    # Close: the exact final counts, no buttons left.
    assert "出勤汇总已私发给你" in await tap_card(harness, SECRETARY, CARD_END, message_id)
    final = card(harness, message_id)
    assert "应到 31 人 · 实到 31 人 · 请假 0 人 · 未到 0 人" in parse_html(final["text"])
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
    assert all(
        b - a >= harness.config.pacing.card_edit_interval - 0.1
        for a, b in itertools.pairwise(edit_times[:-1])
    )
    assert await checkins.open_makeups(database, branch_id) == []


# ---- 3. leave, refusals, forged taps; 4. closing, 补学, 去记录 -------------------------------


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
    card_id, message_id = await open_card(harness)
    first, second = users[0], users[1]
    assert "签到成功" in await tap_card(harness, first, CARD_IN, message_id)
    # 请假: the reason is asked in private; bad input gets a second chance.
    assert "请到与我的私聊中写请假原因" in await tap_card(harness, second, CARD_LEAVE, message_id)
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
    assert "出勤汇总已私发给你" in await tap_card(harness, SECRETARY, CARD_END, message_id)
    final = card(harness, message_id)
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


# ---- 5. a restart in the middle ----------------------------------------------------------


async def test_restart_in_the_middle_keeps_the_marks(tmp_path: Path) -> None:
    first = Harness(tmp_path / "bot.sqlite3")
    await first.start()
    try:
        branch_id, member_ids, users = await roster_branch(first, size=3, linked=3)
        card_id, message_id = await open_card(first)
        await tap_card(first, users[0], CARD_IN, message_id)
        await tap_card(first, users[1], CARD_LEAVE, message_id)
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
        assert "你已签到" in await tap_card(second, users[0], CARD_IN, message_id)
        assert "签到成功" in await tap_card(second, users[2], CARD_IN, message_id)
        await tap_card(second, SECRETARY, CARD_END, message_id)
        assert "应到 3 人 · 实到 2 人 · 请假 1 人 · 未到 0 人" in card_text(second, message_id)
        assert [i.name for i in await checkins.open_makeups(database, branch_id)] == ["党员02"]
    finally:
        await second.stop()
