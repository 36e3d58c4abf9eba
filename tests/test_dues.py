"""The 党费 ledger end to end: each member's amount set on a short form (with the bad inputs a
phone produces and their second chances), a month marked in a few taps, a mistaken tap taken
back, 补交 of an earlier month, no paying ahead, 按季度交, the 党章第九条 warning, /status and the
annual report agreeing with the ledger, a member who left, the Excel ledger read back, the
month-end reminder to the secretary alone, and every role and forged button."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from zoneinfo import ZoneInfo

import docx
import openpyxl
import time_machine

from bot.dues import month_view, yuan
from bot.emulator.html import parse_html
from bot.handlers.dues import ledger_of
from bot.reminders import sweep
from bot.texts import render
from db import dues, members, outbox, repo, settings
from db.models import MemberInfo
from tests.conftest import OTHER, SECRETARY, Harness

NOW = "2026-12-20 10:00 +08:00"
TZ = ZoneInfo("Asia/Shanghai")
VIEWER = 3003
EXPIRED = "这个按钮已过期，请按最新的消息操作。"
NO_PERMISSION = "您没有这个支部的操作权限。"
PEOPLE = (
    ("张三", "formal", date(2010, 7, 1)),
    ("李四", "formal", date(2015, 6, 1)),
    ("王五", "probationary", date(2026, 11, 15)),  # 支部大会 accepted them in November
    ("赵六", "formal", None),
    ("孙八", "applicant", date(2026, 3, 1)),  # not a party member: owes nothing
)


async def _world(h: Harness) -> tuple[int, dict[str, int]]:
    branch = await h.register(formal_members=3, probationary_members=1)
    assert h.app is not None
    ids = {}
    for name, status, joined in PEOPLE:
        member = await members.add(
            h.app.database,
            user_id=SECRETARY,
            branch_id=branch.id,
            info=MemberInfo(name, status, joined),
        )
        ids[name] = member.id
    return branch.id, ids


async def _rates(h: Harness, branch_id: int, ids: dict[str, int], since: date) -> None:
    """Amounts as the form would store them (the form itself is tested below)."""
    assert h.app is not None
    amounts = (
        ("张三", 9750, "base", False),
        ("李四", 20, "student", True),
        ("王五", 1200, "fixed", False),
        ("赵六", 2000, "retired", False),
    )
    for name, fen, basis, quarterly in amounts:
        await dues.set_rate(
            h.app.database, user_id=SECRETARY, branch_id=branch_id, member_id=ids[name],
            amount_fen=fen, basis=basis, quarterly=quarterly, month=since,
        )  # fmt: skip


@time_machine.travel(NOW, tick=True)
async def test_setting_amounts_with_bad_inputs_and_second_chances(harness: Harness) -> None:
    branch_id, ids = await _world(harness)
    card = (await harness.send("/dues"))[-1]
    assert card == (
        "💰 党费收缴 · 2026年12月\n"
        "已交 0/4 人，收缴 ¥0.00。\n"
        "未设金额：张三、李四、赵六、王五（点“设置每人金额”）。"
    )
    assert harness.buttons() == ["✏️ 设置每人金额", "⬅️ 11月", "📤 导出2026年党费台账"]
    listing = (await harness.tap("✏️ 设置每人金额"))[-1]
    assert listing.startswith(
        "✏️ 每人每月党费\n1. 张三：未设\n2. 李四：未设\n3. 赵六：未设\n4. 王五：未设\n"
    )
    assert harness.buttons() == [
        "张三：未设",
        "李四：未设",
        "赵六：未设",
        "王五：未设",
        "⬅️ 返回党费",
    ]
    question = (await harness.tap("张三：未设"))[-1]
    assert question == "张三 每月交多少党费？可以直接发每月工资收入（税后），例如 6500；或选一种："
    for typed, said in (
        ("abc", "⚠️ 请只发数字（元），例如 6500 或 12.5，不要带文字或符号。"),
        ("<b>&", "⚠️ 请只发数字（元），例如 6500 或 12.5，不要带文字或符号。"),
        ("🙂", "⚠️ 请只发数字（元），例如 6500 或 12.5，不要带文字或符号。"),
        ("0", "⚠️ 金额要大于 0，请再发一次。"),
        ("-6500", "⚠️ 金额要大于 0，请再发一次。"),
        ("99999999", "⚠️ 数字太大了（超过 1000000 元），请核对后再发。"),
        ("6500.123", "⚠️ 金额最多到分（两位小数），例如 12.50。"),
    ):
        reply = (await harness.send(typed))[-1]
        assert reply == said + "\n\n" + question, typed
    assert await dues.rates(harness.app.database, [branch_id]) == {}  # type: ignore[union-attr]
    # Full-width digits, as some phones' keyboards type them, are read as the number.
    review = (await harness.send("６５００"))[-1]
    assert review == (
        "张三：每月党费 ¥97.50\n"
        "月工资收入 6500.00 元 × 1.5%（5000–10000 元（含））= ¥97.50。工资数不保存，只记金额。\n"
        "按月交。"
    )
    assert harness.buttons() == [
        "✅ 保存", "交纳方式：按月（点此改为按季度）", "✏️ 改算法或金额", "✖️ 取消"
    ]  # fmt: skip
    assert (await harness.tap("✅ 保存"))[-1] == "✅ 已设置：张三 每月 ¥97.50。"
    # A category with its fixed amount, paid by quarter (the branch agreed).
    await harness.tap("✏️ 设置每人金额")
    await harness.tap("李四：未设")
    review = (await harness.tap("学生 ¥0.20"))[-1]
    assert review == "李四：每月党费 ¥0.20\n学生 ¥0.20。\n按月交。"
    review = (await harness.tap("交纳方式：按月（点此改为按季度）"))[-1]
    assert review.endswith("按季度交：每季度第一个月交三个月的（须经支部同意）。")
    assert (await harness.tap("✅ 保存"))[-1] == "✅ 已设置：李四 每月 ¥0.20，按季度交。"
    # A fixed amount; 农民 out of range; 离退休 by its own brackets.
    await harness.tap("✏️ 设置每人金额")
    await harness.tap("王五：未设")
    assert (await harness.tap("直接填每月金额"))[-1].endswith(
        "请发 王五 每月交纳的金额（元），例如 12.5。"
    )
    # A wage typed where the amount paid is asked is not taken for it.
    reply = (await harness.send("工资8000"))[-1]
    assert reply.startswith(
        '⚠️ 这里填每月交的党费金额，不是工资。要按工资算，请点"⬅️ 上一步"再选"按月工资收入算"。'
    )
    assert (await harness.send("每月交12元"))[-1].startswith("王五：每月党费 ¥12.00\n")
    await harness.tap("✏️ 改算法或金额")
    await harness.tap("农民（每月0.2–1元）")
    reply = (await harness.send("2"))[-1]
    assert reply.startswith("⚠️ 农民党员每月交 0.2–1 元，请发这个范围里的金额，例如 0.5。")
    assert (await harness.send("0.5"))[-1].startswith("王五：每月党费 ¥0.50\n")
    await harness.tap("✅ 保存")
    await harness.tap("✏️ 设置每人金额")
    await harness.tap("赵六：未设")
    await harness.tap("离退休（按离退休费算）")
    review = (await harness.send("4000"))[-1]
    assert review.startswith(
        "赵六：每月党费 ¥20.00\n离退休费 4000.00 元 × 0.5%（5000 元以下（含））= ¥20.00。"
    )
    await harness.tap("✅ 保存")
    assert harness.app is not None
    stored = (await dues.rates(harness.app.database, [branch_id]))[branch_id]
    assert {m: (r.amount_fen, r.basis, r.quarterly, r.since) for m, r in stored.items()} == {
        ids["张三"]: (9750, "base", False, date(2026, 12, 1)),
        ids["李四"]: (20, "student", True, date(2026, 12, 1)),
        ids["王五"]: (50, "farmer", False, date(2026, 12, 1)),
        ids["赵六"]: (2000, "retired", False, date(2026, 12, 1)),
    }
    listing = (await harness.send("/dues"))[-1]
    assert "已交 0/4 人，收缴 ¥0.00。\n" in listing
    assert "未交：张三 ¥97.50、李四 ¥0.20（按季度）、赵六 ¥20.00、王五 ¥0.50。" in listing
    # Amounts set in December, November's dues recorded afterwards (补交): the ledger then
    # starts in November, for those who owed it (王五 was admitted on 15 November).
    card = (await harness.tap("⬅️ 11月"))[-1]
    assert card.startswith("💰 党费收缴 · 2026年11月\n已交 0/4 人")
    card = (await harness.tap("✅ 张三 ¥97.50"))[-1]
    assert card.startswith("💰 党费收缴 · 2026年11月\n已交 1/4 人，收缴 ¥97.50。")
    paid = (await dues.payments(harness.app.database, [branch_id]))[branch_id]
    assert [(p.name, p.month, p.paid_fen) for p in paid] == [("张三", date(2026, 11, 1), 9750)]


@time_machine.travel(NOW, tick=True)
async def test_marking_a_month_undo_makeup_and_no_paying_ahead(harness: Harness) -> None:
    branch_id, ids = await _world(harness)
    await _rates(harness, branch_id, ids, date(2026, 11, 1))
    assert harness.app is not None
    database = harness.app.database
    card = (await harness.send("/dues"))[-1]
    assert card == (
        "💰 党费收缴 · 2026年12月\n"
        "已交 0/4 人，收缴 ¥0.00。\n"
        "未交：张三 ¥97.50、李四 ¥0.20（按季度）、赵六 ¥20.00、王五 ¥12.00。\n"
        "点名字记为已交；大家都交了就点“全部已交”，再撤销个别没交的。"
    )
    assert harness.buttons() == [
        "✅ 张三 ¥97.50", "✅ 李四 ¥0.20", "✅ 赵六 ¥20.00", "✅ 王五 ¥12.00",
        "✅ 全部已交（4 人）", "✏️ 设置每人金额", "⬅️ 11月", "📤 导出2026年党费台账",
    ]  # fmt: skip
    card = (await harness.tap("✅ 张三 ¥97.50"))[-1]
    assert harness.callback_answers()[-1] == "已记：张三 12月 ¥97.50"
    assert card.startswith("💰 党费收缴 · 2026年12月\n已交 1/4 人，收缴 ¥97.50。\n")
    card = (await harness.tap("✅ 全部已交（3 人）"))[-1]
    assert harness.callback_answers()[-1] == "已记 3 人已交。"
    assert card == "💰 党费收缴 · 2026年12月\n已交 4/4 人，收缴 ¥129.70。\n✅ 12月党费已收齐。"
    paid = (await dues.payments(database, [branch_id]))[branch_id]
    assert [(p.name, p.month, p.due_fen, p.paid_fen, p.paid_on) for p in paid] == [
        ("张三", date(2026, 12, 1), 9750, 9750, date(2026, 12, 20)),
        ("李四", date(2026, 12, 1), 20, 20, date(2026, 12, 20)),
        ("赵六", date(2026, 12, 1), 2000, 2000, date(2026, 12, 20)),
        ("王五", date(2026, 12, 1), 1200, 1200, date(2026, 12, 20)),
    ]
    marks = await settings.marks(database, [branch_id])
    assert (branch_id, "party_dues", date(2026, 12, 1)) in marks
    status = (await harness.send("/status"))[-1]
    assert "✅ 党费收缴：12月1日已完成" in status
    assert "💰 党费 12月：已交 4/4 人，¥129.70 ✅（/dues）" in status
    await harness.send("/dues")
    # A mistaken tap taken back: the month is no longer complete, and /status says so.
    await harness.tap("↩️ 撤销已交（4 人）")
    assert harness.buttons()[:4] == ["↩️ 张三 ¥97.50", "↩️ 李四 ¥0.20", "↩️ 赵六 ¥20.00",
                                     "↩️ 王五 ¥12.00"]  # fmt: skip
    listing = (await harness.tap("↩️ 王五 ¥12.00"))[-1]
    assert harness.callback_answers()[-1] == "已撤销：王五 12月"
    assert listing.startswith("↩️ 12月已交 3 人")
    assert (branch_id, "party_dues", date(2026, 12, 1)) not in await settings.marks(
        database, [branch_id]
    )
    status = (await harness.send("/status"))[-1]
    assert "💰 党费 12月：已交 3/4 人，¥117.70（/dues）" in status
    assert "💰 党费台账" in harness.buttons() and "✅ 本月党费已收齐" not in harness.buttons()
    # 补交 of November: an earlier month asks first.
    await harness.tap("💰 党费台账")
    card = (await harness.tap("⬅️ 11月"))[-1]
    assert card.startswith("💰 党费收缴 · 2026年11月\n已交 0/4 人，收缴 ¥0.00。\n")
    ask = (await harness.tap("✅ 全部已交（4 人）"))[-1]
    assert ask == "把2026年11月还没交的 4 人都记为已交？（补交，交纳日期记为今天）"
    card = (await harness.tap("✅ 确认：4 人都已交"))[-1]
    assert "已交 4/4 人，收缴 ¥129.70。\n✅ 11月党费已收齐。" in card
    # Paying ahead is refused, whichever button says so; a month long ago is warned about.
    before = len((await dues.payments(database, [branch_id]))[branch_id])
    for data in (f"du:c:{branch_id}:2027-01:0", f"du:p:{branch_id}:{ids['张三']}:2027-01:0",
                 f"du:a:{branch_id}:2027-01", f"du:aa:{branch_id}:2027-01"):  # fmt: skip
        await harness.tap_data(data)
        assert harness.callback_answers()[-1] == "1月还没到：党费按月交，不能提前交（不得垫交）。"
    assert len((await dues.payments(database, [branch_id]))[branch_id]) == before
    old = (await harness.tap_data(f"du:c:{branch_id}:2026-05:0"))[-1]
    assert "⚠️ 这是7个月前的党费：补交一般不超过6个月，超过的请先报上级党委。" in old


async def _two_paying(h: Harness, branch_id: int, *, since: date) -> None:
    """张三 and 李四 on the roster, ¥20.00 a month each from `since`."""
    assert h.app is not None
    for name in ("张三", "李四"):
        member = await members.add(
            h.app.database, user_id=SECRETARY, branch_id=branch_id,
            info=MemberInfo(name, "formal", date(2010, 7, 1)),
        )  # fmt: skip
        await dues.set_rate(
            h.app.database, user_id=SECRETARY, branch_id=branch_id, member_id=member.id,
            amount_fen=2000, basis="fixed", quarterly=False, month=since,
        )  # fmt: skip


async def _add_through_the_form(h: Harness, name: str) -> None:
    """A 正式党员 since 2016 added on /members' form, as a secretary does (the dues marks follow
    roster changes made there)."""
    await h.send("/members")
    await h.tap("➕ 添加")
    await h.send(name)
    await h.tap("正式党员")
    await h.send("2016-07-01")
    await h.tap("无")
    await h.tap("否")


@time_machine.travel(NOW, tick=True)
async def test_a_roster_short_of_the_branch_never_makes_a_month_collected(
    harness: Harness,
) -> None:
    # 支部信息 says 8 正式 and 1 预备; the roster lists two of them so far. Both paying is not
    # the branch's 党费 收齐: no screen may say so until the others are entered.
    branch = await harness.register(formal_members=8, probationary_members=1)
    assert harness.app is not None
    database = harness.app.database
    await _two_paying(harness, branch.id, since=date(2026, 12, 1))
    short = (
        "⚠️ 按支部信息的党员人数，名册上还少 7 人："
        "在 /members 里登记后才能记他们的党费，这个月也才算收齐。"
    )
    card = (await harness.send("/dues"))[-1]
    assert card == (
        "💰 党费收缴 · 2026年12月\n"
        "已交 0/2 人，收缴 ¥0.00。\n"
        "未交：张三 ¥20.00、李四 ¥20.00。\n"
        f"{short}\n"
        "点名字记为已交；大家都交了就点“全部已交”，再撤销个别没交的。"
    )
    card = (await harness.tap("✅ 全部已交（2 人）"))[-1]
    assert card == f"💰 党费收缴 · 2026年12月\n已交 2/2 人，收缴 ¥40.00。\n{short}"
    assert (branch.id, "party_dues", date(2026, 12, 1)) not in await settings.marks(
        database, [branch.id]
    )
    status = (await harness.send("/status"))[-1]
    assert "💰 党费 12月：已交 2/2 人，¥40.00（名册上还少 7 人）（/dues）" in status
    assert "✅ 党费收缴" not in status
    # The roster confirmed complete (the branch has these two after all): the ledger's month
    # is collected, and so says the stored 收齐 mark the yearly views and reminders read.
    await harness.send("/members")
    await harness.tap("✅ 已录完，按花名册：正式 2、预备 0")
    card = (await harness.send("/dues"))[-1]
    assert card == "💰 党费收缴 · 2026年12月\n已交 2/2 人，收缴 ¥40.00。\n✅ 12月党费已收齐。"
    status = (await harness.send("/status"))[-1]
    assert "💰 党费 12月：已交 2/2 人，¥40.00 ✅（/dues）" in status

    async def marked() -> bool:
        marks = await settings.marks(database, [branch.id])
        return (branch.id, "party_dues", date(2026, 12, 1)) in marks

    assert await marked()
    # Someone added who owes December: the month is no longer collected, on every screen.
    await _add_through_the_form(harness, "王五")
    assert not await marked()
    status = (await harness.send("/status"))[-1]
    assert "💰 党费 12月：已交 2/3 人，¥40.00（/dues）" in status
    # Deleted again (entered by mistake): collected again.
    await harness.send("/members")
    await harness.tap("王五")
    await harness.tap("🗑 删除")
    await harness.tap("🗑 确认删除")
    assert await marked()


@time_machine.travel(NOW, tick=True)
async def test_a_roster_change_decides_this_months_mark_again_not_earlier_ones(
    harness: Harness,
) -> None:
    branch = await harness.register(formal_members=2, probationary_members=0)
    assert harness.app is not None
    database = harness.app.database
    await _two_paying(harness, branch.id, since=date(2026, 11, 1))
    await harness.send("/dues")
    await harness.tap("✅ 全部已交（2 人）")
    await harness.tap("⬅️ 11月")
    await harness.tap("✅ 全部已交（2 人）")
    await harness.tap("✅ 确认：2 人都已交")  # 补交 of an earlier month asks first

    async def marked() -> set[date]:
        marks = await settings.marks(database, [branch.id])
        return {start for (_, code, start) in marks if code == "party_dues"}

    assert await marked() == {date(2026, 11, 1), date(2026, 12, 1)}
    # 王五 joins (transferred in, a party member since 2016): December, in progress, is no
    # longer collected; November's mark stays (he paid it at his old branch, as far as the
    # bot can know).
    await _add_through_the_form(harness, "王五")
    assert await marked() == {date(2026, 11, 1)}


@time_machine.travel("2027-01-05 10:00 +08:00", tick=True)
async def test_a_quarterly_payer_covers_the_quarter(harness: Harness) -> None:
    branch_id, ids = await _world(harness)
    await _rates(harness, branch_id, ids, date(2027, 1, 1))
    await harness.send("/dues")
    await harness.tap("✅ 李四 ¥0.20")
    assert harness.callback_answers()[-1] == "已记：李四 1月、2月、3月 ¥0.60"
    assert harness.app is not None
    paid = (await dues.payments(harness.app.database, [branch_id]))[branch_id]
    assert [(p.month, p.paid_fen) for p in paid] == [
        (date(2027, 1, 1), 20), (date(2027, 2, 1), 20), (date(2027, 3, 1), 20)
    ]  # fmt: skip
    # Taken back together, as it was tapped.
    await harness.tap("↩️ 撤销已交（1 人）")
    await harness.tap("↩️ 李四 ¥0.20")
    assert harness.callback_answers()[-1] == "已撤销：李四 1月、2月、3月"
    assert await dues.payments(harness.app.database, [branch_id]) == {}


@time_machine.travel(NOW, tick=True)
async def test_six_months_unpaid_is_flagged_to_the_committee_only(harness: Harness) -> None:
    branch_id, ids = await _world(harness)
    await _rates(harness, branch_id, ids, date(2026, 5, 1))
    assert harness.app is not None
    database = harness.app.database
    # Everyone but 赵六 paid June to November; 王五 owes only from November.
    for month in range(6, 12):
        paid = [
            dues.Payment(ids[n], n, date(2026, month, 1), 100, 100, date(2026, month, 5))
            for n in ("张三", "李四", "王五")
            if n != "王五" or month == 11
        ]
        await dues.record(database, user_id=SECRETARY, branch_id=branch_id, paid=paid, complete={})
    warning = (
        "⚠️ 连续6个月以上未交党费：赵六（7个月）。党章第九条：连续六个月不交纳党费，"
        "没有正当理由的，视为自行脱党。请尽快谈话了解情况。"
    )
    assert warning in (await harness.send("/dues"))[-1]
    assert warning in (await harness.send("/status"))[-1]
    harness.fake.add_user(VIEWER, first_name="查看")
    await repo.add_membership(
        database, actor_id=SECRETARY, user_id=VIEWER, branch_id=branch_id, role="viewer"
    )
    card = (await harness.send("/dues", user=VIEWER))[-1]
    assert "赵六（7个月）" not in card and "已交 0/4 人" in card
    assert "赵六（7个月）" not in (await harness.send("/status", user=VIEWER))[-1]


@time_machine.travel(NOW, tick=True)
async def test_roles_forged_buttons_and_a_member_who_left(harness: Harness) -> None:
    branch_id, ids = await _world(harness)
    await _rates(harness, branch_id, ids, date(2026, 11, 1))
    assert harness.app is not None
    database = harness.app.database
    harness.fake.add_user(VIEWER, first_name="查看")
    await repo.add_membership(
        database, actor_id=SECRETARY, user_id=VIEWER, branch_id=branch_id, role="viewer"
    )
    # A viewer reads the month and exports, never records.
    card = (await harness.send("/dues", user=VIEWER))[-1]
    assert card.startswith("💰 党费收缴 · 2026年12月\n已交 0/4 人")
    assert "点名字" not in card
    assert harness.buttons(VIEWER) == ["⬅️ 11月", "📤 导出2026年党费台账"]
    for data in (f"du:p:{branch_id}:{ids['张三']}:2026-12:0", f"du:a:{branch_id}:2026-12",
                 f"du:r:{branch_id}:0", f"du:rm:{branch_id}:{ids['张三']}"):  # fmt: skip
        await harness.tap_data(data, user=VIEWER)
        assert harness.callback_answers()[-1] == NO_PERMISSION
    # Another branch's secretary sees nothing of this one.
    await harness.register(user=OTHER, key="other")
    await harness.send("/help", user=OTHER)
    for data in (f"du:c:{branch_id}:2026-12:0", f"du:x:{branch_id}:2026",
                 f"du:p:{branch_id}:{ids['张三']}:2026-12:0"):  # fmt: skip
        await harness.tap_data(data, user=OTHER)
        assert "权限" in harness.callback_answers()[-1]
    # Forged: a non-member, a member of no party status, a month of 13, an id of 30 digits.
    await harness.send("/dues")
    for data in (f"du:p:{branch_id}:999999:2026-12:0", f"du:p:{branch_id}:{ids['孙八']}:2026-12:0",
                 f"du:c:{branch_id}:2026-13:0", f"du:u:{branch_id}:{ids['张三']}:2026-12:0",
                 f"du:c:{'9' * 30}:2026-12:0", f"du:rm:{branch_id}:{ids['孙八']}"):  # fmt: skip
        await harness.tap_data(data)
        assert harness.callback_answers()[-1] == EXPIRED, data
    assert await dues.payments(database, [branch_id]) == {}
    # The old one-tap 党费已收齐 (an earlier reminder's) opens the ledger instead of marking.
    card = (await harness.tap_data(f"st:mark:{branch_id}:party_dues:2026-12-01"))[-1]
    assert card.startswith("💰 党费收缴 · 2026年12月\n已交 0/4 人")
    assert await settings.marks(database, [branch_id]) == []
    # An amount form whose member left the roster meanwhile stores nothing.
    await harness.tap("✏️ 设置每人金额")
    await harness.tap("王五：¥12.00")
    await members.remove(database, user_id=SECRETARY, branch_id=branch_id, member_id=ids["王五"])
    reply = (await harness.send("6500"))[-1]
    assert reply == "这位同志已不在名册上，或不再是党员，金额没有保存。"
    assert ids["王五"] not in (await dues.rates(database, [branch_id]))[branch_id]
    # 张三 pays November and December, then leaves the roster: his rows stay in the ledger.
    await harness.send("/dues")
    await harness.tap("✅ 张三 ¥97.50")
    await harness.tap_data(f"du:p:{branch_id}:{ids['张三']}:2026-11:0")
    await members.remove(database, user_id=SECRETARY, branch_id=branch_id, member_id=ids["张三"])
    card = (await harness.send("/dues"))[-1]
    assert "张三" not in card and "已交 0/2 人" in card
    await harness.send("/export")  # offered beside the meetings' ledger
    await harness.tap("📤 导出2026年党费台账")
    assert harness.fake.bot_messages(SECRETARY)[-1]["caption"] == (
        "📤 2026年党费收缴台账：3 人，全年收缴 ¥195.00。可用 Excel 或 WPS 打开、打印。"
    )
    sent = harness.fake.sent_files[-1]
    assert sent["file_name"] == "测试支部_2026年党费收缴台账.xlsx"
    sheet = openpyxl.load_workbook(BytesIO(sent["data"])).active
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=1, max_row=9)]
    assert values[0][0] == "测试支部2026年党费收缴台账"
    assert values[2] == ["序号", "姓名", *(f"{m}月" for m in range(1, 13)), "合计"]
    none10 = [None] * 10
    assert values[3] == [1, "李四", *none10, "—", "—", 0]
    assert values[4] == [2, "赵六", *none10, "—", "—", 0]
    assert values[5] == [3, "张三（已离开名册）", *none10, 97.5, 97.5, 195]
    assert values[6] == [None, "每月合计", *([0] * 10), 97.5, 97.5, 195]


@time_machine.travel("2026-12-28 07:00 +08:00", tick=True)
async def test_the_month_end_reminder_goes_to_the_secretary_once(harness: Harness) -> None:
    branch_id, ids = await _world(harness)
    await _rates(harness, branch_id, ids, date(2026, 11, 1))
    assert harness.app is not None
    database = harness.app.database
    await dues.record(
        database, user_id=SECRETARY, branch_id=branch_id, complete={},
        paid=[dues.Payment(ids["张三"], "张三", date(2026, 12, 1), 9750, 9750, date(2026, 12, 3))],
    )  # fmt: skip
    await repo.add_membership(
        database, actor_id=SECRETARY, user_id=VIEWER, branch_id=branch_id, role="deputy"
    )
    await sweep(database, date(2026, 12, 27), TZ)  # not the day: nothing
    assert await outbox.by_key(database, f"dues:{branch_id}:2026-12:{SECRETARY}") is None
    await sweep(database, date(2026, 12, 28), TZ)
    await sweep(database, date(2026, 12, 28), TZ)
    rows = await database.fetchall("SELECT chat_id, text FROM outbox WHERE key LIKE 'dues:%'")
    assert [(r["chat_id"], r["text"]) for r in rows] == [
        (
            SECRETARY,
            "⏰ 测试支部：12月还有 3 人没交党费："
            "李四 ¥0.20（按季度）、赵六 ¥20.00、王五 ¥12.00。\n"
            "收齐后在 /dues 里点名字记为已交，或点“全部已交”。",
        )
    ]
    # Everyone pays before it goes out: it is not sent.
    await harness.send("/dues")
    await harness.tap("✅ 全部已交（3 人）")
    row = await outbox.by_key(database, f"dues:{branch_id}:2026-12:{SECRETARY}")
    assert row is not None and row.state == "cancelled"


@time_machine.travel("2026-12-20 07:00 +08:00", tick=True)
async def test_a_ledger_branch_gets_the_ledger_reminder_instead_of_the_generic_ones(
    harness: Harness,
) -> None:
    """党费 is reminded once a month where a ledger is kept (the list of who has not paid, 3 days
    before the month's end), not also 7 and 2 days before by the generic reminder; a branch
    without a ledger keeps the generic ones. The branch that starts its ledger after being
    decided is decided again."""
    branch_id, ids = await _world(harness)
    other = await harness.register(user=OTHER, key="other")
    assert harness.app is not None
    database = harness.app.database
    await sweep(database, date(2026, 12, 20), TZ)  # both decided before the ledger begins
    await _rates(harness, branch_id, ids, date(2026, 12, 1))
    for day in range(21, 32):
        await sweep(database, date(2026, 12, day), TZ)
    rows = await database.fetchall(
        "SELECT key FROM outbox WHERE key LIKE 'dues:%' OR key LIKE 'ob:%:party_dues:%'"
    )
    assert sorted(r["key"] for r in rows) == [
        f"dues:{branch_id}:2026-12:{SECRETARY}",
        f"ob:{other.id}:party_dues:2026-12-01:lead2:{OTHER}",
        f"ob:{other.id}:party_dues:2026-12-01:lead7:{OTHER}",
    ]


@time_machine.travel(NOW, tick=True)
async def test_the_annual_report_reads_the_ledger(harness: Harness) -> None:
    branch_id, ids = await _world(harness)
    await _rates(harness, branch_id, ids, date(2026, 11, 1))
    await harness.send("/dues")
    await harness.tap("⬅️ 11月")
    await harness.tap("✅ 全部已交（4 人）")
    await harness.tap("✅ 确认：4 人都已交")
    await harness.send("/dues")
    await harness.tap("✅ 张三 ¥97.50")  # 李四 paid December with November: by quarter
    await harness.send("/report 2026")
    document = docx.Document(BytesIO(harness.fake.sent_files[-1]["data"]))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "按党费收缴台账全部交齐 1 个月（11月）。" in text
    assert "全年收缴党费 227.40 元（按党费收缴台账）。" in text


@time_machine.travel(NOW, tick=True)
async def test_a_long_roster_is_paged(harness: Harness) -> None:
    branch = await harness.register(formal_members=35)
    assert harness.app is not None
    database = harness.app.database
    for n in range(35):
        member = await members.add(
            database, user_id=SECRETARY, branch_id=branch.id,
            info=MemberInfo(f"党员{n:02d}", "formal", date(2015, 1, 1)),
        )  # fmt: skip
        await dues.set_rate(
            database, user_id=SECRETARY, branch_id=branch.id, member_id=member.id,
            amount_fen=1000, basis="fixed", quarterly=False, month=date(2026, 12, 1),
        )  # fmt: skip
    await harness.send("/dues")
    shown = harness.buttons()
    assert shown[:30] == [f"✅ 党员{n:02d} ¥10.00" for n in range(30)]
    assert shown[30:32] == ["下一页 ➡️", "✅ 全部已交（35 人）"]
    await harness.tap("下一页 ➡️")
    assert harness.buttons()[:6] == [
        *(f"✅ 党员{n:02d} ¥10.00" for n in range(30, 35)),
        "⬅️ 上一页",
    ]
    card = (await harness.tap("✅ 党员33 ¥10.00"))[-1]
    assert card.startswith("💰 党费收缴 · 2026年12月\n已交 1/35 人，收缴 ¥10.00。")
    # The card stays on the page tapped.
    assert harness.buttons()[:5] == [*(f"✅ 党员{n:02d} ¥10.00" for n in (30, 31, 32, 34)),
                                     "⬅️ 上一页"]  # fmt: skip


@time_machine.travel(NOW, tick=True)
async def test_a_month_marked_collected_before_the_ledger_stays_collected(
    harness: Harness,
) -> None:
    """The secretary tapped 本月党费已收齐 before keeping a ledger: the first amounts set that
    month are owed from the next one, so /status does not say both 已完成 and 已交 0/1."""
    branch = await harness.register(formal_members=1, probationary_members=0)
    assert harness.app is not None
    await members.add(
        harness.app.database,
        user_id=SECRETARY,
        branch_id=branch.id,
        info=MemberInfo("张三", "formal", date(2010, 7, 1)),
    )
    await harness.send("/status")
    await harness.tap("✅ 本月党费已收齐")
    await harness.send("/dues")
    await harness.tap("✏️ 设置每人金额")
    await harness.tap("张三：未设")
    await harness.send("6500")
    saved = (await harness.tap("✅ 保存"))[-1]
    assert saved == (
        "✅ 已设置：张三 每月 ¥97.50。\n本月已标记党费已收齐，张三 从1月起按此金额交纳。"
    )
    card = (await harness.send("/status"))[-1]
    assert "✅ 党费收缴：12月1日已完成" in card
    assert "💰 党费" not in card
    rows = await harness.app.database.fetchall("SELECT since FROM dues_rates")
    assert [row["since"] for row in rows] == ["2027-01"]
    # A roster change re-decides only the months the ledger holds payments for: December's
    # mark, as tapped, stays.
    await _add_through_the_form(harness, "李四")
    marks = await settings.marks(harness.app.database, [branch.id])
    assert (branch.id, "party_dues", date(2026, 12, 1)) in marks


@time_machine.travel(NOW, tick=True)
async def test_a_month_before_the_ledger_is_not_called_unpaid(harness: Harness) -> None:
    """The amounts were set in December: November, opened from the card, lists who could be
    back-filled, but not as 未交, since the Excel ledger leaves the month blank (not owed). Once
    one payment of November is back-filled the ledger starts there, and October is the month
    before it."""
    branch_id, ids = await _world(harness)
    await _rates(harness, branch_id, ids, date(2026, 12, 1))
    assert harness.app is not None

    async def ledger_rows() -> dict[str, tuple[object, ...]]:
        await harness.tap("📤 导出2026年党费台账")
        sheet = openpyxl.load_workbook(BytesIO(harness.fake.sent_files[-1]["data"])).active
        assert sheet is not None
        return {row[1]: row[2:14] for row in sheet.iter_rows(min_row=4, values_only=True)}

    await harness.send("/dues")
    card = (await harness.tap("⬅️ 11月"))[-1]
    assert card == (
        "💰 党费收缴 · 2026年11月\n"
        "已交 0/4 人，收缴 ¥0.00。\n"
        "未记：张三 ¥97.50、李四 ¥0.20（按季度）、赵六 ¥20.00、王五 ¥12.00。\n"
        "📒 党费台账从2026年12月记起，这个月在那之前，不算未交（台账里留空）。"
        "这个月确实交过的，点名字补记。"
    )
    rows = await ledger_rows()
    assert rows["张三"][10:] == (None, "—")  # November blank, December owed
    # With members missing from the roster, their warning keeps a line of its own.
    roster = await members.list_for(harness.app.database, branch_id)
    ledger = await ledger_of(harness.app.database, branch_id)
    view = month_view(roster, ledger, date(2026, 11, 1), opened=True, missing=2)
    short = render("dues", view="card", v=view, yuan=yuan, ledger_from=date(2026, 12, 1),
                   problem=None, lapses=[], can_record=True)  # fmt: skip
    assert "点名字补记。\n⚠️ 按支部信息的党员人数，名册上还少 2 人" in parse_html(short)
    # A viewer reads the same note, without the invitation to tap.
    harness.fake.add_user(VIEWER, first_name="查看")
    await repo.add_membership(
        harness.app.database, actor_id=SECRETARY, user_id=VIEWER, branch_id=branch_id,
        role="viewer",
    )  # fmt: skip
    await harness.send("/dues", user=VIEWER)
    card = (await harness.tap("⬅️ 11月", user=VIEWER))[-1]
    assert card.endswith("📒 党费台账从2026年12月记起，这个月在那之前，不算未交（台账里留空）。")
    # 张三's November back-filled: the ledger starts in November, for every screen.
    await harness.send("/dues")
    await harness.tap("⬅️ 11月")
    card = (await harness.tap("✅ 张三 ¥97.50"))[-1]
    assert card.startswith("💰 党费收缴 · 2026年11月\n已交 1/4 人，收缴 ¥97.50。\n未交：")
    assert "📒" not in card
    card = (await harness.tap("⬅️ 10月"))[-1]
    assert "未记：张三 ¥97.50" in card and "📒 党费台账从2026年11月记起" in card
    rows = await ledger_rows()
    assert rows["张三"][9:] == (None, 97.5, "—")
    assert rows["李四"][9:] == (None, "—", "—")
