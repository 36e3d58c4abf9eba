"""Asking for one branch-profile field: the prompt, its buttons, and reading a tapped value.

Shared by registration (/start) and profile editing (/branch).
"""

from __future__ import annotations

from typing import Any

from bot.branch_profile import (
    CHOICE_FIELDS,
    YES_NO_FIELDS,
    InvalidAnswer,
    parse_answer,
    parse_choice,
    parse_party_day,
)
from bot.handlers.common import in_rows
from bot.texts import labels, render

PARTY_DAY_CHOICES = (1, 5, 10, 15, 20, 25)


def option_names(field: str) -> dict[str, str]:
    """The Chinese names of a choice field's options."""
    if field == "organization_type":
        return dict(labels().ORGANIZATION_TYPES)
    return dict(labels().FORMATION_MODES)


def option_rows(prefix: str, field: str) -> list[list[tuple[str, str]]]:
    """The answer buttons for a field (none for fields that are typed)."""
    lab = labels()
    if field in CHOICE_FIELDS:
        names = option_names(field)
        per_row = 1 if field == "organization_type" else 2
        return in_rows(
            [(names[c], f"{prefix}:{field}:{c}") for c in CHOICE_FIELDS[field]], per_row
        )
    if field in YES_NO_FIELDS:
        return [[(lab.HAS, f"{prefix}:{field}:1"), (lab.HAS_NOT, f"{prefix}:{field}:0")]]
    if field == "party_day":
        days = [(f"{d}日", f"{prefix}:{field}:{d}") for d in PARTY_DAY_CHOICES]
        return [*in_rows(days, 3), [(lab.MONTH_END, f"{prefix}:{field}:31")]]
    return []


def prompt(
    field: str,
    *,
    step: int | None = None,
    total: int | None = None,
    current: Any = None,
    error: InvalidAnswer | None = None,
    template: str = "reg_ask",
) -> str:
    """The question for a field, after the reason the last answer was refused (if any)."""
    return render(template, field=field, step=step, total=total, current=current, error=error)


def read_typed(field: str, text: str) -> Any:
    """A typed answer for the field (raises InvalidAnswer)."""
    return parse_answer(field, text, option_names(field) if field in CHOICE_FIELDS else None)


def read_tapped(field: str, raw: str) -> Any:
    """A tapped answer for the field; forged values raise InvalidAnswer."""
    if field in CHOICE_FIELDS:
        return parse_choice(field, raw)
    if field in YES_NO_FIELDS:
        if raw not in {"0", "1"}:
            raise InvalidAnswer("choice")
        return raw == "1"
    if field == "party_day":
        if not raw.isdigit():
            raise InvalidAnswer("choice")
        return parse_party_day(raw)
    raise InvalidAnswer("choice")
