"""Cold start: a new process to its first poll, the bot against a bare python-telegram-bot echo
app polling the same emulator, and the first /help answered after start.

Both processes are started the way a supervisor starts them (a new interpreter), against the
in-process emulator over HTTP; the clock runs from the spawn to the first getUpdates that
reaches the emulator. The bot starts on a database it migrated before (a restart, the common
case). Right at that first poll a user sends /help: its answer time, against a /help a while
later, shows whether anything still loading in the background (the question index) slows it.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.app import OFFLINE_TOKEN
from bot.emulator.core import FakeTelegram
from bot.emulator.server import EmulatorServer

ROUNDS = 5
TARGET_SECONDS = 0.6
ROOT = Path(__file__).resolve().parent.parent
USER = 1
_STARTS = itertools.count()
# A bare echo bot, as python-telegram-bot's own examples build one.
_ECHO = """
import sys
from telegram.ext import ApplicationBuilder, MessageHandler, filters

async def echo(update, context):
    await update.message.reply_text(update.message.text)

app = ApplicationBuilder().token(sys.argv[1]).base_url(sys.argv[2]).build()
app.add_handler(MessageHandler(filters.TEXT, echo))
app.run_polling(poll_interval=0, timeout=1)
"""


class _Watched:
    """An emulator that notes when the first getUpdates arrives."""

    def __init__(self) -> None:
        self.fake = FakeTelegram(token=OFFLINE_TOKEN)
        self.fake.add_user(USER)
        # Each start gets update ids of its own: the inbox drops an id it has seen as a replay.
        self.fake.continue_updates_after(next(_STARTS) * 1000)
        self.first_poll = asyncio.Event()
        self.polled_at = 0.0
        call = self.fake.call

        async def watched(method: str, params: dict[str, Any], files: Any = None) -> Any:
            if method.lower() == "getupdates" and not self.first_poll.is_set():
                self.polled_at = time.perf_counter()
                self.first_poll.set()
            return await call(method, params, files)

        self.fake.call = watched  # type: ignore[method-assign]

    async def reply_to(self, text: str) -> float:
        """Seconds from the user's message to the bot's answer."""
        answered = asyncio.Event()

        def on_message(event: str, message: dict[str, Any]) -> None:
            if event == "new" and message["chat"]["id"] == USER:
                answered.set()

        self.fake.subscribe(on_message)
        started = time.perf_counter()
        self.fake.send_text(USER, text)
        await asyncio.wait_for(answered.wait(), 60)
        elapsed = time.perf_counter() - started
        self.fake.unsubscribe(on_message)
        return elapsed


async def _start(command: Callable[[str], list[str]]) -> tuple[float, float, float]:
    """Seconds to the first poll, to the answer of a message sent then, and of one sent 2 s
    later (the process is stopped as a supervisor does: SIGTERM)."""
    watched = _Watched()
    server = EmulatorServer(watched.fake)
    base = await server.start()
    # As a deployment runs: bytecode is cached (a development shell may say not to write it,
    # and every start would compile the bot's modules again; the echo's come from site-packages
    # compiled at install).
    env = {
        k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "PYTHONDONTWRITEBYTECODE")
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    args = command(base)
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await asyncio.wait_for(watched.first_poll.wait(), 60)
        to_poll = watched.polled_at - started
        first = await watched.reply_to("/help")
        await asyncio.sleep(2)
        later = await watched.reply_to("/help")
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await process.wait()
        await server.stop()
    return to_poll, first, later


def _bot(folder: Path) -> Callable[[str], list[str]]:
    """The bot's command line, its configuration written for the emulator at `base`."""

    def command(base: str) -> list[str]:
        path = folder / "config.toml"
        path.write_text(
            f'[telegram]\ntoken = "{OFFLINE_TOKEN}"\napi_base_url = "{base}"\n'
            f'rate_limit = false\n[storage]\ndatabase = "{folder / "bot.sqlite3"}"\n',
            encoding="utf-8",
        )
        path.chmod(0o600)
        return [sys.executable, "-m", "bot", "--config", str(path)]

    return command


def _echo(base: str) -> list[str]:
    return [sys.executable, "-c", _ECHO, OFFLINE_TOKEN, base]


async def run() -> None:
    """Print the start-up figures."""
    with tempfile.TemporaryDirectory() as name:
        ours = _bot(Path(name))
        # The first start creates and migrates the database; a restart is what is measured.
        await _start(ours)
        bare: list[tuple[float, float, float]] = []
        bot: list[tuple[float, float, float]] = []
        for _ in range(ROUNDS):
            bare.append(await _start(_echo))
            bot.append(await _start(ours))
    to_poll = statistics.median(b[0] for b in bot)
    echo_poll = statistics.median(b[0] for b in bare)
    first = statistics.median(b[1] for b in bot)
    later = statistics.median(b[2] for b in bot)
    echo_first = statistics.median(b[1] for b in bare)
    print(f"\nStart-up: a new process to its first poll, median of {ROUNDS} rounds")
    print(f"  bare PTB echo app : {echo_poll:.3f} s")
    print(
        f"  支书助手           : {to_poll:.3f} s  (ratio {to_poll / echo_poll:.2f}x)   "
        f"(target <= {TARGET_SECONDS:.2f} s: {'met' if to_poll <= TARGET_SECONDS else 'NOT met'})"
    )
    print(
        f"  first /help after start: {first * 1000:.1f} ms, 2 s later {later * 1000:.1f} ms "
        f"(ratio {first / later:.2f}x; bare echo's first reply {echo_first * 1000:.1f} ms)"
    )


if __name__ == "__main__":
    asyncio.run(run())
