"""The form engine: a guided conversation declared as data, run the same way everywhere.

A form names its steps (question, buttons, how a typed or tapped answer is read), its review card
and its save. The engine owns the rest, once: typed and tapped answers, stale buttons, back,
"保持原样", edit from the review card, skip, cancel (asking first when something was typed),
resume after a restart and "another form is open".

Commit, then send. Every change of a conversation is committed to the database before the next
question goes out, and a question counts as seen only once Telegram accepted it (`shown`). So a
crash between the commit and the send leaves the user on the question they last saw: a typed
answer that arrives while the newest question was never shown is not taken; the question is
asked again. Buttons carry the revision they were sent with; a button older than the question on
screen is refused as expired. The last update applied is stored with the state, so an update
replayed after a crash is not applied twice. Once another command has answered in the chat, the
question is no longer the last thing on screen either (SET_ASIDE): the next typed text is not
taken as its answer; the question is asked again first. Taps and /cancel are always taken.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import msgspec
from markupsafe import Markup
from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import access
from bot.access import Need
from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.callbacks import MAX_BYTES
from bot.handlers.common import answer as _answer
from bot.handlers.common import close_keyboard as _close_keyboard
from bot.handlers.common import keyboard as _keyboard
from bot.handlers.common import reply as _send
from bot.texts import labels, render
from db import forms as store
from db.models import Branch, Membership

_LOGGER = logging.getLogger(__name__)
D = TypeVar("D", bound=msgspec.Struct)
REVIEW = ""  # the step name of the review card
Rows = list[list[tuple[str, str]]]


class Refused(Exception):
    """The user may no longer go on with this form (role changed, record gone)."""

    def __init__(self, template: str, **params: Any) -> None:
        super().__init__(template)
        self.template = template
        self.params = params

    def text(self) -> str:
        """What the user is told."""
        return render(self.template, **self.params)


class NotNow(InvalidAnswer):
    """A tapped choice that is valid but cannot be taken now (an audience with no branches): the
    question is asked again with the reason. A code no button carries stays InvalidAnswer, an
    expired button."""


class Choice(msgspec.Struct, frozen=True):
    """A tappable answer: its code travels in the button, its label is shown."""

    code: str
    label: str


class Turn(msgspec.Struct, Generic[D]):
    """What a form's functions see while one update is handled."""

    update: Update
    context: BotContext
    user_id: int
    today: date
    draft: D
    env: Any = None
    notes: list[str] = msgspec.field(default_factory=list)
    # Where the questions go when not to the chat of the update (a tap in a group opens a form
    # in the user's private chat).
    chat_id: int | None = None

    @property
    def database(self) -> Any:
        """The bot's database."""
        return app_of(self.context).database

    async def authorize(self, branch_id: int | None, need: Need) -> tuple[Membership, Branch]:
        """The user's membership and the branch, checked again on every update of a form; a
        role lost meanwhile ends the form with no_permission (Refused)."""
        found = None
        if branch_id is not None:
            found = await access.authorize(self.database, self.user_id, branch_id, need)
        if found is None:
            _LOGGER.warning("User %s refused %s in branch %s", self.user_id, need.value, branch_id)
            raise Refused("no_permission")
        return found


def _no_choices(turn: Turn[Any]) -> list[list[Choice]]:
    return []


def _always(draft: Any) -> bool:
    return True


class Step(msgspec.Struct, Generic[D], frozen=True):
    """One question of a form.

    `read` takes a typed answer and `pick` a tapped choice's code; both change the draft or raise
    InvalidAnswer (the question is asked again with the reason). `answered` says whether the draft
    holds an answer (the step then offers "保持原样"); `current` shows that answer.
    """

    name: str
    question: Callable[[Turn[D]], str]
    answered: Callable[[D], bool]
    read: Callable[[Turn[D], str], None] | None = None
    choices: Callable[[Turn[D]], Sequence[Sequence[Choice]]] = _no_choices
    pick: Callable[[Turn[D], str], None] | None = None
    current: Callable[[Turn[D]], str | None] | None = None
    skip_label: Callable[[D], str | None] | None = None
    skip: Callable[[Turn[D]], None] | None = None
    applies: Callable[[D], bool] = _always
    photo: Callable[[Turn[D], str, str], str] | None = None
    fixed: Callable[[D], bool] = lambda draft: False
    # More buttons under the answers: `tools` are the form's own actions (label, name, arg),
    # `links` open something outside the form (label, callback data) and leave the form open.
    tools: Callable[[Turn[D]], Sequence[tuple[str, str, str]]] = lambda turn: ()
    links: Callable[[Turn[D]], Sequence[tuple[str, str]]] = lambda turn: ()
    # The knowledge entry that says how to answer this step ("❓ 这一项怎么填"), if a rule applies.
    help: Callable[[D], str | None] = lambda draft: None


class Outcome(msgspec.Struct, frozen=True):
    """What the user sees after a save: a message, with buttons of ordinary handlers."""

    text: str
    rows: Rows = msgspec.field(default_factory=list)
    more: tuple[tuple[str, Rows], ...] = ()


class Form(msgspec.Struct, Generic[D], frozen=True):
    """A guided conversation, declared: its steps, review card and save.

    `name` is the conversation's name, its stored key and its buttons' prefix. `load` reads what
    the form needs for this update (the branch, its profile) and checks the user may go on (raise
    Refused). `review` returns the card's text and its own rows of (label, action) where an action
    is "v" (save), "e:<step>" (change a step), "x" (cancel) or "t:<name>:<arg>" (`actions`).
    Without `review`, the form is saved right after its last step.
    """

    name: str
    draft: type[D]
    steps: Callable[[D], Sequence[Step[D]]]
    save: Callable[[Turn[D], str], Awaitable[Outcome]]
    load: Callable[[Turn[D]], Awaitable[Any]] | None = None
    review: Callable[[Turn[D]], Awaitable[tuple[str, Rows]]] | None = None
    actions: dict[str, Callable[[Turn[D], str], Awaitable[None]]] = msgspec.field(
        default_factory=dict
    )
    heading: Callable[[D], str] | None = None
    counted: Callable[[D], bool] = lambda draft: True
    # The template said when the form is cancelled (a delete says that nothing was deleted).
    cancelled: str = "cancelled"


class Session(msgspec.Struct):
    """The engine's state of one open conversation (stored as JSON with the draft)."""

    form: str
    key: str
    step: str
    draft: msgspec.Raw
    rev: int = 1
    entered: int = 1
    last_update: int = 0
    last_at: float = 0.0  # when last_update was applied (Unix time)
    mode: str = "go"  # "go": step by step; "edit": one step from the review card
    visited: list[str] = []
    confirming: bool = False
    # A question typed where an answer was expected that would also read as an answer: kept
    # aside (not stored in the draft) until the user taps "用作答案".
    pending: str | None = None


_encoder = msgspec.json.Encoder()
_REV_EPOCH = 1_767_225_600  # 2026-01-01 UTC
# `shown` of a form whose question another command's answer followed (FormEngine.after_others).
SET_ASIDE = -1


class FormEngine:
    """Runs every declared form; one open form per user, kept in the database."""

    def __init__(self) -> None:
        self.forms: dict[str, Form[Any]] = {}
        # Answers a rule question typed in the middle of a form (the /ask path), if set.
        self.on_question: Callable[[Update, BotContext, str], Awaitable[None]] | None = None
        # Sends a knowledge entry by id (the step's "❓ 这一项怎么填"); False if there is none.
        self.on_help: Callable[[Update, BotContext, str], Awaitable[bool]] | None = None
        # The last committed state of each open conversation, and the revision shown.
        self._state: dict[int, tuple[str, bytes, int]] = {}
        # The newest revision each user's buttons carried: a new form starts above it.
        self._last_rev: dict[int, int] = {}

    def add(self, form: Form[Any]) -> Form[Any]:
        """Declare a form (its name must be unique and fit in a button's prefix)."""
        assert form.name not in self.forms and form.name.isalpha() and len(form.name) <= 4
        self.forms[form.name] = form
        return form

    async def load(self, database: Any) -> None:
        """Read the open conversations at start."""
        self._state = await store.load_all(database)

    def highest_update(self) -> int:
        """The highest update id any open form has applied (0 if none)."""
        return max(
            (
                msgspec.json.decode(data, type=Session).last_update
                for _, data, _ in self._state.values()
            ),
            default=0,
        )

    def active(self, user_id: int) -> str | None:
        """The form the user has open, if any."""
        found = self._state.get(user_id)
        return found[0] if found else None

    def peek(self, user_id: int) -> tuple[str, dict[str, Any]] | None:
        """The open form's name and its draft as plain data (for tests and diagnostics)."""
        found = self._state.get(user_id)
        if found is None:
            return None
        return found[0], msgspec.json.decode(found[1])["draft"]

    async def close(self, database: Any, user_id: int) -> bool:
        """End the user's open form without a word (their data is being deleted)."""
        if user_id not in self._state:
            return False
        await store.delete(database, user_id)
        self._state.pop(user_id, None)
        return True

    async def close_for_branch(self, database: Any, branch_id: int) -> int:
        """End every open form about a branch that is being deleted; returns how many."""
        users = [
            user_id
            for user_id, (_, data, _) in list(self._state.items())
            if msgspec.json.decode(data).get("draft", {}).get("branch_id") == branch_id
        ]
        for user_id in users:
            await self.close(database, user_id)
        return len(users)

    # -- state -----------------------------------------------------------------------------

    def _session(self, user_id: int) -> tuple[Session, Form[Any], Any, int] | None:
        found = self._state.get(user_id)
        if found is None or found[0] not in self.forms:
            return None
        name, data, shown = found
        session = msgspec.json.decode(data, type=Session)
        form = self.forms[name]
        draft = msgspec.json.decode(session.draft, type=form.draft)
        return session, form, draft, shown

    @staticmethod
    def _applied(session: Session, update: Update) -> None:
        session.last_update = update.update_id
        session.last_at = time.time()

    def _first_rev(self, user_id: int) -> int:
        """Where a new form's revisions start: above every button of the user's earlier forms,
        so an old button of the same form (and step) never matches the new one. Tenths of a
        second since 2026 carry this across restarts; the last revision within one run."""
        clock = int((time.time() - _REV_EPOCH) * 10)
        return max(clock, self._last_rev.get(user_id, 0) + 1)

    async def _commit(
        self, context: BotContext, user_id: int, session: Session, draft: Any
    ) -> None:
        session.draft = msgspec.Raw(_encoder.encode(draft))
        data = _encoder.encode(session)
        shown = self._state.get(user_id, ("", b"", 0))[2]
        await store.save(app_of(context).database, user_id, session.form, data, session.rev, shown)
        self._state[user_id] = (session.form, data, shown)
        self._last_rev[user_id] = max(session.rev, self._last_rev.get(user_id, 0))

    async def _end(self, context: BotContext, user_id: int) -> None:
        await store.delete(app_of(context).database, user_id)
        self._state.pop(user_id, None)

    async def _shown(self, context: BotContext, user_id: int, rev: int) -> None:
        found = self._state.get(user_id)
        if found is None:
            return
        await store.mark_shown(app_of(context).database, user_id, rev)
        self._state[user_id] = (found[0], found[1], rev)

    # -- steps -----------------------------------------------------------------------------

    @staticmethod
    def _steps(form: Form[Any], draft: Any) -> list[Step[Any]]:
        return [step for step in form.steps(draft) if step.applies(draft)]

    def _step(self, form: Form[Any], draft: Any, name: str) -> Step[Any] | None:
        return next((s for s in self._steps(form, draft) if s.name == name), None)

    def _missing(self, form: Form[Any], draft: Any) -> Step[Any] | None:
        return next((s for s in self._steps(form, draft) if not s.answered(draft)), None)

    def _move(self, session: Session, step: str) -> None:
        """Go to another question (or the review card): older buttons expire."""
        session.pending = None
        session.rev += 1
        session.entered = session.rev
        session.step = step
        session.confirming = False

    def _next(self, form: Form[Any], session: Session, draft: Any) -> str | None:
        """Where to go after the current step was answered (None: save)."""
        if session.step and session.step not in session.visited:
            session.visited.append(session.step)
        missing = self._missing(form, draft)
        if session.mode == "edit":
            if missing is not None:
                return missing.name
            session.mode = "go"
            return REVIEW if form.review else None
        steps = self._steps(form, draft)
        names = [s.name for s in steps]
        if session.step in names:
            # Back means back: the steps after this one that were asked before are asked again
            # (each offering "保持原样"); steps filled by a preset are not.
            for step in steps[names.index(session.step) + 1 :]:
                if not step.answered(draft) or step.name in session.visited:
                    return step.name
        if missing is not None:
            return missing.name
        return REVIEW if form.review else None

    # -- sending ---------------------------------------------------------------------------

    def _data(self, form: Form[Any], session: Session, action: str) -> str:
        data = f"{form.name}:{session.rev}:{action}"
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"{form.name}: button data over {MAX_BYTES} bytes")
        return data

    async def _present(
        self,
        turn: Turn[Any],
        form: Form[Any],
        session: Session,
        error: InvalidAnswer | None = None,
        *,
        mark: bool = True,
        intro: str | None = None,
    ) -> Message:
        """Send the question (or review card) the session is on, then note it as shown."""
        lab = labels()
        if session.confirming:
            text = render("form_cancel_ask", form=form.name)
            rows: Rows = [
                [(lab.FORM_DISCARD, self._data(form, session, "X"))],
                [(lab.FORM_CONTINUE, self._data(form, session, "c"))],
            ]
        elif session.step == REVIEW:
            assert form.review is not None
            text, own = await form.review(turn)
            if error is not None:
                text = render("input_error", error=error) + "\n\n" + text
            rows = [[(label, self._data(form, session, act)) for label, act in row] for row in own]
        else:
            text, rows = self._question(turn, form, session, error)
        if intro:
            text = intro + "\n\n" + text
        if turn.chat_id is None:
            message = await _send(turn.update, text, rows)
        else:
            message = await turn.context.bot.send_message(
                turn.chat_id, text, reply_markup=_keyboard(rows)
            )
        for note in turn.notes:
            await _send(turn.update, note, [])
        if mark:
            await self._shown(turn.context, turn.user_id, session.rev)
        return message

    def _question(
        self, turn: Turn[Any], form: Form[Any], session: Session, error: InvalidAnswer | None
    ) -> tuple[str, Rows]:
        lab = labels()
        draft = turn.draft
        steps = self._steps(form, draft)
        names = [s.name for s in steps]
        step = steps[names.index(session.step)]
        answered = step.answered(draft)
        rows: Rows = [
            [(choice.label, self._data(form, session, f"a:{step.name}:{choice.code}"))
             for choice in row]
            for row in step.choices(turn)
        ]  # fmt: skip
        rows = [row for row in rows if row]
        if session.pending is not None:
            rows.insert(0, [(lab.FORM_USE_TEXT, self._data(form, session, f"u:{step.name}"))])
        if error is not None and "offer" in error.params:
            # The reader's best guess, never taken without the user's tap.
            code, label = error.params["offer"]
            rows.insert(0, [(label, self._data(form, session, f"a:{step.name}:{code}"))])
        if answered and (session.mode == "edit" or step.name in session.visited):
            rows.append([(lab.FORM_KEEP, self._data(form, session, f"k:{step.name}"))])
        for label, name, arg in step.tools(turn):
            rows.append([(label, self._data(form, session, f"t:{name}:{arg}"))])
        rows += [[link] for link in step.links(turn)]
        if self.on_help is not None and step.help(draft):
            rows.append([(lab.FORM_HELP, self._data(form, session, f"h:{step.name}"))])
        skip_label = step.skip_label(draft) if step.skip_label else None
        if skip_label and step.skip is not None:
            rows.append([(skip_label, self._data(form, session, f"s:{step.name}"))])
        nav: list[tuple[str, str]] = []
        if session.mode == "edit" and form.review is not None and not self._missing(form, draft):
            nav.append((lab.TO_REVIEW, self._data(form, session, "r")))
        elif (session.mode == "go" or self._missing(form, draft) is not None) and self._previous(
            form, session, draft
        ) is not None:
            # Step by step, or while a changed answer asks for one more (which formation mode):
            # a step asked on its own from the review card has no "previous" to go to.
            nav.append((lab.BACK, self._data(form, session, "b")))
        nav.append((lab.CANCEL, self._data(form, session, "x")))
        rows.append(nav)
        current = step.current(turn) if answered and step.current else None
        # The question and the current answer are rendered templates already (safe HTML).
        text = render(
            "form_ask",
            question=Markup(step.question(turn)),
            number=names.index(step.name) + 1
            if session.mode == "go" and len(names) > 1 and form.counted(draft)
            else None,
            total=len(names),
            form=form.name,
            heading=form.heading(draft) if form.heading else "",
            current=Markup(current) if current else None,
            error=error,
        )
        return text, rows

    def _previous(self, form: Form[Any], session: Session, draft: Any) -> str | None:
        steps = self._steps(form, draft)
        names = [s.name for s in steps]
        index = len(steps) if session.step == REVIEW else names.index(session.step)
        for step in reversed(steps[:index]):
            if not step.fixed(draft):
                return step.name
            break
        return None

    # -- entry -----------------------------------------------------------------------------

    async def start(
        self,
        update: Update,
        context: BotContext,
        name: str,
        draft: Any,
        *,
        intro: str | None = None,
        at_review: bool = False,
        chat_id: int | None = None,
    ) -> None:
        """Open a form for the user (or say which one is open already).

        With `chat_id` the questions go to that chat (the user's private chat) rather than to the
        chat tapped in: the tap is neither answered nor its keyboard closed here, and the caller
        makes sure no form is open. If Telegram refuses the message (the user never started the
        bot) the form is closed again and the error raised."""
        user = update.effective_user
        assert user is not None
        if chat_id is None:
            await _answer(update)
        open_name = self.active(user.id)
        if open_name is not None:
            await self.resume(update, context, same=open_name == name)
            return
        form = self.forms[name]
        turn = Turn(update, context, user.id, _today(context), draft, chat_id=chat_id)
        try:
            turn.env = await form.load(turn) if form.load else None
        except Refused as refused:
            if chat_id is None:
                await _send(update, refused.text(), [])
            else:  # not a word in the chat tapped in (a group)
                await _answer(update, refused.text(), alert=True)
            return
        rev = self._first_rev(user.id)
        session = Session(
            form=name, key=uuid.uuid4().hex, step=REVIEW, draft=msgspec.Raw(b"{}"), rev=rev
        )
        session.entered = rev
        self._applied(session, update)
        missing = self._missing(form, draft)
        if at_review and form.review is not None:
            session.step = REVIEW if missing is None else missing.name
            session.mode = "go" if missing is None else "edit"
        elif missing is not None:
            session.step = missing.name
        elif form.review is None:
            session.step = self._steps(form, draft)[0].name
        if chat_id is None:
            await _close_keyboard(update)
        await self._commit(context, user.id, session, draft)
        # The intro heads the first question in one message: a burst of newcomers (a link shared
        # in a group) then costs one message each against Telegram's 30 a second.
        try:
            await self._present(turn, form, session, intro=intro)
        except (Forbidden, BadRequest):
            if chat_id is None:
                raise
            await self._end(context, user.id)
            raise

    async def resume(self, update: Update, context: BotContext, *, same: bool = True) -> None:
        """The open form again: where the user left off (after a note which form it is)."""
        user = update.effective_user
        assert user is not None
        found = self._session(user.id)
        if found is None:
            return
        session, form, draft, shown = found
        replayed = _replayed(session, update)
        if replayed and not (update.update_id == session.last_update and shown < session.entered):
            # A command replayed after a crash: the user has moved on since (or was answered).
            await _answer(update)
            return
        turn = Turn(update, context, user.id, _today(context), draft)
        try:
            turn.env = await form.load(turn) if form.load else None
        except Refused as refused:
            await self._end(context, user.id)
            await _send(update, refused.text(), [])
            return
        if replayed:
            # The command that opened (or resumed) the form, replayed after a crash before its
            # question was confirmed sent: ask it (again), not noted as seen (see _begin_turn).
            await _answer(update)
            await self._present(turn, form, session, mark=False)
            return
        self._applied(session, update)
        await self._commit(context, user.id, session, draft)
        await _send(update, render("form_resume", form=form.name, same=same), [])
        await self._present(turn, form, session)

    # -- updates ---------------------------------------------------------------------------

    async def _begin_turn(
        self, update: Update, context: BotContext, *, answer: bool = True
    ) -> tuple[Turn[Any], Session, Form[Any]] | None:
        """Load the user's form for an update (None: nothing more to do). `answer`: a typed
        text that may be an answer (/cancel is not: it is taken whatever is on screen)."""
        user = update.effective_user
        assert user is not None
        found = self._session(user.id)
        if found is None:
            return None
        session, form, draft, shown = found
        turn = Turn(update, context, user.id, _today(context), draft)
        try:
            turn.env = await form.load(turn) if form.load else None
        except Refused as refused:
            await _answer(update)
            await _close_keyboard(update)
            await self._end(context, user.id)
            await _send(update, refused.text(), [])
            return None
        if _replayed(session, update):
            # Replayed after a crash: its change is in already (a user's updates are handled in
            # order, so an older one was applied or overtaken). If the question it led to may not
            # have reached the user, it is sent again but not noted as seen: an answer typed to
            # the copy seen before the crash is then asked again, never put in the next field.
            await _answer(update)
            if update.update_id == session.last_update and shown < session.entered:
                await self._present(turn, form, session, mark=False)
            return None
        if answer and update.message is not None and shown < session.entered:
            # The newest question never reached the user (this text answers an older one), or
            # another command's answer came after it (SET_ASIDE: the text may not be meant for
            # it). It is noted as handled, so that a replay after a crash does not take it.
            self._applied(session, update)
            await self._commit(context, user.id, session, turn.draft)
            aside = shown == SET_ASIDE
            intro = render("form_resume", form=form.name, same=True) if aside else None
            await self._present(turn, form, session, intro=intro)
            return None
        self._applied(session, update)
        return turn, session, form

    async def on_message(self, update: Update, context: BotContext) -> None:
        """A typed answer, or a photo, for the open form."""
        started = await self._begin_turn(update, context)
        if started is None:
            return
        turn, session, form = started
        message = update.message
        assert message is not None
        if session.confirming or session.step == REVIEW:
            await self._present(turn, form, session, InvalidAnswer("need_button"))
            return
        step = self._step(form, turn.draft, session.step)
        assert step is not None
        if message.photo or message.document:
            await self._photo(turn, form, session, step, message)
            return
        text = message.text or ""
        if self.on_question is not None and looks_like_question(text):
            await self._question_typed(turn, form, session, step, text)
            return
        if step.read is None:
            need = "need_photo" if step.photo is not None else "choice"
            await self._present(turn, form, session, InvalidAnswer(need))
            return
        try:
            step.read(turn, text)
        except InvalidAnswer as error:
            await self._present(turn, form, session, error)
            return
        session.pending = None
        await self._advance(turn, form, session)

    async def _question_typed(
        self, turn: Turn[Any], form: Form[Any], session: Session, step: Step[Any], text: str
    ) -> None:
        """A rule question where an answer was expected: answer it, then ask the step again.
        Nothing is stored; if the text would also do as an answer, "用作答案" takes it."""
        parses = False
        if step.read is not None:
            probe = msgspec.json.decode(_encoder.encode(turn.draft), type=form.draft)
            try:
                step.read(Turn(turn.update, turn.context, turn.user_id, turn.today, probe,
                               turn.env), text)  # fmt: skip
                parses = True
            except InvalidAnswer:
                parses = False
        session.pending = text if parses else None
        await self._commit(turn.context, turn.user_id, session, turn.draft)
        assert self.on_question is not None
        await self.on_question(turn.update, turn.context, text)
        await self._present(turn, form, session)

    async def _photo(
        self,
        turn: Turn[Any],
        form: Form[Any],
        session: Session,
        step: Step[Any],
        message: Message,
    ) -> None:
        if step.photo is None and not any(s.photo for s in self._steps(form, turn.draft)):
            await self._present(turn, form, session, InvalidAnswer("need_text"))
            return
        if step.photo is None:
            # The meeting log takes its photos at its last step.
            await _send(turn.update, render("log_photo_not_now"), [])
            await self._present(turn, form, session)
            return
        if message.photo:
            file_id, unique = message.photo[-1].file_id, message.photo[-1].file_unique_id
        elif message.document is not None and (message.document.mime_type or "").startswith(
            "image/"
        ):
            file_id, unique = message.document.file_id, message.document.file_unique_id
        else:
            await self._present(turn, form, session, InvalidAnswer("need_photo"))
            return
        note = step.photo(turn, file_id, unique)
        # The same question stays open: its buttons stay valid (`entered` is unchanged).
        session.rev += 1
        await self._commit(turn.context, turn.user_id, session, turn.draft)
        done = self._data(form, session, f"s:{step.name}")
        await _send(turn.update, note, [[(labels().PHOTOS_DONE, done)]])
        await self._shown(turn.context, turn.user_id, session.rev)

    async def _advance(self, turn: Turn[Any], form: Form[Any], session: Session) -> None:
        following = self._next(form, session, turn.draft)
        if following is None:
            await self._save(turn, form, session)
            return
        self._move(session, following)
        await self._commit(turn.context, turn.user_id, session, turn.draft)
        await self._present(turn, form, session)

    async def _save(self, turn: Turn[Any], form: Form[Any], session: Session) -> None:
        missing = self._missing(form, turn.draft)
        if missing is not None:
            session.mode = "go"
            self._move(session, missing.name)
            await self._commit(turn.context, turn.user_id, session, turn.draft)
            await self._present(turn, form, session)
            return
        try:
            outcome = await form.save(turn, session.key)
        except Refused as refused:
            await self._end(turn.context, turn.user_id)
            await _send(turn.update, refused.text(), [])
            return
        except InvalidAnswer as error:
            refused = self._missing(form, turn.draft)
            if refused is not None:
                # The save found an answer that no longer holds (a name taken meanwhile) and
                # un-answered its step: that one step is asked again, then the form is saved.
                session.mode = "edit"
                self._move(session, refused.name)
                await self._commit(turn.context, turn.user_id, session, turn.draft)
            await self._present(turn, form, session, error)
            return
        _LOGGER.info("Form %s saved", form.name)
        # The form is closed only once the user has seen the outcome: if Telegram fails here,
        # the review card stays open and saving again finds the record already saved (the key).
        await _send(turn.update, outcome.text, outcome.rows)
        await self._end(turn.context, turn.user_id)
        for text, rows in outcome.more:
            await _send(turn.update, text, rows)

    async def on_tap(self, update: Update, context: BotContext) -> None:
        """A button of a form: `<form>:<rev>:<action>[:<step or name>[:<arg>]]`."""
        query = update.callback_query
        assert query is not None
        parts = (query.data or "").split(":", 4)
        user = update.effective_user
        assert user is not None
        found = self._session(user.id)
        valid = (
            found is not None
            and len(parts) >= 3
            and parts[0] == found[0].form
            and parts[1].isdigit()
            and len(parts[1]) <= 12
            and found[0].entered <= int(parts[1]) <= found[0].rev
        )
        if not valid:
            await _answer(update, render("button_expired"), alert=True)
            return
        started = await self._begin_turn(update, context)
        if started is None:
            return
        turn, session, form = started
        action, rest = parts[2], parts[3:]
        step = self._step(form, turn.draft, session.step) if session.step else None
        if await self._act(turn, form, session, step, action, rest):
            await _answer(update)
        else:
            await _answer(update, render("button_expired"), alert=True)

    async def _act(
        self,
        turn: Turn[Any],
        form: Form[Any],
        session: Session,
        step: Step[Any] | None,
        action: str,
        rest: list[str],
    ) -> bool:
        """Carry out a tapped action; False if it does not belong to the question on screen."""
        update, context = turn.update, turn.context
        on_step = step is not None and rest[:1] == [step.name] and not session.confirming
        if action == "X" and session.confirming:
            await _close_keyboard(update)
            await self._end(context, turn.user_id)
            await _send(update, render(form.cancelled), [])
            return True
        if action == "x":
            await _close_keyboard(update)
            await self.cancel(turn, form, session)
            return True
        if action == "c" and not session.confirming:
            await self._present(turn, form, session)
            return True
        if action == "c":
            session.confirming = False
            session.rev += 1
            session.entered = session.rev
        elif action == "a" and on_step and step is not None and step.pick and len(rest) == 2:
            try:
                step.pick(turn, rest[1])
            except NotNow as error:
                await _close_keyboard(update)
                await self._present(turn, form, session, error)
                return True
            except InvalidAnswer:
                return False
            await _close_keyboard(update)
            await self._advance(turn, form, session)
            return True
        elif action == "u" and on_step and step is not None and step.read and session.pending:
            try:
                step.read(turn, session.pending)
            except InvalidAnswer:
                return False
            session.pending = None
            await _close_keyboard(update)
            await self._advance(turn, form, session)
            return True
        elif action == "h" and on_step and step is not None and self.on_help is not None:
            entry = step.help(turn.draft)
            if entry is None:
                return False
            await _close_keyboard(update)
            # The step's rule, then the same step again below it (nothing changes in the draft).
            if not await self.on_help(update, context, entry):
                return False
            await self._present(turn, form, session)
            return True
        elif action == "k" and on_step and step is not None and step.answered(turn.draft):
            await _close_keyboard(update)
            await self._advance(turn, form, session)
            return True
        elif action == "s" and on_step and step is not None and step.skip is not None:
            step.skip(turn)
            await _close_keyboard(update)
            await self._advance(turn, form, session)
            return True
        elif (
            action == "b"
            and not session.confirming
            and (session.mode == "go" or self._missing(form, turn.draft) is not None)
        ):
            # Back is offered in edit mode too while a step is missing (a changed answer asked
            # for one more, e.g. which formation mode).
            previous = self._previous(form, session, turn.draft)
            if previous is None:
                return False
            self._move(session, previous)
        elif action == "r" and session.mode == "edit" and not self._missing(form, turn.draft):
            session.mode = "go"
            self._move(session, REVIEW)
        elif action == "e" and session.step == REVIEW and len(rest) == 1:
            target = self._step(form, turn.draft, rest[0])
            if target is None or target.fixed(turn.draft):
                return False
            session.mode = "edit"
            self._move(session, target.name)
        elif action == "v" and session.step == REVIEW and not session.confirming:
            await _close_keyboard(update)
            await self._save(turn, form, session)
            return True
        elif action == "t" and len(rest) == 2 and rest[0] in form.actions:
            try:
                await form.actions[rest[0]](turn, rest[1])
            except InvalidAnswer:
                return False
            missing = self._missing(form, turn.draft)
            if session.step == REVIEW and missing is not None:
                # The change asks for more (counting the sitting as a 党课 needs its speaker).
                session.mode = "edit"
                self._move(session, missing.name)
            else:
                session.rev += 1
                session.entered = session.rev
        else:
            return False
        await _close_keyboard(update)
        await self._commit(context, turn.user_id, session, turn.draft)
        await self._present(turn, form, session)
        return True

    async def cancel(self, turn: Turn[Any], form: Form[Any], session: Session) -> None:
        """Cancel: at once if nothing was typed yet, else after asking."""
        typed = [name for name in session.visited if name]
        if not typed or session.confirming:
            await self._end(turn.context, turn.user_id)
            await _send(turn.update, render(form.cancelled), [])
            return
        session.confirming = True
        session.rev += 1
        session.entered = session.rev
        await self._commit(turn.context, turn.user_id, session, turn.draft)
        await self._present(turn, form, session)

    async def on_cancel(self, update: Update, context: BotContext) -> None:
        """/cancel while a form is open."""
        started = await self._begin_turn(update, context, answer=False)
        if started is None:
            return
        turn, session, form = started
        await self.cancel(turn, form, session)

    async def after_others(self, update: Update, context: BotContext) -> None:
        """Another command was answered in the private chat while a form is open (/status,
        /find, /ask…): the form's question is no longer the last thing on screen, and what is
        typed next may be meant for that command. So the next typed text is not taken as an
        answer: the question is asked again first, with a word that the form is still open.
        (A tap is unambiguous: the form's buttons stay valid.)"""
        user, chat, message = update.effective_user, update.effective_chat, update.message
        if user is None or chat is None or chat.type != ChatType.PRIVATE or message is None:
            return
        found = self._state.get(user.id)
        if found is None or found[2] == SET_ASIDE or not (message.text or "").startswith("/"):
            return
        session = msgspec.json.decode(found[1], type=Session)
        if session.last_update >= update.update_id:
            return  # the form took part (it was resumed, or the command was /cancel)
        self._state[user.id] = (found[0], found[1], SET_ASIDE)
        try:
            await store.mark_shown(app_of(context).database, user.id, SET_ASIDE, rev=session.rev)
        except Exception as exc:  # the command was answered; this run still knows (above)
            _LOGGER.warning("Form not set aside on disk: %s", type(exc).__name__)

    # -- handlers --------------------------------------------------------------------------

    def handlers(self) -> list[BaseHandler[Any, Any, Any]]:
        """The engine's handlers: registered before every other flow."""
        private = filters.ChatType.PRIVATE
        answers = private & (
            (filters.TEXT & ~filters.COMMAND) | filters.PHOTO | filters.Document.IMAGE
        )
        return [
            _OpenForm(self, CommandHandler("cancel", self.on_cancel, filters=private)),
            _OpenForm(self, MessageHandler(answers, self.on_message)),
            CallbackQueryHandler(self.on_tap, pattern=self._ours),
        ]

    @property
    def _ours(self) -> re.Pattern[str]:
        return re.compile(rf"^(?:{'|'.join(sorted(self.forms))}):\d+:")

    def late_handler(self) -> BaseHandler[Any, Any, Any]:
        """Registered in a group after every other handler: see `after_others`."""
        return _OpenForm(self, TypeHandler(Update, self.after_others))


class _OpenForm(BaseHandler[Update, Any, Any]):
    """A handler that only takes updates of users with an open form (others fall through)."""

    def __init__(self, engine: FormEngine, inner: BaseHandler[Update, Any, Any]) -> None:
        super().__init__(inner.callback)
        self.engine = engine
        self.inner = inner

    def check_update(self, update: object) -> Any:
        if not isinstance(update, Update) or update.effective_user is None:
            return None
        if self.engine.active(update.effective_user.id) is None:
            return None
        return self.inner.check_update(update)

    async def handle_update(
        self, update: Update, application: Any, check_result: Any, context: Any
    ) -> Any:
        return await self.inner.handle_update(update, application, check_result, context)

    def collect_additional_context(
        self, context: Any, update: Update, application: Any, check_result: Any
    ) -> None:
        self.inner.collect_additional_context(context, update, application, check_result)


_QUESTION_END = re.compile(r"(?:[？?]|[吗呢么嘛][？?。!！~～]*)$")
_QUESTION_START = re.compile(
    r"^(?:请问|怎么|怎样|如何|什么|为什么|为啥|能不能|能否|可不可以|可以不|是不是|是否|要不要|"
    r"需不需要|需要不|有没有|哪些|哪个|多少|几个|几次|多久|谁)"
)


# Telegram numbers updates in order, but picks a random next update_id after a week without
# any update (Bot API, getUpdates): a form can then see a lower id that is not a replay.
NUMBERING_RESET_AFTER = 7 * 24 * 3600 - 3600


def _replayed(session: Session, update: Update) -> bool:
    """Whether the update was applied already (replayed from the inbox after a crash).

    A user's updates are handled in order, so an id up to the last one applied is a replay,
    unless Telegram started numbering afresh: the last update is then a week old and a message
    was written after it.
    """
    if update.update_id == session.last_update:
        return True
    if update.update_id > session.last_update:
        return False
    quiet = time.time() - session.last_at >= NUMBERING_RESET_AFTER
    message = update.message
    newer = message is None or message.date.timestamp() > session.last_at
    return not (quiet and newer)


def looks_like_question(text: str) -> bool:
    """Whether a typed text reads as a question (ends with ？/吗/呢, or starts with 怎么/是否…)."""
    value = text.strip()
    return bool(value) and bool(_QUESTION_END.search(value) or _QUESTION_START.match(value))


def _today(context: BotContext) -> date:
    return datetime.now(app_of(context).config.bot.tzinfo).date()
