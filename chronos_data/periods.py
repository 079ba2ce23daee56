"""Calendar buckets of the dashboards: the day, ISO week or month a date falls in, clipped to a range.

The trend chart groups days with Postgres' ``date_trunc`` (weeks start on Monday, months on the
1st); a drill-down into one bar must cover exactly the days that bar counted, no more (a February
bar ends on the 28th or 29th, not 31 days after the 1st) and nothing outside the filter's range.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Sequence
from datetime import date, timedelta

from .errors import ValidationError

__all__ = ["ALL_TIME", "CUSTOM", "DEFAULT_PERIOD", "GRANULARITIES", "PERIODS", "bucket", "bucket_label", "bucket_start",
           "custom_default", "period_range", "utc_weekday_hour"]

GRANULARITIES = ("day", "week", "month")
ALL_TIME, CUSTOM = "All time", "Custom range"
#: The named periods a dashboard offers, each the days it covers up to and including today.
PERIODS: dict[str, int | None] = {"Last 7 days": 7, "Last 30 days": 30, "Last 90 days": 90, "Last 365 days": 365,
                                  ALL_TIME: None, CUSTOM: None}
DEFAULT_PERIOD = "Last 30 days"


def _check(granularity: str) -> None:
    if granularity not in GRANULARITIES:
        raise ValidationError(f"'{granularity}' is not a granularity; use day, week or month.")


def bucket_start(day: date, granularity: str) -> date:
    """The first day of the day, week (Monday) or month that ``day`` falls in (``date_trunc``)."""
    _check(granularity)
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def bucket(day: date, granularity: str, start: date | None = None, end: date | None = None) -> tuple[date, date]:
    """The first and last day (inclusive) of the bucket holding ``day``, clipped to ``start``–``end``.

    A bucket that lies wholly outside the range comes back empty (first day after the last).
    """
    first = bucket_start(day, granularity)
    if granularity == "week":
        last = first + timedelta(days=6)
    elif granularity == "month":
        last = first.replace(day=monthrange(first.year, first.month)[1])
    else:
        last = first
    if start is not None:
        first = max(first, start)
    if end is not None:
        last = min(last, end)
    return first, last


def bucket_label(day: date, granularity: str, *, short: bool = False) -> str:
    """How a bucket is named on an axis: ``3 Dec 2026``, ``Week of 30 Nov 2026``, ``Dec 2026``."""
    first = bucket_start(day, granularity)
    if granularity == "month":
        return f"{first:%b %Y}"
    text = f"{first.day} {first:%b}" if short else f"{first.day} {first:%b %Y}"
    return text if granularity == "day" or short else f"Week of {text}"


def period_range(period: str, today: date, first_day: date | None = None,
                 picked: Sequence[date] = ()) -> tuple[date, date]:
    """The first and last day (inclusive) of a named period ending ``today``.

    "All time" starts at ``first_day`` (the first day with activity; today when there is none);
    "Custom range" is ``picked`` (one date, or the first and last), today alone while nothing is.
    """
    if period not in PERIODS:
        raise ValidationError(f"'{period}' is not a period; use one of {', '.join(PERIODS)}.")
    if period == CUSTOM:
        return (picked[0], picked[-1]) if picked else (today, today)
    days = PERIODS[period]
    if days is None:
        return min(first_day or today, today), today
    return today - timedelta(days=days - 1), today


def custom_default(today: date) -> tuple[date, date]:
    """The dates a custom range starts with: the default period's."""
    return period_range(DEFAULT_PERIOD, today)


def local_weekday_hour(weekday: int, hour: int, offset_minutes: int) -> tuple[int, int]:
    """A UTC weekday (1 = Monday) and hour as the weekday and hour ``offset_minutes`` east of UTC
    (a zone off by half an hour is taken at its rounded hour); ``utc_weekday_hour`` undoes it."""
    slot = ((weekday - 1) * 24 + hour + round(offset_minutes / 60)) % (7 * 24)
    return slot // 24 + 1, slot % 24


def utc_weekday_hour(weekday: int, hour: int, offset_minutes: int) -> tuple[int, int]:
    """A local weekday (1 = Monday) and hour, ``offset_minutes`` east of UTC, as the UTC weekday
    and hour the rollups count in (a zone off by half an hour is taken at its rounded hour)."""
    slot = ((weekday - 1) * 24 + hour - round(offset_minutes / 60)) % (7 * 24)
    return slot // 24 + 1, slot % 24
