"""bot/roster.py: every field read from a phone or a file, whole records checked, uploaded files
read (CSV in three encodings, .xlsx with Excel dates), every bad row reported by row and
column, and the files written by the bot read back; the roster templates render."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime

import msgspec
import pytest
from openpyxl import Workbook, load_workbook

from bot import roster
from bot.branch_profile import InvalidAnswer
from bot.emulator.html import parse_html
from bot.member_counts import MemberCounts
from bot.roster import FileProblem, check_file
from bot.texts import labels, render
from db.models import Member, MemberInfo

TODAY = date(2026, 11, 23)
COLUMNS = dict(labels().ROSTER_COLUMNS)
HEADER = ["姓名", "身份", "入党/预备日期", "党小组", "支委职务", "流动党员(是/否)", "外出去向",
          "外出日期", "最近报告日期"]  # fmt: skip


def _code(call: object, *args: object) -> str:
    with pytest.raises(InvalidAnswer) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value.code


def _csv(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _check(data: bytes, name: str = "a.csv", existing: tuple[str, ...] = ()) -> roster.ImportCheck:
    return check_file(data, name, existing, TODAY, COLUMNS)


def _problem(data: bytes, name: str = "a.csv", existing: tuple[str, ...] = ()) -> str:
    with pytest.raises(FileProblem) as caught:
        _check(data, name, existing)
    return caught.value.code


# --------------------------------------------------------------------------- fields


def test_names() -> None:
    assert roster.parse_name("  王偉  ") == "王偉"  # kept as typed; matching normalizes
    assert roster.same_name("王伟", ["李四", "王偉"]) == "王偉"
    assert roster.same_name("王伟", ["王炜"]) is None
    assert roster.parse_name("王伟（大）") == "王伟（大）"
    assert roster.parse_name("阿依古丽·买买提") == "阿依古丽·买买提"
    assert roster.parse_name("John Smith") == "John Smith"
    assert roster.parse_name("王\u200b伟") == "王伟"
    assert _code(roster.parse_name, "") == "empty"
    assert _code(roster.parse_name, "　 ") == "empty"
    assert _code(roster.parse_name, "王" * 200) == "too_long"
    assert _code(roster.parse_name, "<b>&") == "name_chars"
    assert _code(roster.parse_name, "😀😀") == "name_chars"
    assert _code(roster.parse_name, "王伟🚩") == "name_chars"
    assert _code(roster.parse_name, "12345") == "name_letters"
    assert _code(roster.parse_name, "()") == "name_letters"
    assert _code(roster.parse_name, "王伟\n李四") == "multiline"


def test_statuses_roles_yes_no() -> None:
    for word, code in [("正式党员", "formal"), ("正式", "formal"), (" 預備黨員 ", "probationary"),
                       ("预备", "probationary"), ("发展对象", "candidate"),
                       ("积极分子", "activist"), ("入党申请人", "applicant")]:  # fmt: skip
        assert roster.parse_status(word) == code, word
    assert _code(roster.parse_status, "群众") == "status_unknown"
    assert _code(roster.parse_status, "") == "empty"
    assert roster.parse_role("") == "" and roster.parse_role("无") == ""
    assert roster.parse_role("支部书记") == "secretary"
    assert roster.parse_role("紀檢委員") == "discipline"
    assert roster.parse_role("青年委员") == "member"
    assert _code(roster.parse_role, "会长") == "role_unknown"
    assert roster.parse_yes_no("是") and roster.parse_yes_no("Y")
    assert not roster.parse_yes_no("") and not roster.parse_yes_no("否")
    assert _code(roster.parse_yes_no, "也许") == "yes_no"


def test_dates() -> None:
    for text in (
        "2024-05-01",
        "2024/5/1",
        "2024年5月1日",
        "2024.5.1",
        "20240501",
        "２０２４-５-１",
    ):
        assert roster.parse_day(text, TODAY) == date(2024, 5, 1), text
    assert roster.parse_day("1985年7月1日", TODAY) == date(1985, 7, 1)
    assert roster.parse_day("昨天", TODAY) == date(2026, 11, 22)
    assert _code(roster.parse_day, "2月30日", TODAY) == "date_no_such_date"
    assert _code(roster.parse_day, "2023-02-29", TODAY) == "date_no_such_date"
    assert _code(roster.parse_day, "2027-01-01", TODAY) == "date_future"
    assert _code(roster.parse_day, "1900-01-01", TODAY) == "date_too_old"
    assert _code(roster.parse_day, "<b>", TODAY) == "date_unknown"
    assert _code(roster.parse_day, "", TODAY) == "date_empty"


def test_answers_keep_dates_in_order() -> None:
    values = {"status": "formal", "mobile": True, "left_on": "2025-03-01"}
    assert roster.read_answer("last_report_on", "2025-04-01", values, TODAY) == "2025-04-01"
    assert _code(roster.read_answer, "last_report_on", "2025-01-01", values, TODAY) == (
        "report_before_left"
    )
    values = {"status": "formal", "mobile": True, "last_report_on": "2025-03-01"}
    assert _code(roster.read_answer, "left_on", "2025-04-01", values, TODAY) == (
        "report_before_left"
    )
    assert roster.read_answer("party_group", "", {}, TODAY) == ""
    assert _code(roster.read_answer, "destination", "", {}, TODAY) == "empty"
    assert _code(roster.read_answer, "destination", "深" * 41, {}, TODAY) == "too_long"


def test_steps_follow_the_answers() -> None:
    assert roster.steps_for({}) == ["name", "status", "joined_on", "party_group"]
    assert roster.steps_for({"status": "probationary", "mobile": False})[-1] == "mobile"
    formal = roster.steps_for({"status": "formal", "mobile": True})
    assert formal[4:] == ["committee_role", "mobile", "destination", "left_on", "last_report_on"]
    assert roster.steps_for({"status": "formal"}, ("status", "joined_on")) == [
        "status",
        "joined_on",
    ]
    assert roster.date_optional({"status": "activist"}, "joined_on")
    assert roster.date_optional({"status": "formal"}, "joined_on")  # 不记得了 is an answer


def test_whole_records() -> None:
    ok = MemberInfo("甲", "formal", date(2020, 1, 1), committee_role="secretary")
    assert roster.check_info(ok) == []
    assert roster.check_info(MemberInfo("甲", "formal")) == []  # 入党日期 unknown
    bad = MemberInfo("甲", "activist", committee_role="member", mobile=True)
    codes = [e.code for _, e in roster.check_info(bad)]
    assert codes == ["role_not_formal", "mobile_not_member", "need_destination", "need_left_on"]
    loose = MemberInfo("甲", "formal", date(2020, 1, 1), destination="深圳")
    assert [f for f, _ in roster.check_info(loose)] == ["mobile"]
    # A change of status drops what no longer applies.
    mobile = MemberInfo("甲", "formal", date(2020, 1, 1), committee_role="secretary",
                        mobile=True, destination="深圳", left_on=date(2025, 1, 1))  # fmt: skip
    assert roster.tidy(mobile) == mobile
    tidied = roster.tidy(msgspec.structs.replace(mobile, status="activist"))
    assert tidied.committee_role == "" and not tidied.mobile and tidied.left_on is None
    assert roster.info_of(roster.values_of(mobile)) == mobile


# --------------------------------------------------------------------------- reading files


def _rows(count: int) -> list[list[str]]:
    statuses = ["正式党员", "预备党员", "发展对象", "入党积极分子", "入党申请人"]
    rows = [list(HEADER)]
    for i in range(count):
        status = statuses[i % 5]
        joined = "2020-07-01" if i % 5 < 2 else ""
        rows.append([f"党员{i:04d}", status, joined, "第一党小组", "", "否", "", "", ""])
    return rows


def test_csv_in_three_encodings() -> None:
    rows = [
        ["姓名", "身份", "入党/预备日期"],
        ["王偉", "正式", "2024/5/1"],
        ["李四", "预备", "2024年5月1日"],
    ]
    for encoding in ("utf-8", "utf-8-sig", "gbk"):
        check = _check(_csv(rows, encoding))
        assert [i.name for i in check.infos] == ["王偉", "李四"], encoding
        assert check.by_status == {"formal": 1, "probationary": 1}
    assert _problem(b"\xff\xfe\x00\xd8\x00\xd8" * 3) == "encoding"


def test_headers_in_any_order_traditional_and_spaced() -> None:
    rows = [
        ["序号", " 身份 ", "入黨/預備日期", "身份证号", "姓 名", "手机号"],
        ["1", "正式党员", "2019-01-02", "110101199001011234", "张三", "13800000000"],
    ]
    check = _check(_csv(rows))
    assert check.infos == (MemberInfo("张三", "formal", date(2019, 1, 2)),)
    assert check.ignored == ("序号", "身份证号", "手机号")


def test_every_bad_row_is_reported_and_nothing_taken() -> None:
    rows = _rows(200)
    rows[3][0] = ""  # row 4: no name
    rows[10][2] = "2024-02-30"  # row 11
    rows[50][1] = "群众"  # row 51
    rows[100][0] = "<b>&"  # row 101
    rows[150][0] = rows[20][0]  # row 151: same name as row 21
    check = _check(_csv(rows))
    assert check.infos == ()
    found = [(e.row, e.column, e.error.code) for e in check.errors]
    assert found == [
        (4, "姓名", "empty"),
        (11, "入党/预备日期", "date_no_such_date"),
        (51, "身份", "status_unknown"),
        (101, "姓名", "name_chars"),
        (151, "姓名", "dup_file"),
    ]
    assert check.errors[-1].error.params == {"row": 21}
    assert len(_check(_csv(_rows(200))).infos) == 200


def test_names_already_on_the_roster() -> None:
    check = _check(_csv(_rows(3)), existing=("党员0001",))
    assert [(e.row, e.error.code) for e in check.errors] == [(3, "dup_roster")]


def test_cross_field_errors_name_the_column() -> None:
    rows = [HEADER,
            ["甲", "正式党员", "", "", "", "", "", "", ""],
            ["乙", "预备党员", "2025-01-01", "", "书记", "", "", "", ""],
            ["丙", "正式党员", "2020-01-01", "", "", "是", "", "", ""],
            ["丁", "发展对象", "", "", "", "", "深圳", "", ""]]  # fmt: skip
    found = [(e.row, e.column, e.error.code) for e in _check(_csv(rows)).errors]
    assert found == [
        (3, "支委职务", "role_not_formal"),
        (4, "外出去向", "need_destination"),
        (4, "外出日期", "need_left_on"),
        (5, "流动党员(是/否)", "not_mobile"),
    ]


def test_xlsx_with_excel_dates_title_and_blank_rows() -> None:
    data = _xlsx([
        ["某某支部花名册"],
        [],
        ["姓名", "身份", "入党日期", "流动党员", "外出去向", "外出日期"],
        ["张三", "正式党员", datetime(2010, 7, 1), "是", "深圳", 45658],
        [None, None, None],
        ["李四", "发展对象", None, None, None, None],
        ["示例：王五", "正式党员", None],
    ])  # fmt: skip
    check = _check(data, "名单.XLSX")
    assert check.infos == (
        MemberInfo("张三", "formal", date(2010, 7, 1), mobile=True, destination="深圳",
                   left_on=date(2025, 1, 1)),
        MemberInfo("李四", "candidate"),
    )  # fmt: skip
    bad = _xlsx(
        [["姓名", "身份", "入党日期"], ["张三", "正式党员", 2], ["李四", "预备党员", 46500]]
    )
    found = [(e.row, e.error.code) for e in _check(bad, "a.xlsx").errors]
    assert found == [(2, "date_unknown"), (3, "date_future")]


def _truncated_sheet() -> bytes:
    """A valid .xlsx whose sheet XML is cut in half."""
    source = zipfile.ZipFile(io.BytesIO(_xlsx([["姓名", "身份"], ["甲", "正式党员"]])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            target.writestr(item, data)
    return buffer.getvalue()


def test_files_that_cannot_be_used() -> None:
    assert _problem(b"x", "roster.pdf") == "type"
    assert _problem(b"x", "roster") == "type"
    assert _problem(b"x", "roster.xls") == "old_spreadsheet"
    assert _problem(b"", "a.csv") == "empty"
    assert _problem(b"x" * (roster.MAX_FILE_BYTES + 1), "a.csv") == "too_big"
    assert _problem(b"not a zip file", "a.xlsx") == "broken"
    assert _problem(_truncated_sheet(), "a.xlsx") == "broken"
    assert _problem(_csv([["名称", "身份"], ["甲", "正式党员"]])) == "no_name_column"
    assert _problem(_csv([["姓名", "党小组"], ["甲", "一组"]])) == "no_status_column"
    assert _problem(_csv([HEADER])) == "no_rows"
    assert _problem(_csv(_rows(roster.MAX_ROWS + 1))) == "too_many_rows"
    assert _problem(_csv(_rows(10)), existing=tuple(f"x{i}" for i in 1995 * "x")) == (
        "roster_full"
    )


# --------------------------------------------------------------------------- writing files


def test_template_filled_in_reads_back() -> None:
    data = roster.template_workbook(roster.file_words())
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook.worksheets[0]
    assert [c.value for c in sheet[1]] == HEADER
    assert str(sheet.cell(row=2, column=1).value).startswith("示例")
    assert workbook.worksheets[1].title == "填写说明"
    with pytest.raises(FileProblem):  # only the example: nothing to import
        _check(data, "t.xlsx")
    sheet.append(["王伟", "正式党员", "2020-07-01", "一组", "书记", "否"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    check = _check(buffer.getvalue(), "t.xlsx")
    assert check.infos == (
        MemberInfo("王伟", "formal", date(2020, 7, 1), party_group="一组",
                   committee_role="secretary"),
    )  # fmt: skip


def test_export_reads_back_and_keeps_text_as_text() -> None:
    people = [
        Member(1, 1, MemberInfo("王伟", "formal", date(2020, 7, 1), party_group="=1+1",
                                committee_role="organization", mobile=True,
                                destination="@深圳", left_on=date(2025, 3, 1),
                                last_report_on=date(2025, 5, 1))),
        Member(2, 1, MemberInfo("李四", "applicant")),
    ]  # fmt: skip
    data = roster.roster_workbook(roster.file_words(), "<b>A&B</b>", people, TODAY)
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet.cell(row=1, column=1).value == "<b>A&B</b> 党员花名册（2026-11-23）"
    assert [c.value for c in sheet[2]] == HEADER
    assert sheet.cell(row=3, column=4).value == "=1+1"
    assert sheet.cell(row=3, column=4).data_type == "s"
    assert _check(data, "back.xlsx").infos == tuple(p.info for p in people)


def test_file_names_are_safe() -> None:
    assert roster.safe_file_part('A/B\\C:"<&>') == "A_B_C_____"
    name = render("roster_file_name", kind="export", branch_name="甲_乙", today=TODAY)
    assert name == "花名册-甲_乙-2026-11-23.xlsx"


# --------------------------------------------------------------------------- templates


def test_roster_templates_render() -> None:
    codes = ["empty", "multiline", "too_long", "name_chars", "name_letters", "status_unknown",
             "role_unknown", "yes_no", "date_empty", "date_no_such_date", "date_future",
             "date_too_old", "date_unknown", "role_not_formal",
             "mobile_not_member", "need_destination", "need_left_on", "not_mobile",
             "report_before_left", "dup_roster", "dup_file", "need_file", "choice"]  # fmt: skip
    params = {"limit": 20, "length": 200, "chars": "<&>", "status": "formal", "row": 3}
    for code in codes:
        text = render("roster_error", error=InvalidAnswer(code, **params))
        assert text and "\n" not in text and "{{" not in text, code
        # In a form, the engine says a refusal marked as the roster's in the roster's words.
        said = render("input_error", error=InvalidAnswer(code, about="roster", **params))
        assert said == f"⚠️ {text}。", code
    for step in roster.FIELDS:
        for mode in ("add", "edit"):
            context = {"mode": mode, "name": "<b>", "status": "formal", "number": 1}
            parse_html(render("roster_ask", step=step, **context))
        for value in (None, "", "<b>", True, False, "formal", "secretary"):
            if (step == "status" and value != "formal") or (
                step == "committee_role" and value not in ("", "secretary")
            ):
                continue
            shown = render("roster_value", field=step, value=value)
            assert shown and "<b>" not in shown, (step, value)
    m = roster.values_of(MemberInfo("<b>&", "formal", date(2020, 1, 1), mobile=True,
                                    destination="<i>", left_on=date(2025, 1, 1)))  # fmt: skip
    for view in ("card", "added", "saved", "unchanged", "deleted", "confirm_delete"):
        assert "&lt;b&gt;&amp;" in render("roster_card", view=view, m=m)
    errors = [roster.RowError(3, "<姓名>", InvalidAnswer("empty"))]
    for view in ("ask_file", "done", "cancelled", "refused", "template_caption"):
        parse_html(render("roster_import", view=view, count=3))
    text = render("roster_import", view="errors", file_name="<a>.csv", errors=errors, total=25,
                  more=5, ignored=("<备注>",))  # fmt: skip
    assert "第3行「<姓名>」：这一项不能为空\n……还有5处" in parse_html(text)
    assert "没有读取：<备注>。" in parse_html(text)
    for code in ("type", "old_spreadsheet", "too_big", "empty", "encoding", "broken",
                 "no_name_column", "no_status_column", "no_rows", "too_many_rows",
                 "roster_full", "download", "changed"):  # fmt: skip
        error = FileProblem(code, limit=2, existing=5)
        assert "无法导入" in parse_html(render("roster_import", view="problem", file_name="a",
                                                error=error))  # fmt: skip
    counts = [("formal", 2), ("applicant", 0)]
    parse_html(render("roster_list", branch_name="<b>", total=2, counts=counts,
                      people=[{"number": 1, "name": "<i>", "status": "正式党员", "role": "书记",
                               "mobile": True}],
                      page=0, pages=2, can_edit=True,
                      c=MemberCounts(5, 1, "profile", 2, 0)))  # fmt: skip
