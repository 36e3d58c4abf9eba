"""The bot token never reaches a log: not in messages, arguments, tracebacks or uncaught errors;
and a DEBUG-level run of the bot process (httpx, httpcore, telegram at DEBUG) logs none of it."""

from __future__ import annotations

import asyncio
import io
import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import redaction
from bot.emulator.core import FakeTelegram
from bot.emulator.server import EmulatorServer
from tests.test_process import USER, _say, _spawn

TOKEN = "987654:AAHsecretPART-of_the-TOKEN"
SECRET = TOKEN.partition(":")[2]
MASKED = "987654:***"


# The loggers that see request URLs, and one of ours.
LOGGERS = ("httpx", "httpcore.http11", "telegram.ext.ExtBot", "bot.delivery")


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    """A DEBUG stream handler on the root, with the redaction installed as the CLI does."""
    redaction.install([TOKEN])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    redaction.uninstall()


@pytest.mark.parametrize("name", LOGGERS)
def test_message_arguments_and_tracebacks_are_masked(log: io.StringIO, name: str) -> None:
    logger = logging.getLogger(name)
    url = f"https://api.telegram.org/bot{TOKEN}/getUpdates"
    logger.debug("HTTP Request: %s %s", "POST", url)
    logger.debug(f"already formatted {url}")
    try:
        raise ConnectionError(f"cannot reach {url}")
    except ConnectionError:
        logger.exception("request failed")
    text = log.getvalue()
    assert SECRET not in text
    assert text.splitlines()[:2] == [
        f"{name}: HTTP Request: POST https://api.telegram.org/bot{MASKED}/getUpdates",
        f"{name}: already formatted https://api.telegram.org/bot{MASKED}/getUpdates",
    ]
    assert f"ConnectionError: cannot reach https://api.telegram.org/bot{MASKED}/getUpdates" in text


def test_an_uncaught_error_prints_a_masked_traceback(
    log: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        raise RuntimeError(f"token {TOKEN} in an error")
    except RuntimeError as error:
        sys.excepthook(type(error), error, error.__traceback__)
    err = capsys.readouterr().err
    assert err.rstrip().endswith(f"RuntimeError: token {MASKED} in an error")
    assert SECRET not in err


@pytest.mark.long
async def test_a_debug_run_logs_no_token_and_warns_about_a_shared_database(
    tmp_path: Path,
) -> None:
    fake = FakeTelegram(token=TOKEN)
    fake.add_user(USER)
    server = EmulatorServer(fake)
    await server.start()
    database = tmp_path / "bot.sqlite3"
    # A database left world-readable by an older version (an empty file is an empty database).
    database.write_bytes(b"")
    database.chmod(0o644)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[telegram]\ntoken = "{TOKEN}"\napi_base_url = "{server.api_base_url}"\n'
        f'api_base_file_url = "{server.file_base_url}"\n'
        f'[storage]\ndatabase = "{database}"\n[bot]\nlog_level = "DEBUG"\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    process = await _spawn(config, tmp_path)
    try:
        await _say(fake, "/start", "支部的全称")
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 30)
        stderr = (await process.stderr.read()).decode() if process.stderr else ""
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await server.stop()
    assert code == 0, stderr
    assert SECRET not in stderr
    # The lines that used to carry it are there, masked: httpx logged every request at DEBUG.
    assert f'/bot{MASKED}/getUpdates "HTTP/1.1 200 OK"' in stderr
    assert "httpcore.connection" in stderr and "telegram.ext" in stderr
    # DEBUG is for the connection: the updates and replies themselves are not logged.
    assert "支部的全称" not in stderr
    warnings = [line for line in stderr.splitlines() if "chmod 600" in line]
    assert len(warnings) == 1
    assert warnings[0].endswith(
        f"WARNING bot: Other accounts on this machine can read {database}, which hold "
        f"members' data or the bot token: run chmod 600 {database}"
    )
