"""Everything the daily sweep needs about every branch, read in a handful of queries."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import msgspec

from db.database import Database, among
from db.members import all_members, with_timelines
from db.models import Branch, CustomReminder, Member, PartyRoll, RosterEntry
from db.recruitment import StepRow, all_steps
from db.repo import branch_from_row
from db.settings import BranchSettings, all_settings, marks, snoozes


class SweepFacts(msgspec.Struct):
    """The facts of the branches a sweep decides for."""

    branches: list[Branch]
    settings: dict[int, BranchSettings]
    records: dict[int, list[tuple[str, date]]]
    planned: dict[int, dict[date, date]]
    snoozes: dict[tuple[int, str, date], date]
    editors: dict[int, list[int]]
    blocked: frozenset[int]
    custom: dict[int, list[CustomReminder]] = msgspec.field(default_factory=dict)
    roster: dict[int, list[Member]] = msgspec.field(default_factory=dict)
    talks: dict[int, list[tuple[date, str]]] = msgspec.field(default_factory=dict)
    # 发展党员 steps: branch id → member id → steps (db.recruitment).
    recruitment: dict[int, dict[int, list[StepRow]]] = msgspec.field(default_factory=dict)
    # The sweep's batches: party members only, as roster entries (no Member objects), and the
    # few people still on the way in (applicants to probationary members) for their timelines.
    party: dict[int, PartyRoll] = msgspec.field(default_factory=dict)
    progress: dict[int, list[Member]] = msgspec.field(default_factory=dict)
    # Branches keeping a 党费 ledger (an amount set for someone): its month-end reminder, which
    # names who has not paid, stands in for the generic 党费 lead reminders.
    ledgers: frozenset[int] = frozenset()


async def branch_ids(db: Database) -> list[int]:
    """Every branch's id, in order: the sweep reads and decides a batch of them at a time."""
    return [row[0] for row in await db.fetchall("SELECT id FROM branches ORDER BY id")]


async def branch_count(db: Database) -> int:
    """How many branches there are."""
    row = await db.fetchone("SELECT COUNT(*) AS n FROM branches")
    return int(row["n"]) if row else 0


async def load(
    db: Database,
    today: date,
    *,
    branch_ids: Iterable[int] | None = None,
    entries: bool = False,
) -> SweepFacts:
    """Read the facts of the given branches (every branch for None); records from the start of
    last year on (enough for every period). Every query reads only those branches' rows,
    through an index: a batch of the sweep, or one branch for /status, costs the same in a
    city as in a town.

    `entries` reads what the sweep's decision reads and no more: the records as the months
    each obligation was done in (done_months, one row per branch, obligation and year; the day
    within the month is never read), the 主题党日 plans from the start of this year or of the
    previous quarter on (older ones only for a branch that snoozed an older period), the
    roster as a PartyRoll without names, and no talks (read_talks() adds names and talks for
    the branches that need them)."""
    wanted = None if branch_ids is None else tuple(sorted(set(branch_ids)))
    where, ids = among(wanted)
    since = date(today.year - 1, 1, 1).isoformat()
    recent = since
    if entries and today.month > 1:
        # This year's periods, and the previous quarter's (last year's fourth in the first).
        month = (today.month - 1) // 3 * 3 - 3  # the previous quarter's first (0-based)
        recent = min(date(today.year, 1, 1), date(today.year + month // 12, month % 12 + 1, 1))
        recent = recent.isoformat()
    # Every read at once: the connection's thread runs them back to back, and the screen waits
    # for that thread once instead of once per table.
    (
        branch_rows,
        meeting_rows,
        marked,
        plan_rows,
        editor_rows,
        blocked_rows,
        custom_rows,
        settings,
        snoozed,
        roster,
        steps,
        progress,
        ledger_rows,
    ) = await asyncio.gather(
        db.fetchall(f"SELECT * FROM branches WHERE {among(wanted, 'id')[0]} ORDER BY id", ids),
        db.fetchall(
            f"SELECT branch_id, code, year, months FROM done_months WHERE year >= ? AND {where}",
            (today.year - 1, *ids),
        )
        if entries
        else db.fetchall(
            "SELECT branch_id, kind, held_on, also_counts_as, counterpart FROM meetings "
            f"WHERE deleted_at IS NULL AND held_on >= ? AND {where}",
            (since, *ids),
        ),
        _nothing() if entries else marks(db, wanted, since=since),
        db.fetchall(
            f"SELECT branch_id, month, planned_on FROM party_day_plans WHERE month >= ? "
            f"AND {where}",
            (recent[:7] if entries else "", *ids),
        ),
        db.fetchall(
            "SELECT branch_id, user_id FROM memberships WHERE role IN ('secretary', 'deputy') "
            f"AND {where} ORDER BY role DESC, user_id",
            ids,
        ),
        _blocked(db, wanted),
        db.fetchall(f"SELECT * FROM custom_reminders WHERE {where} ORDER BY id", ids),
        all_settings(db, wanted),
        snoozes(db, wanted),
        _party(db, wanted) if entries else all_members(db, wanted),
        all_steps(db, wanted),
        with_timelines(db, wanted) if entries else _nothing(),
        # Only the sweep's decision tells a ledger's branches apart (bot.reminders.notices_for).
        db.fetchall(f"SELECT DISTINCT branch_id FROM dues_rates WHERE {where}", ids)
        if entries
        else _nothing(),
    )
    records: dict[int, list[tuple[str, date]]] = defaultdict(list)
    talks: dict[int, list[tuple[date, str]]] = defaultdict(list)
    if entries:
        for branch_id, code, year, months in meeting_rows:
            records[branch_id] += [(code, day) for day in _months_of(year, months)]
    else:
        await _add_records(meeting_rows, records, talks)
    for branch_id, code, period_start in marked:
        records[branch_id].append((code, period_start))
    older = sorted(
        {
            b
            for (b, _, start), until in snoozed.items()
            if start.isoformat() < recent and until >= today
        }
    )
    if older and entries:
        # A snoozed month before the plans read: its 主题党日 deadline may have been moved.
        where, ids = among(older)
        plan_rows += await db.fetchall(
            "SELECT branch_id, month, planned_on FROM party_day_plans "
            f"WHERE month < ? AND {where}",
            (recent[:7], *ids),
        )
    planned: dict[int, dict[date, date]] = defaultdict(dict)
    for branch_id, month, planned_on in plan_rows:
        planned[branch_id][date.fromisoformat(month + "-01")] = date.fromisoformat(planned_on)
    editors: dict[int, list[int]] = defaultdict(list)
    for branch_id, user_id in editor_rows:
        editors[branch_id].append(user_id)
    custom: dict[int, list[CustomReminder]] = defaultdict(list)
    for row in custom_rows:
        custom[row["branch_id"]].append(custom_reminder(row))
    return SweepFacts(
        branches=[branch_from_row(row) for row in branch_rows],
        settings=settings,
        records=dict(records),
        planned=dict(planned),
        snoozes=snoozed,
        editors=dict(editors),
        blocked=frozenset(row["chat_id"] for row in blocked_rows),
        custom=dict(custom),
        roster={} if entries else roster,
        talks=dict(talks),
        recruitment=steps,
        party=roster if entries else {},
        progress=progress if entries else {},
        ledgers=frozenset(row[0] for row in ledger_rows),
    )


async def _nothing() -> list[Any]:
    return []


@lru_cache(maxsize=8192)
def _months_of(year: int, months: int) -> tuple[date, ...]:
    """The first day of each month of a done_months mask (bit m: month m)."""
    return tuple(date(year, m, 1) for m in range(1, 13) if months >> m & 1)


async def _add_records(
    rows: Iterable[Any],
    records: dict[int, list[tuple[str, date]]],
    talks: dict[int, list[tuple[date, str]]],
) -> None:
    """Each meeting row as a record of every obligation it counts for (and a talk)."""
    for number, (branch_id, kind, held_on, also, counterpart) in enumerate(rows):
        # A year of records of thousands of branches: let other updates run now and then.
        if number % 2000 == 1999:
            await asyncio.sleep(0)
        day = date.fromisoformat(held_on)
        if kind == "heart_to_heart_talk":
            talks[branch_id].append((day, counterpart))
        for code in (kind, *(json.loads(also) if also != "[]" else ())):
            records[branch_id].append((code, day))


async def _party(db: Database, wanted: tuple[int, ...] | None) -> dict[int, PartyRoll]:
    """The party roll of each branch with party members, without the names."""
    where, ids = among(wanted)
    sizes = await db.fetchall(
        "SELECT branch_id, COUNT(*) FROM members "
        f"WHERE status IN ('formal', 'probationary') AND {where} GROUP BY branch_id",
        ids,
    )
    watched: dict[int, list[RosterEntry]] = defaultdict(list)
    rows = await db.fetchall(
        "SELECT id, branch_id, name, status, joined_on, mobile, left_on, last_report_on "
        "FROM members WHERE status IN ('formal', 'probationary') "
        f"AND (status = 'probationary' OR mobile = 1) AND {where} ORDER BY branch_id, name",
        ids,
    )
    for member_id, branch_id, name, status, joined_on, mobile, left_on, report_on in rows:
        # Only a probationary member's admission day and a mobile one's days are ever read.
        watched[branch_id].append(
            RosterEntry(
                member_id,
                name,
                status,
                date.fromisoformat(joined_on) if joined_on and status == "probationary" else None,
                bool(mobile),
                date.fromisoformat(left_on) if left_on and mobile else None,
                date.fromisoformat(report_on) if report_on and mobile else None,
            )
        )
    return {
        branch_id: PartyRoll(size, tuple(watched.get(branch_id, ())), None)
        for branch_id, size in sizes
    }


async def read_talks(
    db: Database, branch_ids: Iterable[int], today: date
) -> tuple[dict[int, tuple[str, ...]], dict[int, list[tuple[date, str]]]]:
    """The party members' names (roster order) and this year's talks of the branches."""
    where, ids = among(branch_ids)
    names: dict[int, list[str]] = defaultdict(list)
    for branch_id, name in await db.fetchall(
        "SELECT branch_id, name FROM members WHERE status IN ('formal', 'probationary') "
        f"AND {where} ORDER BY branch_id, name",
        ids,
    ):
        names[branch_id].append(name)
    talks: dict[int, list[tuple[date, str]]] = defaultdict(list)
    for branch_id, held_on, counterpart in await db.fetchall(
        "SELECT branch_id, held_on, counterpart FROM meetings WHERE deleted_at IS NULL "
        f"AND kind = 'heart_to_heart_talk' AND held_on >= ? AND {where}",
        (date(today.year, 1, 1).isoformat(), *ids),
    ):
        talks[branch_id].append((date.fromisoformat(held_on), counterpart))
    return {b: tuple(found) for b, found in names.items()}, dict(talks)


async def changes(db: Database, branch_ids: Iterable[int]) -> dict[int, int]:
    """How many changes to what the sweep reads each branch has had (read before its facts:
    a change after this read makes the decision stale, never lost)."""
    where, ids = among(branch_ids)
    rows = await db.fetchall(f"SELECT branch_id, changes FROM sweep_state WHERE {where}", ids)
    return {branch_id: count for branch_id, count in rows}


async def undecided(db: Database, today: date, rules: str) -> list[int]:
    """The branches the sweep must decide today, in order: never decided, decided by other
    rules or for a later day, changed since, or with a reminder possibly due today."""
    day = today.isoformat()
    rows = await db.fetchall(
        "SELECT id FROM branches WHERE id NOT IN ("
        "SELECT branch_id FROM sweep_state WHERE decided = changes AND rules = ? "
        "AND decided_on <= ? AND (next_on IS NULL OR next_on > ?)) ORDER BY id",
        (rules, day, day),
    )
    return [row[0] for row in rows]


async def record_decided(
    db: Database, today: date, rules: str, decided: Iterable[tuple[int, int, date | None]]
) -> None:
    """Note each (branch, its changes as read before deciding, next possible day)."""
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO sweep_state (branch_id, changes, decided, decided_on, next_on, rules) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (branch_id) DO UPDATE SET "
            "decided = excluded.decided, decided_on = excluded.decided_on, "
            "next_on = excluded.next_on, rules = excluded.rules",
            [
                (branch_id, count, count, today.isoformat(), after and after.isoformat(), rules)
                for branch_id, count, after in decided
            ],
        )


async def _blocked(db: Database, wanted: tuple[int, ...] | None) -> Iterable[Any]:
    """The chats that blocked the bot: all of them, or those these branches would write to
    (their secretaries and deputies, their bound groups)."""
    if wanted is None:
        return await db.fetchall("SELECT chat_id FROM blocked_chats")
    where, ids = among(wanted)
    return await db.fetchall(
        "SELECT chat_id FROM blocked_chats WHERE chat_id IN ("
        f"SELECT user_id FROM memberships WHERE role IN ('secretary', 'deputy') AND {where} "
        f"UNION SELECT group_chat_id FROM branch_settings WHERE {where})",
        (*ids, *ids),
    )


def custom_reminder(row: Any) -> CustomReminder:
    """A custom reminder from its row."""
    return CustomReminder(
        id=row["id"],
        branch_id=row["branch_id"],
        text=row["text"],
        rule=row["rule"],
        at_time=row["at_time"],
        on_date=date.fromisoformat(row["on_date"]) if row["on_date"] else None,
        weekday=row["weekday"],
        day_of_month=row["day_of_month"],
        quarter_month=row["quarter_month"],
        week_of_month=row["week_of_month"],
        paused=bool(row["paused"]),
        created_by=row["created_by"],
        since=datetime.fromisoformat(row["updated_at"]),
    )
