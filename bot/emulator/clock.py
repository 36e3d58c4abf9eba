"""A clock that tests and benchmarks move by hand, for the timings the bot reads from a clock."""

from __future__ import annotations


class ManualClock:
    """Monotonic seconds that move only when told: by `advance`, or by `step` at each reading.

    Scripted users type far faster than people; a clock that steps a minute per reading lets
    them through the flood limiter as if they typed at a human pace, and a clock that stands
    still (step 0) lets a test flood deliberately and then let exactly N seconds pass.
    """

    def __init__(self, start: float = 0.0, step: float = 0.0) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        """The current reading (then the clock moves on by `step`)."""
        reading = self.now
        self.now += self.step
        return reading

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass."""
        self.now += seconds
