"""What limits one machine at a city's scale, beyond the screens' times (README, "容量").

`python -m benchmarks.capacity province` measures the province instead.

On the generated city database (benchmarks.datagen): where its bytes are (per table, with the
indexes), how long the online backup takes while the bot writes once a second, and how many
write transactions a second the one SQLite writer commits (a 党费 mark with its audit entry,
the size of most of the bot's writes).
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from contextlib import closing
from datetime import date
from pathlib import Path

from benchmarks import datagen
from db import Database, backup, settings

WRITES = 300


def _sizes(path: Path) -> list[tuple[str, int]]:
    """Bytes per table, its indexes included, largest first."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master"))
        sizes: dict[str, int] = {}
        for name, pages in conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            table = owner.get(name, name)
            sizes[table] = sizes.get(table, 0) + pages
    return sorted(sizes.items(), key=lambda item: -item[1])


def _backup_while_writing(path: Path) -> tuple[float, int]:
    """Seconds of db.backup while another connection commits once a second; its writes."""
    done = threading.Event()
    writes = 0

    def heartbeat() -> None:
        nonlocal writes
        with closing(sqlite3.connect(path, isolation_level=None)) as conn:
            conn.execute("PRAGMA busy_timeout=5000")
            while not done.wait(1.0):
                conn.execute(
                    "INSERT OR REPLACE INTO runtime_state (key, value, updated_at) "
                    "VALUES ('capacity_bench', ?, ?)",
                    (str(time.time()), date.today().isoformat()),
                )
                writes += 1

    writer = threading.Thread(target=heartbeat)
    writer.start()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        try:
            backup.backup(path, Path(folder) / "copy.sqlite3")
        finally:
            done.set()
            writer.join()
        return time.perf_counter() - started, writes


async def _commits(path: Path) -> tuple[float, float]:
    """Write transactions a second (median of three runs of WRITES), and the slowest one's
    milliseconds."""
    database = Database(path)
    await database.open()
    rates = []
    slowest = 0.0
    try:
        for run in range(3):
            started = time.perf_counter()
            for n in range(WRITES):
                one = time.perf_counter()
                # Months far in the past: rows no screen reads, removed below.
                await settings.mark_done(
                    database,
                    user_id=10,
                    branch_id=1,
                    code=f"capacity_bench_{run}",
                    period_start=date(1900 + n // 12, 1 + n % 12, 1),
                )
                slowest = max(slowest, time.perf_counter() - one)
            rates.append(WRITES / (time.perf_counter() - started))
        async with database.transaction() as conn:
            await conn.execute("DELETE FROM obligation_marks WHERE code LIKE 'capacity_bench_%'")
            await conn.execute("DELETE FROM audit_log WHERE entity = 'obligation_mark' AND "
                               "changes LIKE '%capacity_bench_%'")  # fmt: skip
    finally:
        await database.close()
    return statistics.median(rates), slowest * 1000


async def run(name: str = "city") -> None:
    """Print the capacity figures of the city (or the named scale)."""
    scale = datagen.scale_of(name)
    path = datagen.ensure(scale)
    size = path.stat().st_size
    print(f"\nCapacity on the {scale.name} database ({scale.branches:,} branches × "
          f"{scale.years} years, {size / 2**20:,.0f} MiB)")  # fmt: skip
    print("  bytes by table (with its indexes):")
    for table, found in _sizes(path)[:8]:
        print(f"    {table:18} {found / 2**20:7,.0f} MiB  {found / size:4.0%}")
    seconds, writes = await asyncio.to_thread(_backup_while_writing, path)
    print(f"  online backup with a write a second beside it: {seconds:.1f} s ({writes} writes)")
    rate, slowest = await _commits(path)
    print(
        f"  write transactions (党费 mark + audit entry): {rate:,.0f}/s, slowest {slowest:.0f} ms"
    )


if __name__ == "__main__":
    asyncio.run(run(*sys.argv[1:2]))
