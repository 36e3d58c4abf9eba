"""Every template renders, is valid Telegram HTML, and long texts split safely."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

from msgspec.structs import replace

from bot import texts
from bot.branch_profile import FIELDS, InvalidAnswer, RuleWarning
from bot.emulator.html import parse_html
from bot.handlers.start import HELP_TOPICS
from bot.meeting_form import steps_for
from bot.meetings import MEETING_KINDS
from bot.member_counts import MemberCounts
from bot.partyday import ideas_for
from bot.reminders import Notice
from bot.texts import environment, labels, render, render_fixed, split_message
from db.models import BranchProfile, Meeting, PartyDayPlan, Photo

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
        counts = MemberCounts(5, 1, "profile", 0, 0)
        text = render(name, p=PROFILE, warnings=WARNINGS, role="书记", can_edit=True, c=counts)
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
            question = render("reg_ask", field=field, shown=None)
            text = render(
                "form_ask",
                question=question,
                number=1,
                total=9,
                form="reg",
                heading="",
                current=None,
                error=InvalidAnswer(code, **params),
            )
            parse_html(text)
            assert "{{" not in text


def test_simple_templates_render() -> None:
    for path in TEMPLATES.glob("*.j2"):
        # Templates that need their context say so on their first line.
        if path.read_text(encoding="utf-8").startswith("{# context"):
            continue
        if path.stem in {"labels", "macros", "reg_ask", "input_error", "profile_fields",
                         "rule_warnings", "reg_review", "branch_card", "branch_ask",
                         "main_menu", "reg_saved", "reg_already_saved", "switch_list",
                         "switched", "branch_updated", "welcome", "demo_banner",
                         "log_ask", "meeting_card", "meeting_warnings", "log_saved",
                         "log_already_saved", "log_photo_added", "log_start", "history_list",
                         "history_filter", "change_log", "delete_confirm", "deleted",
                         "word_file_name", "word_caption", "export_choose",
                         "ledger_file_name", "ledger_caption", "party_day_card",
                         "party_day_ask", "party_day_planned", "reminder",
                         "custom_reminder", "status", "marked_done", "snoozed",
                         "reminder_settings", "reminder_ask", "custom_reminders",
                         "kb_answer", "kb_numbers", "formation", "selfcheck",
                         "guide_ideas"}:  # fmt: skip
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


MEETING = Meeting(
    kind="member_meeting",
    held_on=date(2026, 2, 28),
    start_time="09:05",
    place="<b>会议室</b> & 🚩",
    host="張三",
    recorder="李四",
    speaker="王五",
    title="<i>题目</i>",
    activity_form="study",
    expected=10,
    present=4,
    on_leave=1,
    absentees=(("赵六", ""), ("钱七", "病假")),
    agenda=("议题 <一>", "议题 & 二"),
    content="第一行\n<script>",
    resolutions="同意 <b>",
    also_counts_as=("party_lecture",),
    photos=(Photo("a", "b"),),
)
MEETING_WARNINGS = [
    RuleWarning(code, {"present": 4, "expected": 10, "count": 2, "day": "2026-02-28", "month": 6})
    for code in (
        "member_meeting_quorum",
        "vote_without_quorum",
        "no_committee",
        "committee_quorum",
        "no_party_groups",
        "absence_without_reason",
        "lecture_without_speaker",
        "second_member_meeting",
        "appraisal_out_of_season",
    )
]


def test_meeting_card_escapes_and_cites_every_warning() -> None:
    for kind in MEETING_KINDS:
        meeting = replace(MEETING, kind=kind, also_counts_as=())
        text = render("meeting_card", m=meeting, warnings=MEETING_WARNINGS, review=True,
                      editing=False)  # fmt: skip
        visible = parse_html(text)
        assert "<b>会议室</b> & 🚩" in visible and "張三" in visible
        assert visible.count("⚠️") == len(MEETING_WARNINGS)
        assert "第十一条" in visible and "第十二条" in visible
    for name in ("log_saved", "log_already_saved"):
        parse_html(render(name, m=MEETING))


def test_every_logging_prompt_and_error_renders() -> None:
    codes = ["multiline_text", "name_too_long", "date_empty", "date_no_such_date", "date_future",
             "date_too_old", "date_unknown", "bad_time", "need_place", "two_parties",
             "too_many_names", "attendance_format", "too_many_absentees",
             "present_over_expected", "leave_over_expected", "nobody_expected",
             "too_many_reasons", "too_many_items", "need_photo"]  # fmt: skip
    params = {"limit": 20, "name": "<b>", "maximum": 2, "listed": 3, "missing": 1,
              "present": 5, "expected": 3, "absent": 1, "length": 30}  # fmt: skip
    for kind in MEETING_KINDS:
        for step in steps_for(kind, ("party_lecture",)):
            for code, said_time in itertools.product(codes, (None, "15:00")):
                text = render("log_ask", step=step, kind=kind, number=1, total=9, m=MEETING,
                              expected=20, photo_count=2, said_time=said_time,
                              error=InvalidAnswer(code, **params))  # fmt: skip
                visible = parse_html(text)
                assert "⚠️" in visible and "{{" not in text
    parse_html(render("log_start", kind="theme_party_day"))
    parse_html(render("log_photo_added", count=3, full=True))


def test_party_day_templates_render() -> None:
    plan = PartyDayPlan(1, 1, "2026-12", date(2026, 12, 18), "<b>主题</b>", "volunteer")
    month = {"month": 12, "fixed_day": date(2026, 12, 15), "held": [], "plan": plan,
             "state": "due", "deadline": date(2026, 12, 15)}  # fmt: skip
    text = render("party_day_card", months=[month], ideas=ideas_for(3), today=date(2026, 3, 1))
    assert "《<b>主题</b>》，志愿服务" in parse_html(text) and "学雷锋" in text
    parse_html(render("party_day_planned", plan=plan))
    for step in ("day", "theme", "form"):
        parse_html(render("party_day_ask", step=step, month=12,
                          error=InvalidAnswer("other_month", month=12)))  # fmt: skip


def test_reminder_texts_render_for_every_stage() -> None:
    for code in labels().OBLIGATIONS:
        for stage in ("lead7", "lead2", "overdue", "snooze2026-11-24", "term6"):
            notice = Notice(1, code, date(2026, 10, 1), date(2026, 12, 31), stage, 8)
            visible = parse_html(render("reminder", n=notice, branch_name="<b>支部</b>"))
            assert "<b>支部</b>" in visible and len(visible) < 400
    parse_html(render("custom_reminder", text="<i>交党费</i> & 🚩", branch_name="支部"))
    parse_html(render("snoozed", until=date(2026, 11, 24)))
    parse_html(render("marked_done", created=True))


def test_fixed_texts_are_rendered_once_and_the_same_as_a_render() -> None:
    for topic in ("home", *HELP_TOPICS):
        fresh = environment().get_template("help.j2").render(topic=topic).strip()
        assert render_fixed("help", topic=topic) == fresh
        before = render_fixed.cache_info().hits
        assert render_fixed("help", topic=topic) == fresh
        assert render_fixed.cache_info().hits == before + 1
    # Without a context a render is the same for everyone, so it is a fixed text too.
    plain = environment().get_template("nothing_to_cancel.j2").render().strip()
    assert render("nothing_to_cancel") == plain == render_fixed("nothing_to_cancel")


def test_a_template_cache_that_cannot_be_written_never_stops_a_reply(tmp_path: Path) -> None:
    # A full disk or a vanished temp folder: the template is compiled again, the text is sent.
    gone = tmp_path / "gone"
    cache = texts._SparingCache(directory=str(gone))
    env = environment().overlay(bytecode_cache=cache, cache_size=0)
    text = env.get_template("nothing_to_cancel.j2").render().strip()
    assert text == render("nothing_to_cancel")
    assert not gone.exists()


def test_a_text_of_plain_values_is_rendered_once_and_markup_stays_apart() -> None:
    from markupsafe import Markup

    from bot.texts import _render_plain

    _render_plain.cache_clear()
    context = {"question": "<b>&", "number": 2, "total": 9, "form": "lg", "heading": ""}
    escaped = render("form_ask", **context, current=None, error=None)
    assert "&lt;b&gt;&amp;" in escaped
    assert render("form_ask", **context, current=None, error=None) == escaped
    assert _render_plain.cache_info().hits == 1
    # The same characters as Markup are the template's own HTML, not the user's text.
    trusted = render(
        "form_ask", **{**context, "question": Markup("<b>&")}, current=None, error=None
    )
    assert "<b>&" in trusted and trusted != escaped
    # A value of any other kind (an error, a list) is rendered each time, never kept.
    error = InvalidAnswer("choice")
    render("form_ask", **context, current=None, error=error)
    render("form_ask", **context, current=None, error=error)
    assert _render_plain.cache_info().currsize == 2
