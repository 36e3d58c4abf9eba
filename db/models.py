"""Dataclasses the repository functions return; the rest of the program never sees rows."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("secretary", "deputy", "committee", "viewer")
EDITOR_ROLES = frozenset({"secretary", "deputy"})


@dataclass(frozen=True)
class User:
    """A Telegram user known to the bot (no names are kept)."""

    id: int
    current_branch_id: int | None
    created_at: str


@dataclass(frozen=True)
class BranchProfile:
    """The facts about a branch that the rules depend on."""

    name: str
    organization_name: str
    organization_type: str
    formation_mode: str
    formal_members: int
    probationary_members: int
    has_committee: bool
    has_party_groups: bool
    party_day: int


@dataclass(frozen=True)
class Branch:
    """A registered party branch."""

    id: int
    profile: BranchProfile
    created_by: int
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Membership:
    """A user's role in a branch."""

    user_id: int
    branch_id: int
    role: str

    @property
    def can_edit(self) -> bool:
        """Whether this role may change the branch's data."""
        return self.role in EDITOR_ROLES


@dataclass(frozen=True)
class AuditEntry:
    """One recorded change: who, what, when."""

    id: int
    at: str
    user_id: int | None
    branch_id: int | None
    action: str
    entity: str
    entity_id: int | None
    changes: dict[str, list[object]]
