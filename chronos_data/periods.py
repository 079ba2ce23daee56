"""Calendar buckets of the dashboards: the day, ISO week or month a date falls in, clipped to a range.

The trend chart groups days with Postgres' ``date_trunc`` (weeks start on Monday, months on the
1st); a drill-down into one bar must cover exactly the days that bar counted, no more (a February
bar ends on the 28th or 29th, not 31 days after the 1st) and nothing outside the filter's range.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date, timedelta

from .errors import ValidationError

__all__ = ["GRANULARITIES", "bucket", "bucket_label", "bucket_start"]

GRANULARITIES = ("day", "week", "month")


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
