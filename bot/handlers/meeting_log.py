"""Logging a meeting from a phone (/log), and editing a saved record through the same steps.

The draft lives in user_data["meeting"] and is persisted with the conversation state after every
update, so a restart continues at the same step. Its key makes saving idempotent; it remembers
the branch it was started for, so switching branches midway cannot misfile the record.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date
from enum import IntEnum
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import meeting_form as form
from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.handlers.common import (
    active_flow,
    answer,
    callback_parts,
    close_keyboard,
    conversation,
    in_rows,
    is_private,
    local_today,
    reply,
    reply_template,
    set_flow,
    user_data,
)
from bot.knowledge import KIND_GUIDES
from bot.meetings import MEETING_KINDS
from bot.obligations import DEFAULT_FREQUENCY, period_of
from bot.reminders import keys_prefix
from bot.texts import labels, render
from db import checkins, meetings, outbox, repo, settings
from db.models import Branch, Meeting, Membership

_LOGGER = logging.getLogger(__name__)
FLOW = "meeting"
DRAFT = "meeting"
QUICK_DAYS = (0, 1, 2)


class State(IntEnum):
    """Where the logging conversation is."""

    ASKING = 1
    REVIEW = 2


def _draft(context: BotContext) -> dict[str, Any]:
    draft = user_data(context).get(DRAFT)
    assert draft is not None, "the logging conversation has no draft"
    return draft


async def _allowed(
    context: BotContext, user_id: int, branch_id: int, meeting: Meeting | None = None
) -> tuple[Membership, Branch] | None:
    """The user's role and the branch, if they may log for it (or edit that record)."""
    database = app_of(context).database
    membership = await repo.get_membership(database, user_id, branch_id)
    branch = await repo.get_branch(database, branch_id)
    if membership is None or branch is None or not membership.can_record:
        return None
    if meeting is not None and not (membership.can_edit or meeting.created_by == user_id):
        return None
    return membership, branch


def _steps(draft: dict[str, Any]) -> tuple[str, ...]:
    values = draft["values"]
    if "kind" not in values:
        return form.COMMON_STEPS
    return form.steps_for(values["kind"], values.get("also_counts_as", []))


def _next_step(draft: dict[str, Any]) -> str | None:
    for step in _steps(draft):
        if not form.is_answered(step, draft["values"]):
            return step
    return None


async def _profile(context: BotContext, draft: dict[str, Any]) -> Any:
    branch = await repo.get_branch(app_of(context).database, draft["branch_id"])
    assert branch is not None
    return branch.profile


def _step_rows(draft: dict[str, Any], profile: Any) -> list[list[tuple[str, str]]]:
    """The answer buttons of the current step."""
    lab = labels()
    step = draft["step"]
    values = draft["values"]
    rows: list[list[tuple[str, str]]] = []
    if step == "kind":
        rows = in_rows([(lab.KINDS[k], f"lg:kind:{k}") for k in MEETING_KINDS], 2)
    elif step == "held_on":
        rows = [[(lab.QUICK_DAYS[d], f"lg:day:{d}") for d in QUICK_DAYS]]
        if values.get("kind") in KIND_GUIDES and not draft.get("edit_id"):
            rows.append([(lab.HOW_TO_RUN, f"kb:{KIND_GUIDES[values['kind']]}")])
    elif step == "activity_form":
        names = lab.ACTIVITY_FORMS
        rows = in_rows([(names[f], f"lg:form:{f}") for f in form.ACTIVITY_FORMS], 3)
    elif step == "attendance":
        expected = form.default_expected(values["kind"], profile)
        if expected:
            rows = [[(lab.ALL_PRESENT.format(n=expected), "lg:all")]]
    elif step == "resolutions":
        rows = [[(lab.NO_RESOLUTIONS, "lg:skip")]]
    elif step == "photos":
        label = lab.PHOTOS_DONE if values.get("photos") else lab.NO_PHOTOS
        rows = [[(label, "lg:done")]]
        if draft.get("edit_id") and values.get("photos"):
            rows.append([(lab.CLEAR_PHOTOS, "lg:clear")])
    hints = draft.get("hints", {}).get(step, [])
    rows += [[(hint[:30], f"lg:hint:{step}:{i}")] for i, hint in enumerate(hints[:4])]
    nav: list[tuple[str, str]] = []
    if draft["to_review"]:
        nav.append((lab.TO_REVIEW, "lg:review"))
    elif _steps(draft).index(step) > 0 and draft.get("preset_kind_step") != step:
        nav.append((lab.BACK, "lg:back"))
    nav.append((lab.CANCEL, "lg:cancel"))
    return [*rows, nav]


async def _ask(update: Update, context: BotContext, error: InvalidAnswer | None = None) -> int:
    """Ask the draft's current step."""
    draft = _draft(context)
    profile = await _profile(context, draft)
    steps = _steps(draft)
    step = draft["step"]
    values = draft["values"]
    kind = values.get("kind")
    text = render(
        "log_ask",
        step=step,
        kind=kind,
        number=None if draft["to_review"] else steps.index(step) + 1,
        total=len(steps),
        m=form.to_meeting(values) if draft["to_review"] else None,
        expected=form.default_expected(kind, profile) if kind else None,
        photo_count=len(values.get("photos", [])),
        error=error,
    )
    await reply(update, text, _step_rows(draft, profile))
    return State.ASKING


async def _review(update: Update, context: BotContext) -> int:
    """The review card: every field, the rule warnings, save / edit / combine buttons."""
    draft = _draft(context)
    missing = _next_step(draft)
    if missing:
        draft["step"], draft["to_review"] = missing, False
        return await _ask(update, context)
    draft["to_review"] = True
    profile = await _profile(context, draft)
    meeting = form.to_meeting(draft["values"])
    warnings = form.warnings_for(meeting, profile, await _same_day(context, draft, meeting))
    draft["warnings"] = [w.code for w in warnings]
    lab = labels()
    edits = [
        (lab.EDIT_PREFIX + lab.STEPS[s], f"lg:edit:{s}") for s in _steps(draft) if s != "kind"
    ]
    rows = [[(lab.SAVE_CHANGES if draft.get("edit_id") else lab.SAVE_RECORD, "lg:save")]]
    rows += in_rows(edits, 3)
    for other in form.combinable(meeting.kind):
        label = lab.UNCOMBINE if other in meeting.also_counts_as else lab.COMBINE
        rows.append([(label.format(kind=lab.KINDS[other]), f"lg:comb:{other}")])
    rows.append([(lab.DISCARD_EDIT if draft.get("edit_id") else lab.DISCARD_RECORD, "lg:cancel")])
    await reply_template(
        update,
        "meeting_card",
        rows,
        m=meeting,
        warnings=warnings,
        review=True,
        editing=bool(draft.get("edit_id")),
    )
    return State.REVIEW


async def _same_day(context: BotContext, draft: dict[str, Any], meeting: Meeting) -> list[date]:
    if meeting.kind != "member_meeting":
        return []
    return await meetings.dates_of_kind(
        app_of(context).database, draft["branch_id"], meeting.kind, exclude_id=draft.get("edit_id")
    )


async def _accept(update: Update, context: BotContext, new_values: dict[str, Any]) -> int:
    """Store a step's answer and move on: the next step, or the review card."""
    draft = _draft(context)
    step = draft["step"]
    values = draft["values"]
    if step == "people":
        # A new answer replaces the old names (the speaker of a combined 党课 is its own step).
        for name in ("host", "recorder", "counterpart"):
            values[name] = ""
        if values.get("kind") == "party_lecture":
            values["speaker"] = ""
    values.update(new_values)
    if step in form.OPTIONAL_STEPS and step not in values.setdefault("_done", []):
        values["_done"].append(step)
    following = _next_step(draft)
    if draft["to_review"] or following is None:
        return await _review(update, context)
    draft["step"] = following
    return await _ask(update, context)


async def _start(
    update: Update,
    context: BotContext,
    *,
    values: dict[str, Any] | None = None,
    edit_id: int | None = None,
    branch_id: int | None = None,
) -> int:
    """Open a draft for the user's current branch (or the record's branch when editing)."""
    await answer(update)
    user = update.effective_user
    assert user is not None
    if not is_private(update):
        await reply_template(update, "private_only")
        return ConversationHandler.END
    if active_flow(context) and active_flow(context) != FLOW:
        await reply_template(update, "finish_flow_first")
        return ConversationHandler.END
    database = app_of(context).database
    if branch_id is None:
        current = await repo.current_membership(database, user.id)
        if current is None:
            await reply_template(update, "not_registered")
            return ConversationHandler.END
        branch_id = current[1].id
    record = await meetings.get_meeting(database, edit_id) if edit_id else None
    if await _allowed(context, user.id, branch_id, record) is None:
        await reply_template(update, "no_permission")
        return ConversationHandler.END
    await close_keyboard(update)
    values = dict(values or {})
    draft: dict[str, Any] = {
        "key": uuid.uuid4().hex,
        "branch_id": branch_id,
        "edit_id": edit_id,
        "values": values,
        "to_review": False,
        "step": "kind",
        "hints": await _hints(context, branch_id, values),
    }
    user_data(context)[DRAFT] = draft
    set_flow(context, FLOW)
    if edit_id:
        return await _review(update, context)
    draft["step"] = _next_step(draft) or "kind"
    if "kind" in values:
        # Opened for one kind (a reminder's button, the 主题党日 plan): no going back past it.
        draft["preset_kind_step"] = draft["step"]
        await reply_template(update, "log_start", kind=values["kind"])
    return await _ask(update, context)


async def _hints(context: BotContext, branch_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Quick answers from the last record: the same place, the same host and recorder."""
    last = await meetings.last_meeting(app_of(context).database, branch_id)
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


async def begin(update: Update, context: BotContext) -> int:
    """/log or 记录会议 in the menu: choose the kind first."""
    return await _start(update, context)


async def begin_kind(update: Update, context: BotContext) -> int:
    """A button that opens logging for one kind (reminders, /status): `log:new:<kind>`."""
    parts = callback_parts(update)
    if len(parts) != 3 or parts[2] not in MEETING_KINDS:
        await answer(update, render("button_expired"), alert=True)
        return ConversationHandler.END
    return await _start(update, context, values={"kind": parts[2]})


async def begin_edit(update: Update, context: BotContext) -> int:
    """✏️ on a saved record (from /history): the review card of that record, to change."""
    parts = callback_parts(update)
    record = None
    if len(parts) == 3 and parts[2].isdigit():
        record = await meetings.get_meeting(app_of(context).database, int(parts[2]))
    if record is None or record.id is None or record.branch_id is None:
        await answer(update, render("record_gone"), alert=True)
        return ConversationHandler.END
    return await _start(
        update,
        context,
        values=form.from_meeting(record),
        edit_id=record.id,
        branch_id=record.branch_id,
    )


async def begin_plan(update: Update, context: BotContext) -> int:
    """记录本月主题党日 from /partyday: pd:log:<branch>:<YYYY-MM>, preset from the plan."""
    parts = callback_parts(update)
    if len(parts) != 4 or not parts[2].isdigit():
        await answer(update, render("button_expired"), alert=True)
        return ConversationHandler.END
    branch_id = int(parts[2])
    values: dict[str, Any] = {"kind": "theme_party_day"}
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    # The plan is read only for a member of its branch (_start refuses everyone else).
    if await repo.get_membership(database, user.id, branch_id):
        plan = await meetings.get_plan(database, branch_id, parts[3])
        if plan is not None:
            values.update(title=plan.theme, activity_form=plan.activity_form, plan_id=plan.id)
    return await _start(update, context, values=values, branch_id=branch_id)


async def begin_checkin(update: Update, context: BotContext) -> int:
    """去记录 after a group sign-in card was closed: log:ck:<checkin id>, preset with the card's
    date, kind and attendance (only for a recorder of the card's branch: _start checks)."""
    parts = callback_parts(update)
    found = None
    if len(parts) == 3 and parts[2].isdigit():
        found = await checkins.attendance(app_of(context).database, int(parts[2]))
    if found is None:
        await answer(update, render("button_expired"), alert=True)
        return ConversationHandler.END
    values: dict[str, Any] = {
        "held_on": found["held_on"].isoformat(),
        **{k: found[k] for k in ("expected", "present", "on_leave", "absentees")},
    }
    if found["kind"] in MEETING_KINDS:
        values["kind"] = found["kind"]
    result = await _start(update, context, values=values, branch_id=found["branch_id"])
    draft = user_data(context).get(DRAFT)
    if draft is not None and draft.get("branch_id") == found["branch_id"]:
        draft["checkin_id"] = int(parts[2])
    return result


async def typed(update: Update, context: BotContext) -> int:
    """A typed answer to the current step."""
    draft = _draft(context)
    assert update.message is not None
    text = update.message.text or ""
    step = draft["step"]
    values = draft["values"]
    if step in {"kind", "activity_form", "photos"}:
        error = InvalidAnswer("need_photo" if step == "photos" else "choice")
        return await _ask(update, context, error)
    profile = await _profile(context, draft)
    kind = values.get("kind", "")
    try:
        new_values = form.read_step(
            step,
            kind,
            text,
            today=local_today(context),
            default_expected=form.default_expected(kind, profile),
        )
    except InvalidAnswer as error:
        return await _ask(update, context, error)
    return await _accept(update, context, new_values)


def _valid_tap(draft: dict[str, Any], parts: list[str]) -> bool:
    """Whether a tapped answer belongs to the step being asked (else it is an old button)."""
    step = draft["step"]
    action = parts[1] if len(parts) > 1 else ""
    expected = {
        "kind": "kind",
        "day": "held_on",
        "form": "activity_form",
        "all": "attendance",
        "skip": "resolutions",
        "done": "photos",
        "clear": "photos",
    }
    if action == "hint":
        return len(parts) == 4 and parts[2] == step
    return expected.get(action) == step


async def tapped(update: Update, context: BotContext) -> int:
    """A tapped answer; buttons left over from an earlier step are refused."""
    draft = _draft(context)
    parts = callback_parts(update)
    if not _valid_tap(draft, parts):
        await answer(update, render("button_expired"), alert=True)
        return State.ASKING
    values = draft["values"]
    action = parts[1]
    new_values: dict[str, Any] = {}
    try:
        if action == "kind":
            if len(parts) != 3 or parts[2] not in MEETING_KINDS:
                raise InvalidAnswer("choice")
            values.clear()
            new_values = {"kind": parts[2]}
        elif action == "day":
            if len(parts) != 3 or not parts[2].isdigit() or int(parts[2]) not in QUICK_DAYS:
                raise InvalidAnswer("choice")
            day = date.fromordinal(local_today(context).toordinal() - int(parts[2]))
            new_values = {"held_on": day.isoformat()}
        elif action == "form":
            if len(parts) != 3 or parts[2] not in form.ACTIVITY_FORMS:
                raise InvalidAnswer("choice")
            new_values = {"activity_form": parts[2]}
        elif action == "all":
            profile = await _profile(context, draft)
            expected = form.default_expected(values["kind"], profile)
            if not expected:
                raise InvalidAnswer("choice")
            new_values = form.full_attendance(expected)
        elif action == "skip":
            new_values = {"resolutions": ""}
        elif action == "done":
            new_values = {}
        elif action == "clear":
            values["photos"] = []
            await answer(update)
            await close_keyboard(update)
            return await _ask(update, context)
        elif action == "hint":
            hints = draft.get("hints", {}).get(parts[2], [])
            if not parts[3].isdigit() or int(parts[3]) >= len(hints):
                raise InvalidAnswer("choice")
            profile = await _profile(context, draft)
            kind = values.get("kind", "")
            new_values = form.read_step(
                parts[2],
                kind,
                hints[int(parts[3])],
                today=local_today(context),
                default_expected=form.default_expected(kind, profile),
            )
    except InvalidAnswer:
        await answer(update, render("button_expired"), alert=True)
        return State.ASKING
    await answer(update)
    await close_keyboard(update)
    return await _accept(update, context, new_values)


async def photo(update: Update, context: BotContext) -> int:
    """A photo (or an image sent as a file) while the photos step is asked."""
    draft = _draft(context)
    message = update.message
    assert message is not None
    if draft["step"] != "photos":
        await reply_template(update, "log_photo_not_now")
        return await _ask(update, context)
    if message.photo:
        biggest = message.photo[-1]
        file_id, unique = biggest.file_id, biggest.file_unique_id
    else:
        assert message.document is not None
        file_id, unique = message.document.file_id, message.document.file_unique_id
    added = form.add_photo(draft["values"], file_id, unique)
    count = len(draft["values"].get("photos", []))
    lab = labels()
    rows = [[(lab.PHOTOS_DONE, "lg:done")]]
    await reply_template(update, "log_photo_added", rows, count=count, full=not added)
    return State.ASKING


async def back(update: Update, context: BotContext) -> int:
    """Back to the previous step."""
    await answer(update)
    await close_keyboard(update)
    draft = _draft(context)
    steps = _steps(draft)
    index = steps.index(draft["step"])
    if index > 0 and draft.get("preset_kind_step") != draft["step"]:
        draft["step"] = steps[index - 1]
        done = draft["values"].get("_done", [])
        if draft["step"] in done:
            done.remove(draft["step"])
    return await _ask(update, context)


async def to_review(update: Update, context: BotContext) -> int:
    """Leave a step unchanged and return to the review card."""
    await answer(update)
    await close_keyboard(update)
    return await _review(update, context)


async def edit(update: Update, context: BotContext) -> int:
    """Change one step from the review card."""
    draft = _draft(context)
    parts = callback_parts(update)
    if len(parts) != 3 or parts[2] not in _steps(draft) or parts[2] == "kind":
        await answer(update, render("button_expired"), alert=True)
        return State.REVIEW
    await answer(update)
    await close_keyboard(update)
    draft["step"] = parts[2]
    draft["to_review"] = True
    return await _ask(update, context)


async def combine(update: Update, context: BotContext) -> int:
    """Count the sitting also as another obligation (党员大会 + 党课), or stop counting it."""
    draft = _draft(context)
    parts = callback_parts(update)
    try:
        if len(parts) != 3:
            raise InvalidAnswer("choice")
        form.toggle_combined(draft["values"], parts[2])
    except InvalidAnswer:
        await answer(update, render("button_expired"), alert=True)
        return State.REVIEW
    await answer(update)
    await close_keyboard(update)
    return await _review(update, context)


async def review_typed(update: Update, context: BotContext) -> int:
    """Text or a photo while the review card waits for a tap."""
    await reply(update, render("input_error", error=InvalidAnswer("need_button")))
    return await _review(update, context)


async def save(update: Update, context: BotContext) -> int:
    """Save the record (or the changes); a second tap cannot save it twice."""
    draft = _draft(context)
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    edit_id = draft.get("edit_id")
    record = await meetings.get_meeting(database, edit_id) if edit_id else None
    if edit_id and record is None:
        await answer(update, render("record_gone"), alert=True)
        return await _drop(update, context)
    if await _allowed(context, user.id, draft["branch_id"], record) is None:
        await answer(update, render("no_permission"), alert=True)
        return await _drop(update, context)
    meeting = form.to_meeting(draft["values"])
    if _next_step(draft):
        return await _review(update, context)
    if record is not None and record.id is not None:
        changes = {
            name: getattr(meeting, name)
            for name in meetings.EDITABLE_FIELDS
            if getattr(meeting, name) != getattr(record, name)
        }
        saved = await meetings.update_meeting(
            database, user_id=user.id, meeting_id=record.id, changes=changes
        )
        created = bool(changes)
        template = "log_updated" if changes else "log_unchanged"
    else:
        accepted = tuple(draft.get("warnings", []))
        saved, created = await meetings.create_meeting(
            database,
            user_id=user.id,
            branch_id=draft["branch_id"],
            meeting=Meeting(**{**_fields(meeting), "accepted_warnings": accepted}),
            draft_key=draft["key"],
        )
        template = "log_saved" if created else "log_already_saved"
    assert saved is not None and saved.id is not None
    _LOGGER.info("Meeting %s saved for branch %s (new=%s)", saved.id, saved.branch_id, created)
    if draft.get("checkin_id"):
        await checkins.set_meeting(database, draft["checkin_id"], saved.id)
    await _cancel_reminders(context, draft["branch_id"], saved)
    await answer(update)
    await close_keyboard(update)
    lab = labels()
    rows = [
        [(lab.VIEW_RECORD, f"hi:o:{saved.id}"), (lab.EXPORT_WORD, f"hi:w:{saved.id}")],
        [(lab.LOG_ANOTHER, "menu:log"), (lab.MENU, "menu:home")],
    ]
    await reply_template(update, template, rows, m=saved)
    # The draft is dropped only once the user has seen the result (see registration.save).
    user_data(context).pop(DRAFT, None)
    set_flow(context, None)
    return ConversationHandler.END


async def _cancel_reminders(context: BotContext, branch_id: int, meeting: Meeting) -> None:
    """A reminder already queued for what was just logged is not sent."""
    database = app_of(context).database
    branch_settings = await settings.get_settings(database, branch_id)
    frequencies = {**DEFAULT_FREQUENCY, **branch_settings.frequencies}
    for code in meeting.counts_as:
        frequency = frequencies.get(code, "off")
        if frequency != "off":
            start = period_of(frequency, meeting.held_on).start
            await outbox.cancel(database, keys_prefix(branch_id, code, start))


def _fields(meeting: Meeting) -> dict[str, Any]:
    return {name: getattr(meeting, name) for name in meeting.__dataclass_fields__}


async def _drop(update: Update, context: BotContext) -> int:
    await close_keyboard(update)
    user_data(context).pop(DRAFT, None)
    set_flow(context, None)
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    """Leave logging; nothing of the draft is kept (a saved record is not touched)."""
    await answer(update)
    await _drop(update, context)
    await reply_template(update, "cancelled")
    return ConversationHandler.END


async def resume(update: Update, context: BotContext) -> None:
    """/log again while logging: continue where the user left off."""
    await answer(update)
    await reply_template(update, "log_resume")
    draft = _draft(context)
    if draft["to_review"] and not _next_step(draft):
        await _review(update, context)
    else:
        await _ask(update, context)


async def busy(update: Update, context: BotContext) -> None:
    """Opening another record to edit while one is being logged."""
    await answer(update, render("finish_flow_first"), alert=True)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The logging conversation."""
    text = filters.TEXT & ~filters.COMMAND
    pictures = filters.PHOTO | filters.Document.IMAGE
    return [
        conversation(
            name="meeting_log",
            entry_points=[
                CommandHandler("log", begin),
                CallbackQueryHandler(begin, pattern=r"^menu:log$"),
                CallbackQueryHandler(begin_kind, pattern=r"^log:new:"),
                CallbackQueryHandler(begin_checkin, pattern=r"^log:ck:"),
                CallbackQueryHandler(begin_edit, pattern=r"^hi:edit:"),
                CallbackQueryHandler(begin_plan, pattern=r"^pd:log:"),
            ],
            states={
                State.ASKING: [
                    MessageHandler(text, typed),
                    MessageHandler(pictures, photo),
                    CallbackQueryHandler(back, pattern=r"^lg:back$"),
                    CallbackQueryHandler(to_review, pattern=r"^lg:review$"),
                    CallbackQueryHandler(cancel, pattern=r"^lg:cancel$"),
                    CallbackQueryHandler(
                        tapped, pattern=r"^lg:(kind|day|form|all|skip|done|clear|hint)(:|$)"
                    ),
                ],
                State.REVIEW: [
                    CallbackQueryHandler(save, pattern=r"^lg:save$"),
                    CallbackQueryHandler(edit, pattern=r"^lg:edit:"),
                    CallbackQueryHandler(combine, pattern=r"^lg:comb:"),
                    CallbackQueryHandler(cancel, pattern=r"^lg:cancel$"),
                    MessageHandler(text | pictures, review_typed),
                ],
            },
            fallbacks=[
                CommandHandler("cancel", cancel),
                CommandHandler("log", resume),
                CallbackQueryHandler(
                    resume, pattern=r"^(menu:log|log:new:.*|log:ck:.*|pd:log:.*)$"
                ),
                CallbackQueryHandler(busy, pattern=r"^hi:edit:"),
            ],
        )
    ]
