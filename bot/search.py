"""/find: what a secretary types turned into search words, and the line of a record that
matched (shown under each result)."""

from __future__ import annotations

import re

import msgspec

from bot.textnorm import clean_line, to_halfwidth, to_simplified
from db.meetings import SEARCH_TERMS
from db.models import Meeting

MAX_TERM = 20  # characters in one word
MAX_QUERY = 60  # characters in all
_SEPARATORS = re.compile(r"[\s,，、;；]+")
AROUND = 12  # characters of context on each side of the match


class QueryError(ValueError):
    """A search that cannot be run; the code picks the message in find.j2."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def parse_terms(text: str) -> list[str]:
    """The words to search for, as typed (several words: a record must contain all).

    Wildcards mean nothing here: `%`, `_` and `"` are searched for as the characters they are.
    """
    line = clean_line(to_halfwidth(text))
    if len(line) > MAX_QUERY:
        raise QueryError("too_long")
    terms = list(dict.fromkeys(t for t in _SEPARATORS.split(line) if t))
    if not terms:
        raise QueryError("empty")
    if len(terms) > SEARCH_TERMS:
        raise QueryError("too_many")
    if any(len(t) > MAX_TERM for t in terms):
        raise QueryError("too_long")
    return terms


def variants(terms: list[str]) -> list[list[str]]:
    """The terms as typed and, if that differs, in simplified script (records keep what their
    writer typed, in either script)."""
    simplified = [to_simplified(t) for t in terms]
    return [terms] if simplified == terms else [simplified, terms]


class Snippet(msgspec.Struct, frozen=True):
    """A piece of a record's text around the first match: before, the match, after."""

    before: str
    match: str
    after: str


def _texts(meeting: Meeting) -> list[str]:
    return [
        meeting.title,
        *meeting.agenda,
        meeting.content,
        meeting.resolutions,
        meeting.place,
        meeting.host,
        meeting.recorder,
        meeting.speaker,
        meeting.counterpart,
    ]


def snippet(meeting: Meeting, terms: list[str]) -> Snippet | None:
    """Where the first of `terms` occurs in the record (case-insensitive), with context."""
    for term in terms:
        for text in _texts(meeting):
            at = text.lower().find(term.lower())
            if at < 0:
                continue
            end = at + len(term)
            before = text[max(0, at - AROUND) : at].replace("\n", " ")
            after = text[end : end + AROUND].replace("\n", " ")
            return Snippet(
                ("…" if at > AROUND else "") + before,
                text[at:end],
                after + ("…" if end + AROUND < len(text) else ""),
            )
    return None
