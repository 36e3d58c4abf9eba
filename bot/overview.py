"""The superior organization's view of every branch this quarter (pure functions).

Each obligation's state for the quarter comes from the obligations engine's one rule
(bot/obligations.state_in), asked for each of its periods that the quarter so far touches: a
monthly obligation is overdue for the quarter if any month of it so far was missed, due if only
the current month is open, done otherwise; a quarterly one is the quarter's state and a yearly
one the year's. An obligation turned off is judged by the month (it is not_applicable).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache
from io import BytesIO
from typing import Any

import msgspec
from markupsafe import escape

from bot import buttons as bt
from bot import catalog
from bot.branch_profile import FORMATION_MODES, ORGANIZATION_TYPES, InvalidAnswer
from bot.obligations import (
    DEFAULT_FREQUENCY,
    Period,
    held_by_kind,
    period_of,
    registered_on,
    state_in,
)
from bot.reminders import recipients
from bot.textnorm import clean_line
from bot.texts import environment, labels, render
from db.models import BranchProfile
from db.outbox import OutboxMessage
from db.overview_data import OverviewFacts
from db.settings import BranchSettings

CODES = tuple(DEFAULT_FREQUENCY)
_RANK = {"not_applicable": 0, "done": 1, "due": 2, "overdue": 3}
FEW_FORMAL = 3  # 正式党员不足3人: cannot stand alone (FACTS.md)
PAGE_SIZE = 10
AUDIENCES = ("all", "overdue", "mode", "type")
NOTICE_LIMIT = 1000
_BLANK_LINES = re.compile(r"\n{3,}")
_NAME = "\x00branch\x00"


def quarter_states(
    profile: BranchProfile,
    records: Iterable[tuple[str, date]],
    today: date,
    *,
    frequencies: Mapping[str, str] | None = None,
    created_on: date | None = None,
    planned_days: Mapping[date, date] | None = None,
) -> dict[str, str]:
    """Each obligation's state this quarter: done, due, overdue or not_applicable."""
    held = held_by_kind(records)
    chosen = {**DEFAULT_FREQUENCY, **(frequencies or {})}
    states: dict[str, str] = {}
    for code in CODES:
        frequency = chosen[code] if chosen[code] != "off" else "monthly"
        worst = "not_applicable"
        for period in _periods(frequency, today):
            state = state_in(
                code,
                period,
                profile,
                held,
                today,
                frequencies=frequencies,
                created_on=created_on,
                planned_days=planned_days,
            ).state
            if _RANK[state] > _RANK[worst]:
                worst = state
                if state == "overdue":
                    break  # nothing ranks higher
        states[code] = worst
    return states


@lru_cache(maxsize=64)
def _periods(frequency: str, today: date) -> tuple[Period, ...]:
    """The periods of a frequency that this quarter so far touches (months: up to today's)."""
    quarter = period_of("quarterly", today)
    if frequency != "monthly":
        return (period_of(frequency, today),)
    found = [period_of("monthly", quarter.start)]
    while found[-1].end < today:
        found.append(period_of("monthly", found[-1].end + timedelta(days=1)))
    return tuple(found)


class BranchRow(msgspec.Struct, frozen=True):
    """One branch in the overview."""

    id: int
    name: str
    organization_type: str
    formation_mode: str
    formal_members: int
    probationary_members: int
    has_secretary: bool
    has_group: bool
    roster_size: int
    states: Mapping[str, str]
    editors: tuple[int, ...] = ()

    @property
    def overdue(self) -> tuple[str, ...]:
        """The obligations overdue this quarter, in the usual order."""
        return tuple(code for code in CODES if self.states.get(code) == "overdue")

    @property
    def standing(self) -> str:
        """overdue if anything is, else due if anything is, else done."""
        found = set(self.states.values())
        return "overdue" if "overdue" in found else "due" if "due" in found else "done"


class Coverage(msgspec.Struct, frozen=True):
    """How the branches are built and equipped (the figures the seeds report)."""

    branches: int
    by_mode: dict[str, int]
    by_type: dict[str, int]
    standalone_rate: float  # 单独组建率: standalone branches / all branches
    without_secretary: int
    average_members: float  # party members (formal + probationary) per branch
    few_formal: int  # branches with fewer than FEW_FORMAL formal members
    with_group: int
    with_roster: int


class Overview(msgspec.Struct, frozen=True):
    """Every branch's quarter, with the counts the card and the Excel file show."""

    today: date
    quarter: Period
    rows: tuple[BranchRow, ...]
    standing: dict[str, int]  # done / due / overdue -> branches
    per_obligation: tuple[tuple[str, int, int], ...]  # (code, done, applicable)
    overdue: tuple[BranchRow, ...]  # most overdue items first
    coverage: Coverage

    @property
    def quarter_number(self) -> int:
        """1..4."""
        return (self.quarter.start.month - 1) // 3 + 1

    @property
    def pages(self) -> int:
        """Pages of the overdue list."""
        return max(1, -(-len(self.overdue) // PAGE_SIZE))

    def overdue_page(self, page: int) -> tuple[BranchRow, ...]:
        """One page of the overdue list (page 0 is the first)."""
        return self.overdue[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]


# The profile's fields the obligations rule reads (state_in: whether an obligation applies, and
# the 主题党日's day): branches alike in these and in their records share their quarter.
_RULE_FIELDS = (
    *sorted({kind.needs for kind in catalog.KINDS if kind.needs}),
    "party_day",
    "party_week",
    "party_weekday",
)


def branch_row(
    facts: OverviewFacts,
    index: int,
    today: date,
    zone: tzinfo,
    alike: dict[tuple[Any, ...], dict[str, str]] | None = None,
) -> BranchRow:
    """The overview's row of the facts' index-th branch; `alike` remembers the quarter of
    branches with the same rule inputs (most of a city's are like some other one)."""
    branch = facts.branches[index]
    settings = facts.settings.get(branch.id) or BranchSettings(branch.id)
    profile = branch.profile
    records = facts.records.get(branch.id, ())
    created_on = registered_on(branch.created_at, zone)
    planned = facts.planned.get(branch.id)
    key = (
        tuple(getattr(profile, name) for name in _RULE_FIELDS),
        frozenset(records),
        frozenset(settings.frequencies.items()),
        created_on,
        frozenset((planned or {}).items()),
    )
    states = None if alike is None else alike.get(key)
    if states is None:
        states = quarter_states(
            profile,
            records,
            today,
            frequencies=settings.frequencies,
            created_on=created_on,
            planned_days=planned,
        )
        if alike is not None:
            alike[key] = states
    return BranchRow(
        id=branch.id,
        name=profile.name,
        organization_type=profile.organization_type,
        formation_mode=profile.formation_mode,
        formal_members=profile.formal_members,
        probationary_members=profile.probationary_members,
        has_secretary=branch.id in facts.secretaries,
        has_group=settings.group_chat_id is not None,
        roster_size=facts.rosters.get(branch.id, 0),
        states=states,
        editors=tuple(facts.editors.get(branch.id, ())),
    )


def compute(facts: OverviewFacts, today: date, zone: tzinfo) -> Overview:
    """The overview of every branch on `today` (`zone`: the bot's time zone)."""
    alike: dict[tuple[Any, ...], dict[str, str]] = {}
    rows = tuple(branch_row(facts, i, today, zone, alike) for i in range(len(facts.branches)))
    standing = Counter(row.standing for row in rows)
    per_obligation = []
    for code in CODES:
        states = [row.states.get(code, "not_applicable") for row in rows]
        applicable = sum(1 for s in states if s != "not_applicable")
        if applicable:
            per_obligation.append((code, states.count("done"), applicable))
    overdue = sorted((r for r in rows if r.overdue), key=lambda r: (-len(r.overdue), r.id))
    return Overview(
        today=today,
        quarter=period_of("quarterly", today),
        rows=rows,
        standing={key: standing.get(key, 0) for key in ("done", "due", "overdue")},
        per_obligation=tuple(per_obligation),
        overdue=tuple(overdue),
        coverage=coverage(rows),
    )


def coverage(rows: Sequence[BranchRow]) -> Coverage:
    """The coverage figures of the branches."""
    total = len(rows)
    modes = Counter(row.formation_mode for row in rows)
    types = Counter(row.organization_type for row in rows)
    members = sum(row.formal_members + row.probationary_members for row in rows)
    return Coverage(
        branches=total,
        by_mode={mode: modes[mode] for mode in FORMATION_MODES if modes[mode]},
        by_type={kind: types[kind] for kind in ORGANIZATION_TYPES if types[kind]},
        standalone_rate=modes["standalone"] / total if total else 0.0,
        without_secretary=sum(1 for row in rows if not row.has_secretary),
        average_members=members / total if total else 0.0,
        few_formal=sum(1 for row in rows if row.formal_members < FEW_FORMAL),
        with_group=sum(1 for row in rows if row.has_group),
        with_roster=sum(1 for row in rows if row.roster_size),
    )


def audience(overview: Overview, kind: str, value: str = "") -> list[BranchRow]:
    """The branches a notice goes to: all, overdue this quarter, of a formation mode or type."""
    if kind == "all":
        return list(overview.rows)
    if kind == "overdue":
        return [row for row in overview.rows if row.overdue]
    if kind == "mode" and value in FORMATION_MODES:
        return [row for row in overview.rows if row.formation_mode == value]
    if kind == "type" and value in ORGANIZATION_TYPES:
        return [row for row in overview.rows if row.organization_type == value]
    raise ValueError(f"unknown audience {kind}:{value}")


def notice_text(typed: str) -> str:
    """A notice as typed, tidied: lines kept, stray spaces and control characters dropped.

    Raises InvalidAnswer (empty / too_long) for what cannot be sent.
    """
    lines = [clean_line(line) for line in typed.replace("\r\n", "\n").split("\n")]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    if not text:
        raise InvalidAnswer("empty")
    if len(text) > NOTICE_LIMIT:
        raise InvalidAnswer("too_long", length=len(text), limit=NOTICE_LIMIT)
    return text


def notice_chats(row: BranchRow, blocked: frozenset[int]) -> list[int]:
    """Where a branch's notice goes: its secretary's and deputies' private chats, as reminders
    do, leaving out chats that blocked the bot."""
    return recipients(BranchSettings(row.id, to_group=False), row.editors, blocked)


def notice_messages(
    notice_id: int,
    text: str,
    rows: Iterable[BranchRow],
    blocked: frozenset[int],
    moment: datetime,
) -> list[OutboxMessage]:
    """The outbox rows of a notice: one per branch and chat, each with its 已阅 button."""
    template = render("notice_message", text=text, branch_name=_NAME, sent_on=moment.date())
    label = labels().NOTICE_READ
    result = []
    for row in rows:
        message = template.replace(_NAME, str(escape(row.name)))
        buttons = (((label, bt.NOTICE_READ(notice_id, row.id)),),)
        result += [
            OutboxMessage(
                key=f"notice:{notice_id}:{row.id}:{chat}",
                branch_id=row.id,
                chat_id=chat,
                text=message,
                buttons=buttons,
                not_before=moment,
            )
            for chat in notice_chats(row, blocked)
        ]
    return result


# --------------------------------------------------------------------------- the Excel file

_FORMULA_START = ("=", "+", "-", "@")


def export_words() -> Any:
    """Sheet names, headings and phrases of the Excel file (overview_export.j2)."""
    return environment().get_template("overview_export.j2").module


def workbook(overview: Overview) -> bytes:
    """The overview as an .xlsx file: 各支部本季度, 逾期清单, 覆盖情况 (run it in a thread)."""
    # openpyxl (and bot.exports with python-docx) load on first use, not at start-up.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    words = export_words()
    lab = environment().globals["labels"]
    book = Workbook()
    book.remove(book.active)
    book.properties.creator = words.APP_NAME
    bold = Font(bold=True)
    title = words.TITLE.format(
        year=overview.quarter.start.year, quarter=overview.quarter_number, day=overview.today
    )
    codes = [code for code, _, _ in overview.per_obligation]
    branches = [
        [
            number,
            row.name,
            lab.ORGANIZATION_TYPES.get(row.organization_type, row.organization_type),
            lab.FORMATION_MODES.get(row.formation_mode, row.formation_mode),
            row.formal_members,
            row.probationary_members,
            words.YES if row.has_secretary else words.NO,
            *(words.STATES[row.states.get(c, "not_applicable")] for c in codes),
            words.STANDINGS[row.standing],
        ]
        for number, row in enumerate(overview.rows, 1)
    ]
    header = [*words.BRANCH_COLUMNS, *(lab.OBLIGATIONS[c] for c in codes), words.STANDING_COLUMN]
    widths = [6, 28, 16, 10, 9, 9, 7, *([10] * len(codes)), 10]
    _sheet(book.create_sheet(words.SHEET_BRANCHES), [title], header, branches, widths, bold)
    overdue = [
        [
            number,
            row.name,
            lab.FORMATION_MODES.get(row.formation_mode, row.formation_mode),
            words.LIST_SEP.join(lab.OBLIGATIONS[c] for c in row.overdue),
            len(row.overdue),
        ]
        for number, row in enumerate(overview.overdue, 1)
    ]
    sheet = book.create_sheet(words.SHEET_OVERDUE)
    _sheet(sheet, [title], words.OVERDUE_COLUMNS, overdue, [6, 28, 10, 48, 8], bold)
    figures = [list(line) for line in _coverage_lines(overview, words, lab)]
    sheet = book.create_sheet(words.SHEET_COVERAGE)
    _sheet(sheet, [title], words.COVERAGE_COLUMNS, figures, [30, 16], bold)
    output = BytesIO()
    book.save(output)
    return output.getvalue()


def _coverage_lines(overview: Overview, words: Any, lab: Any) -> list[tuple[str, object]]:
    c = overview.coverage
    lines: list[tuple[str, object]] = [(words.COVER_BRANCHES, c.branches)]
    lines += [
        (words.COVER_MODE.format(mode=lab.FORMATION_MODES[mode]), c.by_mode.get(mode, 0))
        for mode in FORMATION_MODES
    ]
    lines += [
        (words.COVER_TYPE.format(kind=lab.ORGANIZATION_TYPES[kind]), c.by_type.get(kind, 0))
        for kind in ORGANIZATION_TYPES
    ]
    lines += [
        (words.COVER_STANDALONE_RATE, f"{c.standalone_rate:.1%}"),
        (words.COVER_WITHOUT_SECRETARY, c.without_secretary),
        (words.COVER_AVERAGE_MEMBERS, round(c.average_members, 1)),
        (words.COVER_FEW_FORMAL, c.few_formal),
        (words.COVER_WITH_GROUP, c.with_group),
        (words.COVER_WITH_ROSTER, c.with_roster),
    ]
    lines += [(words.STANDINGS[k], overview.standing[k]) for k in ("done", "due", "overdue")]
    lines += [
        (words.COVER_DONE.format(name=lab.OBLIGATIONS[code]), f"{done}/{total}")
        for code, done, total in overview.per_obligation
    ]
    return lines


def _sheet(
    sheet: Any,
    title: Sequence[object],
    header: Sequence[object],
    rows: Sequence[Sequence[object]],
    widths: Sequence[int],
    font: Any,
) -> None:
    """Fill a sheet: a bold title and header, then the rows; text always stays text."""
    from openpyxl.utils import get_column_letter

    from bot.exports import clean_text

    for number, values in enumerate([title, header, *rows], 1):
        for column, value in enumerate(values, 1):
            if isinstance(value, str):
                value = clean_text(value)
            cell = sheet.cell(row=number, column=column, value=value)
            if isinstance(value, str) and value:
                cell.data_type = "s"  # never a formula or an error code
                if value.startswith(_FORMULA_START):
                    cell.quotePrefix = True
            if number <= 2:
                cell.font = font
    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
