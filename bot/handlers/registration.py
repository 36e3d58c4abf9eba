"""Registering a branch: a guided flow, one field at a time, ending on a review card.

The draft lives in user_data["registration"] (persisted with the conversation state after every
update), so a restart continues at the same step. It carries a key that makes saving idempotent.
"""

from __future__ import annotations

import logging
import uuid
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

from bot.application import BotContext, app_of
from bot.branch_profile import FIELDS, InvalidAnswer, check_profile, profile_from_values
from bot.handlers import profile_form
from bot.handlers.common import (
    answer,
    callback_parts,
    close_keyboard,
    conversation,
    in_rows,
    is_private,
    reply,
    reply_template,
    set_flow,
    user_data,
)
from bot.handlers.start import send_menu
from bot.texts import labels, render
from db import repo

_LOGGER = logging.getLogger(__name__)
FLOW = "registration"
DRAFT = "registration"


class State(IntEnum):
    """Where the registration conversation is."""

    ASKING = 1
    REVIEW = 2


def _draft(context: BotContext) -> dict[str, Any]:
    draft = user_data(context).get(DRAFT)
    if draft is None:
        draft = _new_draft()
        user_data(context)[DRAFT] = draft
    return draft


def _new_draft() -> dict[str, Any]:
    return {"key": uuid.uuid4().hex, "field": FIELDS[0], "values": {}, "to_review": False}


async def _ask(update: Update, context: BotContext, error: InvalidAnswer | None = None) -> int:
    """Ask the draft's current field."""
    draft = _draft(context)
    field = draft["field"]
    lab = labels()
    nav: list[tuple[str, str]] = []
    if draft["to_review"]:
        nav.append((lab.TO_REVIEW, "reg:review"))
    elif FIELDS.index(field) > 0:
        nav.append((lab.BACK, "reg:back"))
    nav.append((lab.CANCEL, "reg:cancel"))
    text = profile_form.prompt(
        field,
        step=None if draft["to_review"] else FIELDS.index(field) + 1,
        total=len(FIELDS),
        current=draft["values"].get(field) if draft["to_review"] else None,
        error=error,
    )
    await reply(update, text, [*profile_form.option_rows("reg:set", field), nav])
    return State.ASKING


async def _review(update: Update, context: BotContext) -> int:
    """Show the review card with the rule warnings (or ask what is still missing)."""
    draft = _draft(context)
    if _missing(context):
        draft["field"], draft["to_review"] = _missing(context)[0], False
        return await _ask(update, context)
    profile = profile_from_values(draft["values"])
    lab = labels()
    edits = [(lab.EDIT_PREFIX + lab.FIELDS[f], f"reg:edit:{f}") for f in FIELDS]
    rows = [[(lab.CONFIRM, "reg:save")], *in_rows(edits, 3), [(lab.DISCARD, "reg:cancel")]]
    await reply_template(update, "reg_review", rows, p=profile, warnings=check_profile(profile))
    return State.REVIEW


async def _accept(update: Update, context: BotContext, value: Any) -> int:
    """Store an answer and move on: the next field, or the review card."""
    draft = _draft(context)
    draft["values"][draft["field"]] = value
    missing = [f for f in FIELDS if f not in draft["values"]]
    if draft["to_review"] or not missing:
        draft["to_review"] = True
        return await _review(update, context)
    draft["field"] = missing[0]
    return await _ask(update, context)


async def begin(update: Update, context: BotContext) -> int:
    """Start registering a new branch (first /start, /register or the menu button)."""
    await answer(update)
    if not is_private(update):
        await reply_template(update, "private_only")
        return ConversationHandler.END
    await close_keyboard(update)
    user_data(context)[DRAFT] = _new_draft()
    set_flow(context, FLOW)
    await reply_template(update, "welcome", total=len(FIELDS))
    return await _ask(update, context)


async def typed(update: Update, context: BotContext) -> int:
    """A typed answer to the current question."""
    draft = _draft(context)
    assert update.message is not None
    try:
        value = profile_form.read_typed(draft["field"], update.message.text or "")
    except InvalidAnswer as error:
        return await _ask(update, context, error)
    return await _accept(update, context, value)


async def tapped(update: Update, context: BotContext) -> int:
    """A tapped answer; a button left over from an earlier question is refused."""
    draft = _draft(context)
    parts = callback_parts(update)
    if len(parts) != 4 or parts[2] != draft["field"]:
        await answer(update, render("button_expired"), alert=True)
        return State.ASKING
    try:
        value = profile_form.read_tapped(parts[2], parts[3])
    except InvalidAnswer:
        await answer(update, render("button_expired"), alert=True)
        return State.ASKING
    await answer(update)
    await close_keyboard(update)
    return await _accept(update, context, value)


async def back(update: Update, context: BotContext) -> int:
    """Go back to the previous question."""
    await answer(update)
    await close_keyboard(update)
    draft = _draft(context)
    index = FIELDS.index(draft["field"])
    draft["field"] = FIELDS[max(index - 1, 0)]
    return await _ask(update, context)


async def to_review(update: Update, context: BotContext) -> int:
    """Leave a field unchanged and return to the review card."""
    await answer(update)
    await close_keyboard(update)
    return await _review(update, context)


async def edit(update: Update, context: BotContext) -> int:
    """Change one field from the review card."""
    parts = callback_parts(update)
    if len(parts) != 3 or parts[2] not in FIELDS:
        await answer(update, render("button_expired"), alert=True)
        return State.REVIEW
    await answer(update)
    await close_keyboard(update)
    draft = _draft(context)
    draft["field"] = parts[2]
    draft["to_review"] = True
    return await _ask(update, context)


async def review_typed(update: Update, context: BotContext) -> int:
    """Text sent while the review card waits for a tap."""
    await reply(update, render("input_error", error=InvalidAnswer("need_button")))
    return await _review(update, context)


async def save(update: Update, context: BotContext) -> int:
    """Save the branch; a second tap on the same card cannot create it twice."""
    draft = _draft(context)
    user = update.effective_user
    assert user is not None
    profile = profile_from_values(draft["values"])
    branch, created = await repo.create_branch(
        app_of(context).database, user_id=user.id, profile=profile, draft_key=draft["key"]
    )
    _LOGGER.info("Branch %s registered (new=%s)", branch.id, created)
    await answer(update)
    await close_keyboard(update)
    await reply_template(
        update, "reg_saved" if created else "reg_already_saved", name=branch.profile.name
    )
    # The draft is dropped only after the user has seen the result: if Telegram fails above,
    # the flow stays on the review card and saving again finds the branch already saved.
    user_data(context).pop(DRAFT, None)
    set_flow(context, None)
    await send_menu(update, context)
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    """Leave the registration; nothing of the draft is kept."""
    await answer(update)
    await close_keyboard(update)
    user_data(context).pop(DRAFT, None)
    set_flow(context, None)
    await reply_template(update, "cancelled")
    return ConversationHandler.END


async def resume(update: Update, context: BotContext) -> None:
    """/start or /register while registering: continue where the user left off."""
    await answer(update)
    await reply_template(update, "reg_resume")
    if _draft(context)["to_review"] and not _missing(context):
        await _review(update, context)
    else:
        await _ask(update, context)


def _missing(context: BotContext) -> list[str]:
    values = _draft(context)["values"]
    return [f for f in FIELDS if f not in values]


async def start_or_menu(update: Update, context: BotContext) -> int:
    """/start: the main menu for a registered user, the registration for a newcomer."""
    user = update.effective_user
    if user is None:
        return ConversationHandler.END
    if not is_private(update):
        await reply_template(update, "private_only")
        return ConversationHandler.END
    if await repo.current_membership(app_of(context).database, user.id):
        await send_menu(update, context)
        return ConversationHandler.END
    return await begin(update, context)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The registration conversation."""
    text = filters.TEXT & ~filters.COMMAND
    return [
        conversation(
            name="registration",
            entry_points=[
                CommandHandler("start", start_or_menu),
                CommandHandler("register", begin),
                CallbackQueryHandler(begin, pattern=r"^menu:new$"),
            ],
            states={
                State.ASKING: [
                    MessageHandler(text, typed),
                    CallbackQueryHandler(tapped, pattern=r"^reg:set:"),
                    CallbackQueryHandler(back, pattern=r"^reg:back$"),
                    CallbackQueryHandler(to_review, pattern=r"^reg:review$"),
                    CallbackQueryHandler(cancel, pattern=r"^reg:cancel$"),
                ],
                State.REVIEW: [
                    CallbackQueryHandler(save, pattern=r"^reg:save$"),
                    CallbackQueryHandler(edit, pattern=r"^reg:edit:"),
                    CallbackQueryHandler(cancel, pattern=r"^reg:cancel$"),
                    MessageHandler(text, review_typed),
                ],
            },
            fallbacks=[
                CommandHandler("cancel", cancel),
                CommandHandler(["start", "register"], resume),
                CallbackQueryHandler(resume, pattern=r"^menu:new$"),
            ],
        )
    ]
