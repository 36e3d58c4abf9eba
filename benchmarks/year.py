"""A simulated year: a scripted secretary follows every reminder the bot sends for twelve months.

The branch: 9 people on the roster (6 formal members, 2 probationary, 1 applicant), a 支委会, no
party groups. The secretary registers in December through the real registration flow, enters
the roster through /members, and from 1 January on the clock moves day by day (time-machine):
each morning the bot's own sweep decides the day's reminders and its deliverer sends them; the
secretary reads each reminder that reaches the private chat and does what it asks, through the
real flows, on that day: logs the meeting by tapping "去记录" and answering each step, marks the
dues, acknowledges what needs acknowledging. At the end of the year the secretary asks for
/report 2026.

It prints the taps and typed messages per month, and every obligation the bot's own rules
(bot.reminders.owed_for, the function the sweep decides with) found overdue on some day of the
year: late if it was done after its deadline, missed if never. Target: 0 missed or late, ≤ 60
taps and messages a month on average.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import docx
import time_machine

from benchmarks.running import running_bot
from bot.app import OFFLINE_TOKEN
from bot.application import BotApplication
from bot.config import BotConfig, Config, StorageConfig, TelegramConfig
from bot.delivery import Deliverer
from bot.emulator.core import FakeTelegram
from bot.emulator.html import parse_html
from bot.member_counts import counted_total, member_counts
from bot.obligations import registered_on
from bot.pacing import Pacing
from bot.reminders import owed_for, sweep
from db import repo, sweep_data
from db.settings import BranchSettings

TZ = ZoneInfo("Asia/Shanghai")
YEAR = 2026
SECRETARY = 1001
# name, status, date joined (or accepted as probationary), 支委会 role
ROSTER = (
    ("张伟", "正式党员", "2010-07-01", "书记"),
    ("王芳", "正式党员", "2012-06-15", ""),
    ("李强", "正式党员", "2015-05-20", ""),
    ("刘洋", "正式党员", "2016-11-03", ""),
    ("陈静", "正式党员", "2018-04-12", ""),
    ("杨帆", "正式党员", "2019-09-09", ""),
    ("赵磊", "预备党员", "2025-06-20", ""),
    ("孙悦", "预备党员", "2025-11-18", ""),
    ("周婷", "入党申请人", "2025-10-20", ""),
)
# What the scripted secretary types at each step of a form, by (form, step) or by step.
TYPED: dict[str, str] = {
    "name": "市软件行业协会党支部",
    "organization_name": "市软件行业协会",
    "formal_members": "6",
    "probationary_members": "2",
    "place": "协会会议室",
    "time_place": "15:00 协会会议室",
    "people": "张伟 王芳",
    "recorder": "王芳",
    "speaker": "张伟",
    "title": "重温入党誓词",
    "agenda": "学习党章，研究本月工作",
    "content": "传达上级精神，逐项研究本月工作安排",
    "theme": "学习党的二十届四中全会精神",
    "start_time": "15:00",
    "attendance": "3 3",
}
# Buttons the secretary taps at a step, by step: the first label found on the keyboard wins.
TAPPED: dict[str, tuple[str, ...]] = {
    "organization_type": ("社会团体",),
    "formation_mode": ("单独组建",),
    # 6 formal members: under 7, a branch has no 支委会 (FACTS.md A15), only a secretary.
    "has_committee": ("没有", "否"),
    "has_party_groups": ("没有", "否"),
    "held_on": ("今天",),
    "day": ("今天",),
    "activity_form": ("集中学习",),
    "attendance": ("全部到会",),
    "party_day": ("15日",),
    "mobile": ("否",),
    "committee_role": ("无",),
    "party_group": ("跳过",),
    "resolutions": ("跳过（没有决议）",),
    "photos": ("没有照片，完成",),
}


@dataclass
class Tally:
    """Taps and typed messages of one month."""

    taps: int = 0
    typed: int = 0
    actions: Counter[str] = field(default_factory=Counter)


class Secretary:
    """A scripted secretary on a phone: types and taps, and counts each."""

    def __init__(self, application: BotApplication, fake: FakeTelegram) -> None:
        self.application = application
        self.fake = fake
        self.months: dict[int, Tally] = {}
        self.month = 0
        self.seen = 0  # the id of the last bot message read
        self.talked: list[str] = []  # this year's 谈心谈话, in order
        self.unacted: list[tuple[date, str]] = []  # reminders with nothing to tap
        self.report = b""  # the year's /report (a .docx)
        self.statuses: dict[str, int] = {}  # the roster at the end, by status
        # What the secretary put in the diary from a reminder or a timeline card, by day.
        self.planned: dict[date, list[tuple[str, str]]] = {}

    def plan(self, day: date, what: str, who: str) -> None:
        self.planned.setdefault(day, []).append((what, who))

    def next_talk(self) -> str:
        """The next party member to talk with this year."""
        party = [name for name, status, _, _ in ROSTER if status != "入党申请人"]
        year = datetime.now(TZ).year
        if self.talked and self.talked[0] != str(year):
            self.talked = []
        if not self.talked:
            self.talked = [str(year)]
        name = next(n for n in party if n not in self.talked)
        self.talked.append(name)
        return name

    @property
    def tally(self) -> Tally:
        return self.months.setdefault(self.month, Tally())

    async def _settle(self) -> None:
        done = self.application.updates_done + 1
        await self.application.wait_for_updates(done, timeout=60)

    async def send(self, text: str) -> None:
        self.tally.typed += 1
        self.fake.send_text(SECRETARY, text)
        await self._settle()

    async def tap(self, label: str) -> None:
        self.tally.taps += 1
        self.fake.tap_button(SECRETARY, label)
        await self._settle()

    async def tap_on(self, message: dict[str, Any], label: str) -> None:
        data = next(
            b["callback_data"]
            for row in message["reply_markup"]["inline_keyboard"]
            for b in row
            if b["text"] == label
        )
        self.tally.taps += 1
        self.fake.tap(SECRETARY, message["message_id"], data)
        await self._settle()

    def buttons(self) -> list[str]:
        for message in reversed(self.fake.bot_messages(SECRETARY)):
            markup = message.get("reply_markup")
            if markup:
                return [b["text"] for row in markup["inline_keyboard"] for b in row]
        return []

    def last_text(self) -> str:
        message = self.fake.last_bot_message(SECRETARY)
        return parse_html((message or {}).get("text") or "")

    def new_messages(self) -> list[dict[str, Any]]:
        messages = [m for m in self.fake.bot_messages(SECRETARY) if m["message_id"] > self.seen]
        if messages:
            self.seen = messages[-1]["message_id"]
        return messages

    async def form_step(self) -> tuple[str, str] | None:
        row = await self.application.database.fetchone(
            "SELECT form, data FROM form_state WHERE user_id = ?", (SECRETARY,)
        )
        if row is None:
            return None
        return row["form"], json.loads(row["data"])["step"]

    async def finish_form(
        self, typed: dict[str, str] | None = None, tapped: dict[str, str] | None = None
    ) -> None:
        """Answer each step the open form asks until it is saved (`typed` and `tapped` answer
        steps this form asks differently from the usual)."""
        for _ in range(60):
            at = await self.form_step()
            if at is None:
                return
            form, step = at
            buttons = self.buttons()
            if typed and step in typed:
                await self.send(typed[step])
                continue
            if tapped and step in tapped:
                await self.tap(tapped[step])
                continue
            wanted = [b for w in TAPPED.get(step, ()) for b in buttons if w in b]
            if wanted:
                await self.tap(wanted[0])
            elif step in TYPED:
                await self.send(TYPED[step])
            elif any(b.startswith("✅ 保存") or b.startswith("✅ 确认") for b in buttons):
                await self.tap(next(b for b in buttons if b.startswith("✅")))
            elif any(b.startswith("保持原样") for b in buttons):
                await self.tap(next(b for b in buttons if b.startswith("保持原样")))
            else:
                raise RuntimeError(
                    f"the scripted secretary does not know step {form}.{step}: "
                    f"{self.last_text()!r} {buttons}"
                )
        raise RuntimeError("a form that never ends")


async def _register(secretary: Secretary) -> None:
    await secretary.send("/start")
    await secretary.finish_form()


# Monthly wage bases (the amount is computed by the bot's brackets; only the amount is stored).
BASES = {"张伟": "9800", "王芳": "6500", "李强": "5200", "刘洋": "4800", "陈静": "3600",
         "杨帆": "2800", "赵磊": "4500", "孙悦": "3900"}  # fmt: skip


async def _set_dues(secretary: Secretary) -> None:
    """Each party member's monthly 党费, from their wage base, in /dues."""
    await secretary.send("/dues")
    for name, base in BASES.items():
        await secretary.tap("✏️ 设置每人金额")
        await secretary.tap(f"{name}：未设")
        await secretary.finish_form({"basis": base})


async def _record_step(secretary: Secretary, name: str, step: str, day: str = "") -> None:
    """Record a 发展党员 step (its label, e.g. "谈话") of a person in /recruit, on `day` (typed)
    or today."""
    await secretary.send("/recruit")
    await secretary.tap(next(b for b in secretary.buttons() if b.startswith(f"{name}（")))
    await secretary.tap("📝 记录下一步")
    await secretary.finish_form({"day": day} if day else {}, {"step": step})


async def _enter_roster(secretary: Secretary) -> None:
    for name, status, joined, role in ROSTER:
        await secretary.send("/members")
        await secretary.tap("➕ 添加")
        typed = {"name": name, "status": status}
        if joined:
            typed["joined_on"] = joined
        await secretary.finish_form(typed, {"committee_role": role} if role else {})


@dataclass
class Lateness:
    """Obligations the bot's rules found overdue on some day, and when they were done."""

    overdue: dict[tuple[str, date], date] = field(default_factory=dict)  # first day seen

    async def look(self, application: BotApplication, branch_id: int, today: date) -> None:
        facts = await sweep_data.load(application.database, today, branch_ids=[branch_id])
        branch = facts.branches[0]
        branch_settings = facts.settings.get(branch_id) or BranchSettings(branch_id)
        roster = facts.roster.get(branch_id, ())
        for ob in owed_for(
            branch.profile,
            branch_settings,
            facts.records.get(branch_id, []),
            today,
            created_on=registered_on(branch.created_at, TZ),
            planned_days=facts.planned.get(branch_id),
            roster=roster,
            talks=facts.talks.get(branch_id, ()),
            party_total=counted_total(member_counts(branch, roster)),
            steps=facts.recruitment.get(branch_id),
        ):
            if ob.state == "overdue":
                self.overdue.setdefault((ob.code, ob.period.start), today)
            elif ob.state == "due" and ob.deadline == today:
                # Looked at after the day's work: not done on its last day.
                self.overdue.setdefault((ob.code, ob.period.start), today + timedelta(days=1))


async def _grade(secretary: Secretary) -> None:
    """民主评议: two members 优秀 (within a third), the rest 合格 in one tap, then the sheet."""
    await secretary.tap("📋 评议等次")
    for name in ("张伟", "王芳"):
        await secretary.tap(f"{name}：未评")
        await secretary.tap("优秀")
    rest = next(b for b in secretary.buttons() if b.startswith("其余"))
    await secretary.tap(rest)


async def _do(secretary: Secretary, what: str, who: str) -> str:
    """A task from the diary."""
    if what == "confirm":
        await secretary.send("/log")
        await secretary.tap("党员大会")
        await secretary.finish_form({"agenda": f"讨论{who}同志转为正式党员"})
        await _record_step(secretary, who, "转正")
    elif what == "activist":
        await _record_step(secretary, who, "确定为入党积极分子")
    return what


async def _follow(secretary: Secretary, message: dict[str, Any]) -> str:
    """Do what one reminder asks; the action's name."""
    labels = [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]
    text = parse_html(message["text"])
    if "谈心谈话" in text and "📝 去记录" in labels:
        behind = re.search(r"还差 (\d+) 人", text)
        found = re.search(r"已谈 (\d+)/(\d+) 人", text)
        assert found, text
        done, total = map(int, found.groups())
        for _ in range(int(behind.group(1)) if behind else total - done):
            await secretary.tap_on(message, "📝 去记录")
            who = secretary.next_talk()
            await secretary.finish_form({"people": f"{'王芳' if who == '张伟' else '张伟'} {who}"})
        return "talk"
    if "📝 去记录" in labels:
        await secretary.tap_on(message, "📝 去记录")
        await secretary.finish_form()
        if "📋 评议等次" in secretary.buttons():
            await _grade(secretary)
            return "appraise"
        return "log"
    lead = re.search(r"预备党员 (\S+) 的预备期将于 (\d+)年(\d+)月(\d+)日期满", text)
    if lead:
        # The 支部大会 discusses the 转正 on the day the 预备期 ends.
        secretary.plan(date(*map(int, lead.groups()[1:])), "confirm", lead.group(1))
        return "plan"
    step = re.search(r"(\S+) 的(谈话|考察)请在", text)
    if step:
        await _record_step(secretary, step.group(1), step.group(2))
        return "recruit"
    # The ledger's month-end reminder (who has not paid) opens the month in the ledger.
    for dues in ("💰 党费台账", "✅ 本月党费已收齐"):
        if dues not in labels:
            continue
        await secretary.tap_on(message, dues)
        everyone = [b for b in secretary.buttons() if b.startswith("✅ 全部已交")]
        if everyone:
            await secretary.tap(everyone[0])
        return "dues"
    for done in ("📨 已收到汇报",):
        if done in labels:
            await secretary.tap_on(message, done)
            return "mark"
    secretary.unacted.append((datetime.now(TZ).date(), text.splitlines()[1]))
    return "read"


async def _live(
    application: BotApplication, fake: FakeTelegram, clock: Any, until: date
) -> tuple[Secretary, Lateness]:
    """The year up to `until`, on a started application."""
    secretary = Secretary(application, fake)
    await _register(secretary)
    await _enter_roster(secretary)
    await _set_dues(secretary)
    # The applicant's talk took place before the bot came: entered with its date; the card then
    # says from when she may become an activist, and the secretary notes it.
    await _record_step(secretary, "周婷", "谈话", "2025-11-05")
    earliest = re.search(r"确定为入党积极分子：(\d{4}-\d\d-\d\d) 起", secretary.last_text())
    assert earliest, secretary.last_text()
    secretary.plan(date.fromisoformat(earliest.group(1)), "activist", "周婷")
    row = await application.database.fetchone("SELECT id FROM branches")
    branch = await repo.get_branch(application.database, row["id"])
    assert branch is not None
    deliverer = Deliverer(application, pacing=application.config.pacing)
    lateness = Lateness()
    secretary.new_messages()
    day = date(YEAR - 1, 12, 16)
    while day <= until:
        secretary.month = day.month if day.year == YEAR else 0
        clock.move_to(datetime(day.year, day.month, day.day, 7, 0, tzinfo=TZ))
        await sweep(application.database, day, TZ)
        clock.move_to(datetime(day.year, day.month, day.day, 9, 5, tzinfo=TZ))
        await deliverer.run_once()
        for what, who in secretary.planned.pop(day, []):
            secretary.tally.actions[await _do(secretary, what, who)] += 1
        for message in secretary.new_messages():
            text = message.get("text") or ""
            # The bot's reminders, and the 党费 ledger's month-end one (who has not paid).
            reminder = "🔔" in text or (text.startswith("⏰") and "党费" in text)
            if reminder and message.get("reply_markup"):
                secretary.tally.actions[await _follow(secretary, message)] += 1
        secretary.new_messages()
        await lateness.look(application, branch.id, day)
        day += timedelta(days=1)
    if until == date(YEAR, 12, 31):
        clock.move_to(datetime(YEAR + 1, 1, 2, 10, 0, tzinfo=TZ))
        secretary.month = 13
        await secretary.send(f"/report {YEAR}")
        secretary.report = fake.sent_files[-1]["data"]
    rows = await application.database.fetchall(
        "SELECT status, COUNT(*) AS n FROM members GROUP BY status ORDER BY status"
    )
    secretary.statuses = {row["status"]: row["n"] for row in rows}
    return secretary, lateness


async def simulate(folder: Path, until: date = date(YEAR, 12, 31)) -> tuple[Secretary, Lateness]:
    """Run the year (or its first part) on a new database in `folder`."""
    pacing = Pacing(speed=1000)
    fake = FakeTelegram(token=OFFLINE_TOKEN, clock=pacing.now)
    fake.add_user(SECRETARY, first_name="书记")
    path = folder / "year.sqlite3"
    config = Config(
        telegram=TelegramConfig(token=OFFLINE_TOKEN, rate_limit=False),
        storage=StorageConfig(database=str(path), backups=0),
        bot=BotConfig(reminders=False),
        pacing=pacing,
    )
    with time_machine.travel(datetime(YEAR - 1, 12, 15, 10, 0, tzinfo=TZ)) as clock:
        async with running_bot(path, fake, config) as application:
            return await _live(application, fake, clock, until)


async def run() -> None:
    """Run the year and print its figures."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        secretary, lateness = await simulate(Path(folder))
    _print(secretary, lateness, time.perf_counter() - started)


def _print(secretary: Secretary, lateness: Lateness, seconds: float) -> None:
    print("simulated year (a 9-person branch, every reminder followed):")
    setup = secretary.months.get(0, Tally())
    print(f"  setup in December: {setup.taps} taps, {setup.typed} typed")
    total = 0
    for month in range(1, 13):
        tally = secretary.months.get(month, Tally())
        total += tally.taps + tally.typed
        acts = ", ".join(f"{k} {v}" for k, v in sorted(tally.actions.items()))
        print(f"  {month:2d}月: {tally.taps:3d} taps, {tally.typed:3d} typed  ({acts})")
    print(f"  average {total / 12:.1f} taps and messages a month (target ≤ 60)")
    print(f"  overdue on some day: {len(lateness.overdue)} (target 0)")
    for (code, start), first in sorted(lateness.overdue.items(), key=lambda kv: kv[1]):
        print(f"    {code} of the period from {start}: overdue from {first}")
    print(f"  roster at the end: {secretary.statuses}")
    if secretary.report:
        document = docx.Document(BytesIO(secretary.report))
        table = [[cell.text for cell in row.cells] for row in document.tables[0].rows]
        print("  /report: " + "; ".join(f"{r[0]} {r[3]}/{r[2]}" for r in table[1:]))
    for day, line in secretary.unacted:
        print(f"  {day}: read, no action offered: {line}")
    print(f"  ({seconds:.0f} s)")


if __name__ == "__main__":
    import asyncio

    asyncio.run(run())
    os._exit(0)
