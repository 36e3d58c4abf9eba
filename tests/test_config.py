"""Configuration: defaults, every key, and one clear line with exit code 2 for each mistake."""

from __future__ import annotations

import gc
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import certifi
import httpx
import pytest

from bot import tls
from bot.cli import main
from bot.config import (
    DEFAULT_API_BASE_URL,
    ConfigError,
    load_config,
    parse_config,
    require_token,
)

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_without_a_file() -> None:
    config = load_config(None, env={})
    assert config.telegram.api_base_url == DEFAULT_API_BASE_URL
    assert config.storage.database == "data/bot.sqlite3"
    assert config.bot.timezone == "Asia/Shanghai"
    assert config.bot.admin_ids == ()
    assert config.telegram.rate_limit is True


def test_example_config_is_valid_and_documents_every_key() -> None:
    example = ROOT / "config.example.toml"
    config = load_config(example, env={})
    assert config.telegram.token == ""
    text = example.read_text(encoding="utf-8")
    for key in (
        "token",
        "api_base_url",
        "api_base_file_url",
        "proxy",
        "rate_limit",
        "database",
        "timezone",
        "admin_ids",
        "log_level",
    ):
        assert f"{key} =" in text, key


def test_full_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[telegram]\ntoken = "1:abc"\napi_base_url = "http://127.0.0.1:8081/bot"\n'
        'api_base_file_url = "http://127.0.0.1:8081/file/bot"\nproxy = "socks5://127.0.0.1:1"\n'
        '[storage]\ndatabase = "x/y.sqlite3"\n'
        '[bot]\ntimezone = "Asia/Urumqi"\nadmin_ids = [5, 6]\nlog_level = "debug"\n',
        encoding="utf-8",
    )
    config = load_config(path, env={})
    assert config.telegram.token == "1:abc"
    assert config.telegram.api_base_url == "http://127.0.0.1:8081/bot"
    assert config.telegram.proxy == "socks5://127.0.0.1:1"
    assert config.database_path == Path("x/y.sqlite3")
    assert config.bot.admin_ids == (5, 6)
    assert config.bot.log_level == "DEBUG"


def test_environment_token_wins() -> None:
    config = parse_config({"telegram": {"token": "1:file"}}, env={"BOT_TOKEN": "2:env"})
    assert config.telegram.token == "2:env"


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ({"telegrm": {}}, "[telegrm]"),
        ({"telegram": {"tokn": "x"}}, "tokn"),
        ({"telegram": "x"}, "[telegram]"),
        ({"telegram": {"token": 5}}, "token"),
        ({"telegram": {"api_base_url": "ftp://x"}}, "api_base_url"),
        ({"telegram": {"api_base_file_url": ""}}, "api_base_file_url"),
        ({"telegram": {"proxy": "nonsense"}}, "proxy"),
        ({"telegram": {"rate_limit": "yes"}}, "rate_limit"),
        ({"storage": {"database": 3}}, "database"),
        ({"storage": {"database": "  "}}, "database"),
        ({"bot": {"timezone": "Mars/Olympus"}}, "timezone"),
        ({"bot": {"admin_ids": "123"}}, "admin_ids"),
        ({"bot": {"admin_ids": [1, "2"]}}, "admin_ids"),
        ({"bot": {"admin_ids": [True]}}, "admin_ids"),
        ({"bot": {"log_level": "LOUD"}}, "log_level"),
    ],
)
def test_each_mistake_names_the_key(data: dict[str, object], names: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, env={})
    message = str(caught.value)
    assert names in message
    assert "\n" not in message


@pytest.mark.parametrize("token", ["", "abc", "12 34:x"])
def test_run_needs_a_real_looking_token(token: str) -> None:
    with pytest.raises(ConfigError, match="token"):
        require_token(parse_config({"telegram": {"token": token}}, env={}))


def test_malformed_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[telegram\ntoken = ", encoding="utf-8")
    assert main(["--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "不是有效的 TOML" in err
    assert len(err.splitlines()) == 1


def test_missing_file_and_missing_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    assert main(["run", "--config", str(tmp_path / "none.toml")]) == 2
    assert "找不到配置文件" in capsys.readouterr().err
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    assert main(["--config", str(empty)]) == 2
    assert "BOT_TOKEN" in capsys.readouterr().err


def test_module_entry_point_exits_2_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[bot]\ntimezone = "Nowhere/Land"\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "[bot] timezone" in result.stderr


def test_main_turns_collection_back_on_after_the_imports(tmp_path: Path) -> None:
    # `python -m bot` imports with the collector off (bot/__main__.py); main turns it back on
    # before anything else runs, whatever the command and even when it ends at once.
    path = tmp_path / "bad.toml"
    path.write_text("[telegram\n", encoding="utf-8")
    gc.disable()
    try:
        assert main(["--config", str(path)]) == 2
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()


def test_the_ca_bundle_read_ahead_is_the_one_httpx_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = httpx.create_ssl_context()
    # Read on the thread of its own (not in place when asked for), once.
    threads: list[str] = []
    read = tls._read

    def noted(cafile: str | None, capath: str | None) -> ssl.SSLContext:
        threads.append(threading.current_thread().name)
        return read(cafile, capath)

    monkeypatch.setattr(tls, "_read", noted)
    tls.read_ahead()
    tls.read_ahead()
    ahead = tls.context()
    assert threads == ["tls-read-ahead"]
    assert ahead.cert_store_stats() == default.cert_store_stats()
    assert ahead.cert_store_stats()["x509_ca"] > 100
    assert ahead.verify_mode is ssl.CERT_REQUIRED and ahead.check_hostname
    # Taken once: the next Application reads its own.
    again = tls.context()
    assert again is not ahead and again.cert_store_stats() == default.cert_store_stats()
    assert threads == ["tls-read-ahead", "MainThread"]
    # A deployer's own bundle wins, as in httpx.
    bundle = certifi.contents()
    first = bundle[: bundle.index("-----END CERTIFICATE-----") + 26]
    (tmp_path / "ca.pem").write_text(first, encoding="ascii")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    tls.read_ahead()
    assert tls.context().cert_store_stats()["x509_ca"] == 1
    assert tls.context().cert_store_stats()["x509_ca"] == 1
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    tls.read_ahead()
    with pytest.raises(FileNotFoundError):
        tls.context()
