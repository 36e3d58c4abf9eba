"""民主测评 end to end: from the grades card of a 民主评议 record, one anonymous native poll per
party member in the bound group (sendPoll, is_anonymous), votes tallied from Telegram's Poll
updates, ended with stopPoll and the final tally kept on the record; a repeated tap sends
nothing twice; a closed poll, a deleted record, no group and other roles are handled."""

from __future__ import annotations

import json
from datetime import date
from io import BytesIO

import openpyxl
import time_machine

from db import appraisal_polls, meetings, members, repo, settings
from db.models import Meeting, MemberInfo
from tests.conftest import OTHER, SECRETARY, Harness
from tests.test_appraisal import _world

NOW = "2026-12-20 10:00 +08:00"
GROUP = -100
OPTIONS = ["优秀", "合格", "基本合格", "不合格"]


def _polls(h: Harness) -> list[dict]:
    return [m for m in h.fake.bot_messages(GROUP) if "poll" in m]


async def _bind(h: Harness, branch_id: int) -> None:
    assert h.app is not None
    h.fake.add_group(GROUP, "支部群")
    await settings.update_settings(
        h.app.database, user_id=SECRETARY, branch_id=branch_id, group_chat_id=GROUP
    )


@time_machine.travel(NOW, tick=True)
async def test_polls_sent_voted_and_closed(harness: Harness) -> None:
    h = harness
    assert h.app is not None
    database = h.app.database
    branch_id, record_id, ids = await _world(h)
    await h.send("/history")
    # No group bound: the button says how to bind.
    await h.tap_data(f"ap:c:{record_id}")
    assert "📊 群内匿名测评" in h.buttons()
    assert (await h.tap("📊 群内匿名测评")) == []
    assert h.callback_answers()[-1] == (
        "本支部还没有绑定支部群：请把我拉进支部群，在群里发送 /bind，再发起测评。"
    )
    await _bind(h, branch_id)
    replies = await h.tap_data(f"ap:p:{record_id}")
    assert replies[0] == (
        "✅ 已在支部群发出 5 个匿名测评投票（每名党员一个）。请党员在群里投票，"
        '结束时点"⏹ 结束测评，统计结果"。'
    )
    polls = _polls(h)
    assert [p["poll"]["question"] for p in polls] == [
        f"2026年度民主评议党员测评：{name}（匿名）"
        for name in ("张三", "李四", "王五", "赵六", "钱七")
    ]
    assert all(p["poll"]["is_anonymous"] for p in polls)
    assert all([o["text"] for o in p["poll"]["options"]] == OPTIONS for p in polls)
    rows = await appraisal_polls.of_meeting(database, record_id)
    assert [(r.member_id, r.poll_id, r.message_id) for r in rows] == [
        (ids[n], p["poll"]["id"], p["message_id"])
        for n, p in zip(("张三", "李四", "王五", "赵六", "钱七"), polls, strict=True)
    ]
    # Tapped again (or replayed): nothing more is sent.
    await h.tap_data(f"ap:p:{record_id}")
    assert len(_polls(h)) == 5
    # Votes: anonymous, so the bot sees only the counts (Poll updates).
    zhang = polls[0]["message_id"]
    for user, option in ((7001, 0), (7002, 0), (7003, 1)):
        h.fake.add_user(user, first_name=f"u{user}")
        h.fake.set_member(GROUP, user, "member")
        h.fake.vote(user, zhang, [option], chat_id=GROUP)
        await h._settle()
    # A vote changed: counts move.
    h.fake.vote(7003, zhang, [0], chat_id=GROUP)
    await h._settle()
    [first, *_] = await appraisal_polls.of_meeting(database, record_id)
    assert (first.counts, first.voters, first.closed) == ((3, 0, 0, 0), 3, False)
    card = (await h.tap_data(f"ap:c:{record_id}"))[-1]
    assert (
        "1. 张三（正式党员）：未评\n   测评：优秀 3，合格 0，基本合格 0，不合格 0（3 票，进行中）"
        in card
    )
    assert "⏹ 结束测评，统计结果" in h.buttons()
    # Ended by the secretary: stopPoll on each, final tallies stored, polls closed in the group.
    replies = await h.tap("⏹ 结束测评，统计结果")
    assert replies[0] == "✅ 民主测评已结束，结果已记入这次民主评议。"
    assert "测评：优秀 3，合格 0，基本合格 0，不合格 0（3 票）" in replies[-1]
    assert "📊 群内匿名测评" not in h.buttons() and "⏹ 结束测评，统计结果" not in h.buttons()
    stored = await database.fetchall("SELECT counts, voters, closed_at FROM appraisal_polls")
    assert [(json.loads(r["counts"]), r["voters"]) for r in stored][:2] == [
        ([3, 0, 0, 0], 3), ([0, 0, 0, 0], 0),
    ]  # fmt: skip
    assert all(r["closed_at"] for r in stored)
    assert all(p["poll"]["is_closed"] for p in _polls(h))
    # The appraisal sheet has the votes beside each member.
    await h.tap("📤 导出评议表")
    sheet = openpyxl.load_workbook(BytesIO(h.fake.sent_files[-1]["data"])).active
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2, max_row=4)]
    assert rows[0][5] == "民主测评票数（优秀/合格/基本合格/不合格）"
    assert rows[1] == [1, "张三", "正式党员", "未评", None, "3/0/0/0"]
    assert rows[2][5] == "0/0/0/0"
    # Stale: the stop button again, a new round on a closed appraisal.
    assert (await h.tap_data(f"ap:ps:{record_id}")) == []
    assert h.callback_answers()[-1] == "这次民主测评已经结束了。"
    assert (await h.tap_data(f"ap:p:{record_id}")) == []
    assert h.callback_answers()[-1] == "这次民主测评已经结束了。"


@time_machine.travel(NOW, tick=True)
async def test_a_poll_closed_in_the_group_or_of_a_deleted_record(harness: Harness) -> None:
    h = harness
    assert h.app is not None
    database = h.app.database
    branch_id, record_id, _ = await _world(h)
    await _bind(h, branch_id)
    await h.send("/history")
    await h.tap_data(f"ap:p:{record_id}")
    polls = _polls(h)
    # One poll already stopped elsewhere: ending the rest still works, its last tally kept.
    h.fake.add_user(7001, first_name="u")
    h.fake.vote(7001, polls[1]["message_id"], [1], chat_id=GROUP)
    await h._settle()
    await h.fake.call("stopPoll", {"chat_id": GROUP, "message_id": polls[1]["message_id"]})
    replies = await h.tap_data(f"ap:ps:{record_id}")
    assert replies[0] == "✅ 民主测评已结束，结果已记入这次民主评议。"
    rows = await appraisal_polls.of_meeting(database, record_id)
    assert rows[1].counts == (0, 1, 0, 0) and all(r.closed for r in rows)
    # A record deleted while a poll is open: its rows go, later votes change nothing.
    second, _ = await meetings.create_meeting(
        database,
        user_id=SECRETARY,
        branch_id=branch_id,
        meeting=Meeting(kind="member_appraisal", held_on=date(2026, 12, 19)),
        draft_key="second",
    )
    assert second.id is not None
    await h.tap_data(f"ap:p:{second.id}")
    fresh = _polls(h)[-1]
    assert await meetings.delete_meeting(database, user_id=SECRETARY, meeting_id=second.id)
    # A vote on its poll arrives as a Poll update: answered by nobody, stored nowhere.
    sent = len(h.fake.calls)
    h.fake.vote(7001, fresh["message_id"], [0], chat_id=GROUP)
    await h._settle()
    assert [c for c, _ in h.fake.calls[sent:] if c != "getUpdates"] == []
    kept = await appraisal_polls.of_meeting(database, second.id)
    assert {(r.counts, r.voters) for r in kept} == {((0, 0, 0, 0), 0)}
    assert (await h.tap_data(f"ap:ps:{second.id}")) == []
    assert h.callback_answers()[-1] == "这条记录已不存在（可能已被删除）。"


@time_machine.travel(NOW, tick=True)
async def test_only_secretary_and_deputy_run_the_polls(harness: Harness) -> None:
    h = harness
    assert h.app is not None
    branch_id, record_id, _ = await _world(h)
    await _bind(h, branch_id)
    await repo.add_membership(
        h.app.database, actor_id=SECRETARY, user_id=OTHER, branch_id=branch_id, role="committee"
    )
    await h.send("/history", user=OTHER)
    await h.tap_data(f"ap:c:{record_id}", user=OTHER)
    assert "📊 群内匿名测评" not in h.buttons(OTHER)
    assert (await h.tap_data(f"ap:p:{record_id}", user=OTHER)) == []
    assert _polls(h) == []


@time_machine.travel(NOW, tick=True)
async def test_many_polls_are_announced_first(harness: Harness) -> None:
    h = harness
    assert h.app is not None
    branch_id, record_id, _ = await _world(h)
    await members.add(
        h.app.database, user_id=SECRETARY, branch_id=branch_id,
        info=MemberInfo("周九", "formal", date(2021, 7, 1)),
    )  # fmt: skip
    await _bind(h, branch_id)
    await h.send("/history")
    replies = await h.tap_data(f"ap:p:{record_id}")
    assert replies[:2] == [
        "正在向支部群发送 6 个测评投票，群里每分钟只能发约 20 条，请稍候。",
        "✅ 已在支部群发出 6 个匿名测评投票（每名党员一个）。请党员在群里投票，"
        '结束时点"⏹ 结束测评，统计结果"。',
    ]
    assert len(_polls(h)) == 6
