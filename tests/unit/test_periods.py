"""Bucket arithmetic of the trend chart and its drill-down (no database)."""

from __future__ import annotations

from datetime import date

import pytest

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
