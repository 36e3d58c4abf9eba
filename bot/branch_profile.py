"""The branch profile: its fields, how typed answers are read, and the formation rules it meets.

Pure functions only. Errors and warnings carry a code and parameters; the templates say them in
Chinese and cite the rule.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import msgspec

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


class RuleWarning(msgspec.Struct, frozen=True):
    """A conflict with the rules that the secretary may still accept."""

    code: str
    params: dict[str, Any] = msgspec.field(default_factory=dict)


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


class PartyDay(NamedTuple):
    """A 主题党日 rule as typed: a fixed day (week 0), or the nth / last weekday of the month.

    Read by bot.obligations.party_day_in; `day` is kept 1 for weekday rules (the column needs
    a day).
    """

    day: int
    week: int = 0
    weekday: int = 0


_ORDINALS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "1": 1,
    "2": 2,
    "3": 3,
    "4": 4,
    "5": 5,
}
_WEEKDAYS = {
    "一": 0,
    "二": 1,
    "三": 2,
    "四": 3,
    "五": 4,
    "六": 5,
    "日": 6,
    "天": 6,
    "1": 0,
    "2": 1,
    "3": 2,
    "4": 3,
    "5": 4,
    "6": 5,
    "7": 6,
}
_WEEKDAY_RULE = re.compile(
    r"(?:每月|每个月)?的?(?:第(?P<nth>[一二两三四五1-5])(?:个|周的?)|(?P<last>最后一个|最后一周的?|最末一个))"
    r"(?:星期|周|礼拜)(?P<weekday>[一二三四五六日天1-7])"
)
_WEEKLY = re.compile(r"^(?:每周|每个?星期|每个?礼拜)")


def parse_party_day(text: str) -> PartyDay:
    """The 主题党日 rule: a day 1–31 (每月15日, 15号, 十五; 月末 is 31) or a weekday of the
    month (每月第二个星期五, 第2个周五, 最后一个周五)."""
    value = to_halfwidth(clean_line(text)).replace(" ", "")
    if not value:
        raise InvalidAnswer("empty")
    if value in {"月末", "月底", "最后一天", "每月最后一天", "每月月末", "每月月底"}:
        return PartyDay(31)
    rule = _WEEKDAY_RULE.fullmatch(value)
    if rule:
        weekday = _WEEKDAYS[rule["weekday"]]
        if rule["last"]:
            return PartyDay(1, -1, weekday)
        nth = _ORDINALS[rule["nth"]]
        if nth == 5:
            raise InvalidAnswer("no_fifth_weekday")
        return PartyDay(1, nth, weekday)
    if _WEEKLY.match(value):
        raise InvalidAnswer("party_day_weekly")
    value = re.sub(r"^(每月|每个月)", "", value)
    number = parse_int(value)
    if number is None:
        raise InvalidAnswer("not_day")
    if not 1 <= number <= 31:
        raise InvalidAnswer("day_range")
    return PartyDay(number)


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
    """A profile from a completed draft (`party_day` holds a PartyDay)."""
    rule = as_party_day(values["party_day"])
    fields = {name: values[name] for name in FIELDS if name != "party_day"}
    return BranchProfile(
        **fields, party_day=rule.day, party_week=rule.week, party_weekday=rule.weekday
    )


def as_party_day(value: Any) -> PartyDay:
    """A draft's 主题党日 answer as a rule (drafts saved before weekday rules hold a day)."""
    return PartyDay(value) if isinstance(value, int) else PartyDay(*value)


def party_day_of(profile: BranchProfile) -> PartyDay:
    """The profile's 主题党日 rule as one value."""
    return PartyDay(profile.party_day, profile.party_week, profile.party_weekday)


def party_day_changes(rule: PartyDay) -> dict[str, int]:
    """The stored columns for a 主题党日 rule."""
    return {"party_day": rule.day, "party_week": rule.week, "party_weekday": rule.weekday}
