"""Registering a branch (/start for a newcomer, /register, 登记新支部): a form, one field at a
time, ending on a review card. The form engine keeps the draft; its key makes saving idempotent.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot import buttons as bt
from bot.application import BotContext, app_of
from bot.branch_profile import FIELDS, check_profile, profile_from_values
from bot.callbacks import on
from bot.forms import Form, Outcome, Step, Turn
from bot.handlers import profile_form
from bot.handlers.common import answer, in_rows, is_private, reply_template
from bot.handlers.start import menu_view, send_menu
from bot.texts import labels, render
from db import repo

_LOGGER = logging.getLogger(__name__)
NAME = "reg"
ProfileDraft = profile_form.ProfileDraft


def _steps(draft: ProfileDraft) -> list[Step[ProfileDraft]]:
    return [profile_form.field_step(field) for field in FIELDS]


async def _review(turn: Turn[ProfileDraft]) -> tuple[str, list[list[tuple[str, str]]]]:
    profile = profile_from_values(turn.draft.values)
    lab = labels()
    edits = [(lab.EDIT_PREFIX + lab.FIELDS[f], f"e:{f}") for f in FIELDS]
    rows = [[(lab.CONFIRM, "v")], *in_rows(edits, 3), [(lab.DISCARD, "x")]]
    text = render("reg_review", p=profile, warnings=check_profile(profile))
    return text, rows


async def _save(turn: Turn[ProfileDraft], key: str) -> Outcome:
    profile = profile_from_values(turn.draft.values)
    branch, created = await repo.create_branch(
        turn.database, user_id=turn.user_id, profile=profile, draft_key=key
    )
    _LOGGER.info("Branch %s registered (new=%s)", branch.id, created)
    text = render("reg_saved" if created else "reg_already_saved", name=branch.profile.name)
    menu = await menu_view(turn.database, app_of(turn.context).config, turn.user_id)
    return Outcome(text, more=(menu,) if menu else ())


FORM: Form[ProfileDraft] = Form(
    name=NAME,
    draft=ProfileDraft,
    steps=_steps,
    review=_review,
    save=_save,
)


async def begin(update: Update, context: BotContext) -> None:
    """Start registering a new branch (/register or the menu button)."""
    await answer(update)
    if not is_private(update):
        await reply_template(update, "private_only")
        return
    forms = app_of(context).forms
    intro = None if forms.active(_user(update)) else render("welcome", total=len(FIELDS))
    await forms.start(update, context, NAME, ProfileDraft(), intro=intro)


async def start_or_menu(update: Update, context: BotContext) -> None:
    """/start: the main menu for a registered user, the registration for a newcomer."""
    if not is_private(update):
        await reply_template(update, "private_only")
        return
    user_id = _user(update)
    forms = app_of(context).forms
    if forms.active(user_id):
        await forms.resume(update, context, same=forms.active(user_id) == NAME)
        return
    if await repo.current_membership(app_of(context).database, user_id):
        await send_menu(update, context)
        return
    await begin(update, context)


def _user(update: Update) -> int:
    user = update.effective_user
    assert user is not None
    return user.id


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The ways into the registration form."""
    return [
        CommandHandler("start", start_or_menu),
        CommandHandler("register", begin),
        on(bt.MENU_NEW, begin),
    ]
