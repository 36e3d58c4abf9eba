"""/status and reminders end to end: the sweep decides, the outbox delivers once, buttons work,
a meeting logged after its reminder was queued cancels it, restarts never double a reminder."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot import jobs, reminders
from bot.reminders import sweep
from db import meetings, outbox, settings
from db.models import Meeting
from tests.conftest import OTHER, SECRETARY, Harness

TZ = ZoneInfo("Asia/Shanghai")


async def _deliver(h: Harness) -> None:
    assert h.app is not None
    found = jobs.deliverer(h.app)
    assert found is not None
    await found.run_once()


def _reminders(h: Harness, chat: int = SECRETARY) -> list[str]:
    return [m["text"] for m in h.fake.bot_messages(chat) if "🔔" in (m.get("text") or "")]


@time_machine.travel(datetime(2026, 12, 24, 10, 0, tzinfo=TZ), tick=True)
async def test_status_shows_the_periods_and_logs_in_one_tap(harness: Harness) -> None:
    branch = await harness.register(has_committee=True)
    assert harness.app is not None
    await meetings.create_meeting(
        harness.app.database,
        user_id=SECRETARY,
        branch_id=branch.id,
        meeting=Meeting(
            kind="member_meeting", held_on=date(2026, 12, 3), also_counts_as=("party_lecture",)
        ),
        draft_key="m",
    )
    card = (await harness.send("/status"))[-1]
    assert "本月" in card and "本季度" in card and "本年度" in card
    assert "✅ 党员大会：12月3日已完成" in card and "✅ 党课：12月3日已完成" in card
    assert "⏳ 支委会：还有 7 天" in card and "⏳ 组织生活会" in card
    assert "党小组会" in card.split("不跟踪")[-1]
    assert "2026年全年" in card
    assert "📝 记支委会" in harness.buttons()
    replies = await harness.tap("📝 记支委会")
    assert "记录支委会" in replies[0] and "哪一天开的" in replies[-1]
    await harness.send("/cancel")
    # 党费: marked collected from /status.
    await harness.send("/status")
    await harness.tap("✅ 本月党费已收齐")
    assert "已记下" in harness.callback_answers()[-1]
    card = (await harness.send("/status"))[-1]
    assert "✅ 党费收缴" in card


@time_machine.travel(datetime(2026, 12, 24, 10, 0, tzinfo=TZ), tick=True)
async def test_sweep_delivers_once_with_buttons_and_logging_cancels(tmp_path: Path) -> None:
    h = Harness(tmp_path / "bot.sqlite3", reminders=True)
    await h.start()
    branch = await h.register(has_committee=True)
    assert h.app is not None
    database = h.app.database
    stats = await sweep(database, date(2026, 12, 24), TZ)
    assert stats.notices >= 2  # 支委会 and 党员大会, 7 days before 31 Dec
    again = await sweep(database, date(2026, 12, 24), TZ)
    assert again.enqueued == 0
    await _deliver(h)
    texts = _reminders(h)
    assert any("支委会" in t for t in texts) and any("党员大会" in t for t in texts)
    count = len(texts)
    # A restart runs the sweep again at start: nothing is sent twice.
    await h.stop()
    h2 = Harness(tmp_path / "bot.sqlite3", fake=h.fake, reminders=True)
    await h2.start()
    await _deliver(h2)
    assert len(_reminders(h2)) == count
    # Snooze one: acknowledged, remembered.
    message = next(m for m in h.fake.bot_messages(SECRETARY) if "支委会" in (m.get("text") or ""))
    await h2.tap_data(f"rm:sz:{branch.id}:committee_meeting:2026-12-01:1", message["message_id"])
    assert "12月25日再提醒" in h2.callback_answers()[-1]
    assert h2.app is not None
    snoozed = await settings.snoozes(h2.app.database, [branch.id])
    assert snoozed[(branch.id, "committee_meeting", date(2026, 12, 1))] == date(2026, 12, 25)
    # Someone outside the branch cannot snooze it.
    await h2.send("/help", user=OTHER)
    await h2.tap_data(f"rm:sz:{branch.id}:committee_meeting:2026-12-01:3", user=OTHER)
    assert "权限" in h2.callback_answers()[-1]
    await h2.stop()


async def test_meeting_logged_after_queueing_cancels_the_reminder(tmp_path: Path) -> None:
    with time_machine.travel(datetime(2026, 12, 24, 7, 0, tzinfo=TZ), tick=True):
        h = Harness(tmp_path / "bot.sqlite3", reminders=True)
        await h.start()
        branch = await h.register(has_committee=True)
        assert h.app is not None
        await sweep(h.app.database, date(2026, 12, 24), TZ)
        pending = await outbox.counts(h.app.database)
        assert pending.get("pending", 0) >= 2
        # Logged at 07:30, before the 09:00 reminders go out.
        await meetings.create_meeting(
            h.app.database,
            user_id=SECRETARY,
            branch_id=branch.id,
            meeting=Meeting(kind="committee_meeting", held_on=date(2026, 12, 23)),
            draft_key="c",
        )
        await h.send("/log")
        await h.tap("支委会")
        await h.tap("今天")
        await h.send("会议室")
        await h.send("张三")
        await h.send("3 3")
        await h.send("议题")
        await h.send("内容")
        await h.tap("跳过（没有决议）")
        await h.tap("没有照片，完成")
        await h.tap("✅ 保存记录")
    with time_machine.travel(datetime(2026, 12, 24, 9, 1, tzinfo=TZ), tick=True):
        await _deliver(h)
        texts = _reminders(h)
        assert texts and not any("支委会" in t for t in texts)
        assert any("党员大会" in t for t in texts)
        await h.stop()


async def test_missed_reminders_are_reported_not_sent_late(tmp_path: Path) -> None:
    with time_machine.travel(datetime(2026, 12, 24, 7, 0, tzinfo=TZ), tick=True):
        h = Harness(tmp_path / "bot.sqlite3")
        await h.start()
        await h.register(has_committee=True)
        assert h.app is not None
        await sweep(h.app.database, date(2026, 12, 24), TZ)
        await h.stop()
    # The bot was down all day: at 20:00 the 09:00 reminders are past their grace period.
    with time_machine.travel(datetime(2026, 12, 24, 20, 0, tzinfo=TZ), tick=True):
        h2 = Harness(tmp_path / "bot.sqlite3", fake=h.fake, reminders=True)
        await h2.start()
        await _deliver(h2)
        assert _reminders(h2) == []
        card = (await h2.send("/status"))[-1]
        assert "没能按时发出" in card
        await h2.stop()


async def test_one_branch_that_cannot_be_decided_does_not_stop_the_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with time_machine.travel(datetime(2026, 12, 24, 7, 0, tzinfo=TZ), tick=True):
        h = Harness(tmp_path / "bot.sqlite3")
        await h.start()
        broken = await h.register(has_committee=True)
        fine = await h.register(user=OTHER, has_committee=True)
        assert h.app is not None
        real = reminders.notices_for

        def notices_for(branch_id: int, *args: Any, **kwargs: Any) -> Any:
            if branch_id == broken.id:
                raise ValueError("a fault in one branch's data")
            return real(branch_id, *args, **kwargs)

        monkeypatch.setattr(reminders, "notices_for", notices_for)
        await sweep(h.app.database, date(2026, 12, 24), TZ)
        rows = await h.app.database.fetchall("SELECT DISTINCT branch_id FROM outbox")
        assert [row[0] for row in rows] == [fine.id]
        # The branch left undecided is decided at the next sweep, once it can be.
        monkeypatch.setattr(reminders, "notices_for", real)
        await sweep(h.app.database, date(2026, 12, 24), TZ)
        rows = await h.app.database.fetchall(
            "SELECT DISTINCT branch_id FROM outbox ORDER BY branch_id"
        )
        assert [row[0] for row in rows] == sorted([broken.id, fine.id])
        await h.stop()
