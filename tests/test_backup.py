"""Backups while the bot writes, restore (refusing newer schemas), `check`, sweep catch-up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from bot import jobs
from bot.cli import main
from bot.updates import HEARTBEAT
from db import Database, inbox, repo
from db.backup import backup, keep_latest
from db.database import utcnow
from tests.conftest import SECRETARY, Harness
from tests.factories import make_profile


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """`main` sets up logging on this test's captured stderr: put the handlers back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def branch_names(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM branches ORDER BY id")]


async def test_backup_during_a_burst_of_writes_restores_every_record(
    harness: Harness, tmp_path: Path
) -> None:
    assert harness.app is not None
    database = harness.app.database

    async def write(index: int) -> None:
        await repo.create_branch(
            database,
            user_id=SECRETARY,
            profile=make_profile(name=f"备份测试支部{index}"),
            draft_key=f"backup-{index}",
        )

    await asyncio.gather(*(write(i) for i in range(10)))
    folder = tmp_path / "backups"
    folder.mkdir()
    burst = asyncio.gather(*(write(i) for i in range(10, 40)))
    written = await asyncio.to_thread(backup, harness.config.database_path, folder)
    await burst
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    saved = branch_names(written)
    # One consistent snapshot: the first ten, and a prefix of the burst.
    assert saved[:10] == [f"备份测试支部{i}" for i in range(10)]
    assert saved == [f"备份测试支部{i}" for i in range(len(saved))]
    await harness.stop()

    restored = tmp_path / "restored.sqlite3"
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndatabase = "{restored}"\n', encoding="utf-8")
    assert main(["restore", "--config", str(config), str(written)]) == 0
    bot = Harness(restored)
    await bot.start()
    try:
        assert bot.app is not None
        found = [
            branch.profile.name
            for _, branch in await repo.list_memberships(bot.app.database, SECRETARY)
        ]
        assert sorted(found) == sorted(saved)
    finally:
        await bot.stop()


async def test_restore_refuses_a_backup_from_a_newer_program(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "newer.sqlite3"
    database = Database(source)
    await database.open()
    async with database.transaction() as conn:
        await conn.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (99, 'x', ?)",
            (utcnow(),),
        )
    await database.close()
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndatabase = "{tmp_path / "bot.sqlite3"}"\n', encoding="utf-8")
    assert main(["restore", "--config", str(config), str(source)]) == 2
    assert "比本程序" in capsys.readouterr().err
    assert not (tmp_path / "bot.sqlite3").exists()


def test_only_the_newest_backups_are_kept(tmp_path: Path) -> None:
    for day in range(1, 6):
        (tmp_path / f"bot-2025010{day}-033000.sqlite3").write_bytes(b"")
    removed = keep_latest(tmp_path, 3)
    assert [p.name for p in removed] == [
        "bot-20250101-033000.sqlite3",
        "bot-20250102-033000.sqlite3",
    ]
    assert len(list(tmp_path.glob("bot-*.sqlite3"))) == 3


async def test_check_reports_database_and_heartbeat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bot.sqlite3"
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndatabase = "{path}"\n', encoding="utf-8")
    assert await asyncio.to_thread(main, ["check", "--config", str(config)]) == 1
    assert "数据库" in capsys.readouterr().out
    database = Database(path)
    await database.open()
    assert await asyncio.to_thread(main, ["check", "--config", str(config)]) == 1
    assert "异常 机器人还没有连上过 Telegram" in capsys.readouterr().out
    await inbox.set_state(database, HEARTBEAT, utcnow())
    await database.close()
    assert await asyncio.to_thread(main, ["check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "正常 数据库版本" in out and "异常" not in out


async def test_a_polling_bot_writes_its_heartbeat(harness: Harness) -> None:
    assert harness.app is not None
    await harness.send("/help")
    async with asyncio.timeout(5):
        while await inbox.get_state(harness.app.database, HEARTBEAT) is None:
            await asyncio.sleep(0.01)


async def test_todays_sweep_is_decided_from_the_database(tmp_path: Path) -> None:
    h = Harness(tmp_path / "bot.sqlite3", reminders=True)
    await h.start()
    try:
        assert h.app is not None and h.app.job_queue is not None
        # However late the loop gets to them (a loaded machine), they run; missed runs merge.
        scheduled = h.app.job_queue.jobs()
        assert {job.name for job in scheduled} >= {"sweep", "sweep-catch-up", "delivery"}
        for job in scheduled:
            assert (job.job.misfire_grace_time, job.job.coalesce) == (None, True), job.name
        await h.register()
        async with asyncio.timeout(10):
            while not await jobs.sweep_if_due(h.app) and not await _swept_today(h):
                await asyncio.sleep(0.01)
        # Recorded: the catch-up job does not run it again today.
        assert await jobs.sweep_if_due(h.app) is False
    finally:
        await h.stop()


async def _swept_today(h: Harness) -> bool:
    from datetime import datetime

    from db.settings import last_sweep

    assert h.app is not None
    return await last_sweep(h.app.database) == datetime.now(h.app.config.bot.tzinfo).date()


async def test_the_daily_backup_keeps_the_configured_number(tmp_path: Path) -> None:
    h = Harness(tmp_path / "bot.sqlite3")
    folder = tmp_path / "daily"
    h.config = msgspec.structs.replace(
        h.config,
        storage=msgspec.structs.replace(h.config.storage, backups=2, backup_dir=str(folder)),
    )
    await h.start()
    try:
        assert h.app is not None and h.app.job_queue is not None
        assert h.app.job_queue.get_jobs_by_name("backup")
        folder.mkdir()
        for day in range(1, 4):
            (folder / f"bot-2025010{day}-033000.sqlite3").write_bytes(b"")
        written = await jobs.run_backup(h.app)
        assert sorted(p.name for p in folder.iterdir()) == [
            "bot-20250103-033000.sqlite3",
            written.name,
        ]
        assert integrity_ok(written)
    finally:
        await h.stop()


def integrity_ok(path: Path) -> bool:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return bool(conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")


async def test_the_daily_backup_creates_its_folder_and_never_overwrites_one_file(
    tmp_path: Path,
) -> None:
    # backup_dir did not exist yet: the first backup once became a file named like the folder,
    # and every later one overwrote it.
    h = Harness(tmp_path / "bot.sqlite3")
    folder = tmp_path / "data" / "backups"
    h.config = msgspec.structs.replace(
        h.config, storage=msgspec.structs.replace(h.config.storage, backup_dir=str(folder))
    )
    await h.start()
    try:
        assert h.app is not None
        first = await jobs.run_backup(h.app)
        assert folder.is_dir() and first.parent == folder
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(first.stat().st_mode) == 0o600
        assert integrity_ok(first)
    finally:
        await h.stop()
