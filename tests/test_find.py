"""/find end to end: the branch's records searched by their words (FTS5 trigram index kept by
triggers), newest first, within the user's branch and role; bad input gets a clear message."""

from __future__ import annotations

from datetime import date

import time_machine

from bot.search import QueryError, parse_terms
from db import meetings, repo
from db.models import Meeting
from tests.conftest import OTHER, SECRETARY, Harness

NOW = "2026-12-30 10:00 +08:00"
THIRD = 3003
GROUP = -500


async def _save(h: Harness, branch_id: int, key: str, **fields: object) -> Meeting:
    assert h.app is not None
    values: dict[str, object] = {
        "kind": "member_meeting", "held_on": date(2026, 3, 1), "host": "张三", "recorder": "李四",
    }  # fmt: skip
    record, _ = await meetings.create_meeting(
        h.app.database,
        user_id=SECRETARY,
        branch_id=branch_id,
        meeting=Meeting(**{**values, **fields}),  # type: ignore[arg-type]
        draft_key=key,
    )
    return record


async def _world(h: Harness) -> tuple[int, list[Meeting]]:
    branch = await h.register(has_committee=True)
    saved = [
        await _save(h, branch.id, "a", held_on=date(2026, 12, 4), kind="theme_party_day",
                    title="国家宪法日学宪法", agenda=("学习宪法全文",),
                    content="集中学习宪法，讨论<b>章程</b>修改 & 会费"),
        await _save(h, branch.id, "b", held_on=date(2026, 6, 20), kind="party_lecture",
                    title="党史学习", speaker="王五", content="讲授建党百年历程，出勤率100%"),
        await _save(h, branch.id, "c", held_on=date(2025, 11, 2), agenda=("学习宪法修正案",),
                    content="王五发言：要把\"两个维护\"落到实处"),
        await _save(h, branch.id, "d", held_on=date(2024, 5, 8), content="宪法宣传周活动"),
    ]  # fmt: skip
    return branch.id, saved


@time_machine.travel(NOW, tick=True)
async def test_find_lists_matching_records_newest_first_and_opens_them(harness: Harness) -> None:
    await _world(harness)
    reply = (await harness.send("/find 宪法"))[-1]
    assert reply == (
        "🔎 「宪法」：找到 3 条，点编号查看：\n"
        "1. 2026-12-04 主题党日《国家宪法日学宪法》\n"
        "   国家宪法日学宪法\n"
        "2. 2025-11-02 党员大会\n"
        "   学习宪法修正案\n"
        "3. 2024-05-08 党员大会\n"
        "   宪法宣传周活动"
    )
    assert harness.buttons() == ["1", "2", "3", "🏠 主菜单"]
    card = (await harness.tap("2"))[-1]
    assert "学习宪法修正案" in card
    # Several words: a record must have them all; two characters and three and more alike.
    reply = (await harness.send("/find 宪法 学习"))[-1]
    assert "找到 2 条" in reply and "2024-05-08" not in reply
    reply = (await harness.send("/find 王五"))[-1]
    assert "找到 2 条" in reply and "2026-06-20 党课《党史学习》" in reply
    assert reply.endswith('2. 2025-11-02 党员大会\n   王五发言：要把"两个维护"落…')


@time_machine.travel(NOW, tick=True)
async def test_what_a_phone_types_is_searched_literally(harness: Harness) -> None:
    await _world(harness)
    # Wildcards and quotes are characters, not syntax; HTML stays text.
    assert "找到 1 条" in (await harness.send("/find 100%"))[-1]
    assert "找到 1 条" in (await harness.send("/find %"))[-1]
    assert "没有找到" in (await harness.send("/find _"))[-1]
    assert "找到 1 条" in (await harness.send('/find "两个维护"'))[-1]
    reply = (await harness.send('/find "'))[-1]
    assert reply.endswith(
        '找到 1 条，点编号查看：\n1. 2025-11-02 党员大会\n   王五发言：要把"两个维护"落到实处'
    )
    reply = (await harness.send("/find <b>章程</b>"))[-1]
    assert "找到 1 条" in reply and reply.endswith("   集中学习宪法，讨论<b>章程</b>修改 & 会费")
    assert "找到 1 条" in (await harness.send("/find & 会费"))[-1]
    # Traditional script and full-width letters find the simplified record.
    assert "找到 3 条" in (await harness.send("/find 憲法"))[-1]
    assert "找到 1 条" in (await harness.send("/find 黨史"))[-1]
    assert "找到 1 条" in (await harness.send("/find １００%"))[-1]
    assert "没有找到" in (await harness.send("/find 🙂"))[-1]
    # No words, too many, too long: how to use it, a clear limit, and nothing searched.
    assert (await harness.send("/find"))[-1].startswith("🔎 在本支部的会议记录里查找")
    assert (await harness.send("/find    "))[-1].startswith("🔎 在本支部的会议记录里查找")
    reply = (await harness.send("/find 一 二 三 四 五 六"))[-1]
    assert reply == "关键词最多 5 个，请少写几个再试。"
    reply = (await harness.send("/find " + "宪" * 21))[-1]
    assert reply.startswith("关键词太长了：每个词不超过 20 个字")
    assert (await harness.send("/find " + "宪 " * 40))[-1].startswith("关键词太长了")


@time_machine.travel(NOW, tick=True)
async def test_changes_deletions_and_other_branches(harness: Harness) -> None:
    branch_id, saved = await _world(harness)
    assert harness.app is not None
    database = harness.app.database
    # An edit is searchable at once; a deleted record is gone from the results.
    assert saved[3].id is not None and saved[0].id is not None
    await meetings.update_meeting(
        database, user_id=SECRETARY, meeting_id=saved[3].id, changes={"content": "民法典宣传周"}
    )
    assert "找到 2 条" in (await harness.send("/find 宪法"))[-1]
    assert "找到 1 条" in (await harness.send("/find 民法典"))[-1]
    await meetings.delete_meeting(database, user_id=SECRETARY, meeting_id=saved[0].id)
    assert "找到 1 条" in (await harness.send("/find 宪法"))[-1]
    # Another branch's secretary finds nothing of this branch, nor does a stranger.
    other = await harness.register(user=OTHER, key="other")
    await _save(harness, other.id, "o", content="别的支部学宪法")
    reply = (await harness.send("/find 宪法", user=OTHER))[-1]
    assert "找到 1 条" in reply and "别的支部学" in reply
    harness.fake.add_user(THIRD, first_name="路人")
    assert "还没有登记" in (await harness.send("/find 宪法", user=THIRD))[-1]
    # A viewer of the branch may search it.
    await repo.add_membership(
        database, actor_id=SECRETARY, user_id=THIRD, branch_id=branch_id, role="viewer"
    )
    assert "找到 1 条" in (await harness.send("/find 宪法", user=THIRD))[-1]
    # In a group: records carry names, so only in private.
    harness.fake.add_group(GROUP, "支部群")
    reply = (await harness.send("/find 宪法", chat_id=GROUP))[-1]
    assert reply.startswith("这个操作请在与我的私聊中进行")


def test_parse_terms() -> None:
    assert parse_terms(" 宪法，学习、 党课 ") == ["宪法", "学习", "党课"]
    assert parse_terms("宪法 宪法") == ["宪法"]
    assert parse_terms("ＡＢＣ") == ["ABC"]
    for bad, code in (("", "empty"), ("，，", "empty"), ("一 二 三 四 五 六", "too_many"),
                      ("字" * 21, "too_long"), ("字 " * 40, "too_long")):  # fmt: skip
        try:
            parse_terms(bad)
        except QueryError as error:
            assert error.code == code, bad
        else:
            raise AssertionError(bad)
