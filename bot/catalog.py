"""One record per meeting kind and per obligation: everything the rest of the bot looks up by a
kind's code. A new kind is a record here plus its names in labels.j2 and export_labels.j2
(tests/test_catalog.py checks both cover the catalog).

Frequencies follow FACTS.md: 支委会 monthly (A6, only with a committee), 党小组会 monthly (A7, only
with party groups), 党员大会 quarterly (A5), 党课 quarterly (A10, common practice), 主题党日
monthly on the fixed day (A11), 组织生活会 yearly (A12), 民主评议党员 yearly (A13), 党费 monthly
(D33). 谈心谈话 is owed per member on the roster (A14), not per period.
"""

from __future__ import annotations

import msgspec

# The logging steps of an ordinary meeting, after the common ones (kind, date, time and place).
MEETING_STEPS = ("people", "attendance", "agenda", "content", "resolutions", "photos")


class Kind(msgspec.Struct, frozen=True):
    """A kind of meeting or activity that can be logged."""

    code: str
    steps: tuple[str, ...]  # what /log asks after the kind, the date and the time and place
    guide: str  # the knowledge entry on how to run it ("📚 这个会怎么开")
    frequency: str | None = None  # owed per period by default (None: per member, see roster)
    needs: str | None = None  # a BranchProfile flag the branch must have for it to be owed
    combines_with: tuple[str, ...] = ()  # what one sitting may also count for
    sign_in: bool = False  # members sign in on a card in the branch's group
    # "❓ 这一项怎么填" entries where this kind differs from the rest (bot.handlers.meeting_log).
    step_help: dict[str, str] = msgspec.field(default_factory=dict)


KINDS: tuple[Kind, ...] = (
    Kind(
        "member_meeting",
        MEETING_STEPS,
        "guide-meeting-general",
        frequency="quarterly",
        combines_with=("party_lecture",),
        sign_in=True,
    ),
    Kind(
        "committee_meeting",
        MEETING_STEPS,
        "guide-meeting-committee",
        frequency="monthly",
        needs="has_committee",
    ),
    Kind(
        "group_meeting",
        MEETING_STEPS,
        "guide-meeting-group",
        frequency="monthly",
        needs="has_party_groups",
    ),
    Kind(
        "party_lecture",
        ("people", "title", "attendance", "agenda", "content", "photos"),
        "guide-party-lecture",
        frequency="quarterly",
        sign_in=True,
        step_help={"people": "party-lecture", "title": "guide-party-lecture"},
    ),
    Kind(
        "organizational_life_meeting",
        MEETING_STEPS,
        "guide-life-meeting",
        frequency="yearly",
        combines_with=("member_appraisal",),
        sign_in=True,
    ),
    Kind(
        "member_appraisal",
        MEETING_STEPS,
        "guide-member-review",
        frequency="yearly",
        sign_in=True,
    ),
    Kind(
        "heart_to_heart_talk",
        ("people", "agenda", "content", "photos"),
        "guide-heart-talk",
        step_help={"people": "heart-talk"},
    ),
    Kind(
        "theme_party_day",
        ("title", "activity_form", *MEETING_STEPS),
        "guide-party-day",
        frequency="monthly",
        combines_with=("party_lecture",),
        sign_in=True,
        step_help={"title": "guide-party-day"},
    ),
)
BY_CODE = {kind.code: kind for kind in KINDS}
# "❓ 这一项怎么填" in /log: the knowledge entry with the rule behind each step (a kind's own
# step_help comes first). Steps without a rule to explain (date, time and place) have none.
STEP_HELP = {
    "kind": "three-meetings",
    "people": "meeting-host",
    "speaker": "party-lecture",
    "activity_form": "party-day",
    "attendance": "quorum-vote",
    "agenda": "meeting-record",
    "content": "meeting-record",
    "resolutions": "quorum-vote",
}
# Obligations that are not meetings: owed per period all the same.
OTHER_OBLIGATIONS = {"party_dues": "monthly"}
# The order in which every screen lists what is owed (the most frequent first).
OBLIGATION_ORDER = (
    "committee_meeting",
    "group_meeting",
    "member_meeting",
    "party_lecture",
    "theme_party_day",
    "organizational_life_meeting",
    "member_appraisal",
    "party_dues",
)


def default_frequencies() -> dict[str, str]:
    """Every periodic obligation with its default frequency, in OBLIGATION_ORDER."""
    frequency = {
        **{k.code: k.frequency for k in KINDS if k.frequency is not None},
        **OTHER_OBLIGATIONS,
    }
    return {code: frequency[code] for code in OBLIGATION_ORDER}
