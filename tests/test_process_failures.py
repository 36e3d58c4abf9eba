"""The bot as its own process when the database is locked, the disk fails, or it is killed."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.emulator.core import FakeTelegram
from bot.emulator.html import parse_html
from bot.emulator.server import EmulatorServer
from tests.test_process import TOKEN, _spawn

ASK_NAME = "支部的全称是什么？"
ASK_ORG = "单位（社会组织）的名称"
ASK_KIND = "单位属于哪一类"
NOT_SAVED = "暂时保存不了，请稍后再试。刚才的内容没有保存。"
USERS = list(range(5001, 5101))


class Bot:
    """A bot process against the emulator's HTTP server, with its log lines collected."""

    def __init__(self, tmp_path: Path, fake: FakeTelegram, server: EmulatorServer) -> None:
        self.tmp_path = tmp_path
        self.fake = fake
        self.database = tmp_path / "bot.sqlite3"
        self.config = tmp_path / "config.toml"
        self.server = server
        self.process: asyncio.subprocess.Process | None = None
        self.log: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    def configure(self, storage: str = "", bot: str = "reminders = false") -> None:
        self.config.write_text(
            f'[telegram]\ntoken = "{TOKEN}"\napi_base_url = "{self.server.api_base_url}"\n'
            f'api_base_file_url = "{self.server.file_base_url}"\nrate_limit = false\n'
            f'[storage]\ndatabase = "{self.database}"\n{storage}\n'
            f"[bot]\n{bot}\n",
            encoding="utf-8",
        )

    async def start(self) -> None:
        self.process = await _spawn(self.config, self.tmp_path)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.log.append(line.decode(errors="replace"))

    async def kill(self) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        if self._reader is not None:
            await self._reader

    async def exited(self, timeout: float = 30) -> int:
        assert self.process is not None
        code = await asyncio.wait_for(self.process.wait(), timeout)
        if self._reader is not None:
            await self._reader
        return code

    def texts(self, user: int) -> list[str]:
        return [parse_html(m.get("text") or "") for m in self.fake.bot_messages(user)]

    def logged(self, part: str) -> bool:
        return any(part in line for line in self.log)


async def until(condition: Callable[[], bool], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    fake = FakeTelegram(token=TOKEN)
    for user in USERS:
        fake.add_user(user)
    async with EmulatorServer(fake) as server:
        found = Bot(tmp_path, fake, server)
        try:
            yield found
        finally:
            if found.process is not None:
                await found.kill()
            print("".join(found.log)[-4000:])


def unhandled(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return int(
            conn.execute("SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL").fetchone()[0]
        )


def integrity(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.mark.long
async def test_a_write_lock_held_by_another_process_is_waited_out(bot: Bot) -> None:
    bot.configure()
    await bot.start()
    users = USERS[:10]
    for user in users:
        bot.fake.send_text(user, "/start")
    await until(lambda: all(any(ASK_NAME in t for t in bot.texts(u)) for u in users))
    outside = sqlite3.connect(bot.database, isolation_level=None)
    outside.execute("BEGIN IMMEDIATE")
    try:
        for user in users:
            bot.fake.send_text(user, f"锁测试支部{user}")
        # The bot has met the lock (and keeps waiting) before it is let go.
        await until(lambda: bot.logged("Database busy"))
    finally:
        outside.execute("COMMIT")
        outside.close()
    await until(lambda: all(any(ASK_ORG in t for t in bot.texts(u)) for u in users))
    await until(lambda: unhandled(bot.database) == 0)
    with contextlib.closing(sqlite3.connect(bot.database)) as conn:
        drafts = " ".join(row[0] for row in conn.execute("SELECT data FROM form_state"))
    assert all(f"锁测试支部{user}" in drafts for user in users), "nothing sent is lost"
    assert all(NOT_SAVED not in t for u in users for t in bot.texts(u))
    assert not bot.logged("Traceback")


@pytest.mark.long
async def test_a_failing_disk_gets_a_clear_answer_then_the_bot_exits(bot: Bot) -> None:
    # Flood control off: the test writes as fast as the bot answers, not at a person's pace.
    bot.configure(
        "write_patience = 0.3\nunusable_exit_after = 1",
        "reminders = false\nflood_control = false",
    )
    await bot.start()
    user = USERS[0]
    bot.fake.send_text(user, "/start")
    await until(lambda: any(ASK_NAME in t for t in bot.texts(user)))
    assert bot.process is not None
    # No write may grow any file any more: SQLite gets EFBIG, a disk I/O error.
    resource.prlimit(bot.process.pid, resource.RLIMIT_FSIZE, (1, 1))
    sent = 0
    async with asyncio.timeout(30):
        while bot.process.returncode is None:
            if bot.texts(user).count(NOT_SAVED) >= sent:
                bot.fake.send_text(user, f"盘满测试{sent}")
                sent += 1
            await asyncio.sleep(0.05)
    assert bot.texts(user).count(NOT_SAVED) >= 1
    assert await bot.exited() == 3
    assert sum("exiting so that the supervisor restarts the bot" in line for line in bot.log) == 1
    assert integrity(bot.database) == "ok"


@pytest.mark.crash
async def test_kill_9_in_a_burst_of_200_updates(bot: Bot) -> None:
    bot.configure()
    for user in USERS:
        bot.fake.send_text(user, "/start")
        bot.fake.send_text(user, f"突发支部{user}")
    await bot.start()
    # Killed while the burst is being handled: some users answered, most not yet.
    await until(lambda: sum(any(ASK_ORG in t for t in bot.texts(u)) for u in USERS) >= 10)
    await bot.kill()
    await bot.start()

    def answered(user: int) -> bool:
        # Either the name was taken, or the bot could not confirm the user ever saw the name
        # question (killed right after sending it): then the name is asked again, not guessed.
        texts = bot.texts(user)
        return any(ASK_ORG in t for t in texts) or sum(ASK_NAME in t for t in texts) >= 2

    # Generous: beside the other crash tests the restarted bot shares the CPU with them.
    await until(lambda: all(answered(u) for u in USERS), 180)
    await until(lambda: unhandled(bot.database) == 0)
    for user in USERS:
        texts = bot.texts(user)
        # A reply may come twice after a crash; a step is never applied twice.
        assert not any(ASK_KIND in t for t in texts), user
        assert not any(NOT_SAVED in t for t in texts), user
    with contextlib.closing(sqlite3.connect(bot.database)) as conn:
        rows = conn.execute("SELECT COUNT(*), COUNT(handled_at) FROM inbox").fetchone()
    assert rows == (200, 200)
    assert integrity(bot.database) == "ok"
