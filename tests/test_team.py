"""/team and invitation links end to end: inviting, joining (once), bad and replayed links, role
changes, removal, the two-step hand-over, leaving, deputies' limits and admin invitations."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import msgspec
import pytest
import time_machine

from bot.config import BotConfig
from bot.emulator.html import parse_html
from bot.texts import render
from db import admins, invitations, members, repo
from db.models import MemberInfo
from tests.conftest import OTHER, SECRETARY, Harness

THIRD = 3003
FOURTH = 4004
ADMIN = 9009
LINK = re.compile(r"https://t\.me/(\w+)\?start=(join_[A-Za-z0-9_-]+)")


async def _invite(h: Harness, role_label: str, user: int = SECRETARY) -> str:
    """Make a link from /team and return its start command."""
    await h.send("/team", user=user)
    await h.tap("➕ 邀请成员", user=user)
    replies = await h.tap(role_label, user=user)
    found = LINK.search(replies[-1])
    assert found, replies
    assert found.group(1) == "zhishu_demo_bot"
    assert len(found.group(2)) <= 64
    return f"/start {found.group(2)}"


def _role(h: Harness, user: int) -> str:
    return h.last_message(user)["text"] or ""


async def _members(h: Harness, branch_id: int) -> dict[int, str]:
    assert h.app is not None
    return {m.user_id: m.role for m in await invitations.team(h.app.database, branch_id)}


async def test_invite_join_once_and_tell_the_secretary(harness: Harness) -> None:
    for user, name in ((THIRD, "王五"), (FOURTH, "第四人")):
        harness.fake.add_user(user, first_name=name)
    branch = await harness.register(name="<b>甲&支部</b>")
    assert harness.app is not None
    database = harness.app.database
    card = (await harness.send("/team"))[-1]
    assert "<b>甲&支部</b> · 团队" in card and "书记 · 书记（我）" in card
    await harness.tap("➕ 邀请成员")
    assert harness.buttons() == ["邀请副书记", "邀请支委", "邀请查看者", "⬅️ 返回团队"]
    role_card = harness.last_message()["message_id"]
    start = await _invite_from_card(harness)
    # Only the hash is stored: the token is nowhere in the database.
    token = start.split("join_")[1]
    rows = await database.fetchall("SELECT * FROM invitations")
    assert len(rows) == 1 and rows[0]["token_hash"] == invitations.token_hash(token)
    assert all(token not in str(value) for value in rows[0])
    # A second tap on the same card makes no second link.
    await harness.tap_data(f"tm:ic:{branch.id}:committee", role_card)
    assert "已经生成过" in harness.callback_answers()[-1]
    assert len(await database.fetchall("SELECT * FROM invitations")) == 1
    # The invited user joins with the role; the branch becomes their current one.
    replies = await harness.send(start, user=THIRD)
    assert "欢迎加入「<b>甲&支部</b>」" in replies[0] and "支委" in replies[0]
    assert "<b>甲&支部</b>（支委）" in replies[-1]  # the main menu
    assert await _members(harness, branch.id) == {SECRETARY: "secretary", THIRD: "committee"}
    user = await repo.get_user(database, THIRD)
    assert user is not None and user.current_branch_id == branch.id
    assert "有新成员加入：王五，身份：支委" in _role(harness, SECRETARY)
    actions = [e.action for e in await repo.audit_entries(database, branch.id)]
    assert actions[:2] == ["join", "invite"]
    # The same link again: for another user it is used; for the member it names their role.
    assert "已经被使用过" in (await harness.send(start, user=FOURTH))[-1]
    assert "身份是支委" in (await harness.send(start, user=THIRD))[-1]
    assert await _members(harness, branch.id) == {SECRETARY: "secretary", THIRD: "committee"}
    # /start without a join payload still reaches the registration; a link opened halfway
    # through registering joins and drops the half-done registration.
    assert "先花两分钟登记您的支部" in (await harness.send("/start", user=FOURTH))[0]
    await harness.send("某某协会党支部", user=FOURTH)
    await harness.send("/team")
    await harness.tap("➕ 邀请成员")
    replies = await harness.send(await _invite_from_card(harness), user=FOURTH)
    assert "欢迎加入" in replies[0] and "（支委）" in replies[-1]
    assert harness.app.forms.active(FOURTH) is None
    assert await database.fetchall("SELECT * FROM form_state WHERE user_id = ?", (FOURTH,)) == []


async def _invite_from_card(h: Harness) -> str:
    replies = await h.tap("邀请支委")
    found = LINK.search(replies[-1])
    assert found, replies
    assert "只能用一次" in replies[-1]
    return f"/start {found.group(2)}"


@time_machine.travel("2026-03-01 10:00 +08:00", tick=True)
async def test_bad_expired_revoked_and_member_links(harness: Harness) -> None:
    harness.fake.add_user(THIRD, first_name="三")
    branch = await harness.register()
    for bad in ("/start join_", "/start join_abc", "/start join_<b>&amp;</b>",
                "/start join_🚩🚩🚩🚩🚩🚩🚩🚩🚩🚩🚩🚩🚩🚩🚩🚩🚩", "/start join_" + "x" * 300,
                "/start join_" + "A" * 32):  # fmt: skip
        replies = await harness.send(bad, user=THIRD)
        assert "链接无效" in replies[-1], bad
    # The secretary opening their own link keeps their role.
    start = await _invite(harness, "邀请查看者")
    assert "身份是书记" in (await harness.send(start))[-1]
    # Revoked from the list of open invitations.
    await harness.send("/team")
    replies = await harness.tap("🔗 未使用的邀请")
    assert "1. 查看者，3月8日 10:00前有效" in replies[-1]
    assert harness.app is not None
    [invitation] = await invitations.open_for(harness.app.database, branch.id)
    await harness.tap("撤销第1个")
    assert "已撤销" in harness.callback_answers()[-1]
    assert "没有未使用的邀请" in (harness.last_message()["text"] or "")
    assert "已被撤销" in (await harness.send(start, user=THIRD))[-1]
    # An old revoke button does nothing more.
    await harness.tap_data(f"tm:ir:{branch.id}:{invitation.ref}")
    assert "过期" in harness.callback_answers()[-1]
    # In a group the link is not taken (it is for a private chat).
    start = await _invite(harness, "邀请查看者")
    harness.fake.add_group(-100, "支部群")
    harness.fake.set_member(-100, THIRD, "member")
    assert "私聊" in (await harness.send(start, user=THIRD, chat_id=-100))[-1]
    assert "私聊" in (await harness.send("/team", chat_id=-100))[-1]
    with time_machine.travel("2026-03-08 10:01 +08:00", tick=True):
        assert "已过期" in (await harness.send(start, user=THIRD))[-1]
    assert await _members(harness, branch.id) == {SECRETARY: "secretary"}


async def test_two_users_racing_on_one_link_give_one_membership(harness: Harness) -> None:
    branch = await harness.register()
    assert harness.app is not None
    database = harness.app.database
    made = await invitations.create(
        database, branch_id=branch.id, role="viewer", created_by=SECRETARY, source_key="t"
    )
    assert made is not None
    token = made[0]
    results = await asyncio.gather(
        *(invitations.accept(database, token, user) for user in range(5001, 5011))
    )
    outcomes = sorted(r.outcome for r in results)
    assert outcomes == ["joined"] + ["used"] * 9
    assert len(await _members(harness, branch.id)) == 2


async def test_roles_removal_hand_over_and_leaving(harness: Harness) -> None:
    harness.fake.add_user(THIRD, first_name="三")
    branch = await harness.register(name="甲支部")
    assert harness.app is not None
    database = harness.app.database
    await harness.send(await _invite(harness, "邀请查看者"), user=THIRD)
    await harness.send(await _invite(harness, "邀请支委"), user=OTHER)
    # The roster name shows when the user signed in as a roster entry.
    member = await members.add(
        database, user_id=SECRETARY, branch_id=branch.id, info=MemberInfo("张三", "formal")
    )
    assert await members.link_user(database, branch.id, member.id, THIRD)
    card = (await harness.send("/team"))[-1]
    assert "查看者 · 张三" in card and "支委 · 别人" in card
    # Change a role: the member is told.
    await harness.tap("查看者 · 张三")
    replies = await harness.tap("改为支委")
    assert "已改为支委" in harness.callback_answers()[-1]
    assert "身份已改为：支委" in _role(harness, THIRD)
    assert (await _members(harness, branch.id))[THIRD] == "committee"
    assert "支委 · 张三" in replies[-1]
    # A member who is not the secretary cannot change roles, even with a forged button.
    await harness.tap_data(f"tm:r:{branch.id}:{THIRD}:deputy", user=OTHER)
    assert "权限" in harness.callback_answers()[-1]
    await harness.tap_data(f"tm:hh:{branch.id}:{OTHER}", user=OTHER)
    assert "权限" in harness.callback_answers()[-1]
    # The secretary cannot leave; the button is not even shown.
    assert "🚪 退出本支部" not in harness.buttons()
    await harness.tap_data(f"tm:q:{branch.id}")
    assert "书记不能退出支部" in _role(harness, SECRETARY)
    # Removal asks first.
    await harness.tap("支委 · 别人")
    replies = await harness.tap("🚫 移出支部")
    assert "确定把 别人（支委）移出「甲支部」" in replies[-1]
    await harness.tap("⚠️ 确认移出")
    assert OTHER not in await _members(harness, branch.id)
    assert "已被移出「甲支部」" in _role(harness, OTHER)
    await harness.tap_data(f"tm:xx:{branch.id}:{OTHER}")
    assert "已不在本支部" in harness.callback_answers()[-1]
    # Hand-over: two steps; the old secretary becomes deputy; one secretary always.
    await harness.send("/team")
    await harness.tap("支委 · 张三")
    replies = await harness.tap("👑 移交书记")
    assert "您改为副书记" in replies[-1]
    assert (await _members(harness, branch.id))[SECRETARY] == "secretary"
    replies = await harness.tap("⚠️ 确认移交书记")
    assert "书记已移交给 张三，您现在是副书记" in replies[0]
    assert await _members(harness, branch.id) == {SECRETARY: "deputy", THIRD: "secretary"}
    assert "您已成为「甲支部」的书记" in _role(harness, THIRD)
    # A replayed hand-over button of the old secretary does nothing.
    await harness.tap_data(f"tm:hh:{branch.id}:{THIRD}")
    assert "权限" in harness.callback_answers()[-1]
    assert await _members(harness, branch.id) == {SECRETARY: "deputy", THIRD: "secretary"}
    entries = await repo.audit_entries(database, branch.id)
    assert [e.action for e in entries[:2]] == ["hand_over", "hand_over"]
    assert {tuple(e.changes["role"]) for e in entries[:2]} == {
        ("secretary", "deputy"),
        ("committee", "secretary"),
    }
    # The deputy leaves (two steps).
    await harness.send("/team")
    replies = await harness.tap("🚪 退出本支部")
    assert "确定退出「甲支部」" in replies[-1]
    replies = await harness.tap("⚠️ 确认退出")
    assert "您已退出「甲支部」" in replies[-1]
    assert await _members(harness, branch.id) == {THIRD: "secretary"}
    assert "还没有登记支部" in (await harness.send("/team"))[-1]


async def test_deputy_invites_committee_and_viewers_only(harness: Harness) -> None:
    branch = await harness.register()
    assert harness.app is not None
    await repo.add_membership(
        harness.app.database, actor_id=SECRETARY, user_id=OTHER, branch_id=branch.id,
        role="deputy",
    )  # fmt: skip
    await harness.send("/team", user=OTHER)
    await harness.tap("➕ 邀请成员", user=OTHER)
    assert harness.buttons(OTHER) == ["邀请支委", "邀请查看者", "⬅️ 返回团队"]
    await harness.tap_data(f"tm:ic:{branch.id}:deputy", user=OTHER)
    assert "权限" in harness.callback_answers()[-1]
    # The secretary's deputy invitation is not in the deputy's list to revoke.
    await _invite(harness, "邀请副书记")
    await _invite(harness, "邀请查看者", user=OTHER)
    await harness.send("/team", user=OTHER)
    replies = await harness.tap("🔗 未使用的邀请", user=OTHER)
    assert "1. 查看者" in replies[-1] and "副书记" not in replies[-1]
    found = await invitations.open_for(harness.app.database, branch.id)
    deputy_ref = next(i.ref for i in found if i.role == "deputy")
    await harness.tap_data(f"tm:ir:{branch.id}:{deputy_ref}", user=OTHER)
    assert "过期" in harness.callback_answers()[-1]
    assert len(await invitations.open_for(harness.app.database, branch.id)) == 2
    # A viewer has neither invitations nor member buttons.
    await repo.add_membership(
        harness.app.database, actor_id=SECRETARY, user_id=OTHER, branch_id=branch.id,
        role="viewer",
    )  # fmt: skip
    await harness.send("/team", user=OTHER)
    assert harness.buttons(OTHER) == ["🚪 退出本支部", "🏠 主菜单"]
    for data in (f"tm:i:{branch.id}", f"tm:il:{branch.id}", f"tm:m:{branch.id}:{SECRETARY}"):
        await harness.tap_data(data, user=OTHER)
        assert "权限" in harness.callback_answers()[-1], data


@pytest.fixture
async def admin_harness(tmp_path: Path) -> AsyncIterator[Harness]:
    """A bot whose configuration names ADMIN as an admin."""
    h = Harness(tmp_path / "bot.sqlite3")
    h.config = msgspec.structs.replace(
        h.config, bot=BotConfig(reminders=False, admin_ids=(ADMIN,))
    )
    h.fake.add_user(ADMIN, first_name="管理员")
    h.fake.add_user(THIRD, first_name="三")
    await h.start()
    yield h
    await h.stop()


async def test_admin_invitations(admin_harness: Harness) -> None:
    h = admin_harness
    assert h.app is not None
    await h.register()
    # Not an admin: refused, and no admin button on the team card.
    await h.send("/team admin")
    assert "权限" in _role(h, SECRETARY)
    await h.send("/team")
    assert "🏛 上级管理员邀请" not in h.buttons()
    await h.tap_data("tm:ac")
    assert "权限" in h.callback_answers()[-1]
    # The configured admin makes a link; the invited user becomes an admin, once.
    await h.send("/team admin", user=ADMIN)
    replies = await h.tap("➕ 生成管理员邀请链接", user=ADMIN)
    found = LINK.search(replies[-1])
    assert found and "上级管理员" in replies[-1]
    start = f"/start {found.group(2)}"
    assert "您已成为上级管理员" in (await h.send(start, user=THIRD))[-1]
    assert await admins.is_admin(h.app.database, THIRD)
    assert "已通过您的邀请成为上级管理员" in _role(h, ADMIN)
    assert "已经被使用过" in (await h.send(start, user=OTHER))[-1]
    assert not await admins.is_admin(h.app.database, OTHER)
    # The new admin sees the admin button and can revoke an admin invitation.
    await h.register(user=THIRD, key="third")
    await h.send("/team", user=THIRD)
    await h.tap("🏛 上级管理员邀请", user=THIRD)
    await h.tap("➕ 生成管理员邀请链接", user=THIRD)
    await h.send("/team admin", user=THIRD)
    await h.tap("撤销第1个", user=THIRD)
    assert "已撤销" in h.callback_answers()[-1]
    assert await invitations.open_for(h.app.database, None) == []
    # An admin who opens an admin link stays as they are and the link stays open.
    await h.send("/team admin", user=ADMIN)
    replies = await h.tap("➕ 生成管理员邀请链接", user=ADMIN)
    found = LINK.search(replies[-1])
    assert found
    assert "已经是上级管理员" in (await h.send(f"/start {found.group(2)}", user=THIRD))[-1]
    assert len(await invitations.open_for(h.app.database, None)) == 1


def test_team_templates_render() -> None:
    people = [{"role": "secretary", "who": "<b>张三</b>", "me": True}]
    text = render("team_list", branch_name="<i>支部</i>", my_role="secretary", people=people,
                  can_invite=True, is_secretary=True, is_admin=True)  # fmt: skip
    assert "书记 · <b>张三</b>（我）" in parse_html(text)
    views = ("card", "confirm_remove", "confirm_hand_over", "confirm_leave", "role_changed",
             "removed", "handed_over", "left", "secretary_stays", "gone", "notice_role",
             "notice_removed", "notice_secretary", "notice_joined", "notice_admin")  # fmt: skip
    for view in views:
        text = render("team_member", view=view, who="<b>", role="viewer", branch_name="&")
        assert parse_html(text).strip(), view
    shown = [{"role": "admin", "expires": datetime(2026, 3, 8)}]
    for view in ("choose", "link", "repeated", "list", "revoked", "admin"):
        text = render("team_invite", view=view, roles=["viewer"], link="https://t.me/x?start=a",
                      role="admin", branch_name="<b>", expires=datetime(2026, 3, 8, 10),
                      invitations=shown)  # fmt: skip
        assert parse_html(text).strip(), view
    for outcome in ("joined", "admin", "already_admin", "member", "used", "expired", "revoked",
                    "invalid"):  # fmt: skip
        text = render("team_join", outcome=outcome, branch_name="<b>", role="deputy")
        assert parse_html(text).strip(), outcome
