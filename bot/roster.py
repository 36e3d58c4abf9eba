"""The roster (花名册): reading what the secretary types or uploads, and the files handed over.

Pure functions: text or bytes in, MemberInfo, errors or bytes out; no Telegram, no database.
Errors carry a code and parameters (InvalidAnswer); roster_error.j2 says them in Chinese. Only
names, party statuses, dates, party groups, committee roles and 流动党员 details are read: any
other column of an uploaded file (ID or phone numbers, say) is ignored and never stored.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Generator, Iterator, Mapping, Sequence
from contextlib import closing
from datetime import date, datetime
from functools import cache
from typing import Any

import msgspec
from msgspec.structs import replace

from bot.branch_profile import InvalidAnswer
from bot.dates import DateError, parse_date
from bot.textnorm import clean_line, match_key, to_halfwidth, to_simplified
from db.members import MAX_MEMBERS
from db.models import MEMBER_STATUSES, PARTY_MEMBER_STATUSES, Member, MemberInfo

NAME_LIMIT = 20
GROUP_LIMIT = 20
DESTINATION_LIMIT = 40
EARLIEST_YEAR = 1921  # the Party's founding: no one joined earlier
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = MAX_MEMBERS
COMMITTEE_ROLES = ("secretary", "deputy", "organization", "propaganda", "discipline", "member")
# The order of the columns in the files and of the questions when adding someone.
FIELDS = (
    "name",
    "status",
    "joined_on",
    "party_group",
    "committee_role",
    "mobile",
    "destination",
    "left_on",
    "last_report_on",
)
DATE_FIELDS = frozenset({"joined_on", "left_on", "last_report_on"})
MOBILE_FIELDS = ("destination", "left_on", "last_report_on")
OPTIONAL_STEPS = frozenset({"party_group", "last_report_on"})
# Typed for a date nobody remembers (the same as tapping 不记得了).
_UNKNOWN_DATE = frozenset({"不记得", "不记得了", "记不清", "记不清了", "不清楚", "不知道", "忘了",
                           "忘记了", "不详", "未知"})  # fmt: skip
# Rows whose name starts with this are the template's example and are skipped.
EXAMPLE_MARK = "示例"

_NAME_PUNCTUATION = frozenset(" ·•・.-()（）[]【】'’")
_BLANKS = re.compile(r"[\s\u3000]+")
_HEADER_NOISE = re.compile(r"[^\w]|_")
_FULL_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_STATUS_WORDS = {
    "正式党员": "formal", "正式": "formal", "党员": "formal", "中共党员": "formal",
    "预备党员": "probationary", "预备": "probationary", "中共预备党员": "probationary",
    "发展对象": "candidate", "入党积极分子": "activist", "积极分子": "activist",
    "入党申请人": "applicant", "申请人": "applicant", "申请入党": "applicant",
    **{code: code for code in MEMBER_STATUSES},
}  # fmt: skip
_ROLE_WORDS = {
    "": "", "无": "", "没有": "", "否": "", "-": "", "/": "",
    "书记": "secretary", "支部书记": "secretary",
    "副书记": "deputy", "支部副书记": "deputy",
    "组织委员": "organization", "宣传委员": "propaganda",
    "纪检委员": "discipline", "纪律检查委员": "discipline",
    "其他委员": "member", "委员": "member", "支委": "member", "支委委员": "member",
    **{code: code for code in COMMITTEE_ROLES},
}  # fmt: skip
_YES = frozenset({"是", "y", "yes", "1", "√", "✓", "true", "流动", "流动党员"})
_NO = frozenset({"", "否", "n", "no", "0", "×", "x", "false", "不是", "非", "无", "-", "/"})
# Header words (simplified, without spaces or punctuation) for each field.
_HEADERS = {
    "name": ("姓名", "名字", "党员姓名"),
    "status": ("身份", "政治面貌", "类别", "人员类别", "党员类别"),
    "joined_on": ("入党预备日期", "入党日期", "入党时间", "预备日期", "接收为预备党员日期"),
    "party_group": ("党小组", "所在党小组"),
    "committee_role": ("支委职务", "支委会职务", "职务"),
    "mobile": ("流动党员是否", "流动党员", "是否流动党员"),
    "destination": ("外出去向", "去向", "流动去向"),
    "left_on": ("外出日期", "外出时间"),
    "last_report_on": ("最近报告日期", "最近一次报告日期", "最近汇报日期", "最近报告时间"),
}
_HEADER_FIELDS = {word: name for name, words in _HEADERS.items() for word in words}
_HEADER_SEARCH = 10  # the header row is looked for among the first rows (a title may precede)
_MAX_COLUMNS = 40
_BLANK_RUN = 500
_EXCEL_SERIALS = (367, 99999)  # Excel day numbers from 1901; 20240501 is read as text


class FileProblem(ValueError):
    """A file that cannot be read as a roster at all; ``code`` picks the message."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


# --------------------------------------------------------------------------- typed answers


def _line(text: str) -> str:
    """One line kept as typed (traditional script too): only matching normalizes."""
    if "\n" in text.strip():
        raise InvalidAnswer("multiline")
    return clean_line(text)


def _word(text: str) -> str:
    """A short answer reduced for matching: simplified, half-width, no spaces, lower case."""
    return _BLANKS.sub("", match_key(text))


def same_name(name: str, names: Collection[str]) -> str | None:
    """The name among `names` that is the same person's name as `name` (林曉紅 is 林晓红)."""
    key = match_key(name)
    return next((n for n in names if match_key(n) == key), None)


def _name_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LMN" or ch in _NAME_PUNCTUATION


def parse_name(text: str) -> str:
    """A person's name: one line, 1..20 characters, letters needed, no symbols or emoji."""
    value = _line(text)
    if not value:
        raise InvalidAnswer("empty")
    if len(value) > NAME_LIMIT:
        raise InvalidAnswer("too_long", limit=NAME_LIMIT, length=len(value))
    bad = "".join(dict.fromkeys(ch for ch in value if not _name_char(ch)))
    if bad:
        raise InvalidAnswer("name_chars", chars=bad[:6])
    if not any(unicodedata.category(ch).startswith("L") for ch in value):
        raise InvalidAnswer("name_letters")
    return value


def parse_status(text: str) -> str:
    """A party status typed or written in a file (正式党员, 预备, 积极分子 …) as its code."""
    value = _word(text)
    if not value:
        raise InvalidAnswer("empty")
    code = _STATUS_WORDS.get(value)
    if code is None:
        raise InvalidAnswer("status_unknown")
    return code


def parse_role(text: str) -> str:
    """A committee role (书记, 组织委员 …; 无 for none) as its code ('' for none)."""
    value = _word(text)
    code = _ROLE_WORDS.get(value)
    if code is None:
        if value.endswith("委员"):
            return "member"
        raise InvalidAnswer("role_unknown")
    return code


def parse_yes_no(text: str) -> bool:
    """是 / 否 (also yes/no, 1/0, √/×; empty means 否)."""
    value = _word(text)
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise InvalidAnswer("yes_no")


def parse_short_text(text: str, limit: int, *, required: bool) -> str:
    """A party group or a destination: one line, at most `limit` characters."""
    value = _line(text)
    if not value and required:
        raise InvalidAnswer("empty")
    if len(value) > limit:
        raise InvalidAnswer("too_long", limit=limit, length=len(value))
    return value


def parse_day(text: str, today: date) -> date:
    """A past date: 2024-05-01, 2024/5/1, 2024年5月1日, 20240501, or as bot.dates reads it."""
    value = _BLANKS.sub("", to_halfwidth(to_simplified(clean_line(text)))).rstrip("。")
    if not value:
        raise InvalidAnswer("date_empty")
    match = _FULL_DATE.match(value) or _COMPACT_DATE.match(value)
    if match:
        year, month, day = (int(g) for g in match.groups())
        try:
            result = date(year, month, day)
        except ValueError:
            raise InvalidAnswer("date_no_such_date") from None
    else:
        try:
            result = parse_date(value, today)
        except DateError as error:
            raise InvalidAnswer("date_" + error.code) from None
    return _check_day(result, today)


def _check_day(value: date, today: date) -> date:
    if value.year < EARLIEST_YEAR:
        raise InvalidAnswer("date_too_old")
    if value > today:
        raise InvalidAnswer("date_future")
    return value


# --------------------------------------------------------------------------- the whole record


def values_of(info: MemberInfo) -> dict[str, Any]:
    """A MemberInfo as JSON-friendly values (dates as ISO text), for a draft kept in user_data."""
    values: dict[str, Any] = {}
    for name in FIELDS:
        value = getattr(info, name)
        values[name] = value.isoformat() if isinstance(value, date) else value
    return values


def info_of(values: Mapping[str, Any]) -> MemberInfo:
    """The MemberInfo of draft values (missing fields empty)."""

    def day(name: str) -> date | None:
        value = values.get(name)
        return date.fromisoformat(value) if value else None

    return MemberInfo(
        name=values["name"],
        status=values["status"],
        joined_on=day("joined_on"),
        party_group=values.get("party_group") or "",
        committee_role=values.get("committee_role") or "",
        mobile=bool(values.get("mobile")),
        destination=values.get("destination") or "",
        left_on=day("left_on"),
        last_report_on=day("last_report_on"),
    )


def tidy(info: MemberInfo) -> MemberInfo:
    """Drop what no longer applies after a change of status or of 流动党员.

    Only a 正式党员 holds a committee role (a 预备党员 cannot be elected); only a party member
    is a 流动党员; the details of a 流动党员 go with the mark.
    """
    if info.status != "formal" and info.committee_role:
        info = replace(info, committee_role="")
    if info.status not in PARTY_MEMBER_STATUSES and info.mobile:
        info = replace(info, mobile=False)
    if not info.mobile:
        info = replace(info, destination="", left_on=None, last_report_on=None)
    return info


def check_info(info: MemberInfo) -> list[tuple[str, InvalidAnswer]]:
    """What is wrong with a whole record, field by field (empty if it can be saved)."""
    problems: list[tuple[str, InvalidAnswer]] = []
    if info.committee_role and info.status != "formal":
        problems.append(("committee_role", InvalidAnswer("role_not_formal")))
    if info.mobile:
        if info.status not in PARTY_MEMBER_STATUSES:
            problems.append(("mobile", InvalidAnswer("mobile_not_member")))
        if not info.destination:
            problems.append(("destination", InvalidAnswer("need_destination")))
        if info.left_on is None:
            problems.append(("left_on", InvalidAnswer("need_left_on")))
    elif info.destination or info.left_on or info.last_report_on:
        problems.append(("mobile", InvalidAnswer("not_mobile")))
    if info.left_on and info.last_report_on and info.last_report_on < info.left_on:
        problems.append(("last_report_on", InvalidAnswer("report_before_left")))
    return problems


def steps_for(
    values: Mapping[str, Any], fields: Collection[str] = FIELDS, *, party_groups: bool = True
) -> list[str]:
    """The questions that apply to a draft, in order, limited to `fields`.

    The 党小组 is asked only in a branch with party groups (or of someone who has one); the
    committee role of a 正式党员 only, 流动党员 of party members only, and the 流动党员 details
    only of one.
    """
    status = values.get("status")
    steps = ["name", "status", "joined_on"]
    if party_groups or values.get("party_group"):
        steps.append("party_group")
    if status == "formal":
        steps.append("committee_role")
    if status in PARTY_MEMBER_STATUSES:
        steps.append("mobile")
        if values.get("mobile"):
            steps.extend(MOBILE_FIELDS)
    return [s for s in steps if s in fields]


def date_optional(values: Mapping[str, Any], step: str) -> bool:
    """Whether a date question may be skipped: 入党日期 may be unknown (then the 党龄 and the
    转正 reminder are not computed), as may the last report."""
    return step in ("joined_on", "last_report_on")


def read_answer(step: str, text: str, values: Mapping[str, Any], today: date) -> Any:
    """The draft value for a typed answer to `step` (JSON-friendly); InvalidAnswer if unusable.

    Dates are checked against the other dates of the draft, so a report before leaving is
    refused at the question rather than at the end.
    """
    if step == "name":
        return parse_name(text)
    if step == "status":
        return parse_status(text)
    if step == "committee_role":
        return parse_role(text)
    if step == "mobile":
        return parse_yes_no(text)
    if step == "party_group":
        return parse_short_text(text, GROUP_LIMIT, required=False)
    if step == "destination":
        return parse_short_text(text, DESTINATION_LIMIT, required=True)
    if step not in DATE_FIELDS:
        raise InvalidAnswer("choice")
    if date_optional(values, step) and _word(text) in _UNKNOWN_DATE:
        return None
    day = parse_day(text, today)
    left = values.get("left_on") if step == "last_report_on" else day.isoformat()
    report = day.isoformat() if step == "last_report_on" else values.get("last_report_on")
    if step != "joined_on" and left and report and report < left:
        raise InvalidAnswer("report_before_left")
    return day.isoformat()


# --------------------------------------------------------------------------- reading files


class RowError(msgspec.Struct, frozen=True):
    """One problem in an uploaded file: spreadsheet row number, column heading, reason."""

    row: int
    column: str
    error: InvalidAnswer


class ImportCheck(msgspec.Struct, frozen=True):
    """An uploaded roster, every row checked: the people, or what is wrong (never both)."""

    infos: tuple[MemberInfo, ...]
    errors: tuple[RowError, ...]
    ignored: tuple[str, ...]  # headings of columns that were not read

    @property
    def by_status(self) -> dict[str, int]:
        """How many people of each status, in MEMBER_STATUSES order (zeros left out)."""
        counted = Counter(info.status for info in self.infos)
        return {s: counted[s] for s in MEMBER_STATUSES if counted[s]}


def file_kind(file_name: str) -> str:
    """'xlsx' or 'csv' from the file's name; FileProblem for anything else."""
    suffix = file_name.lower().rsplit(".", 1)[-1] if "." in file_name else ""
    if suffix in ("xlsx", "csv"):
        return suffix
    if suffix in ("xls", "et", "wps", "numbers", "ods"):
        raise FileProblem("old_spreadsheet")
    raise FileProblem("type")


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileProblem("encoding")


def _csv_rows(data: bytes) -> Generator[tuple[int, list[Any]]]:
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    if delimiter == "," and "，" in first and "," not in first:
        delimiter = "，"  # typed by hand with the Chinese comma
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), 1):
            yield number, list(row[:_MAX_COLUMNS])
    except csv.Error:
        raise FileProblem("broken") from None


def _xlsx_rows(data: bytes) -> Generator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheets = workbook.worksheets
        # The first sheet with a name heading near the top (the template's help sheet has none).
        chosen = sheets[0] if sheets else None
        for sheet in sheets:
            top = sheet.iter_rows(max_row=_HEADER_SEARCH, max_col=_MAX_COLUMNS, values_only=True)
            if any(_header_map(list(row)).get("name") is not None for row in top):
                chosen = sheet
                break
        if chosen is None:
            raise FileProblem("no_rows")
        for number, row in enumerate(chosen.iter_rows(max_col=_MAX_COLUMNS, values_only=True), 1):
            yield number, list(row)
    finally:
        workbook.close()


def _header_map(cells: Sequence[Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if not isinstance(cell, str):
            continue
        word = _HEADER_NOISE.sub("", to_halfwidth(to_simplified(cell)))
        field = _HEADER_FIELDS.get(word)
        if field and field not in found:
            found[field] = index
    return found


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _cell_day(value: Any, today: date) -> date:
    if isinstance(value, datetime):
        return _check_day(value.date(), today)
    if isinstance(value, date):
        return _check_day(value, today)
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if is_number and _EXCEL_SERIALS[0] <= value <= _EXCEL_SERIALS[1]:
        from openpyxl.utils.datetime import from_excel

        return _check_day(from_excel(value).date(), today)
    return parse_day(_text(value), today)


def _cell_value(field: str, value: Any, today: date) -> Any:
    if field in DATE_FIELDS:
        return None if _text(value).strip() == "" else _cell_day(value, today)
    text = _text(value)
    if field == "name":
        return parse_name(text)
    if field == "status":
        return parse_status(text)
    if field == "committee_role":
        return parse_role(text)
    if field == "mobile":
        return parse_yes_no(text)
    if field == "party_group":
        return parse_short_text(text, GROUP_LIMIT, required=False)
    return parse_short_text(text, DESTINATION_LIMIT, required=False)


def check_file(
    data: bytes,
    file_name: str,
    existing: Collection[str],
    today: date,
    column_names: Mapping[str, str],
) -> ImportCheck:
    """Read an uploaded .xlsx or .csv roster and check every row.

    `existing` are the names already on the roster (a name there is refused, so importing the
    same file twice adds no one); `column_names` are the standard headings, used for a column
    the file lacks. Row numbers are those a spreadsheet shows. FileProblem when the file as a
    whole cannot be used (type, size, encoding, no name column, no rows, too many rows).
    """
    kind = file_kind(file_name)
    if len(data) > MAX_FILE_BYTES:
        raise FileProblem("too_big", limit=MAX_FILE_BYTES // (1024 * 1024))
    if not data.strip():
        raise FileProblem("empty")
    rows = _xlsx_rows(data) if kind == "xlsx" else _csv_rows(data)
    try:
        with closing(rows):
            header_row, columns, headings = _find_header(rows)
            if "status" not in columns:
                raise FileProblem("no_status_column")
            records = _data_rows(rows, columns)
    except FileProblem:
        raise
    except Exception as exc:  # a damaged file can fail anywhere inside openpyxl's parser
        raise FileProblem("broken") from exc
    if not records:
        raise FileProblem("no_rows")
    if len(records) + len(existing) > MAX_MEMBERS:
        raise FileProblem("roster_full", limit=MAX_MEMBERS, existing=len(existing))
    label = {f: headings.get(f) or column_names[f] for f in FIELDS}
    keys = {match_key(name) for name in existing}
    infos, errors = _check_rows(records, columns, label, keys, today)
    read = set(columns.values())
    ignored = tuple(dict.fromkeys(h for i, h in enumerate(header_row) if h and i not in read))
    if errors:
        return ImportCheck(infos=(), errors=tuple(errors), ignored=ignored)
    return ImportCheck(infos=tuple(infos), errors=(), ignored=ignored)


def _data_rows(
    rows: Iterator[tuple[int, list[Any]]], columns: Mapping[str, int]
) -> list[tuple[int, list[Any]]]:
    """The rows below the heading with something in a column that is read, example skipped."""
    records: list[tuple[int, list[Any]]] = []
    blank_run = 0
    for number, cells in rows:
        wanted = [_text(cells[i] if i < len(cells) else None).strip() for i in columns.values()]
        if not any(wanted):
            blank_run += 1
            if blank_run > _BLANK_RUN:
                break  # a sheet formatted down to row 1,048,576 has nothing more to say
            continue
        blank_run = 0
        name = cells[columns["name"]] if columns["name"] < len(cells) else None
        if _text(name).strip().startswith(EXAMPLE_MARK):
            continue
        records.append((number, cells))
        if len(records) > MAX_ROWS:
            raise FileProblem("too_many_rows", limit=MAX_ROWS)
    return records


def _find_header(
    rows: Iterator[tuple[int, list[Any]]],
) -> tuple[list[str], dict[str, int], dict[str, str]]:
    for _ in range(_HEADER_SEARCH):
        found = next(rows, None)
        if found is None:
            break
        cells = found[1]
        columns = _header_map(cells)
        if "name" in columns:
            texts = [clean_line(_text(c)) for c in cells]
            return texts, columns, {f: texts[i] for f, i in columns.items()}
    raise FileProblem("no_name_column")


def _check_rows(
    records: Sequence[tuple[int, list[Any]]],
    columns: Mapping[str, int],
    label: Mapping[str, str],
    existing: set[str],
    today: date,
) -> tuple[list[MemberInfo], list[RowError]]:
    infos: list[MemberInfo] = []
    errors: list[RowError] = []
    first_row: dict[str, int] = {}
    for number, cells in records:
        values: dict[str, Any] = {}
        row_errors: list[RowError] = []
        for field, index in columns.items():
            cell = cells[index] if index < len(cells) else None
            try:
                values[field] = _cell_value(field, cell, today)
            except InvalidAnswer as error:
                row_errors.append(RowError(number, label[field], error))
        name = values.get("name")
        if name is not None:
            key = match_key(name)
            if key in existing:
                row_errors.append(RowError(number, label["name"], InvalidAnswer("dup_roster")))
            elif key in first_row:
                error = InvalidAnswer("dup_file", row=first_row[key])
                row_errors.append(RowError(number, label["name"], error))
            else:
                first_row[key] = number
        if not row_errors:
            info = MemberInfo(**{f: v for f, v in values.items() if v is not None})
            problems = check_info(info)
            row_errors.extend(RowError(number, label[f], e) for f, e in problems)
            if not problems:
                infos.append(info)
        errors.extend(row_errors)
    return infos, errors


# --------------------------------------------------------------------------- writing files


def safe_file_part(text: str) -> str:
    """Text for a file name: characters that file systems or HTML dislike made "_"."""
    return re.sub(r'[\\/:*?"<>|&\'\x00-\x1f\x7f]', "_", text).strip(" .") or "_"


class FileWords(msgspec.Struct, frozen=True):
    """The words of the roster files (from roster_file_labels.j2 and labels.j2)."""

    columns: Mapping[str, str]
    statuses: Mapping[str, str]
    roles: Mapping[str, str]
    yes: str
    no: str
    sheet: str
    help_sheet: str
    title: str  # with {branch} and {day}
    help_lines: Sequence[str]
    example: Sequence[str]


def _cells(info: MemberInfo, words: FileWords) -> list[Any]:
    return [
        info.name,
        words.statuses.get(info.status, info.status),
        info.joined_on,
        info.party_group,
        words.roles.get(info.committee_role, info.committee_role),
        words.yes if info.mobile else words.no,
        info.destination,
        info.left_on,
        info.last_report_on,
    ]


def _put(sheet: Any, row: int, column: int, value: Any) -> Any:
    """One cell: text always stays text (never a formula), dates shown as 2024-05-01."""
    from bot.exports import clean_text

    if isinstance(value, str):
        value = clean_text(value)
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str) and value:
        cell.data_type = "s"
        if value.startswith(("=", "+", "-", "@")):
            cell.quotePrefix = True
    elif isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"
    return cell


def _workbook(words: FileWords, rows: Sequence[Sequence[Any]], title: str | None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = words.sheet
    top = 1
    if title is not None:
        _put(sheet, 1, 1, title).font = Font(bold=True, size=14)
        top = 2
    for column, field in enumerate(FIELDS, 1):
        _put(sheet, top, column, words.columns[field]).font = Font(bold=True)
        width = 12 if field in DATE_FIELDS else 16 if field != "destination" else 20
        sheet.column_dimensions[get_column_letter(column)].width = width
    for offset, values in enumerate(rows, 1):
        for column, value in enumerate(values, 1):
            _put(sheet, top + offset, column, value)
    sheet.freeze_panes = sheet.cell(row=top + 1, column=1)
    help_sheet = workbook.create_sheet(words.help_sheet)
    help_sheet.column_dimensions["A"].width = 90
    for number, line in enumerate(words.help_lines, 1):
        _put(help_sheet, number, 1, line)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_workbook(words: FileWords) -> bytes:
    """The import template: the heading row, one example row, and a sheet of instructions."""
    return _workbook(words, [list(words.example)], None)


def roster_workbook(
    words: FileWords, branch_name: str, members: Sequence[Member], today: date
) -> bytes:
    """The roster as .xlsx: a title row, the template's columns, one row per person."""
    title = words.title.format(branch=branch_name, day=today.isoformat())
    return _workbook(words, [_cells(m.info, words) for m in members], title)


@cache
def file_words() -> FileWords:
    """The words of the roster files, from the templates."""
    from bot.texts import environment, labels

    words = environment().get_template("roster_file_labels.j2").module
    lab = labels()
    return FileWords(
        columns=dict(lab.ROSTER_COLUMNS),
        statuses=dict(lab.ROSTER_STATUSES),
        roles=dict(lab.ROSTER_ROLES),
        yes=words.YES,
        no=words.NO,
        sheet=words.SHEET,
        help_sheet=words.HELP_SHEET,
        title=words.TITLE,
        help_lines=tuple(words.HELP_LINES),
        example=tuple(words.EXAMPLE),
    )
