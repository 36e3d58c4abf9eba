"""/archive, /deletebranch and /forgetme end to end: the archive's files, a real delete that leaves
nothing of the branch in any table (nor in anyone's unfinished flow), and a user's own data
deleted after two confirmations."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openpyxl
import pytest
import time_machine

from bot.emulator.html import parse_html
from bot.leaving import archive_name, same_name
from bot.texts import render
from db import custom_reminders, erase, invitations, meetings, members, outbox, repo, settings
from db.database import Database
from db.models import CustomReminder, Meeting, MemberInfo, Photo
from db.outbox import OutboxMessage
from tests.conftest import OTHER, SECRETARY, Harness

# The question index is built once per test process, when first asked: the tests that ask
# run in one process (make test: --dist loadgroup), so only it builds the index.
pytestmark = pytest.mark.xdist_group("knowledge")

THIRD = 3003
LONER = 777001
MARK = "删测ZX"
NOW = "2026-11-23 10:00 +08:00"


async def _seed(db: Database, branch_id: int, user_id: int, mark: str) -> None:
    """A row in every table that hangs on a branch; every text carries `mark`."""
    record, _ = await meetings.create_meeting(
        db,
        user_id=user_id,
        branch_id=branch_id,
        meeting=Meeting(
            kind="member_meeting", held_on=date(2026, 11, 2), place=f"{mark}会议室",
            host=f"{mark}甲", content=f"{mark}内容", expected=5, present=5,
            photos=(Photo(f"{mark}-file-1", f"{mark}-u1"), Photo(f"=cmd{mark}", f"{mark}-u2")),
        ),
        draft_key=f"{mark}-draft",
    )  # fmt: skip
    roster = await members.add(
        db, user_id=user_id, branch_id=branch_id, info=MemberInfo(f"{mark}张三", "formal")
    )
    await members.add(
        db, user_id=user_id, branch_id=branch_id, info=MemberInfo(f"=SUM(1){mark}", "activist")
    )
    await custom_reminders.create(
        db,
        user_id=user_id,
        reminder=CustomReminder(0, branch_id, f"{mark}收党费", "weekly", "09:00", weekday=4),
    )
    await settings.update_settings(
        db, user_id=user_id, branch_id=branch_id, reminder_time="10:00", group_chat_id=-branch_id
    )
    await meetings.save_plan(
        db, user_id=user_id, branch_id=branch_id, planned_on=date(2026, 12, 15),
        theme=f"{mark}主题", activity_form="study",
    )  # fmt: skip
    await settings.snooze(db, branch_id, "party_dues", date(2026, 11, 1), date(2026, 11, 25))
    await settings.mark_done(
        db, user_id=user_id, branch_id=branch_id, code="party_dues", period_start=date(2026, 10, 1)
    )
    await invitations.create(
        db, branch_id=branch_id, role="viewer", created_by=user_id, source_key=f"{mark}-inv"
    )
    soon = datetime.now(UTC) + timedelta(hours=1)
    await outbox.enqueue(
        db,
        [
            OutboxMessage(key=f"{mark}:{branch_id}:1", branch_id=branch_id, chat_id=user_id,
                          text=f"{mark}提醒", not_before=soon),
            OutboxMessage(key=f"{mark}:{branch_id}:2", branch_id=None, chat_id=-branch_id,
                          text=f"{mark}群提醒", not_before=soon),
        ],
    )  # fmt: skip
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO selfchecks (branch_id, user_id, kind, answers, score, total, checked_on, "
            "source_key, created_at) VALUES (?, ?, 'eight', 'yyyyyyyy', 8, 8, '2026-11-01', ?, "
            "'x')",
            (branch_id, user_id, f"{mark}-{branch_id}"),
        )
        cursor = await conn.execute(
            "INSERT INTO checkins (branch_id, chat_id, held_on, opened_by, opened_at, meeting_id) "
            "VALUES (?, ?, '2026-11-02', ?, 'x', ?)",
            (branch_id, -branch_id, user_id, record.id),
        )
        checkin = cursor.lastrowid
        await conn.execute(
            "INSERT INTO checkin_marks (checkin_id, member_id, state, reason, at) "
            "VALUES (?, ?, 'leave', ?, 'x')",
            (checkin, roster.id, f"{mark}病假"),
        )
        await conn.execute(
            "INSERT INTO makeups (branch_id, member_id, checkin_id, created_at) "
            "VALUES (?, ?, ?, 'x')",
            (branch_id, roster.id, checkin),
        )
        cursor = await conn.execute(
            "INSERT INTO notices (sent_by, text, created_at) VALUES (1, '通知', 'x')"
        )
        await conn.execute(
            "INSERT INTO notice_targets (notice_id, branch_id) VALUES (?, ?)",
            (cursor.lastrowid, branch_id),
        )


async def _leftovers(db: Database, branch_id: int, needle: str) -> list[str]:
    """Every row anywhere that still belongs to the branch or mentions the text."""
    found = []
    tables = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    for table in [t["name"] for t in tables if not t["name"].startswith("sqlite_")]:
        columns = [c["name"] for c in await db.fetchall(f"PRAGMA table_info({table})")]
        for row in await db.fetchall(f"SELECT * FROM {table}"):
            values = dict(zip(columns, row, strict=True))
            if table == "audit_log" and values["action"] == "delete_branch":
                assert needle not in values["changes"]
                continue
            mentions = any(needle in str(v) for v in values.values())
            if values.get("branch_id") == branch_id or mentions:
                found.append(f"{table}: {values}")
    return found


async def _conversations_of(db: Database, user_id: int) -> list[str]:
    """The stored forms and waits the user has open."""
    forms = await db.fetchall("SELECT form FROM form_state WHERE user_id = ?", (user_id,))
    waits = await db.fetchall("SELECT name FROM user_state WHERE user_id = ?", (user_id,))
    return [row["form"] for row in forms] + [row["name"] for row in waits]


def _read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@time_machine.travel(NOW, tick=True)
async def test_archive_holds_every_file(harness: Harness) -> None:
    branch = await harness.register(name="甲/支部<b>")
    assert harness.app is not None
    database = harness.app.database
    await _seed(database, branch.id, SECRETARY, MARK)
    replies = await harness.send("/archive")
    assert "正在生成" in replies[0]
    sent = harness.fake.sent_files[-1]
    assert sent["file_name"] == "甲_支部_b__存档_2026-11-23.zip"
    caption = sent["caption"]
    assert "花名册 2 人，会议记录 1 条，照片清单 2 张" in caption
    archive = zipfile.ZipFile(io.BytesIO(sent["data"]))
    assert sorted(archive.namelist()) == sorted(
        ["花名册.xlsx", "会议记录台账（2026年）.xlsx", "照片清单.csv", "设置.json", "操作记录.csv"]
    )
    sheet = openpyxl.load_workbook(io.BytesIO(archive.read("花名册.xlsx"))).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:3] == ["姓名", "类别", "入党日期"]
    assert [f"{MARK}张三", "正式党员"] in [r[:2] for r in rows]
    # Text that looks like a formula stays text.
    assert any(r[0] == f"=SUM(1){MARK}" for r in rows)
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    ledger = openpyxl.load_workbook(io.BytesIO(archive.read("会议记录台账（2026年）.xlsx")))
    assert len(ledger.sheetnames) >= 2
    photos = _read_csv(archive.read("照片清单.csv"))
    assert photos[0] == ["会议日期", "类型", "记录编号", "第几张", "Telegram file_id"]
    assert photos[1][:2] == ["2026-11-02", "党员大会"] and photos[1][4] == f"{MARK}-file-1"
    assert photos[2][4] == f"'=cmd{MARK}"
    document = json.loads(archive.read("设置.json"))
    assert document["branch"]["name"] == "甲/支部<b>"
    assert document["settings"]["reminder_time"] == "10:00"
    assert document["custom_reminders"][0]["text"] == f"{MARK}收党费"
    assert document["party_day_plans"][0]["theme"] == f"{MARK}主题"
    audit = _read_csv(archive.read("操作记录.csv"))
    assert audit[0][:3] == ["时间", "用户编号", "操作"]
    assert audit[1][2] == "create" and audit[1][0].startswith("2026-11-23 10:0")
    # A deputy may too (from the /team card); a committee member or a viewer may not.
    await harness.send("/help", user=OTHER)
    for role, allowed in (("deputy", True), ("committee", False), ("viewer", False)):
        await repo.add_membership(
            database, actor_id=SECRETARY, user_id=OTHER, branch_id=branch.id, role=role
        )
        count = len(harness.fake.sent_files)
        await harness.tap_data(f"lv:ar:{branch.id}", user=OTHER)
        assert (len(harness.fake.sent_files) > count) is allowed, role
        if not allowed:
            assert "权限" in harness.callback_answers()[-1]
            replies = await harness.send("/archive", user=OTHER)
            assert "权限" in replies[-1]


@time_machine.travel(NOW, tick=True)
async def test_delete_branch_leaves_nothing(harness: Harness) -> None:
    harness.fake.add_user(THIRD, first_name="支委")
    doomed = await harness.register(name=f"{MARK}支部")
    kept = await harness.register(user=OTHER, key="kept", name="保留支部")
    assert harness.app is not None
    database = harness.app.database
    await _seed(database, doomed.id, SECRETARY, MARK)
    await _seed(database, kept.id, OTHER, "KEEP")
    for user, role in ((THIRD, "committee"), (OTHER, "viewer")):
        await repo.add_membership(
            database, actor_id=SECRETARY, user_id=user, branch_id=doomed.id, role=role
        )
    await repo.set_current_branch(database, OTHER, doomed.id)
    # A committee member is halfway through logging a meeting for the branch.
    await harness.send("/log", user=THIRD)
    await harness.tap("党员大会", user=THIRD)
    assert harness.app.forms.peek(THIRD)[1]["branch_id"] == doomed.id
    assert await _conversations_of(database, THIRD) == ["lg"]
    # Only the secretary may; the deputy-less viewer gets no permission.
    assert "权限" in (await harness.send("/deletebranch", user=OTHER))[-1]
    await harness.tap_data(f"lv:d1:{doomed.id}", user=THIRD)
    assert "权限" in harness.callback_answers()[-1]
    # Step one: what goes, and the archive offered.
    card = (await harness.send("/deletebranch"))[-1]
    assert "团队成员 3 人" in card and "会议记录 1 条、照片 2 张" in card
    assert "花名册 2 人" in card and "自定义提醒 1 条" in card
    assert harness.buttons() == ["📦 导出存档", "继续删除", "不删了"]
    await harness.tap("不删了")
    assert await repo.get_branch(database, doomed.id) is not None
    await harness.send("/deletebranch")
    # Step two: the name, typed; wrong answers get a second chance.
    replies = await harness.tap("继续删除")
    assert f"请输入支部的完整名称{MARK}支部" in replies[-1]
    for wrong in ("", "<b>&", "保留支部", "🚩" * 300, f"{MARK}支"):
        replies = await harness.send(wrong or " ")
        assert "名称不一致" in replies[-1], wrong
    assert await repo.get_branch(database, doomed.id) is not None
    # /cancel keeps everything; so does the cancel button.
    assert "什么也没有删除" in (await harness.send("/cancel"))[-1]
    await harness.send("/deletebranch")
    await harness.tap("继续删除")
    await harness.tap("✖️ 取消")
    assert await repo.get_branch(database, doomed.id) is not None
    await harness.send("/deletebranch")
    await harness.tap("继续删除")
    # Width, spacing and traditional script aside, the name is the name.
    replies = await harness.send(" 「刪測ＺＸ 支部」 ")
    assert f"支部「{MARK}支部」及其全部数据已删除" in replies[-1]
    assert await repo.get_branch(database, doomed.id) is None
    assert "已被书记删除" in (harness.last_message(THIRD)["text"] or "")
    assert "已被书记删除" in (harness.last_message(OTHER)["text"] or "")
    # Nothing of the branch is left anywhere (one audit row: id, action, counts).
    assert await _leftovers(database, doomed.id, MARK) == []
    [entry] = await repo.audit_entries(database, doomed.id)
    assert entry.action == "delete_branch" and entry.changes["meetings"] == [1, 0]
    user = await repo.get_user(database, OTHER)
    assert user is not None and user.current_branch_id is None
    # The committee member's flow ended: no draft, no conversation, no error.
    assert harness.app.forms.peek(THIRD) is None
    assert await _conversations_of(database, THIRD) == []
    replies = await harness.send("张三", user=THIRD)
    assert "没有进行中的操作" in replies[-1]
    # The kept branch is intact.
    assert len(await meetings.meetings_of_year(database, kept.id, 2026)) == 1
    assert len(await members.list_for(database, kept.id)) == 2
    assert await outbox.by_key(database, f"KEEP:{kept.id}:1") is not None
    # Old buttons of the deleted branch are refused.
    for data in (f"lv:d1:{doomed.id}", f"lv:ar:{doomed.id}", f"tm:l:{doomed.id}"):
        await harness.tap_data(data)
        assert "权限" in harness.callback_answers()[-1], data


def test_names_match_despite_spacing_width_and_script() -> None:
    assert same_name("  某某协会 党支部 ", "某某协会党支部")
    assert same_name("某某協會黨支部", "某某协会党支部")
    assert same_name("ＡＢＣ（联合）支部", "ABC(联合)支部")
    assert not same_name("", "")
    assert not same_name("某某协会", "某某协会党支部")
    assert archive_name("a/b:c", date(2026, 1, 2)) == "a_b_c_存档_2026-01-02.zip"
    assert archive_name("...", date(2026, 1, 2)).startswith("branch_")


async def _user_traces(db: Database, user_id: int) -> list[str]:
    """Every value anywhere that is or contains the user's id."""
    found = []
    tables = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    for table in [t["name"] for t in tables if not t["name"].startswith("sqlite_")]:
        for row in await db.fetchall(f"SELECT * FROM {table}"):
            for value in row:
                if value == user_id or (isinstance(value, str) and str(user_id) in value):
                    found.append(f"{table}: {dict(row)}")
    return found


@time_machine.travel(NOW, tick=True)
async def test_forget_me(harness: Harness) -> None:
    harness.fake.add_user(LONER, first_name="独")
    shared = await harness.register(name="共享支部")
    assert harness.app is not None
    database = harness.app.database
    # LONER: a committee member of a shared branch and the only member of their own.
    await repo.add_membership(
        database, actor_id=SECRETARY, user_id=LONER, branch_id=shared.id, role="committee"
    )
    alone = await harness.register(user=LONER, key="alone", name="独自支部")
    await _seed(database, shared.id, LONER, "SHARED")
    await _seed(database, alone.id, LONER, MARK)
    roster = await members.list_for(database, shared.id)
    assert await members.link_user(database, shared.id, roster[0].id, LONER)
    await harness.send("/log", user=LONER)
    await harness.send("/cancel", user=LONER)
    # The secretary of a branch with others is refused until they hand over.
    replies = await harness.send("/forgetme")
    assert "暂时不能删除" in replies[-1] and "共享支部" in replies[-1]
    assert harness.buttons() == []
    # Two confirmations; cancelling keeps everything.
    card = (await harness.send("/forgetme", user=LONER))[-1]
    assert "共享支部：支委" in card and "独自支部：书记" in card
    assert "将连同全部记录一起删除" in card
    await harness.tap("不删了", user=LONER)
    assert await repo.get_user(database, LONER) is not None
    await harness.send("/forgetme", user=LONER)
    first = harness.last_message(LONER)["message_id"]
    replies = await harness.tap("继续", user=LONER)
    assert "最后确认" in replies[-1] and "1 个支部也会一起删除" in replies[-1]
    replies = await harness.tap("⚠️ 永久删除我的数据", user=LONER)
    assert "您的数据已删除" in replies[-1]
    # Nothing of the user is left: the sole branch is gone, the shared one keeps its records.
    assert await _user_traces(database, LONER) == []
    assert await _leftovers(database, alone.id, MARK) == []
    assert await repo.get_branch(database, shared.id) is not None
    assert len(await meetings.meetings_of_year(database, shared.id, 2026)) == 1
    assert [m.user_id for m in await members.list_for(database, shared.id)] == [None, None]
    entries = await repo.audit_entries(database, shared.id)
    assert entries and all(e.user_id != LONER for e in entries)
    assert await _conversations_of(database, LONER) == []
    # A replayed button finds the plan changed and deletes nothing more.
    await harness.tap_data("lv:f2:000000000000", first, user=LONER)
    assert "情况有变化" in (harness.last_message(LONER)["text"] or "")
    # The user can start afresh.
    assert "先花两分钟登记您的支部" in (await harness.send("/start", user=LONER))[0]


def test_leave_templates_render() -> None:
    counts: dict[str, Any] = {"team": 1, "meetings": 2, "photos": 3, "roster": 4,
                              "reminders": 5, "audit": 6}  # fmt: skip
    parse_html(render("leave_archive", branch_name="<b>", counts=counts))
    for view in ("confirm", "ask_name", "deleted", "notice_member", "secretary_only"):
        text = render("leave_delete", view=view, branch_name="<b>&", counts=counts, error=True)
        assert parse_html(text).strip(), view
    plan = erase.ForgetPlan(
        memberships=(erase.BranchRef(1, "<b>", "viewer"),),
        sole=(erase.BranchRef(2, "&", "secretary"),),
        blocked=(erase.BranchRef(3, "<i>", "secretary"),),
    )
    for view in ("blocked", "plan", "confirm", "done"):
        assert parse_html(render("leave_forget", view=view, plan=plan, changed=True)).strip()


@time_machine.travel(NOW, tick=True)
async def test_delete_confirmation_is_strict(harness: Harness) -> None:
    # A name that reads as a question: typed, it is answered first and kept only with a tap.
    doomed = await harness.register(name="谁的支部吗")
    assert harness.app is not None
    database = harness.app.database
    ask = "最后一步：请输入支部的完整名称谁的支部吗，确认永久删除。"
    mismatch = "⚠️ 名称不一致，支部没有删除。请再输入一次，或点「取消」。\n\n" + ask
    await harness.send("/deletebranch")
    assert (await harness.tap("继续删除")) == [ask]
    assert harness.buttons() == ["✖️ 取消"]
    # A rule question: answered, the name asked again, nothing deleted (and nothing to keep).
    replies = await harness.send("删除后还能恢复吗？")
    assert len(replies) == 2 and replies[-1] == ask
    assert harness.buttons() == ["✖️ 取消"]
    for wrong in (" ", "<b>&", "🚩" * 300, "删" * 4000):
        assert (await harness.send(wrong)) == [mismatch], wrong[:5]
    # Forged or old buttons of the form delete nothing: only the typed name does.
    rev = harness.last_message()["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    rev = rev.split(":")[1]
    forged = [f"lvd:{rev}:{action}" for action in ("u:name", "k:name", "s:name", "v", "a:name:x")]
    for data in (*forged, "lvd:999999999999999999999999999999:u:name"):
        before = len(harness.callback_answers())
        await harness.tap_data(data)
        assert harness.callback_answers()[before:] == ["这个按钮已过期，请按最新的消息操作。"]
    assert await repo.get_branch(database, doomed.id) is not None
    # 继续删除 again while the name is asked: the same question, not a second form.
    replies = await harness.send("/deletebranch")
    assert replies == ["您有一份没填完的删除支部，接着填吧（发送 /cancel 可以放弃）。", ask]
    # The name itself reads as a question: answered, then kept with one tap.
    replies = await harness.send("谁的支部吗")
    assert len(replies) == 2 and replies[-1] == ask
    assert harness.buttons() == ["✍️ 用作答案", "✖️ 取消"]
    assert await repo.get_branch(database, doomed.id) is not None
    use = harness.last_message()["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert (await harness.tap("✍️ 用作答案")) == [
        "✅ 支部「谁的支部吗」及其全部数据已删除。\n需要的话，可以发送 /register 重新登记支部。"
    ]
    assert await repo.get_branch(database, doomed.id) is None
    assert harness.app.forms.active(SECRETARY) is None
    # The same tap again (a replay) finds nothing open.
    await harness.tap_data(use)
    assert harness.callback_answers()[-1] == "这个按钮已过期，请按最新的消息操作。"


@time_machine.travel(NOW, tick=True)
async def test_delete_cancel_button_keeps_the_branch(harness: Harness) -> None:
    doomed = await harness.register(name="保留的支部")
    await harness.send("/deletebranch")
    await harness.tap("继续删除")
    assert (await harness.tap("✖️ 取消")) == ["好的，什么也没有删除。"]
    assert harness.app is not None
    assert await repo.get_branch(harness.app.database, doomed.id) is not None
    assert harness.app.forms.active(SECRETARY) is None
