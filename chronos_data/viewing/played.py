"""Played ranges: the spans of a video a viewer actually played, as ``(start, end)`` seconds.

A viewing that jumps from 0:07 to 0:55 of a one-minute video played two ranges, ``(0, 7)`` and
``(55, 60)``: 12 seconds, 20 % of it, however far the playhead went. Completion and milestones
are shares of the union of these ranges (``percent_played``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ..errors import ValidationError

__all__ = ["PlayedRange", "merge_ranges", "parse_ranges", "percent_played", "seconds_played"]

PlayedRange = tuple[float, float]


def merge_ranges(ranges: Iterable[Sequence[float]]) -> list[PlayedRange]:
    """The union of ``ranges``, sorted; overlapping and touching ranges become one, empty ones go."""
    merged: list[PlayedRange] = []
    for start, end in sorted((float(r[0]), float(r[1])) for r in ranges if r[1] > r[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def seconds_played(ranges: Iterable[Sequence[float]]) -> float:
    """Seconds of the video covered by ``ranges`` (a second played twice counts once)."""
    return sum(end - start for start, end in merge_ranges(ranges))


def percent_played(ranges: Iterable[Sequence[float]], duration_seconds: float) -> int:
    """Whole percent of a video of ``duration_seconds`` covered by ``ranges``, 0 to 100.

    Ranges past the end are cut at it: a player's duration may run a fraction longer than the
    library's.
    """
    if not duration_seconds > 0:
        raise ValidationError("This video's length is unknown; report its duration with the progress.")
    inside = [(max(0.0, start), min(float(duration_seconds), end)) for start, end in merge_ranges(ranges)]
    return min(100, int(seconds_played(inside) * 100 // duration_seconds))


def parse_ranges(value: object, *, most: int) -> list[PlayedRange]:
    """Played ranges as a player sent them (``[[start, end], ...]``), checked and merged.

    Raises:
        ValidationError: not a list of at most ``most`` pairs of finite seconds, zero or more,
            each ending at or after its start.
    """
    if not isinstance(value, list | tuple) or len(value) > most:
        raise ValidationError(f"Played ranges must be a list of at most {most} [start, end] pairs.")
    ranges = []
    for item in value:
        if (not isinstance(item, list | tuple) or len(item) != 2
                or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in item)):
            raise ValidationError("A played range is a [start, end] pair of seconds.")
        start, end = float(item[0]), float(item[1])
        if not (math.isfinite(start) and math.isfinite(end) and 0 <= start <= end):
            raise ValidationError("A played range starts at zero or later and ends at or after its start.")
        ranges.append((start, end))
    return merge_ranges(ranges)
