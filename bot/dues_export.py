"""The year's 党费收缴台账 as an Excel workbook: a row per member, a column per month, totals per
member and per month, under a title row with the branch and the year."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from bot.dues import YearRow
from bot.exports import _add_styles, _print_setup, _put, _title, clean_text, export_labels
from bot.texts import environment
from db.models import Branch


def words() -> Any:
    """The workbook's words (bot/templates/dues_words.j2)."""
    return environment().get_template("dues_words.j2").module


def _yuan(fen: int) -> Decimal:
    # A Decimal cell is stored as a number: Excel adds the column up as money.
    return Decimal(fen) / 100


def workbook(branch: Branch, year: int, rows: Sequence[YearRow], today: date) -> bytes:
    """The ledger: paid amounts in yuan, "—" for a month owed and unpaid, blank when not owed."""
    w = words()
    book = Workbook()
    _add_styles(book, export_labels().BODY_FONT)
    ws = book.active
    ws.title = w.SHEET
    columns = 15  # 序号, 姓名, 12 months, 合计
    _title(
        ws,
        1,
        clean_text(w.TITLE.format(name=branch.profile.name, year=year)),
        columns,
        "x_title",
        30,
    )
    _title(
        ws, 2, w.SUBTITLE.format(y=today.year, m=today.month, d=today.day), columns, "x_note", 18
    )
    headers = [w.NUMBER, w.NAME, *(w.MONTH.format(n=m) for m in range(1, 13)), w.TOTAL]
    for column, name in enumerate(headers, 1):
        _put(ws, 3, column, name, "x_header")
    month_totals = [0] * 12
    for index, row in enumerate(rows, 1):
        line = 3 + index
        _put(ws, line, 1, index, "x_center")
        _put(ws, line, 2, row.name + (w.LEFT if row.left else ""), "x_text")
        for month, cell in enumerate(row.cells):
            value: object = ""
            if isinstance(cell, int):
                value = _yuan(cell)
                month_totals[month] += cell
            elif cell == "due":
                value = w.UNPAID
            _put(ws, line, 3 + month, value, "x_center")
        _put(ws, line, 15, _yuan(row.total_fen), "x_center")
    last = 4 + len(rows)
    _put(ws, last, 2, w.MONTH_TOTAL, "x_header")
    for month, total in enumerate(month_totals):
        _put(ws, last, 3 + month, _yuan(total), "x_center")
    _put(ws, last, 15, _yuan(sum(month_totals)), "x_center")
    for column in range(3, 16):
        for (cell,) in ws.iter_rows(min_row=4, max_row=last, min_col=column, max_col=column):
            if isinstance(cell.value, Decimal | int | float):
                cell.number_format = "0.00"
    for column, width in enumerate((6, 16, *([9] * 12), 11), 1):
        ws.column_dimensions[get_column_letter(column)].width = width
    _print_setup(ws, "1:3")
    output = BytesIO()
    book.save(output)
    return output.getvalue()
