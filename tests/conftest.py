"""The end-to-end harness: the real Application, polling the in-process Telegram emulator."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot import flood
from bot.app import OFFLINE_TOKEN, build_application, post_init
from bot.application import BotApplication
from bot.config import BotConfig, Config, StorageConfig, TelegramConfig
from bot.emulator.clock import ManualClock
from bot.emulator.core import FakeTelegram
from bot.emulator.html import parse_html
from bot.emulator.request import EmulatorRequest
from bot.pacing import Pacing
from db import Database, inbox, repo
from db.models import Branch
from db.settings import last_sweep
from tests.factories import make_profile

SECRETARY = 1001
OTHER = 2002
# Telegram's limits as in production, on a clock that runs 20 times faster: a 4-second card edit
# interval takes 0.2 s, a 429's "retry after 1" 0.05 s. The emulator's flood limits count on it.
FAST = Pacing(speed=20)
# The loggers bot.cli.setup_logging sets a level on.
QUIETED = ("httpx", "httpcore", "apscheduler", "telegram", "aiosqlite")


def pytest_configure(config: pytest.Config) -> None:
    """Test databases on tmpfs (/dev/shm) when the machine has one with room: creating,
    syncing and deleting SQLite files on a disk cost more than the tests' own work (measured:
    three test files took 21 s on the disk, 13 s on tmpfs, the same CPU time). Each run has its
    own folder, removed at the end; folders of runs that were killed are removed at the next."""
    if hasattr(config, "workerinput") or config.option.basetemp:
        return
    shm = Path("/dev/shm")
    try:
        if shutil.disk_usage(shm).free < 2 * 1024**3 or not os.access(shm, os.W_OK):
            return
    except OSError:
        return
    runs = shm / f"zhishu-tests-{os.getuid()}"
    runs.mkdir(mode=0o700, exist_ok=True)
    for old in runs.iterdir():
        if old.name.isdigit() and not _alive(int(old.name)):
            shutil.rmtree(old, ignore_errors=True)
    config.option.basetemp = str(runs / str(os.getpid()))
    config.add_cleanup(lambda: shutil.rmtree(runs / str(os.getpid()), ignore_errors=True))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked `long` first, otherwise in the usual order. pytest-xdist hands tests out
    in this order: collected late (test_sweep_schedule, test_year), a test of 6–9 s started
    when the others were nearly done and its worker finished the run alone, seconds after the
    rest (measured: the last worker ended 5.8 s after the first)."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@functools.cache
def _migrated_template() -> Path:
    """A database with every migration applied, made once per test process (in a thread: the
    caller's event loop is running). Each harness copies it instead of migrating again."""
    path = Path(tempfile.mkdtemp(prefix="zhishu-template-")) / "template.sqlite3"

    async def make() -> None:
        database = Database(path)
        await database.open()
        await database.close()  # the WAL is checkpointed into the file

    thread = threading.Thread(target=asyncio.run, args=(make(),))
    thread.start()
    thread.join()
    return path


def fresh_database(path: Path) -> None:
    """A new, fully migrated database file at `path` (owner-only, like the bot's own)."""
    shutil.copyfile(_migrated_template(), path)
    os.chmod(path, 0o600)


class Harness:
    """Drives the bot as phones would and reads what it sent back."""

    def __init__(
        self,
        database: Path,
        fake: FakeTelegram | None = None,
        *,
        reminders: bool = False,
        pacing: Pacing = FAST,
    ) -> None:
        self.fake = fake or FakeTelegram(token=OFFLINE_TOKEN, clock=pacing.now)
        self.config = Config(
            telegram=TelegramConfig(token=OFFLINE_TOKEN, rate_limit=False),
            storage=StorageConfig(
                database=str(database), backup_dir=str(Path(database).parent / "backups")
            ),
            bot=BotConfig(reminders=reminders),
            pacing=pacing,
        )
        if not Path(database).exists() and Path(database).parent.is_dir():
            fresh_database(Path(database))
        self.app: BotApplication | None = None
        # Tests type faster than any person: to the flood limiter each update comes a minute
        # after the last, unless a test about flooding stops the clock (step = 0).
        self.clock = ManualClock(step=60)
        self._expected = 0
        for user_id, name in ((SECRETARY, "书记"), (OTHER, "别人")):
            self.fake.add_user(user_id, first_name=name)

    async def start(self) -> None:
        """Start the bot as `run` does: initialize, command menu, polling."""
        self.app = build_application(
            self.config,
            request=EmulatorRequest(self.fake),
            get_updates_request=EmulatorRequest(self.fake),
        )
        flood.limiter_of(self.app).clock = self.clock
        self._expected = self.fake.pending_updates()
        await self.app.initialize()
        await post_init(self.app)
        assert self.app.updater is not None
        await self.app.updater.start_polling(allowed_updates=Update.ALL_TYPES, timeout=5)
        await self.app.start()
        if self._expected:
            await self.app.wait_for_updates(self._expected)
        if self.config.bot.reminders:
            # The start-up sweep runs as a job beside the test: let it finish first, or it may
            # decide a branch the test registers next before the test's own sweep does.
            today = datetime.now(self.config.bot.tzinfo).date()
            async with asyncio.timeout(30):
                while await last_sweep(self.app.database) != today:
                    await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Stop cleanly (what SIGTERM does)."""
        assert self.app is not None
        assert self.app.updater is not None
        await self.app.updater.stop()
        await self.app.stop()
        await self.app.shutdown()
        self.app = None

    async def _settle(self) -> None:
        assert self.app is not None
        self._expected += 1
        await self.app.wait_for_updates(self._expected)

    def _mark(self, chat_id: int) -> int:
        messages = self.fake.bot_messages(chat_id)
        return messages[-1]["message_id"] if messages else 0

    def _since(self, chat_id: int, mark: int) -> list[str]:
        return [
            parse_html(m.get("text") or m.get("caption") or "")
            for m in self.fake.bot_messages(chat_id)
            if m["message_id"] > mark
        ]

    async def send(
        self, text: str, user: int = SECRETARY, chat_id: int | None = None
    ) -> list[str]:
        """Type a message; returns the visible texts of the bot's new messages."""
        chat = chat_id or user
        mark = self._mark(chat)
        self.fake.send_text(user, text, chat_id=chat_id)
        await self._settle()
        return self._since(chat, mark)

    async def tap(
        self, label: str | int, user: int = SECRETARY, chat_id: int | None = None
    ) -> list[str]:
        """Tap a button of the latest keyboard by its label (or index)."""
        chat = chat_id or user
        mark = self._mark(chat)
        self.fake.tap_button(user, label, chat_id=chat_id)
        await self._settle()
        return self._since(chat, mark)

    async def tap_data(
        self, data: str, message_id: int | None = None, user: int = SECRETARY
    ) -> list[str]:
        """Tap a button with any callback data, e.g. a forged or an old one."""
        mark = self._mark(user)
        if message_id is None:
            message_id = self.last_message(user)["message_id"]
        self.fake.tap(user, message_id, data)
        await self._settle()
        return self._since(user, mark)

    async def send_photo(
        self, data: bytes = b"photo", user: int = SECRETARY, chat_id: int | None = None
    ) -> list[str]:
        """Send a photo; returns the visible texts of the bot's new messages."""
        chat = chat_id or user
        mark = self._mark(chat)
        self.fake.send_photo(user, data, chat_id=chat_id)
        await self._settle()
        return self._since(chat, mark)

    async def register(self, user: int = SECRETARY, key: str = "", **changes: Any) -> Branch:
        """A branch registered straight in the database, with `user` as its secretary."""
        assert self.app is not None
        branch, _ = await repo.create_branch(
            self.app.database,
            user_id=user,
            profile=make_profile(**changes),
            draft_key=key or f"test-{user}-{changes}",
        )
        return branch

    def last_message(self, chat_id: int = SECRETARY) -> dict[str, Any]:
        """The bot's latest message in a chat."""
        message = self.fake.last_bot_message(chat_id)
        assert message is not None
        return message

    def buttons(self, chat_id: int = SECRETARY) -> list[str]:
        """Labels on the latest message that has a keyboard."""
        for message in reversed(self.fake.bot_messages(chat_id)):
            markup = message.get("reply_markup")
            if markup:
                return [b["text"] for row in markup["inline_keyboard"] for b in row]
        return []

    def callback_answers(self) -> list[str]:
        """Texts shown for button taps (toasts and alerts)."""
        return [a.get("text") or "" for a in self.fake.callback_answers]


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Put the logging set-up back after a test that ran the command line in-process: its
    handler writes to that test's captured stderr, which pytest closes, and every later log
    line would print a "Logging error" stack (seconds of a whole run)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    named = {name: logging.getLogger(name).level for name in QUIETED}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in named.items():
        logging.getLogger(name).setLevel(old)


@pytest.fixture(scope="session", autouse=True)
def quiet_imports() -> None:
    """Import jieba in the main thread, before any test. The question index is built on the
    first question, in a worker thread (bot.handlers.guidance), and jieba creates its loggers
    when imported; pytest (9.2) walks logging's logger table without logging's lock at every
    test phase, and a logger created at that moment failed a teardown with "dictionary changed
    size during iteration" (a CI run did). The tests that ask questions run in one process (their
    xdist_group "knowledge", make test's --dist loadgroup), so only it builds the index."""
    import jieba  # noqa: F401


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    """A started bot on a fresh database."""
    h = Harness(tmp_path / "bot.sqlite3")
    await h.start()
    yield h
    if h.app is not None:
        await h.stop()


@pytest.fixture
async def real_clock_harness(tmp_path: Path) -> AsyncIterator[Harness]:
    """A started bot on a fresh database, with Telegram's limits on the real clock."""
    h = Harness(tmp_path / "bot.sqlite3", pacing=Pacing())
    await h.start()
    yield h
    if h.app is not None:
        await h.stop()


async def replay(h: Harness, update: dict[str, Any]) -> Harness:
    """Restart the bot as after a crash that came before the update was noted as handled: the
    inbox hands the same update (same id) to the bot again."""
    user = update["message" if "message" in update else "callback_query"]["from"]["id"]
    sent = len(h.fake.bot_messages(user))
    await h.stop()
    path = Path(h.config.storage.database)
    database = Database(path)
    await database.open()
    await inbox.drop(database, [update["update_id"]])
    await inbox.store(database, [inbox.Incoming(update["update_id"], json.dumps(update))])
    await database.close()
    again = Harness(path, fake=h.fake, reminders=h.config.bot.reminders, pacing=h.config.pacing)
    await again.start()
    assert again.app is not None
    await again.app.wait_for_updates(1)
    again._expected = 1
    assert len(h.fake.bot_messages(user)) > sent, "the replayed update was handled"
    return again
