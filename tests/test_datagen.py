"""The benchmarks' generated databases: what a branch keeps, cached once per schema."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from benchmarks import datagen
from db import bulk

END = date(2026, 12, 31)  # a whole last year: every month's rows are there


def test_a_branch_year_holds_what_a_real_branch_keeps(tmp_path: Path) -> None:
    path = datagen.ensure(datagen.Scale("t", 4, 2), folder=tmp_path, end=END)
    rows = bulk.table_sizes(path)
    assert rows["branches"] == 4 and rows["members"] == 4 * datagen.MEMBERS
    # Per branch and year: 12 主题党日, 6 支委会 (or 党小组会), 4 党员大会, 3 党课, 3 谈心谈话,
    # 1 组织生活会, 1 民主评议.
    assert rows["meetings"] == 4 * 2 * 30
    assert rows["audit_log"] == rows["meetings"] + rows["members"]
    assert rows["meeting_photos"] == 4 * 2 * 12 * 2
    assert rows["outbox"] == 4 * 2 * 12 * 2
    assert rows["notice_targets"] == 4 * 2 * 6
    assert rows["checkins"] == 1 * 2 * 12  # branch 3 has a bound group


def test_generated_once_per_generator_and_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scale = datagen.Scale("t", 2, 1)
    first = datagen.ensure(scale, folder=tmp_path, end=END)
    stamp = first.stat().st_mtime_ns
    assert datagen.ensure(scale, folder=tmp_path, end=END) == first
    assert first.stat().st_mtime_ns == stamp
    monkeypatch.setattr(datagen, "GENERATOR_VERSION", datagen.GENERATOR_VERSION + 1)
    second = datagen.ensure(scale, folder=tmp_path, end=END)
    assert second != first and second.exists() and not first.exists()


def test_bench_branches_shrinks_a_named_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_BRANCHES", "200")
    assert datagen.scale_of("city") == datagen.Scale("city", 200, 5)
    monkeypatch.delenv("BENCH_BRANCHES")
    assert datagen.scale_of("province") == datagen.Scale("province", 20_000, 3)
