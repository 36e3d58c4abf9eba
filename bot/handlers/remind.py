"""/remind: the branch's own reminders (one-off or recurring): listed, created, changed, paused,
deleted.

`/remind 每月最后一天 17:00 收党费` saves at once; ➕ 新建提醒, 🕘 改时间 and ✏️ 改内容 run on
the form engine (the "rmd" form). A new reminder is stored under the key of the form, or of the
/remind message, that made it: handled twice, it is created once. Pausing carries the state it
sets, so a second tap changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import msgspec
from markupsafe import escape
from telegram import Message, Update
from telegram.ext import BaseHandler, CommandHandler

from bot import access
from bot import buttons as bt
from bot import reminder_input as reading
from bot.access import Need
from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.callbacks import on
from bot.forms import Choice, Form, Outcome, Refused, Step, Turn
from bot.handlers.common import (
    allowed,
    answer,
    close_keyboard,
    forbidden,
    in_rows,
    local_today,
    reply,
    reply_template,
)
from bot.handlers.reminder_settings import (
    REMIND_NAME,
    branch_to_show,
    refresh,
    resumed,
)
from bot.recurrence import Rule, next_time
from bot.reminder_input import RuleData
from bot.reminders import rule_of
from bot.texts import labels, render
from db import custom_reminders, settings
from db.models import Branch, CustomReminder, Membership

_LOGGER = logging.getLogger(__name__)
NAME = REMIND_NAME
Rows = list[list[tuple[str, str]]]


def _now(context: BotContext) -> datetime:
    return datetime.now(app_of(context).config.bot.tzinfo)


def _view(reminder: CustomReminder, now: datetime) -> dict[str, Any]:
    """What a reminder's card shows; `next` is always in the future (and after it was set)."""
    rule = rule_of(reminder)
    after = max(now, reminder.since.astimezone(now.tzinfo)) if reminder.since else now
    return {
        "id": reminder.id,
        "rule": rule,
        "text": reminder.text,
        "paused": reminder.paused,
        "next": next_time(rule, after.replace(tzinfo=None)),
    }


# -- the list and a reminder's card -------------------------------------------------------------


async def _list_view(
    context: BotContext, membership: Membership, branch: Branch
) -> tuple[str, Rows]:
    database = app_of(context).database
    found = await custom_reminders.list_for(database, branch.id)
    s = await settings.get_settings(database, branch.id)
    lab = labels()
    rows = in_rows([(str(i), bt.CM_OPEN(branch.id, r.id)) for i, r in enumerate(found, 1)], 5)
    if access.allows(membership.role, Need.RECORD):
        rows.append([(lab.NEW_REMINDER, bt.CM_NEW(branch.id))])
    rows.append([(lab.MENU_REMINDERS, bt.RS_SHOW(branch.id)), (lab.MENU, bt.HOME())])
    text = render(
        "custom_reminders",
        view="list",
        reminders=[_view(r, _now(context)) for r in found],
        branch_name=branch.profile.name,
        group=s.group_chat_id is not None and s.to_group,
    )
    return text, rows


def _card_view(
    membership: Membership, reminder: CustomReminder, now: datetime
) -> tuple[str, Rows]:
    lab = labels()
    b, rid = reminder.branch_id, reminder.id
    rows: Rows = []
    if access.may_change_record(membership, reminder.created_by):
        # Pausing carries the state it sets (1 paused, 0 running), never "the other one".
        label = lab.RESUME if reminder.paused else lab.PAUSE
        pause = (label, bt.CM_PAUSE(b, rid, int(not reminder.paused)))
        rows = [
            [(lab.EDIT_RULE, bt.CM_RULE(b, rid)), (lab.EDIT_TEXT, bt.CM_TEXT(b, rid))],
            [pause, (lab.DELETE, bt.CM_DELETE(b, rid))],
        ]
    rows.append([(lab.BACK_TO_REMINDERS, bt.CM_LIST(b))])
    return render("custom_reminders", view="card", r=_view(reminder, now)), rows


def _saved_view(reminder: CustomReminder, now: datetime) -> tuple[str, Rows]:
    lab = labels()
    b = reminder.branch_id
    rows = [
        [(lab.NEW_REMINDER, bt.CM_NEW(b))],
        [(lab.BACK_TO_REMINDERS, bt.CM_LIST(b)), (lab.MENU, bt.HOME())],
    ]
    return render("custom_reminders", view="saved", r=_view(reminder, now)), rows


async def show_reminders(
    update: Update, context: BotContext, branch_id: int | None = None
) -> None:
    """/remind (optionally with a rule and text), 我的提醒, or back to a branch's list."""
    if await resumed(update, context):
        return
    current = await branch_to_show(update, context, branch_id)
    if current is None:
        return
    if context.args and access.allows(current[0].role, Need.RECORD):
        await _create_from_command(update, context, *current)
        return
    await reply(update, *await _list_view(context, *current))


async def _room(context: BotContext, branch_id: int) -> None:
    limit = custom_reminders.MAX_PER_BRANCH
    if await custom_reminders.count(app_of(context).database, branch_id) >= limit:
        raise InvalidAnswer("too_many_reminders", limit=limit)


async def _create(
    context: BotContext, user_id: int, branch_id: int, rule: Rule, text: str, key: str
) -> CustomReminder:
    """Store a new reminder once per key (a replay finds the first), then decide it."""
    database = app_of(context).database
    found = await custom_reminders.by_key(database, key)
    if found is not None:
        return found
    await _room(context, branch_id)
    reminder = await custom_reminders.create(
        database,
        user_id=user_id,
        reminder=CustomReminder(
            id=0,
            branch_id=branch_id,
            text=text,
            rule=rule.kind,
            at_time=rule.at.strftime("%H:%M"),
            on_date=rule.on_date,
            weekday=rule.weekday,
            day_of_month=rule.day_of_month,
            quarter_month=rule.quarter_month,
            week_of_month=rule.week,
        ),
        draft_key=key,
    )
    await refresh(context, branch_id, f"cr:{reminder.id}:")
    return reminder


def _message_key(message: Message) -> str:
    """The key of a /remind message: the same on a replay, naming no chat (a user who leaves
    is forgotten) and not repeated by a later message that reuses the id (the demo restarts)."""
    seen = f"{message.chat_id}:{message.message_id}:{message.date.timestamp()}"
    return "cmd:" + hashlib.sha256(seen.encode()).hexdigest()[:32]


async def _create_from_command(
    update: Update, context: BotContext, membership: Membership, branch: Branch
) -> None:
    """`/remind <rule> <text>`: saved at once, once per message (a replay saves nothing new)."""
    message = update.message
    assert message is not None
    text = (message.text or "").partition(" ")[2]
    try:
        rule, words = reading.split_rule(text, local_today(context))
    except InvalidAnswer as error:
        rows = [[(labels().NEW_REMINDER, bt.CM_NEW(branch.id))]]
        await reply_template(update, "input_error", rows, error=error)
        return
    try:
        reading.check_rule(rule, _now(context))
        body = reading.read_text(words, custom_reminders.TEXT_LIMIT)
        key = _message_key(message)
        reminder = await _create(context, membership.user_id, branch.id, rule, body, key)
    except InvalidAnswer as error:
        await reply_template(update, "input_error", error=error)
        return
    await reply(update, *_saved_view(reminder, _now(context)))


async def _reminder_of(
    update: Update, context: BotContext, need: str, branch_id: int, reminder_id: int
) -> tuple[Membership, Branch, CustomReminder] | None:
    """The reminder a button names, if the user may `need` ("read" or "change") it."""
    found = await allowed(update, context, branch_id, Need.READ if need == "read" else Need.RECORD)
    if found is None:
        return None
    membership, branch = found
    reminder = await custom_reminders.get(app_of(context).database, reminder_id)
    if reminder is None or reminder.branch_id != branch_id:
        await answer(update, render("button_expired"), alert=True)
        return None
    if need == "change" and not access.may_change_record(membership, reminder.created_by):
        await forbidden(update)
        return None
    return membership, branch, reminder


async def open_reminder(update: Update, context: BotContext, branch_id: int, rid: int) -> None:
    """A reminder's card."""
    found = await _reminder_of(update, context, "read", branch_id, rid)
    if found is not None:
        await answer(update)
        await close_keyboard(update)
        await reply(update, *_card_view(found[0], found[2], _now(context)))


async def pause(update: Update, context: BotContext, branch_id: int, rid: int, on: int) -> None:
    """Pause (1) or run (0) a reminder: the button carries the state it sets."""
    found = await _reminder_of(update, context, "change", branch_id, rid)
    if found is None:
        return
    membership = found[0]
    changed = await custom_reminders.update(
        app_of(context).database, user_id=membership.user_id, reminder_id=rid, paused=bool(on)
    )
    assert changed is not None
    await refresh(context, branch_id, f"cr:{rid}:")
    await answer(update)
    await close_keyboard(update)
    await reply(update, *_card_view(membership, changed, _now(context)))


async def ask_delete(update: Update, context: BotContext, branch_id: int, rid: int) -> None:
    """Ask before deleting a reminder."""
    found = await _reminder_of(update, context, "change", branch_id, rid)
    if found is None:
        return
    await answer(update)
    await close_keyboard(update)
    lab = labels()
    rows = [[(lab.CONFIRM_DELETE, bt.CM_DELETE_SURE(branch_id, rid)),
             (lab.KEEP, bt.CM_OPEN(branch_id, rid))]]  # fmt: skip
    view = _view(found[2], _now(context))
    await reply_template(update, "custom_reminders", rows, view="confirm_delete", r=view)


async def delete(update: Update, context: BotContext, branch_id: int, rid: int) -> None:
    """Delete a reminder (and its unsent messages)."""
    found = await _reminder_of(update, context, "change", branch_id, rid)
    if found is None:
        return
    database = app_of(context).database
    await custom_reminders.delete(database, user_id=found[0].user_id, reminder_id=rid)
    await refresh(context, branch_id, f"cr:{rid}:")
    await answer(update)
    await close_keyboard(update)
    lab = labels()
    rows = [[(lab.BACK_TO_REMINDERS, bt.CM_LIST(branch_id)), (lab.MENU, bt.HOME())]]
    await reply_template(update, "custom_reminders", rows, view="deleted")


# -- typed reminders: the "rmd" form ------------------------------------------------------------


class ReminderDraft(msgspec.Struct):
    """A reminder being written (when, then what), or one of a saved reminder's two parts."""

    branch_id: int
    what: str  # "new": the rule, then the text; "rule" or "text": change a saved reminder's
    reminder_id: int | None = None
    rule: RuleData | None = None
    text: str | None = None


def _set_rule(turn: Turn[ReminderDraft], text: str) -> None:
    rule = reading.read_rule(text, turn.today)
    reading.check_rule(rule, _now(turn.context))
    turn.draft.rule = reading.rule_data(rule)


def _pick_example(turn: Turn[ReminderDraft], code: str) -> None:
    examples = labels().RULE_EXAMPLES
    if not code.isdigit() or int(code) >= len(examples):
        raise InvalidAnswer("choice")
    _set_rule(turn, examples[int(code)])


def _rule_shown(turn: Turn[ReminderDraft]) -> str | None:
    rule = turn.draft.rule
    return (
        render("reminder_ask", what="rule_shown", rule=reading.rule_from(rule)) if rule else None
    )


def _set_text(turn: Turn[ReminderDraft], text: str) -> None:
    turn.draft.text = reading.read_text(text, custom_reminders.TEXT_LIMIT)


_RULE = Step(
    name="rule",
    question=lambda turn: render("reminder_ask", what="rule"),
    answered=lambda d: d.rule is not None,
    read=_set_rule,
    choices=lambda turn: [[Choice(str(i), ex)] for i, ex in enumerate(labels().RULE_EXAMPLES)],
    pick=_pick_example,
    current=_rule_shown,
)
_TEXT = Step(
    name="text",
    question=lambda turn: render("reminder_ask", what="text", limit=custom_reminders.TEXT_LIMIT),
    answered=lambda d: d.text is not None,
    read=_set_text,
    # The typed text is shown back as HTML: escaped here.
    current=lambda turn: str(escape(turn.draft.text)) if turn.draft.text else None,
)
_STEPS: dict[str, list[Step[ReminderDraft]]] = {
    "new": [_RULE, _TEXT],
    "rule": [_RULE],
    "text": [_TEXT],
}


async def _load(turn: Turn[ReminderDraft]) -> tuple[Membership, Branch, CustomReminder | None]:
    """The branch (and the reminder being changed), while the user may still write them."""
    draft = turn.draft
    membership, branch = await turn.authorize(draft.branch_id, Need.RECORD)
    if draft.reminder_id is None:
        return membership, branch, None
    reminder = await custom_reminders.get(turn.database, draft.reminder_id)
    if reminder is None or reminder.branch_id != branch.id:
        raise Refused("record_gone")
    if not access.may_change_record(membership, reminder.created_by):
        raise Refused("no_permission")
    return membership, branch, reminder


async def _save(turn: Turn[ReminderDraft], key: str) -> Outcome:
    membership, branch, reminder = turn.env
    draft = turn.draft
    now = _now(turn.context)
    if reminder is None:
        assert draft.rule is not None and draft.text is not None
        rule = reading.rule_from(draft.rule)
        made = await _create(turn.context, turn.user_id, branch.id, rule, draft.text, key)
        _LOGGER.info("Custom reminder %d of branch %d saved", made.id, branch.id)
        return Outcome(*_saved_view(made, now))
    if draft.what == "rule":
        assert draft.rule is not None
        changes: dict[str, Any] = {
            "rule": draft.rule.kind,
            "at_time": draft.rule.at_time,
            "on_date": reading.rule_from(draft.rule).on_date,
            "weekday": draft.rule.weekday,
            "day_of_month": draft.rule.day_of_month,
            "quarter_month": draft.rule.quarter_month,
            "week_of_month": draft.rule.week,
        }
    else:
        changes = {"text": draft.text}
    changed = await custom_reminders.update(
        turn.database, user_id=turn.user_id, reminder_id=reminder.id, **changes
    )
    if changed is None:
        raise Refused("record_gone")
    await refresh(turn.context, branch.id, f"cr:{reminder.id}:")
    card = _card_view(membership, changed, now)
    return Outcome(render("reminder_settings", view="saved"), more=(card,))


FORM: Form[ReminderDraft] = Form(
    name=NAME,
    draft=ReminderDraft,
    steps=lambda draft: _STEPS[draft.what],
    load=_load,
    save=_save,
)


async def begin_new(update: Update, context: BotContext, branch_id: int) -> None:
    """➕ 新建提醒."""
    if await allowed(update, context, branch_id, Need.RECORD) is None:
        return
    try:
        await _room(context, branch_id)
    except InvalidAnswer as error:
        await answer(update)
        await reply_template(update, "input_error", error=error)
        return
    await app_of(context).forms.start(
        update, context, NAME, ReminderDraft(branch_id=branch_id, what="new")
    )


def _begin_change(what: str) -> Callable[[Update, BotContext, int, int], Awaitable[None]]:
    async def begin_change(update: Update, context: BotContext, branch_id: int, rid: int) -> None:
        """Change a saved reminder's time ("rule") or text."""
        found = await _reminder_of(update, context, "change", branch_id, rid)
        if found is not None:
            draft = ReminderDraft(branch_id=branch_id, what=what, reminder_id=rid)
            await app_of(context).forms.start(update, context, NAME, draft)

    return begin_change


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/remind: the list, a reminder's card and buttons, and the typed reminders."""
    return [
        CommandHandler("remind", show_reminders),
        on(bt.MENU_REMIND, show_reminders),
        on(bt.CM_LIST, show_reminders),
        on(bt.CM_NEW, begin_new),
        on(bt.CM_RULE, _begin_change("rule")),
        on(bt.CM_TEXT, _begin_change("text")),
        on(bt.CM_OPEN, open_reminder),
        on(bt.CM_PAUSE, pause),
        on(bt.CM_DELETE, ask_delete),
        on(bt.CM_DELETE_SURE, delete),
    ]
