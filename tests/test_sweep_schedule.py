"""The sweep that decides only the branches that can have something due decides exactly what
deciding every branch every day did: 120 generated branches of every kind (lead days, muted
and turned-off obligations, 换届 dates, rosters with probationary and mobile members, talks,
snoozes of old and new periods, custom reminders, plans, blocked chats) swept day after day over
a quarter's end and National Day, and over the year's end; each day's outbox compared with the
reminders the full decision gives (every branch read in full, as /status reads it). In between,
the facts change through db/ (a meeting logged and one deleted, a setting, a roster change, a
custom reminder, a snooze, a new branch, a deleted one, a chat unblocked): the changed branch is
decided again, and the outbox still matches."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import threading
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.branch_profile import FORMATION_MODES, ORGANIZATION_TYPES
from bot.member_counts import counted_total, member_counts
from bot.obligations import DEFAULT_FREQUENCY, registered_on
from bot.reminders import (
    RULES,
    custom_messages,
    messages_for,
    moment_for,
    notices_for,
    owed_for,
    recipients,
    sweep,
)
from db import Database, custom_reminders, erase, members, repo, settings, sweep_data
from db.meetings import delete_meeting
from db.models import CustomReminder, MemberInfo
from tests.factories import make_profile

TZ = ZoneInfo("Asia/Shanghai")
# In one test process: each process that runs one of these tests generates the branches
# first (1–2 s), and pytest-xdist spread them over every process.
pytestmark = pytest.mark.xdist_group("sweep_city")
BRANCHES = 120
CODES = list(DEFAULT_FREQUENCY)
KINDS = [code for code in CODES if code != "party_dues"] + ["heart_to_heart_talk"] * 3
NAMES = [f"{s}{g}" for s in "王李张刘陈" for g in "伟芳娜敏静"]
STAMP = "T02:00:00+00:00"
SNOOZED = [date(2025, 1, 1), date(2026, 1, 1), date(2026, 9, 1), date(2026, 7, 1),
           date(2026, 12, 1), date(2026, 10, 1)]  # fmt: skip
LEADS = ([7, 2], [3], [14, 7, 1], [30, 2], [1])
# A quarter's end and National Day (1–8 October 2026 off, 27 September and 10 October worked).
AUTUMN = [date(2026, 9, 26) + timedelta(days=n) for n in range(14)]
# The year's end (谈心谈话, yearly obligations, last year's period overdue in January).
WINTER = [date(2026, 12, 27) + timedelta(days=n) for n in range(10)]


def _rows(rng: random.Random) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows for BRANCHES varied branches."""
    rows: dict[str, list[tuple[Any, ...]]] = {
        name: []
        for name in (
            "users",
            "branches",
            "memberships",
            "settings",
            "members",
            "meetings",
            "marks",
            "plans",
            "blocked",
            "snoozes",
            "custom",
        )
    }
    for b in range(1, BRANCHES + 1):
        created = rng.choice(
            ["2024-03-01T00:00:00+00:00", f"{date(2025, 6, 1) + timedelta(rng.randrange(500))}"
             f"T16:30:00+00:00"]
        )  # fmt: skip
        week = rng.choice([0, 0, 1, 2, 4, -1])
        rows["branches"].append(
            (b, f"支部{b}", f"协会{b}", rng.choice(ORGANIZATION_TYPES),
             rng.choice(FORMATION_MODES), rng.randrange(6), rng.randrange(3),
             rng.randrange(2), rng.randrange(2), rng.randrange(1, 32), 10 * b, f"k{b}", created,
             created, rng.randrange(2), week, rng.randrange(7) if week else 0)
        )  # fmt: skip
        for n, role in enumerate(rng.sample(["secretary", "deputy", "deputy", "committee"], 2)):
            rows["users"].append((10 * b + n,))
            rows["memberships"].append((10 * b + n, b, role))
        if rng.random() < 0.05:
            rows["blocked"].append((10 * b,))
        frequencies = {
            code: rng.choice(["monthly", "quarterly", "yearly", "off"])
            for code in rng.sample(CODES, rng.randrange(3))
        }
        if rng.random() < 0.1:
            frequencies[rng.choice(["heart_to_heart_talk", "probation", "mobile_report"])] = "off"
        muted = rng.sample(
            [*CODES, "election", "probation", "mobile_report"], rng.choice([0, 0, 2])
        )
        # Some elected three years before AUTUMN's 换届 reminders (a month ahead of the term).
        elected = rng.choice(
            [date(2023, 1, 1) + timedelta(days=rng.randrange(1500)), date(2023, 10, 26)]
        ) + timedelta(days=rng.randrange(12))
        rows["settings"].append(
            (b, json.dumps(frequencies), -100_000 - b if rng.random() < 0.4 else None,
             json.dumps(rng.choice(LEADS)), json.dumps(muted),
             str(elected) if rng.random() < 0.5 else None, rng.choice([3, 5]),
             rng.choice(["09:00", "07:30", "23:30"]), rng.randrange(2), rng.randrange(2))
        )  # fmt: skip
        names = rng.sample(NAMES, rng.choice([0, 2, 6, 12]))
        for name in names:
            status = rng.choice(["formal", "formal", "probationary", "applicant"])
            joined = date(2025, 8, 1) + timedelta(days=rng.randrange(500))
            mobile = int(rng.random() < 0.3)
            left = date(2026, 5, 1) + timedelta(days=rng.randrange(200)) if mobile else None
            report = (
                date(2026, 7, 1) + timedelta(rng.randrange(150)) if rng.random() < 0.5 else None
            )
            rows["members"].append((b, name, status, str(joined), mobile, left and str(left),
                                    report and str(report)))  # fmt: skip
        for n in range(rng.randrange(0, 50)):
            held = date(2025, 1, 1) + timedelta(days=rng.randrange(760))
            kind = rng.choice(KINDS)
            also = rng.sample(CODES, rng.choice([0, 0, 0, 1, 2]))
            who = rng.choice([*names, "外单位"]) if kind == "heart_to_heart_talk" and names else ""
            deleted = f"{held}{STAMP}" if rng.random() < 0.1 else None
            rows["meetings"].append(
                (b, kind, str(held), json.dumps(also), who, 10 * b, f"m{b}-{n}",
                 f"{held}{STAMP}", f"{held}{STAMP}", deleted)
            )  # fmt: skip
        for month in rng.sample(range(24), rng.randrange(12)):
            start = date(2025 + month // 12, month % 12 + 1, 1)
            rows["marks"].append((b, rng.choice(["party_dues", "party_lecture"]), str(start)))
        for month in rng.sample(range(25), rng.randrange(10)):
            start = date(2025 + month // 12, month % 12 + 1, 1)
            planned = start + timedelta(days=rng.randrange(35))  # some outside their month
            rows["plans"].append((b, start.strftime("%Y-%m"), str(planned), f"p{b}-{month}"))
        for _ in range(rng.choice([0, 0, 1, 2])):
            # Snoozes of recent periods and of last year's (a yearly one snoozed in /status).
            code = rng.choice(CODES)
            start = rng.choice(SNOOZED)
            until = rng.choice(AUTUMN + WINTER)
            rows["snoozes"].append((b, code, str(start), str(until)))
        for n in range(rng.choice([0, 0, 0, 1, 2])):
            kind = rng.choice(["once", "daily", "workday", "weekly", "monthly", "quarterly"])
            rows["custom"].append(
                (b, 10 * b, f"提醒{n}", kind,
                 str(rng.choice(AUTUMN + WINTER)) if kind == "once" else None,
                 rng.randrange(7) if kind == "weekly" else None,
                 rng.randrange(1, 32) if kind in ("monthly", "quarterly") else None,
                 rng.randrange(1, 4) if kind == "quarterly" else 1, rng.choice(["08:00", "20:00"]),
                 int(rng.random() < 0.2))
            )  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def city_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated branches (the same every run), made once per test process."""
    path = tmp_path_factory.mktemp("sweepcity") / "city.sqlite3"
    thread = threading.Thread(target=asyncio.run, args=(_generate(path),))
    thread.start()
    thread.join()
    return path


@pytest.fixture
async def city(city_file: Path, tmp_path: Path) -> AsyncIterator[Database]:
    """A copy of the generated branches for one test (the sweep writes to it)."""
    path = tmp_path / "city.sqlite3"
    await asyncio.to_thread(shutil.copyfile, city_file, path)
    database = Database(path)
    await database.open()
    yield database
    await database.close()


async def _generate(path: Path) -> None:
    database = Database(path)
    await database.open()
    rows = _rows(random.Random(1616))
    now = "2024-01-01T00:00:00+00:00"
    async with database.transaction() as conn:
        await conn.executemany(
            "INSERT INTO users (id, created_at, updated_at) VALUES (?, ?, ?)",
            [(user, now, now) for (user,) in rows["users"]],
        )
        await conn.executemany(
            "INSERT INTO branches (id, name, organization_name, organization_type, formation_mode,"
            " formal_members, probationary_members, has_committee, has_party_groups, party_day,"
            " created_by, draft_key, created_at, updated_at, roster_complete, party_week,"
            " party_weekday) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows["branches"],
        )
        await conn.executemany(
            "INSERT INTO memberships (user_id, branch_id, role, created_at) VALUES (?, ?, ?, ?)",
            [(*row, now) for row in rows["memberships"]],
        )
        await conn.executemany(
            "INSERT INTO branch_settings (branch_id, frequencies, group_chat_id, lead_days, muted,"
            " elected_on, term_years, reminder_time, to_private, to_group, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*row, now) for row in rows["settings"]],
        )
        await conn.executemany(
            "INSERT INTO members (branch_id, name, status, joined_on, mobile, left_on, "
            "last_report_on, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*row, now, now) for row in rows["members"]],
        )
        await conn.executemany(
            "INSERT INTO meetings (branch_id, kind, held_on, also_counts_as, counterpart, "
            "created_by, draft_key, created_at, updated_at, deleted_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows["meetings"],
        )
        await conn.executemany(
            "INSERT OR IGNORE INTO obligation_marks (branch_id, code, period_start, marked_by, "
            "marked_at) VALUES (?, ?, ?, 1, ?)",
            [(*row, now) for row in rows["marks"]],
        )
        await conn.executemany(
            "INSERT INTO party_day_plans (branch_id, month, planned_on, theme, activity_form, "
            "created_by, created_at, updated_at) VALUES (?, ?, ?, ?, '集中学习', 1, ?, ?)",
            [(*row, now, now) for row in rows["plans"]],
        )
        await conn.executemany(
            "INSERT INTO blocked_chats (chat_id, blocked_at) VALUES (?, ?)",
            [(*row, now) for row in rows["blocked"]],
        )
        await conn.executemany(
            "INSERT OR IGNORE INTO snoozes (branch_id, code, period_start, until) "
            "VALUES (?, ?, ?, ?)",
            rows["snoozes"],
        )
        await conn.executemany(
            "INSERT INTO custom_reminders (branch_id, created_by, text, rule, on_date, weekday, "
            "day_of_month, quarter_month, at_time, paused, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*row, now, now) for row in rows["custom"]],
        )
    await database.close()


async def _full_decision(database: Database, today: date) -> dict[str, tuple[Any, ...]]:
    """Every reminder of today as the sweep decided it for every branch before: every branch
    read in full (Member objects, every record since last year), every obligation worked out,
    by outbox key."""
    facts = await sweep_data.load(database, today)
    snoozed: dict[int, dict[tuple[str, date], date]] = {}
    for (branch_id, code, start), until in facts.snoozes.items():
        snoozed.setdefault(branch_id, {})[(code, start)] = until
    rows = []
    for branch in facts.branches:
        chosen = facts.settings.get(branch.id) or settings.BranchSettings(branch.id)
        roster = facts.roster.get(branch.id, [])
        owed = owed_for(
            branch.profile,
            chosen,
            facts.records.get(branch.id, []),
            today,
            created_on=registered_on(branch.created_at, TZ),
            planned_days=facts.planned.get(branch.id),
            roster=roster,
            talks=facts.talks.get(branch.id, ()),
            party_total=counted_total(member_counts(branch, roster)),
        )
        notices = notices_for(branch.id, owed, chosen, today, snoozed.get(branch.id))
        chats = recipients(chosen, facts.editors.get(branch.id, []), facts.blocked)
        if notices and chats:
            rows += messages_for(branch, notices, chats, moment_for(chosen, today, TZ))
        for reminder in facts.custom.get(branch.id, []):
            rows += custom_messages(branch, reminder, chats, today, TZ)
    return {
        row.key: (row.chat_id, row.text, json.dumps(row.buttons), row.not_before.isoformat())
        for row in rows
    }


async def _outbox(database: Database) -> dict[str, tuple[Any, ...]]:
    found = await database.fetchall("SELECT key, chat_id, text, buttons, not_before FROM outbox")
    return {
        row["key"]: (
            row["chat_id"],
            row["text"],
            json.dumps(json.loads(row["buttons"])),
            datetime.fromisoformat(row["not_before"]).isoformat(),
        )
        for row in found
    }


class _Days:
    """Sweeps day by day and checks the outbox against the full decision of each day."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.expected: dict[str, tuple[Any, ...]] = {}
        self.decided = 0
        self.reminders = 0

    async def sweep(self, today: date) -> int:
        """Sweep today; the outbox holds every reminder decided so far, and no other one.
        Returns how many branches were decided."""
        full = await _full_decision(self.database, today)
        stats = await sweep(self.database, today, TZ)
        self.expected |= full
        found = await _outbox(self.database)
        missing = {key for key in self.expected if key not in found}
        extra = {key for key in found if key not in self.expected}
        assert not missing and not extra, (today, sorted(missing)[:5], sorted(extra)[:5])
        for key, row in full.items():
            assert found[key][:3] == row[:3], (today, key)
        self.decided += stats.branches
        self.reminders += len(full)
        return stats.branches


@pytest.mark.long
async def test_deciding_only_the_branches_due_equals_deciding_every_branch(
    city: Database,
) -> None:
    days = _Days(city)
    for today in AUTUMN + WINTER:
        await days.sweep(today)
    # Reminders of every kind went out, yet most branches were not decided on most days.
    assert days.reminders > 1000
    assert days.decided < BRANCHES * len(AUTUMN + WINTER) / 2, days.decided
    kinds = {key.split(":")[0] for key in days.expected} | {
        key.split(":")[4] for key in days.expected if key.startswith("ob:")
    }
    assert {"ob", "cr", "lead7", "lead2", "overdue", "term1", "month1"} <= kinds, kinds
    assert any(k.startswith("snooze") for k in kinds), kinds


@pytest.mark.long
async def test_a_day_missed_is_caught_up(city: Database) -> None:
    """The bot down for days: the next sweep decides what fell due meanwhile, as the full
    decision does (the reminders of the days missed are not sent)."""
    days = _Days(city)
    for today in (AUTUMN[0], AUTUMN[6], AUTUMN[7], AUTUMN[13], WINTER[3], WINTER[9]):
        await days.sweep(today)


async def _decided_again(days: _Days, branch_id: int, today: date) -> None:
    """The branch is among those the next sweep decides (its facts changed)."""
    undecided = await sweep_data.undecided(days.database, today, RULES)
    assert branch_id in undecided, branch_id
    await days.sweep(today)


@pytest.mark.long
async def test_every_change_has_its_branch_decided_again(city: Database) -> None:
    days = _Days(city)
    first = AUTUMN[0]
    await days.sweep(first)
    skipped = await sweep_data.undecided(city, first + timedelta(days=1), RULES)
    quiet = [b for b in range(1, BRANCHES + 1) if b not in skipped]
    assert len(quiet) > 20
    day = first
    user = 10 * quiet[0]

    # A meeting deleted.
    row = await city.fetchone(
        "SELECT id, branch_id FROM meetings WHERE deleted_at IS NULL AND branch_id IN "
        f"({', '.join(map(str, quiet))}) ORDER BY held_on DESC LIMIT 1"
    )
    assert row is not None
    assert await delete_meeting(city, user_id=user, meeting_id=row["id"])
    await _decided_again(days, row["branch_id"], day)
    # A reminder setting: lead days that fall on the next day.
    day += timedelta(days=1)
    await settings.update_settings(city, user_id=user, branch_id=quiet[1], lead_days=(1, 2, 3))
    await _decided_again(days, quiet[1], day)
    # A roster change: a probationary member whose 转正 is a month after tomorrow.
    day += timedelta(days=1)
    joined = date(2025, 10, 23)  # its 转正 reminder a month before: tomorrow
    await members.add(
        city,
        user_id=user,
        branch_id=quiet[2],
        info=MemberInfo(name="新预备", status="probationary", joined_on=joined),
    )
    await _decided_again(days, quiet[2], day)
    # A custom reminder every day.
    day += timedelta(days=1)
    await custom_reminders.create(
        city,
        user_id=user,
        reminder=CustomReminder(
            id=0, branch_id=quiet[3], text="每日", rule="daily", at_time="10:00", created_by=user
        ),
    )
    await _decided_again(days, quiet[3], day)
    # A snooze until tomorrow.
    day += timedelta(days=1)
    await settings.snooze(city, quiet[4], "party_dues", date(2026, 9, 1), day)
    await _decided_again(days, quiet[4], day)
    # A chat unblocked: its branch's reminders go to it again.
    day += timedelta(days=1)
    blocked = await city.fetchone(
        "SELECT memberships.branch_id, chat_id FROM blocked_chats "
        "JOIN memberships ON memberships.user_id = blocked_chats.chat_id LIMIT 1"
    )
    assert blocked is not None
    async with city.transaction() as conn:
        await conn.execute("DELETE FROM blocked_chats WHERE chat_id = ?", (blocked["chat_id"],))
    await _decided_again(days, blocked["branch_id"], day)
    # A new branch, and a deleted one.
    day += timedelta(days=1)
    branch, _ = await repo.create_branch(
        city, user_id=user, profile=make_profile(), draft_key="new-branch"
    )
    await _decided_again(days, branch.id, day)
    secretary = await city.fetchone(
        "SELECT branch_id, user_id FROM memberships WHERE role = 'secretary' AND branch_id IN "
        f"({', '.join(map(str, quiet[5:]))}) ORDER BY branch_id LIMIT 1"
    )
    assert secretary is not None
    gone = secretary["branch_id"]
    assert await erase.delete_branch(city, user_id=secretary["user_id"], branch_id=gone)
    assert gone not in await sweep_data.undecided(city, day, RULES)
    assert await city.fetchone("SELECT 1 FROM sweep_state WHERE branch_id = ?", (gone,)) is None
    # Its reminders went with it, and only its.
    left = await _outbox(city)
    assert all(key.startswith((f"ob:{gone}:", "cr:")) for key in days.expected.keys() - left)
    days.expected = {key: row for key, row in days.expected.items() if key in left}
    await days.sweep(day + timedelta(days=1))


async def test_a_sweep_cut_short_by_a_failed_write_is_completed_by_the_next(
    city: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next batch is read while one is decided: a write that fails after the first batch
    ends the sweep with the read ahead stopped (no task left behind), and the next sweep of the
    day decides the rest, each reminder once."""
    from db import outbox

    days = _Days(city)
    today = AUTUMN[4]
    full = await _full_decision(city, today)
    enqueue = outbox.enqueue
    calls = 0

    async def failing(db: Database, rows: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("disk full")
        return await enqueue(db, rows)

    # The third batch's read hangs: it is still running when the second batch's write fails.
    changes, reads, never = sweep_data.changes, 0, asyncio.Event()

    async def slow(db: Database, batch: Any) -> dict[int, int]:
        nonlocal reads
        reads += 1
        if reads == 3:
            await never.wait()
        return await changes(db, batch)

    monkeypatch.setattr(outbox, "enqueue", failing)
    monkeypatch.setattr(sweep_data, "changes", slow)
    with pytest.raises(OSError):
        await sweep(city, today, TZ)
    reading = [t for t in asyncio.all_tasks() if t.get_coro().__qualname__ == "_read"]
    assert not reading, "the read ahead was left running on a closed connection"
    first = await _outbox(city)
    assert 0 < len(first) < len(full)
    monkeypatch.setattr(outbox, "enqueue", enqueue)
    monkeypatch.setattr(sweep_data, "changes", changes)
    decided = await days.sweep(today)  # the outbox is exactly the full decision
    assert 0 < decided < BRANCHES  # the first batch is not decided again
    assert len(await _outbox(city)) == len(full)
