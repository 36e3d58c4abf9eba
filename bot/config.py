"""Configuration: a TOML file read with tomllib and validated into typed, frozen records."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from bot.pacing import Pacing

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_API_BASE_FILE_URL = "https://api.telegram.org/file/bot"
DEFAULT_DATABASE = "data/bot.sqlite3"
DEFAULT_BACKUP_DIR = "data/backups"
DEFAULT_TIMEZONE = "Asia/Shanghai"
EXAMPLE = "config.example.toml"


class ConfigError(Exception):
    """A configuration problem, described in one line that names the key and the fix."""


class TelegramConfig(msgspec.Struct, frozen=True):
    """Where and how the bot reaches the Bot API."""

    token: str = ""
    api_base_url: str = DEFAULT_API_BASE_URL
    api_base_file_url: str = DEFAULT_API_BASE_FILE_URL
    proxy: str | None = None
    rate_limit: bool = True
    # Webhook mode (behind a reverse proxy); polling when webhook_url is empty.
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: str = ""


class StorageConfig(msgspec.Struct, frozen=True):
    """The embedded SQLite database that holds the whole state."""

    database: str = DEFAULT_DATABASE
    # A write waits this long (seconds) for another process's lock or a failing disk.
    write_patience: float = 60.0
    # The bot exits (non-zero, for its supervisor) when writes fail for this long (seconds).
    unusable_exit_after: float = 300.0
    # Daily backups: how many to keep (0: none) and where.
    backups: int = 7
    backup_dir: str = DEFAULT_BACKUP_DIR


class BotConfig(msgspec.Struct, frozen=True):
    """Behaviour of the bot itself."""

    timezone: str = DEFAULT_TIMEZONE
    admin_ids: tuple[int, ...] = ()
    log_level: str = "INFO"
    # The daily sweep and the delivery of reminders (off only in tests that do not test them).
    reminders: bool = True
    # Per-user flood control (off only for scripted users: tests of the bot as a process).
    flood_control: bool = True

    @property
    def tzinfo(self) -> ZoneInfo:
        """The configured time zone as a tzinfo."""
        return ZoneInfo(self.timezone)


class Config(msgspec.Struct, frozen=True):
    """The whole validated configuration."""

    telegram: TelegramConfig = msgspec.field(default_factory=TelegramConfig)
    storage: StorageConfig = msgspec.field(default_factory=StorageConfig)
    bot: BotConfig = msgspec.field(default_factory=BotConfig)
    # Not read from the file: Telegram's limits are not the operator's choice (tests speed the
    # clock up).
    pacing: Pacing = msgspec.field(default_factory=Pacing)

    @property
    def database_path(self) -> Path:
        """The database file as a path (relative paths are taken from the working directory)."""
        return Path(self.storage.database)


_SECTIONS: dict[str, set[str]] = {
    "telegram": {
        "token",
        "api_base_url",
        "api_base_file_url",
        "proxy",
        "rate_limit",
        "webhook_url",
        "webhook_listen",
        "webhook_port",
        "webhook_secret",
    },
    "storage": {"database", "write_patience", "unusable_exit_after", "backups", "backup_dir"},
    "bot": {"timezone", "admin_ids", "log_level", "reminders", "flood_control"},
}
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _string(section: Mapping[str, Any], where: str, key: str, default: str, hint: str) -> str:
    value = section.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"配置项 [{where}] {key} 应为非空字符串，例如 {key} = {hint}")
    return value.strip()


def _url(section: Mapping[str, Any], where: str, key: str, default: str) -> str:
    value = _string(section, where, key, default, f'"{default}"')
    if not value.startswith(("http://", "https://")):
        raise ConfigError(
            f'配置项 [{where}] {key} 应以 http:// 或 https:// 开头，例如 {key} = "{default}"'
        )
    return value


def _seconds(section: Mapping[str, Any], key: str, default: float) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"配置项 [storage] {key} 应为正数（秒），例如 {key} = {default:g}")
    return float(value)


def _count(section: Mapping[str, Any], key: str, default: int) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"配置项 [storage] {key} 应为不小于 0 的整数，例如 {key} = {default}")
    return value


def parse_config(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Config:
    """Validate a parsed TOML document (plus the BOT_TOKEN environment variable) into a Config."""
    env = os.environ if env is None else env
    for name, value in data.items():
        if name not in _SECTIONS:
            raise ConfigError(f"未知的配置节 [{name}]：可用的有 [telegram] [storage] [bot]")
        if not isinstance(value, dict):
            raise ConfigError(f"[{name}] 应是一个配置节，写法见 {EXAMPLE}")
        unknown = sorted(set(value) - _SECTIONS[name])
        if unknown:
            raise ConfigError(f"未知的配置项 [{name}] {unknown[0]}：请核对拼写，写法见 {EXAMPLE}")

    tg = data.get("telegram", {})
    token = env.get("BOT_TOKEN") or tg.get("token", "")
    if not isinstance(token, str):
        raise ConfigError('配置项 [telegram] token 应为字符串，例如 token = "123456:ABC..."')
    proxy = tg.get("proxy")
    if proxy is not None and (not isinstance(proxy, str) or "://" not in proxy):
        raise ConfigError(
            '配置项 [telegram] proxy 应为代理地址，例如 proxy = "socks5://127.0.0.1:1080"'
        )
    rate_limit = tg.get("rate_limit", True)
    if not isinstance(rate_limit, bool):
        raise ConfigError("配置项 [telegram] rate_limit 应为 true 或 false")
    webhook_url = tg.get("webhook_url", "")
    if not isinstance(webhook_url, str) or (
        webhook_url and not webhook_url.startswith("https://")
    ):
        raise ConfigError(
            '配置项 [telegram] webhook_url 应以 https:// 开头，例如 webhook_url = "https://bot.example.org/tg"'
        )
    secret = tg.get("webhook_secret", "")
    if webhook_url and (
        not isinstance(secret, str) or not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret)
    ):
        raise ConfigError(
            "使用 webhook_url 时须设置 [telegram] webhook_secret：16–256 位字母、数字、_ 或 -，"
            '例如 webhook_secret = "随机生成的长字符串"'
        )
    port = tg.get("webhook_port", 8443)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError("配置项 [telegram] webhook_port 应为端口号（1–65535），例如 8443")
    telegram = TelegramConfig(
        webhook_url=webhook_url,
        webhook_listen=_string(tg, "telegram", "webhook_listen", "127.0.0.1", '"127.0.0.1"'),
        webhook_port=port,
        webhook_secret=secret if isinstance(secret, str) else "",
        token=token.strip(),
        api_base_url=_url(tg, "telegram", "api_base_url", DEFAULT_API_BASE_URL),
        api_base_file_url=_url(tg, "telegram", "api_base_file_url", DEFAULT_API_BASE_FILE_URL),
        proxy=proxy or None,
        rate_limit=rate_limit,
    )

    st = data.get("storage", {})
    storage = StorageConfig(
        database=_string(st, "storage", "database", DEFAULT_DATABASE, f'"{DEFAULT_DATABASE}"'),
        write_patience=_seconds(st, "write_patience", 60.0),
        unusable_exit_after=_seconds(st, "unusable_exit_after", 300.0),
        backups=_count(st, "backups", 7),
        backup_dir=_string(
            st, "storage", "backup_dir", DEFAULT_BACKUP_DIR, f'"{DEFAULT_BACKUP_DIR}"'
        ),
    )

    section = data.get("bot", {})
    timezone = _string(section, "bot", "timezone", DEFAULT_TIMEZONE, f'"{DEFAULT_TIMEZONE}"')
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f'配置项 [bot] timezone 不是有效的时区名 "{timezone}"，例如 timezone = "Asia/Shanghai"'
        ) from None
    admin_ids = section.get("admin_ids", [])
    if not isinstance(admin_ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in admin_ids
    ):
        raise ConfigError(
            "配置项 [bot] admin_ids 应为 Telegram 用户 ID（正整数）的列表，"
            "例如 admin_ids = [12345678]"
        )
    log_level = section.get("log_level", "INFO")
    if not isinstance(log_level, str) or log_level.upper() not in _LOG_LEVELS:
        raise ConfigError("配置项 [bot] log_level 应为 DEBUG、INFO、WARNING 或 ERROR 之一")
    reminders = section.get("reminders", True)
    if not isinstance(reminders, bool):
        raise ConfigError("配置项 [bot] reminders 应为 true 或 false")
    flood_control = section.get("flood_control", True)
    if not isinstance(flood_control, bool):
        raise ConfigError("配置项 [bot] flood_control 应为 true 或 false")
    bot = BotConfig(
        timezone=timezone,
        admin_ids=tuple(admin_ids),
        log_level=log_level.upper(),
        reminders=reminders,
        flood_control=flood_control,
    )
    return Config(telegram=telegram, storage=storage, bot=bot)


def load_config(
    path: str | os.PathLike[str] | None, env: Mapping[str, str] | None = None
) -> Config:
    """Read and validate a config file; with no path, use defaults plus the environment."""
    if path is None:
        return parse_config({}, env)
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"找不到配置文件 {file}：请复制 {EXAMPLE} 为 {file} 并填写 [telegram] token"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"无法读取配置文件 {file}（{exc.__class__.__name__}）：请检查文件权限与编码（UTF-8）"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"配置文件 {file} 不是有效的 TOML（{exc}）：写法见 {EXAMPLE}") from None
    return parse_config(data, env)


def require_token(config: Config) -> None:
    """Refuse to run against real Telegram without a token."""
    token = config.telegram.token
    if not token:
        raise ConfigError(
            "缺少 [telegram] token：在配置文件中填写 token，或设置环境变量 BOT_TOKEN"
        )
    if ":" not in token or any(ch.isspace() for ch in token):
        raise ConfigError(
            '配置项 [telegram] token 格式不对：应形如 "123456789:AAE..."（向 @BotFather 获取）'
        )
