"""Invitation links and the team's roles: who acts for a branch, and how that changes.

A link carries a random token; only its sha256 is stored, so the database cannot rebuild a link.
A link is single use: the UPDATE that takes it checks that it is still unused inside the same
transaction that adds the membership, so two people racing on one link give one membership.
Every branch has exactly one secretary: roles change here only, each change checks the actor's
role again inside its transaction and is audited there (users by id, never by name).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import aiosqlite
import msgspec

from db.database import Database, utcnow
from db.repo import ensure_user, write_audit

TOKEN_BYTES = 24  # 32 characters: "join_" + token fits Telegram's 64-character start payload
VALID_DAYS = 7
REF_LENGTH = 16  # the hash's first characters name an invitation in buttons
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,59}$")
INVITABLE = ("deputy", "committee", "viewer")
ADMIN = "admin"
ROLE_ORDER = {"secretary": 0, "deputy": 1, "committee": 2, "viewer": 3}


class Invitation(msgspec.Struct, frozen=True):
    """An open (unused, unrevoked, unexpired) invitation."""

    ref: str
    branch_id: int | None
    role: str
    created_by: int
    expires_at: datetime


class TeamMember(msgspec.Struct, frozen=True):
    """One user's role in a branch."""

    user_id: int
    role: str


class JoinResult(msgspec.Struct, frozen=True):
    """What taking a link did: joined / admin / invalid / expired / used / revoked / member /
    already_admin; with the branch, the role (for member: the role the user already has) and
    who made the link."""

    outcome: str
    branch_id: int | None = None
    role: str | None = None
    created_by: int | None = None


def token_hash(token: str) -> str:
    """The stored form of a link's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


async def create(
    db: Database, *, branch_id: int | None, role: str, created_by: int, source_key: str
) -> tuple[str, datetime] | None:
    """Make a link's token for a role (branch_id None: an admin invitation).

    Returns the token (shown once, never stored) and when it expires; None if this tap
    (source_key) already made one, so a repeated tap cannot make a second link.
    """
    if (role == ADMIN) != (branch_id is None) or role not in (*INVITABLE, ADMIN):
        raise ValueError(f"role {role!r} does not fit branch {branch_id!r}")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    hashed = token_hash(token)
    now = datetime.now(UTC)
    expires = now + timedelta(days=VALID_DAYS)
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO invitations (token_hash, branch_id, role, created_by, created_at, "
            "expires_at, source_key) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(source_key) DO NOTHING",
            (hashed, branch_id, role, created_by, _stamp(now),
             _stamp(expires), source_key),
        )  # fmt: skip
        if cursor.rowcount != 1:
            return None
        await write_audit(
            conn,
            user_id=created_by,
            branch_id=branch_id,
            action="invite",
            entity="invitation",
            entity_id=None,
            changes={"role": [None, role], "ref": [None, hashed[:REF_LENGTH]]},
        )
    return token, expires


def _invitation(row: aiosqlite.Row) -> Invitation:
    return Invitation(
        ref=row["token_hash"][:REF_LENGTH],
        branch_id=row["branch_id"],
        role=row["role"],
        created_by=row["created_by"],
        expires_at=datetime.fromisoformat(row["expires_at"]),
    )


async def open_for(db: Database, branch_id: int | None) -> list[Invitation]:
    """The branch's open invitations (None: the admin invitations), newest first."""
    rows = await db.fetchall(
        "SELECT * FROM invitations WHERE branch_id IS ? AND used_at IS NULL "
        "AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC, token_hash",
        (branch_id, _stamp(datetime.now(UTC))),
    )
    return [_invitation(row) for row in rows]


async def revoke(
    db: Database, *, ref: str, branch_id: int | None, user_id: int, roles: Iterable[str]
) -> Invitation | None:
    """Withdraw an open invitation of one of `roles`; None if there is no such open one."""
    if len(ref) != REF_LENGTH or not re.fullmatch(r"[0-9a-f]+", ref):
        return None
    allowed = tuple(roles)
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT * FROM invitations WHERE substr(token_hash, 1, ?) = ? AND branch_id IS ? "
            "AND used_at IS NULL AND revoked_at IS NULL",
            (REF_LENGTH, ref, branch_id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None or row["role"] not in allowed:
            return None
        await conn.execute(
            "UPDATE invitations SET revoked_at = ? WHERE token_hash = ?",
            (utcnow(), row["token_hash"]),
        )
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=branch_id,
            action="revoke",
            entity="invitation",
            entity_id=None,
            changes={"role": [row["role"], None], "ref": [ref, None]},
        )
    return _invitation(row)


async def accept(
    db: Database, token: str, user_id: int, admin_ids: Iterable[int] = ()
) -> JoinResult:
    """Take a link: the user joins its branch with its role (or becomes an admin).

    A user who already belongs to the branch (or is already an admin) keeps what they have and
    the link stays open for the one it was meant for.
    """
    if not TOKEN_PATTERN.match(token):
        return JoinResult("invalid")
    hashed = token_hash(token)
    now = utcnow()
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT * FROM invitations WHERE token_hash = ?", (hashed,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return JoinResult("invalid")
        branch_id, role = row["branch_id"], row["role"]
        base = {"branch_id": branch_id, "created_by": row["created_by"]}
        existing = await _role(conn, user_id, branch_id) if branch_id is not None else None
        if existing is not None:
            return JoinResult("member", role=existing, **base)
        if row["revoked_at"] is not None:
            return JoinResult("revoked", role=role, **base)
        if row["used_at"] is not None:
            return JoinResult("used", role=role, **base)
        if datetime.fromisoformat(row["expires_at"]) <= datetime.now(UTC):
            return JoinResult("expired", role=role, **base)
        if role == ADMIN:
            return await _accept_admin(conn, row, user_id, set(admin_ids), now)
        if not await _take(conn, hashed, user_id, now):
            return JoinResult("used", role=role, **base)
        await ensure_user(conn, user_id)
        await conn.execute(
            "INSERT INTO memberships (user_id, branch_id, role, created_at) VALUES (?, ?, ?, ?)",
            (user_id, branch_id, role, now),
        )
        await conn.execute(
            "UPDATE users SET current_branch_id = ?, updated_at = ? WHERE id = ?",
            (branch_id, now, user_id),
        )
        await write_audit(
            conn,
            user_id=user_id,
            branch_id=branch_id,
            action="join",
            entity="membership",
            entity_id=user_id,
            changes={"role": [None, role], "ref": [None, hashed[:REF_LENGTH]]},
        )
    return JoinResult("joined", role=role, **base)


async def _take(conn: aiosqlite.Connection, hashed: str, user_id: int, now: str) -> bool:
    """Mark the link used; False if someone else took it first."""
    cursor = await conn.execute(
        "UPDATE invitations SET used_by = ?, used_at = ? WHERE token_hash = ? "
        "AND used_by IS NULL AND used_at IS NULL AND revoked_at IS NULL",
        (user_id, now, hashed),
    )
    return cursor.rowcount == 1


async def _accept_admin(
    conn: aiosqlite.Connection, row: aiosqlite.Row, user_id: int, configured: set[int], now: str
) -> JoinResult:
    base = {"role": ADMIN, "created_by": row["created_by"]}
    async with conn.execute("SELECT 1 FROM admins WHERE user_id = ?", (user_id,)) as cursor:
        invited = await cursor.fetchone() is not None
    if invited or user_id in configured:
        return JoinResult("already_admin", **base)
    if not await _take(conn, row["token_hash"], user_id, now):
        return JoinResult("used", **base)
    await conn.execute(
        "INSERT INTO admins (user_id, invited_by, created_at) VALUES (?, ?, ?)",
        (user_id, row["created_by"], now),
    )
    await write_audit(
        conn,
        user_id=user_id,
        branch_id=None,
        action="join",
        entity="admin",
        entity_id=user_id,
        changes={"ref": [None, row["token_hash"][:REF_LENGTH]]},
    )
    return JoinResult("admin", **base)


# -- the team --------------------------------------------------------------------------------


async def team(db: Database, branch_id: int) -> list[TeamMember]:
    """The branch's people: the secretary first, then deputies, committee members, viewers."""
    rows = await db.fetchall(
        "SELECT user_id, role FROM memberships WHERE branch_id = ? "
        "ORDER BY CASE role WHEN 'secretary' THEN 0 WHEN 'deputy' THEN 1 "
        "WHEN 'committee' THEN 2 ELSE 3 END, created_at, user_id",
        (branch_id,),
    )
    return [TeamMember(row["user_id"], row["role"]) for row in rows]


async def _role(conn: aiosqlite.Connection, user_id: int, branch_id: int) -> str | None:
    async with conn.execute(
        "SELECT role FROM memberships WHERE user_id = ? AND branch_id = ?", (user_id, branch_id)
    ) as cursor:
        row = await cursor.fetchone()
    return row["role"] if row else None


async def _audit_role(
    conn: aiosqlite.Connection,
    actor_id: int | None,
    branch_id: int,
    user_id: int,
    old: str | None,
    new: str | None,
    action: str,
) -> None:
    await write_audit(
        conn,
        user_id=actor_id,
        branch_id=branch_id,
        action=action,
        entity="membership",
        entity_id=user_id,
        changes={"role": [old, new]},
    )


async def set_role(
    db: Database, *, actor_id: int, branch_id: int, user_id: int, role: str
) -> str | None:
    """The secretary gives another member a new role (not secretary: that is a hand-over).

    Returns the old role, or None if refused (actor not secretary, target gone or secretary).
    """
    if role not in INVITABLE or actor_id == user_id:
        return None
    async with db.transaction() as conn:
        old = await _role(conn, user_id, branch_id)
        if await _role(conn, actor_id, branch_id) != "secretary" or old in (None, "secretary"):
            return None
        if old != role:
            await conn.execute(
                "UPDATE memberships SET role = ? WHERE user_id = ? AND branch_id = ?",
                (role, user_id, branch_id),
            )
            await _audit_role(conn, actor_id, branch_id, user_id, old, role, "update")
    return old


async def _drop(conn: aiosqlite.Connection, user_id: int, branch_id: int) -> None:
    await conn.execute(
        "DELETE FROM memberships WHERE user_id = ? AND branch_id = ?", (user_id, branch_id)
    )
    await conn.execute(
        "UPDATE users SET current_branch_id = NULL, updated_at = ? "
        "WHERE id = ? AND current_branch_id = ?",
        (utcnow(), user_id, branch_id),
    )


async def remove_member(db: Database, *, actor_id: int, branch_id: int, user_id: int) -> bool:
    """The secretary takes someone else off the team (never the secretary)."""
    async with db.transaction() as conn:
        old = await _role(conn, user_id, branch_id)
        if await _role(conn, actor_id, branch_id) != "secretary" or old in (None, "secretary"):
            return False
        await _drop(conn, user_id, branch_id)
        await _audit_role(conn, actor_id, branch_id, user_id, old, None, "remove")
    return True


async def leave(db: Database, *, user_id: int, branch_id: int) -> str | None:
    """A member leaves the branch; returns their old role. The secretary cannot leave
    (returns "secretary" and changes nothing): they hand over first."""
    async with db.transaction() as conn:
        old = await _role(conn, user_id, branch_id)
        if old is None or old == "secretary":
            return old
        await _drop(conn, user_id, branch_id)
        await _audit_role(conn, user_id, branch_id, user_id, old, None, "leave")
    return old


async def hand_over(db: Database, *, actor_id: int, branch_id: int, user_id: int) -> bool:
    """The secretary makes another member secretary and becomes deputy, in one transaction."""
    if actor_id == user_id:
        return False
    async with db.transaction() as conn:
        old = await _role(conn, user_id, branch_id)
        if await _role(conn, actor_id, branch_id) != "secretary" or old in (None, "secretary"):
            return False
        await conn.execute(
            "UPDATE memberships SET role = 'deputy' WHERE user_id = ? AND branch_id = ?",
            (actor_id, branch_id),
        )
        await conn.execute(
            "UPDATE memberships SET role = 'secretary' WHERE user_id = ? AND branch_id = ?",
            (user_id, branch_id),
        )
        await _audit_role(conn, actor_id, branch_id, actor_id, "secretary", "deputy", "hand_over")
        await _audit_role(conn, actor_id, branch_id, user_id, old, "secretary", "hand_over")
    return True
