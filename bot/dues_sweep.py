"""The sweep's 党费 duty: on the month-end reminder day, the branches keeping a ledger are read
and each one's reminder decided by bot.dues.month_end_messages (pure). Any other day this
reads nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from bot.dues import Ledger, add_months, month_end_messages, month_of, reminder_day
from bot.reminders import BATCH, moment_for
from db import dues as store
from db import sweep_data
from db.database import Database
from db.models import MEMBER_STATUSES
from db.outbox import OutboxMessage
from db.settings import BranchSettings


async def reminders(
    db: Database, today: date, tz: ZoneInfo, branch_ids: Iterable[int] | None = None
) -> list[OutboxMessage]:
    """The month-end 党费 reminders of every branch keeping a ledger (or of the given branches
    that keep one); none but on the reminder day."""
    if not reminder_day(today):
        return []
    # The month's view reads this month's payments; a year back keeps the ledger's start.
    since = add_months(month_of(today), -12)
    wanted = None if branch_ids is None else sorted(set(branch_ids))
    rates = await store.rates(db, wanted)
    paid = await store.payments(db, wanted, since=since)
    ids = sorted(set(rates) | set(paid))
    if not ids:
        return []
    found = []
    # In batches, as the sweep reads: a city of ledgers never holds up another chat's update.
    for first in range(0, len(ids), BATCH):
        batch = ids[first : first + BATCH]
        found += _decide(await sweep_data.load(db, today, branch_ids=batch), rates, paid,
                         await store.secretaries(db, batch), today, tz)  # fmt: skip
        await asyncio.sleep(0)
    return found


def _decide(
    facts: sweep_data.SweepFacts,
    rates: Mapping[int, Mapping[int, Any]],
    paid: Mapping[int, Sequence[Any]],
    secretaries: Mapping[int, int],
    today: date,
    tz: ZoneInfo,
) -> list[OutboxMessage]:
    found = []
    for branch in facts.branches:
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
