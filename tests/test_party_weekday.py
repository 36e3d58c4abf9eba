"""主题党日 on a weekday of the month (issue 14 item 10): 每月第二个星期五 and 最后一个周五 work
in registration, /branch, /partyday, /status and the reminders, all through one rule."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import time_machine

from bot import jobs
from bot.reminders import sweep
from db import repo
from tests.conftest import SECRETARY, Harness
from tests.test_onboarding import ANSWERS, fill

TZ = ZoneInfo("Asia/Shanghai")


@time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=TZ), tick=True)
async def test_registration_and_screens_use_the_weekday_rule(harness: Harness) -> None:
    await fill(harness, upto=len(ANSWERS) - 1)
    for text, error in [
        ("第五个星期五", "⚠️ 不是每个月都有第五个星期几，请写“最后一个星期X”，或第一到第四个。"),
        (
            "每周五",
            "⚠️ 主题党日每月一次：请写每月的哪一天（例如 15），或“第二个星期五”“最后一个周五”。",
        ),
    ]:
        replies = await harness.send(text)
        error_line, _, question = replies[-1].partition("\n\n")
        assert error_line == error, text
        assert "每月哪一天是固定的主题党日" in question
    review = (await harness.send("每月第二个星期五"))[-1]
    assert "主题党日：每月第二个星期五" in review
    await harness.tap("✅ 确认登记")
    assert harness.app is not None
    [(_, branch)] = await repo.list_memberships(harness.app.database, SECRETARY)
    profile = branch.profile
    assert (profile.party_week, profile.party_weekday) == (2, 4)
    assert "主题党日：每月第二个星期五" in (await harness.send("/branch"))[-1]
    # December 2026 starts on a Tuesday: its second Friday is the 11th.
    card = (await harness.send("/partyday"))[-1]
    assert "12月（固定日 12月11日）" in card
    # /branch edit to the last Friday: audited as the rule's columns.
    await harness.send("/branch")
    replies = await harness.tap("✏️ 主题党日")
    assert "当前：每月第二个星期五" in replies[-1]
    replies = await harness.send("最后一个周五")
    assert "已修改主题党日" in replies[0]
    assert "主题党日：每月最后一个星期五" in replies[-1]
    [entry, *_] = await repo.audit_entries(harness.app.database, branch.id)
    assert entry.changes == {"party_week": [2, -1]}
    card = (await harness.send("/partyday"))[-1]
    assert "12月（固定日 12月25日）" in card
    # Typed again as a day: back to a fixed day.
    await harness.send("/branch")
    await harness.tap("✏️ 主题党日")
    replies = await harness.send("20")
    assert "主题党日：每月20日" in replies[-1]
    updated = await repo.get_branch(harness.app.database, branch.id)
    assert updated is not None
    assert (updated.profile.party_day, updated.profile.party_week) == (20, 0)


@time_machine.travel(datetime(2026, 12, 4, 10, 0, tzinfo=TZ), tick=True)
async def test_status_and_reminders_count_to_the_weekday(tmp_path: Path) -> None:
    h = Harness(tmp_path / "bot.sqlite3", reminders=True)
    await h.start()
    await h.register(party_day=1, party_week=2, party_weekday=4)
    card = (await h.send("/status"))[-1]
    # 12月11日 is the second Friday, 7 days after Friday the 4th: the 7-day reminder is today.
    assert "⏳ 主题党日：还有 7 天（12月11日前）" in card
    assert h.app is not None
    await sweep(h.app.database, date(2026, 12, 4), TZ)
    found = jobs.deliverer(h.app)
    assert found is not None
    await found.run_once()
    texts = [m["text"] for m in h.fake.bot_messages(SECRETARY) if "🔔" in (m.get("text") or "")]
    [party] = [t for t in texts if "主题党日" in t]
    assert "12月11日" in party
    await h.stop()
