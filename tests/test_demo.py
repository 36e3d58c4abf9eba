"""`make demo`: a newcomer completes registration in the terminal, typing numbers to tap."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

# The rest of a registration after its first answer, typing numbers to tap.
REGISTRATION = ["演示协会", "4", "1", "=5", "=0", "2", "2", "4", "1", "/branch"]


def test_ctrl_c_ends_the_demo_at_once(tmp_path: Path) -> None:
    """Ctrl-C while the demo waits for a line: it exits without waiting for Enter."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--database", str(tmp_path / "demo.sqlite3")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert demo.stdout is not None
        # The banner's last line: the demo is now waiting for the user to type.
        while "先发送 /start 试试" not in demo.stdout.readline():
            assert demo.poll() is None
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=20) == 0  # stdin stays open: input() would still block here
        assert demo.stderr is not None
        errors = demo.stderr.read()
        assert "Traceback" not in errors
        # The terminal is the chat: python-telegram-bot's start and stop are not news to it.
        assert " INFO " not in errors
    finally:
        demo.kill()
        demo.wait()


@pytest.mark.long
def test_a_newcomer_registers_across_a_restart_of_the_demo(tmp_path: Path) -> None:
    """Registration begun in one run of the demo is finished in the next.

    Each run of the emulator numbered updates from 1 again: the inbox and the open form took
    the new ones for replays of the last run's, and the restarted demo answered nothing."""
    database = tmp_path / "demo.sqlite3"

    def run(script: list[str]) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "demo", "--database", str(database)],
            input="\n".join([*script, ":quit", ""]),
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        return result.stdout

    run(["/start", "演示支部"])
    out = run([*REGISTRATION, "/help"])
    assert "单位属于哪一类？请点选：" in out and "[1] 社会团体" in out
    assert "已登记：演示支部" in out
    assert "组建方式：单独组建" in out
    assert "正式党员：5 人" in out
    assert "支书助手能做什么" in out.split("已登记")[-1]
    assert database.exists()
