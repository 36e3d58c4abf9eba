"""Meeting rule checks: impossible data refused, rule conflicts warned (pure functions)."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest

from bot.branch_profile import InvalidAnswer
from bot.meetings import MeetingDraft, check_meeting, make_attendance
from tests.factories import make_profile

DAY = date(2026, 11, 20)
PROFILE = make_profile(formal_members=10, probationary_members=2, has_committee=True)


def codes(draft: MeetingDraft, same_day: tuple[date, ...] = ()) -> list[str]:
    return [w.code for w in check_meeting(draft, PROFILE, same_day)]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ((10, 11), "present_over_expected"),
        ((10, 8, 3), "leave_over_expected"),
        ((-1, 0), "negative"),
        ((10, -2), "negative"),
        ((0, 0), "nobody_expected"),
        ((5000, 10), "too_many"),
    ],
)
def test_impossible_attendance_is_refused(args: tuple[int, ...], code: str) -> None:
    with pytest.raises(InvalidAnswer) as caught:
        make_attendance(*args)
    assert caught.value.code == code


def test_more_reasons_than_absentees_is_refused() -> None:
    with pytest.raises(InvalidAnswer) as caught:
        make_attendance(10, 9, 0, ["病假", "出差"])
    assert caught.value.code == "too_many_reasons"


def test_good_member_meeting_has_no_warnings() -> None:
    att = make_attendance(10, 8, 1, ["出差"])
    assert att.absent == 1
    assert codes(MeetingDraft("member_meeting", DAY, att, has_vote=True)) == []


def test_member_meeting_quorum_is_more_than_half() -> None:
    half = make_attendance(10, 5, 0, ["a"] * 5)
    assert codes(MeetingDraft("member_meeting", DAY, half)) == ["member_meeting_quorum"]
    assert codes(MeetingDraft("member_meeting", DAY, half, has_vote=True)) == [
        "member_meeting_quorum",
        "vote_without_quorum",
    ]
    six = make_attendance(10, 6, 0, ["a"] * 4)
    assert codes(MeetingDraft("member_meeting", DAY, six, has_vote=True)) == []


def test_committee_quorum() -> None:
    assert codes(MeetingDraft("committee_meeting", DAY, make_attendance(4, 2, 2))) == [
        "committee_quorum"
    ]
    assert codes(MeetingDraft("committee_meeting", DAY, make_attendance(5, 3, 2))) == []


def test_meetings_the_branch_cannot_hold() -> None:
    small = msgspec.structs.replace(PROFILE, has_committee=False)
    draft = MeetingDraft("committee_meeting", DAY, make_attendance(3, 3))
    assert [w.code for w in check_meeting(draft, small)] == ["no_committee"]
    assert codes(MeetingDraft("group_meeting", DAY)) == ["no_party_groups"]


def test_absence_without_reason() -> None:
    draft = MeetingDraft("theme_party_day", DAY, make_attendance(10, 7, 1, ["病假"]))
    warnings = check_meeting(draft, PROFILE)
    assert [(w.code, w.params["count"]) for w in warnings] == [("absence_without_reason", 1)]


def test_lecture_needs_a_speaker_also_when_combined() -> None:
    assert codes(MeetingDraft("party_lecture", DAY, speaker=" ")) == ["lecture_without_speaker"]
    assert codes(MeetingDraft("party_lecture", DAY, speaker="王书记")) == []
    combined = MeetingDraft("member_meeting", DAY, also_counts_as=("party_lecture",))
    assert codes(combined) == ["lecture_without_speaker"]


def test_second_member_meeting_on_the_same_date() -> None:
    draft = MeetingDraft("member_meeting", DAY)
    assert codes(draft, (DAY,)) == ["second_member_meeting"]
    assert codes(draft, (date(2026, 11, 19),)) == []


def test_appraisal_season() -> None:
    assert codes(MeetingDraft("member_appraisal", date(2026, 12, 20))) == []
    assert codes(MeetingDraft("member_appraisal", date(2027, 1, 10))) == []
    assert codes(MeetingDraft("member_appraisal", date(2026, 6, 1))) == ["appraisal_out_of_season"]
    combined = MeetingDraft(
        "organizational_life_meeting", date(2026, 5, 1), also_counts_as=("member_appraisal",)
    )
    assert codes(combined) == ["appraisal_out_of_season"]


def test_only_allowed_combinations() -> None:
    with pytest.raises(InvalidAnswer):
        check_meeting(MeetingDraft("committee_meeting", DAY, also_counts_as=("party_lecture",)),
                      PROFILE)  # fmt: skip
    with pytest.raises(InvalidAnswer):
        check_meeting(MeetingDraft("tea_party", DAY), PROFILE)


def test_attendance_as_people_write_it_in_one_line() -> None:
    from bot.meeting_form import read_attendance

    found = read_attendance("应到9人，实到7人，王建华出差，李明病假", None)
    assert (found["expected"], found["present"], found["on_leave"]) == (9, 7, 1)
    assert found["absentees"] == [["王建华", "出差"], ["李明", "病假"]]
    found = read_attendance("应到9人、实到8人；缺席：张三（住院）", None)
    assert found["absentees"] == [["张三", "住院"]] and found["on_leave"] == 0
    found = read_attendance("7\n王五 出差，赵六：事假", 9)
    assert found["absentees"] == [["王五", "出差"], ["赵六", "事假"]] and found["on_leave"] == 1
    assert read_attendance("实到七人", 9)["present"] == 7
