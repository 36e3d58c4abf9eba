"""The branch-profile fields as form steps: question, buttons, and reading typed or tapped answers.

Shared by registration (/start) and profile editing (/branch).
"""

from __future__ import annotations

from typing import Any

import msgspec

from bot.branch_profile import (
    CHOICE_FIELDS,
    FIELDS,
    YES_NO_FIELDS,
    InvalidAnswer,
    PartyDay,
    as_party_day,
    parse_answer,
    parse_choice,
    parse_party_day,
    party_day_changes,
    party_day_of,
)
from bot.forms import Choice, Step, Turn
from bot.texts import labels, render
from db.models import BranchProfile

PARTY_DAY_CHOICES = (1, 5, 10, 15, 20, 25)
# "❓ 这一项怎么填": the knowledge entry with the rule behind each field (names have none).
FIELD_HELP = {
    "organization_type": "social-org-definition",
    "formation_mode": "formation-modes",
    "formal_members": "formation-threshold",
    "probationary_members": "temporary-no-vote",
    "has_committee": "committee-size",
    "has_party_groups": "meeting-group",
    "party_day": "party-day",
}


class ProfileDraft(msgspec.Struct):
    """A branch profile being filled in (None: not answered yet)."""

    name: str | None = None
    organization_name: str | None = None
    organization_type: str | None = None
    formation_mode: str | None = None
    formal_members: int | None = None
    probationary_members: int | None = None
    has_committee: bool | None = None
    has_party_groups: bool | None = None
    # A PartyDay; a bare day in drafts saved before weekday rules existed.
    party_day: PartyDay | int | None = None
    # Editing one field of a saved branch (/branch): which branch and which field.
    branch_id: int | None = None
    field: str | None = None
    current_text: str | None = None

    @property
    def values(self) -> dict[str, Any]:
        """The answered fields."""
        return {f: getattr(self, f) for f in FIELDS if getattr(self, f) is not None}


def option_names(field: str) -> dict[str, str]:
    """The Chinese names of a choice field's options."""
    if field == "organization_type":
        return dict(labels().ORGANIZATION_TYPES)
    return dict(labels().FORMATION_MODES)


def option_choices(field: str) -> list[list[Choice]]:
    """The answer buttons for a field (none for fields that are typed)."""
    lab = labels()
    if field in CHOICE_FIELDS:
        names = option_names(field)
        per_row = 1 if field == "organization_type" else 2
        choices = [Choice(code, names[code]) for code in CHOICE_FIELDS[field]]
        return [choices[i : i + per_row] for i in range(0, len(choices), per_row)]
    if field in YES_NO_FIELDS:
        return [[Choice("1", lab.HAS), Choice("0", lab.HAS_NOT)]]
    if field == "party_day":
        days = [Choice(str(d), f"{d}日") for d in PARTY_DAY_CHOICES]
        return [days[:3], days[3:], [Choice("31", lab.MONTH_END)]]
    return []


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
        if not raw.isdigit() or len(raw) > 2:
            raise InvalidAnswer("choice")
        return parse_party_day(raw)
    raise InvalidAnswer("choice")


def show_value(field: str, value: Any) -> str:
    """A field's value as the user reads it."""
    if field == "party_day":
        value = as_party_day(value)
    return render("profile_value", field=field, value=value)


def saved_value(profile: BranchProfile, field: str) -> Any:
    """A saved profile's value for a field, in the form the field's step stores."""
    return party_day_of(profile) if field == "party_day" else getattr(profile, field)


def changes_for(field: str, value: Any) -> dict[str, Any]:
    """The stored columns an answer to the field sets."""
    if field == "party_day":
        return party_day_changes(as_party_day(value))
    return {field: value}


def field_step(
    field: str, *, template: str = "reg_ask", current: str | None = None
) -> Step[ProfileDraft]:
    """The step that asks one profile field (`current`: the saved value shown, when editing)."""

    def question(turn: Turn[ProfileDraft]) -> str:
        return render(template, field=field, shown=current)

    def read(turn: Turn[ProfileDraft], text: str) -> None:
        setattr(turn.draft, field, read_typed(field, text))

    def pick(turn: Turn[ProfileDraft], code: str) -> None:
        setattr(turn.draft, field, read_tapped(field, code))

    def now(turn: Turn[ProfileDraft]) -> str:
        return show_value(field, getattr(turn.draft, field))

    return Step(
        name=field,
        question=question,
        answered=lambda draft: getattr(draft, field) is not None,
        read=read,
        choices=lambda turn: option_choices(field),
        pick=pick,
        current=now,
        help=lambda draft: FIELD_HELP.get(field),
    )
