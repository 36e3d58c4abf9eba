"""Meeting records in storage: idempotent save, photos, filters, audited edits, soft delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from db import Database, meetings, repo
from db.models import Meeting, Photo
from tests.factories import make_profile


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(tmp_path / "m.sqlite3")
    await db.open()
    yield db
    await db.close()


async def _branch(db: Database, user_id: int = 1, key: str = "k") -> int:
    branch, _ = await repo.create_branch(
        db, user_id=user_id, profile=make_profile(), draft_key=key
    )
    return branch.id


MEETING = Meeting(
    kind="member_meeting",
    held_on=date(2026, 11, 20),
    start_time="14:30",
    place="党员活动室 <b>&",
    host="张三",
    recorder="李四",
    expected=6,
    present=5,
    absentees=(("王五", "出差"),),
    agenda=("学习二十届四中全会精神", "讨论年度计划 🚩"),
    content="會議內容",
    resolutions="同意",
    also_counts_as=("party_lecture",),
    speaker="张三",
    photos=(Photo("f1", "u1"), Photo("f2", "u2"), Photo("f1b", "u1")),
)


async def test_save_twice_saves_once_and_keeps_everything(database: Database) -> None:
    branch_id = await _branch(database)
    saved, created = await meetings.create_meeting(
        database, user_id=1, branch_id=branch_id, meeting=MEETING, draft_key="d1"
    )
    again, created_again = await meetings.create_meeting(
        database, user_id=1, branch_id=branch_id, meeting=MEETING, draft_key="d1"
    )
    assert created and not created_again and again.id == saved.id
    assert saved.place == "党员活动室 <b>&" and saved.content == "會議內容"
    assert saved.absentees == (("王五", "出差"),)
    assert saved.agenda == MEETING.agenda
    # The same photo sent twice is kept once.
    assert [p.file_unique_id for p in saved.photos] == ["u1", "u2"]
    assert saved.counts_as == ("member_meeting", "party_lecture")


async def test_list_filters_combined_sittings_and_pages(database: Database) -> None:
    branch_id = await _branch(database)
    other = await _branch(database, user_id=2, key="k2")
    for day in range(1, 13):
        kind = "member_meeting" if day % 2 else "committee_meeting"
        await meetings.create_meeting(
            database,
            user_id=1,
            branch_id=branch_id,
            meeting=Meeting(kind=kind, held_on=date(2025 + day % 2, day, 1)),
            draft_key=f"d{day}",
        )
    await meetings.create_meeting(
        database, user_id=2, branch_id=other, meeting=MEETING, draft_key="x"
    )
    page, total = await meetings.list_meetings(database, branch_id, limit=5)
    assert total == 12 and len(page) == 5
    assert [m.held_on for m in page] == sorted((m.held_on for m in page), reverse=True)
    _, total_2026 = await meetings.list_meetings(database, branch_id, year=2026)
    assert total_2026 == 6
    lectures, n = await meetings.list_meetings(database, other, kind="party_lecture")
    assert n == 1 and lectures[0].kind == "member_meeting"
    assert await meetings.years_with_meetings(database, branch_id) == [2026, 2025]


async def test_update_is_audited_and_delete_hides(database: Database) -> None:
    branch_id = await _branch(database)
    saved, _ = await meetings.create_meeting(
        database, user_id=1, branch_id=branch_id, meeting=MEETING, draft_key="d"
    )
    assert saved.id is not None
    updated = await meetings.update_meeting(
        database, user_id=7, meeting_id=saved.id, changes={"place": "会议室", "photos": ()}
    )
    assert updated is not None and updated.place == "会议室" and updated.photos == ()
    entry = (await repo.audit_entries(database, branch_id))[0]
    assert entry.user_id == 7 and entry.action == "update"
    assert entry.changes == {"place": ["党员活动室 <b>&", "会议室"], "photos": [2, 0]}
    with pytest.raises(ValueError):
        await meetings.update_meeting(
            database, user_id=7, meeting_id=saved.id, changes={"branch_id": 3}
        )
    assert await meetings.delete_meeting(database, user_id=7, meeting_id=saved.id)
    assert not await meetings.delete_meeting(database, user_id=7, meeting_id=saved.id)
    assert await meetings.get_meeting(database, saved.id) is None
    assert (await meetings.list_meetings(database, branch_id))[1] == 0
    row = await database.fetchone("SELECT deleted_by FROM meetings WHERE id = ?", (saved.id,))
    assert row is not None and row["deleted_by"] == 7
    assert (await repo.audit_entries(database, branch_id))[0].action == "delete"


async def test_party_day_plan_upsert(database: Database) -> None:
    branch_id = await _branch(database)
    plan = await meetings.save_plan(
        database,
        user_id=1,
        branch_id=branch_id,
        planned_on=date(2026, 12, 15),
        theme="学习",
        activity_form="study",
    )
    again = await meetings.save_plan(
        database,
        user_id=1,
        branch_id=branch_id,
        planned_on=date(2026, 12, 18),
        theme="志愿",
        activity_form="volunteer",
    )
    assert again.id == plan.id and again.planned_on == date(2026, 12, 18)
    assert await meetings.get_plan(database, branch_id, "2026-12") == again
    assert await meetings.get_plan(database, branch_id, "2026-11") is None
