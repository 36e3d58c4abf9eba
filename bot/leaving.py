"""Leaving, the pure part: the files of a branch's archive (built in a worker thread from data
read beforehand) and the check of a branch's name typed to confirm its deletion."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from typing import Any

import msgspec
from msgspec.structs import asdict

from bot.textnorm import clean_line, to_halfwidth, to_simplified
from bot.texts import labels
from db import erase
from db.models import Branch, CustomReminder, Meeting, Member

_UNSAFE_FILE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
_QUOTES = "「」『』“”\"'《》"
_FORMULA_START = ("=", "+", "-", "@")


class ArchiveInput(msgspec.Struct, frozen=True):
    """Everything the archive holds, read from the database before the work thread starts."""

    branch: Branch
    roster: Sequence[Member]
    records: dict[int, list[Meeting]]
    frequencies: dict[str, str]
    settings: dict[str, Any]
    reminders: Sequence[CustomReminder]
    plans: Sequence[dict[str, Any]]
    photos: Sequence[dict[str, Any]]
    audit: Sequence[dict[str, Any]]
    today: date
    zone: tzinfo


def _text_cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([[_text_cell(v) for v in row] for row in rows])
    # With the BOM, Excel and WPS open the Chinese text correctly.
    return out.getvalue().encode("utf-8-sig")


def roster_workbook(roster: Sequence[Member]) -> bytes:
    """花名册.xlsx: one row per person (no ID or phone numbers are ever kept)."""
    from openpyxl import Workbook

    from bot.exports import clean_text

    lab = labels()
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = lab.LEAVE_ROSTER_SHEET
    sheet.append(list(lab.LEAVE_ROSTER_COLUMNS))
    for member in roster:
        info = member.info
        values = [info.name, lab.LEAVE_MEMBER_STATUSES.get(info.status, info.status),
                  info.joined_on, info.party_group, info.committee_role,
                  lab.YES if info.mobile else lab.NO, info.destination, info.left_on,
                  info.last_report_on]  # fmt: skip
        sheet.append(
            [v.isoformat() if isinstance(v, date) else clean_text(v or "") for v in values]
        )
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":  # user text that looks like a formula stays text
                cell.data_type = "s"
    for column, width in zip("ABCDEFGHI", (12, 14, 12, 12, 12, 10, 16, 12, 14), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _settings_json(data: ArchiveInput) -> bytes:
    def plain(value: object) -> object:
        if isinstance(value, date):
            return value.isoformat()
        raise TypeError(type(value).__name__)

    document = {
        "branch": asdict(data.branch.profile),
        "settings": data.settings,
        "custom_reminders": [asdict(r) for r in data.reminders],
        "party_day_plans": list(data.plans),
        "exported_on": data.today.isoformat(),
    }
    return json.dumps(document, ensure_ascii=False, indent=2, default=plain).encode()


def build_archive(data: ArchiveInput) -> bytes:
    """The branch's archive as the bytes of a .zip (runs in a worker thread)."""
    from bot import exports

    lab = labels()
    files = lab.LEAVE_FILES
    kinds = lab.KINDS
    photos = [
        [p["held_on"], kinds.get(p["kind"], p["kind"]), p["meeting_id"], p["position"] + 1,
         p["file_id"]]
        for p in data.photos
    ]  # fmt: skip
    audit = [
        [datetime.fromisoformat(a["at"]).astimezone(data.zone).strftime("%Y-%m-%d %H:%M:%S"),
         a["user_id"], a["action"], a["entity"], a["entity_id"], erase.changes_text(a["changes"])]
        for a in data.audit
    ]  # fmt: skip
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(files["roster"], roster_workbook(data.roster))
        for year, records in sorted(data.records.items()):
            ledger = exports.ledger_workbook(
                data.branch,
                year,
                records,
                data.today,
                frequencies=data.frequencies,
                zone=data.zone,
            )
            archive.writestr(files["ledger"].format(year=year), ledger)
        archive.writestr(files["photos"], _csv(lab.LEAVE_PHOTO_COLUMNS, photos))
        archive.writestr(files["settings"], _settings_json(data))
        archive.writestr(files["audit"], _csv(lab.LEAVE_AUDIT_COLUMNS, audit))
    return out.getvalue()


def archive_name(branch_name: str, day: date) -> str:
    """The zip's file name: the branch's name made safe for every file system."""
    name = _UNSAFE_FILE_CHARS.sub("_", branch_name).strip(" .")[:40] or "branch"
    return labels().LEAVE_ARCHIVE_NAME.format(name=name, day=day.isoformat())


def same_name(typed: str, name: str) -> bool:
    """Whether the typed text is the branch's name (spacing, width, quotes and traditional
    script aside)."""

    def plain(text: str) -> str:
        text = clean_line(to_halfwidth(text)).replace(" ", "").strip(_QUOTES)
        return to_simplified(text)

    return bool(plain(typed)) and plain(typed) == plain(name)
