"""How many party members a branch has: the one rule every screen uses (pure).

The secretary enters the counts at registration. A roster is usually typed in bit by bit, so it
does not replace those counts until the secretary confirms it is complete (one tap on /members);
from then on the roster is the source. Screens show which of the two they use.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from db.models import Branch, Member

PROFILE = "profile"
ROSTER = "roster"


class MemberCounts(msgspec.Struct, frozen=True):
    """The counts in use, where they come from, and what the roster holds now."""

    formal: int
    probationary: int
    source: str  # PROFILE (as entered in 支部信息) or ROSTER (the confirmed roster)
    roster_formal: int
    roster_probationary: int

    @property
    def total(self) -> int:
        """正式 + 预备: who is expected at a whole-branch sitting."""
        return self.formal + self.probationary

    @property
    def roster_total(self) -> int:
        """Party members on the roster now."""
        return self.roster_formal + self.roster_probationary

    @property
    def awaiting_confirmation(self) -> bool:
        """A roster has been started but not confirmed complete: the entered counts still hold."""
        return self.source == PROFILE and self.roster_total > 0


def counted_total(counts: MemberCounts) -> int | None:
    """The party total a roster duty counts against when the roster is not the source."""
    return counts.total if counts.source == PROFILE else None


def roster_missing(branch: Branch, roster: Sequence[Member]) -> int:
    """Party members the branch has by its entered counts that the roster does not list yet
    (0 once the roster is confirmed complete): a ledger kept from the roster is short of them."""
    counts = member_counts(branch, roster)
    return max(counts.total - counts.roster_total, 0) if counts.source == PROFILE else 0


def member_counts(branch: Branch, roster: Sequence[Member]) -> MemberCounts:
    """The member counts of a branch: the roster's once confirmed complete, else the profile's."""
    formal = sum(1 for m in roster if m.info.status == "formal")
    probationary = sum(1 for m in roster if m.info.status == "probationary")
    if branch.roster_complete:
        return MemberCounts(formal, probationary, ROSTER, formal, probationary)
    profile = branch.profile
    return MemberCounts(
        profile.formal_members, profile.probationary_members, PROFILE, formal, probationary
    )
