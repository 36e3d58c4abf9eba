"""The steps of logging a meeting and how each typed answer is read (pure functions).

The logging flow asks one step at a time; which steps a record has depends on its kind. Every
reader returns the values the step sets (a dict of Meeting fields, JSON-friendly) or raises
InvalidAnswer with a code the template explains. Free text is kept literally (no conversion);
only control characters and runs of spaces are tidied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from bot import catalog
from bot.branch_profile import InvalidAnswer, RuleWarning
from bot.dates import DateError, parse_held_on, time_after_date
from bot.meetings import COMBINABLE, MEETING_KINDS, MeetingDraft, check_meeting, make_attendance
from bot.textnorm import chinese_to_int, clean_line, to_halfwidth
from bot.texts import labels
from db.meetings import MAX_PHOTOS
from db.models import BranchProfile, Meeting, Photo

ACTIVITY_FORMS = ("study", "volunteer", "red_education", "deliberation", "pairing", "other")
LIMITS = {
    "place": 60,
    "name": 20,
    "title": 60,
    "agenda_item": 100,
    "content": 2000,
    "resolutions": 1000,
    "reason": 30,
}
MAX_AGENDA = 10
STEPS: dict[str, tuple[str, ...]] = {kind.code: kind.steps for kind in catalog.KINDS}
COMMON_STEPS = ("kind", "held_on", "time_place")
# What each step fills in (for "is it answered?" and for editing a saved record).
STEP_FIELDS = {
    "kind": ("kind",),
    "held_on": ("held_on",),
    "time_place": ("start_time", "place"),
    "people": ("host", "recorder", "speaker", "counterpart"),
    "title": ("title",),
    "speaker": ("speaker",),
    "activity_form": ("activity_form",),
    "attendance": ("expected", "present", "on_leave", "absentees"),
    "agenda": ("agenda",),
    "content": ("content",),
    "resolutions": ("resolutions",),
    "photos": ("photos",),
}
OPTIONAL_STEPS = frozenset({"resolutions", "photos"})
_SEPARATORS = re.compile(r"[\s,，、/;；|]+")
_LEAVE_WORDS = ("假",)  # 请假、病假、事假、产假、公假
_TIME = re.compile(
    r"^(?:(上午|早上|中午|下午|晚上)\s*)?(\d{1,2}|[一二两三四五六七八九十]{1,3})"
    r"(?:[:：](\d{1,2})|点(?:(半)|(\d{1,2})分?)?|时(?:(\d{1,2})分)?)"
)


def steps_for(kind: str, also_counts_as: tuple[str, ...] | list[str] = ()) -> tuple[str, ...]:
    """Every step of a record of this kind, in order (a combined 党课 adds its speaker)."""
    steps = COMMON_STEPS + STEPS[kind]
    if "party_lecture" in also_counts_as and "party_lecture" in COMBINABLE.get(kind, ()):
        extra = ("speaker",) if kind == "theme_party_day" else ("speaker", "title")
        index = steps.index("attendance")
        steps = steps[:index] + extra + steps[index:]
    return steps


def _text(text: str, limit: int, *, multiline: bool = False) -> str:
    if multiline:
        lines = [clean_line(line) for line in text.replace("\r", "").split("\n")]
        value = "\n".join(lines).strip()
        value = re.sub(r"\n{3,}", "\n\n", value)
    else:
        if "\n" in text.strip():
            raise InvalidAnswer("multiline_text")
        value = clean_line(text)
    if not value:
        raise InvalidAnswer("empty")
    if len(value) > limit:
        raise InvalidAnswer("too_long", limit=limit, length=len(value))
    return value


def _names(text: str) -> list[str]:
    value = clean_line(text.replace("\n", " "))
    if not value:
        raise InvalidAnswer("empty")
    names = [n for n in _SEPARATORS.split(value) if n]
    for name in names:
        if len(name) > LIMITS["name"]:
            raise InvalidAnswer("name_too_long", limit=LIMITS["name"], name=name[:10])
    return names


def read_date(text: str, today: date) -> dict[str, Any]:
    """The day it was held: not in the future, and a day that exists."""
    try:
        held_on = parse_held_on(text, today)
    except DateError as error:
        offer = error.offer
        if offer is None:
            code = "future" if error.code == "future_this_year" else error.code
            raise InvalidAnswer("date_" + code) from None
        label = labels().CONFIRM_DAY.format(y=offer.year, m=offer.month, d=offer.day)
        raise InvalidAnswer(
            "date_" + error.code, day=offer, offer=(f"y{offer.isoformat()}", label)
        ) from None
    return {"held_on": held_on.isoformat()}


def read_offered_date(code: str, today: date) -> dict[str, Any]:
    """A date the user confirmed with one tap (`y<YYYY-MM-DD>`): real, not ahead, not ancient."""
    try:
        held_on = (
            date.fromisoformat(code[1:]) if code.startswith("y") and len(code) == 11 else None
        )
    except ValueError:
        held_on = None
    if held_on is None or held_on > today or held_on.year < 2000:
        raise InvalidAnswer("choice")
    return {"held_on": held_on.isoformat()}


def _hour(text: str) -> int:
    return int(text) if text.isdigit() else (chinese_to_int(text) or 0)


def read_time_place(text: str) -> dict[str, Any]:
    """ "14:30 党员活动室", "下午3点 会议室" or just the place; the time is optional."""
    if "\n" in text.strip():
        raise InvalidAnswer("multiline_text")
    value = clean_line(to_halfwidth(text))
    if not value:
        raise InvalidAnswer("empty")
    start_time = None
    if match := _TIME.match(value):
        start_time = _time_of(match)
        value = value[match.end() :].strip(" ,，、在于")
    if not value:
        raise InvalidAnswer("need_place")
    # The place is kept as typed (only the time was read off its front).
    return {"start_time": start_time, "place": _text(value, LIMITS["place"])}


def time_said_with_day(text: str) -> str | None:
    """The start time typed with a meeting's day ("昨天下午3点": "15:00"), if it reads as one."""
    said = time_after_date(text)
    match = _TIME.match(said) if said else None
    if match is None or said[match.end() :].strip():
        return None
    try:
        return _time_of(match)
    except InvalidAnswer:
        return None


def _time_of(match: re.Match[str]) -> str:
    part, hour_text, minute_a, half, minute_b, minute_c = match.groups()
    hour = _hour(hour_text)
    minute = 30 if half else int(minute_a or minute_b or minute_c or 0)
    if part in {"下午", "晚上"} and hour < 12:
        hour += 12
    if part == "中午" and hour < 6:
        hour += 12
    if hour > 23 or minute > 59:
        raise InvalidAnswer("bad_time")
    return f"{hour:02d}:{minute:02d}"


def read_people(kind: str, text: str) -> dict[str, Any]:
    """Who held it: 主持人 记录人; for a 党课 主讲人 记录人; for 谈心谈话 谈话人 谈话对象."""
    names = _names(text)
    if kind == "heart_to_heart_talk":
        if len(names) < 2:
            raise InvalidAnswer("two_parties")
        if len(names) > 6:
            raise InvalidAnswer("too_many_names", maximum=6)
        return {"host": names[0], "counterpart": "、".join(names[1:]), "recorder": ""}
    if len(names) > 2:
        raise InvalidAnswer("too_many_names", maximum=2)
    first, second = names[0], names[-1]
    if kind == "party_lecture":
        return {"speaker": first, "recorder": second}
    return {"host": first, "recorder": second}


def read_speaker(text: str) -> dict[str, Any]:
    """The 主讲人 of a sitting that also counted as 党课."""
    names = _names(text)
    if len(names) > 2:
        raise InvalidAnswer("too_many_names", maximum=2)
    return {"speaker": "、".join(names)}


def read_title(text: str) -> dict[str, Any]:
    """A 党课 title or a 主题党日 theme: one line."""
    return {"title": _text(text, LIMITS["title"])}


_COUNT_PART = re.compile(r"[应实到会出席人名位\s:：/、\d零〇一二两三四五六七八九十]+")
_ENTRY_SPLIT = re.compile(r"[，,；;。]")
_DIGIT = re.compile(r"\d|[一二两三四五六七八九十]")
# Words a reason starts with, to split "王建华出差" into a name and a reason.
_REASON_WORDS = (
    "病假", "事假", "产假", "婚假", "丧假", "公假", "请假", "休假", "出差", "外出",
    "住院", "生病", "有事", "因公", "探亲", "培训", "值班", "加班", "工作", "身体",
)  # fmt: skip
_ENTRY_LABEL = re.compile(r"^(?:缺席|未到|没到|请假人员|缺席人员)[:：]?")


def _absentee(entry: str) -> list[str]:
    """One absentee as typed: 王五 出差, 王五：出差, 王五（出差）, 王五出差, or just 王五."""
    entry = _ENTRY_LABEL.sub("", entry).strip()
    if match := re.fullmatch(r"(.+?)\s*[（(]\s*(.*?)\s*[)）]", entry):
        name, reason = match.groups()
    else:
        name, _, reason = entry.replace("：", " ").replace(":", " ").partition(" ")
        if not reason:
            cuts = [i for w in _REASON_WORDS if (i := name.find(w)) > 0]
            if cuts:
                name, reason = name[: min(cuts)], name[min(cuts) :]
    name = name.strip(",，、 ")
    reason = reason.strip(" ,，、()（）")
    if len(name) > LIMITS["name"]:
        raise InvalidAnswer("name_too_long", limit=LIMITS["name"], name=name[:10])
    if len(reason) > LIMITS["reason"]:
        raise InvalidAnswer("too_long", limit=LIMITS["reason"], length=len(reason))
    return [name, reason]


def read_attendance(text: str, default_expected: int | None) -> dict[str, Any]:
    """应到 实到 and who was absent, as people write it: "20 18" and one line per absentee
    (姓名 原因), or all in one line: "应到9人，实到7人，王建华出差，李明病假". "18" alone is 实到
    when 应到 is known. A reason with 假 counts as leave."""
    lines = [clean_line(to_halfwidth(line)) for line in text.replace("\r", "").split("\n")]
    parts = [part.strip() for line in lines for part in _ENTRY_SPLIT.split(line)]
    parts = [part for part in parts if part]
    if not parts:
        raise InvalidAnswer("empty")
    if re.search(r"-\d", parts[0]):
        raise InvalidAnswer("negative")
    counts = [p for p in parts if _COUNT_PART.fullmatch(p) and _DIGIT.search(p)]
    if not counts or counts[0] != parts[0]:
        raise InvalidAnswer("attendance_format")
    counts_line = re.sub(r"[应实到会出席人名位:：/、]", " ", " ".join(counts))
    numbers = []
    for token in counts_line.split():
        number = int(token) if token.isdigit() else chinese_to_int(token)
        if number is None:
            raise InvalidAnswer("attendance_format")
        numbers.append(number)
    if len(numbers) == 1 and default_expected:
        expected, present = default_expected, numbers[0]
    elif len(numbers) == 2:
        expected, present = numbers
    else:
        raise InvalidAnswer("attendance_format")
    absentees = [_absentee(p) for p in parts if p not in counts]
    if present <= expected and len(absentees) > expected - present:
        raise InvalidAnswer(
            "too_many_absentees", missing=expected - present, listed=len(absentees)
        )
    on_leave = sum(1 for _, reason in absentees if any(w in reason for w in _LEAVE_WORDS))
    reasons = [r for _, r in absentees if r and not any(w in r for w in _LEAVE_WORDS)]
    make_attendance(expected, present, on_leave, reasons)  # refuses the impossible
    return {
        "expected": expected,
        "present": present,
        "on_leave": on_leave,
        "absentees": absentees,
    }


def full_attendance(expected: int) -> dict[str, Any]:
    """Everyone came."""
    return {"expected": expected, "present": expected, "on_leave": 0, "absentees": []}


def read_agenda(text: str) -> dict[str, Any]:
    """One 议题 per line (a leading "1." or "一、" is dropped)."""
    items = []
    for line in text.replace("\r", "").split("\n"):
        item = clean_line(line)
        item = re.sub(r"^(?:\d{1,2}|[一二三四五六七八九十]{1,2})\s*[.、.)）:：]\s*", "", item)
        if item:
            if len(item) > LIMITS["agenda_item"]:
                raise InvalidAnswer("too_long", limit=LIMITS["agenda_item"], length=len(item))
            items.append(item)
    if not items:
        raise InvalidAnswer("empty")
    if len(items) > MAX_AGENDA:
        raise InvalidAnswer("too_many_items", maximum=MAX_AGENDA)
    return {"agenda": items}


def read_content(text: str) -> dict[str, Any]:
    """The summary of what was said and done: several lines allowed."""
    return {"content": _text(text, LIMITS["content"], multiline=True)}


def read_resolutions(text: str) -> dict[str, Any]:
    """What was decided (several lines allowed)."""
    return {"resolutions": _text(text, LIMITS["resolutions"], multiline=True)}


def read_step(
    step: str, kind: str, text: str, *, today: date, default_expected: int | None
) -> dict[str, Any]:
    """Read a typed answer for any step that takes text."""
    if step == "held_on":
        return read_date(text, today)
    if step == "time_place":
        return read_time_place(text)
    if step == "people":
        return read_people(kind, text)
    if step == "speaker":
        return read_speaker(text)
    if step == "title":
        return read_title(text)
    if step == "attendance":
        return read_attendance(text, default_expected)
    if step == "agenda":
        return read_agenda(text)
    if step == "content":
        return read_content(text)
    if step == "resolutions":
        return read_resolutions(text)
    raise InvalidAnswer("need_button")


def default_expected(kind: str, profile: BranchProfile) -> int | None:
    """应到 when the secretary does not say: every member for a whole-branch sitting."""
    if kind in {"committee_meeting", "group_meeting", "heart_to_heart_talk"}:
        return None
    total = profile.formal_members + profile.probationary_members
    return total or None


def is_answered(step: str, values: Mapping[str, Any]) -> bool:
    """Whether the draft already holds an answer for the step."""
    if step in OPTIONAL_STEPS:
        return step in values.get("_done", [])
    if step == "people":
        return any(values.get(f) for f in ("host", "speaker", "recorder"))
    return all(f in values for f in STEP_FIELDS[step] if f not in {"start_time"})


def to_meeting(values: dict[str, Any]) -> Meeting:
    """A Meeting from the draft's values."""
    return Meeting(
        kind=values["kind"],
        held_on=date.fromisoformat(values["held_on"]),
        start_time=values.get("start_time"),
        place=values.get("place", ""),
        host=values.get("host", ""),
        recorder=values.get("recorder", ""),
        speaker=values.get("speaker", ""),
        counterpart=values.get("counterpart", ""),
        title=values.get("title", ""),
        activity_form=values.get("activity_form", ""),
        expected=values.get("expected"),
        present=values.get("present"),
        on_leave=values.get("on_leave"),
        absentees=tuple(tuple(pair) for pair in values.get("absentees", [])),
        agenda=tuple(values.get("agenda", [])),
        content=values.get("content", ""),
        resolutions=values.get("resolutions", ""),
        also_counts_as=tuple(values.get("also_counts_as", [])),
        plan_id=values.get("plan_id"),
        photos=tuple(Photo(f, u) for f, u in values.get("photos", [])),
    )


def from_meeting(meeting: Meeting) -> dict[str, Any]:
    """The draft values of a saved record (for editing it)."""
    return {
        "kind": meeting.kind,
        "held_on": meeting.held_on.isoformat(),
        "start_time": meeting.start_time,
        "place": meeting.place,
        "host": meeting.host,
        "recorder": meeting.recorder,
        "speaker": meeting.speaker,
        "counterpart": meeting.counterpart,
        "title": meeting.title,
        "activity_form": meeting.activity_form,
        "expected": meeting.expected,
        "present": meeting.present,
        "on_leave": meeting.on_leave,
        "absentees": [list(pair) for pair in meeting.absentees],
        "agenda": list(meeting.agenda),
        "content": meeting.content,
        "resolutions": meeting.resolutions,
        "also_counts_as": list(meeting.also_counts_as),
        "plan_id": meeting.plan_id,
        "photos": [[p.file_id, p.file_unique_id] for p in meeting.photos],
        "_done": ["resolutions", "photos"],
    }


def warnings_for(
    meeting: Meeting, profile: BranchProfile, same_day_meetings: list[date]
) -> list[RuleWarning]:
    """The rule warnings the review card shows for this record."""
    attendance = None
    if meeting.expected is not None and meeting.present is not None:
        reasons = [r for _, r in meeting.absentees if r and "假" not in r]
        attendance = make_attendance(
            meeting.expected, meeting.present, meeting.on_leave or 0, reasons
        )
    draft = MeetingDraft(
        kind=meeting.kind,
        held_on=meeting.held_on,
        attendance=attendance,
        speaker=meeting.speaker,
        has_vote=bool(meeting.resolutions.strip()),
        also_counts_as=meeting.also_counts_as,
    )
    return check_meeting(draft, profile, same_day_meetings)


def combinable(kind: str) -> tuple[str, ...]:
    """The obligations a sitting of this kind may also count for."""
    return COMBINABLE.get(kind, ())


def toggle_combined(values: dict[str, Any], other: str) -> None:
    """Count the sitting also as `other`, or stop counting it."""
    if other not in combinable(values["kind"]):
        raise InvalidAnswer("choice")
    also = list(values.get("also_counts_as", []))
    values["also_counts_as"] = [o for o in also if o != other] if other in also else [*also, other]


def add_photo(values: dict[str, Any], file_id: str, file_unique_id: str) -> bool:
    """Add a photo (the same photo twice is kept once); False when the limit is reached."""
    photos = values.setdefault("photos", [])
    if any(unique == file_unique_id for _, unique in photos):
        return True
    if len(photos) >= MAX_PHOTOS:
        return False
    photos.append([file_id, file_unique_id])
    return True


assert set(STEPS) == set(MEETING_KINDS)
