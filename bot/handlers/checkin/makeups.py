"""补学: /makeups lists the current branch's open items, each with a ✅ button."""

from __future__ import annotations

from telegram import Update
from telegram.error import BadRequest

from bot import buttons as bt
from bot.application import BotContext, app_of
from bot.handlers.checkin.common import kind_name
from bot.handlers.common import (
    Buttons,
    answer,
    forbidden,
    is_private,
    keyboard,
    reply,
    reply_template,
)
from bot.texts import labels, render
from db import checkins, repo
from db.models import Branch

MAKEUPS_SHOWN = 20


async def _makeups_view(context: BotContext, branch: Branch) -> tuple[str, Buttons]:
    items = await checkins.open_makeups(app_of(context).database, branch.id)
    lab = labels()
    rows = [
        [
            (
                lab.MAKEUP_ITEM.format(
                    name=item.name,
                    month=item.held_on.month,
                    day=item.held_on.day,
                    kind=kind_name(item.kind),
                ),
                bt.MAKEUP_DONE(item.id),
            )
        ]
        for item in items[:MAKEUPS_SHOWN]
    ]
    text = render("makeup_list", branch=branch.profile.name, total=len(items), shown=MAKEUPS_SHOWN)
    return text, rows


async def show_makeups(update: Update, context: BotContext) -> None:
    """/makeups: the current branch's open 补学 items, each with a ✅ button."""
    user = update.effective_user
    assert user is not None
    if not is_private(update):
        await reply_template(update, "private_only")
        return
    current = await repo.current_membership(app_of(context).database, user.id)
    if current is None:
        await reply_template(update, "not_registered")
        return
    membership, branch = current
    if not membership.can_record:
        await forbidden(update)
        return
    text, rows = await _makeups_view(context, branch)
    await reply(update, text, rows)


async def makeup_tapped(update: Update, context: BotContext, item_id: int) -> None:
    """This member has made up the study."""
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    item = await checkins.get_makeup(database, item_id)
    if item is None:
        await answer(update, render("button_expired"), alert=True)
        return
    membership = await repo.get_membership(database, user.id, item.branch_id)
    branch = await repo.get_branch(database, item.branch_id)
    if membership is None or branch is None or not membership.can_record:
        await forbidden(update)
        return
    done = await checkins.makeup_done(database, makeup_id=item.id, user_id=user.id)
    await answer(update, render("makeup_done", done=done))
    text, rows = await _makeups_view(context, branch)
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(text, reply_markup=keyboard(rows))
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise
