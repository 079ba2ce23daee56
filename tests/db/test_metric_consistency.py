"""Every figure of the dashboards, recomputed from the raw events and sessions of the demo workspace.

The definitions are the ones of ``chronos_data.metrics`` (and the README's analytics section),
written out again here in pandas over the raw rows, independently of the rollups: views are
``video_started`` events plus watch sessions without one (the fixture imports such sessions),
completions are ``video_completed`` events plus completed sessions without a start event, counted
on the day they happen (the fixture imports a completion of a video nobody started that day), and
a course filter means viewing in that course. Three periods (7, 30, 90 days) and three filters
(none, a course, a video that is a lesson of two courses).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from chronos_data import courses, videos
from chronos_data.demo import load_demo, remove_demo
from chronos_data.viewing import dashboards, event_import, rollups

EMAIL = "demo-metric-consistency@chronos.localhost"
COURSE = "Python and SQL foundations"
SHARED_VIDEO = "Git branches and merging"  # a lesson of both demo courses
UNSTARTED = "Office hours recording"  # a video completed (imported) on a day nobody started it
PERIODS = (7, 30, 90)
FILTERS = ("none", "course", "video")


def _ago(days: float) -> datetime:
    return (datetime.now(UTC) - timedelta(days=days)).replace(microsecond=0)


@pytest.fixture(scope="module")
def demo(db, embedder):
    result = load_demo(db, embedder, seed=5, students=150, days=100, email=EMAIL)
    with db.workspace(result.creator_id) as t:
        videos.set_status(t, videos.create_video(t, title=UNSTARTED, source_type="loom", source_id=uuid.uuid4().hex,
                                                 duration_seconds=600), "completed")
        # Another platform's history: whole sessions (no events) and a lone completion.
        lines = ["type,video,student_email,timestamp,percent_complete,watch_time_seconds,device_type,referrer_type"]
        for days, percent, watch, device in ((2, 95, 590, "mobile"), (20, 40, 250, "tablet"), (60, 92, 600, "")):
            lines.append(f"session,SQL joins explained,imported@example.com,{_ago(days).isoformat()},{percent},{watch},"
                         f"{device},search")
        lines.append(f"video_completed,{UNSTARTED},imported@example.com,{_ago(1).isoformat()},100,600,,")
        report = event_import.import_events(t, "\n".join(lines).encode(), "history.csv")
        assert report.kept == 4 and not report.rejected
        # A session an older player recorded in a course without writing events.
        course = next(c.id for c in courses.list_courses(t) if c.title == COURSE)
        module, video = t.conn.execute(sa.text("""
            SELECT l.module_id, l.video_id FROM module_lessons l JOIN course_modules m ON m.id = l.module_id
            JOIN videos v ON v.id = l.video_id WHERE m.course_id = :c AND v.title = :title"""),
            {"c": course, "title": SHARED_VIDEO}).one()
        start = _ago(3)
        t.conn.execute(sa.text("""
            INSERT INTO video_watch_sessions (creator_id, video_id, student_id, session_start, watch_time_seconds,
                                              percent_complete, device_type, referrer_type, metadata)
            SELECT :c, :v, id, :at, 560, 91, 'desktop', 'course_page', CAST(:meta AS jsonb)
            FROM students WHERE creator_id = :c ORDER BY email LIMIT 1"""),
            {"c": t.creator_id, "v": video, "at": start,
             "meta": json.dumps({"course_id": str(course), "module_id": str(module), "rewinds": [[100, 160]]})})
        rollups.mark_days_stale(t, [start.date()])
        rollups.rollup(t)
    yield result
    remove_demo(db, EMAIL)


def _day(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True).dt.date


@pytest.fixture(scope="module")
def raw(db, demo):
    """The raw rows, read once: events, sessions (with the course they happened in), questions."""
    with db.workspace(demo.creator_id) as t:
        def read(sql: str) -> pd.DataFrame:
            result = t.conn.execute(sa.text(sql), {"c": t.creator_id})
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

        events = read("""SELECT event_type AS kind, video_id, student_id, course_id, module_id, "timestamp" AS at
                         FROM video_analytics_events WHERE creator_id = :c
                           AND event_type IN ('video_started', 'video_completed', 'video_rewatched')""")
        sessions = read("""
            SELECT s.id, s.video_id, s.student_id, s.session_start AS at, s.watch_time_seconds AS watch,
                   s.percent_complete AS percent, s.completed, coalesce(s.device_type, 'unknown') AS device,
                   jsonb_array_length(coalesce(s.metadata -> 'rewinds', '[]')) > 0 AS rewound,
                   c.id AS course_id, m.id AS module_id,
                   EXISTS (SELECT 1 FROM video_analytics_events e WHERE e.creator_id = s.creator_id
                           AND e.event_type = 'video_started' AND e.metadata ->> 'session_id' = s.id::text) AS evented
            FROM video_watch_sessions s
            LEFT JOIN courses c ON c.creator_id = s.creator_id AND c.id::text = s.metadata ->> 'course_id'
            LEFT JOIN course_modules m ON m.creator_id = s.creator_id AND m.id::text = s.metadata ->> 'module_id'
            WHERE s.creator_id = :c""")
        messages = read("""SELECT role, created_at AS at, video_references -> 0 ->> 'video_id' AS first_source,
                                  video_references AS refs
                           FROM chat_messages WHERE creator_id = :c""")
        lessons = read("""SELECT m.course_id, l.module_id, l.video_id FROM module_lessons l
                          JOIN course_modules m ON m.id = l.module_id WHERE l.creator_id = :c""")
        library = {v.title: v for v in videos.list_videos(t)}
        course = next(c.id for c in courses.list_courses(t) if c.title == COURSE)
    events["day"] = _day(events["at"])
    sessions["day"] = _day(sessions["at"])
    messages["day"] = _day(messages["at"])
    lone = sessions[~sessions["evented"]]
    viewings = pd.concat([
        events,
        lone.assign(kind="video_started")[events.columns.drop("day").tolist() + ["day"]],
        lone[lone["completed"]].assign(kind="video_completed")[events.columns.drop("day").tolist() + ["day"]],
    ], ignore_index=True)
    return {"viewings": viewings, "sessions": sessions, "messages": messages, "lessons": lessons,
            "library": library, "course": course}


def _filters(raw, period: int, which: str) -> dashboards.Filters:
    today = datetime.now(UTC).date()
    start = today - timedelta(days=period - 1)
    if which == "course":
        return dashboards.Filters(start, today, course_id=raw["course"])
    if which == "video":
        return dashboards.Filters(start, today, video_ids=(raw["library"][SHARED_VIDEO].id,))
    return dashboards.Filters(start, today)


def _scoped(raw, frame: pd.DataFrame, f: dashboards.Filters) -> pd.DataFrame:
    """The rows of ``frame`` (with video_id, course_id, day) that the filters keep."""
    keep = frame["day"].between(f.start, f.end)
    if f.video_ids is not None:
        keep &= frame["video_id"].isin(f.video_ids)
    if f.course_id is not None:
        lessons = raw["lessons"]
        keep &= frame["course_id"].eq(f.course_id)
        keep &= frame["video_id"].isin(lessons.loc[lessons["course_id"] == f.course_id, "video_id"])
    return frame[keep]


def _scope_videos(raw, f: dashboards.Filters) -> set:
    videos_ = {v.id for v in raw["library"].values()}
    if f.video_ids is not None:
        videos_ &= set(f.video_ids)
    if f.course_id is not None:
        lessons = raw["lessons"]
        videos_ &= set(lessons.loc[lessons["course_id"] == f.course_id, "video_id"])
    return videos_


def _shown(value: float, digits: int):
    """A value the dashboards round to ``digits`` (PostgreSQL rounds halves away from zero)."""
    return pytest.approx(float(value), abs=0.5 * 10 ** -digits + 1e-9)


def _completion(completions: int, views: int) -> float:
    return min(100.0, 100 * completions / views) if views else 0.0


def _expected_kpis(raw, f: dashboards.Filters) -> dict[str, float]:
    v = _scoped(raw, raw["viewings"], f)
    s = _scoped(raw, raw["sessions"], f)
    views = int((v["kind"] == "video_started").sum())
    completions = int((v["kind"] == "video_completed").sum())
    students = v[v["kind"].isin(["video_started", "video_completed"]) & v["student_id"].notna()]
    msgs = raw["messages"]
    msgs = msgs[msgs["day"].between(f.start, f.end)]
    if f.course_id is None and f.video_ids is None:
        questions = int((msgs["role"] == "user").sum())
    else:
        scope = {str(x) for x in _scope_videos(raw, f)}
        questions = int(((msgs["role"] == "assistant") & msgs["first_source"].isin(scope)).sum())
    return {
        "Views": views,
        "Unique viewers": students.loc[students["kind"] == "video_started", "student_id"].nunique(),
        "Watch time (hours)": s["watch"].sum() / 3600,
        "Completion rate (%)": _completion(completions, views),
        "Active students (daily)": students.groupby("day")["student_id"].nunique().sum() / f.days,
        "AI questions": questions,
    }


CASES = [(p, w) for p in PERIODS for w in FILTERS]


@pytest.mark.parametrize(("period", "which"), CASES)
def test_kpis_equal_the_raw_rows(db, demo, raw, period, which):
    f = _filters(raw, period, which)
    with db.workspace(demo.creator_id) as t:
        shown = dashboards.kpis(t, f).set_index("metric")["value"].to_dict()
    expected = _expected_kpis(raw, f)
    assert shown == pytest.approx(expected, abs=1e-6)
    assert expected["Views"] > 0


@pytest.mark.parametrize(("period", "which"), CASES)
def test_trend_per_day_equals_the_raw_rows(db, demo, raw, period, which):
    f = _filters(raw, period, which)
    with db.workspace(demo.creator_id) as t:
        trend = dashboards.views_over_time(t, f, "day").set_index("period")
    v = _scoped(raw, raw["viewings"], f)
    s = _scoped(raw, raw["sessions"], f)
    views = v[v["kind"] == "video_started"].groupby("day").size()
    completions = v[v["kind"] == "video_completed"].groupby("day").size()
    watch = s.groupby("day")["watch"].sum()
    for day, row in trend.iterrows():
        n = int(views.get(day, 0))
        assert row["views"] == n, day
        assert row["watch_hours"] == _shown(watch.get(day, 0) / 3600, 2), day
        assert row["completion_rate"] == _shown(_completion(int(completions.get(day, 0)), n), 1), day
    assert trend["views"].sum() == (v["kind"] == "video_started").sum()


@pytest.mark.parametrize(("period", "which"), CASES)
def test_videos_table_equals_the_raw_rows(db, demo, raw, period, which):
    f = _filters(raw, period, which)
    with db.workspace(demo.creator_id) as t:
        top = dashboards.top_videos(t, f).set_index("video_id")
    assert set(top.index) == _scope_videos(raw, f)
    v = _scoped(raw, raw["viewings"], f)
    s = _scoped(raw, raw["sessions"], f)
    msgs = raw["messages"]
    answers = msgs[(msgs["role"] == "assistant") & msgs["day"].between(f.start, f.end)]
    for video_id, row in top.iterrows():
        mine, sessions = v[v["video_id"] == video_id], s[s["video_id"] == video_id]
        views = int((mine["kind"] == "video_started").sum())
        completion = _completion(int((mine["kind"] == "video_completed").sum()), views)
        rewatch = 100 * sessions["rewound"].sum() / len(sessions) if len(sessions) else 0.0
        repeat = 100 * (mine["kind"] == "video_rewatched").sum() / views if views else 0.0
        cited = sum(any(r.get("video_id") == str(video_id) for r in refs) for refs in answers["refs"])
        duration = raw["library"][row["title"]].duration_seconds
        per_session = sessions["watch"].sum() / len(sessions) / duration if len(sessions) else 0.0
        engagement = min(100, 40 * min(1, per_session) + 0.4 * completion + 0.2 * rewatch)
        assert row["views"] == views, row["title"]
        assert row["watch_hours"] == _shown(sessions["watch"].sum() / 3600, 2), row["title"]
        assert row["completion_rate"] == _shown(completion, 1), row["title"]
        assert row["rewatch_rate"] == _shown(rewatch, 1), row["title"]
        assert row["repeat_view_rate"] == _shown(repeat, 1), row["title"]
        assert row["ai_interactions"] == cited, row["title"]
        assert row["engagement_score"] == _shown(engagement, 1), row["title"]
        assert sum(row["daily_views"]) == views


@pytest.mark.parametrize(("period", "which"), CASES)
def test_audience_heatmap_and_retention_equal_the_raw_sessions(db, demo, raw, period, which):
    f = _filters(raw, period, which)
    video = raw["library"][SHARED_VIDEO]
    with db.workspace(demo.creator_id) as t:
        devices = dashboards.breakdown(t, f, "device").set_index("device")
        heat = dashboards.engagement_heatmap(t, f).set_index(["weekday", "hour"])["sessions"].to_dict()
        curve = dashboards.retention_curve(t, video.id, f).set_index("percent")
        rewatch_rate = dashboards.top_videos(t, f).set_index("video_id").at[video.id, "rewatch_rate"]
    s = _scoped(raw, raw["sessions"], f)
    by_device = s.groupby("device").agg(sessions=("id", "size"), watch=("watch", "sum"), done=("completed", "sum"))
    assert devices["sessions"].to_dict() == by_device["sessions"].to_dict()
    for device, row in by_device.iterrows():
        assert devices.at[device, "watch_hours"] == _shown(row["watch"] / 3600, 2)
        assert devices.at[device, "sessions_completed"] == _shown(100 * row["done"] / row["sessions"], 1)
    starts = pd.to_datetime(s["at"], utc=True)
    assert heat == starts.groupby([starts.dt.isocalendar().day, starts.dt.hour]).size().to_dict()
    mine = s[s["video_id"] == video.id]
    assert curve["sessions"].max() == len(mine)
    for percent in (0, 10, 50, 89, 90, 100):
        assert curve.at[percent, "watching"] == pytest.approx((mine["percent"] >= percent).mean())
    # "Watched again" at any point is part of the sessions the videos table counts as rewatching.
    assert 100 * curve["rewatching"].max() <= rewatch_rate + 0.05


@pytest.mark.parametrize("period", PERIODS)
def test_the_funnel_agrees_with_the_kpis_of_each_lesson_in_the_course(db, demo, raw, period):
    f = _filters(raw, period, "course")
    with db.workspace(demo.creator_id) as t:
        funnel = dashboards.course_funnel(t, raw["course"], f)
        top = dashboards.top_videos(t, f).set_index("video_id")
        lesson_kpis = {video: dashboards.kpis(t, dashboards.Filters(f.start, f.end, course_id=raw["course"],
                                                                    video_ids=(video,)))
                       .set_index("metric")["value"] for video in funnel["video_id"]}
    v = _scoped(raw, raw["viewings"], f)
    for row in funnel.itertuples():
        mine = v[(v["video_id"] == row.video_id) & (v["module_id"] == row.module_id)]
        assert row.started == mine.loc[mine["kind"] == "video_started", "student_id"].nunique(), row.lesson
        assert row.completed == mine.loc[mine["kind"] == "video_completed", "student_id"].nunique(), row.lesson
        # The same course, the same lesson: the funnel's students are the lesson's unique viewers,
        # and its views are the videos table's.
        assert lesson_kpis[row.video_id]["Unique viewers"] == row.started, row.lesson
        assert lesson_kpis[row.video_id]["Views"] == top.at[row.video_id, "views"], row.lesson
        assert top.at[row.video_id, "views"] >= row.started


def test_imported_sessions_and_lone_completions_count_everywhere(db, demo, raw):
    """The rows the fixture planted are in the numbers (a regression guard for issue 16, item 5)."""
    today = datetime.now(UTC).date()
    with db.workspace(demo.creator_id) as t:
        top = dashboards.top_videos(t, dashboards.Filters(today - timedelta(days=6), today)).set_index("title")
        funnel = dashboards.course_funnel(t, raw["course"], dashboards.Filters(today - timedelta(days=6), today))
    assert top.at[UNSTARTED, "views"] == 0 and top.at[UNSTARTED, "completion_rate"] == 0.0
    lone = raw["sessions"][~raw["sessions"]["evented"]]
    assert len(lone) == 4 and lone["course_id"].notna().sum() == 1
    shared = funnel[funnel["lesson"] == SHARED_VIDEO]
    assert len(shared) == 1 and shared["started"].iloc[0] >= 1


def test_a_completion_on_a_day_without_a_start_counts_in_the_kpis(db, demo, raw):
    day = _ago(1).date()
    with db.workspace(demo.creator_id) as t:
        only = dashboards.Filters(day, day, video_ids=(raw["library"][UNSTARTED].id,))
        everything = dashboards.kpis(t, dashboards.Filters(day, day)).set_index("metric")["value"]
        unstarted = dashboards.kpis(t, only).set_index("metric")["value"]
    assert unstarted["Views"] == 0 and unstarted["Completion rate (%)"] == 0  # nothing to divide by
    v = _scoped(raw, raw["viewings"], dashboards.Filters(day, day))
    views, done = (v["kind"] == "video_started").sum(), (v["kind"] == "video_completed").sum()
    assert everything["Completion rate (%)"] == pytest.approx(_completion(int(done), int(views)))


def test_every_help_text_names_what_it_counts():
    for label in ("Views", "Unique viewers", "Watch time", "Completion rate", "Active students (daily)",
                  "AI questions", "Rewatch %", "Repeat views %", "Retention", "Engagement score"):
        assert "Counts" in dashboards.FORMULAS[label]


def test_days_rolled_before_the_new_rollup_are_rebuilt_by_the_next_run(db, demo, raw):
    """Migration 021 marks every rolled day stale; the next rollup rebuilds ``viewing_days`` (and the
    student bitmaps) from the raw rows, with the same numbers as a fresh workspace."""
    f = _filters(raw, 90, "course")
    with db.workspace(demo.creator_id) as t:
        before = dashboards.kpis(t, f)
        t.conn.execute(sa.text("DELETE FROM viewing_days WHERE creator_id = :c"), {"c": t.creator_id})
        t.conn.execute(sa.text("UPDATE rollup_days SET stale = true WHERE creator_id = :c"), {"c": t.creator_id})
        assert dashboards.kpis(t, f).set_index("metric").at["Views", "value"] == 0
        rolled = rollups.rollup(t)
        assert len(rolled.days) >= 90
        after = dashboards.kpis(t, f)
    pd.testing.assert_frame_equal(before, after)
