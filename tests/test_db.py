"""Storage: migrations, repository functions, audit log and the users' waiting state."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from db import Database, DatabaseError, repo, user_state
from db.database import migrations
from db.models import BranchProfile

PROFILE = BranchProfile(
    name="测试支部",
    organization_name="测试协会",
    organization_type="social_group",
    formation_mode="standalone",
    formal_members=5,
    probationary_members=0,
    has_committee=False,
    has_party_groups=False,
    party_day=10,
)


@pytest.fixture
async def database(tmp_path: Path) -> Database:
    db = Database(tmp_path / "sub" / "t.sqlite3")
    await db.open()
    yield db
    await db.close()


async def test_migrations_recorded_and_pragmas(database: Database) -> None:
    assert await database.schema_version() == len(migrations())
    row = await database.fetchone("PRAGMA journal_mode")
    assert row is not None and row[0] == "wal"
    row = await database.fetchone("PRAGMA foreign_keys")
    assert row is not None and row[0] == 1


async def test_reopen_applies_nothing_twice(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.sqlite3")
    await db.open()
    await db.close()
    await db.open()
    rows = list(await db.fetchall("SELECT version FROM schema_version"))
    assert [r[0] for r in rows] == list(range(1, len(migrations()) + 1))
    await db.close()


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    db = Database(path)
    await db.open()
    await db.close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (999, 'future', 'x')")
    with pytest.raises(DatabaseError, match="newer"):
        await Database(path).open()


async def test_create_branch_is_idempotent_and_audited(database: Database) -> None:
    branch, created = await repo.create_branch(
        database, user_id=7, profile=PROFILE, draft_key="k1"
    )
    again, created_again = await repo.create_branch(
        database, user_id=7, profile=PROFILE, draft_key="k1"
    )
    assert created and not created_again
    assert again.id == branch.id
    membership = await repo.get_membership(database, 7, branch.id)
    assert membership is not None and membership.role == "secretary"
    entries = await repo.audit_entries(database, branch.id)
    assert [(e.action, e.entity, e.user_id) for e in entries] == [("create", "branch", 7)]


async def test_update_records_old_and_new(database: Database) -> None:
    branch, _ = await repo.create_branch(database, user_id=7, profile=PROFILE, draft_key="k")
    updated = await repo.update_branch(
        database, user_id=7, branch_id=branch.id, changes={"formal_members": 8}
    )
    assert updated is not None and updated.profile.formal_members == 8
    latest = (await repo.audit_entries(database, branch.id))[0]
    assert latest.action == "update"
    assert latest.changes == {"formal_members": [5, 8]}
    with pytest.raises(ValueError):
        await repo.update_branch(database, user_id=7, branch_id=branch.id, changes={"x": 1})


async def test_failed_transaction_leaves_nothing(database: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with database.transaction() as conn:
            await conn.execute(
                "INSERT INTO users (id, created_at, updated_at) VALUES (1, 'a', 'a')"
            )
            await conn.execute(
                "INSERT INTO memberships (user_id, branch_id, role, created_at) "
                "VALUES (1, 999, 'secretary', 'a')"
            )
    assert await repo.get_user(database, 1) is None


async def test_switching_needs_membership(database: Database) -> None:
    first, _ = await repo.create_branch(database, user_id=7, profile=PROFILE, draft_key="a")
    second, _ = await repo.create_branch(database, user_id=7, profile=PROFILE, draft_key="b")
    other, _ = await repo.create_branch(database, user_id=8, profile=PROFILE, draft_key="c")
    current = await repo.current_membership(database, 7)
    assert current is not None and current[1].id == second.id
    assert await repo.set_current_branch(database, 7, first.id)
    current = await repo.current_membership(database, 7)
    assert current is not None and current[1].id == first.id
    assert not await repo.set_current_branch(database, 7, other.id)
    assert len(await repo.list_memberships(database, 7)) == 2


async def test_roles(database: Database) -> None:
    branch, _ = await repo.create_branch(database, user_id=7, profile=PROFILE, draft_key="a")
    viewer = await repo.add_membership(
        database, actor_id=7, user_id=9, branch_id=branch.id, role="viewer"
    )
    assert not viewer.can_edit
    with pytest.raises(ValueError):
        await repo.add_membership(
            database, actor_id=7, user_id=9, branch_id=branch.id, role="king"
        )


async def test_user_state_round_trip_and_forgetting(database: Database) -> None:
    value = {"branch_id": 3, "file_id": "F<b>&", "file_name": "名单.xlsx"}
    await user_state.put(database, 1, user_state.ROSTER_IMPORT, value)
    await user_state.put(database, 1, user_state.CHECKIN_PICK, {"id": 5, "branch_id": 4})
    assert await user_state.get(database, 1, user_state.ROSTER_IMPORT) == value
    assert await user_state.get(database, 2, user_state.ROSTER_IMPORT) is None
    # Replaced, not doubled.
    await user_state.put(database, 1, user_state.CHECKIN_PICK, {"id": 6, "branch_id": 4})
    assert await user_state.get(database, 1, user_state.CHECKIN_PICK) == {"id": 6, "branch_id": 4}
    assert await user_state.delete(database, 1, user_state.ROSTER_IMPORT)
    assert not await user_state.delete(database, 1, user_state.ROSTER_IMPORT)
    assert await user_state.get(database, 1, user_state.ROSTER_IMPORT) is None
    assert await user_state.get(database, 1, user_state.CHECKIN_PICK) == {"id": 6, "branch_id": 4}


async def test_the_old_persistence_hands_its_waits_over_and_is_emptied(tmp_path: Path) -> None:
    # A file of the last build that had python-telegram-bot's persistence.
    path = tmp_path / "old.sqlite3"
    known = migrations()
    ours = next(i for i, (_, name, _) in enumerate(known) if name.endswith("_persist.sql"))
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at TEXT NOT NULL)"
    )
    for version, name, sql in known[:ours]:
        conn.executescript(sql)
        conn.execute("INSERT INTO schema_version VALUES (?, ?, 'x')", (version, name))
    pick = '{"checkin_pick":{"id":9,"intent":"lv"},"flow":null}'
    roster = '{"roster_import":{"branch_id":2,"file_id":"F","file_name":"a.xlsx"}}'
    conn.executemany(
        "INSERT INTO ptb_user_data VALUES (?, ?)", [(1, pick), (2, roster), (3, '{"flow":"x"}')]
    )
    conn.execute("INSERT INTO ptb_conversations VALUES ('registration', '[3,3]', '1')")
    conn.commit()
    conn.close()
    db = Database(path)
    await db.open()
    assert await user_state.get(db, 1, user_state.CHECKIN_PICK) == {"id": 9, "intent": "lv"}
    assert await user_state.get(db, 2, user_state.ROSTER_IMPORT) == {
        "branch_id": 2,
        "file_id": "F",
        "file_name": "a.xlsx",
    }
    rows = await db.fetchall("SELECT user_id, name FROM user_state ORDER BY user_id")
    assert [tuple(row) for row in rows] == [(1, "checkin_pick"), (2, "roster_import")]
    for table in ("ptb_user_data", "ptb_chat_data", "ptb_bot_data", "ptb_conversations"):
        assert await db.fetchall(f"SELECT * FROM {table}") == []
    await db.close()


def _count_trips(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many statements each grouped trip to a connection's thread carried."""
    from db import database as module

    trips: list[int] = []
    real = module.in_thread

    async def counted(conn: object, work: object, jobs: list[object]) -> object:
        trips.append(len(jobs))
        return await real(conn, work, jobs)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "in_thread", counted)
    return trips


_INSERT_USER = "INSERT INTO users (id, created_at, updated_at) VALUES (?, 'a', 'a') RETURNING id"


async def test_writes_that_arrive_together_are_committed_together_and_fail_alone(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    await database.write(_INSERT_USER, (5,))
    trips = _count_trips(monkeypatch)
    # Twelve at once go as one group, in which user 5 exists already: the group is then
    # written one statement at a time, so only that statement fails.
    results = await asyncio.gather(
        *(database.write(_INSERT_USER, (i,)) for i in range(1, 13)), return_exceptions=True
    )
    assert trips == [12]
    assert isinstance(results[4], sqlite3.IntegrityError)
    assert [r[0][0] for i, r in enumerate(results) if i != 4] == [  # type: ignore[index]
        i for i in range(1, 13) if i != 5
    ]
    rows = await database.fetchall("SELECT id FROM users ORDER BY id")
    assert [row["id"] for row in rows] == list(range(1, 13))


async def test_reads_that_arrive_together_take_one_trip_and_fail_alone(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    for i in (1, 2, 3):
        await database.write(_INSERT_USER, (i,))
    trips = _count_trips(monkeypatch)
    queries = [("SELECT id FROM users WHERE id = ?", (i,)) for i in (1, 2, 3)]
    queries.insert(1, ("SELECT nothing FROM nowhere", ()))
    first = asyncio.ensure_future(database.fetchall(*queries[0]))
    for _ in range(3):  # the first is on its way to the thread
        await asyncio.sleep(0)
    results = [await first] + await asyncio.gather(
        *(database.fetchall(sql, params) for sql, params in queries[1:]), return_exceptions=True
    )
    assert trips == [1, 3], "the first at once, the three that came meanwhile in one trip"
    assert isinstance(results[1], sqlite3.OperationalError)
    assert [[row["id"] for row in results[i]] for i in (0, 2, 3)] == [[1], [2], [3]]  # type: ignore[union-attr]


async def test_a_group_of_writes_waits_out_an_outside_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    slept: list[float] = []
    outside = sqlite3.connect(tmp_path / "t.sqlite3", isolation_level=None)

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 3:
            outside.execute("COMMIT")  # the other process lets go
        await asyncio.sleep(0)

    database = Database(tmp_path / "t.sqlite3", sleep=sleep, busy_timeout=0.01)
    await database.open()
    try:
        outside.execute("BEGIN IMMEDIATE")
        first = asyncio.ensure_future(database.write(_INSERT_USER, (1,)))
        await asyncio.sleep(0)
        together = [asyncio.ensure_future(database.write(_INSERT_USER, (i,))) for i in (2, 3)]
        await asyncio.gather(first, *together)
        rows = await database.fetchall("SELECT id FROM users ORDER BY id")
        assert [row["id"] for row in rows] == [1, 2, 3]
        assert len(slept) >= 3
    finally:
        outside.close()
        await database.close()


async def test_a_caller_that_gives_up_does_not_stop_the_group(database: Database) -> None:
    import asyncio

    first = asyncio.ensure_future(database.write(_INSERT_USER, (1,)))
    await asyncio.sleep(0)
    gone = asyncio.ensure_future(database.write(_INSERT_USER, (2,)))
    kept = asyncio.ensure_future(database.write(_INSERT_USER, (3,)))
    await asyncio.sleep(0)
    gone.cancel()
    await first
    assert (await kept)[0][0] == 3
    rows = await database.fetchall("SELECT id FROM users ORDER BY id")
    # A cancelled caller's statement may still be written: it was on its way (as with a
    # statement whose answer was lost); what matters is that the others are not held up.
    assert {row["id"] for row in rows} >= {1, 3}
