"""Dashboard metrics against a fixture small enough to compute by hand (each number says how)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from chronos_data import courses, students, videos
from chronos_data.db import Workspace
from chronos_data.insights import timeline
from chronos_data.viewing import dashboards, rollups, watching

DAY = date(2026, 4, 6)  # a Monday


def at(hour: int, day: int = 6) -> datetime:
    return datetime(2026, 4, day, hour, tzinfo=UTC)


@pytest.fixture
def fixture(t: Workspace):
    """One course, two 100-second lessons; three students.

    Lesson 1: Ana watches to 100 %, Ben to 50 % (rewinding 40 s -> 60 s), Cem to 20 %.
    Lesson 2: Ana watches to 95 %. Ana later restarts lesson 1 (a rewatch) and stops at 30 %.
    """
    lesson_videos = []
    for title in ("Intro", "Next steps"):
        video = videos.create_video(t, title=title, source_type="loom", source_id=uuid.uuid4().hex,
                                    duration_seconds=100)
        videos.set_status(t, video, "completed")
        lesson_videos.append(video)
    course = courses.create_course(t, "Course")
    module = courses.create_module(t, course, "Module")
    courses.add_lessons(t, module, lesson_videos)
    first, second = lesson_videos
    ana, ben, cem = (students.create_student(t, f"{n}@example.com") for n in ("ana", "ben", "cem"))

    def watch(student, video, percent, hour, rewind=None):
        session = watching.start_viewing(t, video, student, course_id=course, module_id=module, at=at(hour),
                                         device_type="mobile" if student == ben else "desktop")
        watching.report_progress(t, session, position_seconds=percent, watched_seconds=percent, at=at(hour))
        if rewind:
            watching.report_rewind(t, session, from_seconds=rewind[1], to_seconds=rewind[0])

    watch(ana, first, 100, 9)
    watch(ben, first, 50, 10, rewind=(40, 60))
    watch(cem, first, 20, 11)
    watch(ana, second, 95, 12)
    watch(ana, first, 30, 20)
    rollups.rollup(t, days=[DAY])
    return {"course": course, "first": first, "second": second}


def _one_day(**kwargs) -> dashboards.Filters:
    return dashboards.Filters(DAY, DAY, **kwargs)


def test_retention_is_the_share_of_sessions_reaching_each_point(t, fixture):
    curve = dashboards.retention_curve(t, fixture["first"], _one_day()).set_index("percent")
    # 4 sessions of lesson 1 reached 100, 50, 20 and 30 %.
    assert curve.at[0, "watching"] == 1.0
    assert curve.at[20, "watching"] == 1.0
    assert curve.at[25, "watching"] == 0.75  # 100, 50, 30
    assert curve.at[50, "watching"] == 0.5   # 100, 50
    assert curve.at[51, "watching"] == 0.25  # 100
    # Ben rewound from 60 s to 40 s: a quarter of the sessions watched 40..59 s again.
    assert curve.at[45, "rewatching"] == 0.25 and curve.at[60, "rewatching"] == 0.0
    # The chart's marks: 0:30 reached by 100, 50 and 30 % of a 100 s video; four sessions are too few
    # to call anything a dip or a spike (the Insights page's detector, which the chart shares).
    moments = timeline.retention_moments(t, fixture["first"], DAY, DAY)
    assert moments == {"at_30s": 0.75, "drops": [], "spikes": []}


def test_completion_views_and_engagement_score_follow_the_seeds(t, fixture):
    top = dashboards.top_videos(t, _one_day()).set_index("title")
    intro = top.loc["Intro"]
    assert intro["views"] == 4 and intro["completion_rate"] == 25.0  # 1 of 4 views reached 90 %
    assert intro["rewatch_rate"] == 25.0  # Ana's second start after completing: 1 of 4
    # Watch 200 s (100 + 50 + 20 + 30) / 4 views / 100 s = 0.5 -> 40 x 0.5 + 40 x 0.25 + 20 x 0.25 = 35
    assert intro["engagement_score"] == 35.0
    kpis = dashboards.kpis(t, _one_day()).set_index("metric")["value"]
    assert kpis["Views"] == 5 and kpis["Unique viewers"] == 3
    assert kpis["Completion rate (%)"] == pytest.approx(40.0)  # 2 completions of 5 views


def test_the_funnel_counts_students_per_lesson_in_course_order(t, fixture):
    funnel = dashboards.course_funnel(t, fixture["course"], _one_day())
    assert list(funnel["lesson"]) == ["Intro", "Next steps"]
    assert list(funnel["started"]) == [3, 1] and list(funnel["completed"]) == [1, 1]
    assert list(funnel["completion_rate"]) == [33.3, 100.0]


def test_filters_narrow_every_view(t, fixture):
    only_second = _one_day(video_ids=(fixture["second"],))
    assert dashboards.kpis(t, only_second).set_index("metric").at["Views", "value"] == 1
    assert dashboards.views_over_time(t, only_second)["views"].tolist() == [1]
    heat = dashboards.engagement_heatmap(t, _one_day())
    assert heat.set_index(["weekday", "hour"])["sessions"].to_dict() == {
        (1, 9): 1, (1, 10): 1, (1, 11): 1, (1, 12): 1, (1, 20): 1}
    devices = dashboards.breakdown(t, _one_day(), "device").set_index("device")["sessions"].to_dict()
    assert devices == {"desktop": 4, "mobile": 1}
    empty = dashboards.Filters(date(2026, 4, 7), date(2026, 4, 8))
    assert dashboards.kpis(t, empty).set_index("metric").at["Views", "value"] == 0
    previous = dashboards.kpis(t, dashboards.Filters(date(2026, 4, 7), date(2026, 4, 7)))
    assert previous.set_index("metric").at["Views", "previous"] == 5  # the day before is the 6th


def test_at_risk_lists_unfinished_students_who_went_quiet(t, fixture):
    risk = dashboards.at_risk_students(t, fixture["course"], now=datetime(2026, 4, 25, tzinfo=UTC))
    assert sorted(risk["email"]) == ["ben@example.com", "cem@example.com"]  # Ana finished both lessons
    assert set(risk["reason"]) == {"inactive"}
    assert dashboards.at_risk_students(t, fixture["course"], now=datetime(2026, 4, 7, tzinfo=UTC)).empty


def test_a_reversed_range_is_refused_in_words():
    with pytest.raises(Exception, match="end date is before"):
        dashboards.Filters(date(2026, 4, 2), date(2026, 4, 1))


def test_the_typical_band_is_the_middle_half_of_similar_videos_curves(t, fixture):
    # Lesson 1's sessions reached 100, 50, 20, 30 %; lesson 2's one session 95 %. For lesson 2
    # the only similar video is lesson 1, so its band is lesson 1's curve itself.
    band = dashboards.typical_retention(t, fixture["second"], _one_day()).set_index("percent")
    assert list(band["videos"].unique()) == [1]
    assert band.at[25, "low"] == band.at[25, "high"] == 0.75
    assert band.at[51, "low"] == 0.25
    # For lesson 1, lesson 2 is the one similar video: everyone watching up to 95 %, nobody after.
    other = dashboards.typical_retention(t, fixture["first"], _one_day()).set_index("percent")
    assert other.at[95, "high"] == 1.0 and other.at[96, "high"] == 0.0
    assert dashboards.typical_retention(t, fixture["first"], dashboards.Filters(date(2026, 1, 1),
                                                                                 date(2026, 1, 2))).empty


def test_a_course_filter_counts_only_the_viewing_done_in_that_course(t, fixture):
    # "Intro" becomes a lesson of a second course too, where Dan watches it to the end.
    other = courses.create_course(t, "Other course")
    module = courses.create_module(t, other, "Module")
    courses.add_lessons(t, module, [fixture["first"]])
    dan = students.create_student(t, "dan@example.com")
    session = watching.start_viewing(t, fixture["first"], dan, course_id=other, module_id=module, at=at(15))
    watching.report_progress(t, session, position_seconds=100, watched_seconds=100, at=at(15))
    rollups.rollup(t, days=[DAY])

    first = dashboards.kpis(t, _one_day(course_id=fixture["course"])).set_index("metric")["value"]
    assert first["Views"] == 5 and first["Unique viewers"] == 3  # as before Dan: his view was elsewhere
    second = dashboards.kpis(t, _one_day(course_id=other)).set_index("metric")["value"]
    assert second["Views"] == 1 and second["Unique viewers"] == 1 and second["Completion rate (%)"] == 100
    assert second["Active students (daily)"] == 1 and second["Watch time (hours)"] == pytest.approx(100 / 3600)
    assert dashboards.top_videos(t, _one_day(course_id=other)).set_index("title").at["Intro", "views"] == 1
    assert list(dashboards.course_funnel(t, other, _one_day())["started"]) == [1]
    assert dashboards.breakdown(t, _one_day(course_id=other), "device")["sessions"].tolist() == [1]
    assert dashboards.retention_curve(t, fixture["first"], _one_day(course_id=other))["sessions"].max() == 1
    everywhere = dashboards.kpis(t, _one_day()).set_index("metric")["value"]
    assert everywhere["Views"] == 6 and everywhere["Unique viewers"] == 4


def test_an_imported_session_is_a_view_and_a_completion(t, fixture):
    from chronos_data.viewing import event_import

    csv = ("type,video,student_email,timestamp,percent_complete,watch_time_seconds\n"
           "session,Intro,eve@example.com,2026-04-06T16:00:00Z,95,95\n")
    event_import.import_events(t, csv.encode(), "history.csv")
    rollups.rollup(t, days=[DAY])
    kpis = dashboards.kpis(t, _one_day()).set_index("metric")["value"]
    assert kpis["Views"] == 6 and kpis["Unique viewers"] == 4
    assert kpis["Completion rate (%)"] == pytest.approx(50.0)  # 3 completions of 6 views
    intro = dashboards.top_videos(t, _one_day()).set_index("title").loc["Intro"]
    assert intro["views"] == 5 and intro["completion_rate"] == 40.0
    assert list(dashboards.course_funnel(t, fixture["course"], _one_day())["started"]) == [3, 1]  # Eve: no course
