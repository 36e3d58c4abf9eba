"""The screens about one branch read only that branch: every statement they run on a generated
city (a few branches, two years of what a real branch keeps) is checked with EXPLAIN QUERY
PLAN, and none may scan a table that grows with the number of branches."""

from __future__ import annotations

import re
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest

from benchmarks import datagen
from bot.reminders import sweep
from db import sweep_data
from tests.conftest import Harness

# Tables whose size does not grow with the branches (or that the bot reads whole by design).
SMALL = frozenset({"schema_version", "sweep_runs", "runtime_state", "admins", "notices"})
# Columns shared by many branches' rows: an index search on these alone reads them all.
COMMON = frozenset({"state", "kind", "role", "done_at", "handled_at", "closed_at", "held_on",
                    "not_before", "expires_at", "created_at", "at", "period_start", "month",
                    "planned_on", "until", "deleted_at"})  # fmt: skip
SEARCHED = re.compile(r"^SEARCH (\w+) USING .*INDEX \w+ \((.*)\)$")
BRANCH = 3
SECRETARY = 10 * BRANCH  # the generator's numbering: user 10·b is branch b's secretary
GROUP = -1_000_000_000_000 - BRANCH  # ... and its bound group


def _wide(detail: str) -> bool:
    """Whether a plan line reads a whole table, or an index by columns many branches share."""
    words = detail.split()
    # A virtual table is json_each() over one row's column, not a stored table.
    if words[0] == "SCAN":
        return words[1] not in SMALL | {"CONSTANT"} and "VIRTUAL TABLE" not in detail
    searched = SEARCHED.match(detail)
    if searched is None or searched.group(1) in SMALL:
        return False
    columns = {term.split("=")[0].split(">")[0].split("<")[0].strip()
               for term in searched.group(2).split(" AND ")}  # fmt: skip
    return columns <= COMMON


def _scans(database: Path, statements: list[str]) -> list[tuple[str, str]]:
    """(statement, plan line) of each read that grows with the other branches' rows."""
    found = []
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        for sql in statements:
            verb = sql.lstrip().split(None, 1)[0].upper()
            if verb not in {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "REPLACE"}:
                continue
            for *_, detail in conn.execute(f"EXPLAIN QUERY PLAN {sql}"):
                if _wide(detail):
                    found.append((sql, detail))
    finally:
        conn.close()
    return found


@pytest.fixture
async def city(tmp_path: Path) -> Harness:
    """The bot on a generated database of six branches, the secretary of branch 3 at hand."""
    scale = datagen.Scale("plans", branches=6, years=2)
    database = datagen.ensure(scale, folder=tmp_path / "bench", end=date.today())
    h = Harness(database)
    h.fake.add_user(SECRETARY, first_name="书记")
    h.fake.add_group(GROUP, "第3党支部群")
    h.fake.set_member(GROUP, SECRETARY, "member")
    await h.start()
    yield h
    if h.app is not None:
        await h.stop()


async def _traced(h: Harness) -> list[str]:
    """Every statement either connection of the bot runs from now on."""
    assert h.app is not None
    statements: list[str] = []
    database = h.app.database
    await database.conn.set_trace_callback(statements.append)
    await database.reader.set_trace_callback(statements.append)
    return statements


async def test_one_branch_screens_scan_no_big_table(city: Harness) -> None:
    statements = await _traced(city)
    assert "党支部" in (await city.send("/status", user=SECRETARY))[-1]
    assert "党支部" in (await city.send("/status", user=SECRETARY, chat_id=GROUP))[-1]
    assert "共" in (await city.send("/history", user=SECRETARY))[-1]
    await city.tap(1, user=SECRETARY)
    assert "主题党日" in (await city.send("/partyday", user=SECRETARY))[-1]
    await city.send("/log", user=SECRETARY)
    await city.tap("党员大会", user=SECRETARY)
    replies = await city.tap("今天", user=SECRETARY)
    assert "地点" in replies[-1]
    await city.send("/cancel", user=SECRETARY)
    await city.send("/export", user=SECRETARY)
    await city.tap(0, user=SECRETARY)
    assert city.fake.last_bot_message(SECRETARY)["document"]
    assert "🔎" in (await city.send("/find 学习 会", user=SECRETARY))[-1]
    await city.send("/report", user=SECRETARY)
    assert city.fake.last_bot_message(SECRETARY)["document"]
    assert "党费收缴" in (await city.send("/dues", user=SECRETARY))[-1]
    assert city.app is not None
    today = datetime.now(city.config.bot.tzinfo).date()
    facts = await sweep_data.load(city.app.database, today, branch_ids=[BRANCH])
    assert [b.id for b in facts.branches] == [BRANCH]
    read = " ".join(statements)
    for table in ("meetings", "members", "obligation_marks", "party_day_plans", "memberships",
                  "selfchecks", "makeups", "dues_rates", "dues_payments"):  # fmt: skip
        assert f"FROM {table}" in read or f"JOIN {table}" in read, table
    assert _scans(Path(city.config.storage.database), statements) == []


async def test_one_branch_reads_what_the_whole_sweep_reads_of_it(city: Harness) -> None:
    assert city.app is not None
    database = city.app.database
    today = datetime.now(city.config.bot.tzinfo).date()
    every = await sweep_data.load(database, today)
    for branch_id in (1, BRANCH, 6):
        one = await sweep_data.load(database, today, branch_ids=[branch_id])
        assert one.branches == [b for b in every.branches if b.id == branch_id]
        for name in ("settings", "planned", "editors", "custom", "roster"):
            whole = getattr(every, name)
            assert getattr(one, name) == _only(whole, branch_id), name
        # Records come in index order for one branch, in table order for all: the same set.
        for name in ("records", "talks"):
            whole = {k: sorted(v) for k, v in getattr(every, name).items()}
            assert {k: sorted(v) for k, v in getattr(one, name).items()} == _only(whole, branch_id)
        assert one.snoozes == {k: v for k, v in every.snoozes.items() if k[0] == branch_id}
        assert one.blocked == every.blocked & _chats(one, branch_id)
    # The generator gives every hundredth branch's last role a blocked chat: none here, so a
    # blocked chat of branch 3 is added to see it found.
    async with database.transaction() as conn:
        await conn.execute("INSERT INTO blocked_chats (chat_id, blocked_at) VALUES (?, 'x')",
                           (SECRETARY,))  # fmt: skip
    one = await sweep_data.load(database, today, branch_ids=[BRANCH])
    assert one.blocked == {SECRETARY}
    stats = await sweep(database, today, city.config.bot.tzinfo, branch_ids=[BRANCH])
    assert stats.branches == 1


def _only(whole: dict, branch_id: int) -> dict:
    return {branch_id: whole[branch_id]} if branch_id in whole else {}


def _chats(facts: sweep_data.SweepFacts, branch_id: int) -> frozenset[int]:
    settings = facts.settings.get(branch_id)
    group = {settings.group_chat_id} if settings and settings.group_chat_id else set()
    return frozenset(facts.editors.get(branch_id, [])) | group
