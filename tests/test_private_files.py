"""Files at rest are owner-only (0600 files, 0700 folders) whatever the umask, also in folders
that already exist; a start warns when the database or the token's config file is shared."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import exposure_warning
from bot.config import Config, StorageConfig, TelegramConfig
from db.files import database_files, open_private, private_dir, private_file, write_private
from tests.conftest import Harness

TOKEN = "987654:SECRET-TOKEN-FOR-MODES"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def shared_umask() -> Iterator[None]:
    """The usual umask of a shell or a service: files 0644 and folders 0755 unless set."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def shared_folder(path: Path) -> Path:
    """A folder that already exists and that anyone may read, as `git clone` or mkdir leave it."""
    path.mkdir(parents=True)
    path.chmod(0o755)
    return path


async def test_fresh_start_in_an_existing_shared_folder(tmp_path: Path) -> None:
    data = shared_folder(tmp_path / "data")
    harness = Harness(data / "bot.sqlite3")
    await harness.start()
    try:
        # A few writes, so that SQLite has made its -wal and -shm files.
        await harness.register()
        files = database_files(data / "bot.sqlite3")
        assert all(path.exists() for path in files)
        assert {path.name: mode(path) for path in files} == {
            "bot.sqlite3": 0o600,
            "bot.sqlite3-wal": 0o600,
            "bot.sqlite3-shm": 0o600,
        }
        assert mode(data) == 0o700
    finally:
        await harness.stop()


async def test_fresh_start_creates_missing_folders_owner_only(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "srv" / "zhishu" / "bot.sqlite3")
    await harness.start()
    await harness.stop()
    assert mode(tmp_path / "srv") == 0o700
    assert mode(tmp_path / "srv" / "zhishu") == 0o700
    assert mode(tmp_path / "srv" / "zhishu" / "bot.sqlite3") == 0o600


async def test_an_export_written_to_disk_is_owner_only(harness: Harness, tmp_path: Path) -> None:
    """The branch's /archive, saved the way the demo or a deployer's script saves a document."""
    await harness.register(name="第一支部")
    await harness.send("/archive")
    sent = harness.fake.sent_files[-1]
    assert TOKEN not in sent["file_name"] and "EMULATOR" not in sent["file_name"]
    exports = shared_folder(tmp_path / "exports")
    old = exports / sent["file_name"]
    old.write_bytes(b"an older export, made before the bot kept files private")
    assert mode(old) == 0o644
    written = write_private(old, sent["data"])
    assert written.read_bytes() == sent["data"]
    assert mode(written) == 0o600
    assert mode(exports) == 0o700
    # Nothing else is left behind (the temporary file was renamed over the old one).
    assert [path.name for path in exports.iterdir()] == [sent["file_name"]]


def test_open_private_tightens_an_existing_file_and_private_file_can_leave_it(
    tmp_path: Path,
) -> None:
    folder = shared_folder(tmp_path / "backups")
    target = folder / "bot-2026-11-30.sqlite3"
    target.write_text("old")
    with open_private(target, "w") as handle:
        handle.write("新的内容")
    assert target.read_text(encoding="utf-8") == "新的内容"
    assert mode(target) == 0o600
    with open_private(target, "ab") as handle:
        handle.write(b"!")
    assert target.read_text(encoding="utf-8") == "新的内容!"
    with pytest.raises(ValueError, match="writing"):
        open_private(target, "rb").__enter__()
    # The operator's own mode on an existing database is kept (and warned about at start).
    shared = folder / "shared.sqlite3"
    shared.write_bytes(b"")
    assert mode(private_file(shared, tighten=False)) == 0o644
    assert mode(private_file(shared)) == 0o600
    assert mode(private_dir(folder)) == 0o700


def _config(database: Path, token: str = TOKEN) -> Config:
    return Config(
        telegram=TelegramConfig(token=token), storage=StorageConfig(database=str(database))
    )


def test_warning_names_shared_files_and_the_fix(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    database.write_bytes(b"")
    config_file = tmp_path / "config.toml"
    config_file.write_text(f'[telegram]\ntoken = "{TOKEN}"\n', encoding="utf-8")
    assert mode(database) == mode(config_file) == 0o644
    warning = exposure_warning(_config(database), config_file)
    assert warning == (
        f"Other accounts on this machine can read {database} {config_file}, which hold "
        f"members' data or the bot token: run chmod 600 {database} {config_file}"
    )
    # A config file without the token (given by BOT_TOKEN) holds no secret.
    config_file.write_text("[bot]\n", encoding="utf-8")
    assert exposure_warning(_config(database), config_file) == (
        f"Other accounts on this machine can read {database}, which hold members' data or "
        f"the bot token: run chmod 600 {database}"
    )
    database.chmod(0o600)
    config_file.write_text(f'[telegram]\ntoken = "{TOKEN}"\n', encoding="utf-8")
    config_file.chmod(0o600)
    assert exposure_warning(_config(database), config_file) is None
