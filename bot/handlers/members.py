"""/members: the branch's roster (花名册): list, cards, a guided add and edit, import, export.

Buttons carry the branch id (and the member id) and are checked again on every tap: the user
must belong to that branch, the member to that branch, and changes need a secretary or deputy
(committee members and viewers read only). Typed answers go through one small conversation;
an uploaded file is read off the event loop, every row is checked, and nothing is imported
until the whole file is valid and the secretary confirms. The confirmation reads the file again
from Telegram (only its id is kept), so the pending import costs nothing in user_data and a
roster changed in between is checked again; names are unique per branch, so nothing doubles.
"""

from __future__ import annotations

import asyncio
import io
import logging
from enum import IntEnum
from typing import Any

from telegram import InputFile, Update
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import roster
from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.handlers.common import (
    active_flow,
    answer,
    callback_parts,
    close_keyboard,
    conversation,
    forbidden,
    in_rows,
    is_private,
    local_today,
    reply,
    reply_template,
    set_flow,
    user_data,
)
from bot.member_counts import member_counts
from bot.texts import labels, render
from db import members, repo
from db.models import MEMBER_STATUSES, Branch, Member, MemberInfo, Membership

_LOGGER = logging.getLogger(__name__)
FLOW = "roster_input"
DRAFT = "roster_input"
PENDING = "roster_import"
PAGE_SIZE = 10
MAX_LISTED_ERRORS = 20
# Editing one of these fields goes on to the questions that depend on it.
_EDIT_FIELDS = {
    "status": ("status", "joined_on"),
    "mobile": ("mobile", *roster.MOBILE_FIELDS),
}
_TEXT_STEPS = frozenset({"name", "party_group", "destination", *roster.DATE_FIELDS})


class State(IntEnum):
    """Waiting for a typed answer, or for a file to import."""

    ASKING = 1
    FILE = 2


# -- shared --------------------------------------------------------------------------------------


async def _allowed(
    update: Update, context: BotContext, branch_id: int, *, edit: bool
) -> tuple[Membership, Branch] | None:
    """The user's membership and the branch if they may read (or, with `edit`, change) it."""
    user = update.effective_user
    assert user is not None
    database = app_of(context).database
    membership = await repo.get_membership(database, user.id, branch_id)
    branch = await repo.get_branch(database, branch_id)
    if membership is None or branch is None or (edit and not membership.can_edit):
        await forbidden(update)
        return None
    return membership, branch


def _ids(update: Update, count: int) -> list[int] | None:
    """The numbers after `mb:<action>:` (exactly `count` of them), or None."""
    parts = callback_parts(update)[2:]
    if len(parts) < count or not all(p.isdigit() for p in parts[:count]):
        return None
    return [int(p) for p in parts[:count]]


async def _expired(update: Update) -> None:
    await answer(update, render("button_expired"), alert=True)


async def _current(update: Update, context: BotContext) -> tuple[Membership, Branch] | None:
    """The current branch for a command, a menu tap or a file (private chats only)."""
    user = update.effective_user
    assert user is not None
    if not is_private(update):
        await reply_template(update, "private_only")
        return None
    current = await repo.current_membership(app_of(context).database, user.id)
    if current is None:
        await reply_template(update, "not_registered")
    return current


async def _member(
    update: Update, context: BotContext, *, edit: bool
) -> tuple[Membership, Branch, Member] | None:
    """The member an `mb:<action>:<branch>:<member>` button names, if the user may see it."""
    ids = _ids(update, 2)
    if ids is None:
        await _expired(update)
        return None
    allowed = await _allowed(update, context, ids[0], edit=edit)
    if allowed is None:
        return None
    member = await members.get(app_of(context).database, ids[0], ids[1])
    if member is None:
        await _expired(update)
        return None
    return *allowed, member


def _view(info: MemberInfo) -> dict[str, Any]:
    return roster.values_of(info)


# -- the roster screen ---------------------------------------------------------------------------


async def _roster(update: Update, context: BotContext, membership: Membership, page: int) -> None:
    database = app_of(context).database
    branch = await repo.get_branch(database, membership.branch_id)
    assert branch is not None
    people = await members.list_for(database, branch.id)
    pages = max(1, -(-len(people) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = people[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    lab = labels()
    b = branch.id
    mark = lab.ROSTER_MOBILE_MARK
    buttons = [
        (lab.ROSTER_PERSON.format(name=m.name, mark=mark if m.info.mobile else ""),
         f"mb:o:{b}:{m.id}")
        for m in shown
    ]  # fmt: skip
    rows = in_rows(buttons, 2)
    nav = []
    if page > 0:
        nav.append((lab.ROSTER_PREV, f"mb:l:{b}:{page - 1}"))
    if page < pages - 1:
        nav.append((lab.ROSTER_NEXT, f"mb:l:{b}:{page + 1}"))
    if nav:
        rows.append(nav)
    tally = member_counts(branch, people)
    if membership.can_edit and tally.awaiting_confirmation:
        done = lab.ROSTER_COMPLETE.format(
            formal=tally.roster_formal, probationary=tally.roster_probationary
        )
        rows.append([(done, f"mb:done:{b}")])
    if membership.can_edit:
        rows.append([(lab.ROSTER_ADD, f"mb:add:{b}"), (lab.ROSTER_IMPORT, f"mb:imp:{b}")])
        rows.append([(lab.ROSTER_EXPORT, f"mb:x:{b}"), (lab.ROSTER_TEMPLATE, f"mb:t:{b}")])
    rows.append([(lab.MENU, "menu:home")])
    counts = [(s, sum(1 for m in people if m.info.status == s)) for s in MEMBER_STATUSES]
    listed = [
        {
            "number": page * PAGE_SIZE + i,
            "name": m.name,
            "status": lab.ROSTER_STATUSES[m.info.status],
            "role": lab.ROSTER_ROLES.get(m.info.committee_role) if m.info.committee_role else "",
            "mobile": m.info.mobile,
        }
        for i, m in enumerate(shown, 1)
    ]
    await reply_template(
        update,
        "roster_list",
        rows,
        branch_name=branch.profile.name,
        total=len(people),
        counts=counts,
        people=listed,
        page=page,
        pages=pages,
        can_edit=membership.can_edit,
        c=tally,
    )


async def confirm_complete(update: Update, context: BotContext) -> None:
    """mb:done:<branch>: the roster lists everyone; from now on the counts come from it."""
    ids = _ids(update, 1)
    if ids is None:
        await _expired(update)
        return
    allowed = await _allowed(update, context, ids[0], edit=True)
    if allowed is None:
        return
    membership = allowed[0]
    user = update.effective_user
    assert user is not None
    changed = await members.confirm_complete(
        app_of(context).database, user_id=user.id, branch_id=ids[0]
    )
    await answer(update, render("roster_complete", changed=changed))
    await close_keyboard(update)
    await _roster(update, context, membership, 0)


async def show_roster(update: Update, context: BotContext) -> None:
    """/members, 花名册 in the menu, or mb:l:<branch>:<page>."""
    if update.callback_query and callback_parts(update)[:2] == ["mb", "l"]:
        ids = _ids(update, 2)
        if ids is None:
            await _expired(update)
            return
        allowed = await _allowed(update, context, ids[0], edit=False)
        if allowed is None:
            return
        membership, page = allowed[0], ids[1]
    else:
        current = await _current(update, context)
        if current is None:
            await answer(update)
            return
        membership, page = current[0], 0
    await answer(update)
    await close_keyboard(update)
    await _roster(update, context, membership, page)


# -- a member's card -----------------------------------------------------------------------------


def _card_rows(
    membership: Membership, branch: Branch, member: Member
) -> list[list[tuple[str, str]]]:
    lab = labels()
    b, m = member.branch_id, member.id
    rows: list[list[tuple[str, str]]] = []
    if membership.can_edit:
        values = roster.values_of(member.info)
        fields = roster.steps_for(values, party_groups=branch.profile.has_party_groups)
        names = {**lab.ROSTER_FIELDS, "joined_on": lab.ROSTER_DATE_NAMES[member.info.status]}
        buttons = [(lab.ROSTER_EDIT.format(field=names[f]), f"mb:e:{b}:{m}:{f}") for f in fields]
        rows = in_rows(buttons, 2)
        rows.append([(lab.ROSTER_DELETE, f"mb:d:{b}:{m}")])
    rows.append([(lab.ROSTER_BACK, f"mb:l:{b}:0")])
    return rows


async def _card(
    update: Update, membership: Membership, branch: Branch, member: Member, view: str = "card"
) -> None:
    rows = _card_rows(membership, branch, member)
    if view == "added":
        rows.insert(-1, [(labels().ROSTER_ADD_MORE, f"mb:add:{member.branch_id}")])
    await reply_template(
        update,
        "roster_card",
        rows,
        view=view,
        m=_view(member.info),
        party_groups=branch.profile.has_party_groups,
    )


async def open_member(update: Update, context: BotContext) -> None:
    """mb:o:<branch>:<member>: the member's card."""
    found = await _member(update, context, edit=False)
    if found is None:
        return
    membership, branch, member = found
    await answer(update)
    await close_keyboard(update)
    await _card(update, membership, branch, member)


async def ask_delete(update: Update, context: BotContext) -> None:
    """mb:d:<branch>:<member>: ask before deleting."""
    found = await _member(update, context, edit=True)
    if found is None:
        return
    _, branch, member = found
    await answer(update)
    await close_keyboard(update)
    lab = labels()
    rows = [
        [(lab.ROSTER_CONFIRM_DELETE, f"mb:dd:{branch.id}:{member.id}"),
         (lab.ROSTER_KEEP_PERSON, f"mb:o:{branch.id}:{member.id}")]
    ]  # fmt: skip
    await reply_template(update, "roster_card", rows, view="confirm_delete", m=_view(member.info))


async def delete(update: Update, context: BotContext) -> None:
    """mb:dd:<branch>:<member>: delete for good (a second tap finds no one)."""
    found = await _member(update, context, edit=True)
    if found is None:
        return
    membership, branch, member = found
    await members.remove(
        app_of(context).database,
        user_id=membership.user_id,
        branch_id=branch.id,
        member_id=member.id,
    )
    _LOGGER.info("Member %d deleted from branch %d", member.id, branch.id)
    await answer(update)
    await close_keyboard(update)
    await reply_template(update, "roster_card", view="deleted", m=_view(member.info))
    await _roster(update, context, membership, 0)


# -- files handed over ---------------------------------------------------------------------------


async def _send_file(update: Update, data: bytes, name: str, caption: str) -> None:
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(InputFile(io.BytesIO(data), filename=name), caption=caption)


async def export(update: Update, context: BotContext) -> None:
    """mb:x:<branch>: the roster as .xlsx."""
    ids = _ids(update, 1)
    if ids is None:
        await _expired(update)
        return
    allowed = await _allowed(update, context, ids[0], edit=True)
    if allowed is None:
        return
    branch = allowed[1]
    await answer(update, render("preparing_file"))
    people = await members.list_for(app_of(context).database, branch.id)
    today = local_today(context)
    words = roster.file_words()
    data = await asyncio.to_thread(
        roster.roster_workbook, words, branch.profile.name, people, today
    )
    name = render(
        "roster_file_name",
        kind="export",
        branch_name=roster.safe_file_part(branch.profile.name),
        today=today,
    )
    caption = render(
        "roster_import", view="export_caption", branch_name=branch.profile.name, count=len(people)
    )
    _LOGGER.info("Roster of branch %d exported (%d rows)", branch.id, len(people))
    await _send_file(update, data, name, caption)


async def template(update: Update, context: BotContext) -> None:
    """mb:t:<branch>: the import template."""
    ids = _ids(update, 1)
    if ids is None:
        await _expired(update)
        return
    if await _allowed(update, context, ids[0], edit=True) is None:
        return
    await answer(update, render("preparing_file"))
    data = await asyncio.to_thread(roster.template_workbook, roster.file_words())
    name = render("roster_file_name", kind="template", branch_name="", today=None)
    await _send_file(update, data, name, render("roster_import", view="template_caption"))


# -- import --------------------------------------------------------------------------------------


async def _problem(update: Update, file_name: str, error: roster.FileProblem) -> None:
    await reply_template(update, "roster_import", view="problem", file_name=file_name, error=error)


async def _download(context: BotContext, file_id: str) -> bytes:
    telegram_file = await context.bot.get_file(file_id)
    return bytes(await telegram_file.download_as_bytearray())


async def _check(
    context: BotContext, branch: Branch, data: bytes, file_name: str
) -> roster.ImportCheck:
    database = app_of(context).database
    existing = [m.name for m in await members.list_for(database, branch.id)]
    return await asyncio.to_thread(
        roster.check_file,
        data,
        file_name,
        existing,
        local_today(context),
        dict(labels().ROSTER_COLUMNS),
    )


async def _report_errors(update: Update, file_name: str, check: roster.ImportCheck) -> None:
    total = len(check.errors)
    await reply_template(
        update,
        "roster_import",
        view="errors",
        file_name=file_name,
        errors=check.errors[:MAX_LISTED_ERRORS],
        total=total,
        more=max(0, total - MAX_LISTED_ERRORS),
    )


async def _receive_file(update: Update, context: BotContext, branch: Branch) -> bool:
    """Read and check an uploaded roster; True if it is valid and waits for confirmation."""
    message = update.message
    assert message is not None and message.document is not None
    document = message.document
    file_name = document.file_name or ""
    try:
        roster.file_kind(file_name)
        if (document.file_size or 0) > roster.MAX_FILE_BYTES:
            raise roster.FileProblem("too_big", limit=roster.MAX_FILE_BYTES // (1024 * 1024))
        try:
            data = await _download(context, document.file_id)
        except TelegramError:
            raise roster.FileProblem("download") from None
        check = await _check(context, branch, data, file_name)
    except roster.FileProblem as problem:
        _LOGGER.info("Roster file refused for branch %d: %s", branch.id, problem.code)
        await _problem(update, file_name, problem)
        return False
    if check.errors:
        _LOGGER.info("Roster file for branch %d: %d problems", branch.id, len(check.errors))
        await _report_errors(update, file_name, check)
        return False
    user_data(context)[PENDING] = {
        "branch_id": branch.id,
        "file_id": document.file_id,
        "file_name": file_name,
    }
    lab = labels()
    rows = [
        [(lab.ROSTER_CONFIRM_IMPORT, f"mb:ok:{branch.id}"),
         (lab.ROSTER_CANCEL_IMPORT, f"mb:no:{branch.id}")]
    ]  # fmt: skip
    await reply_template(
        update,
        "roster_import",
        rows,
        view="summary",
        file_name=file_name,
        count=len(check.infos),
        counts=list(check.by_status.items()),
        ignored=check.ignored,
        branch_name=branch.profile.name,
    )
    return True


async def file_outside(update: Update, context: BotContext) -> None:
    """A file in a private chat while no import waits for one: an import for an editor."""
    if active_flow(context):
        await reply_template(update, "finish_flow_first")
        return
    current = await _current(update, context)
    if current is None:
        return
    membership, branch = current
    if not membership.can_edit:
        await reply_template(update, "roster_import", view="refused")
        return
    await _receive_file(update, context, branch)


async def confirm_import(update: Update, context: BotContext) -> None:
    """mb:ok:<branch>: import the checked file (read and checked again)."""
    ids = _ids(update, 1)
    pending = user_data(context).get(PENDING)
    if ids is None or not pending or pending.get("branch_id") != ids[0]:
        await _expired(update)
        return
    allowed = await _allowed(update, context, ids[0], edit=True)
    if allowed is None:
        return
    membership, branch = allowed
    user_data(context).pop(PENDING, None)
    await answer(update)
    await close_keyboard(update)
    file_name = pending["file_name"]
    try:
        try:
            data = await _download(context, pending["file_id"])
        except TelegramError:
            raise roster.FileProblem("download") from None
        check = await _check(context, branch, data, file_name)
    except roster.FileProblem as problem:
        await _problem(update, file_name, problem)
        return
    if check.errors:
        await _report_errors(update, file_name, check)
        return
    try:
        count = await members.add_many(
            app_of(context).database,
            user_id=membership.user_id,
            branch_id=branch.id,
            infos=check.infos,
        )
    except members.DuplicateName:
        await _problem(update, file_name, roster.FileProblem("changed"))
        return
    _LOGGER.info("Roster import into branch %d: %d rows", branch.id, count)
    await reply_template(update, "roster_import", view="done", count=count)
    await _roster(update, context, membership, 0)


async def cancel_import(update: Update, context: BotContext) -> None:
    """mb:no:<branch>: forget the checked file."""
    ids = _ids(update, 1)
    pending = user_data(context).get(PENDING)
    if ids is None or not pending or pending.get("branch_id") != ids[0]:
        await _expired(update)
        return
    user_data(context).pop(PENDING, None)
    await answer(update)
    await close_keyboard(update)
    await reply_template(update, "roster_import", view="cancelled")


# -- the conversation: add, edit one field, wait for a file ---------------------------------------


def _draft(context: BotContext) -> dict[str, Any]:
    draft = user_data(context).get(DRAFT)
    assert draft is not None, "the roster conversation has no draft"
    return draft


def _steps(draft: dict[str, Any]) -> list[str]:
    return roster.steps_for(
        draft["values"], draft["fields"], party_groups=draft.get("party_groups", True)
    )


def _ask_rows(draft: dict[str, Any]) -> list[list[tuple[str, str]]]:
    lab = labels()
    step, values = draft["step"], draft["values"]
    rows: list[list[tuple[str, str]]] = []
    if step == "status":
        choices = [(lab.ROSTER_STATUSES[s], f"mi:st:{s}") for s in MEMBER_STATUSES]
        rows = in_rows(choices, 2)
    elif step == "committee_role":
        choices = [(name, f"mi:role:{code or 'none'}") for code, name in lab.ROSTER_ROLES.items()]
        rows = in_rows(choices, 3)
    elif step == "mobile":
        rows = [[(lab.YES, "mi:yn:1"), (lab.NO, "mi:yn:0")]]
    if step == "joined_on":
        rows.append([(lab.ROSTER_UNKNOWN_DATE, "mi:skip")])
    elif step in roster.OPTIONAL_STEPS or roster.date_optional(values, step):
        rows.append([(lab.ROSTER_SKIP, "mi:skip")])
    kept = draft["original"].get(step) if draft["mode"] == "edit" else None
    if kept and step in _TEXT_STEPS and step != draft["fields"][0]:
        rows.append([(lab.ROSTER_KEEP.format(value=kept), "mi:keep")])
    steps = _steps(draft)
    last = [(lab.CANCEL, "mi:cancel")]
    if step in steps and steps.index(step) > 0:
        last.insert(0, (lab.BACK, "mi:back"))
    rows.append(last)
    return rows


async def _ask(update: Update, context: BotContext, error: InvalidAnswer | None = None) -> int:
    draft = _draft(context)
    step, values = draft["step"], draft["values"]
    steps = _steps(draft)
    text = render(
        "roster_ask",
        step=step,
        mode=draft["mode"],
        name=values.get("name") or "",
        status=values.get("status") or "formal",
        number=steps.index(step) + 1 if step in steps else 1,
        optional=roster.date_optional(values, step),
        error=error,
    )
    await reply(update, text, _ask_rows(draft))
    return State.ASKING


async def _start(update: Update, context: BotContext, draft: dict[str, Any]) -> int:
    user_data(context)[DRAFT] = draft
    set_flow(context, FLOW)
    await answer(update)
    await close_keyboard(update)
    if draft["mode"] == "import":
        rows = [[(labels().CANCEL, "mi:cancel")]]
        await reply_template(update, "roster_import", rows, view="ask_file")
        return State.FILE
    return await _ask(update, context)


async def _busy(update: Update, context: BotContext) -> bool:
    if active_flow(context) and active_flow(context) != FLOW:
        await answer(update, render("finish_flow_first"), alert=True)
        return True
    return False


async def begin_add(update: Update, context: BotContext) -> int:
    """mb:add:<branch> (➕ 添加) and mb:imp:<branch> (📥 导入)."""
    ids = _ids(update, 1)
    if ids is None:
        await _expired(update)
        return ConversationHandler.END
    if await _busy(update, context):
        return ConversationHandler.END
    allowed = await _allowed(update, context, ids[0], edit=True)
    if allowed is None:
        return ConversationHandler.END
    mode = "import" if callback_parts(update)[1] == "imp" else "add"
    draft = {
        "branch_id": ids[0],
        "member_id": None,
        "party_groups": allowed[1].profile.has_party_groups,
        "mode": mode,
        "fields": list(roster.FIELDS),
        "step": "name",
        "values": {},
        "original": {},
    }
    return await _start(update, context, draft)


async def begin_edit(update: Update, context: BotContext) -> int:
    """mb:e:<branch>:<member>:<field>: change one field from the card."""
    parts = callback_parts(update)
    if await _busy(update, context):
        return ConversationHandler.END
    found = await _member(update, context, edit=True)
    if found is None:
        return ConversationHandler.END
    branch, member = found[1], found[2]
    values = roster.values_of(member.info)
    field = parts[4] if len(parts) == 5 else ""
    party_groups = branch.profile.has_party_groups
    if field not in roster.steps_for(values, party_groups=party_groups):
        await _expired(update)
        return ConversationHandler.END
    draft = {
        "branch_id": member.branch_id,
        "member_id": member.id,
        "party_groups": party_groups,
        "mode": "edit",
        "fields": list(_EDIT_FIELDS.get(field, (field,))),
        "step": field,
        "values": values,
        "original": dict(values),
    }
    return await _start(update, context, draft)


async def _end(context: BotContext) -> int:
    user_data(context).pop(DRAFT, None)
    set_flow(context, None)
    return ConversationHandler.END


async def _accept(update: Update, context: BotContext, value: Any) -> int:
    """Take the answer to the current question and go on (or save after the last one)."""
    draft = _draft(context)
    allowed = await _allowed(update, context, draft["branch_id"], edit=True)
    if allowed is None:
        return await _end(context)
    step = draft["step"]
    if step == "name":
        others = await members.list_for(app_of(context).database, draft["branch_id"])
        names = [m.name for m in others if m.id != draft["member_id"]]
        if roster.same_name(value, names) is not None:
            return await _ask(update, context, InvalidAnswer("dup_roster"))
    draft["values"][step] = value
    steps = _steps(draft)
    later = steps[steps.index(step) + 1 :] if step in steps else []
    if later:
        draft["step"] = later[0]
        return await _ask(update, context)
    return await _save(update, context, *allowed)


async def _save(
    update: Update, context: BotContext, membership: Membership, branch: Branch
) -> int:
    draft = _draft(context)
    info = roster.tidy(roster.info_of(draft["values"]))
    problems = roster.check_info(info)
    if problems:
        field, error = problems[0]
        if field not in draft["fields"]:
            draft["fields"].append(field)
        draft["step"] = field
        return await _ask(update, context, error)
    database = app_of(context).database
    try:
        if draft["mode"] == "add":
            member = await members.add(
                database, user_id=membership.user_id, branch_id=branch.id, info=info
            )
            view = "added"
        else:
            original = roster.info_of(draft["original"])
            changed = await members.update(
                database,
                user_id=membership.user_id,
                branch_id=branch.id,
                member_id=draft["member_id"],
                info=info,
            )
            if not changed:
                await _end(context)
                await reply_template(update, "record_gone")
                return ConversationHandler.END
            member = Member(id=draft["member_id"], branch_id=branch.id, info=info)
            view = "unchanged" if info == original else "saved"
    except members.DuplicateName:
        draft["step"] = "name"
        return await _ask(update, context, InvalidAnswer("dup_roster"))
    _LOGGER.info("Member %d %s in branch %d", member.id, view, branch.id)
    await _end(context)
    await _card(update, membership, branch, member, view)
    return ConversationHandler.END


async def typed(update: Update, context: BotContext) -> int:
    """A typed answer (a status, role or 是/否 may be typed instead of tapped)."""
    assert update.message is not None
    draft = _draft(context)
    step = draft["step"]
    try:
        value = roster.read_answer(
            step, update.message.text or "", draft["values"], local_today(context)
        )
    except InvalidAnswer as error:
        return await _ask(update, context, error)
    return await _accept(update, context, value)


def _tapped_value(draft: dict[str, Any], parts: list[str]) -> tuple[bool, Any]:
    """(whether the button belongs to the current question, the value it gives)."""
    step, values = draft["step"], draft["values"]
    action, args = parts[1] if len(parts) > 1 else "", parts[2:]
    if action == "st" and step == "status" and args and args[0] in MEMBER_STATUSES:
        return True, args[0]
    if action == "role" and step == "committee_role" and args:
        code = "" if args[0] == "none" else args[0]
        return code in roster.COMMITTEE_ROLES or code == "", code
    if action == "yn" and step == "mobile" and args in (["0"], ["1"]):
        return True, args == ["1"]
    if action == "skip" and (step in roster.OPTIONAL_STEPS or roster.date_optional(values, step)):
        return True, None if step in roster.DATE_FIELDS else ""
    if action == "keep" and draft["mode"] == "edit" and draft["original"].get(step):
        return True, draft["original"][step]
    return False, None


async def tapped(update: Update, context: BotContext) -> int:
    """mi:st:<status>, mi:role:<role>, mi:yn:<0|1>, mi:skip, mi:keep."""
    draft = _draft(context)
    belongs, value = _tapped_value(draft, callback_parts(update))
    if not belongs:
        await _expired(update)
        return State.ASKING
    await answer(update)
    await close_keyboard(update)
    return await _accept(update, context, value)


async def back(update: Update, context: BotContext) -> int:
    """mi:back: the previous question."""
    draft = _draft(context)
    steps = _steps(draft)
    step = draft["step"]
    if step not in steps or steps.index(step) == 0:
        await _expired(update)
        return State.ASKING
    await answer(update)
    await close_keyboard(update)
    draft["step"] = steps[steps.index(step) - 1]
    return await _ask(update, context)


async def file_in_flow(update: Update, context: BotContext) -> int:
    """The file the import step waits for (a bad one: say why and wait for another)."""
    draft = _draft(context)
    allowed = await _allowed(update, context, draft["branch_id"], edit=True)
    if allowed is None:
        return await _end(context)
    if await _receive_file(update, context, allowed[1]):
        return await _end(context)
    return State.FILE


async def waiting_for_file(update: Update, context: BotContext) -> int:
    """Text or a photo while the import step waits for a file."""
    rows = [[(labels().CANCEL, "mi:cancel")]]
    await reply_template(update, "roster_import", rows, view="waiting")
    return State.FILE


def _typed_something(draft: dict[str, Any]) -> bool:
    """Whether cancelling now would throw away answers the user gave."""
    if draft["mode"] == "add":
        return bool(draft["values"])
    return draft["mode"] == "edit" and draft["values"] != draft["original"]


async def ask_cancel(update: Update, context: BotContext) -> int:
    """✖️ 取消: straight away if nothing was entered, else ask before throwing it away."""
    draft = _draft(context)
    if not _typed_something(draft):
        return await cancel(update, context)
    await answer(update)
    await close_keyboard(update)
    lab = labels()
    rows = [[(lab.ROSTER_DISCARD, "mi:cx"), (lab.ROSTER_GO_ON, "mi:go")]]
    name = draft["values"].get("name") or ""
    await reply_template(update, "roster_discard", rows, name=name, mode=draft["mode"])
    return State.ASKING


async def go_on(update: Update, context: BotContext) -> int:
    """继续填写 after ✖️ 取消: the pending question again."""
    await answer(update)
    await close_keyboard(update)
    return await _ask(update, context)


async def cancel(update: Update, context: BotContext) -> int:
    """/cancel, or 取消 confirmed, inside the conversation."""
    await answer(update)
    await close_keyboard(update)
    await _end(context)
    await reply_template(update, "cancelled")
    return ConversationHandler.END


async def resume(update: Update, context: BotContext) -> int | None:
    """/members or 花名册 while adding, editing or importing: ask the pending question again."""
    await answer(update)
    if _draft(context)["mode"] == "import":
        return await waiting_for_file(update, context)
    return await _ask(update, context)


async def busy(update: Update, context: BotContext) -> None:
    """Another add, edit or import started while one is under way."""
    await answer(update, render("finish_flow_first"), alert=True)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/members, its buttons, the add/edit/import conversation, and uploaded roster files."""
    text = filters.TEXT & ~filters.COMMAND
    roster_file = filters.ChatType.PRIVATE & filters.Document.ALL & ~filters.Document.IMAGE
    return [
        conversation(
            name="roster_input",
            entry_points=[
                CallbackQueryHandler(begin_add, pattern=r"^mb:(add|imp):"),
                CallbackQueryHandler(begin_edit, pattern=r"^mb:e:"),
            ],
            states={
                State.ASKING: [
                    MessageHandler(text, typed),
                    CallbackQueryHandler(back, pattern=r"^mi:back$"),
                    CallbackQueryHandler(ask_cancel, pattern=r"^mi:cancel$"),
                    CallbackQueryHandler(cancel, pattern=r"^mi:cx$"),
                    CallbackQueryHandler(go_on, pattern=r"^mi:go$"),
                    CallbackQueryHandler(tapped, pattern=r"^mi:"),
                ],
                State.FILE: [
                    MessageHandler(filters.Document.ALL, file_in_flow),
                    MessageHandler(text | filters.PHOTO, waiting_for_file),
                    CallbackQueryHandler(cancel, pattern=r"^mi:cancel$"),
                ],
            },
            fallbacks=[
                CommandHandler("cancel", cancel),
                CommandHandler("members", resume),
                CallbackQueryHandler(resume, pattern=r"^menu:members$"),
                CallbackQueryHandler(busy, pattern=r"^mb:(add|imp|e):"),
            ],
        ),
        CommandHandler("members", show_roster),
        CallbackQueryHandler(show_roster, pattern=r"^(menu:members|mb:l:)"),
        CallbackQueryHandler(open_member, pattern=r"^mb:o:"),
        CallbackQueryHandler(confirm_complete, pattern=r"^mb:done:"),
        CallbackQueryHandler(ask_delete, pattern=r"^mb:d:"),
        CallbackQueryHandler(delete, pattern=r"^mb:dd:"),
        CallbackQueryHandler(export, pattern=r"^mb:x:"),
        CallbackQueryHandler(template, pattern=r"^mb:t:"),
        CallbackQueryHandler(confirm_import, pattern=r"^mb:ok:"),
        CallbackQueryHandler(cancel_import, pattern=r"^mb:no:"),
        MessageHandler(roster_file, file_outside),
    ]
