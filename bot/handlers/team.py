"""/team: the branch's people and roles, invitation links, role changes and the hand-over; and
`/start join_<token>`, the link an invited person taps.

Who may do what (checked again from the database on every tap, whatever the button carries):
- every member of the branch sees the team;
- the secretary invites a deputy, a committee member or a viewer, lists and revokes open
  invitations, changes the others' roles, removes them and hands the secretary role over (the
  old secretary becomes deputy: there is always exactly one secretary);
- a deputy invites committee members and viewers, and lists and revokes those invitations;
- everyone but the secretary may leave the branch (the secretary hands over first);
- an admin of the superior organization (config admin_ids or invited) invites admins.

Buttons: `tm:<action>:<branch>[:<arg>]`; admin invitations `tm:a…` without a branch.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    filters,
)

from bot.application import BotContext, app_of
from bot.handlers import registration
from bot.handlers.common import (
    answer,
    callback_parts,
    close_keyboard,
    forbidden,
    in_rows,
    is_private,
    reply_template,
)
from bot.handlers.start import send_menu
from bot.texts import labels, render
from db import admins, invitations, members, repo
from db.invitations import ADMIN, Invitation
from db.models import Branch, Membership

_LOGGER = logging.getLogger(__name__)
JOIN_PREFIX = "join_"
# Which roles each role may invite.
INVITES = {"secretary": ("deputy", "committee", "viewer"), "deputy": ("committee", "viewer")}
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


def end_conversations(application: Application, user_id: int) -> int:
    """End every conversation the user is in, in any chat; returns how many.

    python-telegram-bot has no public way to end another handler's (or another user's)
    conversation; deleting the key from the handler's tracked state dict is what ending one
    does, and the application then removes it from the persistence too.
    """
    ended = 0
    for group in application.handlers.values():
        for handler in group:
            if not isinstance(handler, ConversationHandler):
                continue
            states = handler._conversations
            for key in [k for k in states if k and k[-1] == user_id]:
                del states[key]
                ended += 1
    return ended


def _local(context: BotContext, moment: datetime) -> datetime:
    return moment.astimezone(app_of(context).config.bot.tzinfo)


async def _is_admin(context: BotContext, user_id: int) -> bool:
    application = app_of(context)
    return await admins.is_admin(application.database, user_id, application.config.bot.admin_ids)


async def _allowed(
    update: Update, context: BotContext, branch_id: int, roles: tuple[str, ...] | None = None
) -> tuple[Membership, Branch] | None:
    """The user's membership and the branch if their role is one of `roles` (None: any)."""
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    membership = await repo.get_membership(database, user.id, branch_id)
    branch = await repo.get_branch(database, branch_id) if membership else None
    if membership is None or branch is None or (roles and membership.role not in roles):
        _LOGGER.info("User %s refused a team action on branch %s", user.id, branch_id)
        await forbidden(update)
        return None
    return membership, branch


# -- the team card -------------------------------------------------------------------------


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
            rows.append([(label[:60], f"tm:m:{b}:{person.user_id}")])
    can_invite = membership.role in INVITES
    if can_invite:
        rows.append([(lab.TEAM_INVITE, f"tm:i:{b}"), (lab.TEAM_INVITATIONS, f"tm:il:{b}")])
    if membership.can_edit:
        actions = [(lab.LEAVE_ARCHIVE, f"lv:ar:{b}")]
        if is_secretary:
            actions.append((lab.LEAVE_DELETE, f"lv:del:{b}"))
        rows.append(actions)
    if not is_secretary:
        rows.append([(lab.TEAM_LEAVE, f"tm:q:{b}")])
    is_admin = await _is_admin(context, membership.user_id)
    if is_admin:
        rows.append([(lab.TEAM_ADMIN, "tm:a")])
    rows.append([(lab.MENU, "menu:home")])
    await reply_template(
        update,
        "team_list",
        rows,
        branch_name=branch.profile.name,
        my_role=membership.role,
        people=people,
        can_invite=can_invite,
        is_secretary=is_secretary,
        is_admin=is_admin,
    )


async def show_team(update: Update, context: BotContext) -> None:
    """/team (`/team admin`: admin invitations), 团队 in the menu, or tm:l:<branch>."""
    user = update.effective_user
    assert user is not None
    if not is_private(update):
        await answer(update)
        await reply_template(update, "private_only")
        return
    if context.args and context.args[0].lower() == "admin":
        await _admin_card(update, context, [])
        return
    parts = callback_parts(update)
    if len(parts) == 3 and parts[2].isdigit():
        current = await _allowed(update, context, int(parts[2]))
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


# -- invitations ---------------------------------------------------------------------------


async def _choose_role(update: Update, context: BotContext, args: list[str]) -> None:
    """tm:i:<branch>: which role to invite."""
    current = await _allowed(update, context, int(args[0]), tuple(INVITES))
    if current is None:
        return
    membership, branch = current
    await answer(update)
    await close_keyboard(update)
    lab = labels()
    roles = INVITES[membership.role]
    rows = [
        [(lab.TEAM_INVITE_AS.format(role=lab.ROLES[r]), f"tm:ic:{branch.id}:{r}")] for r in roles
    ]
    rows.append([(lab.TEAM_BACK, f"tm:l:{branch.id}")])
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
    rows = [[(labels().TEAM_BACK, f"tm:l:{branch.id}")]] if branch else []
    await reply_template(
        update,
        "team_invite",
        rows,
        view="link",
        link=link,
        role=role,
        branch_name=branch.profile.name if branch else "",
        expires=_local(context, expires),
    )


async def _create(update: Update, context: BotContext, args: list[str]) -> None:
    """tm:ic:<branch>:<role>: make a link for that role."""
    if len(args) != 2:
        await answer(update, render("button_expired"), alert=True)
        return
    current = await _allowed(update, context, int(args[0]), tuple(INVITES))
    if current is None:
        return
    membership, branch = current
    role = args[1]
    if role not in INVITES[membership.role]:
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


def _revocable(membership: Membership) -> tuple[str, ...]:
    return INVITES.get(membership.role, ())


async def _invitation_list(
    update: Update,
    context: BotContext,
    found: list[Invitation],
    branch: Branch | None,
) -> None:
    lab = labels()
    prefix = f"tm:ir:{branch.id}:" if branch else "tm:ar:"
    buttons = [(lab.TEAM_REVOKE.format(n=n), prefix + i.ref) for n, i in enumerate(found, 1)]
    rows = in_rows(buttons, 3)
    if branch:
        rows.append([(lab.TEAM_BACK, f"tm:l:{branch.id}")])
    else:
        rows.append([(lab.TEAM_ADMIN_NEW, "tm:ac")])
    shown = [{"role": i.role, "expires": _local(context, i.expires_at)} for i in found]
    await reply_template(
        update,
        "team_invite",
        rows,
        view="list",
        invitations=shown,
        branch_name=branch.profile.name if branch else "",
    )


async def _list_open(update: Update, context: BotContext, args: list[str]) -> None:
    """tm:il:<branch>: the open invitations this user may revoke."""
    current = await _allowed(update, context, int(args[0]), tuple(INVITES))
    if current is None:
        return
    membership, branch = current
    await answer(update)
    await close_keyboard(update)
    found = await invitations.open_for(app_of(context).database, branch.id)
    mine = [i for i in found if i.role in _revocable(membership)]
    await _invitation_list(update, context, mine, branch)


async def _revoke(update: Update, context: BotContext, args: list[str]) -> None:
    """tm:ir:<branch>:<ref>: withdraw an open invitation."""
    if len(args) != 2:
        await answer(update, render("button_expired"), alert=True)
        return
    current = await _allowed(update, context, int(args[0]), tuple(INVITES))
    if current is None:
        return
    membership, branch = current
    database = app_of(context).database
    done = await invitations.revoke(
        database,
        ref=args[1],
        branch_id=branch.id,
        user_id=membership.user_id,
        roles=_revocable(membership),
    )
    if done is None:
        await answer(update, render("button_expired"), alert=True)
        return
    await answer(update, render("team_invite", view="revoked"))
    await close_keyboard(update)
    found = await invitations.open_for(database, branch.id)
    await _invitation_list(
        update, context, [i for i in found if i.role in _revocable(membership)], branch
    )


# -- admin invitations ---------------------------------------------------------------------


async def _admin_card(update: Update, context: BotContext, args: list[str]) -> None:
    """/team admin or tm:a: the admin invitations (admins only)."""
    user = update.effective_user
    assert user is not None
    if args or not await _is_admin(context, user.id):
        await forbidden(update)
        return
    await answer(update)
    await close_keyboard(update)
    await reply_template(update, "team_invite", view="admin")
    found = await invitations.open_for(app_of(context).database, None)
    await _invitation_list(update, context, found, None)


async def _admin_create(update: Update, context: BotContext, args: list[str]) -> None:
    """tm:ac: make an admin invitation link."""
    user = update.effective_user
    assert user is not None
    if args or not await _is_admin(context, user.id):
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


async def _admin_revoke(update: Update, context: BotContext, args: list[str]) -> None:
    """tm:ar:<ref>: withdraw an admin invitation."""
    user = update.effective_user
    assert user is not None
    if not await _is_admin(context, user.id):
        await forbidden(update)
        return
    database = app_of(context).database
    done = None
    if len(args) == 1:
        done = await invitations.revoke(
            database, ref=args[0], branch_id=None, user_id=user.id, roles=(ADMIN,)
        )
    if done is None:
        await answer(update, render("button_expired"), alert=True)
        return
    await answer(update, render("team_invite", view="revoked"))
    await close_keyboard(update)
    await _invitation_list(update, context, await invitations.open_for(database, None), None)


# -- one member: role, removal, hand-over --------------------------------------------------


async def _target(
    update: Update, context: BotContext, args: list[str]
) -> tuple[Membership, Branch, Membership, str] | None:
    """The secretary's membership and branch, the other member named by the button, and their
    display name; refuses anyone but the secretary and a member who is gone or is themselves."""
    if len(args) < 2 or not args[1].isdigit():
        await answer(update, render("button_expired"), alert=True)
        return None
    current = await _allowed(update, context, int(args[0]), ("secretary",))
    if current is None:
        return None
    membership, branch = current
    target = await repo.get_membership(app_of(context).database, int(args[1]), branch.id)
    if target is None or target.user_id == membership.user_id:
        await answer(update, render("team_member", view="gone"), alert=True)
        return None
    return membership, branch, target, await who(context, branch.id, target.user_id)


async def _member_card(update: Update, context: BotContext, args: list[str]) -> None:
    """tm:m:<branch>:<user>: what the secretary may do with this member."""
    found = await _target(update, context, args)
    if found is None:
        return
    _, branch, target, name = found
    await answer(update)
    await close_keyboard(update)
    lab = labels()
    b, u = branch.id, target.user_id
    roles = [r for r in invitations.INVITABLE if r != target.role]
    rows = [
        [(lab.TEAM_SET_ROLE.format(role=lab.ROLES[r]), f"tm:r:{b}:{u}:{r}") for r in roles],
        [(lab.TEAM_REMOVE, f"tm:x:{b}:{u}"), (lab.TEAM_HAND_OVER, f"tm:h:{b}:{u}")],
        [(lab.TEAM_BACK, f"tm:l:{b}")],
    ]
    await reply_template(update, "team_member", rows, view="card", who=name, role=target.role)


async def _set_role(update: Update, context: BotContext, args: list[str]) -> None:
    """tm:r:<branch>:<user>:<role>."""
    found = await _target(update, context, args)
    if found is None:
        return
    membership, branch, target, _ = found
    role = args[2] if len(args) == 3 else ""
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


async def _confirm(update: Update, context: BotContext, args: list[str], *, view: str) -> None:
    """tm:x / tm:h: ask before removing a member or handing the secretary role over."""
    found = await _target(update, context, args)
    if found is None:
        return
    _, branch, target, name = found
    await answer(update)
    await close_keyboard(update)
    lab = labels()
    b, u = branch.id, target.user_id
    if view == "confirm_remove":
        confirm = (lab.TEAM_CONFIRM_REMOVE, f"tm:xx:{b}:{u}")
    else:
        confirm = (lab.TEAM_CONFIRM_HAND_OVER, f"tm:hh:{b}:{u}")
    rows = [[confirm], [(lab.TEAM_BACK, f"tm:l:{b}")]]
    await reply_template(
        update,
        "team_member",
        rows,
        view=view,
        who=name,
        role=target.role,
        branch_name=branch.profile.name,
    )


async def _remove(update: Update, context: BotContext, args: list[str]) -> None:
    """tm:xx:<branch>:<user>: the confirmed removal."""
    found = await _target(update, context, args)
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


async def _hand_over(update: Update, context: BotContext, args: list[str]) -> None:
    """tm:hh:<branch>:<user>: the confirmed hand-over."""
    found = await _target(update, context, args)
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


async def _leave(update: Update, context: BotContext, args: list[str], *, confirmed: bool) -> None:
    """tm:q:<branch> asks, tm:qq:<branch> leaves; the secretary is told to hand over first."""
    current = await _allowed(update, context, int(args[0]))
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
            [(lab.TEAM_CONFIRM_LEAVE, f"tm:qq:{branch.id}")],
            [(lab.TEAM_BACK, f"tm:l:{branch.id}")],
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


# -- the buttons ---------------------------------------------------------------------------

Action = Callable[[Update, BotContext, list[str]], Awaitable[None]]
# tm:<action>:<branch>[:…] buttons, then the admin ones (no branch).
_BRANCH_ACTIONS: dict[str, Action] = {
    "i": _choose_role,
    "ic": _create,
    "il": _list_open,
    "ir": _revoke,
    "m": _member_card,
    "r": _set_role,
    "x": partial(_confirm, view="confirm_remove"),
    "h": partial(_confirm, view="confirm_hand_over"),
    "xx": _remove,
    "hh": _hand_over,
    "q": partial(_leave, confirmed=False),
    "qq": partial(_leave, confirmed=True),
}
_ADMIN_ACTIONS: dict[str, Action] = {"a": _admin_card, "ac": _admin_create, "ar": _admin_revoke}


async def tapped(update: Update, context: BotContext) -> None:
    """Every tm: button but the team card itself."""
    parts = callback_parts(update)
    action, args = (parts[1] if len(parts) > 1 else ""), parts[2:]
    if action in _BRANCH_ACTIONS and args and args[0].isdigit():
        await _BRANCH_ACTIONS[action](update, context, args)
    elif action in _ADMIN_ACTIONS:
        await _ADMIN_ACTIONS[action](update, context, args)
    else:
        await answer(update, render("button_expired"), alert=True)


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
    await _notify_joined(context, branch, user.id, result.role or "", result.created_by)
    await send_menu(update, context)


async def _notify_joined(
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
    """/start join_…, /team and its buttons."""
    return [
        CommandHandler("start", join, filters=filters.Regex(r"^/start(@\w+)?\s+join_")),
        CommandHandler("team", show_team),
        CallbackQueryHandler(show_team, pattern=r"^(menu:team|tm:l:\d+)$"),
        CallbackQueryHandler(tapped, pattern=r"^tm:"),
    ]
