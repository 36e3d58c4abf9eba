"""The superior organization's overview end to end: only admins, exact figures for 300 branches,
the overdue list's pages, the Excel file, and notices delivered once and marked 已阅 once."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import time_machine

from bot import jobs
from bot.branch_profile import FORMATION_MODES
from bot.texts import labels
from db import admins, meetings, notices, settings
from db.models import Branch, Meeting
from tests.conftest import OTHER, SECRETARY, Harness

TZ = ZoneInfo("Asia/Shanghai")
TODAY = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)  # Q4: October is over, November is open
INVITED = 3003
FIRST_SECRETARY = 10_000


def _admin_harness(path: Path, *, reminders: bool = False) -> Harness:
    """A harness whose config makes SECRETARY an admin (he leads no branch here)."""
    h = Harness(path, reminders=reminders)
    h.config = dataclasses.replace(
        h.config, bot=dataclasses.replace(h.config.bot, admin_ids=(SECRETARY,))
    )
    h.fake.add_user(INVITED, first_name="受邀")
    return h


async def _meeting(h: Harness, branch: Branch, kind: str, day: date, *also: str) -> None:
    assert h.app is not None
    await meetings.create_meeting(
        h.app.database,
        user_id=branch.created_by,
        branch_id=branch.id,
        meeting=Meeting(kind=kind, held_on=day, also_counts_as=also),
        draft_key=f"m-{branch.id}-{kind}-{day}",
    )


async def _fill(h: Harness, count: int) -> list[Branch]:
    """`count` branches, each led by its own secretary (user 10000 + i), in four groups by i % 4:

    0 complete for the quarter; 1 nothing at all; 2 October done, November's 主题党日 held, the
    quarter's and year's meetings still open (due); 3 as 2 but October's 主题党日 missed.
    Every third branch has a committee; formation modes go round.
    """
    assert h.app is not None
    database = h.app.database
    oct_, nov = date(2026, 10, 1), date(2026, 11, 1)
    made = []
    for i in range(count):
        user = FIRST_SECRETARY + i
        h.fake.add_user(user, first_name=f"书记{i}")
        committee = i % 3 == 0
        branch = await h.register(
            user,
            key=f"b{i}",
            name=f"支部{i:03d}",
            formation_mode=FORMATION_MODES[i % len(FORMATION_MODES)],
            has_committee=committee,
            party_day=1 + i % 28,
            formal_members=2 + i % 6,
        )
        made.append(branch)
        also = ("committee_meeting",) if committee else ()
        group = i % 4
        if group == 1:
            continue
        if group != 3:
            await _meeting(h, branch, "theme_party_day", date(2026, 10, 8), *also)
        elif committee:
            await _meeting(h, branch, "committee_meeting", date(2026, 10, 8))
        await _meeting(h, branch, "theme_party_day", date(2026, 11, 5), *(also * (group == 0)))
        for month in (oct_, nov):
            await settings.mark_done(
                database, user_id=user, branch_id=branch.id, code="party_dues", period_start=month
            )
        if group == 0:
            await _meeting(
                h,
                branch,
                "member_meeting",
                date(2026, 10, 20),
                "party_lecture",
                "organizational_life_meeting",
                "member_appraisal",
            )
    async with database.transaction() as conn:  # registered long ago: earlier months are owed
        await conn.execute("UPDATE branches SET created_at = '2025-01-01T00:00:00+00:00'")
    return made


def _only(h: Harness, chat: int, needle: str) -> list[dict[str, object]]:
    return [m for m in h.fake.bot_messages(chat) if needle in str(m.get("text") or "")]


@time_machine.travel(TODAY, tick=True)
async def test_only_admins_see_the_overview(tmp_path: Path) -> None:
    h = _admin_harness(tmp_path / "bot.sqlite3")
    await h.start()
    try:
        assert h.app is not None
        await h.register(OTHER, key="other")  # a branch secretary is no admin
        for command in ("/overview", "/notices", "/notice"):
            assert "上级党组织管理员用的" in (await h.send(command, user=OTHER))[-1]
        for data in ("ov:p:1", "ov:x", "ov:home", "nt:l:0", "nt:o:1", "nt:new"):
            await h.tap_data(data, user=OTHER)
            assert "没有这个支部的操作权限" in h.callback_answers()[-1], data
        await h.tap_data("nt:send", user=OTHER)  # outside a conversation: an old button
        assert "按钮已过期" in h.callback_answers()[-1]
        assert not h.fake.sent_files
        assert (await notices.recent(h.app.database, limit=5))[1] == 0
        # A forged 已阅 for a branch the user does not belong to.
        await h.tap_data("nt:read:1:999", user=OTHER)
        assert "没有这个支部的操作权限" in h.callback_answers()[-1]
        # The config's admin and an invited admin get the overview.
        assert "各支部2026年第4季度情况" in (await h.send("/overview"))[-1]
        assert "上级党组织管理员用的" in (await h.send("/overview", user=INVITED))[-1]
        await admins.add(h.app.database, INVITED, invited_by=SECRETARY)
        card = (await h.send("/overview", user=INVITED))[-1]
        assert "各支部2026年第4季度情况" in card and "共 1 个支部" in card
        assert "还没有发过通知" in (await h.send("/notices", user=INVITED))[-1]
    finally:
        await h.stop()


@time_machine.travel(TODAY, tick=True)
async def test_overview_of_300_branches_pages_and_excel(tmp_path: Path) -> None:
    h = _admin_harness(tmp_path / "bot.sqlite3")
    await h.start()
    try:
        await _fill(h, 300)
        card = (await h.send("/overview"))[-1]
        assert "截至11月20日，共 300 个支部" in card
        assert "✅ 全部完成 75 · ⏳ 有待完成 75 · ❗ 有逾期 150" in card
        names = labels().OBLIGATIONS
        for code, done, total in (
            ("committee_meeting", 25, 100),
            ("theme_party_day", 150, 300),
            ("party_dues", 225, 300),
            ("member_meeting", 75, 300),
            ("party_lecture", 75, 300),
            ("organizational_life_meeting", 75, 300),
            ("member_appraisal", 75, 300),
        ):
            assert f"{names[code]} {done}/{total}" in card, code
        assert names["group_meeting"] not in card.split("各项完成情况")[1].split("有逾期的支部")[0]
        assert "有逾期的支部（150 个）" in card and "…还有 140 个" in card
        # Most overdue first: no 支委会 in October, no 主题党日, no 党费 (i = 9, 21, ...).
        first = f"1. 支部009：{names['committee_meeting']}、{names['theme_party_day']}、"
        assert first + names["party_dues"] in card
        assert "单独组建率 20.0% · 没有书记的支部 0" in card
        assert "正式党员不足3人 50" in card
        # The overdue list's pages.
        page = (await h.tap(labels().OVERVIEW_MORE))[-1]
        assert "第 2/15 页" in page and "11. 支部" in page and "20. 支部" in page
        page = (await h.tap(labels().OVERVIEW_MORE))[-1]
        assert "第 3/15 页" in page and "21. 支部" in page
        page = (await h.tap(labels().OVERVIEW_PREV))[-1]
        assert "第 2/15 页" in page
        last = (await h.tap_data("ov:p:14"))[-1]
        assert "第 15/15 页" in last and "150. 支部" in last
        assert "第 15/15 页" in (await h.tap_data("ov:p:99"))[-1]  # past the end: the last page
        await h.tap_data("ov:p:x")
        assert "按钮已过期" in h.callback_answers()[-1]
        # The Excel file: one row per branch under the title and the headings.
        await h.tap(labels().OVERVIEW_BACK)
        await h.tap(labels().OVERVIEW_EXPORT)
        sent = h.fake.sent_files[-1]
        assert sent["kind"] == "document" and str(sent["file_name"]).endswith(".xlsx")
        book = openpyxl.load_workbook(BytesIO(sent["data"]))  # type: ignore[arg-type]
        assert book.sheetnames == ["各支部本季度", "逾期清单", "覆盖情况"]
        rows = list(book["各支部本季度"].iter_rows(min_row=3, values_only=True))
        assert len(rows) == 300
        assert [r[1] for r in rows] == [f"支部{i:03d}" for i in range(300)]
        assert [r[-1] for r in rows[:4]] == ["全部完成", "有逾期", "有待完成", "有逾期"]
        assert len(list(book["逾期清单"].iter_rows(min_row=3))) == 150
    finally:
        await h.stop()


@time_machine.travel(TODAY, tick=True)
async def test_notice_sent_once_read_once(tmp_path: Path) -> None:
    h = _admin_harness(tmp_path / "bot.sqlite3", reminders=True)
    await h.start()
    try:
        assert h.app is not None
        made = await _fill(h, 24)
        lab = labels()
        assert "第1步" in (await h.send("/notice"))[-1]
        # Empty and too long: a clear message and the same question again.
        for typed in ("   ", "通" * 2000):
            reply = (await h.send(typed))[-1]
            assert "⚠️" in reply and "第1步" in reply
        assert "太长了（2000 个字）" in reply
        await h.send("请各支部<b>本月</b>底前补开支委会 & 主题党日。")
        # The filtered set: the branches with something overdue this quarter.
        preview = (await h.tap(lab.NOTICE_AUDIENCES["overdue"]))[-1]
        assert "共 12 个支部" in preview and "12 位书记、副书记" in preview
        preview_id = h.last_message()["message_id"]
        sent = (await h.tap(lab.NOTICE_SEND))[-1]
        assert "通知已发出：12 个支部，12 条消息" in sent
        await h.tap_data("nt:send", message_id=preview_id)  # 发送 tapped again: nothing more
        await jobs.deliverer(h.app).run_once()  # type: ignore[union-attr]
        await jobs.deliverer(h.app).run_once()  # type: ignore[union-attr]
        overdue = {b.id for i, b in enumerate(made) if i % 4 in (1, 3)}
        for i, branch in enumerate(made):
            got = _only(h, branch.created_by, "上级党组织通知")
            assert len(got) == (branch.id in overdue), i
        found, total = await notices.recent(h.app.database, limit=5)
        assert total == 1 and found[0].targets == 12
        # 已阅: counted once for the branch, however often tapped; refused for another branch.
        reader = made[1]
        notice = _only(h, reader.created_by, "上级党组织通知")[0]
        h.fake.tap_button(reader.created_by, lab.NOTICE_READ)
        await h._settle()
        assert "已阅，谢谢" in h.callback_answers()[-1]
        await h.tap_data(
            f"nt:read:{found[0].id}:{reader.id}",
            message_id=int(notice["message_id"]),  # type: ignore[call-overload]
            user=reader.created_by,
        )
        assert "已阅过" in h.callback_answers()[-1]
        stranger = made[3].created_by  # leads another overdue branch
        await h.tap_data(f"nt:read:{found[0].id}:{reader.id}", user=stranger)
        assert "没有这个支部的操作权限" in h.callback_answers()[-1]
        complete = made[0]  # a branch the notice did not go to
        await h.send("/start", user=complete.created_by)
        await h.tap_data(f"nt:read:{found[0].id}:{complete.id}", user=complete.created_by)
        assert "按钮已过期" in h.callback_answers()[-1]
        read = await notices.get(h.app.database, found[0].id)
        assert read is not None and read.read == 1 and read.targets == 12
        assert "已阅 1/12" in (await h.send("/notices"))[-1]
        detail = (await h.tap("1"))[-1]
        assert "已阅 1/12" in detail
        assert "支部001" not in detail and "支部003" in detail
    finally:
        await h.stop()


@time_machine.travel(TODAY, tick=True)
async def test_notice_to_one_formation_mode(tmp_path: Path) -> None:
    h = _admin_harness(tmp_path / "bot.sqlite3", reminders=True)
    await h.start()
    try:
        assert h.app is not None
        made = await _fill(h, 20)
        lab = labels()
        await h.send("/notice")
        await h.send("请联合支部报送名单。")
        await h.tap(lab.NOTICE_AUDIENCES["mode"])
        joint = lab.FORMATION_MODES["joint"]
        button = next(b for b in h.buttons() if b.startswith(joint))
        preview = (await h.tap(button))[-1]
        assert "共 <b>4</b> 个支部" in preview or "共 4 个支部" in preview
        await h.tap(lab.NOTICE_SEND)
        await jobs.deliverer(h.app).run_once()  # type: ignore[union-attr]
        for i, branch in enumerate(made):
            got = _only(h, branch.created_by, "上级党组织通知")
            assert len(got) == (FORMATION_MODES[i % len(FORMATION_MODES)] == "joint"), i
    finally:
        await h.stop()
