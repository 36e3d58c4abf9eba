"""Importing a roster of 2,000 people: reading and checking the file, and storing it.

1. A 2,000-row .xlsx and the same rows as a GBK .csv are read and every row checked (what runs
   in a worker thread when a secretary sends a file).
2. The 2,000 checked rows are inserted with members.add_many (one transaction, audited, the
   branch's counts synced) into a fresh database.
3. The roster of 2,000 is written back as .xlsx (📤 导出Excel).
"""

from __future__ import annotations

import csv
import io
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bot import roster
from bot.texts import labels
from db import Database, members, repo
from tests.factories import make_profile

ROWS = roster.MAX_ROWS
TODAY = date(2026, 11, 23)
_STATUSES = ("正式党员", "预备党员", "发展对象", "入党积极分子", "入党申请人")


def _rows() -> list[list[object]]:
    words = roster.file_words()
    rows: list[list[object]] = [[words.columns[f] for f in roster.FIELDS]]
    for i in range(ROWS):
        status = _STATUSES[i % 5]
        joined = date(1980, 1, 1) + timedelta(days=i * 7) if i % 5 < 2 else None
        mobile = i % 10 == 0
        rows.append([
            f"党员{i:04d}", status, joined, f"第{i % 8 + 1}党小组",
            "组织委员" if i == 0 else "", "是" if mobile else "否",
            "广东省深圳市" if mobile else "", date(2025, 3, 1) if mobile else None,
            date(2025, 5, 1) if mobile else None,
        ])  # fmt: skip
    return rows


def _xlsx(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv(rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(["" if v is None else str(v) for v in row])
    return buffer.getvalue().encode("gbk")


def _timed_check(data: bytes, name: str) -> tuple[float, roster.ImportCheck]:
    columns = dict(labels().ROSTER_COLUMNS)
    started = time.perf_counter()
    check = roster.check_file(data, name, (), TODAY, columns)
    return time.perf_counter() - started, check


async def run() -> None:
    """Print the import's figures."""
    rows = _rows()
    xlsx, gbk = _xlsx(rows), _csv(rows)
    _timed_check(_csv(rows[:50]), "warm-up.csv")  # loads OpenCC's dictionaries once
    xlsx_seconds, check = _timed_check(xlsx, "roster.xlsx")
    csv_seconds, csv_check = _timed_check(gbk, "roster.csv")
    assert not check.errors and not csv_check.errors and len(check.infos) == ROWS
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "roster.sqlite3")
        await db.open()
        branch, _ = await repo.create_branch(
            db, user_id=1, profile=make_profile(), draft_key="bench"
        )
        started = time.perf_counter()
        added = await members.add_many(db, user_id=1, branch_id=branch.id, infos=check.infos)
        insert_seconds = time.perf_counter() - started
        people = await members.list_for(db, branch.id)
        await db.close()
    started = time.perf_counter()
    exported = roster.roster_workbook(roster.file_words(), "基准支部", people, TODAY)
    export_seconds = time.perf_counter() - started
    print(f"\nRoster import: {ROWS} rows, every row checked")
    print(f"  .xlsx ({len(xlsx) // 1024} KB) read + checked : {xlsx_seconds * 1000:.0f} ms")
    print(f"  .csv GBK ({len(gbk) // 1024} KB) read + checked: {csv_seconds * 1000:.0f} ms")
    print(f"  add_many, fresh database     : {insert_seconds * 1000:.0f} ms, {added} rows")
    print(
        f"  export .xlsx                 : {export_seconds * 1000:.0f} ms, "
        f"{len(exported) // 1024} KB"
    )
