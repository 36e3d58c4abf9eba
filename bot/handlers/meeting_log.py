"""Logging a meeting from a phone (/log), and editing a saved record through the same steps.

The form engine keeps the draft; its key makes saving idempotent. The draft remembers the branch
it was started for, so switching branches midway cannot misfile the record, and the user's role
is checked again on every update.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import msgspec
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import access, catalog
from bot import meeting_form as form
from bot.access import Need
from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.forms import Choice, Form, Outcome, Refused, Step, Turn
from bot.handlers.common import answer, callback_parts, is_private, reply_template
from bot.knowledge import KIND_GUIDES
from bot.meetings import MEETING_KINDS
from bot.obligations import DEFAULT_FREQUENCY, period_of
from bot.reminders import keys_prefix
from bot.texts import labels, render
from db import checkins, meetings, outbox, repo, settings
from db.models import Branch, Meeting, Membership

_LOGGER = logging.getLogger(__name__)
NAME = "lg"
QUICK_DAYS = (0, 1, 2)
# The fields a step fills in, as the draft stores them.
_FIELDS = (
    "kind", "held_on", "start_time", "place", "host", "recorder", "speaker", "counterpart",
    "title", "activity_form", "expected", "present", "on_leave", "absentees", "agenda",
    "content", "resolutions", "also_counts_as", "plan_id", "photos",
)  # fmt: skip
# Kept when the kind is changed: the day and the place do not depend on it.
_KEPT_ON_KIND_CHANGE = ("held_on", "start_time", "place")


class LogDraft(msgspec.Struct):
    """A meeting record being filled in (None: not answered yet)."""

    branch_id: int
    edit_id: int | None = None
    checkin_id: int | None = None
    kind: str | None = None
    held_on: str | None = None
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

    def apply(self, values: dict[str, Any]) -> None:
        """Take a step's answer (a dict of Meeting fields)."""
        for name, value in values.items():
            setattr(self, name, value)


# -- reading the steps ---------------------------------------------------------------------------


def _profile(turn: Turn[LogDraft]) -> Any:
    return turn.env[1].profile


def _expected(turn: Turn[LogDraft]) -> int | None:
    kind = turn.draft.kind
    return form.default_expected(kind, _profile(turn)) if kind else None


def _meeting(draft: LogDraft) -> Meeting:
    return form.to_meeting(draft.values())


def _read(step: str) -> Any:
    def read(turn: Turn[LogDraft], text: str) -> None:
        draft = turn.draft
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
            return
        if step == "activity_form":
            if code not in form.ACTIVITY_FORMS:
                raise InvalidAnswer("choice")
            draft.activity_form = code
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


def _attendance_choices(turn: Turn[LogDraft]) -> list[list[Choice]]:
    expected = _expected(turn)
    return [[Choice("all", labels().ALL_PRESENT.format(n=expected))]] if expected else []


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
            error=None,
        )

    return question


def _current(step: str) -> Any:
    def current(turn: Turn[LogDraft]) -> str | None:
        if step != "kind" and (turn.draft.kind is None or turn.draft.held_on is None):
            return None
        m = _meeting(turn.draft) if turn.draft.held_on else None
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
        answered=lambda draft: name in draft.preset or form.is_answered(name, draft.values()),
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


# "❓ 这一项怎么填": the knowledge entry with the rule behind each step, by step and kind
# (None: any kind). Steps without a rule to explain (date, time and place) have none.
_STEP_HELP = {
    "kind": "three-meetings",
    "people": "meeting-host",
    "speaker": "party-lecture",
    "activity_form": "party-day",
    "attendance": "quorum-vote",
    "agenda": "meeting-record",
    "content": "meeting-record",
    "resolutions": "quorum-vote",
}


def _help(step: str) -> Any:
    def entry(draft: LogDraft) -> str | None:
        kind = catalog.BY_CODE.get(draft.kind or "")
        return (kind.step_help.get(step) if kind else None) or _STEP_HELP.get(step)

    return entry


def _never(draft: LogDraft) -> bool:
    return False


def _no_tools(turn: Turn[LogDraft]) -> list[tuple[str, str, str]]:
    return []


def _no_links(turn: Turn[LogDraft]) -> list[tuple[str, str]]:
    return []


_STEPS = {name: _step(name) for name in form.STEP_FIELDS}


def _steps(draft: LogDraft) -> list[Step[LogDraft]]:
    if draft.kind is None:
        return [_STEPS[name] for name in form.COMMON_STEPS]
    return [_STEPS[name] for name in form.steps_for(draft.kind, draft.also_counts_as)]


# -- the form ----------------------------------------------------------------------------------


async def _load(turn: Turn[LogDraft]) -> tuple[Membership, Branch, Meeting | None]:
    """The user's role, the branch and (when editing) the record, while they may go on."""
    draft = turn.draft
    found = await turn.authorize(draft.branch_id, Need.RECORD)
    record = None
    if draft.edit_id is not None:
        record = await meetings.get_meeting(turn.database, draft.edit_id)
        if record is None or record.branch_id != draft.branch_id:
            raise Refused("record_gone")
        if not access.may_change_record(found[0], record.created_by):
            raise Refused("no_permission")
    return found[0], found[1], record


async def _warnings(turn: Turn[LogDraft], meeting: Meeting) -> list[Any]:
    """The rule warnings of the record as it stands (shown on the card, stored as accepted)."""
    same_day: list[date] = []
    if meeting.kind == "member_meeting":
        same_day = await meetings.dates_of_kind(
            turn.database, turn.draft.branch_id, meeting.kind, exclude_id=turn.draft.edit_id
        )
    return form.warnings_for(meeting, _profile(turn), same_day)


async def _review(turn: Turn[LogDraft]) -> tuple[str, list[list[tuple[str, str]]]]:
    draft = turn.draft
    meeting = _meeting(draft)
    warnings = await _warnings(turn, meeting)
    lab = labels()
    edits = [
        (lab.EDIT_PREFIX + lab.STEPS[s.name], f"e:{s.name}")
        for s in _steps(draft)
        if s.name != "kind"
    ]
    rows = [[(lab.SAVE_CHANGES if draft.edit_id else lab.SAVE_RECORD, "v")]]
    rows += [edits[i : i + 3] for i in range(0, len(edits), 3)]
    for other in form.combinable(meeting.kind):
        label = lab.UNCOMBINE if other in meeting.also_counts_as else lab.COMBINE
        rows.append([(label.format(kind=lab.KINDS[other]), f"t:comb:{other}")])
    rows.append([(lab.DISCARD_EDIT if draft.edit_id else lab.DISCARD_RECORD, "x")])
    text = render(
        "meeting_card",
        m=meeting,
        warnings=warnings,
        review=True,
        editing=draft.edit_id is not None,
    )
    return text, rows


async def _combine(turn: Turn[LogDraft], other: str) -> None:
    values = turn.draft.values()
    form.toggle_combined(values, other)
    turn.draft.also_counts_as = values["also_counts_as"]


async def _clear_photos(turn: Turn[LogDraft], arg: str) -> None:
    turn.draft.photos = []


async def _save(turn: Turn[LogDraft], key: str) -> Outcome:
    draft = turn.draft
    database = turn.database
    record: Meeting | None = turn.env[2]
    meeting = _meeting(draft)
    if record is not None and record.id is not None:
        changes = {
            name: getattr(meeting, name)
            for name in meetings.EDITABLE_FIELDS
            if getattr(meeting, name) != getattr(record, name)
        }
        saved = await meetings.update_meeting(
            database, user_id=turn.user_id, meeting_id=record.id, changes=changes
        )
        created = bool(changes)
        template = "log_updated" if changes else "log_unchanged"
    else:
        fields = {name: getattr(meeting, name) for name in meeting.__dataclass_fields__}
        accepted = tuple(w.code for w in await _warnings(turn, meeting))
        saved, created = await meetings.create_meeting(
            database,
            user_id=turn.user_id,
            branch_id=draft.branch_id,
            meeting=Meeting(**{**fields, "accepted_warnings": accepted}),
            draft_key=key,
        )
        template = "log_saved" if created else "log_already_saved"
    assert saved is not None and saved.id is not None
    _LOGGER.info("Meeting %s saved for branch %s (new=%s)", saved.id, saved.branch_id, created)
    if draft.checkin_id:
        await checkins.set_meeting(database, draft.checkin_id, saved.id)
    await _cancel_reminders(database, draft.branch_id, saved)
    lab = labels()
    rows = [
        [(lab.VIEW_RECORD, f"hi:o:{saved.id}"), (lab.EXPORT_WORD, f"hi:w:{saved.id}")],
        [(lab.LOG_ANOTHER, "menu:log"), (lab.MENU, "menu:home")],
    ]
    return Outcome(render(template, m=saved), rows)


async def _cancel_reminders(database: Any, branch_id: int, meeting: Meeting) -> None:
    """A reminder already queued for what was just logged is not sent."""
    branch_settings = await settings.get_settings(database, branch_id)
    frequencies = {**DEFAULT_FREQUENCY, **branch_settings.frequencies}
    for code in meeting.counts_as:
        frequency = frequencies.get(code, "off")
        if frequency != "off":
            start = period_of(frequency, meeting.held_on).start
            await outbox.cancel(database, keys_prefix(branch_id, code, start))


FORM: Form[LogDraft] = Form(
    name=NAME,
    title="会议记录",
    draft=LogDraft,
    steps=_steps,
    load=_load,
    review=_review,
    save=_save,
    actions={"comb": _combine, "clr": _clear_photos},
    heading=lambda d: labels().KINDS[d.kind] if d.kind else "",
    counted=lambda d: d.kind is not None,
)


# -- ways in ---------------------------------------------------------------------------------


async def _start(
    update: Update,
    context: BotContext,
    draft_values: dict[str, Any] | None = None,
    *,
    branch_id: int | None = None,
    edit_id: int | None = None,
    checkin_id: int | None = None,
) -> None:
    """Open a draft for the user's current branch (or the record's branch when editing)."""
    await answer(update)
    user = update.effective_user
    assert user is not None
    if not is_private(update):
        await reply_template(update, "private_only")
        return
    forms = app_of(context).forms
    if forms.active(user.id):
        await forms.resume(update, context, same=forms.active(user.id) == NAME)
        return
    database = app_of(context).database
    if branch_id is None:
        current = await repo.current_membership(database, user.id)
        if current is None:
            await reply_template(update, "not_registered")
            return
        branch_id = current[1].id
    values = dict(draft_values or {})
    draft = LogDraft(branch_id=branch_id, edit_id=edit_id, checkin_id=checkin_id)
    draft.apply({k: v for k, v in values.items() if k != "_done"})
    draft.done = list(values.get("_done", []))
    draft.preset = [name for name in form.STEP_FIELDS if form.is_answered(name, values)]
    draft.hints = await _hints(database, branch_id, values)
    intro = None
    if "kind" in values and edit_id is None:
        intro = render("log_start", kind=values["kind"])
    await forms.start(update, context, NAME, draft, intro=intro, at_review=edit_id is not None)


async def _hints(database: Any, branch_id: int, values: dict[str, Any]) -> dict[str, list[str]]:
    """Quick answers from the last record: the same place, the same host and recorder."""
    last = await meetings.last_meeting(database, branch_id)
    hints: dict[str, list[str]] = {}
    if last is not None:
        if last.place:
            hints["time_place"] = [last.place]
        pair = [n for n in (last.host, last.recorder) if n]
        if pair and last.kind not in {"heart_to_heart_talk", "party_lecture"}:
            hints["people"] = [" ".join(dict.fromkeys(pair))]
    if values.get("title"):
        hints["title"] = [values["title"]]
    return hints


async def begin(update: Update, context: BotContext) -> None:
    """/log or 记录会议 in the menu: choose the kind first."""
    await _start(update, context)


async def begin_kind(update: Update, context: BotContext) -> None:
    """A button that opens logging for one kind (reminders, /status): `log:new:<kind>`."""
    parts = callback_parts(update)
    if len(parts) != 3 or parts[2] not in MEETING_KINDS:
        await answer(update, render("button_expired"), alert=True)
        return
    await _start(update, context, {"kind": parts[2]})


def _id(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 15 else None


async def begin_edit(update: Update, context: BotContext) -> None:
    """✏️ on a saved record (from /history): the review card of that record, to change."""
    parts = callback_parts(update)
    record_id = _id(parts[2]) if len(parts) == 3 else None
    record = await meetings.get_meeting(app_of(context).database, record_id) if record_id else None
    if record is None or record.id is None or record.branch_id is None:
        await answer(update, render("record_gone"), alert=True)
        return
    await _start(
        update,
        context,
        form.from_meeting(record),
        edit_id=record.id,
        branch_id=record.branch_id,
    )


async def begin_plan(update: Update, context: BotContext) -> None:
    """记录本月主题党日 from /partyday: pd:log:<branch>:<YYYY-MM>, preset from the plan."""
    parts = callback_parts(update)
    branch_id = _id(parts[2]) if len(parts) == 4 else None
    if branch_id is None:
        await answer(update, render("button_expired"), alert=True)
        return
    values: dict[str, Any] = {"kind": "theme_party_day"}
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    # The plan is read only for a member of its branch (the form refuses everyone else).
    if await access.authorize(database, user.id, branch_id, Need.READ):
        plan = await meetings.get_plan(database, branch_id, parts[3])
        if plan is not None:
            values.update(title=plan.theme, activity_form=plan.activity_form, plan_id=plan.id)
    await _start(update, context, values, branch_id=branch_id)


async def begin_checkin(update: Update, context: BotContext) -> None:
    """去记录 after a group sign-in card was closed: log:ck:<checkin id>, preset with the card's
    date, kind and attendance (only for a recorder of the card's branch: the form checks)."""
    parts = callback_parts(update)
    checkin_id = _id(parts[2]) if len(parts) == 3 else None
    found = None
    if checkin_id is not None:
        found = await checkins.attendance(app_of(context).database, checkin_id)
    if found is None or checkin_id is None:
        await answer(update, render("button_expired"), alert=True)
        return
    values: dict[str, Any] = {
        "held_on": found["held_on"].isoformat(),
        **{k: found[k] for k in ("expected", "present", "on_leave", "absentees")},
    }
    if found["kind"] in MEETING_KINDS:
        values["kind"] = found["kind"]
    await _start(update, context, values, branch_id=found["branch_id"], checkin_id=checkin_id)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The ways into the logging form."""
    return [
        CommandHandler("log", begin),
        CallbackQueryHandler(begin, pattern=r"^menu:log$"),
        CallbackQueryHandler(begin_kind, pattern=r"^log:new:"),
        CallbackQueryHandler(begin_checkin, pattern=r"^log:ck:"),
        CallbackQueryHandler(begin_edit, pattern=r"^hi:edit:"),
        CallbackQueryHandler(begin_plan, pattern=r"^pd:log:"),
    ]
