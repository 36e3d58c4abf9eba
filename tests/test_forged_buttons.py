"""Every button prefix of the bot, tapped with forged or absurd data (a 30-digit id, year 0 or
99999, negative numbers, a month 13, empty parts): refused as an expired button or simply
shown, never an error."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import time_machine

from tests.conftest import Harness

HANDLERS = Path(__file__).resolve().parent.parent / "bot" / "handlers"
BIG = "9" * 30
PAYLOADS = (BIG, f"1:{BIG}", f"{BIG}:1", "0", "99999", "-1", "1:-1", "1:99999-13", "1:0000-00",
            "1:2026-13", "", "1::", f"1:1:{BIG}", "x:y:z", f"{{b}}:{BIG}", "{b}:99999",
            "{b}:0", "{b}:0000-00", "{b}:2026-13", "{b}:-5", f"{{b}}:1:{BIG}", "{b}:x:y",
            f"{{b}}:{BIG}:{BIG}")  # fmt: skip


def _prefixes() -> list[str]:
    found = set()
    for path in HANDLERS.glob("*.py"):
        for match in re.finditer(r'pattern=r"\^\(?([a-z]+:[a-z]*)', path.read_text("utf-8")):
            found.add(match.group(1).rstrip(":"))
    return sorted(found)


@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_forged_data_on_every_button_is_never_an_error(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    branch = await harness.register(has_committee=True)
    await harness.send("/help")
    prefixes = _prefixes()
    assert len(prefixes) > 40
    with caplog.at_level(logging.ERROR):
        for prefix in prefixes:
            for payload in PAYLOADS:
                data = f"{prefix}:{payload}".replace("{b}", str(branch.id))[:64]
                replies = await harness.tap_data(data)
                assert not any("系统出错" in r for r in replies), data
                if harness.app is not None and harness.app.forms.active(1001):
                    await harness.send("/cancel")
                    if "放弃，不保存" in harness.buttons():
                        await harness.tap("🗑 放弃，不保存")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
