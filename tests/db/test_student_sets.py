"""Distinct students from the rollup's bitmaps equal distinct students counted from the events."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from chronos_data import courses
from chronos_data.demo import load_demo
from chronos_data.viewing import dashboards, rollups

EMAIL = "demo-student-sets@chronos.localhost"


@pytest.fixture(scope="module")
def demo(db, embedder):
    return load_demo(db, embedder, seed=11, students=150, days=75, email=EMAIL)


def _raw_unique_viewers(t, f: dashboards.Filters) -> int:
    return t.conn.execute(sa.text("""
        SELECT count(DISTINCT student_id) FROM video_analytics_events
        WHERE creator_id = :c AND event_type = 'video_started'
          AND "timestamp" >= CAST(:s AS timestamp) AT TIME ZONE 'UTC'
          AND "timestamp" < CAST(:e AS timestamp) AT TIME ZONE 'UTC'
    """), {"c": t.creator_id, "s": f.start, "e": f.end + timedelta(days=1)}).scalar_one()


def _raw_funnel(t, course_id, f: dashboards.Filters) -> dict:
    rows = t.conn.execute(sa.text("""
        SELECT module_id, video_id,
               count(DISTINCT student_id) FILTER (WHERE event_type = 'video_started'),
               count(DISTINCT student_id) FILTER (WHERE event_type = 'video_completed')
        FROM video_analytics_events
        WHERE creator_id = :c AND course_id = :course AND event_type IN ('video_started', 'video_completed')
          AND "timestamp" >= CAST(:s AS timestamp) AT TIME ZONE 'UTC'
          AND "timestamp" < CAST(:e AS timestamp) AT TIME ZONE 'UTC'
        GROUP BY 1, 2
    """), {"c": t.creator_id, "course": course_id, "s": f.start, "e": f.end + timedelta(days=1)})
    return {(m, v): (started, completed) for m, v, started, completed in rows}


def _ranges():
    today = datetime.now(UTC).date()
    return [(today - timedelta(days=6), today), (today - timedelta(days=29), today),
            (today - timedelta(days=89), today), (today - timedelta(days=50), today - timedelta(days=20)),
            (today - timedelta(days=3), today - timedelta(days=3))]


@pytest.mark.parametrize("span", range(5))
def test_unique_viewers_and_the_funnel_match_the_events(db, demo, span):
    start, end = _ranges()[span]
    f = dashboards.Filters(start, end)
    with db.workspace(demo.creator_id) as t:
        kpi = dashboards.kpis(t, f).set_index("metric")["value"]
        assert kpi["Unique viewers"] == _raw_unique_viewers(t, f)
        for course in courses.list_courses(t):
            funnel = dashboards.course_funnel(t, course.id, f)
            raw = _raw_funnel(t, course.id, f)
            got = {(r.module_id, r.video_id): (r.started, r.completed) for r in funnel.itertuples()}
            assert got == {key: raw.get(key, (0, 0)) for key in got}
            assert sum(started for started, _ in raw.values()) == funnel["started"].sum()


def test_scoped_unique_viewers_match_the_events_in_that_course(db, demo):
    """A course filter counts viewing in the course (the events' course), not every viewing of
    its videos: a lesson shared with another course is counted there for the viewing done there."""
    today = datetime.now(UTC).date()
    with db.workspace(demo.creator_id) as t:
        course = courses.list_courses(t)[0]
        f = dashboards.Filters(today - timedelta(days=40), today, course_id=course.id)
        kpi = dashboards.kpis(t, f).set_index("metric")["value"]
        raw = t.conn.execute(sa.text("""
            SELECT count(DISTINCT e.student_id) FROM video_analytics_events e
            WHERE e.creator_id = :c AND e.event_type = 'video_started' AND e."timestamp" >= :s
              AND e.course_id = :course
              AND e.video_id IN (SELECT l.video_id FROM module_lessons l JOIN course_modules m ON m.id = l.module_id
                                 WHERE m.course_id = :course)
        """), {"c": t.creator_id, "s": datetime.combine(f.start, datetime.min.time(), UTC),
               "course": course.id}).scalar_one()
    assert 0 < kpi["Unique viewers"] == raw


def test_the_at_risk_list_matches_the_events_and_respects_its_limit(db, demo):
    now = datetime.now(UTC)
    with db.workspace(demo.creator_id) as t:
        course = courses.list_courses(t)[0]
        risk = dashboards.at_risk_students(t, course.id, now=now)
        lapsed = t.conn.execute(sa.text("""
            SELECT count(*) FROM (
              SELECT student_id, max("timestamp") AS last_seen,
                     count(DISTINCT video_id) FILTER (WHERE event_type = 'video_completed') AS done
              FROM video_analytics_events
              WHERE creator_id = :c AND course_id = :course AND student_id IS NOT NULL
                AND event_type IN ('video_started', 'video_completed')
              GROUP BY student_id) p
            WHERE p.last_seen <= :now - interval '14 days'
              AND p.done < (SELECT count(*) FROM module_lessons l JOIN course_modules m ON m.id = l.module_id
                            WHERE m.course_id = :course)
        """), {"c": t.creator_id, "course": course.id, "now": now}).scalar_one()
        assert (risk["reason"] == "inactive").sum() == lapsed > 0
        assert list(risk["last_seen"]) == sorted(risk["last_seen"], reverse=True)
        assert len(dashboards.at_risk_students(t, course.id, now=now, limit=3)) == 3


def test_rolling_the_same_days_again_changes_no_student_count(db, demo):
    with db.workspace(demo.creator_id) as t:
        before = t.conn.execute(sa.text(
            "SELECT md5(string_agg(grain || period || video_id || started::text || completed::text, ',' "
            "ORDER BY grain, period, video_id, course_id, module_id)) FROM student_sets")).scalar_one()
        days = [r[0] for r in t.conn.execute(sa.text("SELECT date FROM rollup_days ORDER BY date DESC LIMIT 10"))]
        rollups.rollup(t, days=days)
        after = t.conn.execute(sa.text(
            "SELECT md5(string_agg(grain || period || video_id || started::text || completed::text, ',' "
            "ORDER BY grain, period, video_id, course_id, module_id)) FROM student_sets")).scalar_one()
    assert before == after


def test_another_workspace_sees_none_of_the_bitmaps(db, demo, creator_id):
    with db.workspace(creator_id) as t:
        assert t.conn.execute(sa.text(
            "SELECT (SELECT count(*) FROM student_sets) + (SELECT count(*) FROM student_numbers)"
            " + (SELECT count(*) FROM course_students)")).scalar_one() == 0
