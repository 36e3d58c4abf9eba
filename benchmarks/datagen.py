"""A city's and a province's database for the scale benchmarks, generated once and cached.

`ensure("city")` returns the path of a database with 5,000 branches and five years of what a
real branch keeps: a roster of 30, about 30 meetings a year (with their photos, plans, group
sign-ins and 补学), 党费 marks, settings, roles, custom reminders, the reminders sent, the
audit log, the superior organization's notices. `ensure("province")`: 20,000 branches, three
years. The file is written under data/bench/ (gitignored) in one bulk load through db.bulk, and
its name carries GENERATOR_VERSION: a change here makes a new file, and the stale one of that
scale is removed. A cached file older than the schema is upgraded in place by the bot's own
migrations, as a deployed database is, and the time that took is printed.

BENCH_BRANCHES=200 shrinks every named scale to that many branches (tests, bench-quick).
`python -m benchmarks.datagen city` generates (or finds) the file and prints its figures.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import count
from pathlib import Path
from typing import Any

from db import bulk
from db.bulk import Batch
from db.database import Database, migrations

# Raise when what is generated changes (the file name carries it: old files are not reused).
GENERATOR_VERSION = 2
FOLDER = Path(__file__).resolve().parents[1] / "data" / "bench"
ADMIN = 9_000_000
CHUNK = 250  # branches generated and inserted at a time: memory stays small
MEMBERS = 30


@dataclass(frozen=True)
class Scale:
    """How many branches, and how many years of records ending this year."""

    name: str
    branches: int
    years: int


SCALES = {
    "city": Scale("city", 5000, 5),
    "province": Scale("province", 20_000, 3),
}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    "明", "超", "秀英", "霞", "平", "刚", "桂英", "建华", "文", "华", "红", "志强", "玉兰",
    "海燕", "建国",
)  # fmt: skip
STATUSES = ("formal",) * 24 + ("probationary",) * 2 + ("candidate",) * 2 + ("activist",)
STATUSES += ("applicant",)
COMMITTEE_ROLES = {0: "书记", 1: "组织委员", 2: "宣传委员"}
CUSTOM_TEXTS = ("每月5日前报送党员学习情况", "季度首月收缴党费", "每周一学习强国积分")
PLACES = ("协会会议室", "党群服务中心", "红色教育基地", "线上（腾讯会议）", "社区活动室")
THEMES = (
    "学习贯彻党的二十大精神",
    "重温入党誓词",
    "参观红色教育基地",
    "志愿服务进社区",
    "学习新修订的《中国共产党纪律处分条例》",
    "行业自律与诚信建设",
)
FORMS = ("study", "red_education", "volunteer", "deliberation")  # the form codes
_PARAGRAPH = (
    "会议传达学习了上级党组织关于加强社会组织党建工作的通知精神，结合本协会实际，"
    "围绕服务会员、规范管理、发挥党员先锋模范作用等方面进行了讨论。与会党员逐一发言，"
    "联系思想和工作实际谈体会、找差距、提措施，一致表示要把学习成果转化为推动协会健康发展的"
    "实际行动。会议还通报了上季度党费收缴和党员教育情况，对下阶段工作作出安排。"
)
CONTENTS = tuple(f"{THEMES[i % len(THEMES)]}。{_PARAGRAPH}（第{i + 1}项）" for i in range(40))
RESOLUTIONS = (
    "一、按时足额收缴党费；二、下月主题党日开展志愿服务；三、各党小组报送学习心得。",
    "同意确定一名发展对象，报上级党组织预审。",
    "通过本季度党员教育培训计划。",
)
AGENDA = json.dumps(["传达学习上级文件精神", "通报近期工作", "讨论下阶段安排"], ensure_ascii=False)
# (kind, months, day) of a year's sittings; a branch without a committee holds group meetings.
SCHEDULE = (
    ("theme_party_day", range(1, 13), 0),
    ("committee_meeting", (1, 3, 5, 7, 9, 11), 10),
    ("member_meeting", (3, 6, 9, 12), 20),
    ("party_lecture", (4, 8, 12), 15),
    ("heart_to_heart_talk", (2, 6, 10), 12),
    ("organizational_life_meeting", (1,), 25),
    ("member_appraisal", (2,), 22),
)
STAMP = "T02:00:00+00:00"

COLUMNS = {
    "users": ("id", "current_branch_id", "created_at", "updated_at"),
    "admins": ("user_id", "invited_by", "created_at"),
    "branches": (
        "id", "name", "organization_name", "organization_type", "formation_mode",
        "formal_members", "probationary_members", "has_committee", "has_party_groups",
        "party_day", "created_by", "draft_key", "created_at", "updated_at", "roster_complete",
        "party_week", "party_weekday",
    ),
    "memberships": ("user_id", "branch_id", "role", "created_at"),
    "branch_settings": (
        "branch_id", "reminder_time", "lead_days", "frequencies", "muted", "to_private",
        "to_group", "group_chat_id", "elected_on", "term_years", "updated_at",
        "elected_month_only",
    ),
    "members": (
        "id", "branch_id", "name", "status", "joined_on", "party_group", "committee_role",
        "mobile", "destination", "left_on", "last_report_on", "user_id", "created_at",
        "updated_at",
    ),
    "party_day_plans": (
        "id", "branch_id", "month", "planned_on", "theme", "activity_form", "created_by",
        "created_at", "updated_at",
    ),
    "meetings": (
        "id", "branch_id", "kind", "held_on", "start_time", "place", "host", "recorder",
        "speaker", "counterpart", "title", "activity_form", "expected", "present", "on_leave",
        "absentees", "agenda", "content", "resolutions", "also_counts_as", "accepted_warnings",
        "plan_id", "created_by", "draft_key", "created_at", "updated_at", "deleted_at",
        "deleted_by",
    ),
    "meeting_photos": ("meeting_id", "position", "file_id", "file_unique_id"),
    "checkins": (
        "id", "branch_id", "chat_id", "message_id", "held_on", "kind", "opened_by", "opened_at",
        "closed_at", "meeting_id",
    ),
    "checkin_marks": ("checkin_id", "member_id", "state", "reason", "at"),
    "makeups": ("branch_id", "member_id", "checkin_id", "created_at", "done_at", "done_by"),
    "obligation_marks": ("branch_id", "code", "period_start", "marked_by", "marked_at"),
    "snoozes": ("branch_id", "code", "period_start", "until"),
    "custom_reminders": (
        "branch_id", "created_by", "text", "rule", "on_date", "weekday", "day_of_month",
        "quarter_month", "at_time", "paused", "created_at", "updated_at", "draft_key",
    ),
    "outbox": (
        "key", "branch_id", "chat_id", "text", "buttons", "not_before", "expires_at", "state",
        "attempts", "created_at", "sent_at", "message_id",
    ),
    "audit_log": ("at", "user_id", "branch_id", "action", "entity", "entity_id", "changes"),
    "notices": ("id", "sent_by", "text", "audience", "draft_key", "created_at"),
    "notice_targets": ("notice_id", "branch_id", "read_by", "read_at"),
    "selfchecks": (
        "branch_id", "user_id", "kind", "answers", "score", "total", "checked_on", "source_key",
        "created_at",
    ),
    "invitations": (
        "token_hash", "branch_id", "role", "created_by", "created_at", "expires_at", "used_by",
        "used_at",
    ),
    "blocked_chats": ("chat_id", "blocked_at"),
}  # fmt: skip


def scale_of(scale: str | Scale) -> Scale:
    """The named scale (BENCH_BRANCHES shrinks or grows it), or the given one."""
    if isinstance(scale, Scale):
        return scale
    found = SCALES[scale]
    branches = os.environ.get("BENCH_BRANCHES")
    return replace(found, branches=int(branches)) if branches else found


def path_of(scale: Scale, end: date, folder: Path = FOLDER) -> Path:
    """The cache file of a scale: its size, the last year and the generator."""
    return folder / (
        f"{scale.name}-{scale.branches}x{scale.years}-{end.year}-v{GENERATOR_VERSION}.sqlite3"
    )


def _upgrade(path: Path) -> None:
    """Apply the migrations a cached file lacks (the bot's own, on opening), and say how long
    upgrading an existing database of this size took."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        query = "SELECT COALESCE(MAX(version), 0) FROM schema_version"
        (version,) = conn.execute(query).fetchone()
    latest = len(migrations())
    if version >= latest:
        return

    async def upgrade() -> None:
        database = Database(path)
        await database.open()
        await database.close()

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, upgrade()).result()
    print(
        f"  ({path.name}: upgraded from schema {version} to {latest} in "
        f"{time.perf_counter() - started:.1f} s, as a deployed database of this size would be)"
    )


def ensure(scale: str | Scale, *, folder: Path = FOLDER, end: date | None = None) -> Path:
    """The database of a scale, generated first if it is not cached yet."""
    found = scale_of(scale)
    end = end or date.today()
    path = path_of(found, end, folder)
    if path.exists():
        _upgrade(path)
        return path
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f"{found.name}-{found.branches}x{found.years}-*.sqlite3"):
        stale.unlink()
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    # The migrations run on asyncio: a thread of its own works whether or not a loop runs here.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(generate, partial, found, end).result()
    partial.rename(path)
    return path


def generate(path: Path, scale: Scale, end: date) -> dict[str, int]:
    """Write the scale's database to path (a new file); rows per table."""
    bulk.create(path)
    return bulk.load(path, _batches(scale, end))


def _batches(scale: Scale, end: date) -> Iterator[Batch]:
    ids = _Ids()
    yield _shared(scale, end)
    for first in range(1, scale.branches + 1, CHUNK):
        rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in COLUMNS}
        for branch in range(first, min(first + CHUNK, scale.branches + 1)):
            _branch(rows, ids, branch, scale, end)
        yield {table: (COLUMNS[table], found) for table, found in rows.items()}


class _Ids:
    """Running ids of the rows other rows point to."""

    def __init__(self) -> None:
        self.member = count(1)
        self.meeting = count(1)
        self.plan = count(1)
        self.checkin = count(1)


def _notices(scale: Scale, end: date) -> list[tuple[date, int]]:
    """Six notices a year from the superior organization: (day, id)."""
    first = end.year - scale.years + 1
    years = range(first, end.year + 1)
    days = [date(year, month, 8) for year in years for month in range(1, 13, 2)]
    return [(day, number) for number, day in enumerate(days, 1) if day <= end]


def _shared(scale: Scale, end: date) -> Batch:
    notices = [
        (number, ADMIN, f"关于做好{day.year}年第{day.month}月党建工作的通知", "{}",
         f"notice-{number}", f"{day}{STAMP}")
        for day, number in _notices(scale, end)
    ]  # fmt: skip
    return {
        "users": (COLUMNS["users"], [(ADMIN, None, f"{end}{STAMP}", f"{end}{STAMP}")]),
        "admins": (COLUMNS["admins"], [(ADMIN, None, f"{end}{STAMP}")]),
        "notices": (COLUMNS["notices"], notices),
    }


def _branch(
    rows: dict[str, list[tuple[Any, ...]]], ids: _Ids, b: int, scale: Scale, end: date
) -> None:
    """Every row of branch b."""
    first_year = end.year - scale.years + 1
    created = date(first_year, 1, 1) - timedelta(days=30 + b % 60)
    since = f"{created}{STAMP}"
    has_committee = b % 5 != 0
    has_groups = b % 4 == 0
    in_group = b % 3 == 0
    party_day = 1 + b % 28
    secretary = 10 * b
    group_chat = -1_000_000_000_000 - b
    rows["branches"].append((
        b, f"第{b}党支部", f"第{b}行业协会", ("social_group", "private_non_enterprise",
        "foundation", "trade_association")[b % 4], ("standalone", "joint", "industry")[b % 3],
        24, 2, int(has_committee), int(has_groups), party_day, secretary, f"reg-{b}", since,
        since, 1, 0, 0,
    ))  # fmt: skip
    roles = [(secretary, "secretary")]
    if b % 2 == 0:
        roles.append((secretary + 1, "deputy"))
    if has_committee:
        roles.append((secretary + 2, "committee"))
    if in_group:
        roles.append((secretary + 3, "viewer"))
    for user, role in roles:
        rows["users"].append((user, b, since, since))
        rows["memberships"].append((user, b, role, since))
    if b % 100 == 0:
        rows["blocked_chats"].append((roles[-1][0], since))
    rows["branch_settings"].append((
        b, ("09:00", "08:30", "10:00")[b % 3], "[7, 2]",
        '{"party_lecture": "off"}' if b % 10 == 0 else "{}", "[]", 1, int(in_group),
        group_chat if in_group else None, f"{first_year - b % 3}-06-15", 3, since, 0,
    ))  # fmt: skip
    if b % 2 == 0:
        token = hashlib.sha256(f"invite-{b}".encode()).hexdigest()
        rows["invitations"].append(
            (token, b, "deputy", secretary, since, f"{created + timedelta(days=7)}{STAMP}",
             secretary + 1, since)
        )  # fmt: skip
    members = _roster(rows, ids, b, created, has_groups, end)
    for day, notice in _notices(scale, end):
        read = day + timedelta(days=1 + b % 5)
        if b % 5 and read <= end:
            rows["notice_targets"].append((notice, b, secretary, f"{read}{STAMP}"))
        else:
            rows["notice_targets"].append((notice, b, None, None))
    for n, rule in enumerate(("monthly", "quarterly", "weekly")[: b % 4]):
        rows["custom_reminders"].append((
            b, secretary, CUSTOM_TEXTS[n],
            rule, None, 0 if rule == "weekly" else None, 5 if rule != "weekly" else None, 1,
            "09:30", int(b % 7 == 0), since, since, f"cr-{b}-{n}",
        ))  # fmt: skip
    for year in range(first_year, end.year + 1):
        _year(rows, ids, b, year, end, members, has_committee, in_group, party_day)
        for half, month in enumerate((6, 12)):
            day = date(year, month, 20)
            if day <= end:
                rows["selfchecks"].append((
                    b, secretary, ("eight", "six")[half], "yyyyyyny", 7, 8, str(day),
                    f"{secretary}:{year}{month:02d}{b}", f"{day}{STAMP}",
                ))  # fmt: skip
    this_month = end.replace(day=1)
    if b % 6 == 0:
        rows["snoozes"].append((b, "party_dues", str(this_month), str(end + timedelta(days=3))))


def _roster(
    rows: dict[str, list[tuple[Any, ...]]],
    ids: _Ids,
    b: int,
    created: date,
    has_groups: bool,
    end: date,
) -> list[tuple[int, str]]:
    """The branch's 30 people; (member id, name) of each."""
    found = []
    since = f"{created}{STAMP}"
    for k in range(MEMBERS):
        member = next(ids.member)
        name = SURNAMES[(b + k) % len(SURNAMES)] + GIVEN[k]
        status = STATUSES[k]
        joined = None
        if status == "formal":
            joined = f"{1985 + (b + k) % 35}-07-01"
        elif status == "probationary":
            joined = str(end - timedelta(days=200 + 60 * k % 300))
        mobile = k == 20 and b % 3 == 0
        rows["members"].append((
            member, b, name, status, joined, f"第{1 + k % 3}党小组" if has_groups else "",
            COMMITTEE_ROLES.get(k, "") if b % 5 else ("书记" if k == 0 else ""), int(mobile),
            "深圳" if mobile else "", str(created) if mobile else None,
            str(end - timedelta(days=20 + b % 90)) if mobile else None,
            10 * b + k if k < 4 else None, since, since,
        ))  # fmt: skip
        rows["audit_log"].append(
            (since, 10 * b, b, "create", "member", member, f'{{"status": [null, "{status}"]}}')
        )
        found.append((member, name))
    return found


def _year(
    rows: dict[str, list[tuple[Any, ...]]],
    ids: _Ids,
    b: int,
    year: int,
    end: date,
    members: list[tuple[int, str]],
    has_committee: bool,
    in_group: bool,
    party_day: int,
) -> None:
    """A year of one branch: plans, sittings (photos, sign-ins), 党费, reminders sent."""
    secretary = 10 * b
    names = [name for _, name in members]
    plans: dict[int, int] = {}
    for month in range(1, 13):
        start = date(year, month, 1)
        if start > end:
            break
        day = date(year, month, min(party_day, 28))
        if month % 5:
            plan = next(ids.plan)
            plans[month] = plan
            rows["party_day_plans"].append((
                plan, b, f"{year}-{month:02d}", str(day), THEMES[(b + month) % len(THEMES)],
                FORMS[month % len(FORMS)], secretary, f"{start}{STAMP}", f"{start}{STAMP}",
            ))  # fmt: skip
        if b % 7 or month % 3:
            paid = start + timedelta(days=9)
            if paid <= end:
                rows["obligation_marks"].append(
                    (b, "party_dues", str(start), secretary, f"{paid}{STAMP}")
                )
        for code, nth in (("party_dues", 0), ("theme_party_day", 1)):
            sent = start + timedelta(days=5 + nth)
            if sent > end:
                continue
            state = "missed" if b % 10 == 0 and nth and sent > end - timedelta(days=25) else "sent"
            rows["outbox"].append((
                f"ob:{b}:{code}:{start}:due7:{secretary}", b, secretary,
                f"⏳ <b>第{b}党支部</b>：{('本月党费', '本月主题党日')[nth]}还未记录，"
                f"截止 {year}年{month}月底。",
                '[[["已收齐", "st:mark"]]]' if code == "party_dues" else "[]",
                f"{sent}T01:00:00+00:00", f"{sent}T14:00:00+00:00", state, int(state == "sent"),
                f"{sent}T00:00:00+00:00", f"{sent}T01:00:02+00:00" if state == "sent" else None,
                1000 + month if state == "sent" else None,
            ))  # fmt: skip
    for kind, months, on in SCHEDULE:
        if kind == "committee_meeting" and not has_committee:
            kind = "group_meeting"
        for n, month in enumerate(months):
            held = date(year, month, min(party_day, 28) if kind == "theme_party_day" else on)
            held += timedelta(days=b % 3)
            if held > end:
                continue
            _meeting(rows, ids, b, kind, held, n, names, plans.get(month), members, in_group)


def _meeting(
    rows: dict[str, list[tuple[Any, ...]]],
    ids: _Ids,
    b: int,
    kind: str,
    held: date,
    n: int,
    names: list[str],
    plan: int | None,
    members: list[tuple[int, str]],
    in_group: bool,
) -> None:
    """One sitting with its photos, audit entry and (in a bound group) its sign-in."""
    meeting = next(ids.meeting)
    secretary = 10 * b
    stamp = f"{held}T12:00:00+00:00"
    talk = kind == "heart_to_heart_talk"
    theme = kind == "theme_party_day"
    deleted = meeting % 97 == 0
    expected = 2 if talk else 26
    present = 2 if talk else 23 + meeting % 3
    # JSON written by hand: the names have no quotes, and json.dumps was a third of the time.
    absentees = (
        "[" + ", ".join(f'["{name}", "出差"]' for name in names[: expected - present]) + "]"
    )
    rows["meetings"].append((
        meeting, b, kind, str(held), "14:30", PLACES[meeting % len(PLACES)], names[0], names[1],
        names[5] if kind == "party_lecture" else "", names[6 + n % 20] if talk else "",
        THEMES[meeting % len(THEMES)] if theme or kind == "party_lecture" else "",
        FORMS[meeting % len(FORMS)] if theme else "", expected, present, expected - present,
        absentees, "[]" if talk else AGENDA, CONTENTS[meeting % len(CONTENTS)],
        "" if talk else RESOLUTIONS[meeting % len(RESOLUTIONS)],
        '["member_meeting"]' if theme and held.month in (3, 6) and b % 2 else "[]", "[]",
        plan if theme else None, secretary, f"log-{secretary}-{meeting}", stamp, stamp,
        stamp if deleted else None, secretary if deleted else None,
    ))  # fmt: skip
    rows["audit_log"].append(
        (stamp, secretary, b, "create", "meeting", meeting,
         f'{{"kind": [null, "{kind}"], "held_on": [null, "{held}"]}}')
    )  # fmt: skip
    if not theme:
        return
    for position in range(2):
        unique = f"AQAD{meeting:08d}{position}"
        rows["meeting_photos"].append(
            (meeting, position, f"AgACAgUAAxkBAAI{meeting:010d}{position}_photo_file_id", unique)
        )
    if not in_group:
        return
    checkin = next(ids.checkin)
    rows["checkins"].append((
        checkin, b, -1_000_000_000_000 - b, 5000 + checkin % 1000, str(held), kind, secretary,
        stamp, stamp, meeting,
    ))  # fmt: skip
    for k, (member, _) in enumerate(members[:expected]):
        leave = k >= present
        rows["checkin_marks"].append(
            (checkin, member, "leave" if leave else "present", "出差" if leave else "", stamp)
        )
        if leave:
            rows["makeups"].append((b, member, checkin, stamp, stamp, secretary))


def main() -> int:
    """Generate (or find) the named scales' files and print their figures."""
    for name in sys.argv[1:] or ["city"]:
        scale = scale_of(name)
        started = time.perf_counter()
        path = ensure(scale)
        seconds = time.perf_counter() - started
        size = path.stat().st_size
        print(
            f"{scale.name}: {scale.branches} branches × {scale.years} years, "
            f"{size / 2**20:.0f} MiB ({size / scale.branches / scale.years / 2**10:.0f} KiB "
            f"per branch-year), ready in {seconds:.1f} s: {path}"
        )
        for table, rows in bulk.table_sizes(path).items():
            if rows:
                print(f"  {table:18} {rows:>10,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
