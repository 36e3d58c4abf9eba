"""The single aiosqlite connection, its pragmas, transactions and the migration runner."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from db.files import private_file

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


# Set while the current task runs inside Database.transaction(): its reads must see its own
# uncommitted writes, so they go to the writer connection instead of the reader.
_IN_TRANSACTION: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "in_transaction", default=False
)
# SQLite result codes (primary, the low byte) that pass when another writer lets go.
_TRANSIENT_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
# ... and those of a failing disk: retried too, they may clear (space freed, device back).
_DISK_CODES = frozenset({sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN})


class DatabaseError(Exception):
    """The database cannot be used (wrong version, unreadable file, ...)."""


class DatabaseUnavailable(DatabaseError):
    """A write could not be done within the patience: the file is locked or the disk fails."""


def is_transient(exc: BaseException) -> bool:
    """Whether a database error may pass by itself (lock held elsewhere, disk I/O, disk full)."""
    if isinstance(exc, DatabaseUnavailable):
        return True
    if not isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _TRANSIENT_CODES | _DISK_CODES
    text = str(exc).lower()
    return any(word in text for word in ("locked", "busy", "disk", "i/o"))


def utcnow() -> str:
    """The current time as an ISO-8601 UTC string, the form every timestamp is stored in."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def among(ids: Iterable[int] | None, column: str = "branch_id") -> tuple[str, tuple[int, ...]]:
    """A WHERE condition keeping the rows of the given branches (all of them for None), and
    its parameters: the sweep reads a few hundred branches at a time, /status one."""
    if ids is None:
        return "1", ()
    found = tuple(sorted(set(ids)))
    return f"{column} IN ({', '.join('?' * len(found))})", found


@functools.cache
def migrations() -> tuple[tuple[int, str, str], ...]:
    """The bundled migrations as (version, file name, SQL), in order (read once: they ship
    with the program)."""
    found = []
    for entry in resources.files("db").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise DatabaseError(f"migrations must be numbered 1..n without gaps, got {versions}")
    return tuple(found)


class Database:
    """One connection for the whole bot; writes that belong together share one transaction."""

    def __init__(
        self,
        path: str | Path,
        *,
        write_patience: float = 60,
        busy_timeout: float = 0.2,
        sleep: Callable[[float], Any] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        # Reads outside a transaction: they see only committed data and never queue behind a
        # write that waits for SQLite's lock. None for an in-memory database (one connection).
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._open_lock = asyncio.Lock()
        # How long a write waits for another process's lock (or a failing disk) before giving
        # up, and the short SQLite-level wait between asyncio-level retries.
        self.write_patience = write_patience
        self.busy_timeout = busy_timeout
        self._sleep = sleep
        self._clock = clock
        # Reads and writes that arrive together go to their thread together (see write()).
        self._reads: _Together | None = None
        self._writes: _Together | None = None

    @property
    def is_open(self) -> bool:
        """Whether the connection is open."""
        return self._conn is not None

    @property
    def conn(self) -> aiosqlite.Connection:
        """The open (writer) connection."""
        if self._conn is None:
            raise DatabaseError("the database is not open")
        return self._conn

    @property
    def reader(self) -> aiosqlite.Connection:
        """The connection for a read: the writer's inside a transaction, else the reader's."""
        if _IN_TRANSACTION.get() or self._reader is None:
            return self.conn
        return self._reader

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
                # One round trip. NORMAL is durable against a crash of the process (kill -9);
                # only a power cut can lose the last commits, and it cannot corrupt the file.
                await conn.executescript(
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}; "
                    "PRAGMA foreign_keys=ON;"
                )
                self._conn = conn
                await self._migrate()
                if str(self.path) != ":memory:":
                    self._reader = await self._open_reader()
            except (sqlite3.Error, DatabaseError) as exc:
                await conn.close()
                self._conn = None
                if isinstance(exc, DatabaseError):
                    raise
                raise DatabaseError(f"cannot open database {self.path}: {exc}") from exc

    async def _open_reader(self) -> aiosqlite.Connection:
        reader = await aiosqlite.connect(self.path, isolation_level=None)
        reader.row_factory = aiosqlite.Row
        # Reads in WAL mode wait for no writer; the timeout covers only a checkpoint's instant.
        await reader.executescript(
            "PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON; PRAGMA query_only=ON;"
        )
        return reader

    @asynccontextmanager
    async def scan(self) -> AsyncIterator[Database]:
        """A read-only view with a connection of its own, for long reads (the sweep's load).

        A scan of seconds on the shared reader would hold up every other read meanwhile.
        """
        if self._reader is None:
            yield self
            return
        view = Database(self.path)
        view._reader = await self._open_reader()
        try:
            yield view
        finally:
            await view._reader.close()

    async def close(self) -> None:
        """Wait for the write in progress, then close the connections."""
        async with self._write_lock:
            if self._reader is not None:
                await self._reader.close()
                self._reader = None
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

    async def _begin(self, conn: aiosqlite.Connection) -> None:
        """BEGIN IMMEDIATE, retried with backoff while another process holds the write lock."""
        await self._patiently(conn, "BEGIN IMMEDIATE")

    async def _patiently(
        self, conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()
    ) -> list[aiosqlite.Row]:
        """A statement that takes the write lock, retried with backoff while another process
        holds it; its rows (a RETURNING clause's)."""
        return await self._patient(lambda: conn.execute_fetchall(sql, params), list)

    async def _patient(
        self, attempt: Callable[[], Awaitable[Any]], result: Callable[[Any], _T]
    ) -> _T:
        """`attempt` (a write), retried with backoff while another process holds the lock or
        the disk fails, for up to `write_patience`; `result` of what it returned.

        SQLite's own busy wait blocks the connection's thread, so it is kept short and the
        waiting is done here, where other tasks' reads go on meanwhile.
        """
        started = self._clock()
        delay = 0.05
        logged = False
        while True:
            try:
                value = result(await attempt())
                if logged:
                    _LOGGER.info("Database writable again after %.1f s", self._clock() - started)
                return value
            except sqlite3.Error as exc:
                if not is_transient(exc):
                    raise
                waited = self._clock() - started
                if waited >= self.write_patience:
                    raise DatabaseUnavailable(
                        f"database {self.path} not writable for {waited:.0f} s: {exc}"
                    ) from exc
                if not logged:
                    _LOGGER.warning("Database busy (%s); retrying for up to %.0f s", exc,
                                    self.write_patience)  # fmt: skip
                    logged = True
            await self._sleep(delay)
            delay = min(delay * 2, 1.0)

    async def write(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        """One statement that is a whole write by itself (SQLite makes it atomic); its rows
        (a RETURNING clause's), once committed.

        Writes that arrive while another is being written go to the thread together and are
        committed in one transaction (a group commit): a hundred users' form steps at once
        take a few trips and commits, not a hundred. A statement that fails is not the others'
        failure: the group is then written one statement at a time.
        """
        if self._writes is None:
            self._writes = _Together(self._write_group)
        return await self._writes.submit((sql, params))

    async def _write_group(self, jobs: list[tuple[str, Sequence[Any]]]) -> list[Outcome]:
        async with self._write_lock:
            conn = self.conn
            if len(jobs) == 1:
                sql, params = jobs[0]
                try:
                    return [(True, await self._patiently(conn, sql, params))]
                except Exception as exc:
                    return [(False, exc)]
            try:
                rows = await self._patient(lambda: in_thread(conn, _commit_all, jobs), list)
                return [(True, found) for found in rows]
            except Exception as exc:
                if is_transient(exc):
                    return [(False, exc)] * len(jobs)
        # One statement refused (a constraint): each of them alone, so only it fails.
        return [(await self._write_group([job]))[0] for job in jobs]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the block as one transaction: committed at the end, rolled back on error."""
        async with self._write_lock:
            conn = self.conn
            await self._begin(conn)
            token = _IN_TRANSACTION.set(True)
            try:
                yield conn
            except BaseException:
                # A failed disk may have rolled back already; the original error is the news.
                try:
                    await conn.rollback()
                except sqlite3.Error as exc:
                    _LOGGER.warning("Rollback failed: %s", exc)
                raise
            else:
                try:
                    await conn.commit()
                except sqlite3.Error:
                    if conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            await conn.rollback()
                    raise
            finally:
                _IN_TRANSACTION.reset(token)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        """The first row of a query (which asks for one), or None."""
        rows = list(await self.fetchall(sql, params))
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> Iterable[aiosqlite.Row]:
        """All rows of a query.

        Reads outside a transaction that arrive together go to the reader's thread in one trip:
        each trip waits for the event loop's thread to hand over the GIL and wakes the loop
        again, and a busy bot paid that for every read.
        """
        if _IN_TRANSACTION.get() or self._reader is None:
            return await self.conn.execute_fetchall(sql, params)
        if self._reads is None:
            self._reads = _Together(self._read_group)
        return await self._reads.submit((sql, params))  # type: ignore[no-any-return]

    async def _read_group(self, jobs: list[tuple[str, Sequence[Any]]]) -> list[Outcome]:
        if self._reader is None:
            raise DatabaseError("the database is not open")
        return await in_thread(self._reader, _read_all, jobs)


# (True, rows) or (False, the exception) of one statement of a group.
Outcome = tuple[bool, Any]


class _Together:
    """Jobs that arrive while a group is on its way are sent as the next group, in order.

    The first job goes at once (a quiet bot waits for nothing); the group's function returns
    one outcome per job, and each job's caller gets its own result or exception.
    """

    def __init__(self, run: Callable[[list[Any]], Awaitable[list[Outcome]]]) -> None:
        self._run = run
        self._waiting: list[tuple[Any, asyncio.Future[Any]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, job: Any) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.append((job, future))
        if self._task is None:
            self._task = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                try:
                    outcomes = await self._run([job for job, _ in group])
                except BaseException as exc:
                    outcomes = [(False, exc)] * len(group)
                    if not isinstance(exc, Exception):
                        _settle(group, outcomes)
                        raise
                _settle(group, outcomes)
        finally:
            self._task = None
            # Cancelled (a shutdown) with jobs still waiting: they fail, none hangs.
            waiting, self._waiting = self._waiting, []
            _settle(waiting, [(False, DatabaseError("the database is closing"))] * len(waiting))


def _settle(group: list[tuple[Any, asyncio.Future[Any]]], outcomes: list[Outcome]) -> None:
    for (_, future), (ok, value) in zip(group, outcomes, strict=True):
        if future.done():  # its caller was cancelled
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


async def in_thread(conn: aiosqlite.Connection, work: Callable[..., _T], *args: Any) -> _T:
    """Run `work(sqlite3_connection, *args)` in the connection's own thread, in one trip.

    aiosqlite runs each of its calls as one such function; it has no public way to run
    several statements in one trip, so its queue (`_execute`) and connection are used here,
    in this one place (aiosqlite is pinned below its next minor version).
    """
    return await conn._execute(lambda: work(conn._conn, *args))  # type: ignore[no-any-return]


def _read_all(raw: sqlite3.Connection, jobs: list[tuple[str, Sequence[Any]]]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for sql, params in jobs:
        try:
            outcomes.append((True, raw.execute(sql, params).fetchall()))
        except Exception as exc:
            outcomes.append((False, exc))
    return outcomes


def _commit_all(
    raw: sqlite3.Connection, jobs: list[tuple[str, Sequence[Any]]]
) -> list[list[sqlite3.Row]]:
    """Every statement in one transaction; nothing of it is kept if one fails."""
    raw.execute("BEGIN IMMEDIATE")
    try:
        rows = [raw.execute(sql, params).fetchall() for sql, params in jobs]
        raw.execute("COMMIT")
    except BaseException:
        if raw.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                raw.execute("ROLLBACK")
        raise
    return rows
