"""/dues: the month's 党费 — who has paid, one tap per member or 全部已交 for everyone, undo a
mistaken tap, earlier months (补交), the 党章第九条 warning, and the year's 党费收缴台账 (.xlsx).

Viewers read; the secretary, deputy and committee record; another branch's users see nothing.
Every change sets or clears the month's 党费已收齐 mark in the same transaction (db.dues).
"""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import date
from typing import Any

from markupsafe import Markup
from telegram import InputFile, Update
from telegram.ext import BaseHandler, CommandHandler

from bot import access
from bot import buttons as bt
from bot import dues as rules
from bot.access import Need
from bot.application import BotContext, app_of
from bot.callbacks import on
from bot.dues import Ledger, month_of, yuan
from bot.handlers.common import (
    allowed,
    answer,
    close_keyboard,
    current_branch,
    in_rows,
    local_today,
    reply,
)
from bot.member_counts import roster_missing
from bot.reminders import keys_prefix
from bot.texts import labels, render
from db import dues as store
from db import members, outbox, repo, settings
from db.models import Branch, Member, Membership

_LOGGER = logging.getLogger(__name__)
PAGE_SIZE = 30  # member buttons on one screen (Telegram shows up to 100)
Rows = list[list[tuple[str, str]]]


def _month(text: str) -> date:
    return date.fromisoformat(f"{text}-01")


def _key(month: date) -> str:
    return month.strftime("%Y-%m")


async def ledger_of(database: Any, branch_id: int) -> Ledger:
    """The branch's whole ledger (a branch's dues are a few hundred rows a year)."""
    rates, paid = await asyncio.gather(
        store.rates(database, [branch_id]), store.payments(database, [branch_id])
    )
    return Ledger(rates.get(branch_id, {}), paid.get(branch_id, []))


async def _facts(database: Any, branch_id: int) -> tuple[list[Member], Ledger]:
    # Asked at once: the database's thread answers them back to back.
    roster, ledger = await asyncio.gather(
        members.list_for(database, branch_id), ledger_of(database, branch_id)
    )
    return roster, ledger


def _pages(count: int, page: int) -> tuple[int, int]:
    """The page shown (clamped) and how many there are."""
    total = max(1, -(-count // PAGE_SIZE))
    return min(page, total - 1), total


def _nav(route: Any, branch_id: int, month: date, page: int, total: int) -> list[tuple[str, str]]:
    lab = labels()
    row = []
    if page > 0:
        row.append((lab.DUES_PAGE_PREVIOUS, route(branch_id, _key(month), page - 1)))
    if page + 1 < total:
        row.append((lab.DUES_PAGE_NEXT, route(branch_id, _key(month), page + 1)))
    return row


def card_view(
    branch: Branch,
    membership: Membership,
    roster: list[Member],
    ledger: Ledger,
    month: date,
    page: int,
    today: date,
) -> tuple[str, Rows]:
    """The month's card and its buttons (recording buttons for those who may record)."""
    missing = roster_missing(branch, roster)
    view = rules.month_view(roster, ledger, month, opened=True, missing=missing)
    can_record = access.allows(membership.role, Need.RECORD)
    this = month_of(today)
    lab = labels()
    rows: Rows = []
    if can_record:
        page, total = _pages(len(view.unpaid), page)
        shown = view.unpaid[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        rows += in_rows(
            [
                (
                    lab.DUES_PAY.format(name=line.member.name, amount=yuan(line.due_fen or 0)),
                    bt.DU_PAY(branch.id, line.member.id, _key(month), page),
                )
                for line in shown
            ],
            2,
        )
        if nav := _nav(bt.DU_CARD, branch.id, month, page, total):
            rows.append(nav)
        if view.unpaid:
            rows.append(
                [(lab.DUES_ALL.format(n=len(view.unpaid)), bt.DU_ALL(branch.id, _key(month)))]
            )
        if view.paid:
            rows.append(
                [
                    (
                        lab.DUES_PAID_LIST.format(n=len(view.paid)),
                        bt.DU_PAID(branch.id, _key(month), 0),
                    )
                ]
            )
        rows.append([(lab.DUES_RATES, bt.DU_RATES(branch.id, 0))])
    months = [
        (
            lab.DUES_PREVIOUS.format(m=rules.add_months(month, -1).month),
            bt.DU_CARD(branch.id, _key(rules.add_months(month, -1)), 0),
        )
    ]
    if month < this:
        after = rules.add_months(month, 1)
        months.append((lab.DUES_NEXT.format(m=after.month), bt.DU_CARD(branch.id, _key(after), 0)))
    rows.append(months)
    rows.append([(lab.DUES_EXPORT.format(year=month.year), bt.DU_EXPORT(branch.id, month.year))])
    problem = rules.month_problem(month, today)
    months_back = (this.year - month.year) * 12 + this.month - month.month
    text = render(
        "dues",
        view="card",
        v=view,
        yuan=yuan,
        problem=problem,
        months_back=months_back,
        lapses=rules.lapses(roster, ledger, today) if can_record else [],
        can_record=can_record,
        ledger_from=ledger.starts_after(month),
    )
    return text, rows


async def _show(
    update: Update,
    context: BotContext,
    found: tuple[Membership, Branch],
    month: date,
    page: int = 0,
) -> None:
    membership, branch = found
    roster, ledger = await _facts(app_of(context).database, branch.id)
    await reply(
        update, *card_view(branch, membership, roster, ledger, month, page, local_today(context))
    )


async def command(update: Update, context: BotContext) -> None:
    """/dues: this month's card of the current branch."""
    found = await current_branch(update, context)
    if found is None:
        return
    await _show(update, context, found, month_of(local_today(context)))


async def _month_ok(update: Update, context: BotContext, month: date) -> bool:
    """A month in the future is refused (no 垫交): a forged or a day-old button."""
    if rules.month_problem(month, local_today(context)) == "future":
        await answer(update, render("dues", view="future", month=month), alert=True)
        return False
    return True


async def card(update: Update, context: BotContext, branch_id: int, key: str, page: int) -> None:
    """A month's card (another month, another page)."""
    month = _month(key)
    found = await allowed(update, context, branch_id, Need.READ)
    if found is None or not await _month_ok(update, context, month):
        return
    await answer(update)
    await close_keyboard(update)
    await _show(update, context, found, month, page)


async def _write(
    context: BotContext,
    found: tuple[Membership, Branch],
    roster: list[Member],
    ledger: Ledger,
    paid: list[store.Payment],
) -> Ledger:
    """Store payments with the months' 收齐 marks; the ledger as it is now."""
    membership, branch = found
    after = Ledger(ledger.rates, [*ledger.payments, *paid])
    months = [p.month for p in paid]
    complete = rules.completeness(roster, after, months, missing=roster_missing(branch, roster))
    await store.record(
        app_of(context).database,
        user_id=membership.user_id,
        branch_id=branch.id,
        paid=paid,
        complete=complete,
    )
    await _collected(app_of(context).database, branch.id, complete)
    _LOGGER.info("Dues: %d months recorded in branch %d", len(paid), branch.id)
    return after


async def _collected(database: Any, branch_id: int, complete: dict[date, bool]) -> None:
    """A month paid in full: its pending 党费 reminders are no longer wanted (as 党费已收齐's)."""
    for month in (m for m, done in complete.items() if done):
        await outbox.cancel(database, keys_prefix(branch_id, store.CODE, month))
        await outbox.cancel(database, rules.reminder_prefix(branch_id, month))


async def settle_marks(database: Any, branch_id: int, user_id: int, today: date) -> int:
    """After a roster or 支部信息 change: the month in progress is marked 党费已收齐 exactly when
    the ledger says it is complete (someone added who owes it, the counts raised above the
    roster…), if the ledger holds payments for it (else the mark stays as tapped). Earlier
    months keep their marks: the roster has no date a member came to the branch, so someone
    transferred in now would read as owing months they paid elsewhere. Returns how many marks
    changed (0 or 1)."""
    ledger = await ledger_of(database, branch_id)
    this = month_of(today)
    branch = await repo.get_branch(database, branch_id)
    if branch is None or not any(p.month == this for p in ledger.payments):
        return 0
    roster = await members.list_for(database, branch_id)
    done = rules.month_view(roster, ledger, this, missing=roster_missing(branch, roster)).complete
    marks = await settings.marks(database, [branch_id], since=this.isoformat())
    if done == ((branch_id, store.CODE, this) in marks):
        return 0
    await store.settle(database, user_id=user_id, branch_id=branch_id, complete={this: done})
    await _collected(database, branch_id, {this: done})
    _LOGGER.info("Dues: this month's mark settled in branch %d", branch_id)
    return 1


async def pay(
    update: Update, context: BotContext, branch_id: int, member_id: int, key: str, page: int
) -> None:
    """✅ 姓名 ¥金额: one member's month paid (a quarterly payer's quarter)."""
    month = _month(key)
    found = await allowed(update, context, branch_id, Need.RECORD)
    if found is None or not await _month_ok(update, context, month):
        return
    roster, ledger = await _facts(app_of(context).database, branch_id)
    view = rules.month_view(roster, ledger, month, opened=True)
    line = next((x for x in view.lines if x.member.id == member_id), None)
    if line is None or not line.due_fen or line.payment is not None:
        await answer(update, render("button_expired"), alert=True)
        return
    paid = rules.payments_for([line], ledger.rates, local_today(context), month, ledger)
    if paid:
        ledger = await _write(context, found, roster, ledger, paid)
    months = [p.month for p in paid] or [month]
    fen = sum(p.paid_fen for p in paid)
    await answer(
        update,
        render("dues", view="paid", name=line.member.name, months=months, fen=fen, yuan=yuan),
    )
    await close_keyboard(update)
    membership, branch = found
    today = local_today(context)
    await reply(update, *card_view(branch, membership, roster, ledger, month, page, today))


async def pay_all(update: Update, context: BotContext, branch_id: int, key: str) -> None:
    """全部已交: this month at once; an earlier month (补交) asks first."""
    month = _month(key)
    found = await allowed(update, context, branch_id, Need.RECORD)
    if found is None or not await _month_ok(update, context, month):
        return
    if month == month_of(local_today(context)):
        await pay_all_sure(update, context, branch_id, key)
        return
    roster, ledger = await _facts(app_of(context).database, branch_id)
    unpaid = rules.month_view(roster, ledger, month, opened=True).unpaid
    await answer(update)
    await close_keyboard(update)
    rows = [
        [(labels().DUES_ALL_SURE.format(n=len(unpaid)), bt.DU_ALL_SURE(branch_id, key))],
        [(labels().DUES_BACK, bt.DU_CARD(branch_id, key, 0))],
    ]
    await reply(update, render("dues", view="all_ask", month=month, n=len(unpaid)), rows)


async def pay_all_sure(update: Update, context: BotContext, branch_id: int, key: str) -> None:
    """Everyone with an amount who has not paid the month: paid today."""
    month = _month(key)
    found = await allowed(update, context, branch_id, Need.RECORD)
    if found is None or not await _month_ok(update, context, month):
        return
    roster, ledger = await _facts(app_of(context).database, branch_id)
    unpaid = rules.month_view(roster, ledger, month, opened=True).unpaid
    paid = rules.payments_for(unpaid, ledger.rates, local_today(context), month, ledger)
    if paid:
        ledger = await _write(context, found, roster, ledger, paid)
    await answer(update, render("dues", view="all_done", n=len(unpaid)))
    await close_keyboard(update)
    membership, branch = found
    today = local_today(context)
    await reply(update, *card_view(branch, membership, roster, ledger, month, 0, today))


def _paid_view(
    branch_id: int, roster: list[Member], ledger: Ledger, month: date, page: int
) -> tuple[str, Rows]:
    view = rules.month_view(roster, ledger, month, opened=True)
    page, total = _pages(len(view.paid), page)
    shown = view.paid[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    lab = labels()
    rows = in_rows(
        [
            (
                lab.DUES_UNPAY.format(
                    name=line.member.name,
                    amount=yuan(line.payment.paid_fen if line.payment else 0),
                ),
                bt.DU_UNPAY(branch_id, line.member.id, _key(month), page),
            )
            for line in shown
        ],
        2,
    )
    if nav := _nav(bt.DU_PAID, branch_id, month, page, total):
        rows.append(nav)
    rows.append([(lab.DUES_BACK, bt.DU_CARD(branch_id, _key(month), 0))])
    return render("dues", view="paid_list", v=view), rows


async def paid_list(
    update: Update, context: BotContext, branch_id: int, key: str, page: int
) -> None:
    """↩️ 撤销已交: who has paid the month, each a button to take it back."""
    month = _month(key)
    found = await allowed(update, context, branch_id, Need.RECORD)
    if found is None or not await _month_ok(update, context, month):
        return
    roster, ledger = await _facts(app_of(context).database, branch_id)
    await answer(update)
    await close_keyboard(update)
    await reply(update, *_paid_view(branch_id, roster, ledger, month, page))


async def unpay(
    update: Update, context: BotContext, branch_id: int, member_id: int, key: str, page: int
) -> None:
    """↩️ 姓名: take back a mistaken tap (a quarterly payer's whole quarter tapped together)."""
    month = _month(key)
    found = await allowed(update, context, branch_id, Need.RECORD)
    if found is None or not await _month_ok(update, context, month):
        return
    database = app_of(context).database
    roster, ledger = await _facts(database, branch_id)
    member = next((m for m in roster if m.id == member_id), None)
    months = rules.withdrawn_months(ledger.rates.get(member_id), month, ledger, member_id)
    if member is None or not months:
        await answer(update, render("button_expired"), alert=True)
        return
    gone = set(months)
    after = Ledger(
        ledger.rates,
        [p for p in ledger.payments if not (p.member_id == member_id and p.month in gone)],
    )
    await store.withdraw(
        database,
        user_id=found[0].user_id,
        branch_id=branch_id,
        member_id=member_id,
        months=months,
        complete=rules.completeness(
            roster, after, months, missing=roster_missing(found[1], roster)
        ),
    )
    _LOGGER.info("Dues: %d months withdrawn in branch %d", len(months), branch_id)
    await answer(
        update,
        render("dues", view="withdrawn", name=member.name, months=months),
    )
    await close_keyboard(update)
    await reply(update, *_paid_view(branch_id, roster, after, month, page))


async def export(update: Update, context: BotContext, branch_id: int, year: int) -> None:
    """📤 The year's 党费收缴台账 (.xlsx)."""
    from bot import dues_export

    found = await allowed(update, context, branch_id, Need.READ)
    if found is None:
        return
    branch = found[1]
    roster, ledger = await _facts(app_of(context).database, branch_id)
    await answer(update, render("preparing_file"))
    today = local_today(context)
    rows = rules.year_rows(roster, ledger, year, today)
    data = await asyncio.to_thread(dues_export.workbook, branch, year, rows, today)
    chat = update.effective_chat
    assert chat is not None
    words = dues_export.words()
    await chat.send_document(
        InputFile(
            io.BytesIO(data), filename=words.FILE_NAME.format(name=branch.profile.name, year=year)
        ),
        caption=render(
            "dues_file", year=year, people=len(rows), fen=sum(r.total_fen for r in rows), yuan=yuan
        ),
    )


async def status_line(
    database: Any, branch: Branch, today: date, *, names: bool
) -> tuple[str, bool]:
    """/status's 党费 line (x/y paid, the total; the 党章第九条 names when `names`), and whether
    the branch keeps the ledger ("" and False when it does not)."""
    ledger = await ledger_of(database, branch.id)
    if not ledger.in_use:
        return "", False
    roster = await members.list_for(database, branch.id)
    view = rules.month_view(
        roster, ledger, month_of(today), missing=roster_missing(branch, roster)
    )
    lapses = rules.lapses(roster, ledger, today) if names else []
    if not view.lines and not lapses:
        return "", True  # nobody owes this month (amounts owed from a later one): no 0/0 line
    return Markup(render("dues", view="status", v=view, lapses=lapses, yuan=yuan)), True


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/dues and its buttons (the amount form is in bot.handlers.dues_form)."""
    return [
        CommandHandler("dues", command),
        on(bt.DU_CARD, card),
        on(bt.DU_PAY, pay),
        on(bt.DU_ALL, pay_all),
        on(bt.DU_ALL_SURE, pay_all_sure),
        on(bt.DU_PAID, paid_list),
        on(bt.DU_UNPAY, unpay),
        on(bt.DU_EXPORT, export),
    ]
