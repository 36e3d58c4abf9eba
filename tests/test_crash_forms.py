"""kill -9 right after Telegram accepted each question: no answer lands in another field.

The bot runs as its own process against the emulator's HTTP server. The emulator calls back as
soon as it has recorded a message the bot sent (the user can see it) and the test kills the bot
there, before the bot even reads Telegram's answer: the worst moment for "commit, then send".
A scripted user then does what a person would: reads the last question on screen and answers
it, again if the bot asks again. The saved rows are checked field by field.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.emulator.core import FakeTelegram
from bot.emulator.html import parse_html
from bot.emulator.server import EmulatorServer

USER = 5151
TOKEN = "987654:CRASH-TEST"
# What the user answers, by a phrase of the question on screen: ("text", …) or ("tap", label).
REGISTRATION = [
    ("请核对支部信息", ("tap", "✅ 确认登记")),
    ("支部的全称", ("text", "崩溃测试支部")),
    ("单位（社会组织）的名称", ("text", "崩溃测试协会")),
    ("单位属于哪一类", ("tap", "基金会")),
    ("支部是怎样组建的", ("tap", "单独组建")),
    ("现有正式党员几人", ("text", "8")),
    ("现有预备党员几人", ("text", "2")),
    ("是否设立了支部委员会", ("tap", "有")),
    ("是否划分了党小组", ("tap", "没有")),
    ("固定的主题党日", ("text", "12")),
]
MEETING = [
    ("请核对这条记录", ("tap", "✅ 保存记录")),
    ("记录哪一种会议", ("tap", "党员大会")),
    ("哪一天开的", ("text", "2026-11-20")),
    ("几点开始、在哪里", ("text", "14:30 三楼会议室")),
    ("主持人和记录人", ("text", "张主持 李记录")),
    ("出席情况", ("text", "10 8\n王五 出差\n赵六 病假")),
    ("议题", ("text", "学习文件\n讨论计划")),
    ("主要内容", ("text", "传达了会议精神。")),
    ("形成了哪些决议", ("text", "通过年度计划")),
    ("发送现场照片", ("tap", "没有照片，完成")),
]
ROSTER_ENTRY = [
    ("花名册还是空的", ("tap", "➕ 添加")),
    ("请输入姓名", ("text", "王崩溃")),
    ("王崩溃 的身份", ("tap", "正式党员")),
    ("入党日期？", ("text", "2016-07-01")),
    ("在支委会中的职务", ("tap", "组织委员")),
    ("是流动党员吗", ("tap", "是")),
    ("外出去向", ("text", "广东省深圳市")),
    ("外出日期", ("text", "2025-03-01")),
    ("最近一次向支部汇报", ("text", "2025-05-01")),
]
REMINDER = [
    ("还没有自定义提醒", ("tap", "➕ 新建提醒")),
    ("什么时候提醒", ("text", "每周五 9:00")),
    ("提醒什么", ("text", "崩溃测试提醒")),
]
NOTICE = [
    ("请确认", ("tap", "✅ 发送")),
    ("请发送通知内容", ("text", "崩溃测试通知")),
    ("发给哪些支部", ("tap", "全部支部")),
]

REGISTERED = ("已登记：", "这份登记已经保存过了")
ADDED = ("已添加到花名册",)
SAVED = ("已保存：", "已经保存过了")
SENT = ("通知已发出", "这条通知已经发过了")


class Bot:
    """The bot process, restarted after each kill."""

    def __init__(self, config: Path, cwd: Path) -> None:
        self.config = config
        self.cwd = cwd
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--config", str(self.config),
            cwd=self.cwd, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            os.kill(self.process.pid, signal.SIGKILL)

    async def stop(self) -> None:
        if self.process is not None:
            self.kill()
            await self.process.wait()


def _screen(fake: FakeTelegram) -> dict[str, Any] | None:
    """The newest bot message that asks something (it has buttons or is a question)."""
    messages = fake.bot_messages(USER)
    return messages[-1] if messages else None


async def _settle(fake: FakeTelegram, count: int, killed: asyncio.Event, wait: float) -> None:
    """Wait until the bot sent something new (or was killed), then let the rest arrive."""
    try:
        async with asyncio.timeout(wait):
            while len(fake.bot_messages(USER)) == count and not killed.is_set():
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
    except TimeoutError:
        pass


def _visible(message: dict[str, Any]) -> str:
    return parse_html(message.get("text") or "")


async def _drive(
    fake: FakeTelegram,
    bot: Bot,
    script: list[tuple[str, tuple[str, str]]],
    first: str,
    done: tuple[str, ...],
    kill: bool,
) -> int:
    """Answer what is on screen until `done` shows; with `kill`, kill the bot right after the
    first send of every message text (a question asked again after a restart is not killed)."""
    seen: set[str] = set()
    kills = 0
    killed = asyncio.Event()

    def on_message(event: str, message: dict[str, Any]) -> None:
        nonlocal kills
        if event != "new" or message["chat"]["id"] != USER:
            return
        text = message.get("text") or ""
        if kill and text not in seen:
            seen.add(text)
            kills += 1
            bot.kill()
            killed.set()

    fake.subscribe(on_message)
    try:
        count = len(fake.bot_messages(USER))
        fake.send_text(USER, first)
        # A process just started takes seconds to import and poll (more on a loaded machine):
        # its first answer is waited for longer than the next ones.
        starting = True
        for _ in range(80):
            await _settle(fake, count, killed, 30 if starting else 5)
            starting = False
            if killed.is_set():
                assert bot.process is not None
                await bot.process.wait()
                killed.clear()
                await bot.start()
                starting = True
            message = _screen(fake)
            assert message is not None
            text = _visible(message)
            if any(d in _visible(m) for m in fake.bot_messages(USER)[count:] for d in done):
                return kills
            count = len(fake.bot_messages(USER))
            for phrase, (action, value) in script:
                if phrase in text:
                    if action == "text":
                        fake.send_text(USER, value)
                    else:
                        fake.tap_button(USER, value)
                    break
            else:
                # No question on screen: wait a little for one, as a person would; if none comes
                # (the bot died before asking), ask again.
                await _settle(fake, count, killed, 3)
                if len(fake.bot_messages(USER)) == count and not killed.is_set():
                    fake.send_text(USER, first)
        raise AssertionError("the flow did not finish")
    finally:
        fake.unsubscribe(on_message)


async def _setup(
    tmp_path: Path, admin: bool = False
) -> tuple[FakeTelegram, EmulatorServer, Bot, Path]:
    fake = FakeTelegram(token=TOKEN)
    fake.add_user(USER, first_name="书记")
    server = EmulatorServer(fake)
    await server.start()
    database = tmp_path / "bot.sqlite3"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[telegram]\ntoken = "{TOKEN}"\napi_base_url = "{server.api_base_url}"\n'
        f'api_base_file_url = "{server.file_base_url}"\nrate_limit = false\n'
        f'[storage]\ndatabase = "{database}"\n'
        # A scripted user types at machine speed: no flood limit for it.
        "[bot]\nreminders = false\nflood_control = false\n"
        + (f"admin_ids = [{USER}]\n" if admin else ""),
        encoding="utf-8",
    )
    bot = Bot(config, tmp_path)
    await bot.start()
    return fake, server, bot, database


def _rows(database: Path, sql: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(database)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.mark.crash
async def test_registration_survives_a_kill_after_every_question(tmp_path: Path) -> None:
    fake, server, bot, database = await _setup(tmp_path)
    try:
        kills = await _drive(fake, bot, REGISTRATION, "/start", REGISTERED, kill=True)
        assert kills >= len(REGISTRATION)
        [branch] = _rows(database, "SELECT * FROM branches")
        assert (branch["name"], branch["organization_name"]) == ("崩溃测试支部", "崩溃测试协会")
        assert (branch["organization_type"], branch["formation_mode"]) == (
            "foundation",
            "standalone",
        )
        assert (branch["formal_members"], branch["probationary_members"]) == (8, 2)
        assert (branch["has_committee"], branch["has_party_groups"]) == (1, 0)
        assert branch["party_day"] == 12
    finally:
        await bot.stop()
        await server.stop()


@pytest.mark.crash
async def test_meeting_log_survives_a_kill_after_every_question(tmp_path: Path) -> None:
    fake, server, bot, database = await _setup(tmp_path)
    try:
        await _drive(fake, bot, REGISTRATION, "/start", REGISTERED, kill=False)
        kills = await _drive(fake, bot, MEETING, "/log", SAVED, kill=True)
        assert kills >= len(MEETING)
        [record] = _rows(database, "SELECT * FROM meetings")
        assert (record["kind"], record["held_on"]) == ("member_meeting", "2026-11-20")
        assert (record["start_time"], record["place"]) == ("14:30", "三楼会议室")
        assert (record["host"], record["recorder"]) == ("张主持", "李记录")
        assert (record["expected"], record["present"], record["on_leave"]) == (10, 8, 1)
        assert record["content"] == "传达了会议精神。"
        assert record["resolutions"] == "通过年度计划"
    finally:
        await bot.stop()
        await server.stop()


@pytest.mark.crash
async def test_roster_entry_survives_a_kill_after_every_question(tmp_path: Path) -> None:
    fake, server, bot, database = await _setup(tmp_path)
    try:
        await _drive(fake, bot, REGISTRATION, "/start", REGISTERED, kill=False)
        kills = await _drive(fake, bot, ROSTER_ENTRY, "/members", ADDED, kill=True)
        assert kills >= len(ROSTER_ENTRY)
        [member] = _rows(database, "SELECT * FROM members")
        assert (member["name"], member["status"], member["joined_on"]) == (
            "王崩溃",
            "formal",
            "2016-07-01",
        )
        assert (member["party_group"], member["committee_role"]) == ("", "organization")
        assert (member["mobile"], member["destination"]) == (1, "广东省深圳市")
        assert (member["left_on"], member["last_report_on"]) == ("2025-03-01", "2025-05-01")
    finally:
        await bot.stop()
        await server.stop()


@pytest.mark.crash
async def test_a_custom_reminder_survives_a_kill_after_every_question(tmp_path: Path) -> None:
    fake, server, bot, database = await _setup(tmp_path)
    try:
        await _drive(fake, bot, REGISTRATION, "/start", REGISTERED, kill=False)
        kills = await _drive(fake, bot, REMINDER, "/remind", ("提醒已保存",), kill=True)
        assert kills >= len(REMINDER)
        # Killed right after the confirmation, before the form was closed: the restarted bot
        # takes the answer again and finds the reminder already stored.
        await _settle(fake, len(fake.bot_messages(USER)), asyncio.Event(), 3)
        [reminder] = _rows(database, "SELECT * FROM custom_reminders")
        assert (reminder["rule"], reminder["weekday"], reminder["at_time"]) == (
            "weekly",
            4,
            "09:00",
        )
        assert reminder["text"] == "崩溃测试提醒"
    finally:
        await bot.stop()
        await server.stop()


@pytest.mark.crash
async def test_a_notice_is_stored_and_queued_once_with_a_kill_after_every_message(
    tmp_path: Path,
) -> None:
    fake, server, bot, database = await _setup(tmp_path, admin=True)
    try:
        await _drive(fake, bot, REGISTRATION, "/start", REGISTERED, kill=False)
        kills = await _drive(fake, bot, NOTICE, "/notice", SENT, kill=True)
        assert kills >= len(NOTICE)
        # Killed right after "已发出" reached the user and started again: the 发送 may be
        # replayed now (its update was not marked handled). Give it the time to.
        await _settle(fake, len(fake.bot_messages(USER)), asyncio.Event(), 5)
        [notice] = _rows(database, "SELECT * FROM notices")
        assert notice["text"] == "崩溃测试通知"
        assert len(_rows(database, "SELECT * FROM notice_targets")) == 1
        [queued] = _rows(database, "SELECT * FROM outbox")
        assert queued["chat_id"] == USER and "崩溃测试通知" in queued["text"]
    finally:
        await bot.stop()
        await server.stop()
