"""The 发展党员 rules at their edges (pure): exactly six months, exactly a year, a 公示 of five
workdays over the National Day holiday and its 调休 Saturday, the 预备期 and its one extension,
what may be recorded at each stage, and the reminders the timeline owes."""

from __future__ import annotations

from datetime import date

from bot.obligations import probation_due, roster_duties
from bot.recruitment import (
    Due,
    Person,
    Record,
    applicable,
    check,
    date_of,
    duties,
    entered_in,
    next_due,
    notice_end,
)
from db.models import Member, MemberInfo

TODAY = date(2026, 12, 1)


def _codes(person: Person, step: str, day: date, **extra: object) -> list[tuple[str, str]]:
    return [(c.code, c.level) for c in check(person, step, day, TODAY, **extra)]  # type: ignore[arg-type]


def test_an_activist_after_exactly_six_months_asks_nothing_a_day_earlier_asks_to_confirm() -> None:
    applicant = Person(
        1, "赵六", "applicant", date(2026, 2, 28), (Record("talked", date(2026, 3, 5)),)
    )
    assert _codes(applicant, "activist", date(2026, 8, 28)) == []
    assert _codes(applicant, "activist", date(2026, 8, 27)) == [("activist_early", "confirm")]
    # A date before the 谈话 is refused, whatever else is wrong with it.
    assert _codes(applicant, "activist", date(2026, 3, 1))[0] == ("before_previous", "refuse")
    assert _codes(applicant, "activist", date(2026, 12, 2)) == [("future", "refuse")]


def test_a_candidate_after_exactly_a_year_as_activist_a_day_earlier_is_refused() -> None:
    activist = Person(2, "孙七", "activist", date(2025, 5, 1))
    assert _codes(activist, "candidate", date(2026, 5, 1)) == []
    assert _codes(activist, "candidate", date(2026, 4, 30)) == [("candidate_early", "refuse")]
    # 考察 every six months from the last one (or from becoming an activist).
    assert next_due(activist)[0] == Due("exam", None, date(2025, 11, 1))
    examined = Person(
        2, "孙七", "activist", date(2025, 5, 1), (Record("exam", date(2025, 10, 20)),)
    )
    assert next_due(examined)[0] == Due("exam", None, date(2026, 4, 20))
    assert applicable(examined) == ["exam", "candidate"]


def test_a_notice_of_five_workdays_skips_the_holiday_and_counts_the_adjusted_saturday() -> None:
    assert notice_end(date(2026, 6, 8)) == date(2026, 6, 12)  # Monday to Friday
    assert notice_end(date(2026, 9, 28)) == date(2026, 10, 9)  # over 1–7 October
    assert notice_end(date(2026, 9, 30)) == date(2026, 10, 12)  # 10 October is a workday
    candidate = Person(3, "周八", "candidate", date(2026, 6, 1), (
        Record("introducers", date(2026, 9, 1), introducers=("张三", "李四")),
        Record("review", date(2026, 9, 10)), Record("training", date(2026, 9, 20), 3, "days"),
        Record("notice", date(2026, 9, 30)),
    ))  # fmt: skip
    assert next_due(candidate) == [Due("admitted", date(2026, 10, 13))]
    assert _codes(candidate, "admitted", date(2026, 10, 12)) == [("notice_short", "confirm")]
    assert _codes(candidate, "admitted", date(2026, 10, 13)) == []
    no_introducers = Person(3, "周八", "candidate", date(2026, 6, 1))
    assert ("no_introducers", "refuse") in _codes(no_introducers, "admitted", date(2026, 10, 13))


def test_introducers_and_training() -> None:
    candidate = Person(3, "周八", "candidate", date(2026, 6, 1))
    assert _codes(candidate, "introducers", date(2026, 7, 1), introducers=("张三", "李四")) == []
    for bad in (("张三",), ("张三", "张三"), ("张三", "周八")):
        assert _codes(candidate, "introducers", date(2026, 7, 1), introducers=bad) == [
            ("two_introducers", "refuse")
        ]
    assert _codes(candidate, "training", date(2026, 7, 1), amount=3, unit="days") == []
    assert _codes(candidate, "training", date(2026, 7, 1), amount=24, unit="hours") == []
    short = _codes(candidate, "training", date(2026, 7, 1), amount=2, unit="days")
    assert short == [("training_short", "confirm")]


def test_probation_a_year_from_admission_extended_once_by_six_to_twelve_months() -> None:
    admitted = date(2025, 11, 30)
    probationary = Person(4, "吴九", "probationary", admitted)
    assert probation_due(admitted) == date(2026, 11, 30)
    assert _codes(probationary, "confirmed", date(2026, 11, 29)) == [
        ("probation_not_over", "refuse")
    ]
    assert _codes(probationary, "confirmed", date(2026, 11, 30)) == []
    for months, expected in ((5, [("extension_months", "refuse")]), (6, []), (12, []),
                             (13, [("extension_months", "refuse")])):  # fmt: skip
        assert _codes(probationary, "extended", date(2026, 11, 30), amount=months) == expected
    extended = Person(4, "吴九", "probationary", admitted,
                      (Record("extended", date(2026, 11, 30), 6, "months"),))  # fmt: skip
    assert applicable(extended) == ["confirmed"]  # extended once only
    assert next_due(extended) == [Due("confirmed", date(2027, 5, 30))]
    # roster_duties' 转正 agrees, with the extension counted, in a period of its own.
    member = Member(4, 1, MemberInfo("吴九", "probationary", admitted))
    steps = {4: [extended.records[0]]}
    duty = next(
        d for d in roster_duties([member], [], TODAY, steps=steps) if d.base == "probation"
    )
    assert duty.deadline == date(2027, 5, 30) and duty.period.start == date(2026, 11, 30)
    plain = next(d for d in roster_duties([member], [], TODAY) if d.base == "probation")
    assert plain.deadline == date(2026, 11, 30) and plain.period.start == admitted
    # A formal member's 入党日期 is the 支部大会's; nothing is due.
    formal = Person(5, "张三", "formal", date(2010, 7, 1))
    assert date_of(formal, "admitted") == date(2010, 7, 1)
    assert next_due(formal) == [] and applicable(formal) == []


def test_the_reminders_the_timeline_owes() -> None:
    applicant = Person(6, "赵六", "applicant", date(2026, 11, 10))
    activist = Person(7, "孙七", "activist", date(2026, 5, 1))
    candidate = Person(
        8, "周八", "candidate", date(2026, 6, 1), (Record("notice", date(2026, 11, 23)),)
    )
    unknown = Person(9, "钱七", "applicant", None)
    found = {d.code: d for d in duties([applicant, activist, candidate, unknown], TODAY)}
    assert set(found) == {"recruitment.6", "recruitment.7", "recruitment.8"}
    talk = found["recruitment.6"]
    assert (talk.subject, talk.period.start, talk.deadline, talk.state) == (
        "talked:赵六",
        date(2026, 11, 10),
        date(2026, 12, 10),
        "due",
    )
    exam = found["recruitment.7"]
    assert (exam.subject, exam.deadline, exam.state) == ("exam:孙七", date(2026, 11, 1), "overdue")
    notice = found["recruitment.8"]
    assert (notice.subject, notice.deadline, notice.state) == (
        "admitted:周八",
        date(2026, 11, 27),
        "overdue",
    )
    # Turned off with the other roster duties.
    members = [Member(6, 1, MemberInfo("赵六", "applicant", date(2026, 11, 10)))]
    assert [d.code for d in roster_duties(members, [], TODAY)] == ["recruitment.6"]
    assert roster_duties(members, [], TODAY, off=["recruitment"]) == []


def test_deadlines_that_passed_before_the_person_was_entered_are_not_overdue() -> None:
    # Applied 1 November 2025: the 谈话 was due by 1 December 2025.
    def applicant(entered: date | None) -> Person:
        return Person(6, "赵六", "applicant", date(2025, 11, 1), entered_on=entered)

    assert next_due(applicant(None))[0] == Due("talked", date(2025, 11, 1), date(2025, 12, 1))
    assert next_due(applicant(date(2025, 11, 30)))[0] == next_due(applicant(None))[0]
    # Entered on the deadline or later: the bot cannot know; it asks for the date instead.
    for entered in (date(2025, 12, 1), date(2026, 11, 30)):
        assert next_due(applicant(entered)) == [
            Due("talked", earlier=True),
            Due("activist", date(2026, 5, 1)),
        ]
        assert duties([applicant(entered)], TODAY) == []
    # An activist since 1 March 2024 entered on 30 November 2026: the 考察 cycles that ended
    # before then (the last on 1 September 2026) are not counted; the next ends 1 March 2027.
    activist = Person(7, "孙七", "activist", date(2024, 3, 1), entered_on=date(2026, 11, 30))
    assert next_due(activist)[0] == Due("exam", None, date(2027, 3, 1), earlier=True)
    (exam,) = duties([activist], TODAY)
    assert (exam.period.start, exam.deadline, exam.state) == (
        date(2026, 9, 1),
        date(2027, 3, 1),
        "due",
    )
    # A 考察 recorded since counts on from its own date, as always.
    examined = Person(7, "孙七", "activist", date(2024, 3, 1),
                      (Record("exam", date(2026, 12, 1)),), date(2026, 11, 30))  # fmt: skip
    assert next_due(examined)[0] == Due("exam", None, date(2027, 6, 1))
    # Entered before the deadline it had: overdue when it passes, as before.
    known = Person(7, "孙七", "activist", date(2026, 3, 1), entered_on=date(2026, 3, 2))
    assert next_due(known)[0] == Due("exam", None, date(2026, 9, 1))
    assert duties([known], TODAY)[0].state == "overdue"
    # The roster's members carry the day they were entered (UTC).
    member = Member(6, 1, MemberInfo("赵六", "applicant", date(2025, 11, 1)),
                    created_at="2026-11-30T01:02:03+00:00")  # fmt: skip
    assert member.entered_on == date(2026, 11, 30)
    assert Member(6, 1, MemberInfo("赵六", "applicant")).entered_on is None


def test_the_order_within_a_stage_is_free_across_stages_it_is_not() -> None:
    candidate = Person(3, "周八", "candidate", date(2026, 6, 1), (
        Record("activist", date(2025, 5, 1)),
        Record("introducers", date(2026, 9, 1), introducers=("张三", "李四")),
    ))  # fmt: skip
    # A training before the introducers were named is fine; one before becoming a candidate is not.
    assert _codes(candidate, "training", date(2026, 7, 1), amount=3, unit="days") == []
    assert _codes(candidate, "training", date(2026, 5, 31), amount=3, unit="days") == [
        ("before_previous", "refuse")
    ]
    # An exam missed may be recorded after a later one, never before becoming an activist.
    activist = Person(
        2, "孙七", "activist", date(2025, 5, 1), (Record("exam", date(2025, 11, 1)),)
    )
    assert _codes(activist, "exam", date(2025, 8, 1)) == []
    assert _codes(activist, "exam", date(2025, 4, 30)) == [("before_previous", "refuse")]


def test_the_years_steps_for_the_annual_report() -> None:
    moved_on = Person(1, "赵六", "activist", date(2026, 9, 1), (
        Record("applied", date(2026, 2, 1)), Record("activist", date(2026, 9, 1)),
    ))  # fmt: skip
    confirmed = Person(2, "吴九", "formal", date(2025, 6, 10), (
        Record("confirmed", date(2026, 6, 10)),
    ))  # fmt: skip
    # A formal member without records: the roster's date is the admission, not the 转正.
    formal = Person(3, "张三", "formal", date(2026, 1, 5))
    assert date_of(formal, "confirmed") is None
    assert entered_in([moved_on, confirmed, formal], 2026) == {
        "applicant": 1, "activist": 1, "formal": 1, "probationary": 1,
    }  # fmt: skip
    assert entered_in([moved_on, confirmed, formal], 2025) == {"probationary": 1}
