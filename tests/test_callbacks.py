"""The button codec (bot.callbacks) over every route of the bot (bot.buttons): each fits in
Telegram's 64 bytes at its widest, reads back what it wrote, and refuses forged data (a 30-digit
id, year 0 or 99999, a kind that does not exist, a part missing or added) without an exception.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot import buttons, catalog
from bot.callbacks import MAX_BYTES, ROUTES, Route
from bot.knowledge import entries
from bot.obligations import TRACKABLE

FORGED = ("9" * 30, "-1", "99999", "0", "", "x", "<b>&", "１", "1.5", "2026-13-01", "2026-02-30")


def _widest(route: Route) -> tuple[object, ...]:
    return tuple(field.widest for field in route.fields)


@pytest.mark.parametrize("route", list(ROUTES.values()), ids=list(ROUTES))
def test_every_route_fits_at_its_widest_and_reads_back(route: Route) -> None:
    data = route(*_widest(route))
    assert len(data.encode()) <= MAX_BYTES
    assert route.parse(data) == _widest(route)
    assert route.matches(data)
    assert not route.matches(data.replace(route.prefix, route.prefix + "x", 1))


@pytest.mark.parametrize("route", list(ROUTES.values()), ids=list(ROUTES))
def test_forged_parts_are_refused_not_raised(route: Route) -> None:
    good = [data for data in route(*_widest(route)).split(":")]
    head = route.prefix.count(":") + 1
    assert route.parse(":".join(good[:-1])) is None or not route.fields
    assert route.parse(":".join([*good, "1"])) is None
    for index in range(head, len(good)):
        field = route.fields[index - head]
        for bad in FORGED:
            try:
                field.decode(bad)
            except ValueError:
                forged = ":".join([*good[:index], bad, *good[index + 1 :]])
                assert route.parse(forged) is None, forged


def test_years_months_and_ids_outside_their_ranges() -> None:
    assert buttons.LEDGER.parse("ex:y:1:0") is None
    assert buttons.LEDGER.parse("ex:y:1:99999") is None
    assert buttons.LEDGER.parse("ex:y:1:2026") == (1, 2026)
    assert buttons.RECORDS.parse("hi:l:1:all:0:0") == (1, "all", 0, 0)
    assert buttons.RECORDS.parse("hi:l:1:all:1999:0") is None
    assert buttons.RECORDS.parse("hi:l:1:no_such_kind:0:0") is None
    assert buttons.RECORD.parse("hi:o:" + "9" * 30) is None
    assert buttons.RECORD.parse("hi:o:0") is None
    assert buttons.IDEAS.parse("gd:ideas:13") is None
    assert buttons.PLAN.parse("pd:plan:1:2026-13") is None
    assert buttons.SNOOZE.parse("rm:sz:1:theme_party_day:2026-02-30:1") is None
    assert buttons.SNOOZE.parse("rm:sz:1:mobile_report.12:2026-02-01:3") == (
        1, "mobile_report.12", date(2026, 2, 1), 3)  # fmt: skip


def test_a_button_the_bot_would_refuse_is_never_made() -> None:
    with pytest.raises(ValueError):
        buttons.LEDGER(1, 1999)
    with pytest.raises(ValueError):
        buttons.RECORD(0)
    with pytest.raises(TypeError):
        buttons.RECORD(1, 2)


def test_the_values_buttons_carry_are_within_their_fields() -> None:
    """What the bot puts in buttons (entry ids, obligation codes with a member id, kinds)
    is accepted by the routes that carry it."""
    for entry_id in entries():
        assert buttons.ENTRY.parse(buttons.ENTRY(entry_id)) == (entry_id,)
    for code in [*TRACKABLE, "mobile_report.9999999999", "probation.1"]:
        buttons.SNOOZE(1, code, date(2026, 1, 1), 1)
    for kind in catalog.KINDS:
        buttons.LOG_KIND(kind.code)


def test_every_self_check_fits_its_button() -> None:
    from bot.handlers.guidance import _checks

    for kind, check in _checks().items():
        assert buttons.SELFCHECK.parse(buttons.SELFCHECK(kind, "y" * len(check["items"])))
