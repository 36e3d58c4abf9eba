"""/reminders and /remind end to end: every setting changed from a phone, bad input answered with
a second chance, roles checked, changes re-deciding today's reminders, custom reminders created,
listed, edited, paused and deleted, blocked users released when they write again, and a group
that becomes a supergroup keeping its reminders."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot import jobs
from bot.branch_profile import InvalidAnswer
from bot.recurrence import RuleError, parse_time
from bot.reminder_input import split_rule
from bot.reminders import sweep
from db import custom_reminders, outbox, repo, settings
from tests.conftest import OTHER, SECRETARY, Harness

TZ = ZoneInfo("Asia/Shanghai")
THIRD = 3003
NOW = datetime(2026, 12, 24, 7, 0, tzinfo=TZ)  # a Thursday


def _notices(h: Harness) -> list[str]:
    """The reminders (not the settings cards) the secretary received."""
    texts = [m.get("text") or "" for m in h.fake.bot_messages(SECRETARY)]
    return [t for t in texts if "🔔" in t and "提醒设置" not in t]


async def _deliver(h: Harness) -> None:
    assert h.app is not None
    found = jobs.deliverer(h.app)
    assert found is not None
    await found.run_once()


@time_machine.travel(NOW, tick=True)
async def test_settings_card_and_time_with_second_chances(harness: Harness) -> None:
    branch = await harness.register(has_committee=True)
    card = (await harness.send("/reminders"))[-1]
    assert "每天 09:00" in card and "到期前 7、2 天" in card
    assert "支委会：每月" in card and "党小组会：本支部不适用" in card
    assert "未填写上次选举日期" in card
    await harness.tap("🕘 提醒时间")
    for bad, message in (
        ("23:00", "晚上9点到早上8点不打扰"),
        ("<b>&", "没看懂这个时间"),
        ("25点", "时间不对"),
        ("", "没看懂这个时间"),
    ):
        replies = await harness.send(bad or " ")
        assert message in replies[-1], (bad, replies)
    replies = await harness.send("下午3点")
    assert "✅ 已保存" in replies[0] and "每天 15:00" in replies[-1]
    await harness.tap("🕘 提醒时间")
    await harness.tap("08:30")
    assert "每天 08:30" in harness.fake.bot_messages(SECRETARY)[-1]["text"]
    assert harness.app is not None
    saved = await settings.get_settings(harness.app.database, branch.id)
    assert saved.reminder_time == "08:30"
    # Each change is audited.
    rows = await harness.app.database.fetchall(
        "SELECT changes FROM audit_log WHERE entity = 'settings' ORDER BY id"
    )
    assert '"reminder_time": ["09:00", "15:00"]' in rows[0]["changes"]


@time_machine.travel(NOW, tick=True)
async def test_lead_days_places_and_obligations(harness: Harness) -> None:
    branch = await harness.register(has_committee=True)
    assert harness.app is not None
    database = harness.app.database
    await harness.send("/reminders")
    await harness.tap("⏳ 提前天数")
    for bad in ("0 99", "一周", "1 2 3 4", "-1"):
        assert "1 到 30 之间" in (await harness.send(bad))[-1], bad
    assert "到期前 5、1 天" in (await harness.send("5，1天"))[-1]
    await harness.tap("⏳ 提前天数")
    assert "不提前，只在到期日" in (await harness.tap("不提前，只在到期日"))[-1]
    assert (await settings.get_settings(database, branch.id)).lead_days == ()
    # Private messages off; the group button only shows once a group is bound.
    assert "群里提醒" not in " ".join(harness.buttons())
    await harness.tap("✅ 私聊提醒书记、副书记")
    assert "不发私聊" in harness.fake.bot_messages(SECRETARY)[-1]["text"]
    assert not (await settings.get_settings(database, branch.id)).to_private
    # Obligations: 党课 monthly, 党费 muted, 民主评议 not tracked.
    await harness.tap("📋 提醒哪些事项")
    replies = await harness.tap("党课 · 每季度")
    assert "一般做法" in replies[-1] and "默认：每季度" in replies[-1]
    await harness.tap("每月")
    await harness.tap("📋 提醒哪些事项")
    await harness.tap("党费收缴 · 每月")
    await harness.tap("🔕 不发提醒（清单里仍显示）")
    await harness.tap("📋 提醒哪些事项")
    await harness.tap("民主评议党员 · 每年")
    card = (await harness.tap("不跟踪"))[-1]
    assert "党课：每月 ✏️" in card and "党费收缴：每月（不提醒） ✏️" in card
    assert "民主评议党员：不跟踪" in card
    saved = await settings.get_settings(database, branch.id)
    assert saved.frequencies == {"party_lecture": "monthly", "member_appraisal": "off"}
    assert saved.muted == ("party_dues",)
    status = (await harness.send("/status"))[-1]
    assert "不跟踪：党小组会、民主评议党员" in status and "⏳ 民主评议" not in status
    # Back to the default: the override disappears.
    await harness.send("/reminders")
    await harness.tap("📋 提醒哪些事项")
    await harness.tap("✏️ 党课 · 每月")
    await harness.tap("每季度")
    saved = await settings.get_settings(database, branch.id)
    assert saved.frequencies == {"member_appraisal": "off"}


@time_machine.travel(NOW, tick=True)
async def test_term_dates(harness: Harness) -> None:
    branch = await harness.register()
    await harness.send("/reminders")
    await harness.tap("🗳 换届信息")
    assert "没有这一天" in (await harness.send("2024年2月30日"))[-1]
    assert "还没到" in (await harness.send("2027-01-01"))[-1]
    assert "任期几年" in (await harness.send("2024年3月15日"))[-1]
    assert "1 到 5 之间" in (await harness.send("8"))[-1]
    card = (await harness.tap("任期3年"))[-1]
    assert "上次选举 2024年3月15日（周五），任期 3 年，届满 2027年3月15日" in card
    assert harness.app is not None
    saved = await settings.get_settings(harness.app.database, branch.id)
    assert saved.elected_on == date(2024, 3, 15) and saved.term_years == 3
    await harness.tap("🗳 换届信息")
    card = (await harness.tap("🗑 清除换届信息"))[-1]
    assert "未填写上次选举日期" in card
    # /cancel in the middle leaves everything as it was.
    await harness.tap("🕘 提醒时间")
    assert "已取消" in (await harness.send("/cancel"))[-1]
    assert (await settings.get_settings(harness.app.database, branch.id)).reminder_time == "09:00"


@time_machine.travel(NOW, tick=True)
async def test_roles_and_forged_buttons(harness: Harness) -> None:
    branch = await harness.register()
    other = await harness.register(user=OTHER, key="other")
    assert harness.app is not None
    database = harness.app.database
    harness.fake.add_user(THIRD, first_name="查看")
    await repo.add_membership(
        database, actor_id=SECRETARY, user_id=THIRD, branch_id=branch.id, role="viewer"
    )
    card = (await harness.send("/reminders", user=THIRD))[-1]
    assert "只有书记、副书记可以修改" in card
    assert "🕘 提醒时间" not in harness.buttons(THIRD)
    for data in (f"rs:priv:{branch.id}:1", f"rs:time:{branch.id}", f"rs:of:{branch.id}:"
                 "party_lecture:monthly", f"cm:new:{branch.id}"):  # fmt: skip
        await harness.tap_data(data, user=THIRD)
        assert "权限" in harness.callback_answers()[-1], data
    # The secretary of another branch cannot touch this one, nor read its reminders.
    await harness.send("/reminders", user=OTHER)
    for data in (f"rs:priv:{branch.id}:0", f"rs:show:{branch.id}", f"cm:l:{branch.id}"):
        await harness.tap_data(data, user=OTHER)
        assert "权限" in harness.callback_answers()[-1], data
    assert (await settings.get_settings(database, branch.id)).to_private
    # Garbage buttons are refused as expired.
    for data in (f"rs:of:{other.id}:party_lecture:weekly", f"rs:ob:{other.id}:nothing",
                 f"rs:ty:{other.id}:9", "rs:priv:x"):  # fmt: skip
        await harness.tap_data(data, user=OTHER)
        assert "过期" in harness.callback_answers()[-1] or "失效" in harness.callback_answers()[-1]
    # Groups: /reminders is for private chats.
    harness.fake.add_group(-500, "支部群")
    replies = await harness.send("/reminders", user=SECRETARY, chat_id=-500)
    assert "私聊" in replies[-1]


async def test_changing_the_time_decides_todays_reminders_again(tmp_path: Path) -> None:
    with time_machine.travel(NOW, tick=True):
        h = Harness(tmp_path / "bot.sqlite3", reminders=True)
        await h.start()
        branch = await h.register(has_committee=True)
        assert h.app is not None
        database = h.app.database
        await sweep(database, date(2026, 12, 24), TZ)
        key = f"ob:{branch.id}:committee_meeting:2026-12-01:lead7:{SECRETARY}"
        row = await outbox.by_key(database, key)
        assert row is not None and row.not_before.astimezone(TZ).hour == 9
        await h.send("/reminders")
        await h.tap("🕘 提醒时间")
        await h.send("8:30")
        row = await outbox.by_key(database, key)
        assert row is not None and row.state == "pending"
        assert row.not_before.astimezone(TZ).strftime("%H:%M") == "08:30"
        # Muting it removes today's notice; nothing of it is sent.
        await h.send("/reminders")
        await h.tap("📋 提醒哪些事项")
        await h.tap("支委会 · 每月")
        await h.tap("🔕 不发提醒（清单里仍显示）")
        assert await outbox.by_key(database, key) is None
    with time_machine.travel(datetime(2026, 12, 24, 9, 1, tzinfo=TZ), tick=True):
        await _deliver(h)
        texts = _notices(h)
        assert any("党员大会" in t for t in texts)
        assert not any("支委会" in t for t in texts)
        # Sent ones are never sent again after another change.
        await h.send("/reminders")
        await h.tap("⏳ 提前天数")
        await h.tap("提前7天和2天")
        await _deliver(h)
        assert _notices(h) == texts
    await h.stop()


@time_machine.travel(NOW, tick=True)
async def test_custom_reminder_lifecycle(harness: Harness) -> None:
    branch = await harness.register()
    assert harness.app is not None
    database = harness.app.database
    listing = (await harness.send("/remind"))[-1]
    assert "还没有自定义提醒" in listing
    await harness.tap("➕ 新建提醒")
    for bad, message in (
        ("昨天 9点", "已经过了"),
        ("今天 6:00", "晚上9点到早上8点不打扰"),
        ("2月30日", "没有这一天"),
        ("随便什么时候", "没看懂什么时候提醒"),
        ("每月5日 25:00", "时间不对"),
    ):
        assert message in (await harness.send(bad))[-1], bad
    assert "提醒什么" in (await harness.send("每月31号 10:00"))[-1]
    assert "太长" in (await harness.send("党" * 201))[-1]
    saved = (await harness.send("<b>收党费</b> & 报表 🚩"))[-1]
    assert "每月最后一天 10:00" in saved and "<b>收党费</b> & 报表 🚩" in saved
    assert "2026年12月31日 10:00" in saved
    found = await custom_reminders.list_for(database, branch.id)
    assert len(found) == 1 and found[0].day_of_month == 31 and found[0].text.startswith("<b>")
    # Listed, opened, paused, edited, deleted.
    listing = (await harness.send("/remind"))[-1]
    assert "1. 每月最后一天 10:00：<b>收党费</b> & 报表 🚩" in listing
    await harness.tap("1")
    card = (await harness.tap("⏸ 暂停"))[-1]
    assert "已暂停" in card and "▶️ 恢复" in harness.buttons()
    await harness.tap("🕘 改时间")
    card = (await harness.send("每周五 9:00"))[-1]
    assert "每周五 09:00" in card
    await harness.tap("✏️ 改内容")
    card = (await harness.send("交党费"))[-1]
    assert "交党费" in card
    reminder = (await custom_reminders.list_for(database, branch.id))[0]
    assert reminder.rule == "weekly" and reminder.weekday == 4 and reminder.paused
    await harness.tap("▶️ 恢复")
    await harness.tap("🗑 删除")
    await harness.tap("不删了")
    assert await custom_reminders.get(database, reminder.id) is not None
    await harness.tap("🗑 删除")
    assert "已删除" in (await harness.tap("⚠️ 确认删除"))[-1]
    assert await custom_reminders.get(database, reminder.id) is None
    # The old card's buttons are now stale.
    await harness.tap_data(f"cm:p:{branch.id}:{reminder.id}")
    assert "过期" in harness.callback_answers()[-1] or "失效" in harness.callback_answers()[-1]
    # One line: /remind <rule> <text>.
    saved = (await harness.send("/remind 每季度第一个月10日 9:00 报送党建工作季报"))[-1]
    assert "每季度第1个月10日 09:00" in saved and "报送党建工作季报" in saved
    assert "2027年1月10日" in saved
    replies = await harness.send("/remind 每天都提醒我")
    assert "没看懂什么时候提醒" in replies[-1] and "➕ 新建提醒" in harness.buttons()


async def test_custom_reminder_is_delivered_once_and_not_when_paused(tmp_path: Path) -> None:
    with time_machine.travel(datetime(2026, 12, 25, 7, 0, tzinfo=TZ), tick=True):  # a Friday
        h = Harness(tmp_path / "bot.sqlite3", reminders=True)
        await h.start()
        await h.register()
        await h.send("/remind 每周五 8:00 准备主题党日材料")
        await h.send("/remind 每周五 8:00 暂停的提醒")
        await h.send("/remind")
        await h.tap("2")
        await h.tap("⏸ 暂停")
    with time_machine.travel(datetime(2026, 12, 25, 8, 1, tzinfo=TZ), tick=True):
        await _deliver(h)
        await _deliver(h)
        assert h.app is not None
        await sweep(h.app.database, date(2026, 12, 25), TZ)
        await _deliver(h)
        texts = [m.get("text") or "" for m in h.fake.bot_messages(SECRETARY)]
        assert (
            len([t for t in texts if t.startswith("<b>⏰ 测试支部") and "准备主题党日材料" in t])
            == 1
        )
        assert not any(t.startswith("<b>⏰ 测试支部") and "暂停的提醒" in t for t in texts)
    await h.stop()


async def test_blocked_user_gets_held_reminders_after_writing_again(tmp_path: Path) -> None:
    with time_machine.travel(datetime(2026, 12, 24, 9, 1, tzinfo=TZ), tick=True):
        h = Harness(tmp_path / "bot.sqlite3", reminders=True)
        await h.start()
        await h.register(has_committee=True)
        assert h.app is not None
        database = h.app.database
        h.fake.block(SECRETARY)
        await sweep(database, date(2026, 12, 24), TZ)
        await _deliver(h)
        assert (await outbox.counts(database)).get("blocked", 0) >= 2
        assert SECRETARY in h.app.blocked_chats
        h.fake.unblock(SECRETARY)
        await h.send("/help")
        assert SECRETARY not in h.app.blocked_chats
        await _deliver(h)
        texts = [m.get("text") or "" for m in h.fake.bot_messages(SECRETARY)]
        assert any("支委会" in t and "🔔" in t for t in texts)
        assert (await outbox.counts(database)).get("blocked", 0) == 0
        # Known blocked chats are loaded again at start.
        h.fake.block(SECRETARY)
        await outbox.mark_blocked(database, SECRETARY, datetime.now(TZ))
        await h.stop()
        h2 = Harness(tmp_path / "bot.sqlite3", fake=h.fake, reminders=True)
        await h2.start()
        assert h2.app is not None and SECRETARY in h2.app.blocked_chats
        await h2.stop()


async def test_group_becoming_a_supergroup_keeps_its_reminders(tmp_path: Path) -> None:
    with time_machine.travel(datetime(2026, 12, 24, 7, 0, tzinfo=TZ), tick=True):
        h = Harness(tmp_path / "bot.sqlite3", reminders=True)
        await h.start()
        branch = await h.register(has_committee=True)
        assert h.app is not None
        database = h.app.database
        h.fake.add_group(-500, "支部群")
        await settings.update_settings(
            database, user_id=SECRETARY, branch_id=branch.id, group_chat_id=-500
        )
        await sweep(database, date(2026, 12, 24), TZ)
        h.fake.group_migrated(SECRETARY, -500, -1000000000500)
        await h.send("/help")  # the service messages are handled before this one
        assert (await settings.get_settings(database, branch.id)).group_chat_id == -1000000000500
        assert await settings.branch_of_group(database, -1000000000500) == branch.id
    with time_machine.travel(datetime(2026, 12, 24, 9, 1, tzinfo=TZ), tick=True):
        await _deliver(h)
        texts = [m.get("text") or "" for m in h.fake.bot_messages(-1000000000500)]
        assert any("支委会" in t for t in texts)
        await h.stop()


async def test_delivery_follows_a_migration_it_meets_first(tmp_path: Path) -> None:
    with time_machine.travel(datetime(2026, 12, 24, 9, 1, tzinfo=TZ), tick=True):
        h = Harness(tmp_path / "bot.sqlite3", reminders=True)
        await h.start()
        branch = await h.register(has_committee=True)
        assert h.app is not None
        database = h.app.database
        h.fake.add_group(-600, "支部群")
        await settings.update_settings(
            database, user_id=SECRETARY, branch_id=branch.id, group_chat_id=-600
        )
        # The group became a supergroup before the reminder went out, and the service message
        # has not arrived yet. (Set before the sweep: the running deliverer may send as soon as
        # the sweep has written the row.)
        h.fake.add_group(-1000000000600, "支部群")
        h.fake._migrated[-600] = -1000000000600
        await sweep(database, date(2026, 12, 24), TZ)
        await _deliver(h)
        await _deliver(h)
        assert (await settings.get_settings(database, branch.id)).group_chat_id == -1000000000600
        assert any("支委会" in (m.get("text") or "") for m in h.fake.bot_messages(-1000000000600))
        await h.stop()


def test_parsing_helpers() -> None:
    assert parse_time("下午3点").hour == 15
    for bad in ("", "abc", "25:00"):
        try:
            parse_time(bad)
        except RuleError:
            continue
        raise AssertionError(bad)
    today = date(2026, 12, 24)
    rule, text = split_rule("每周五 9:00 交 党费", today)
    assert rule.weekday == 4 and text == "交 党费"
    rule, text = split_rule("每月最后一天 收党费", today)
    assert rule.day_of_month == 31 and text == "收党费"
    for unread in ("收党费", "每周五"):  # 每周五: a rule but nothing to remind of
        with pytest.raises(InvalidAnswer) as caught:
            split_rule(unread, today)
        assert caught.value.code == "rule_unknown"
    with pytest.raises(InvalidAnswer) as caught:
        split_rule("2月30日 10:00 报材料", today)
    assert caught.value.code == "rule_no_such_date"


async def test_a_monthly_reminder_on_a_weekday_of_the_month(tmp_path: Path) -> None:
    # 每月第二个周五, as the 主题党日 may be set: stored as the weekday and its week, shown as
    # typed, delivered on that day (11 December 2026, then 8 January 2027).
    with time_machine.travel(datetime(2026, 12, 2, 10, 0, tzinfo=TZ), tick=True):
        h = Harness(tmp_path / "bot.sqlite3", reminders=True)
        await h.start()
        branch = await h.register()
        assert h.app is not None
        database = h.app.database
        saved = (await h.send("/remind 每月第二个星期五 下午3点 准备主题党日材料"))[-1]
        assert saved.startswith("✅ 提醒已保存：每月第二个周五 15:00\n准备主题党日材料\n")
        assert saved.endswith("下一次：2026年12月11日 15:00")
        await h.send("/remind 每个月最后一个禮拜一 9點 报送台账")
        [first, last] = await custom_reminders.list_for(database, branch.id)
        assert (first.rule, first.weekday, first.week_of_month, first.day_of_month) == (
            "monthly", 4, 2, None
        )  # fmt: skip
        assert (last.weekday, last.week_of_month) == (0, -1)
        listing = (await h.send("/remind"))[-1]
        assert "1. 每月第二个周五 15:00：准备主题党日材料" in listing
        assert "2. 每月最后一个周一 09:00：报送台账" in listing
        assert "每月第五个周五" not in listing
        refused = (await h.send("/remind 每月第五个周五 开会"))[-1]
        assert "没看懂什么时候提醒" in refused
    with time_machine.travel(datetime(2026, 12, 11, 15, 1, tzinfo=TZ), tick=True):
        await sweep(database, date(2026, 12, 11), TZ)
        await _deliver(h)
        texts = [m.get("text") or "" for m in h.fake.bot_messages(SECRETARY)]
        sent = [t for t in texts if t.startswith("<b>⏰ 测试支部")]
        assert len(sent) == 1 and "准备主题党日材料" in sent[0]
    await h.stop()
