"""Storage of the guided conversations' state (bot/forms): one row per user with an open form."""

from __future__ import annotations

from db.database import Database, utcnow


async def load_all(db: Database) -> dict[int, tuple[str, bytes, int]]:
    """Every open conversation: user id -> (form name, state JSON, revision shown)."""
    rows = await db.fetchall("SELECT user_id, form, data, shown FROM form_state")
    return {row["user_id"]: (row["form"], row["data"].encode(), row["shown"]) for row in rows}


async def save(db: Database, user_id: int, form: str, data: bytes, rev: int, shown: int) -> None:
    """Commit a conversation's new state (before its next question is sent)."""
    await db.write(
        "INSERT INTO form_state (user_id, form, data, rev, shown, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET form = excluded.form, "
        "data = excluded.data, rev = excluded.rev, shown = excluded.shown, "
        "updated_at = excluded.updated_at",
        (user_id, form, data.decode(), rev, shown, utcnow()),
    )


async def mark_shown(db: Database, user_id: int, shown: int, *, rev: int | None = None) -> None:
    """Telegram accepted the question of revision `shown` (typed answers may now be taken), or
    with `rev`, note `shown` for the question of that revision."""
    await db.write(
        "UPDATE form_state SET shown = ? WHERE user_id = ? AND rev = ?",
        (shown, user_id, shown if rev is None else rev),
    )


async def delete(db: Database, user_id: int) -> None:
    """Close the user's conversation."""
    await db.write("DELETE FROM form_state WHERE user_id = ?", (user_id,))
