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
from bot.access import Need
from bot.application import BotContext, app_of
from bot.handlers.common import (
    allowed,
    answer,
    callback_parts,
    in_rows,
    is_private,
    reply_template,
)
from bot.member_counts import member_counts
from bot.texts import labels, render
from db import members, repo
from db.models import MEMBER_STATUSES, Branch, Member, Membership

PAGE_SIZE = 10
Rows = list[list[tuple[str, str]]]


def ids(update: Update, count: int) -> list[int] | None:
    """The numbers after `mb:<action>:` (exactly `count` of them), or None."""
    parts = callback_parts(update)[2:]
    if len(parts) < count or not all(p.isdigit() for p in parts[:count]):
        return None
    return [int(p) for p in parts[:count]]


async def expired(update: Update) -> None:
    """An old or forged button: say so, do nothing."""
    await answer(update, render("button_expired"), alert=True)


async def current(update: Update, context: BotContext) -> tuple[Membership, Branch] | None:
    """The current branch for a command, a menu tap or a file (private chats only)."""
    user = update.effective_user
    assert user is not None
    if not is_private(update):
        await reply_template(update, "private_only")
        return None
    found = await repo.current_membership(app_of(context).database, user.id)
    if found is None:
        await reply_template(update, "not_registered")
    return found


async def member_of(
    update: Update, context: BotContext, need: Need
) -> tuple[Membership, Branch, Member] | None:
    """The member an `mb:<action>:<branch>:<member>` button names, if the user may see it."""
    found_ids = ids(update, 2)
    if found_ids is None:
        await expired(update)
        return None
    found = await allowed(update, context, found_ids[0], need)
    if found is None:
        return None
    member = await members.get(app_of(context).database, found_ids[0], found_ids[1])
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
    if editor and tally.awaiting_confirmation:
        done = lab.ROSTER_COMPLETE.format(
            formal=tally.roster_formal, probationary=tally.roster_probationary
        )
        rows.append([(done, f"mb:done:{b}")])
    if editor:
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
        buttons = [(lab.ROSTER_EDIT.format(field=names[f]), f"mb:e:{b}:{m}:{f}") for f in fields]
        rows = in_rows(buttons, 2)
        rows.append([(lab.ROSTER_DELETE, f"mb:d:{b}:{m}")])
    if view == "added":
        rows.append([(lab.ROSTER_ADD_MORE, f"mb:add:{b}")])
    rows.append([(lab.ROSTER_BACK, f"mb:l:{b}:0")])
    text = render(
        "roster_card",
        view=view,
        m=roster.values_of(member.info),
        party_groups=branch.profile.has_party_groups,
    )
    return text, rows
