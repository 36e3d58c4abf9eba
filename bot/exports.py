"""Files to hand over: the year's Excel ledger (台账) and a Word meeting record (pure functions).

No Telegram and no database: records in, bytes out. Every word in the files comes from
bot/templates/export_labels.j2 (kind, field and activity-form names from labels.j2). User text
is kept literally; only characters that XML cannot hold are dropped, and text that Excel could
take for a formula is stored as text.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, tzinfo
from functools import cache
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from docx import Document
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.image.image import Image as DocxImage
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor
from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.config import DEFAULT_TIMEZONE
from bot.meetings import COMBINABLE, MEETING_KINDS
from bot.obligations import (
    DEFAULT_FREQUENCY,
    applies,
    held_by_kind,
    last_day,
    period_of,
    registered_on,
    state_in,
)
from bot.texts import environment, labels, render
from db.models import Branch, BranchProfile, Meeting

# Characters XML 1.0 cannot hold (and DEL), plus lone surrogates that cannot be encoded.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_WIDE = re.compile("[\u1100-\U0010ffff]")
_FORMULA_START = ("=", "+", "-", "@")
_MAX_CELL = 32767  # Excel's limit for the text of one cell
_LATIN_FONT = "Times New Roman"
_PERIOD_FREQUENCIES = ("monthly", "quarterly", "yearly")
_ALL = frozenset(MEETING_KINDS)
_TALK = "heart_to_heart_talk"
_LECTURE = "party_lecture"
_COMBINABLE_KINDS = frozenset(COMBINABLE) | {k for v in COMBINABLE.values() for k in v}


@cache
def export_labels() -> Any:
    """Headings, column names and phrases of the exported files, from export_labels.j2."""
    return environment().get_template("export_labels.j2").module


def clean_text(value: str) -> str:
    """User text that XML can hold: line breaks made "\\n", control characters dropped."""
    return _ILLEGAL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


# --------------------------------------------------------------------------- the year summary


class PeriodCount(msgspec.Struct, frozen=True):
    """One month, quarter or year of an obligation and how many records count for it."""

    label: str
    start: date
    end: date
    held: int
    state: str = "due"  # as bot.obligations.state_in decides it


class KindSummary(msgspec.Struct, frozen=True):
    """Required against held for one obligation over one year.

    `required` counts the periods that have started by the day of the summary, `held` those of
    them with at least one record; `missing` names the ended periods without a record and
    `pending` the started, unfinished period still waiting for one.
    """

    code: str
    frequency: str
    periods: tuple[PeriodCount, ...]
    required: int
    held: int
    missing: tuple[str, ...]
    pending: tuple[str, ...]


def _periods(frequency: str, year: int) -> list[tuple[str, date, date]]:
    words = export_labels()
    if frequency == "monthly":
        return [
            (words.MONTH.format(n=m), date(year, m, 1), last_day(year, m)) for m in range(1, 13)
        ]
    if frequency == "quarterly":
        return [
            (words.QUARTERS[q], date(year, 3 * q + 1, 1), last_day(year, 3 * q + 3))
            for q in range(4)
        ]
    return [(words.WHOLE_YEAR, date(year, 1, 1), date(year, 12, 31))]


def year_summary(
    profile: BranchProfile,
    year: int,
    records: Sequence[Meeting],
    today: date,
    *,
    frequencies: Mapping[str, str] | None = None,
    created_on: date | None = None,
    planned_days: Mapping[date, date] | None = None,
) -> list[KindSummary]:
    """Each meeting obligation that applies to the branch, with the year's periods counted.

    党费 is left out (dues are not meetings), as are obligations turned off. A record counts
    for every kind in `counts_as`; records of other years are ignored. Each period is judged by
    bot.obligations.state_in, as /status judges it: required once started (and not before the
    branch registered), missing once overdue, pending while due.
    """
    chosen = {**DEFAULT_FREQUENCY, **(frequencies or {})}
    pairs = [(c, m.held_on) for m in records if m.held_on.year == year for c in m.counts_as]
    held = held_by_kind(pairs)
    result = []
    for code in MEETING_KINDS:
        frequency = chosen.get(code)
        if frequency not in _PERIOD_FREQUENCIES or not applies(code, profile):
            continue
        held_days = held.get(code, [])
        periods = tuple(
            PeriodCount(
                label,
                start,
                end,
                sum(start <= d <= end for d in held_days),
                state_in(
                    code,
                    period_of(frequency, start),
                    profile,
                    held,
                    today,
                    frequencies=frequencies,
                    created_on=created_on,
                    planned_days=planned_days,
                ).state,
            )
            for label, start, end in _periods(frequency, year)
        )
        started = [p for p in periods if p.start <= today and p.state != "not_applicable"]
        result.append(
            KindSummary(
                code=code,
                frequency=frequency,
                periods=periods,
                required=len(started),
                held=sum(1 for p in started if p.state == "done"),
                missing=tuple(p.label for p in started if p.state == "overdue"),
                pending=tuple(p.label for p in started if p.state == "due"),
            )
        )
    return result


def status_text(summary: KindSummary) -> str:
    """完成情况: "已完成 4/4", or what is missing ("缺 3月、5月") and what is still to come."""
    words = export_labels()
    if not summary.required:
        return words.STATUS_NOT_STARTED
    if not summary.missing and not summary.pending:
        return words.STATUS_DONE.format(held=summary.held, required=summary.required)
    parts = []
    if summary.missing:
        parts.append(words.STATUS_MISSING.format(periods=words.LIST_SEP.join(summary.missing)))
    parts.extend(words.STATUS_PENDING.format(period=label) for label in summary.pending)
    return words.PART_SEP.join(parts)


# --------------------------------------------------------------------------- shared wording


def _day(day: date, *, weekday: bool = False) -> str:
    words = export_labels()
    text = words.DATE.format(y=day.year, m=day.month, d=day.day)
    if weekday:
        text += words.WEEKDAY.format(w=words.WEEKDAYS[day.weekday()])
    return text


def _absentees(meeting: Meeting) -> str:
    """Who was missing, as the record and the ledger say it: the named with their reasons, and
    the rest counted as not named (应到 9, 实到 7, no names: "缺席 2 人，未填写姓名")."""
    words = export_labels()
    named = [
        words.ABSENTEE.format(name=name, reason=reason) if reason else name
        for name, reason in meeting.absentees
    ]
    unnamed = meeting.missing_count - len(named)
    if unnamed > 0:
        named.append((words.MORE_UNNAMED if named else words.UNNAMED).format(n=unnamed))
    return words.LIST_SEP.join(named)


def _agenda_lines(meeting: Meeting) -> list[str]:
    words = export_labels()
    return [words.AGENDA_ITEM.format(n=n, item=item) for n, item in enumerate(meeting.agenda, 1)]


def _kind_names(codes: Sequence[str]) -> str:
    names = labels().KINDS
    return export_labels().LIST_SEP.join(names.get(code, code) for code in codes)


def _activity_form(meeting: Meeting) -> str:
    return labels().ACTIVITY_FORMS.get(meeting.activity_form, meeting.activity_form)


def _is_lecture(meeting: Meeting) -> bool:
    return _LECTURE in meeting.counts_as


def _local_time(stamp: str, zone: tzinfo) -> datetime | None:
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).replace(tzinfo=None)


def _start_time(meeting: Meeting) -> time | str | None:
    if not meeting.start_time:
        return None
    try:
        return time.fromisoformat(meeting.start_time)
    except ValueError:
        return meeting.start_time


# --------------------------------------------------------------------------- the Excel ledger

_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_FILL_HEADER = PatternFill("solid", fgColor="DDEBF7")
_FILL_UNUSED = PatternFill("solid", fgColor="F2F2F2")
_FILL_MISSED = PatternFill("solid", fgColor="FFC7CE")
_FILL_PENDING = PatternFill("solid", fgColor="FFEB9C")
_SUMMARY_KIND, _SUMMARY_FREQUENCY, _FIRST_MONTH, _FIRST_QUARTER, _YEAR_COLUMN = 1, 2, 3, 15, 19
_REQUIRED, _HELD, _STATUS = 20, 21, 22
_LINE_HEIGHT = 15.0  # points per wrapped line at 11 pt
_MAX_ROW_HEIGHT = 409.0


def _add_styles(workbook: Workbook, font_name: str) -> None:
    def style(name: str, **options: Any) -> None:
        options.setdefault("font", Font(name=font_name, size=11))
        workbook.add_named_style(NamedStyle(name=name, **options))

    top_wrap = Alignment(vertical="top", wrap_text=True)
    top_center = Alignment(horizontal="center", vertical="top")
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    style("x_title", font=Font(name=font_name, size=16, bold=True), alignment=center)
    style("x_subtitle", alignment=Alignment(vertical="center"))
    style("x_note", font=Font(name=font_name, size=10, color="595959"), alignment=top_wrap)
    header_font = Font(name=font_name, size=11, bold=True)
    style("x_header", font=header_font, fill=_FILL_HEADER, border=_BORDER, alignment=center)
    style("x_text", border=_BORDER, alignment=top_wrap)
    style("x_center", border=_BORDER, alignment=top_center)
    style("x_middle", border=_BORDER, alignment=center)
    style("x_date", border=_BORDER, alignment=top_center, number_format="yyyy-mm-dd")
    style("x_time", border=_BORDER, alignment=top_center, number_format="hh:mm")
    style("x_stamp", border=_BORDER, alignment=top_center, number_format="yyyy-mm-dd hh:mm")


def _put(ws: Worksheet, row: int, column: int, value: object, style: str) -> Cell:
    """Write one cell: text cleaned and always kept as text (never a formula or error code)."""
    if isinstance(value, str):
        value = clean_text(value)[:_MAX_CELL]
    cell = ws.cell(row=row, column=column, value=value)
    cell.style = style
    if isinstance(value, str) and value:
        if cell.data_type != "s":  # "=..." became a formula, "#N/A" an error code
            cell.data_type = "s"
        if value.startswith(_FORMULA_START):
            cell.quotePrefix = True  # Excel and WPS keep it text when the cell is edited
    return cell


def _width(text: str) -> int:
    """Display width in Excel column units: CJK and other wide characters count two."""
    return len(text) + len(_WIDE.findall(text))


def _lines(text: str, width: float) -> int:
    per_line = max(1, int(width) - 1)
    return sum(max(1, math.ceil(_width(line) / per_line)) for line in text.split("\n"))


def _print_setup(ws: Worksheet, title_rows: str) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = title_rows


def _title(ws: Worksheet, row: int, text: str, columns: int, style: str, height: float) -> None:
    _put(ws, row, 1, text, style)
    if columns > 1:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=columns)
    ws.row_dimensions[row].height = height


def _summary_sheet(
    ws: Worksheet,
    branch: Branch,
    year: int,
    records: Sequence[Meeting],
    today: date,
    frequencies: Mapping[str, str] | None,
    planned_days: Mapping[date, date] | None,
    zone: tzinfo,
) -> None:
    words, lab = export_labels(), labels()
    profile = branch.profile
    summaries = year_summary(
        profile,
        year,
        records,
        today,
        frequencies=frequencies,
        created_on=registered_on(branch.created_at, zone),
        planned_days=planned_days,
    )
    ws.title = words.SUMMARY_SHEET
    title = words.LEDGER_TITLE.format(name=profile.name, year=year)
    _title(ws, 1, title, _STATUS, "x_title", 30)
    subtitle = words.LEDGER_SUBTITLE.format(
        organization=profile.organization_name, day=_day(today)
    )
    _title(ws, 2, subtitle, _STATUS, "x_subtitle", 20)
    headers = [words.SUMMARY_KIND, words.SUMMARY_FREQUENCY]
    headers += [words.MONTH.format(n=m) for m in range(1, 13)]
    headers += [*words.QUARTERS, words.WHOLE_YEAR]
    headers += [words.SUMMARY_REQUIRED, words.SUMMARY_HELD, words.SUMMARY_STATUS]
    for column, header in enumerate(headers, 1):
        _put(ws, 3, column, header, "x_header")
    ws.row_dimensions[3].height = 30
    first_column = {"monthly": _FIRST_MONTH, "quarterly": _FIRST_QUARTER, "yearly": _YEAR_COLUMN}
    row = 3
    for summary in summaries:
        row += 1
        _put(ws, row, _SUMMARY_KIND, lab.KINDS[summary.code], "x_middle")
        _put(ws, row, _SUMMARY_FREQUENCY, words.FREQUENCIES[summary.frequency], "x_middle")
        for column in range(_FIRST_MONTH, _REQUIRED):
            ws.cell(row=row, column=column).style = "x_middle"
            ws.cell(row=row, column=column).fill = _FILL_UNUSED
        for offset, period in enumerate(summary.periods):
            started = period.start <= today
            value: int | str | None = period.held if started or period.held else None
            if started and not period.held and period.state == "not_applicable":
                value = words.NOT_OWED  # before the branch registered, as /status shows it
            cell = _put(ws, row, first_column[summary.frequency] + offset, value, "x_middle")
            if period.state == "overdue":
                cell.fill = _FILL_MISSED
            elif started and period.state == "due":
                cell.fill = _FILL_PENDING
        _put(ws, row, _REQUIRED, summary.required, "x_middle")
        _put(ws, row, _HELD, summary.held, "x_middle")
        _put(ws, row, _STATUS, status_text(summary), "x_text")
        ws.row_dimensions[row].height = 20 * _lines(status_text(summary), 30)
    in_year = sum(1 for m in records if m.held_on.year == year)
    notes = [*words.SUMMARY_NOTES]
    notes.insert(
        0,
        words.RECORD_COUNT.format(n=in_year) if in_year else words.EMPTY_YEAR.format(year=year),
    )
    row += 1
    for note in notes:
        row += 1
        _title(ws, row, note, _STATUS, "x_note", 18)
    widths = {_SUMMARY_KIND: 14, _SUMMARY_FREQUENCY: 8, _YEAR_COLUMN: 7}
    widths |= {c: 6 for c in range(_FIRST_MONTH, _FIRST_QUARTER)}
    widths |= {c: 10 for c in range(_FIRST_QUARTER, _YEAR_COLUMN)}
    widths |= {_REQUIRED: 7, _HELD: 7, _STATUS: 30}
    for column, width in widths.items():
        ws.column_dimensions[get_column_letter(column)].width = width
    ws.freeze_panes = "C4"
    _print_setup(ws, "3:3")


# Which columns a kind's sheet has; a column also appears when any record on it has a value.
_COLUMN_KINDS: dict[str, frozenset[str]] = {
    "seq": _ALL,
    "held_on": _ALL,
    "start_time": _ALL,
    "place": _ALL,
    "host": _ALL - {_LECTURE},
    "recorder": _ALL - {_TALK},
    "speaker": frozenset({_LECTURE}),
    "counterpart": frozenset({_TALK}),
    "title": frozenset({_LECTURE, "theme_party_day"}),
    "activity_form": frozenset({"theme_party_day"}),
    "expected": _ALL - {_TALK},
    "present": _ALL - {_TALK},
    "on_leave": _ALL - {_TALK},
    "absentees": _ALL - {_TALK},
    "agenda": _ALL,
    "content": _ALL,
    "resolutions": _ALL - {_LECTURE, _TALK},
    "photos": _ALL,
    "combined": _COMBINABLE_KINDS,
    "accepted_warnings": frozenset(),
    "created_at": _ALL,
}
_WIDTHS = {"seq": 6, "held_on": 12, "start_time": 9, "place": 16, "host": 10, "recorder": 10,
           "speaker": 10, "counterpart": 14, "title": 24, "activity_form": 10, "expected": 6,
           "present": 6, "on_leave": 6, "absentees": 22, "agenda": 34, "content": 50,
           "resolutions": 30, "photos": 7, "combined": 12, "accepted_warnings": 20,
           "created_at": 17}  # fmt: skip
_STYLES = {"seq": "x_center", "held_on": "x_date", "start_time": "x_time",
           "expected": "x_center", "present": "x_center", "on_leave": "x_center",
           "photos": "x_center", "created_at": "x_stamp"}  # fmt: skip
_WRAPPED = ("place", "title", "absentees", "agenda", "content", "resolutions", "combined",
            "counterpart", "accepted_warnings")  # fmt: skip


def _header(key: str, kind: str) -> str:
    words, fields = export_labels(), labels().MEETING_FIELDS
    if key == "host" and kind == _TALK:
        return words.COLUMN_TALKER
    if key == "agenda" and kind == _TALK:
        return words.COLUMN_TALK_POINTS
    if key == "title" and kind == "theme_party_day":
        return words.COLUMN_THEME
    special = {
        "seq": words.COLUMN_SEQ,
        "photos": words.COLUMN_PHOTOS,
        "combined": words.COLUMN_COMBINED,
        "accepted_warnings": words.COLUMN_WARNINGS,
        "created_at": words.COLUMN_CREATED,
    }
    return special.get(key) or fields[key]


def _getters(kind: str, zone: tzinfo) -> dict[str, Callable[[Meeting], object]]:
    words = export_labels()
    sep = words.LIST_SEP
    return {
        "held_on": lambda m: m.held_on,
        "start_time": _start_time,
        "place": lambda m: m.place,
        "host": lambda m: m.host,
        "recorder": lambda m: m.recorder,
        "speaker": lambda m: m.speaker,
        "counterpart": lambda m: m.counterpart,
        "title": lambda m: m.title,
        "activity_form": _activity_form,
        "expected": lambda m: m.expected,
        "present": lambda m: m.present,
        "on_leave": lambda m: m.leave_count if m.expected is not None else None,
        "absentees": _absentees,
        "agenda": lambda m: "\n".join(_agenda_lines(m)),
        "content": lambda m: m.content,
        "resolutions": lambda m: m.resolutions,
        "photos": lambda m: len(m.photos),
        "combined": lambda m: _kind_names([c for c in m.counts_as if c != kind]),
        "accepted_warnings": lambda m: sep.join(
            words.WARNINGS.get(code, code) for code in m.accepted_warnings
        ),
        "created_at": lambda m: _local_time(m.created_at, zone) or m.created_at,
    }


def _columns(kind: str, rows: Sequence[Meeting]) -> list[str]:
    def used(key: str) -> bool:
        if kind in _COLUMN_KINDS[key]:
            return True
        if key in ("speaker", "title") and any(_is_lecture(m) for m in rows):
            return True
        if key == "combined":
            return any(len(m.counts_as) > 1 for m in rows)
        return key not in ("seq", "photos") and any(getattr(m, key) for m in rows)

    return [key for key in _COLUMN_KINDS if used(key)]


def _kind_sheet(
    ws: Worksheet, branch: Branch, year: int, kind: str, rows: Sequence[Meeting], zone: tzinfo
) -> None:
    words = export_labels()
    kind_name = labels().KINDS[kind]
    ws.title = kind_name
    keys = _columns(kind, rows)
    title = words.SHEET_TITLE.format(
        name=branch.profile.name, year=year, kind=kind_name, n=len(rows)
    )
    _title(ws, 1, title, len(keys), "x_title", 30)
    for column, key in enumerate(keys, 1):
        _put(ws, 2, column, _header(key, kind), "x_header")
    ws.row_dimensions[2].height = 30
    getters = _getters(kind, zone)
    plan = [
        (column, getters.get(key), _STYLES.get(key, "x_text"))
        for column, key in enumerate(keys, 1)
    ]
    wrapped = [(column, key) for column, key in enumerate(keys, 1) if key in _WRAPPED]
    for number, meeting in enumerate(rows, 1):
        row = number + 2
        for column, getter, style in plan:
            value = number if getter is None else getter(meeting)
            if isinstance(value, str) and style in ("x_time", "x_stamp"):
                style = "x_center"  # a time that could not be read is shown as stored
            _put(ws, row, column, value if value != "" else None, style)
        lines = 1
        for column, key in wrapped:
            value = ws.cell(row=row, column=column).value
            if isinstance(value, str) and value:
                lines = max(lines, _lines(value, _WIDTHS[key]))
        ws.row_dimensions[row].height = min(_MAX_ROW_HEIGHT, _LINE_HEIGHT * lines + 4)
    for column, key in enumerate(keys, 1):
        ws.column_dimensions[get_column_letter(column)].width = _WIDTHS[key]
    last = get_column_letter(len(keys))
    ws.auto_filter.ref = f"A2:{last}{len(rows) + 2}"
    ws.freeze_panes = "C3"
    _print_setup(ws, "2:2")


def _order(meeting: Meeting) -> tuple[object, ...]:
    return (meeting.held_on, meeting.start_time or "", meeting.created_at, meeting.id or 0)


def ledger_workbook(
    branch: Branch,
    year: int,
    records: Sequence[Meeting],
    today: date,
    *,
    frequencies: Mapping[str, str] | None = None,
    planned_days: Mapping[date, date] | None = None,
    zone: tzinfo | None = None,
) -> bytes:
    """The year's ledger as an .xlsx file: a summary sheet, then one sheet per meeting kind.

    The summary (汇总) sets required against held for each obligation that applies to the
    branch, by month, quarter or year. Each kind with records gets a sheet with one row per
    record; a combined sitting appears on the sheet of every kind it counts for. Records of
    other years are left out. Registration times are shown in `zone` (default Beijing time).
    """
    words = export_labels()
    zone = zone or ZoneInfo(DEFAULT_TIMEZONE)
    workbook = Workbook()
    workbook.properties.creator = words.APP_NAME
    workbook.properties.lastModifiedBy = words.APP_NAME
    workbook.properties.title = clean_text(
        words.LEDGER_TITLE.format(name=branch.profile.name, year=year)
    )
    _add_styles(workbook, words.BODY_FONT)
    in_year = sorted((m for m in records if m.held_on.year == year), key=_order)
    _summary_sheet(workbook.active, branch, year, in_year, today, frequencies, planned_days, zone)
    for kind in MEETING_KINDS:
        rows = [m for m in in_year if kind in m.counts_as]
        if rows:
            _kind_sheet(workbook.create_sheet(), branch, year, kind, rows, zone)
    output = BytesIO()
    workbook.save(output)
    return output.getvalue()


# --------------------------------------------------------------------------- the Word record


def _east_asian_font(rpr: Any, east_asian: str) -> None:
    fonts = rpr.get_or_add_rFonts()
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    fonts.set(qn("w:ascii"), _LATIN_FONT)
    fonts.set(qn("w:hAnsi"), _LATIN_FONT)
    fonts.set(qn("w:eastAsia"), east_asian)


def _set_up(document: Any, body_font: str) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Cm(2.5)
    section.top_margin = section.bottom_margin = Cm(2.5)
    defaults = document.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _east_asian_font(rpr, body_font)
    lang = rpr.find(qn("w:lang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")
    normal = document.styles["Normal"]
    normal.font.size = Pt(12)
    _east_asian_font(normal.element.get_or_add_rPr(), body_font)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.3


def _paragraph(
    document: Any, text: str, *, bold: bool = False, indent: bool = False, before: float = 0
) -> Any:
    paragraph = document.add_paragraph()
    run = paragraph.add_run(text)
    run.bold = bold or None
    if indent:
        paragraph.paragraph_format.first_line_indent = Pt(24)
    if before:
        paragraph.paragraph_format.space_before = Pt(before)
    return paragraph


def _header_pairs(meeting: Meeting) -> list[tuple[str, str, bool]]:
    """(label, value, full width) for the table at the top of the record."""
    words, fields = export_labels(), labels().MEETING_FIELDS
    when = _day(meeting.held_on, weekday=True)
    if meeting.start_time:
        when += f" {meeting.start_time}"
    pairs = [(words.DOC_TIME, when, False), (fields["place"], meeting.place, False)]
    if meeting.kind == _TALK:
        pairs.append((words.COLUMN_TALKER, meeting.host, False))
        pairs.append((fields["counterpart"], meeting.counterpart, False))
        if meeting.recorder:
            pairs.append((fields["recorder"], meeting.recorder, False))
    elif meeting.kind == _LECTURE:
        pairs.append((fields["speaker"], meeting.speaker, False))
        pairs.append((fields["recorder"], meeting.recorder, False))
        if meeting.host:
            pairs.append((fields["host"], meeting.host, False))
    else:
        pairs.append((fields["host"], meeting.host, False))
        pairs.append((fields["recorder"], meeting.recorder, False))
        if _is_lecture(meeting) or meeting.speaker:
            pairs.append((fields["speaker"], meeting.speaker, False))
    if meeting.kind == "theme_party_day":
        pairs.append((words.COLUMN_THEME, meeting.title, False))
        pairs.append((fields["activity_form"], _activity_form(meeting), False))
    elif _is_lecture(meeting) or meeting.title:
        pairs.append((fields["title"], meeting.title, True))
    if meeting.kind != _TALK or meeting.expected is not None:
        attendance = ""
        if meeting.expected is not None:
            attendance = words.DOC_ATTENDANCE_TEXT.format(
                expected=meeting.expected,
                present=meeting.present if meeting.present is not None else "",
                on_leave=meeting.leave_count,
                absent=meeting.missing_count - meeting.leave_count,
            )
        pairs.append((words.DOC_ATTENDANCE, attendance, True))
        pairs.append((words.DOC_ABSENTEES, _absentees(meeting) or words.NONE, True))
    if meeting.also_counts_as:
        combined = words.DOC_COMBINED_TEXT.format(kinds=_kind_names(meeting.also_counts_as))
        pairs.append((words.COLUMN_COMBINED, combined, True))
    return pairs


def _cell(cell: Any, text: str, *, bold: bool = False) -> None:
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.line_spacing = 1.0
    run = paragraph.add_run(clean_text(text))
    run.bold = bold or None


def _header_table(document: Any, pairs: list[tuple[str, str, bool]]) -> None:
    # Two label/value pairs per row; a full-width pair, or a half pair left alone before one,
    # has its value span the rest of the row.
    rows: list[list[tuple[str, str]]] = []
    open_row = False
    for label, value, wide in pairs:
        if open_row and not wide:
            rows[-1].append((label, value))
            open_row = False
        else:
            rows.append([(label, value)])
            open_row = not wide
    widths = (Cm(2.8), Cm(5.2), Cm(2.8), Cm(5.2))
    table = document.add_table(rows=len(rows), cols=4)
    table.style = "Table Grid"
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width  # the grid, which WPS and LibreOffice follow
    for index, row in enumerate(rows):
        cells = table.rows[index].cells
        for column, cell in enumerate(cells):
            cell.width = widths[column]
        _cell(cells[0], row[0][0], bold=True)
        if len(row) == 2:
            _cell(cells[1], row[0][1])
            _cell(cells[2], row[1][0], bold=True)
            _cell(cells[3], row[1][1])
        else:
            _cell(cells[1].merge(cells[3]), row[0][1])
        table.rows[index].height = Cm(0.9)


def _section(document: Any, heading: str, lines: Sequence[str], *, indent: bool) -> None:
    _paragraph(document, heading, bold=True, before=10)
    for line in lines:
        _paragraph(document, line, indent=indent)


def _photos(document: Any, pictures: Sequence[bytes], total: int) -> None:
    """The photos themselves, each scaled to fit the text width and half the page height;
    those not downloaded (or not readable as images) are counted instead."""
    words = export_labels()
    _paragraph(document, words.DOC_PHOTOS, bold=True, before=10)
    section = document.sections[-1]
    max_width = section.page_width - section.left_margin - section.right_margin
    max_height = (section.page_height - section.top_margin - section.bottom_margin) // 2
    shown = 0
    for data in pictures:
        try:
            DocxImage.from_blob(data)
        except Exception:  # python-docx raises several kinds for a file it cannot read
            continue
        picture = document.add_picture(BytesIO(data))
        ratio = min(max_width / picture.width, max_height / picture.height, 1.0)
        picture.width, picture.height = int(picture.width * ratio), int(picture.height * ratio)
        document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        shown += 1
        caption = _paragraph(document, words.DOC_PHOTO_CAPTION.format(n=shown))
        caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if total > shown:
        text = (words.DOC_PHOTOS_MISSING if shown else words.DOC_PHOTOS_TEXT).format(
            n=total - shown
        )
        _paragraph(document, text)
    elif not total:
        _paragraph(document, words.NONE)


def meeting_document(branch: Branch, meeting: Meeting, pictures: Sequence[bytes] = ()) -> bytes:
    """One record as a .docx laid out like a paper 会议记录, ready to print and sign.

    A centred title, a table of time, place, people and attendance, then the agenda, the
    content (one paragraph per line), the resolutions, the photos (`pictures`: the bytes of
    those downloaded from Telegram, embedded), and signature lines.
    """
    words, lab = export_labels(), labels()
    document = Document()
    _set_up(document, words.BODY_FONT)
    branch_name = clean_text(branch.profile.name)
    kind_name = lab.KINDS.get(meeting.kind, meeting.kind)
    pattern = words.DOC_TITLES.get(meeting.kind, words.DOC_TITLE)
    title = pattern.format(branch=branch_name, kind=kind_name)
    heading = document.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    heading.paragraph_format.space_after = Pt(12)
    run = heading.add_run(title)
    run.bold = True
    run.font.size = Pt(18)
    _east_asian_font(run._element.get_or_add_rPr(), words.TITLE_FONT)

    _header_table(document, _header_pairs(meeting))

    agenda = [clean_text(line) for line in _agenda_lines(meeting)] or [words.NONE]
    agenda_heading = words.DOC_TALK_POINTS if meeting.kind == _TALK else words.DOC_AGENDA
    _section(document, agenda_heading, agenda, indent=False)
    content = [line for line in clean_text(meeting.content).split("\n") if line.strip()]
    content_heading = words.DOC_CONTENTS.get(meeting.kind, words.DOC_CONTENT)
    _section(document, content_heading, content or [words.NONE], indent=bool(content))
    if meeting.kind not in (_LECTURE, _TALK) or meeting.resolutions.strip():
        resolutions = [
            line for line in clean_text(meeting.resolutions).split("\n") if line.strip()
        ]
        _section(
            document, words.DOC_RESOLUTIONS, resolutions or [words.NONE], indent=bool(resolutions)
        )
    _photos(document, pictures, len(meeting.photos))

    signature = words.DOC_SIGNATURES.get(meeting.kind, words.DOC_SIGNATURE)
    _paragraph(document, signature, before=36)
    date_line = _paragraph(document, words.DOC_SIGN_DATE, before=12)
    date_line.alignment = WD_ALIGN_PARAGRAPH.RIGHT

    properties = document.core_properties
    properties.author = properties.last_modified_by = words.APP_NAME
    properties.title = title
    stamp = _local_time(meeting.updated_at or meeting.created_at, UTC)
    moment = stamp or datetime.combine(meeting.held_on, time())
    properties.created = properties.modified = moment.replace(tzinfo=UTC)
    properties.revision = 1
    output = BytesIO()
    document.save(output)
    return output.getvalue()


# --------------------------------------------------------------------------- the annual report


def _table(document: Any, rows: list[list[str]]) -> None:
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = "Table Grid"
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            if c < len(table.rows[r].cells):
                _cell(table.rows[r].cells[c], value, bold=r == 0)
    document.add_paragraph()


def report_document(text: str, title: str) -> bytes:
    """A rendered report (templates/annual_report.j2) as a .docx: "# " is the title, "## " a
    heading, "| … |" lines a table (the first row its header), "> " a grey note for the
    secretary, any other line a paragraph. The text comes HTML-escaped (templates escape what
    users typed) and is unescaped here: Word shows `<b>&` as typed."""
    words = export_labels()
    document = Document()
    _set_up(document, words.BODY_FONT)
    table: list[list[str]] = []
    for line in [*clean_text(html.unescape(text)).split("\n"), ""]:
        if line.startswith("|"):
            table.append([cell.strip() for cell in line.strip().strip("|").split("|")])
            continue
        if table:
            _table(document, table)
            table = []
        if not line.strip():
            continue
        if line.startswith("# "):
            heading = _paragraph(document, line[2:], bold=True)
            heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
            heading.paragraph_format.space_after = Pt(12)
            run = heading.runs[0]
            run.font.size = Pt(18)
            _east_asian_font(run._element.get_or_add_rPr(), words.TITLE_FONT)
        elif line.startswith("## "):
            _paragraph(document, line[3:], bold=True, before=12)
        elif line.startswith("> "):
            note = _paragraph(document, line[2:])
            note.runs[0].font.size = Pt(10)
            note.runs[0].font.color.rgb = RGBColor(0x80, 0x80, 0x80)
        else:
            _paragraph(document, line, indent=True)
    properties = document.core_properties
    properties.author = properties.last_modified_by = words.APP_NAME
    properties.title = title
    output = BytesIO()
    document.save(output)
    return output.getvalue()


# --------------------------------------------------------------------------- 民主评议党员


def appraisal_workbook(
    branch: Branch,
    record: Meeting,
    people: Sequence[tuple[Any, Any]],
    tallies: dict[int, Sequence[int]] | None = None,
) -> bytes:
    """The appraisal sheet: each party member with status, grade and reason, then the counts.

    `people` is (member, grade or None) in roster order (bot.handlers.appraisal); `tallies`,
    the 民主测评 votes per grade by member id, add a column when the group voted."""
    words, lab = export_labels(), labels()
    workbook = Workbook()
    _add_styles(workbook, words.BODY_FONT)
    ws = workbook.active
    ws.title = words.APPRAISAL_SHEET
    title = render("appraisal_file", view="title", branch_name=branch.profile.name, m=record)
    _title(ws, 1, clean_text(title), 5, "x_title", 30)
    columns = [*words.APPRAISAL_COLUMNS, *([words.APPRAISAL_POLL_COLUMN] if tallies else [])]
    for column, name in enumerate(columns, 1):
        _put(ws, 2, column, name, "x_header")
    counts: dict[str, int] = {}
    for row, (member, grade) in enumerate(people, 3):
        name = lab.GRADES[grade.grade] if grade else words.APPRAISAL_UNGRADED
        if grade:
            counts[grade.grade] = counts.get(grade.grade, 0) + 1
        values = (row - 2, clean_text(member.name), lab.ROSTER_STATUSES[member.info.status],
                  name, clean_text(grade.reason) if grade else "")  # fmt: skip
        if tallies:
            votes = tallies.get(member.id)
            values += ("/".join(str(v) for v in votes) if votes else "",)
        for column, value in enumerate(values, 1):
            _put(ws, row, column, value, "x_center" if column in (1, 3, 4) else "x_text")
    total = words.APPRAISAL_TOTAL.format(
        n=len(people),
        grades="，".join(f"{lab.GRADES[g]} {counts.get(g, 0)}" for g in lab.GRADES),
    )
    _put(ws, len(people) + 3, 1, total, "x_note")
    for column, width in enumerate((6, 14, 12, 10, 40, 24), 1):
        ws.column_dimensions[get_column_letter(column)].width = width
    _print_setup(ws, "1:2")
    output = BytesIO()
    workbook.save(output)
    return output.getvalue()
