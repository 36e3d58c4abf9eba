"""The sweep's 党费 duty: on the month-end reminder day, the ledgers of a batch of branches are
read and each branch's reminder decided by bot.dues.month_end_messages (pure). Any other day
this reads nothing."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from bot.dues import Ledger, add_months, month_end_messages, month_of, reminder_day
from bot.reminders import moment_for
from db import dues as store
from db.database import Database
from db.models import MEMBER_STATUSES
from db.outbox import OutboxMessage
from db.settings import BranchSettings
from db.sweep_data import SweepFacts


async def reminders(
    db: Database, facts: SweepFacts, today: date, tz: ZoneInfo
) -> list[OutboxMessage]:
    """The batch's month-end 党费 reminders (none but on the reminder day)."""
    if not reminder_day(today) or not facts.branches:
        return []
    ids = [b.id for b in facts.branches]
    # The month's view reads this month's payments; a year back keeps the ledger's start.
    since = add_months(month_of(today), -12)
    rates = await store.rates(db, ids)
    paid = await store.payments(db, ids, since=since)
    secretaries = await store.secretaries(db, ids)
    found = []
    for branch in facts.branches:
        if branch.id not in rates and branch.id not in paid:
            continue
        settings = facts.settings.get(branch.id) or BranchSettings(branch.id)
        secretary = secretaries.get(branch.id)
        found += month_end_messages(
            branch,
            # In the roster's order, as /dues lists them (db.members.list_for).
            sorted(
                facts.roster.get(branch.id, []),
                key=lambda m: (MEMBER_STATUSES.index(m.info.status), m.name),
            ),
            Ledger(rates.get(branch.id, {}), paid.get(branch.id, [])),
            settings,
            None if secretary in facts.blocked else secretary,
            today,
            moment_for(settings, today, tz),
        )
    return found
