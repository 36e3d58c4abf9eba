"""Issue 14, a secretary's first hour: every screen agrees and nothing is silently wrong."""

from __future__ import annotations

import random
import struct
import tomllib
import zlib
from datetime import date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import docx
import openpyxl
import time_machine

from bot import jobs
from bot.exports import year_summary
from bot.handlers.status import GRID_MARKS, year_grid
from bot.meetings import MEETING_KINDS
from bot.obligations import (
    DEFAULT_FREQUENCY,
    applies,
    held_by_kind,
    obligations,
    period_of,
    roster_duties,
    state_in,
)
from bot.overview import _RANK as RANK
from bot.overview import quarter_states
from bot.recurrence import next_time, parse_rule
from db import meetings, members, repo, settings
from db.models import Branch, Meeting, Member, MemberInfo, Photo
from tests.conftest import OTHER, SECRETARY, Harness
from tests.factories import make_profile

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parent.parent


def test_pyproject_uses_the_spdx_license_form() -> None:
    """A license table makes setuptools ≥ 77 print pages of deprecation warnings."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT"
    assert project["build-system"]["requires"] == ["setuptools>=77"]


@time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=TZ), tick=True)
async def test_status_says_today_is_the_deadline(harness: Harness) -> None:
    await harness.register()
    card = (await harness.send("/status"))[-1]
    assert "⏳ 党费收缴：今天截止（11月30日）" in card
    assert "还有 0 天" not in card


@time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=TZ), tick=True)
async def test_selfcheck_names_what_is_missing(harness: Harness) -> None:
    await harness.register()
    await harness.send("/selfcheck")
    await harness.tap("八有标准")
    for answer in "是是否是是否是是":
        await harness.tap("✅ 是" if answer == "是" else "❌ 否")
    card = harness.last_message()["text"]
    assert "还差 2 项：有阵地、有经费。" in card
    await harness.tap("🩺 其他自查")
    await harness.tap("软弱涣散排查")
    for answer in "是否是是否":
        await harness.tap("✅ 是" if answer == "是" else "❌ 否")
    card = harness.last_message()["text"]
    assert "有 2 种软弱涣散的情形：工作不力、活动不规范。" in card


async def test_overview_tells_a_secretary_who_it_is_for(harness: Harness) -> None:
    await harness.register()
    reply = (await harness.send("/overview"))[-1]
    assert reply == (
        "🏛 这是给上级党组织管理员用的功能：查看所有支部的完成情况、逾期名单，给支部发通知。\n"
        "怎样成为管理员：请已有的管理员发送 /team admin 生成邀请链接给您，点开即可；"
        "或请部署机器人的同志把您的 Telegram 用户 ID（1001）加入配置文件的 admin_ids。\n"
        "支部书记请用 /status 查看本支部的情况。"
    )


async def test_team_shows_names_the_secretary_recognises(harness: Harness) -> None:
    branch = await harness.register(name="甲支部")
    assert harness.app is not None
    database = harness.app.database
    await repo.add_membership(
        database, actor_id=SECRETARY, branch_id=branch.id, user_id=OTHER, role="committee"
    )
    card = (await harness.send("/team"))[-1]
    assert "书记 · 书记（我）\n支委 · 别人\n" in card
    # The Telegram name is read when shown, never stored: a new name shows at once.
    harness.fake.users[OTHER]["first_name"] = harness.fake.chats[OTHER]["first_name"] = "李明"
    card = (await harness.send("/team"))[-1]
    assert "支委 · 李明\n" in card
    rows = await database.fetchall("SELECT * FROM users")
    assert all("别人" not in str(tuple(row)) and "李明" not in str(tuple(row)) for row in rows)
    # Signed in as a roster entry: the roster name.
    member = await members.add(
        database, user_id=SECRETARY, branch_id=branch.id, info=MemberInfo("林曉紅", "formal")
    )
    assert await members.link_user(database, branch.id, member.id, OTHER)
    assert "支委 · 林曉紅\n" in (await harness.send("/team"))[-1]


async def _deliver(h: Harness) -> None:
    assert h.app is not None
    found = jobs.deliverer(h.app)
    assert found is not None
    await found.run_once()


@time_machine.travel(datetime(2026, 11, 30, 20, 0, tzinfo=TZ), tick=True)
async def test_remind_next_time_is_always_in_the_future(tmp_path: Path) -> None:
    h = Harness(tmp_path / "bot.sqlite3", reminders=True)
    await h.start()
    try:
        await h.register()
        # 20:00 on the last day of November: 17:00 today has passed, the next is 31 December.
        replies = await h.send("/remind 每月最后一天 17:00 收党费")
        assert "下一次：2026年12月31日 17:00" in replies[-1]
        await _deliver(h)
        assert not [m for m in h.fake.bot_messages(SECRETARY) if "收党费" in m["text"][:20]]
        assert h.app is not None
        pending = await h.app.database.fetchall("SELECT key FROM outbox WHERE key LIKE 'cr:%'")
        assert pending == []
        # Daily and working-day rules; 2 December 2026 is a Wednesday, 5 December a Saturday.
        replies = await h.send("/remind 每天 9:00 看一眼群消息")
        assert "✅ 提醒已保存：每天 09:00" in replies[-1]
        assert "下一次：2026年12月1日 09:00" in replies[-1]
        replies = await h.send("/remind 每个工作日 8:30 打卡")
        assert "✅ 提醒已保存：每个工作日 08:30" in replies[-1]
        assert "下一次：2026年12月1日 08:30" in replies[-1]
        rows = await h.app.database.fetchall("SELECT rule FROM custom_reminders ORDER BY id")
        assert [r["rule"] for r in rows] == ["monthly", "daily", "workday"]
        # A date that does not exist is named as such.
        replies = await h.send("/remind 2月30日 10:00 报材料")
        assert replies[-1].startswith("⚠️ 没有这一天（例如2月没有30日），请核对后再写。")
    finally:
        await h.stop()


def test_workday_rule_skips_weekends_and_holidays() -> None:
    rule = parse_rule("每个工作日 9:00", date(2026, 9, 30))
    # 1–7 October 2026 is the National Day holiday; Saturday 10 October is worked (调休).
    assert next_time(rule, datetime(2026, 9, 30, 10, 0)) == datetime(2026, 10, 8, 9, 0)
    assert next_time(rule, datetime(2026, 10, 9, 10, 0)) == datetime(2026, 10, 10, 9, 0)
    assert next_time(rule, datetime(2026, 10, 10, 10, 0)) == datetime(2026, 10, 12, 9, 0)
    assert next_time(rule, datetime(2026, 9, 30, 8, 0)) == datetime(2026, 9, 30, 9, 0)
    daily = parse_rule("每天 9:00", date(2026, 9, 30))
    assert next_time(daily, datetime(2026, 9, 30, 9, 0)) == datetime(2026, 10, 1, 9, 0)


@time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=TZ), tick=True)
async def test_term_date_may_be_a_month(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/reminders")
    await harness.tap("🗳 换届信息")
    assert "还没到" in (await harness.send("2027年1月"))[-1]
    assert "没有这一天" in (await harness.send("2024年13月"))[-1]
    assert "任期几年" in (await harness.send("2024年6月"))[-1]
    card = (await harness.tap("任期3年"))[-1]
    assert "换届：上次选举 2024年6月，任期 3 年，届满 2027年6月\n" in card
    assert harness.app is not None
    saved = await settings.get_settings(harness.app.database, branch.id)
    assert (saved.elected_on, saved.elected_month_only) == (date(2024, 6, 1), True)
    assert "🗳 支部换届：任期至 2027年6月（还有 183 天）" in (await harness.send("/status"))[-1]
    # A day again: shown with its day.
    await harness.send("/reminders")
    await harness.tap("🗳 换届信息")
    await harness.send("2024年6月18日")
    card = (await harness.tap("任期3年"))[-1]
    assert "上次选举 2024年6月18日（周二），任期 3 年，届满 2027年6月18日（周五）" in card


@time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=TZ), tick=True)
async def test_a_partial_roster_never_overrides_the_member_counts(harness: Harness) -> None:
    """A 商会 branch of 9 formal and 2 probationary members adds its first member."""
    branch = await harness.register(formal_members=9, probationary_members=2)
    assert harness.app is not None
    database = harness.app.database
    await members.add(
        database,
        user_id=SECRETARY,
        branch_id=branch.id,
        info=MemberInfo("王建华", "formal", date(2016, 7, 1)),
    )
    saved = await repo.get_branch(database, branch.id)
    assert saved is not None and saved.profile.formal_members == 9
    assert saved.profile.probationary_members == 2
    screen = (await harness.send("/members"))[-1]
    assert (
        "党员人数按支部信息：正式党员 9 名、预备党员 2 名（花名册已录 1 名党员，尚未确认录完）。"
        '全部录完后点"✅ 已录完"，之后人数以花名册为准。'
    ) in screen
    assert "✅ 已录完，按花名册：正式 1、预备 0" in harness.buttons()
    # /branch: no "不足3人" warning, and it says where the numbers come from.
    card = (await harness.send("/branch"))[-1]
    assert "正式党员：9 人　预备党员：2 人" in card and "不足3人" not in card
    assert (
        "党员人数按支部信息：正式党员 9 名、预备党员 2 名（花名册已录 1 名党员，尚未确认录完）；"
        "录完后在 /members 中确认。"
    ) in card
    # /status: 谈心谈话 counted against the 11 members, saying so.
    status = (await harness.send("/status"))[-1]
    assert (
        "⏳ 谈心谈话：已谈 0/11 人（按支部信息中的 11 人算，花名册尚未确认录完），还有" in status
    )
    # /log: the default 应到 is the 11, and says so; 实到 9 is accepted.
    await harness.send("/log")
    await harness.tap("党员大会")
    await harness.send("11月20日")
    await harness.send("14:30 会议室")
    replies = await harness.send("张三 李四")
    assert "应到按支部信息中的党员人数 11 人算" in replies[-1]
    assert "议题：每行一个" in (await harness.send("9"))[-1]  # 实到 9 of 应到 11: accepted
    await harness.send("/cancel")
    # One tap confirms the roster: from then on the counts come from it.
    await harness.send("/members")
    await harness.tap("✅ 已录完，按花名册：正式 1、预备 0")
    assert harness.callback_answers()[-1] == "✅ 好的，党员人数今后以花名册为准。"
    screen = harness.last_message()["text"]
    assert "党员人数按花名册：正式党员 1 名、预备党员 0 名。" in screen
    saved = await repo.get_branch(database, branch.id)
    assert saved is not None and saved.roster_complete
    assert (saved.profile.formal_members, saved.profile.probationary_members) == (1, 0)
    status = (await harness.send("/status"))[-1]
    assert "⏳ 谈心谈话：已谈 0/1 人，" in status


@time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=TZ), tick=True)
async def test_members_entry_date_unknown_no_groups_and_cancel_asks(harness: Harness) -> None:
    branch = await harness.register()  # no party groups
    assert harness.app is not None
    database = harness.app.database
    await harness.send("/members")
    await harness.tap("➕ 添加")
    await harness.send("林曉紅")
    replies = await harness.tap("预备党员")
    assert replies[-1] == (
        "➕ 添加到花名册（第 3 步）\n接收为预备党员日期？例如 2024-05-01 或 2024年5月1日。"
        '不记得可点"🤷 不记得了"（之后可以补上；没有日期就不计算党龄和预备期满转正的时间，'
        "也不会提醒转正）。\n发送 /cancel 可随时取消。"
    )
    # Typed instead of tapped; the next question is 流动党员, not 党小组 (the branch has none).
    replies = await harness.send("不记得了")
    assert "是流动党员吗" in replies[-1]
    card = (await harness.tap("否"))[-1]
    assert "接收为预备党员日期：不详（不计算预备期满时间，不提醒转正）\n流动党员：否" in card
    assert "党小组" not in " ".join(harness.buttons())
    [saved] = await members.list_for(database, branch.id)
    assert saved.info == MemberInfo("林曉紅", "probationary")  # stored as typed
    # The same person typed in simplified is a duplicate: matching normalizes.
    await harness.tap("➕ 继续添加")
    assert "花名册里已有同名" in (await harness.send("林晓红"))[-1]
    # ✖️ 取消 after something was typed asks first (the form engine's question, the same in
    # every form); 继续填写 goes back to the question.
    await harness.send("张三")
    replies = await harness.tap("✖️ 取消")
    assert replies[-1] == "放弃这次花名册录入吗？已经填写的内容不会保存。"
    assert harness.buttons() == ["🗑 放弃，不保存", "↩️ 继续填写"]
    assert "张三 的身份" in (await harness.tap("↩️ 继续填写"))[-1]
    await harness.tap("✖️ 取消")
    assert "已取消" in (await harness.tap("🗑 放弃，不保存"))[-1]
    assert len(await members.list_for(database, branch.id)) == 1
    # Nothing typed yet: ✖️ 取消 cancels at once.
    await harness.send("/members")
    await harness.tap("➕ 添加")
    assert "已取消" in (await harness.tap("✖️ 取消"))[-1]


def test_talks_match_names_in_their_normalized_form() -> None:
    roster = [
        Member(1, 1, MemberInfo("林曉紅", "formal")),
        Member(2, 1, MemberInfo("王伟", "formal")),
    ]
    [talk] = roster_duties(roster, [(date(2026, 3, 1), "林晓红")], date(2026, 11, 23))
    assert talk.progress == (1, 2)


def _png(width: int, height: int) -> bytes:
    """A real (grey) PNG image of the given size."""
    row = b"\x00" + b"\x80" * width
    pixels = zlib.compress(row * height)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


@time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=TZ), tick=True)
async def test_word_record_agrees_with_the_attendance_and_holds_the_photos(
    harness: Harness,
) -> None:
    branch = await harness.register(formal_members=9, probationary_members=0)
    assert harness.app is not None
    photos = []
    for size in ((4000, 3000), (600, 2400)):  # a wide one and a tall one
        await harness.send_photo(_png(*size))
        [photo] = harness.fake.messages(SECRETARY)[-2]["photo"][-1:]
        photos.append(Photo(photo["file_id"], photo["file_unique_id"]))
    record, _ = await meetings.create_meeting(
        harness.app.database,
        user_id=SECRETARY,
        branch_id=branch.id,
        meeting=Meeting(
            kind="member_meeting",
            held_on=date(2026, 11, 20),
            place="会议室",
            host="张三",
            recorder="李四",
            expected=9,
            present=7,
            on_leave=0,
            photos=tuple(photos),
        ),
        draft_key="m",
    )
    await harness.send("/history")
    await harness.tap("1")
    await harness.tap("📝 导出Word")
    sent = harness.fake.sent_files[-1]
    document = docx.Document(BytesIO(sent["data"]))
    table = {row.cells[0].text: row.cells[1].text for row in document.tables[0].rows}
    assert table["出席情况"] == "应到 9 人，实到 7 人，请假 0 人，缺席 2 人"
    assert table["缺席人员及原因"] == "缺席 2 人，未填写姓名"
    # The photos are in the record, scaled into the page (text width 16 cm, half a page high).
    shapes = document.inline_shapes
    assert len(shapes) == 2
    section = document.sections[0]
    width = section.page_width - section.left_margin - section.right_margin
    height = (section.page_height - section.top_margin - section.bottom_margin) // 2
    assert all(s.width <= width and s.height <= height for s in shapes)
    assert shapes[0].width == width  # the wide one fills the width
    assert shapes[1].height == height  # the tall one is as high as allowed
    texts = [p.text for p in document.paragraphs]
    assert "照片 1" in texts and "照片 2" in texts
    assert not [t for t in texts if "原件保存在" in t]
    assert record.photos == tuple(photos)


# -- item 5: one rule for what is owed and where it stands -----------------------------------


def _random_branch(rng: random.Random) -> tuple[Any, dict[str, str], date, dict[date, date]]:
    profile = make_profile(
        has_committee=rng.random() < 0.6,
        has_party_groups=rng.random() < 0.4,
        party_day=rng.choice([1, 10, 15, 28, 31]),
    )
    frequencies = {
        code: rng.choice(["monthly", "quarterly", "yearly", "off"])
        for code in rng.sample(sorted(DEFAULT_FREQUENCY), 3)
    }
    created_on = date(2026, 1, 1) + timedelta(days=rng.randrange(0, 300))
    planned = {}
    for month in rng.sample(range(1, 13), 3):
        start = date(2026, month, 1)
        planned[start] = start + timedelta(days=rng.randrange(0, 28))
    return profile, frequencies, created_on, planned


class _Rule:
    """state_in for one random branch: the answer every screen must give."""

    def __init__(
        self, profile: Any, held: Any, chosen: dict[str, str], options: dict[str, Any]
    ) -> None:
        self.profile, self.held, self.chosen, self.options = profile, held, chosen, options
        self.asked = 0

    def __call__(self, code: str, start: date, today: date) -> str:
        self.asked += 1
        frequency = self.chosen[code] if self.chosen[code] != "off" else "monthly"
        period = period_of(frequency, start)
        return state_in(code, period, self.profile, self.held, today, **self.options).state


def test_every_screen_judges_a_year_of_random_records_alike() -> None:
    """/status (its list and its year grid), the reminders (both call obligations), the Excel
    summary and /overview, against state_in, on every fourth day of a year of random records."""
    rng = random.Random(14)
    for _ in range(3):
        profile, frequencies, created_on, planned = _random_branch(rng)
        kinds = sorted(DEFAULT_FREQUENCY)
        records = [
            (rng.choice(kinds), date(2026, 1, 1) + timedelta(days=rng.randrange(365)))
            for _ in range(rng.randrange(5, 40))
        ]
        meetings_ = [
            Meeting(kind=kind, held_on=day) for kind, day in records if kind in MEETING_KINDS
        ]
        pairs = [(m.kind, m.held_on) for m in meetings_]
        held = held_by_kind(pairs)
        branch = Branch(1, profile, 1, f"{created_on.isoformat()}T00:00:00+00:00", "")
        chosen = {**DEFAULT_FREQUENCY, **frequencies}
        options = {"frequencies": frequencies, "created_on": created_on, "planned_days": planned}

        rule = _Rule(profile, held, chosen, options)
        for today in (date(2026, 1, 1) + timedelta(days=n) for n in range(0, 365, 4)):
            listed = obligations(profile, pairs, today, **options)
            for ob in listed:
                assert ob.state == rule(ob.code, ob.period.start, today), (ob, today)
            applicable = {c: f for c, f in chosen.items() if f != "off" and applies(c, profile)}
            for row in year_grid(branch, applicable, pairs, today, created_on, planned):
                periods = {"monthly": 12, "quarterly": 4, "yearly": 1}[row["frequency"]]
                for index, cell in enumerate(row["cells"]):
                    start = date(2026, 1 + index * 12 // periods, 1)
                    expected = rule(row["code"], start, today)
                    if expected == "due" and start > today:
                        expected_mark = "·"
                    else:
                        expected_mark = GRID_MARKS[expected]
                    assert cell == expected_mark, (row["code"], start, today)
            for summary in year_summary(profile, 2026, meetings_, today, **options):
                for period in summary.periods:
                    assert period.state == rule(summary.code, period.start, today)
            quarter = period_of("quarterly", today)
            states = quarter_states(profile, pairs, today, **options)
            for code in DEFAULT_FREQUENCY:
                frequency = chosen[code] if chosen[code] != "off" else "monthly"
                starts = sorted(
                    {
                        period_of(frequency, quarter.start + timedelta(days=d)).start
                        for d in range((today - quarter.start).days + 1)
                    }
                )
                worst = max((rule(code, s, today) for s in starts), key=RANK.__getitem__)
                assert states[code] == worst, (code, today, states[code], worst)
        assert rule.asked > 3000  # every screen was compared on every fourth day


async def _ledger_summary(harness: Harness) -> dict[str, dict[str, object]]:
    """The 2026 ledger's 汇总 sheet, exported through /export: each kind's row by column."""
    await harness.send("/export")
    await harness.tap("2026年")
    workbook = openpyxl.load_workbook(BytesIO(harness.fake.sent_files[-1]["data"]))
    sheet = workbook["汇总"]
    header = [cell.value for cell in sheet[3]]
    return {
        row[0]: dict(zip(header, row, strict=True))
        for row in sheet.iter_rows(4, 8, values_only=True)
    }


@time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=TZ), tick=True)
async def test_status_partyday_and_ledger_agree(harness: Harness) -> None:
    branch = await harness.register(party_day=15)
    assert harness.app is not None
    database = harness.app.database
    async with database.transaction() as conn:
        await conn.execute(
            "UPDATE branches SET created_at = ? WHERE id = ?",
            ("2026-06-10T02:00:00+00:00", branch.id),
        )
    status = (await harness.send("/status"))[-1]
    assert "❗ 主题党日：已过期限（11月15日）" in status
    # Before the branch registered (10 June): not owed, on every screen.
    assert "主题党日 －－－－－❗❗❗❗❗❗·\n" in status
    card = (await harness.send("/partyday"))[-1]
    assert "11月（固定日 11月15日）\n❗ 已过期限（11月15日），还没有记录。" in card
    rows = await _ledger_summary(harness)
    party_day = rows["主题党日"]
    assert [party_day[f"{m}月"] for m in range(1, 13)] == ["－"] * 5 + [0] * 6 + [None]
    assert party_day["应开"] == 6
    assert party_day["完成情况"] == "缺 6月、7月、8月、9月、10月、11月"


@time_machine.travel(datetime(2026, 12, 1, 10, 0, tzinfo=TZ), tick=True)
async def test_a_meeting_logged_for_before_registration_counts_on_every_screen(
    harness: Harness,
) -> None:
    """A new secretary logs last month's 支委会 on the day she registers: the month shows it as
    held, not as 登记前, on /status and in the ledger; months without a record stay 登记前."""
    await harness.register(party_day=15, has_committee=True)
    await harness.send("/log")
    for tap_or_text in ("支委会", "11月30日下午3点", "会议室", "张三 李四", "5 5", "研究工作",
                        "讨论了年度计划"):  # fmt: skip
        if tap_or_text == "支委会":
            await harness.tap(tap_or_text)
        else:
            await harness.send(tap_or_text)
    await harness.tap("跳过（没有决议）")
    await harness.tap("没有照片，完成")
    assert "已保存" in (await harness.tap("✅ 保存记录"))[0]
    status = (await harness.send("/status"))[-1]
    assert "支委会 －－－－－－－－－－✅⏳\n" in status
    assert "主题党日 －－－－－－－－－－－⏳\n" in status
    rows = await _ledger_summary(harness)
    committee = rows["支委会"]
    assert [committee[f"{m}月"] for m in range(1, 13)] == ["－"] * 10 + [1, 0]
    assert (committee["应开"], committee["已开"]) == (2, 1)
    assert committee["完成情况"] == "12月待开"


@time_machine.travel(datetime(2026, 12, 1, 0, 14, tzinfo=TZ), tick=True)
async def test_a_branch_registered_just_after_midnight_owes_nothing_for_last_month(
    harness: Harness,
) -> None:
    # 00:14 on 1 December in Beijing is still 30 November in UTC, the form stored.
    branch = await harness.register(party_day=15, has_committee=True)
    assert branch.created_at.startswith("2026-11-30T16:14")
    status = (await harness.send("/status"))[-1]
    assert "已过期限" not in status
    assert "主题党日 －－－－－－－－－－－⏳\n" in status
    card = (await harness.send("/partyday"))[-1]
    assert "\n\n12月（固定日 12月15日）\n⏳ 还没有安排\n\n1月（固定日 1月15日）" in card
    rows = await _ledger_summary(harness)
    assert rows["支委会"]["11月"] == "－" and rows["支委会"]["完成情况"] == "12月待开"
