"""`make bench`: every figure the issues ask for, measured in one run against the same baseline."""

from __future__ import annotations

import asyncio
import platform
import sys

from benchmarks import (
    ask_path,
    burst_path,
    fanout,
    flood_path,
    help_path,
    meetings_path,
    overview_path,
    roster_import,
    sweep_bench,
)


def main() -> int:
    """Run every benchmark and print its figures."""
    print(f"python {platform.python_version()} on {platform.machine()}, {sys.platform}")
    asyncio.run(help_path.run())
    asyncio.run(ask_path.run())
    asyncio.run(meetings_path.run())
    asyncio.run(sweep_bench.run())
    asyncio.run(fanout.run())
    asyncio.run(roster_import.run())
    asyncio.run(overview_path.run())
    asyncio.run(flood_path.run())
    asyncio.run(burst_path.run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
