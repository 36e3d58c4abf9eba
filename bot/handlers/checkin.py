"""Group chats and the sign-in card.

Binding: when the bot is added to a group it offers to bind the group to a branch (书记 or
副书记 taps, or types /bind); one group per branch and one branch per group; /unbind or removing
the bot drops the binding.

Sign-in (/checkin in a bound group): a card with 签到, 请假 and 结束签到. A member signs in with
one tap once their Telegram user is linked to their roster entry; the first time, they pick their
name in a private chat (never as a list in the group). 请假 asks the reason in private. The card
is edited at most once every card_edit_interval seconds (bot/pacing.py) however fast people
tap: taps only write the database and ask for a refresh, which a JobQueue job renders from the
database. Closing creates
the 补学 items and sends the closer the attendance summary with a button into /log.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from telegram import Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.application import BotApplication, BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.delivery import _retry_seconds
from bot.handlers.common import (
    Buttons,
    active_flow,
    answer,
    callback_parts,
    close_keyboard,
    conversation,
    forbidden,
    in_rows,
    is_private,
    keyboard,
    local_today,
    reply,
    reply_template,
    set_flow,
    user_data,
)
from bot.textnorm import clean_line, to_simplified
from bot.texts import labels, render
from db import checkins, members, repo, settings
from db.checkins import Checkin
from db.models import Branch, Member, Membership

_LOGGER = logging.getLogger(__name__)
FLOW = "checkin_leave"
PICK = "checkin_pick"  # user_data: {"id": card id, "intent": "in" | "lv"} while a name is picked
LEAVE = "checkin_leave"  # user_data: {"id": card id, "member_id": …} while a reason is asked
NAMES_PER_PAGE = 30
MAKEUPS_SHOWN = 20
REASON_LIMIT = 100
DEFAULT_KIND = "member_meeting"
# Meetings every party member attends (支委会 and 党小组会 have other attendees).
SIGN_IN_KINDS = (
    "member_meeting",
    "party_lecture",
    "theme_party_day",
    "organizational_life_meeting",
    "member_appraisal",
)
_IN_CHAT = frozenset(
    {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}
)
_CARDS = "checkin_cards"  # bot_data key of the edit throttle (bot_data is not persisted)


class State(IntEnum):
    """Where the leave conversation is."""

    REASON = 1


# ---- binding -----------------------------------------------------------------------------


async def bot_membership(update: Update, context: BotContext) -> None:
    """The bot was added to or removed from a group: offer binding, or drop it."""
    change = update.my_chat_member
    if change is None or change.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return
    was = change.old_chat_member.status in _IN_CHAT
    now = change.new_chat_member.status in _IN_CHAT
    chat_id = change.chat.id
    if now and not was:
        try:
            await context.bot.send_message(
                chat_id, render("group_welcome"), reply_markup=keyboard([[_bind_button()]])
            )
        except TelegramError as exc:
            _LOGGER.warning("Could not greet group %d: %s", chat_id, type(exc).__name__)
    elif was and not now:
        database = app_of(context).database
        branch_id = await settings.branch_of_group(database, chat_id)
        if branch_id is not None:
            await settings.update_settings(
                database, user_id=change.from_user.id, branch_id=branch_id, group_chat_id=None
            )
            _LOGGER.info("Bot left group %d: branch %d unbound", chat_id, branch_id)


def _bind_button() -> tuple[str, str]:
    return (labels().GROUP_BIND, "gb:bind")


async def _say(update: Update, text: str, *, alert: bool = True) -> None:
    """A short answer: an alert for a button, a message for a command."""
    if update.callback_query:
        await answer(update, text, alert=alert)
    else:
        await reply(update, text)


async def bind(update: Update, context: BotContext) -> None:
    """/bind in a group or the 绑定 button: bind the group to the tapper's branch."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    if is_private(update):
        await answer(update)
        await reply_template(update, "group_bind", what="private", branch="")
        return
    database = app_of(context).database
    editable = [(m, b) for m, b in await repo.list_memberships(database, user.id) if m.can_edit]
    if not editable:
        await _say(update, render("group_bind", what="no_right", branch=""))
        return
    bound = await settings.branch_of_group(database, chat.id)
    if bound is not None:
        mine = [b for _, b in editable if b.id == bound]
        what = "already" if mine else "elsewhere"
        name = mine[0].profile.name if mine else ""
        await _say(update, render("group_bind", what=what, branch=name), alert=not mine)
        if mine:
            await close_keyboard(update)
        return
    if len(editable) == 1:
        await _bind(update, context, *editable[0])
        return
    await answer(update)
    lab = labels()
    rows = [
        [(lab.GROUP_BRANCH.format(name=b.profile.name[:30]), f"gb:to:{b.id}")] for _, b in editable
    ]
    await reply_template(update, "group_bind", rows, what="choose", branch="")


async def _editor(update: Update, context: BotContext) -> tuple[Membership, Branch] | None:
    """The tapper's role in the branch the button carries, if they may bind (else answered)."""
    user = update.effective_user
    assert user is not None
    parts = callback_parts(update)
    if len(parts) != 3 or not parts[2].isdigit():
        await answer(update, render("button_expired"), alert=True)
        return None
    database = app_of(context).database
    membership = await repo.get_membership(database, user.id, int(parts[2]))
    branch = await repo.get_branch(database, int(parts[2]))
    if membership is None or branch is None or not membership.can_edit:
        await answer(update, render("group_bind", what="no_right", branch=""), alert=True)
        return None
    return membership, branch


async def bind_to(update: Update, context: BotContext) -> None:
    """gb:to:<branch>: the branch chosen for this group."""
    found = await _editor(update, context)
    if found is None:
        return
    chat = update.effective_chat
    assert chat is not None
    bound = await settings.branch_of_group(app_of(context).database, chat.id)
    if bound is not None and bound != found[1].id:
        await answer(update, render("group_bind", what="elsewhere", branch=""), alert=True)
        return
    await _bind(update, context, *found)


async def _bind(
    update: Update, context: BotContext, membership: Membership, branch: Branch
) -> None:
    """Bind now, or ask first if the branch has another group."""
    chat = update.effective_chat
    assert chat is not None
    database = app_of(context).database
    current = (await settings.get_settings(database, branch.id)).group_chat_id
    await answer(update)
    await close_keyboard(update)
    name = branch.profile.name
    if current == chat.id:
        await reply_template(update, "group_bind", what="already", branch=name)
        return
    if current is not None:
        lab = labels()
        rows = [[(lab.GROUP_MOVE, f"gb:move:{branch.id}"), (lab.GROUP_KEEP, "gb:keep")]]
        await reply_template(update, "group_bind", rows, what="confirm_move", branch=name)
        return
    await settings.update_settings(
        database, user_id=membership.user_id, branch_id=branch.id, group_chat_id=chat.id
    )
    _LOGGER.info("Group %d bound to branch %d", chat.id, branch.id)
    await reply_template(update, "group_bind", what="bound", branch=name)


async def move(update: Update, context: BotContext) -> None:
    """gb:move:<branch>: confirmed, the branch's binding moves to this group."""
    found = await _editor(update, context)
    if found is None:
        return
    membership, branch = found
    chat = update.effective_chat
    assert chat is not None
    database = app_of(context).database
    bound = await settings.branch_of_group(database, chat.id)
    if bound is not None and bound != branch.id:
        await answer(update, render("group_bind", what="elsewhere", branch=""), alert=True)
        return
    await answer(update)
    await close_keyboard(update)
    await settings.update_settings(
        database, user_id=membership.user_id, branch_id=branch.id, group_chat_id=chat.id
    )
    _LOGGER.info("Branch %d moved to group %d", branch.id, chat.id)
    await reply_template(update, "group_bind", what="moved", branch=branch.profile.name)


async def keep(update: Update, context: BotContext) -> None:
    """gb:keep: the binding stays where it was."""
    await answer(update, render("group_bind", what="kept", branch=""))
    await close_keyboard(update)


async def unbind(update: Update, context: BotContext) -> None:
    """/unbind in a bound group (书记 or 副书记 of its branch)."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    if is_private(update):
        await reply_template(update, "group_bind", what="private", branch="")
        return
    database = app_of(context).database
    branch_id = await settings.branch_of_group(database, chat.id)
    branch = await repo.get_branch(database, branch_id) if branch_id else None
    if branch is None:
        await reply_template(update, "group_not_bound")
        return
    membership = await repo.get_membership(database, user.id, branch.id)
    if membership is None or not membership.can_edit:
        await reply_template(update, "group_bind", what="no_right", branch="")
        return
    await settings.update_settings(
        database, user_id=user.id, branch_id=branch.id, group_chat_id=None
    )
    _LOGGER.info("Group %d unbound from branch %d", chat.id, branch.id)
    await reply_template(update, "group_bind", what="unbound", branch=branch.profile.name)


# ---- the card and its throttled edits ----------------------------------------------------


@dataclass
class _CardEdits:
    """Per card: when it was last edited, the text shown, whether a refresh is scheduled."""

    edited_at: dict[int, float] = field(default_factory=dict)
    shown: dict[int, str] = field(default_factory=dict)
    pending: set[int] = field(default_factory=set)
    locks: dict[int, asyncio.Lock] = field(default_factory=dict)


def _edits(application: Application) -> _CardEdits:
    edits = application.bot_data.get(_CARDS)
    if edits is None:
        edits = application.bot_data[_CARDS] = _CardEdits()
    return edits


def _kind_name(kind: str) -> str:
    return str(labels().KINDS.get(kind, kind))


async def _card_view(application: BotApplication, card: Checkin) -> tuple[str, Buttons]:
    """The card's text and buttons, from the database."""
    tally = await checkins.tally(application.database, card)
    text = render(
        "checkin_card",
        kind=_kind_name(card.kind),
        held_on=card.held_on,
        tally=tally,
        is_open=card.is_open,
    )
    if not card.is_open:
        return text, []
    lab = labels()
    rows = [
        [(lab.CHECKIN_IN, f"ck:in:{card.id}"), (lab.CHECKIN_LEAVE, f"ck:lv:{card.id}")],
        [(lab.CHECKIN_END, f"ck:end:{card.id}")],
    ]
    return text, rows


def request_refresh(application: BotApplication, checkin_id: int) -> None:
    """Ask for the card to show the database's state: at once, or when the interval is over."""
    edits = _edits(application)
    if checkin_id in edits.pending:
        return
    job_queue = application.job_queue
    if job_queue is None:
        application.create_task(refresh_card(application, checkin_id))
        return
    edits.pending.add(checkin_id)
    clock = application.config.pacing
    last = edits.edited_at.get(checkin_id)
    delay = 0.0 if last is None else last + clock.card_edit_interval - clock.now()
    job_queue.run_once(
        _refresh_job, when=clock.real(delay), data=checkin_id, name=f"checkin-card-{checkin_id}"
    )


async def _refresh_job(context: BotContext) -> None:
    job = context.job
    assert job is not None and isinstance(job.data, int)
    application = app_of(context)
    _edits(application).pending.discard(job.data)
    await refresh_card(application, job.data)


async def refresh_card(application: BotApplication, checkin_id: int) -> None:
    """Edit the card to the database's state (skipped if unchanged; 429 retried later)."""
    edits = _edits(application)
    lock = edits.locks.setdefault(checkin_id, asyncio.Lock())
    async with lock:
        card = await checkins.get(application.database, checkin_id)
        if card is None or card.message_id is None:
            return
        text, rows = await _card_view(application, card)
        if edits.shown.get(checkin_id) == text:
            return
        clock = application.config.pacing
        edits.edited_at[checkin_id] = clock.now()
        try:
            await application.bot.edit_message_text(
                text, chat_id=card.chat_id, message_id=card.message_id, reply_markup=keyboard(rows)
            )
        except RetryAfter as exc:
            wait = _retry_seconds(exc)
            _LOGGER.info("Card %d: edit refused for %.0f s, retrying", checkin_id, wait)
            edits.edited_at[checkin_id] = clock.now() + wait - clock.card_edit_interval
            request_refresh(application, checkin_id)
            return
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                _LOGGER.warning("Card %d cannot be edited: %s", checkin_id, exc.message)
                return
        except Forbidden:
            _LOGGER.warning("Card %d: the bot left group %d", checkin_id, card.chat_id)
            return
        if card.is_open:
            edits.shown[checkin_id] = text
        else:
            # Closed for good: nothing left to throttle.
            edits.shown.pop(checkin_id, None)
            edits.edited_at.pop(checkin_id, None)
            edits.locks.pop(checkin_id, None)


# ---- opening a card ----------------------------------------------------------------------


def _kind_of(text: str) -> str | None:
    """The sign-in kind typed after /checkin (name or code, traditional script accepted)."""
    value = to_simplified(clean_line(text)).removesuffix("签到")
    names = labels().KINDS
    for kind in SIGN_IN_KINDS:
        if value in (kind, names[kind]):
            return kind
    return None


async def _recorder_of_group(
    update: Update, context: BotContext
) -> tuple[Membership, Branch] | None:
    """The user's role in the group's branch if they may run sign-ins (else answered)."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    database = app_of(context).database
    branch_id = await settings.branch_of_group(database, chat.id)
    branch = await repo.get_branch(database, branch_id) if branch_id else None
    if branch is None:
        await answer(update)
        await reply_template(update, "group_not_bound")
        return None
    membership = await repo.get_membership(database, user.id, branch.id)
    if membership is None or not membership.can_record:
        await _say(update, render("checkin_note", what="not_allowed"))
        return None
    return membership, branch


async def start_checkin(update: Update, context: BotContext) -> None:
    """/checkin [kind] in a bound group: post the sign-in card."""
    if is_private(update):
        await reply_template(update, "checkin_note", what="in_group")
        return
    found = await _recorder_of_group(update, context)
    if found is None:
        return
    kind = DEFAULT_KIND
    if context.args:
        typed = _kind_of(" ".join(context.args))
        if typed is None:
            names = labels().KINDS
            buttons = [(names[k], f"ck:new:{k}") for k in SIGN_IN_KINDS]
            await reply_template(update, "checkin_note", in_rows(buttons, 2), what="kinds")
            return
        kind = typed
    await _post_card(update, context, found[0], found[1], kind)


async def new_card_tapped(update: Update, context: BotContext) -> None:
    """ck:new:<kind>: the kind chosen after an unknown /checkin argument."""
    parts = callback_parts(update)
    if len(parts) != 3 or parts[2] not in SIGN_IN_KINDS or is_private(update):
        await answer(update, render("button_expired"), alert=True)
        return
    found = await _recorder_of_group(update, context)
    if found is None:
        return
    await answer(update)
    await close_keyboard(update)
    await _post_card(update, context, found[0], found[1], parts[2])


async def _post_card(
    update: Update, context: BotContext, membership: Membership, branch: Branch, kind: str
) -> None:
    chat = update.effective_chat
    assert chat is not None
    application = app_of(context)
    database = application.database
    roster = await members.list_for(database, branch.id)
    if not any(m.is_party_member for m in roster):
        await reply_template(update, "checkin_note", what="no_roster")
        return
    card, created = await checkins.open_card(
        database,
        branch_id=branch.id,
        chat_id=chat.id,
        held_on=local_today(context),
        kind=kind,
        user_id=membership.user_id,
    )
    if not created:
        await chat.send_message(
            render("checkin_note", what="already_open"),
            reply_to_message_id=card.message_id,
            allow_sending_without_reply=True,
        )
        return
    text, rows = await _card_view(application, card)
    try:
        message = await chat.send_message(text, reply_markup=keyboard(rows))
    except TelegramError:
        await checkins.discard(database, card.id)
        raise
    await checkins.set_message(database, card.id, message.message_id)
    edits = _edits(application)
    edits.shown[card.id] = text
    edits.edited_at[card.id] = application.config.pacing.now()
    _LOGGER.info("Card %d opened in group %d for branch %d", card.id, chat.id, branch.id)


# ---- signing in --------------------------------------------------------------------------


async def _open_card(
    update: Update, context: BotContext, *, on_card: bool = False
) -> Checkin | None:
    """The card a ck:<verb>:<id> button belongs to, if still open (else answered).

    With on_card, the tap must come from the card itself in its group: a forged ck:in/ck:lv
    sent from anywhere else would otherwise list another branch's roster names.
    """
    parts = callback_parts(update)
    card = None
    if len(parts) >= 3 and parts[2].isdigit():
        card = await checkins.get(app_of(context).database, int(parts[2]))
    if card is not None and on_card:
        query = update.callback_query
        message = query.message if query else None
        if (
            message is None
            or message.chat.id != card.chat_id
            or (card.message_id is not None and message.message_id != card.message_id)
        ):
            card = None
    if card is None:
        await answer(update, render("button_expired"), alert=True)
        return None
    if not card.is_open:
        await answer(update, render("checkin_note", what="closed"), alert=True)
        return None
    return card


def _deep_link(context: BotContext, checkin_id: int) -> str:
    return f"https://t.me/{context.bot.username}?start=checkin_{checkin_id}"


async def _private(
    update: Update, context: BotContext, text: str, rows: Buttons = ()
) -> Message | None:
    """Write to the user in private; None if the bot may not (they never started it)."""
    user = update.effective_user
    assert user is not None
    if is_private(update):
        return await reply(update, text, rows)
    try:
        return await context.bot.send_message(user.id, text, reply_markup=keyboard(rows))
    except Forbidden:
        return None
    except BadRequest as exc:
        if "chat not found" in exc.message.lower():
            return None
        raise


async def _cannot_write(update: Update, context: BotContext, card: Checkin) -> None:
    """Tell the user (alert) to open the bot first; the button opens it too."""
    link = _deep_link(context, card.id)
    query = update.callback_query
    if query is None:
        return
    text = render("checkin_note", what="open_private", link=link)
    try:
        await query.answer(text, show_alert=True, url=link)
    except BadRequest:
        await answer(update, text, alert=True)


async def _unlinked_party(context: BotContext, branch_id: int) -> list[Member]:
    roster = await members.list_for(app_of(context).database, branch_id)
    return [m for m in roster if m.is_party_member and m.user_id is None]


async def _names_view(context: BotContext, card: Checkin, page: int) -> tuple[str, Buttons] | None:
    """The private list of names to pick from (None: no unlinked name left)."""
    names = await _unlinked_party(context, card.branch_id)
    if not names:
        return None
    pages = (len(names) + NAMES_PER_PAGE - 1) // NAMES_PER_PAGE
    page = min(max(page, 0), pages - 1)
    shown = names[page * NAMES_PER_PAGE : (page + 1) * NAMES_PER_PAGE]
    lab = labels()
    rows: list[list[tuple[str, str]]] = in_rows(
        [(m.name, f"ck:me:{card.id}:{m.id}") for m in shown], 3
    )
    nav = []
    if page > 0:
        nav.append((lab.PREV_PAGE, f"ck:pk:{card.id}:{page - 1}"))
    if page < pages - 1:
        nav.append((lab.NEXT_PAGE, f"ck:pk:{card.id}:{page + 1}"))
    if nav:
        rows.append(nav)
    rows.append([(lab.CHECKIN_NOT_LISTED, f"ck:nf:{card.id}")])
    text = render(
        "checkin_note",
        what="pick",
        kind=_kind_name(card.kind),
        held_on=card.held_on,
        page=page,
        pages=pages,
    )
    return text, rows


async def _offer_names(update: Update, context: BotContext, card: Checkin, intent: str) -> None:
    """First sign-in: the user picks their name in private (the group never sees the list)."""
    user_data(context)[PICK] = {"id": card.id, "intent": intent}
    view = await _names_view(context, card, 0)
    if view is None:
        await _say(update, render("checkin_note", what="not_on_roster"))
        return
    sent = await _private(update, context, *view)
    if sent is None:
        await _cannot_write(update, context, card)
    elif not is_private(update):
        await answer(update, render("checkin_note", what="pick_sent"), alert=True)
    else:
        await answer(update)


async def _sign_in(
    update: Update, context: BotContext, card: Checkin, member: Member, note: str = "signed"
) -> None:
    """Mark the member present and say so (a toast for a tap, a message otherwise)."""
    application = app_of(context)
    result = await checkins.mark(
        application.database, checkin_id=card.id, member_id=member.id, state="present"
    )
    if result == "closed":
        what = "closed"
    elif result == "signed":
        what = "already_signed"
    else:
        what = note
        request_refresh(application, card.id)
    text = render("checkin_note", what=what, name=member.name)
    if update.callback_query and not is_private(update):
        await answer(update, text)
    else:
        await answer(update)
        await reply(update, text)


async def sign_in_tapped(update: Update, context: BotContext) -> None:
    """ck:in:<card>: 签到."""
    user = update.effective_user
    assert user is not None
    card = await _open_card(update, context, on_card=True)
    if card is None:
        return
    member = await members.by_user(app_of(context).database, card.branch_id, user.id)
    if member is None:
        await _offer_names(update, context, card, "in")
    elif not member.is_party_member:
        await answer(update, render("checkin_note", what="party_only"), alert=True)
    else:
        await _sign_in(update, context, card, member)


async def page_tapped(update: Update, context: BotContext) -> None:
    """ck:pk:<card>:<page>: another page of names."""
    parts = callback_parts(update)
    pick = user_data(context).get(PICK)
    card = await _open_card(update, context)
    if card is None:
        return
    if not pick or pick["id"] != card.id or len(parts) != 4 or not parts[3].isdigit():
        await answer(update, render("button_expired"), alert=True)
        return
    view = await _names_view(context, card, int(parts[3]))
    await answer(update)
    query = update.callback_query
    assert query is not None
    if view is None:
        await close_keyboard(update)
        await reply_template(update, "checkin_note", what="not_on_roster")
        return
    await query.edit_message_text(view[0], reply_markup=keyboard(view[1]))


async def not_listed(update: Update, context: BotContext) -> None:
    """ck:nf:<card>: 名单里没有我."""
    await answer(update)
    await close_keyboard(update)
    user_data(context).pop(PICK, None)
    await reply_template(update, "checkin_note", what="not_on_roster")


async def name_picked(update: Update, context: BotContext) -> int:
    """ck:me:<card>:<member>: the user says they are this roster entry; link, then go on."""
    user = update.effective_user
    assert user is not None
    parts = callback_parts(update)
    pick = user_data(context).get(PICK)
    card = await _open_card(update, context)
    if card is None:
        await close_keyboard(update)
        return ConversationHandler.END
    database = app_of(context).database
    member = None
    if pick and pick["id"] == card.id and len(parts) == 4 and parts[3].isdigit():
        member = await members.get(database, card.branch_id, int(parts[3]))
    if member is None or not member.is_party_member:
        await answer(update, render("button_expired"), alert=True)
        return ConversationHandler.END
    linked = await members.by_user(database, card.branch_id, user.id)
    if linked is None:
        if not await members.link_user(database, card.branch_id, member.id, user.id):
            await answer(update, render("checkin_note", what="taken"), alert=True)
            return ConversationHandler.END
        _LOGGER.info("User %d linked to member %d", user.id, member.id)
        linked = member
    user_data(context).pop(PICK, None)
    await close_keyboard(update)
    if pick["intent"] == "lv":
        await answer(update)
        await reply_template(update, "checkin_note", what="linked", name=linked.name)
        return await _ask_reason(update, context, card, linked)
    await _sign_in(update, context, card, linked, note="linked_signed")
    return ConversationHandler.END


# ---- leave -------------------------------------------------------------------------------


async def leave_tapped(update: Update, context: BotContext) -> int:
    """ck:lv:<card>: 请假 — the reason is asked in private."""
    user = update.effective_user
    assert user is not None
    card = await _open_card(update, context, on_card=True)
    if card is None:
        return ConversationHandler.END
    if active_flow(context) not in (None, FLOW):
        await answer(update, render("finish_flow_first"), alert=True)
        return ConversationHandler.END
    database = app_of(context).database
    member = await members.by_user(database, card.branch_id, user.id)
    if member is None:
        await _offer_names(update, context, card, "lv")
        return ConversationHandler.END
    if not member.is_party_member:
        await answer(update, render("checkin_note", what="party_only"), alert=True)
        return ConversationHandler.END
    if await checkins.state_of(database, card.id, member.id) == "present":
        await answer(update, render("checkin_note", what="leave_signed"), alert=True)
        return ConversationHandler.END
    return await _ask_reason(update, context, card, member)


async def _ask_reason(
    update: Update,
    context: BotContext,
    card: Checkin,
    member: Member,
    error: InvalidAnswer | None = None,
) -> int:
    text = render(
        "checkin_note",
        what="leave_ask",
        kind=_kind_name(card.kind),
        held_on=card.held_on,
        error=error,
    )
    sent = await _private(update, context, text, [[(labels().CANCEL, "ck:lvx")]])
    if sent is None:
        user_data(context)[PICK] = {"id": card.id, "intent": "lv"}
        await _end_leave(context)
        await _cannot_write(update, context, card)
        return ConversationHandler.END
    if update.callback_query and not is_private(update):
        await answer(update, render("checkin_note", what="leave_sent"), alert=True)
    else:
        await answer(update)
    user_data(context)[LEAVE] = {"id": card.id, "member_id": member.id}
    set_flow(context, FLOW)
    return State.REASON


def _read_reason(text: str) -> str:
    value = clean_line(text.replace("\n", " "))
    if not value:
        raise InvalidAnswer("empty")
    if len(value) > REASON_LIMIT:
        raise InvalidAnswer("too_long", limit=REASON_LIMIT, length=len(value))
    return value


async def reason_typed(update: Update, context: BotContext) -> int:
    """The leave reason, typed in private."""
    draft = user_data(context).get(LEAVE)
    if draft is None:
        return await _end_leave(context)
    application = app_of(context)
    card = await checkins.get(application.database, draft["id"])
    if card is None or not card.is_open:
        await _end_leave(context)
        await reply_template(update, "checkin_note", what="closed")
        return ConversationHandler.END
    member = await members.get(application.database, card.branch_id, draft["member_id"])
    if member is None:
        await _end_leave(context)
        await reply_template(update, "checkin_note", what="not_on_roster")
        return ConversationHandler.END
    assert update.message is not None
    try:
        reason = _read_reason(update.message.text or "")
    except InvalidAnswer as error:
        return await _ask_reason(update, context, card, member, error)
    result = await checkins.mark(
        application.database,
        checkin_id=card.id,
        member_id=member.id,
        state="leave",
        reason=reason,
    )
    await _end_leave(context)
    what = {"closed": "closed", "signed": "leave_signed"}.get(result, "leave_saved")
    if what == "leave_saved":
        request_refresh(application, card.id)
    await reply_template(update, "checkin_note", what=what, reason=reason)
    return ConversationHandler.END


async def _end_leave(context: BotContext) -> int:
    user_data(context).pop(LEAVE, None)
    if active_flow(context) == FLOW:
        set_flow(context, None)
    return ConversationHandler.END


async def leave_cancelled(update: Update, context: BotContext) -> int:
    """/cancel or the 取消 button while the reason is asked."""
    await answer(update)
    await close_keyboard(update)
    await _end_leave(context)
    await reply_template(update, "cancelled")
    return ConversationHandler.END


# ---- the deep link -----------------------------------------------------------------------


async def _in_group(context: BotContext, chat_id: int, user_id: int) -> bool:
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError:
        return False
    return member.status in _IN_CHAT or (
        member.status == ChatMemberStatus.RESTRICTED and bool(getattr(member, "is_member", False))
    )


async def start_link(update: Update, context: BotContext) -> int:
    """/start checkin_<card>: opened from the alert of a user the bot could not write to."""
    user = update.effective_user
    assert user is not None
    if not is_private(update):
        await reply_template(update, "private_only")
        return ConversationHandler.END
    payload = (context.args or [""])[0].removeprefix("checkin_")
    database = app_of(context).database
    card = await checkins.get(database, int(payload)) if payload.isdigit() else None
    if card is None:
        await reply_template(update, "checkin_note", what="link_expired")
        return ConversationHandler.END
    if not card.is_open:
        membership = await repo.get_membership(database, user.id, card.branch_id)
        if membership is not None and membership.can_record:
            await _send_summary(update, context, card)
        else:
            await reply_template(update, "checkin_note", what="closed")
        return ConversationHandler.END
    if not await _in_group(context, card.chat_id, user.id):
        await reply_template(update, "checkin_note", what="not_in_group")
        return ConversationHandler.END
    pick = user_data(context).get(PICK)
    intent = pick["intent"] if pick and pick.get("id") == card.id else "in"
    member = await members.by_user(database, card.branch_id, user.id)
    if member is None:
        await _offer_names(update, context, card, intent)
        return ConversationHandler.END
    user_data(context).pop(PICK, None)
    if not member.is_party_member:
        await reply_template(update, "checkin_note", what="party_only")
        return ConversationHandler.END
    if intent == "lv":
        if active_flow(context) not in (None, FLOW):
            await reply_template(update, "finish_flow_first")
            return ConversationHandler.END
        return await _ask_reason(update, context, card, member)
    await _sign_in(update, context, card, member)
    return ConversationHandler.END


# ---- closing -----------------------------------------------------------------------------


async def _send_summary(update: Update, context: BotContext, card: Checkin) -> bool:
    """The attendance summary with 去记录, in private to the user; False if the bot may not."""
    found = await checkins.attendance(app_of(context).database, card.id)
    assert found is not None
    text = render("checkin_summary", kind=_kind_name(card.kind), attendance=found)
    return (
        await _private(update, context, text, [[(labels().GO_LOG, f"log:ck:{card.id}")]])
        is not None
    )


async def end_tapped(update: Update, context: BotContext) -> None:
    """ck:end:<card>: 结束签到 (书记, 副书记, 支委): final card, 补学 items, summary in private."""
    user = update.effective_user
    assert user is not None
    parts = callback_parts(update)
    application = app_of(context)
    database = application.database
    card = None
    if len(parts) == 3 and parts[2].isdigit():
        card = await checkins.get(database, int(parts[2]))
    if card is None:
        await answer(update, render("button_expired"), alert=True)
        return
    membership = await repo.get_membership(database, user.id, card.branch_id)
    if membership is None or not membership.can_record:
        await forbidden(update)
        return
    closed = await checkins.close(database, checkin_id=card.id, user_id=user.id)
    if job_queue := application.job_queue:
        for job in job_queue.get_jobs_by_name(f"checkin-card-{card.id}"):
            job.schedule_removal()
    _edits(application).pending.discard(card.id)
    await refresh_card(application, card.id)
    if not closed:
        await answer(update, render("checkin_note", what="already_ended"), alert=True)
        return
    _LOGGER.info("Card %d closed by user %d", card.id, user.id)
    closed_card = await checkins.get(database, card.id)
    assert closed_card is not None
    if await _send_summary(update, context, closed_card):
        await answer(update, render("checkin_note", what="ended"))
    else:
        link = _deep_link(context, card.id)
        await answer(update, render("checkin_note", what="ended_no_dm", link=link), alert=True)


# ---- 补学 ---------------------------------------------------------------------------------


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
                    kind=_kind_name(item.kind),
                ),
                f"mk:done:{item.id}",
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


async def makeup_tapped(update: Update, context: BotContext) -> None:
    """mk:done:<id>: this member has made up the study."""
    user = update.effective_user
    assert user is not None
    parts = callback_parts(update)
    database = app_of(context).database
    item = None
    if len(parts) == 3 and parts[2].isdigit():
        item = await checkins.get_makeup(database, int(parts[2]))
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


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Binding, the sign-in card, the leave conversation and 补学.

    The leave conversation is tracked per user across chats (per_chat=False): 请假 is tapped in
    the group and the reason typed in private. Its entry points include /start checkin_<id>, so
    this list must come before the registration conversation's /start.
    """
    private_text = filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND
    return [
        conversation(
            name="checkin_leave",
            per_chat=False,
            allow_reentry=True,
            entry_points=[
                CallbackQueryHandler(leave_tapped, pattern=r"^ck:lv:\d+$"),
                CallbackQueryHandler(name_picked, pattern=r"^ck:me:\d+:\d+$"),
                CommandHandler("start", start_link, filters=filters.Regex(r"^/start checkin_")),
            ],
            states={
                State.REASON: [
                    MessageHandler(private_text, reason_typed),
                    CallbackQueryHandler(leave_cancelled, pattern=r"^ck:lvx$"),
                ]
            },
            fallbacks=[CommandHandler("cancel", leave_cancelled)],
        ),
        ChatMemberHandler(bot_membership, ChatMemberHandler.MY_CHAT_MEMBER),
        CommandHandler("bind", bind),
        CallbackQueryHandler(bind, pattern=r"^gb:bind$"),
        CallbackQueryHandler(bind_to, pattern=r"^gb:to:"),
        CallbackQueryHandler(move, pattern=r"^gb:move:"),
        CallbackQueryHandler(keep, pattern=r"^gb:keep$"),
        CommandHandler("unbind", unbind),
        CommandHandler("checkin", start_checkin),
        CallbackQueryHandler(new_card_tapped, pattern=r"^ck:new:"),
        CallbackQueryHandler(sign_in_tapped, pattern=r"^ck:in:"),
        CallbackQueryHandler(page_tapped, pattern=r"^ck:pk:"),
        CallbackQueryHandler(not_listed, pattern=r"^ck:nf:"),
        CallbackQueryHandler(end_tapped, pattern=r"^ck:end:"),
        CommandHandler("makeups", show_makeups),
        CallbackQueryHandler(makeup_tapped, pattern=r"^mk:done:"),
    ]
