"""Repository functions for users, branches, memberships and the audit log."""

from __future__ import annotations

import json
from typing import Any

import aiosqlite
from msgspec.structs import asdict

from db.database import Database, utcnow
from db.models import ROLES, AuditEntry, Branch, BranchProfile, Membership, User

PROFILE_FIELDS = BranchProfile.__struct_fields__
_BOOL_FIELDS = frozenset({"has_committee", "has_party_groups"})


def branch_from_row(row: aiosqlite.Row) -> Branch:
    values = {name: row[name] for name in PROFILE_FIELDS}
    for name in _BOOL_FIELDS:
        values[name] = bool(values[name])
    return Branch(
        id=row["id"],
        profile=BranchProfile(**values),
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        roster_complete=bool(row["roster_complete"]),
    )


async def write_audit(
    conn: aiosqlite.Connection,
    *,
    user_id: int | None,
    branch_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    changes: dict[str, list[Any]],
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (at, user_id, branch_id, action, entity, entity_id, changes) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (utcnow(), user_id, branch_id, action, entity, entity_id, json.dumps(changes)),
    )


async def ensure_user(conn: aiosqlite.Connection, user_id: int) -> None:
    now = utcnow()
    await conn.execute(
        "INSERT INTO users (id, current_branch_id, created_at, updated_at) VALUES (?, NULL, ?, ?) "
        "ON CONFLICT(id) DO NOTHING",
        (user_id, now, now),
    )


async def get_user(db: Database, user_id: int) -> User | None:
    """The user, or None if they never registered anything."""
    row = await db.fetchone(
        "SELECT id, current_branch_id, created_at FROM users WHERE id = ?", (user_id,)
    )
    return User(row["id"], row["current_branch_id"], row["created_at"]) if row else None


async def create_branch(
    db: Database, *, user_id: int, profile: BranchProfile, draft_key: str
) -> tuple[Branch, bool]:
    """Create a branch with its creator as secretary; a repeated draft returns the first one.

    Returns the branch and whether it was created now.
    """
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT * FROM branches WHERE draft_key = ?", (draft_key,)
        ) as cursor:
            existing = await cursor.fetchone()
        if existing:
            return branch_from_row(existing), False
        await ensure_user(conn, user_id)
        now = utcnow()
        values = asdict(profile)
        cursor = await conn.execute(
            f"INSERT INTO branches ({', '.join(PROFILE_FIELDS)}, created_by, draft_key, "
            f"created_at, updated_at) VALUES ({', '.join('?' * len(PROFILE_FIELDS))}, ?, ?, ?, ?)",
            (*(values[name] for name in PROFILE_FIELDS), user_id, draft_key, now, now),
        )
        branch_id = cursor.lastrowid
        await conn.execute(
            "INSERT INTO memberships (user_id, branch_id, role, created_at) "
            "VALUES (?, ?, 'secretary', ?)",
            (user_id, branch_id, now),
        )
        await conn.execute(
            "UPDATE users SET current_branch_id = ?, updated_at = ? WHERE id = ?",
            (branch_id, now, user_id),
        )
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=branch_id,
            action="create",
            entity="branch",
            entity_id=branch_id,
            changes={name: [None, values[name]] for name in PROFILE_FIELDS},
        )
        async with conn.execute("SELECT * FROM branches WHERE id = ?", (branch_id,)) as cursor:
            row = await cursor.fetchone()
    assert row is not None
    return branch_from_row(row), True


async def get_branch(db: Database, branch_id: int) -> Branch | None:
    """The branch, or None."""
    row = await db.fetchone("SELECT * FROM branches WHERE id = ?", (branch_id,))
    return branch_from_row(row) if row else None


async def update_branch(
    db: Database, *, user_id: int, branch_id: int, changes: dict[str, Any]
) -> Branch | None:
    """Change profile fields of a branch, recording old and new values in the audit log."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    async with db.transaction() as conn:
        async with conn.execute("SELECT * FROM branches WHERE id = ?", (branch_id,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        old = asdict(branch_from_row(row).profile)
        diff = {k: [old[k], v] for k, v in changes.items() if old[k] != v}
        if diff:
            assignments = ", ".join(f"{name} = ?" for name in diff)
            await conn.execute(
                f"UPDATE branches SET {assignments}, updated_at = ? WHERE id = ?",
                (*(new for _, new in diff.values()), utcnow(), branch_id),
            )
            await write_audit(
                conn,
                user_id=user_id,
                branch_id=branch_id,
                action="update",
                entity="branch",
                entity_id=branch_id,
                changes=diff,
            )
        async with conn.execute("SELECT * FROM branches WHERE id = ?", (branch_id,)) as cursor:
            row = await cursor.fetchone()
    return branch_from_row(row) if row else None


async def get_membership(db: Database, user_id: int, branch_id: int) -> Membership | None:
    """The user's role in that branch, or None if they do not belong to it."""
    row = await db.fetchone(
        "SELECT user_id, branch_id, role FROM memberships WHERE user_id = ? AND branch_id = ?",
        (user_id, branch_id),
    )
    return Membership(row["user_id"], row["branch_id"], row["role"]) if row else None


async def membership_with_branch(
    db: Database, user_id: int, branch_id: int
) -> tuple[Membership, Branch] | None:
    """The user's role in that branch and the branch, in one read (every step of a form checks
    them), or None if they do not belong to it."""
    row = await db.fetchone(
        "SELECT m.role AS role, b.* FROM memberships m JOIN branches b ON b.id = m.branch_id "
        "WHERE m.user_id = ? AND m.branch_id = ?",
        (user_id, branch_id),
    )
    if row is None:
        return None
    return Membership(user_id, branch_id, row["role"]), branch_from_row(row)


async def list_memberships(db: Database, user_id: int) -> list[tuple[Membership, Branch]]:
    """Every branch the user belongs to, with their role, oldest first."""
    rows = await db.fetchall(
        "SELECT m.role AS role, b.* FROM memberships m JOIN branches b ON b.id = m.branch_id "
        "WHERE m.user_id = ? ORDER BY b.id",
        (user_id,),
    )
    return [(Membership(user_id, row["id"], row["role"]), branch_from_row(row)) for row in rows]


async def add_membership(
    db: Database, *, actor_id: int, user_id: int, branch_id: int, role: str
) -> Membership:
    """Give a user a role in a branch (replacing any role they had there)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    async with db.transaction() as conn:
        await ensure_user(conn, user_id)
        async with conn.execute(
            "SELECT role FROM memberships WHERE user_id = ? AND branch_id = ?",
            (user_id, branch_id),
        ) as cursor:
            old = await cursor.fetchone()
        await conn.execute(
            "INSERT INTO memberships (user_id, branch_id, role, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(user_id, branch_id) DO UPDATE SET role = excluded.role",
            (user_id, branch_id, role, utcnow()),
        )
        await write_audit(
            conn,
            user_id=actor_id,
            branch_id=branch_id,
            action="update" if old else "create",
            entity="membership",
            entity_id=user_id,
            changes={"role": [old["role"] if old else None, role]},
        )
    return Membership(user_id, branch_id, role)


async def set_current_branch(db: Database, user_id: int, branch_id: int) -> bool:
    """Make a branch the user's current one; refused unless they belong to it."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT 1 FROM memberships WHERE user_id = ? AND branch_id = ?",
            (user_id, branch_id),
        ) as cursor:
            if await cursor.fetchone() is None:
                return False
        await conn.execute(
            "UPDATE users SET current_branch_id = ?, updated_at = ? WHERE id = ?",
            (branch_id, utcnow(), user_id),
        )
    return True


async def current_membership(db: Database, user_id: int) -> tuple[Membership, Branch] | None:
    """The user's current branch and role; falls back to their first branch."""
    row = await db.fetchone(
        "SELECT m.role AS role, b.* FROM users u "
        "JOIN memberships m ON m.user_id = u.id "
        "JOIN branches b ON b.id = m.branch_id "
        "WHERE u.id = ? ORDER BY (b.id = u.current_branch_id) DESC, b.id LIMIT 1",
        (user_id,),
    )
    if row is None:
        return None
    return Membership(user_id, row["id"], row["role"]), branch_from_row(row)


async def audit_entries(db: Database, branch_id: int, limit: int = 50) -> list[AuditEntry]:
    """The newest changes recorded for a branch."""
    rows = await db.fetchall(
        "SELECT * FROM audit_log WHERE branch_id = ? ORDER BY id DESC LIMIT ?", (branch_id, limit)
    )
    return [
        AuditEntry(
            id=row["id"],
            at=row["at"],
            user_id=row["user_id"],
            branch_id=row["branch_id"],
            action=row["action"],
            entity=row["entity"],
            entity_id=row["entity_id"],
            changes=json.loads(row["changes"]),
        )
        for row in rows
    ]
