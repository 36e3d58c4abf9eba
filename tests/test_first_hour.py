"""Issue 14, a secretary's first hour: every screen agrees and nothing is silently wrong."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import time_machine

from db import members, repo
from db.models import MemberInfo
from tests.conftest import OTHER, SECRETARY, Harness

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parent.parent


def test_pyproject_uses_the_spdx_license_form() -> None:
    """A license table makes setuptools ≥ 77 print pages of deprecation warnings."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT"
    assert project["build-system"]["requires"] == ["setuptools>=77"]


@time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=TZ), tick=True)
async def test_status_says_today_is_the_deadline(harness: Harness) -> None:
    await harness.register()
    card = (await harness.send("/status"))[-1]
    assert "⏳ 党费收缴：今天截止（11月30日）" in card
    assert "还有 0 天" not in card


@time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=TZ), tick=True)
async def test_selfcheck_names_what_is_missing(harness: Harness) -> None:
    await harness.register()
    await harness.send("/selfcheck")
    await harness.tap("八有标准")
    for answer in "是是否是是否是是":
        await harness.tap("✅ 是" if answer == "是" else "❌ 否")
    card = harness.last_message()["text"]
    assert "还差 2 项：有阵地、有经费。" in card
    await harness.tap("🩺 其他自查")
    await harness.tap("软弱涣散排查")
    for answer in "是否是是否":
        await harness.tap("✅ 是" if answer == "是" else "❌ 否")
    card = harness.last_message()["text"]
    assert "有 2 种软弱涣散的情形：工作不力、活动不规范。" in card


async def test_overview_tells_a_secretary_who_it_is_for(harness: Harness) -> None:
    await harness.register()
    reply = (await harness.send("/overview"))[-1]
    assert reply == (
        "🏛 这是给上级党组织管理员用的功能：查看所有支部的完成情况、逾期名单，给支部发通知。\n"
        "怎样成为管理员：请已有的管理员发送 /team admin 生成邀请链接给您，点开即可；"
        "或请部署机器人的同志把您的 Telegram 用户 ID（1001）加入配置文件的 admin_ids。\n"
        "支部书记请用 /status 查看本支部的情况。"
    )


async def test_team_shows_names_the_secretary_recognises(harness: Harness) -> None:
    branch = await harness.register(name="甲支部")
    assert harness.app is not None
    database = harness.app.database
    await repo.add_membership(
        database, actor_id=SECRETARY, branch_id=branch.id, user_id=OTHER, role="committee"
    )
    card = (await harness.send("/team"))[-1]
    assert "书记 · 书记（我）\n支委 · 别人\n" in card
    # The Telegram name is read when shown, never stored: a new name shows at once.
    harness.fake.users[OTHER]["first_name"] = harness.fake.chats[OTHER]["first_name"] = "李明"
    card = (await harness.send("/team"))[-1]
    assert "支委 · 李明\n" in card
    rows = await database.fetchall("SELECT * FROM users")
    assert all("别人" not in str(tuple(row)) and "李明" not in str(tuple(row)) for row in rows)
    # Signed in as a roster entry: the roster name.
    member = await members.add(
        database, user_id=SECRETARY, branch_id=branch.id, info=MemberInfo("林曉紅", "formal")
    )
    assert await members.link_user(database, branch.id, member.id, OTHER)
    assert "支委 · 林曉紅\n" in (await harness.send("/team"))[-1]
