"""The demo workspace: deterministic, believable shapes, rolled up, and replaceable."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from chronos_data.demo import load_demo, remove_demo
from chronos_data.errors import ValidationError

EMAIL = "demo-tests@chronos.localhost"


@pytest.fixture(scope="module")
def demo(db, embedder):
    first = load_demo(db, embedder, seed=3, students=120, days=60, email=EMAIL)
    again = load_demo(db, embedder, seed=3, students=120, days=60, email=EMAIL)  # replaces the first
    yield first, again
    remove_demo(db, EMAIL)


def _scalar(db, creator, sql: str):
    with db.workspace(creator) as t:
        return t.conn.execute(sa.text(sql), {"c": creator}).scalar_one()


def test_the_same_seed_gives_the_same_workspace(db, demo):
    first, again = demo
    assert (first.sessions, first.events, first.questions) == (again.sessions, again.events, again.questions)
    assert (again.videos, again.courses, again.students) == (10, 2, 120)
    assert _scalar(db, again.creator_id, "SELECT count(*) FROM video_watch_sessions WHERE creator_id = :c") \
        == again.sessions
    # Loading again replaced the first workspace instead of adding to it.
    assert first.creator_id != again.creator_id
    assert _scalar(db, again.creator_id, "SELECT count(*) FROM videos WHERE creator_id = :c") == 10
    with db.owner() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM chronos.creators WHERE id = :id"),
                            {"id": first.creator_id}).scalar_one() == 0


def test_viewing_has_daily_and_weekly_seasonality(db, demo):
    _, workspace = demo
    evening = _scalar(db, workspace.creator_id, "SELECT count(*) FROM video_watch_sessions WHERE creator_id = :c "
                      "AND extract(hour FROM session_start AT TIME ZONE 'UTC') BETWEEN 18 AND 21")
    night = _scalar(db, workspace.creator_id, "SELECT count(*) FROM video_watch_sessions WHERE creator_id = :c "
                    "AND extract(hour FROM session_start AT TIME ZONE 'UTC') BETWEEN 2 AND 5")
    assert evening > 5 * night
    weekday = _scalar(db, workspace.creator_id, "SELECT count(*) / 5.0 FROM video_watch_sessions WHERE creator_id = :c "
                      "AND extract(isodow FROM session_start AT TIME ZONE 'UTC') <= 5")
    weekend = _scalar(db, workspace.creator_id, "SELECT count(*) / 2.0 FROM video_watch_sessions WHERE creator_id = :c "
                      "AND extract(isodow FROM session_start AT TIME ZONE 'UTC') > 5")
    assert weekday > weekend


def test_fewer_students_reach_later_lessons_and_most_finish_what_they_start(db, demo):
    _, workspace = demo
    with db.workspace(workspace.creator_id) as t:
        starts = t.conn.execute(sa.text("""
            SELECT m.display_order, l.lesson_order, count(DISTINCT e.student_id)
            FROM video_analytics_events e
            JOIN course_modules m ON m.id = e.module_id
            JOIN module_lessons l ON l.module_id = e.module_id AND l.video_id = e.video_id
            JOIN courses c ON c.id = m.course_id AND c.title = 'Python and SQL foundations'
            WHERE e.creator_id = :c AND e.event_type = 'video_started'
            GROUP BY 1, 2 ORDER BY 1, 2"""), {"c": workspace.creator_id}).all()
        completion = t.conn.execute(sa.text(
            "SELECT avg(completed::int) FROM video_watch_sessions WHERE creator_id = :c"),
            {"c": workspace.creator_id}).scalar_one()
    students = [row[2] for row in starts]
    assert len(students) == 6 and students[0] > students[-1] * 1.5
    assert 0.5 < float(completion) < 0.8


def test_events_are_rolled_up_and_questions_include_uncovered_ones(db, demo):
    _, workspace = demo
    views = _scalar(db, workspace.creator_id, "SELECT sum(views) FROM video_analytics WHERE creator_id = :c")
    started = _scalar(db, workspace.creator_id, "SELECT count(*) FROM video_analytics_events WHERE creator_id = :c "
                      "AND event_type = 'video_started'")
    assert views == started == workspace.sessions
    unanswered = _scalar(db, workspace.creator_id, "SELECT count(*) FROM chat_messages WHERE creator_id = :c "
                         "AND role = 'assistant' AND NOT (metadata ->> 'found')::boolean")
    assert 0 < unanswered < workspace.questions


def test_two_demo_workspaces_from_one_seed_share_a_database(db, embedder, demo):
    twin = load_demo(db, embedder, seed=3, students=120, days=60, email="demo-twin@chronos.localhost")
    try:
        assert (twin.sessions, twin.events) == (demo[1].sessions, demo[1].events)
    finally:
        remove_demo(db, "demo-twin@chronos.localhost")


def test_only_demo_workspaces_can_be_removed_wholesale(db):
    with pytest.raises(ValidationError, match="demo"):
        remove_demo(db, "someone@example.com")
