"""Bulk loading of generated rows into a fresh database file (benchmarks' city and province).

Not for the bot's own writes: it skips the audit log, the one shared connection and the journal,
which is right only for a file nobody else has open and that is thrown away if loading fails.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from db.database import Database

# table name -> (column names, rows in that column order)
Batch = dict[str, tuple[Sequence[str], list[tuple[Any, ...]]]]


def create(path: Path) -> None:
    """A new database file with every migration applied (the bot's own runner does it)."""

    async def migrate() -> None:
        database = Database(path)
        await database.open()
        await database.close()

    asyncio.run(migrate())


def load(path: Path, batches: Iterable[Batch]) -> dict[str, int]:
    """Insert every batch (executemany per table) in one transaction; rows per table.

    The journal is off while loading (a failed load leaves a file the caller throws away) and
    WAL is set again at the end, as the bot expects to find it.
    """
    counts: dict[str, int] = {}
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        # Rows are inserted parents first within a batch; checking each reference would only
        # cost time for what the generator already guarantees.
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        conn.execute("BEGIN")
        for batch in batches:
            for table, (columns, rows) in batch.items():
                if not rows:
                    continue
                marks = ", ".join("?" * len(columns))
                conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
                )
                counts[table] = counts.get(table, 0) + len(rows)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    return counts


def table_sizes(path: Path) -> dict[str, int]:
    """Rows per table of a database file (for the benchmarks' report)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {name: conn.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0] for name in names}
    finally:
        conn.close()
