"""Logging a meeting from a phone (/log), and editing a saved record through the same steps.

The form engine keeps the draft; its key makes saving idempotent. The draft remembers the branch
it was started for, so switching branches midway cannot misfile the record, and the user's role
is checked again on every update.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot import access, notify
from bot import buttons as bt
from bot import meeting_form as form
from bot.access import Need
from bot.application import BotContext, app_of
from bot.callbacks import on
from bot.forms import Form, Outcome, Refused, Turn
from bot.handlers.common import answer, is_private, local_today, reply_template
from bot.handlers.meeting_steps import LogDraft, meeting_of, profile, steps
from bot.meetings import MEETING_KINDS
from bot.obligations import DEFAULT_FREQUENCY, period_of
from bot.reminders import keys_prefix
from bot.texts import labels, render
from db import checkins, meeting_notices, meetings, outbox, repo, settings
from db.models import Branch, Meeting, Membership

_LOGGER = logging.getLogger(__name__)
NAME = "lg"

# -- the form ----------------------------------------------------------------------------------


async def _load(
    turn: Turn[LogDraft],
) -> tuple[Membership, Branch, Meeting | None, tuple[int, dict[str, Any]] | None]:
    """The user's role, the branch, (when editing) the record, and the meeting notice of the
    draft's kind and day with the attendance its answers give, while they may go on."""
    draft = turn.draft
    found = await turn.authorize(draft.branch_id, Need.RECORD)
    record = None
    if draft.edit_id is not None:
        record = await meetings.get_meeting(turn.database, draft.edit_id)
        if record is None or record.branch_id != draft.branch_id:
            raise Refused("record_gone")
        if not access.may_change_record(found[0], record.created_by):
            raise Refused("no_permission")
    notice = None
    if draft.edit_id is None and draft.kind and draft.held_on:
        notice = await notify_attendance(turn.database, draft.branch_id, draft.kind, draft.held_on)
    return found[0], found[1], record, notice


async def notify_attendance(
    database: Any, branch_id: int, kind: str, held_on: str
) -> tuple[int, dict[str, Any]] | None:
    """The meeting notice of this kind and day, and the attendance its answers give."""
    notice = await meeting_notices.for_meeting(
        database, branch_id, kind, date.fromisoformat(held_on)
    )
    if notice is None:
        return None
    return notice.id, notify.attendance(await meeting_notices.answers(database, notice))


async def _warnings(turn: Turn[LogDraft], meeting: Meeting) -> list[Any]:
    """The rule warnings of the record as it stands (shown on the card, stored as accepted)."""
    same_day: list[date] = []
    if meeting.kind == "member_meeting":
        same_day = await meetings.dates_of_kind(
            turn.database, turn.draft.branch_id, meeting.kind, exclude_id=turn.draft.edit_id
        )
    return form.warnings_for(meeting, profile(turn), same_day)


async def _review(turn: Turn[LogDraft]) -> tuple[str, list[list[tuple[str, str]]]]:
    draft = turn.draft
    meeting = meeting_of(draft)
    warnings = await _warnings(turn, meeting)
    lab = labels()
    edits = [
        (lab.EDIT_PREFIX + lab.STEPS[s.name], f"e:{s.name}")
        for s in steps(draft)
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
    meeting = meeting_of(draft)
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
        fields = {name: getattr(meeting, name) for name in meeting.__struct_fields__}
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
    notice_id = draft.notice_id or (turn.env[3][0] if turn.env[3] else None)
    if notice_id and record is None:
        await meeting_notices.set_meeting(database, notice_id, saved.id)
    await _cancel_reminders(database, draft.branch_id, saved)
    lab = labels()
    rows = [
        [(lab.VIEW_RECORD, bt.RECORD(saved.id)), (lab.EXPORT_WORD, bt.WORD(saved.id))],
        *(
            [[(lab.APPRAISAL_GRADES, bt.AP_CARD(saved.id))]]
            if "member_appraisal" in saved.counts_as
            else []
        ),
        [(lab.LOG_ANOTHER, bt.MENU_LOG()), (lab.MENU, bt.HOME())],
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
    draft=LogDraft,
    steps=steps,
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
    notice_id: int | None = None,
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
    draft = LogDraft(
        branch_id=branch_id, edit_id=edit_id, checkin_id=checkin_id, notice_id=notice_id
    )
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


async def begin_kind(update: Update, context: BotContext, kind: str) -> None:
    """A button that opens logging for one kind (reminders, /status)."""
    await _start(update, context, {"kind": kind})


async def begin_edit(update: Update, context: BotContext, record_id: int) -> None:
    """✏️ on a saved record (from /history): the review card of that record, to change."""
    record = await meetings.get_meeting(app_of(context).database, record_id)
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


async def begin_plan(update: Update, context: BotContext, branch_id: int, month: str) -> None:
    """记录本月主题党日 from /partyday, preset from the month's plan."""
    values: dict[str, Any] = {"kind": "theme_party_day"}
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    # The plan is read only for a member of its branch (the form refuses everyone else).
    if await access.authorize(database, user.id, branch_id, Need.READ):
        plan = await meetings.get_plan(database, branch_id, month)
        if plan is not None:
            values.update(title=plan.theme, activity_form=plan.activity_form, plan_id=plan.id)
    await _start(update, context, values, branch_id=branch_id)


async def begin_checkin(update: Update, context: BotContext, checkin_id: int) -> None:
    """去记录 after a group sign-in card was closed, preset with the card's date, kind and
    attendance (only for a recorder of the card's branch: the form checks)."""
    found = await checkins.attendance(app_of(context).database, checkin_id)
    if found is None:
        await answer(update, render("button_expired"), alert=True)
        return
    values: dict[str, Any] = {
        "held_on": found["held_on"].isoformat(),
        **{k: found[k] for k in ("expected", "present", "on_leave", "absentees")},
    }
    notice_id = None
    if found["kind"] in MEETING_KINDS:
        values["kind"] = found["kind"]
        database = app_of(context).database
        notice = await meeting_notices.for_meeting(
            database, found["branch_id"], found["kind"], found["held_on"]
        )
        if notice is not None:
            # Who asked for leave on the notice is on leave, not absent without a reason.
            answers = await meeting_notices.answers(database, notice)
            values = notify.merge_leaves(values, answers)
            notice_id = notice.id
    await _start(
        update,
        context,
        values,
        branch_id=found["branch_id"],
        checkin_id=checkin_id,
        notice_id=notice_id,
    )


async def begin_notice(update: Update, context: BotContext, notice_id: int) -> None:
    """记录这次会议 on a sent meeting notice: /log preset with its kind, day, time, place,
    agenda and the attendance its answers give (once the day has come; the form checks the
    role)."""
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    notice = await meeting_notices.get(database, notice_id)
    if notice is None or notice.cancelled:
        await answer(update, render("button_expired"), alert=True)
        return
    if await access.authorize(database, user.id, notice.branch_id, Need.RECORD) is None:
        await answer(update, render("no_permission"), alert=True)
        return
    if notice.held_on > local_today(context):
        await answer(update, render("notify_note", what="log_later"), alert=True)
        return
    answers = await meeting_notices.answers(database, notice)
    values: dict[str, Any] = {
        "kind": notice.kind,
        "held_on": notice.held_on.isoformat(),
        "start_time": notice.start_time,
        "place": notice.place,
        "agenda": notice.agenda.split("\n"),
        **notify.attendance(answers),
    }
    await _start(update, context, values, branch_id=notice.branch_id, notice_id=notice.id)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The ways into the logging form."""
    return [
        CommandHandler("log", begin),
        on(bt.MENU_LOG, begin),
        on(bt.LOG_KIND, begin_kind),
        on(bt.LOG_CHECKIN, begin_checkin),
        on(bt.NF_LOG, begin_notice),
        on(bt.EDIT, begin_edit),
        on(bt.LOG_PLAN, begin_plan),
    ]
