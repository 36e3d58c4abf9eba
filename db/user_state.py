"""What a user waits on outside the forms (a roster file to confirm, a name to pick): one JSON
row per user and kind, read when its button is tapped."""

from __future__ import annotations

import json
from typing import Any

from db.database import Database, utcnow

ROSTER_IMPORT = "roster_import"
CHECKIN_PICK = "checkin_pick"


async def get(db: Database, user_id: int, name: str) -> dict[str, Any] | None:
    """The user's stored wait of this kind, if any."""
    row = await db.fetchone(
        "SELECT data FROM user_state WHERE user_id = ? AND name = ?", (user_id, name)
    )
    return json.loads(row["data"]) if row else None


async def put(db: Database, user_id: int, name: str, value: dict[str, Any]) -> None:
    """Store (or replace) the user's wait of this kind."""
    data = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    await db.write(
        "INSERT INTO user_state (user_id, name, data, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(user_id, name) DO UPDATE SET data = excluded.data, "
        "updated_at = excluded.updated_at",
        (user_id, name, data, utcnow()),
    )


async def delete(db: Database, user_id: int, name: str) -> bool:
    """Forget the user's wait of this kind; False if there was none (a second tap)."""
    rows = await db.write(
        "DELETE FROM user_state WHERE user_id = ? AND name = ? RETURNING 1", (user_id, name)
    )
    return bool(rows)
