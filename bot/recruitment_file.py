"""The 发展党员 register as .xlsx: one row per person, a column per step's date, the next step
and its date. Names and dates only (no ID numbers), in the style of the other ledgers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from io import BytesIO

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from bot import recruitment
from bot.exports import _add_styles, _print_setup, _put, _title, clean_text, export_labels
from bot.recruitment import Person
from bot.texts import labels, render

# The steps with a date column of their own, in the order of RECRUIT_COLUMNS after 身份.
_DATED = ("applied", "talked", "activist", "exam", "candidate", "introducers", "review",
          "training", "notice")  # fmt: skip


def _cells(person: Person) -> list[object]:
    lab = labels()
    dates: list[object] = []
    for step in _DATED:
        if step == "exam":
            found = recruitment.records_of(person, "exam")
            dates.append("、".join(r.done_on.isoformat() for r in found))
        elif step == "introducers":
            found = recruitment.records_of(person, "introducers")
            dates.append("、".join(found[-1].introducers) if found else "")
        else:
            dates.append(recruitment.date_of(person, step))
    started = recruitment.date_of(person, "notice")
    dates.append(recruitment.notice_end(started) if started else None)
    dates.append(recruitment.date_of(person, "admitted"))
    months = recruitment.extension_months(person)
    dates.append(lab.RECRUIT_MONTHS.format(n=months) if months else "")
    dates.append(recruitment.date_of(person, "confirmed"))
    due = recruitment.next_due(person)
    step = lab.RECRUIT_STEPS[due[0].step] if due else ""
    when = (due[0].latest or due[0].earliest) if due else None
    return [clean_text(person.name), lab.ROSTER_STATUSES[person.status], *dates, step, when]


def register_workbook(branch_name: str, people: Sequence[Person], today: date) -> bytes:
    """The register: a title row, the headings, one row per person in `people`."""
    words, lab = export_labels(), labels()
    workbook = Workbook()
    _add_styles(workbook, words.BODY_FONT)
    ws = workbook.active
    assert ws is not None
    ws.title = lab.RECRUIT_SHEET
    columns = lab.RECRUIT_COLUMNS
    title = render("recruitment", view="file_title", branch_name=branch_name, today=today)
    _title(ws, 1, clean_text(title.strip()), len(columns), "x_title", 30)
    for column, heading in enumerate(columns, 1):
        _put(ws, 2, column, heading, "x_header")
        width = 6 if column == 1 else 12 if column != 9 else 16
        ws.column_dimensions[get_column_letter(column)].width = width
    for row, person in enumerate(people, 3):
        values = [row - 2, *_cells(person)]
        for column, value in enumerate(values, 1):
            style = "x_date" if isinstance(value, date) else "x_center"
            _put(ws, row, column, value, style)
    _print_setup(ws, "1:2")
    output = BytesIO()
    workbook.save(output)
    return output.getvalue()
