"""What to answer a question with (pure): numbers first, then the knowledge base."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import msgspec

from bot.knowledge import entries, numbers, search, smalltalk
from bot.knowledge import formation as advisor
from bot.textnorm import clean_line, to_halfwidth, to_simplified

QUESTION_LIMIT = 300
_FORMATION_WORDS = ("建", "成立", "支委", "委员会", "组建", "够", "设")
# Subjects the source documents say nothing about: a question on one gets "不太确定" with the
# nearest entries, never one of them as its answer ("党员去世了党费怎么处理" is not 失联).
_UNCOVERED = re.compile(r"去世|逝世|过世|离世|病故|身故|死亡|死了|追悼")


class Decision(msgspec.Struct, frozen=True):
    """kind: greeting, thanks, stray (a bare date or number), off_topic, no_such_date, probation,
    dues, dues_range, dues_unclear, committee_quorum, quorum, quorum_needed, formation, weak
    or entry."""

    kind: str
    value: Any = None


def small_talk(question: str) -> Decision | None:
    """Greetings, thanks, stray dates or numbers and off-topic requests: decided without the
    index (so they never wait for it to be built)."""
    plain = to_simplified(to_halfwidth(clean_line(question[:QUESTION_LIMIT]))).lower()
    kind = smalltalk.kind_of(plain)
    if kind is None:
        return None
    return Decision("off_topic", "write") if kind == "write" else Decision(kind)


def decide(question: str, today: date) -> Decision:
    """The answer for a question typed on `today` (the index must be built)."""
    question = question[:QUESTION_LIMIT]
    if (talk := small_talk(question)) is not None:
        return talk
    index = search.index()
    text = index.normalize(question)
    if not text.strip():
        return Decision("off_topic")
    try:
        probation = numbers.probation_question(text, today)
    except numbers.NoSuchDate:
        return Decision("no_such_date")
    if probation is not None:
        return Decision("probation", probation)
    dues = numbers.dues_question(text)
    if dues == "rehired":  # the superior organization sets the base: answer with the entry
        return Decision("entry", entries()["dues-retired"])
    if isinstance(dues, numbers.DuesRange):
        return Decision("dues_range", dues)
    if isinstance(dues, numbers.DuesUnclear):
        return Decision("dues_unclear", dues)
    if dues is not None:
        return Decision("dues", dues)
    if (committee := numbers.committee_quorum(text)) is not None:
        return Decision("committee_quorum", committee)
    if (quorum := numbers.quorum_question(text)) is not None:
        return Decision("quorum", quorum)
    if (needed := numbers.quorum_needed(text)) is not None:
        return Decision("quorum_needed", needed)
    counts = numbers.member_counts(text)
    # "15个正式党员选举支委会至少到多少人" asks about attending, not about setting a branch up.
    if (
        counts is not None
        and any(word in text for word in _FORMATION_WORDS)
        and not numbers.asks_attendance(text)
    ):
        formal = advisor.formal_choice(counts.formal)
        probationary = advisor.probationary_choice(counts.probationary)
        total = counts.formal + counts.probationary
        advice = advisor.advise(formal, probationary, "other", "u", "u", members_total=total)
        counted = (counts.formal, counts.probationary)
        return Decision("formation", msgspec.structs.replace(advice, counted=counted))
    result = search.index().search(question)
    if result.off_topic:
        return Decision("off_topic", result)
    if not result.confident or _UNCOVERED.search(text):
        return Decision("weak", result)
    return Decision("entry", result.hits[0].entry)
