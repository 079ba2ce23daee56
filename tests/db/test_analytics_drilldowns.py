"""The Analytics page's drill-downs against a hand-sized fixture: a chart slice's videos, cost lines, a
student found by e-mail (each number says how)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from chronos_data import periods, students, videos
from chronos_data.db import Workspace
from chronos_data.viewing import analytics, dashboards, rollups, watching

DAY = date(2026, 4, 6)  # a Monday


def _at(hour: int) -> datetime:
    return datetime(2026, 4, 6, hour, tzinfo=UTC)


@pytest.fixture
def viewing(t: Workspace):
    """Two videos. Intro: Ana on desktop at 09:00, Ben on mobile at 10:00 (referred by search).
    Outro: Ana on desktop at 10:00."""
    intro, outro = (videos.create_video(t, title=title, source_type="loom", source_id=uuid.uuid4().hex,
                                        duration_seconds=100) for title in ("Intro", "Outro"))
    ana, ben = (students.create_student(t, email) for email in ("Ana@Example.com", "ben@example.com"))

    def watch(student, video, hour, device, referrer="course_page"):
        session = watching.start_viewing(t, video, student, at=_at(hour), device_type=device, referrer_type=referrer)
        watching.report_progress(t, session, position_seconds=60, watched_seconds=60, at=_at(hour))

    watch(ana, intro, 9, "desktop")
    watch(ben, intro, 10, "mobile", "search")
    watch(ana, outro, 10, "desktop")
    rollups.rollup(t, days=[DAY])
    return {"intro": intro, "outro": outro, "ana": ana}


def _day() -> dashboards.Filters:
    return dashboards.Filters(DAY, DAY)


def test_a_device_slice_lists_the_videos_watched_on_it(t, viewing):
    mobile = dashboards.slice_videos(t, _day(), device="mobile")
    assert list(mobile["title"]) == ["Intro"] and list(mobile["sessions"]) == [1]  # only Ben, on Intro
    desktop = dashboards.slice_videos(t, _day(), device="desktop").set_index("title")["sessions"].to_dict()
    assert desktop == {"Intro": 1, "Outro": 1}
    # the slices add up to the breakdown's bars
    bars = dashboards.breakdown(t, _day(), "device").set_index("device")["sessions"].to_dict()
    assert bars == {"desktop": 2, "mobile": 1}


def test_a_referrer_slice_and_an_unknown_key_give_rows_or_none(t, viewing):
    assert list(dashboards.slice_videos(t, _day(), referrer="search")["title"]) == ["Intro"]
    assert dashboards.slice_videos(t, _day(), device="smart_fridge").empty


def test_a_heatmap_cell_lists_the_videos_watched_in_that_hour(t, viewing):
    monday_ten = dashboards.slice_videos(t, _day(), weekday=1, hour=10).set_index("title")["sessions"].to_dict()
    assert monday_ten == {"Intro": 1, "Outro": 1}  # Ben on Intro, Ana on Outro
    assert list(dashboards.slice_videos(t, _day(), weekday=1, hour=9)["title"]) == ["Intro"]
    assert dashboards.slice_videos(t, _day(), weekday=2, hour=10).empty  # a Tuesday: nothing
    cells = dashboards.engagement_heatmap(t, _day()).set_index(["weekday", "hour"])["sessions"].to_dict()
    assert cells == {(1, 9): 1, (1, 10): 2}
    # In New York (UTC-5) the same sessions were Monday 04:00 and 05:00; a click there maps back.
    local = dashboards.engagement_heatmap(t, _day(), -300).set_index(["weekday", "hour"])["sessions"].to_dict()
    assert local == {(1, 4): 1, (1, 5): 2}
    weekday, hour = periods.utc_weekday_hour(1, 4, -300)
    assert list(dashboards.slice_videos(t, _day(), weekday=weekday, hour=hour)["title"]) == ["Intro"]


def test_a_slice_follows_the_video_filter(t, viewing):
    only_outro = dashboards.Filters(DAY, DAY, video_ids=(viewing["outro"],))
    assert list(dashboards.slice_videos(t, only_outro, weekday=1, hour=10)["title"]) == ["Outro"]


def test_a_student_is_found_by_email_in_any_case(t, viewing):
    assert dashboards.find_student(t, " ana@example.COM ") == viewing["ana"]
    assert dashboards.find_student(t, "nobody@example.com") is None


def test_cost_lines_add_up_to_the_costs_table(t, viewing):
    # Whisper on Intro twice (0.012 + 0.006 US$), captions on Outro (free); one on another day
    for video, method, cost, hour in ((viewing["intro"], "whisper", 0.012, 8), (viewing["intro"], "whisper", 0.006, 9),
                                      (viewing["outro"], "captions", 0, 9)):
        analytics.track_event(t, "video_transcribed", video, timestamp=_at(hour),
                              metadata={"transcript_method": method, "cost": cost})
    analytics.track_event(t, "video_transcribed", viewing["outro"], timestamp=datetime(2026, 3, 1, tzinfo=UTC),
                          metadata={"transcript_method": "whisper", "cost": 1.0})
    lines = dashboards.cost_lines(t, _day())
    per_video = lines.groupby("video")["usd"].sum().to_dict()
    assert per_video == pytest.approx({"Intro": 0.018, "Outro": 0.0})
    assert set(lines["month"]) == {date(2026, 4, 1)}
    table = dashboards.costs(t, _day())
    paid = table[table["kind"] == "transcription"]
    assert lines.loc[lines["kind"] == "transcription", "count"].sum() == paid["count"].sum()
    assert lines["usd"].fillna(0).sum() == pytest.approx(paid["usd"].fillna(0).sum())
