"""/report: the year's 党建工作总结 as a Word draft, read back with python-docx and every figure
checked against what was stored."""

from __future__ import annotations

from datetime import date
from io import BytesIO

import docx
import time_machine

from db import appraisals, meetings, members, selfchecks, settings
from db.appraisals import Grade
from db.models import Meeting, MemberInfo
from tests.conftest import OTHER, SECRETARY, Harness

GROUP = -500
BEFORE = "支部是 2026 年 12 月登记的，之前的年份我没有记录：请写 2026 年或以后的年份。"
USAGE = "请这样写：/report 生成今年的年度党建工作总结，/report 2025 生成 2025 年的。"


async def _log(h: Harness, branch_id: int, key: str, **fields: object) -> None:
    assert h.app is not None
    values: dict[str, object] = {"kind": "committee_meeting", "host": "张三", "recorder": "李四"}
    await meetings.create_meeting(
        h.app.database,
        user_id=SECRETARY,
        branch_id=branch_id,
        meeting=Meeting(**{**values, **fields}),  # type: ignore[arg-type]
        draft_key=key,
    )


def _read(data: bytes) -> tuple[list[str], list[list[list[str]]]]:
    document = docx.Document(BytesIO(data))
    paragraphs = [p.text for p in document.paragraphs if p.text.strip()]
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]
    return paragraphs, tables


async def test_the_annual_report_says_what_the_books_say(harness: Harness) -> None:
    with time_machine.travel("2026-01-05 10:00 +08:00", tick=True):
        branch = await harness.register(has_committee=True, formal_members=9)
    assert harness.app is not None
    database = harness.app.database
    b = branch.id
    # 支委会 in 10 of 12 months (none in March and July), 党员大会 twice (the first also a
    # 党课), a 党课 on its own in Q3, 主题党日 in two months, one 谈心谈话, a record of 2025.
    for month in (1, 2, 4, 5, 6, 8, 9, 10, 11, 12):
        await _log(harness, b, f"c{month}", held_on=date(2026, month, 3), expected=9, present=8)
    await _log(harness, b, "m1", kind="member_meeting", held_on=date(2026, 2, 10),
               also_counts_as=("party_lecture",), expected=10, present=10)  # fmt: skip
    await _log(harness, b, "m2", kind="member_meeting", held_on=date(2026, 6, 10))
    await _log(harness, b, "l3", kind="party_lecture", held_on=date(2026, 8, 10), speaker="王五")
    await _log(harness, b, "p4", kind="theme_party_day", held_on=date(2026, 4, 15),
               title="学党史", activity_form="参观学习", expected=10, present=9)  # fmt: skip
    await _log(harness, b, "p9", kind="theme_party_day", held_on=date(2026, 9, 15),
               title="<b>宪法</b> & 章程")  # fmt: skip
    await _log(harness, b, "t1", kind="heart_to_heart_talk", held_on=date(2026, 5, 6))
    await _log(harness, b, "old", held_on=date(2025, 12, 3))
    appraisal, _ = await meetings.create_meeting(
        database, user_id=SECRETARY, branch_id=b, draft_key="ap",
        meeting=Meeting(kind="member_appraisal", held_on=date(2026, 12, 20)),
    )  # fmt: skip
    for month in (1, 2, 3):
        await settings.mark_done(
            database, user_id=SECRETARY, branch_id=b, code="party_dues",
            period_start=date(2026, month, 1),
        )  # fmt: skip
    for info in (MemberInfo("张三", "formal", date(2010, 7, 1), committee_role="secretary"),
                 MemberInfo("赵六", "probationary", date(2026, 6, 30)),
                 MemberInfo("钱七", "applicant", date(2026, 3, 1)),
                 MemberInfo("孙八", "activist", date(2025, 9, 1))):  # fmt: skip
        await members.add(database, user_id=SECRETARY, branch_id=b, info=info)
    roster = {m.name: m.id for m in await members.list_for(database, b)}
    assert appraisal.id is not None
    await appraisals.set_grades(
        database, user_id=SECRETARY, branch_id=b, meeting_id=appraisal.id,
        given=[Grade(roster["张三"], "excellent"), Grade(roster["赵六"], "basic", "学习不够")],
    )  # fmt: skip
    for day, score in ((date(2025, 11, 1), 5), (date(2026, 11, 20), 7)):
        await selfchecks.save(
            database, user_id=SECRETARY, branch_id=b, kind="eight", answers="y" * score,
            score=score, total=8, checked_on=day, source_key=f"s{day}",
        )  # fmt: skip

    with time_machine.travel("2026-12-30 10:00 +08:00", tick=True):
        replies = await harness.send("/report 2026")
    assert replies[0] == "正在生成文件…"
    sent = harness.fake.sent_files[-1]
    assert sent["file_name"] == "测试支部2026年度党建工作总结（草稿）.docx"
    assert replies[-1] == (
        "📄 2026年度党建工作总结（草稿）：全年记录 17 次，有 4 项没开够。"
        "用 Word 或 WPS 打开，核对数字，补充【】处后再用。"
    )
    paragraphs, tables = _read(sent["data"])
    assert paragraphs[0] == "测试支部2026年度党建工作总结"
    assert "现有正式党员 9 名、预备党员 1 名；设支部委员会，书记张三。" in paragraphs[3]
    # 16 records; attendance over those giving both: (10*8 + 10 + 9) / (10*9 + 10 + 10).
    assert paragraphs[5] == (
        "全年共记录会议和活动 17 次，党员平均到会率 90%（实到 99 人次 / 应到 110 人次）。"
        "按规定频次，应开与已开："
    )
    obligations = {row[0]: row[1:] for row in tables[0][1:]}
    assert tables[0][0] == ["项目", "频次", "应开", "已开", "完成情况"]
    assert obligations["支委会"] == ["每月", "12", "10", "缺 3月、7月"]
    assert obligations["党员大会"] == ["每季度", "4", "2", "缺 第三季度；第四季度待开"]
    assert obligations["党课"] == ["每季度", "4", "2", "缺 第二季度；第四季度待开"]
    assert obligations["主题党日"][:3] == ["每月", "12", "2"]
    assert "开展谈心谈话 1 次。" in paragraphs
    assert "全年开展主题党日 2 次：" in paragraphs
    assert "4月15日《学党史》，参观学习，到会 9/10 人。" in paragraphs
    assert "9月15日《<b>宪法</b> & 章程》。" in paragraphs
    assert (
        "本年度递交入党申请 1 名、接收预备党员 1 名"
        "（按发展党员进程记录的日期统计，没有记录的按花名册日期）。" in paragraphs
    )
    assert '本年度应收缴 12 个月，已记"党费已收齐" 3 个月（1月、2月、3月）。' in paragraphs
    assert "八有标准：11月20日自查 7/8 项达标，上次 5/8。" in paragraphs
    assert "支委会缺：3月、7月。" in paragraphs
    annex = {row[0]: row[1] for row in tables[1][1:]}
    assert annex["党组织书记"] == "张三"
    assert annex["全年组织生活"] == "17 次，其中主题党日 2 次"
    assert "12月20日民主评议党员：优秀 1 名、合格 0 名、基本合格 1 名、不合格 0 名。" in paragraphs


async def test_bad_years_groups_and_strangers(harness: Harness) -> None:
    with time_machine.travel("2026-12-30 10:00 +08:00", tick=True):
        await harness.register(name="甲|乙 <b>&支部")
        for text, expected in (
            ("/report 2027", "2026 年以后的总结还不能写：请写 2026 年或以前的年份。"),
            ("/report 1999", "年份太早了：请写 2000 年以后的年份，例如 /report 2026。"),
            ("/report 2025", BEFORE),
            ("/report 二〇二六", USAGE),
            ("/report 2026 2025", USAGE),
            ("/report ２０２６", USAGE),
        ):  # fmt: skip
            assert (await harness.send(text))[-1] == expected, text
        assert not harness.fake.sent_files
        # An empty year is a report too; 2026年 is read as 2026.
        replies = await harness.send("/report 2026年")
        paragraphs, tables = _read(harness.fake.sent_files[-1]["data"])
        assert paragraphs[0] == "甲|乙 <b>&支部2026年度党建工作总结"
        assert tables[1][1] == ["党组织名称", "甲｜乙 <b>&支部"]
        assert "全年共记录会议和活动 0 次。按规定频次，应开与已开：" in paragraphs
        assert "本年度没有记录主题党日。【请说明原因】" in paragraphs
        assert replies[-1].startswith("📄 2026年度党建工作总结（草稿）：全年记录 0 次")
        # Only in private; nobody without a branch.
        harness.fake.add_group(GROUP, "支部群")
        reply = (await harness.send("/report", chat_id=GROUP))[-1]
        assert reply.startswith("这个操作请在与我的私聊中进行")
        assert (await harness.send("/report", user=OTHER))[-1].startswith("您还没有登记支部")
