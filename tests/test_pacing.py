"""The pacing of the bot's deliberate waits: production keeps Telegram's limits, real clock."""

from __future__ import annotations

import pytest

from bot.config import parse_config
from bot.pacing import Pacing


def test_production_runs_telegrams_limits_on_the_real_clock() -> None:
    pacing = parse_config({}, env={}).pacing
    assert pacing == Pacing()
    assert (pacing.speed, pacing.per_second, pacing.chat_interval) == (1.0, 29.0, 1.0)
    assert (pacing.delivery_interval, pacing.card_edit_interval) == (5.0, 4.0)
    assert pacing.real(4.0) == 4.0


def test_a_faster_clock_keeps_every_interval() -> None:
    fast = Pacing(speed=20)
    assert fast.card_edit_interval == Pacing().card_edit_interval
    assert fast.real(fast.card_edit_interval) == pytest.approx(0.2)
    assert fast.real(-1.0) == 0.0  # a deadline already passed is due at once
    with pytest.raises(ValueError):
        Pacing(speed=0)
