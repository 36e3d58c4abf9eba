"""Adding someone to the roster (➕ 添加) and changing one field of a card (✏️), on the form engine.

The questions and what they accept are bot.roster's (steps_for, read_answer); this module says
how they are asked and tapped. Adding asks every question that applies, in order; editing asks
the tapped field and the ones that depend on it (a new status asks its date again, 流动党员 its
details), offering the saved value as "保留：…". The draft remembers its branch (and member), and
the user's role is checked again on every update.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

import msgspec
from telegram import Update

from bot import roster
from bot.access import Need
from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.forms import Choice, Form, Outcome, Refused, Step, Turn
from bot.handlers import dues
from bot.handlers.common import allowed
from bot.handlers.members_view import (
    card_view,
    expired,
    member_of,
)
from bot.texts import labels, render
from db import members
from db.models import MEMBER_STATUSES, Branch, Member, Membership

_LOGGER = logging.getLogger(__name__)
ADD = "mba"
EDIT = "mbe"
# Editing one of these fields goes on to the questions that depend on it.
_EDIT_FIELDS = {
    "status": ("status", "joined_on"),
    "mobile": ("mobile", *roster.MOBILE_FIELDS),
}
_TEXT_STEPS = frozenset({"name", "party_group", "destination", *roster.DATE_FIELDS})
_SKIP = "skip"
_KEEP = "keep"


class MemberValues(msgspec.Struct):
    """A roster entry's answers as the roster module reads them (dates as ISO text)."""

    name: str | None = None
    status: str | None = None
    joined_on: str | None = None
    party_group: str | None = None
    committee_role: str | None = None
    mobile: bool | None = None
    destination: str | None = None
    left_on: str | None = None
    last_report_on: str | None = None


class MemberDraft(msgspec.Struct):
    """A roster entry being added (member_id None) or changed."""

    branch_id: int
    party_groups: bool
    member_id: int | None = None
    # The questions this form may ask, and those answered so far (a date may be answered None).
    fields: list[str] = msgspec.field(default_factory=lambda: list(roster.FIELDS))
    done: list[str] = []
    values: MemberValues = msgspec.field(default_factory=MemberValues)
    original: MemberValues | None = None


def _values(draft: MemberDraft) -> dict[str, Any]:
    return msgspec.structs.asdict(draft.values)


def _names(draft: MemberDraft) -> list[str]:
    return roster.steps_for(_values(draft), draft.fields, party_groups=draft.party_groups)


def _refusal(error: InvalidAnswer) -> InvalidAnswer:
    """The roster's refusal, said in its own words (roster_error.j2)."""
    return InvalidAnswer(error.code, about="roster", **error.params)


def _take(turn: Turn[MemberDraft], step: str, value: Any) -> None:
    draft = turn.draft
    if step == "name":
        others = [m.name for m in turn.env.people if m.id != draft.member_id]
        if roster.same_name(value, others) is not None:
            raise _refusal(InvalidAnswer("dup_roster"))
    setattr(draft.values, step, value)
    if step not in draft.done:
        draft.done.append(step)


def _kept(draft: MemberDraft, step: str) -> Any:
    """The saved value an edit offers to keep ("保留：…"), if any."""
    if draft.original is None or step not in _TEXT_STEPS or step == draft.fields[0]:
        return None
    return getattr(draft.original, step) or None


def _step(name: str) -> Step[MemberDraft]:
    def question(turn: Turn[MemberDraft]) -> str:
        draft = turn.draft
        names = _names(draft)
        return render(
            "roster_ask",
            step=name,
            mode="edit" if draft.member_id else "add",
            name=draft.values.name or "",
            status=draft.values.status or "formal",
            number=names.index(name) + 1 if name in names else 1,
        )

    def read(turn: Turn[MemberDraft], text: str) -> None:
        try:
            value = roster.read_answer(name, text, _values(turn.draft), turn.today)
        except InvalidAnswer as error:
            raise _refusal(error) from None
        _take(turn, name, value)

    def choices(turn: Turn[MemberDraft]) -> list[list[Choice]]:
        lab = labels()
        rows: list[list[Choice]] = []
        if name == "status":
            found = [Choice(s, lab.ROSTER_STATUSES[s]) for s in MEMBER_STATUSES]
            rows = [found[i : i + 2] for i in range(0, len(found), 2)]
        elif name == "committee_role":
            found = [Choice(code or "none", text) for code, text in lab.ROSTER_ROLES.items()]
            rows = [found[i : i + 3] for i in range(0, len(found), 3)]
        elif name == "mobile":
            rows = [[Choice("1", lab.YES), Choice("0", lab.NO)]]
        if name == "joined_on":
            rows.append([Choice(_SKIP, lab.ROSTER_UNKNOWN_DATE)])
        elif name in roster.OPTIONAL_STEPS or roster.date_optional(_values(turn.draft), name):
            rows.append([Choice(_SKIP, lab.ROSTER_SKIP)])
        kept = _kept(turn.draft, name)
        if kept:
            rows.append([Choice(_KEEP, lab.ROSTER_KEEP.format(value=kept))])
        return rows

    def pick(turn: Turn[MemberDraft], code: str) -> None:
        _take(turn, name, _picked(turn.draft, name, code))

    def current(turn: Turn[MemberDraft]) -> str:
        return render("roster_value", field=name, value=getattr(turn.draft.values, name))

    return Step(
        name=name,
        question=question,
        answered=lambda draft: name in draft.done,
        read=read,
        choices=choices,
        pick=pick,
        current=current,
        help=lambda draft: _STEP_HELP.get(name),
    )


# "❓ 这一项怎么填": the knowledge entry behind a roster question (names have none).
_STEP_HELP = {
    "status": "recruitment-stages",
    "joined_on": "probation-period",
    "committee_role": "committee-roles",
    "mobile": "mobile-member",
}


def _picked(draft: MemberDraft, step: str, code: str) -> Any:
    """The value a tapped choice gives; InvalidAnswer if it is not one of this question's."""
    if step == "status" and code in MEMBER_STATUSES:
        return code
    if step == "committee_role" and (code == "none" or code in roster.COMMITTEE_ROLES):
        return "" if code == "none" else code
    if step == "mobile" and code in ("0", "1"):
        return code == "1"
    skippable = step in roster.OPTIONAL_STEPS or roster.date_optional(_values(draft), step)
    if code == _SKIP and skippable:
        return None if step in roster.DATE_FIELDS else ""
    if code == _KEEP and _kept(draft, step):
        return getattr(draft.original, step)
    raise InvalidAnswer("choice")


_STEPS = {name: _step(name) for name in roster.FIELDS}


def _steps(draft: MemberDraft) -> list[Step[MemberDraft]]:
    return [_STEPS[name] for name in _names(draft)]


class RosterEnv(NamedTuple):
    """What every update of the form reads: the user's membership, the branch, its roster."""

    membership: Membership
    branch: Branch
    people: list[Member]


async def _load(turn: Turn[MemberDraft]) -> RosterEnv:
    """The branch and its roster, while the user may still change it (and the member is there)."""
    draft = turn.draft
    found = await turn.authorize(draft.branch_id, Need.EDIT)
    people = await members.list_for(turn.database, draft.branch_id)
    if draft.member_id is not None and all(m.id != draft.member_id for m in people):
        raise Refused("record_gone")
    return RosterEnv(*found, people)


def _unanswer(draft: MemberDraft, step: str) -> None:
    """Ask `step` again (the save found its answer does not hold)."""
    if step not in draft.fields:
        draft.fields.append(step)
    if step in draft.done:
        draft.done.remove(step)


async def _save(turn: Turn[MemberDraft], key: str) -> Outcome:
    membership, branch, people = turn.env
    draft = turn.draft
    info = roster.tidy(roster.info_of(_values(draft)))
    problems = roster.check_info(info)
    if problems:
        step, error = problems[0]
        _unanswer(draft, step)
        raise _refusal(error)
    database = turn.database
    try:
        if draft.member_id is None:
            same = roster.same_name(info.name, [m.name for m in people])
            existing = next((m for m in people if m.name == same), None)
            if existing is not None and existing.info == info:
                # Saved already (a replay after a crash, or the card never reached the user).
                member, view = existing, "added"
            else:
                member = await members.add(
                    database, user_id=turn.user_id, branch_id=branch.id, info=info
                )
                view = "added"
        else:
            assert draft.original is not None
            original = roster.info_of(msgspec.structs.asdict(draft.original))
            changed = await members.update(
                database,
                user_id=turn.user_id,
                branch_id=branch.id,
                member_id=draft.member_id,
                info=info,
            )
            if not changed:
                raise Refused("record_gone")
            member = Member(id=draft.member_id, branch_id=branch.id, info=info)
            view = "unchanged" if info == original else "saved"
    except members.DuplicateName:
        _unanswer(draft, "name")
        raise _refusal(InvalidAnswer("dup_roster")) from None
    _LOGGER.info("Member %d %s in branch %d", member.id, view, branch.id)
    if view != "unchanged":
        await dues.settle_marks(database, branch.id, turn.user_id, turn.today)
    return Outcome(*card_view(membership, branch, member, view))


def _form(name: str) -> Form[MemberDraft]:
    # The questions count themselves ("第 3 步", no total): the total is not known until the
    # status and 流动党员 are answered, and a total that grows midway would not be honest.
    return Form(
        name=name,
        draft=MemberDraft,
        steps=_steps,
        load=_load,
        save=_save,
        counted=lambda draft: False,
    )


ADD_FORM = _form(ADD)
EDIT_FORM = _form(EDIT)
FORMS = (ADD_FORM, EDIT_FORM)


async def begin_add(update: Update, context: BotContext, branch_id: int) -> None:
    """➕ 添加, ➕ 继续添加."""
    found = await allowed(update, context, branch_id, Need.EDIT)
    if found is None:
        return
    draft = MemberDraft(branch_id=found[1].id, party_groups=found[1].profile.has_party_groups)
    await app_of(context).forms.start(update, context, ADD, draft)


async def begin_edit(
    update: Update, context: BotContext, branch_id: int, member_id: int, field: str
) -> None:
    """Change one field from the card."""
    found = await member_of(update, context, Need.EDIT, branch_id, member_id)
    if found is None:
        return
    branch, member = found[1], found[2]
    values = roster.values_of(member.info)
    party_groups = branch.profile.has_party_groups
    if field not in roster.steps_for(values, party_groups=party_groups):
        await expired(update)
        return
    draft = MemberDraft(
        branch_id=branch.id,
        party_groups=party_groups,
        member_id=member.id,
        fields=list(_EDIT_FIELDS.get(field, (field,))),
        values=MemberValues(**values),
        original=MemberValues(**values),
    )
    await app_of(context).forms.start(update, context, EDIT, draft)
