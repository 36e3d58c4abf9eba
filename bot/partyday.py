"""主题党日 planning helpers: theme suggestions by month and the branch's fixed day (pure).

The suggestions live in bot/templates/party_day_ideas.j2 (data only): calendar commemorations a
branch in a social organization commonly uses (source "常用做法") and year-round ideas drawn from
the seed documents (source: the document's file name). FACTS.md A11: 主题党日 is held on a
relatively fixed day each month.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

import msgspec

from bot.obligations import branch_party_day
from bot.texts import environment, labels
from db.models import BranchProfile

ANY_MONTH = 0
COMMON_PRACTICE = "常用做法"


class Idea(msgspec.Struct, frozen=True):
    """One suggested theme for a 主题党日."""

    theme: str
    form: str
    note: str
    source: str
    month: int


class _Entry(msgspec.Struct, frozen=True):
    """An idea and the organization types it is restricted to (empty: suits every type)."""

    idea: Idea
    types: frozenset[str]


def ideas_for(month: int, organization_type: str | None = None, limit: int = 4) -> list[Idea]:
    """Up to ``limit`` suggestions for the month: its own ideas first, then any-month ones.

    An idea restricted to some organization types (教师节 for 民办学校, say) is only offered to a
    branch of one of those types; among the month's own ideas, and again among the any-month
    ones, those tailored to the branch's type come first. Without a type, or with an unknown
    one, only the ideas that suit every type are offered. Same arguments, same list.
    """
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, not {month}")
    if limit < 0:
        raise ValueError(f"limit must not be negative, not {limit}")
    chosen: list[Idea] = []
    seen: set[str] = set()
    for group in (month, ANY_MONTH):
        entries = [
            e
            for e in _bank()
            if e.idea.month == group and (not e.types or organization_type in e.types)
        ]
        entries.sort(key=lambda e: not e.types)  # stable: tailored first, then template order
        for entry in entries:
            if entry.idea.theme not in seen:
                seen.add(entry.idea.theme)
                chosen.append(entry.idea)
    return chosen[:limit]


def default_party_day(year: int, month: int, profile: BranchProfile) -> date:
    """The branch's 主题党日 in that month by its rule: the fixed day (the month's last day if
    the month is shorter: 31 means the month end) or the nth / last weekday."""
    return branch_party_day(profile, year, month)


@cache
def _bank() -> tuple[_Entry, ...]:
    """The ideas from party_day_ideas.j2, checked once and kept."""
    raw = environment().get_template("party_day_ideas.j2").module.IDEAS
    return tuple(_entry(item) for item in raw)


def _entry(item: dict[str, Any]) -> _Entry:
    """One template dict as an entry; a malformed one is a programming error."""
    forms = labels().ACTIVITY_FORMS
    kinds = labels().ORGANIZATION_TYPES
    idea = Idea(
        theme=str(item["theme"]),
        form=str(item["form"]),
        note=str(item["note"]),
        source=str(item["source"]),
        month=int(item["month"]),
    )
    types = frozenset(item.get("types", ()))
    if idea.form not in forms:
        raise ValueError(f"party day idea {idea.theme!r}: unknown form {idea.form!r}")
    if not ANY_MONTH <= idea.month <= 12:
        raise ValueError(f"party day idea {idea.theme!r}: month {idea.month} out of range")
    if not types <= set(kinds):
        raise ValueError(f"party day idea {idea.theme!r}: unknown types {sorted(types)}")
    if not idea.theme or not idea.note or not idea.source:
        raise ValueError(f"party day idea {idea!r}: empty field")
    return _Entry(idea, types)
