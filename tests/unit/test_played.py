"""Played ranges: the seconds a viewer actually played, whatever the playhead did."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chronos_data.errors import ValidationError
from chronos_data.viewing.played import merge_ranges, parse_ranges, percent_played, seconds_played


def test_overlapping_and_touching_ranges_merge_and_empty_ones_go():
    assert merge_ranges([(30, 40), (0, 7), (5, 10), (10, 12), (20, 20), (35, 38)]) == [(0, 12), (30, 40)]
    assert merge_ranges([]) == []


def test_a_jump_forward_plays_nothing_in_between():
    # The reproduction: 0:07 -> 0:55 of a one-minute video is 12 s played, not 96 %.
    played = [(0, 7), (55, 60)]
    assert seconds_played(played) == 12
    assert percent_played(played, 60) == 20


def test_a_second_played_twice_counts_once():
    assert seconds_played([(0, 30), (10, 30), (0, 5)]) == 30
    assert percent_played([(0, 30), (10, 30)], 60) == 50


def test_ranges_past_the_end_are_cut_and_percent_stops_at_100():
    assert percent_played([(0, 61.5)], 60) == 100
    assert percent_played([(50, 70)], 60) == 16  # 10 s of 60 inside the video
    assert percent_played([(0, 53.99)], 60) == 89  # whole percents round down: 90 % means 90 % played


def test_an_unknown_length_is_refused():
    with pytest.raises(ValidationError, match="length is unknown"):
        percent_played([(0, 5)], 0)


@pytest.mark.parametrize("value", [
    "0-7", [[0]], [[0, 7, 9]], [[7, 3]], [[-1, 3]], [[0, math.inf]], [[0, math.nan]], [["0", "7"]], [[True, 3]],
    [[0, 1]] * 6,
])
def test_a_bad_report_is_refused(value):
    with pytest.raises(ValidationError):
        parse_ranges(value, most=5)


def test_a_report_is_merged():
    assert parse_ranges([[55, 60], [0, 7.5], [7, 8]], most=5) == [(0, 8), (55, 60)]


_ranges = st.lists(st.tuples(st.floats(0, 600), st.floats(0, 120)).map(lambda r: (r[0], r[0] + r[1])), max_size=30)


# No per-example deadline (as tests/fuzz): one stall of a loaded CI machine fails the run as "unreliable timings".
@settings(deadline=None)
@given(_ranges)
def test_merged_ranges_are_disjoint_sorted_and_cover_the_same_seconds(ranges):
    merged = merge_ranges(ranges)
    assert all(a < b for a, b in merged)
    assert all(first[1] < second[0] for first, second in zip(merged, merged[1:], strict=False))
    for probe in (x / 2 for x in range(0, 1441)):  # every half second of the span
        inside = any(a <= probe < b for a, b in ranges if b > a)
        assert inside == any(a <= probe < b for a, b in merged)
    assert merge_ranges(merged) == merged
    assert seconds_played(merged) <= sum(b - a for a, b in ranges) + 1e-9


@settings(deadline=None)
@given(_ranges, _ranges)
def test_percent_only_grows_as_ranges_are_added(first, more):
    assert percent_played([*first, *more], 720) >= percent_played(first, 720)
