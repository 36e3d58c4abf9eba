"""/members files: the roster exported as .xlsx, the import template, and importing a file.

An uploaded file is read off the event loop, every row is checked, and nothing is imported until
the whole file is valid and the secretary confirms. The confirmation reads the file again from
Telegram (only its id is kept in db.user_state), so the pending import costs a short row and a
roster changed in between is checked again; names are unique per branch, so nothing doubles.

📥 导入 opens a one-step form that waits for the file (text gets a second chance, /cancel and
✖️ 取消 work as in every form); a file sent without it is taken as an import too.
"""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

import msgspec
from telegram import InputFile, Update
from telegram.error import TelegramError

from bot import access, roster
from bot import buttons as bt
from bot.access import Need
from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.forms import Form, Outcome, Step, Turn
from bot.handlers import dues
from bot.handlers.common import (
    active_flow,
    allowed,
    answer,
    close_keyboard,
    local_today,
    reply,
    reply_template,
)
from bot.handlers.members_view import (
    can_edit,
    current,
    expired,
    roster_view,
)
from bot.texts import labels, render
from db import members, user_state
from db.models import Branch

_LOGGER = logging.getLogger(__name__)
IMPORT = "mbi"
MAX_LISTED_ERRORS = 20


async def _send_file(update: Update, data: bytes, name: str, caption: str) -> None:
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(InputFile(io.BytesIO(data), filename=name), caption=caption)


async def export(update: Update, context: BotContext, branch_id: int) -> None:
    """The roster as .xlsx."""
    found = await allowed(update, context, branch_id, Need.EDIT)
    if found is None:
        return
    branch = found[1]
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


async def template(update: Update, context: BotContext, branch_id: int) -> None:
    """The import template."""
    if await allowed(update, context, branch_id, Need.EDIT) is None:
        return
    await answer(update, render("preparing_file"))
    data = await asyncio.to_thread(roster.template_workbook, roster.file_words())
    name = render("roster_file_name", kind="template", branch_name="", today=None)
    await _send_file(update, data, name, render("roster_import", view="template_caption"))


# -- checking a file -----------------------------------------------------------------------------


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
        ignored=check.ignored,
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
    user = update.effective_user
    assert user is not None
    # Committed before the buttons go out: a restart in between still finds the file.
    await user_state.put(
        app_of(context).database,
        user.id,
        user_state.ROSTER_IMPORT,
        {"branch_id": branch.id, "file_id": document.file_id, "file_name": file_name},
    )
    lab = labels()
    rows = [
        [(lab.ROSTER_CONFIRM_IMPORT, bt.IMPORT_OK(branch.id)),
         (lab.ROSTER_CANCEL_IMPORT, bt.IMPORT_NO(branch.id))]
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


# -- waiting for a file: a form of one step ------------------------------------------------------


class ImportDraft(msgspec.Struct):
    """An import waiting for its file."""

    branch_id: int


def _refuse_text(turn: Turn[ImportDraft], text: str) -> None:
    """Text where the file is awaited: asked again (a rule question is answered first)."""
    raise InvalidAnswer("need_file", about="roster")


# The file itself arrives through `file_sent` (the engine takes no spreadsheets): never answered.
_FILE_STEP: Step[ImportDraft] = Step(
    name="file",
    question=lambda turn: render("roster_import", view="ask_file"),
    answered=lambda draft: False,
    read=_refuse_text,
)


async def _load(turn: Turn[ImportDraft]) -> None:
    """The user may still change the roster."""
    await turn.authorize(turn.draft.branch_id, Need.EDIT)


async def _never_saved(turn: Turn[ImportDraft], key: str) -> Outcome:
    raise AssertionError("the import form ends when its file is taken, never by a save")


IMPORT_FORM: Form[ImportDraft] = Form(
    name=IMPORT,
    draft=ImportDraft,
    steps=lambda draft: [_FILE_STEP],
    load=_load,
    save=_never_saved,
)


async def begin_import(update: Update, context: BotContext, branch_id: int) -> None:
    """📥 导入: wait for the file."""
    found = await allowed(update, context, branch_id, Need.EDIT)
    if found is None:
        return
    await app_of(context).forms.start(update, context, IMPORT, ImportDraft(branch_id=found[1].id))


async def file_sent(update: Update, context: BotContext) -> None:
    """A file in a private chat: the one 📥 导入 waits for, or an import for an editor."""
    user = update.effective_user
    assert user is not None
    application = app_of(context)
    waiting = application.forms.peek(user.id)
    if waiting is not None and waiting[0] == IMPORT:
        found = await access.authorize(
            application.database, user.id, waiting[1]["branch_id"], Need.EDIT
        )
        if found is None:
            await application.forms.close(application.database, user.id)
            await reply_template(update, "no_permission")
            return
        if await _receive_file(update, context, found[1]):
            await application.forms.close(application.database, user.id)
        return
    if active_flow(context):
        await reply_template(update, "finish_flow_first")
        return
    found = await current(update, context)
    if found is None:
        return
    membership, branch = found
    if not can_edit(membership):
        await reply_template(update, "roster_import", view="refused")
        return
    await _receive_file(update, context, branch)


async def _pending(update: Update, context: BotContext, branch_id: int) -> dict[str, Any] | None:
    """The checked file a 确认导入 / 取消 button is about, if it is still waiting."""
    user = update.effective_user
    assert user is not None
    pending = await user_state.get(app_of(context).database, user.id, user_state.ROSTER_IMPORT)
    if not pending or pending.get("branch_id") != branch_id:
        return None
    return pending


async def _forget(context: BotContext, user_id: int) -> None:
    await user_state.delete(app_of(context).database, user_id, user_state.ROSTER_IMPORT)


async def confirm_import(update: Update, context: BotContext, branch_id: int) -> None:
    """Import the checked file (read and checked again)."""
    pending = await _pending(update, context, branch_id)
    if pending is None:
        await expired(update)
        return
    found = await allowed(update, context, pending["branch_id"], Need.EDIT)
    if found is None:
        return
    membership, branch = found
    await _forget(context, membership.user_id)
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
    await dues.settle_marks(
        app_of(context).database, branch.id, membership.user_id, local_today(context)
    )
    await reply_template(update, "roster_import", view="done", count=count)
    await reply(update, *await roster_view(app_of(context).database, membership, 0))


async def cancel_import(update: Update, context: BotContext, branch_id: int) -> None:
    """Forget the checked file."""
    user = update.effective_user
    if user is None or await _pending(update, context, branch_id) is None:
        await expired(update)
        return
    await _forget(context, user.id)
    await answer(update)
    await close_keyboard(update)
    await reply_template(update, "roster_import", view="cancelled")
