"""Recording viewing (sessions, milestones, rewatches) and the daily rollups, on the real database.

The rollup fixture is small enough to compute by hand; each expected number says how.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from chronos_data import rollups, students, videos, watching
from chronos_data.db import Tenant
from chronos_data.errors import NotFound, ValidationError


def _video(t: Tenant, duration: int | None = 200) -> uuid.UUID:
    video_id = videos.create_video(t, title="Loops", source_type="loom", source_id=uuid.uuid4().hex,
                                   duration_seconds=duration)
    videos.set_status(t, video_id, "completed")
    return video_id


def _events(t: Tenant, video_id: uuid.UUID) -> list[tuple[str, str | None]]:
    rows = t.conn.execute(sa.text("SELECT event_type, metadata ->> 'milestone' FROM video_analytics_events "
                                  "WHERE video_id = :v ORDER BY \"timestamp\", event_type, 2"), {"v": video_id})
    return [tuple(row) for row in rows]


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def test_milestones_are_written_once_per_session_and_completion_at_90_percent(t):
    video = _video(t)
    student = students.create_student(t, "a@example.com")
    session = watching.start_viewing(t, video, student, device_type="mobile", referrer_type="course_page")

    first = watching.report_progress(t, session, position_seconds=60, watched_seconds=60)
    assert first == watching.Progress(30, (10, 25), False)
    again = watching.report_progress(t, session, position_seconds=61, watched_seconds=61)
    assert again.new_milestones == () and not again.completed_now
    back = watching.report_progress(t, session, position_seconds=10, watched_seconds=70)  # a jump back
    assert back.percent_complete == 30
    done = watching.report_progress(t, session, position_seconds=181, watched_seconds=190)
    assert done == watching.Progress(90, (50, 75, 90), True)
    assert not watching.report_progress(t, session, position_seconds=200, watched_seconds=200).completed_now
    watching.end_viewing(t, session)
    watching.end_viewing(t, session)  # a second end changes nothing

    events = _events(t, video)
    assert sorted(events) == sorted([("video_started", None), *(("video_progress", str(m)) for m in (10, 25, 50, 75, 90)),
                                     ("video_completed", None)])
    row = t.conn.execute(sa.text("SELECT percent_complete, watch_time_seconds, completed, session_end IS NOT NULL "
                                 "FROM video_watch_sessions WHERE id = :s"), {"s": session}).one()
    assert tuple(row) == (100, 200, True, True)


def test_starting_a_completed_video_again_is_a_rewatch_and_rewinds_are_kept(t):
    video = _video(t)
    student = students.create_student(t, "b@example.com")
    first = watching.start_viewing(t, video, student)
    watching.report_progress(t, first, position_seconds=190, watched_seconds=190)
    second = watching.start_viewing(t, video, student)
    watching.report_rewind(t, second, from_seconds=95, to_seconds=60)
    assert ("video_rewatched", None) in _events(t, video)
    rewinds = t.conn.execute(sa.text("SELECT metadata -> 'rewinds' FROM video_watch_sessions WHERE id = :s"),
                             {"s": second}).scalar_one()
    assert rewinds == [[60, 95]]
    with pytest.raises(ValidationError, match="goes back"):
        watching.report_rewind(t, second, from_seconds=10, to_seconds=20)


def test_bad_reports_are_refused_with_the_reason(t):
    student = students.create_student(t, "c@example.com")
    unknown_length = watching.start_viewing(t, _video(t, duration=None), student)
    with pytest.raises(ValidationError, match="length is unknown"):
        watching.report_progress(t, unknown_length, position_seconds=5, watched_seconds=5)
    assert watching.report_progress(t, unknown_length, position_seconds=5, watched_seconds=5,
                                    duration_seconds=50).percent_complete == 10
    with pytest.raises(ValidationError, match="zero or more"):
        watching.report_progress(t, unknown_length, position_seconds=-1, watched_seconds=0)
    with pytest.raises(ValidationError, match="device"):
        watching.start_viewing(t, _video(t), student, device_type="fridge")
    with pytest.raises(NotFound):
        watching.report_progress(t, uuid.uuid4(), position_seconds=1, watched_seconds=1)


def test_a_day_rolls_up_to_the_seeds_definitions_and_rerunning_changes_nothing(t):
    video = _video(t)
    ana, ben = (students.create_student(t, f"{name}@example.com") for name in ("ana", "ben"))
    # Day 1: Ana watches all of it (100 s), Ben a fifth (20 s), Ana starts again (50 s, a rewatch).
    s1 = watching.start_viewing(t, video, ana, at=at(1, 9))
    watching.report_progress(t, s1, position_seconds=190, watched_seconds=100, at=at(1, 9))
    s2 = watching.start_viewing(t, video, ben, at=at(1, 11))
    watching.report_progress(t, s2, position_seconds=40, watched_seconds=20, at=at(1, 11))
    s3 = watching.start_viewing(t, video, ana, at=at(1, 20))
    watching.report_progress(t, s3, position_seconds=100, watched_seconds=50, at=at(1, 20))
    # Day 2: Ben once more, 30 s.
    s4 = watching.start_viewing(t, video, ben, at=at(2))
    watching.report_progress(t, s4, position_seconds=60, watched_seconds=30, at=at(2))

    result = rollups.rollup(t, days=[date(2026, 3, 1), date(2026, 3, 2)])
    assert result.video_rows == 2 and result.usage_rows == 2
    rows = t.conn.execute(sa.text(
        "SELECT date, views, unique_viewers, total_watch_time_seconds, average_watch_time_seconds, "
        "completion_rate::float8, ai_interactions FROM video_analytics WHERE video_id = :v ORDER BY date"),
        {"v": video}).all()
    assert [tuple(r) for r in rows] == [
        (date(2026, 3, 1), 3, 2, 170, 57, 33.33, 0),  # 3 starts by 2 students; 170 s / 3 = 56.7; 1 of 3 completed
        (date(2026, 3, 2), 1, 1, 30, 30, 0.0, 0),
    ]
    active = t.conn.execute(sa.text("SELECT date, active_students FROM usage_metrics WHERE creator_id = :c "
                                    "ORDER BY date"), {"c": t.creator_id}).all()
    assert [tuple(r) for r in active] == [(date(2026, 3, 1), 2), (date(2026, 3, 2), 1)]

    again = rollups.rollup(t, days=[date(2026, 3, 1), date(2026, 3, 2)])
    assert (again.video_rows, again.usage_rows) == (0, 0)  # idempotent: nothing differs, nothing written


def test_past_days_roll_up_once_and_stale_days_again(t):
    video = _video(t)
    student = students.create_student(t, "d@example.com")
    watching.start_viewing(t, video, student, at=at(3))
    today = datetime.now(UTC).date()
    assert rollups.pending_days(t) == [date(2026, 3, 3), today]
    assert rollups.rollup(t).days == [date(2026, 3, 3), today]
    assert rollups.pending_days(t) == [today]  # today is never final
    # New activity is looked for after the last final day only (no rescan of all history on each
    # page view); rows written into older days come through imports, which mark their days stale.
    watching.start_viewing(t, video, student, at=at(1))
    assert rollups.pending_days(t) == [today]
    rollups.mark_days_stale(t, [date(2026, 3, 1), date(2026, 3, 3)])
    assert rollups.pending_days(t) == [date(2026, 3, 1), date(2026, 3, 3), today]
    assert rollups.pending_days(t, since=date(2026, 3, 2)) == [date(2026, 3, 3), today]
    rollups.rollup(t)
    assert rollups.pending_days(t) == [today]
