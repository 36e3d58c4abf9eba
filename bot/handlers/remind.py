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
from datetime import datetime
from typing import Any

import msgspec
from markupsafe import escape
from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import access
from bot import reminder_input as reading
from bot.access import Need
from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.forms import Choice, Form, Outcome, Refused, Step, Turn
from bot.handlers.common import (
    allowed,
    answer,
    callback_parts,
    close_keyboard,
    forbidden,
    in_rows,
    local_today,
    reply,
    reply_template,
)
from bot.handlers.reminder_settings import (
    REMIND_NAME,
    branch_of,
    current_branch,
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
    rows = in_rows([(str(i), f"cm:o:{branch.id}:{r.id}") for i, r in enumerate(found, 1)], 5)
    if access.allows(membership.role, Need.RECORD):
        rows.append([(lab.NEW_REMINDER, f"cm:new:{branch.id}")])
    rows.append([(lab.MENU_REMINDERS, f"rs:show:{branch.id}"), (lab.MENU, "menu:home")])
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
        pause = (label, f"cm:p:{b}:{rid}:{int(not reminder.paused)}")
        rows = [
            [(lab.EDIT_RULE, f"cm:er:{b}:{rid}"), (lab.EDIT_TEXT, f"cm:et:{b}:{rid}")],
            [pause, (lab.DELETE, f"cm:d:{b}:{rid}")],
        ]
    rows.append([(lab.BACK_TO_REMINDERS, f"cm:l:{b}")])
    return render("custom_reminders", view="card", r=_view(reminder, now)), rows


def _saved_view(reminder: CustomReminder, now: datetime) -> tuple[str, Rows]:
    lab = labels()
    b = reminder.branch_id
    rows = [
        [(lab.NEW_REMINDER, f"cm:new:{b}")],
        [(lab.BACK_TO_REMINDERS, f"cm:l:{b}"), (lab.MENU, "menu:home")],
    ]
    return render("custom_reminders", view="saved", r=_view(reminder, now)), rows


async def show_reminders(update: Update, context: BotContext) -> None:
    """/remind (optionally with a rule and text), 我的提醒, or cm:l:<branch>."""
    if await resumed(update, context):
        return
    branch_id = branch_of(update)
    if branch_id is None:
        current = await current_branch(update, context)
    else:
        current = await allowed(update, context, branch_id, Need.READ)
        if current is not None:
            await answer(update)
    if current is None:
        return
    await close_keyboard(update)
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
        rows = [[(labels().NEW_REMINDER, f"cm:new:{branch.id}")]]
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
    update: Update, context: BotContext, need: str, size: int = 4
) -> tuple[Membership, Branch, CustomReminder] | None:
    """The reminder a cm:<action>:<branch>:<id> button names, if the user may `need` it."""
    parts = callback_parts(update)
    branch_id = branch_of(update)
    if branch_id is None or len(parts) != size or not parts[3].isdigit() or len(parts[3]) > 15:
        await answer(update, render("button_expired"), alert=True)
        return None
    found = await allowed(update, context, branch_id, Need.READ if need == "read" else Need.RECORD)
    if found is None:
        return None
    membership, branch = found
    reminder = await custom_reminders.get(app_of(context).database, int(parts[3]))
    if reminder is None or reminder.branch_id != branch_id:
        await answer(update, render("button_expired"), alert=True)
        return None
    if need == "change" and not access.may_change_record(membership, reminder.created_by):
        await forbidden(update)
        return None
    return membership, branch, reminder


async def reminder_tapped(update: Update, context: BotContext) -> None:
    """cm:o (open), cm:p:…:<1|0> (pause or run), cm:d (ask to delete), cm:dd (delete)."""
    parts = callback_parts(update)
    action = parts[1]
    if action == "p" and parts[-1] not in ("0", "1"):
        await answer(update, render("button_expired"), alert=True)
        return
    found = await _reminder_of(
        update, context, "read" if action == "o" else "change", 5 if action == "p" else 4
    )
    if found is None:
        return
    membership, branch, reminder = found
    database = app_of(context).database
    lab = labels()
    b, rid = branch.id, reminder.id
    now = _now(context)
    if action == "p":
        changed = await custom_reminders.update(
            database, user_id=membership.user_id, reminder_id=rid, paused=parts[4] == "1"
        )
        assert changed is not None
        reminder = changed
        await refresh(context, b, f"cr:{rid}:")
    await answer(update)
    await close_keyboard(update)
    if action == "d":
        rows = [[(lab.CONFIRM_DELETE, f"cm:dd:{b}:{rid}"), (lab.KEEP, f"cm:o:{b}:{rid}")]]
        view = _view(reminder, now)
        await reply_template(update, "custom_reminders", rows, view="confirm_delete", r=view)
    elif action == "dd":
        await custom_reminders.delete(database, user_id=membership.user_id, reminder_id=rid)
        await refresh(context, b, f"cr:{rid}:")
        rows = [[(lab.BACK_TO_REMINDERS, f"cm:l:{b}"), (lab.MENU, "menu:home")]]
        await reply_template(update, "custom_reminders", rows, view="deleted")
    else:
        await reply(update, *_card_view(membership, reminder, now))


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


async def begin(update: Update, context: BotContext) -> None:
    """cm:new:<branch> (a new reminder), cm:er|et:<branch>:<id> (change its time or text)."""
    parts = callback_parts(update)
    branch_id = branch_of(update)
    if parts[1] == "new":
        if branch_id is None or len(parts) != 3:
            await answer(update, render("button_expired"), alert=True)
            return
        if await allowed(update, context, branch_id, Need.RECORD) is None:
            return
        try:
            await _room(context, branch_id)
        except InvalidAnswer as error:
            await answer(update)
            await reply_template(update, "input_error", error=error)
            return
        draft = ReminderDraft(branch_id=branch_id, what="new")
    else:
        found = await _reminder_of(update, context, "change")
        if found is None:
            return
        what = "rule" if parts[1] == "er" else "text"
        draft = ReminderDraft(branch_id=found[1].id, what=what, reminder_id=found[2].id)
    await app_of(context).forms.start(update, context, NAME, draft)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/remind: the list, a reminder's card and buttons, and the typed reminders."""
    return [
        CommandHandler("remind", show_reminders),
        CallbackQueryHandler(show_reminders, pattern=r"^(menu:remind|cm:l:\d+)$"),
        CallbackQueryHandler(begin, pattern=r"^cm:(new|er|et):"),
        CallbackQueryHandler(reminder_tapped, pattern=r"^cm:(o|p|d|dd):"),
    ]
