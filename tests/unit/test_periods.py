"""Bucket arithmetic of the trend chart and its drill-down (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from chronos_data import periods
from chronos_data.errors import ValidationError
from chronos_data.periods import bucket, bucket_label, bucket_start


@pytest.mark.parametrize(("day", "expected"), [
    (date(2026, 2, 1), (date(2026, 2, 1), date(2026, 2, 28))),   # not 1-3 March
    (date(2026, 2, 17), (date(2026, 2, 1), date(2026, 2, 28))),
    (date(2028, 2, 10), (date(2028, 2, 1), date(2028, 2, 29))),  # leap year
    (date(2026, 12, 31), (date(2026, 12, 1), date(2026, 12, 31))),
    (date(2026, 4, 1), (date(2026, 4, 1), date(2026, 4, 30))),
])
def test_a_month_bucket_holds_exactly_its_own_days(day, expected):
    assert bucket(day, "month") == expected


def test_a_week_runs_monday_to_sunday_like_date_trunc():
    assert bucket(date(2026, 12, 3), "week") == (date(2026, 11, 30), date(2026, 12, 6))
    assert bucket(date(2026, 11, 30), "week") == (date(2026, 11, 30), date(2026, 12, 6))
    assert bucket(date(2026, 12, 6), "week") == (date(2026, 11, 30), date(2026, 12, 6))
    assert bucket(date(2026, 12, 31), "week") == (date(2026, 12, 28), date(2027, 1, 3))  # across a year


def test_a_day_is_its_own_bucket():
    assert bucket(date(2026, 3, 3), "day") == (date(2026, 3, 3), date(2026, 3, 3))


def test_buckets_are_clipped_to_the_filter_range():
    # the first bar of a range starting mid-month counts from the range's first day, the last up to today
    assert bucket(date(2026, 2, 1), "month", date(2026, 2, 10), date(2026, 5, 1)) == (date(2026, 2, 10),
                                                                                       date(2026, 2, 28))
    assert bucket(date(2026, 5, 1), "month", date(2026, 2, 10), date(2026, 5, 4)) == (date(2026, 5, 1),
                                                                                      date(2026, 5, 4))
    assert bucket(date(2026, 11, 30), "week", date(2026, 12, 2), date(2026, 12, 3)) == (date(2026, 12, 2),
                                                                                        date(2026, 12, 3))


def test_bucket_start_matches_the_sql_period_keys():
    assert bucket_start(date(2026, 9, 17), "month") == date(2026, 9, 1)
    assert bucket_start(date(2026, 9, 17), "week") == date(2026, 9, 14)


def test_labels_name_the_bucket():
    assert bucket_label(date(2026, 9, 17), "month") == "Sep 2026"
    assert bucket_label(date(2026, 9, 17), "week") == "Week of 14 Sep 2026"
    assert bucket_label(date(2026, 9, 17), "week", short=True) == "14 Sep"
    assert bucket_label(date(2026, 9, 17), "day") == "17 Sep 2026"


def test_an_unknown_granularity_is_refused():
    with pytest.raises(ValidationError, match="granularity"):
        bucket(date(2026, 1, 1), "year")


# --- the named periods of the dashboards' Period box ----------------------------------------------

_TODAY = date(2026, 3, 1)


@pytest.mark.parametrize(("period", "expected"), [
    ("Last 7 days", (date(2026, 2, 23), _TODAY)),  # today counts as one of the seven
    ("Last 30 days", (date(2026, 1, 31), _TODAY)),
    ("Last 365 days", (date(2025, 3, 2), _TODAY)),
    ("All time", (date(2025, 11, 5), _TODAY)),
])
def test_a_named_period_ends_today_and_covers_its_days(period, expected):
    assert periods.period_range(period, _TODAY, date(2025, 11, 5)) == expected
    first, last = expected
    if period != "All time":
        assert (last - first).days + 1 == periods.PERIODS[period]


def test_all_time_without_any_activity_is_today_alone():
    assert periods.period_range("All time", _TODAY) == (_TODAY, _TODAY)
    assert periods.period_range("All time", _TODAY, date(2027, 1, 1)) == (_TODAY, _TODAY)  # never after today


def test_a_custom_range_is_the_picked_dates_and_today_while_none_is_picked():
    assert periods.period_range("Custom range", _TODAY, None, (date(2026, 1, 2), date(2026, 1, 9))) == (
        date(2026, 1, 2), date(2026, 1, 9))
    assert periods.period_range("Custom range", _TODAY, None, (date(2026, 1, 2),)) == (date(2026, 1, 2),) * 2
    assert periods.period_range("Custom range", _TODAY) == (_TODAY, _TODAY)
    assert periods.custom_default(_TODAY) == periods.period_range(periods.DEFAULT_PERIOD, _TODAY)


def test_an_unknown_period_is_refused():
    with pytest.raises(ValidationError):
        periods.period_range("Last fortnight", _TODAY)


@pytest.mark.parametrize(("local", "offset", "utc"), [
    ((1, 10), 0, (1, 10)),
    ((1, 1), 120, (7, 23)),  # Monday 01:00 at UTC+2 is Sunday 23:00 UTC
    ((7, 23), -300, (1, 4)),  # Sunday 23:00 at UTC-5 is Monday 04:00 UTC
    ((3, 12), 330, (3, 6)),  # UTC+5:30 is taken at its rounded hour (+6)
])
def test_a_clicked_local_heatmap_cell_is_the_utc_slot_the_rollups_count_in(local, offset, utc):
    assert periods.utc_weekday_hour(*local, offset) == utc


@pytest.mark.parametrize(("utc", "offset", "local"), [
    ((7, 23), 120, (1, 1)),  # Sunday 23:00 UTC is Monday 01:00 at UTC+2, across midnight and the week
    ((1, 4), -300, (7, 23)),
    ((3, 6), 330, (3, 12)),
])
def test_the_heatmap_shows_a_utc_hour_at_the_local_hour_a_click_maps_back(utc, offset, local):
    assert periods.local_weekday_hour(*utc, offset) == local
    assert periods.utc_weekday_hour(*local, offset) == utc
