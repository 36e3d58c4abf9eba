"""/reminders: when and where a branch is reminded, which obligations and how often, 换届 dates.
/remind: the branch's own reminders (one-off or recurring): listed, changed, paused, deleted.

Buttons carry the branch id and are checked against the user's role on every tap. Typed answers
(a time, lead days, an election date, a rule, a text) go through one small conversation. After
every change the branch's unsent reminders are dropped and decided again, so a new time or a
muted obligation takes effect today; reminders already sent are never sent again.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, time
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

from bot import jobs
from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.dates import EARLIEST_YEAR, DateError, parse_date
from bot.handlers.common import (
    active_flow,
    answer,
    callback_parts,
    close_keyboard,
    conversation,
    forbidden,
    in_rows,
    is_private,
    local_today,
    reply,
    reply_template,
    set_flow,
    user_data,
)
from bot.obligations import (
    DEFAULT_FREQUENCY,
    FREQUENCIES,
    ROSTER_DUTIES,
    ROSTER_FREQUENCIES,
    TRACKABLE,
    applies,
    term_end,
)
from bot.recurrence import Rule, RuleError, next_time, parse_rule, parse_time
from bot.reminders import rule_of
from bot.textnorm import clean_line, to_halfwidth
from bot.texts import labels, render
from bot.workdays import in_quiet_hours
from db import custom_reminders, outbox, repo, settings
from db.models import Branch, CustomReminder, Membership

_LOGGER = logging.getLogger(__name__)
FLOW = "reminder_input"
DRAFT = "reminder_input"
MAX_LEAD = 30
MAX_LEADS = 3
TERM_CHOICES = (3, 5)


class State(IntEnum):
    """Waiting for a typed answer."""

    ASKING = 1


# -- shared --------------------------------------------------------------------------------------


async def _allowed(
    update: Update, context: BotContext, branch_id: int, need: str = "read"
) -> tuple[Membership, Branch] | None:
    """The user's membership and the branch if they may do this (need: read/record/edit)."""
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    membership = await repo.get_membership(database, user.id, branch_id)
    branch = await repo.get_branch(database, branch_id)
    if (
        membership is None
        or branch is None
        or (need == "edit" and not membership.can_edit)
        or (need == "record" and not membership.can_record)
    ):
        await forbidden(update)
        return None
    return membership, branch


def _branch_of(update: Update) -> int | None:
    parts = callback_parts(update)
    if len(parts) >= 3 and parts[2].isdigit():
        return int(parts[2])
    return None


async def _current(update: Update, context: BotContext) -> tuple[Membership, Branch] | None:
    """The current branch for a command or menu tap (private chats only)."""
    await answer(update)
    user = update.effective_user
    assert user is not None
    if not is_private(update):
        await reply_template(update, "private_only")
        return None
    current = await repo.current_membership(app_of(context).database, user.id)
    if current is None:
        await reply_template(update, "not_registered")
    return current


async def refresh(context: BotContext, branch_id: int, key_prefix: str) -> None:
    """Decide the branch's reminders again after a change (unsent ones under the prefix)."""
    application = app_of(context)
    dropped = await outbox.drop_pending(application.database, key_prefix)
    if application.config.bot.reminders:
        await jobs.run_sweep(application, [branch_id])
    _LOGGER.info("Reminders of branch %d decided again (%d unsent dropped)", branch_id, dropped)


def _draft(context: BotContext) -> dict[str, Any]:
    draft = user_data(context).get(DRAFT)
    assert draft is not None, "the reminder conversation has no draft"
    return draft


# -- /reminders ----------------------------------------------------------------------------------


def _items(branch: Branch, s: settings.BranchSettings) -> list[dict[str, Any]]:
    lab = labels()
    items = []
    for code, default in TRACKABLE.items():
        frequency = s.frequencies.get(code, default)
        if code in DEFAULT_FREQUENCY and not applies(code, branch.profile) and frequency != "off":
            frequency_name = "本支部不适用"
        else:
            frequency_name = lab.FREQUENCY_NAMES[frequency]
        items.append(
            {
                "code": code,
                "name": lab.OBLIGATIONS[code],
                "frequency": frequency,
                "frequency_name": frequency_name,
                "default_name": lab.FREQUENCY_NAMES[default],
                "source": lab.OBLIGATION_SOURCES.get(code) or lab.ROSTER_DUTY_SOURCES[code],
                "muted": code in s.muted,
                "changed": frequency != default or code in s.muted,
            }
        )
    return items


async def _settings_card(
    update: Update, context: BotContext, membership: Membership, branch: Branch
) -> None:
    s = await settings.get_settings(app_of(context).database, branch.id)
    lab = labels()
    b = branch.id
    rows: list[list[tuple[str, str]]] = []
    if membership.can_edit:
        rows = [
            [(lab.SET_TIME, f"rs:time:{b}"), (lab.SET_LEAD, f"rs:lead:{b}")],
            [((lab.ON if s.to_private else lab.OFF) + lab.TO_PRIVATE, f"rs:priv:{b}")],
        ]
        if s.group_chat_id is not None:
            rows.append([((lab.ON if s.to_group else lab.OFF) + lab.TO_GROUP, f"rs:grp:{b}")])
        rows.append([(lab.SET_OBLIGATIONS, f"rs:obl:{b}"), (lab.SET_TERM, f"rs:term:{b}")])
        rows.append([(lab.MY_REMINDERS, "menu:remind")])
    rows.append([(lab.MENU, "menu:home")])
    await reply_template(
        update,
        "reminder_settings",
        rows,
        view="main",
        s=s,
        items=_items(branch, s),
        branch_name=branch.profile.name,
        can_edit=membership.can_edit,
        term_end=term_end(s.elected_on, s.term_years) if s.elected_on else None,
    )


async def show_settings(update: Update, context: BotContext) -> None:
    """/reminders, 提醒设置 in the menu, or rs:show:<branch>."""
    branch_id = _branch_of(update)
    if branch_id is None:
        current = await _current(update, context)
    else:
        current = await _allowed(update, context, branch_id)
        if current is not None:
            await answer(update)
    if current is None:
        return
    await close_keyboard(update)
    await _settings_card(update, context, *current)


async def settings_tapped(update: Update, context: BotContext) -> None:
    """rs:<action>:<branch>[:<arg>] buttons that change a setting at once."""
    parts = callback_parts(update)
    branch_id = _branch_of(update)
    if branch_id is None or len(parts) < 3:
        await answer(update, render("button_expired"), alert=True)
        return
    current = await _allowed(update, context, branch_id, "edit")
    if current is None:
        return
    membership, branch = current
    database = app_of(context).database
    user_id = membership.user_id
    s = await settings.get_settings(database, branch_id)
    action, args = parts[1], parts[3:]
    lab = labels()
    changes: dict[str, Any] | None = None
    if action == "priv" and not args:
        changes = {"to_private": not s.to_private}
    elif action == "grp" and not args:
        changes = {"to_group": not s.to_group}
    elif action == "ob" and len(args) == 1 and args[0] in TRACKABLE:
        await answer(update)
        await close_keyboard(update)
        item = next(i for i in _items(branch, s) if i["code"] == args[0])
        code = args[0]
        choices = [
            ((lab.CURRENT_MARK if f == item["frequency"] else "") + lab.FREQUENCY_NAMES[f],
             f"rs:of:{branch_id}:{code}:{f}")
            for f in (ROSTER_FREQUENCIES if code in ROSTER_DUTIES else FREQUENCIES)
        ]  # fmt: skip
        rows = in_rows(choices, 2)
        rows.append([(lab.UNMUTE if item["muted"] else lab.MUTE, f"rs:om:{branch_id}:{code}")])
        rows.append([(lab.BACK_TO_SETTINGS, f"rs:obl:{branch_id}")])
        await reply_template(update, "reminder_settings", rows, view="obligation", item=item)
        return
    elif action == "of" and len(args) == 2 and args[0] in TRACKABLE:
        code, frequency = args
        allowed = ROSTER_FREQUENCIES if code in ROSTER_DUTIES else FREQUENCIES
        if frequency not in allowed:
            await answer(update, render("button_expired"), alert=True)
            return
        chosen = {**s.frequencies, code: frequency}
        if frequency == TRACKABLE[code]:
            chosen.pop(code)
        changes = {"frequencies": chosen}
    elif action == "om" and len(args) == 1 and args[0] in TRACKABLE:
        muted = set(s.muted) ^ {args[0]}
        changes = {"muted": tuple(sorted(muted))}
    elif action == "ty" and len(args) == 1 and args[0].isdigit() and s.elected_on:
        changes = {"term_years": int(args[0])} if 1 <= int(args[0]) <= 5 else None
    elif action == "clr" and not args:
        changes = {"elected_on": None, "elected_month_only": False}
    elif action == "obl" and not args:
        await answer(update)
        await close_keyboard(update)
        rows = [
            [(lab.OBLIGATION_BUTTON.format(
                mark=lab.CHANGED_MARK if i["changed"] else "", name=i["name"],
                frequency=i["frequency_name"], muted=lab.MUTED_MARK if i["muted"] else ""),
              f"rs:ob:{branch_id}:{i['code']}")]
            for i in _items(branch, s)
        ]  # fmt: skip
        rows.append([(lab.BACK_TO_SETTINGS, f"rs:show:{branch_id}")])
        await reply_template(
            update, "reminder_settings", rows, view="obligations", branch_name=branch.profile.name
        )
        return
    if changes is None:
        await answer(update, render("button_expired"), alert=True)
        return
    await settings.update_settings(database, user_id=user_id, branch_id=branch_id, **changes)
    await answer(update, render("reminder_settings", view="saved").strip())
    await close_keyboard(update)
    await refresh(context, branch_id, f"ob:{branch_id}:")
    await _settings_card(update, context, membership, branch)


# -- /remind -------------------------------------------------------------------------------------


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


def _now(context: BotContext) -> datetime:
    return datetime.now(app_of(context).config.bot.tzinfo)


async def _reminder_list(
    update: Update, context: BotContext, membership: Membership, branch: Branch
) -> None:
    database = app_of(context).database
    found = await custom_reminders.list_for(database, branch.id)
    s = await settings.get_settings(database, branch.id)
    lab = labels()
    rows = in_rows([(str(i), f"cm:o:{branch.id}:{r.id}") for i, r in enumerate(found, 1)], 5)
    if membership.can_record:
        rows.append([(lab.NEW_REMINDER, f"cm:new:{branch.id}")])
    rows.append([(lab.MENU_REMINDERS, f"rs:show:{branch.id}"), (lab.MENU, "menu:home")])
    await reply_template(
        update,
        "custom_reminders",
        rows,
        view="list",
        reminders=[_view(r, _now(context)) for r in found],
        branch_name=branch.profile.name,
        group=s.group_chat_id is not None and s.to_group,
    )


async def show_reminders(update: Update, context: BotContext) -> None:
    """/remind (optionally with a rule and text), 我的提醒, or cm:l:<branch>."""
    branch_id = _branch_of(update)
    if branch_id is None:
        current = await _current(update, context)
    else:
        current = await _allowed(update, context, branch_id)
        if current is not None:
            await answer(update)
    if current is None:
        return
    await close_keyboard(update)
    if context.args and current[0].can_record:
        await _create_from_command(update, context, *current)
        return
    await _reminder_list(update, context, *current)


def split_rule(text: str, today: date) -> tuple[Rule, str]:
    """`/remind 每周五 9:00 收党费`: the longest leading words read as a rule, and the rest.

    Raises InvalidAnswer with the most telling reason (2月30日 does not exist, not "没看懂").
    """
    words = clean_line(to_halfwidth(text)).split(" ")
    errors: list[InvalidAnswer] = []
    for cut in range(len(words) - 1, 0, -1):
        try:
            return _read_rule(" ".join(words[:cut]), today), " ".join(words[cut:])
        except InvalidAnswer as error:
            errors.append(error)
    raise next((e for e in errors if e.code != "rule_unknown"), InvalidAnswer("rule_unknown"))


async def _create_from_command(
    update: Update, context: BotContext, membership: Membership, branch: Branch
) -> None:
    assert update.message is not None
    today = local_today(context)
    text = (update.message.text or "").partition(" ")[2]
    try:
        rule, words = split_rule(text, today)
    except InvalidAnswer as error:
        rows = [[(labels().NEW_REMINDER, f"cm:new:{branch.id}")]]
        await reply_template(update, "reminder_ask", rows, what="", error=error)
        return
    try:
        _check_rule(rule, context)
        body = _read_text(words)
        await _check_room(context, branch.id)
    except InvalidAnswer as error:
        await reply_template(update, "reminder_ask", what="", error=error)
        return
    await _save_new(update, context, membership, branch, rule, body)


def _check_rule(rule: Rule, context: BotContext) -> None:
    if in_quiet_hours(rule.at):
        raise InvalidAnswer("rule_quiet")
    now = datetime.now(app_of(context).config.bot.tzinfo)
    if rule.kind == "once" and datetime.combine(rule.on_date or now.date(), rule.at) <= (
        now.replace(tzinfo=None)
    ):
        raise InvalidAnswer("rule_past")


def _read_text(text: str) -> str:
    value = clean_line(text)
    if not value:
        raise InvalidAnswer("empty")
    if len(value) > custom_reminders.TEXT_LIMIT:
        raise InvalidAnswer("too_long", length=len(value), limit=custom_reminders.TEXT_LIMIT)
    return value


async def _check_room(context: BotContext, branch_id: int) -> None:
    limit = custom_reminders.MAX_PER_BRANCH
    if await custom_reminders.count(app_of(context).database, branch_id) >= limit:
        raise InvalidAnswer("too_many_reminders", limit=limit)


async def _save_new(
    update: Update,
    context: BotContext,
    membership: Membership,
    branch: Branch,
    rule: Rule,
    text: str,
) -> None:
    reminder = await custom_reminders.create(
        app_of(context).database,
        user_id=membership.user_id,
        reminder=CustomReminder(
            id=0,
            branch_id=branch.id,
            text=text,
            rule=rule.kind,
            at_time=rule.at.strftime("%H:%M"),
            on_date=rule.on_date,
            weekday=rule.weekday,
            day_of_month=rule.day_of_month,
            quarter_month=rule.quarter_month,
        ),
    )
    await refresh(context, branch.id, f"cr:{reminder.id}:")
    lab = labels()
    rows = [
        [(lab.NEW_REMINDER, f"cm:new:{branch.id}")],
        [(lab.BACK_TO_REMINDERS, f"cm:l:{branch.id}"), (lab.MENU, "menu:home")],
    ]
    view = _view(reminder, _now(context))
    await reply_template(update, "custom_reminders", rows, view="saved", r=view)


async def _reminder_of(
    update: Update, context: BotContext, need: str
) -> tuple[Membership, Branch, CustomReminder] | None:
    """The reminder a cm:<action>:<branch>:<id> button names, if the user may `need` it."""
    parts = callback_parts(update)
    branch_id = _branch_of(update)
    if branch_id is None or len(parts) != 4 or not parts[3].isdigit():
        await answer(update, render("button_expired"), alert=True)
        return None
    allowed = await _allowed(update, context, branch_id, "read" if need == "read" else "record")
    if allowed is None:
        return None
    membership, branch = allowed
    reminder = await custom_reminders.get(app_of(context).database, int(parts[3]))
    if reminder is None or reminder.branch_id != branch_id:
        await answer(update, render("button_expired"), alert=True)
        return None
    if need == "change" and not (membership.can_edit or reminder.created_by == membership.user_id):
        await forbidden(update)
        return None
    return membership, branch, reminder


async def reminder_tapped(update: Update, context: BotContext) -> None:
    """cm:o (open), cm:p (pause/resume), cm:d (ask to delete), cm:dd (delete)."""
    action = callback_parts(update)[1]
    found = await _reminder_of(update, context, "read" if action == "o" else "change")
    if found is None:
        return
    membership, branch, reminder = found
    database = app_of(context).database
    lab = labels()
    b, rid = branch.id, reminder.id
    if action == "p":
        changed = await custom_reminders.update(
            database, user_id=membership.user_id, reminder_id=rid, paused=not reminder.paused
        )
        assert changed is not None
        reminder = changed
        await refresh(context, b, f"cr:{rid}:")
    elif action == "d":
        await answer(update)
        await close_keyboard(update)
        rows = [[(lab.CONFIRM_DELETE, f"cm:dd:{b}:{rid}"), (lab.KEEP, f"cm:o:{b}:{rid}")]]
        view = _view(reminder, _now(context))
        await reply_template(update, "custom_reminders", rows, view="confirm_delete", r=view)
        return
    elif action == "dd":
        await custom_reminders.delete(database, user_id=membership.user_id, reminder_id=rid)
        await refresh(context, b, f"cr:{rid}:")
        await answer(update)
        await close_keyboard(update)
        rows = [[(lab.BACK_TO_REMINDERS, f"cm:l:{b}"), (lab.MENU, "menu:home")]]
        await reply_template(update, "custom_reminders", rows, view="deleted")
        return
    await answer(update)
    await close_keyboard(update)
    await _reminder_card(update, membership, branch, reminder, _now(context))


async def _reminder_card(
    update: Update, membership: Membership, branch: Branch, reminder: CustomReminder, now: datetime
) -> None:
    lab = labels()
    b, rid = branch.id, reminder.id
    rows = []
    if membership.can_edit or reminder.created_by == membership.user_id:
        rows = [
            [(lab.EDIT_RULE, f"cm:er:{b}:{rid}"), (lab.EDIT_TEXT, f"cm:et:{b}:{rid}")],
            [(lab.RESUME if reminder.paused else lab.PAUSE, f"cm:p:{b}:{rid}"),
             (lab.DELETE, f"cm:d:{b}:{rid}")],
        ]  # fmt: skip
    rows.append([(lab.BACK_TO_REMINDERS, f"cm:l:{b}")])
    await reply_template(update, "custom_reminders", rows, view="card", r=_view(reminder, now))


# -- typed answers -------------------------------------------------------------------------------


async def _ask(update: Update, context: BotContext, error: InvalidAnswer | None = None) -> int:
    draft = _draft(context)
    what = draft["what"]
    lab = labels()
    rows: list[list[tuple[str, str]]] = []
    if what == "time":
        rows = in_rows([(t, "ri:time:" + t.replace(":", "")) for t in lab.QUICK_TIMES], 4)
    elif what == "lead":
        rows = in_rows([(name, f"ri:lead:{key}") for key, name in lab.QUICK_LEADS.items()], 2)
    elif what == "term_years":
        rows = [[(lab.TERM_YEARS.format(n=n), f"ri:ty:{n}") for n in TERM_CHOICES]]
    elif what == "term":
        rows = [[(lab.CLEAR_TERM, "ri:clr")]] if draft.get("has_term") else []
    elif what in ("rule", "edit_rule"):
        rows = [[(example, f"ri:ex:{i}")] for i, example in enumerate(lab.RULE_EXAMPLES)]
    rows.append([(lab.CANCEL, "ri:cancel")])
    text = render("reminder_ask", what=what, error=error, limit=custom_reminders.TEXT_LIMIT)
    await reply(update, text, rows)
    return State.ASKING


async def _begin(
    update: Update, context: BotContext, branch_id: int, what: str, reminder_id: int | None
) -> int:
    s = await settings.get_settings(app_of(context).database, branch_id)
    user_data(context)[DRAFT] = {
        "branch_id": branch_id,
        "what": what,
        "reminder_id": reminder_id,
        "has_term": s.elected_on is not None,
    }
    set_flow(context, FLOW)
    return State.ASKING


async def begin(update: Update, context: BotContext) -> int:
    """rs:time|lead|term:<branch> and cm:new:<branch> / cm:er|et:<branch>:<id>."""
    parts = callback_parts(update)
    branch_id = _branch_of(update)
    if branch_id is None:
        await answer(update, render("button_expired"), alert=True)
        return ConversationHandler.END
    if active_flow(context) and active_flow(context) != FLOW:
        await answer(update, render("finish_flow_first"), alert=True)
        return ConversationHandler.END
    reminder_id = None
    if parts[0] == "rs" or parts[1] == "new":
        if len(parts) != 3:
            await answer(update, render("button_expired"), alert=True)
            return ConversationHandler.END
        need = "edit" if parts[0] == "rs" else "record"
        if await _allowed(update, context, branch_id, need) is None:
            return ConversationHandler.END
    if parts[0] == "rs":
        what = parts[1]
    elif parts[1] == "new":
        try:
            await _check_room(context, branch_id)
        except InvalidAnswer as error:
            await answer(update)
            await reply_template(update, "reminder_ask", what="", error=error)
            return ConversationHandler.END
        what = "rule"
    else:
        found = await _reminder_of(update, context, "change")
        if found is None:
            return ConversationHandler.END
        reminder_id = found[2].id
        what = "edit_rule" if parts[1] == "er" else "edit_text"
    await answer(update)
    await close_keyboard(update)
    await _begin(update, context, branch_id, what, reminder_id)
    return await _ask(update, context)


async def _accept(update: Update, context: BotContext, value: str) -> int:
    """Take a typed or tapped answer for the current question."""
    draft = _draft(context)
    what = draft["what"]
    branch_id = draft["branch_id"]
    need = "edit" if what in ("time", "lead", "term", "term_years") else "record"
    current = await _allowed(update, context, branch_id, need)
    if current is None:
        return await _end(context)
    membership, branch = current
    database = app_of(context).database
    user_id = membership.user_id
    today = local_today(context)
    try:
        if what == "time":
            at = _read_time(value)
            await settings.update_settings(
                database, user_id=user_id, branch_id=branch_id, reminder_time=at
            )
        elif what == "lead":
            lead = _read_lead(value)
            await settings.update_settings(
                database, user_id=user_id, branch_id=branch_id, lead_days=lead
            )
        elif what == "term":
            elected, month_only = _read_election(value, today)
            draft["elected_on"] = elected.isoformat()
            draft["elected_month_only"] = month_only
            draft["what"] = "term_years"
            return await _ask(update, context)
        elif what == "term_years":
            years = _read_years(value)
            await settings.update_settings(
                database,
                user_id=user_id,
                branch_id=branch_id,
                elected_on=date.fromisoformat(draft["elected_on"]),
                elected_month_only=draft.get("elected_month_only", False),
                term_years=years,
            )
        elif what in ("rule", "edit_rule"):
            rule = _read_rule(value, today)
            _check_rule(rule, context)
            if what == "rule":
                draft["rule"] = _rule_dict(rule)
                draft["what"] = "text"
                return await _ask(update, context)
            if not await _update_reminder(context, user_id, draft, **_rule_fields(rule)):
                return await _gone(update, context)
        elif what in ("text", "edit_text"):
            text = _read_text(value)
            if what == "text":
                await _check_room(context, branch_id)
                rule = _rule_from(draft["rule"])
                await _end(context)
                await _save_new(update, context, membership, branch, rule, text)
                return ConversationHandler.END
            if not await _update_reminder(context, user_id, draft, text=text):
                return await _gone(update, context)
        else:
            raise InvalidAnswer("choice")
    except InvalidAnswer as error:
        return await _ask(update, context, error)
    await _end(context)
    if what in ("edit_rule", "edit_text"):
        reminder = await custom_reminders.get(database, draft["reminder_id"])
        assert reminder is not None
        await reply_template(update, "reminder_settings", view="saved")
        await _reminder_card(update, membership, branch, reminder, _now(context))
        return ConversationHandler.END
    await refresh(context, branch_id, f"ob:{branch_id}:")
    await reply_template(update, "reminder_settings", view="saved")
    await _settings_card(update, context, membership, branch)
    return ConversationHandler.END


def _read_time(value: str) -> str:
    try:
        at = parse_time(value)
    except RuleError as error:
        raise InvalidAnswer("bad_time" if error.code == "bad_time" else "time_unknown") from None
    if in_quiet_hours(at):
        raise InvalidAnswer("quiet")
    return at.strftime("%H:%M")


def _read_lead(value: str) -> tuple[int, ...]:
    text = to_halfwidth(clean_line(value))
    if text in ("none", "0", "不提前"):
        return ()
    parts = [p for p in text.replace("，", ",").replace("、", ",").replace(",", " ").split() if p]
    parts = [p.removesuffix("天") for p in parts]
    if not parts or len(parts) > MAX_LEADS or not all(p.isdigit() for p in parts):
        raise InvalidAnswer("lead_unknown")
    days = sorted({int(p) for p in parts}, reverse=True)
    if not all(1 <= d <= MAX_LEAD for d in days):
        raise InvalidAnswer("lead_unknown")
    return tuple(days)


def _read_years(value: str) -> int:
    text = to_halfwidth(clean_line(value)).removesuffix("年")
    if not text.isdigit() or not 1 <= int(text) <= 5:
        raise InvalidAnswer("term_years")
    return int(text)


_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")


def _read_election(value: str, today: date) -> tuple[date, bool]:
    """The last 换届: a day, or only a month ("2024年6月", kept as its first day)."""
    if match := _MONTH.match(to_halfwidth(clean_line(value)).rstrip("。")):
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise InvalidAnswer("date_no_such_date")
        if year < EARLIEST_YEAR:
            raise InvalidAnswer("date_too_old")
        if date(year, month, 1) > today:
            raise InvalidAnswer("date_future")
        return date(year, month, 1), True
    try:
        return parse_date(value, today), False
    except DateError as error:
        raise InvalidAnswer("date_" + error.code) from None


def _read_rule(value: str, today: date) -> Rule:
    try:
        return parse_rule(value, today)
    except RuleError as error:
        code = error.code if error.code in ("past", "no_such_date", "bad_time") else "unknown"
        raise InvalidAnswer("rule_" + code) from None


def _rule_fields(rule: Rule) -> dict[str, Any]:
    return {
        "rule": rule.kind,
        "at_time": rule.at.strftime("%H:%M"),
        "on_date": rule.on_date,
        "weekday": rule.weekday,
        "day_of_month": rule.day_of_month,
        "quarter_month": rule.quarter_month,
    }


def _rule_dict(rule: Rule) -> dict[str, Any]:
    fields = _rule_fields(rule)
    fields["on_date"] = rule.on_date.isoformat() if rule.on_date else None
    return fields


def _rule_from(data: dict[str, Any]) -> Rule:
    hour, minute = (int(x) for x in data["at_time"].split(":"))
    return Rule(
        kind=data["rule"],
        at=time(hour, minute),
        on_date=date.fromisoformat(data["on_date"]) if data["on_date"] else None,
        weekday=data["weekday"],
        day_of_month=data["day_of_month"],
        quarter_month=data["quarter_month"],
    )


async def _update_reminder(
    context: BotContext, user_id: int, draft: dict[str, Any], **changes: Any
) -> bool:
    database = app_of(context).database
    reminder = await custom_reminders.get(database, draft["reminder_id"])
    if reminder is None or reminder.branch_id != draft["branch_id"]:
        return False
    await custom_reminders.update(database, user_id=user_id, reminder_id=reminder.id, **changes)
    await refresh(context, draft["branch_id"], f"cr:{reminder.id}:")
    return True


async def _gone(update: Update, context: BotContext) -> int:
    await _end(context)
    await reply_template(update, "record_gone")
    return ConversationHandler.END


async def _end(context: BotContext) -> int:
    user_data(context).pop(DRAFT, None)
    set_flow(context, None)
    return ConversationHandler.END


async def typed(update: Update, context: BotContext) -> int:
    assert update.message is not None
    return await _accept(update, context, update.message.text or "")


async def tapped(update: Update, context: BotContext) -> int:
    """ri:time:<HHMM>, ri:lead:<key>, ri:ty:<n>, ri:ex:<i>, ri:clr."""
    draft = _draft(context)
    parts = callback_parts(update)
    what = draft["what"]
    lab = labels()
    value = None
    if parts[1:2] == ["time"] and what == "time" and len(parts) == 3 and len(parts[2]) == 4:
        value = f"{parts[2][:2]}:{parts[2][2:]}"
    elif parts[1:2] == ["lead"] and what == "lead" and len(parts) == 3:
        if parts[2] in lab.QUICK_LEADS:
            value = parts[2].replace("-", " ")
    elif parts[1:2] == ["ty"] and what == "term_years" and len(parts) == 3:
        value = parts[2]
    elif parts[1:2] == ["ex"] and what in ("rule", "edit_rule") and len(parts) == 3:
        if parts[2].isdigit() and int(parts[2]) < len(lab.RULE_EXAMPLES):
            value = lab.RULE_EXAMPLES[int(parts[2])]
    elif parts[1:2] == ["clr"] and what == "term" and len(parts) == 2:
        current = await _allowed(update, context, draft["branch_id"], "edit")
        if current is None:
            return await _end(context)
        await answer(update)
        await close_keyboard(update)
        await settings.update_settings(
            app_of(context).database,
            user_id=current[0].user_id,
            branch_id=draft["branch_id"],
            elected_on=None,
            elected_month_only=False,
        )
        await _end(context)
        await refresh(context, draft["branch_id"], f"ob:{draft['branch_id']}:")
        await _settings_card(update, context, *current)
        return ConversationHandler.END
    if value is None:
        await answer(update, render("button_expired"), alert=True)
        return State.ASKING
    await answer(update)
    await close_keyboard(update)
    return await _accept(update, context, value)


async def cancel(update: Update, context: BotContext) -> int:
    await answer(update)
    await close_keyboard(update)
    await _end(context)
    await reply_template(update, "cancelled")
    return ConversationHandler.END


async def resume(update: Update, context: BotContext) -> int:
    await answer(update)
    return await _ask(update, context)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/reminders, /remind and their typed answers."""
    text = filters.TEXT & ~filters.COMMAND
    return [
        conversation(
            name="reminder_input",
            entry_points=[
                CallbackQueryHandler(begin, pattern=r"^rs:(time|lead|term):"),
                CallbackQueryHandler(begin, pattern=r"^cm:(new|er|et):"),
            ],
            states={
                State.ASKING: [
                    MessageHandler(text, typed),
                    CallbackQueryHandler(cancel, pattern=r"^ri:cancel$"),
                    CallbackQueryHandler(tapped, pattern=r"^ri:"),
                ]
            },
            fallbacks=[
                CommandHandler("cancel", cancel),
                CommandHandler(["reminders", "remind"], resume),
                CallbackQueryHandler(resume, pattern=r"^(menu:reminders|menu:remind)$"),
            ],
        ),
        CommandHandler("reminders", show_settings),
        CallbackQueryHandler(show_settings, pattern=r"^(menu:reminders|rs:show:\d+)$"),
        CallbackQueryHandler(settings_tapped, pattern=r"^rs:"),
        CommandHandler("remind", show_reminders),
        CallbackQueryHandler(show_reminders, pattern=r"^(menu:remind|cm:l:\d+)$"),
        CallbackQueryHandler(reminder_tapped, pattern=r"^cm:(o|p|d|dd):"),
    ]
