"""The Analytics and Overview pages through AppTest, on a demo workspace: charts, filters, drill-downs."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chronos_data.demo import load_demo, remove_demo

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
    assert "Completion rate (%)" in labels and "AI questions" in labels


def test_the_course_builder_shows_each_lessons_learners_and_drop_off(app_env, monkeypatch, demo):
    monkeypatch.setenv("CHRONOS_LOCAL_EMAIL", EMAIL)
    at = AppTest.from_file(APP, default_timeout=90).run()
    at = at.switch_page("pages/courses.py").run()
    assert not at.exception
    captions = [c.value for c in at.caption if "completed" in c.value]
    assert captions and all("learner" in c for c in captions)
    assert any("stop before the next lesson" in c for c in captions)
