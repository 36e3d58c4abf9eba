"""The steps of /log (and of editing a saved record): the draft, how each step asks, reads a
typed or tapped answer and shows what it holds. The form itself (load, review, save, the ways in)
is in meeting_log.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

import msgspec

from bot import catalog
from bot import meeting_form as form
from bot.branch_profile import InvalidAnswer
from bot.forms import Choice, Step, Turn
from bot.knowledge import KIND_GUIDES
from bot.meetings import MEETING_KINDS
from bot.texts import labels, render
from db.models import Meeting

QUICK_DAYS = (0, 1, 2)
# The fields a step fills in, as the draft stores them.
_FIELDS = (
    "kind", "held_on", "start_time", "place", "host", "recorder", "speaker", "counterpart",
    "title", "activity_form", "expected", "present", "on_leave", "absentees", "agenda",
    "content", "resolutions", "also_counts_as", "plan_id", "photos",
)  # fmt: skip
_FIELD_SET = frozenset(_FIELDS)
# Kept when the kind is changed: the day and the place do not depend on it.
_KEPT_ON_KIND_CHANGE = ("held_on", "start_time", "place")


class LogDraft(msgspec.Struct):
    """A meeting record being filled in (None: not answered yet)."""

    branch_id: int
    edit_id: int | None = None
    checkin_id: int | None = None
    notice_id: int | None = None  # the meeting notice whose answers filled the attendance
    kind: str | None = None
    held_on: str | None = None
    # A time typed with the day ("昨天下午3点"), offered as the start time at the next step.
    said_time: str | None = None
    start_time: str | None = None
    place: str | None = None
    host: str | None = None
    recorder: str | None = None
    speaker: str | None = None
    counterpart: str | None = None
    title: str | None = None
    activity_form: str | None = None
    expected: int | None = None
    present: int | None = None
    on_leave: int | None = None
    absentees: list[list[str]] | None = None
    agenda: list[str] | None = None
    content: str | None = None
    resolutions: str | None = None
    also_counts_as: list[str] = []
    plan_id: int | None = None
    photos: list[list[str]] = []
    # Optional steps answered (resolutions skipped, photos done); steps a preset filled.
    done: list[str] = []
    preset: list[str] = []
    hints: dict[str, list[str]] = {}

    def values(self) -> dict[str, Any]:
        """The answers in the form bot.meeting_form reads."""
        found = {name: getattr(self, name) for name in _FIELDS if getattr(self, name) is not None}
        found["_done"] = list(self.done)
        return found

    def answers(self) -> Mapping[str, Any]:
        """The same answers read in place (the engine asks which steps are answered often)."""
        return _Answers(self)

    def apply(self, values: dict[str, Any]) -> None:
        """Take a step's answer (a dict of Meeting fields)."""
        for name, value in values.items():
            setattr(self, name, value)


class _Answers(Mapping[str, Any]):
    """LogDraft.values() as a view: no copy."""

    __slots__ = ("_draft",)

    def __init__(self, draft: LogDraft) -> None:
        self._draft = draft

    def __getitem__(self, name: str) -> Any:
        if name == "_done":
            return self._draft.done
        value = getattr(self._draft, name) if name in _FIELD_SET else None
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._draft.values())

    def __len__(self) -> int:
        return len(self._draft.values())


# -- reading the steps ---------------------------------------------------------------------------


def profile(turn: Turn[LogDraft]) -> Any:
    """The branch profile the form loaded."""
    return turn.env[1].profile


def _expected(turn: Turn[LogDraft]) -> int | None:
    kind = turn.draft.kind
    return form.default_expected(kind, profile(turn)) if kind else None


def meeting_of(draft: LogDraft) -> Meeting:
    """The record as the draft stands."""
    return form.to_meeting(draft.values())


def _read(step: str) -> Any:
    def read(turn: Turn[LogDraft], text: str) -> None:
        draft = turn.draft
        if step == "held_on":
            draft.said_time = form.time_said_with_day(text)
            if draft.said_time is not None and draft.place is not None:
                # The time and place were answered before (an edit from the review card, or
                # back to the day): a time typed with the new day is the start time at once.
                draft.start_time, draft.said_time = draft.said_time, None
        values = form.read_step(
            step,
            draft.kind or "",
            text,
            today=turn.today,
            default_expected=_expected(turn),
        )
        if step == "people":
            # A new answer replaces the old names (a combined 党课's speaker is its own step).
            draft.host = draft.recorder = draft.counterpart = ""
            if draft.kind == "party_lecture":
                draft.speaker = ""
        if step == "time_place":
            if values["start_time"] is None and draft.start_time is None:
                values["start_time"] = draft.said_time
            draft.said_time = None
        draft.apply(values)
        if step in form.OPTIONAL_STEPS and step not in draft.done:
            draft.done.append(step)

    return read


def _hint_choices(step: str) -> Any:
    def choices(turn: Turn[LogDraft]) -> list[list[Choice]]:
        hints = turn.draft.hints.get(step, [])
        return [[Choice(f"h{i}", hint[:30])] for i, hint in enumerate(hints[:4])]

    return choices


def _pick(step: str) -> Any:
    read = _read(step)

    def pick(turn: Turn[LogDraft], code: str) -> None:
        draft = turn.draft
        if step == "kind":
            if code not in MEETING_KINDS:
                raise InvalidAnswer("choice")
            if code != draft.kind:
                kept = {name: getattr(draft, name) for name in _KEPT_ON_KIND_CHANGE}
                fresh = LogDraft(branch_id=draft.branch_id, hints=draft.hints, **kept)
                for name in draft.__struct_fields__:
                    setattr(draft, name, getattr(fresh, name))
                draft.kind = code
            return
        if step == "held_on" and code.startswith("y"):
            draft.apply(form.read_offered_date(code, turn.today))
            return
        if step == "held_on":
            if not code.isdigit() or int(code) not in QUICK_DAYS:
                raise InvalidAnswer("choice")
            draft.held_on = date.fromordinal(turn.today.toordinal() - int(code)).isoformat()
            draft.said_time = None
            return
        if step == "activity_form":
            if code not in form.ACTIVITY_FORMS:
                raise InvalidAnswer("choice")
            draft.activity_form = code
            return
        if step == "attendance" and code == "nf":
            notice = _notice_answers(turn)
            if notice is None:
                raise InvalidAnswer("choice")
            draft.notice_id = notice[0]
            draft.apply(notice[1])
            return
        if step == "attendance" and code == "all":
            expected = _expected(turn)
            if not expected:
                raise InvalidAnswer("choice")
            draft.apply(form.full_attendance(expected))
            return
        hints = draft.hints.get(step, [])
        if not code.startswith("h") or not code[1:].isdigit() or int(code[1:]) >= len(hints):
            raise InvalidAnswer("choice")
        read(turn, hints[int(code[1:])])

    return pick


def _kind_choices(turn: Turn[LogDraft]) -> list[list[Choice]]:
    kinds = [Choice(k, labels().KINDS[k]) for k in MEETING_KINDS]
    return [kinds[i : i + 2] for i in range(0, len(kinds), 2)]


def _day_choices(turn: Turn[LogDraft]) -> list[list[Choice]]:
    return [[Choice(str(d), labels().QUICK_DAYS[d]) for d in QUICK_DAYS]]


def _form_choices(turn: Turn[LogDraft]) -> list[list[Choice]]:
    names = labels().ACTIVITY_FORMS
    forms = [Choice(f, names[f]) for f in form.ACTIVITY_FORMS]
    return [forms[i : i + 3] for i in range(0, len(forms), 3)]


def _notice_answers(turn: Turn[LogDraft]) -> tuple[int, dict[str, Any]] | None:
    """The meeting notice of this kind and day and the attendance its answers give, if the form
    loaded one (meeting_log._load)."""
    return turn.env[3] if len(turn.env) > 3 else None


def _attendance_choices(turn: Turn[LogDraft]) -> list[list[Choice]]:
    expected = _expected(turn)
    rows = [[Choice("all", labels().ALL_PRESENT.format(n=expected))]] if expected else []
    notice = _notice_answers(turn)
    if notice is not None:
        values = notice[1]
        label = labels().NOTIFY_FILL.format(attend=values["present"], leave=values["on_leave"])
        rows.append([Choice("nf", label)])
    return rows


def _guide(turn: Turn[LogDraft]) -> list[tuple[str, str]]:
    kind = turn.draft.kind
    if kind in KIND_GUIDES and turn.draft.edit_id is None:
        return [(labels().HOW_TO_RUN, f"kb:{KIND_GUIDES[kind]}")]
    return []


def _add_photo(turn: Turn[LogDraft], file_id: str, unique: str) -> str:
    values = {"photos": turn.draft.photos}
    added = form.add_photo(values, file_id, unique)
    turn.draft.photos = values["photos"]
    return render("log_photo_added", count=len(turn.draft.photos), full=not added)


def _photos_done(turn: Turn[LogDraft]) -> None:
    if "photos" not in turn.draft.done:
        turn.draft.done.append("photos")


def _skip_resolutions(turn: Turn[LogDraft]) -> None:
    turn.draft.resolutions = ""
    if "resolutions" not in turn.draft.done:
        turn.draft.done.append("resolutions")


def _photo_tools(turn: Turn[LogDraft]) -> list[tuple[str, str, str]]:
    if turn.draft.edit_id and turn.draft.photos:
        return [(labels().CLEAR_PHOTOS, "clr", "0")]
    return []


def _question(step: str) -> Any:
    def question(turn: Turn[LogDraft]) -> str:
        return render(
            "log_ask",
            step=step,
            kind=turn.draft.kind,
            number=None,
            total=None,
            expected=_expected(turn),
            photo_count=len(turn.draft.photos),
            said_time=turn.draft.said_time if turn.draft.start_time is None else None,
            error=None,
        )

    return question


def _current(step: str) -> Any:
    def current(turn: Turn[LogDraft]) -> str | None:
        if step != "kind" and (turn.draft.kind is None or turn.draft.held_on is None):
            return None
        m = meeting_of(turn.draft) if turn.draft.held_on else None
        return render("log_current", step=step, kind=turn.draft.kind, m=m) or None

    return current


def _step(name: str) -> Step[LogDraft]:
    choices: Any = {
        "kind": _kind_choices,
        "held_on": _day_choices,
        "activity_form": _form_choices,
        "attendance": _attendance_choices,
    }.get(name, _hint_choices(name))
    typed = name not in {"kind", "activity_form", "photos"}
    return Step(
        name=name,
        question=_question(name),
        answered=lambda draft: name in draft.preset or form.is_answered(name, draft.answers()),
        read=_read(name) if typed else None,
        choices=choices,
        pick=_pick(name),
        current=_current(name),
        skip_label=(
            (lambda d: labels().PHOTOS_DONE if d.photos else labels().NO_PHOTOS)
            if name == "photos"
            else (lambda d: labels().NO_RESOLUTIONS)
            if name == "resolutions"
            else None
        ),
        skip={"photos": _photos_done, "resolutions": _skip_resolutions}.get(name),
        photo=_add_photo if name == "photos" else None,
        fixed=(lambda d: "kind" in d.preset or d.edit_id is not None)
        if name == "kind"
        else _never,
        tools=_photo_tools if name == "photos" else _no_tools,
        links=_guide if name == "held_on" else _no_links,
        help=_help(name),
    )


def _help(step: str) -> Any:
    def entry(draft: LogDraft) -> str | None:
        kind = catalog.BY_CODE.get(draft.kind or "")
        return (kind.step_help.get(step) if kind else None) or catalog.STEP_HELP.get(step)

    return entry


def _never(draft: LogDraft) -> bool:
    return False


def _no_tools(turn: Turn[LogDraft]) -> list[tuple[str, str, str]]:
    return []


def _no_links(turn: Turn[LogDraft]) -> list[tuple[str, str]]:
    return []


_STEPS = {name: _step(name) for name in form.STEP_FIELDS}


def steps(draft: LogDraft) -> list[Step[LogDraft]]:
    """The steps of the draft's kind (only the common ones while the kind is open)."""
    if draft.kind is None:
        return [_STEPS[name] for name in form.COMMON_STEPS]
    return [_STEPS[name] for name in form.steps_for(draft.kind, draft.also_counts_as)]
