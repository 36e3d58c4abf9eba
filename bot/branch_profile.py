"""The branch profile: its fields, how typed answers are read, and the formation rules it meets.

Pure functions only. Errors and warnings carry a code and parameters; the templates say them in
Chinese and cite the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.textnorm import clean_line, parse_int, to_halfwidth
from db.models import BranchProfile

ORGANIZATION_TYPES = (
    "social_group",
    "private_non_enterprise",
    "foundation",
    "trade_association",
    "other",
)
FORMATION_MODES = ("standalone", "joint", "affiliated", "industry", "area")

# The order in which the registration flow asks.
FIELDS = (
    "name",
    "organization_name",
    "organization_type",
    "formation_mode",
    "formal_members",
    "probationary_members",
    "has_committee",
    "has_party_groups",
    "party_day",
)
TEXT_FIELDS = {"name": 60, "organization_name": 80}
CHOICE_FIELDS = {"organization_type": ORGANIZATION_TYPES, "formation_mode": FORMATION_MODES}
COUNT_FIELDS = ("formal_members", "probationary_members")
YES_NO_FIELDS = ("has_committee", "has_party_groups")
MIN_NAME = 2
# No branch has this many members; a larger number is a typing mistake, not a warning.
MAX_MEMBERS = 1000

_YES = {"是", "有", "已设", "已设立", "设有", "对", "yes", "y", "1"}
_NO = {"否", "无", "没有", "未设", "不是", "没", "no", "n", "0"}


class InvalidAnswer(ValueError):
    """An answer that cannot be taken; ``code`` picks the message in input_error.j2."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class RuleWarning:
    """A conflict with the rules that the secretary may still accept."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


def parse_text(field_name: str, text: str) -> str:
    """A name: one line, 2 to the field's limit of characters, kept literally."""
    if "\n" in text.strip():
        raise InvalidAnswer("multiline")
    value = clean_line(text)
    limit = TEXT_FIELDS[field_name]
    if not value:
        raise InvalidAnswer("empty")
    if len(value) < MIN_NAME:
        raise InvalidAnswer("too_short", minimum=MIN_NAME)
    if len(value) > limit:
        raise InvalidAnswer("too_long", limit=limit, length=len(value))
    return value


def parse_count(text: str) -> int:
    """A number of members: a whole number from 0 to MAX_MEMBERS."""
    value = clean_line(text)
    if not value:
        raise InvalidAnswer("empty")
    number = parse_int(value)
    if number is None:
        if re.fullmatch(r"[+-]?\d+[.．]\d+", to_halfwidth(value)):
            raise InvalidAnswer("not_whole")
        raise InvalidAnswer("not_number")
    if number < 0:
        raise InvalidAnswer("negative")
    if number > MAX_MEMBERS:
        raise InvalidAnswer("too_many", maximum=MAX_MEMBERS)
    return number


def parse_yes_no(text: str) -> bool:
    """是/有 or 否/没有."""
    value = to_halfwidth(clean_line(text)).lower().rstrip("。!！")
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise InvalidAnswer("yes_no")


def parse_party_day(text: str) -> int:
    """The fixed day of the month for 主题党日: 1–31 (每月15日, 15号, 十五); 月末 means 31."""
    value = to_halfwidth(clean_line(text))
    if not value:
        raise InvalidAnswer("empty")
    if value in {"月末", "月底", "最后一天", "每月最后一天"}:
        return 31
    value = re.sub(r"^(每月|每个月)", "", value)
    number = parse_int(value)
    if number is None:
        raise InvalidAnswer("not_day")
    if not 1 <= number <= 31:
        raise InvalidAnswer("day_range")
    return number


def parse_choice(field_name: str, code: str) -> str:
    """A button's option code, refused unless it is one of the field's options."""
    if code not in CHOICE_FIELDS[field_name]:
        raise InvalidAnswer("choice")
    return code


def match_choice(field_name: str, text: str, names: dict[str, str]) -> str:
    """A typed option: the option whose name equals, or alone contains, what was typed."""
    value = clean_line(text)
    if not value:
        raise InvalidAnswer("choice")
    options = CHOICE_FIELDS[field_name]
    exact = [code for code in options if names[code] == value]
    if exact:
        return exact[0]
    partial = [code for code in options if value in names[code] or names[code] in value]
    if len(partial) == 1:
        return partial[0]
    raise InvalidAnswer("choice")


def parse_answer(field_name: str, text: str, names: dict[str, str] | None = None) -> Any:
    """Read a typed answer for any profile field."""
    if field_name in TEXT_FIELDS:
        return parse_text(field_name, text)
    if field_name in COUNT_FIELDS:
        return parse_count(text)
    if field_name in YES_NO_FIELDS:
        return parse_yes_no(text)
    if field_name == "party_day":
        return parse_party_day(text)
    if field_name in CHOICE_FIELDS:
        return match_choice(field_name, text, names or {})
    raise KeyError(field_name)


def check_profile(profile: BranchProfile) -> list[RuleWarning]:
    """Where the profile conflicts with the formation rules (FACTS.md A1, A2, A15; 001, 003)."""
    warnings: list[RuleWarning] = []
    formal = profile.formal_members
    total = formal + profile.probationary_members
    if formal == 0:
        warnings.append(RuleWarning("no_formal_members"))
    elif formal < 3 and profile.formation_mode == "standalone":
        warnings.append(RuleWarning("standalone_needs_three", {"formal": formal}))
    if formal >= 3 and profile.formation_mode in {"joint", "affiliated"}:
        warnings.append(
            RuleWarning("should_stand_alone", {"formal": formal, "mode": profile.formation_mode})
        )
    if formal >= 7 and not profile.has_committee:
        warnings.append(RuleWarning("committee_required", {"formal": formal}))
    if formal < 7 and profile.has_committee:
        warnings.append(RuleWarning("committee_not_needed", {"formal": formal}))
    if total > 50:
        warnings.append(RuleWarning("too_many_members", {"total": total}))
    return warnings


def profile_from_values(values: dict[str, Any]) -> BranchProfile:
    """A profile from a completed draft."""
    return BranchProfile(**{name: values[name] for name in FIELDS})
