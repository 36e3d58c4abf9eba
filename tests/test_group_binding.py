"""Binding a group chat to a branch: the card when the bot is added, /bind, /unbind, removal."""

from __future__ import annotations

from bot.emulator.html import parse_html
from db import repo, settings
from tests.conftest import OTHER, SECRETARY, Harness

GROUP = -100
OTHER_GROUP = -200
BIND = "🔗 把本群绑定为支部群"


async def add_bot(harness: Harness, chat_id: int = GROUP, user: int = SECRETARY) -> str:
    """The user adds the bot to a group (two updates); returns the bot's greeting."""
    harness.fake.bot_added_to_group(user, chat_id, "支部群")
    await harness._settle()
    await harness._settle()
    return parse_html(harness.last_message(chat_id)["text"])


async def bound_group(harness: Harness, branch_id: int) -> int | None:
    assert harness.app is not None
    return (await settings.get_settings(harness.app.database, branch_id)).group_chat_id


async def test_secretary_binds_by_tapping_and_status_works_there(harness: Harness) -> None:
    branch = await harness.register(name="第一支部")
    assert "把本群绑定为支部群" in await add_bot(harness)
    assert harness.buttons(GROUP) == [BIND]
    # /status in the group before binding says how to bind.
    assert "/bind" in (await harness.send("/status", chat_id=GROUP))[-1]
    replies = await harness.tap(BIND, chat_id=GROUP)
    assert "本群已绑定为「第一支部」的支部群" in replies[-1]
    assert await bound_group(harness, branch.id) == GROUP
    assert harness.buttons(GROUP) == []
    assert harness.app is not None
    [entry, *_] = await repo.audit_entries(harness.app.database, branch.id)
    assert entry.entity == "settings" and entry.changes == {"group_chat_id": [None, GROUP]}
    assert "本期任务" in (await harness.send("/status", chat_id=GROUP))[-1]
    # Tapping again (an old button): already bound, nothing changes.
    harness.fake.tap(SECRETARY, 1, "gb:bind", chat_id=GROUP)
    await harness._settle()
    assert "已经是「第一支部」" in harness.callback_answers()[-1]


async def test_two_branches_choose_and_role_rechecked(harness: Harness) -> None:
    first = await harness.register(name="第一支部", key="a")
    second = await harness.register(name="第二支部", key="b")
    await add_bot(harness)
    replies = await harness.send("/bind", chat_id=GROUP)
    assert "请选择要绑定本群的支部" in replies[-1]
    assert harness.buttons(GROUP) == ["🔗 第一支部", "🔗 第二支部"]
    # Someone else taps the choice: refused, nothing bound.
    await harness.tap("🔗 第二支部", user=OTHER, chat_id=GROUP)
    assert "只有支部书记、副书记" in harness.callback_answers()[-1]
    assert await bound_group(harness, second.id) is None
    # A forged branch id the secretary does not belong to.
    harness.fake.tap(SECRETARY, 1, "gb:to:999", chat_id=GROUP)
    await harness._settle()
    assert "只有支部书记、副书记" in harness.callback_answers()[-1]
    replies = await harness.tap("🔗 第二支部", chat_id=GROUP)
    assert "「第二支部」的支部群" in replies[-1]
    assert await bound_group(harness, second.id) == GROUP
    assert await bound_group(harness, first.id) is None


async def test_viewer_and_outsider_are_refused(harness: Harness) -> None:
    branch = await harness.register()
    await add_bot(harness)
    await harness.tap(BIND, user=OTHER, chat_id=GROUP)
    assert "只有支部书记、副书记" in harness.callback_answers()[-1]
    assert harness.app is not None
    await repo.add_membership(
        harness.app.database, actor_id=SECRETARY, user_id=OTHER, branch_id=branch.id, role="viewer"
    )
    await harness.tap(BIND, user=OTHER, chat_id=GROUP)
    assert "只有支部书记、副书记" in harness.callback_answers()[-1]
    replies = await harness.send("/bind", user=OTHER, chat_id=GROUP)
    assert "只有支部书记、副书记" in replies[-1]
    assert await bound_group(harness, branch.id) is None
    assert harness.buttons(GROUP) == [BIND]


async def test_group_bound_elsewhere_is_refused_and_move_needs_confirmation(
    harness: Harness,
) -> None:
    mine = await harness.register(name="我的支部", key="a")
    theirs = await harness.register(user=OTHER, name="别的支部", key="b")
    await add_bot(harness, user=OTHER)
    await harness.send("/bind", user=OTHER, chat_id=GROUP)
    assert await bound_group(harness, theirs.id) == GROUP
    replies = await harness.send("/bind", chat_id=GROUP)
    assert "本群已绑定为另一个支部的支部群" in replies[-1]
    assert await bound_group(harness, mine.id) is None
    # /unbind by someone of another branch: refused.
    assert "只有支部书记、副书记" in (await harness.send("/unbind", chat_id=GROUP))[-1]
    # My branch is bound to a second group; binding a third one asks first.
    await add_bot(harness, OTHER_GROUP)
    await harness.send("/bind", chat_id=OTHER_GROUP)
    assert await bound_group(harness, mine.id) == OTHER_GROUP
    await add_bot(harness, -300)
    replies = await harness.send("/bind", chat_id=-300)
    assert "「我的支部」已绑定了另一个群" in replies[-1]
    await harness.tap("不改了", chat_id=-300)
    assert await bound_group(harness, mine.id) == OTHER_GROUP
    await harness.send("/bind", chat_id=-300)
    replies = await harness.tap("✅ 改绑到本群", chat_id=-300)
    assert "已改绑" in replies[-1]
    assert await bound_group(harness, mine.id) == -300
    assert harness.app is not None
    assert await settings.branch_of_group(harness.app.database, OTHER_GROUP) is None


async def test_unbind_and_bot_removed(harness: Harness) -> None:
    branch = await harness.register(name="第一支部")
    await add_bot(harness)
    await harness.tap(BIND, chat_id=GROUP)
    replies = await harness.send("/unbind", chat_id=GROUP)
    assert "不再是「第一支部」的支部群" in replies[-1]
    assert await bound_group(harness, branch.id) is None
    assert "/bind" in (await harness.send("/unbind", chat_id=GROUP))[-1]
    await harness.send("/bind", chat_id=GROUP)
    assert await bound_group(harness, branch.id) == GROUP
    harness.fake.bot_removed_from_group(SECRETARY, GROUP)
    await harness._settle()
    assert await bound_group(harness, branch.id) is None
    # Private chats: it must be done in the group.
    for command in ("/bind", "/unbind"):
        assert "在群里" in (await harness.send(command))[-1]


async def test_a_binding_button_forged_in_a_private_chat_binds_nothing(harness: Harness) -> None:
    # gb:move and gb:to act on the chat they are tapped in: in a private chat they would have
    # bound the branch's group to the secretary's private chat.
    branch = await harness.register()
    await add_bot(harness)
    await harness.send("/bind", chat_id=GROUP)
    assert await bound_group(harness, branch.id) == GROUP
    await harness.send("/help")
    for data in (f"gb:move:{branch.id}", f"gb:to:{branch.id}"):
        await harness.tap_data(data)
        assert harness.callback_answers()[-1] == "这个按钮已过期，请按最新的消息操作。"
    assert await bound_group(harness, branch.id) == GROUP
