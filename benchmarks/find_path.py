"""/find over five years of one branch's records, among other branches' records.

Measured two ways: the search query alone (db.meetings.search_meetings), and /find through the
real bot polling the in-process emulator (from the message to the reply reaching it). Words of
two characters (found in the record's text), of three and more (the FTS5 trigram index), several
words, and a word found nowhere.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from benchmarks.running import running_bot, timed
from bot.app import OFFLINE_TOKEN
from bot.emulator.core import FakeTelegram
from db import Database, meetings, repo
from db.models import BranchProfile, Meeting

RECORDS = 300  # five years of one branch: 60 a year
OTHERS = int(os.environ.get("FIND_OTHER_BRANCHES", "200"))
OTHER_RECORDS = 30
SECRETARY = 1001
TARGET_MS = 50.0
QUERIES = ("宪法", "党课", "二十大精神", "乡村振兴 学习", "民主评议 张三", "不存在的词语")
WORDS = (
    "学习贯彻党的二十大精神",
    "主题党日",
    "宪法",
    "组织生活会",
    "民主评议",
    "党课",
    "支部委员会",
    "换届选举",
    "志愿服务",
    "走访会员企业",
    "章程",
    "党费收缴",
    "谈心谈话",
    "发展党员",
    "入党积极分子",
    "批评与自我批评",
    "廉洁",
    "安全生产",
    "乡村振兴",
    "红色教育",
    "参观",
    "纪念馆",
    "张三",
    "李四",
    "王五",
)
KINDS = ("member_meeting", "committee_meeting", "party_lecture", "theme_party_day")


def _record(rng: random.Random, day: date) -> Meeting:
    def text(n: int) -> str:
        return "，".join(rng.choice(WORDS) for _ in range(n))

    return Meeting(
        kind=rng.choice(KINDS),
        held_on=day,
        place="会议室",
        host=rng.choice(("张三", "李四")),
        recorder="王五",
        title=text(2),
        agenda=(text(3), text(3)),
        content=text(60),
        resolutions=text(5),
    )


async def _world(path: Path) -> int:
    """The measured branch (RECORDS records) and OTHERS branches with OTHER_RECORDS each."""
    database = Database(path)
    await database.open()
    rng = random.Random(7)
    profile = BranchProfile("支部", "协会", "trade_association", "single", 9, 1, True, False, 15)
    target = 0
    today = date(2026, 11, 30)
    for index in range(OTHERS + 1):
        user = SECRETARY if index == 0 else 10_000 + index
        branch, _ = await repo.create_branch(
            database, user_id=user, profile=profile, draft_key=f"b{index}"
        )
        target = target or branch.id
        count = RECORDS if index == 0 else OTHER_RECORDS
        for n in range(count):
            day = today - timedelta(days=(n * 5 * 365) // count)
            await meetings.create_meeting(
                database,
                user_id=user,
                branch_id=branch.id,
                meeting=_record(rng, day),
                draft_key=f"m{index}-{n}",
            )
    await database.close()
    return target


async def _query_times(path: Path, branch_id: int) -> dict[str, list[float]]:
    database = Database(path)
    await database.open()
    times: dict[str, list[float]] = {q: [] for q in QUERIES}
    for _ in range(20):
        for query in QUERIES:
            started = time.perf_counter()
            await meetings.search_meetings(database, branch_id, [query.split()])
            times[query].append((time.perf_counter() - started) * 1000)
    await database.close()
    return times


async def _bot_times(path: Path) -> list[float]:
    fake = FakeTelegram(token=OFFLINE_TOKEN)
    fake.add_user(SECRETARY)
    async with running_bot(path, fake) as application:
        return [
            await timed(application, fake, SECRETARY, f"/find {query}") * 1000
            for _ in range(10)
            for query in QUERIES
        ]


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run() -> None:
    """Print /find's query time per kind of query and its time through the bot."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "find.sqlite3"
        started = time.perf_counter()
        branch_id = await _world(path)
        total = RECORDS + OTHERS * OTHER_RECORDS
        print(f"/find: {total} records in {OTHERS + 1} branches, built in "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        for query, values in (await _query_times(path, branch_id)).items():
            median, p99 = statistics.median(values), _p(values, 0.99)
            print(f"  query 「{query}」 over {RECORDS} records: median {median:.1f} ms, "
                  f"p99 {p99:.1f} ms")  # fmt: skip
        values = await _bot_times(path)
        print(f"  /find through the bot: median {statistics.median(values):.1f} ms, p99 "
              f"{_p(values, 0.99):.1f} ms (target < {TARGET_MS:.0f} ms)")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(run())
