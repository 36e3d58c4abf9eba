"""The year's figures for the annual report (/report): each one decided by the function every
other screen uses (the ledger's year summary, the member counts), never counted twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import msgspec

from bot import recruitment
from bot.exports import KindSummary, year_summary
from bot.member_counts import MemberCounts, member_counts
from db.models import Branch, Meeting, Member
from db.selfchecks import SelfCheck

EARLIEST_YEAR = 2000


class CheckChange(msgspec.Struct, frozen=True):
    """A self-check's last result in the year and the one before it (any year)."""

    kind: str
    last: SelfCheck
    before: SelfCheck | None


class AnnualReport(msgspec.Struct, frozen=True):
    """What the annual report says of one branch's year, as of `today`."""

    branch: Branch
    year: int
    today: date
    counts: MemberCounts
    secretary: str | None  # the roster's 书记, if the roster names one
    summaries: list[KindSummary]  # required against held, as in the ledger
    records: int  # records held in the year (a combined sitting once)
    by_kind: dict[str, int]  # records that count for each kind (a combined sitting for each)
    attendance: tuple[int, int] | None  # present and expected over records that give both
    party_days: list[Meeting]  # the year's 主题党日, in order
    dues_months: list[int]  # months marked 党费已收齐
    dues_due: int  # months of the year begun by `today` (and since the branch registered)
    joined: dict[str, int]  # by status entered: applicant … probationary (接收), formal (转正)
    checks: list[CheckChange]
    open_makeups: int
    # The year's last 民主评议: its day and the number of members at each grade (if graded).
    appraisal: tuple[date, dict[str, int]] | None = None
    dues_collected_fen: int | None = None  # paid for the year's months, from the 党费 ledger

    @property
    def attendance_rate(self) -> float | None:
        """Present over expected, as a share (None without any record giving both)."""
        if self.attendance is None or not self.attendance[1]:
            return None
        return self.attendance[0] / self.attendance[1]

    @property
    def missing(self) -> list[KindSummary]:
        """The obligations with a period that ended without a record."""
        return [s for s in self.summaries if s.missing]


def build(
    branch: Branch,
    year: int,
    today: date,
    records: Sequence[Meeting],
    roster: Sequence[Member],
    *,
    dues_marked: Sequence[date] = (),
    checks: Sequence[CheckChange] = (),
    open_makeups: int = 0,
    appraisal: tuple[date, dict[str, int]] | None = None,
    dues_collected_fen: int | None = None,
    frequencies: Mapping[str, str] | None = None,
    planned_days: Mapping[date, date] | None = None,
    created_on: date | None = None,
    steps: Mapping[int, Sequence[Any]] | None = None,
) -> AnnualReport:
    """The report's figures from the year's records and the branch's other books."""
    in_year = sorted((m for m in records if m.held_on.year == year), key=lambda m: m.held_on)
    by_kind = Counter(code for m in in_year for code in m.counts_as)
    given = [m for m in in_year if m.expected and m.present is not None]
    attendance = (
        (sum(m.present or 0 for m in given), sum(m.expected or 0 for m in given))
        if given
        else None
    )
    start = date(year, 1, 1) if created_on is None else max(date(year, 1, 1), created_on)
    end = min(today, date(year, 12, 31))
    dues_due = end.month - start.month + 1 if start <= end else 0
    secretary = next((m.name for m in roster if m.info.committee_role == "secretary"), None)
    # Each step into a status taken in the year, by the 发展党员 timeline (bot.recruitment),
    # which falls back on the roster's date of the present status.
    joined = recruitment.entered_in(recruitment.people(roster, steps or {}), year)
    return AnnualReport(
        branch=branch,
        year=year,
        today=today,
        counts=member_counts(branch, roster),
        secretary=secretary,
        summaries=year_summary(
            branch.profile,
            year,
            in_year,
            today,
            frequencies=frequencies,
            created_on=created_on,
            planned_days=planned_days,
        ),
        records=len(in_year),
        by_kind=dict(by_kind),
        attendance=attendance,
        party_days=[m for m in in_year if "theme_party_day" in m.counts_as],
        dues_months=sorted({d.month for d in dues_marked if d.year == year}),
        dues_due=dues_due,
        joined=dict(joined),
        checks=list(checks),
        open_makeups=open_makeups,
        appraisal=appraisal,
        dues_collected_fen=dues_collected_fen,
    )
