"""Meeting records and their rule checks (pure functions, no Telegram, no SQL).

Impossible data raises InvalidAnswer (the user must correct it); conflicts with the rules come
back as RuleWarning (the secretary may accept them). The templates cite the rule for each code.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import msgspec

from bot import catalog
from bot.branch_profile import InvalidAnswer, RuleWarning
from db.models import BranchProfile

MEETING_KINDS = tuple(kind.code for kind in catalog.KINDS)
# Sittings that may also count for another obligation when held together (logged once).
COMBINABLE = {kind.code: kind.combines_with for kind in catalog.KINDS if kind.combines_with}
# 民主评议 is usually held at the year's end together with the 组织生活会 (FACTS.md A12, A13).
APPRAISAL_MONTHS = frozenset({10, 11, 12, 1})
MAX_ATTENDANCE = 1000


def majority(count: int) -> int:
    """More than half of `count` (正好一半不够): the fewest members who must attend a 党员大会 or
    支委会, and the fewest votes that pass a motion (《支部工作条例》第十一、十二条). The meeting
    log's warnings and the answers to questions about attendance both count with it."""
    return count // 2 + 1


class Attendance(msgspec.Struct, frozen=True):
    """Who was expected and who came; `absent_reasons` has one entry per absentee."""

    expected: int
    present: int
    on_leave: int = 0
    absent_reasons: tuple[str, ...] = ()

    @property
    def absent(self) -> int:
        """Expected but neither present nor on leave."""
        return self.expected - self.present - self.on_leave


class MeetingDraft(msgspec.Struct, frozen=True):
    """What the logging flow has collected, as far as the rules care."""

    kind: str
    held_on: date
    attendance: Attendance | None = None
    speaker: str | None = None
    has_vote: bool = False
    also_counts_as: tuple[str, ...] = msgspec.field(default_factory=tuple)


def make_attendance(
    expected: int, present: int, on_leave: int = 0, absent_reasons: Iterable[str] = ()
) -> Attendance:
    """Attendance from counts, refusing the impossible (实到 > 应到, negatives, sums)."""
    reasons = tuple(absent_reasons)
    for number in (expected, present, on_leave):
        if number < 0:
            raise InvalidAnswer("negative")
        if number > MAX_ATTENDANCE:
            raise InvalidAnswer("too_many", maximum=MAX_ATTENDANCE)
    if expected == 0:
        raise InvalidAnswer("nobody_expected")
    if present > expected:
        raise InvalidAnswer("present_over_expected", expected=expected, present=present)
    if present + on_leave > expected:
        raise InvalidAnswer("leave_over_expected", expected=expected)
    attendance = Attendance(expected, present, on_leave, reasons)
    if len(reasons) > attendance.absent:
        raise InvalidAnswer("too_many_reasons", absent=attendance.absent)
    return attendance


def check_meeting(
    draft: MeetingDraft, profile: BranchProfile, same_kind_dates: Iterable[date] = ()
) -> list[RuleWarning]:
    """Where a meeting record conflicts with the rules (FACTS.md A5, A6, A10, A12, A13)."""
    if draft.kind not in MEETING_KINDS:
        raise InvalidAnswer("choice")
    for other in draft.also_counts_as:
        if other not in COMBINABLE.get(draft.kind, ()):
            raise InvalidAnswer("choice")
    warnings: list[RuleWarning] = []
    att = draft.attendance
    # 应到/实到 of a 党员大会 count the members with a vote (formal members).
    if draft.kind == "member_meeting" and att is not None and att.present < majority(att.expected):
        counts = {"present": att.present, "expected": att.expected}
        warnings.append(RuleWarning("member_meeting_quorum", counts))
        if draft.has_vote:
            warnings.append(RuleWarning("vote_without_quorum"))
    if draft.kind == "committee_meeting":
        if not profile.has_committee:
            warnings.append(RuleWarning("no_committee"))
        elif att is not None and att.present < majority(att.expected):
            counts = {"present": att.present, "expected": att.expected}
            warnings.append(RuleWarning("committee_quorum", counts))
    if draft.kind == "group_meeting" and not profile.has_party_groups:
        warnings.append(RuleWarning("no_party_groups"))
    if att is not None and att.absent > len(att.absent_reasons):
        warnings.append(
            RuleWarning("absence_without_reason", {"count": att.absent - len(att.absent_reasons)})
        )
    lecture = draft.kind == "party_lecture" or "party_lecture" in draft.also_counts_as
    if lecture and not (draft.speaker or "").strip():
        warnings.append(RuleWarning("lecture_without_speaker"))
    if draft.kind == "member_meeting" and draft.held_on in set(same_kind_dates):
        warnings.append(RuleWarning("second_member_meeting", {"day": draft.held_on.isoformat()}))
    appraisal = draft.kind == "member_appraisal" or "member_appraisal" in draft.also_counts_as
    if appraisal and draft.held_on.month not in APPRAISAL_MONTHS:
        warnings.append(RuleWarning("appraisal_out_of_season", {"month": draft.held_on.month}))
    return warnings
