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
    # January: the 主题党日 logged from its reminder (7 taps, 5 typed) and 党费 marked in the
    # ledger the reminder opens (2 taps: the reminder's button, then 全部已交).
    january = secretary.months[1]
    assert (january.taps, january.typed) == (9, 5)
    assert dict(january.actions) == {"dues": 1, "log": 1}
    # March closes the quarter: 党员大会 and 党课 logged, and two 谈心谈话 to keep an even pace.
    assert dict(secretary.months[3].actions) == {"dues": 1, "log": 3, "talk": 1}
    with sqlite3.connect(tmp_path / "year.sqlite3") as connection:
        kinds = [
            kind
            for (kind,) in connection.execute(
                "SELECT kind FROM meetings WHERE held_on >= ? AND deleted_at IS NULL",
                (f"{YEAR}-01-01",),
            )
        ]
        paid = connection.execute(
            "SELECT month, COUNT(*), SUM(paid_fen) FROM dues_payments GROUP BY month"
        ).fetchall()
    assert kinds.count("heart_to_heart_talk") == 2
    assert kinds.count("theme_party_day") == 3
    # Eight party members paid each month, from the amounts the bot computed from their bases.
    # 9800 × 1.5% + 6500 × 1.5% + 5200 × 1.5% + 4800 × 1% + 3600 × 1% + 2800 × 0.5%
    # + 4500 × 1% + 3900 × 1% = 147 + 97.5 + 78 + 48 + 36 + 14 + 45 + 39 = ¥504.50 a month.
    assert paid == [(f"{m}", 8, 50450) for m in ("2025-12", "2026-01", "2026-02", "2026-03")]
    assert set(kinds) == {
        "theme_party_day",
        "member_meeting",
        "party_lecture",
        "heart_to_heart_talk",
    }
