"""/notify: a meeting notice to the branch's bound group (a form of the engine: kind → day →
time and place → agenda → preview → 发送), also opened from a planned 主题党日 in /partyday with
the plan's day and theme as defaults; 取消通知 afterwards.

Writing is for 书记, 副书记 and 支委 (Need.RECORD), checked again on every update of the form.
Sending is idempotent by the form's key: the notice and its outbox rows (the card, the
day-before reminders) are committed before anything is delivered, and a send replayed after a
crash finds the stored notice and queues nothing twice. The answers are in notify_answers.py.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from markupsafe import Markup, escape
from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot import access, jobs, meeting_form, notify
from bot import buttons as bt
from bot.access import Need
from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.callbacks import on
from bot.forms import Choice, Form, NotNow, Outcome, Refused, Step, Turn
from bot.handlers.common import answer, close_keyboard, current_branch, forbidden, reply_template
from bot.handlers.notify_view import CARDS
from bot.texts import labels, render
from db import meeting_notices, meetings, outbox, settings

_LOGGER = logging.getLogger(__name__)
NAME = "nf"


class NotifyDraft(msgspec.Struct):
    """A notice being written (None: not answered yet); the plan's day and theme as defaults."""

    branch_id: int
    kind: str | None = None
    held_on: str | None = None
    start_time: str | None = None
    place: str | None = None
    agenda: list[str] | None = None
    plan_day: str | None = None
    plan_theme: str | None = None


def _ask(step: str) -> Any:
    def question(turn: Turn[NotifyDraft]) -> str:
        return render("notify_ask", step=step, days=notify.MAX_DAYS_AHEAD)

    return question


def _kind_choices(turn: Turn[NotifyDraft]) -> list[list[Choice]]:
    names = labels().KINDS
    kinds = [Choice(k, names[k]) for k in notify.NOTICE_KINDS]
    return [kinds[i : i + 2] for i in range(0, len(kinds), 2)]


def _pick_kind(turn: Turn[NotifyDraft], code: str) -> None:
    if code not in notify.NOTICE_KINDS:
        raise InvalidAnswer("choice")
    turn.draft.kind = code


def _day_text(value: str | None) -> str | None:
    if value is None:
        return None
    day = date.fromisoformat(value)
    return str(labels().NOTIFY_DAY.format(m=day.month, d=day.day))


def _day_choices(turn: Turn[NotifyDraft]) -> list[list[Choice]]:
    plan_day = turn.draft.plan_day
    if plan_day is None or date.fromisoformat(plan_day) < turn.today:
        return []
    return [[Choice("plan", labels().NOTIFY_PLAN_DAY.format(day=_day_text(plan_day)))]]


def _read_day(turn: Turn[NotifyDraft], text: str) -> None:
    turn.draft.held_on = notify.read_day(text, turn.today).isoformat()


def _pick_day(turn: Turn[NotifyDraft], code: str) -> None:
    if code != "plan" or turn.draft.plan_day is None:
        raise InvalidAnswer("choice")
    if date.fromisoformat(turn.draft.plan_day) < turn.today:
        raise NotNow("date_past")
    turn.draft.held_on = turn.draft.plan_day


def _read_time_place(turn: Turn[NotifyDraft], text: str) -> None:
    turn.draft.start_time, turn.draft.place = notify.read_time_place(text)


def _agenda_choices(turn: Turn[NotifyDraft]) -> list[list[Choice]]:
    theme = turn.draft.plan_theme
    return [[Choice("plan", theme[:30])]] if theme else []


def _read_agenda(turn: Turn[NotifyDraft], text: str) -> None:
    turn.draft.agenda = meeting_form.read_agenda(text)["agenda"]


def _pick_agenda(turn: Turn[NotifyDraft], code: str) -> None:
    if code != "plan" or not turn.draft.plan_theme:
        raise InvalidAnswer("choice")
    turn.draft.agenda = [turn.draft.plan_theme]


_STEPS: list[Step[NotifyDraft]] = [
    Step(
        name="kind",
        question=_ask("kind"),
        answered=lambda d: d.kind is not None,
        choices=_kind_choices,
        pick=_pick_kind,
        current=lambda t: labels().KINDS[t.draft.kind],
    ),
    Step(
        name="day",
        question=_ask("day"),
        answered=lambda d: d.held_on is not None,
        read=_read_day,
        choices=_day_choices,
        pick=_pick_day,
        current=lambda t: _day_text(t.draft.held_on),
    ),
    Step(
        name="time_place",
        question=_ask("time_place"),
        answered=lambda d: d.place is not None,
        read=_read_time_place,
        current=lambda t: str(escape(f"{t.draft.start_time} {t.draft.place}")),
    ),
    Step(
        name="agenda",
        question=_ask("agenda"),
        answered=lambda d: d.agenda is not None,
        read=_read_agenda,
        choices=_agenda_choices,
        pick=_pick_agenda,
        current=lambda t: str(escape("；".join(t.draft.agenda or []))),
    ),
]


async def _load(turn: Turn[NotifyDraft]) -> int:
    """The branch's bound group, while the user may send notices for the branch."""
    await turn.authorize(turn.draft.branch_id, Need.RECORD)
    group = (await settings.get_settings(turn.database, turn.draft.branch_id)).group_chat_id
    if group is None:
        raise Refused("notify_note", what="no_group")
    return group


def _notice_of(turn: Turn[NotifyDraft]) -> meeting_notices.Notice:
    """The notice as the draft stands (id 0: not stored yet)."""
    draft = turn.draft
    assert draft.kind and draft.held_on and draft.start_time and draft.place and draft.agenda
    return meeting_notices.Notice(
        id=0,
        branch_id=draft.branch_id,
        kind=draft.kind,
        held_on=date.fromisoformat(draft.held_on),
        start_time=draft.start_time,
        place=draft.place,
        agenda="\n".join(draft.agenda),
        chat_id=turn.env,
        created_by=turn.user_id,
        cancelled=False,
        meeting_id=None,
    )


async def _preview(turn: Turn[NotifyDraft]) -> tuple[str, list[list[tuple[str, str]]]]:
    notice = _notice_of(turn)
    # Nobody has answered a notice not sent yet: everyone on the roster is counted silent.
    card = Markup(
        notify.card_text(notice, await meeting_notices.answers(turn.database, notice), turn.today)
    )
    lab = labels()
    edits = [(lab.EDIT_PREFIX + lab.NOTIFY_STEPS[s.name], f"e:{s.name}") for s in _STEPS[1:]]
    rows = [[(lab.NOTIFY_SEND, "v")], edits[:2], edits[2:], [(lab.NOTIFY_DISCARD, "x")]]
    return render("notify_ask", step="preview", card=card, days=0), rows


async def _send(turn: Turn[NotifyDraft], key: str) -> Outcome:
    """发送: the notice stored once (the form's key), its card and reminders queued, delivery
    woken."""
    draft = turn.draft
    database = turn.database
    draft_notice = _notice_of(turn)
    if draft_notice.held_on < turn.today:
        raise InvalidAnswer("date_past")
    notice, created = await meeting_notices.create(
        database,
        user_id=turn.user_id,
        branch_id=draft.branch_id,
        kind=draft_notice.kind,
        held_on=draft_notice.held_on,
        start_time=draft_notice.start_time,
        place=draft_notice.place,
        agenda=draft_notice.agenda,
        chat_id=turn.env,
        draft_key=key,
    )
    application = app_of(turn.context)
    branch_settings = await settings.get_settings(database, notice.branch_id)
    found = await meeting_notices.answers(database, notice)
    queued = notify.messages(
        notice,
        found,
        branch_settings.reminder_time,
        application.config.bot.tzinfo,
        datetime.now(UTC),
    )
    # Replayed after a crash: every row's key is taken already, so nothing is queued twice.
    new = await outbox.enqueue(database, queued)
    deliverer = jobs.deliverer(application)
    if deliverer is not None:
        await deliverer.wake()
    _LOGGER.info("Notice %d for branch %d: %d rows newly queued", notice.id, notice.branch_id, new)
    lab = labels()
    rows = [
        [(lab.NOTIFY_LOG, bt.NF_LOG(notice.id))],
        [(lab.NOTIFY_CANCEL, bt.NF_CANCEL(notice.id))],
    ]
    return Outcome(render("notify_note", what="sent", created=created), rows)


FORM: Form[NotifyDraft] = Form(
    name=NAME,
    draft=NotifyDraft,
    steps=lambda draft: _STEPS,
    load=_load,
    review=_preview,
    save=_send,
    counted=lambda draft: False,
)


async def _open(update: Update, context: BotContext, draft: NotifyDraft) -> None:
    """Open the form, or say how to bind a group first (nothing to send a notice to)."""
    database = app_of(context).database
    if (await settings.get_settings(database, draft.branch_id)).group_chat_id is None:
        await answer(update)
        await reply_template(update, "notify_note", what="no_group")
        return
    await app_of(context).forms.start(update, context, NAME, draft)


async def begin(update: Update, context: BotContext) -> None:
    """/notify in private: a notice for the current branch."""
    current = await current_branch(update, context)
    if current is None:
        return
    membership, branch = current
    if not access.allows(membership.role, Need.RECORD):
        await forbidden(update)
        return
    await _open(update, context, NotifyDraft(branch_id=branch.id))


async def begin_plan(update: Update, context: BotContext, branch_id: int, month: str) -> None:
    """📣 发通知 on a planned 主题党日 (/partyday): the plan's day and theme as defaults."""
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    if await access.authorize(database, user.id, branch_id, Need.RECORD) is None:
        await forbidden(update)
        return
    plan = await meetings.get_plan(database, branch_id, month)
    draft = NotifyDraft(branch_id=branch_id, kind="theme_party_day")
    if plan is not None:
        draft.plan_day = plan.planned_on.isoformat()
        draft.plan_theme = plan.theme
    await _open(update, context, draft)


async def cancel(update: Update, context: BotContext, notice_id: int) -> None:
    """取消通知: the card says so and loses its buttons; reminders not sent yet are dropped."""
    user = update.effective_user
    assert user is not None
    application = app_of(context)
    database = application.database
    notice = await meeting_notices.get(database, notice_id)
    if notice is None:
        await answer(update, render("button_expired"), alert=True)
        return
    if await access.authorize(database, user.id, notice.branch_id, Need.RECORD) is None:
        await forbidden(update)
        return
    done = await meeting_notices.cancel(database, notice_id=notice.id, user_id=user.id)
    if done:
        await outbox.cancel(database, f"nf:{notice.id}:")
        CARDS.stop(application, notice.id)
        await CARDS.refresh(application, notice.id)
        _LOGGER.info("Notice %d cancelled by user %d", notice.id, user.id)
    await answer(update)
    await close_keyboard(update)
    await reply_template(update, "notify_note", what="cancelled" if done else "already_cancelled")


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/notify, the notice from a plan, 取消通知."""
    return [
        CommandHandler("notify", begin),
        on(bt.NF_PLAN, begin_plan),
        on(bt.NF_CANCEL, cancel),
    ]
