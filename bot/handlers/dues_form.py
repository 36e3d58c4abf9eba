"""Each member's monthly 党费: the list of amounts (du:r) and the "dues" form — pick a way
(the monthly base typed at once, 离退休, a fixed amount, or a category), type the number, review
(with 按季度交 as a switch), save. The base is not kept, only the amount (in fen)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from telegram import Update
from telegram.ext import BaseHandler

from bot import buttons as bt
from bot import dues as rules
from bot.access import Need
from bot.application import BotContext, app_of
from bot.branch_profile import InvalidAnswer
from bot.callbacks import on
from bot.dues import yuan
from bot.forms import Choice, Form, Outcome, Refused, Step, Turn
from bot.handlers.common import allowed, answer, close_keyboard, in_rows, local_today, reply
from bot.texts import labels, render
from db import dues as store
from db import members
from db.models import Branch, Membership

NAME = "dues"
TYPED = frozenset({"base", "retired", "fixed", "farmer"})  # the ways that need a number
PAGE_SIZE = 40


class RateDraft(msgspec.Struct):
    """One member's amount being set."""

    branch_id: int
    member_id: int
    name: str
    basis: str | None = None
    number: str | None = None  # the base or the amount typed, as text (the base is not stored)
    fen: int | None = None
    quarterly: bool = False


async def rates(update: Update, context: BotContext, branch_id: int, page: int) -> None:
    """✏️ 设置每人金额: every party member with their amount, each a button."""
    found = await allowed(update, context, branch_id, Need.RECORD)
    if found is None:
        return
    database = app_of(context).database
    people = [m for m in await members.list_for(database, branch_id) if m.is_party_member]
    set_ = (await store.rates(database, [branch_id])).get(branch_id, {})
    total = max(1, -(-len(people) // PAGE_SIZE))
    page = min(page, total - 1)
    shown = people[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    lab = labels()
    rows = in_rows(
        [
            (
                lab.DUES_RATE.format(
                    name=p.name,
                    amount=f"¥{yuan(set_[p.id].amount_fen)}" if p.id in set_ else lab.DUES_UNSET,
                ),
                bt.DU_RATE(branch_id, p.id),
            )
            for p in shown
        ],
        2,
    )
    nav = []
    if page > 0:
        nav.append((lab.DUES_PAGE_PREVIOUS, bt.DU_RATES(branch_id, page - 1)))
    if page + 1 < total:
        nav.append((lab.DUES_PAGE_NEXT, bt.DU_RATES(branch_id, page + 1)))
    if nav:
        rows.append(nav)
    today_key = rules.month_of(local_today(context)).strftime("%Y-%m")
    rows.append([(lab.DUES_BACK, bt.DU_CARD(branch_id, today_key, 0))])
    await answer(update)
    await close_keyboard(update)
    text = render("dues", view="rates", people=[(p, set_.get(p.id)) for p in shown], yuan=yuan)
    await reply(update, text, rows)


async def rate(update: Update, context: BotContext, branch_id: int, member_id: int) -> None:
    """A member tapped: the amount form for them (their current way of paying kept)."""
    found = await allowed(update, context, branch_id, Need.RECORD)
    if found is None:
        return
    database = app_of(context).database
    member = await members.get(database, branch_id, member_id)
    if member is None or not member.is_party_member:
        await answer(update, render("button_expired"), alert=True)
        return
    current = (await store.rates(database, [branch_id])).get(branch_id, {}).get(member_id)
    draft = RateDraft(
        branch_id, member_id, member.name, quarterly=bool(current and current.quarterly)
    )
    await app_of(context).forms.start(update, context, NAME, draft)


# -- the form -----------------------------------------------------------------------------------


def _read_base(turn: Turn[RateDraft], text: str) -> None:
    """A number typed on the first question is the monthly base (the common case)."""
    _read_as(turn, text, "base")


def _pick_basis(turn: Turn[RateDraft], code: str) -> None:
    if code not in store.BASES:
        raise InvalidAnswer("choice")
    draft = turn.draft
    draft.basis, draft.number = code, None
    draft.fen = rules.CATEGORY_FEN.get(code)


def _read_number(turn: Turn[RateDraft], text: str) -> None:
    assert turn.draft.basis is not None
    _read_as(turn, text, turn.draft.basis)


def _read_as(turn: Turn[RateDraft], text: str, basis: str) -> None:
    """The amount for a number typed under a way of paying (the draft changes only if valid)."""
    income = basis in {"base", "retired"}
    amount = rules.read_money(text, rules.MAX_BASE if income else rules.MAX_FIXED, base=income)
    if income:
        fen = rules.to_fen(rules.amount_from_base(amount, retired=basis == "retired").monthly)
    elif basis == "farmer":
        fen = rules.farmer_amount(amount)
    else:
        fen = rules.to_fen(amount)
    draft = turn.draft
    draft.basis, draft.number, draft.fen = basis, str(amount), fen


def _basis_choices(turn: Turn[RateDraft]) -> list[list[Choice]]:
    names = labels().DUES_BASES
    layout = (
        ("base",),
        ("retired",),
        ("fixed",),
        ("student", "unemployed"),
        ("low_income", "farmer"),
    )
    return [[Choice(code, names[code]) for code in row] for row in layout]


async def _load(turn: Turn[RateDraft]) -> tuple[Membership, Branch]:
    """Still a recorder of the branch, and the member still a party member on its roster."""
    found = await turn.authorize(turn.draft.branch_id, Need.RECORD)
    member = await members.get(turn.database, turn.draft.branch_id, turn.draft.member_id)
    if member is None or not member.is_party_member:
        raise Refused("dues", view="gone")
    return found


async def _review(turn: Turn[RateDraft]) -> tuple[str, list[list[tuple[str, str]]]]:
    draft = turn.draft
    assert draft.fen is not None and draft.basis is not None
    computed = None
    if draft.basis in {"base", "retired"} and draft.number:
        computed = rules.amount_from_base(Decimal(draft.number), retired=draft.basis == "retired")
    lab = labels()
    text = render(
        "dues",
        view="review",
        name=draft.name,
        fen=draft.fen,
        d=computed,
        basis_name=lab.DUES_BASES[draft.basis],
        quarterly=draft.quarterly,
        yuan=yuan,
    )
    rows = [
        [(lab.DUES_SAVE, "v")],
        [(lab.DUES_QUARTERLY[int(draft.quarterly)], "t:q:x")],
        [(lab.DUES_CHANGE, "e:basis")],
        [(lab.CANCEL, "x")],
    ]
    return text, rows


async def _toggle(turn: Turn[RateDraft], arg: str) -> None:
    turn.draft.quarterly = not turn.draft.quarterly


async def _save(turn: Turn[RateDraft], key: str) -> Outcome:
    draft = turn.draft
    assert draft.fen is not None and draft.basis is not None
    membership = turn.env[0]
    since = await store.set_rate(
        turn.database,
        user_id=membership.user_id,
        branch_id=draft.branch_id,
        member_id=draft.member_id,
        amount_fen=draft.fen,
        basis=draft.basis,
        quarterly=draft.quarterly,
        month=rules.month_of(turn.today),
    )
    lab = labels()
    rows = [
        [(lab.DUES_RATES, bt.DU_RATES(draft.branch_id, 0))],
        [(lab.DUES_BACK, bt.DU_CARD(draft.branch_id, turn.today.strftime("%Y-%m"), 0))],
    ]
    text = render(
        "dues",
        view="saved",
        name=draft.name,
        fen=draft.fen,
        quarterly=draft.quarterly,
        yuan=yuan,
        # A month already marked 收齐 stays so: a new amount is owed from the next one.
        later=since if since > rules.month_of(turn.today) else None,
    )
    return Outcome(text, rows)


FORM: Form[RateDraft] = Form(
    name=NAME,
    draft=RateDraft,
    steps=lambda draft: [
        Step(
            name="basis",
            question=lambda t: render("dues", view="ask_basis", name=t.draft.name),
            answered=lambda d: d.basis is not None,
            read=_read_base,
            choices=_basis_choices,
            pick=_pick_basis,
        ),
        Step(
            name="number",
            question=lambda t: render(
                "dues", view="ask_number", name=t.draft.name, basis=t.draft.basis
            ),
            answered=lambda d: d.number is not None,
            read=_read_number,
            applies=lambda d: d.basis in TYPED,
        ),
    ],
    save=_save,
    load=_load,
    review=_review,
    actions={"q": _toggle},
)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The amounts list and the member buttons (the form is registered with the others)."""
    return [on(bt.DU_RATES, rates), on(bt.DU_RATE, rate)]
