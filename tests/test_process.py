"""The bot as a separate process against a Bot API server given only by the config file."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.emulator.core import FakeTelegram
from bot.emulator.html import parse_html
from bot.emulator.server import EmulatorServer

USER = 4242
TOKEN = "987654:PROCESS-TEST"


async def _spawn(config: Path, cwd: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    # The bot must reach the loopback server even on a machine with a proxy configured.
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--config", str(config),
        cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _say(
    fake: FakeTelegram, text: str, expect: str | tuple[str, ...], timeout: float = 60
) -> str:
    """Send a text and wait for a bot message containing `expect` (or one of them)."""
    parts = (expect,) if isinstance(expect, str) else expect
    before = len(fake.bot_messages(USER))
    fake.send_text(USER, text)
    async with asyncio.timeout(timeout):
        while True:
            for message in fake.bot_messages(USER)[before:]:
                visible = parse_html(message.get("text") or "")
                if any(part in visible for part in parts):
                    return visible
            await asyncio.sleep(0.05)


@pytest.mark.long
async def test_separate_process_sigterm_and_kill9(tmp_path: Path) -> None:
    fake = FakeTelegram(token=TOKEN)
    fake.add_user(USER)
    server = EmulatorServer(fake)
    await server.start()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[telegram]\ntoken = "{TOKEN}"\napi_base_url = "{server.api_base_url}"\n'
        f'api_base_file_url = "{server.file_base_url}"\n'
        f'[storage]\ndatabase = "{tmp_path / "bot.sqlite3"}"\n',
        encoding="utf-8",
    )
    process = await _spawn(config, tmp_path)
    try:
        await _say(fake, "/start", "支部的全称")
        await _say(fake, "进程测试支部", "单位（社会组织）的名称")
        await _say(fake, "进程测试协会", "单位属于哪一类")
        # kill -9 in the middle of the flow: no chance to flush anything.
        process.kill()
        await process.wait()
        process = await _spawn(config, tmp_path)
        # Killed before the bot noted the last question as seen, it asks that question again
        # (once after the replay, once for the answer typed to the copy seen before the kill)
        # rather than take an answer to it; answered again, the flow goes on.
        reply = ""
        for _ in range(3):
            reply = await _say(fake, "基金会", ("支部是怎样组建的", "单位属于哪一类"))
            if "支部是怎样组建的" in reply:
                break
        transcript = [parse_html(m.get("text") or "")[:30] for m in fake.bot_messages(USER)]
        assert "第 4/9 项" in reply, transcript
        assert fake.commands, "the command menu was set through the server"
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 30)
        stderr = (await process.stderr.read()).decode() if process.stderr else ""
        assert code == 0, stderr
        assert "Traceback" not in stderr
        assert "进程测试" not in stderr, "logs must not carry message texts"
        # After a clean stop the flow still continues where it was.
        process = await _spawn(config, tmp_path)
        reply = await _say(fake, "联合组建", "正式党员几人")
        assert "第 5/9 项" in reply
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await server.stop()
