"""`make bench`: every figure the issues ask for, measured in one run against the same baseline.

`--quick` (`make bench-quick`, about two minutes) runs the daily subset on small worlds; the
full run (under fifteen minutes once the city database is generated and cached under
data/bench/) adds the slow paths and the capacity figures, on the city; BENCH_PROVINCE=1 adds
the province (20,000 branches).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import platform
import sys
import time

# (module, quick?) in the order they run; `--quick` shrinks their worlds through the environment.
BENCHES = (
    ("help_path", True),
    ("startup", True),
    ("scale_status", True),
    ("sweep_bench", True),
    ("overview_path", True),
    ("find_path", True),
    ("report_path", True),
    ("dues_path", True),
    ("roster_import", True),
    ("fanout", True),
    ("ask_path", False),
    ("meetings_path", False),
    ("flood_path", False),
    ("burst_path", False),
    ("capacity", False),
    ("year", False),
)
QUICK = {
    "BENCH_BRANCHES": "200",  # the generated "city" shrunk to 200 branches (benchmarks.datagen)
    "FANOUT_BRANCHES": "100",
    "FIND_OTHER_BRANCHES": "50",
}


def main() -> int:
    """Run every benchmark (or the quick ones) and print its figures."""
    quick = "--quick" in sys.argv[1:]
    if quick:
        for name, value in QUICK.items():
            os.environ.setdefault(name, value)
    print(f"python {platform.python_version()} on {platform.machine()}, {sys.platform}")
    started = time.perf_counter()
    for name, in_quick in BENCHES:
        if quick and not in_quick:
            continue
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"benchmarks.{name}":
                raise
            continue
        asyncio.run(module.run())
    print(f"(benchmarks took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
