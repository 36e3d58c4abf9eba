"""Dataclasses the repository functions return; the rest of the program never sees rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

import msgspec

ROLES = ("secretary", "deputy", "committee", "viewer")
EDITOR_ROLES = frozenset({"secretary", "deputy"})
RECORDER_ROLES = frozenset({"secretary", "deputy", "committee"})


class User(msgspec.Struct, frozen=True):
    """A Telegram user known to the bot (no names are kept)."""

    id: int
    current_branch_id: int | None
    created_at: str


class BranchProfile(msgspec.Struct, frozen=True):
    """The facts about a branch that the rules depend on."""

    name: str
    organization_name: str
    organization_type: str
    formation_mode: str
    formal_members: int
    probationary_members: int
    has_committee: bool
    has_party_groups: bool
    party_day: int  # 1–31: the fixed day of the month (when party_week is 0)
    # 主题党日 as a weekday of the month instead: party_week 1–4 (第几个) or -1 (最后一个), and
    # party_weekday Monday 0 … Sunday 6. 0 and 0 mean the fixed day above.
    party_week: int = 0
    party_weekday: int = 0


class Branch(msgspec.Struct, frozen=True):
    """A registered party branch."""

    id: int
    profile: BranchProfile
    created_by: int
    created_at: str
    updated_at: str
    roster_complete: bool = False  # the secretary confirmed the roster lists everyone


class Membership(msgspec.Struct, frozen=True):
    """A user's role in a branch."""

    user_id: int
    branch_id: int
    role: str

    @property
    def can_edit(self) -> bool:
        """Whether this role may change the branch's data."""
        return self.role in EDITOR_ROLES

    @property
    def can_record(self) -> bool:
        """Whether this role may log meetings (支委 often keep the minutes)."""
        return self.role in RECORDER_ROLES


class AuditEntry(msgspec.Struct, frozen=True):
    """One recorded change: who, what, when."""

    id: int
    at: str
    user_id: int | None
    branch_id: int | None
    action: str
    entity: str
    entity_id: int | None
    changes: dict[str, list[object]]


class Photo(msgspec.Struct, frozen=True):
    """A photo of a meeting, kept by Telegram; we store its ids only."""

    file_id: str
    file_unique_id: str


class Meeting(msgspec.Struct, frozen=True):
    """One logged sitting: a meeting, a 党课, a 谈心谈话 or a 主题党日."""

    kind: str
    held_on: date
    start_time: str | None = None
    place: str = ""
    host: str = ""
    recorder: str = ""
    speaker: str = ""
    counterpart: str = ""
    title: str = ""
    activity_form: str = ""
    expected: int | None = None
    present: int | None = None
    on_leave: int | None = None
    absentees: tuple[tuple[str, str], ...] = ()
    agenda: tuple[str, ...] = ()
    content: str = ""
    resolutions: str = ""
    also_counts_as: tuple[str, ...] = ()
    accepted_warnings: tuple[str, ...] = ()
    plan_id: int | None = None
    photos: tuple[Photo, ...] = ()
    id: int | None = None
    branch_id: int | None = None
    created_by: int | None = None
    created_at: str = ""
    updated_at: str = ""

    @property
    def counts_as(self) -> tuple[str, ...]:
        """Every obligation this sitting met: its own kind first."""
        return (self.kind, *self.also_counts_as)

    @property
    def leave_count(self) -> int:
        """请假: as recorded; for a record without the count, the named absentees whose reason
        is a leave (病假, 事假 …)."""
        if self.on_leave is not None:
            return self.on_leave
        return sum(1 for _, reason in self.absentees if "假" in reason)

    @property
    def missing_count(self) -> int:
        """Everyone expected who did not come, on leave or not (the record card, the Word
        record and the ledger all count it so)."""
        if self.expected is None or self.present is None:
            return len(self.absentees)
        return max(self.expected - self.present, len(self.absentees))


class PartyDayPlan(msgspec.Struct, frozen=True):
    """The plan for one month's 主题党日."""

    id: int
    branch_id: int
    month: str
    planned_on: date
    theme: str
    activity_form: str


class CustomReminder(msgspec.Struct, frozen=True):
    """A reminder the secretary set up with /remind (the rule's fields as stored)."""

    id: int
    branch_id: int
    text: str
    rule: str  # once / weekly / monthly / quarterly
    at_time: str  # local HH:MM
    on_date: date | None = None
    weekday: int | None = None
    day_of_month: int | None = None
    quarter_month: int = 1
    paused: bool = False
    created_by: int | None = None
    # monthly on a weekday of the month: 1–4 the nth `weekday`, -1 the last (day_of_month None)
    week_of_month: int | None = None
    # When it was set up or last changed (UTC): a moment before this is never sent.
    since: datetime | None = None


MEMBER_STATUSES = ("formal", "probationary", "candidate", "activist", "applicant")
PARTY_MEMBER_STATUSES = frozenset({"formal", "probationary"})
# The 发展党员 step that moves a person into each status (the roster's joined_on is its date).
ENTRY_STEPS = {"applicant": "applied", "activist": "activist", "candidate": "candidate",
               "probationary": "admitted", "formal": "confirmed"}  # fmt: skip


class MemberInfo(msgspec.Struct, frozen=True):
    """What the secretary enters about one person on the roster (no ID or phone numbers)."""

    name: str
    status: str  # one of MEMBER_STATUSES
    joined_on: date | None = None  # 入党日期; for a probationary member 接收为预备党员日期
    party_group: str = ""
    committee_role: str = ""
    mobile: bool = False  # 流动党员
    destination: str = ""
    left_on: date | None = None
    last_report_on: date | None = None


class RosterEntry(NamedTuple):
    """What the roster duties read of a party member: the sweep reads a city's members as
    these, never as Member objects."""

    id: int
    name: str
    status: str
    joined_on: date | None
    mobile: bool
    left_on: date | None
    last_report_on: date | None


class PartyRoll(NamedTuple):
    """A branch's party members as the roster duties read them: how many, the probationary and
    mobile ones (转正, 流动党员汇报), and every name (谈心谈话), None where not read."""

    size: int
    watched: tuple[RosterEntry, ...]
    names: tuple[str, ...] | None


class Member(msgspec.Struct, frozen=True):
    """A person on a branch's roster."""

    id: int
    branch_id: int
    info: MemberInfo
    user_id: int | None = None
    created_at: str = ""  # when the person was put on the roster here (UTC, ISO)

    @property
    def entered_on(self) -> date | None:
        """The day (UTC) the person was put on the roster here: what the bot knows of them
        starts then (bot.recruitment does not count a deadline before it overdue)."""
        return date.fromisoformat(self.created_at[:10]) if self.created_at else None

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def is_party_member(self) -> bool:
        """正式党员 or 预备党员 (the others are on the way in)."""
        return self.info.status in PARTY_MEMBER_STATUSES
