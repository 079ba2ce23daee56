"""The Analytics and Overview pages through AppTest, on a demo workspace: charts, filters, drill-downs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chronos_data import courses, students
from chronos_data.demo import load_demo, remove_demo
from chronos_data.viewing import dashboards
from components import layout
from tests.app.transactions import page_transactions

APP = str(Path(__file__).resolve().parents[2] / "app.py")
EMAIL = "demo-apptest@chronos.localhost"


@pytest.fixture(scope="module")
def demo(db, embedder):
    result = load_demo(db, embedder, seed=11, students=80, days=45, email=EMAIL)
    yield result
    remove_demo(db, EMAIL)


@pytest.fixture
def analytics(app_env, monkeypatch, demo) -> AppTest:
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", EMAIL)  # the demo as this session's workspace
    at = AppTest.from_file(APP, default_timeout=90).run()
    return at.switch_page("pages/analytics.py").run()


def _kpi(at: AppTest, label: str) -> float:
    metric = next(m for m in at.metric if m.label == label)
    return float(str(metric.value).replace(",", ""))


def test_every_tab_renders_with_data(analytics):
    at = analytics
    assert not at.exception and not at.error
    assert [tab.label for tab in at.tabs] == ["Trends", "Retention", "Courses", "Videos", "Audience", "Costs"]
    assert _kpi(at, "Views") > 0 and _kpi(at, "Unique viewers") > 0
    assert len(at.get("plotly_chart")) >= 5  # trend, heatmap, retention, funnel, devices, referrers
    assert any("data as of" in c.value for c in at.caption)
    assert len(at.get("download_button")) >= 6
    funnel = next(frame.value for frame in at.dataframe if "lesson" in frame.value.columns)
    assert not {"video_id", "module_id"} & set(funnel.columns)  # ids are for the CSV, not for people


@pytest.mark.parametrize("page", ["analytics", "overview", "videos", "courses", "preview", "assistant", "insights",
                                  "settings"])
def test_every_table_names_each_column_for_people(app_env, monkeypatch, demo, page):
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", EMAIL)
    at = AppTest.from_file(APP, default_timeout=90).run().switch_page(f"pages/{page}.py").run()
    assert not at.exception
    for frame in at.dataframe:
        labels = {name: config.get("label") for name, config in json.loads(frame.proto.columns or "{}").items()}
        # A data name ("sessions_completed") needs a label; a header already written for people does not.
        unnamed = [c for c in frame.value.columns if not labels.get(c) and (c.islower() or "_" in c)]
        assert not unnamed, f"{page}: columns shown by their data name: {unnamed}"


def test_filters_change_the_numbers(analytics):
    at = analytics
    all_time = at.selectbox(key="analytics_period").set_value("All time").run()
    views_all = _kpi(all_time, "Views")
    week = at.selectbox(key="analytics_period").set_value("Last 7 days").run()
    assert not week.exception and _kpi(week, "Views") < views_all

    course = at.selectbox(key="analytics_course")
    course_id = course.options[1]
    narrowed = course.select_index(1).run()
    assert not narrowed.exception and course_id
    at.selectbox(key="analytics_period").set_value("All time").run()
    assert _kpi(at, "Views") < views_all  # one course's lessons only


def test_a_custom_range_offers_dates_and_keeps_working(analytics):
    at = analytics.selectbox(key="analytics_period").set_value("Custom range").run()
    assert not at.exception and at.date_input(key="analytics_dates")
    assert _kpi(at, "Views") >= 0


def test_overview_summarises_the_last_30_days(app_env, monkeypatch, demo):
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", EMAIL)
    at = AppTest.from_file(APP, default_timeout=90).run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels[:4] == ["Videos", "Courses", "Students", "Assistant conversations"]
    overview = {m.label: (m.value, m.delta) for m in at.metric[4:]}
    assert list(overview) == ["Views", "Unique viewers", "Watch hours", "Completion", "Active per day", "AI questions"]
    # The same cards, with the same numbers, as the Analytics page's default view (the last 30 days).
    at = at.switch_page("pages/analytics.py").run()
    analytics = {m.label: (m.value, m.delta) for m in at.metric}
    assert {label: analytics[label] for label in overview} == overview


def test_the_course_builder_shows_each_lessons_students_and_drop_off(app_env, monkeypatch, demo):
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", EMAIL)
    at = AppTest.from_file(APP, default_timeout=90).run()
    at = at.switch_page("pages/courses.py").run()
    assert not at.exception
    captions = [c.value for c in at.caption if "completed" in c.value]
    assert captions and all("student" in c for c in captions)
    assert any("stop before the next lesson" in c for c in captions)


# --- Selections by id, drill-downs, look-ups, costs (issue 16) ---

def _top(db, demo, days: int):
    with db.workspace(demo.creator_id, read_only=True) as t:
        today = datetime.now(UTC).date()
        return dashboards.top_videos(t, dashboards.Filters(today - timedelta(days=days - 1), today))


def _texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [i.value for i in at.info] + [c.value for c in at.caption])


def test_a_picked_video_stays_picked_when_the_period_changes(analytics, db, demo):
    month = _top(db, demo, 30)
    sixth = month.iloc[5]  # the row a creator ticked in the 30-day table
    at = analytics
    at.selectbox(key="analytics_period").set_value("Last 7 days")
    at.session_state["analytics_video_pick"] = sixth["video_id"]
    at.run()
    assert not at.exception
    assert f"**Retention of {sixth['title']}**" in _texts(at)
    chart = at.get("plotly_chart")
    assert any(sixth["title"] in str(c.proto.spec) for c in chart)  # the drill-down draws that video's curve


def test_a_picked_video_filtered_out_is_reported_not_swapped(analytics, db, demo):
    month = _top(db, demo, 30)
    sixth, others = month.iloc[5], month[month["video_id"] != month.iloc[5]["video_id"]].iloc[:2]
    at = analytics
    at.session_state["analytics_video_pick"] = sixth["video_id"]
    at.multiselect(key="analytics_videos").set_value([str(v) for v in others["video_id"]]).run()
    assert not at.exception  # was: IndexError: single positional indexer is out-of-bounds
    assert f"{sixth['title']}** is not among the videos of the current filters" in _texts(at)
    assert not any(f"Retention of {title}" in _texts(at) for title in others["title"])
    at.button(key="analytics_video_pick_clear").click().run()
    assert "Select a video to see its retention." in _texts(at)


def test_kpis_have_short_labels_and_no_green_zero(analytics):
    at = analytics.selectbox(key="analytics_period").set_value("All time").run()
    labels = [m.label for m in at.metric]
    assert labels[:6] == ["Views", "Unique viewers", "Watch hours", "Completion", "Active per day", "AI questions"]
    assert max(len(label) for label in labels[:6]) <= 16  # fit a sixth of 1280 px
    assert not [m for m in at.metric if str(m.delta) in ("+0%", "-0%")]
    # all time against the days before the first activity: nothing to compare with
    assert {str(m.delta) for m in at.metric[:5]} <= {"new", "None"}


def test_any_student_can_be_looked_up_by_email(analytics, db, demo):
    with db.workspace(demo.creator_id, read_only=True) as t:
        course = courses.list_courses(t)[0]
        at_risk = set(dashboards.at_risk_students(t, course.id)["email"])
        student = next(s.email for s in students.list_students(t) if s.email not in at_risk
                       and "preview" not in s.email)
    at = analytics.selectbox(key="analytics_course").set_value(str(course.id)).run()
    at.text_input(key="analytics_student_email").input(student.upper()).run()
    assert not at.exception
    assert any(m.value.endswith(f"through *{layout.inert(course.title)}*") for m in at.markdown)
    progress = [d.value for d in at.dataframe if "best_percent" in d.value.columns]
    assert progress and len(progress[0]) == len(_funnel(db, demo, course.id))
    at.text_input(key="analytics_student_email").input("nobody@example.com").run()
    assert any("No student with the address" in i.value for i in at.info)


def _funnel(db, demo, course_id):
    with db.workspace(demo.creator_id, read_only=True) as t:
        today = datetime.now(UTC).date()
        return dashboards.course_funnel(t, course_id, dashboards.Filters(today - timedelta(days=29), today))


def test_a_chart_slice_filters_and_clears(analytics):
    at = analytics
    at.session_state["analytics_slice"] = {"chart": "device", "label": "sessions on mobile",
                                           "query": {"device": "mobile"}}
    at.run()
    assert not at.exception
    assert any("Filtered to **sessions on mobile**" in m.value for m in at.markdown)
    sliced = [d.value for d in at.dataframe if list(d.value.columns)[:2] == ["title", "sessions"]]
    assert sliced and sliced[0]["sessions"].sum() > 0
    at.button(key="analytics_slice_clear_device").click().run()
    assert not any("Filtered to" in m.value for m in at.markdown)


def test_a_funnel_lesson_filters_the_whole_page(analytics, db, demo):
    with db.workspace(demo.creator_id, read_only=True) as t:
        course = courses.list_courses(t)[0]
    at = analytics.selectbox(key="analytics_course").set_value(str(course.id)).run()
    views_course = _kpi(at, "Views")
    funnel = next(d.value for d in at.dataframe if "lesson" in d.value.columns)
    lesson = _funnel(db, demo, course.id).iloc[0]
    at.session_state["analytics_videos"] = [str(lesson["video_id"])]
    at.run()
    assert not at.exception and lesson["lesson"] in set(funnel["lesson"])
    assert any(f"Filtered to **{lesson['lesson']}**" in m.value for m in at.markdown)
    assert _kpi(at, "Views") < views_course
    at.button(key="analytics_lesson_clear").click().run()
    assert _kpi(at, "Views") == views_course


def test_costs_add_up_per_month_kind_and_video(analytics):
    at = analytics
    assert any(m.label == "Transcription (US$)" for m in at.metric)
    frames = [d.value for d in at.dataframe]
    assert any("month" in f.columns for f in frames) and any("video" in f.columns for f in frames)
    per_video = next(f for f in frames if "video" in f.columns and "usd" in f.columns)
    assert per_video["count"].sum() >= 1


def test_a_picked_student_is_kept_by_id_in_the_at_risk_list(analytics, db, demo):
    with db.workspace(demo.creator_id, read_only=True) as t:
        course = courses.list_courses(t)[0]
        risk = dashboards.at_risk_students(t, course.id)
    assert len(risk) >= 2
    at = analytics.selectbox(key="analytics_course").set_value(str(course.id)).run()
    at.session_state["analytics_student_pick"] = risk.iloc[-1]["student_id"]  # the last row, not the first
    at.run()
    assert not at.exception
    shown = [m.value for m in at.markdown if m.value.endswith(f"through *{layout.inert(course.title)}*")]
    assert shown == [f"**{layout.inert(risk.iloc[-1]['email'])}** through *{layout.inert(course.title)}*"]

    # an id the list does not hold (a student no longer at risk): said so, nobody else shown instead
    at.session_state["analytics_student_pick"] = demo.creator_id
    at.run()
    assert not at.exception
    assert any("not in this course's at-risk list" in i.value for i in at.info)


def test_the_analytics_page_reads_what_it_draws_in_one_transaction(analytics):
    assert len(page_transactions(analytics, "pages/analytics.py")) == 1


def test_the_overview_reads_what_it_draws_in_one_transaction(app_env, monkeypatch, demo):
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", EMAIL)
    at = AppTest.from_file(APP, default_timeout=90).run()
    assert len(page_transactions(at, "pages/overview.py")) == 1
