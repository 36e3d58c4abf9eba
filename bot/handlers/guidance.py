"""Rule guidance: /ask and plain questions in a private chat, the entries and guides (kb:<id>),
the formation advisor (/formation, fa:*), and the self-checks (/selfcheck, sc:*).

Questions need no registration. Answers come from bot/knowledge (entries written from the seed
documents and FACTS.md); questions with numbers are answered for those numbers. The advisor and
the self-checks keep their answers in the buttons' data, so they survive restarts and need no
conversation; a finished self-check is saved once per card for the user's current branch.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot import buttons as bt
from bot.application import BotContext, app_of
from bot.callbacks import on
from bot.handlers.common import (
    Buttons,
    active_flow,
    answer,
    in_rows,
    is_private,
    keyboard,
    local_today,
    reply,
    reply_template,
)
from bot.handlers.start import send_menu
from bot.knowledge import Entry, entries
from bot.knowledge import formation as advisor
from bot.partyday import ideas_for
from bot.texts import environment, labels, render
from db import repo, selfchecks

if TYPE_CHECKING:  # imported on the first question: the bot starts without them (~40 ms)
    from bot.knowledge.answering import Decision

_LOGGER = logging.getLogger(__name__)
RELATED_SHOWN = 3


def _entry_rows(ids: list[str]) -> list[list[tuple[str, str]]]:
    found = entries()
    return [[(found[i].title, bt.ENTRY(i))] for i in ids if i in found]


def _more_rows() -> list[list[tuple[str, str]]]:
    lab = labels()
    return [
        [(lab.MENU_GUIDES, bt.MENU_GUIDES()), (lab.MENU_FORMATION, bt.FORMATION[0]())],
        [(lab.MENU_SELFCHECK, bt.MENU_SELFCHECK())],
    ]


# -- questions -----------------------------------------------------------------------------------


async def ask_command(update: Update, context: BotContext) -> None:
    """/ask <question>, or /ask alone and 规则问答 in the menu: how to ask."""
    await answer(update)
    if update.message is not None and context.args:
        await answer_question(update, context, " ".join(context.args))
        return
    await reply_template(update, "ask_intro", _more_rows())


async def ask_text(update: Update, context: BotContext) -> None:
    """Plain text in a private chat while no flow waits for it: a question."""
    if active_flow(context):
        await reply_template(update, "no_flow_hint")
        return
    assert update.message is not None
    await answer_question(update, context, update.message.text or "")


def reply_for(decision: Decision, today: date, *, in_form: bool = False) -> tuple[str, Buttons]:
    """The text and buttons answering a decided question (`in_form`: asked inside a form)."""
    kind, value = decision.kind, decision.value
    if kind == "no_such_date":
        return render("kb_numbers", kind=kind), ()
    if kind == "probation":
        rows = _entry_rows(["probation-period", "probation-extension", "admission-vote"])
        return render("kb_numbers", kind=kind, p=value, today=today), rows
    if kind == "dues":
        rows = _entry_rows(["dues-base", "dues-payment", "dues-hardship"])
        return render("kb_numbers", kind=kind, d=value), rows
    if kind == "dues_range":
        rows = _entry_rows(["dues-base", "dues-rate"])
        return render("kb_numbers", kind=kind, r=value), rows
    if kind == "dues_unclear":
        return render("kb_numbers", kind=kind, u=value), _entry_rows(["dues-base", "dues-rate"])
    if kind == "committee_quorum":
        rows = _entry_rows(["meeting-committee", "guide-meeting-committee", "committee-size"])
        return render("kb_numbers", kind=kind, q=value), rows
    if kind in ("quorum", "quorum_needed"):
        rows = _entry_rows(["quorum-vote", "meeting-general", "admission-vote"])
        return render("kb_numbers", kind=kind, q=value), rows
    if kind == "formation":
        detail = bt.FORMATION[2](value.formal, value.probationary)
        rows = [[(labels().FORMATION_DETAIL, detail)], *_entry_rows(["formation-steps"])]
        return render("formation", view="advice", a=value), rows
    if kind in ("greeting", "thanks", "stray"):
        return render("kb_small_talk", kind=kind), ()
    if kind == "off_topic":
        return render("kb_off_topic", write=value == "write", in_form=in_form), _more_rows()
    if kind == "weak":
        return render("kb_weak"), _entry_rows([hit.entry.id for hit in value.hits])
    return _entry_reply(value)


def _entry_reply(entry: Entry) -> tuple[str, Buttons]:
    rows = _entry_rows(list(entry.related[:RELATED_SHOWN]))
    return render("kb_answer", entry=entry, intro=""), rows


async def answer_question(update: Update, context: BotContext, question: str) -> None:
    """Answer one question (the index is built in a worker thread if not ready yet)."""
    from bot.knowledge import search
    from bot.knowledge.answering import decide, small_talk

    decision = small_talk(question)
    if decision is None:
        if not search.ready():
            await asyncio.to_thread(search.index)
        decision = decide(question, local_today(context))
    # The entry chosen, never the question: logs carry no message texts.
    _LOGGER.info(
        "Question answered: %s %s",
        decision.kind,
        decision.value.id if isinstance(decision.value, Entry) else "",
    )
    user = update.effective_user
    # Typed in the middle of a form: the reply must not say that nothing is going on.
    in_form = user is not None and app_of(context).forms.active(user.id) is not None
    text, rows = reply_for(decision, local_today(context), in_form=in_form)
    await reply(update, text, rows)
    if decision.kind in ("greeting", "thanks"):  # a friendly line, then the menu
        await send_menu(update, context)


async def explain_entry(update: Update, context: BotContext, entry_id: str) -> bool:
    """A form step's "❓ 这一项怎么填": the knowledge entry with its source; False if unknown."""
    found = entries().get(entry_id)
    if found is None:
        return False
    await reply(update, *_entry_reply(found))
    return True


async def entry_tapped(update: Update, context: BotContext, entry_id: str) -> None:
    """An entry or guide (from related buttons, the guide list or the logging flow)."""
    found = entries().get(entry_id)
    if found is None:
        await answer(update, render("button_expired"), alert=True)
        return
    await answer(update)
    await reply(update, *_entry_reply(found))


async def guides(update: Update, context: BotContext) -> None:
    """/guide and 操作指引: the step-by-step guides, and the 主题党日 ideas by month."""
    await answer(update)
    found = [e for e in entries().values() if e.is_guide]
    rows = [[(e.title, bt.ENTRY(e.id))] for e in found]
    month = local_today(context).month
    rows.append([(labels().PARTY_DAY_IDEAS, bt.IDEAS(month))])
    await reply(update, render("guides_list"), rows)


async def ideas(update: Update, context: BotContext, month: int) -> None:
    """主题党日 ideas for a month, with the months before and after."""
    await answer(update)
    organization_type = None
    user = update.effective_user
    if user is not None:
        current = await repo.current_membership(app_of(context).database, user.id)
        if current is not None:
            organization_type = current[1].profile.organization_type
    found = ideas_for(month, organization_type, limit=8)
    before, after = (month + 10) % 12 + 1, month % 12 + 1
    lab = labels()
    rows = [[(lab.PREV_MONTH.format(month=before), bt.IDEAS(before)),
             (lab.NEXT_MONTH.format(month=after), bt.IDEAS(after))]]  # fmt: skip
    await _edit_or_reply(update, render("guide_ideas", month=month, ideas=found), rows)


# -- formation advisor ---------------------------------------------------------------------------


def _ask_rows(question: str, values: tuple[str, ...]) -> list[list[tuple[str, str]]]:
    lab = labels()
    step = bt.FORMATION[len(values) + 1]
    if question == "formal":
        return in_rows([(lab.FORMAL_CHOICES[c], step(c)) for c in advisor.FORMAL_CHOICES], 3)
    if question == "probationary":
        choices = advisor.PROBATIONARY_CHOICES
        return in_rows([(lab.PROBATIONARY_CHOICES[c], step(*values, c)) for c in choices], 4)
    if question == "type":
        types = enumerate(advisor.ORG_TYPES)
        return [[(lab.ORGANIZATION_TYPES[t], step(*values, str(i)))] for i, t in types]
    return [[(lab.ANSWERS[a], step(*values, a)) for a in advisor.ANSWERS]]


async def formation(update: Update, context: BotContext, *values: str) -> None:
    """/formation and its buttons: formal → probationary → type → supervisor → peers → advice.

    The answers so far ride in the buttons' data (bot.buttons.FORMATION).
    """
    questions = ["formal", "probationary", "type", "supervisor", "peers"]
    await answer(update)
    enough = bool(values) and values[0] in ("3-6", "7-50", "51+")
    if len(values) == 5 or (enough and len(values) == 3):
        formal, probationary, type_index = values[:3]
        advice = advisor.advise(
            formal,
            probationary,
            advisor.ORG_TYPES[int(type_index)],
            values[3] if len(values) > 3 else "u",
            values[4] if len(values) > 4 else "u",
        )
        rows = [
            [(labels().RESTART, bt.FORMATION[0]())],
            *_entry_rows(["formation-modes", "formation-steps"]),
        ]
        await _edit_or_reply(update, render("formation", view="advice", a=advice), rows)
        return
    question = questions[len(values)]
    total = 3 if enough else 5
    text = render("formation", view="ask", question=question, step=len(values) + 1, total=total)
    await _edit_or_reply(update, text, _ask_rows(question, values))


async def _edit_or_reply(update: Update, text: str, rows: Buttons) -> None:
    """Edit the tapped message in place (a step of a short flow), or send a new one."""
    query = update.callback_query
    if query is not None and isinstance(query.message, Message):
        try:
            await query.edit_message_text(text, reply_markup=keyboard(rows))
            return
        except BadRequest as exc:
            if "not modified" in exc.message:
                return
            if "can't be edited" not in exc.message and "not found" not in exc.message:
                raise
    await reply(update, text, rows)


# -- self-checks ---------------------------------------------------------------------------------


def _checks() -> dict[str, Any]:
    return environment().get_template("selfcheck_items.j2").module.CHECKS


async def selfcheck_menu(update: Update, context: BotContext) -> None:
    """/selfcheck and 支部自查: choose a check; the last result of each is shown."""
    await answer(update)
    if not is_private(update):
        await reply_template(update, "private_only")
        return
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    current = await repo.current_membership(database, user.id)
    checks = _checks()
    lasts = []
    for kind in checks:
        last = await selfchecks.latest(database, current[1].id, kind) if current else None
        lasts.append((kind, last))
    rows = [[(checks[kind]["title"], bt.SELFCHECK(kind, ""))] for kind in checks]
    saving = current is not None and current[0].can_record
    await reply_template(
        update, "selfcheck", rows, view="menu", checks=checks, lasts=lasts, saving=saving
    )


async def selfcheck_step(update: Update, context: BotContext, kind: str, given: str) -> None:
    """The answers so far ride in the button: ask the next item, or score, save and advise."""
    checks = _checks()
    if kind not in checks:
        await answer(update, render("button_expired"), alert=True)
        return
    check = checks[kind]
    items = check["items"]
    if len(given) > len(items):
        await answer(update, render("button_expired"), alert=True)
        return
    await answer(update)
    lab = labels()
    if len(given) < len(items):
        rows = [[(lab.SELFCHECK_YES, bt.SELFCHECK(kind, given + "y")),
                 (lab.SELFCHECK_NO, bt.SELFCHECK(kind, given + "n"))]]  # fmt: skip
        text = render("selfcheck", view="question", check=check, index=len(given))
        if given:
            await _edit_or_reply(update, text, rows)
        else:  # each run of a check is its own card (saved once per card)
            await reply(update, text, rows)
        return
    score = given.count("y")
    missing = [item for item, a in zip(items, given, strict=True) if a == "n"]
    saved, previous = await _save_check(update, context, kind, given, score, len(items))
    rows = [
        [(lab.SELFCHECK_AGAIN, bt.SELFCHECK(kind, "")), (lab.SELFCHECK_OTHER, bt.MENU_SELFCHECK())]
    ]
    text = render(
        "selfcheck",
        view="result",
        kind=kind,
        check=check,
        score=score,
        total=len(items),
        missing=missing,
        previous=previous,
        saved=saved,
    )
    await _edit_or_reply(update, text, rows)


async def _save_check(
    update: Update, context: BotContext, kind: str, given: str, score: int, total: int
) -> tuple[bool, selfchecks.SelfCheck | None]:
    """Save a finished check for the user's current branch (once per card)."""
    user = update.effective_user
    query = update.callback_query
    assert user is not None and query is not None
    database = app_of(context).database
    current = await repo.current_membership(database, user.id)
    if current is None or not current[0].can_record or not isinstance(query.message, Message):
        return False, None
    branch = current[1]
    source_key = f"{query.message.chat.id}:{query.message.message_id}:{kind}"
    await selfchecks.save(
        database,
        user_id=user.id,
        branch_id=branch.id,
        kind=kind,
        answers=given,
        score=score,
        total=total,
        checked_on=local_today(context),
        source_key=source_key,
    )
    this = await selfchecks.by_source(database, source_key)
    assert this is not None
    return True, await selfchecks.latest(database, branch.id, kind, before_id=this.id)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Questions, entries, guides, the advisor and the self-checks.

    The plain-text handler must come after every flow (it is registered before start's
    catch-alls).
    """
    return [
        CommandHandler("ask", ask_command),
        on(bt.MENU_ASK, ask_command),
        on(bt.ENTRY, entry_tapped),
        CommandHandler("guide", guides),
        on(bt.MENU_GUIDES, guides),
        on(bt.IDEAS, ideas),
        CommandHandler("formation", formation),
        *(on(step, formation) for step in bt.FORMATION),
        CommandHandler("selfcheck", selfcheck_menu),
        on(bt.MENU_SELFCHECK, selfcheck_menu),
        on(bt.SELFCHECK, selfcheck_step),
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, ask_text),
    ]
