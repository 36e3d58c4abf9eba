"""/reminders: when and where a branch is reminded, which obligations and how often, 换届 dates.

Buttons carry the branch id and are checked against the user's role on every tap (bot.access).
A switch carries the value it sets, never "the opposite of now": tapped twice, or replayed after
a crash, it leaves the setting as the user chose it. Typed answers (a time, lead days, the 换届)
run on the form engine. After every change the branch's unsent reminders are dropped and decided
again, so a new time or a muted obligation takes effect today; reminders already sent are never
sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import msgspec
from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot import access, jobs
from bot import buttons as bt
from bot import reminder_input as reading
from bot.access import Need
from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.callbacks import Route, on
from bot.forms import Choice, Form, Outcome, Step, Turn
from bot.handlers import common
from bot.handlers.common import (
    allowed,
    answer,
    close_keyboard,
    in_rows,
    reply,
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
from bot.texts import labels, render
from db import outbox, settings
from db.models import Branch, Membership

_LOGGER = logging.getLogger(__name__)
NAME = "rst"
REMIND_NAME = "rmd"  # the /remind form (bot.handlers.remind)
Rows = list[list[tuple[str, str]]]


# -- shared with /remind ------------------------------------------------------------------------


async def refresh(context: BotContext, branch_id: int, key_prefix: str) -> None:
    """Decide the branch's reminders again after a change (unsent ones under the prefix)."""
    application = app_of(context)
    dropped = await outbox.drop_pending(application.database, key_prefix)
    if application.config.bot.reminders:
        await jobs.run_sweep(application, [branch_id])
    _LOGGER.info("Reminders of branch %d decided again (%d unsent dropped)", branch_id, dropped)


async def resumed(update: Update, context: BotContext) -> bool:
    """/reminders or /remind while one of their forms is open: that form again, as it was."""
    user = update.effective_user
    assert user is not None
    forms = app_of(context).forms
    if forms.active(user.id) not in (NAME, REMIND_NAME):
        return False
    await answer(update)
    await forms.resume(update, context)
    return True


async def current_branch(update: Update, context: BotContext) -> tuple[Membership, Branch] | None:
    """The current branch for a command or menu tap (private chats only)."""
    await answer(update)
    return await common.current_branch(update, context)


# -- the settings card --------------------------------------------------------------------------


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


def _switch(on: bool, label: str, route: Route, branch_id: int) -> tuple[str, str]:
    """A switch shows its state and carries the state a tap sets (1 on, 0 off): a replayed or
    double tap sets the same state again."""
    lab = labels()
    return (lab.ON if on else lab.OFF) + label, route(branch_id, 0 if on else 1)


async def card_view(database: Any, membership: Membership, branch: Branch) -> tuple[str, Rows]:
    """The settings card, with buttons to change them for those who may."""
    s = await settings.get_settings(database, branch.id)
    lab = labels()
    b = branch.id
    can_edit = access.allows(membership.role, Need.EDIT)
    rows: Rows = []
    if can_edit:
        rows = [
            [(lab.SET_TIME, bt.RS_TIME(b)), (lab.SET_LEAD, bt.RS_LEAD(b))],
            [_switch(s.to_private, lab.TO_PRIVATE, bt.RS_PRIVATE, b)],
        ]
        if s.group_chat_id is not None:
            rows.append([_switch(s.to_group, lab.TO_GROUP, bt.RS_GROUP, b)])
        rows.append([(lab.SET_OBLIGATIONS, bt.RS_OBLIGATIONS(b)), (lab.SET_TERM, bt.RS_TERM(b))])
        rows.append([(lab.MY_REMINDERS, bt.MENU_REMIND())])
    rows.append([(lab.MENU, bt.HOME())])
    text = render(
        "reminder_settings",
        view="main",
        s=s,
        items=_items(branch, s),
        branch_name=branch.profile.name,
        can_edit=can_edit,
        term_end=term_end(s.elected_on, s.term_years) if s.elected_on else None,
    )
    return text, rows


async def branch_to_show(
    update: Update, context: BotContext, branch_id: int | None
) -> tuple[Membership, Branch] | None:
    """The current branch for a command or menu tap, or the branch a "back" button names (any
    role may see it); the tapped keyboard is closed. None: the user was told why."""
    if branch_id is None:
        current = await current_branch(update, context)
    else:
        current = await allowed(update, context, branch_id, Need.READ)
        if current is not None:
            await answer(update)
    if current is not None:
        await close_keyboard(update)
    return current


async def show_settings(update: Update, context: BotContext, branch_id: int | None = None) -> None:
    """/reminders, 提醒设置 in the menu, or back to the card of a branch."""
    if await resumed(update, context):
        return
    current = await branch_to_show(update, context, branch_id)
    if current is None:
        return
    await reply(update, *await card_view(app_of(context).database, *current))


def _obligation_view(branch: Branch, s: settings.BranchSettings, code: str) -> tuple[str, Rows]:
    lab = labels()
    b = branch.id
    item = next(i for i in _items(branch, s) if i["code"] == code)
    choices = [
        ((lab.CURRENT_MARK if f == item["frequency"] else "") + lab.FREQUENCY_NAMES[f],
         bt.RS_FREQUENCY(b, code, f))
        for f in (ROSTER_FREQUENCIES if code in ROSTER_DUTIES else FREQUENCIES)
    ]  # fmt: skip
    rows = in_rows(choices, 2)
    label = lab.UNMUTE if item["muted"] else lab.MUTE
    rows.append([(label, bt.RS_MUTE(b, code, int(not item["muted"])))])
    rows.append([(lab.BACK_TO_SETTINGS, bt.RS_OBLIGATIONS(b))])
    return render("reminder_settings", view="obligation", item=item), rows


def _obligations_view(branch: Branch, s: settings.BranchSettings) -> tuple[str, Rows]:
    lab = labels()
    rows = [
        [(lab.OBLIGATION_BUTTON.format(
            mark=lab.CHANGED_MARK if i["changed"] else "", name=i["name"],
            frequency=i["frequency_name"], muted=lab.MUTED_MARK if i["muted"] else ""),
          bt.RS_OBLIGATION(branch.id, i["code"]))]
        for i in _items(branch, s)
    ]  # fmt: skip
    rows.append([(lab.BACK_TO_SETTINGS, bt.RS_SHOW(branch.id))])
    text = render("reminder_settings", view="obligations", branch_name=branch.profile.name)
    return text, rows


async def _screen(
    update: Update, context: BotContext, branch_id: int, code: str | None = None
) -> None:
    """The list of obligations, or one obligation's frequency and mute (editors)."""
    current = await allowed(update, context, branch_id, Need.EDIT)
    if current is None:
        return
    branch = current[1]
    s = await settings.get_settings(app_of(context).database, branch_id)
    await answer(update)
    await close_keyboard(update)
    screen = _obligation_view(branch, s, code) if code else _obligations_view(branch, s)
    await reply(update, *screen)


async def _change(
    update: Update,
    context: BotContext,
    branch_id: int,
    changes_of: Callable[[settings.BranchSettings], dict[str, Any] | None],
) -> None:
    """Set what a tapped switch or choice sets, decide the reminders again, show the card."""
    current = await allowed(update, context, branch_id, Need.EDIT)
    if current is None:
        return
    membership, branch = current
    database = app_of(context).database
    changes = changes_of(await settings.get_settings(database, branch_id))
    if changes is None:
        await answer(update, render("button_expired"), alert=True)
        return
    await settings.update_settings(
        database, user_id=membership.user_id, branch_id=branch_id, **changes
    )
    await answer(update, render("reminder_settings", view="saved"))
    await close_keyboard(update)
    await refresh(context, branch_id, f"ob:{branch_id}:")
    await reply(update, *await card_view(database, membership, branch))


async def set_private(update: Update, context: BotContext, branch_id: int, on: int) -> None:
    """Reminders to the secretary's private chat on or off."""
    await _change(update, context, branch_id, lambda s: {"to_private": bool(on)})


async def set_group(update: Update, context: BotContext, branch_id: int, on: int) -> None:
    """Reminders to the bound group on or off."""
    await _change(update, context, branch_id, lambda s: {"to_group": bool(on)})


async def set_muted(
    update: Update, context: BotContext, branch_id: int, code: str, muted: int
) -> None:
    """One obligation's reminders muted (still shown in /status) or not."""

    def changes(s: settings.BranchSettings) -> dict[str, Any]:
        return {"muted": tuple(sorted(set(s.muted) | {code} if muted else set(s.muted) - {code}))}

    await _change(update, context, branch_id, changes)


async def set_frequency(
    update: Update, context: BotContext, branch_id: int, code: str, frequency: str
) -> None:
    """One obligation's frequency (the default is stored as no choice)."""

    def changes(s: settings.BranchSettings) -> dict[str, Any] | None:
        if frequency not in (ROSTER_FREQUENCIES if code in ROSTER_DUTIES else FREQUENCIES):
            return None
        chosen = {**s.frequencies, code: frequency}
        if frequency == TRACKABLE[code]:
            chosen.pop(code)
        return {"frequencies": chosen}

    await _change(update, context, branch_id, changes)


# -- typed settings: the "rst" form -------------------------------------------------------------


class SettingsDraft(msgspec.Struct):
    """One setting being typed: the daily time, the lead days, or the last 换届 and its term."""

    branch_id: int
    what: str  # "time", "lead" or "term"
    has_term: bool = False
    reminder_time: str | None = None
    lead_days: list[int] | None = None
    elected_on: str | None = None
    elected_month_only: bool = False
    clear_term: bool = False
    term_years: int | None = None


def _ask(what: str) -> Any:
    def question(turn: Turn[SettingsDraft]) -> str:
        return render("reminder_ask", what=what)

    return question


def _set_time(turn: Turn[SettingsDraft], text: str) -> None:
    turn.draft.reminder_time = reading.read_time(text)


def _pick_time(turn: Turn[SettingsDraft], code: str) -> None:
    if not (len(code) == 4 and code.isdigit()):
        raise InvalidAnswer("choice")
    _set_time(turn, f"{code[:2]}:{code[2:]}")


def _time_choices(turn: Turn[SettingsDraft]) -> list[list[Choice]]:
    quick = [Choice(t.replace(":", ""), t) for t in labels().QUICK_TIMES]
    return [quick[i : i + 4] for i in range(0, len(quick), 4)]


def _set_lead(turn: Turn[SettingsDraft], text: str) -> None:
    turn.draft.lead_days = list(reading.read_lead(text))


def _pick_lead(turn: Turn[SettingsDraft], code: str) -> None:
    if code not in reading.QUICK_LEADS:
        raise InvalidAnswer("choice")
    turn.draft.lead_days = list(reading.QUICK_LEADS[code])


def _lead_choices(turn: Turn[SettingsDraft]) -> list[list[Choice]]:
    quick = [Choice(code, name) for code, name in labels().QUICK_LEADS.items()]
    return [quick[i : i + 2] for i in range(0, len(quick), 2)]


def _set_election(turn: Turn[SettingsDraft], text: str) -> None:
    day, month_only = reading.read_election(text, turn.today)
    turn.draft.elected_on, turn.draft.elected_month_only = day.isoformat(), month_only
    turn.draft.clear_term = False


def _pick_clear(turn: Turn[SettingsDraft], code: str) -> None:
    if code != "clear" or not turn.draft.has_term:
        raise InvalidAnswer("choice")
    turn.draft.clear_term, turn.draft.elected_on = True, None


def _election_shown(turn: Turn[SettingsDraft]) -> str | None:
    draft = turn.draft
    if draft.elected_on is None:
        return None
    day = date.fromisoformat(draft.elected_on)
    return render("reminder_ask", what="term_shown", day=day, month_only=draft.elected_month_only)


def _set_years(turn: Turn[SettingsDraft], text: str) -> None:
    turn.draft.term_years = reading.read_years(text)


_TIME = Step(
    name="time",
    question=_ask("time"),
    answered=lambda d: d.reminder_time is not None,
    read=_set_time,
    choices=_time_choices,
    pick=_pick_time,
    current=lambda turn: turn.draft.reminder_time,
)
_LEAD = Step(
    name="lead",
    question=_ask("lead"),
    answered=lambda d: d.lead_days is not None,
    read=_set_lead,
    choices=_lead_choices,
    pick=_pick_lead,
)
_TERM = Step(
    name="term",
    question=_ask("term"),
    answered=lambda d: d.elected_on is not None or d.clear_term,
    read=_set_election,
    choices=lambda turn: [[Choice("clear", labels().CLEAR_TERM)]] if turn.draft.has_term else [],
    pick=_pick_clear,
    current=_election_shown,
)
_YEARS = Step(
    name="term_years",
    question=_ask("term_years"),
    answered=lambda d: d.term_years is not None,
    read=_set_years,
    choices=lambda turn: [
        [Choice(str(n), labels().TERM_YEARS.format(n=n)) for n in reading.TERM_CHOICES]
    ],
    pick=_set_years,
    applies=lambda d: not d.clear_term,
)
_STEPS: dict[str, list[Step[SettingsDraft]]] = {
    "time": [_TIME],
    "lead": [_LEAD],
    "term": [_TERM, _YEARS],
}


async def _load(turn: Turn[SettingsDraft]) -> tuple[Membership, Branch]:
    """The branch, while the user may still change its settings."""
    return await turn.authorize(turn.draft.branch_id, Need.EDIT)


def _settings_changes(draft: SettingsDraft) -> dict[str, Any]:
    if draft.what == "time":
        return {"reminder_time": draft.reminder_time}
    if draft.what == "lead":
        assert draft.lead_days is not None
        return {"lead_days": tuple(draft.lead_days)}
    if draft.clear_term or draft.elected_on is None:
        return {"elected_on": None, "elected_month_only": False}
    return {
        "elected_on": date.fromisoformat(draft.elected_on),
        "elected_month_only": draft.elected_month_only,
        "term_years": draft.term_years,
    }


async def _save(turn: Turn[SettingsDraft], key: str) -> Outcome:
    membership, branch = turn.env
    await settings.update_settings(
        turn.database,
        user_id=turn.user_id,
        branch_id=branch.id,
        **_settings_changes(turn.draft),
    )
    await refresh(turn.context, branch.id, f"ob:{branch.id}:")
    card = await card_view(turn.database, membership, branch)
    return Outcome(render("reminder_settings", view="saved"), more=(card,))


FORM: Form[SettingsDraft] = Form(
    name=NAME,
    draft=SettingsDraft,
    steps=lambda draft: _STEPS[draft.what],
    load=_load,
    save=_save,
)


def _begin(what: str) -> Callable[[Update, BotContext, int], Awaitable[None]]:
    async def begin(update: Update, context: BotContext, branch_id: int) -> None:
        """Type a setting: the time, the lead days or the last 换届."""
        if await allowed(update, context, branch_id, Need.EDIT) is None:
            return
        s = await settings.get_settings(app_of(context).database, branch_id)
        draft = SettingsDraft(branch_id=branch_id, what=what, has_term=s.elected_on is not None)
        await app_of(context).forms.start(update, context, NAME, draft)

    return begin


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/reminders: the card, its buttons and the typed settings."""
    return [
        CommandHandler("reminders", show_settings),
        on(bt.MENU_REMINDERS, show_settings),
        on(bt.RS_SHOW, show_settings),
        on(bt.RS_TIME, _begin("time")),
        on(bt.RS_LEAD, _begin("lead")),
        on(bt.RS_TERM, _begin("term")),
        on(bt.RS_OBLIGATIONS, _screen),
        on(bt.RS_OBLIGATION, _screen),
        on(bt.RS_PRIVATE, set_private),
        on(bt.RS_GROUP, set_group),
        on(bt.RS_MUTE, set_muted),
        on(bt.RS_FREQUENCY, set_frequency),
    ]
