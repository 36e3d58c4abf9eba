"""/notice on the form engine, end to end: the happy path's texts and taps, a question typed at
the text step answered (nothing stored; "✍️ 用作答案" keeps it), bad texts with a second chance,
old and forged buttons refused, going back from the preview, an admin removed mid-way, and a send
that Telegram failed to confirm stored and queued once however often it is repeated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import time_machine
from msgspec.structs import replace

from db import admins, notices
from tests.conftest import OTHER, SECRETARY, Harness

# The question index is built once per test process, when first asked: the tests that ask
# run in one process (make test: --dist loadgroup), so only it builds the index.
pytestmark = pytest.mark.xdist_group("knowledge")

NOW = "2026-11-20 10:00 +08:00"
THIRD = 3003
EXPIRED = "这个按钮已过期，请按最新的消息操作。"
ASK_TEXT = "📢 发通知 · 第1步/共3步\n请发送通知内容（1000 字以内，可以分行）。发送 /cancel 退出。"
ASK_AUDIENCE = "📢 发通知 · 第2步/共3步\n发给哪些支部？"
ASK_MODE = "📢 发通知 · 第2步/共3步\n按组建方式，发给哪一类支部？"
AUDIENCES = ["全部支部", "本季度有逾期的支部", "按组建方式", "按单位类型"]


@pytest.fixture
async def admin(tmp_path: Path) -> AsyncIterator[Harness]:
    """SECRETARY is the config's admin (leading no branch); OTHER and THIRD lead a branch each."""
    h = Harness(tmp_path / "bot.sqlite3")
    h.config = replace(h.config, bot=replace(h.config.bot, admin_ids=(SECRETARY,)))
    h.fake.add_user(THIRD, first_name="第三")
    await h.start()
    # Registered on the tests' day: registered at the real time (after NOW), they would owe
    # nothing overdue on NOW's day, or would, depending on the hour the suite runs.
    with time_machine.travel(NOW, tick=True):
        await h.register(user=OTHER, key="a", name="甲支部", formation_mode="joint")
        await h.register(user=THIRD, key="b", name="乙支部", formation_mode="standalone")
    yield h
    if h.app is not None:
        await h.stop()


def _draft(h: Harness) -> dict[str, object] | None:
    assert h.app is not None
    found = h.app.forms.peek(SECRETARY)
    return found[1] if found else None


def _data(h: Harness, label: str) -> str:
    """The callback data of a button on the latest keyboard."""
    for message in reversed(h.fake.bot_messages(SECRETARY)):
        markup = message.get("reply_markup")
        if markup:
            for row in markup["inline_keyboard"]:
                for button in row:
                    if button["text"] == label:
                        return str(button["callback_data"])
            break
    raise LookupError(label)


async def _count(h: Harness, table: str) -> int:
    assert h.app is not None
    row = await h.app.database.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
    return int(row["n"])


@time_machine.travel(NOW, tick=True)
async def test_a_notice_in_four_steps(admin: Harness) -> None:
    h = admin
    assert (await h.send("/notice")) == [ASK_TEXT]
    assert h.buttons() == ["✖️ 取消"]
    assert (await h.send("请各支部月底前报送名单。\n谢谢！")) == [ASK_AUDIENCE]
    assert h.buttons() == [*AUDIENCES, "⬅️ 上一步", "✖️ 取消"]
    assert (await h.tap("全部支部")) == [
        "📢 发通知 · 第3步/共3步：请确认\n"
        "发送范围：全部支部，共 2 个支部（2 位书记、副书记）。\n\n"
        "通知内容\n请各支部月底前报送名单。\n谢谢！"
    ]
    assert h.buttons() == ["✅ 发送", "⬅️ 重选范围", "✖️ 取消"]
    assert (await h.tap("✅ 发送")) == [
        "✅ 通知已发出：2 个支部，2 条消息正在送达。\n用 /notices 查看各支部的已阅情况。"
    ]
    assert h.buttons() == ["📬 通知列表", "📊 返回总览"]
    [notice], total = await notices.recent(h.app.database, limit=5)  # type: ignore[union-attr]
    assert total == 1 and notice.text == "请各支部月底前报送名单。\n谢谢！"
    assert notice.audience == {"kind": "all"} and notice.targets == 2
    assert await _count(h, "outbox") == 2
    assert _draft(h) is None


@time_machine.travel(NOW, tick=True)
async def test_a_question_at_the_text_step_is_answered_not_sent(admin: Harness) -> None:
    h = admin
    await h.send("/notice")
    replies = await h.send("通知能只发给一个支部吗？")
    # Answered as /ask answers it, then the same step again; nothing is kept in the draft.
    assert len(replies) == 2 and replies[-1] == ASK_TEXT
    assert h.buttons() == ["✍️ 用作答案", "✖️ 取消"]
    assert _draft(h) == {"text": None, "kind": None, "value": None}
    use = _data(h, "✍️ 用作答案")
    assert (await h.send("/ask 通知能只发给一个支部吗？")) == replies[:1]
    # It really was the notice: one tap keeps it.
    assert (await h.tap_data(use)) == [ASK_AUDIENCE]
    assert _draft(h) == {"text": "通知能只发给一个支部吗？", "kind": None, "value": None}
    await h.tap("按组建方式")
    preview = (await h.tap("联合组建（1）"))[-1]
    assert "发送范围：按组建方式：联合组建，共 1 个支部（1 位书记、副书记）。" in preview
    await h.tap("✅ 发送")
    [notice], _ = await notices.recent(h.app.database, limit=5)  # type: ignore[union-attr]
    assert notice.text == "通知能只发给一个支部吗？"
    assert notice.audience == {"kind": "mode", "value": "joint"}


@time_machine.travel(NOW, tick=True)
async def test_bad_texts_get_a_second_chance(admin: Harness) -> None:
    h = admin
    await h.send("/notice")
    assert (await h.send("  ")) == ["⚠️ 没有收到内容，请再输入一次。\n\n" + ASK_TEXT]
    assert (await h.send("通" * 1001)) == [
        "⚠️ 太长了（1001 个字），最多 1000 个字，请精简后再输入。\n\n" + ASK_TEXT
    ]
    assert (await h.send_photo()) == [
        "⚠️ 这一步请直接发送文字（不支持图片、文件）。\n\n" + ASK_TEXT
    ]
    assert _draft(h) == {"text": None, "kind": None, "value": None}
    # Tags, ampersands and emoji are text like any other (shown escaped, stored as typed).
    assert (await h.send("<b>&</b> 🚩 周五前")) == [ASK_AUDIENCE]
    assert (await h.send("全部")) == ["⚠️ 请点选下面的一个选项。\n\n" + ASK_AUDIENCE]
    preview = (await h.tap("全部支部"))[-1]
    assert preview.endswith("通知内容\n<b>&</b> 🚩 周五前")
    assert "&lt;b&gt;&amp;&lt;/b&gt; 🚩 周五前" in h.last_message()["text"]
    await h.tap("✅ 发送")
    [notice], _ = await notices.recent(h.app.database, limit=5)  # type: ignore[union-attr]
    assert notice.text == "<b>&</b> 🚩 周五前"


@time_machine.travel(NOW, tick=True)
async def test_old_and_forged_buttons_are_refused(admin: Harness) -> None:
    h = admin
    await h.send("/notice")
    await h.send("第一条")
    audience_all = _data(h, "全部支部")
    old = h.last_message()["message_id"]
    await h.tap("按组建方式")
    mode_data = _data(h, "联合组建（1）")
    rev = mode_data.split(":")[1]
    for data in (
        audience_all,  # the question before
        f"ntc:{rev}:a:mode:nonsense",  # no such formation mode
        f"ntc:{rev}:a:type:foundation",  # a step not on screen
        f"ntc:{rev}:v",  # 发送 before the preview
        f"ntc:{rev}:e:audience",  # not on the preview
        "ntc:999999999999999999999999999999:a:mode:joint",
        "reg:1:a:name:x",  # another form
    ):
        before = len(h.callback_answers())
        await h.tap_data(data, old)
        assert h.callback_answers()[before:] == [EXPIRED], data
    assert _draft(h) == {"text": "第一条", "kind": "mode", "value": None}
    # An empty choice asks the same question again with the reason, not as expired.
    assert (await h.tap("挂靠组建（0）")) == ["⚠️ 这个范围里没有支部，请换一个。\n\n" + ASK_MODE]
    await h.tap("联合组建（1）")
    send = _data(h, "✅ 发送")
    await h.tap("✅ 发送")
    # The old preview's 发送, and someone else's forged one, send nothing more.
    await h.tap_data(send)
    await h.send("/help", user=OTHER)
    await h.tap_data(send, user=OTHER)
    assert h.callback_answers()[-2:] == [EXPIRED, EXPIRED]
    assert (await notices.recent(h.app.database, limit=5))[1] == 1  # type: ignore[union-attr]
    assert await _count(h, "outbox") == 1


@time_machine.travel(NOW, tick=True)
async def test_back_from_the_preview_and_cancel(admin: Harness) -> None:
    h = admin
    await h.send("/notice")
    await h.send("第二条")
    await h.tap("按组建方式")
    await h.tap("联合组建（1）")
    # 重选范围: the audience again, then its second half, and back once more from there.
    assert (await h.tap("⬅️ 重选范围")) == [
        ASK_AUDIENCE + '\n当前：按组建方式：联合组建（不改就点"↪️ 保持原样"）'
    ]
    assert h.buttons() == [*AUDIENCES, "↪️ 保持原样", "↩️ 回到确认页", "✖️ 取消"]
    assert (await h.tap("按单位类型"))[-1].startswith("📢 发通知 · 第2步/共3步\n按单位类型")
    assert (await h.tap("⬅️ 上一步"))[-1].startswith(ASK_AUDIENCE)
    preview = (await h.tap("本季度有逾期的支部"))[-1]
    assert "发送范围：本季度有逾期的支部，共 2 个支部" in preview
    # /cancel after typing asks first; 继续填写 goes on where it was.
    assert (await h.send("/cancel")) == ["放弃这次通知吗？已经填写的内容不会保存。"]
    assert h.buttons() == ["🗑 放弃，不保存", "↩️ 继续填写"]
    assert (await h.tap("↩️ 继续填写"))[-1] == preview
    await h.tap("✖️ 取消")
    assert (await h.tap("🗑 放弃，不保存")) == [
        "已取消，没有保存未完成的内容。发送 /menu 回到主菜单。"
    ]
    assert _draft(h) is None
    assert (await notices.recent(h.app.database, limit=5))[1] == 0  # type: ignore[union-attr]


@time_machine.travel(NOW, tick=True)
async def test_an_admin_removed_mid_way_is_stopped(admin: Harness) -> None:
    h = admin
    assert h.app is not None
    await admins.add(h.app.database, OTHER, invited_by=SECRETARY)
    assert (await h.send("/notice", user=OTHER)) == [ASK_TEXT]
    await h.send("第三条", user=OTHER)
    await admins.remove(h.app.database, OTHER)
    replies = await h.tap("全部支部", user=OTHER)
    assert replies[-1].startswith("🏛 这是给上级党组织管理员用的功能")
    assert f"（{OTHER}）" in replies[-1]
    assert h.app.forms.active(OTHER) is None
    assert (await notices.recent(h.app.database, limit=5))[1] == 0


@time_machine.travel(NOW, tick=True)
async def test_a_send_repeated_after_a_failure_is_stored_and_queued_once(admin: Harness) -> None:
    h = admin
    assert h.app is not None
    await h.send("/notice")
    await h.send("只发一次")
    await h.tap("全部支部")
    send = _data(h, "✅ 发送")
    # Stored and queued, then Telegram fails before the user sees "已发出": the preview stays.
    h.fake.fail_next("sendMessage", error_code=0, description="network down")
    await h.tap("✅ 发送")
    assert (await notices.recent(h.app.database, limit=5))[1] == 1
    assert await _count(h, "outbox") == 2
    assert h.app.forms.active(SECRETARY) == "ntc"
    # The same button again (as a replay of the update would): found stored, nothing more.
    assert (await h.tap_data(send))[-1] == (
        "这条通知已经发过了（2 个支部），没有重复发送。\n用 /notices 查看各支部的已阅情况。"
    )
    assert (await notices.recent(h.app.database, limit=5))[1] == 1
    assert await _count(h, "outbox") == 2
    assert await _count(h, "notice_targets") == 2
    assert h.app.forms.active(SECRETARY) is None


@time_machine.travel(NOW, tick=True)
async def test_a_restart_resumes_the_notice(tmp_path: Path) -> None:
    first = Harness(tmp_path / "bot.sqlite3")
    first.config = replace(first.config, bot=replace(first.config.bot, admin_ids=(SECRETARY,)))
    await first.start()
    await first.register(user=OTHER, key="a", name="甲支部")
    await first.send("/notice")
    await first.send("重启之后")
    await first.stop()
    second = Harness(tmp_path / "bot.sqlite3", fake=first.fake)
    second.config = first.config
    await second.start()
    try:
        preview = (await second.tap("全部支部"))[-1]
        assert "共 1 个支部" in preview and preview.endswith("通知内容\n重启之后")
        await second.tap("✅ 发送")
        assert second.app is not None
        [notice], _ = await notices.recent(second.app.database, limit=5)
        assert notice.text == "重启之后"
    finally:
        await second.stop()
