"""The catalog of meeting kinds and obligations is the one source: every screen's lists come from
it, and the label templates and the knowledge base cover every record in it."""

from __future__ import annotations

from bot import catalog, meeting_form, meetings, obligations, reminders
from bot.handlers.checkin import card
from bot.knowledge import KIND_GUIDES, entries
from bot.texts import labels
from tests.factories import make_profile


def test_the_labels_name_every_kind_and_obligation() -> None:
    lab = labels()
    codes = [kind.code for kind in catalog.KINDS]
    assert set(codes) <= set(lab.KINDS) and set(codes) <= set(lab.OBLIGATIONS)
    owed = catalog.default_frequencies()
    assert set(owed) <= set(lab.OBLIGATIONS) and set(owed) <= set(lab.OBLIGATION_SOURCES)
    steps = {step for kind in catalog.KINDS for step in kind.steps}
    assert steps <= set(lab.STEPS) and steps <= set(meeting_form.STEP_FIELDS)


def test_every_kind_points_at_knowledge_that_exists() -> None:
    known = set(entries())
    for kind in catalog.KINDS:
        assert kind.guide in known, kind.code
        assert set(kind.step_help.values()) <= known, kind.code
        assert set(kind.step_help) <= set(kind.steps), kind.code
        assert set(kind.combines_with) <= set(catalog.BY_CODE), kind.code
    assert set(catalog.STEP_HELP.values()) <= known


def test_the_bot_reads_its_lists_from_the_catalog() -> None:
    codes = tuple(kind.code for kind in catalog.KINDS)
    assert codes == meetings.MEETING_KINDS
    assert tuple(meeting_form.STEPS) == codes
    assert set(KIND_GUIDES) == set(codes) == reminders.LOGGABLE
    assert tuple(k.code for k in catalog.KINDS if k.sign_in) == card.SIGN_IN_KINDS
    assert list(obligations.DEFAULT_FREQUENCY) == list(catalog.OBLIGATION_ORDER)
    assert obligations.DEFAULT_FREQUENCY["party_dues"] == "monthly"
    assert not obligations.applies("committee_meeting", make_profile(has_committee=False))
    assert obligations.applies("committee_meeting", make_profile(has_committee=True))
    assert not obligations.applies("group_meeting", make_profile(has_party_groups=False))
    assert obligations.applies("party_dues", make_profile())
