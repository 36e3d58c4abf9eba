"""Backups with SQLite's online backup API (consistent while the bot writes) and restores."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from db.database import DatabaseError, migrations
from db.files import private_dir

BACKUP_GLOB = "bot-*.sqlite3"


def _private_file(path: Path) -> None:
    """Create an empty file only its owner can read: a backup holds the members' names."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    os.chmod(path, 0o600)


def _copy(source: Path, target: Path) -> None:
    with contextlib.closing(sqlite3.connect(source)) as src:
        src.execute("PRAGMA busy_timeout=10000")
        with contextlib.closing(sqlite3.connect(target)) as dst:
            # All pages in one step, one read snapshot: the bot's writes go on meanwhile (WAL).
            # In steps, every write of the bot started the copy over: a city's file (1.5 GB,
            # 17 s to copy) never finished with one write a second.
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")


def backup(database: Path, target: Path, *, folder: bool = False) -> Path:
    """Copy the live database to `target`: a file, or a dated file inside it when it is a
    folder (`folder`: always a folder, created owner-only if missing, as backup_dir is)."""
    if not database.exists():
        raise DatabaseError(f"找不到数据库 {database}：请检查 [storage] database")
    if folder:
        private_dir(target)
    if folder or target.is_dir():
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        target = target / f"bot-{stamp}.sqlite3"
    partial = target.with_name(target.name + ".part")
    _private_file(partial)
    try:
        _copy(database, partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def keep_latest(folder: Path, count: int) -> list[Path]:
    """Delete all but the newest `count` backups in the folder; returns the deleted ones."""
    found = sorted(folder.glob(BACKUP_GLOB))
    doomed = found[: max(len(found) - count, 0)]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def schema_version_of(path: Path) -> int:
    """The schema version stored in a database file (refusing a file that is not one)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise DatabaseError(f"{path} 已损坏（integrity_check 未通过）")
            row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"{path} 不是本机器人的数据库（{exc}）") from None
    return int(row[0])


def restore(source: Path, database: Path) -> int:
    """Replace the database with a backup (the bot must be stopped); returns its version.

    A backup from a newer program is refused: this program would not understand its tables.
    An older one is upgraded by the migrations when the bot next starts.
    """
    if not source.is_file():
        raise DatabaseError(f"找不到备份文件 {source}")
    version = schema_version_of(source)
    known = len(migrations())
    if version > known:
        raise DatabaseError(
            f"备份 {source} 的数据库版本是 {version}，比本程序（{known}）新：请先升级程序再恢复"
        )
    if not database.exists():
        _private_file(database)
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(database)) as dst,
    ):
        src.backup(dst)
    return version
