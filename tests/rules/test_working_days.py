"""Working days and periods that end on a day off follow the Swedish calendar, as kept by
the holidays library: no calendar of our own to forget a holiday in."""

from datetime import date, datetime

import holidays
import pytest

from app.rules import LOCAL_TIME, clocks_for, is_working_day, rule

# A Friday two weeks before Midsommarafton (Friday 19 June 2026).
BEFORE_MIDSOMMAR = datetime(2026, 6, 5, 10, 0, tzinfo=LOCAL_TIME)
# Thursday 10 December 2026: fourteen days later is julafton.
BEFORE_CHRISTMAS = datetime(2026, 12, 10, 10, 0, tzinfo=LOCAL_TIME)


def due_day(key: str, start: datetime) -> date:
    return rule(key).due(start).astimezone(LOCAL_TIME).date()


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 6),  # trettondedag jul
        date(2026, 4, 3),  # långfredagen
        date(2026, 4, 6),  # annandag påsk
        date(2026, 5, 14),  # Kristi himmelsfärds dag
        date(2026, 6, 19),  # midsommarafton: a day off under lag (1930:173)
        date(2026, 12, 24),  # julafton, likewise
        date(2026, 12, 31),  # nyårsafton, likewise
        date(2026, 6, 6),  # nationaldagen (a Saturday this year)
        date(2026, 6, 7),  # a Sunday
    ],
)
def test_swedish_holidays_and_weekends_are_not_working_days(day):
    assert not is_working_day(day)


def test_ordinary_weekdays_are_working_days():
    assert is_working_day(date(2026, 6, 18))  # the Thursday before midsommarafton
    assert is_working_day(date(2026, 12, 23))


def test_the_calendar_is_the_librarys():
    """Given any year, a day the library names a Swedish public holiday is never worked."""
    for day in holidays.country_holidays("SE", years=2031):
        assert not is_working_day(day)


def test_working_days_skip_midsommar():
    """Given a request on the Thursday before midsommarafton, the first contact target in
    working days skips midsommarafton and the weekend."""
    first_contact = rule("first_contact_other")
    assert first_contact.unit == "working_days"
    start = datetime(2026, 6, 18, 9, 0, tzinfo=LOCAL_TIME)
    expected = {1: date(2026, 6, 22), 2: date(2026, 6, 23), 3: date(2026, 6, 24)}
    assert due_day("first_contact_other", start) == expected[first_contact.value]


def test_a_fourteen_day_period_ending_on_midsommarafton_ends_on_the_next_working_day():
    decision = rule("child_investigation_decision")
    assert decision.unit == "days" and decision.value == 14 and decision.next_working_day
    # 5 June + 14 days is midsommarafton; Saturday and Sunday follow.
    assert due_day("child_investigation_decision", BEFORE_MIDSOMMAR) == date(2026, 6, 22)


def test_a_fourteen_day_period_ending_on_julafton_ends_after_the_christmas_days_off():
    # 10 December + 14 days is julafton; juldagen, annandag jul (a Saturday), a Sunday.
    assert due_day("child_investigation_decision", BEFORE_CHRISTMAS) == date(2026, 12, 28)


def test_the_same_day_protection_assessment_never_moves():
    """Given a report of concern on midsommarafton, the protection assessment is due that
    day: a child's safety does not wait for a working day."""
    midsommarafton = datetime(2026, 6, 19, 11, 0, tzinfo=LOCAL_TIME)
    assert due_day("child_protection_assessment", midsommarafton) == date(2026, 6, 19)


def test_which_clocks_start_is_data():
    child = {"child_protection_assessment", "child_investigation_decision"}
    assert set(clocks_for("police", "15_17")) == child | {"reporter_feedback"}
    assert set(clocks_for("self_service", "under_15")) == child
    assert set(clocks_for("probation", "18_20")) == {"reporter_feedback"}
    assert clocks_for("relative", "18_20") == ()
    assert clocks_for("police", "21_plus") == ()
    assert clocks_for("police", None) == ()
