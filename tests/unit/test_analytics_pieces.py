"""The Analytics page's pure pieces: selections by id, KPI numbers, axis ticks, the local-time heatmap."""

from __future__ import annotations

import uuid
from datetime import date

import pandas as pd
import pytest

from components import charts
from components.metrics import change_text, format_amount
from components.selection import id_at, position_of, table_key

ROW6, OTHER_A, OTHER_B = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def test_a_selection_is_resolved_by_id_in_the_new_frame():
    before = [uuid.uuid4() for _ in range(5)] + [ROW6] + [uuid.uuid4() for _ in range(4)]
    assert id_at(before, [5]) == ROW6
    # the same video after the period changed: now in third place
    after = [OTHER_A, OTHER_B, ROW6]
    assert position_of(after, ROW6) == 2
    # filtered down to two other videos: not shown, and no IndexError from position 5
    assert position_of([OTHER_A, OTHER_B], ROW6) is None
    assert id_at([OTHER_A, OTHER_B], [5]) is None
    assert id_at(after, []) is None and position_of(after, None) is None


def test_a_selection_matches_ids_stored_as_text():
    assert position_of([OTHER_A, ROW6], str(ROW6)) == 1


def test_the_table_key_changes_with_the_rows_shown():
    assert table_key("t", [ROW6, OTHER_A]) == table_key("t", [ROW6, OTHER_A])
    assert table_key("t", [ROW6, OTHER_A]) != table_key("t", [OTHER_A, ROW6])


@pytest.mark.parametrize(("value", "text"), [
    (0.00407, "0.0041"), (0.043, "0.043"), (0.5, "0.5"), (47.23, "47.2"), (1234.5, "1,234"), (0, "0"),
])
def test_small_amounts_keep_two_significant_digits(value, text):
    assert format_amount(value) == text


def test_changes_read_as_people_say_them():
    assert change_text(10, 0) == ("new", "off")
    assert change_text(163, 1) == ("new", "off")          # +16200 % against a near-empty period
    assert change_text(22, 22) == ("±0%", "off")          # not a green "+0%"
    assert change_text(22.05, 22) == ("±0%", "off")
    assert change_text(0, 0) == (None, "off")
    assert change_text(77, 100) == ("-23%", "normal")
    assert change_text(105, 100) == ("+5%", "normal")


def test_count_axes_step_in_whole_numbers():
    assert charts.count_step(26) == 10 or charts.count_step(26) == 5
    assert charts.count_step(3) == 1
    assert charts.count_step(0) == 1
    assert charts.count_step(260) in (50, 100)
    assert all(isinstance(charts.count_step(m), int) for m in (1, 7, 26, 999))


def _trend(granularity: str, periods: list[date]) -> dict:
    frame = pd.DataFrame({"period": periods, "views": [5, 21, 26][: len(periods)],
                          "watch_hours": [0.00407, 0.589, 1.179][: len(periods)], "completion_rate": 50.0})
    return charts.trend_figure(frame, granularity).to_dict()["layout"]


def test_month_bars_are_labelled_at_their_own_first_day():
    layout = _trend("month", [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)])
    assert layout["xaxis"]["tickvals"] == ["2026-08-01", "2026-09-01", "2026-10-01"]
    assert layout["xaxis"]["ticktext"] == ["Aug 2026", "Sep 2026", "Oct 2026"]


def test_week_bars_are_labelled_by_their_monday():
    layout = _trend("week", [date(2026, 8, 24), date(2026, 8, 31)])
    assert layout["xaxis"]["ticktext"] == ["24 Aug", "31 Aug"]


def test_trend_axes_have_even_whole_views_and_short_hours():
    layout = _trend("day", [date(2026, 8, 24), date(2026, 8, 25), date(2026, 8, 26)])
    assert layout["yaxis"]["tickmode"] == "linear" and isinstance(layout["yaxis"]["dtick"], int)
    assert layout["yaxis2"]["tickformat"] == ",.2~f" and layout["yaxis2"]["tickmode"] == "auto"
    assert layout["legend"]["yanchor"] == "bottom" and layout["legend"]["yref"] == "container"


def test_retention_hover_reads_minutes_and_seconds():
    curve = pd.DataFrame({"percent": [0, 50, 100], "second": [0, 226, 452], "watching": [1, 0.5, 0],
                          "rewatching": [0, 0.1, 0], "sessions": 10})
    data = charts.retention_figure(curve, title="T").to_dict()["data"]
    assert list(data[0]["customdata"]) == ["00:00", "03:46", "07:32"]


def test_the_heatmap_grid_holds_every_hour_of_the_week():
    frame = pd.DataFrame({"weekday": [1, 1], "hour": [1, 2], "sessions": [4, 1]})
    local = charts.heatmap_grid(frame)
    cell = local.set_index(["weekday", "hour"])["sessions"]
    assert len(local) == 7 * 24 and cell[(1, 1)] == 4 and cell[(1, 2)] == 1 and local["sessions"].sum() == 5
    layout = charts.heatmap_figure(local, "Europe/Berlin").to_dict()
    assert layout["data"][0]["marker"]["colorbar"]["title"]["text"] == "Sessions"
    assert "Europe/Berlin" in layout["layout"]["xaxis"]["title"]["text"]


def test_breakdown_keys_read_as_words():
    assert charts.human_label("course_page") == "Course page"
    frame = pd.DataFrame({"referrer": ["course_page"], "sessions": [3]})
    trace = charts.breakdown_figure(frame, "referrer").to_dict()["data"][0]
    assert list(trace["y"]) == ["Course page"] and list(trace["customdata"]) == ["course_page"]


def test_funnel_bars_carry_their_counts():
    frame = pd.DataFrame({"position": [1, 2], "lesson": ["Commits", "Rebase"], "video_id": [uuid.uuid4(), uuid.uuid4()],
                          "started": [0, 3], "completed": [1, 2]})
    started, completed = charts.funnel_figure(frame).data
    assert (started.texttemplate, completed.texttemplate) == ("%{x:,}", "%{x:,}")
    assert list(completed.x) == [1, 2] and completed.textposition == "outside"
