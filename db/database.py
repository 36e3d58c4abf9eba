"""The single aiosqlite connection, its pragmas, transactions and the migration runner."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from db.files import private_file

_LOGGER = logging.getLogger(__name__)
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class DatabaseError(Exception):
    """The database cannot be used (wrong version, unreadable file, ...)."""


def utcnow() -> str:
    """The current time as an ISO-8601 UTC string, the form every timestamp is stored in."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def migrations() -> list[tuple[int, str, str]]:
    """The bundled migrations as (version, file name, SQL), in order."""
    found = []
    for entry in resources.files("db").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise DatabaseError(f"migrations must be numbered 1..n without gaps, got {versions}")
    return found


class Database:
    """One connection for the whole bot; writes that belong together share one transaction."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._open_lock = asyncio.Lock()

    @property
    def is_open(self) -> bool:
        """Whether the connection is open."""
        return self._conn is not None

    @property
    def conn(self) -> aiosqlite.Connection:
        """The open connection."""
        if self._conn is None:
            raise DatabaseError("the database is not open")
        return self._conn

    async def open(self) -> None:
        """Open the file (created owner-only), set the pragmas and apply pending migrations."""
        async with self._open_lock:
            if self._conn is not None:
                return
            try:
                if str(self.path) != ":memory:":
                    # Created owner-only before SQLite sees it: -wal and -shm copy its mode.
                    private_file(self.path, tighten=False)
                conn = await aiosqlite.connect(self.path, isolation_level=None)
            except (OSError, sqlite3.Error) as exc:
                raise DatabaseError(
                    f"无法打开数据库 {self.path}（{exc.__class__.__name__}）："
                    "请检查 [storage] database 的路径和写权限"
                ) from None
            conn.row_factory = aiosqlite.Row
            try:
                await conn.execute("PRAGMA journal_mode=WAL")
                # NORMAL is durable against a crash of the process (kill -9); only a power cut
                # can lose the last commits, and it cannot corrupt the file.
                await conn.execute("PRAGMA synchronous=NORMAL")
                await conn.execute("PRAGMA busy_timeout=5000")
                await conn.execute("PRAGMA foreign_keys=ON")
                self._conn = conn
                await self._migrate()
            except (sqlite3.Error, DatabaseError) as exc:
                await conn.close()
                self._conn = None
                if isinstance(exc, DatabaseError):
                    raise
                raise DatabaseError(f"cannot open database {self.path}: {exc}") from exc

    async def close(self) -> None:
        """Wait for the write in progress, then close the connection."""
        async with self._write_lock:
            if self._conn is not None:
                await self._conn.close()
                self._conn = None

    async def schema_version(self) -> int:
        """The highest migration applied."""
        row = await self.fetchone("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version")
        return int(row["v"]) if row else 0

    async def _migrate(self) -> None:
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        current = await self.schema_version()
        known = migrations()
        if current > len(known):
            raise DatabaseError(
                f"database {self.path} has schema version {current}, newer than this program "
                f"({len(known)}): upgrade the program"
            )
        for version, name, sql in known[current:]:
            _LOGGER.info("Applying migration %s", name)
            # executescript() commits first, so the migration and its version row are wrapped
            # in one explicit transaction of their own.
            await self.conn.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\n"
                f"INSERT INTO schema_version (version, name, applied_at) "
                f"VALUES ({version}, '{name}', '{utcnow()}');\nCOMMIT;"
            )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the block as one transaction: committed at the end, rolled back on error."""
        async with self._write_lock:
            conn = self.conn
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.rollback()
                raise
            else:
                await conn.commit()

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        """One row of a query, or None."""
        async with self.conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> Iterable[aiosqlite.Row]:
        """All rows of a query."""
        async with self.conn.execute(sql, params) as cursor:
            return await cursor.fetchall()
