"""Every button route of the bot (bot.buttons), tapped with forged data (a 30-digit id, parts
missing or added, words that are no value of the field) and with well-formed data naming rows
that do not exist or belong to nobody: refused as an expired button or simply shown, never an
error. The codec's own checks are in test_callbacks.py."""

from __future__ import annotations

import logging

import pytest
import time_machine

from bot.callbacks import ID, ROUTES, Route
from tests.conftest import Harness

EXPIRED = "这个按钮已过期，请按最新的消息操作。"


def _forged(route: Route) -> list[str]:
    if not route.fields:
        return [f"{route.prefix}:1"]
    widest = [str(f.widest) for f in route.fields]
    return [
        f"{route.prefix}:{'9' * 30}",
        ":".join([route.prefix, *widest[:-1]]),
        ":".join([route.prefix, *widest, "1"]),
        ":".join([route.prefix, *widest[:-1], "-1"]),
    ]


def _well_formed(route: Route, branch_id: int) -> list[str]:
    first = [branch_id if f is ID else f.widest for f in route.fields]
    return [route(*first), route(*(f.widest for f in route.fields))]


FAMILIES = sorted({prefix.split(":")[0] for prefix in ROUTES})


def test_every_family_is_tapped() -> None:
    assert len(ROUTES) > 100 and len(FAMILIES) > 15


@pytest.mark.parametrize("family", FAMILIES)
@time_machine.travel("2026-11-23 10:00 +08:00", tick=True)
async def test_forged_and_absent_data_on_every_button_is_never_an_error(
    harness: Harness, caplog: pytest.LogCaptureFixture, family: str
) -> None:
    branch = await harness.register(has_committee=True)
    await harness.send("/help")
    routes = [r for p, r in ROUTES.items() if p.split(":")[0] == family]
    with caplog.at_level(logging.ERROR):
        for route in routes:
            for data in _forged(route):
                answers = len(harness.callback_answers())
                replies = await harness.tap_data(data)
                assert replies == [], data
                assert harness.callback_answers()[answers:] == [EXPIRED], data
            for data in _well_formed(route, branch.id):
                replies = await harness.tap_data(data)
                assert not any("系统出错" in r for r in replies), data
                if harness.app is not None and harness.app.forms.active(1001):
                    await harness.send("/cancel")
                    if "🗑 放弃，不保存" in harness.buttons():
                        await harness.tap("🗑 放弃，不保存")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
