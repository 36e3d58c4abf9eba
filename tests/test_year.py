"""The simulated year of `make bench` (benchmarks/year.py), its first quarter: a secretary who
follows every reminder through the real flows is never late, at a few minutes a week."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from benchmarks.year import YEAR, simulate


async def test_a_quarter_of_following_every_reminder_leaves_nothing_late(tmp_path: Path) -> None:
    secretary, lateness = await simulate(tmp_path, until=date(YEAR, 3, 31))
    assert lateness.overdue == {}
    # January: the 主题党日 logged from its reminder (8 taps, 5 typed) and 党费 marked (1 tap).
    january = secretary.months[1]
    assert (january.taps, january.typed) == (8, 5)
    assert dict(january.actions) == {"log": 1, "mark": 1}
    # March closes the quarter: 党员大会 and 党课 logged, and two 谈心谈话 to keep an even pace.
    assert dict(secretary.months[3].actions) == {"log": 3, "mark": 1, "talk": 1}
    with sqlite3.connect(tmp_path / "year.sqlite3") as connection:
        kinds = [
            kind
            for (kind,) in connection.execute(
                "SELECT kind FROM meetings WHERE held_on >= ? AND deleted_at IS NULL",
                (f"{YEAR}-01-01",),
            )
        ]
    assert kinds.count("heart_to_heart_talk") == 2
    assert kinds.count("theme_party_day") == 3
    assert set(kinds) == {
        "theme_party_day",
        "member_meeting",
        "party_lecture",
        "heart_to_heart_talk",
    }
