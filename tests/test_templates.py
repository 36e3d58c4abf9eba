"""Every template renders, is valid Telegram HTML, and long texts split safely."""

from __future__ import annotations

from pathlib import Path

from bot.branch_profile import FIELDS, InvalidAnswer, RuleWarning
from bot.emulator.html import parse_html
from bot.handlers.profile_form import prompt
from bot.texts import labels, render, split_message
from db.models import BranchProfile

TEMPLATES = Path(__file__).resolve().parent.parent / "bot" / "templates"
PROFILE = BranchProfile(
    name="<b>A&B</b>",
    organization_name="商会 & 协会",
    organization_type="other",
    formation_mode="area",
    formal_members=2,
    probationary_members=0,
    has_committee=True,
    has_party_groups=True,
    party_day=30,
)
WARNINGS = [
    RuleWarning(code, {"formal": 2, "total": 60, "mode": "joint"})
    for code in (
        "no_formal_members",
        "standalone_needs_three",
        "should_stand_alone",
        "committee_required",
        "committee_not_needed",
        "too_many_members",
    )
]


def test_cards_escape_user_text_and_are_valid_html() -> None:
    for name in ("reg_review", "branch_card"):
        text = render(name, p=PROFILE, warnings=WARNINGS, role="书记", can_edit=True)
        assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in text
        visible = parse_html(text)
        assert "<b>A&B</b>" in visible
        assert "依据" in visible


def test_every_prompt_and_error_renders() -> None:
    codes = ["empty", "multiline", "too_short", "too_long", "not_number", "not_whole",
             "negative", "too_many", "yes_no", "not_day", "day_range", "choice",
             "need_button"]  # fmt: skip
    params = {"minimum": 2, "limit": 60, "length": 300, "maximum": 1000}
    for field in FIELDS:
        for code in codes:
            text = prompt(field, step=1, total=9, error=InvalidAnswer(code, **params))
            parse_html(text)
            assert "{{" not in text


def test_simple_templates_render() -> None:
    for path in TEMPLATES.glob("*.j2"):
        if path.stem in {"labels", "macros", "reg_ask", "input_error", "profile_fields",
                         "rule_warnings", "reg_review", "branch_card", "branch_ask",
                         "main_menu", "reg_saved", "reg_already_saved", "switch_list",
                         "switched", "branch_updated", "welcome", "demo_banner"}:  # fmt: skip
            continue
        parse_html(render(path.stem))


def test_labels_cover_every_option() -> None:
    lab = labels()
    assert set(lab.FIELDS) == set(FIELDS)
    assert len(lab.ORGANIZATION_TYPES) == 5
    assert len(lab.FORMATION_MODES) == 5
    assert all(len(description) <= 256 for _, description in lab.COMMANDS)


def test_split_message_never_cuts_a_tag() -> None:
    line = "<b>粗体</b> &amp; 文字 " * 400
    parts = split_message(line + "\n" + "短行")
    assert all(len(p) <= 4096 for p in parts)
    for part in parts:
        parse_html(part)
    assert "".join(parts).replace("\n", "") == (line + "短行")
