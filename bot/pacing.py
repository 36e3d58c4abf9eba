"""The bot's deliberate waits (Telegram's limits) and the clock they are measured on.

Production runs on the real clock with Telegram's limits. The tests keep every one of these
values and every ratio between them, and only run the clock faster (`speed`): a 4-second edit
interval, a 1-second gap per chat and a 429's "retry after 3" all pass `speed` times sooner, the
emulator's flood limits count on the same clock, so what happens in what order is unchanged.
"""

from __future__ import annotations

import asyncio
import time

import msgspec


class Pacing(msgspec.Struct, frozen=True):
    """Intervals in seconds of this clock; `speed` clock seconds pass per real second."""

    speed: float = 1.0
    # Outbox sends spaced evenly at this rate (None: only the rate limiter paces them); 29 leaves
    # a little room under Telegram's 30 a second for replies to users chatting meanwhile.
    per_second: float | None = 29.0
    # At most one outbox message per chat in this time (Telegram's per-chat limit).
    chat_interval: float = 1.0
    # How often the delivery job looks at the outbox.
    delivery_interval: float = 5.0
    # Between two edits of one sign-in card: 15 a minute, under a group's 20.
    card_edit_interval: float = 4.0

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError("the clock's speed must be positive")

    def now(self) -> float:
        """The current time on this clock (monotonic, in clock seconds)."""
        return time.monotonic() * self.speed

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock."""
        await asyncio.sleep(self.real(seconds))

    def real(self, seconds: float) -> float:
        """How many real seconds `seconds` of this clock take (for the job queue)."""
        return max(seconds, 0.0) / self.speed
