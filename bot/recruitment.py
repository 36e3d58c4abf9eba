"""发展党员: each person's steps from the application to 转正, and what is due next (pure).

The rules follow FACTS.md section E and B22 (《中国共产党发展党员工作细则》,
《中国共产党章程》第七条): 谈话 within a month of the application (E35); 确定为入党积极分子
after six months or more (E42, only second-hand: asked to confirm, never refused); 考察 every
six months while an activist (E36); 列为发展对象 after a year or more as an activist (E37); two
正式党员 as 入党介绍人 (E38); 短期集中培训 of three days or 24 学时 (E39); 公示 of five
workdays or more (E42, asked to confirm); 预备期 one year from the 支部大会 (B22,
bot.obligations.probation_due); one extension of six to twelve months (E41). A rule whose
wording was seen (✔/◐) refuses a date that breaks it; a second-hand one (?) asks to confirm.
Nothing is ever moved silently.

The roster's status is the person's stage; the step that put them there is dated by the
roster's joined_on when it was not recorded here (a roster imported with its dates). A
deadline that passed on or before the day the person was put on the roster here is not counted
overdue: the bot cannot know what was done before then, so it asks for the date instead (a
谈话) or counts the 考察 cycles on from there, as a branch owes nothing from before it registered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import msgspec

from bot.obligations import Obligation, Period, add_months, probation_due
from bot.workdays import is_workday
from db.models import ENTRY_STEPS, Member

# Every step in order; each belongs to the stage (roster status) it is taken in.
STEPS = ("applied", "talked", "activist", "exam", "candidate", "introducers", "review",
         "training", "notice", "admitted", "extended", "confirmed")  # fmt: skip
STAGE_OF = {
    "applied": "applicant", "talked": "applicant",
    "activist": "activist", "exam": "activist",
    "candidate": "candidate", "introducers": "candidate", "review": "candidate",
    "training": "candidate", "notice": "candidate",
    "admitted": "probationary", "extended": "probationary",
    "confirmed": "formal",
}  # fmt: skip
# The steps that move a person to a status (the roster follows in the same transaction).
ENTERED_BY = ENTRY_STEPS
ENTERS = {step: status for status, step in ENTRY_STEPS.items()}
STAGES = ("applicant", "activist", "candidate", "probationary", "formal")
IN_PROGRESS = frozenset(STAGES[:-1])
TALK_MONTHS = 1
ACTIVIST_MONTHS = 6
EXAM_MONTHS = 6
CANDIDATE_MONTHS = 12
NOTICE_WORKDAYS = 5
TRAINING_DAYS = 3
TRAINING_HOURS = 24
EXTENSION_MONTHS = (6, 12)
DUTY = "recruitment"  # the roster duty's code in bot.obligations.ROSTER_DUTIES


class Record(msgspec.Struct, frozen=True):
    """One recorded step: its date, and for some steps an amount or the introducers."""

    step: str
    done_on: date
    amount: int | None = None  # 培训: days or hours (unit); 延长预备期: months
    unit: str = ""  # "days", "hours" or "months"
    introducers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Person:
    """A person on the roster with the steps recorded for them."""

    member_id: int
    name: str
    status: str
    joined_on: date | None
    records: tuple[Record, ...] = ()
    # The day the person was put on the roster here (Member.entered_on): a deadline on or
    # before it passed before the bot knew of them, and is not counted overdue (next_due).
    entered_on: date | None = None
    # Worked out once, when the person is made (the sweep asks for them often).
    by_step: Mapping[str, tuple[Record, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )
    due: tuple[Due, ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        found: dict[str, list[Record]] = {}
        for record in sorted(self.records, key=lambda r: r.done_on):
            found.setdefault(record.step, []).append(record)
        # The records of each step, oldest first; then what is due next (next_due).
        object.__setattr__(self, "by_step", {step: tuple(r) for step, r in found.items()})
        object.__setattr__(self, "due", tuple(next_due(self)))


class Due(msgspec.Struct, frozen=True):
    """A step that may be taken next, from `earliest` (None: any time), by `latest` if any."""

    step: str
    earliest: date | None = None
    latest: date | None = None
    # The step's window (or, for 考察, the windows up to this one) closed before the person was
    # put on the roster here: whatever was done then may be recorded, nothing is overdue.
    earlier: bool = False

    def state(self, today: date) -> str:
        """wait (too early), open, or overdue."""
        if self.earliest is not None and today < self.earliest:
            return "wait"
        if self.latest is not None and today > self.latest:
            return "overdue"
        return "open"


class Concern(msgspec.Struct, frozen=True):
    """Why a date or an answer is a problem: `refuse` (asked again) or `confirm` (asked)."""

    code: str
    level: str
    params: Mapping[str, object]


def stage_index(status: str) -> int:
    """How far along a status is (applicant 0 … formal 4)."""
    return STAGES.index(status)


def records_of(person: Person, step: str) -> list[Record]:
    """The person's records of a step, oldest first (only 考察 repeats)."""
    return list(person.by_step.get(step, ()))


def date_of(person: Person, step: str) -> date | None:
    """When the person took a step: the last record of it, or for the step that entered the
    current status the roster's date (a formal member's 入党日期 is the 支部大会's)."""
    found = records_of(person, step)
    if found:
        return found[-1].done_on
    # A formal member's roster date is the 入党日期 (the 支部大会), not the 转正.
    dated = "admitted" if person.status == "formal" else ENTERED_BY.get(person.status)
    return person.joined_on if step == dated else None


def extension_months(person: Person) -> int:
    """The months the 预备期 was extended by (0 if it was not)."""
    found = records_of(person, "extended")
    return found[-1].amount or 0 if found else 0


def notice_end(start: date, workdays: int = NOTICE_WORKDAYS) -> date:
    """The last day of a 公示 that starts on `start` and lasts `workdays` Chinese workdays (the
    first day counts when it is a workday; holidays and 调休 from bot.workdays)."""
    day, counted = start, 0
    while True:
        if is_workday(day):
            counted += 1
            if counted == workdays:
                return day
        day += timedelta(days=1)


def applicable(person: Person) -> list[str]:
    """The steps that may be recorded now, in order: those of the current stage not yet
    recorded (考察 any number of times) and the step into the next stage."""
    if person.status not in IN_PROGRESS:
        return []
    if person.status == "applicant" and date_of(person, "applied") is None:
        return ["applied"]
    stage = person.status
    found = []
    for step in STEPS:
        fresh = step == "exam" or date_of(person, step) is None
        if STAGE_OF[step] == stage and step not in ENTERS and fresh:
            found.append(step)
    following = STAGES[stage_index(stage) + 1]
    found.append(ENTERED_BY[following])
    return found


def next_due(person: Person) -> list[Due]:
    """What is due next for the person, with its window (empty for a formal member)."""
    status = person.status
    if status not in IN_PROGRESS:
        return []
    applied = date_of(person, "applied")
    entered = person.entered_on
    if status == "applicant":
        if applied is None:
            return [Due("applied")]
        later = Due("activist", add_months(applied, ACTIVIST_MONTHS))
        if date_of(person, "talked") is None:
            deadline = add_months(applied, TALK_MONTHS)
            if entered is not None and deadline <= entered:
                # The month for the 谈话 was over before the bot knew of them: ask for its date.
                return [Due("talked", earlier=True), later]
            return [Due("talked", applied, deadline), later]
        return [later]
    if status == "activist":
        since = date_of(person, "activist")
        if since is None:
            return [Due("candidate")]
        last = date_of(person, "exam") or since
        # 考察 every six months: the cycles that ended before the bot knew of them are not
        # counted overdue; the first one ending after that is due.
        cycles = 1
        while entered is not None and add_months(last, EXAM_MONTHS * cycles) <= entered:
            cycles += 1
        deadline = add_months(last, EXAM_MONTHS * cycles)
        exam = Due("exam", None, deadline, earlier=cycles > 1)
        return [exam, Due("candidate", add_months(since, CANDIDATE_MONTHS))]
    if status == "candidate":
        due = [Due(step) for step in ("introducers", "review", "training", "notice")
               if date_of(person, step) is None]  # fmt: skip
        started = date_of(person, "notice")
        after = notice_end(started) + timedelta(days=1) if started else None
        return [*due, Due("admitted", after)]
    admitted = date_of(person, "admitted")
    if admitted is None:
        return [Due("confirmed")]
    end = probation_due(admitted, extension_months(person))
    return [Due("confirmed", end)]


def check(
    person: Person,
    step: str,
    day: date,
    today: date,
    *,
    amount: int | None = None,
    unit: str = "",
    introducers: Sequence[str] = (),
) -> list[Concern]:
    """What is wrong with recording `step` on `day`: refusals first, then what to confirm."""
    if step not in applicable(person):
        return [Concern("not_now", "refuse", {})]
    concerns: list[Concern] = []
    if day > today:
        concerns.append(Concern("future", "refuse", {}))
    previous = _latest_before(person, step)
    if previous is not None and day < previous[1]:
        concerns.append(Concern("before_previous", "refuse", {"step": previous[0],
                                                               "day": previous[1]}))  # fmt: skip
    applied = date_of(person, "applied")
    if step == "activist" and applied and day < add_months(applied, ACTIVIST_MONTHS):
        earliest = add_months(applied, ACTIVIST_MONTHS)
        concerns.append(Concern("activist_early", "confirm", {"earliest": earliest}))
    since = date_of(person, "activist")
    if step == "candidate" and since and day < add_months(since, CANDIDATE_MONTHS):
        earliest = add_months(since, CANDIDATE_MONTHS)
        concerns.append(Concern("candidate_early", "refuse", {"earliest": earliest}))
    if step == "introducers":
        concerns += _check_introducers(person, introducers)
    if step == "training" and amount is not None:
        enough = (unit == "days" and amount >= TRAINING_DAYS) or (
            unit == "hours" and amount >= TRAINING_HOURS
        )
        if not enough:
            concerns.append(Concern("training_short", "confirm", {"amount": amount,
                                                                  "unit": unit}))  # fmt: skip
    if step == "admitted":
        concerns += _check_admission(person, day)
    if step == "extended":
        low, high = EXTENSION_MONTHS
        if amount is not None and not low <= amount <= high:
            concerns.append(Concern("extension_months", "refuse", {"low": low, "high": high}))
    if step == "confirmed":
        admitted = date_of(person, "admitted")
        if admitted is not None:
            end = probation_due(admitted, extension_months(person))
            if day < end:
                concerns.append(Concern("probation_not_over", "refuse", {"end": end}))
    return sorted(concerns, key=lambda c: c.level != "refuse")


def _latest_before(person: Person, step: str) -> tuple[str, date] | None:
    """The latest dated step that must come before `step` (a date before it is refused): every
    step of the earlier stages and the step into this stage. Within a stage the order is free
    (a training may come before the introducers; an exam missed may be recorded late)."""
    stage = STAGE_OF[step]
    earlier = [s for s in STEPS if stage_index(STAGE_OF[s]) < stage_index(stage)]
    if step != ENTERED_BY[stage]:
        earlier.append(ENTERED_BY[stage])
    best: tuple[str, date] | None = None
    for name in earlier:
        found = date_of(person, name)
        if found is not None and (best is None or found >= best[1]):
            best = (name, found)
    return best


def _check_introducers(person: Person, introducers: Sequence[str]) -> list[Concern]:
    if len(introducers) != 2 or len(set(introducers)) != 2 or person.name in introducers:
        return [Concern("two_introducers", "refuse", {})]
    return []


def _check_admission(person: Person, day: date) -> list[Concern]:
    concerns: list[Concern] = []
    if date_of(person, "introducers") is None:
        concerns.append(Concern("no_introducers", "refuse", {}))
    started = date_of(person, "notice")
    if started is None:
        concerns.append(Concern("no_notice", "confirm", {}))
    elif day <= notice_end(started):
        concerns.append(Concern("notice_short", "confirm", {"end": notice_end(started)}))
    missing = [s for s in ("review", "training") if date_of(person, s) is None]
    if missing:
        concerns.append(Concern("missing_steps", "confirm", {"steps": tuple(missing)}))
    return concerns


def duties(people: Iterable[Person], today: date) -> list[Obligation]:
    """The reminders the timeline owes (roster duty "recruitment", one per person): the 谈话
    within a month of the application, the 考察 every six months, and the end of a 公示 (the
    支部大会 may then discuss the admission). 转正 is bot.obligations.roster_duties' own.

    The code is `recruitment.<member id>`; the period runs from the date the clock started (a
    new one with each step recorded, so its reminders are new) to the deadline. A reminder
    carries only the code, dates and subject, so the subject is `<step>:<name>` (a name never
    holds a colon: bot.roster.parse_name). `today` only decides due or overdue."""
    result: list[Obligation] = []
    for person in people:
        for due in person.due:
            if due.step == "talked" and due.earliest and due.latest:
                start, deadline = due.earliest, due.latest
            elif due.step == "exam" and due.latest:
                deadline = due.latest
                # From the last 考察 (or becoming an activist); from the cycle's start when the
                # cycles before it ended before the person was put on the roster here.
                start = (add_months(deadline, -EXAM_MONTHS) if due.earlier else
                         date_of(person, "exam") or date_of(person, "activist"))  # fmt: skip
                assert start is not None
            elif due.step == "admitted" and due.earliest:
                start = date_of(person, "notice")
                assert start is not None
                deadline = due.earliest - timedelta(days=1)
            else:
                continue
            result.append(
                Obligation(
                    f"{DUTY}.{person.member_id}",
                    Period(due.step, start, deadline),
                    deadline,
                    "overdue" if today > deadline else "due",
                    subject=f"{due.step}:{person.name}",
                )
            )
            break
    return result


def extensions(people: Iterable[Person]) -> dict[int, int]:
    """Member id → months the 预备期 was extended by, for bot.obligations.roster_duties."""
    return {p.member_id: months for p in people if (months := extension_months(p))}


def people(roster: Iterable[Member], steps: Mapping[int, Sequence[Any]]) -> list[Person]:
    """The roster's people with their recorded steps (db.recruitment.StepRow by member id)."""
    return [
        Person(
            member.id,
            member.name,
            member.info.status,
            member.info.joined_on,
            tuple(
                Record(s.step, s.done_on, s.amount, s.unit, tuple(s.introducers))
                for s in steps.get(member.id, ())
            ),
            member.entered_on,
        )
        for member in roster
    ]


def people_in_progress(
    roster: Iterable[Member], steps: Mapping[int, Sequence[Any]]
) -> list[Person]:
    """people() of those on the roster still on the way in (only they have a timeline)."""
    return people([m for m in roster if m.info.status in IN_PROGRESS], steps)


def in_progress(found: Iterable[Person]) -> list[Person]:
    """Those on the way in (applicant to probationary), furthest along first."""
    return sorted(
        (p for p in found if p.status in IN_PROGRESS),
        key=lambda p: (-stage_index(p.status), p.joined_on or date.max, p.name),
    )


def entered_in(found: Iterable[Person], year: int) -> dict[str, int]:
    """How many people entered each status in `year` (by the timeline, else the roster's date):
    applicant 递交申请, activist, candidate, probationary 接收, formal 转正."""
    counts: dict[str, int] = {}
    for person in found:
        for status, step in ENTERED_BY.items():
            day = date_of(person, step)
            if day is not None and day.year == year:
                counts[status] = counts.get(status, 0) + 1
    return counts
