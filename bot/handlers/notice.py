"""/notice and /notices: the superior organization (社会组织党委) sends a notice to a chosen set
of branches (a form of the engine: text → audience → preview → 发送), lists what it sent with
已阅 x/y, and branch members mark a notice 已阅.

Writing and listing are for admins (bot.access.is_admin), checked again on every update of the
form; 已阅 is for the members of the branch the notice was sent to. Sending is idempotent by the
form's key: the notice and its outbox rows are committed before anything is delivered, and a
send replayed after a crash finds the stored notice and queues nothing twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import msgspec
from markupsafe import escape
from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot import access, jobs
from bot import buttons as bt
from bot.access import Need
from bot.application import BotContext, app_of
from bot.branch_profile import FORMATION_MODES, ORGANIZATION_TYPES, InvalidAnswer
from bot.callbacks import on
from bot.forms import Choice, Form, NotNow, Outcome, Refused, Step, Turn
from bot.handlers.common import (
    answer,
    close_keyboard,
    forbidden,
    in_rows,
    reply_template,
)
from bot.handlers.overview import admin_here, expired, overview_now
from bot.overview import (
    NOTICE_LIMIT,
    BranchRow,
    Overview,
    audience,
    notice_chats,
    notice_messages,
    notice_text,
)
from bot.texts import labels, render
from db import notices, outbox

_LOGGER = logging.getLogger(__name__)
NAME = "ntc"
LIST_PAGE = 10
UNREAD_SHOWN = 30
CHOICES_PER_ROW = 2


# -- /notice: the form ---------------------------------------------------------------------------


class NoticeDraft(msgspec.Struct):
    """A notice being written: its text and its audience (kind, and a mode or type)."""

    text: str | None = None
    kind: str | None = None  # all / overdue / mode / type
    value: str | None = None  # the formation mode or organization type of "mode" / "type"


class NoticeEnv(msgspec.Struct, frozen=True):
    """What the form reads for one update: every branch this quarter (once a text is written)."""

    overview: Overview | None
    blocked: frozenset[int]


def _targets(turn: Turn[NoticeDraft]) -> list[BranchRow]:
    draft, env = turn.draft, turn.env
    if env.overview is None or draft.kind is None:
        return []
    return audience(env.overview, draft.kind, draft.value or "")


def _ask(step: str) -> Any:
    def question(turn: Turn[NoticeDraft]) -> str:
        return render("notice_ask", step=step, limit=NOTICE_LIMIT)

    return question


def _read_text(turn: Turn[NoticeDraft], typed: str) -> None:
    turn.draft.text = notice_text(typed)


def _audience_choices(turn: Turn[NoticeDraft]) -> list[list[Choice]]:
    return [[Choice(kind, name)] for kind, name in labels().NOTICE_AUDIENCES.items()]


def _pick_audience(turn: Turn[NoticeDraft], code: str) -> None:
    if code not in labels().NOTICE_AUDIENCES:
        raise InvalidAnswer("choice")
    overview = turn.env.overview
    if code in ("all", "overdue") and (overview is None or not audience(overview, code)):
        raise NotNow("nobody")
    turn.draft.kind, turn.draft.value = code, None


def _audience_text(turn: Turn[NoticeDraft]) -> str:
    lab = labels()
    name = str(lab.NOTICE_AUDIENCES[turn.draft.kind])
    if turn.draft.value is not None:
        names = lab.FORMATION_MODES if turn.draft.kind == "mode" else lab.ORGANIZATION_TYPES
        name += "：" + str(names[turn.draft.value])
    return str(escape(name))


def _group_step(kind: str, options: tuple[str, ...]) -> Step[NoticeDraft]:
    """The second half of the audience: which formation mode (or organization type)."""

    def names() -> dict[str, str]:
        lab = labels()
        return dict(lab.FORMATION_MODES if kind == "mode" else lab.ORGANIZATION_TYPES)

    def choices(turn: Turn[NoticeDraft]) -> list[list[Choice]]:
        overview = turn.env.overview
        assert overview is not None
        template = labels().NOTICE_CHOICE
        buttons = [
            Choice(o, template.format(name=names()[o], n=len(audience(overview, kind, o))))
            for o in options
        ]
        return [buttons[i : i + CHOICES_PER_ROW] for i in range(0, len(buttons), CHOICES_PER_ROW)]

    def pick(turn: Turn[NoticeDraft], code: str) -> None:
        if code not in options or turn.env.overview is None:
            raise InvalidAnswer("choice")
        if not audience(turn.env.overview, kind, code):
            raise NotNow("nobody")
        turn.draft.value = code

    return Step(
        name=kind,
        question=_ask(kind),
        answered=lambda d: d.value is not None,
        choices=choices,
        pick=pick,
        current=lambda t: str(escape(names()[t.draft.value])),
        applies=lambda d: d.kind == kind,
    )


_STEPS: list[Step[NoticeDraft]] = [
    Step(
        name="text",
        question=_ask("text"),
        answered=lambda d: d.text is not None,
        read=_read_text,
        current=lambda t: str(escape(t.draft.text)),
    ),
    Step(
        name="audience",
        question=_ask("audience"),
        answered=lambda d: d.kind is not None,
        choices=_audience_choices,
        pick=_pick_audience,
        current=_audience_text,
    ),
    _group_step("mode", FORMATION_MODES),
    _group_step("type", ORGANIZATION_TYPES),
]


async def _load(turn: Turn[NoticeDraft]) -> NoticeEnv:
    """The overview (read only once there is a text to send), while the user is an admin."""
    application = app_of(turn.context)
    if not await access.is_admin(turn.database, turn.user_id, application.config.bot.admin_ids):
        _LOGGER.info("User %s refused writing a notice", turn.user_id)
        raise Refused("admin_only", user_id=turn.user_id)
    if turn.draft.text is None:
        return NoticeEnv(None, frozenset())
    overview, blocked = await overview_now(turn.context)
    return NoticeEnv(overview, blocked)


def _audience_of(draft: NoticeDraft) -> dict[str, str]:
    assert draft.kind is not None
    return (
        {"kind": draft.kind} if draft.value is None else {"kind": draft.kind, "value": draft.value}
    )


async def _preview(turn: Turn[NoticeDraft]) -> tuple[str, list[list[tuple[str, str]]]]:
    targets = _targets(turn)
    chats = [notice_chats(row, turn.env.blocked) for row in targets]
    text = render(
        "notice_ask",
        step="preview",
        limit=NOTICE_LIMIT,
        text=turn.draft.text,
        audience=_audience_of(turn.draft),
        count=len(targets),
        chats=sum(len(c) for c in chats),
        unreachable=sum(1 for c in chats if not c),
    )
    lab = labels()
    rows = [
        [(lab.NOTICE_SEND, "v")],
        [(lab.NOTICE_BACK, "e:audience")],
        [(lab.NOTICE_CANCEL, "x")],
    ]
    return text, rows


async def _send_notice(turn: Turn[NoticeDraft], key: str) -> Outcome:
    """发送: the notice and its targets stored once (the form's key), queued, delivery woken."""
    draft = turn.draft
    assert draft.text is not None and turn.env.overview is not None
    targets = _targets(turn)
    if not targets:
        raise InvalidAnswer("nobody")
    database = turn.database
    notice, created = await notices.create(
        database,
        sent_by=turn.user_id,
        text=draft.text,
        audience=_audience_of(draft),
        branch_ids=[row.id for row in targets],
        draft_key=key,
    )
    if not created:
        # Sent before a restart: the stored targets count, not today's filter.
        stored = {t.branch_id for t in await notices.targets(database, notice.id)}
        targets = [row for row in turn.env.overview.rows if row.id in stored]
    messages = notice_messages(
        notice.id, notice.text, targets, turn.env.blocked, datetime.now(UTC)
    )
    enqueued = await outbox.enqueue(database, messages)
    found = jobs.deliverer(app_of(turn.context))
    if found is not None:
        await found.wake()
    _LOGGER.info(
        "Notice %d to %d branches: %d messages, %d newly queued",
        notice.id,
        len(targets),
        len(messages),
        enqueued,
    )
    lab = labels()
    rows = [[(lab.NOTICE_LIST, bt.NOTICES(0)), (lab.OVERVIEW_BACK, bt.OVERVIEW())]]
    text = render("notice_sent", count=notice.targets, messages=len(messages), created=created)
    return Outcome(text, rows)


FORM: Form[NoticeDraft] = Form(
    name=NAME,
    draft=NoticeDraft,
    steps=lambda draft: _STEPS,
    load=_load,
    review=_preview,
    save=_send_notice,
    counted=lambda draft: False,
)


async def begin(update: Update, context: BotContext) -> None:
    """/notice or 发通知 (nt:new): start writing a notice (or go on with the one open)."""
    if not await admin_here(update, context):
        return
    user = update.effective_user
    assert user is not None
    forms = app_of(context).forms
    await forms.start(update, context, NAME, NoticeDraft())


# -- /notices and 已阅 ---------------------------------------------------------------------------


def _local(context: BotContext, stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).astimezone(app_of(context).config.bot.tzinfo)


async def list_notices(update: Update, context: BotContext, page: int = 0) -> None:
    """/notices or a page of them: the notices sent, newest first, with 已阅 x/y."""
    if not await admin_here(update, context):
        return
    await answer(update)
    await close_keyboard(update)
    found, total = await notices.recent(
        app_of(context).database, limit=LIST_PAGE, offset=page * LIST_PAGE
    )
    pages = max(1, -(-total // LIST_PAGE))
    lab = labels()
    first = page * LIST_PAGE + 1
    rows = in_rows([(f"{first + i}", bt.NOTICE(n.id)) for i, n in enumerate(found)], 5)
    nav = []
    if page > 0:
        nav.append((lab.OVERVIEW_PREV, bt.NOTICES(page - 1)))
    if page + 1 < pages:
        nav.append((lab.OVERVIEW_MORE, bt.NOTICES(page + 1)))
    if nav:
        rows.append(nav)
    rows.append([(lab.NOTICE_NEW, bt.NOTICE_NEW()), (lab.OVERVIEW_BACK, bt.OVERVIEW())])
    items = [(n, _local(context, n.created_at)) for n in found]
    await reply_template(
        update, "notice_list", rows, items=items, total=total, first=first, page=page, pages=pages
    )


async def open_notice(update: Update, context: BotContext, notice_id: int) -> None:
    """One notice, its 已阅 count and the branches that have not read it."""
    if not await admin_here(update, context):
        return
    database = app_of(context).database
    found = await notices.get(database, notice_id)
    if found is None:
        await expired(update)
        return
    await answer(update)
    await close_keyboard(update)
    unread = [t for t in await notices.targets(database, found.id) if t.read_at is None]
    lab = labels()
    rows = [[(lab.NOTICE_LIST, bt.NOTICES(0)), (lab.OVERVIEW_BACK, bt.OVERVIEW())]]
    await reply_template(
        update,
        "notice_detail",
        rows,
        n=found,
        at=_local(context, found.created_at),
        unread=unread[:UNREAD_SHOWN],
        more=max(0, len(unread) - UNREAD_SHOWN),
    )


async def read(update: Update, context: BotContext, notice_id: int, branch_id: int) -> None:
    """已阅: a member of that branch notes the notice as read."""
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    if await access.authorize(database, user.id, branch_id, Need.READ) is None:
        await forbidden(update)
        return
    if await notices.target(database, notice_id, branch_id) is None:
        await expired(update)
        return
    marked = await notices.mark_read(database, notice_id, branch_id, user.id)
    _LOGGER.info("Notice %d read by branch %d (new: %s)", notice_id, branch_id, marked)
    await answer(update, render("notice_read", marked=marked))
    await close_keyboard(update)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/notice, /notices and their buttons."""
    return [
        CommandHandler("notice", begin),
        on(bt.NOTICE_NEW, begin),
        CommandHandler("notices", list_notices),
        on(bt.NOTICES, list_notices),
        on(bt.NOTICE, open_notice),
        on(bt.NOTICE_READ, read),
    ]
