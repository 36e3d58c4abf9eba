"""Command line: `python -m bot [run|demo|check|backup|restore] --config FILE`."""

from __future__ import annotations

import argparse
import asyncio
import codecs
import contextlib
import gc
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import msgspec
from telegram import Update
from telegram.error import InvalidToken, NetworkError

from bot import flood, redaction
from bot.app import OFFLINE_TOKEN, build_application, post_init
from bot.config import Config, ConfigError, load_config, require_token
from bot.updates import HEARTBEAT
from db import DatabaseError
from db.files import database_files, exposed

_LOGGER = logging.getLogger("bot")
DEFAULT_CONFIG = Path("config.toml")
DEMO_DATABASE = "data/demo.sqlite3"
DEMO_USER_ID = 10001
EXIT_CONFIG = 2


def setup_logging(level: str, tokens: Iterable[str] = ()) -> None:
    """Log to stderr once, with the tokens masked; the HTTP client speaks only at DEBUG."""
    redaction.install(tokens)
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level, force=True
    )
    # One line per request is noise at INFO; at DEBUG it is wanted, and the token is masked.
    quiet = logging.DEBUG if level == "DEBUG" else logging.WARNING
    logging.getLogger("httpx").setLevel(quiet)
    logging.getLogger("httpcore").setLevel(quiet)
    logging.getLogger("apscheduler").setLevel(quiet)
    # At DEBUG these two write every update, message and query parameter (names, texts) into
    # the log, which never holds members' data.
    floor = max(logging.INFO, logging.getLogger().level)
    logging.getLogger("telegram").setLevel(floor)
    logging.getLogger("aiosqlite").setLevel(floor)


def exposure_warning(config: Config, config_path: Path | None) -> str | None:
    """One line naming the files other accounts can read (data, token) and the chmod to fix it."""
    files = database_files(config.database_path)
    token = config.telegram.token
    if config_path is not None and token:
        try:
            holds_token = token in config_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            holds_token = False
        if holds_token:
            files.append(config_path)
    found = exposed(files)
    if not found:
        return None
    names = " ".join(str(path) for path in found)
    return (
        f"Other accounts on this machine can read {names}, which hold members' data or the "
        f"bot token: run chmod 600 {names}"
    )


def _config_path(args: argparse.Namespace) -> Path | None:
    if args.config:
        return Path(args.config)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


def run(config: Config, config_path: Path | None = None) -> int:
    """Long-poll Telegram until SIGINT/SIGTERM, then shut down cleanly."""
    require_token(config)
    # Whatever the service manager's umask, nothing this process creates is shared.
    os.umask(0o077)
    warning = exposure_warning(config, config_path)
    if warning:
        _LOGGER.warning(warning)
    application = build_application(config)
    _LOGGER.info(
        "Starting; database %s; connecting to %s (retrying until it answers)",
        config.database_path,
        config.telegram.api_base_url,
    )
    telegram = config.telegram
    try:
        if telegram.webhook_url:
            application.run_webhook(
                listen=telegram.webhook_listen,
                port=telegram.webhook_port,
                url_path=urlsplit(telegram.webhook_url).path.lstrip("/"),
                webhook_url=telegram.webhook_url,
                secret_token=telegram.webhook_secret,
                allowed_updates=Update.ALL_TYPES,
                stop_signals=(signal.SIGINT, signal.SIGTERM),
                bootstrap_retries=-1,
            )
        else:
            application.run_polling(
                allowed_updates=Update.ALL_TYPES,
                stop_signals=(signal.SIGINT, signal.SIGTERM),
                # A Telegram outage at start is waited out (retrying with backoff), not a crash.
                bootstrap_retries=-1,
            )
    except InvalidToken:
        raise ConfigError(
            "Telegram 不接受 [telegram] token：请向 @BotFather 核对后重新填写"
        ) from None
    except NetworkError as exc:
        _LOGGER.error(
            "Cannot reach the Bot API at %s (%s): check the network, [telegram] proxy or "
            "api_base_url",
            config.telegram.api_base_url,
            type(exc).__name__,
        )
        return 1
    if application.exit_code:
        return application.exit_code
    _LOGGER.info("Stopped")
    return 0


async def _check(config: Config, max_age: float) -> list[tuple[bool, str]]:
    from db import inbox
    from db.database import Database, migrations

    if not config.database_path.exists():
        return [(False, f"数据库 {config.database_path} 不存在")]
    database = Database(config.database_path)
    results: list[tuple[bool, str]] = []
    try:
        await database.open()
    except DatabaseError as exc:
        return [(False, f"数据库打不开：{exc}")]
    try:
        results.append((True, f"数据库可以打开：{config.database_path}"))
        version = await database.schema_version()
        results.append((version == len(migrations()), f"数据库版本 {version}/{len(migrations())}"))
        polled = await inbox.get_state(database, HEARTBEAT)
        if polled is None:
            results.append((False, "机器人还没有连上过 Telegram"))
        else:
            age = (datetime.now(UTC) - datetime.fromisoformat(polled)).total_seconds()
            results.append((age <= max_age, f"上次连上 Telegram：{age:.0f} 秒前"))
    finally:
        await database.close()
    return results


def check(config: Config, max_age: float) -> int:
    """Say whether the database opens, its migrations are current and the bot polled lately."""
    results = asyncio.run(_check(config, max_age))
    for ok, line in results:
        print(("正常 " if ok else "异常 ") + line)
    return 0 if all(ok for ok, _ in results) else 1


def backup_command(config: Config, target: str | None) -> int:
    """Back up the database (works while the bot runs)."""
    from db.backup import backup

    folder = Path(config.storage.backup_dir)
    written = (
        backup(config.database_path, Path(target))
        if target
        else backup(config.database_path, folder, folder=True)
    )
    print(f"已备份到 {written}")
    return 0


def restore_command(config: Config, source: str) -> int:
    """Replace the database with a backup; the bot must be stopped."""
    from db.backup import restore

    version = restore(Path(source), config.database_path)
    print(f"已从 {source} 恢复（数据库版本 {version}）；启动机器人即可")
    return 0


async def _demo(config: Config, user_id: int) -> None:
    from bot.emulator.core import FakeTelegram
    from bot.emulator.request import EmulatorRequest
    from bot.emulator.terminal import run_terminal
    from bot.texts import render
    from db import inbox

    fake = FakeTelegram(token=OFFLINE_TOKEN)
    fake.add_user(user_id, first_name="演示书记")
    database = Path(config.storage.database)
    files = database.parent / "demo-files"
    # The photos and files the database refers to, from earlier runs of the demo.
    fake.keep_files_in(database.parent / f"{database.stem}-telegram-files")
    application = build_application(
        config, request=EmulatorRequest(fake), get_updates_request=EmulatorRequest(fake)
    )
    flood.unlimited(application)
    loop = asyncio.get_running_loop()
    # Lines are read by a daemon thread from the raw file descriptor: Ctrl-C ends the demo at
    # once (asyncio.run would join an executor thread blocked in input(), and a daemon thread
    # inside input() holds the stdin buffer's lock, which aborts the interpreter at exit).
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    stdin = sys.stdin.fileno()

    def put(line: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the demo has ended: nobody reads any more
            loop.call_soon_threadsafe(lines.put_nowait, line)

    def reader() -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        while True:
            try:
                chunk = os.read(stdin, 4096)
            except OSError:
                chunk = b""
            pending += decoder.decode(chunk, final=not chunk)
            *complete, pending = pending.split("\n")
            for line in complete:
                put(line)
            if not chunk:
                if pending:
                    put(pending)
                put(None)
                return

    threading.Thread(target=reader, name="demo-stdin", daemon=True).start()

    async def read_line() -> str | None:
        return await lines.get()

    async def wait_idle() -> None:
        await application.wait_for_updates(fake.update_count, timeout=30)

    async with application:
        await post_init(application)
        # The emulator numbers updates from 1 each run: go on after the ones this database has
        # seen, or the inbox and open forms would take the new ones for replays.
        fake.continue_updates_after(
            max(
                await inbox.highest_update_id(application.database),
                application.forms.highest_update(),
            )
        )
        assert application.updater is not None
        await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        await application.start()
        try:
            await run_terminal(
                fake,
                user_id=user_id,
                read_line=read_line,
                write=lambda text: print(text, flush=True),
                ansi=sys.stdout.isatty(),
                banner=render("demo_banner", database=config.storage.database, files=files),
                wait_idle=wait_idle,
                files=files,
                state=database.parent / f"{database.stem}-last.json",
            )
        finally:
            await application.updater.stop()
            await application.stop()


def demo(config: Config, user_id: int) -> int:
    """Chat with the real bot in the terminal, on the offline emulator."""
    os.umask(0o077)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_demo(config, user_id))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (run is the default command)."""
    parser = argparse.ArgumentParser(prog="zhishu-bot", description="支书助手 Telegram 机器人")
    parser.add_argument("--config", help="配置文件（默认：当前目录下的 config.toml）")
    commands = parser.add_subparsers(dest="command")
    run_parser = commands.add_parser("run", help="连接 Telegram 运行（默认）")
    run_parser.add_argument("--config", dest="sub_config", help="配置文件")
    demo_parser = commands.add_parser("demo", help="在终端里离线试用，不连接 Telegram")
    demo_parser.add_argument("--config", dest="sub_config", help="配置文件（只取存储和时区）")
    demo_parser.add_argument("--database", help=f"演示数据库（默认 {DEMO_DATABASE}）")
    demo_parser.add_argument("--user-id", type=int, default=DEMO_USER_ID, help=argparse.SUPPRESS)
    check_parser = commands.add_parser("check", help="检查数据库和与 Telegram 的连接是否正常")
    check_parser.add_argument("--config", dest="sub_config", help="配置文件")
    check_parser.add_argument(
        "--max-age", type=float, default=300, help="多久没连上 Telegram 算异常（秒，默认 300）"
    )
    backup_parser = commands.add_parser("backup", help="备份数据库（机器人运行时也可以）")
    backup_parser.add_argument("--config", dest="sub_config", help="配置文件")
    backup_parser.add_argument(
        "path", nargs="?", help="备份文件或目录（默认 [storage] backup_dir）"
    )
    restore_parser = commands.add_parser("restore", help="从备份恢复数据库（先停止机器人）")
    restore_parser.add_argument("--config", dest="sub_config", help="配置文件")
    restore_parser.add_argument("path", help="备份文件")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m bot` and the `zhishu-bot` script."""
    if not gc.isenabled():
        # `python -m bot` imported with collection off (bot/__main__.py): what exists now lasts
        # as long as the process, so it leaves the collector's rounds for good.
        gc.freeze()
        gc.enable()
    args = build_parser().parse_args(argv)
    if getattr(args, "sub_config", None):
        args.config = args.sub_config
    try:
        config_path = _config_path(args)
        config = load_config(config_path)
        setup_logging(config.bot.log_level, tokens=[config.telegram.token])
        if args.command == "demo":
            # The terminal is the chat: only problems are logged there.
            for name in ("", "telegram", "aiosqlite"):
                logging.getLogger(name).setLevel(logging.WARNING)
            storage = msgspec.structs.replace(
                config.storage,
                database=args.database
                or (config.storage.database if args.config else DEMO_DATABASE),
            )
            telegram = msgspec.structs.replace(config.telegram, token=OFFLINE_TOKEN)
            config = msgspec.structs.replace(config, storage=storage, telegram=telegram)
            return demo(config, args.user_id)
        if args.command == "check":
            return check(config, args.max_age)
        if args.command == "backup":
            return backup_command(config, args.path)
        if args.command == "restore":
            return restore_command(config, args.path)
        return run(config, config_path)
    except (ConfigError, DatabaseError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
