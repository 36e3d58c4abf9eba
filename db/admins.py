"""The superior organization's admins: the config's admin_ids, plus users invited as admins."""

from __future__ import annotations

from collections.abc import Iterable

from db.database import Database, utcnow


async def is_admin(db: Database, user_id: int, configured: Iterable[int] = ()) -> bool:
    """Whether the user may see all branches (config admin_ids or an accepted invitation)."""
    if user_id in set(configured):
        return True
    row = await db.fetchone("SELECT 1 FROM admins WHERE user_id = ?", (user_id,))
    return row is not None


async def add(db: Database, user_id: int, invited_by: int | None) -> bool:
    """Make a user an admin; False if they already were."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO admins (user_id, invited_by, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT(user_id) DO NOTHING",
            (user_id, invited_by, utcnow()),
        )
        return cursor.rowcount == 1


async def remove(db: Database, user_id: int) -> bool:
    """Remove an invited admin (config admins stay admins)."""
    async with db.transaction() as conn:
        cursor = await conn.execute("DELETE FROM admins WHERE user_id = ?", (user_id,))
        return cursor.rowcount == 1


async def invited(db: Database) -> list[int]:
    """The invited admins' user ids."""
    return [int(r["user_id"]) for r in await db.fetchall("SELECT user_id FROM admins ORDER BY 1")]
