"""/team: the branch's people and roles, role changes, removal, the hand-over and leaving.

Who may do what (checked again from the database on every tap, through bot.access):
- every member of the branch sees the team;
- the secretary changes the others' roles, removes them and hands the secretary role over (the
  old secretary becomes deputy: there is always exactly one secretary);
- everyone but the secretary may leave the branch (the secretary hands over first).
Invitations, admin invitations and `/start join_<token>` are in bot.handlers.team_invites.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CommandHandler

from bot import access
from bot import buttons as bt
from bot.access import Need
from bot.application import BotContext, app_of
from bot.callbacks import on
from bot.handlers.common import allowed, answer, close_keyboard, is_private, reply_template
from bot.texts import labels, render
from db import invitations, members, repo
from db.models import Branch, Membership

_LOGGER = logging.getLogger(__name__)
MAX_PEOPLE_BUTTONS = 40


def user_label(user_id: int) -> str:
    """A short, stable label for a user whose name the bot does not keep."""
    digits = str(user_id)
    return labels().TEAM_USER_LABEL.format(head=digits[:2], tail=digits[-2:])


async def who(context: BotContext, branch_id: int | None, user_id: int) -> str:
    """The name the secretary knows a user by: the roster name they signed in as, else their
    Telegram name read now (the bot keeps no names of its own), else a short label."""
    if branch_id is not None:
        member = await members.by_user(app_of(context).database, branch_id, user_id)
        if member is not None:
            return member.name
    try:
        chat = await context.bot.get_chat(user_id)
    except TelegramError as exc:
        _LOGGER.info("No Telegram name for user %s: %s", user_id, type(exc).__name__)
        return user_label(user_id)
    return chat.full_name or user_label(user_id)


async def tell(context: BotContext, user_id: int, text: str) -> None:
    """A private note to a user; one who blocked the bot simply does not get it."""
    try:
        await context.bot.send_message(user_id, text)
    except TelegramError as exc:
        _LOGGER.warning("Could not tell user %s: %s", user_id, type(exc).__name__)


def local(context: BotContext, moment: datetime) -> datetime:
    return moment.astimezone(app_of(context).config.bot.tzinfo)


async def is_admin(context: BotContext, user_id: int) -> bool:
    """An admin of the superior organization (bot.access.is_admin with the configured ids)."""
    application = app_of(context)
    return await access.is_admin(application.database, user_id, application.config.bot.admin_ids)


async def _team_card(
    update: Update, context: BotContext, membership: Membership, branch: Branch
) -> None:
    lab = labels()
    b = branch.id
    people = []
    rows: list[list[tuple[str, str]]] = []
    is_secretary = membership.role == "secretary"
    for person in await invitations.team(app_of(context).database, b):
        name = await who(context, b, person.user_id)
        me = person.user_id == membership.user_id
        people.append({"role": person.role, "who": name, "me": me})
        if is_secretary and not me and len(rows) < MAX_PEOPLE_BUTTONS:
            label = lab.TEAM_PERSON.format(role=lab.ROLES[person.role], who=name)
            rows.append([(label[:60], bt.TEAM_MEMBER(b, person.user_id))])
    can_invite = bool(access.invitable_by(membership.role))
    if can_invite:
        rows.append(
            [(lab.TEAM_INVITE, bt.TEAM_INVITE(b)), (lab.TEAM_INVITATIONS, bt.TEAM_INVITATIONS(b))]
        )
    if membership.can_edit:
        actions = [(lab.LEAVE_ARCHIVE, bt.ARCHIVE(b))]
        if is_secretary:
            actions.append((lab.LEAVE_DELETE, bt.DELETE_BRANCH(b)))
        rows.append(actions)
    if not is_secretary:
        rows.append([(lab.TEAM_LEAVE, bt.TEAM_LEAVE(b))])
    admin = await is_admin(context, membership.user_id)
    if admin:
        rows.append([(lab.TEAM_ADMIN, bt.ADMIN_INVITATIONS())])
    rows.append([(lab.MENU, bt.HOME())])
    await reply_template(
        update,
        "team_list",
        rows,
        branch_name=branch.profile.name,
        my_role=membership.role,
        people=people,
        can_invite=can_invite,
        is_secretary=is_secretary,
        is_admin=admin,
    )


async def show_team(update: Update, context: BotContext, branch_id: int | None = None) -> None:
    """/team (`/team admin`: admin invitations), 团队 in the menu, or back to a branch's card."""
    user = update.effective_user
    assert user is not None
    if not is_private(update):
        await answer(update)
        await reply_template(update, "private_only")
        return
    if context.args and context.args[0].lower() == "admin":
        from bot.handlers import team_invites

        await team_invites.admin_card(update, context)
        return
    if branch_id is not None:
        current = await allowed(update, context, branch_id, Need.READ)
    else:
        current = await repo.current_membership(app_of(context).database, user.id)
        if current is None:
            await answer(update)
            await reply_template(update, "not_registered")
            return
    if current is None:
        return
    await answer(update)
    await close_keyboard(update)
    await _team_card(update, context, *current)


# -- one member: role, removal, hand-over --------------------------------------------------


async def _target(
    update: Update, context: BotContext, branch_id: int, user_id: int
) -> tuple[Membership, Branch, Membership, str] | None:
    """The secretary's membership and branch, the other member named by the button, and their
    display name; refuses anyone but the secretary and a member who is gone or is themselves."""
    current = await allowed(update, context, branch_id, Need.SECRETARY)
    if current is None:
        return None
    membership, branch = current
    target = await repo.get_membership(app_of(context).database, user_id, branch.id)
    if target is None or target.user_id == membership.user_id:
        await answer(update, render("team_member", view="gone"), alert=True)
        return None
    return membership, branch, target, await who(context, branch.id, target.user_id)


async def member_card(update: Update, context: BotContext, branch_id: int, user_id: int) -> None:
    """What the secretary may do with this member."""
    found = await _target(update, context, branch_id, user_id)
    if found is None:
        return
    _, branch, target, name = found
    await answer(update)
    await close_keyboard(update)
    lab = labels()
    b, u = branch.id, target.user_id
    roles = [r for r in invitations.INVITABLE if r != target.role]
    rows = [
        [(lab.TEAM_SET_ROLE.format(role=lab.ROLES[r]), bt.TEAM_ROLE(b, u, r)) for r in roles],
        [(lab.TEAM_REMOVE, bt.TEAM_REMOVE(b, u)), (lab.TEAM_HAND_OVER, bt.TEAM_HAND_OVER(b, u))],
        [(lab.TEAM_BACK, bt.TEAM(b))],
    ]
    await reply_template(update, "team_member", rows, view="card", who=name, role=target.role)


async def set_role(
    update: Update, context: BotContext, branch_id: int, user_id: int, role: str
) -> None:
    """Another role for a member."""
    found = await _target(update, context, branch_id, user_id)
    if found is None:
        return
    membership, branch, target, _ = found
    old = await invitations.set_role(
        app_of(context).database,
        actor_id=membership.user_id,
        branch_id=branch.id,
        user_id=target.user_id,
        role=role,
    )
    if old is None:
        await answer(update, render("button_expired"), alert=True)
        return
    await answer(update, render("team_member", view="role_changed", role=role))
    await close_keyboard(update)
    if old != role:
        note = render(
            "team_member", view="notice_role", role=role, branch_name=branch.profile.name
        )
        await tell(context, target.user_id, note)
    await _team_card(update, context, membership, branch)


async def confirm(
    update: Update, context: BotContext, branch_id: int, user_id: int, *, view: str
) -> None:
    """Ask before removing a member or handing the secretary role over."""
    found = await _target(update, context, branch_id, user_id)
    if found is None:
        return
    _, branch, target, name = found
    await answer(update)
    await close_keyboard(update)
    lab = labels()
    b, u = branch.id, target.user_id
    if view == "confirm_remove":
        confirm = (lab.TEAM_CONFIRM_REMOVE, bt.TEAM_REMOVE_SURE(b, u))
    else:
        confirm = (lab.TEAM_CONFIRM_HAND_OVER, bt.TEAM_HAND_OVER_SURE(b, u))
    rows = [[confirm], [(lab.TEAM_BACK, bt.TEAM(b))]]
    await reply_template(
        update,
        "team_member",
        rows,
        view=view,
        who=name,
        role=target.role,
        branch_name=branch.profile.name,
    )


async def remove(update: Update, context: BotContext, branch_id: int, user_id: int) -> None:
    """The confirmed removal."""
    found = await _target(update, context, branch_id, user_id)
    if found is None:
        return
    membership, branch, target, name = found
    done = await invitations.remove_member(
        app_of(context).database,
        actor_id=membership.user_id,
        branch_id=branch.id,
        user_id=target.user_id,
    )
    if not done:
        await answer(update, render("button_expired"), alert=True)
        return
    await answer(update)
    await close_keyboard(update)
    _LOGGER.info("User %s removed from branch %s", target.user_id, branch.id)
    await reply_template(update, "team_member", view="removed", who=name)
    note = render("team_member", view="notice_removed", branch_name=branch.profile.name)
    await tell(context, target.user_id, note)
    await _team_card(update, context, membership, branch)


async def hand_over(update: Update, context: BotContext, branch_id: int, user_id: int) -> None:
    """The confirmed hand-over."""
    found = await _target(update, context, branch_id, user_id)
    if found is None:
        return
    membership, branch, target, name = found
    database = app_of(context).database
    done = await invitations.hand_over(
        database, actor_id=membership.user_id, branch_id=branch.id, user_id=target.user_id
    )
    if not done:
        await answer(update, render("button_expired"), alert=True)
        return
    await answer(update)
    await close_keyboard(update)
    _LOGGER.info("Branch %s handed over to %s", branch.id, target.user_id)
    await reply_template(update, "team_member", view="handed_over", who=name)
    note = render("team_member", view="notice_secretary", branch_name=branch.profile.name)
    await tell(context, target.user_id, note)
    now = await repo.get_membership(database, membership.user_id, branch.id)
    assert now is not None
    await _team_card(update, context, now, branch)


# -- leaving -------------------------------------------------------------------------------


async def leave(update: Update, context: BotContext, branch_id: int, *, confirmed: bool) -> None:
    """The first tap asks, the second leaves; the secretary is told to hand over first."""
    current = await allowed(update, context, branch_id, Need.READ)
    if current is None:
        return
    membership, branch = current
    if membership.role == "secretary":
        await answer(update)
        await reply_template(update, "team_member", view="secretary_stays")
        return
    await answer(update)
    await close_keyboard(update)
    lab = labels()
    if not confirmed:
        rows = [
            [(lab.TEAM_CONFIRM_LEAVE, bt.TEAM_LEAVE_SURE(branch.id))],
            [(lab.TEAM_BACK, bt.TEAM(branch.id))],
        ]
        await reply_template(
            update, "team_member", rows, view="confirm_leave", branch_name=branch.profile.name
        )
        return
    await invitations.leave(
        app_of(context).database, user_id=membership.user_id, branch_id=branch.id
    )
    _LOGGER.info("User %s left branch %s", membership.user_id, branch.id)
    await reply_template(update, "team_member", view="left", branch_name=branch.profile.name)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/team, its buttons, and the invitations' (bot.handlers.team_invites)."""
    from bot.handlers import team_invites

    return [
        *team_invites.handlers(),
        CommandHandler("team", show_team),
        on(bt.MENU_TEAM, show_team),
        on(bt.TEAM, show_team),
        on(bt.TEAM_MEMBER, member_card),
        on(bt.TEAM_ROLE, set_role),
        on(bt.TEAM_REMOVE, partial(confirm, view="confirm_remove")),
        on(bt.TEAM_HAND_OVER, partial(confirm, view="confirm_hand_over")),
        on(bt.TEAM_REMOVE_SURE, remove),
        on(bt.TEAM_HAND_OVER_SURE, hand_over),
        on(bt.TEAM_LEAVE, partial(leave, confirmed=False)),
        on(bt.TEAM_LEAVE_SURE, partial(leave, confirmed=True)),
    ]
