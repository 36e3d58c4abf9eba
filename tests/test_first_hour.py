"""Issue 14, a secretary's first hour: every screen agrees and nothing is silently wrong."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import time_machine

from tests.conftest import Harness

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parent.parent


def test_pyproject_uses_the_spdx_license_form() -> None:
    """A license table makes setuptools ≥ 77 print pages of deprecation warnings."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT"
    assert project["build-system"]["requires"] == ["setuptools>=77"]


@time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=TZ), tick=True)
async def test_status_says_today_is_the_deadline(harness: Harness) -> None:
    await harness.register()
    card = (await harness.send("/status"))[-1]
    assert "⏳ 党费收缴：今天截止（11月30日）" in card
    assert "还有 0 天" not in card
