"""Invitation links: the secretary or deputy invites to the branch, an admin invites admins,
and `/start join_<token>` is the link an invited person taps.

- the secretary invites a deputy, a committee member or a viewer; a deputy invites committee
  members and viewers (bot.access.invitable_by); each lists and revokes those invitations;
- an admin of the superior organization (config admin_ids or invited) invites admins.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot import access
from bot import buttons as bt
from bot.access import Need
from bot.application import BotContext, app_of
from bot.callbacks import on
from bot.handlers import registration
from bot.handlers.common import (
    allowed,
    answer,
    close_keyboard,
    forbidden,
    in_rows,
    is_private,
    reply_template,
)
from bot.handlers.start import send_menu
from bot.handlers.team import is_admin, local, tell, who
from bot.texts import labels, render
from db import invitations, repo
from db.invitations import ADMIN, Invitation
from db.models import Branch

_LOGGER = logging.getLogger(__name__)
JOIN_PREFIX = "join_"


async def choose_role(update: Update, context: BotContext, branch_id: int) -> None:
    """Which role to invite."""
    current = await allowed(update, context, branch_id, Need.EDIT)
    if current is None:
        return
    membership, branch = current
    await answer(update)
    await close_keyboard(update)
    lab = labels()
    roles = access.invitable_by(membership.role)
    rows = [
        [(lab.TEAM_INVITE_AS.format(role=lab.ROLES[r]), bt.TEAM_INVITE_AS(branch.id, r))]
        for r in roles
    ]
    rows.append([(lab.TEAM_BACK, bt.TEAM(branch.id))])
    await reply_template(update, "team_invite", rows, view="choose", roles=roles)


def _source_key(update: Update) -> str:
    """The chat and message of the tap (or command): one invitation per card."""
    query = update.callback_query
    message = query.message if query else update.effective_message
    chat = update.effective_chat
    assert chat is not None and message is not None
    return f"{chat.id}:{message.message_id}"


async def _send_link(
    update: Update,
    context: BotContext,
    made: tuple[str, datetime] | None,
    role: str,
    branch: Branch | None,
) -> None:
    if made is None:
        await answer(update, render("team_invite", view="repeated"), alert=True)
        return
    token, expires = made
    await answer(update)
    await close_keyboard(update)
    link = f"https://t.me/{context.bot.username}?start={JOIN_PREFIX}{token}"
    rows = [[(labels().TEAM_BACK, bt.TEAM(branch.id))]] if branch else []
    await reply_template(
        update,
        "team_invite",
        rows,
        view="link",
        link=link,
        role=role,
        branch_name=branch.profile.name if branch else "",
        expires=local(context, expires),
    )


async def create(update: Update, context: BotContext, branch_id: int, role: str) -> None:
    """Make a link for that role."""
    current = await allowed(update, context, branch_id, Need.EDIT)
    if current is None:
        return
    membership, branch = current
    if role not in access.invitable_by(membership.role):
        await forbidden(update)
        return
    made = await invitations.create(
        app_of(context).database,
        branch_id=branch.id,
        role=role,
        created_by=membership.user_id,
        source_key=_source_key(update),
    )
    _LOGGER.info("Invitation for branch %s made by %s", branch.id, membership.user_id)
    await _send_link(update, context, made, role, branch)


async def _invitation_list(
    update: Update,
    context: BotContext,
    found: list[Invitation],
    branch: Branch | None,
) -> None:
    lab = labels()
    buttons = [
        (lab.TEAM_REVOKE.format(n=n),
         bt.TEAM_REVOKE(branch.id, i.ref) if branch else bt.ADMIN_REVOKE(i.ref))
        for n, i in enumerate(found, 1)
    ]  # fmt: skip
    rows = in_rows(buttons, 3)
    if branch:
        rows.append([(lab.TEAM_BACK, bt.TEAM(branch.id))])
    else:
        rows.append([(lab.TEAM_ADMIN_NEW, bt.ADMIN_INVITE())])
    shown = [{"role": i.role, "expires": local(context, i.expires_at)} for i in found]
    await reply_template(
        update,
        "team_invite",
        rows,
        view="list",
        invitations=shown,
        branch_name=branch.profile.name if branch else "",
    )


async def list_open(update: Update, context: BotContext, branch_id: int) -> None:
    """The open invitations this user may revoke."""
    current = await allowed(update, context, branch_id, Need.EDIT)
    if current is None:
        return
    membership, branch = current
    await answer(update)
    await close_keyboard(update)
    found = await invitations.open_for(app_of(context).database, branch.id)
    mine = [i for i in found if i.role in access.invitable_by(membership.role)]
    await _invitation_list(update, context, mine, branch)


async def revoke(update: Update, context: BotContext, branch_id: int, ref: str) -> None:
    """Withdraw an open invitation."""
    current = await allowed(update, context, branch_id, Need.EDIT)
    if current is None:
        return
    membership, branch = current
    database = app_of(context).database
    done = await invitations.revoke(
        database,
        ref=ref,
        branch_id=branch.id,
        user_id=membership.user_id,
        roles=access.invitable_by(membership.role),
    )
    if done is None:
        await answer(update, render("button_expired"), alert=True)
        return
    await answer(update, render("team_invite", view="revoked"))
    await close_keyboard(update)
    found = await invitations.open_for(database, branch.id)
    await _invitation_list(
        update,
        context,
        [i for i in found if i.role in access.invitable_by(membership.role)],
        branch,
    )


# -- admin invitations ---------------------------------------------------------------------


async def admin_card(update: Update, context: BotContext) -> None:
    """/team admin or its button: the admin invitations (admins only)."""
    user = update.effective_user
    assert user is not None
    if not await is_admin(context, user.id):
        await forbidden(update)
        return
    await answer(update)
    await close_keyboard(update)
    await reply_template(update, "team_invite", view="admin")
    found = await invitations.open_for(app_of(context).database, None)
    await _invitation_list(update, context, found, None)


async def admin_create(update: Update, context: BotContext) -> None:
    """Make an admin invitation link."""
    user = update.effective_user
    assert user is not None
    if not await is_admin(context, user.id):
        await forbidden(update)
        return
    made = await invitations.create(
        app_of(context).database,
        branch_id=None,
        role=ADMIN,
        created_by=user.id,
        source_key=_source_key(update),
    )
    _LOGGER.info("Admin invitation made by %s", user.id)
    await _send_link(update, context, made, ADMIN, None)


async def admin_revoke(update: Update, context: BotContext, ref: str) -> None:
    """Withdraw an admin invitation."""
    user = update.effective_user
    assert user is not None
    if not await is_admin(context, user.id):
        await forbidden(update)
        return
    database = app_of(context).database
    done = await invitations.revoke(
        database, ref=ref, branch_id=None, user_id=user.id, roles=(ADMIN,)
    )
    if done is None:
        await answer(update, render("button_expired"), alert=True)
        return
    await answer(update, render("team_invite", view="revoked"))
    await close_keyboard(update)
    await _invitation_list(update, context, await invitations.open_for(database, None), None)


# -- /start join_<token> -------------------------------------------------------------------


async def join(update: Update, context: BotContext) -> None:
    """An invitation link was opened: join the branch with the link's role (or become admin)."""
    user = update.effective_user
    message = update.effective_message
    assert user is not None and message is not None
    if not is_private(update):
        await reply_template(update, "private_only")
        return
    payload = (message.text or "").partition(" ")[2].strip()
    token = payload.removeprefix(JOIN_PREFIX)
    application = app_of(context)
    database = application.database
    result = await invitations.accept(database, token, user.id, application.config.bot.admin_ids)
    _LOGGER.info("Invitation opened by %s: %s", user.id, result.outcome)
    branch = await repo.get_branch(database, result.branch_id) if result.branch_id else None
    name = branch.profile.name if branch else ""
    await reply_template(
        update, "team_join", outcome=result.outcome, branch_name=name, role=result.role
    )
    if result.outcome == "admin" and result.created_by is not None:
        note = render("team_member", view="notice_admin", who=await who(context, None, user.id))
        await tell(context, result.created_by, note)
    if result.outcome != "joined" or branch is None:
        return
    if application.forms.active(user.id) == registration.NAME:
        # Invited while registering a branch of their own: that half-done draft is dropped.
        await application.forms.close(database, user.id)
    await notify_joined(context, branch, user.id, result.role or "", result.created_by)
    await send_menu(update, context)


async def notify_joined(
    context: BotContext, branch: Branch, user_id: int, role: str, inviter: int | None
) -> None:
    """Tell the secretary (and the deputy who made the link) who joined."""
    team = await invitations.team(app_of(context).database, branch.id)
    told = {p.user_id for p in team if p.role == "secretary"}
    if inviter is not None and any(p.user_id == inviter for p in team):
        told.add(inviter)
    text = render(
        "team_member",
        view="notice_joined",
        who=await who(context, branch.id, user_id),
        role=role,
        branch_name=branch.profile.name,
    )
    for target in sorted(told - {user_id}):
        await tell(context, target, text)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/start join_… and the invitations' buttons."""
    return [
        CommandHandler("start", join, filters=filters.Regex(r"^/start(@\w+)?\s+join_")),
        on(bt.TEAM_INVITE, choose_role),
        on(bt.TEAM_INVITE_AS, create),
        on(bt.TEAM_INVITATIONS, list_open),
        on(bt.TEAM_REVOKE, revoke),
        on(bt.ADMIN_INVITATIONS, admin_card),
        on(bt.ADMIN_INVITE, admin_create),
        on(bt.ADMIN_REVOKE, admin_revoke),
    ]
