"""The simulated year of `make bench` (benchmarks/year.py), its first half: a secretary who
follows every reminder through the real flows is never late, at a few minutes a week."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from benchmarks.year import YEAR, simulate


@pytest.mark.long
async def test_half_a_year_of_following_every_reminder_leaves_nothing_late(
    tmp_path: Path,
) -> None:
    secretary, lateness = await simulate(tmp_path, until=date(YEAR, 6, 30))
    assert lateness.overdue == {}
    # January: the 主题党日 logged from its reminder (7 taps, 5 typed) and 党费 marked in the
    # ledger the reminder opens (2 taps: the reminder's button, then 全部已交).
    january = secretary.months[1]
    assert (january.taps, january.typed) == (9, 5)
    assert dict(january.actions) == {"dues": 1, "log": 1}
    # March closes the quarter: 党员大会 and 党课 logged, and two 谈心谈话 to keep an even pace.
    assert dict(secretary.months[3].actions) == {"dues": 1, "log": 3, "talk": 1}
    # April: the applicant becomes an activist on the day the timeline card said she could.
    assert secretary.months[4].actions["activist"] == 1
    # May's 转正 reminder goes in the diary; on 20 June the 支部大会 discusses it (a 党员大会,
    # which is also the quarter's) and the 转正 is recorded.
    assert secretary.months[5].actions["plan"] == 1
    assert secretary.months[6].actions["confirm"] == 1
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
        statuses = dict(connection.execute("SELECT name, status FROM members"))
        steps = connection.execute(
            "SELECT m.name, s.step, s.done_on FROM recruitment_steps s"
            " JOIN members m ON m.id = s.member_id ORDER BY s.done_on"
        ).fetchall()
    assert kinds.count("heart_to_heart_talk") == 4
    assert kinds.count("theme_party_day") == 6
    assert kinds.count("member_meeting") == 2
    assert set(kinds) == {
        "theme_party_day",
        "member_meeting",
        "party_lecture",
        "heart_to_heart_talk",
    }
    # 9800 × 1.5% + 6500 × 1.5% + 5200 × 1.5% + 4800 × 1% + 3600 × 1% + 2800 × 0.5%
    # + 4500 × 1% + 3900 × 1% = 147 + 97.5 + 78 + 48 + 36 + 14 + 45 + 39 = ¥504.50 a month.
    months = ["2025-12", *(f"{YEAR}-{m:02d}" for m in range(1, 7))]
    assert paid == [(month, 8, 50450) for month in months]
    assert (statuses["赵磊"], statuses["孙悦"], statuses["周婷"]) == (
        "formal",
        "probationary",
        "activist",
    )
    # The roster's dates (周婷's application, 赵磊's admission) are kept as steps once the
    # next step is recorded.
    assert steps == [
        ("赵磊", "admitted", "2025-06-20"),
        ("周婷", "applied", "2025-10-20"),
        ("周婷", "talked", "2025-11-05"),
        ("周婷", "activist", f"{YEAR}-04-20"),
        ("赵磊", "confirmed", f"{YEAR}-06-20"),
    ]
