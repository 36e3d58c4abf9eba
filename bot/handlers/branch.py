"""The branch profile: /branch shows it, editors change one field at a time; /switch."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot import access
from bot import buttons as bt
from bot.access import Need
from bot.application import BotContext, app_of
from bot.branch_profile import FIELDS, as_party_day, check_profile
from bot.callbacks import on
from bot.forms import Form, Outcome, Step, Turn
from bot.handlers import dues, profile_form
from bot.handlers.common import (
    answer,
    close_keyboard,
    current_branch,
    forbidden,
    in_rows,
    reply,
    reply_template,
)
from bot.handlers.profile_form import ProfileDraft
from bot.handlers.start import send_menu
from bot.member_counts import member_counts
from bot.texts import labels, render
from db import members, repo
from db.models import Branch, Membership

_LOGGER = logging.getLogger(__name__)


async def card_view(
    database: Any, membership: Membership, branch: Branch
) -> tuple[str, list[list[tuple[str, str]]]]:
    """The profile card, with edit buttons for those who may edit."""
    lab = labels()
    rows: list[list[tuple[str, str]]] = []
    can_edit = access.allows(membership.role, Need.EDIT)
    if can_edit:
        edits = [(lab.EDIT_PREFIX + lab.FIELDS[f], bt.PROFILE_EDIT(branch.id, f)) for f in FIELDS]
        rows = in_rows(edits, 3)
    rows.append([(lab.MENU, bt.HOME())])
    text = render(
        "branch_card",
        p=branch.profile,
        role=lab.ROLES[membership.role],
        can_edit=can_edit,
        warnings=check_profile(branch.profile),
        c=member_counts(branch, await members.list_for(database, branch.id)),
    )
    return text, rows


async def show_branch(update: Update, context: BotContext) -> None:
    """/branch or the 支部信息 button: the current branch's profile."""
    await answer(update)
    current = await current_branch(update, context)
    if current is None:
        return
    await close_keyboard(update)
    await reply(update, *await card_view(app_of(context).database, *current))


async def list_branches(update: Update, context: BotContext) -> None:
    """/switch: the user's branches as buttons."""
    await answer(update)
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    entries = await repo.list_memberships(database, user.id)
    if not entries:
        await reply_template(update, "not_registered")
        return
    current = await repo.current_membership(database, user.id)
    current_id = current[1].id if current else None
    lab = labels()
    rows = [
        [
            (
                (lab.CURRENT_MARK if branch.id == current_id else "") + branch.profile.name[:40],
                bt.SWITCH(branch.id),
            )
        ]
        for _, branch in entries
    ]
    await reply_template(update, "switch_list", rows, count=len(entries))


async def switch(update: Update, context: BotContext, branch_id: int) -> None:
    """Make the tapped branch the current one (only a branch the user belongs to)."""
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    if not await repo.set_current_branch(database, user.id, branch_id):
        await forbidden(update)
        return
    await answer(update)
    await close_keyboard(update)
    branch = await repo.get_branch(database, branch_id)
    assert branch is not None
    await reply_template(update, "switched", name=branch.profile.name)
    await send_menu(update, context)


async def _load_edit(turn: Turn[ProfileDraft]) -> tuple[Membership, Branch]:
    """The branch being edited, while the user may still edit it."""
    return await turn.authorize(turn.draft.branch_id, Need.EDIT)


def _edit_steps(draft: ProfileDraft) -> list[Step[ProfileDraft]]:
    assert draft.field is not None
    return [
        profile_form.field_step(draft.field, template="branch_ask", current=draft.current_text)
    ]


async def _apply(turn: Turn[ProfileDraft], key: str) -> Outcome:
    membership, branch = turn.env
    field = turn.draft.field
    assert field is not None
    value = getattr(turn.draft, field)
    if field == "party_day":
        value = as_party_day(value)
    if profile_form.saved_value(branch.profile, field) == value:
        text = render("branch_unchanged")
    else:
        updated = await repo.update_branch(
            turn.database,
            user_id=turn.user_id,
            branch_id=branch.id,
            changes=profile_form.changes_for(field, value),
        )
        assert updated is not None
        branch = updated
        await dues.settle_marks(turn.database, branch.id, turn.user_id, turn.today)
        text = render("branch_updated", field=field)
    return Outcome(text, more=(await card_view(turn.database, membership, branch),))


EDIT_FORM: Form[ProfileDraft] = Form(
    name="bre",
    draft=ProfileDraft,
    steps=_edit_steps,
    load=_load_edit,
    save=_apply,
)


async def begin_edit(update: Update, context: BotContext, branch_id: int, field: str) -> None:
    """An edit button on the profile card."""
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    found = await access.authorize(database, user.id, branch_id, Need.EDIT)
    if found is None:
        await forbidden(update)
        return
    draft = ProfileDraft(branch_id=found[1].id, field=field)
    draft.current_text = profile_form.show_value(
        field, profile_form.saved_value(found[1].profile, field)
    )
    await app_of(context).forms.start(update, context, EDIT_FORM.name, draft)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Profile card, profile editing and switching branches."""
    return [
        on(bt.PROFILE_EDIT, begin_edit),
        CommandHandler("branch", show_branch),
        on(bt.MENU_BRANCH, show_branch),
        CommandHandler("switch", list_branches),
        on(bt.MENU_SWITCH, list_branches),
        on(bt.SWITCH, switch),
    ]
