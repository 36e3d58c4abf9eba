"""Storage: migrations, repository functions, audit log and the persistence tables."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.persistence import SQLitePersistence
from db import Database, DatabaseError, repo
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


async def test_persistence_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    db = Database(path)
    await db.open()
    persistence = SQLitePersistence(db)
    await persistence.update_user_data(1, {"draft": {"name": "<b>A&B</b>", "n": 3}})
    await persistence.update_chat_data(-5, {"x": [1, 2]})
    await persistence.update_bot_data({"v": 1})
    await persistence.update_conversation("registration", (1, 1), 2)
    await persistence.update_conversation("registration", (2, 2), 1)
    await persistence.write_pending()
    await persistence.update_conversation("registration", (2, 2), None)
    await persistence.write_pending()
    await db.close()

    db = Database(path)
    await db.open()
    fresh = SQLitePersistence(db)
    assert await fresh.get_user_data() == {1: {"draft": {"name": "<b>A&B</b>", "n": 3}}}
    assert await fresh.get_chat_data() == {-5: {"x": [1, 2]}}
    assert await fresh.get_bot_data() == {"v": 1}
    assert await fresh.get_conversations("registration") == {(1, 1): 2}
    # Unchanged data is not written again.
    await fresh.update_user_data(1, {"draft": {"name": "<b>A&B</b>", "n": 3}})
    assert not fresh._pending
    await fresh.drop_user_data(1)
    await fresh.write_pending()
    assert await fresh.get_user_data() == {}
    await db.close()
