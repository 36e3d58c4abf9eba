"""Meeting notices (/notify) end to end through the emulator: the form with its bad answers, the
card in the group through the outbox, 参加 / 请假 (the reason in private, on the sign-in card's
leave form), a first-time name pick, the paced card edits, the day-before reminder to the silent
only, a send replayed after a failure posting one card, cancelling, stale and forged buttons,
and the answers filling a meeting record's attendance (/log preset, the 按会议通知填 button, a
closed sign-in)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import time_machine

from bot.delivery import Deliverer
from bot.emulator.html import parse_html
from bot.pacing import Pacing
from db import meeting_notices, meetings, repo
from tests.conftest import OTHER, SECRETARY, Harness
from tests.test_checkin import GROUP, setup_branch, until

NOW = "2026-11-20 10:00 +08:00"  # a Friday
EXPIRED = "这个按钮已过期，请按最新的消息操作。"
ASK_KIND = "📣 会议通知 · 第1步/共4步\n开什么会？请点选。发送 /cancel 退出。"
ASK_DAY = "📣 会议通知 · 第2步/共4步\n哪一天开？请输入日期，例如 12月5日、下周三（90 天以内）。"
ASK_TIME = "📣 会议通知 · 第3步/共4步\n几点、在哪里？例如：14:30 党员活动室。"
ASK_AGENDA = (
    "📣 会议通知 · 第4步/共4步\n议程是什么？一行一项，例如：\n"
    "1. 学习传达上级会议精神\n2. 讨论发展党员工作"
)
CARD_OPEN = (
    "📣 会议通知：党员大会\n时间：2026年11月25日 14:30\n地点：党员活动室\n议程：\n"
    "1. 学习<b>二十大</b>精神\n2. 讨论发展党员\n\n"
    "参加 {attend} 人 · 请假 {leave} 人 · 未回复 {silent} 人\n"
    '请党员点"参加"或"请假"（请假原因在私聊中填写）。'
)
CLOSED = "这条会议通知已取消或会议已召开，不再接受回复。"


def _data(h: Harness, label: str, chat: int = SECRETARY) -> str:
    """The callback data of a button on the latest keyboard of a chat."""
    for message in reversed(h.fake.bot_messages(chat)):
        markup = message.get("reply_markup")
        if markup:
            for row in markup["inline_keyboard"]:
                for button in row:
                    if button["text"] == label:
                        return str(button["callback_data"])
            break
    raise LookupError(label)


def _cards(h: Harness) -> list[dict[str, Any]]:
    return [m for m in h.fake.bot_messages(GROUP) if "会议通知：" in (m.get("text") or "")]


async def _deliver(h: Harness, when: str) -> None:
    assert h.app is not None
    moment = datetime.fromisoformat(when.replace(" +", "+").replace(" ", "T"))
    await Deliverer(h.app, pacing=Pacing(chat_interval=0, per_second=None)).run_once(moment)


async def _write_notice(h: Harness) -> str:
    """/notify through every step with its bad answers; returns the 发送 button's data."""
    assert (await h.send("/notify")) == [ASK_KIND]
    assert h.buttons() == [
        "党员大会", "支委会", "党小组会", "党课", "组织生活会", "民主评议党员", "主题党日",
        "✖️ 取消",
    ]  # fmt: skip
    assert (await h.tap("党员大会")) == [ASK_DAY]
    assert (await h.send("2月30日")) == [
        "⚠️ 没有这一天（例如2月没有30日），请核对后再输入。\n\n" + ASK_DAY
    ]
    assert (await h.send("11月19日")) == [
        "⚠️ 这一天已经过去了，请选今天或以后的日子。\n\n" + ASK_DAY
    ]
    assert (await h.send("2027-06-01")) == [
        "⚠️ 这个日期太远了：会议通知请发 90 天以内的会，请核对日期。\n\n" + ASK_DAY
    ]
    assert (await h.send("11月25日")) == [ASK_TIME]
    assert (await h.send("党员活动室")) == [
        "⚠️ 还缺开会时间：请在地点前面写上时间，例如 14:30 党员活动室。\n\n" + ASK_TIME
    ]
    assert (await h.send("14:30 党员活动室")) == [ASK_AGENDA]
    assert (await h.send("   \n ")) == ["⚠️ 没有收到内容，请再输入一次。\n\n" + ASK_AGENDA]
    assert (await h.send("很长" * 60)) == [
        "⚠️ 太长了（120 个字），最多 100 个字，请精简后再输入。\n\n" + ASK_AGENDA
    ]
    preview = await h.send("1. 学习<b>二十大</b>精神\n2、讨论发展党员")
    assert preview == [
        '📣 会议通知 · 请确认\n下面这张通知将发到支部群，党员可点"参加"或"请假"：\n\n'
        + CARD_OPEN.format(attend=0, leave=0, silent=4)
    ]
    assert h.buttons() == [
        "✅ 发到支部群", "✏️ 日期", "✏️ 时间地点", "✏️ 议程", "🗑 不发了",
    ]  # fmt: skip
    return _data(h, "✅ 发到支部群")


@time_machine.travel(NOW, tick=True)
async def test_a_notice_answered_and_reminded(harness: Harness) -> None:
    h = harness
    assert h.app is not None
    database = h.app.database
    # Four party members: three linked (users 5000–5002), the fourth not yet.
    branch_id, member_ids, users = await setup_branch(h, party=4, linked=3)
    send = await _write_notice(h)
    assert (await h.tap_data(send)) == [
        "✅ 通知已发到支部群。开会前一天，还没回复的党员会在私聊中收到提醒。\n"
        '会后可点"记录这次会议"，参加和请假情况会自动填入。'
    ]
    assert h.buttons() == ["📝 记录这次会议", "取消这次会议"]
    [notice_id] = [r["id"] for r in await database.fetchall("SELECT id FROM meeting_notices")]
    notice = await meeting_notices.get(database, notice_id)
    assert notice is not None and notice.branch_id == branch_id and notice.chat_id == GROUP
    assert (notice.kind, notice.held_on.isoformat(), notice.start_time, notice.place) == (
        "member_meeting", "2026-11-25", "14:30", "党员活动室",
    )  # fmt: skip
    assert notice.agenda == "学习<b>二十大</b>精神\n讨论发展党员"
    # Committed before anything is sent: the card and a reminder per linked member.
    keys = [r["key"] for r in await database.fetchall("SELECT key FROM outbox ORDER BY key")]
    assert keys == [
        f"nf:{notice_id}:card",
        *sorted(
            f"nf:{notice_id}:rm:{m}:{u}" for m, u in zip(member_ids[:3], users[:3], strict=True)
        ),
    ]
    assert _cards(h) == []
    await _deliver(h, "2026-11-20 10:05 +08:00")
    [card] = _cards(h)
    assert parse_html(card["text"]) == CARD_OPEN.format(attend=0, leave=0, silent=4)
    rows = card["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in rows[0]] == ["✅ 参加", "🙋 请假"]
    attend, leave = (b["callback_data"] for b in rows[0])

    # 参加 from a linked member: a toast, the answer stored, their reminder dropped.
    h.fake.tap(users[0], card["message_id"], attend, chat_id=GROUP)
    await h._settle()
    assert h.callback_answers()[-1] == "✅ 已登记参加，党员01。"
    h.fake.tap(users[0], card["message_id"], attend, chat_id=GROUP)
    await h._settle()
    assert h.callback_answers()[-1] == "你已登记参加，不用重复点。"
    # 请假: the reason in private, on the sign-in card's form.
    h.fake.tap(users[1], card["message_id"], leave, chat_id=GROUP)
    await h._settle()
    assert h.callback_answers()[-1] == "请到与我的私聊中写请假原因。"
    ask = parse_html(h.fake.bot_messages(users[1])[-1]["text"])
    assert ask == (
        "党员大会请假 · 11月25日\n请写一句请假原因（100字以内），例如：出差在外地。"
        "发送 /cancel 取消。"
    )
    assert (await h.send("出差", user=users[1])) == [
        "已登记请假，原因：出差。会后请按要求补学会议内容。"
    ]
    # Not linked yet: the name is picked in private first, then the answer goes on.
    h.fake.tap(users[3], card["message_id"], attend, chat_id=GROUP)
    await h._settle()
    assert h.callback_answers()[-1] == (
        "第一次签到需要确认你的名字：请到与我的私聊中点选（只需一次）。"
    )
    assert parse_html(h.fake.bot_messages(users[3])[-1]["text"]) == (
        "党员大会通知 · 11月25日\n第一次回复请点选你的名字（只需确认一次，以后在群里直接点）："
    )
    assert (await h.tap("党员04", user=users[3])) == ["✅ 已登记参加，党员04。"]
    stored = await database.fetchall(
        "SELECT member_id, state, reason FROM notice_answers ORDER BY member_id"
    )
    assert [tuple(r) for r in stored] == [
        (member_ids[0], "attend", ""), (member_ids[1], "leave", "出差"),
        (member_ids[3], "attend", ""),
    ]  # fmt: skip
    # The card shows the counts (edited at a paced rate, from the database).
    text = CARD_OPEN.format(attend=2, leave=1, silent=1)
    await until(lambda: parse_html(_cards(h)[0]["text"]) == text)

    # The day before at the branch's reminder time: only the silent linked member is reminded.
    await _deliver(h, "2026-11-24 09:00 +08:00")
    states = {
        r["key"]: r["state"] for r in await database.fetchall("SELECT key, state FROM outbox")
    }
    assert states == {
        f"nf:{notice_id}:card": "sent",
        f"nf:{notice_id}:rm:{member_ids[0]}:{users[0]}": "cancelled",
        f"nf:{notice_id}:rm:{member_ids[1]}:{users[1]}": "cancelled",
        f"nf:{notice_id}:rm:{member_ids[2]}:{users[2]}": "sent",
    }
    reminder = h.fake.bot_messages(users[2])[-1]
    assert parse_html(reminder["text"]) == (
        "📣 明天开会提醒\n党员大会：11月25日 14:30，地点 党员活动室。\n"
        "你还没有回复能否参加，请点下面的按钮。"
    )
    # The reminder's own 参加 answers in private.
    assert (await h.tap("✅ 参加", user=users[2])) == ["✅ 已登记参加，党员03。"]
    assert await meeting_notices.state_of(database, notice_id, member_ids[2]) == "attend"


async def _sent_notice(h: Harness) -> tuple[int, list[int], list[int], dict[str, Any]]:
    """A bound branch of four (three linked), a notice sent and delivered; its card."""
    assert h.app is not None
    _, member_ids, users = await setup_branch(h, party=4, linked=3)
    await h.tap_data(await _write_notice(h))
    [row] = await h.app.database.fetchall("SELECT id FROM meeting_notices")
    await _deliver(h, "2026-11-20 10:05 +08:00")
    [card] = _cards(h)
    return row["id"], member_ids, users, card


@time_machine.travel(NOW, tick=True)
async def test_a_send_replayed_after_a_failure_posts_one_card(harness: Harness) -> None:
    h = harness
    assert h.app is not None
    await setup_branch(h, party=4, linked=3)
    send = await _write_notice(h)
    # Stored and queued, then Telegram fails before the user sees "已发到": the preview stays.
    h.fake.fail_next("sendMessage", error_code=0, description="network down")
    await h.tap_data(send)
    assert h.app.forms.active(SECRETARY) == "nf"
    queued = await h.app.database.fetchall("SELECT key FROM outbox ORDER BY key")
    assert len(queued) == 4
    # The same button again (as a replay of the update would): found stored, nothing more.
    assert (await h.tap_data(send)) == [
        '这条通知已经发过了，没有重复发送。\n会后可点"记录这次会议"，参加和请假情况会自动填入。'
    ]
    assert h.app.forms.active(SECRETARY) is None
    assert await h.app.database.fetchall("SELECT key FROM outbox ORDER BY key") == queued
    assert len(await h.app.database.fetchall("SELECT id FROM meeting_notices")) == 1
    # Delivered twice over (a second run, a restart): one card in the group.
    await _deliver(h, "2026-11-20 10:05 +08:00")
    await _deliver(h, "2026-11-20 10:06 +08:00")
    assert len(_cards(h)) == 1


@time_machine.travel(NOW, tick=True)
async def test_cancelled_stale_and_forged_taps(harness: Harness) -> None:
    h = harness
    assert h.app is not None
    database = h.app.database
    # No group bound yet: told how to bind, no form opened.
    await h.register(name="没有群的支部", key="nogroup", user=OTHER)
    assert (await h.send("/notify", user=OTHER)) == [
        "本支部还没有绑定支部群，会议通知无法发出。请把我拉进支部群，在群里发送 /bind"
        "（书记或副书记），再发送 /notify。"
    ]
    assert h.app.forms.active(OTHER) is None
    notice_id, member_ids, users, card = await _sent_notice(h)
    attend = f"nf:a:{notice_id}"
    # A group is not the place for /notify.
    assert (await h.send("/notify", chat_id=GROUP))[-1] == (
        '这个操作请在与我的私聊中进行：点我的头像，再点"发消息"。'
    )
    # Forged: the same data on another message of the group, or in private by someone not
    # linked to the branch (OTHER leads another branch).
    h.fake.tap(users[0], card["message_id"] + 50, attend, chat_id=GROUP)
    await h._settle()
    assert h.callback_answers()[-1] == EXPIRED
    assert (await h.tap_data(attend, message_id=1, user=OTHER)) == []
    assert h.callback_answers()[-1] == EXPIRED
    assert await meeting_notices.state_of(database, notice_id, member_ids[0]) is None
    # Only the branch's recorders may cancel; the secretary does.
    assert (await h.tap_data(f"nf:x:{notice_id}", message_id=1, user=OTHER)) == []
    assert h.callback_answers()[-1] == "您没有这个支部的操作权限。"
    assert (await h.tap("取消这次会议")) == [
        "已取消这条会议通知，群里的通知卡已标明取消，未发出的提醒不再发送。"
    ]
    [edited] = _cards(h)
    assert parse_html(edited["text"]).endswith(
        "参加 0 人 · 请假 0 人 · 未回复 4 人\n本次会议已取消。"
    )
    assert not edited.get("reply_markup")
    states = {
        r["state"]
        for r in await database.fetchall("SELECT state FROM outbox WHERE key LIKE 'nf:%:rm:%'")
    }
    assert states == {"cancelled"}
    # The old card's button: stale.
    h.fake.tap(users[0], card["message_id"], attend, chat_id=GROUP)
    await h._settle()
    assert h.callback_answers()[-1] == CLOSED
    assert await meeting_notices.state_of(database, notice_id, member_ids[0]) is None
    assert (await h.tap_data(f"nf:x:{notice_id}")) == ["这条会议通知已经取消了。"]


@time_machine.travel(NOW, tick=True)
async def test_answers_after_the_meeting_are_refused(harness: Harness) -> None:
    h = harness
    notice_id, member_ids, users, card = await _sent_notice(h)
    with time_machine.travel("2026-11-26 08:00 +08:00", tick=True):
        h.fake.tap(users[0], card["message_id"], f"nf:l:{notice_id}", chat_id=GROUP)
        await h._settle()
        assert h.callback_answers()[-1] == CLOSED
        # The late tap has the card say the meeting is over, without its buttons.
        await until(lambda: parse_html(_cards(h)[0]["text"]).endswith("不再接受回复。"))
        assert not _cards(h)[0].get("reply_markup")
    assert h.app is not None
    assert await meeting_notices.state_of(h.app.database, notice_id, member_ids[0]) is None


@time_machine.travel(NOW, tick=True)
async def test_the_answers_fill_the_record(harness: Harness) -> None:
    h = harness
    assert h.app is not None
    database = h.app.database
    notice_id, _member_ids, users, card = await _sent_notice(h)
    for user in users[:2]:
        h.fake.tap(user, card["message_id"], f"nf:a:{notice_id}", chat_id=GROUP)
        await h._settle()
    h.fake.tap(users[2], card["message_id"], f"nf:l:{notice_id}", chat_id=GROUP)
    await h._settle()
    await h.send("出差在外地", user=users[2])
    log = f"nf:log:{notice_id}"
    # Before the day: nothing to record yet.
    assert (await h.tap_data(log)) == []
    assert h.callback_answers()[-1] == "会议还没开，开完后再来记录。"
    with time_machine.travel("2026-11-25 17:00 +08:00", tick=True):
        replies = await h.tap_data(log)
        assert "主持人" in replies[-1]
        draft = h.app.forms.peek(SECRETARY)
        assert draft is not None and draft[0] == "lg"
        values = {k: draft[1][k] for k in ("kind", "held_on", "start_time", "place", "agenda")}
        assert values == {
            "kind": "member_meeting", "held_on": "2026-11-25", "start_time": "14:30",
            "place": "党员活动室", "agenda": ["学习<b>二十大</b>精神", "讨论发展党员"],
        }  # fmt: skip
        attendance = {k: draft[1][k] for k in ("expected", "present", "on_leave", "absentees")}
        assert attendance == {
            "expected": 4, "present": 2, "on_leave": 1,
            "absentees": [["党员03", "请假：出差在外地"]],
        }  # fmt: skip
        assert draft[1]["notice_id"] == notice_id
        await h.send("张三 李四")
        await h.send("书记传达了会议精神。")
        await h.send("无")
        card_text = (await h.tap("没有照片，完成"))[-1]
        assert (
            "👤 应到 4 人，实到 2 人，请假 1 人，缺席 1 人\n   · 党员03：请假：出差在外地\n"
        ) in card_text
        # The one who never answered is left for the secretary to fill in (the card says so).
        assert "⚠️ 有 1 人没到会，没有写原因。" in card_text
        assert "已保存" in (await h.tap("✅ 保存记录"))[0]
    [record] = (await meetings.list_meetings(database, (await _branch(h)), limit=5))[0]
    assert record.present == 2 and record.absentees == (("党员03", "请假：出差在外地"),)
    notice = await meeting_notices.get(database, notice_id)
    assert notice is not None and notice.meeting_id == record.id


async def _branch(h: Harness) -> int:
    assert h.app is not None
    row = await h.app.database.fetchone("SELECT branch_id FROM meeting_notices")
    return int(row["branch_id"])


@time_machine.travel(NOW, tick=True)
async def test_plain_log_offers_the_notice_answers(harness: Harness) -> None:
    h = harness
    assert h.app is not None
    notice_id, _member_ids, users, card = await _sent_notice(h)
    h.fake.tap(users[0], card["message_id"], f"nf:a:{notice_id}", chat_id=GROUP)
    await h._settle()
    with time_machine.travel("2026-11-25 17:00 +08:00", tick=True):
        await h.send("/log")
        await h.tap("党员大会")
        await h.tap("今天")
        await h.send("14:30 党员活动室")
        await h.send("张三 李四")
        assert "📣 按会议通知填：参加1人，请假0人" in h.buttons()
        await h.tap("📣 按会议通知填：参加1人，请假0人")
        draft = h.app.forms.peek(SECRETARY)
        assert draft is not None
        assert (draft[1]["present"], draft[1]["absentees"], draft[1]["notice_id"]) == (
            1, [], notice_id,
        )  # fmt: skip


@time_machine.travel(NOW, tick=True)
async def test_a_planned_party_day_sends_its_notice(harness: Harness) -> None:
    h = harness
    assert h.app is not None
    branch_id, _, _ = await setup_branch(h, party=2)
    await meetings.save_plan(
        h.app.database,
        user_id=SECRETARY,
        branch_id=branch_id,
        planned_on=date(2026, 11, 27),
        theme="重温入党誓词",
        activity_form="study",
    )
    await h.send("/partyday")
    assert "📣 发通知（11月）" in h.buttons()
    # The kind is set; the plan's day and theme are one tap each.
    assert (await h.tap("📣 发通知（11月）")) == [ASK_DAY]
    assert h.buttons() == ["11月27日（计划）", "⬅️ 上一步", "✖️ 取消"]
    await h.tap("11月27日（计划）")
    await h.send("9:00 党群服务中心")
    assert h.buttons()[0] == "重温入党誓词"
    preview = (await h.tap("重温入党誓词"))[-1]
    assert preview.startswith(
        '📣 会议通知 · 请确认\n下面这张通知将发到支部群，党员可点"参加"或"请假"：\n\n'
        "📣 会议通知：主题党日\n时间：2026年11月27日 09:00\n地点：党群服务中心\n议程：\n"
        "1. 重温入党誓词\n"
    )


@time_machine.travel(NOW, tick=True)
async def test_a_closed_sign_in_takes_the_notice_leaves(harness: Harness) -> None:
    h = harness
    assert h.app is not None
    database = h.app.database
    branch_id, member_ids, users = await setup_branch(h, party=3)
    # A notice for today's 党员大会: 党员02 asked for leave on it, 党员03 said nothing.
    notice, _ = await meeting_notices.create(
        database, user_id=SECRETARY, branch_id=branch_id, kind="member_meeting",
        held_on=date(2026, 11, 20), start_time="19:00", place="会议室", agenda="学习",
        chat_id=GROUP, draft_key="today",
    )  # fmt: skip
    answered = await meeting_notices.answer(
        database, notice_id=notice.id, member_id=member_ids[1], state="leave", reason="值班",
        today=date(2026, 11, 20),
    )  # fmt: skip
    assert answered == "new"
    await h.send("/checkin", chat_id=GROUP)
    card = h.last_message(GROUP)
    card_id = int(card["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split(":")[2])
    h.fake.tap(users[0], card["message_id"], f"ck:in:{card_id}", chat_id=GROUP)
    await h._settle()
    h.fake.tap(SECRETARY, card["message_id"], f"ck:end:{card_id}", chat_id=GROUP)
    await h._settle()
    await h.tap("📝 去记录")
    draft = h.app.forms.peek(SECRETARY)
    assert draft is not None
    assert (draft[1]["present"], draft[1]["on_leave"], draft[1]["absentees"]) == (
        1, 1, [["党员02", "请假：值班"], ["党员03", ""]],
    )  # fmt: skip
    assert draft[1]["notice_id"] == notice.id


@time_machine.travel(NOW, tick=True)
async def test_someone_the_bot_cannot_write_to_and_another_branch(harness: Harness) -> None:
    h = harness
    assert h.app is not None
    database = h.app.database
    notice_id, member_ids, users, card = await _sent_notice(h)
    # 党员04's user never opened the bot: the alert gives the link; the link goes on.
    h.fake.block(users[3])
    h.fake.tap(users[3], card["message_id"], f"nf:l:{notice_id}", chat_id=GROUP)
    await h._settle()
    link = f"https://t.me/zhishu_demo_bot?start=notify_{notice_id}"
    assert h.callback_answers()[-1] == (
        f'我还不能私聊你。请先打开 {link} 点"开始"，再回到群里点按钮。'
    )
    h.fake.unblock(users[3])
    replies = await h.send(f"/start notify_{notice_id}", user=users[3])
    assert replies == [
        "党员大会通知 · 11月25日\n第一次回复请点选你的名字（只需确认一次，以后在群里直接点）："
    ]
    replies = await h.tap("党员04", user=users[3])
    assert replies[0] == "已确认你是 党员04。"
    assert replies[-1].startswith("党员大会请假 · 11月25日")
    await h.send("生病", user=users[3])
    assert await meeting_notices.state_of(database, notice_id, member_ids[3]) == "leave"
    # The secretary of another branch, in this group: not on this roster, nothing recorded.
    await h.register(user=OTHER, name="别的支部", key="other")
    h.fake.set_member(GROUP, OTHER, "member")
    h.fake.tap(OTHER, card["message_id"], f"nf:a:{notice_id}", chat_id=GROUP)
    await h._settle()
    # Every name of this roster is linked: no list to pick from, told so (in the alert).
    assert h.callback_answers()[-1] == "你不在本支部名册中，请联系书记。"
    rows = await database.fetchall("SELECT member_id FROM notice_answers ORDER BY member_id")
    assert [r["member_id"] for r in rows] == [member_ids[3]]


@time_machine.travel(NOW, tick=True)
async def test_a_restart_after_sending_posts_one_card(tmp_path: Path) -> None:
    first = Harness(tmp_path / "bot.sqlite3")
    await first.start()
    try:
        await setup_branch(first, party=2)
        send = await _write_notice_quickly(first)
        # Stored and queued; the bot stops before Telegram confirmed "已发到" (a crash after
        # the commit): the card is still only in the outbox.
        first.fake.fail_next("sendMessage", error_code=0, description="network down")
        await first.tap_data(send)
    finally:
        await first.stop()
    second = Harness(tmp_path / "bot.sqlite3", fake=first.fake)
    await second.start()
    try:
        # The same 发送 again after the restart: found stored, nothing queued twice.
        assert (await second.tap_data(send))[-1].startswith("这条通知已经发过了")
        assert second.app is not None
        rows = await second.app.database.fetchall("SELECT key FROM outbox")
        assert len(rows) == 3  # the card and two reminders
        await _deliver(second, "2026-11-20 10:05 +08:00")
        await _deliver(second, "2026-11-20 10:06 +08:00")
        assert len(_cards(second)) == 1
    finally:
        await second.stop()


async def _write_notice_quickly(h: Harness) -> str:
    """/notify with good answers only; returns the 发送 button's data."""
    await h.send("/notify")
    await h.tap("党员大会")
    await h.send("11月25日")
    await h.send("14:30 党员活动室")
    await h.send("学习")
    return _data(h, "✅ 发到支部群")


@time_machine.travel(NOW, tick=True)
async def test_a_viewer_may_not_send_or_cancel(harness: Harness) -> None:
    h = harness
    assert h.app is not None
    notice_id, _, _, _ = await _sent_notice(h)
    branch_id = await _branch(h)
    await repo.add_membership(
        h.app.database, actor_id=SECRETARY, user_id=OTHER, branch_id=branch_id, role="viewer"
    )
    assert (await h.send("/notify", user=OTHER)) == ["您没有这个支部的操作权限。"]
    assert h.app.forms.active(OTHER) is None
    assert (await h.tap_data(f"nf:x:{notice_id}", message_id=1, user=OTHER)) == []
    assert h.callback_answers()[-1] == "您没有这个支部的操作权限。"
    notice = await meeting_notices.get(h.app.database, notice_id)
    assert notice is not None and not notice.cancelled
