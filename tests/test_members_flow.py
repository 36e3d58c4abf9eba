"""/members end to end: the roster screen, adding and editing with a second chance after every
bad answer, deleting, roles and forged buttons, imports (CSV in UTF-8 and GBK, .xlsx, the
template filled in) that take nothing until every row is valid, exports, and files sent while
another flow is under way."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import time_machine
from openpyxl import Workbook, load_workbook

from db import members, repo
from db.models import MemberInfo
from tests.conftest import OTHER, SECRETARY, Harness

THIRD = 3003
FOURTH = 4004
NOW = "2026-11-23 10:00 +08:00"
HEADER = ["姓名", "身份", "入党/预备日期", "党小组", "支委职务", "流动党员(是/否)", "外出去向",
          "外出日期", "最近报告日期"]  # fmt: skip


async def _send_file(h: Harness, name: str, data: bytes, user: int = SECRETARY) -> list[str]:
    """The user sends a file; the visible texts of the bot's answers."""
    mark = h._mark(user)
    h.fake.send_document(user, name, data)
    await h._settle()
    return h._since(user, mark)


def _csv(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def _rows(count: int) -> list[list[str]]:
    statuses = ["正式党员", "预备党员", "发展对象", "入党积极分子", "入党申请人"]
    rows = [list(HEADER)]
    for i in range(count):
        joined = "2020/7/1" if i % 5 < 2 else ""
        rows.append([f"党员{i:04d}", statuses[i % 5], joined, "", "", "否", "", "", ""])
    return rows


async def _roster(h: Harness, branch_id: int) -> list[MemberInfo]:
    assert h.app is not None
    return [m.info for m in await members.list_for(h.app.database, branch_id)]


def _last_file(h: Harness) -> dict[str, Any]:
    return h.fake.sent_files[-1]


@time_machine.travel(NOW, tick=True)
async def test_add_edit_delete_with_second_chances(harness: Harness) -> None:
    branch = await harness.register(has_party_groups=True)
    screen = (await harness.send("/members"))[-1]
    assert "花名册还是空的" in screen
    assert harness.buttons()[:4] == ["➕ 添加", "📥 导入", "📤 导出Excel", "📄 下载模板"]
    assert "请输入姓名" in (await harness.tap("➕ 添加"))[-1]
    for bad, message in [
        (" ", "不能为空"),
        ("王" * 200, "太长了（200 个字）"),
        ("<b>&", "不能有这些符号：<>&"),
        ("😀😀", "不能有这些符号：😀"),
        ("12345", "不能只是数字"),
    ]:
        assert message in (await harness.send(bad))[-1], bad
    assert "王伟 的身份" in (await harness.send("王伟"))[-1]
    assert "入党日期" in (await harness.tap("正式党员"))[-1]
    assert "🤷 不记得了" in harness.buttons()  # 入党日期 may be unknown
    for bad, message in [("2月30日", "没有这一天"), ("2027-01-01", "还没到"), ("<b>", "没看懂")]:
        assert message in (await harness.send(bad))[-1], bad
    await harness.send("2016年7月1日")
    await harness.send("第一党小组")
    await harness.tap("书记")
    await harness.tap("是")
    await harness.send("广东省深圳市")
    await harness.send("2025-03-01")
    assert "不能早于外出日期" in (await harness.send("2025-01-01"))[-1]
    card = (await harness.send("2025-05-01"))[-1]
    assert "✅ 已添加" in card and "支委职务：书记" in card and "最近报告：2025-05-01" in card
    assert harness.app is not None
    assert await _roster(harness, branch.id) == [
        MemberInfo("王伟", "formal", date(2016, 7, 1), "第一党小组", "secretary", True,
                   "广东省深圳市", date(2025, 3, 1), date(2025, 5, 1))
    ]  # fmt: skip
    # A roster not confirmed complete leaves the branch profile's counts alone.
    profile = (await repo.get_branch(harness.app.database, branch.id)).profile  # type: ignore[union-attr]
    assert (profile.formal_members, profile.probationary_members) == (5, 1)

    # A second one: duplicate refused with a hint, a non-member is asked less.
    await harness.tap("➕ 继续添加")
    assert "王伟（大）" in (await harness.send("王伟"))[-1]
    await harness.send("王伟（小）")
    await harness.tap("⬅️ 上一步")
    await harness.send("李四")
    assert "身份请写" in (await harness.send("群众"))[-1]
    await harness.send("积极分子")  # typed instead of tapped
    assert "🤷 不记得了" in harness.buttons()
    await harness.tap("🤷 不记得了")
    card = (await harness.tap("跳过"))[-1]
    assert "✅ 已添加" in card and "流动党员" not in card
    screen = (await harness.tap("⬅️ 返回花名册"))[-1]
    assert "共 2 人：正式党员 1，预备党员 0，发展对象 0，入党积极分子 1，入党申请人 0" in screen
    assert "党员人数按支部信息：正式党员 5 名、预备党员 1 名（花名册已录 1 名党员" in screen

    # Edit one field; a change of status asks for the date again (or keeps it).
    await harness.tap("王伟 🚶")
    await harness.tap("✏️ 身份")
    await harness.tap("预备党员")
    assert "保留：2016-07-01" in harness.buttons()
    assert "没有这一天" in (await harness.send("2024-02-30"))[-1]
    card = (await harness.send("2025-06-01"))[-1]
    assert "✅ 已修改" in card and "接收为预备党员日期：2025-06-01" in card
    assert "支委职务" not in card  # a 预备党员 holds no committee role
    [first] = [i for i in await _roster(harness, branch.id) if i.name == "王伟"]
    assert first.status == "probationary" and first.committee_role == "" and first.mobile
    await harness.tap("✏️ 姓名")
    assert "花名册里已有同名" in (await harness.send("李四"))[-1]
    await harness.send("王大伟")
    await harness.tap("✏️ 流动党员")
    card = (await harness.tap("否"))[-1]
    assert "流动党员：否" in card and "外出去向" not in card
    audit = await harness.app.database.fetchall(
        "SELECT changes FROM audit_log WHERE entity = 'member' ORDER BY id"
    )
    assert all("王" not in row["changes"] for row in audit)  # names are not in the audit log

    # Delete, with a confirmation; a second tap finds no one.
    await harness.tap("🗑 删除")
    confirm = harness.last_message()
    replies = await harness.tap("🗑 确认删除")
    assert "已从花名册删除 王大伟" in replies[0]
    assert [i.name for i in await _roster(harness, branch.id)] == ["李四"]
    data = confirm["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await harness.tap_data(data, confirm["message_id"])
    assert "这个按钮已过期" in harness.callback_answers()[-1]


@time_machine.travel(NOW, tick=True)
async def test_cancel_and_restart_in_the_middle(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/members")
    await harness.tap("➕ 添加")
    await harness.send("张三")
    assert "请先完成当前的填写" in (await _send_file(harness, "a.csv", b"x"))[-1]
    await harness.stop()
    await harness.start()
    assert "入党积极分子" in harness.buttons()
    assert "张三 的身份" in (await harness.send("/members"))[-1]
    await harness.tap("发展对象")
    # Something was typed: /cancel asks first, as in every form.
    assert (await harness.send("/cancel"))[-1] == "放弃这次花名册录入吗？已经填写的内容不会保存。"
    assert "已取消" in (await harness.tap("🗑 放弃，不保存"))[-1]
    assert await _roster(harness, branch.id) == []
    assert "没有" in (await harness.send("/cancel"))[-1]


@time_machine.travel(NOW, tick=True)
async def test_roles_and_forged_buttons(harness: Harness) -> None:
    branch = await harness.register()
    assert harness.app is not None
    db = harness.app.database
    wang = await members.add(db, user_id=SECRETARY, branch_id=branch.id,
                             info=MemberInfo("王伟", "formal", date(2016, 7, 1)))  # fmt: skip
    other = await harness.register(user=OTHER, key="other", name="另一个支部")
    theirs = await members.add(db, user_id=OTHER, branch_id=other.id,
                               info=MemberInfo("赵六", "formal", date(2010, 1, 1)))  # fmt: skip
    for user, role in ((THIRD, "committee"), (FOURTH, "viewer")):
        harness.fake.add_user(user, first_name=role)
        await repo.add_membership(db, actor_id=SECRETARY, user_id=user, branch_id=branch.id,
                                  role=role)  # fmt: skip
        screen = (await harness.send("/members", user=user))[-1]
        assert "王伟" in screen and "或修改" not in screen
        assert harness.buttons(user) == ["王伟", "🏠 主菜单"]
        card = (await harness.tap("王伟", user=user))[-1]
        assert "入党日期：2016-07-01" in card
        assert harness.buttons(user) == ["⬅️ 返回花名册"]
        b, m = branch.id, wang.id
        for data in (f"mb:add:{b}", f"mb:imp:{b}", f"mb:e:{b}:{m}:name", f"mb:d:{b}:{m}",
                     f"mb:dd:{b}:{m}", f"mb:x:{b}", f"mb:t:{b}"):  # fmt: skip
            await harness.tap_data(data, user=user)
            assert "没有这个支部的操作权限" in harness.callback_answers()[-1], data
        replies = await _send_file(harness, "a.csv", _csv(_rows(3)), user=user)
        assert "只有支部书记、副书记可以导入" in replies[-1]
    # The secretary of one branch cannot reach into another, nor open its member via their own.
    await harness.send("/members")
    o, t = other.id, theirs.id
    for data in (f"mb:o:{o}:{t}", f"mb:dd:{o}:{t}", f"mb:x:{o}", f"mb:e:{o}:{t}:name",
                 f"mb:l:{o}:0", f"mb:imp:{o}"):  # fmt: skip
        await harness.tap_data(data)
        assert "没有这个支部的操作权限" in harness.callback_answers()[-1], data
    b = branch.id
    for data in (f"mb:o:{b}:{t}", f"mb:dd:{b}:{t}", f"mb:e:{b}:{wang.id}:nosuch", "mb:o:x:y",
                 f"mb:ok:{b}"):  # fmt: skip
        await harness.tap_data(data)
        assert "这个按钮已过期" in harness.callback_answers()[-1], data
    assert [i.name for i in await _roster(harness, other.id)] == ["赵六"]
    assert not harness.fake.sent_files
    # Not registered at all.
    harness.fake.add_user(5005)
    assert "还没有登记支部" in (await harness.send("/members", user=5005))[-1]
    assert "还没有登记支部" in (await _send_file(harness, "a.csv", b"x", user=5005))[-1]


@time_machine.travel(NOW, tick=True)
async def test_an_import_waiting_for_its_confirmation_survives_a_restart(
    harness: Harness,
) -> None:
    branch = await harness.register()
    summary = (await _send_file(harness, "名单.csv", _csv(_rows(5))))[-1]
    assert "检查无误，共 5 人" in summary
    confirm = harness.last_message()
    await harness.stop()
    await harness.start()
    replies = await harness.tap_data(f"mb:ok:{branch.id}", confirm["message_id"])
    assert replies[0].startswith("✅ 已导入 5 人。")
    assert [i.name for i in await _roster(harness, branch.id)] == [
        f"党员{i:04d}" for i in range(5)
    ]
    # Confirmed once: a second tap, even after another restart, imports nothing more.
    await harness.stop()
    await harness.start()
    await harness.tap_data(f"mb:ok:{branch.id}", confirm["message_id"])
    assert "这个按钮已过期" in harness.callback_answers()[-1]
    assert len(await _roster(harness, branch.id)) == 5


@time_machine.travel(NOW, tick=True)
async def test_csv_import_all_or_nothing(harness: Harness) -> None:
    branch = await harness.register()
    rows = _rows(200)
    good = [list(r) for r in rows]
    rows[3][0] = ""  # spreadsheet row 4
    rows[10][2] = "2024年2月30日"  # row 11
    rows[50][1] = "群众"  # row 51
    rows[100][0] = "<b>&"  # row 101
    rows[150][0] = rows[20][0]  # row 151, the same name as row 21
    await harness.send("/members")
    assert "请发送填好的 .xlsx 或 .csv" in (await harness.tap("📥 导入"))[-1]
    assert "这一步请发送 .xlsx 或 .csv 文件" in (await harness.send("你好"))[-1]
    assert "只能导入 .xlsx 或 .csv" in (await _send_file(harness, "名单.pdf", b"%PDF"))[-1]
    report = (await _send_file(harness, "名单.csv", _csv(rows)))[-1]
    assert "有 5 处问题，一个也没有导入" in report
    for line in ("第4行「姓名」：这一项不能为空", "第11行「入党/预备日期」：没有这一天",
                 "第51行「身份」：身份请写", "第101行「姓名」：姓名里不能有这些符号：<>&",
                 "第151行「姓名」：与第 21 行重名"):  # fmt: skip
        assert line in report, line
    assert await _roster(harness, branch.id) == []
    # A column named otherwise than the template's is said to be unread with the errors, so
    # that one corrected file reads it too.
    renamed = [[*row, "备注" if n == 0 else ""] for n, row in enumerate(rows)]
    renamed[0][2] = "日期"
    report = (await _send_file(harness, "名单.csv", _csv(renamed)))[-1]
    assert "第11行「入党/预备日期」" not in report
    assert report.endswith(
        "另外，这些列不是模板里的列名，没有读取：日期、备注。如果是要导入的内容，请改用模板的列名。"
    )
    summary = (await _send_file(harness, "名单.csv", _csv(good)))[-1]
    assert "检查无误，共 200 人：正式党员 40，预备党员 40，发展对象 40" in summary
    assert harness.buttons() == ["✅ 确认导入", "✖️ 取消导入"]
    confirm = harness.last_message()
    replies = await harness.tap("✅ 确认导入")
    assert "已导入 200 人" in replies[0]
    assert len(await _roster(harness, branch.id)) == 200
    assert "第 1/20 页" in replies[-1] and "10. 党员0045 · 正式党员" in replies[-1]
    page = (await harness.tap("下一页 ➡️"))[-1]
    assert "第 2/20 页" in page and "11. 党员0050" in page
    assert "⬅️ 上一页" in harness.buttons()
    await harness.tap_data(f"mb:ok:{branch.id}", confirm["message_id"])  # a second tap
    assert "这个按钮已过期" in harness.callback_answers()[-1]
    # The same file again: every name is already there; nothing doubles.
    report = (await _send_file(harness, "名单.csv", _csv(good)))[-1]
    assert "有 200 处问题" in report and "……还有180处" in report
    assert "花名册里已有同名的人" in report
    assert len(await _roster(harness, branch.id)) == 200
    assert harness.app is not None
    profile = (await repo.get_branch(harness.app.database, branch.id)).profile  # type: ignore[union-attr]
    assert (profile.formal_members, profile.probationary_members) == (5, 1)
    # Confirmed complete, the counts come from the roster.
    await harness.send("/members")
    await harness.tap("✅ 已录完，按花名册：正式 40、预备 40")
    profile = (await repo.get_branch(harness.app.database, branch.id)).profile  # type: ignore[union-attr]
    assert (profile.formal_members, profile.probationary_members) == (40, 40)


@time_machine.travel(NOW, tick=True)
async def test_gbk_csv_and_xlsx_and_cancel(harness: Harness) -> None:
    branch = await harness.register()
    rows = [["身份", "姓名", "入黨日期", "身份证号"], ["正式", "王偉", "2020/7/1", "110101"],
            ["预备", "李四", "2025年3月1日", ""]]  # fmt: skip
    summary = (await _send_file(harness, "名单.csv", _csv(rows, "gbk")))[-1]
    assert "共 2 人：正式党员 1，预备党员 1" in summary and "身份证号" in summary
    assert "已取消导入" in (await harness.tap("✖️ 取消导入"))[-1]
    assert await _roster(harness, branch.id) == []
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["姓名", "身份", "入党/预备日期"])
    sheet.append(["王伟", "正式党员", date(2020, 7, 1)])
    sheet.append(["张三", "入党申请人", None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    await _send_file(harness, "名单.xlsx", buffer.getvalue())
    await harness.tap("✅ 确认导入")
    assert await _roster(harness, branch.id) == [
        MemberInfo("王伟", "formal", date(2020, 7, 1)),
        MemberInfo("张三", "applicant"),
    ]
    for name, data, message in [
        ("空.csv", b"", "文件是空的"),
        ("无姓名.csv", _csv([["名字x", "身份"], ["甲", "正式"]]), '没有找到"姓名"列'),
        ("旧.xls", b"\xd0\xcf", "另存为"),
        ("坏.xlsx", b"PK broken", "打不开"),
        ("大.csv", b"x" * (2 * 1024 * 1024 + 1), "文件太大，最大 2MB"),
    ]:
        assert message in (await _send_file(harness, name, data))[-1], name


@time_machine.travel(NOW, tick=True)
async def test_template_round_trip_and_export(harness: Harness) -> None:
    branch = await harness.register(name="测试/支部")
    await harness.send("/members")
    await harness.tap("📄 下载模板")
    template = _last_file(harness)
    assert template["file_name"] == "花名册导入模板.xlsx"
    workbook = load_workbook(io.BytesIO(template["data"]))
    sheet = workbook.worksheets[0]
    sheet.append(["王伟", "正式党员", "2016-07-01", "一组", "组织委员", "是", "深圳",
                  "2025-03-01", ""])  # fmt: skip
    sheet.append(["李四", "预备党员", "2025/10/1"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert "共 2 人" in (await _send_file(harness, "填好的.xlsx", buffer.getvalue()))[-1]
    await harness.tap("✅ 确认导入")
    imported = await _roster(harness, branch.id)
    assert [i.name for i in imported] == ["王伟", "李四"]
    assert imported[0].committee_role == "organization" and imported[0].mobile

    await harness.send("/members")
    await harness.tap("📤 导出Excel")
    exported = _last_file(harness)
    assert exported["file_name"] == "花名册-测试_支部-2026-11-23.xlsx"
    sheet = load_workbook(io.BytesIO(exported["data"])).worksheets[0]
    assert sheet.cell(row=1, column=1).value == "测试/支部 党员花名册（2026-11-23）"
    assert [c.value for c in sheet[2]] == HEADER
    assert [sheet.cell(row=r, column=1).value for r in (3, 4)] == ["王伟", "李四"]
    assert sheet.cell(row=3, column=5).value == "组织委员"
    # The export is itself importable (into a branch that does not have these people).
    await harness.register(user=OTHER, key="other")
    await _send_file(harness, exported["file_name"], exported["data"], user=OTHER)
    assert "共 2 人" in harness.fake.bot_messages(OTHER)[-1]["text"]


@time_machine.travel(NOW, tick=True)
async def test_files_during_another_flow_are_not_taken(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/log")
    replies = await _send_file(harness, "名单.csv", _csv(_rows(3)))
    assert "请先完成当前的填写" in replies[-1]
    await harness.send("/cancel")
    # While the roster waits for a file, /members asks for it again and other forms do not
    # open (the form engine's note says which form is open).
    await harness.send("/members")
    await harness.tap("📥 导入")
    replies = await harness.send("/members")
    assert replies[0] == "您有一份没填完的花名册导入，接着填吧（发送 /cancel 可以放弃）。"
    assert replies[1].startswith("📥 导入花名册\n请发送填好的 .xlsx 或 .csv 文件")
    replies = await harness.tap_data(f"mb:add:{branch.id}")
    assert replies[0] == "您还有一份没填完的花名册导入。请先填完或放弃它，再做别的操作："
    assert harness.app is not None and harness.app.forms.active(SECRETARY) == "mbi"
    await _send_file(harness, "名单.csv", _csv(_rows(3)))
    await harness.tap("✅ 确认导入")
    assert len(await _roster(harness, branch.id)) == 3
