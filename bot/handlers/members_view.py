"""What the /members screens share: who may see or change a branch's roster, the roster list and
a member's card (with the buttons an editor gets).

Buttons carry the branch id (and the member id) and are checked again on every tap through
bot.access: the user must belong to that branch, the member to that branch, and changes need a
secretary or deputy (committee members and viewers read only).
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot import access, roster
from bot import buttons as bt
from bot.access import Need
from bot.application import BotContext, app_of
from bot.handlers.common import (
    allowed,
    answer,
    current_branch,
    in_rows,
)
from bot.member_counts import member_counts
from bot.texts import labels, render
from db import members, repo
from db.models import MEMBER_STATUSES, Branch, Member, Membership

PAGE_SIZE = 10
Rows = list[list[tuple[str, str]]]


async def expired(update: Update) -> None:
    """An old or forged button: say so, do nothing."""
    await answer(update, render("button_expired"), alert=True)


async def current(update: Update, context: BotContext) -> tuple[Membership, Branch] | None:
    """The current branch for a command, a menu tap or a file (private chats only)."""
    return await current_branch(update, context)


async def member_of(
    update: Update, context: BotContext, need: Need, branch_id: int, member_id: int
) -> tuple[Membership, Branch, Member] | None:
    """The member a button names, if the user may see it."""
    found = await allowed(update, context, branch_id, need)
    if found is None:
        return None
    member = await members.get(app_of(context).database, branch_id, member_id)
    if member is None:
        await expired(update)
        return None
    return *found, member


def can_edit(membership: Membership) -> bool:
    """Whether the user may change the roster."""
    return access.allows(membership.role, Need.EDIT)


async def roster_view(database: Any, membership: Membership, page: int) -> tuple[str, Rows]:
    """One page of the roster, with the editor's buttons."""
    branch = await repo.get_branch(database, membership.branch_id)
    assert branch is not None
    people = await members.list_for(database, branch.id)
    pages = max(1, -(-len(people) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = people[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    lab = labels()
    b = branch.id
    editor = can_edit(membership)
    mark = lab.ROSTER_MOBILE_MARK
    buttons = [
        (lab.ROSTER_PERSON.format(name=m.name, mark=mark if m.info.mobile else ""),
         bt.MEMBER(b, m.id))
        for m in shown
    ]  # fmt: skip
    rows = in_rows(buttons, 2)
    nav = []
    if page > 0:
        nav.append((lab.ROSTER_PREV, bt.ROSTER(b, page - 1)))
    if page < pages - 1:
        nav.append((lab.ROSTER_NEXT, bt.ROSTER(b, page + 1)))
    if nav:
        rows.append(nav)
    tally = member_counts(branch, people)
    if editor and tally.awaiting_confirmation:
        done = lab.ROSTER_COMPLETE.format(
            formal=tally.roster_formal, probationary=tally.roster_probationary
        )
        rows.append([(done, bt.ROSTER_DONE(b))])
    if editor:
        rows.append([(lab.ROSTER_ADD, bt.MEMBER_ADD(b)), (lab.ROSTER_IMPORT, bt.ROSTER_IMPORT(b))])
        rows.append(
            [
                (lab.ROSTER_EXPORT, bt.ROSTER_EXPORT(b)),
                (lab.ROSTER_TEMPLATE, bt.ROSTER_TEMPLATE(b)),
            ]
        )
    rows.append([(lab.MENU, bt.HOME())])
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
    text = render(
        "roster_list",
        branch_name=branch.profile.name,
        total=len(people),
        counts=counts,
        people=listed,
        page=page,
        pages=pages,
        can_edit=editor,
        c=tally,
    )
    return text, rows


def card_view(
    membership: Membership, branch: Branch, member: Member, view: str = "card"
) -> tuple[str, Rows]:
    """A member's card (`view`: card, added, saved, unchanged) with its buttons."""
    lab = labels()
    b, m = member.branch_id, member.id
    rows: Rows = []
    if can_edit(membership):
        values = roster.values_of(member.info)
        fields = roster.steps_for(values, party_groups=branch.profile.has_party_groups)
        names = {**lab.ROSTER_FIELDS, "joined_on": lab.ROSTER_DATE_NAMES[member.info.status]}
        buttons = [
            (lab.ROSTER_EDIT.format(field=names[f]), bt.MEMBER_EDIT(b, m, f)) for f in fields
        ]
        rows = in_rows(buttons, 2)
        rows.append([(lab.ROSTER_DELETE, bt.MEMBER_DELETE(b, m))])
    if member.info.status != "formal":
        rows.append([(lab.RECRUIT_OPEN, bt.RC_CARD(b, m))])
    if view == "added":
        rows.append([(lab.ROSTER_ADD_MORE, bt.MEMBER_ADD(b))])
    rows.append([(lab.ROSTER_BACK, bt.ROSTER(b, 0))])
    text = render(
        "roster_card",
        view=view,
        m=roster.values_of(member.info),
        party_groups=branch.profile.has_party_groups,
    )
    return text, rows
