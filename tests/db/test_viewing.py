"""Recording viewing (sessions, milestones, rewatches) and the daily rollups, on the real database.

The rollup fixture is small enough to compute by hand; each expected number says how.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from chronos_data import students, videos
from chronos_data.db import Workspace
from chronos_data.errors import NotFound, ValidationError
from chronos_data.viewing import rollups, watching


def _video(t: Workspace, duration: int | None = 200) -> uuid.UUID:
    video_id = videos.create_video(t, title="Loops", source_type="loom", source_id=uuid.uuid4().hex,
                                   duration_seconds=duration)
    videos.set_status(t, video_id, "completed")
    return video_id


def _events(t: Workspace, video_id: uuid.UUID) -> list[tuple[str, str | None]]:
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


def _event(kind: str, viewing: str, position: float, played: list[list[float]], *, duration: float = 200,
           **extra) -> dict:
    """An event as components/player.py sends it (``watched`` counts every second played)."""
    watched = sum(b - a for a, b in played)
    return {"kind": kind, "viewing": viewing, "position": position, "watched": watched, "duration": duration,
            "played": played, "seq": 1, **extra}


def _player(t: Workspace, video: uuid.UUID, student: uuid.UUID):
    """Feeds player events to record_player_event as the preview page does, keeping what it returns."""
    latest: list[watching.PlayerViewing | None] = [None]

    def send(event: dict) -> watching.PlayerViewing:
        latest[0] = watching.record_player_event(t, event, latest[0], video_id=video, student_id=student,
                                                 device_type="desktop", referrer_type="course_page")
        return latest[0]

    return send


def _session_row(t: Workspace, session: uuid.UUID):
    return t.conn.execute(sa.text("SELECT percent_complete, watch_time_seconds, completed, session_end IS NOT NULL "
                                  "AS ended, metadata -> 'played' AS played FROM video_watch_sessions WHERE id = :s"),
                          {"s": session}).one()


def test_a_jump_forward_completes_only_what_was_played(t):
    # The issue: seeking from 0:07 to 0:55 of a clip marked the session 96 % reached, 10-90 %, completed.
    video = _video(t, duration=60)
    send = _player(t, video, students.create_student(t, "jump@example.com"))
    viewing = send(_event("play", "v1", 0, [], duration=60))
    send(_event("progress", "v1", 7, [[0, 7]], duration=60))
    send(_event("progress", "v1", 57, [[0, 7], [55, 57]], duration=60))
    assert send(_event("ended", "v1", 60, [[0, 7], [55, 60]], duration=60)) == viewing
    summary = watching.session_summary(t, viewing.session_id)
    assert (summary["percent_complete"], summary["milestones"], summary["completed"]) == (20, [10], False)
    assert ("video_completed", None) not in _events(t, video)
    assert _session_row(t, viewing.session_id).ended


def test_playing_again_after_the_end_is_a_new_session_with_its_own_watch_time(t):
    # The issue: a second play continued the first session (129 s recorded for 68 s played).
    video = _video(t, duration=68)
    send = _player(t, video, students.create_student(t, "again@example.com"))
    first = send(_event("play", "v1", 0, [], duration=68))
    send(_event("ended", "v1", 68, [[0, 68]], duration=68))
    second = send(_event("play", "v2", 0, [], duration=68))  # the player names a new viewing after the end
    send(_event("progress", "v2", 61, [[0, 61]], duration=68))
    assert second.session_id != first.session_id
    assert tuple(_session_row(t, first.session_id))[:4] == (100, 68, True, True)
    assert tuple(_session_row(t, second.session_id))[:4] == (89, 61, False, False)
    assert sorted(e for e in _events(t, video) if e[0] in {"video_started", "video_rewatched"}) == [
        ("video_rewatched", None), ("video_started", None), ("video_started", None)]


def test_a_new_visit_of_the_page_opens_a_new_session_and_closes_the_open_one(t):
    # The issue: after Preview -> Analytics -> Preview the remounted player's counters started at 0
    # and went into the old session, where nothing grew past what it held.
    video = _video(t)
    send = _player(t, video, students.create_student(t, "visit@example.com"))
    first = send(_event("progress", "visit-1", 40, [[0, 40]]))
    second = send(_event("play", "visit-2", 0, []))
    send(_event("progress", "visit-2", 25, [[0, 25]]))
    assert second.session_id != first.session_id
    assert tuple(_session_row(t, first.session_id))[:4] == (20, 40, False, True)
    assert tuple(_session_row(t, second.session_id))[:4] == (12, 25, False, False)


def test_played_ranges_only_grow_and_a_rewind_is_kept(t):
    video = _video(t)
    send = _player(t, video, students.create_student(t, "ranges@example.com"))
    viewing = send(_event("progress", "v1", 100, [[0, 100]]))
    # A jump back to 0:20 replays 20-50, then a jump to 1:50; a late event with fewer ranges takes nothing back.
    send(_event("seek", "v1", 20, [[0, 100]], **{"from": 100}))
    send(_event("progress", "v1", 50, [[0, 100]], watched=130))
    send(_event("progress", "v1", 160, [[0, 100], [110, 160]]))
    send(_event("progress", "v1", 30, [[0, 30]]))
    row = _session_row(t, viewing.session_id)
    assert row.played == [[0, 100], [110, 160]] and row.percent_complete == 75
    rewinds = t.conn.execute(sa.text("SELECT metadata -> 'rewinds' FROM video_watch_sessions WHERE id = :s"),
                             {"s": viewing.session_id}).scalar_one()
    assert rewinds == [[20, 100]]


def test_a_session_of_another_workspace_in_the_page_state_is_left_alone(t, db):
    from tests.conftest import new_creator

    other = new_creator(db, "other-preview")
    with db.workspace(other) as o:
        theirs = watching.start_viewing(o, _video(o), students.create_student(o, "x@example.com"))
    video = _video(t)
    mine = watching.record_player_event(t, _event("play", "v9", 0, []), watching.PlayerViewing("v8", theirs),
                                        video_id=video, student_id=students.create_student(t, "y@example.com"))
    assert mine.session_id != theirs
    with db.workspace(other) as o:
        assert not _session_row(o, theirs).ended


@pytest.mark.parametrize(("event", "message"), [
    ({"kind": "dance", "viewing": "v1"}, "unknown kind"),
    ({"kind": "play"}, "viewing id"),
    ({"kind": "progress", "viewing": "v1", "position": -3, "duration": 60}, "position"),
    ({"kind": "progress", "viewing": "v1", "position": 3, "duration": "60"}, "duration"),
    ({"kind": "progress", "viewing": "v1", "position": 3, "duration": 60, "played": [[5, 1]]}, "played range"),
    ({"kind": "progress", "viewing": "v1", "position": 3, "duration": 60, "played": [[0, 1]] * 501}, "at most"),
])
def test_a_malformed_player_event_is_refused_and_records_nothing(t, event, message):
    video = _video(t)
    with pytest.raises(ValidationError, match=message):
        watching.record_player_event(t, event, None, video_id=video, student_id=students.create_student(t, "z@x.io"))
    assert _events(t, video) == []


def test_events_of_one_viewing_go_to_its_session_whatever_the_page_kept(t):
    # In the browser two events of a replay (play, then progress 7 ms later) each opened a session:
    # the page's state had missed the first. The viewing id in the session finds it.
    video = _video(t)
    student = students.create_student(t, "stale@example.com")
    first = watching.record_player_event(t, _event("ended", "v1", 200, [[0, 200]]), None, video_id=video,
                                         student_id=student)
    second = watching.record_player_event(t, _event("play", "v2", 0, []), first, video_id=video, student_id=student)
    again = watching.record_player_event(t, _event("progress", "v2", 30, [[0, 30]]), first, video_id=video,
                                         student_id=student)
    assert again == second != first
    count = t.conn.execute(sa.text("SELECT count(*) FROM video_watch_sessions WHERE video_id = :v"),
                           {"v": video}).scalar_one()
    assert count == 2 and _session_row(t, second.session_id).percent_complete == 15


def test_a_viewer_reporting_often_writes_only_milestones_newly_crossed(t):
    """A player reporting every few seconds costs a bounded number of statements per report: the
    milestones already passed are not tried again (issue 19: 38 statements per viewer)."""
    video = _video(t)
    student = students.create_student(t, "often@example.com")
    session = watching.start_viewing(t, video, student)
    statements = []

    def counted(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    positions = [*range(5, 201, 5), 200, 200]  # 42 reports, the last ones after completion
    sa.event.listen(t.conn, "before_cursor_execute", counted)
    try:
        progress = [watching.report_progress(t, session, position_seconds=p, watched_seconds=p) for p in positions]
    finally:
        sa.event.remove(t.conn, "before_cursor_execute", counted)

    crossing = [p for p in progress if p.new_milestones or p.completed_now]
    assert len(crossing) == 5  # one report crosses each milestone (completion with 90 %)
    # Read and lock the session, update it: two statements a report; one more when it crosses a milestone.
    assert len(statements) <= 2 * len(positions) + len(crossing)
    assert [m for p in progress for m in p.new_milestones] == list(watching.MILESTONES)
    assert sum(p.completed_now for p in progress) == 1
    summary = watching.session_summary(t, session)
    assert summary["milestones"] == list(watching.MILESTONES) and summary["completed"]
