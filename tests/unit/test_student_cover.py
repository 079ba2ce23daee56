"""A date range is tiled by whole months, whole weeks and days: exactly, without overlap."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from chronos_data.viewing.student_sets import cover


def _days_of(c) -> list[date]:
    days = list(c.days)
    for monday in c.weeks:
        days += [monday + timedelta(days=i) for i in range(7)]
    for first in c.months:
        day = first
        while day.month == first.month:
            days.append(day)
            day += timedelta(days=1)
    return sorted(days)


# No per-example deadline (as tests/fuzz): one stall of a loaded CI machine fails the run as "unreliable timings".
@settings(deadline=None)
@given(st.dates(date(2024, 1, 1), date(2027, 12, 31)), st.integers(0, 800))
def test_the_cover_is_exactly_the_range(start, length):
    end = start + timedelta(days=length)
    c = cover(start, end)
    assert _days_of(c) == [start + timedelta(days=i) for i in range(length + 1)]
    assert all(first.day == 1 for first in c.months)
    assert all(monday.weekday() == 0 for monday in c.weeks)


def test_ninety_days_take_about_a_dozen_periods_instead_of_ninety():
    c = cover(date(2026, 8, 27), date(2026, 11, 24))
    assert c.months == [date(2026, 9, 1), date(2026, 10, 1)]
    assert c.weeks == [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]
    assert len(c.days) == 8  # Aug 27-31, Nov 1, Nov 23-24
    assert len(c.months) + len(c.weeks) + len(c.days) == 13


def test_a_week_does_not_eat_into_a_month_the_range_holds_whole():
    # Monday 29 September 2025: its week would run into October, which the range holds whole.
    c = cover(date(2025, 9, 29), date(2025, 11, 2))
    assert c.months == [date(2025, 10, 1)]
    assert c.weeks == []
