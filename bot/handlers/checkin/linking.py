"""First sign-in: the user picks their roster name in a private chat (never as a list in the
group), page by page, or says it is not there.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from telegram import Update

from bot import buttons as bt
from bot.application import BotContext, app_of
from bot.callbacks import Route
from bot.handlers.checkin.common import (
    Occasion,
    cannot_write,
    card_of_tap,
    drop_pick,
    kind_name,
    pick_of,
    say,
    set_pick,
    write_privately,
)
from bot.handlers.common import (
    Buttons,
    answer,
    close_keyboard,
    in_rows,
    is_private,
    keyboard,
    reply_template,
)
from bot.texts import labels, render
from db import members
from db.models import Member

_LOGGER = logging.getLogger(__name__)
NAMES_PER_PAGE = 30


class PickRoutes(msgspec.Struct, frozen=True):
    """The buttons of a name list, and the deep link's start word, for one kind of card."""

    names: Route  # (card, page)
    name: Route  # (card, member)
    not_listed: Route  # (card)
    start: str


CHECKIN = PickRoutes(bt.SIGN_NAMES, bt.SIGN_NAME, bt.SIGN_NOT_LISTED, "checkin")


async def _unlinked_party(context: BotContext, branch_id: int) -> list[Member]:
    roster = await members.list_for(app_of(context).database, branch_id)
    return [m for m in roster if m.is_party_member and m.user_id is None]


async def _names_view(
    context: BotContext, card: Occasion, page: int, routes: PickRoutes
) -> tuple[str, Buttons] | None:
    """The private list of names to pick from (None: no unlinked name left)."""
    names = await _unlinked_party(context, card.branch_id)
    if not names:
        return None
    pages = (len(names) + NAMES_PER_PAGE - 1) // NAMES_PER_PAGE
    page = min(max(page, 0), pages - 1)
    shown = names[page * NAMES_PER_PAGE : (page + 1) * NAMES_PER_PAGE]
    lab = labels()
    rows: list[list[tuple[str, str]]] = in_rows(
        [(m.name, routes.name(card.id, m.id)) for m in shown], 3
    )
    nav = []
    if page > 0:
        nav.append((lab.PREV_PAGE, routes.names(card.id, page - 1)))
    if page < pages - 1:
        nav.append((lab.NEXT_PAGE, routes.names(card.id, page + 1)))
    if nav:
        rows.append(nav)
    rows.append([(lab.CHECKIN_NOT_LISTED, routes.not_listed(card.id))])
    text = render(
        "checkin_note",
        what="pick",
        kind=kind_name(card.kind),
        held_on=card.held_on,
        page=page,
        pages=pages,
        start=routes.start,
    )
    return text, rows


async def offer_names(
    update: Update,
    context: BotContext,
    card: Occasion,
    intent: str,
    routes: PickRoutes = CHECKIN,
) -> None:
    """First tap: the user picks their name in private (the group never sees the list)."""
    user = update.effective_user
    assert user is not None
    await set_pick(context, user.id, card, intent)
    view = await _names_view(context, card, 0, routes)
    if view is None:
        await say(update, render("checkin_note", what="not_on_roster"))
        return
    sent = await write_privately(update, context, *view)
    if sent is None:
        await cannot_write(update, context, card, routes.start)
    elif not is_private(update):
        await answer(update, render("checkin_note", what="pick_sent"), alert=True)
    else:
        await answer(update)


async def page_tapped(update: Update, context: BotContext, checkin_id: int, page: int) -> None:
    """Another page of names."""
    user = update.effective_user
    assert user is not None
    pick = await pick_of(context, user.id)
    card = await card_of_tap(update, context, checkin_id)
    if card is None:
        return
    await turn_page(update, context, card, page, pick, ("in", "lv"), CHECKIN)


async def turn_page(
    update: Update,
    context: BotContext,
    card: Occasion,
    page: int,
    pick: dict[str, Any] | None,
    intents: tuple[str, ...],
    routes: PickRoutes,
) -> None:
    """Show a page of names for the card the user is picking on (else: expired)."""
    if not pick or pick["id"] != card.id or pick.get("intent") not in intents:
        await answer(update, render("button_expired"), alert=True)
        return
    view = await _names_view(context, card, page, routes)
    await answer(update)
    query = update.callback_query
    assert query is not None
    if view is None:
        await close_keyboard(update)
        await reply_template(update, "checkin_note", what="not_on_roster")
        return
    await query.edit_message_text(view[0], reply_markup=keyboard(view[1]))


async def not_listed(update: Update, context: BotContext, card_id: int) -> None:
    """名单里没有我."""
    user = update.effective_user
    assert user is not None
    await drop_pick(context, user.id)
    await answer(update)
    await close_keyboard(update)
    await reply_template(update, "checkin_note", what="not_on_roster")


async def link_picked(
    update: Update,
    context: BotContext,
    card: Occasion,
    member_id: int,
    pick: dict[str, Any] | None,
    intents: tuple[str, ...],
) -> Member | None:
    """Link the user to the name picked for this card (else answered); the pick is done."""
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    member = None
    if pick and pick["id"] == card.id and pick.get("intent") in intents:
        member = await members.get(database, card.branch_id, member_id)
    if member is None or not member.is_party_member:
        await answer(update, render("button_expired"), alert=True)
        return None
    linked = await members.by_user(database, card.branch_id, user.id)
    if linked is None:
        if not await members.link_user(database, card.branch_id, member.id, user.id):
            await answer(update, render("checkin_note", what="taken"), alert=True)
            return None
        _LOGGER.info("User %d linked to member %d", user.id, member.id)
        linked = member
    await drop_pick(context, user.id)
    await close_keyboard(update)
    return linked
