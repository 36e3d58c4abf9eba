"""The Excel ledger and the Word meeting record, read back with the libraries that wrote them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from datetime import time as clock
from io import BytesIO
from typing import Any

import docx
import openpyxl
from docx.oxml.ns import qn
from msgspec.structs import replace

from bot.exports import ledger_workbook, meeting_document
from db.models import Branch, Meeting, Photo
from tests.factories import make_profile

TODAY = date(2025, 5, 20)
PHOTOS = (Photo("file-1", "u1"), Photo("file-2", "u2"))
MEMBER_HEADER = ["序号", "日期", "开始时间", "地点", "主持人", "记录人", "应到", "实到", "请假",
                 "缺席和请假人员", "议题", "内容摘要", "决议", "照片数", "合并召开",
                 "登记时间"]  # fmt: skip


def make_branch(**changes: Any) -> Branch:
    """A registered branch with the test profile."""
    stamp = "2025-01-01T00:00:00+00:00"
    return Branch(
        id=1, profile=make_profile(**changes), created_by=1, created_at=stamp, updated_at=stamp
    )


def make_meeting(**changes: Any) -> Meeting:
    """A complete 党员大会 record, with some fields changed."""
    values: dict[str, Any] = {
        "kind": "member_meeting",
        "held_on": date(2025, 3, 15),
        "start_time": "14:30",
        "place": "党员活动室",
        "host": "张书记",
        "recorder": "李委员",
        "expected": 8,
        "present": 6,
        "on_leave": 1,
        "absentees": (("王五", "病假"), ("赵六", "出差")),
        "agenda": ("学习《党章》", "讨论发展对象"),
        "content": "书记传达上级精神。\n大家逐条讨论。",
        "resolutions": "同意列为发展对象。",
        "photos": PHOTOS,
        "id": 7,
        "branch_id": 1,
        "created_at": "2025-03-15T12:00:00+00:00",
        "updated_at": "2025-03-15T12:00:00+00:00",
    }
    values.update(changes)
    return Meeting(**values)


def load(data: bytes) -> openpyxl.Workbook:
    """The workbook as openpyxl reads it from the bytes."""
    return openpyxl.load_workbook(BytesIO(data))


def sheet_rows(ws: Any) -> list[dict[str, Any]]:
    """A kind sheet's records as {header: value} (title in row 1, header in row 2)."""
    header = [cell.value for cell in ws[2]]
    return [
        dict(zip(header, row, strict=True)) for row in ws.iter_rows(min_row=3, values_only=True)
    ]


def summary(wb: openpyxl.Workbook) -> dict[str, dict[str, Any]]:
    """The summary table as {kind name: {column: value}} (header in row 3)."""
    ws = wb["汇总"]
    header = [cell.value for cell in ws[3]]
    result = {}
    for row in ws.iter_rows(min_row=4, values_only=True):
        if row[1] is None:  # the notes under the table
            break
        result[row[0]] = dict(zip(header, row, strict=True))
    return result


def notes(wb: openpyxl.Workbook) -> str:
    """Every text in the summary's first column."""
    return "\n".join(str(c.value) for c in wb["汇总"]["A"] if c.value)


def test_ledger_has_a_summary_and_one_sheet_per_kind_with_records() -> None:
    records = [
        make_meeting(also_counts_as=("party_lecture",), speaker="王老师", title="党史一课"),
        make_meeting(kind="committee_meeting", held_on=date(2025, 2, 3), id=8),
        make_meeting(
            kind="heart_to_heart_talk",
            host="张书记",
            counterpart="刘某",
            recorder="",
            expected=None,
            present=None,
            on_leave=None,
            absentees=(),
            resolutions="",
            id=9,
        ),
    ]
    wb = load(ledger_workbook(make_branch(has_committee=True), 2025, records, TODAY))
    assert wb.sheetnames == ["汇总", "党员大会", "支委会", "党课", "谈心谈话"]
    assert wb["汇总"]["A1"].value == "测试支部2025年组织生活台账"
    committee = wb["支委会"]
    assert [c.value for c in committee[2]] == [h for h in MEMBER_HEADER if h != "合并召开"]
    assert committee["A2"].font.b
    assert committee["A2"].fill.fgColor.rgb.endswith("DDEBF7")
    assert committee.freeze_panes == "C3"
    assert committee["K3"].alignment.wrap_text
    talk = [c.value for c in wb["谈心谈话"][2]]
    assert "谈话人" in talk
    assert "谈话对象" in talk
    assert "应到" not in talk
    assert "决议" not in talk
    lecture = [c.value for c in wb["党课"][2]]
    assert {"主讲人", "题目", "主持人", "合并召开"} <= set(lecture)


def test_ledger_row_keeps_every_value_literally() -> None:
    record = make_meeting(
        place="<b>&amp;</b> 会议室 🎉",
        host="黨員陳",
        content="=1+1",
        resolutions="@SUM(A1)",
        agenda=("+86 电话", "-减少开支"),
    )
    wb = load(ledger_workbook(make_branch(), 2025, [record], TODAY))
    ws = wb["党员大会"]
    row = sheet_rows(ws)[0]
    assert row["序号"] == 1
    assert row["日期"] == datetime(2025, 3, 15)
    assert ws["B3"].number_format == "yyyy-mm-dd"
    assert row["开始时间"] == clock(14, 30)
    assert row["地点"] == "<b>&amp;</b> 会议室 🎉"
    assert row["主持人"] == "黨員陳"
    assert row["记录人"] == "李委员"
    assert (row["应到"], row["实到"], row["请假"]) == (8, 6, 1)
    assert row["缺席和请假人员"] == "王五（病假）、赵六（出差）"
    assert row["议题"] == "1. +86 电话\n2. -减少开支"
    assert row["内容摘要"] == "=1+1"
    assert row["决议"] == "@SUM(A1)"
    assert row["照片数"] == 2
    assert row["合并召开"] is None
    assert row["登记时间"] == datetime(2025, 3, 15, 20, 0)  # stored in UTC, shown in Beijing
    content_cell = ws.cell(row=3, column=MEMBER_HEADER.index("内容摘要") + 1)
    assert content_cell.data_type == "s"  # text, not a formula
    assert content_cell.quotePrefix


def test_combined_sitting_is_on_both_sheets_and_counts_for_both() -> None:
    record = make_meeting(also_counts_as=("party_lecture",), speaker="王老师", title="党史一课")
    wb = load(ledger_workbook(make_branch(), 2025, [record], TODAY))
    member = sheet_rows(wb["党员大会"])
    lecture = sheet_rows(wb["党课"])
    assert len(member) == len(lecture) == 1
    assert member[0]["合并召开"] == "党课"
    assert lecture[0]["合并召开"] == "党员大会"
    assert member[0]["主讲人"] == lecture[0]["主讲人"] == "王老师"
    assert lecture[0]["题目"] == "党史一课"
    table = summary(wb)
    for kind in ("党员大会", "党课"):
        assert table[kind]["第一季度"] == 1
        assert table[kind]["已开"] == 1
        assert table[kind]["应开"] == 2
        assert table[kind]["完成情况"] == "第二季度待开"


def test_summary_rows_follow_the_branch() -> None:
    without = summary(load(ledger_workbook(make_branch(), 2024, [], TODAY)))
    assert list(without) == ["党员大会", "党课", "组织生活会", "民主评议党员", "主题党日"]
    # Registered in 2023: all of 2024 is owed.
    with_both = replace(
        make_branch(has_committee=True, has_party_groups=True), created_at="2023-06-01T00:00:00"
    )
    records = [
        make_meeting(kind="committee_meeting", held_on=date(2024, month, 5), id=month)
        for month in (1, 2, 2, 4)
    ]
    table = summary(load(ledger_workbook(with_both, 2024, records, TODAY)))
    assert list(table) == ["党员大会", "支委会", "党小组会", "党课", "组织生活会",
                           "民主评议党员", "主题党日"]  # fmt: skip
    committee = table["支委会"]
    assert committee["频次"] == "每月"
    assert [committee[f"{m}月"] for m in range(1, 13)] == [1, 2, 0, 1] + [0] * 8
    assert committee["第一季度"] is None
    assert committee["全年"] is None
    assert (committee["应开"], committee["已开"]) == (12, 3)
    assert committee["完成情况"] == "缺 3月、5月、6月、7月、8月、9月、10月、11月、12月"
    assert (table["党员大会"]["应开"], table["党员大会"]["已开"]) == (4, 0)
    assert table["党员大会"]["频次"] == "每季度"
    assert (table["组织生活会"]["应开"], table["组织生活会"]["全年"]) == (1, 0)
    assert table["组织生活会"]["完成情况"] == "缺 全年"


def test_current_year_counts_only_periods_started_by_today() -> None:
    branch = make_branch(has_committee=True)
    records = [
        make_meeting(kind="committee_meeting", held_on=date(2025, month, 10), id=month)
        for month in (1, 2, 4)
    ] + [make_meeting(held_on=date(2025, 2, 1), id=20), make_meeting(held_on=date(2025, 4, 1))]
    table = summary(load(ledger_workbook(branch, 2025, records, TODAY)))
    committee = table["支委会"]
    assert [committee[f"{m}月"] for m in range(1, 13)] == [1, 1, 0, 1, 0] + [None] * 7
    assert (committee["应开"], committee["已开"]) == (5, 3)
    assert committee["完成情况"] == "缺 3月；5月待开"
    member = table["党员大会"]
    assert (member["应开"], member["已开"], member["完成情况"]) == (2, 2, "已完成 2/2")
    assert (member["第三季度"], member["第四季度"]) == (None, None)
    assert table["党课"]["完成情况"] == "缺 第一季度；第二季度待开"
    assert (table["组织生活会"]["应开"], table["组织生活会"]["完成情况"]) == (1, "全年待开")


def test_empty_year_still_has_the_summary_and_a_note() -> None:
    other_year = make_meeting(held_on=date(2024, 12, 30))
    wb = load(ledger_workbook(make_branch(), 2025, [other_year], TODAY))
    assert wb.sheetnames == ["汇总"]
    table = summary(wb)
    assert table
    assert all(row["已开"] == 0 for row in table.values())
    assert "2025年还没有登记任何会议或活动记录。" in notes(wb)


def test_control_characters_are_dropped_not_fatal() -> None:
    record = make_meeting(
        place="会议\x00室\x1b",
        content="第一行\x08\r\n第二\ud800行\x7f",
        absentees=(("王\x0b五", "病\x0c假"),),
    )
    branch = make_branch(name="测试\x01支部")
    wb = load(ledger_workbook(branch, 2025, [record], TODAY))
    row = sheet_rows(wb["党员大会"])[0]
    assert row["地点"] == "会议室"
    assert row["内容摘要"] == "第一行\n第二行"
    assert row["缺席和请假人员"] == "王五（病假）、另有 1 人未填写姓名"
    document = docx.Document(BytesIO(meeting_document(branch, record)))
    texts = [p.text for p in document.paragraphs]
    assert texts[0] == "测试支部党员大会会议记录"
    assert "第一行" in texts
    assert "第二行" in texts


def table_fields(document: Any) -> dict[str, str]:
    """The header table as {label: value} (merged cells count once)."""
    fields = {}
    for row in document.tables[0].rows:
        cells = row.cells
        fields[cells[0].text] = cells[1].text
        if cells[2]._tc is not cells[1]._tc:
            fields[cells[2].text] = cells[3].text
    return fields


def test_word_record_of_a_meeting() -> None:
    record = make_meeting(
        resolutions="", also_counts_as=("party_lecture",), speaker="王老师", title="党史一课"
    )
    document = docx.Document(BytesIO(meeting_document(make_branch(), record)))
    texts = [p.text for p in document.paragraphs]
    assert texts[0] == "测试支部党员大会会议记录"
    assert document.paragraphs[0].alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.CENTER
    fields = table_fields(document)
    assert fields["时间"] == "2025年3月15日（周六） 14:30"
    assert fields["地点"] == "党员活动室"
    assert fields["主持人"] == "张书记"
    assert fields["记录人"] == "李委员"
    assert fields["主讲人"] == "王老师"
    assert fields["题目"] == "党史一课"
    assert fields["出席情况"] == "应到 8 人，实到 6 人，请假 1 人，缺席 1 人"
    assert fields["缺席人员及原因"] == "王五（病假）、赵六（出差）"
    assert fields["合并召开"] == "本次同时计为党课"
    agenda = texts.index("议题")
    assert texts[agenda + 1 : agenda + 3] == ["1. 学习《党章》", "2. 讨论发展对象"]
    content = texts.index("会议内容")
    assert texts[content + 1 : content + 3] == ["书记传达上级精神。", "大家逐条讨论。"]
    assert texts[texts.index("决议") + 1] == "无"
    assert texts[texts.index("照片") + 1] == "共 2 张，未能下载，原件保存在 Telegram 对话中"
    assert "主持人（签字）：________    记录人（签字）：________" in texts
    assert texts[-1].startswith("日期：")
    normal = document.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == "宋体"
    assert document.core_properties.author == "支书助手"


def test_word_record_of_a_lecture_names_the_speaker_and_title() -> None:
    record = make_meeting(
        kind="party_lecture",
        host="",
        speaker="王老师",
        recorder="李委员",
        title="学习<党章>&纪律",
        resolutions="",
        photos=(),
    )
    document = docx.Document(BytesIO(meeting_document(make_branch(), record)))
    texts = [p.text for p in document.paragraphs]
    assert texts[0] == "测试支部党课记录"
    fields = table_fields(document)
    assert fields["主讲人"] == "王老师"
    assert fields["题目"] == "学习<党章>&纪律"
    assert "主持人" not in fields
    assert "党课内容" in texts
    assert "决议" not in texts
    assert texts[texts.index("照片") + 1] == "无"
    assert "主讲人（签字）：________    记录人（签字）：________" in texts


def test_word_record_of_a_talk_names_both_parties() -> None:
    record = make_meeting(
        kind="heart_to_heart_talk",
        host="张书记",
        counterpart="刘某、陈某",
        recorder="",
        expected=None,
        present=None,
        on_leave=None,
        absentees=(),
        agenda=("思想状况",),
        resolutions="",
    )
    document = docx.Document(BytesIO(meeting_document(make_branch(), record)))
    texts = [p.text for p in document.paragraphs]
    assert texts[0] == "测试支部谈心谈话记录"
    fields = table_fields(document)
    assert fields["谈话人"] == "张书记"
    assert fields["谈话对象"] == "刘某、陈某"
    assert "出席情况" not in fields
    assert texts[texts.index("谈话要点") + 1] == "1. 思想状况"
    assert "谈话人（签字）：________    谈话对象（签字）：________" in texts


def test_theme_party_day_record_shows_theme_and_form() -> None:
    record = make_meeting(kind="theme_party_day", title="走进社区", activity_form="volunteer")
    branch = make_branch()
    document = docx.Document(BytesIO(meeting_document(branch, record)))
    assert document.paragraphs[0].text == "测试支部主题党日活动记录"
    fields = table_fields(document)
    assert (fields["主题"], fields["活动形式"]) == ("走进社区", "志愿服务")
    row = sheet_rows(load(ledger_workbook(branch, 2025, [record], TODAY))["主题党日"])[0]
    assert (row["主题"], row["活动形式"]) == ("走进社区", "志愿服务")


def test_five_hundred_records_export_in_full() -> None:
    # How long it takes is measured by `make bench`, not asserted here.
    kinds = ("member_meeting", "committee_meeting", "theme_party_day", "heart_to_heart_talk")
    records = [
        make_meeting(
            kind=kinds[i % len(kinds)],
            held_on=date(2025, 1, 1) + timedelta(days=i % 130),
            content="讨论了本月工作。\n" * 10,
            also_counts_as=("party_lecture",) if i % 8 == 0 else (),
            id=i,
        )
        for i in range(500)
    ]
    data = ledger_workbook(make_branch(has_committee=True), 2025, records, TODAY)
    wb = load(data)
    assert sum(wb[name].max_row - 2 for name in wb.sheetnames[1:]) == 500 + 63
