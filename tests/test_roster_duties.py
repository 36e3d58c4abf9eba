"""Duties that come from the roster: 谈心谈话 with every party member each year, 转正 one year
after admission (reminded a month before), a 流动党员's report every two months."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from zoneinfo import ZoneInfo

import time_machine

from bot import jobs
from bot.emulator.html import parse_html
from bot.obligations import roster_duties
from bot.reminders import Notice, messages_for, notices_for, owed_for, sweep
from db import meetings, members, outbox
from db.models import Branch, Meeting, Member, MemberInfo
from db.settings import BranchSettings
from tests.conftest import OTHER, SECRETARY, Harness
from tests.factories import make_profile

TZ = ZoneInfo("Asia/Shanghai")


def _member(i: int, name: str, status: str = "formal", **info: object) -> Member:
    return Member(id=i, branch_id=1, info=MemberInfo(name=name, status=status, **info))


ROSTER = [
    _member(1, "张三"),
    _member(2, "李四"),
    _member(3, "王五", "probationary", joined_on=date(2025, 12, 20)),
    _member(4, "赵六", mobile=True, destination="深圳", left_on=date(2026, 9, 1)),
    _member(5, "钱七", "activist"),
]


def test_heart_talks_count_party_members_named_in_this_years_talks() -> None:
    talks = [(date(2026, 3, 1), "张三、李四"), (date(2025, 12, 1), "王五")]
    duty = roster_duties(ROSTER, talks, date(2026, 6, 1))[0]
    assert duty.code == "heart_to_heart_talk" and duty.state == "due"
    assert duty.progress == (2, 4)  # 钱七 is an activist, last year's talk does not count
    talks.append((date(2026, 5, 2), "王五 赵六"))
    done = roster_duties(ROSTER, talks, date(2026, 6, 1))[0]
    assert done.state == "done" and done.done_on == date(2026, 5, 2)
    assert roster_duties([], talks, date(2026, 6, 1)) == []


def test_probation_ends_a_year_after_admission_and_reports_every_two_months() -> None:
    duties = {d.base: d for d in roster_duties(ROSTER, [], date(2026, 11, 2))}
    probation = duties["probation"]
    assert probation.code == "probation.3" and probation.subject == "王五"
    assert probation.deadline == date(2026, 12, 20) and probation.state == "due"
    report = duties["mobile_report"]
    assert report.deadline == date(2026, 11, 1) and report.state == "overdue"
    reported = [
        _member(
            4, "赵六", mobile=True, left_on=date(2026, 9, 1), last_report_on=date(2026, 12, 31)
        )
    ]
    assert roster_duties(reported, [], date(2027, 1, 5))[-1].deadline == date(2027, 2, 28)
    off = roster_duties(ROSTER, [], date(2026, 11, 2), off=["probation", "mobile_report"])
    assert [d.base for d in off] == ["heart_to_heart_talk"]


def test_probation_is_reminded_a_month_before_on_a_workday() -> None:
    roster = [_member(3, "王五", "probationary", joined_on=date(2026, 2, 28))]
    settings = BranchSettings(1)
    # 28 Feb 2027 is a Sunday; a month before is Thursday 28 Jan.
    owed = owed_for(
        make_profile(), settings, [], date(2027, 1, 28), created_on=None, roster=roster
    )
    notices = [n for n in notices_for(1, owed, settings, date(2027, 1, 28)) if n.subject]
    assert [(n.code, n.stage) for n in notices] == [("probation.3", "month1")]
    muted = BranchSettings(1, muted=("probation",))
    assert not [n for n in notices_for(1, owed, muted, date(2027, 1, 28)) if n.subject]


def test_heart_talks_behind_an_even_pace_are_reminded_before_each_quarter_ends() -> None:
    """Eight talks cannot all wait for the last week of December: a week before the end of
    March, June and September a branch behind an even pace hears how many it still needs."""
    party = [_member(i, name) for i, name in enumerate("甲乙丙丁戊己庚辛", start=1)]
    settings = BranchSettings(1)  # reminded 7 and 2 days ahead

    def pace(today: date, talks: list[tuple[date, str]]) -> list[Notice]:
        owed = owed_for(
            make_profile(), settings, [], today, created_on=None, roster=party, talks=talks
        )
        return [n for n in notices_for(1, owed, settings, today) if n.stage.startswith("pace")]

    # 24 March 2026 is a Tuesday, a week before the quarter ends: 2 of 8 are due by then.
    [notice] = pace(date(2026, 3, 24), [])
    assert (notice.stage, notice.progress) == ("pace3", (0, 8))
    assert pace(date(2026, 3, 23), []) == []
    on_pace = [(date(2026, 2, 1), "甲"), (date(2026, 3, 1), "乙")]
    assert pace(date(2026, 3, 24), on_pace) == []
    # 23 September 2026 (Wednesday): 6 are due; two talks are four short.
    [notice] = pace(date(2026, 9, 23), on_pace)
    assert notice.stage == "pace9" and notice.progress == (2, 8)
    branch = Branch(1, make_profile(name="甲支部"), SECRETARY, "2026-01-01", "2026-01-01")
    [text] = [
        m.text for m in messages_for(branch, [notice], [7], datetime(2026, 9, 23, 9, tzinfo=TZ))
    ]
    assert parse_html(text).splitlines()[1] == (
        "💬 今年的谈心谈话已谈 2/8 人。全年每人至少谈一次，按进度到 9 月底宜谈到 6 人，"
        '还差 4 人。每谈一次，点"去记录"记下谈话对象。'
    )
    # No pace reminder in the last quarter: the deadline's own reminders take over.
    assert pace(date(2026, 12, 24), []) == []


@time_machine.travel(datetime(2026, 11, 2, 10, 0, tzinfo=TZ), tick=True)
async def test_status_and_reminders_follow_the_roster(tmp_path) -> None:  # type: ignore[no-untyped-def]
    h = Harness(tmp_path / "bot.sqlite3", reminders=True)
    await h.start()
    branch = await h.register()
    assert h.app is not None
    database = h.app.database
    await members.add_many(
        database, user_id=SECRETARY, branch_id=branch.id, infos=[m.info for m in ROSTER]
    )
    assert await members.confirm_complete(database, user_id=SECRETARY, branch_id=branch.id)
    roster = {m.name: m for m in await members.list_for(database, branch.id)}
    await meetings.create_meeting(
        database,
        user_id=SECRETARY,
        branch_id=branch.id,
        meeting=Meeting(
            kind="heart_to_heart_talk", held_on=date(2026, 10, 9), host="书记", counterpart="张三"
        ),
        draft_key="talk",
    )
    card = (await h.send("/status"))[-1]
    assert "谈心谈话：已谈 1/4 人" in card
    assert "王五 预备期将于 2026-12-20 期满（还有 48 天）" in card
    assert "流动党员 赵六 应在 2026-11-01 前汇报（已超期）" in card
    assert "📝 记谈心谈话" in h.buttons()
    # The daily sweep: the overdue report is reminded on the first workday after, with a button.
    await sweep(database, date(2026, 11, 2), TZ)
    found = jobs.deliverer(h.app)
    assert found is not None
    # Several reminders go to the same chat, one per chat interval (the fast test clock): a
    # later pass sends the rest. (Bounded generously: under a loaded machine a pass is slow and
    # 40 passes of 50 ms were sometimes too few.)
    # The reminder's own words (the /status card above names 赵六 too); the start-up sweep,
    # running beside this test, may have decided and sent it already.
    for _ in range(400):
        await found.run_once()
        texts = [
            m
            for m in h.fake.bot_messages(SECRETARY)
            if "赵六" in (m.get("text") or "") and "已超过两个月没有汇报" in m["text"]
        ]
        if texts:
            break
        await asyncio.sleep(0.05)
    assert texts
    data = f"st:rep:{branch.id}:{roster['赵六'].id}"
    # Someone outside the branch cannot tick it; the secretary can, once.
    await h.send("/help", user=OTHER)
    await h.tap_data(data, user=OTHER)
    assert "权限" in h.callback_answers()[-1]
    await h.tap_data(data, texts[-1]["message_id"])
    assert "已记下 赵六 11月2日的汇报" in h.callback_answers()[-1]
    updated = await members.get(database, branch.id, roster["赵六"].id)
    assert updated is not None and updated.info.last_report_on == date(2026, 11, 2)
    card = (await h.send("/status"))[-1]
    assert "赵六" not in card
    # A forged member id of another branch is refused.
    await h.tap_data(f"st:rep:{branch.id}:999999")
    assert h.callback_answers()[-1] == "这个按钮已过期，请按最新的消息操作。"
    assert (await outbox.counts(database)).get("pending", 0) == 0
    await h.stop()


async def test_a_queued_probation_reminder_is_dropped_once_the_member_is_formal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    h = Harness(tmp_path / "bot.sqlite3", reminders=True)
    await h.start()
    branch = await h.register()
    assert h.app is not None
    database = h.app.database
    info = MemberInfo(name="王五", status="probationary", joined_on=date(2026, 2, 28))
    member = await members.add(database, user_id=SECRETARY, branch_id=branch.id, info=info)
    await sweep(database, date(2027, 1, 28), TZ)  # a month before: queued, not sent yet
    key = f"ob:{branch.id}:probation.{member.id}:"
    assert (await outbox.counts(database)).get("pending", 0) >= 1
    formal = MemberInfo(name="王五", status="formal", joined_on=date(2026, 2, 28))
    await members.update(
        database, user_id=SECRETARY, branch_id=branch.id, member_id=member.id, info=formal
    )
    rows = await database.fetchall("SELECT state FROM outbox WHERE key LIKE ?", (key + "%",))
    assert rows and {r["state"] for r in rows} == {"cancelled"}
    await h.stop()
