"""/overview, /notice and /notices end to end: admins only (config or invited), every branch's
quarter counted exactly for 300 branches (two sets of 300: by plan, and by quarter group), the
overdue list paged, the Excel file checked, notices to a filtered set (by formation mode, and
the branches with something overdue) delivered once to exactly those branches and read once per
branch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from msgspec.structs import replace

from bot import jobs
from bot.branch_profile import FORMATION_MODES, ORGANIZATION_TYPES, InvalidAnswer
from bot.emulator.html import parse_html
from bot.overview import compute, notice_messages, notice_text, quarter_states, workbook
from bot.texts import labels
from db import admins, meetings, members, notices, outbox, overview_data, repo, settings
from db.models import Branch, Meeting, MemberInfo
from db.overview_data import OverviewFacts
from tests.conftest import OTHER, SECRETARY, Harness
from tests.factories import make_profile

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)  # Q4, second month; 主题党日 on the 15th passed
TODAY = NOW.date()
ADMIN = 900
INVITED = 3003
BRANCHES = 300
FIRST_USER = 100_000
LONG_AGO = "2025-06-01T00:00:00+00:00"


async def _started(tmp_path: Path, *, reminders: bool = False) -> Harness:
    h = Harness(tmp_path / "bot.sqlite3", reminders=reminders)
    h.config = replace(h.config, bot=replace(h.config.bot, admin_ids=(ADMIN,)))
    for user in (ADMIN, INVITED):
        h.fake.add_user(user)
    await h.start()
    return h


@pytest.fixture
async def admin_bot(tmp_path: Path) -> AsyncIterator[Harness]:
    """A started bot whose config names ADMIN as an admin."""
    h = await _started(tmp_path)
    yield h
    if h.app is not None:
        await h.stop()


# -- the 300 branches and what each is expected to show -------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One test branch: its profile's variations and its expected quarter."""

    i: int

    @property
    def committee(self) -> bool:
        return self.i % 3 != 0

    @property
    def groups(self) -> bool:
        return self.i % 2 == 0

    @property
    def roster(self) -> bool:
        return self.i % 25 == 0

    @property
    def formal(self) -> int:
        return 1 if self.roster else self.i % 7

    @property
    def probationary(self) -> int:
        return 0 if self.roster else 1

    @property
    def overdue(self) -> list[str]:
        """What is overdue this quarter, in the obligations' order."""
        if self.i % 4 == 2:  # nothing recorded at all
            codes = ["committee_meeting"] if self.committee else []
            codes += ["group_meeting"] if self.groups else []
            return [*codes, "theme_party_day", "party_dues"]
        if self.i % 4 == 3 and self.committee:  # October's 支委会 missed
            return ["committee_meeting"]
        return []

    @property
    def standing(self) -> str:
        if self.overdue:
            return "overdue"
        return "due" if self.i % 4 in (1, 2) else "done"


PLANS = [Plan(i) for i in range(BRANCHES)]


async def _meeting(
    h: Harness, branch_id: int, user: int, kind: str, day: date, *also: str
) -> None:
    assert h.app is not None
    await meetings.create_meeting(
        h.app.database,
        user_id=user,
        branch_id=branch_id,
        meeting=Meeting(kind=kind, held_on=day, also_counts_as=also),
        draft_key=f"{branch_id}-{kind}-{day}",
    )


async def _records(h: Harness, branch_id: int, user: int, plan: Plan) -> None:
    """g0 everything; g1 October, and November's 主题党日; g2 nothing; g3 all but Oct 支委会."""
    assert h.app is not None
    group = plan.i % 4
    if group == 2:
        return
    months = [10] if group == 1 else [10, 11]
    for month in months:
        if plan.committee and not (group == 3 and month == 10):
            await _meeting(h, branch_id, user, "committee_meeting", date(2026, month, 8))
        if plan.groups:
            await _meeting(h, branch_id, user, "group_meeting", date(2026, month, 9))
        await settings.mark_done(
            h.app.database,
            user_id=user,
            branch_id=branch_id,
            code="party_dues",
            period_start=date(2026, month, 1),
        )
    for month in (10, 11):
        await _meeting(h, branch_id, user, "theme_party_day", date(2026, month, 15))
    await _meeting(h, branch_id, user, "member_meeting", date(2026, 10, 10), "party_lecture")
    if group != 1:
        await _meeting(
            h,
            branch_id,
            user,
            "organizational_life_meeting",
            date(2026, 10, 20),
            "member_appraisal",
        )


async def _fill(h: Harness) -> dict[int, int]:
    """The 300 branches, created straight in the database; returns branch id by plan index."""
    assert h.app is not None
    database = h.app.database
    ids = {}
    for plan in PLANS:
        user = FIRST_USER + plan.i
        branch, _ = await repo.create_branch(
            database,
            user_id=user,
            profile=make_profile(
                name=f"支部{plan.i:03d}",
                formation_mode=FORMATION_MODES[plan.i % 5],
                organization_type=ORGANIZATION_TYPES[plan.i // 5 % 5],
                formal_members=plan.i % 7,
                probationary_members=1,
                has_committee=plan.committee,
                has_party_groups=plan.groups,
                party_day=15,
            ),
            draft_key=f"b{plan.i}",
        )
        ids[plan.i] = branch.id
        await _records(h, branch.id, user, plan)
        if plan.i % 10 == 0:  # the secretary stepped down to deputy: no secretary
            await repo.add_membership(
                database, actor_id=user, user_id=user, branch_id=branch.id, role="deputy"
            )
        if plan.i % 6 == 0:
            await settings.update_settings(
                database, user_id=user, branch_id=branch.id, group_chat_id=-1000 - plan.i
            )
        if plan.roster:
            await members.add(
                database,
                user_id=user,
                branch_id=branch.id,
                info=MemberInfo(name="张三", status="formal"),
            )
            await members.confirm_complete(database, user_id=user, branch_id=branch.id)
    async with database.transaction() as conn:
        await conn.execute("UPDATE branches SET created_at = ?", (LONG_AGO,))
    return ids


def _expected_overdue(ids: dict[int, int]) -> list[Plan]:
    return sorted((p for p in PLANS if p.overdue), key=lambda p: (-len(p.overdue), ids[p.i]))


# -- permissions ---------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=True)
async def test_only_admins_see_the_overview(admin_bot: Harness) -> None:
    h = admin_bot
    await h.register(user=OTHER, name="别人的支部")
    for command in ("/overview", "/notice", "/notices"):
        assert "上级党组织管理员用的" in (await h.send(command, user=OTHER))[-1], command
    # Forged buttons (an admin's data typed into someone else's phone) are refused too.
    await h.send("/help", user=OTHER)
    for data in ("ov:home", "ov:p:1", "ov:x", "nt:new", "nt:l:0", "nt:o:1"):
        await h.tap_data(data, user=OTHER)
        assert "没有这个支部的操作权限" in h.callback_answers()[-1], data
    # No notice being written, or no such page: an old or forged button.
    for data in ("nt:send", "ov:p:x"):
        await h.tap_data(data, user=OTHER)
        assert "按钮已过期" in h.callback_answers()[-1], data
    assert not h.fake.sent_files
    assert h.app is not None
    assert (await notices.recent(h.app.database, limit=5))[1] == 0
    # A forged 已阅 for a branch the user does not belong to.
    await h.tap_data("nt:read:1:999", user=OTHER)
    assert "没有这个支部的操作权限" in h.callback_answers()[-1]
    # The config's admin and an invited admin are let in.
    card = (await h.send("/overview", user=ADMIN))[-1]
    assert "各支部2026年第4季度情况" in card and "共 1 个支部" in card
    assert "上级党组织管理员用的" in (await h.send("/overview", user=INVITED))[-1]
    await admins.add(h.app.database, INVITED, invited_by=ADMIN)
    card = (await h.send("/overview", user=INVITED))[-1]
    assert "各支部2026年第4季度情况" in card
    assert "共 1 个支部" in card and "📤导出Excel" in h.buttons(INVITED)
    assert "还没有发过通知" in (await h.send("/notices", user=INVITED))[-1]
    await h.send("/overview", user=INVITED)
    # An admin removed mid-way is refused at the next button.
    await admins.remove(h.app.database, INVITED)
    await h.tap("📤导出Excel", user=INVITED)
    assert "权限" in h.callback_answers()[-1]
    assert not h.fake.sent_files


# -- 300 branches ------------------------------------------------------------------------------


@pytest.mark.long
@time_machine.travel(NOW, tick=True)
async def test_overview_of_300_branches_counts_exactly(admin_bot: Harness) -> None:
    h = admin_bot
    ids = await _fill(h)
    assert h.app is not None
    overview = compute(await overview_data.load(h.app.database, TODAY), TODAY, TZ)
    by_id = {row.id: row for row in overview.rows}
    for plan in PLANS:
        row = by_id[ids[plan.i]]
        assert list(row.overdue) == plan.overdue, plan
        assert row.standing == plan.standing, plan
    assert overview.standing == {"done": 100, "due": 75, "overdue": 125}
    assert dict((code, (done, total)) for code, done, total in overview.per_obligation) == {
        "committee_meeting": (50, 200),
        "group_meeting": (75, 150),
        "member_meeting": (225, 300),
        "party_lecture": (225, 300),
        "theme_party_day": (225, 300),
        "organizational_life_meeting": (150, 300),
        "member_appraisal": (150, 300),
        "party_dues": (150, 300),
    }
    cover = overview.coverage
    assert cover.by_mode == dict.fromkeys(FORMATION_MODES, 60)
    assert cover.standalone_rate == pytest.approx(0.2)
    assert cover.without_secretary == 30
    assert cover.with_group == 50 and cover.with_roster == 12
    assert cover.few_formal == sum(1 for p in PLANS if p.formal < 3)
    assert cover.average_members == pytest.approx(
        sum(p.formal + p.probationary for p in PLANS) / BRANCHES
    )
    # Through the bot: one screen with the first ten overdue branches.
    card = (await h.send("/overview", user=ADMIN))[-1]
    assert "2026年第4季度" in card and "共 300 个支部" in card
    assert "✅ 全部完成 100 · ⏳ 有待完成 75 · ❗ 有逾期 125" in card
    assert "支委会 50/200" in card and "党费收缴 150/300" in card
    assert "单独组建 60 · 联合组建 60" in card and "单独组建率 20.0%" in card
    assert "没有书记的支部 30" in card and "已绑定支部群 50 · 已建花名册 12" in card
    assert len(card) < 1500
    expected = _expected_overdue(ids)
    first = expected[0]
    assert f"1. 支部{first.i:03d}：支委会、党小组会、主题党日、党费收缴" in card
    assert f"10. 支部{expected[9].i:03d}：" in card and "11. " not in card
    assert "还有 115 个" in card
    # 更多: the next pages, numbered on; the last one has no 更多.
    page = (await h.tap("更多 ➡️", user=ADMIN))[-1]
    assert "第 2/13 页" in page
    assert f"11. 支部{expected[10].i:03d}：" in page and f"20. 支部{expected[19].i:03d}" in page
    assert "⬅️ 上一页" in h.buttons(ADMIN)
    last = (await h.tap_data("ov:p:12", user=ADMIN))[-1]
    assert f"125. 支部{expected[124].i:03d}：支委会" in last
    assert "更多 ➡️" not in h.buttons(ADMIN)
    await h.tap_data("ov:p:99999", user=ADMIN)
    assert "过期" in h.callback_answers()[-1]
    # The Excel file: one sheet per view.
    await h.send("/overview", user=ADMIN)
    await h.tap("📤导出Excel", user=ADMIN)
    sent = h.fake.sent_files[-1]
    assert sent["file_name"] == "各支部2026年第4季度情况.xlsx"
    book = openpyxl.load_workbook(BytesIO(sent["data"]))
    assert book.sheetnames == ["各支部本季度", "逾期清单", "覆盖情况"]
    sheet = book["各支部本季度"]
    header = [c.value for c in sheet[2]]
    assert header[:7] == [
        "序号",
        "支部名称",
        "单位类型",
        "组建方式",
        "正式党员",
        "预备党员",
        "有书记",
    ]
    assert sheet.max_row == 2 + BRANCHES
    rows = {r[1]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(3, values_only=True)}
    nothing = rows["支部002"]  # g2, with committee and party groups
    assert nothing["支委会"] == "已逾期" and nothing["党员大会"] == "待完成"
    assert nothing["本季度总体"] == "有逾期" and nothing["组建方式"] == "挂靠组建"
    assert rows["支部001"]["党小组会"] == "不适用" and rows["支部001"]["支委会"] == "待完成"
    assert rows["支部000"]["有书记"] == "否" and rows["支部004"]["有书记"] == "是"
    assert rows["支部004"]["支委会"] == "已完成" and rows["支部004"]["本季度总体"] == "全部完成"
    overdue_sheet = book["逾期清单"]
    assert overdue_sheet.max_row == 2 + 125
    assert overdue_sheet.cell(3, 2).value == f"支部{first.i:03d}"
    assert overdue_sheet.cell(3, 4).value == "支委会、党小组会、主题党日、党费收缴"
    figures = {r[0]: r[1] for r in book["覆盖情况"].iter_rows(3, values_only=True)}
    assert figures["支部总数"] == 300 and figures["单独组建率（单独组建/全部）"] == "20.0%"
    assert figures["没有书记的支部"] == 30 and figures["支委会完成（已完成/应做）"] == "50/200"


# -- quarter states (pure) ----------------------------------------------------------------------


def test_quarter_states_month_by_month() -> None:
    profile = make_profile(has_committee=True, party_day=15)
    old = date(2025, 1, 1)
    # Third month of the quarter: a missed first month counts even though the engine alone
    # only looks one month back.
    records = [("committee_meeting", date(2026, 11, 3)), ("theme_party_day", date(2026, 10, 15))]
    states = quarter_states(profile, records, date(2026, 12, 2), created_on=old)
    assert states["committee_meeting"] == "overdue"  # October missed
    assert states["theme_party_day"] == "overdue"  # November missed
    assert states["group_meeting"] == "not_applicable"
    assert states["member_meeting"] == "due"
    # First month of the quarter: last quarter's misses do not count.
    states = quarter_states(profile, [], date(2026, 10, 2), created_on=old)
    assert states["committee_meeting"] == "due" and states["party_dues"] == "due"
    assert states["organizational_life_meeting"] == "due"
    # A branch created in November does not owe October; turned-off obligations do not apply.
    states = quarter_states(
        profile,
        [("committee_meeting", date(2026, 11, 3))],
        date(2026, 11, 20),
        created_on=date(2026, 11, 2),
        frequencies={"party_dues": "off"},
    )
    assert states["committee_meeting"] == "done"
    assert states["party_dues"] == "not_applicable"
    assert states["theme_party_day"] == "overdue"  # 15 November passed


def test_notice_texts() -> None:
    for bad, code in (("", "empty"), (" \n\t\u200b ", "empty"), ("字" * 1001, "too_long")):
        with pytest.raises(InvalidAnswer) as caught:
            notice_text(bad)
        assert caught.value.code == code
    assert notice_text("  第一行 \r\n\n\n\n第二行  ") == "第一行\n\n第二行"
    assert notice_text("請按時參加 🚩 <b>&") == "請按時參加 🚩 <b>&"
    assert notice_text("字" * 1000) == "字" * 1000


# -- notices ------------------------------------------------------------------------------------

JOINT = (501, 502, 503)
STANDALONE = (504, 505, 506)
DEPUTY = 601


async def _notices_received(h: Harness, user: int) -> list[str]:
    return [
        parse_html(m.get("text") or "")
        for m in h.fake.bot_messages(user)
        if "上级党组织通知" in (m.get("text") or "")
    ]


async def _deliver(h: Harness) -> None:
    assert h.app is not None
    found = jobs.deliverer(h.app)
    assert found is not None
    await found.run_once()


@time_machine.travel(NOW, tick=True)
async def test_notice_to_a_filtered_set_is_delivered_once_and_read_once(tmp_path: Path) -> None:
    h = await _started(tmp_path, reminders=True)
    assert h.app is not None
    database = h.app.database
    for user in (*JOINT, *STANDALONE, DEPUTY):
        h.fake.add_user(user)
    branches = {}
    for n, user in enumerate((*JOINT, *STANDALONE)):
        mode = "joint" if user in JOINT else "standalone"
        # 主题党日 on the 15th has passed without a record: overdue; on the 25th: not yet.
        branches[user] = await h.register(
            user=user, name=f"<b>支部{n}</b>", formation_mode=mode, party_day=15 if n % 2 else 25
        )
    first = branches[JOINT[0]]
    await repo.add_membership(
        database, actor_id=JOINT[0], user_id=DEPUTY, branch_id=first.id, role="deputy"
    )
    # Bad texts, each with a second chance.
    replies = await h.send("/notice", user=ADMIN)
    assert "第1步" in replies[-1]
    assert "没有收到内容" in (await h.send(" ", user=ADMIN))[-1]
    assert "太长了（1001 个字）" in (await h.send("通" * 1001, user=ADMIN))[-1]
    assert "这一步请直接发送文字（不支持图片、文件）" in (await h.send_photo(user=ADMIN))[-1]
    text = "請按時參加 <b>&</b> 🚩\n第二行"
    replies = await h.send(text, user=ADMIN)
    assert "发给哪些支部" in replies[-1]
    assert "请点选下面的一个选项" in (await h.send("全部", user=ADMIN))[-1]
    await h.tap("按组建方式", user=ADMIN)
    assert "联合组建（3）" in h.buttons(ADMIN) and "行业组建（0）" in h.buttons(ADMIN)
    # An empty choice is refused with the same question again (no need to go back).
    assert (await h.tap("行业组建（0）", user=ADMIN))[-1] == (
        "⚠️ 这个范围里没有支部，请换一个。\n\n📢 发通知 · 第2步/共3步\n按组建方式，发给哪一类支部？"
    )
    preview = (await h.tap("联合组建（3）", user=ADMIN))[-1]
    assert "发送范围：按组建方式：联合组建，共 3 个支部（4 位书记、副书记）" in preview
    assert text in preview
    preview_id = h.last_message(ADMIN)["message_id"]
    send_data = h.last_message(ADMIN)["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    replies = await h.tap("✅ 发送", user=ADMIN)
    assert "通知已发出：3 个支部，4 条消息" in replies[-1]
    # A second tap on 发送 (the old preview) sends nothing more.
    await h.tap_data(send_data, preview_id, user=ADMIN)
    assert "过期" in h.callback_answers()[-1]
    await _deliver(h)
    await _deliver(h)
    for user in (*JOINT, DEPUTY):
        received = await _notices_received(h, user)
        assert len(received) == 1, user
        assert text in received[0]
    assert "致：<b>支部0</b>" in (await _notices_received(h, DEPUTY))[0]
    for user in STANDALONE:
        assert await _notices_received(h, user) == []
    [notice], total = await notices.recent(database, limit=10)
    assert total == 1 and notice.targets == 3 and notice.read == 0
    assert notice.text == text and notice.audience == {"kind": "mode", "value": "joint"}
    # A restart in the middle of sending stores and queues nothing twice.
    rows = await notices.targets(database, notice.id)
    again, created = await notices.create(
        database,
        sent_by=ADMIN,
        text=text,
        audience=notice.audience,
        branch_ids=[t.branch_id for t in rows],
        draft_key=(await database.fetchone("SELECT draft_key FROM notices"))["draft_key"],
    )
    assert not created and again.id == notice.id
    overview = compute(await overview_data.load(database, TODAY), TODAY, TZ)
    targets = [r for r in overview.rows if r.formation_mode == "joint"]
    messages = notice_messages(notice.id, text, targets, frozenset(), NOW)
    assert len(messages) == 4 and await outbox.enqueue(database, messages) == 0
    # 已阅: by a member, counted once for the branch; the deputy's tap changes nothing.
    await h.tap("✅ 已阅", user=JOINT[0])
    assert "已阅，谢谢" in h.callback_answers()[-1]
    await h.tap("✅ 已阅", user=DEPUTY)
    assert "已阅过" in h.callback_answers()[-1]
    # Someone outside the branch cannot mark it; a branch it was not sent to is an old button.
    await h.send("/help", user=OTHER)
    await h.tap_data(f"nt:read:{notice.id}:{first.id}", user=OTHER)
    assert "权限" in h.callback_answers()[-1]
    await h.send("/help", user=STANDALONE[0])
    await h.tap_data(f"nt:read:{notice.id}:{branches[STANDALONE[0]].id}", user=STANDALONE[0])
    assert "过期" in h.callback_answers()[-1]
    read = await notices.get(database, notice.id)
    assert read is not None and read.read == 1
    [target] = [t for t in await notices.targets(database, notice.id) if t.read_at]
    assert target.branch_id == first.id and target.read_by == JOINT[0]
    # /notices: 已阅 1/3; opening it lists the two unread branches.
    listing = (await h.send("/notices", user=ADMIN))[-1]
    assert "已阅 1/3" in listing
    detail = (await h.tap("1", user=ADMIN))[-1]
    assert "已阅 1/3" in detail and "未阅的支部" in detail
    assert "<b>支部1</b>" in detail and "<b>支部2</b>" in detail and "<b>支部0</b>" not in detail
    # A second notice to the branches with something overdue; one secretary blocked the bot.
    await outbox.mark_blocked(database, STANDALONE[0], NOW)
    await h.send("/notice", user=ADMIN)
    await h.send("第二条通知", user=ADMIN)
    preview = (await h.tap("本季度有逾期的支部", user=ADMIN))[-1]
    assert "共 3 个支部（2 位书记、副书记）" in preview
    assert "其中 1 个支部的书记、副书记暂时联系不到" in preview
    await h.tap("✅ 发送", user=ADMIN)
    await _deliver(h)
    assert len(await _notices_received(h, JOINT[1])) == 2  # 支部1: party day on the 15th
    assert len(await _notices_received(h, JOINT[0])) == 1  # 支部0: on the 25th
    # /cancel leaves nothing behind (a text was typed: asked first).
    await h.send("/notice", user=ADMIN)
    await h.send("不发了", user=ADMIN)
    assert "放弃这次通知吗" in (await h.send("/cancel", user=ADMIN))[-1]
    assert "已取消" in (await h.tap("🗑 放弃，不保存", user=ADMIN))[-1]
    assert (await notices.recent(database, limit=10))[1] == 2
    await h.stop()


def test_excel_keeps_branch_names_as_text() -> None:
    branch = Branch(1, make_profile(name='=HYPERLINK("x")\x01'), 1, LONG_AGO, LONG_AGO)
    facts = OverviewFacts(
        branches=[branch],
        settings={},
        records={},
        planned={},
        editors={},
        blocked=frozenset(),
        secretaries=frozenset(),
        rosters={},
    )
    book = openpyxl.load_workbook(BytesIO(workbook(compute(facts, TODAY, TZ))))
    cell = book["各支部本季度"].cell(3, 2)
    assert cell.value == '=HYPERLINK("x")' and cell.data_type == "s" and cell.quotePrefix
    assert book["逾期清单"].cell(3, 4).value == "主题党日、党费收缴"


# -- the same views over 300 branches made in four groups, with SECRETARY as the admin ----------

GROUPED_USER = 10_000


def _secretary_admin(path: Path, *, reminders: bool = False) -> Harness:
    """A harness whose config makes SECRETARY an admin (he leads no branch here)."""
    h = Harness(path, reminders=reminders)
    h.config = replace(h.config, bot=replace(h.config.bot, admin_ids=(SECRETARY,)))
    h.fake.add_user(INVITED, first_name="受邀")
    return h


async def _fill_by_group(h: Harness, count: int) -> list[Branch]:
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
        user = GROUPED_USER + i
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
            await _meeting(
                h, branch.id, branch.created_by, "theme_party_day", date(2026, 10, 8), *also
            )
        elif committee:
            await _meeting(h, branch.id, branch.created_by, "committee_meeting", date(2026, 10, 8))
        await _meeting(
            h,
            branch.id,
            branch.created_by,
            "theme_party_day",
            date(2026, 11, 5),
            *(also * (group == 0)),
        )
        for month in (oct_, nov):
            await settings.mark_done(
                database, user_id=user, branch_id=branch.id, code="party_dues", period_start=month
            )
        if group == 0:
            await _meeting(
                h,
                branch.id,
                branch.created_by,
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


@pytest.mark.long
@time_machine.travel(NOW, tick=True)
async def test_overview_of_300_branches_pages_and_excel(tmp_path: Path) -> None:
    h = _secretary_admin(tmp_path / "bot.sqlite3")
    await h.start()
    try:
        await _fill_by_group(h, 300)
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


@time_machine.travel(NOW, tick=True)
async def test_notice_sent_once_read_once(tmp_path: Path) -> None:
    h = _secretary_admin(tmp_path / "bot.sqlite3", reminders=True)
    await h.start()
    try:
        assert h.app is not None
        made = await _fill_by_group(h, 24)
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
        preview = h.last_message()
        send_data = preview["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        sent = (await h.tap(lab.NOTICE_SEND))[-1]
        assert "通知已发出：12 个支部，12 条消息" in sent
        await h.tap_data(send_data, message_id=preview["message_id"])  # again: nothing more
        assert h.callback_answers()[-1] == "这个按钮已过期，请按最新的消息操作。"
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


@time_machine.travel(NOW, tick=True)
async def test_notice_to_one_formation_mode(tmp_path: Path) -> None:
    h = _secretary_admin(tmp_path / "bot.sqlite3", reminders=True)
    await h.start()
    try:
        assert h.app is not None
        made = await _fill_by_group(h, 20)
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
